"""Block-sparse Cholesky of ``P = σ²I + ΛᵀAΛ`` for the integrated-out route of :mod:`.kernels_sparse`.

The unknowns are the random effects of every block: one *node* per level of every block, of size q_k
(the block's terms).  ``A = Z̃ᵀZ̃`` couples two nodes when some row has both levels; Λ is block
diagonal (the block's lower factor L_k on every one of its nodes), so P has A's block pattern.

* :func:`order_and_pattern` — a minimum-degree elimination order on the node graph (leaves of a
  nesting tree first, so nested designs factor without fill) and, in the same pass, the pattern of
  the factor (the elimination graph's cliques); it stops once the factor would exceed a budget, which
  is how a crossed design too large to factor is recognised before any numeric work;
* :func:`build_structure` — the symbolic factorisation, computed once per design: per column node
  its sorted row nodes, scalar offsets, value offsets and row lists (which columns update which);
* :func:`factor`, :func:`solve_L`, :func:`solve_Lt`, :func:`selected_inverse` — the numeric work per
  gradient: a left-looking node-block Cholesky on the fixed pattern, triangular solves, and
  Takahashi's selected inverse ``Σ = P⁻¹`` on the factor's pattern (which holds A's), from which
  ``tr(P⁻¹)`` and the diagonal blocks of ``AΛP⁻¹`` follow.

All arrays use the *elimination order* of the nodes; ``perm`` maps an elimination position to the
original node (block-major: block k's levels in order), ``qorig`` to its scalar offset there.  The
structure travels as one int64 array (:data:`SYM_FIELDS` at the offsets of its header) so that a
compiled entry point needs one pointer for it.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
from numba import njit
from numba.typed import List

from .kernel_parts import FM

__all__ = ["SYM_FIELDS", "build_structure", "entry_of", "factor", "factor_scalar", "order_and_pattern",
           "selected_inverse", "selected_inverse_scalar", "solve_L", "solve_Lt", "solve_scalar", "sym_fields"]

# the arrays packed in ``sym`` (after a header of their offsets); N nodes, E stored node blocks
SYM_FIELDS = ("size", "blk", "qpos", "colptr", "rows", "roff", "valptr", "rlptr", "rlcol", "rlent", "isA",
              "perm", "qorig")
HDR = 2 + 2 * len(SYM_FIELDS)  # [N, E] + (offset, length) per field


# -- ordering and pattern (once per design) ----------------------------------------------------
@njit(cache=True)
def _merge_without(a, b, x, y):
    """Sorted union of sorted arrays a and b, without the values x and y."""
    out = np.empty(a.shape[0] + b.shape[0], np.int64)
    i = j = m = 0
    while i < a.shape[0] or j < b.shape[0]:
        if j >= b.shape[0] or (i < a.shape[0] and a[i] < b[j]):
            v = a[i]
            i += 1
        elif i >= a.shape[0] or b[j] < a[i]:
            v = b[j]
            j += 1
        else:
            v = a[i]
            i += 1
            j += 1
        if v != x and v != y:
            out[m] = v
            m += 1
    return out[:m]


@njit(cache=True)
def _min_degree(adj_ptr, adj_idx, size, max_entries, max_flops):
    """Minimum-degree elimination on the node graph (explicit elimination graph, deterministic ties).

    Returns ``(order, pat_ptr, pat, flops, ok)``: the elimination order (original node ids), the
    factor's pattern per eliminated node (original ids of its later neighbours), the scalar flop
    count of the factorisation, and False when the pattern or the flops passed their budgets.
    """
    N = size.shape[0]
    adj = List()
    for v in range(N):
        adj.append(adj_idx[adj_ptr[v]:adj_ptr[v + 1]].copy())
    deg = np.zeros(N, np.int64)
    heap = []
    for v in range(N):
        d = 0
        for a in adj[v]:
            d += size[a]
        deg[v] = d
        heap.append((d, v))
    heapq.heapify(heap)
    alive = np.ones(N, np.bool_)
    order = np.empty(N, np.int64)
    pat_ptr = np.zeros(N + 1, np.int64)
    pat = np.empty(max(max_entries, 1), np.int64)
    flops = 0.0
    used = 0
    pos = 0
    while len(heap) > 0:
        d, v = heapq.heappop(heap)
        if not alive[v] or d != deg[v]:
            continue
        alive[v] = False
        nb = adj[v]
        m = nb.shape[0]
        if used + m > max_entries:
            return order, pat_ptr, pat, flops, False
        s = float(size[v])
        hs = 0.0
        for t in range(m):
            pat[used + t] = nb[t]
            hs += size[nb[t]]
        flops += s * s * s / 3.0 + hs * s * s + hs * hs * s
        if flops > max_flops:
            return order, pat_ptr, pat, flops, False
        used += m
        order[pos] = v
        pos += 1
        pat_ptr[pos] = used
        for t in range(m):
            a = nb[t]
            na = _merge_without(adj[a], nb, v, a)
            adj[a] = na
            dd = 0
            for b in na:
                dd += size[b]
            deg[a] = dd
            heapq.heappush(heap, (dd, a))
        adj[v] = np.empty(0, np.int64)
    return order, pat_ptr, pat[:used], flops, True


def order_and_pattern(adj_ptr, adj_idx, size, max_entries: int, max_flops: float):
    """Minimum-degree order and the factor's pattern (see :func:`_min_degree`); None when over budget."""
    order, pat_ptr, pat, flops, ok = _min_degree(np.asarray(adj_ptr, np.int64), np.asarray(adj_idx, np.int64),
                                                 np.asarray(size, np.int64), int(max_entries), float(max_flops))
    return (order, pat_ptr, pat, flops) if ok else None


