"""Multiplicity adjustments of p values and confidence levels, as emmeans' ``summary()`` makes them.

``tukey`` uses the studentized range distribution (:data:`scipy.stats.studentized_range`, with
emmeans' ``zapsmall(df)``), ``dunnettx`` emmeans' approximation of Dunnett's distribution (a blend of
the Tukey and Šidák ones, inverted by R's ``uniroot`` with the same tolerance, ported here), ``sidak``,
``bonferroni`` and ``scheffe`` their closed forms, ``mvt`` the multivariate t (scipy's quasi-Monte
Carlo integration, so its digits vary a little, as in R), and ``holm``, ``hochberg``, ``hommel``,
``fdr``/``BH``, ``BY`` R's ``p.adjust``.  Confidence intervals cannot be adjusted by the step-down
methods; as emmeans does, they get Bonferroni's.

emmeans' rules are kept: a family of one test is not adjusted; ``tukey`` applies only to one set of
pairwise comparisons and becomes ``sidak`` otherwise (with emmeans' note).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ...errors import HierlmError, suggest

__all__ = ["ADJUST_METHODS", "adjust_critval", "adjust_p", "check_adjust", "p_adjust", "zapsmall"]

P_ADJUST = ("holm", "hochberg", "hommel", "bonferroni", "BH", "BY", "fdr", "none")
ADJUST_METHODS = ("tukey", "sidak", "scheffe", "dunnettx", "mvt") + P_ADJUST
_CRIT_METHODS = ("sidak", "tukey", "scheffe", "dunnettx", "mvt", "bonferroni", "none")
CHANGE_NOTE = 'Note: adjust = "tukey" was changed to "sidak"\nbecause "tukey" is only appropriate for one set of pairwise comparisons'


def check_adjust(adjust: str) -> str:
    """The canonical name of ``adjust`` (case-insensitive; ``"BH"`` and ``"fdr"`` are the same)."""
    if not isinstance(adjust, str):
        raise HierlmError(f"adjust must be a method name such as 'tukey' or 'holm', not {adjust!r}")
    key = adjust.lower()
    names = {m.lower(): m for m in ADJUST_METHODS}
    if key not in names:
        raise HierlmError(f"adjust={adjust!r} is not a known adjustment; use one of "
                          f"{', '.join(repr(m) for m in ADJUST_METHODS)}.{suggest(key, list(names))}")
    return names[key]


def zapsmall(x: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits`` significant digits relative to the largest value."""
    x = np.asarray(x, float)
    fin = x[np.isfinite(x)]
    mx = np.max(np.abs(fin)) if fin.size else 0.0
    if not np.isfinite(mx) or mx == 0:
        return x
    return np.round(x, max(0, digits - int(np.ceil(np.log10(mx)))))


# -- R's p.adjust ---------------------------------------------------------------------------------
def _r_colon(a: int, b: int) -> list[int]:
    return list(range(a, b - 1, -1)) if a >= b else list(range(a, b + 1))


def p_adjust(p, method: str, n: int | None = None) -> np.ndarray:
    """R's ``p.adjust(p, method, n)``."""
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    lp = q.size
    n = lp if n is None else n
    method = {"fdr": "BH"}.get(method, method)
    if n <= 1 or method == "none":
        out[ok] = q
        return out
    if method == "bonferroni":
        r = np.minimum(1.0, n * q)
    elif method == "holm":
        o = np.argsort(q, kind="stable")
        i = np.arange(1, lp + 1)
        r = np.empty(lp)
        r[o] = np.minimum(1.0, np.maximum.accumulate((n - i + 1) * q[o]))
    elif method in ("hochberg", "BH", "BY"):
        i = np.arange(lp, 0, -1)
        o = np.argsort(-q, kind="stable")
        if method == "hochberg":
            v = (n + 1 - i) * q[o]
        elif method == "BH":
            v = n / i * q[o]
        else:
            v = np.sum(1.0 / np.arange(1, n + 1)) * n / i * q[o]
        r = np.empty(lp)
        r[o] = np.minimum(1.0, np.minimum.accumulate(v))
    elif method == "hommel":
        pp = np.concatenate([q, np.ones(n - lp)]) if n > lp else q.copy()
        i = np.arange(1, n + 1)
        o = np.argsort(pp, kind="stable")
        pp = pp[o]
        ro = np.argsort(o, kind="stable")
        qq = np.full(n, np.min(n * pp / i))
        pa = qq.copy()
        for m in _r_colon(n - 1, 2):
            i1 = np.arange(0, n - m + 1)
            i2 = np.arange(n - m + 1, n)
            q1 = np.min(m * pp[i2] / np.arange(2, m + 1)) if i2.size else np.inf
            qq[i1] = np.minimum(m * pp[i1], q1)
            qq[i2] = qq[n - m]
            pa = np.maximum(pa, qq)
        r = np.maximum(pa, pp)[ro][:lp]
    else:  # pragma: no cover - checked before
        raise HierlmError(f"unknown p-value adjustment {method!r}")
    out[ok] = r
    return out


