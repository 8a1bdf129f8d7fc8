"""R's number formatting, ported: ``format()``, ``round()``, ``signif()``, ``zapsmall()``, ``format.pval``,
``formatC`` and ``quantile(type = 7)``, so that hierlm prints numbers digit for digit as R does.

The algorithms follow R 4.2's C and R sources (``src/main/format.c`` ``scientific``/``formatReal``,
``src/main/printutils.c`` ``EncodeReal0``, ``src/nmath/fround.c``, ``src/nmath/fprec.c``,
``src/library/base/R/format.R``, ``zapsmall.R``, ``stats/R/quantile.R``); they are rewritten here in
Python, not called.  ``scientific`` scales by powers of ten in 80-bit extended precision, as R does on
x86-64 (``numpy.longdouble``; on a platform without it the rounding of a value lying within 1e-16 of a
printing boundary may differ).

These functions depend on nothing else in hierlm, so every service can print with them; the layouts
built from them (matrices, coefficient tables) are in :mod:`hierlm.services.rformat.layout`.

Examples
--------
>>> format_num([251.405104848485, 10.467285959596], digits=7)
['251.40510', ' 10.46729']
>>> format_num([251.405104848485, 6.82459669495491], digits=4)
['251.405', '  6.825']
>>> format_pval([1.47e-09, 0.001068, 0.000474], digits=3)
['1.47e-09', '0.001068', '0.000474']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["DBL_EPSILON", "r_round", "r_signif", "zapsmall", "format_info", "encode_real", "format_num",
           "format_pval", "format_c", "quantile7", "is_na"]

DBL_EPSILON = 2.220446049250313e-16
_DBL_DIG = 15
_NA_WIDTH = 2  # R_print.na_width: nchar("NA")
_LD = np.longdouble
_KP_MAX = 27 if np.finfo(_LD).nmant >= 63 else 22
_TBL = [_LD(1)]
for _k in range(_KP_MAX):
    _TBL.append(_TBL[-1] * _LD(10))  # exact: 10^k has at most 64 significant bits for k <= 27


def is_na(x) -> bool:
    """Whether ``x`` is missing (None or NaN), as R's ``is.na`` for numbers.

    Parameters
    ----------
    x : float or None

    Returns
    -------
    bool

    Examples
    --------
    >>> is_na(None), is_na(float("nan")), is_na(1.0)
    (True, True, False)
    """
    return x is None or (isinstance(x, (float, np.floating)) and math.isnan(x))


def _pow_di(x: float, n: int) -> float:
    """R_pow_di: x^n by repeated squaring in double precision (as R rounds with it)."""
    xn = 1.0
    if n != 0:
        neg = n < 0
        n = -n if neg else n
        while True:
            if n & 1:
                xn *= x
            n >>= 1
            if n:
                x *= x
            else:
                break
        if neg:
            xn = 1.0 / xn
    return xn


def _fround(x: float, digits: float) -> float:
    if math.isnan(x) or math.isnan(digits):
        return x + digits
    if math.isinf(x):
        return x
    if digits > 308 + _DBL_DIG or x == 0.0:
        return x
    if digits < -308:
        return 0.0
    if digits == 0.0:
        return float(np.rint(x))
    dig = int(math.floor(digits + 0.5))
    sgn = 1.0
    if x < 0.0:
        sgn, x = -1.0, -x
    l10x = math.log10(2.0) * (0.5 + (math.frexp(x)[1] - 1))
    if l10x + dig > _DBL_DIG:
        return sgn * x
    if dig <= 308:
        pow10 = _pow_di(10.0, dig)
        x10 = x * pow10
        i10 = math.floor(x10)
        xd = i10 / pow10
        xu = math.ceil(x10) / pow10
    else:
        e10 = dig - 308
        p10 = _pow_di(10.0, e10)
        pow10 = _pow_di(10.0, 308)
        x10 = (x * pow10) * p10
        i10 = math.floor(x10)
        xd = i10 / pow10 / p10
        xu = math.ceil(x10) / pow10 / p10
    du, dd = xu - x, x - xd
    return sgn * (xu if (du < dd or (math.fmod(i10, 2.0) == 1 and du == dd)) else xd)


def r_round(x, digits: float = 0):
    """R's ``round(x, digits)`` (R >= 4.0.0: the representable value closest to x, ties to even digit).

    Parameters
    ----------
    x : float or sequence of float
        None / NaN stay missing.
    digits : float
        Decimal places (may be negative or non-integer, as ``zapsmall`` passes it).

    Returns
    -------
    float or list of float

    Examples
    --------
    >>> r_round(0.15, 1), r_round(2.5), r_round(-1.005, 2), r_round(1234.5678, -2)
    (0.1, 2.0, -1.0, 1200.0)
    """
    if isinstance(x, Iterable):
        return [r_round(v, digits) for v in x]
    if is_na(x):
        return math.nan
    return _fround(float(x), float(digits))


def r_signif(x: float, digits: int = 6) -> float:
    """R's ``signif(x, digits)``.

    Parameters
    ----------
    x : float
    digits : int

    Returns
    -------
    float

    Examples
    --------
    >>> r_signif(25.59182, 4), r_signif(0.000123456, 2)
    (25.59, 0.00012)
    """
    if is_na(x):
        return math.nan
    x = float(x)
    if math.isinf(x) or x == 0:
        return x
    dig = int(round(digits))
    if dig > 22:
        return x
    dig = max(dig, 1)
    sgn = 1.0
    if x < 0:
        sgn, x = -1.0, -x
    l10 = math.log10(x)
    e10 = int(dig - 1 - math.floor(l10))
    if abs(l10) < 308 - 2:
        p10 = 1.0
        if e10 > 308:
            p10 = _pow_di(10.0, e10 - 308)
            e10 = 308
        if e10 > 0:
            pow10 = _pow_di(10.0, e10)
            return sgn * (float(np.rint((x * pow10) * p10)) / pow10) / p10
        pow10 = _pow_di(10.0, -e10)
        return sgn * (float(np.rint(x / pow10)) * pow10)
    do_round = 308 - l10 >= _pow_di(10.0, -dig)
    e2 = dig + (1 if e10 > 0 else -1) * 22
    p10 = _pow_di(10.0, e2)
    x *= p10
    P10 = _pow_di(10.0, e10 - e2)
    x *= P10
    if do_round:
        x += 0.5
    x = math.floor(x) / p10
    return sgn * x / P10


def zapsmall(x: Sequence[float], digits: int = 7) -> list[float]:
    """R's ``zapsmall(x, digits)``: round values that are tiny next to the largest one to zero.

    Parameters
    ----------
    x : sequence of float
    digits : int

    Returns
    -------
    list of float

    Examples
    --------
    >>> zapsmall([1.0, 1e-20, -3.3333333], 4)
    [1.0, 0.0, -3.333]
    """
    vals = [math.nan if is_na(v) else float(v) for v in x]
    finite = [abs(v) for v in vals if not math.isnan(v)]
    if not finite:
        return vals
    mx = max(finite)
    d = max(0.0, digits - math.log10(mx)) if mx > 0 else digits
    return r_round(vals, d)


def _scientific(x: float, digits: int) -> tuple[int, int, int, bool]:
    """R's ``scientific()``: (neg, kpower, nsig, roundingwidens) of a finite double at ``digits``."""
    if x == 0.0:
        return 0, 0, 1, False
    neg = 1 if x < 0 else 0
    r = -x if neg else x
    if digits >= _DBL_DIG + 1:
        s = "%#.*e" % (digits - 1, r)
        mant, exp = s.split("e")
        kpower = int(exp)
        ds = mant.replace(".", "")
        nsig = len(ds.rstrip("0")) or 1
        return neg, kpower, min(nsig, digits), False
    kp = int(math.floor(math.log10(r))) - digits + 1
    r_prec = _LD(r)
    if abs(kp) <= _KP_MAX:
        if kp > 0:
            r_prec /= _TBL[kp]
        elif kp < 0:
            r_prec *= _TBL[-kp]
    else:
        r_prec /= np.power(_LD(10), _LD(kp))
    if r_prec < _TBL[digits - 1]:
        r_prec *= _LD(10)
        kp -= 1
    alpha = float(np.rint(r_prec))
    nsig = digits
    for _ in range(digits):
        alpha /= 10.0
        if alpha == math.floor(alpha):
            nsig -= 1
        else:
            break
    if nsig == 0 and digits > 0:
        nsig = 1
        kp += 1
    kpower = kp + digits - 1
    rgt = min(max(digits - kpower, 0), _KP_MAX)
    fuzz = 0.5 / float(_TBL[rgt])
    widens = bool(0 < kpower <= _KP_MAX and _LD(r) < _TBL[kpower] - _LD(fuzz))
    return neg, kpower, nsig, widens