@njit(cache=True)
def _fill_structure(order, pat_ptr, pat, size_o, blk_o, qorig_o, E):
    """Columns, sorted rows (elimination positions), offsets and row lists from the elimination pattern."""
    N = order.shape[0]
    iperm = np.empty(N, np.int64)
    for j in range(N):
        iperm[order[j]] = j
    size = np.empty(N, np.int64)
    blk = np.empty(N, np.int64)
    qorig = np.empty(N, np.int64)
    for j in range(N):
        size[j] = size_o[order[j]]
        blk[j] = blk_o[order[j]]
        qorig[j] = qorig_o[order[j]]
    qpos = np.zeros(N + 1, np.int64)
    for j in range(N):
        qpos[j + 1] = qpos[j] + size[j]
    colptr = np.zeros(N + 1, np.int64)
    rows = np.empty(E, np.int64)
    roff = np.empty(E, np.int64)
    valptr = np.zeros(N + 1, np.int64)
    e = 0
    for j in range(N):
        colptr[j] = e
        rows[e] = j
        m = pat_ptr[j + 1] - pat_ptr[j]
        tmp = np.empty(m, np.int64)
        for t in range(m):
            tmp[t] = iperm[pat[pat_ptr[j] + t]]
        tmp.sort()
        for t in range(m):
            rows[e + 1 + t] = tmp[t]
        h = 0
        for t in range(m + 1):
            roff[e + t] = h
            h += size[rows[e + t]]
        valptr[j + 1] = valptr[j] + h * size[j]
        e += m + 1
    colptr[N] = e
    # row lists: for node j, the (column k < j, entry e) with rows[e] == j, columns ascending
    cnt = np.zeros(N + 1, np.int64)
    for k in range(N):
        for f in range(colptr[k] + 1, colptr[k + 1]):
            cnt[rows[f] + 1] += 1
    rlptr = np.cumsum(cnt)
    fillp = rlptr[:-1].copy()
    rlcol = np.empty(rlptr[N], np.int64)
    rlent = np.empty(rlptr[N], np.int64)
    for k in range(N):
        for f in range(colptr[k] + 1, colptr[k + 1]):
            r = rows[f]
            rlcol[fillp[r]] = k
            rlent[fillp[r]] = f
            fillp[r] += 1
    return iperm, size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, qorig


