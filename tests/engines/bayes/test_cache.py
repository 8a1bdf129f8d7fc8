"""The compiled-kernel cache: hierlm's own folder, read-only installs and HOMEs, corrupt files, other programs' files."""

from __future__ import annotations

import os
import pathlib
import pickle
import shutil
import subprocess
import sys

import pytest
from support import ROOT

from hierlm.engines.bayes import cache

TINY = ("import warnings, numpy as np, pandas as pd, hierlm as hl\n"
        "from hierlm.engines.bayes import cache\n"
        "rng = np.random.default_rng(0)\n"
        "d = pd.DataFrame({'y': rng.normal(size=40), 'g': np.repeat(list('abcdefgh'), 5)})\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    fit = hl.blmer('y ~ 1 + (1 | g)', d, draws=50, tune=50, chains=1, seed=1, progressbar=False)\n"
        "print('CACHE', cache.cache_dir())\n"
        "print('WARN', ' | '.join(str(x.message) for x in w if 'cache' in str(x.message)))\n")


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HIERLM_CACHE_DIR", "XDG_CACHE_HOME", "NUMBA_CACHE_DIR")}
    env.update(PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def _run(code: str, env: dict, cwd) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_file_check_finds_truncation(tmp_path):
    good = tmp_path / "f-1.py312.nbi"
    with open(good, "wb") as f:
        pickle.dump("0.68", f)
        f.write(pickle.dumps(("stamp", {"key": "f-1.py312.1.nbc"})))
    assert cache._file_ok(good)
    data = good.read_bytes()
    bad = tmp_path / "g-1.py312.nbi"
    bad.write_bytes(data[: len(data) - 5])
    assert not cache._file_ok(bad)
    nbc = tmp_path / "f-1.py312.1.nbc"
    nbc.write_bytes(pickle.dumps((1, b"x" * 100)))
    assert cache._file_ok(nbc)
    nbc.write_bytes(nbc.read_bytes()[:40])
    assert not cache._file_ok(nbc)


def test_only_hierlm_folders_are_removed(tmp_path):
    ours_old = tmp_path / "kernels-0123456789abcdef"
    keep = tmp_path / "kernels-fedcba9876543210"
    foreign = [tmp_path / "kernels.logp-1.py312.nbi", tmp_path / "kernels-mine", tmp_path / "shear.x.nbc"]
    for d in (ours_old, keep):
        d.mkdir()
        (d / "a.nbi").write_bytes(b"x")
    foreign[0].write_bytes(b"someone else's")
    foreign[1].mkdir()
    foreign[2].write_bytes(b"someone else's")
    cache._remove_old(tmp_path, keep.name)
    assert not ours_old.exists() and keep.exists()
    assert all(p.exists() for p in foreign)


def test_locator_applies_to_hierlm_kernels_only():
    def f():
        return 1

    assert cache.HierlmCacheLocator.from_function(f, __file__) is None
    assert cache.HierlmCacheLocator.from_function(f, str(cache.HERE / "cache.py")) is None


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HIERLM_CACHE_DIR", str(tmp_path / "c"))
    assert cache.cache_root() == tmp_path / "c"
    monkeypatch.delenv("HIERLM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    if sys.platform.startswith("linux"):
        assert cache.cache_root() == tmp_path / "x" / "hierlm"


@pytest.mark.slow
def test_read_only_install_and_read_only_home(tmp_path):
    """A copy of the package that nobody may write, HOME where nothing can be created (/proc): the kernels
    compile into a folder in TMPDIR, the fit works, and nothing is written into the install."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "hierlm", site / "hierlm", ignore=shutil.ignore_patterns("__pycache__", "_prebuilt"))
    for p in sorted(site.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    before = sorted(str(p) for p in site.rglob("*"))
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = _env(HOME="/proc/hierlm-no-home", TMPDIR=str(tmpdir))
    out = _run(f"import sys; sys.path.insert(0, {str(site)!r})\n" + TINY, env, cwd=tmp_path)
    where = next(line.split(" ", 1)[1] for line in out.stdout.splitlines() if line.startswith("CACHE"))
    assert where.startswith(str(tmpdir)), where
    assert sorted(str(p) for p in site.rglob("*")) == before
    for p in site.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.mark.slow
def test_truncated_cache_file_is_recompiled_with_one_warning(tmp_path):
    env = _env(HIERLM_CACHE_DIR=str(tmp_path / "cache"))
    first = _run(TINY, env, cwd=tmp_path)
    folder = pathlib.Path(next(line.split(" ", 1)[1] for line in first.stdout.splitlines() if line.startswith("CACHE")))
    victim = sorted(folder.glob("kernels.logp_grad*.nbc"))[0]
    victim.write_bytes(victim.read_bytes()[:1000])
    second = _run(TINY, env, cwd=tmp_path)
    assert "were unreadable" in second.stdout + second.stderr
    third = _run(TINY, env, cwd=tmp_path)  # repaired: no warning any more
    assert "were unreadable" not in third.stdout + third.stderr


def test_every_cached_kernel_module_is_listed():
    """A module with cached numba kernels that is not in KERNEL_MODULES would cache into the package's
    __pycache__ (a read-only install) and be left out of the cache folder's digest."""
    from hierlm.engines.bayes import cache

    folder = ROOT / "hierlm" / "engines" / "bayes"
    cached = sorted(p.stem for p in folder.glob("*.py") if "cache=True" in p.read_text())
    assert sorted(cache.KERNEL_MODULES) == cached
