"""emmeans' ``summary()``: estimates, SEs, df, (adjusted) intervals and tests of an :class:`EmmInfo`.

Frequentist fits follow ``summary.emmGrid``: estimates ``L β̂`` with SEs ``sqrt(diag(L V Lᵀ))`` and
each row's own df; with ``type="response"`` the estimates are back-transformed, SEs by the delta
method, intervals computed on the link scale and back-transformed, tests done on the link scale.
Bayesian fits follow ``hpd.summary``: the posterior median of each row's draws and the 95% HPD
interval (coda's ``HPDinterval``), back-transformed draw by draw; contrasts add the posterior
probabilities of each sign.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .adjust import adjust_critval, adjust_p, zapsmall
from .result import EmmGrid, EmmInfo, by_groups, make

__all__ = ["estimates", "hpd_interval", "summarize"]

_ET = {"prediction": 1, "contrast": 2, "pairs": 3}


def hpd_interval(x: np.ndarray, prob: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """coda's ``HPDinterval`` of each column of ``x`` (draws in rows)."""
    vals = np.sort(np.asarray(x, float), axis=0)
    n = vals.shape[0]
    gap = max(1, min(n - 1, int(np.round(n * prob))))
    width = vals[gap:] - vals[: n - gap]
    idx = np.argmin(width, axis=0)
    cols = np.arange(vals.shape[1])
    return vals[idx, cols], vals[idx + gap, cols]