@njit(cache=True)
def entry_of(colptr, rows, c, r):
    """Entry index of row r in column c (binary search in the sorted rows), -1 if absent."""
    lo = colptr[c]
    hi = colptr[c + 1] - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if rows[mid] == r:
            return mid
        if rows[mid] < r:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


@njit(cache=True)
def _place_A(iperm, colptr, rows, roff, valptr, size, ai, aj, avals, aoff, Avals, isA):
    """Write the node blocks of A (original ids ai, aj; row-major values at aoff) into the factor layout."""
    for t in range(ai.shape[0]):
        pi = iperm[ai[t]]
        pj = iperm[aj[t]]
        si = size[pi]
        sj = size[pj]
        if pi >= pj:
            c, r, tr = pj, pi, False
        else:
            c, r, tr = pi, pj, True
        e = entry_of(colptr, rows, c, r)
        isA[e] = 1
        sc = size[c]
        base = valptr[c] + roff[e] * sc
        for u in range(si):
            for v in range(sj):
                val = avals[aoff[t] + u * sj + v]
                if tr:  # block (i, j) with i before j: stored as its transpose in column i
                    Avals[base + v * sc + u] += val
                else:
                    Avals[base + u * sc + v] += val


def build_structure(order, pat_ptr, pat, size_o, blk_o, qorig_o, ai, aj, avals, aoff):
    """The symbolic factorisation and A in the factor's layout.

    Parameters
    ----------
    order, pat_ptr, pat : ndarray
        From :func:`order_and_pattern`.
    size_o, blk_o, qorig_o : ndarray (N,)
        Size, block and scalar offset of every node in the original (block-major) order.
    ai, aj, avals, aoff : ndarray
        A's node blocks: original node ids (``ai >= aj`` not required; each unordered pair once, the
        diagonal blocks included), row-major values of the (size[ai] × size[aj]) block at ``aoff``.

    Returns
    -------
    sym : ndarray of int64
        The structure (:data:`SYM_FIELDS`); read it with :func:`sym_fields`.
    Avals : ndarray
        A in the factor's value layout (zero at fill positions).
    """
    N = len(order)
    E = N + len(pat)
    (iperm, size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent,
     qorig) = _fill_structure(np.asarray(order, np.int64), np.asarray(pat_ptr, np.int64), np.asarray(pat, np.int64),
                              np.asarray(size_o, np.int64), np.asarray(blk_o, np.int64), np.asarray(qorig_o, np.int64),
                              E)
    Avals = np.zeros(int(valptr[-1]))
    isA = np.zeros(E, np.int64)
    _place_A(iperm, colptr, rows, roff, valptr, size, np.asarray(ai, np.int64), np.asarray(aj, np.int64),
             np.asarray(avals, float), np.asarray(aoff, np.int64), Avals, isA)
    parts = dict(size=size, blk=blk, qpos=qpos, colptr=colptr, rows=rows, roff=roff, valptr=valptr, rlptr=rlptr,
                 rlcol=rlcol, rlent=rlent, isA=isA, perm=np.asarray(order, np.int64), qorig=qorig)
    head = [N, E]
    off = HDR
    for f in SYM_FIELDS:
        head += [off, len(parts[f])]
        off += len(parts[f])
    sym = np.concatenate([np.array(head, np.int64)] + [np.asarray(parts[f], np.int64) for f in SYM_FIELDS])
    return sym, Avals


@njit(cache=True)
def sym_fields(sym):
    """The arrays of ``sym`` (views) in :data:`SYM_FIELDS` order."""
    return (_f(sym, 0), _f(sym, 1), _f(sym, 2), _f(sym, 3), _f(sym, 4), _f(sym, 5), _f(sym, 6), _f(sym, 7),
            _f(sym, 8), _f(sym, 9), _f(sym, 10), _f(sym, 11), _f(sym, 12))


