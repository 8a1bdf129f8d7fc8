"""The steps of :func:`hierlm.blmer` before and around sampling: argument checks, the design with the
checks every engine makes, start values from the frequentist engine, and ``hl.get_priors``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd

from ..design import check_model, covariance, get_family, make_design, response_of
from ..engines.bayes import spec as S
from ..engines.bayes.priors import resolve_priors
from ..engines.bayes.route import Route, choose_route
from ..engines.frequentist import GlmmProblem, LmmProblem
from ..errors import DataError, HierlmError, SamplingError, suggest
from .bayes_families import is_extra, start_values_extra
from .bayes_families import prepare_response as extra_response

__all__ = ["SAMPLERS", "centring_flags", "default_cores", "get_priors", "pick_route", "prepare", "start_values",
           "validate"]

SAMPLERS = (None, "nutpie", "pymc", "numpyro", "blackjax", "nutpie-pymc")
_EXTRA = ("maxdepth", "mass_matrix")


def default_cores(chains: int) -> int:
    """One core per chain, at most the machine's."""
    return max(1, min(chains, os.cpu_count() or 1))


def _check_int(name: str, value, low: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SamplingError(f"{name} must be a whole number >= {low}, got {value!r}; {hint}")
    return int(value)


def validate(draws, tune, chains, seed, sampler, method, target_accept, cores, init, sample_prior, kw,
             store_ranef=True):
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
    if method not in ("auto", "joint", "marginal", "partial", "laplace"):
        raise SamplingError(f"method must be 'auto', 'marginal', 'partial', 'laplace' or 'joint', not {method!r}")
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
    if not isinstance(store_ranef, (bool, np.bool_)):
        raise SamplingError(f"store_ranef must be True (keep the draws of the random effects) or False (keep their "
                            f"posterior mean and SD only), not {store_ranef!r}")
    if kw.get("mass_matrix", "diag") not in ("diag", "low_rank"):
        raise SamplingError(f"mass_matrix must be 'diag' or 'low_rank', not {kw['mass_matrix']!r}")
    unknown = [k for k in kw if k not in _EXTRA]
    if unknown:
        known = ["family", "priors", "draws", "tune", "chains", "seed", "sampler", "progressbar", "method",
                 "target_accept", "cores", "init", "weights", "sample_prior", "centred", "store_ranef", *_EXTRA]
        raise HierlmError(f"blmer() got an unknown argument '{unknown[0]}'.{suggest(unknown[0], known)}")
    return draws, tune, chains, seed, None if sample_prior in (False, "no") else sample_prior


def prepare(formula, data, family="gaussian", weights=None, check_response: bool = True):
    """Formula + data → design, family and canonical response, with the checks every engine makes.

    ``check_response=False`` skips the checks of the response's values (SBC and recovery simulate it).
    """
    fam = get_family(family).require_engine("bayesian", "blmer")
    design = make_design(formula, data, weights=weights)
    if not design.reterms:
        raise DataError(f"the formula '{design.formula.text}' has no random-effects term such as (1 | g); "
                        "blmer fits mixed models")
    check_model(design, fam, response=check_response)
    if fam.name != "gaussian":
        if design.weights is not None and fam.name in ("poisson", "negbinomial"):
            raise DataError(f"weights= is not available for family='{fam.name}' in blmer; model exposure with an "
                            "offset, e.g. count ~ x + offset(log(exposure)) + (1 | g)")
    if is_extra(fam):  # cumulative: the design loses its intercept column (thresholds) and y becomes codes
        design, resp = extra_response(design, fam, data)
        return design, fam, resp
    fam, resp = response_of(design, fam)
    return design, fam, resp


def pick_route(spec, fam, method: str, kernel_ok: bool, prior_only: bool, iters: int, draws: int) -> Route:
    """The route of the fit (:func:`hierlm.engines.bayes.route.choose_route`), refusing ``method="marginal"``
    where the random effects cannot be integrated out."""
    if prior_only:
        return Route("joint", "prior", "draws from the prior only (sample_prior='only')")
    route = choose_route(spec, method, kernel_ok, iters, draws)
    if method in ("marginal", "partial", "laplace") and route.method == "joint":
        what = "a binomial or Poisson model" if method == "laplace" else "a Gaussian model"
        raise SamplingError(f"method='{method}' needs {what} and hierlm's own sampler (sampler=None); this "
                            f"one: family '{fam.name}', {route.reason}. Use method='joint'")
    return route


def centring_flags(centred, spec) -> list[bool] | None:
    """``centred=`` as one flag per block (None for "auto"), checked against the number of blocks."""
    if isinstance(centred, str) and centred == "auto":
        return None
    flags = [bool(centred)] * len(spec.blocks) if isinstance(centred, (bool, np.bool_)) else list(centred)
    if len(flags) != len(spec.blocks):
        raise SamplingError(f"centred needs one flag per random-effects block ({len(spec.blocks)}: "
                            f"{[b.label for b in spec.blocks]}), got {centred!r}")
    return flags


#: no REML start when the REML engine's dense "rest" (the random effects after the first block) is larger
MAX_START_REST = 3000


def start_values(design, fam, resp) -> S.StartValues | None:
    """The frequentist engine's REML (Gaussian) or nAGQ = 0 (GLMM) solution as start values, or None.

    None as well when that solution would cost more than sampling is worth waiting for: the engine
    factors the random effects after the block with most levels densely, so above
    :data:`MAX_START_REST` of them the chains start from moment estimates instead.
    """
    sizes = [t.ncols for t in design.reterms]
    rest = sorted(((t.nlevels * t.ncols) for t in design.reterms), reverse=True)[1:]
    if sum(rest) > MAX_START_REST:
        return None
    if is_extra(fam):
        return start_values_extra(design, fam, resp)
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
    family : str or Family
        Any family ``blmer`` fits (``"gaussian"``, ``"binomial"``, ``"student"``, ``"gamma"``,
        ``"cumulative"``, ..., or ``hl.family(name, link=...)``).
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
    return resolve_priors(design, fam, priors, resp).table()
