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
    """Base class of every error hierlm raises for bad input (a :class:`ValueError`).

    Its subclasses say where the problem is: :class:`FormulaError` (the formula),
    :class:`DataError` (the data frame) and :class:`SamplingError` (sampler settings).  Catch
    ``hl.HierlmError`` to catch them all; messages name the culprit and say what would work.

    Examples
    --------
    >>> import hierlm as hl
    >>> try:
    ...     hl.load_dataset("sleep")
    ... except hl.HierlmError as err:
    ...     print(type(err).__name__, "|", err)
    DataError | no dataset called 'sleep'. Did you mean 'sleepstudy'? Available: sleepstudy, ...
    >>> issubclass(hl.HierlmError, ValueError)
    True
    """


class FormulaError(HierlmError):
    """The model formula cannot be parsed or does not make sense.

    Examples
    --------
    >>> import hierlm as hl
    >>> hl.parse_formula("Reaction ~ Days + (Days | Subject")
    Traceback (most recent call last):
    ...
    hierlm.errors.FormulaError: unbalanced parentheses: a '(' is never closed; missing ')' at position 33 of the formula:
        Reaction ~ Days + (Days | Subject
                                         ^
    """


class DataError(HierlmError):
    """The data frame does not fit the formula or the family (a missing column, a bad response, ...).

    Examples
    --------
    >>> import hierlm as hl
    >>> hl.lmer("Reaction ~ Days + (Days | Subjct)", hl.load_dataset("sleepstudy"))
    Traceback (most recent call last):
    ...
    hierlm.errors.DataError: the formula uses 'Subjct', which is not a column of the data. Did you mean 'Subject'? Columns: Reaction, Days, Subject
    """


class SamplingError(HierlmError):
    """Bad sampler settings, or the sampler could not run.

    Examples
    --------
    >>> import hierlm as hl
    >>> hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), chains=0)
    Traceback (most recent call last):
    ...
    hierlm.errors.SamplingError: chains must be a whole number >= 1, got 0; e.g. chains=4 (R-hat needs at least 2)
    """


class HierlmWarning(UserWarning):
    """Something was changed on the user's behalf (rows dropped, columns aliased, ...).

    Examples
    --------
    >>> import warnings
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> sleep.loc[0, "Reaction"] = float("nan")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     m = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    >>> caught[0].category.__name__, str(caught[0].message)
    ('HierlmWarning', '1 row(s) with missing values dropped (Reaction: 1); 179 rows used')
    """


class SamplingWarning(HierlmWarning):
    """A Bayesian fit sampled, but a diagnostic (divergences, R-hat, ESS, ...) says to be careful.

    The message says what happened and what to do about it.  Turn the warnings into errors with
    ``warnings.simplefilter("error", hl.SamplingWarning)``.

    Examples
    --------
    >>> import warnings
    >>> import hierlm as hl
    >>> with warnings.catch_warnings(record=True) as caught:  # far too few draws
    ...     warnings.simplefilter("always")
    ...     b = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"),
    ...                  draws=20, tune=20, chains=2, seed=1, progressbar=False)
    >>> any(issubclass(w.category, hl.SamplingWarning) for w in caught)
    True
    """


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