@njit(cache=True)
def _f(sym, i):
    o = sym[2 + 2 * i]
    return sym[o:o + sym[3 + 2 * i]]


# -- numeric work (per gradient) ---------------------------------------------------------------
@njit(cache=True, fastmath=FM)
def factor(sym, Avals, Ls, s2, Lv, mark):
    """Lv ← the Cholesky factor of P = s2·I + ΛᵀAΛ (Λ: ``Ls[blk]`` on every node); False if not PD.

    ``mark`` is an int64 work array of N entries (its values are left as found).
    """
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    T = np.empty((Ls.shape[1], Ls.shape[1]))
    for j in range(N):
        s = size[j]
        kj = blk[j]
        c0 = colptr[j]
        c1 = colptr[j + 1]
        base = valptr[j]
        for e in range(c0, c1):
            a = rows[e]
            sa = size[a]
            ka = blk[a]
            r0 = roff[e]
            mark[a] = r0
            if isA[e] == 1:  # L_kaᵀ A L_kj in two products (T = A L_kj first)
                for xx in range(sa):
                    for v in range(s):
                        acc = 0.0
                        for yy in range(v, s):
                            acc += Avals[base + (r0 + xx) * s + yy] * Ls[kj, yy, v]
                        T[xx, v] = acc
                for u in range(sa):
                    for v in range(s):
                        acc = 0.0
                        for xx in range(u, sa):
                            acc += Ls[ka, xx, u] * T[xx, v]
                        Lv[base + (r0 + u) * s + v] = acc
            else:
                for u in range(sa * s):
                    Lv[base + r0 * s + u] = 0.0
        for v in range(s):
            Lv[base + v * s + v] += s2
        for r in range(rlptr[j], rlptr[j + 1]):
            k = rlcol[r]
            e0 = rlent[r]
            sk = size[k]
            kb = valptr[k]
            j0 = kb + roff[e0] * sk
            for e in range(e0, colptr[k + 1]):
                a = rows[e]
                sa = size[a]
                src = kb + roff[e] * sk
                dst = base + mark[a] * s
                for u in range(sa):
                    for v in range(s):
                        acc = 0.0
                        for t in range(sk):
                            acc += Lv[src + u * sk + t] * Lv[j0 + v * sk + t]
                        Lv[dst + u * s + v] -= acc
        # the diagonal block, then the rows below it: L_aj = W_a L_jj⁻ᵀ
        for i in range(s):
            for jj in range(i + 1):
                acc = Lv[base + i * s + jj]
                for t in range(jj):
                    acc -= Lv[base + i * s + t] * Lv[base + jj * s + t]
                if i == jj:
                    if not acc > 0.0:
                        for e in range(c0, c1):
                            mark[rows[e]] = -1
                        return False
                    Lv[base + i * s + i] = math.sqrt(acc)
                else:
                    Lv[base + i * s + jj] = acc / Lv[base + jj * s + jj]
            for jj in range(i + 1, s):
                Lv[base + i * s + jj] = 0.0
        h = roff[c1 - 1] + size[rows[c1 - 1]]
        for xr in range(s, h):
            o = base + xr * s
            for v in range(s):
                acc = Lv[o + v]
                for t in range(v):
                    acc -= Lv[o + t] * Lv[base + v * s + t]
                Lv[o + v] = acc / Lv[base + v * s + v]
        for e in range(c0, c1):
            mark[rows[e]] = -1
    return True


