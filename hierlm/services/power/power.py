"""Simulation-based power: ``hl.power_sim``, simr's ``powerSim`` / ``powerCurve`` / ``extend`` in one call.

Every simulation draws a response from the fitted model — its θ and σ, its fixed effects or the ones
set by hand with ``effects=`` (simr's ``fixef(m)["Days"] <- 2``), new random effects for every level —
refits the model (and the null model of a likelihood-ratio test) and tests (:mod:`.testspec`).  Power is
the share of the ``nsim`` simulations whose p-value is below ``alpha`` (failed refits count as not
significant, as in simr, and are reported), with its exact 95% Clopper–Pearson interval.  With
``along`` / ``sizes`` the data are extended or cut (:mod:`.extend`) and every simulation is refitted
at every size.

Refits are fast: linear mixed models reuse the design's cross products and warm-start at the fit's θ
(:class:`~hierlm.engines.frequentist.fastlmm.FastLmm`), and the simulations run in batches on any
executor (:mod:`hierlm.services.executors`) with the same numbers for every executor.  A Bayesian fit
gets assurance instead (:mod:`.assurance`).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from ...design import make_design, response_of
from ...engines.frequentist import GlmmProblem, LmmProblem
from ...engines.frequentist.fastglmm import DenseGlmmProblem, dense_enough
from ...errors import HierlmError
from ...fits.protocol import is_fit
from ...fits.simulate import Simulator, seed_children
from ..executors import check_executor, run_batches
from .assurance import assurance
from .extend import extend_data
from .jobs import GlmmPowerJob, LmmPowerJob, LmNull, SizeModels
from .table import effect_sizes, power_table
from .testspec import parse_test

__all__ = ["power_sim"]


def _check_args(nsim, alpha) -> int:
    if isinstance(nsim, bool) or not isinstance(nsim, (int, np.integer)) or nsim < 1:
        raise HierlmError(f"nsim must be a whole number >= 1 (the number of simulations, e.g. 1000), not {nsim!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise HierlmError(f"alpha must be a number between 0 and 1 (the significance level, e.g. 0.05), not {alpha!r}")
    return int(nsim)


def _npar(prob) -> int:
    if isinstance(prob, LmNull):
        return prob.Q.shape[1] + 1
    if isinstance(prob, LmmProblem):
        return prob.p + prob.tmap.ntheta + 1
    return prob.p + prob.tmap.ntheta


def _glmm_problem(design, family) -> GlmmProblem:
    """The engine's GLMM problem for the refits (dense arithmetic for small designs)."""
    prob = GlmmProblem(design, family, response_of(design, family)[1])
    return DenseGlmmProblem(design, family, prob.resp) if dense_enough(prob) else prob


def _null_start(null_formula: str, fit, reml: bool, glmm: bool):
    """θ (as written) of the null model fitted to the fit's own data: the refits' warm start."""
    d = fit.design
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = make_design(null_formula, d.data, weights=d.weights)
    if not design.reterms:
        return None
    if glmm:
        _, resp = response_of(design, fit.family)
        return GlmmProblem(design, fit.family, resp).solve(nb=fit.family.name == "negbinomial").theta
    return LmmProblem(design, reml=reml).solve().theta


