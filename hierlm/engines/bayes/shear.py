"""Hierarchical centring as a unit-determinant shear of the sampler's coordinates.

Centring alone does not fix big crossed / nested models (InstEval, VerbAgg): the slow directions are
ridges between an effect and its parent (``dept`` against the mean of the ``d`` effects nested in
it) or between an item effect and the coefficients of predictors constant within items.  Sampling
instead (Gelfand, Sahu and Carlin 1995)::

    u'_child = u_child + u'_parent[level]             (nested in a centred intercept block)
    u'_child = u_child + τ_parent z_parent[level]      (nested in a non-centred one, r = τ z)
    u'_root  = u_root  + Σ_t W[j, t] β_{c_t}           (columns constant within the root's levels)

removes them.  The map is triangular with a unit diagonal (the second line is nonlinear in τ, z),
so the log density is unchanged; the sampler works in the primed (internal) coordinates and draws
are mapped back with :func:`shear_fwd`.

Record layout: ``sh = [active, p, 0, nrec, (uoff, J, parent_uoff | -1, mapoff, ncols, coloff,
woff, parent log-sd index | -1) × nrec, int data...]`` and ``shf = [W blocks...]``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .kernel_parts import FM
from .spec import level_map

__all__ = ["auto_shear", "shear_T", "shear_arrays", "shear_fwd", "to_internal", "to_model"]
SHREC = 8


@njit(cache=True, fastmath=FM)
def _record(sh, b, xi):
    """Fields of shear record b, and the parent's scale τ (1 for a centred parent)."""
    o = 4 + SHREC * b
    psd = sh[o + 7]
    tau = math.exp(xi[psd]) if psd >= 0 else 1.0
    return sh[o], sh[o + 1], sh[o + 2], sh[o + 3], sh[o + 4], sh[o + 5], sh[o + 6], tau, psd


@njit(cache=True, fastmath=FM)
def shear_fwd(xi, xm, sh, shf):
    """Internal coordinates ``xi`` → model coordinates ``xm``."""
    for i in range(xi.shape[0]):
        xm[i] = xi[i]
    for b in range(sh[3]):
        uoff, J, par, mo, nc, co, wo, tau, _ = _record(sh, b, xi)
        for j in range(J):
            v = xi[uoff + j]
            if par >= 0:
                v -= tau * xi[par + sh[mo + j]]
            for t in range(nc):
                v -= shf[wo + j * nc + t] * xi[sh[co + t]]
            xm[uoff + j] = v


@njit(cache=True, fastmath=FM)
def shear_T(gm, gi, sh, shf, xi):
    """Gradient in model coordinates → gradient in internal coordinates (transposed Jacobian at ``xi``)."""
    for i in range(gm.shape[0]):
        gi[i] = gm[i]
    for b in range(sh[3]):
        uoff, J, par, mo, nc, co, wo, tau, psd = _record(sh, b, xi)
        for j in range(J):
            g = gm[uoff + j]
            if par >= 0:
                zi = par + sh[mo + j]
                gi[zi] -= tau * g
                if psd >= 0:
                    gi[psd] -= tau * xi[zi] * g
            for t in range(nc):
                gi[sh[co + t]] -= shf[wo + j * nc + t] * g


def _constant_within(block, col: np.ndarray) -> np.ndarray | None:
    W = np.zeros(block.J)
    W[block.g] = col
    return W if np.allclose(W[block.g], col) else None


def _index(spec, label: str) -> int:
    return next(k for k, b in enumerate(spec.blocks) if b.label == label)


