"""``hl.blmer``: formula + data → :class:`~hierlm.fits.BayesFit` (NUTS on lme4's model class).

The pipeline: the design (:mod:`hierlm.design`) with the checks every engine makes; priors and the
sampler's parameter layout (:mod:`hierlm.engines.bayes.spec`); start values and centring from the
frequentist engine's REML/ML or Laplace solution; sampling (:mod:`hierlm.engines.bayes.sample`);
the ArviZ DataTree; the fit; plain-language warnings.

Routes (see :mod:`hierlm.engines.bayes.sample`): ``sampler=None`` / ``"nutpie"`` runs hierlm's
compiled kernel on nutpie's Rust NUTS — ``method="marginal"`` integrates the random effects out
(Gaussian, every bar on one grouping factor), ``"joint"`` samples everything, ``"auto"`` picks
marginal where it applies; ``"pymc"``, ``"numpyro"``, ``"blackjax"``, ``"nutpie-pymc"`` sample the
mirror PyMC model (also the automatic fallback for priors the kernel cannot evaluate).
"""

from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np
import pandas as pd

from ..design import check_model, covariance, get_family, make_design, response_of
from ..engines.bayes import spec as S
from ..engines.bayes.posterior import build_tree
from ..engines.bayes.priors import resolve_priors
from ..engines.frequentist import GlmmProblem, LmmProblem
from ..errors import DataError, HierlmError, HierlmWarning, SamplingError, suggest
from .bayes import BayesFit
from .bayes_draws import check_fit

__all__ = ["blmer", "get_priors", "prepare", "start_values"]

SAMPLERS = (None, "nutpie", "pymc", "numpyro", "blackjax", "nutpie-pymc")
_EXTRA = ("maxdepth", "mass_matrix")


