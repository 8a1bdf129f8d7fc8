"""Compile hierlm's numba kernels once and store them in numba's on-disk cache.

Run ``python -m hierlm.engines.bayes.warmup`` after installing (``./run`` does).  Compiling takes 15–30 s
once per machine × hierlm version × numba version; afterwards every process loads the compiled
code in well under a second.  Without it the first :func:`hierlm.blmer` call compiles instead.

Options: ``--where`` prints the cache folder (:mod:`.cache`), ``--clear`` empties it, ``--prebuilt``
also stores a read-only copy inside the installed package (for shared, read-only installs).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

import numpy as np
import pandas as pd

from ...design import make_design, response_of
from . import cache, kernels, kernels_collapsed, kernels_laplace, kernels_marginal, kernels_sparse, shear
from . import spec as S
from .diagnostics import ess_bulk  # noqa: F401  (scipy pieces used after sampling)
from .priors import resolve_priors

__all__ = ["warmup"]


def _toy_data(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(8), n // 8)
    x = rng.normal(size=n)
    return pd.DataFrame({"y": 1 + x + rng.normal(size=n), "k": rng.poisson(2.0, n), "x": x,
                         "g": pd.Categorical(g.astype(str)), "h": pd.Categorical((g // 2).astype(str))})


def _spec(formula: str, data: pd.DataFrame, family: str = "gaussian") -> S.Spec:
    design = make_design(formula, data)
    fam, resp = response_of(design, family)
    return S.build_spec(design, fam, resp, resolve_priors(design, fam.name, None, resp))


def _corr_coordinates() -> None:
    """The sampler-coordinate maps of the marginal routes (:func:`.kernel_parts.corr_to_sampler` and its inverse)."""
    from .kernel_parts import corr_draws_from_sampler, corr_table, corr_to_sampler

    table = corr_table(1, [2])
    x = np.zeros(4)
    corr_to_sampler(x, table)
    corr_draws_from_sampler(x[None, :], table)


def warmup(verbose: bool = True) -> float:
    """Compile (or load) every kernel entry point and the Python-called helpers; returns seconds."""
    t0 = time.perf_counter()
    data = _toy_data()
    sp = _spec("y ~ x + (x | g)", data)
    d, ndim = kernels_marginal.pack_marginal(sp)
    x = np.zeros(ndim)
    kernels_marginal.marg_logp_grad(x, np.zeros(ndim), *kernels_marginal.marginal_args(d))
    kernels_marginal.expand_draws(sp, x[None, None, :], d, 0)
    for f in ("y ~ x + (1 | g) + (1 | h)", "y ~ x + (x | g) + (1 | h)"):  # scalar and block paths of the sparse kernel
        sp = _spec(f, data)
        d, ndim = kernels_sparse.pack_sparse(sp)
        x = np.zeros(ndim)
        kernels_sparse.sparse_logp_grad(x, np.zeros(ndim), *kernels_sparse.sparse_args(d))
        for _ in kernels_sparse.expand_sparse(sp, x[None, None, :], d, 0):
            pass
    sp = _spec("y ~ x + (1 | g) + (1 | h)", data)  # the partial route (block g integrated out), with a shear
    for b in sp.blocks:
        b.centred = True
    sp.blocks[0].centred = False
    shear.auto_shear(sp, exclude=(0,))
    arrays = shear.shear_arrays(sp, kernels_collapsed.collapsed_layout(sp, 0))
    d, ndim = kernels_collapsed.pack_collapsed(sp, 0, arrays)
    x = np.zeros(ndim)
    args = kernels_collapsed.collapsed_args(d)
    kernels_collapsed.coll_logp_grad(x, np.zeros(ndim), *args)
    kernels_collapsed.draw_collapsed(x[None, :], np.zeros((1, sp.blocks[0].J, 1)), *args)
    kernels_collapsed.c_logp.address  # noqa: B018
    for dtype in (np.float64, np.float32):  # the pointwise log-likelihood (float32 for large fits)
        kernels.gaussian_pointwise(np.zeros((1, 2)), np.zeros((1, 8)), np.ones(1), np.zeros((2, 40)), np.zeros(40),
                                   np.zeros((1, 40), np.int64), np.ones((40, 1)), np.zeros(1, np.int64),
                                   np.ones(1, np.int64), np.zeros(1, np.int64), np.ones(1, np.int64), np.zeros(40),
                                   np.zeros(40),
                                   np.ones(40), np.empty((1, 40), dtype))
    sp = _spec("k ~ x + (1 | g) + (1 | h)", data, "poisson")
    for b in sp.blocks:
        b.centred = True
    shear.auto_shear(sp)
    arrays = shear.shear_arrays(sp)
    d, ndim = kernels.pack(sp, arrays)
    x = np.zeros(ndim)
    kernels.logp_grad(x, np.zeros(ndim), *kernels.kernel_args(d))
    shear.to_model(sp, x[None, :], arrays)
    sp = _spec("k ~ x + (x | g)", data, "poisson")  # the Laplace route (method="laplace")
    d, ndim = kernels_laplace.pack_laplace(sp)
    x = np.zeros(ndim)
    kernels_laplace.laplace_logp_grad(x, np.zeros(ndim), *kernels_laplace.laplace_args(d))
    for _ in kernels_laplace.z_chunks(sp, x[None, None, :], d, 0):
        pass
    kernels_laplace.c_logp.address  # noqa: B018
    kernels.c_logp.address  # noqa: B018  (compiled at import; touching it makes the intent plain)
    kernels_sparse.c_logp.address  # noqa: B018
    kernels_marginal.c_logp.address  # noqa: B018
    _corr_coordinates()
    import pyarrow  # noqa: F401  (nutpie's draws come back as Arrow arrays: about 0.3 s on a first fit)
    import xarray as xr

    xr.Dataset({"a": ("x", np.zeros(2))})  # xarray looks for duck-array modules (dask) on first use: about 0.5 s

    from .nutpie_core import load_lib

    load_lib()
    dt = time.perf_counter() - t0
    if verbose:
        print(f"hierlm: Bayesian kernels ready ({dt:.1f} s)", file=sys.stderr)
    return dt


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m hierlm.engines.bayes.warmup", description=__doc__.splitlines()[0])
    ap.add_argument("--where", action="store_true", help="print the cache folder and exit")
    ap.add_argument("--clear", action="store_true", help="delete the cached kernels and exit")
    ap.add_argument("--prebuilt", action="store_true", help="also copy the cache into the installed package")
    args = ap.parse_args(argv)
    if args.where:
        print(cache.cache_dir())
        return
    if args.clear:
        print(f"hierlm: cleared {cache.clear()}", file=sys.stderr)
        return
    warmup()
    if args.prebuilt:
        target = cache.prebuilt_dir()
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(cache.cache_dir(), target)
        print(f"hierlm: prebuilt kernels stored in {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