def format_info(x: Sequence[float], digits: int = 7, nsmall: int = 0, scipen: int = 0,
                nan_is_na: bool = True) -> tuple[int, int, int]:
    """R's ``formatReal``: the common (width, decimals, exponent flag) of a numeric vector.

    Parameters
    ----------
    x : sequence of float
        None / NaN are missing (``NA``); infinities print as ``Inf``.
    digits : int
        Significant digits wanted for every element (R's ``digits``).
    nsmall : int
        Minimum number of decimals in fixed notation.
    scipen : int
        R's ``scipen`` penalty against scientific notation.
    nan_is_na : bool, default True
        False: a float NaN is R's ``NaN`` (printed ``NaN``, width 3), None alone is ``NA``.

    Returns
    -------
    (int, int, int)
        ``w`` field width, ``d`` decimals (fixed) or mantissa digits (scientific), ``e`` 0 for fixed
        notation, else the number of exponent digits minus 1.

    Examples
    --------
    >>> format_info([251.405104848485, 10.467285959596], 4)
    (6, 2, 0)
    >>> format_info([1e-10, 1.0], 7)
    (5, 0, 1)
    """
    naflag = nanflag = posinf = neginf = False
    neg = 0
    mnl = 2**31
    mxl = rgt = mxsl = mxns = -(2**31)
    for v in x:
        if v is None:
            naflag = True
            continue
        v = float(v)
        if not math.isfinite(v):
            if math.isnan(v):
                naflag, nanflag = naflag or nan_is_na, nanflag or not nan_is_na
            elif v > 0:
                posinf = True
            else:
                neginf = True
            continue
        neg_i, kpower, nsig, widens = _scientific(v, digits)
        left = kpower + 1
        if widens:
            left -= 1
        sleft = neg_i + (1 if left <= 0 else left)
        right = nsig - left
        if neg_i:
            neg = 1
        rgt, mxl, mnl = max(rgt, right), max(mxl, left), min(mnl, left)
        mxsl, mxns = max(mxsl, sleft), max(mxns, nsig)
    if digits == 0:
        rgt = 0
    if mxl < 0:
        mxsl = 1 + neg
    rgt = max(rgt, 0)
    wF = mxsl + rgt + (rgt != 0)
    e = 2 if (mxl > 100 or mnl <= -99) else 1
    if mxns != -(2**31):
        d = mxns - 1
        w = neg + (d > 0) + d + 4 + e
        if wF <= w + scipen:
            e = 0
            if nsmall > rgt:
                rgt = nsmall
                wF = mxsl + rgt + (rgt != 0)
            d, w = rgt, wF
    else:
        w = d = e = 0
    if naflag:
        w = max(w, _NA_WIDTH)
    if nanflag or posinf:
        w = max(w, 3)
    if neginf:
        w = max(w, 4)
    return w, d, e