@njit(cache=True, fastmath=FM)
def solve_L(sym, Lv, v):
    """v ← L⁻¹ v (v in elimination order)."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    for j in range(size.shape[0]):
        s = size[j]
        base = valptr[j]
        q0 = qpos[j]
        for u in range(s):
            acc = v[q0 + u]
            for t in range(u):
                acc -= Lv[base + u * s + t] * v[q0 + t]
            v[q0 + u] = acc / Lv[base + u * s + u]
        for e in range(colptr[j] + 1, colptr[j + 1]):
            a = rows[e]
            o = base + roff[e] * s
            qa = qpos[a]
            for u in range(size[a]):
                acc = 0.0
                for t in range(s):
                    acc += Lv[o + u * s + t] * v[q0 + t]
                v[qa + u] -= acc


@njit(cache=True, fastmath=FM)
def solve_Lt(sym, Lv, v):
    """v ← L⁻ᵀ v (v in elimination order)."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    for j in range(size.shape[0] - 1, -1, -1):
        s = size[j]
        base = valptr[j]
        q0 = qpos[j]
        for e in range(colptr[j] + 1, colptr[j + 1]):
            a = rows[e]
            o = base + roff[e] * s
            qa = qpos[a]
            for t in range(s):
                acc = 0.0
                for u in range(size[a]):
                    acc += Lv[o + u * s + t] * v[qa + u]
                v[q0 + t] -= acc
        for u in range(s - 1, -1, -1):
            acc = v[q0 + u]
            for t in range(u + 1, s):
                acc -= Lv[base + t * s + u] * v[q0 + t]
            v[q0 + u] = acc / Lv[base + u * s + u]


@njit(cache=True, fastmath=FM)
def selected_inverse(sym, Lv, Sv, mark, Y):
    """Sv ← P⁻¹ on the factor's pattern (Takahashi's recursion, last column first).

    ``Y`` is a float work array at least as long as the tallest column block; ``mark`` as in :func:`factor`.
    """
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    for j in range(N - 1, -1, -1):
        s = size[j]
        base = valptr[j]
        c0 = colptr[j]
        c1 = colptr[j + 1]
        # inverse of the diagonal block (lower triangular), row-major in a small array
        Li = np.zeros((s, s))
        for i in range(s):
            Li[i, i] = 1.0 / Lv[base + i * s + i]
            for jj in range(i):
                acc = 0.0
                for t in range(jj, i):
                    acc += Lv[base + i * s + t] * Li[t, jj]
                Li[i, jj] = -acc / Lv[base + i * s + i]
        # Y_e = L_e L_jj⁻¹ for the rows below the diagonal block (Y indexed by scalar row − s)
        for e in range(c0 + 1, c1):
            a = rows[e]
            mark[a] = roff[e]
            o = base + roff[e] * s
            for u in range(size[a]):
                for v in range(s):
                    acc = 0.0
                    for t in range(v, s):
                        acc += Lv[o + u * s + t] * Li[t, v]
                    Y[(roff[e] - s) * s + u * s + v] = acc
                    Sv[o + u * s + v] = 0.0
        # Σ_{pat, j} = −Σ_{pat, pat} Y, from the stored lower blocks Σ_{b, a} (b ≥ a, both in the pattern)
        for e in range(c0 + 1, c1):
            a = rows[e]
            sa = size[a]
            ya = (roff[e] - s) * s
            for f in range(colptr[a], colptr[a + 1]):
                b = rows[f]
                mb = mark[b]
                if mb < 0:
                    continue
                sb = size[b]
                B = valptr[a] + roff[f] * sa  # Σ_{b, a}: sb × sa
                yb = (mb - s) * s
                tb = base + mb * s
                ta = base + roff[e] * s
                for u in range(sb):
                    for v in range(s):
                        acc = 0.0
                        for t in range(sa):
                            acc += Sv[B + u * sa + t] * Y[ya + t * s + v]
                        Sv[tb + u * s + v] -= acc
                if b != a:
                    for u in range(sa):
                        for v in range(s):
                            acc = 0.0
                            for t in range(sb):
                                acc += Sv[B + t * sa + u] * Y[yb + t * s + v]
                            Sv[ta + u * s + v] -= acc
        # Σ_jj = L_jj⁻ᵀ L_jj⁻¹ − Σ_e Σ_{a_e, j}ᵀ Y_e
        for u in range(s):
            for v in range(s):
                acc = 0.0
                for t in range(max(u, v), s):
                    acc += Li[t, u] * Li[t, v]
                for e in range(c0 + 1, c1):
                    o = base + roff[e] * s
                    ya = (roff[e] - s) * s
                    for t in range(size[rows[e]]):
                        acc -= Sv[o + t * s + u] * Y[ya + t * s + v]
                Sv[base + u * s + v] = acc
        for e in range(c0 + 1, c1):
            mark[rows[e]] = -1


