"""Run a sampler on a :class:`~hierlm.engines.bayes.spec.Spec`: draws in, posterior Dataset out.

Routes:

* the compiled kernel driven by nutpie's Rust NUTS (:mod:`.nutpie_core`), on the route
  :func:`.route.choose_route` chose: ``marginal`` integrates the random effects out (one grouping
  factor: :mod:`.kernels_marginal`; any other Gaussian model: the sparse Cholesky of
  :mod:`.kernels_sparse`) and draws them exactly afterwards; ``joint`` runs the joint kernel
  (:mod:`.kernels`), with the hierarchical-centring shear of :mod:`.shear` for centred blocks;
* ``"pymc"``, ``"numpyro"``, ``"blackjax"``: ``pm.sample(nuts_sampler=...)`` on the mirror model;
  ``"nutpie-pymc"``: ``nutpie.compile_pymc_model`` on it;
* forward draws from the prior (``sample_prior="only"``).

This module imports numba (through the kernels), so the fits layer imports it only when a fit is
sampled: ``import hierlm`` stays fast.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ...errors import HierlmError, SamplingError
from . import kernels
from . import kernels_collapsed as kc_
from . import kernels_laplace as kl
from . import kernels_marginal as km
from . import kernels_sparse as ks
from .kernel_parts import corr_draws_from_sampler, corr_to_sampler
from .nutpie_core import STAT_NAMES, default_cores, run_nuts
from .parallel import ordered_map
from .posterior import RanefMoments, constrain, factor_of, reduced_layout, times_factor, to_dataset
from .pymc_model import build_model, sample_prior, sample_pymc
from .shear import auto_shear, shear_arrays, to_internal, to_model
from .spec import Spec, StartValues, init_point

__all__ = ["Draws", "gaussian_loglik", "prior_draws", "sample"]


@dataclass
class Draws:
    """What a sampler run gives: the posterior (mirror-model variables), sampler statistics and notes."""

    posterior: object  # xarray.Dataset
    stats: object  # dict of arrays or xarray.Dataset (ArviZ names)
    label: str
    model: object = None  # the pymc.Model, when the route built one
    extra_groups: dict = field(default_factory=dict)


def sample(spec: Spec, design, *, route, start: StartValues | None, sampler: str | None, draws: int,
           tune: int, chains: int, cores: int, seed: int, target_accept: float, progressbar: bool,
           store_ranef: bool = True, **kw) -> Draws:
    """Sample the posterior of ``spec`` (see the module docstring for the routes).

    ``route`` is the :class:`~.route.Route` chosen for the fit; ``start`` gives the frequentist
    estimates chains start near (None: PyMC's default points); ``store_ranef=False`` keeps the
    posterior mean and SD of every random effect (the ``ranef_summary`` group) instead of its draws.
    ``kw`` holds nutpie settings (``maxdepth``, ``mass_matrix``).
    """
    common = dict(draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, target_accept=target_accept,
                  progressbar=progressbar, **kw)
    if sampler in (None, "nutpie"):
        X, stats, moments = _sample_kernel(spec, route, start, store_ranef, **common)
        kind = {"one_factor": ", marginal)", "sparse": ", marginal, sparse Cholesky)",
                "laplace": ", random effects integrated out by Laplace's method)",
                "collapsed": f", '{spec.blocks[route.collapsed].label if route.collapsed is not None else ''}' "
                             "integrated out)"}.get(route.kernel, ")")
        extra = {} if moments is None else {"ranef_summary": moments.dataset()}
        return Draws(to_dataset(spec, constrain(spec, X, ranef=moments is None)), stats,
                     "NUTS (nutpie core, hierlm kernel" + kind, extra_groups=extra)
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
    extra = {}
    if not store_ranef:
        moments = RanefMoments(spec)
        for k, b in enumerate(spec.blocks):
            r = posterior[f"r_{b.v}"].values
            moments.add(k, r.reshape((-1,) + r.shape[2:]))
        posterior = posterior.drop_vars([f"{p}_{b.v}" for b in spec.blocks for p in ("z", "r")
                                         if f"{p}_{b.v}" in posterior])
        extra["ranef_summary"] = moments.dataset()
    return Draws(posterior, stats, f"NUTS ({sampler} on the PyMC model)", model=model, extra_groups=extra)


def _sample_kernel(spec: Spec, route, start, store_ranef: bool, *, seed, draws, tune, chains, cores, target_accept,
                   progressbar, **kw):
    """Sample with the compiled kernels: draws in model coordinates, sample stats, and the moments of the
    random effects (None when their draws are kept; then the draws are in the full layout)."""
    common = dict(draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, target_accept=target_accept,
                  progressbar=progressbar, **kw)
    moments = None if store_ranef else RanefMoments(spec)
    if route.method == "marginal":
        keep = km.marginal_keep(spec)
        if route.kernel == "sparse":
            d, ndim = (route.data, route.ndim) if route.data is not None else ks.pack_sparse(spec, max_flops=np.inf)
            address, zdraws = ks.c_logp.address, ks.expand_sparse
        elif route.kernel == "laplace":
            d, ndim = kl.pack_laplace(spec)
            address, zdraws = kl.c_logp.address, kl.z_chunks
        else:
            d, ndim = km.pack_marginal(spec)
            address, zdraws = km.c_logp.address, km.z_chunks

        cb = d["cb"]  # the sampler sees the factors in scale × direction coordinates (kernel_parts.corr_from_sampler)

        def init_m(s):
            return corr_to_sampler(init_point(spec, s, start)[keep], cb)

        def to_model_coords(c, Xi):
            return corr_draws_from_sampler(np.ascontiguousarray(Xi), cb)

        with _one_blas_thread():
            Xm, stats = run_nuts(address, int(d["meta"].ctypes.data), d, ndim, init_m, transform=to_model_coords,
                                 **common)
        return _with_ranef(spec, Xm, zdraws(spec, Xm, d, seed), keep, moments), stats, moments
    if route.kernel == "collapsed":
        return _sample_collapsed(spec, route.collapsed, start, moments, **common)
    if any(b.centred for b in spec.blocks):
        auto_shear(spec)
    shear = shear_arrays(spec) if spec.hier_centre else None
    d, ndim = kernels.pack(spec, shear)

    def init(s):
        x = init_point(spec, s, start)
        return to_internal(x, shear) if shear is not None else x

    keep = km.marginal_keep(spec)

    def per_chain(c, Xi):  # model coordinates; with store_ranef=False only the moments of the effects are kept
        Xc = to_model(spec, Xi, shear) if shear is not None else Xi
        if moments is None:
            return Xc
        moments.add_model_draws(Xc)
        return np.ascontiguousarray(Xc[:, keep])

    X, stats = run_nuts(kernels.c_logp.address, int(d["meta"].ctypes.data), d, ndim, init, transform=per_chain,
                        **common)
    return X, stats, moments


def _sample_collapsed(spec: Spec, kc: int, start, moments, *, seed, **common):
    """The partial route: block kc integrated out (:mod:`.kernels_collapsed`), the others sampled, then kc's
    effects drawn exactly per draw; draws in the full layout (or reduced, with ``moments``)."""
    spec.blocks[kc].centred = False
    lay = kc_.collapsed_layout(spec, kc)
    if any(b.centred for b in spec.blocks):
        auto_shear(spec, exclude=(kc,))
    shear = shear_arrays(spec, lay) if spec.hier_centre else None
    d, ndim = kc_.pack_collapsed(spec, kc, shear)
    keep_c = kc_.collapsed_keep(spec, kc)
    full_lay, full_ndim = spec.layout()
    zsl = next(sl for _, sl, _, kind, k in full_lay if kind == "z" and k == kc)
    red = km.marginal_keep(spec)  # the reduced layout within the full one
    b = spec.blocks[kc]
    args = kc_.collapsed_args(d)

    def init(s):
        x = init_point(spec, s, start)[keep_c]
        return to_internal(x, shear) if shear is not None else x

    def per_chain(c, Xi):
        Xc = to_model(spec, Xi, shear) if shear is not None else Xi
        full = np.empty((Xc.shape[0], full_ndim))
        full[:, keep_c] = Xc
        def one(s0):  # one RNG stream per chain and chunk: the same draws on any number of threads
            s1 = min(Xc.shape[0], s0 + 256)
            E = np.random.default_rng([seed, c, 7919, s0]).standard_normal((s1 - s0, b.J, b.q))
            return s0, s1, kc_.draw_collapsed(np.ascontiguousarray(Xc[s0:s1]), E, *args)

        for s0, s1, z in ordered_map(one, range(0, Xc.shape[0], 256)):
            full[s0:s1, zsl] = z.reshape(s1 - s0, -1)
        if moments is None:
            return full
        moments.add_model_draws(full)
        return np.ascontiguousarray(full[:, red])

    X, stats = run_nuts(kc_.c_logp.address, int(d["meta"].ctypes.data), d, ndim, init, transform=per_chain, seed=seed,
                        **common)
    return X, stats, moments


def _with_ranef(spec: Spec, Xm: np.ndarray, chunks, keep: np.ndarray, moments):
    """Marginal draws + exact draws of z (chunks of ``(chain, draw slice, Z (S, Q) block-major)``) → the full
    layout, or the marginal draws with the moments of the effects accumulated (``moments`` given)."""
    C, D, _ = Xm.shape
    lay, ndim = spec.layout()
    zsl = [(k, sl) for _, sl, _, kind, k in lay if kind in ("z", "r")]
    fsl = {k: i for i, (_, _, _, kind, k) in enumerate(reduced_layout(spec)) if kind in ("sd", "chol")}
    red = reduced_layout(spec)
    X = None
    if moments is None:
        X = np.empty((C, D, ndim))
        X[..., keep] = Xm
    for c, sl, Z in chunks:
        qo = 0
        for k, zs in zsl:
            b = spec.blocks[k]
            zk = Z[:, qo:qo + b.J * b.q]
            qo += b.J * b.q
            if X is not None:
                X[c, sl, zs] = zk
            else:
                L = factor_of(Xm[c, sl, red[fsl[k]][1]], b.q)
                moments.add(k, times_factor(zk.reshape(-1, b.J, b.q), L))
    return X if X is not None else Xm


class _one_blas_thread:
    """One BLAS thread while chains run in parallel (numba's linear algebra calls BLAS)."""

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        self._lim = threadpool_limits(1)
        return self

    def __exit__(self, *exc):
        self._lim.restore_original_limits()


def gaussian_loglik(spec, design, resp):
    """The compiled pointwise Gaussian log-likelihood of :func:`.posterior.log_likelihood` for this design."""
    XT = np.ascontiguousarray(np.asarray(design.X, float).T)
    off = np.ascontiguousarray(design.offset, float)
    G = np.ascontiguousarray(np.stack([b.g for b in spec.blocks])) if spec.blocks else np.zeros((0, design.n), np.int64)
    Z = np.ascontiguousarray(np.concatenate([b.Z for b in spec.blocks], axis=1)) if spec.blocks else np.zeros((design.n, 0))
    qs = np.array([b.q for b in spec.blocks], np.int64)
    one = np.array([int(b.ones) for b in spec.blocks], np.int64)
    zoff = np.concatenate([[0], np.cumsum(qs)[:-1]]).astype(np.int64)
    boff = np.concatenate([[0], np.cumsum([b.J * b.q for b in spec.blocks])[:-1]]).astype(np.int64)
    y = np.ascontiguousarray(resp.y, float)
    pw = np.ascontiguousarray(resp.prior_weights, float)
    lpw = np.log(pw)

    def part(beta, R, sigma, out):
        kernels.gaussian_pointwise(beta, R, sigma, XT, off, G, Z, zoff, qs, boff, one, y, lpw, pw, out)

    def f(beta, R, sigma, out):  # the kernel releases the GIL: the draws split over the usable cores
        S = beta.shape[0]
        k = default_cores(S)
        if k < 2 or S * design.n < 1_000_000:
            return part(beta, R, sigma, out)
        cuts = np.linspace(0, S, k + 1).astype(int)
        with ThreadPoolExecutor(k) as pool:
            jobs = [pool.submit(part, beta[a:b], R[a:b], sigma[a:b], out[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
            for job in jobs:
                job.result()

    return f


def prior_draws(spec: Spec, design, draws: int, chains: int, seed: int) -> Draws:
    """Prior draws shaped (chains, draws) as a posterior Dataset, plus the ``prior`` and ``prior_predictive`` groups."""
    import xarray as xr

    model = build_model(spec, design.rows)
    prior, prior_pred = sample_prior(model, draws * chains, seed)
    names = [v.name for v in model.free_RVs + model.deterministics]
    post = {nm: prior[nm].values.reshape((chains, draws) + prior[nm].shape[2:]) for nm in names}
    if spec.ncut:  # forward draws of the thresholds are independent: sorted, as the model uses them
        post["Intercept"] = np.sort(post["Intercept"], axis=-1)
    posterior = to_dataset(spec, post)
    pp = prior_pred["y"].values.reshape(chains, draws, -1)
    ppd = xr.Dataset({"y": (("chain", "draw", "obs"), pp)},
                     coords={"chain": np.arange(chains), "draw": np.arange(draws),
                             "obs": [str(r) for r in design.rows]})
    return Draws(posterior, None, "forward sampling from the prior (pm.sample_prior_predictive)",
                 extra_groups={"prior": xr.DataTree(posterior), "prior_predictive": xr.DataTree(ppd)})
