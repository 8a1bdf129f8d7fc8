"""The saved-fit format (JSON + netCDF, never pickle), below the fits: they hand it their state.

Loading sits at the top of the package (:func:`hierlm.load`, :mod:`hierlm.io`), since it builds
fit objects back from what this layer reads.
"""

from .format import FORMAT_VERSION, jsonable, read_arrays, read_frame, read_meta, read_tree, write_folder

__all__ = ["FORMAT_VERSION", "jsonable", "read_arrays", "read_frame", "read_meta", "read_tree", "write_folder"]
