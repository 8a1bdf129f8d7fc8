"""R's printing, ported to Python: numbers formatted as R's ``format()`` does, the layouts of
``print()``, ``printCoefmat`` and ``print.anova``, and ``deparse()`` of model formulas.

Written from R 4.2's C and R sources (and lme4 1.1-31's print methods), so that hierlm's summaries
and tables print digit for digit what R prints for the same numbers:

* :mod:`.numbers` — ``formatReal`` / ``format()``, ``round()``, ``signif()``, ``zapsmall()``,
  ``format.pval``, ``formatC``, ``quantile(type = 7)``;
* :mod:`.layout` — character matrices and named vectors as ``print()`` lays them out (wrapping at
  ``width = 80``), ``cat(fill = TRUE)``, ``strwrap``, ``abbreviate``, ``printCoefmat``, ``print.anova``;
* :mod:`.deparse` — the ``Formula:`` line (``deparse`` with ``width.cutoff = 60``, lme4's ``||``
  expansion).

Pure functions over numbers and strings: every service (reports, comparison) prints with them.

Examples
--------
>>> format_num([251.405104848485, 6.82459669495491], digits=4)
['251.405', '  6.825']
"""

from .deparse import deparse_lines, expand_double_verts, formula_lines
from .layout import (
    SIGNIF_LEGEND,
    WIDTH,
    abbreviate,
    cat_fill,
    format_coefmat,
    print_anova,
    print_coefmat,
    print_matrix,
    print_named,
    print_named_real,
    signif_stars,
    strwrap,
)
from .numbers import (
    DBL_EPSILON,
    encode_real,
    format_c,
    format_info,
    format_num,
    format_pval,
    is_na,
    quantile7,
    r_round,
    r_signif,
    zapsmall,
)

__all__ = [
    "DBL_EPSILON", "SIGNIF_LEGEND", "WIDTH", "abbreviate", "cat_fill", "deparse_lines", "encode_real",
    "expand_double_verts", "format_c", "format_coefmat", "format_info", "format_num", "format_pval",
    "formula_lines", "is_na", "print_anova", "print_coefmat", "print_matrix", "print_named", "print_named_real",
    "quantile7", "r_round", "r_signif", "signif_stars", "strwrap", "zapsmall",
]
