"""A saved fit's folder: written atomically, never over files hierlm did not write, checked when read.

``hierlm.json`` is the manifest: it lists every file hierlm wrote with its SHA-256 and carries a digest
of its own content, so a changed array, a swapped file or an edited formula is refused on load with
the name of the file.

Writing:

* a new or empty folder, or a folder that holds exactly a hierlm save, is written in a hidden
  sibling folder first and then swapped into place (``os.replace``): a crash mid-save leaves either
  the old save or nothing, never a folder that loads half-written;
* a folder holding anything else is refused, unless ``overwrite=True``: then hierlm's files are
  written one by one next to the user's (each through a temporary file and ``os.replace``), the
  files of the previous save that this one does not write are removed, and no other file is touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import tempfile

import numpy as np

from ..errors import HierlmError

__all__ = ["META", "MAX_META_BYTES", "write_save", "read_manifest", "check_file", "resolve"]

META = "hierlm.json"
MAX_META_BYTES = 64 * 2**20  # a manifest larger than this is not one hierlm wrote


def resolve(path) -> pathlib.Path:
    """The folder ``path`` with ``~`` expanded (``save("~/fits/x")`` writes under the home folder)."""
    if not isinstance(path, (str, os.PathLike)):
        raise HierlmError(f"the path must be a string or a path, not {type(path).__name__}")
    return pathlib.Path(path).expanduser()


def _sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _meta_digest(meta: dict) -> str:
    body = {k: v for k, v in meta.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _manifest_of(folder: pathlib.Path) -> dict | None:
    """The manifest of a hierlm save in ``folder``, or None when there is none that parses."""
    meta = folder / META
    try:
        if not meta.is_file() or meta.stat().st_size > MAX_META_BYTES:
            return None
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    return data if isinstance(files, dict) else None


def write_save(path, writers: dict, meta: dict, overwrite: bool = False) -> pathlib.Path:
    """Write a save: ``writers`` maps file name → ``callable(target_path)``; ``meta`` becomes ``hierlm.json``.

    Returns the folder.  See the module docstring for what happens to an existing folder.
    """
    if not isinstance(overwrite, (bool, np.bool_)):
        raise HierlmError(f"overwrite must be True or False, not {overwrite!r}")
    folder = resolve(path)
    if folder.exists() and not folder.is_dir():
        raise HierlmError(f"'{folder}' is a file, not a folder; give fit.save() a folder path")
    existing = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    old = _manifest_of(folder) if existing else None
    ours = set(old["files"]) | {META} if old else set()
    foreign = [n for n in existing if n not in ours]
    if foreign and not overwrite:
        raise HierlmError(
            f"'{folder}' already holds files that are not a hierlm save ({', '.join(foreign[:5])}"
            f"{' ...' if len(foreign) > 5 else ''}); save into a new or empty folder, or pass overwrite=True "
            "to write hierlm's files beside them (other files are left alone)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    if foreign:
        return _write_beside(folder, writers, meta, old)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{folder.name}.saving-", dir=folder.parent))
    try:
        _write_files(tmp, writers, meta)
        if existing:
            trash = pathlib.Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.replace(folder, trash / "save")
            os.replace(tmp, folder)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            if folder.is_dir():
                folder.rmdir()
            os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _write_files(folder: pathlib.Path, writers: dict, meta: dict) -> None:
    files = {}
    for name, write in writers.items():
        write(folder / name)
        files[name] = _sha256(folder / name)
    meta = dict(meta, files=files)
    meta["digest"] = _meta_digest(meta)
    (folder / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")  # last: a save without it never loads


def _write_beside(folder: pathlib.Path, writers: dict, meta: dict, old: dict | None) -> pathlib.Path:
    files = {}
    staged = []
    try:
        for name, write in writers.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
            os.close(fd)
            staged.append(pathlib.Path(tmp))
            write(pathlib.Path(tmp))
            files[name] = _sha256(pathlib.Path(tmp))
        (folder / META).unlink(missing_ok=True)  # the old manifest goes first: a crash leaves no loadable save
        for (name, _), tmp in zip(writers.items(), staged):
            os.replace(tmp, folder / name)
        for name in (old or {}).get("files", {}):
            if name not in writers and (folder / name).is_file():
                (folder / name).unlink()
        meta = dict(meta, files=files)
        meta["digest"] = _meta_digest(meta)
        (folder / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
    return folder


def read_manifest(path) -> tuple[pathlib.Path, dict]:
    """``(folder, manifest)`` of a save; HierlmError naming the problem when it is not an intact hierlm save."""
    folder = resolve(path)
    meta_file = folder / META
    if not meta_file.is_file():
        raise HierlmError(f"'{folder}' is not a saved hierlm fit (no {META} inside)")
    if meta_file.stat().st_size > MAX_META_BYTES:
        raise HierlmError(f"'{meta_file}' is {meta_file.stat().st_size} bytes, far larger than any hierlm save; "
                          "refusing to read it")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise HierlmError(f"'{meta_file}' is not valid JSON ({err}); the save is damaged") from err
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
        raise HierlmError(f"'{meta_file}' is not a hierlm manifest (no list of files)")
    if meta.get("digest") != _meta_digest(meta):
        raise HierlmError(f"'{meta_file}' was changed after hierlm wrote it (its digest does not match); "
                          "hierlm will not load a save whose formula, settings or numbers were edited")
    return folder, meta


def check_file(folder: pathlib.Path, meta: dict, name: str) -> pathlib.Path:
    """The path of ``name`` in the save, after checking it exists and has the digest the manifest records."""
    want = meta["files"].get(name)
    path = folder / name
    if want is None:
        raise HierlmError(f"'{folder / META}' does not list {name}; the save is incomplete")
    if not path.is_file():
        raise HierlmError(f"'{path}' is missing; the save is incomplete")
    if _sha256(path) != want:
        raise HierlmError(f"'{path}' was changed or truncated after hierlm wrote it (its SHA-256 does not match "
                          f"{META}); save the fit again")
    return path