def encode_real(x, w: int, d: int, e: int, na: str = "NA", nan: str | None = None) -> str:
    """R's ``EncodeReal0``: one number in a field of width ``w`` (see :func:`format_info`).

    Parameters
    ----------
    x : float or None
    w, d, e : int
        Width, decimals and exponent flag from :func:`format_info`.
    na : str
        Text for a missing value.
    nan : str, optional
        Text for a float NaN (default: as ``na``).

    Returns
    -------
    str

    Examples
    --------
    >>> encode_real(3.14159, 8, 3, 0), encode_real(-7.677e-05, 10, 3, 1)
    ('   3.142', '-7.677e-05')
    """
    if x is None:
        return na.rjust(w)
    x = float(x)
    if math.isnan(x):
        return (na if nan is None else nan).rjust(w)
    if math.isinf(x):
        return ("Inf" if x > 0 else "-Inf").rjust(w)
    if x == 0.0:
        x = 0.0  # no negative zero
    if e:
        return ("%#*.*e" if d else "%*.*e") % (w, d, x)
    return "%*.*f" % (w, d, x)


def format_num(x: Sequence[float], digits: int = 7, nsmall: int = 0, width: int = 0, na: str = "NA",
               scipen: int = 0, nan: str | None = None) -> list[str]:
    """R's ``format()`` of a numeric vector: common notation, decimals and width, right-justified.

    Parameters
    ----------
    x : sequence of float
        None / NaN print as ``na``.
    digits : int
        Significant digits (R's ``digits``; 7 is R's default).
    nsmall : int
        Minimum decimals in fixed notation (R's ``nsmall``).
    width : int
        Minimum field width.
    na : str
        Text for missing values.
    scipen : int
        Penalty against scientific notation (R's ``scipen``).
    nan : str, optional
        Text for a float NaN, R's ``NaN`` (default: NaN is missing, printed as ``na``).

    Returns
    -------
    list of str

    Examples
    --------
    >>> format_num([612.0971, 35.07145, 654.9405], digits=4)
    ['612.10', ' 35.07', '654.94']
    >>> format_num([0.73317692, 8.58e-06, 0.01120653], digits=4)
    ['7.332e-01', '8.580e-06', '1.121e-02']
    >>> format_num([-0.138, 1.0], nsmall=3)
    ['-0.138', ' 1.000']
    """
    w, d, e = format_info(x, digits, nsmall, scipen, nan_is_na=nan is None)
    w = max(w, width)
    return [encode_real(v, w, d, e, na, nan) for v in x]


