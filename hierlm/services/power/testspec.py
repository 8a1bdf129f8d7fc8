"""What :func:`hierlm.power_sim` tests: the ``test=`` argument, read into a :class:`PowerTest`.

Three kinds of test, written as a string or a tuple:

=========================================  ====================================================================
``test=``                                   meaning
=========================================  ====================================================================
``"Days"``                                  a fixed-effect term (``"period"``, ``"treat:Time"``) or coefficient
                                            (``"period2"``) by the default method: Satterthwaite t (F for a term
                                            of several columns) for ``lmer`` fits, Wald z (χ²) for ``glmer`` fits
``("fixed", "Days", method)``               the same with a method: ``"satterthwaite"`` (``"t"``),
                                            ``"kenward-roger"`` (``"kr"``, REML fits), ``"lrt"`` (likelihood
                                            ratio of the models with and without the term, ML refits),
                                            ``"z"`` (Wald z / χ², for an LMM the t value against N(0, 1))
``"(Days | Subject)"``,                     a random-effect term: the likelihood-ratio test of the model without
``("random", "(Days | Subject)")``          that bar (REML for a REML fit, as lmerTest's ``ranova``; χ² with the
                                            difference in parameters as df, conservative on the boundary)
``"Reaction ~ Days + (1 | Subject)"``,      a comparison with a smaller model (a full formula, nested in the
``("compare", "y ~ ... ")``                 fit's): likelihood-ratio test of ML refits (lme4's ``anova``)
=========================================  ====================================================================

A name that is no term, coefficient or bar of the model is a :class:`~hierlm.HierlmError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...design.hypotheses import term_info
from ...errors import HierlmError, suggest
from ...formula import deparse, parse_formula

__all__ = ["PowerTest", "parse_test"]

_METHODS = {"satterthwaite": "satterthwaite", "sat": "satterthwaite", "t": "satterthwaite", "sa": "satterthwaite",
            "kenward-roger": "kr", "kenward_roger": "kr", "kr": "kr", "f": "kr",
            "lrt": "lrt", "lr": "lrt", "likelihood-ratio": "lrt", "z": "z", "wald": "z", "chisq": "z"}


@dataclass
class PowerTest:
    """A parsed ``test=``.

    Attributes
    ----------
    kind : {"fixed", "random", "compare"}
    label : str
        The term, coefficient, bar or null formula as the user named it.
    method : {"satterthwaite", "kr", "z", "lrt"}
    columns : list of int
        Fixed-effect columns tested (kind "fixed").
    null : str or None
        Formula of the null model (likelihood-ratio tests).
    reml : bool
        Likelihood-ratio test of REML fits (random-effect terms of a REML fit) rather than ML.
    """

    kind: str
    label: str
    method: str
    columns: list[int] = field(default_factory=list)
    null: str | None = None
    reml: bool = False

    def describe(self) -> str:
        """The test in words (as simr prints it)."""
        what = {"satterthwaite": "Satterthwaite t test" if len(self.columns) == 1 else "Satterthwaite F test",
                "kr": "Kenward-Roger F test", "z": "Wald z test" if len(self.columns) == 1 else "Wald chi-square test",
                "lrt": "likelihood-ratio test"}[self.method]
        if self.kind == "fixed":
            return f"{what} of the fixed effect '{self.label}'"
        if self.kind == "random":
            return f"{what} ({'REML' if self.reml else 'ML'}) of the random-effect term '{self.label}'"
        return f"{what} against the null model '{self.null}'"


def _method(name, glmm: bool, fit) -> str:
    m = _METHODS.get(str(name).strip().lower()) if isinstance(name, str) else None
    if m is None:
        raise HierlmError(f"unknown test method {name!r}; use 'satterthwaite', 'kr' (Kenward-Roger), 'z' (Wald) or "
                          f"'lrt' (likelihood ratio).{suggest(str(name), list(_METHODS))}")
    if glmm and m in ("satterthwaite", "kr"):
        raise HierlmError(f"method '{name}' needs a linear mixed model (hl.lmer); a glmer fit is tested by 'z' (Wald) "
                          "or 'lrt'")
    if m == "kr" and not fit.reml:
        raise HierlmError("the Kenward-Roger test needs a REML fit (hl.lmer(..., reml=True)); or use 'satterthwaite'")
    return m


def _fixed_columns(design, name: str) -> list[int] | None:
    info = term_info(design)
    assign = np.asarray(info.assign)
    if len(assign) != len(design.xnames):
        assign = assign[np.asarray(design.keep)]
    if name in info.labels:
        cols = np.flatnonzero(assign == info.labels.index(name) + 1).tolist()
        return cols or None
    if name in design.xnames:
        return [list(design.xnames).index(name)]
    return None


def _bars_text(design) -> list[str]:
    return [str(b) for b in design.formula.bars]


def _norm_bar(text: str) -> str:
    t = text.strip()
    if not (t.startswith("(") and t.endswith(")")):
        t = f"({t})"
    try:
        bars = parse_formula(f"y ~ 1 + {t}").bars
    except HierlmError:
        return t
    return str(bars[0]) if len(bars) == 1 else t


def _formula_text(design, bars: list[str]) -> str:
    mf = design.formula
    return mf.fixed_formula + "".join(f" + {b}" for b in bars)


def _without_term(design, label: str, cols: list[int]) -> str:
    """The fit's formula without one fixed term (kept as an explicit list of the other terms)."""
    terms = design.formula.fixed_terms()
    labels = terms.labels()
    if label not in labels:
        raise HierlmError(f"the likelihood-ratio test drops a whole term; '{label}' is one column of a term "
                          f"({labels}); test it with method 'z' or 'satterthwaite', or name the term")
    rest = [lab for lab in labels if lab != label]
    rhs = " + ".join(rest) if rest else "1"
    if not terms.intercept:
        rhs = "0 + " + rhs if rest else "0"
    resp = deparse(design.formula.response)
    off = "".join(f" + offset({deparse(o)})" for o in terms.offsets)
    return f"{resp} ~ {rhs}{off}" + "".join(f" + {b}" for b in _bars_text(design))


