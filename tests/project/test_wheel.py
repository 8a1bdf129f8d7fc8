"""hierlm installs as a package: ``python -m build`` makes an sdist and a wheel, and the wheel works alone.

What a user does, in a temporary folder outside the checkout:

1. copy the source as a clean checkout has it (the files git tracks, plus new files it does not ignore),
   and run ``python -m build`` there: an sdist and a wheel (built from the sdist, so the sdist is complete);
2. create a fresh virtual environment and ``pip install`` the wheel into it — not editable, not the
   checkout;
3. from a folder that has nothing to do with the checkout, run ``python -m hierlm.demo`` with an empty
   compiled-kernel cache, so the first-run compile of the Bayesian kernels happens too, and load every
   bundled dataset.

The dependencies are not downloaded: the fresh environment sees the test environment's site-packages
through a ``.pth`` file (pip checks the wheel's requirements against them, with ``--no-index``; nothing
is fetched). Two checks keep that honest: ``hierlm`` is imported from the fresh environment's own
site-packages, and every third-party module that hierlm's own code imports and that the demo loaded
belongs to a requirement the wheel declares.

Slow (about a minute and a half: the build, the kernel compile and a short NUTS run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from support import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

pytest.importorskip("build", reason="`python -m build` needs the 'build' package (pip install build)")

#: run inside the fresh environment after the demo's imports: which distributions hierlm pulled in
_AUDIT = r"""
import ast, contextlib, importlib.metadata as md, io, json, pathlib, re, sys
import hierlm, hierlm.demo
from hierlm.engines.bayes import cache
out = io.StringIO()
with contextlib.redirect_stdout(out):
    hierlm.demo.main(sys.argv[1:])
def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()
def reqs(dist):
    found = []
    for r in md.requires(dist) or []:
        if "extra ==" in r:
            continue
        found.append(norm(re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0]))
    return found
declared = set(reqs("hierlm"))
owners = md.packages_distributions()
stdlib = set(sys.stdlib_module_names)
# the third-party modules hierlm's own code imports (its import statements) that the demo loaded
direct = set()
for path in pathlib.Path(hierlm.__file__).parent.rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            direct |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            direct.add(node.module.split(".")[0])
used = {}
for top in sorted(direct - stdlib - {"hierlm"}):
    if top in sys.modules:
        for dist in owners.get(top, [top]):
            used.setdefault(norm(dist), set()).add(top)
print(json.dumps({
    "demo": out.getvalue(),
    "hierlm_file": hierlm.__file__,
    "version": md.version("hierlm"),
    "declared": sorted(declared),
    "undeclared": sorted(d for d in used if d not in declared),
    "cache": str(cache.cache_dir()),
}))
"""


def _clean_copy(dest: Path) -> None:
    """The source as a fresh clone has it: tracked files plus new, not ignored ones (``git ls-files``)."""
    try:
        names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                               capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: the package and its metadata
        names = [str(p.relative_to(ROOT)) for p in (ROOT / "hierlm").rglob("*") if "__pycache__" not in p.parts]
        names += ["pyproject.toml", "README.md", "LICENSE"]
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file() and not name.startswith(("tests/", "bench/", "notebooks/", "docs/", ".venv/")):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA"))}
    env.update(MPLBACKEND="Agg", PYTHONNOUSERSITE="1", **extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build`` on a clean copy of the source: dist/ with the sdist and the wheel."""
    src = tmp_path_factory.mktemp("source")
    _clean_copy(src)
    out = src / "dist"
    # --no-isolation: build with this environment's setuptools instead of downloading one
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, env=_env(), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_build_makes_sdist_and_wheel(dist):
    import hierlm

    version = hierlm.__version__
    sdist, wheel = dist / f"hierlm-{version}.tar.gz", dist / f"hierlm-{version}-py3-none-any.whl"
    assert sdist.is_file() and wheel.is_file(), sorted(p.name for p in dist.iterdir())
    names = set(zipfile.ZipFile(wheel).namelist())
    datasets = {f"hierlm/data/{p.name}" for p in (ROOT / "hierlm" / "data").iterdir() if p.is_file()}
    assert datasets and datasets <= names, f"datasets missing from the wheel: {sorted(datasets - names)}"
    assert not any(n.startswith(("tests/", "bench/", "docs/", "notebooks/")) for n in names)
    assert f"hierlm-{version}.dist-info/licenses/LICENSE" in names


def test_wheel_works_outside_the_checkout(dist, tmp_path):
    import hierlm

    wheel = dist / f"hierlm-{hierlm.__version__}-py3-none-any.whl"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=_env(), timeout=300)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # the dependencies: this environment's, read-only (its .pth files, e.g. an editable hierlm, are not run)
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zz_test_dependencies.pth").write_text("\n".join(deps) + "\n")
    proc = subprocess.run([py, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", str(wheel)],
                          capture_output=True, text=True, env=_env(), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    elsewhere = tmp_path / "elsewhere"  # nothing of the checkout here, and a kernel cache that is empty
    elsewhere.mkdir()
    cache = tmp_path / "kernel-cache"
    env = _env(HIERLM_CACHE_DIR=str(cache))
    audit = subprocess.run([py, "-c", _AUDIT, "--draws", "200", "--tune", "200", "--chains", "2", "--seed", "1"],
                           cwd=elsewhere, capture_output=True, text=True, env=env, timeout=900)
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-5000:]
    got = json.loads(audit.stdout.strip().splitlines()[-1])
    assert Path(got["hierlm_file"]).is_relative_to(site), f"hierlm imported from {got['hierlm_file']}, not the wheel"
    assert not Path(got["hierlm_file"]).is_relative_to(ROOT)
    assert got["version"] == hierlm.__version__
    assert not got["undeclared"], f"hierlm uses distributions it does not declare: {got['undeclared']}"
    demo = got["demo"]
    assert "== lmer (REML)" in demo and "== blmer (NUTS, 2 chains x 200 draws)" in demo and "side by side" in demo
    assert Path(got["cache"]).is_relative_to(cache), got["cache"]
    assert list(Path(got["cache"]).glob("*.nbi")), "the first run compiled no kernel into the cache"

    # the module entry point itself, from another folder, and every bundled dataset from inside the wheel
    root = Path(tmp_path.anchor)
    proc = subprocess.run([py, "-m", "hierlm.demo", "--frequentist-only"], cwd=root, capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0 and "Reaction ~ Days + (Days | Subject)" in proc.stdout, proc.stderr[-3000:]
    proc = subprocess.run([py, "-c", "import hierlm as hl; t = hl.list_datasets(); print(len(t), int(t.rows.sum()))"],
                          cwd=root, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    n, rows = map(int, proc.stdout.split())
    assert n == len(list((ROOT / "hierlm" / "data").glob("*.csv*"))) and rows > 80_000