def estimates(info: EmmInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Link-scale estimates, SEs and df of the rows (NaN where non-estimable)."""
    b = info.basis
    L = info.L
    ok = np.all(np.isfinite(L), axis=1)
    Lz = np.where(ok[:, None], L, 0.0)
    est = Lz @ b.bhat + info.offset
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", Lz, b.V, Lz), 0.0))
    df = b.df(L)
    est[~ok], se[~ok] = np.nan, np.nan
    return est, se, df


def _labels(info: EmmInfo) -> pd.DataFrame:
    lab = info.labels.reset_index(drop=True).copy()
    if info.log_contrast and info.type == "response" and info.tran is not None:
        for c in lab.columns:
            if c not in info.by_vars:
                lab[c] = [s.replace(" - ", " / ") if isinstance(s, str) else s for s in lab[c].tolist()]
    return lab


def _header(info: EmmInfo, inv: bool) -> list[str]:
    mesg = list(info.notes)
    if info.df_note:
        mesg.append(f"Degrees-of-freedom method: {info.df_note}")
    if not inv and info.tran is not None:
        mesg.append(f"Results are given on the {info.tran.name} (not the response) scale.")
    return mesg


def _by_size(info: EmmInfo) -> int:
    n = len(info.labels)
    for v in info.by_vars:
        n //= max(1, info.labels[v].astype(str).nunique())
    return n


def _sch_rank(info: EmmInfo, groups: list[np.ndarray]) -> list[int]:
    out = []
    for rows in groups:
        M = zapsmall(np.nan_to_num(info.L[rows]))
        s = np.linalg.svd(M, compute_uv=False) if M.size else np.zeros(0)
        out.append(int((s > (s[0] if s.size else 0) * 1e-7).sum()) if s.size else 0)
    return out


def _frequentist(info: EmmInfo) -> tuple[pd.DataFrame, list[str], str]:
    est, se, df = estimates(info)
    inv = info.type == "response" and info.tran is not None
    zflag = bool(np.all(~np.isfinite(df)))
    mesg = _header(info, inv)
    out = _labels(info)
    name = (info.inv_lbl or "response") if inv else info.est_name
    out[name] = est
    out["SE"] = se
    out["df"] = df
    groups = by_groups(info.labels, info.by_vars)
    n_contr = _by_size(info)
    et = _ET.get(info.est_type, 2)
    adjust = info.adjust
    sch = _sch_rank(info, groups) if info.adjust == "scheffe" else None
    corr = None
    if info.adjust == "mvt":
        Lz = np.nan_to_num(info.L)
        C = Lz @ info.basis.V @ Lz.T
        d = np.sqrt(np.diag(C))
        corr = C / np.outer(d, d)
    if info.infer[0]:
        cv, cmesg, _ = adjust_critval(info.level, df, info.adjust, info.fam_size, n_contr, et, groups, sch, corr)
        lo_name, hi_name = ("asymp.LCL", "asymp.UCL") if zflag else ("lower.CL", "upper.CL")
        lo, hi = est - cv * se, est + cv * se
        mesg.append(f"Confidence level used: {_fmt(info.level)}")
        if cmesg:
            mesg.append(cmesg)
        if inv:
            lo, hi = info.tran.linkinv(lo), info.tran.linkinv(hi)
            swap = np.nan_to_num(hi - lo) < 0
            if swap.any():
                lo, hi = hi, lo
            mesg.append(f"Intervals are back-transformed from the {info.tran.name} scale")
        out[lo_name], out[hi_name] = lo, hi
    if info.infer[1]:
        if inv:
            out["null"] = float(info.tran.linkinv(np.array([0.0]))[0])
        t = est / se
        out["z.ratio" if zflag else "t.ratio"] = t
        p, pmesg, adjust, notes = adjust_p(t, df, info.adjust, info.fam_size, n_contr, et, groups, sch, corr)
        out["p.value"] = p
        mesg = notes + mesg
        if pmesg:
            mesg.append(pmesg)
        if inv:
            mesg.append(f"Tests are performed on the {info.tran.name} scale")
    if inv:
        out["SE"] = np.abs(info.tran.mu_eta(est)) * se
        out[name] = info.tran.linkinv(est)
    if info.avgd_over:
        mesg.insert(0, f"Results are averaged over the levels of: {', '.join(info.avgd_over)}")
    return out, _unique(mesg), adjust


def _bayesian(info: EmmInfo) -> tuple[pd.DataFrame, list[str], str]:
    b = info.basis
    ok = np.all(np.isfinite(info.L), axis=1)
    D = b.draws @ np.where(ok[:, None], info.L, 0.0).T + info.offset
    inv = info.type == "response" and info.tran is not None
    mesg = list(info.notes) + ["Point estimate displayed: median"]
    if inv:
        mesg.append(f"Results are back-transformed from the {info.tran.name} scale")
    elif info.tran is not None:
        mesg.append(f"Results are given on the {info.tran.name} (not the response) scale.")
    mesg.append(f"HPD interval probability: {_fmt(info.level)}")
    link = D
    if inv:
        D = info.tran.linkinv(D)
    out = _labels(info)
    name = (info.inv_lbl or "response") if inv else info.est_name
    lo, hi = hpd_interval(D, info.level)
    est = np.median(D, axis=0)
    for arr in (est, lo, hi):
        arr[~ok] = np.nan
    out[name] = est
    out["lower.HPD"], out["upper.HPD"] = lo, hi
    if info.kind == "contrast":
        ref = "1" if inv and info.log_contrast else "0"
        out[f"P(>{ref})"] = np.where(ok, (link > 0).mean(axis=0), np.nan)
        out[f"P(<{ref})"] = np.where(ok, (link < 0).mean(axis=0), np.nan)
        mesg.append(f"P(>{ref}), P(<{ref}): posterior probabilities of each sign of the contrast")
    if info.avgd_over:
        mesg.insert(0, f"Results are averaged over the levels of: {', '.join(info.avgd_over)}")
    return out, _unique(mesg), "none"


def summarize(info: EmmInfo) -> EmmGrid:
    """The :class:`EmmGrid` of ``info``: emmeans' summary table with its footer."""
    frame, footer, adjust = (_bayesian if info.basis.bayesian else _frequentist)(info)
    return make(frame, info, footer, adjust)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _unique(lines: list[str]) -> list[str]:
    seen: list[str] = []
    for line in lines:
        if line not in seen:
            seen.append(line)
    return seen
