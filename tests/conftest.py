"""Shared fixtures: lme4 reference values and datasets."""

import json
import pathlib

import pytest

import hierlm as hl

HERE = pathlib.Path(__file__).parent
SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "reference" / "lme4_reference.json"


def load_references() -> dict:
    """lme4 1.1-31 reference values: the shared file (if present) plus our own extra cases."""
    refs = {}
    for path in [HERE / "reference" / "lme4_reference.json", SHARED, HERE / "reference" / "lme4_extra.json"]:
        if path.exists():
            refs.update(json.loads(path.read_text()))
    return refs


REFS = load_references()


def reference_data(ref: dict):
    data = hl.load_dataset(ref["data"])
    if "tt" in ref["formula"]:
        data = data.assign(tt=(data.Time - 200) / 100)
    return data


@pytest.fixture(scope="session")
def refs():
    return REFS


@pytest.fixture(scope="session")
def sleep():
    return hl.load_dataset("sleepstudy")
