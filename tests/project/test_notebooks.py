"""The course notebooks of ``notebooks/`` run top to bottom without errors.

Each notebook is executed with nbclient in a fresh ``python3`` kernel (the one of this
interpreter's environment), in its small mode (``HIERLM_NOTEBOOK_FAST=1``: 200 + 200 draws per
chain, 50 bootstrap replicates, fewer cross-validation folds), on a copy in a temporary directory:
the committed notebooks and their stored outputs are never touched.  All notebooks share one
xdist group, so under ``pytest -n 2 --dist loadgroup`` they run one after another in a single
worker instead of competing for the two cores.
"""

from __future__ import annotations

import pathlib
import shutil

import pytest
from support import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))

pytestmark = pytest.mark.xdist_group("notebooks")


def test_notebooks_found():
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    monkeypatch.setenv("HIERLM_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:  # name the notebook and the cell
        pytest.fail(f"{path.name}: a cell raised an error\n{err}", pytrace=False)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{path.name}: {[(e.ename, e.evalue) for e in errors]}"
