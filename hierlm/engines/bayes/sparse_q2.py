""":mod:`.sparse_chol`'s numeric work when every node is 2 × 2 (every block a correlated intercept and slope).

``(x | g) + (x | h)`` is common (pupils in schools, each with a growth slope) and its nodes are too
small for the general block code, whose loops of length 2 cost more than their arithmetic.  These are
the same algorithms with the 2 × 2 products written out; entry e's block is ``v[4e : 4e + 4]``
(row-major), the node j's scalars ``2j, 2j + 1``.
"""

from __future__ import annotations

import math

from numba import njit

from .kernel_parts import FM_DIV, LOG2
from .sparse_chol import sym_fields

__all__ = ["factor_q2", "q2_core", "selected_inverse_q2", "solve_q2", "terms_q2"]


@njit(cache=True, fastmath=FM_DIV, inline="always")
def _ltal(Ls, ka, kj, A, o):
    """L_kaᵀ A L_kj for the 2 × 2 block A[o:o+4] (both L lower)."""
    a00, a01, a10, a11 = A[o], A[o + 1], A[o + 2], A[o + 3]
    j00, j10, j11 = Ls[kj, 0, 0], Ls[kj, 1, 0], Ls[kj, 1, 1]
    t00 = a00 * j00 + a01 * j10
    t01 = a01 * j11
    t10 = a10 * j00 + a11 * j10
    t11 = a11 * j11
    b00, b10, b11 = Ls[ka, 0, 0], Ls[ka, 1, 0], Ls[ka, 1, 1]
    return b00 * t00 + b10 * t10, b00 * t01 + b10 * t11, b11 * t10, b11 * t11


@njit(cache=True, fastmath=FM_DIV)
def factor_q2(sym, Avals, Ls, s2, Lv, mark):
    """:func:`.sparse_chol.factor` for 2 × 2 nodes; False if not positive definite."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    for j in range(N):
        c0 = colptr[j]
        c1 = colptr[j + 1]
        kj = blk[j]
        for e in range(c0, c1):
            a = rows[e]
            mark[a] = e
            o = 4 * e
            if isA[e] == 1:
                w00, w01, w10, w11 = _ltal(Ls, blk[a], kj, Avals, o)
            else:
                w00 = w01 = w10 = w11 = 0.0
            Lv[o] = w00
            Lv[o + 1] = w01
            Lv[o + 2] = w10
            Lv[o + 3] = w11
        Lv[4 * c0] += s2
        Lv[4 * c0 + 3] += s2
        for r in range(rlptr[j], rlptr[j + 1]):
            k = rlcol[r]
            e0 = rlent[r]
            o0 = 4 * e0
            p00, p01, p10, p11 = Lv[o0], Lv[o0 + 1], Lv[o0 + 2], Lv[o0 + 3]
            for e in range(e0, colptr[k + 1]):
                o = 4 * e
                d = 4 * mark[rows[e]]
                b00, b01, b10, b11 = Lv[o], Lv[o + 1], Lv[o + 2], Lv[o + 3]
                Lv[d] -= b00 * p00 + b01 * p01
                Lv[d + 1] -= b00 * p10 + b01 * p11
                Lv[d + 2] -= b10 * p00 + b11 * p01
                Lv[d + 3] -= b10 * p10 + b11 * p11
        for e in range(c0, c1):
            mark[rows[e]] = -1
        o = 4 * c0
        w00 = Lv[o]
        if not w00 > 0.0:
            return False
        l00 = math.sqrt(w00)
        l10 = Lv[o + 2] / l00
        d = Lv[o + 3] - l10 * l10
        if not d > 0.0:
            return False
        l11 = math.sqrt(d)
        Lv[o] = l00
        Lv[o + 1] = 0.0
        Lv[o + 2] = l10
        Lv[o + 3] = l11
        for e in range(c0 + 1, c1):
            o = 4 * e
            y0 = Lv[o] / l00
            Lv[o] = y0
            Lv[o + 1] = (Lv[o + 1] - y0 * l10) / l11
            y0 = Lv[o + 2] / l00
            Lv[o + 2] = y0
            Lv[o + 3] = (Lv[o + 3] - y0 * l10) / l11
    return True


@njit(cache=True, fastmath=FM_DIV)
def solve_q2(sym, Lv, v, transpose):
    """v ← L⁻¹ v, or L⁻ᵀ v with ``transpose``."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    if not transpose:
        for j in range(N):
            c0 = colptr[j]
            o = 4 * c0
            x0 = v[2 * j] / Lv[o]
            x1 = (v[2 * j + 1] - Lv[o + 2] * x0) / Lv[o + 3]
            v[2 * j] = x0
            v[2 * j + 1] = x1
            for e in range(c0 + 1, colptr[j + 1]):
                a = rows[e]
                o = 4 * e
                v[2 * a] -= Lv[o] * x0 + Lv[o + 1] * x1
                v[2 * a + 1] -= Lv[o + 2] * x0 + Lv[o + 3] * x1
    else:
        for j in range(N - 1, -1, -1):
            c0 = colptr[j]
            r0 = v[2 * j]
            r1 = v[2 * j + 1]
            for e in range(c0 + 1, colptr[j + 1]):
                a = rows[e]
                o = 4 * e
                r0 -= Lv[o] * v[2 * a] + Lv[o + 2] * v[2 * a + 1]
                r1 -= Lv[o + 1] * v[2 * a] + Lv[o + 3] * v[2 * a + 1]
            o = 4 * c0
            x1 = r1 / Lv[o + 3]
            v[2 * j + 1] = x1
            v[2 * j] = (r0 - Lv[o + 2] * x1) / Lv[o]


