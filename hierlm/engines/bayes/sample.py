"""Run a sampler on a :class:`~hierlm.engines.bayes.spec.Spec`: draws in, posterior Dataset out.

Routes:

* the compiled kernel driven by nutpie's Rust NUTS (:mod:`.nutpie_core`): ``marginal=True``
  integrates the random effects out (:mod:`.kernels_marginal`) and draws them exactly afterwards;
  otherwise the joint kernel (:mod:`.kernels`), with the hierarchical-centring shear of
  :mod:`.shear` for centred blocks;
* ``"pymc"``, ``"numpyro"``, ``"blackjax"``: ``pm.sample(nuts_sampler=...)`` on the mirror model;
  ``"nutpie-pymc"``: ``nutpie.compile_pymc_model`` on it;
* forward draws from the prior (``sample_prior="only"``).

This module imports numba (through the kernels), so the fits layer imports it only when a fit is
sampled: ``import hierlm`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import HierlmError, SamplingError
from . import kernels
from . import kernels_marginal as km
from .nutpie_core import STAT_NAMES, run_nuts
from .posterior import constrain, to_dataset
from .pymc_model import build_model, sample_prior, sample_pymc
from .shear import auto_shear, shear_arrays, to_internal, to_model
from .spec import Spec, StartValues, init_point

__all__ = ["Draws", "sample", "prior_draws"]


@dataclass
class Draws:
    """What a sampler run gives: the posterior (mirror-model variables), sampler statistics and notes."""

    posterior: object  # xarray.Dataset
    stats: object  # dict of arrays or xarray.Dataset (ArviZ names)
    label: str
    model: object = None  # the pymc.Model, when the route built one
    extra_groups: dict = field(default_factory=dict)


def sample(spec: Spec, design, *, marginal: bool, start: StartValues | None, sampler: str | None, draws: int,
           tune: int, chains: int, cores: int, seed: int, target_accept: float, progressbar: bool,
           **kw) -> Draws:
    """Sample the posterior of ``spec`` (see the module docstring for the routes).

    ``start`` gives the frequentist estimates chains start near (None: PyMC's default points).
    ``kw`` holds nutpie settings (``maxdepth``, ``mass_matrix``).
    """
    common = dict(draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, target_accept=target_accept,
                  progressbar=progressbar, **kw)
    if sampler in (None, "nutpie"):
        X, stats = _sample_kernel(spec, marginal, start, **common)
        label = "NUTS (nutpie core, hierlm kernel" + (", marginal)" if marginal else ")")
        return Draws(to_dataset(spec, constrain(spec, X)), stats, label)
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
    return Draws(posterior, stats, f"NUTS ({sampler} on the PyMC model)", model=model)


def _sample_kernel(spec: Spec, marginal: bool, start, *, seed, draws, tune, chains, cores, target_accept,
                   progressbar, **kw):
    """Sample with the compiled kernel; draws in model coordinates (chains, draws, ndim) and sample stats."""
    common = dict(draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, target_accept=target_accept,
                  progressbar=progressbar, **kw)
    if marginal:
        d, ndim = km.pack_marginal(spec)
        keep = km.marginal_keep(spec)

        def init_m(s):
            return init_point(spec, s, start)[keep]

        Xm, stats = run_nuts(km.c_logp.address, int(d["meta"].ctypes.data), d, ndim, init_m, **common)
        return km.expand_draws(spec, Xm, d, seed), stats
    if any(b.centred for b in spec.blocks):
        auto_shear(spec)
    shear = shear_arrays(spec) if spec.hier_centre else None
    d, ndim = kernels.pack(spec, shear)

    def init(s):
        x = init_point(spec, s, start)
        return to_internal(x, shear) if shear is not None else x

    Xi, stats = run_nuts(kernels.c_logp.address, int(d["meta"].ctypes.data), d, ndim, init, **common)
    return (to_model(spec, Xi, shear) if shear is not None else Xi), stats


def prior_draws(spec: Spec, design, draws: int, chains: int, seed: int) -> Draws:
    """Prior draws shaped (chains, draws) as a posterior Dataset, plus the ``prior`` and ``prior_predictive`` groups."""
    import xarray as xr

    model = build_model(spec, design.rows)
    prior, prior_pred = sample_prior(model, draws * chains, seed)
    names = [v.name for v in model.free_RVs + model.deterministics]
    post = {nm: prior[nm].values.reshape((chains, draws) + prior[nm].shape[2:]) for nm in names}
    posterior = to_dataset(spec, post)
    pp = prior_pred["y"].values.reshape(chains, draws, -1)
    ppd = xr.Dataset({"y": (("chain", "draw", "obs"), pp)},
                     coords={"chain": np.arange(chains), "draw": np.arange(draws),
                             "obs": [str(r) for r in design.rows]})
    return Draws(posterior, None, "forward sampling from the prior (pm.sample_prior_predictive)",
                 extra_groups={"prior": xr.DataTree(posterior), "prior_predictive": xr.DataTree(ppd)})
