"""``hl.blmer``: formula + data → :class:`~hierlm.bayes.fit.BayesFit` (NUTS on lme4's model class).

Routes:

* ``sampler=None`` / ``"nutpie"``: hierlm's compiled kernel driven by nutpie's Rust NUTS
  (:mod:`.nutpie_core`).  ``method="marginal"`` integrates the random effects out (Gaussian, all
  random effects on one grouping factor) and draws them exactly afterwards; ``"joint"`` samples everything, with
  automatic centring and hierarchical-centring shear; ``"auto"`` picks marginal where it applies.
* ``"pymc"``, ``"numpyro"``, ``"blackjax"``: ``pm.sample(nuts_sampler=...)`` on the mirror model;
  ``"nutpie-pymc"``: ``nutpie.compile_pymc_model`` on it (also the automatic fallback for priors
  the kernel cannot evaluate).
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np

from ..errors import HierlmError, HierlmWarning, SamplingError, suggest
from ..priors import resolve_priors
from . import spec as S
from .diagnostics import check_fit
from .fit import BayesFit
from .nutpie_core import STAT_NAMES, default_cores
from .posterior import build_tree, constrain, to_dataset

__all__ = ["blmer"]

SAMPLERS = (None, "nutpie", "pymc", "numpyro", "blackjax", "nutpie-pymc")
_EXTRA = ("maxdepth", "mass_matrix")


def _check_int(name: str, value, low: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SamplingError(f"{name} must be a whole number >= {low}, got {value!r}; {hint}")
    return int(value)


def _validate(draws, tune, chains, seed, sampler, method, target_accept, cores, init, sample_prior, kw):
    draws = _check_int("draws", draws, 1, "e.g. draws=1000 (per chain, after tuning)")
    tune = _check_int("tune", tune, 0, "e.g. tune=1000 (warm-up iterations per chain)")
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
        ("sd", "Subject"): hl.Prior("half_normal", sigma=20)}``; see :mod:`hierlm.priors`.
    draws, tune, chains : int
        Draws kept and warm-up iterations per chain; number of chains.
    seed : int, optional
        Makes the fit bit-for-bit reproducible on the same machine; None draws one (stored in
        ``fit.idata.attrs["seed"]``).
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
    design, fam, resp = S.prepare(formula, data, family, weights)
    prior_set = resolve_priors(design, fam.name, priors, resp)
    spec = S.build_spec(design, fam, resp, prior_set)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    cores = cores or default_cores(chains)
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
    freq = S.freq_fit(design, fam) if sample_prior != "only" else None
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
        for b, c in zip(spec.blocks, flags if flags is not None else S.choose_centring(spec, freq)):
            b.centred = bool(c)
    if target_accept is None:  # small steps where funnels are likely: marginal (cheap) and few levels
        few = min(b.J for b in spec.blocks) < 10
        target_accept = 0.9 if use_marginal else 0.95 if few else 0.8
    target_accept = float(target_accept)
    if use_marginal:  # a handful of parameters: a dense (low-rank) mass matrix is cheap and mixes far better
        kw.setdefault("mass_matrix", "low_rank")
    if kernel and not use_marginal and any(b.centred for b in spec.blocks):
        from .shear import auto_shear

        auto_shear(spec)
    settings = dict(formula=design.formula.text, family=fam.name, draws=draws, tune=tune, chains=chains, seed=seed,
                    sampler=sampler or "nutpie", method="marginal" if use_marginal else "joint", init=init,
                    target_accept=target_accept, cores=cores, sample_prior=sample_prior, notes=notes,
                    centred=[b.label for b in spec.blocks if b.centred], **kw)
    t1 = time.perf_counter()
    extra = {}
    stats = model = None
    if sample_prior == "only":
        posterior, extra = _prior_only(spec, design, draws, chains, seed)
        settings["sampler_label"] = "forward sampling from the prior (pm.sample_prior_predictive)"
    elif kernel:
        start = freq if init == "lmer" else None
        X, stats = _sample_kernel(spec, use_marginal, start, seed=seed, draws=draws, tune=tune, chains=chains,
                                  cores=cores, target_accept=target_accept, progressbar=progressbar, **kw)
        posterior = to_dataset(spec, constrain(spec, X))
        settings["sampler_label"] = "NUTS (nutpie core, hierlm kernel" + (", marginal)" if use_marginal else ")")
    else:
        from .pymc_model import build_model, sample_pymc

        model = build_model(spec, design.rows)
        try:
            posterior, stats = sample_pymc(model, sampler, draws=draws, tune=tune, chains=chains, cores=cores,
                                           seed=seed, target_accept=target_accept, progressbar=progressbar)
        except HierlmError:
            raise
        except (RuntimeError, ValueError, FloatingPointError) as err:  # PyMC's and nutpie's own errors
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SamplingError(f"sampler '{sampler}' could not sample the model: {first}. Check that every prior's "
                                "parameters are valid (positive scales) and the data have no extreme values; "
                                "prior_summary() lists the priors") from err
        stats = stats[[v for v in stats.data_vars if v in STAT_NAMES or v in STAT_NAMES.values()]]
        stats = stats.rename({k: v for k, v in STAT_NAMES.items() if k in stats and k != v})
        settings["sampler_label"] = f"NUTS ({sampler} on the PyMC model)"
    if sample_prior == "yes":
        extra = _prior_only(spec, design, draws, chains, seed)[1]
    t2 = time.perf_counter()
    attrs = dict(seed=str(seed), method=settings["method"], sampler=settings["sampler"],
                 inference_library=settings["sampler_label"], hierlm_formula=design.formula.text, family=fam.name,
                 centred=json.dumps(settings["centred"]), hier_centre=json.dumps(spec.hier_centre))
    tree = build_tree(spec, design, fam, resp, posterior, stats, attrs, extra)
    fit = BayesFit(design, fam, resp, spec, tree, prior_set, settings,
                   timings=dict(setup_s=t1 - t0, sample_s=t2 - t1, posterior_s=time.perf_counter() - t2))
    fit._model = model
    if sample_prior != "only":
        check_fit(fit, stacklevel=3)
    return fit


def _sample_kernel(spec, marginal: bool, freq, *, seed, draws, tune, chains, cores, target_accept, progressbar, **kw):
    """Sample with the compiled kernel; draws in model coordinates (chains, draws, ndim) and sample stats."""
    from .nutpie_core import run_nuts

    common = dict(draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, target_accept=target_accept,
                  progressbar=progressbar, **kw)
    if marginal:
        from . import kernels_marginal as km

        d, ndim = km.pack_marginal(spec)
        keep = km.marginal_keep(spec)

        def init(s):
            return S.init_point(spec, s, freq)[keep]

        Xm, stats = run_nuts(km.c_logp.address, int(d["meta"].ctypes.data), d, ndim, init, **common)
        return km.expand_draws(spec, Xm, d, seed), stats
    from . import kernels
    from .shear import shear_arrays, to_internal, to_model

    shear = shear_arrays(spec) if spec.hier_centre else None
    d, ndim = kernels.pack(spec, shear)

    def init(s):
        x = S.init_point(spec, s, freq)
        return to_internal(x, shear) if shear is not None else x

    Xi, stats = run_nuts(kernels.c_logp.address, int(d["meta"].ctypes.data), d, ndim, init, **common)
    return (to_model(spec, Xi, shear) if shear is not None else Xi), stats


def _prior_only(spec, design, draws: int, chains: int, seed: int):
    """Prior draws shaped (chains, draws) as a posterior Dataset, plus the prior groups."""
    import xarray as xr

    from .pymc_model import build_model, sample_prior

    model = build_model(spec, design.rows)
    prior, prior_pred = sample_prior(model, draws * chains, seed)
    names = [v.name for v in model.free_RVs + model.deterministics]
    post = {nm: prior[nm].values.reshape((chains, draws) + prior[nm].shape[2:]) for nm in names}
    posterior = to_dataset(spec, post)
    pp = prior_pred["y"].values.reshape(chains, draws, -1)
    ppd = xr.Dataset({"y": (("chain", "draw", "obs"), pp)},
                     coords={"chain": np.arange(chains), "draw": np.arange(draws),
                             "obs": [str(r) for r in design.rows]})
    return posterior, {"prior": xr.DataTree(posterior), "prior_predictive": xr.DataTree(ppd)}