def parse_test(fit, test) -> PowerTest:
    """Read ``test=`` for ``fit`` (see the module docstring).

    Parameters
    ----------
    fit : LmerFit or GlmerFit
    test : str or tuple

    Returns
    -------
    PowerTest

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> parse_test(m, "Days").describe()
    "Satterthwaite t test of the fixed effect 'Days'"
    >>> parse_test(m, ("random", "Days | Subject")).null
    'Reaction ~ Days'
    >>> parse_test(m, "Dayz")
    Traceback (most recent call last):
    ...
    hierlm.errors.HierlmError: test='Dayz' names no fixed-effect term, coefficient or random-effect term of the model (terms: ['Days']; coefficients: ['(Intercept)', 'Days']; bars: ['(Days | Subject)']). Did you mean 'Days'?
    """
    glmm = fit.kind.model == "glmm"
    design = fit.design
    if isinstance(test, str):
        kind, arg, method = ("compare" if "~" in test else "random" if "|" in test else "fixed"), test, None
    elif isinstance(test, tuple) and 2 <= len(test) <= 3 and all(isinstance(x, str) for x in test):
        kind, arg, method = test[0].strip().lower(), test[1], (test[2] if len(test) == 3 else None)
        if kind not in ("fixed", "random", "compare"):
            raise HierlmError(f"test=({test[0]!r}, ...): the kind must be 'fixed', 'random' or 'compare'")
    else:
        raise HierlmError("test must be a term name ('Days'), a random-effect bar ('(Days | Subject)'), a null-model "
                          "formula ('Reaction ~ 1 + (Days | Subject)') or a tuple such as ('fixed', 'Days', 'kr'), "
                          f"not {test!r}")
    if kind == "fixed":
        cols = _fixed_columns(design, arg.strip())
        if cols is None:
            terms, bars = term_info(design).labels, _bars_text(design)
            raise HierlmError(f"test={arg!r} names no fixed-effect term, coefficient or random-effect term of the model "
                              f"(terms: {terms}; coefficients: {list(design.xnames)}; bars: {bars})."
                              f"{suggest(arg, terms + list(design.xnames))}")
        m = _method(method if method is not None else ("z" if glmm else "satterthwaite"), glmm, fit)
        null = _without_term(design, arg.strip(), cols) if m == "lrt" else None
        return PowerTest("fixed", arg.strip(), m, cols, null)
    if method is not None and _method(method, glmm, fit) != "lrt":
        raise HierlmError(f"a {kind} test is a likelihood-ratio test; method {method!r} is for fixed effects")
    if kind == "random":
        bars = _bars_text(design)
        want = _norm_bar(arg)
        if want not in bars:
            raise HierlmError(f"test={arg!r} names no random-effect term of the model; its bars are {bars}."
                              f"{suggest(want, bars)}")
        rest = [b for b in bars if b != want]
        if not rest and glmm:
            raise HierlmError("dropping the only random-effect term of a glmer fit leaves a GLM, which power_sim does "
                              "not refit; compare with a model that keeps another bar")
        return PowerTest("random", want, "lrt", [], _formula_text(design, rest), reml=bool(getattr(fit, "reml", False)))
    try:
        mf = parse_formula(arg)
    except HierlmError as err:
        raise HierlmError(f"test={arg!r} is not a formula the null model can be fitted with: {err}") from None
    if mf.response is None or deparse(mf.response) != deparse(design.formula.response):
        raise HierlmError(f"the null model {arg!r} must have the fit's response "
                          f"'{deparse(design.formula.response)}' on its left-hand side")
    if glmm and not mf.bars:
        raise HierlmError("the null model of a glmer fit needs a random-effect term (a GLM is not refitted)")
    return PowerTest("compare", arg.strip(), "lrt", [], arg.strip())
