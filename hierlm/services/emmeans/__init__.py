"""Estimated marginal means, contrasts and slopes of both engines, with R emmeans' numbers.

``emmeans(fit, specs, by, at, type)`` averages the model's predictions over emmeans' reference
grid (factors at all levels and weighted equally, covariates at their means); ``contrast(emm,
method, adjust)`` compares them (Tukey, Holm, Dunnett-style, Scheffé, ... adjustments);
``emtrends(fit, specs, var)`` gives slopes by numeric differentiation of the design; ``ref_grid``
shows the grid itself and ``regrid`` moves means to the response scale.  Frequentist fits get
emmeans' frequentist summaries (``hl.lmer``: Kenward–Roger df and adjusted covariance by default,
Satterthwaite or asymptotic on request; ``hl.glmer``: z; ``hl.lm``: residual df); a ``BayesFit``
gets the same linear functions applied draw by draw: posterior medians and HPD intervals.

Layout: :mod:`.basis` (what a fit contributes), :mod:`.grid` (the reference grid), :mod:`.means`
(``emmeans``, ``ref_grid``), :mod:`.trends`, :mod:`.contrasts`, :mod:`.adjust` (multiplicity),
:mod:`.summary` (the tables), :mod:`.regrid`, :mod:`.result` (the returned object).

Why not a dependency
--------------------
Python's ``marginaleffects`` (0.6.1, evaluated for this package) and ``formulaic-contrasts`` (1.0)
were tried before writing this.  Neither gives emmeans' numbers for hierlm's fits:

* ``marginaleffects`` can wrap a custom model (a ``ModelAbstract`` subclass), and its predictions
  at a grid match emmeans' asymptotic means and SEs — but it has one residual df per model
  (``model.df_resid``), so no Kenward–Roger or Satterthwaite df per linear function and no
  Kenward–Roger adjusted covariance; no multiplicity adjustments at all (no Tukey, Dunnett, Holm,
  Šidák, Scheffé); no emmeans-style marginal means (equal weighting over the reference grid;
  ``marginal_means`` is gone from the Python package); its formula validation re-parses the
  formula with formulaic, which rejects lme4's bars; and ``avg_comparisons`` failed on polars 2
  (``get_categories`` removed).  It would also bring polars, narwhals, pydantic, plotnine, jax and
  formulaic into hierlm's dependencies.
* ``formulaic-contrasts`` builds contrast vectors for formulaic model matrices (unspecified
  variables at their reference level, not averaged), knows nothing of R's ``model.matrix``
  coding, ``poly()`` coefficients or lme4's designs, and computes no SEs, df or adjustments.

What emmeans needs is small once the fit's own design can be evaluated on new data
(:meth:`hierlm.design.Design.new_data` keeps contrasts, ``poly``/``scale`` coefficients and levels):
the grid, the averaging of linear functions, the df methods hierlm already has
(:func:`hierlm.fits.lmm_tests.ddf_method`) and scipy's studentized range for Tukey.  So it is
written here, following emmeans 1.8's code rule by rule, and checked against emmeans itself
(``tests/reference/emmeans_reference.json``).
"""

from .adjust import ADJUST_METHODS, p_adjust
from .basis import Basis, model_basis
from .contrasts import METHODS, contrast
from .grid import RefGrid, build_grid
from .means import emmeans, ref_grid
from .regrid import regrid
from .result import EmmGrid, EmmInfo
from .summary import hpd_interval
from .trends import emtrends

__all__ = [
           "ADJUST_METHODS",
           "METHODS",
           "Basis",
           "EmmGrid",
           "EmmInfo",
           "RefGrid",
           "build_grid",
           "contrast",
           "emmeans",
           "emtrends",
           "hpd_interval",
           "model_basis",
           "p_adjust",
           "ref_grid",
           "regrid",
]
