"""Shared helpers of the test suite: where things are, and lme4 reference values.

``tests/`` is on ``sys.path`` (``pythonpath`` in ``pyproject.toml``), so test modules in any
sub-folder import these with ``from support import ...``.
"""

from __future__ import annotations

import json
import pathlib

import hierlm as hl

TESTS = pathlib.Path(__file__).resolve().parent
ROOT = TESTS.parent
REF_DIR = TESTS / "reference"
SHARED = ROOT.parent / "shared" / "reference" / "lme4_reference.json"


def load_references() -> dict:
    """lme4 1.1-31 reference values: the shared file (if present) plus our own extra cases."""
    refs = {}
    for path in [REF_DIR / "lme4_reference.json", SHARED, REF_DIR / "lme4_extra.json"]:
        if path.exists():
            refs.update(json.loads(path.read_text()))
    return refs


def reference_json(name: str) -> dict:
    """A committed reference file of ``tests/reference`` (made by the R script beside it)."""
    return json.loads((REF_DIR / name).read_text())


REFS = load_references()


def reference_data(ref: dict):
    data = hl.load_dataset(ref["data"])
    if "tt" in ref["formula"]:
        data = data.assign(tt=(data.Time - 200) / 100)
    return data