def format_pval(pv: Sequence[float], digits: int = 5, eps: float = DBL_EPSILON, na_form: str = "NA") -> list[str]:
    """R's ``format.pval``: p-values with ``digits`` significant digits, ``< eps`` below ``eps``.

    Parameters
    ----------
    pv : sequence of float
    digits : int
        Significant digits (printCoefmat passes its ``dig.tst``: 3 in model summaries).
    eps : float
        Below this a p-value prints as ``<eps`` (R's ``.Machine$double.eps`` by default).
    na_form : str
        Text for missing p-values.

    Returns
    -------
    list of str

    Examples
    --------
    >>> format_pval([1.17e-17, 3.26382446992738e-06], digits=3)
    ['< 2e-16', '3.26e-06']
    >>> format_pval([0.0197, 0.0706], digits=3)
    ['0.0197', '0.0706']
    >>> format_pval([1e-20], digits=4), format_pval([1e-20, 0.5], digits=3)
    (['< 2.2e-16'], ['<2e-16', '0.5'])
    """
    ina = [is_na(p) for p in pv]
    vals = [float(p) for p, na in zip(pv, ina) if not na]
    out = [""] * len(vals)
    is0 = [p < eps for p in vals]
    rr: list[str] = []
    if not all(is0):
        idx = [i for i, z in enumerate(is0) if not z]
        sub = [vals[i] for i in idx]
        expo = [math.floor(math.log10(p if p > 0 else 1e-50)) for p in sub]
        fixp = [ex >= -3 or (ex == -4 and digits > 1) for ex in expo]
        rr = [""] * len(sub)
        for flag in (True, False):
            sel = [j for j, f in enumerate(fixp) if f == flag]
            if sel:
                for j, s in zip(sel, format_num([sub[j] for j in sel], digits)):
                    rr[j] = s
        for i, s in zip(idx, rr):
            out[i] = s
    if any(is0):
        dig = max(1, digits - 2)
        if not all(is0):
            nc = max(len(s) for s in rr)
            if dig > 1 and dig + 6 > nc:
                dig = max(1, nc - 7)
            sep = "" if (dig == 1 and nc <= 6) else " "
        else:
            sep = "" if dig == 1 else " "
        lab = "<" + sep + format_num([eps], dig)[0]
        for i, z in enumerate(is0):
            if z:
                out[i] = lab
    it = iter(out)
    return [na_form if na else next(it) for na in ina]


def format_c(x: float, digits: int, width: int | None = None) -> str:
    """R's ``formatC(x, digits = digits)`` with the default ``"g"`` format (C's ``%*.*g``).

    Parameters
    ----------
    x : float
    digits : int
    width : int, optional
        Field width (R's default: ``digits + 1``).

    Returns
    -------
    str

    Examples
    --------
    >>> format_c(0.2200449, 4), format_c(0.8268, 4), format_c(44.8, 4)
    (' 0.22', '0.8268', ' 44.8')
    """
    if is_na(x):
        return "NA".rjust(digits + 1 if width is None else width)
    return "%*.*g" % (digits + 1 if width is None else width, digits, float(x))


def quantile7(x: Sequence[float], probs: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> list[float]:
    """R's ``quantile(x, probs)`` with the default ``type = 7`` (missing values dropped).

    Parameters
    ----------
    x : sequence of float
    probs : sequence of float

    Returns
    -------
    list of float

    Examples
    --------
    >>> quantile7([1.0, 2.0, 3.0, 4.0, 10.0])
    [1.0, 2.0, 3.0, 4.0, 10.0]
    >>> quantile7([3.0, 1.0, 2.0, 4.0])
    [1.0, 1.75, 2.5, 3.25, 4.0]
    """
    xs = np.sort(np.asarray([v for v in x if not is_na(v)], dtype=float))
    n = len(xs)
    out = []
    for p in probs:
        p = min(1.0, max(0.0, float(p)))
        index = 1 + max(n - 1, 0) * p
        lo, hi = math.floor(index), math.ceil(index)
        qs = float(xs[lo - 1])
        if index > lo and xs[hi - 1] != qs:
            h = index - lo
            qs = (1 - h) * qs + h * float(xs[hi - 1])
        out.append(qs)
    return out
