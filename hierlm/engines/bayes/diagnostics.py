"""Convergence diagnostics: R-hat, bulk / tail ESS, and the test for a posterior piled at a boundary.

R-hat and ESS are the rank-normalised split versions of Vehtari et al. (2021), computed as
``arviz_stats`` computes them (tests compare the two) but vectorised over all parameters in numpy:
importing ``arviz_stats`` costs about 2 s, a third of sleepstudy's whole cold-start budget.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import next_fast_len
from scipy.special import ndtri

__all__ = ["ess_bulk", "ess_tail", "flatten_vars", "piled_up", "rhat", "summarise"]


# -- R-hat and ESS ---------------------------------------------------------------------------------

def _average_ranks(a: np.ndarray) -> np.ndarray:
    """Ranks (1-based) of each column, ties sharing their average rank (scipy's ``rankdata``)."""
    n, k = a.shape
    order = np.argsort(a, axis=0, kind="stable")
    srt = np.take_along_axis(a, order, axis=0)
    ranks = np.empty((n, k))
    for j in range(k):
        _, first, counts = np.unique(srt[:, j], return_index=True, return_counts=True)
        avg = np.repeat(first + (counts + 1) / 2.0, counts)
        ranks[order[:, j], j] = avg
    return ranks

def _split(a: np.ndarray) -> np.ndarray:
    """(chains, draws, K) → (2 chains, draws // 2, K), as arviz's split (the middle draw dropped)."""
    half = a.shape[1] // 2
    return np.concatenate([a[:, :half], a[:, a.shape[1] - half:]], axis=0)


def _z_scale(a: np.ndarray) -> np.ndarray:
    C, D, K = a.shape
    r = _average_ranks(a.reshape(C * D, K))
    return ndtri((r - 0.375) / (C * D + 0.25)).reshape(C, D, K)


def _rhat(a: np.ndarray) -> np.ndarray:
    n = a.shape[1]
    between = n * np.var(a.mean(axis=1), axis=0, ddof=1)
    within = np.mean(np.var(a, axis=1, ddof=1), axis=0)
    return np.sqrt((between / within + n - 1) / n)


def _ess(a: np.ndarray) -> np.ndarray:
    """Geyer-truncated ESS of (chains, draws, K) (arviz's ``_ess``, vectorised)."""
    C, D, K = a.shape
    a = np.asarray(a, float)
    const = (a.max(axis=(0, 1)) - a.min(axis=(0, 1))) < np.finfo(float).resolution
    m = next_fast_len(2 * D)
    x = a - a.mean(axis=1, keepdims=True)
    f = np.fft.rfft(x, n=m, axis=1)
    acov = np.fft.irfft(f * np.conjugate(f), n=m, axis=1)[:, :D] / D  # (C, D, K)
    mean_var = acov[:, 0].mean(axis=0) * D / (D - 1.0)
    var_plus = mean_var * (D - 1.0) / D
    if C > 1:
        var_plus = var_plus + np.var(a.mean(axis=1), axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus  # (D, K)
    rho[0] = 1.0
    npair = (D - 2) // 2 + 1 if D >= 2 else 1
    rho_p = np.concatenate([rho, np.zeros((2 * npair + 2 - D, K))]) if 2 * npair + 2 > D else rho
    P = rho_p[0:2 * npair:2] + rho_p[1:2 * npair + 1:2]  # pair sums, (npair, K)
    m_max = max((D - 3) // 2, 0)  # last pair the loop computes: 2m - 1 < D - 3
    if m_max >= 1:
        stop = P[1:m_max + 1] <= 0
        M = np.where(stop.any(axis=0), stop.argmax(axis=0) + 1, m_max)
    else:
        M = np.zeros(K, int)
    M = np.where(P[0] > 0, M, 0)
    cm = np.minimum.accumulate(P, axis=0)
    idx = np.arange(P.shape[0])[:, None]
    tau = -1.0 + 2.0 * np.sum(np.where(idx < M, cm, 0.0), axis=0)
    last = rho_p[2 * M, np.arange(K)]
    p_last = P[M, np.arange(K)]
    tau = tau + np.where((M == 0) | (p_last >= 0) | (last > 0), np.where(M == 0, 1.0, last), 0.0)
    n = C * D
    ess = n / np.maximum(tau, 1.0 / np.log10(n))
    ess = np.where(np.isnan(rho).any(axis=0), np.nan, ess)
    return np.where(const, float(n), ess)


def _as3(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=float)
    return a.reshape(a.shape[0], a.shape[1], -1)


def rhat(a: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat, max of bulk and folded (tail); ``a`` is (chains, draws, ...)."""
    a3 = _as3(a)
    if a3.shape[1] < MIN_DRAWS:
        return np.full(a3.shape[2], np.nan)
    s = _split(a3)
    bulk = _rhat(_z_scale(s))
    tail = _rhat(_z_scale(np.abs(s - np.median(s, axis=(0, 1)))))
    return np.maximum(bulk, tail)


#: fewest draws per chain for which R-hat and ESS are computed (split chains need two halves of 2+)
MIN_DRAWS = 4


def ess_bulk(a: np.ndarray) -> np.ndarray:
    """Bulk effective sample size (rank-normalised, split chains); NaN with fewer than 4 draws per chain."""
    a3 = _as3(a)
    if a3.shape[1] < MIN_DRAWS:
        return np.full(a3.shape[2], np.nan)
    return _ess(_z_scale(_split(a3)))


def ess_tail(a: np.ndarray, prob: float = 0.05) -> np.ndarray:
    """Tail ESS: the smaller ESS of the 5% and 95% quantile indicators; NaN with fewer than 4 draws per chain."""
    a3 = _as3(a)
    if a3.shape[1] < MIN_DRAWS:
        return np.full(a3.shape[2], np.nan)
    out = []
    for p in (prob, 1 - prob):
        q = np.quantile(a3, p, axis=(0, 1))
        out.append(_ess(_split((a3 <= q).astype(float))))
    return np.minimum(*out)


def summarise(a: np.ndarray) -> dict[str, np.ndarray]:
    """Estimate, Est.Error, Q2.5, Q97.5, R-hat, ESS bulk, ESS tail of (chains, draws, ...) draws."""
    a3 = _as3(a)
    flat = a3.reshape(-1, a3.shape[2])
    q = np.quantile(flat, [0.025, 0.975], axis=0)
    sd = flat.std(0, ddof=1) if len(flat) > 1 else np.full(flat.shape[1], np.nan)
    return {"Estimate": flat.mean(0), "Est.Error": sd, "Q2.5": q[0], "Q97.5": q[1],
            "R-hat": rhat(a3), "ESS bulk": ess_bulk(a3), "ESS tail": ess_tail(a3)}


def flatten_vars(posterior, names) -> tuple[np.ndarray, list[str]]:
    """Stack the named posterior variables into (chains, draws, K) with one label per column."""
    cols, labels = [], []
    for nm in names:
        if nm not in posterior:
            continue
        v = posterior[nm].values
        C, D = v.shape[:2]
        cols.append(v.reshape(C, D, -1))
        k = cols[-1].shape[2]
        labels += [nm] if k == 1 and v.ndim == 2 else [f"{nm}[{i}]" for i in range(k)]
    return np.concatenate(cols, axis=2), labels


# -- plain-language checks --------------------------------------------------------------------------
def piled_up(sd: np.ndarray | None = None, cor: np.ndarray | None = None) -> tuple[bool, bool]:
    """Whether an SD's posterior piles up at 0, or a correlation's at ±1 (highest density at the edge)."""
    sd_pile = cor_pile = False
    if sd is not None and sd.size:
        top = np.quantile(sd, 0.99)
        h, _ = np.histogram(sd, bins=20, range=(0, top)) if top > 0 else (np.array([1]), None)
        sd_pile = bool(h[0] >= h.max())
    if cor is not None and cor.size:
        h, _ = np.histogram(cor, bins=40, range=(-1, 1))
        cor_pile = bool(max(h[0], h[-1]) >= h.max())
    return sd_pile, cor_pile
