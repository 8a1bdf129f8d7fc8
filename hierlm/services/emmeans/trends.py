"""``hl.emtrends``: slopes of a covariate per level of factors, as emmeans' ``emtrends()``.

The slope is the numeric derivative of the design: the grid's design rows are rebuilt with the
covariate moved by ``delta`` and ``(X(x + δ) − X(x)) / δ`` are the linear functions (emmeans'
forward difference with ``delta.var = 0.001 × range(var)``).  Through the fitted design, so a term
``poly(Time, 2)``, ``ns(Time, 3)`` or ``log(conc)`` gives the slope of the curve at the grid value
of the covariate (its mean unless ``at=`` says otherwise) — the same approximate numbers emmeans
gives for such terms, exact for straight lines.  The slopes are then averaged over the other
factors like marginal means; :func:`~hierlm.services.emmeans.contrast` compares them.
"""

from __future__ import annotations

import numpy as np

from ...errors import HierlmError, suggest
from .basis import model_basis
from .grid import build_grid
from .means import _check_names, _interaction_note, marginalize, parse_specs
from .result import EmmGrid, EmmInfo
from .summary import summarize

__all__ = ["emtrends"]


def emtrends(fit, specs, var: str, by=None, at: dict | None = None, ddf: str | None = None, level: float = 0.95,
             weights="equal", delta_var: float | None = None, cov_reduce=None) -> EmmGrid:
    """Estimated marginal slopes of ``var``, as R's ``emmeans::emtrends``.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit, GlmFit or BayesFit
    specs : str or list of str
        Variables whose levels get a slope (``"~ Diet"``, ``"~ treat | Time"``, ``"~ 1"``).
    var : str
        The numeric covariate whose slope is wanted (a data column).
    by, at, ddf, level, weights, cov_reduce
        As in :func:`emmeans`.  ``at={var: [...]}`` gives slopes at those values (curved terms).
    delta_var : float, optional
        The forward-difference step (default ``0.001 * (max(var) - min(var))``, as emmeans).

    Returns
    -------
    EmmGrid
        Columns: specs/by, ``<var>.trend``, ``SE``, ``df``, ``lower.CL``, ``upper.CL`` (link scale); for
        a BayesFit the posterior median and HPD interval.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("distance ~ age * Sex + (age | Subject)", hl.load_dataset("Orthodont"))
    >>> emtrends(m, "Sex", var="age")[["Sex", "age.trend", "SE"]].round(4)  # doctest: +NORMALIZE_WHITESPACE
       Sex  age.trend     SE
    Female     0.4795 0.1037
      Male     0.7844  0.086
    <BLANKLINE>
    Degrees-of-freedom method: kenward-roger
    Confidence level used: 0.95
    """
    if not isinstance(var, str):
        raise HierlmError(f"var must name a numeric covariate of the model, not {var!r}")
    rhs, by_vars = parse_specs(specs, by)
    basis = model_basis(fit, ddf)
    grid = build_grid(fit, at, cov_reduce)
    if var not in grid.names:
        raise HierlmError(f"var='{var}' is not a variable of the model's fixed part (its variables: "
                          f"{', '.join(grid.names) or 'none'}).{suggest(var, grid.names)}")
    gv = grid.var(var)
    if gv.kind != "covariate":
        raise HierlmError(f"var='{var}' is a factor; emtrends needs a numeric covariate (compare the levels of a "
                          "factor with hl.contrast(hl.emmeans(...)))")
    _check_names(grid, rhs, "specs")
    _check_names(grid, by_vars, "by")
    if delta_var is None:
        x = grid.fit.design.data[var].to_numpy(dtype=float)
        delta_var = 0.001 * float(np.ptp(x))
    if not np.isfinite(delta_var) or delta_var == 0:
        raise HierlmError(f"delta_var must be a non-zero number (got {delta_var!r}); '{var}' may be constant")
    shifted = grid.frame.copy()
    shifted[var] = shifted[var] + delta_var
    X1, _ = grid.design_rows(shifted)
    L = (X1 - grid.X) / delta_var
    L[~grid.estimable] = np.nan
    facs = rhs + by_vars
    L, _, labels, avgd = marginalize(grid, L, np.zeros(L.shape[0]), facs, weights)
    info = EmmInfo(basis, L, np.zeros(L.shape[0]), labels, rhs, by_vars, f"{var}.trend", "emtrends",
                   fam_size=L.shape[0], infer=(True, False), level=level, type="link", tran=None,
                   inv_lbl=basis.inv_lbl, avgd_over=avgd, notes=list(basis.notes) + _interaction_note(fit, facs + [var]),
                   df_note=basis.df_method)
    return summarize(info)
