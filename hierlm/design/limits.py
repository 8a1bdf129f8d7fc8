"""Size limits checked before anything large is allocated, so that no formula can ask for unbounded memory.

A formula read from a saved fit is as untrusted as one typed by a careless user: ``poly(x, 1e9)``,
an interaction of many-level factors or ``(f | g)`` with a factor of thousands of levels would
otherwise allocate until the machine gives up.  Every transform and expansion calls :func:`check_cells`
with the size it is about to make; the error names the term and that size.

The limit is 2**28 numbers (2 GiB of float64) per matrix; set ``HIERLM_MAX_DESIGN_CELLS`` to change it.
"""

from __future__ import annotations

import os

from ..errors import FormulaError

__all__ = ["max_cells", "check_cells"]


def max_cells() -> int:
    """The largest number of cells a design matrix may have (``HIERLM_MAX_DESIGN_CELLS``, default 2**28)."""
    try:
        return max(1, int(os.environ.get("HIERLM_MAX_DESIGN_CELLS", 2**28)))
    except ValueError:
        return 2**28


def check_cells(what: str, rows: int, cols: int, hint: str = "") -> None:
    """Raise :class:`FormulaError` when a ``rows × cols`` matrix for ``what`` would exceed the limit."""
    cells = int(rows) * int(cols)
    if cells > max_cells():
        raise FormulaError(
            f"'{what}' would make a {rows:,} × {cols:,} matrix ({cells * 8 / 2**30:,.1f} GiB), more than hierlm "
            f"allows ({max_cells():,} numbers; HIERLM_MAX_DESIGN_CELLS raises it).{(' ' + hint) if hint else ''}")
