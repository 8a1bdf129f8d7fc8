"""The package's architecture limits (issue 13), checked on every test run.

* ``tools/check_architecture.py``: zero import cycles between hierlm modules (function-local imports
  included), at most 10 function-local imports of hierlm modules, at most 8 modules directly under
  ``hierlm/``, no module over 600 lines;
* import-linter's contracts in ``pyproject.toml``: the layers formula → design → engines → fits →
  services → io, each importing only from the layers below it;
* ``import hierlm`` stays light: no numba, PyMC, xarray, scipy.stats or matplotlib at import.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from support import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import check_architecture  # noqa: E402


def test_architecture_limits():
    res = check_architecture.analyse(ROOT / "hierlm")
    text, ok = check_architecture.report(res)
    assert res["cycles"] == [], text
    assert len(res["local_imports"]) <= 10, text
    assert len(res["top_level_modules"]) <= 8, text
    assert res["max_lines"] <= 600, text
    assert ok, text


def test_cycle_checker_sees_function_local_imports(tmp_path):
    pkg = tmp_path / "hierlm"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("from . import y\n")
    (pkg / "a" / "y.py").write_text("def f():\n    from .x import g\n")
    res = check_architecture.analyse(pkg)
    assert res["cycles"] == [["hierlm.a.x", "hierlm.a.y"]]
    assert len(res["local_imports"]) == 1


def test_import_linter_contracts():
    exe = shutil.which("lint-imports", path=str(ROOT / ".venv" / "bin")) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (it is in the test extra)")
    out = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_import_hierlm_stays_light():
    code = ("import sys, hierlm; heavy = [m for m in ('numba', 'pymc', 'xarray', 'scipy.stats', 'matplotlib', "
            "'arviz_stats', 'nutpie') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"import hierlm loads {out.stdout.strip()}"