@njit(cache=True, fastmath=FM_DIV)
def selected_inverse_q2(sym, Lv, Sv, mark, Y):
    """:func:`.sparse_chol.selected_inverse` for 2 × 2 nodes; ``Y`` a work array of 4 per stored entry."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    for j in range(N - 1, -1, -1):
        c0 = colptr[j]
        c1 = colptr[j + 1]
        o = 4 * c0
        i00 = 1.0 / Lv[o]
        i11 = 1.0 / Lv[o + 3]
        i10 = -Lv[o + 2] * i00 * i11
        for e in range(c0 + 1, c1):
            mark[rows[e]] = e
            o = 4 * e
            b00, b01, b10, b11 = Lv[o], Lv[o + 1], Lv[o + 2], Lv[o + 3]
            Y[o] = b00 * i00 + b01 * i10
            Y[o + 1] = b01 * i11
            Y[o + 2] = b10 * i00 + b11 * i10
            Y[o + 3] = b11 * i11
            Sv[o] = Sv[o + 1] = Sv[o + 2] = Sv[o + 3] = 0.0
        for e in range(c0 + 1, c1):
            a = rows[e]
            oe = 4 * e
            ya00, ya01, ya10, ya11 = Y[oe], Y[oe + 1], Y[oe + 2], Y[oe + 3]
            for f in range(colptr[a], colptr[a + 1]):
                m = mark[rows[f]]
                if m < 0:
                    continue
                of = 4 * f
                om = 4 * m
                s00, s01, s10, s11 = Sv[of], Sv[of + 1], Sv[of + 2], Sv[of + 3]  # Σ_{b a}
                Sv[om] -= s00 * ya00 + s01 * ya10
                Sv[om + 1] -= s00 * ya01 + s01 * ya11
                Sv[om + 2] -= s10 * ya00 + s11 * ya10
                Sv[om + 3] -= s10 * ya01 + s11 * ya11
                if f != colptr[a]:
                    yb00, yb01, yb10, yb11 = Y[om], Y[om + 1], Y[om + 2], Y[om + 3]
                    Sv[oe] -= s00 * yb00 + s10 * yb10
                    Sv[oe + 1] -= s00 * yb01 + s10 * yb11
                    Sv[oe + 2] -= s01 * yb00 + s11 * yb10
                    Sv[oe + 3] -= s01 * yb01 + s11 * yb11
        d00 = i00 * i00 + i10 * i10
        d01 = i10 * i11
        d11 = i11 * i11
        for e in range(c0 + 1, c1):
            o = 4 * e
            s00, s01, s10, s11 = Sv[o], Sv[o + 1], Sv[o + 2], Sv[o + 3]
            y00, y01, y10, y11 = Y[o], Y[o + 1], Y[o + 2], Y[o + 3]
            d00 -= s00 * y00 + s10 * y10
            d01 -= s00 * y01 + s10 * y11
            d11 -= s01 * y01 + s11 * y11
            mark[rows[e]] = -1
        o = 4 * c0
        Sv[o] = d00
        Sv[o + 1] = d01
        Sv[o + 2] = d01
        Sv[o + 3] = d11


@njit(cache=True, fastmath=FM_DIV)
def _column_terms(j, colptr, rows, blk, isA, Avals, Sv, Ls, Lw, ALw, gL):
    """:func:`terms_q2`'s sums over the stored blocks of A in column node j."""
    c0 = colptr[j]
    kj = blk[j]
    j00, j10, j11 = Ls[kj, 0, 0], Ls[kj, 1, 0], Ls[kj, 1, 1]
    wj0, wj1 = Lw[2 * j], Lw[2 * j + 1]
    for e in range(c0, colptr[j + 1]):
        if isA[e] == 0:
            continue
        a = rows[e]
        ka = blk[a]
        o = 4 * e
        a00, a01, a10, a11 = Avals[o], Avals[o + 1], Avals[o + 2], Avals[o + 3]
        s00, s01, s10, s11 = Sv[o], Sv[o + 1], Sv[o + 2], Sv[o + 3]
        ALw[2 * a] += a00 * wj0 + a01 * wj1
        ALw[2 * a + 1] += a10 * wj0 + a11 * wj1
        # column node j: gL[kj] −= Aᵀ (L_ka Σ)
        b00, b10, b11 = Ls[ka, 0, 0], Ls[ka, 1, 0], Ls[ka, 1, 1]
        m00 = b00 * s00
        m01 = b00 * s01
        m10 = b10 * s00 + b11 * s10
        m11 = b10 * s01 + b11 * s11
        gL[kj, 0, 0] -= a00 * m00 + a10 * m10
        gL[kj, 0, 1] -= a00 * m01 + a10 * m11
        gL[kj, 1, 0] -= a01 * m00 + a11 * m10
        gL[kj, 1, 1] -= a01 * m01 + a11 * m11
        if e > c0:
            wa0, wa1 = Lw[2 * a], Lw[2 * a + 1]
            ALw[2 * j] += a00 * wa0 + a10 * wa1
            ALw[2 * j + 1] += a01 * wa0 + a11 * wa1
            # row node a: gL[ka] −= (A L_kj) Σᵀ
            n00 = a00 * j00 + a01 * j10
            n01 = a01 * j11
            n10 = a10 * j00 + a11 * j10
            n11 = a11 * j11
            gL[ka, 0, 0] -= n00 * s00 + n01 * s01
            gL[ka, 0, 1] -= n00 * s10 + n01 * s11
            gL[ka, 1, 0] -= n10 * s00 + n11 * s01
            gL[ka, 1, 1] -= n10 * s10 + n11 * s11


