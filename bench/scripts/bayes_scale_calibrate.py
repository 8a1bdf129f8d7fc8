"""Seconds per gradient of hierlm's joint and sparse-marginal kernels on given models (bench/bayes_scale.py --calibrate).

Usage: python bayes_scale_calibrate.py '["DATA", "FORMULA"]' ...  (DATA as in bayes_scale_fit.py)
Prints one JSON line per model: rows, columns, dimensions, the factor's counts and the two timings
(median of 5 repetitions of a compiled loop), beside the estimates of hierlm.engines.bayes.route.
"""

import json
import sys
import time
import warnings

import numpy as np
from bayes_scale_fit import load
from numba import njit

from hierlm.engines.bayes import kernels, route
from hierlm.engines.bayes import kernels_collapsed as kcm
from hierlm.engines.bayes import kernels_sparse as ks
from hierlm.engines.bayes import spec as S
from hierlm.engines.bayes.kernels_marginal import marginal_keep
from hierlm.engines.bayes.priors import resolve_priors
from hierlm.fits.bayes_setup import prepare, start_values


@njit
def _loop_joint(n, x, g, a0, a1, a2, a3, a4, a5, a6, a7, a8):
    s = 0.0
    for _ in range(n):
        s += kernels.logp_grad(x, g, a0, a1, a2, a3, a4, a5, a6, a7, a8)
    return s


@njit
def _loop_collapsed(n, x, g, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10):
    s = 0.0
    for _ in range(n):
        s += kcm.coll_logp_grad(x, g, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10)
    return s


@njit
def _loop_sparse(n, x, g, a0, a1, a2, a3, a4, a5, a6, a7, a8):
    s = 0.0
    for _ in range(n):
        s += ks.sparse_logp_grad(x, g, a0, a1, a2, a3, a4, a5, a6, a7, a8)
    return s


def _time(loop, x, args, budget=0.5):
    g = np.zeros(len(x))
    loop(1, x, g, *args)
    n = 1
    while True:
        t = time.perf_counter()
        loop(n, x, g, *args)
        dt = time.perf_counter() - t
        if dt > budget / 5:
            break
        n *= 2
    reps = []
    for _ in range(5):
        t = time.perf_counter()
        loop(n, x, g, *args)
        reps.append((time.perf_counter() - t) / n)
    return float(np.median(reps))


def main():
    for arg in sys.argv[1:]:
        data, formula = json.loads(arg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            design, fam, resp = prepare(formula, load(data), "gaussian")
        sp = S.build_spec(design, fam, resp, resolve_priors(design, fam.name, None, resp))
        st = start_values(design, fam, resp)
        for b, c in zip(sp.blocks, S.choose_centring(sp, st)):
            b.centred = bool(c)
        x = S.init_point(sp, 0, st)
        jd, jdim = kernels.pack(sp)
        rec = {"data": data, "formula": formula, "n": sp.n, "cols": 1 + sp.p + sum(b.q for b in sp.blocks),
               "ndim": jdim, "joint_s": _time(_loop_joint, x, kernels.kernel_args(jd)),
               "joint_est_s": route.joint_gradient_seconds(sp)}
        if not S.marginal_applies(sp):
            kc = kcm.collapsed_block(sp)
            cent = sp.blocks[kc].centred
            sp.blocks[kc].centred = False
            cd, cdim = kcm.pack_collapsed(sp, kc)
            xc = np.ascontiguousarray(S.init_point(sp, 0, st)[kcm.collapsed_keep(sp, kc)])
            cargs = kcm.collapsed_args(cd)
            rec.update(collapsed_s=_time(_loop_collapsed, xc, cargs),
                       collapsed_est_s=route.partial_gradient_seconds(sp, kc))
            sp.blocks[kc].centred = cent
            got = ks.pack_sparse(sp, max_flops=2e9)
            if got is not None:
                d, mdim = got
                xm = np.ascontiguousarray(x[marginal_keep(sp)])
                qbar = float(np.average([b.q for b in sp.blocks], weights=[b.J for b in sp.blocks]))
                rec.update(d["info"], qbar=qbar, sparse_s=_time(_loop_sparse, xm, ks.sparse_args(d)),
                           sparse_est_s=route.sparse_gradient_seconds(d["info"], qbar))
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
