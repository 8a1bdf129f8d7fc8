"""The saved-fit format (JSON + netCDF, never pickle), below the fits: they hand it their state.

* :mod:`.format` — what a save holds, and reading it back with every check;
* :mod:`.folder` — the folder: atomic writes, a manifest with digests, never another program's files;
* :mod:`.frames` — data frames stored exactly (types, categories, row labels).

Loading sits at the top of the package (:func:`hierlm.load`, :mod:`hierlm.io`), since it builds
fit objects back from what this layer reads.
"""

from .folder import resolve
from .format import FORMAT_VERSION, jsonable, read_arrays, read_frame, read_meta, read_tree, write_folder

__all__ = ["FORMAT_VERSION", "jsonable", "read_arrays", "read_frame", "read_meta", "read_tree", "resolve",
           "write_folder"]
