"""The fit protocol: what every fit offers, defined once, and how services plug into fit methods.

Every result object — ``LmerFit``, ``GlmerFit`` (frequentist), ``BayesFit`` (Bayesian) and the
plain-regression fits — derives from :class:`Fit`.  Services (reports, inference, comparison,
validation, plots) depend on this protocol only: they ask ``fit.kind`` what a fit is and read the
family, formula, design and data from the attributes below, never by probing with ``hasattr``.

Some fit methods are services in disguise (``fit.summary()`` is a report, ``fit.confint()`` an
inference).  The services live in the layer above the fits, so a fit cannot import them; instead
the methods call :data:`services`, a table of late-bound functions that ``hierlm/__init__`` (the
package's table of contents, at the top of the layers) binds by dotted name.  The services are
imported on first use, which keeps ``import hierlm`` fast.

Examples
--------
>>> import hierlm as hl
>>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
>>> m.kind
FitKind(engine='frequentist', model='lmm')
>>> m.kind.bayesian, m.family == "gaussian", m.family.link.name
(False, True, 'identity')
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..design import Design, Family
from ..errors import HierlmError

__all__ = ["Fit", "FitKind", "is_fit", "services", "check_same_data"]


@dataclass(frozen=True)
class FitKind:
    """What kind of fit an object is.

    Attributes
    ----------
    engine : {"frequentist", "bayesian"}
    model : {"lmm", "glmm", "lm", "glm"}
        Linear or generalised, mixed (with random effects) or not.
    """

    engine: str
    model: str

    @property
    def bayesian(self) -> bool:
        return self.engine == "bayesian"

    @property
    def frequentist(self) -> bool:
        return self.engine == "frequentist"

    @property
    def mixed(self) -> bool:
        """Whether the model has random effects (lmm, glmm, ordinal)."""
        return self.model in ("lmm", "glmm", "ordinal")

    @property
    def linear(self) -> bool:
        """Whether the model is a linear (Gaussian, identity-link) model fitted by least squares / REML."""
        return self.model in ("lmm", "lm")


class Fit(ABC):
    """The protocol every fit follows (see the module docstring).

    Attributes
    ----------
    kind : FitKind
        Frequentist or Bayesian; LMM, GLMM, LM or GLM.
    design : Design
        The model frame: response, fixed-effects matrix, random-effects terms, the rows used.
    family : Family
        The response family with its link (compares equal to its name: ``fit.family == "binomial"``).
    """

    kind: FitKind
    design: Design
    family: Family

    # -- structure ----------------------------------------------------------------------------
    @property
    def formula(self) -> str:
        """The model formula as given.

        Returns
        -------
        str

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.formula
        'Reaction ~ Days + (Days | Subject)'
        """
        return self.design.formula.text

    @property
    def data(self) -> pd.DataFrame | None:
        """The rows of the data the model used (the columns it needs), or None when not kept.

        Returns
        -------
        DataFrame or None

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.data.shape
        (180, 3)
        """
        return self.design.data

    def nobs(self) -> int:
        """Number of observations used (after dropping rows with missing values), as lme4's ``nobs``.

        Returns
        -------
        int

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
        >>> m.nobs()
        180
        """
        return self.design.n

    # -- extractors every fit has ---------------------------------------------------------------
    @abstractmethod
    def fixef(self) -> pd.DataFrame: ...

    @abstractmethod
    def sigma(self) -> float: ...

    @abstractmethod
    def predict(self, newdata=None, **kwargs): ...

    @abstractmethod
    def fitted(self) -> np.ndarray: ...

    @abstractmethod
    def residuals(self) -> np.ndarray: ...

    @abstractmethod
    def save(self, path): ...

    def summary(self, **kwargs):
        """The fit's printed summary (a report service; see :func:`hierlm.services.reports.summary`).

        Parameters
        ----------
        **kwargs
            Options of the report (see the fit class's ``summary``).

        Returns
        -------
        Summary

        Examples
        --------
        >>> import hierlm as hl
        >>> m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
        >>> str(m.summary()).splitlines()[0]
        "Linear mixed model fit by REML. t-tests use Satterthwaite's method ["
        """
        return services["summary"](self, **kwargs)

    def __repr__(self) -> str:
        return str(self.summary())


def is_fit(obj, engine: str | None = None, model: str | tuple[str, ...] | None = None) -> bool:
    """Whether ``obj`` is a fit, optionally of an engine (``"frequentist"``, ``"bayesian"``) and model
    kind(s) (``"lmm"``, ``"glmm"``, ``"lm"``, ``"glm"``).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> is_fit(m), is_fit(m, "bayesian"), is_fit(m, "frequentist", ("lmm", "lm")), is_fit("m")
    (True, False, True, False)
    """
    if not isinstance(obj, Fit):
        return False
    if engine is not None and obj.kind.engine != engine:
        return False
    models = (model,) if isinstance(model, str) else model
    return models is None or obj.kind.model in models


class _Services:
    """Late-bound service functions behind fit methods (see the module docstring).

    ``bind(name="package.module:function")`` registers where a service lives; ``services[name]``
    imports it on first use.
    """

    def __init__(self) -> None:
        self._where: dict[str, str] = {}
        self._done: dict[str, Callable] = {}

    def bind(self, **where: str) -> None:
        self._where.update(where)
        for name in where:
            self._done.pop(name, None)

    def __getitem__(self, name: str) -> Callable:
        fn = self._done.get(name)
        if fn is None:
            if name not in self._where:
                raise HierlmError(f"internal: no service '{name}' is bound (import hierlm binds them)")
            module, attr = self._where[name].split(":")
            fn = self._done[name] = getattr(importlib.import_module(module), attr)
        return fn


services = _Services()


def check_same_data(fits, what: str = "likelihood-ratio tests") -> None:
    """Raise :class:`HierlmError` unless every fit used the same number of rows and the same response."""
    n = {f.nobs() for f in fits}
    if len(n) > 1:
        raise HierlmError(
            f"models were fitted to different numbers of observations ({sorted(n)}); "
            f"{what} need the same rows (check for missing values in the extra predictors)"
        )
    ys = [np.asarray(f.design.y, float) for f in fits]
    if any(y.shape != ys[0].shape or not np.allclose(y, ys[0]) for y in ys[1:]):
        raise HierlmError(f"models were fitted to different responses; {what} need the same response")