# -- distributions ----------------------------------------------------------------------------------
def _pf(x, d1, d2, upper: bool = False) -> np.ndarray:
    """F distribution function with R's limit for an infinite denominator df (chi-square / d1)."""
    x, d2 = np.broadcast_arrays(np.asarray(x, float), np.asarray(d2, float))
    fin = np.isfinite(d2)
    out = np.empty(x.shape)
    fn = stats.f.sf if upper else stats.f.cdf
    cn = stats.chi2.sf if upper else stats.chi2.cdf
    out[fin] = fn(x[fin], d1, d2[fin])
    out[~fin] = cn(x[~fin] * d1, d1)
    return out


def _qf(p, d1, d2) -> np.ndarray:
    d2 = np.atleast_1d(np.asarray(d2, float))
    return np.where(np.isfinite(d2), stats.f.ppf(p, d1, np.where(np.isfinite(d2), d2, 1.0)),
                    stats.chi2.ppf(p, d1) / d1)


def _ptukey_upper(q, nmeans, df) -> np.ndarray:
    q, df = np.broadcast_arrays(np.asarray(q, float), np.asarray(df, float))
    return np.array([stats.studentized_range.sf(a, nmeans, d) if np.isfinite(a) else 0.0
                     for a, d in zip(q.ravel(), df.ravel())]).reshape(q.shape)


def _qinv(p: float, c: float, v: float) -> float:
    """R's starting value for ``qtukey`` (AS 190.2)."""
    p0, q0 = 0.322232421088, 0.993484626060e-01
    p1, q1 = -1.0, 0.588581570495
    p2, q2 = -0.342242088547, 0.531103462366
    p3, q3 = -0.204231210125, 0.103537752850
    p4, q4 = -0.453642210148e-04, 0.38560700634e-02
    c1, c2, c3, c4, c5, vmax = 0.8832, 0.2368, 1.214, 1.208, 1.4142, 120.0
    ps = 0.5 - 0.5 * p
    yi = np.sqrt(np.log(1.0 / (ps * ps)))
    t = yi + ((((yi * p4 + p3) * yi + p2) * yi + p1) * yi + p0) / ((((yi * q4 + q3) * yi + q2) * yi + q1) * yi + q0)
    if v < vmax:
        t += (t * t * t + t) / v / 4.0
    q = c1 - c2 * t
    if v < vmax:
        q += -c3 / v + c4 * t / v
    return t * (q * np.log(c - 1.0) + c5)


def _qtukey1(p: float, nmeans: float, df: float) -> float:
    """R's ``qtukey`` (secant iterations from AS 190.2's start, |step| < 1e-4), on scipy's cdf."""
    cdf = lambda x: float(stats.studentized_range.cdf(x, nmeans, df)) if x > 0 else 0.0
    x0 = _qinv(p, nmeans, df)
    v0 = cdf(x0) - p
    x1 = max(0.0, x0 - 1.0) if v0 > 0 else x0 + 1.0
    v1 = cdf(x1) - p
    ans = x1
    for _ in range(1, 50):
        ans = x1 - v1 * (x1 - x0) / (v1 - v0)
        v0, x0 = v1, x1
        if ans < 0:
            ans, v1 = 0.0, -p
        v1 = cdf(ans) - p
        x1 = ans
        if abs(x1 - x0) < 1e-4:
            return ans
    return ans