def power_sim(fit, test, nsim: int = 1000, effects: dict | None = None, along: str | None = None, sizes=None,
              alpha: float = 0.05, executor=None, seed=None, progressbar: bool = True, *, n_jobs: int | None = None,
              width: float | None = None, refit: dict | None = None) -> pd.DataFrame:
    """Power by simulation (simr's ``powerSim``, ``powerCurve`` and ``extend`` in one call).

    Parameters
    ----------
    fit : LmerFit, GlmerFit or BayesFit
        The model to simulate from (its θ, σ and fixed effects, with ``effects`` set by hand).
    test : str or tuple
        What to test (:mod:`hierlm.services.power.testspec`): a fixed-effect term or coefficient
        (``"Days"``; Satterthwaite t for ``lmer`` fits, Wald z for ``glmer`` fits), a tuple
        ``("fixed", "Days", "kr")`` with a method (``"satterthwaite"``, ``"kr"``, ``"z"``, ``"lrt"``),
        a random-effect bar (``"(Days | Subject)"``: likelihood-ratio test of the model without it) or
        the formula of a smaller model (``"Reaction ~ 1 + (Days | Subject)"``: likelihood-ratio test).
    nsim : int, default 1000
        Number of simulations.
    effects : dict, optional
        Fixed effects to simulate with, by coefficient name (``{"Days": 2.0}``); the others keep
        the fit's values.
    along : str, optional
        A grouping factor (``"Subject"``: more or fewer subjects) or a numeric predictor (``"Days"``:
        more or fewer observations per subject) to extend or cut to ``sizes``.
    sizes : list of int, optional
        Number of levels (values) of ``along`` at each point of the power curve.  New levels copy
        the within-level design of existing ones and get new random effects from the fitted Σ;
        sizes below the current number keep the first levels (values).
    alpha : float, default 0.05
        Significance level.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Where the simulations run, in batches (:mod:`hierlm.services.executors`); the result is the
        same for every executor and number of workers.
    seed : int, optional
        Same seed, same result: simulation ``i`` draws from its own child seed.
    progressbar : bool, default True
        A progress bar on runs longer than a second (terminals and notebooks).
    n_jobs : int, optional
        Local worker processes instead of an executor (-1: all cores).
    width : float, optional
        Bayesian fits: assurance that the 95% interval is narrower than ``width`` (instead of
        excluding 0).
    refit : dict, optional
        Bayesian fits: ``hl.blmer`` settings of the refits (default ``draws=200, tune=200,
        chains=2``, the marginal route).

    Returns
    -------
    DataFrame
        One row per size: ``size`` (with ``along``; ``largest``, the largest value, for a numeric
        ``along``), ``nobs``, ``nsim``, ``successes``, ``power`` and its 95% Clopper–Pearson
        interval ``lower`` / ``upper``, ``failed`` (refits that failed; counted as not
        significant, as simr does) and ``singular`` (singular refits of the tested model).
        ``attrs``: ``test`` (in words), ``alpha``, ``effects``, ``along``, ``pvalues`` (nsim ×
        sizes), ``seconds``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> res = power_sim(m, "Days", nsim=40, effects={"Days": 2.0}, seed=1)
    >>> res[["nobs", "nsim", "successes", "power"]]
       nobs  nsim  successes  power
    0   180    40          9  0.225
    >>> res.attrs["test"]
    "Satterthwaite t test of the fixed effect 'Days'"
    >>> curve = power_sim(m, "Days", nsim=20, effects={"Days": 2.0}, along="Subject", sizes=[10, 30], seed=1)
    >>> curve[["size", "nobs", "power"]]
       size  nobs  power
    0    10   100    0.2
    1    30   300    0.5
    """
    t0 = time.perf_counter()
    nsim = _check_args(nsim, alpha)
    check_executor(executor, n_jobs)
    if is_fit(fit, "bayesian"):
        return assurance(fit, test, nsim=nsim, effects=effects, along=along, sizes=sizes, executor=executor, seed=seed,
                         progressbar=progressbar, n_jobs=n_jobs, width=width, refit=refit)
    if not is_fit(fit, "frequentist", ("lmm", "glmm")):
        raise HierlmError(f"power_sim needs a mixed model fitted by hl.lmer, hl.glmer or hl.blmer, not "
                          f"{type(fit).__name__}")
    if width is not None or refit is not None:
        raise HierlmError("width= and refit= are for Bayesian fits (assurance); a frequentist fit tests at alpha")
    glmm = fit.kind.model == "glmm"
    beta = effect_sizes(fit, effects)
    spec = parse_test(fit, test)
    ext = extend_data(fit, along, sizes)
    alt_designs = ext.designs(fit.formula, fit.design.xnames, gaussian=not glmm)
    full = alt_designs[int(np.argmax(ext.sizes))]
    sim = (Simulator(fit) if along is None and effects is None
           else Simulator(fit, design=full if along is not None else None, beta=beta))
    reml = bool(getattr(fit, "reml", False)) and (spec.method != "lrt" or spec.kind == "random")
    null_designs = ext.designs(spec.null, None, gaussian=not glmm) if spec.method == "lrt" else [None] * len(ext.sizes)
    null_theta = _null_start(spec.null, fit, reml, glmm) if spec.method == "lrt" else None
    models = []
    for rows, d, d0 in zip(ext.rows, alt_designs, null_designs):
        if glmm:
            alt = _glmm_problem(d, fit.family)
            null = None if d0 is None else _glmm_problem(d0, fit.family)
        else:
            alt = LmmProblem(d, reml=reml)
            null = None if d0 is None else (LmmProblem(d0, reml=reml) if d0.reterms else LmNull(d0, reml))
        a_start = alt.tmap.to_internal(fit.theta)
        n_start = None if null is None or isinstance(null, LmNull) else null.tmap.to_internal(null_theta)
        df = _npar(alt) - _npar(null) if null is not None else 0
        if null is not None and df <= 0:
            raise HierlmError(f"the null model '{spec.null}' must have fewer parameters than the fit "
                              f"({_npar(null)} vs {_npar(alt)}): is it nested in '{fit.formula}'?")
        models.append(SizeModels(rows, alt, a_start, null, n_start, df))
    job = (GlmmPowerJob(sim, models, spec, getattr(fit, "nAGQ", 1)) if glmm else LmmPowerJob(sim, models, spec))
    items = seed_children(seed, nsim)
    out = np.vstack(run_batches(job, items, executor=executor, n_jobs=n_jobs, progressbar=progressbar,
                                desc="power simulations"))
    K = len(ext.sizes)
    res = power_table(out[:, :K], out[:, K:], alpha, ext.sizes if along is not None else None,
                      [len(r) for r in ext.rows], ext.largest)
    res.attrs.update(test=spec.describe(), alpha=alpha, effects=dict(effects or {}), along=along,
                     pvalues=out[:, :K], seconds=time.perf_counter() - t0, kind="power",
                     formula=fit.formula)
    return res
