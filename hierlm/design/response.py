"""The response in a family's canonical form, checked against the family.

:func:`prepare_response` turns an evaluated response into :class:`GlmResponse` (proportions and
trials for binomial models, counts, numbers) and rejects data the family cannot model with a
:class:`~hierlm.DataError`; :func:`response_of` does it for a :class:`~hierlm.design.Design`, the one
place every engine gets its response from.

Examples
--------
>>> r = prepare_response("binomial", np.array([[2.0, 8.0], [1.0, 0.0]]))
>>> r.y.tolist(), r.trials.tolist()
([0.2, 1.0], [10.0, 1.0])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, HierlmWarning
from ..formula import deparse
from .family import Family, get_family
from .value import Value

__all__ = ["GlmResponse", "prepare_response", "response_of"]


@dataclass
class GlmResponse:
    """A response in the family's canonical form.

    Attributes
    ----------
    y : ndarray
        Proportion of successes (binomial, Bernoulli) or the response itself (counts, Gaussian).
    trials : ndarray
        Number of trials per row (1 for Bernoulli and non-binomial families).
    prior_weights : ndarray
        Prior weights (1 unless ``weights=`` was given to a non-binomial family).
    """

    y: np.ndarray
    trials: np.ndarray
    prior_weights: np.ndarray

    @property
    def weights(self) -> np.ndarray:
        """GLM weights: prior weights × trials (R's ``weights`` after ``family$initialize``)."""
        return self.prior_weights * self.trials

    @property
    def successes(self) -> np.ndarray:
        """Successes (binomial) as whole numbers; the response for other families."""
        return np.round(self.y * self.trials)


# -- response checks ------------------------------------------------------------------------------
def _first_bad(rows: np.ndarray, mask: np.ndarray) -> str:
    i = int(np.flatnonzero(mask)[0])
    row = rows[i].item() if isinstance(rows[i], np.generic) else rows[i]
    return f"{int(mask.sum())} row(s), first at row {row!r}"


def _is_whole(x: np.ndarray) -> np.ndarray:
    return np.abs(x - np.round(x)) <= 1e-7 * np.maximum(1, np.abs(x))


def prepare_response(family, value, weights=None, rows=None, name: str = "response") -> GlmResponse:
    """Check a response against a family and put it in canonical form.

    Parameters
    ----------
    family : str or Family
    value : hierlm.design.Value or ndarray
        The evaluated response (``Design.response_value``): numbers, a two-column
        ``cbind(successes, failures)`` matrix, a logical vector or a factor.
    weights : ndarray, optional
        ``weights=``: the number of trials for a binomial proportion, prior weights otherwise.
    rows : ndarray, optional
        Row labels (for error messages).
    name : str
        The response as written in the formula (for error messages).

    Returns
    -------
    GlmResponse

    Examples
    --------
    >>> r = prepare_response("binomial", np.array([[2.0, 8.0], [1.0, 0.0]]))
    >>> r.y.tolist(), r.trials.tolist()
    ([0.2, 1.0], [10.0, 1.0])
    """
    fam = get_family(family)
    if not isinstance(value, Value):
        arr = np.asarray(value)
        kind = "mat" if arr.ndim == 2 else "lgl" if arr.dtype == bool else "num"
        value = Value(kind, arr.astype(float) if kind != "lgl" else arr)
    n = len(value.data)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    w = None if weights is None else np.asarray(weights, float)
    if w is not None and (w.shape != (n,) or np.any(~np.isfinite(w)) or np.any(w < 0)):
        raise DataError("weights must be one finite, non-negative number per row")
    ones = np.ones(n)
    kind = value.kind
    if kind == "mat" and (value.data.ndim != 2 or value.data.shape[1] != 2):
        raise DataError(f"the response '{name}' has {value.data.shape[1]} columns; only "
                        "cbind(successes, failures) with two columns is supported")
    if kind == "mat" and fam.name != "binomial":
        raise DataError(f"the response '{name}' is a cbind() matrix, which is for family='binomial' "
                        f"(successes, failures); family='{fam.name}' needs one column")
    if kind == "cat" and fam.name not in ("binomial", "bernoulli"):
        raise DataError(f"the response '{name}' is a factor (levels {value.levels[:4]}); family='{fam.name}' "
                        "needs a numeric response (a factor response is for 'bernoulli' or 'binomial')")

    if fam.name in ("binomial", "bernoulli"):
        if fam.name == "bernoulli" and w is not None:
            raise DataError("family='bernoulli' takes no weights; for proportions with weights= the number of "
                            "trials use family='binomial'")
        if kind == "mat":
            s, f = value.data[:, 0], value.data[:, 1]
            for arr, what in ((s, "successes"), (f, "failures")):
                bad = arr < 0
                if bad.any():
                    hint = (" (more successes than trials? the second column of cbind() is the failures, "
                            "e.g. cbind(k, n - k))" if what == "failures" else "")
                    raise DataError(
                        f"negative {what} in the binomial response '{name}' ({_first_bad(rows, bad)}){hint}")
            if not np.all(_is_whole(s) & _is_whole(f)):
                warnings.warn(f"non-integer counts in the binomial response '{name}'", HierlmWarning, stacklevel=3)
            trials = s + f
            y = np.divide(s, trials, out=np.zeros(n), where=trials > 0)
            return GlmResponse(y, trials, ones if w is None else w)
        if kind == "cat":
            if fam.name == "bernoulli" and len(value.levels) > 2:
                raise DataError(f"the response '{name}' is a factor with {len(value.levels)} levels "
                                f"{value.levels[:5]}; family='bernoulli' needs two (the first one is failure)")
            y = (value.data != 0).astype(float)  # R: the first level is failure, every other success
        elif kind == "lgl":
            y = value.data.astype(float)
        else:
            y = np.asarray(value.data, float)
            if fam.name == "bernoulli" or w is None:
                bad = (y != 0) & (y != 1)
                if bad.any():
                    ex = y[bad][:3].tolist()
                    if fam.name == "bernoulli":
                        msg = "family='bernoulli' needs a binary response (0/1, True/False or a two-level factor)"
                    elif np.all((y >= 0) & (y <= 1)):
                        msg = "proportions need weights= (the number of trials), or use cbind(successes, failures)"
                    else:
                        msg = ("a binomial response is 0/1, a proportion with weights= the number of trials, or "
                               "cbind(successes, failures)")
                    raise DataError(f"the response '{name}' has values such as {ex} ({_first_bad(rows, bad)}); {msg}")
            else:
                bad = (y < 0) | (y > 1)
                if bad.any():
                    raise DataError(
                        f"the binomial proportion '{name}' must lie in [0, 1] (successes above trials?), got "
                        f"{y[bad][:3].tolist()} ({_first_bad(rows, bad)})")
        if w is None:
            return GlmResponse(y, ones, ones)
        if not np.all(_is_whole(w * y)):
            warnings.warn(f"non-integer number of successes (weights × '{name}') in a binomial model",
                          HierlmWarning, stacklevel=3)
        return GlmResponse(y, w, ones)

    # counts and Gaussian
    if kind == "lgl":
        y = value.data.astype(float)
    else:
        y = np.asarray(value.data, float)
    if fam.name in ("poisson", "negbinomial"):
        bad = y < 0
        if bad.any():
            raise DataError(f"negative counts in the response '{name}' ({_first_bad(rows, bad)}, e.g. "
                            f"{y[bad][0]:g}); family='{fam.name}' needs counts 0, 1, 2, ...")
        bad = ~_is_whole(y)
        if bad.any():
            raise DataError(f"non-integer counts in the response '{name}' ({_first_bad(rows, bad)}, e.g. "
                            f"{y[bad][0]:g}); family='{fam.name}' needs whole numbers (a rate goes in as "
                            "count ~ ... + offset(log(exposure)))")
    used = np.ones(n, bool) if w is None else w > 0  # zero-weight rows are left out of the fit
    fam.check_response(y[used], rows[used], name)
    return GlmResponse(y, ones, ones if w is None else w)


def response_of(design, family) -> tuple[Family, GlmResponse]:
    """The family and the design's response in the family's canonical form (prior weights included).

    Parameters
    ----------
    design : Design
    family : str or Family

    Returns
    -------
    (Family, GlmResponse)
    """
    fam = get_family(family)
    resp = prepare_response(fam, design.response_value, design.weights, rows=design.rows,
                            name=deparse(design.formula.response))
    return fam, resp