# -- scalar nodes (every block a random intercept or a single term): the same algorithms without block loops
@njit(cache=True, fastmath=FM)
def factor_scalar(sym, Avals, lam, s2, Lv, mark):
    """:func:`factor` when every node has size 1 (``lam[j]`` the scale of node j); entry e's value is ``Lv[e]``."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    for j in range(N):
        c0 = colptr[j]
        c1 = colptr[j + 1]
        lj = lam[j]
        for e in range(c0, c1):
            a = rows[e]
            mark[a] = e
            Lv[e] = lam[a] * Avals[e] * lj if isA[e] == 1 else 0.0
        Lv[c0] += s2
        for r in range(rlptr[j], rlptr[j + 1]):
            k = rlcol[r]
            e0 = rlent[r]
            ljk = Lv[e0]
            for e in range(e0, colptr[k + 1]):
                Lv[mark[rows[e]]] -= Lv[e] * ljk
        d = Lv[c0]
        for e in range(c0, c1):
            mark[rows[e]] = -1
        if not d > 0.0:
            return False
        d = math.sqrt(d)
        Lv[c0] = d
        for e in range(c0 + 1, c1):
            Lv[e] /= d
    return True


@njit(cache=True, fastmath=FM)
def solve_scalar(sym, Lv, v, transpose):
    """v ← L⁻¹ v, or L⁻ᵀ v with ``transpose`` (size-1 nodes, so v is indexed by node)."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    if not transpose:
        for j in range(N):
            c0 = colptr[j]
            x = v[j] / Lv[c0]
            v[j] = x
            for e in range(c0 + 1, colptr[j + 1]):
                v[rows[e]] -= Lv[e] * x
    else:
        for j in range(N - 1, -1, -1):
            c0 = colptr[j]
            acc = v[j]
            for e in range(c0 + 1, colptr[j + 1]):
                acc -= Lv[e] * v[rows[e]]
            v[j] = acc / Lv[c0]


@njit(cache=True, fastmath=FM)
def selected_inverse_scalar(sym, Lv, Sv, mark, Y):
    """:func:`selected_inverse` for size-1 nodes; ``Y`` a float work array with one entry per stored entry."""
    size, blk, qpos, colptr, rows, roff, valptr, rlptr, rlcol, rlent, isA, perm, qorig = sym_fields(sym)  # noqa: RUF059
    N = size.shape[0]
    for j in range(N - 1, -1, -1):
        c0 = colptr[j]
        c1 = colptr[j + 1]
        d = Lv[c0]
        for e in range(c0 + 1, c1):
            mark[rows[e]] = e
            Y[e] = Lv[e] / d
            Sv[e] = 0.0
        for e in range(c0 + 1, c1):
            a = rows[e]
            ya = Y[e]
            for f in range(colptr[a], colptr[a + 1]):
                m = mark[rows[f]]
                if m < 0:
                    continue
                sf = Sv[f]
                Sv[m] -= sf * ya
                if f != colptr[a]:
                    Sv[e] -= sf * Y[m]
        acc = 1.0 / (d * d)
        for e in range(c0 + 1, c1):
            acc -= Sv[e] * Y[e]
            mark[rows[e]] = -1
        Sv[c0] = acc