def _check_int(name: str, value, low: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SamplingError(f"{name} must be a whole number >= {low}, got {value!r}; {hint}")
    return int(value)


def _validate(draws, tune, chains, seed, sampler, method, target_accept, cores, init, sample_prior, kw):
    draws = _check_int("draws", draws, 1, "e.g. draws=1000 (per chain, after tuning)")
    tune = _check_int("tune", tune, 1, "e.g. tune=1000 (warm-up iterations per chain; NUTS needs some to adapt "
                                       "its step size)")
    chains = _check_int("chains", chains, 1, "e.g. chains=4 (R-hat needs at least 2)")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
            raise SamplingError(f"seed must be None or a whole number from 0 to 2**63 - 1, got {seed!r}")
        seed = int(seed)
    if sampler not in SAMPLERS:
        names = [s for s in SAMPLERS if s]
        raise SamplingError(f"unknown sampler {sampler!r}; use None (hierlm's compiled kernel + nutpie) or one of "
                            f"{names}.{suggest(str(sampler), names)}")
    if method not in ("auto", "joint", "marginal"):
        raise SamplingError(f"method must be 'auto', 'joint' or 'marginal', not {method!r}")
    if target_accept is not None and not (isinstance(target_accept, (int, float)) and 0 < target_accept < 1):
        raise SamplingError(f"target_accept must be a number between 0 and 1 (e.g. 0.9), got {target_accept!r}")
    if cores is not None:
        cores = _check_int("cores", cores, 1, "e.g. cores=2")
    if init not in ("lmer", "random"):
        raise SamplingError(f"init must be 'lmer' (start at the REML / ML estimates) or 'random', not {init!r}")
    if not (sample_prior is None or sample_prior is False
            or (isinstance(sample_prior, str) and sample_prior in ("no", "yes", "only"))):
        raise SamplingError(f"sample_prior must be None, 'yes' (also draw from the prior) or 'only', "
                            f"not {sample_prior!r}")
    if "maxdepth" in kw:
        kw["maxdepth"] = _check_int("maxdepth", kw["maxdepth"], 1, "e.g. maxdepth=12 (at most 2**maxdepth leapfrog "
                                                                  "steps per draw; the default is 10)")
        if kw["maxdepth"] > 30:
            raise SamplingError(f"maxdepth must be at most 30 (2**30 leapfrog steps per draw), got {kw['maxdepth']}")
    if kw.get("mass_matrix", "diag") not in ("diag", "low_rank"):
        raise SamplingError(f"mass_matrix must be 'diag' or 'low_rank', not {kw['mass_matrix']!r}")
    unknown = [k for k in kw if k not in _EXTRA]
    if unknown:
        known = ["family", "priors", "draws", "tune", "chains", "seed", "sampler", "progressbar", "method",
                 "target_accept", "cores", "init", "weights", "sample_prior", *_EXTRA]
        raise HierlmError(f"blmer() got an unknown argument '{unknown[0]}'.{suggest(unknown[0], known)}")
    return draws, tune, chains, seed, None if sample_prior in (False, "no") else sample_prior


def blmer(formula: str, data, family: str = "gaussian", priors=None, draws: int = 1000, tune: int = 1000,
          chains: int = 4, seed: int | None = None, sampler: str | None = None, progressbar: bool = True, *,
          method: str = "auto", target_accept: float | None = None, cores: int | None = None, init: str = "lmer",
          weights=None, sample_prior: str | None = None, centred="auto", **kw) -> BayesFit:
    """Fit a mixed model by NUTS, with lme4 formula syntax and weakly informative default priors.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    data : DataFrame
    family : {"gaussian", "binomial", "bernoulli", "poisson", "negbinomial"}
        Binomial responses as ``cbind(successes, failures)`` or a proportion with ``weights=``.
    priors : dict or list of Prior, optional
        Overrides of the defaults, e.g. ``{"b": hl.Prior("normal", mu=0, sigma=5),
        ("sd", "Subject"): hl.Prior("half_normal", sigma=20)}``; see :mod:`hierlm.engines.bayes.priors`.
    draws, tune, chains : int
        Draws kept and warm-up iterations per chain; number of chains.
    seed : int, optional
        Makes the fit bit-for-bit reproducible on the same machine (same hierlm, numba and CPU); on
        another machine the draws differ in the last bits and the summaries agree within Monte Carlo
        error.  None draws one (stored in ``fit.idata.attrs["seed"]``).
    sampler : {None, "nutpie", "pymc", "numpyro", "blackjax", "nutpie-pymc"}
    progressbar : bool
    method : {"auto", "joint", "marginal"}
        ``"marginal"`` integrates the random effects out (Gaussian models whose bars share one
        grouping factor, e.g. ``(Days | Subject)`` or ``(Days || Subject)``) and draws them exactly
        afterwards; ``"joint"`` samples them with the other parameters; ``"auto"`` (default) picks
        marginal where it applies.
    target_accept : float, optional
        Target acceptance rate of NUTS; raise it (0.95, 0.99) after divergences.  Default 0.9 for
        the marginal route, 0.95 for the joint route when a grouping factor has fewer than 10
        levels, 0.8 otherwise.
    cores : int, optional
        Chains run in parallel on this many cores (default: one per chain, at most the machine's).
    init : {"lmer", "random"}
        Start chains near the REML / ML estimates (jittered) or at PyMC's default random points.
    weights : str or array-like, optional
        Number of trials for a binomial proportion; prior weights for a Gaussian model.
    sample_prior : {None, "yes", "only"}
        ``"only"``: draws from the prior (and prior predictive) instead of the posterior;
        ``"yes"``: add ``prior`` / ``prior_predictive`` groups to the posterior fit.
    centred : "auto", bool or list of bool
        Joint route: sample each random-effects block centred (r ~ N(0, Σ)) or non-centred
        (r = L z); "auto" decides per block from the REML / ML fit (see :func:`.spec.choose_centring`).
        On the marginal route the effects are integrated out, so anything but "auto" only warns
        (the number of flags is checked on both routes).
    maxdepth : int, optional
        Maximum NUTS tree depth (default 10).
    mass_matrix : {"diag", "low_rank"}, optional
        nutpie's mass-matrix adaptation; default ``"low_rank"`` for the marginal route (a handful of
        parameters), ``"diag"`` for the joint one (low rank is slow for hundreds of parameters).

    Returns
    -------
    BayesFit

    Examples
    --------
    >>> import hierlm as hl
    >>> fit = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), seed=1,
    ...                progressbar=False)  # doctest: +SKIP
    >>> fit.fixef()  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    draws, tune, chains, seed, sample_prior = _validate(draws, tune, chains, seed, sampler, method, target_accept,
                                                        cores, init, sample_prior, kw)
    design, fam, resp = prepare(formula, data, family, weights)
    prior_set = resolve_priors(design, fam.name, priors, resp)
    spec = S.build_spec(design, fam, resp, prior_set)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    cores = cores or max(1, min(chains, os.cpu_count() or 1))
    notes: list[str] = []
    if sampler in (None, "nutpie") and not prior_set.kernel_ok:
        odd = sorted({r["prior"].dist for r in prior_set.rows
                      if r["prior"].kernel_code is None and r["prior"].dist != "lkj"})
        notes.append(f"the prior(s) {', '.join(odd)} are not in hierlm's compiled kernel, so PyMC's model was "
                     "sampled with nutpie (sampler='nutpie-pymc'), which compiles for several seconds")
        warnings.warn(notes[-1], HierlmWarning, stacklevel=2)
        sampler = "nutpie-pymc"
    kernel = sampler in (None, "nutpie")
    if method == "marginal" and not (kernel and S.marginal_applies(spec)):
        raise SamplingError("method='marginal' needs a Gaussian model whose random effects share one grouping factor "
                            f"(this one: family '{fam.name}', {len(spec.blocks)} block(s)) and the default sampler; "
                            "use method='joint'")
    use_marginal = kernel and sample_prior != "only" and method != "joint" and S.marginal_applies(spec)
    start = start_values(design, fam, resp) if sample_prior != "only" else None
    if isinstance(centred, str) and centred == "auto":
        flags = None
    elif isinstance(centred, (bool, np.bool_)):
        flags = [bool(centred)] * len(spec.blocks)
    else:
        flags = list(centred)
    if flags is not None and len(flags) != len(spec.blocks):
        raise SamplingError(f"centred needs one flag per random-effects block ({len(spec.blocks)}: "
                            f"{[b.label for b in spec.blocks]}), got {centred!r}")
    if use_marginal and flags is not None:
        notes.append(f"centred={centred!r} has no effect here: the random effects are integrated out (marginal "
                     "route), so there is nothing to centre; pass method='joint' to sample them centred")
        warnings.warn(notes[-1], HierlmWarning, stacklevel=2)
    if not use_marginal:
        for b, c in zip(spec.blocks, flags if flags is not None else S.choose_centring(spec, start)):
            b.centred = bool(c)
    if target_accept is None:  # small steps where funnels are likely: marginal (cheap) and few levels
        few = min(b.J for b in spec.blocks) < 10
        target_accept = 0.9 if use_marginal else 0.95 if few else 0.8
    target_accept = float(target_accept)
    if use_marginal:  # a handful of parameters: a dense (low-rank) mass matrix is cheap and mixes far better
        kw.setdefault("mass_matrix", "low_rank")
    settings = dict(formula=design.formula.text, family=fam.name, draws=draws, tune=tune, chains=chains, seed=seed,
                    sampler=sampler or "nutpie", method="marginal" if use_marginal else "joint", init=init,
                    target_accept=target_accept, cores=cores, sample_prior=sample_prior, notes=notes,
                    centred=[b.label for b in spec.blocks if b.centred], **kw)
    t1 = time.perf_counter()
    # the sampling routes import numba and nutpie: loaded here, on the first fit, so `import hierlm` stays fast
    from ..engines.bayes import sample as sampling

    if sample_prior == "only":
        run = sampling.prior_draws(spec, design, draws, chains, seed)
    else:
        run = sampling.sample(spec, design, marginal=use_marginal, start=start if init == "lmer" else None,
                              sampler=sampler, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                              target_accept=target_accept, progressbar=progressbar, **kw)
        if sample_prior == "yes":
            run.extra_groups.update(sampling.prior_draws(spec, design, draws, chains, seed).extra_groups)
    settings["sampler_label"] = run.label
    t2 = time.perf_counter()
    attrs = dict(seed=str(seed), method=settings["method"], sampler=settings["sampler"],
                 inference_library=settings["sampler_label"], hierlm_formula=design.formula.text, family=fam.name,
                 centred=json.dumps(settings["centred"]), hier_centre=json.dumps(spec.hier_centre))
    tree = build_tree(spec, design, fam, resp, run.posterior, run.stats, attrs, run.extra_groups)
    fit = BayesFit(design, fam, resp, spec, tree, prior_set, settings,
                   timings=dict(setup_s=t1 - t0, sample_s=t2 - t1, posterior_s=time.perf_counter() - t2), model=run.model)
    if sample_prior != "only":
        check_fit(fit, stacklevel=3)
    return fit


def prepare(formula, data, family="gaussian", weights=None, check_response: bool = True):
    """Formula + data → design, family and canonical response, with the checks every engine makes.

    ``check_response=False`` skips the checks of the response's values (SBC and recovery simulate it).
    """
    fam = get_family(family)
    design = make_design(formula, data, weights=weights)
    if not design.reterms:
        raise DataError(f"the formula '{design.formula.text}' has no random-effects term such as (1 | g); "
                        "blmer fits mixed models")
    check_model(design, fam, response=check_response)
    if fam.name != "gaussian":
        if design.weights is not None and fam.name in ("poisson", "negbinomial"):
            raise DataError(f"weights= is not available for family='{fam.name}' in blmer; model exposure with an "
                            "offset, e.g. count ~ x + offset(log(exposure)) + (1 | g)")
    fam, resp = response_of(design, fam)
    return design, fam, resp


def start_values(design, fam, resp) -> S.StartValues | None:
    """The frequentist engine's REML (Gaussian) or nAGQ = 0 (GLMM) solution as start values, or None."""
    sizes = [t.ncols for t in design.reterms]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fam.name == "gaussian":
                sol = LmmProblem(design, reml=True).solve()
                return S.StartValues(sol.beta, sol.vcov_beta, covariance.covariances_of_theta(sol.theta, sizes, sol.sigma),
                                     sol.b, sigma=sol.sigma)
            sol = GlmmProblem(design, fam, resp).solve(nAGQ=0, nb=fam.name == "negbinomial")
            return S.StartValues(sol.beta, sol.vcov_beta, covariance.covariances_of_theta(sol.theta, sizes, 1.0),
                                 sol.b, mu=np.asarray(sol.mu, float), nb_theta=sol.nb_theta)
    except (HierlmError, ArithmeticError, np.linalg.LinAlgError, RuntimeError, ValueError):
        return None


def get_priors(formula: str, data: pd.DataFrame, family: str = "gaussian", priors=None, weights=None) -> pd.DataFrame:
    """The priors :func:`hierlm.blmer` would use, as a table (brms's ``get_prior``).

    Nothing is sampled: the formula and data are only read to scale the default priors (see
    :mod:`hierlm.engines.bayes.priors` for the rules).

    Parameters
    ----------
    formula : str
        lme4 formula, as for ``blmer``.
    data : DataFrame
    family : str
        ``"gaussian"`` (default), ``"binomial"``, ``"bernoulli"``, ``"poisson"`` or ``"negbinomial"``.
    priors : dict or list of Prior, optional
        Overrides, as passed to ``blmer``.
    weights : str or array-like, optional
        Number of trials for a binomial proportion; prior weights for a Gaussian model.

    Returns
    -------
    DataFrame
        Columns ``class``, ``group``, ``term``, ``prior``, ``source`` (``default`` or ``user``).

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> hl.get_priors("Reaction ~ Days + (Days | Subject)", sleep)
           class    group         term                 prior   source
    0  Intercept                        normal(298.5, 140.8)  default
    1          b                  Days      normal(0, 48.89)  default
    2         sd  Subject  (Intercept)    half_normal(140.8)  default
    3         sd  Subject         Days    half_normal(48.89)  default
    4        cor  Subject                             lkj(1)  default
    5      sigma                        exponential(0.01775)  default
    >>> hl.get_priors("Reaction ~ Days + (Days | Subject)", sleep,
    ...               priors={("sd", "Subject", "Days"): hl.Prior("half_normal", sigma=10)}).iloc[3].tolist()
    ['sd', 'Subject', 'Days', 'half_normal(10)', 'user']
    """
    design, fam, resp = prepare(formula, data, family, weights)
    return resolve_priors(design, fam.name, priors, resp).table()