def _qtukey(p, nmeans, df) -> np.ndarray:
    """``qtukey`` for each df.  Many close df (Satterthwaite / Kenward–Roger df differ from contrast to
    contrast by a few percent) share three exact quantiles, interpolated quadratically in 1/df: the
    quantile is smooth in 1/df, so over a spread of < 10% the interpolation error is below 1e-9."""
    df = np.atleast_1d(np.asarray(df, float))
    uniq = np.unique(df)
    fin = uniq[np.isfinite(uniq)]
    spread = fin.max() / fin.min() - 1 if fin.size else np.inf
    if fin.size > 3 and (spread < 0.02 or (spread < 0.1 and fin.min() >= 20)):
        u = 1 / fin
        nodes = np.array([u.min(), (u.min() + u.max()) / 2, u.max()])
        vals = np.array([_qtukey1(p, nmeans, 1 / x) for x in nodes])
        coef = np.polyfit(nodes, vals, 2)
        table = dict(zip(fin.tolist(), np.polyval(coef, u).tolist()))
        table.update({x: _qtukey1(p, nmeans, x) for x in uniq[~np.isfinite(uniq)].tolist()})
    else:
        table = {x: _qtukey1(p, nmeans, x) for x in uniq.tolist()}
    return np.array([table[x] for x in df.tolist()])


def _pdunnx(x, k, df):
    """emmeans' ``.pdunnx``: P(max |T| <= x) for k comparisons with a control (approximately)."""
    twt = (k - 1) / k
    nm = (1 + np.sqrt(1 + 8 * k)) / 2
    tuk = 1 - _ptukey_upper(np.sqrt(2) * np.asarray(x, float), nm, df)
    sid = _pf(np.asarray(x, float) ** 2, 1, df) ** k
    return twt * tuk + (1 - twt) * sid


def r_zeroin(f, ax: float, bx: float, tol: float, maxit: int = 1000) -> float:
    """R's ``uniroot`` (Brent's ``zeroin``, R_zeroin2), so roots agree with R to the last digit."""
    fa, fb = f(ax), f(bx)
    if fa == 0.0:
        return ax
    if fb == 0.0:
        return bx
    if fa * fb > 0:
        raise ValueError("f() values at end points not of opposite sign")
    a, b, c, fc = ax, bx, ax, fa
    eps = np.finfo(float).eps
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q, t1, t2 = fa / fc, fb / fc, fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _qdunnx(p: float, k: float, df: np.ndarray) -> np.ndarray:
    df = np.atleast_1d(np.asarray(df, float))
    if k < 1.005:
        return stats.t.ppf(1 - 0.5 * (1 - p), df)
    xtuk = _qtukey(p, (1 + np.sqrt(1 + 8 * k)) / 2, df) / np.sqrt(2)
    xsid = np.sqrt(_qf(p ** (1 / k), 1, df))
    out = []
    for a, b, d in zip(xtuk, xsid, df):
        if abs(a - b) < 5e-4:
            out.append(a)
            continue
        try:
            out.append(r_zeroin(lambda x, d=d: float(_pdunnx(x, k, d)) - p, min(a, b), max(a, b), 5e-4))
        except ValueError:
            out.append(a)
    return np.array(out)


def _mvt_prob(lim: float, corr: np.ndarray, df: float) -> float:
    k = corr.shape[0]
    lo, hi = -np.full(k, abs(lim)), np.full(k, abs(lim))
    rng = np.random.default_rng(0)
    if not np.isfinite(df) or df <= 0:
        return float(stats.multivariate_normal(mean=np.zeros(k), cov=corr, allow_singular=True).cdf(
            hi, lower_limit=lo, rng=rng))
    return float(stats.multivariate_t(loc=np.zeros(k), shape=corr, df=int(df), allow_singular=True).cdf(
        hi, lower_limit=lo, random_state=rng))