@njit(cache=True, fastmath=FM_DIV)
def terms_q2(sym, Avals, Sv, Ls, Lw, ALw, gL):
    """ALw += AΛw and gL[k] −= Σ_l (AΛΣ)_ll over the stored blocks of A (2 × 2 nodes)."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    for j in range(size.shape[0]):
        _column_terms(j, colptr, rows, blk, isA, Avals, Sv, Ls, Lw, ALw, gL)


@njit(cache=True, fastmath=FM_DIV)
def q2_core(sym, pairs, Avals, Ls, u, s2, Lv, Sv, Y, w, Lw, ALw, gL):
    """:func:`.sparse_pairs.scalar_core` for 2 × 2 nodes: the factorisation and selected inverse over the pair
    list of :func:`.sparse_pairs.build_pairs` (right-looking, ``L_ik −= B_i B_kᵀ``), fused with the solves, the
    trace and :func:`terms_q2`'s sums; returns ``(ok, log|P|, uᵀw, wᵀw, tr P⁻¹)``."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    P = (pairs.shape[0] - N - 2) // 3
    e1o = N + 2
    e2o = e1o + P
    deo = e2o + P
    for j in range(N):
        kj = blk[j]
        for e in range(colptr[j], colptr[j + 1]):
            o = 4 * e
            if isA[e] == 1:
                w00, w01, w10, w11 = _ltal(Ls, blk[rows[e]], kj, Avals, o)
            else:
                w00 = w01 = w10 = w11 = 0.0
            Lv[o] = w00
            Lv[o + 1] = w01
            Lv[o + 2] = w10
            Lv[o + 3] = w11
        o = 4 * colptr[j]
        Lv[o] += s2
        Lv[o + 3] += s2
        w[2 * j] = u[2 * j]
        w[2 * j + 1] = u[2 * j + 1]
    m = 1.0
    ex = 0
    for j in range(N):
        c0 = colptr[j]
        c1 = colptr[j + 1]
        o = 4 * c0
        w00 = Lv[o]
        if not w00 > 0.0:
            return False, 0.0, 0.0, 0.0, 0.0
        l00 = math.sqrt(w00)
        l10 = Lv[o + 2] / l00
        d = Lv[o + 3] - l10 * l10
        if not d > 0.0:
            return False, 0.0, 0.0, 0.0, 0.0
        l11 = math.sqrt(d)
        Lv[o] = l00
        Lv[o + 1] = 0.0
        Lv[o + 2] = l10
        Lv[o + 3] = l11
        m *= l00 * l11
        if m > 1e100 or m < 1e-100:
            m, e_ = math.frexp(m)
            ex += e_
        x0 = w[2 * j] / l00
        x1 = (w[2 * j + 1] - l10 * x0) / l11
        w[2 * j] = x0
        w[2 * j + 1] = x1
        for e in range(c0 + 1, c1):
            o = 4 * e
            y0 = Lv[o] / l00
            Lv[o] = y0
            Lv[o + 1] = (Lv[o + 1] - y0 * l10) / l11
            y0 = Lv[o + 2] / l00
            Lv[o + 2] = y0
            Lv[o + 3] = (Lv[o + 3] - y0 * l10) / l11
            a = rows[e]
            w[2 * a] -= Lv[o] * x0 + Lv[o + 1] * x1
            w[2 * a + 1] -= Lv[o + 2] * x0 + Lv[o + 3] * x1
        for t in range(pairs[1 + j], pairs[2 + j]):
            p = 4 * pairs[e1o + t]  # B_k (row node k)
            b = 4 * pairs[e2o + t]  # B_i (row node i ≥ k)
            dd = 4 * pairs[deo + t]
            p00, p01, p10, p11 = Lv[p], Lv[p + 1], Lv[p + 2], Lv[p + 3]
            b00, b01, b10, b11 = Lv[b], Lv[b + 1], Lv[b + 2], Lv[b + 3]
            Lv[dd] -= b00 * p00 + b01 * p01
            Lv[dd + 1] -= b00 * p10 + b01 * p11
            Lv[dd + 2] -= b10 * p00 + b11 * p01
            Lv[dd + 3] -= b10 * p10 + b11 * p11
    logdet = 2.0 * (math.log(m) + ex * LOG2)
    uw = 0.0
    ww = 0.0
    for j in range(N - 1, -1, -1):
        c0 = colptr[j]
        r0 = w[2 * j]
        r1 = w[2 * j + 1]
        for e in range(c0 + 1, colptr[j + 1]):
            a = rows[e]
            o = 4 * e
            r0 -= Lv[o] * w[2 * a] + Lv[o + 2] * w[2 * a + 1]
            r1 -= Lv[o + 1] * w[2 * a] + Lv[o + 3] * w[2 * a + 1]
        o = 4 * c0
        x1 = r1 / Lv[o + 3]
        x0 = (r0 - Lv[o + 2] * x1) / Lv[o]
        w[2 * j] = x0
        w[2 * j + 1] = x1
        uw += u[2 * j] * x0 + u[2 * j + 1] * x1
        ww += x0 * x0 + x1 * x1
        kj = blk[j]
        Lw[2 * j] = Ls[kj, 0, 0] * x0
        Lw[2 * j + 1] = Ls[kj, 1, 0] * x0 + Ls[kj, 1, 1] * x1
    trace = 0.0
    for j in range(N - 1, -1, -1):
        c0 = colptr[j]
        c1 = colptr[j + 1]
        o = 4 * c0
        i00 = 1.0 / Lv[o]
        i11 = 1.0 / Lv[o + 3]
        i10 = -Lv[o + 2] * i00 * i11
        for e in range(c0 + 1, c1):
            o = 4 * e
            b00, b01, b10, b11 = Lv[o], Lv[o + 1], Lv[o + 2], Lv[o + 3]
            Y[o] = b00 * i00 + b01 * i10
            Y[o + 1] = b01 * i11
            Y[o + 2] = b10 * i00 + b11 * i10
            Y[o + 3] = b11 * i11
            Sv[o] = Sv[o + 1] = Sv[o + 2] = Sv[o + 3] = 0.0
        for t in range(pairs[1 + j], pairs[2 + j]):
            ea = 4 * pairs[e1o + t]  # row node a
            eb = 4 * pairs[e2o + t]  # row node b ≥ a
            of = 4 * pairs[deo + t]  # Σ_{b a}
            s00, s01, s10, s11 = Sv[of], Sv[of + 1], Sv[of + 2], Sv[of + 3]
            ya00, ya01, ya10, ya11 = Y[ea], Y[ea + 1], Y[ea + 2], Y[ea + 3]
            Sv[eb] -= s00 * ya00 + s01 * ya10
            Sv[eb + 1] -= s00 * ya01 + s01 * ya11
            Sv[eb + 2] -= s10 * ya00 + s11 * ya10
            Sv[eb + 3] -= s10 * ya01 + s11 * ya11
            if ea != eb:
                yb00, yb01, yb10, yb11 = Y[eb], Y[eb + 1], Y[eb + 2], Y[eb + 3]
                Sv[ea] -= s00 * yb00 + s10 * yb10
                Sv[ea + 1] -= s00 * yb01 + s10 * yb11
                Sv[ea + 2] -= s01 * yb00 + s11 * yb10
                Sv[ea + 3] -= s01 * yb01 + s11 * yb11
        d00 = i00 * i00 + i10 * i10
        d01 = i10 * i11
        d11 = i11 * i11
        for e in range(c0 + 1, c1):
            o = 4 * e
            s00, s01, s10, s11 = Sv[o], Sv[o + 1], Sv[o + 2], Sv[o + 3]
            y00, y01, y10, y11 = Y[o], Y[o + 1], Y[o + 2], Y[o + 3]
            d00 -= s00 * y00 + s10 * y10
            d01 -= s00 * y01 + s10 * y11
            d11 -= s01 * y01 + s11 * y11
        o = 4 * c0
        Sv[o] = d00
        Sv[o + 1] = d01
        Sv[o + 2] = d01
        Sv[o + 3] = d11
        trace += d00 + d11
        _column_terms(j, colptr, rows, blk, isA, Avals, Sv, Ls, Lw, ALw, gL)
    return True, logdet, uw, ww, trace
