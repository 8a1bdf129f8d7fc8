"""Where the compiled Bayesian kernels are cached: a folder hierlm owns, found without ever failing.

numba caches compiled machine code on disk.  By default it writes into the package's ``__pycache__``
(impossible in a read-only install) or a user folder shared with other programs.  hierlm's kernels
(:data:`KERNEL_MODULES`) use a locator of their own instead:

* the cache lives in ``$HIERLM_CACHE_DIR``, else the per-user cache folder (``$XDG_CACHE_HOME/hierlm``
  or ``~/.cache/hierlm`` on Linux, ``~/Library/Caches/hierlm`` on macOS, ``%LOCALAPPDATA%\\hierlm\\Cache``
  on Windows), in a sub-folder ``kernels-<digest>`` named by a digest of the kernel sources and the numba
  and Python versions — an edit to any kernel module, or an upgrade, uses a fresh folder;
* when that folder cannot be written (read-only HOME), a folder in the system's temporary directory;
* an install may carry a prebuilt cache (``python -m hierlm.engines.bayes.warmup --prebuilt`` writes it
  into the package); it is only ever read: its files are copied into the per-user folder;
* a corrupt or truncated cache file is found before numba reads it, deleted, and the kernels are
  recompiled, with one warning;
* only hierlm's own folders are ever deleted: older ``kernels-*`` folders inside hierlm's cache root.

``python -m hierlm.engines.bayes.warmup --where`` prints the folder; ``--clear`` empties it.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import pickletools
import re
import shutil
import sys
import tempfile
import warnings

import numba
from numba.core import caching

from ...errors import HierlmWarning

__all__ = ["KERNEL_MODULES", "cache_dir", "cache_root", "clear", "digest", "install", "prebuilt_dir"]

KERNEL_MODULES = ("collapsed_rows", "family_kernels", "kernel_parts", "kernels", "kernels_collapsed",
                  "kernels_laplace", "kernels_marginal", "kernels_sparse", "shear", "sparse_chol", "sparse_pairs",
                  "sparse_q2")
HERE = pathlib.Path(__file__).resolve().parent
_FOLDER = re.compile(r"^kernels-[0-9a-f]{16}$")
_STATE: dict = {}


def digest() -> str:
    """A digest of the kernel sources, numba's version and Python's: the name of the cache folder."""
    h = hashlib.sha1()
    for m in KERNEL_MODULES:
        h.update((HERE / f"{m}.py").read_bytes())
    h.update(f"{numba.__version__} {sys.version} {sys.platform}".encode())
    return h.hexdigest()[:16]


def cache_root() -> pathlib.Path:
    """hierlm's per-user cache root (``$HIERLM_CACHE_DIR`` when set)."""
    env = os.environ.get("HIERLM_CACHE_DIR")
    if env:
        return pathlib.Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return pathlib.Path(base) / "hierlm" / "Cache"
    if sys.platform == "darwin":
        return pathlib.Path.home() / "Library" / "Caches" / "hierlm"
    return pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "hierlm"


def prebuilt_dir() -> pathlib.Path:
    """The install's read-only prebuilt copy of the cache (present only when an installer wrote it)."""
    return HERE / "_prebuilt" / f"kernels-{digest()}"


def _writable(path: pathlib.Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def _temp_root() -> pathlib.Path:
    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return pathlib.Path(tempfile.gettempdir()) / f"hierlm-{uid}"


def _file_ok(path: pathlib.Path) -> bool:
    """Whether a cache file is complete: an index holds two pickles (version, payload), a data file one.

    The pickles are scanned opcode by opcode (:mod:`pickletools`), never loaded, so nothing is imported
    or executed; a truncated or garbled file fails the scan as it would fail numba's ``pickle.load``.
    """
    try:
        with open(path, "rb") as f:
            for _ in range(2 if path.suffix == ".nbi" else 1):
                for _ in pickletools.genops(f):
                    pass
            return f.read(1) == b""
    except Exception:  # noqa: BLE001 - anything unreadable is what numba would choke on
        return False


def _check_files(folder: pathlib.Path) -> None:
    """Delete unreadable cache files (numba then recompiles those kernels), with one warning."""
    bad = [p for p in sorted(folder.glob("*.nb[ic]")) if not _file_ok(p)]
    if not bad:
        return
    for p in bad:
        stem = p.name.split("-")[0] if p.suffix == ".nbc" else p.stem
        for q in folder.glob(f"{stem}*.nb[ic]"):
            q.unlink(missing_ok=True)
    warnings.warn(f"{len(bad)} compiled-kernel cache file(s) in '{folder}' were unreadable (e.g. {bad[0].name}) and "
                  "were deleted; the kernels are compiled again (15-30 s, once)", HierlmWarning, stacklevel=2)


def _remove_old(root: pathlib.Path, keep: str) -> None:
    """Delete hierlm's older kernel folders in its own cache root (nothing else)."""
    for p in root.glob("kernels-*") if root.is_dir() else []:
        if p.is_dir() and _FOLDER.match(p.name) and p.name != keep:
            shutil.rmtree(p, ignore_errors=True)


def cache_dir() -> pathlib.Path:
    """The folder the kernels are cached in this process (chosen once; see the module docstring)."""
    if "dir" in _STATE:
        return _STATE["dir"]
    name = f"kernels-{digest()}"
    chosen = None
    for root in (cache_root(), _temp_root()):
        if _writable(root / name):
            chosen = root / name
            _remove_old(root, name)
            break
    if chosen is None:
        chosen = pathlib.Path(tempfile.mkdtemp(prefix="hierlm-kernels-"))
    pre = prebuilt_dir()
    if pre.is_dir() and not any(chosen.glob("*.nbi")):
        for f in pre.glob("*.nb[ic]"):
            shutil.copy2(f, chosen / f.name)
    _check_files(chosen)
    _STATE["dir"] = chosen
    return chosen


def clear() -> pathlib.Path:
    """Delete this version's cached kernels (they are compiled again on the next fit); returns the folder."""
    folder = cache_dir()
    for f in folder.glob("*.nb[ic]"):
        f.unlink(missing_ok=True)
    return folder


class HierlmCacheLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
    """numba cache locator for hierlm's kernel modules: always :func:`cache_dir`."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(cache_dir())

    def get_cache_path(self):
        return self._cache_path

    @classmethod
    def from_function(cls, py_func, py_file):
        path = pathlib.Path(py_file).resolve()
        if path.parent != HERE or path.stem not in KERNEL_MODULES:
            return None
        return super().from_function(py_func, py_file)


def install() -> None:
    """Put :class:`HierlmCacheLocator` first in numba's locators (idempotent); called by the kernel modules."""
    classes = caching.CacheImpl._locator_classes
    if not any(c.__name__ == HierlmCacheLocator.__name__ for c in classes):
        classes.insert(0, HierlmCacheLocator)