# -- emmeans' .adj.p.value and .adj.critval ----------------------------------------------------------
def adjust_p(t, df, adjust: str, fam_size, n_contr: int, est_type: int, by_rows: list, sch_rank=None,
             corr=None) -> tuple[np.ndarray, str | None, str, list[str]]:
    """Adjusted two-sided p values of the t (or z) ratios; emmeans' ``.adj.p.value``.

    Returns the p values, the footer line (or None), the method applied and emmeans' notes.
    """
    notes: list[str] = []
    t = np.asarray(t, float)
    df = np.where(np.isnan(np.asarray(df, float)), np.inf, np.asarray(df, float))
    if n_contr == 1 and adjust != "scheffe":
        adjust = "none"
    if est_type != 3 and adjust == "tukey":
        adjust = "sidak"
        notes.append(CHANGE_NOTE)
    ragged = adjust in ("mvt",) + P_ADJUST
    rows_list = by_rows if ragged else [np.arange(t.size)]
    unadj = 2 * stats.t.sf(np.abs(t), df)
    pval = np.zeros(t.size)
    for jj, rows in enumerate(rows_list):
        rows = np.asarray(rows)
        up = unadj[rows]
        abst = np.abs(t[rows])
        d = df[rows]
        nc = n_contr
        if ragged:
            nc = len(rows)
        if adjust in P_ADJUST:
            pval[rows] = p_adjust(up, adjust, n=nc) if nc == len(up) else up
        elif adjust == "sidak":
            pval[rows] = 1 - (1 - up) ** nc
        elif adjust == "tukey":
            pval[rows] = _ptukey_upper(np.sqrt(2) * abst, fam_size, zapsmall(d))
        elif adjust == "scheffe":
            r = sch_rank[jj if jj < len(sch_rank) else 0]
            pval[rows] = _pf(t[rows] ** 2 / r, r, d, upper=True)
        elif adjust == "dunnettx":
            pval[rows] = 1 - _pdunnx(abst, nc, d)
        elif adjust == "mvt":
            C = corr[np.ix_(rows, rows)]
            pval[rows] = [1 - _mvt_prob(a, C, dd) for a, dd in zip(abst, d)]
    chk = {"none": 1, "tukey": 2, "scheffe": 3}.get(adjust, 99)
    if ragged:
        nc = max(len(r) for r in by_rows)
        fsz = (1 + np.sqrt(1 + 8 * nc)) / 2
        sdim = "(varies)"
    else:
        nc, fsz, sdim = n_contr, fam_size, (sch_rank[0] if sch_rank else None)
    mesg = None
    if chk > 1 and not (fsz < 3 and chk < 10):
        extra = {"tukey": f"for comparing a family of {_num(fam_size)} estimates",
                 "scheffe": f"with rank {sdim}"}.get(adjust, f"for {n_contr} tests")
        mesg = f"P value adjustment: {adjust} method {extra}"
    return pval, mesg, adjust, notes


def adjust_critval(level: float, df, adjust: str, fam_size, n_contr: int, est_type: int, by_rows: list,
                   sch_rank=None, corr=None) -> tuple[np.ndarray, str | None, str]:
    """Critical values of (adjusted) two-sided confidence intervals; emmeans' ``.adj.critval``."""
    df = np.where(np.isnan(np.asarray(df, float)), np.inf, np.asarray(df, float))
    if n_contr == 1 and adjust != "scheffe":
        adjust = "none"
    if adjust not in _CRIT_METHODS:
        adjust = "bonferroni"
    rows_list = [np.arange(df.size)] if (adjust != "mvt" and np.unique(df).size == 1) else by_rows
    if est_type != 3 and adjust == "tukey":
        adjust = "sidak"
    chk = {"none": 1, "tukey": 2, "scheffe": 3}.get(adjust, 99)
    mesg = None
    if chk > 1 and not (fam_size < 3 and chk < 10):
        extra = {"tukey": f"for comparing a family of {_num(fam_size)} estimates",
                 "scheffe": f"with rank {sch_rank[0] if sch_rank else None}"}.get(adjust, f"for {n_contr} estimates")
        mesg = f"Conf-level adjustment: {adjust} method {extra}"
    cv = np.zeros(df.size)
    for jj, rows in enumerate(rows_list):
        rows = np.asarray(rows)
        d = df[rows]
        if adjust == "none":
            cv[rows] = -stats.t.ppf((1 - level) / 2, d)
        elif adjust == "sidak":
            cv[rows] = -stats.t.ppf((1 - level ** (1 / n_contr)) / 2, d)
        elif adjust == "bonferroni":
            cv[rows] = -stats.t.ppf((1 - level) / n_contr / 2, d)
        elif adjust == "tukey":
            cv[rows] = _qtukey(level, fam_size, d) / np.sqrt(2)
        elif adjust == "scheffe":
            r = sch_rank[jj if jj < len(sch_rank) else 0]
            cv[rows] = np.sqrt(r * _qf(level, r, d))
        elif adjust == "dunnettx":
            cv[rows] = _qdunnx(level, n_contr, d)
        elif adjust == "mvt":
            C = corr[np.ix_(rows, rows)]
            for i, dd in zip(rows, d):
                cv[i] = r_zeroin(lambda x, C=C, dd=dd: _mvt_prob(x, C, dd) - level, 0.5, 20.0, 1e-5)
    return cv, mesg, adjust


def _num(x) -> str:
    x = float(x)
    return str(int(x)) if x == int(x) else f"{x:g}"
