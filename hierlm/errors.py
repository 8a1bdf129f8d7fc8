"""Exceptions and warnings raised by hierlm.

Every mistake a user can make with a formula, a data frame or an argument raises
:class:`HierlmError` (a :class:`ValueError`) or one of its subclasses.  Messages name the
culprit (token, column, group, value) and say what would work.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "HierlmError",
    "FormulaError",
    "DataError",
    "SamplingError",
    "HierlmWarning",
    "SamplingWarning",
    "suggest",
]


class HierlmError(ValueError):
    """Base class of every error hierlm raises for bad input."""


class FormulaError(HierlmError):
    """The model formula cannot be parsed or does not make sense."""


class DataError(HierlmError):
    """The data frame does not fit the formula or the family."""


class SamplingError(HierlmError):
    """Bad sampler settings, or the sampler could not run."""


class HierlmWarning(UserWarning):
    """Something was changed on the user's behalf (rows dropped, columns aliased, ...)."""


class SamplingWarning(HierlmWarning):
    """A Bayesian fit sampled, but a diagnostic (divergences, R-hat, ESS, ...) says to be careful."""


def suggest(name: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or ``""``.

    Examples
    --------
    >>> suggest("Reacton", ["Reaction", "Days"])
    " Did you mean 'Reaction'?"
    """
    candidates = [str(c) for c in candidates]
    lower = {c.lower(): c for c in candidates}
    if name.lower() in lower:
        return f" Did you mean '{lower[name.lower()]}'?"
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