def auto_shear(spec, exclude: tuple = ()) -> dict:
    """Choose the shear for ``spec`` (centred random-intercept blocks only; blocks in ``exclude`` take no part).

    * a centred block nested in a coarser random-intercept block is centred on it (the finest such
      parent, centred or not);
    * blocks absorb the fixed-effect columns constant within their levels (coarser blocks first);
      the intercept goes to the root block (no centred parent) with the fewest levels.

    Returns ``{block label: {"parent": label | None, "cols": [kernel column indices]}}``, also
    stored as ``spec.hier_centre``.
    """
    cand = [b for k, b in enumerate(spec.blocks) if b.centred and b.ones and k not in exclude]
    ones = [b for k, b in enumerate(spec.blocks) if b.ones and k not in exclude]
    hc = {}
    for a in cand:
        parents = [b for b in ones if b is not a and level_map(a, b) is not None]
        if parents:
            hc[a.label] = {"parent": max(parents, key=lambda b: b.J).label, "cols": []}
    taken: set[int] = set()
    icpt_done = not spec.has_intercept
    for b in sorted(cand, key=lambda b: b.J):  # coarse blocks first: they take shared columns
        root = b.label not in hc or not spec.blocks[_index(spec, hc[b.label]["parent"])].centred
        cols = []
        if root and not icpt_done:
            cols.append(0)
            icpt_done = True
        for c in range(int(spec.has_intercept), spec.p):
            if c not in taken and np.ptp(spec.X[:, c]) > 0 and _constant_within(b, spec.X[:, c]) is not None:
                cols.append(c)
        taken.update(cols)
        if cols:
            hc.setdefault(b.label, {"parent": None, "cols": []})["cols"] = cols
    spec.hier_centre = hc
    return hc


def shear_arrays(spec, layout: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(sh, shf)`` records of ``spec.hier_centre`` for the kernel (parents first), on ``layout``
    (default :meth:`Spec.layout`; the collapsed route passes its own)."""
    lay = spec.layout()[0] if layout is None else layout
    uoff = {k: sl.start for _, sl, _, kind, k in lay if kind in ("r", "z")}
    sdidx = {k: sl.start for _, sl, _, kind, k in lay if kind == "sd"}
    bidx = {b.label: k for k, b in enumerate(spec.blocks)}
    order, pending = [], dict(spec.hier_centre)
    while pending:  # centred parents before their children
        for nm, h in list(pending.items()):
            if h.get("parent") is None or h["parent"] not in pending:
                order.append((nm, h))
                del pending[nm]
    base_i = 4 + SHREC * len(order)
    recs, ints_extra, fl_extra = [], [], []
    for nm, h in order:
        k = bidx[nm]
        b = spec.blocks[k]
        mo = parent_uoff = psd = -1
        if h.get("parent") is not None:
            kp = bidx[h["parent"]]
            mo = base_i + len(ints_extra)
            ints_extra.extend(level_map(b, spec.blocks[kp]))
            parent_uoff = uoff[kp]
            psd = -1 if spec.blocks[kp].centred else sdidx[kp]
        cols = list(h.get("cols", []))
        co = base_i + len(ints_extra)
        ints_extra.extend(cols)
        W = np.column_stack([_constant_within(b, spec.X[:, c]) for c in cols]) if cols else np.zeros((b.J, 0))
        wo = len(fl_extra)
        fl_extra.extend(W.ravel())
        recs.append([uoff[k], b.J, parent_uoff, mo, len(cols), co, wo, psd])
    sh = np.array([int(bool(recs)), spec.p, 0, len(recs)] + [v for r in recs for v in r] + ints_extra, np.int64)
    return sh, np.asarray(fl_extra + [0.0], float)


def to_model(spec, Xi: np.ndarray, shear) -> np.ndarray:
    """Internal draws (..., ndim) → model coordinates."""
    sh, shf = shear
    if sh[0] == 0:
        return Xi
    flat = np.ascontiguousarray(Xi.reshape(-1, Xi.shape[-1]))
    out = np.empty_like(flat)
    for i in range(flat.shape[0]):
        shear_fwd(flat[i], out[i], sh, shf)
    return out.reshape(Xi.shape)


def to_internal(xm: np.ndarray, shear) -> np.ndarray:
    """Model coordinates → internal coordinates (inverse of :func:`shear_fwd`; parents first)."""
    sh, shf = shear
    xi = np.array(xm, float)
    for b in range(sh[3]):
        uoff, J, par, mo, nc, co, wo, psd = sh[4 + SHREC * b: 4 + SHREC * (b + 1)]
        v = np.asarray(xm[uoff:uoff + J], float).copy()
        if par >= 0:
            v += (np.exp(xi[psd]) if psd >= 0 else 1.0) * xi[par + sh[mo:mo + J]]
        if nc:
            v += shf[wo:wo + J * nc].reshape(J, nc) @ xi[sh[co:co + nc]]
        xi[uoff:uoff + J] = v
    return xi
