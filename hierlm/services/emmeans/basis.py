"""What the estimated-marginal-means machinery needs from a fit: emmeans' ``emm_basis``.

The *basis* of a fit is the coefficient vector the grid's linear functions act on (β̂), its
covariance, how to get the degrees of freedom of one linear function, the posterior draws of a
Bayesian fit, and the transformation ``type="response"`` undoes (the GLMM's link, or a response
transformation such as ``log(y) ~ ...``).  As emmeans does for each kind of model:

==================  =================================================  ==========================
fit                 covariance and df                                   ``type="response"``
==================  =================================================  ==========================
``hl.lmer``         Kenward–Roger: pbkrtest's adjusted covariance and   response transformation
                    ``Lb_ddf`` df (default); Satterthwaite: vcov(β̂)    (``log(y)``, ``sqrt(y)``)
                    and lmerTest's df; asymptotic: vcov(β̂), df = ∞
``hl.glmer``        vcov(β̂), df = ∞ (z)                                the family's link
``hl.lm``           vcov(β̂), residual df                               response transformation
``hl.glm``          vcov(β̂); df = ∞ without a dispersion parameter,    the family's link
                    else residual df
``hl.blmer``        posterior draws of β                                the family's link
==================  =================================================  ==========================
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...errors import HierlmError, HierlmWarning, suggest
from ...fits.lmm_tests import ddf_method
from ...fits.protocol import is_fit
from ...formula import Call

__all__ = ["DDF_METHODS", "Basis", "Tran", "model_basis", "response_tran"]

DDF_METHODS = {"kenward-roger": "kenward-roger", "kenward_roger": "kenward-roger", "kr": "kenward-roger",
               "satterthwaite": "satterthwaite", "satt": "satterthwaite", "asymptotic": "asymptotic",
               "asymp": "asymptotic", "z": "asymptotic"}


@dataclass(frozen=True)
class Tran:
    """A link or response transformation: its name (as emmeans prints it), inverse and dμ/dη."""

    name: str
    linkinv: Callable[[np.ndarray], np.ndarray]
    mu_eta: Callable[[np.ndarray], np.ndarray]


def _fn(f):
    return lambda x: f(np.asarray(x, dtype=float))


#: response transformations emmeans recognises on the left-hand side (``log(conc) ~ ...``)
RESPONSE_TRANS = {
    "log": Tran("log", _fn(np.exp), _fn(np.exp)),
    "log2": Tran("log2", _fn(lambda x: 2.0**x), _fn(lambda x: 2.0**x * np.log(2.0))),
    "log10": Tran("log10", _fn(lambda x: 10.0**x), _fn(lambda x: 10.0**x * np.log(10.0))),
    "log1p": Tran("log1p", _fn(np.expm1), _fn(np.exp)),
    "sqrt": Tran("sqrt", _fn(lambda x: x**2), _fn(lambda x: 2 * x)),
}
#: transformations whose contrasts emmeans back-transforms to ratios (logit: odds ratios)
RATIO_TRANS = {"log", "log2", "log10", "logit"}
ODDS_RATIO = Tran("log odds ratio", _fn(np.exp), _fn(np.exp))


@dataclass
class Basis:
    """The coefficients a grid's linear functions act on, with their uncertainty.

    Attributes
    ----------
    fit : Fit
    bhat : ndarray (k,)
        β̂ (frequentist) or the posterior mean of β (Bayesian); after ``regrid`` the response-scale
        estimates of the grid's rows.
    V : ndarray (k, k) or None
        Covariance of ``bhat`` (Kenward–Roger adjusted for ``ddf="kenward-roger"``); None for
        Bayesian fits.
    draws : ndarray (S, k) or None
        Posterior draws (chains stacked) of ``bhat``; None for frequentist fits.
    dffun : callable
        Degrees of freedom of one linear function ``l`` (a vector of length k).
    df_method : str or None
        Printed in the footer ("kenward-roger", "satterthwaite", "asymptotic", "inherited from ...").
    tran : Tran or None
        What ``type="response"`` back-transforms (None: the model is on the response scale).
    inv_lbl : str
        emmeans' name of the back-transformed estimate: ``prob`` (binomial), ``rate`` (Poisson),
        ``response``.
    nonest : ndarray (k_full, m) or None
        Basis of the non-estimable functions (rank-deficient fits), in all-columns coordinates.
    notes : list of str
    """

    fit: object
    bhat: np.ndarray
    V: np.ndarray | None
    draws: np.ndarray | None
    dffun: Callable[[np.ndarray], float]
    df_method: str | None
    tran: Tran | None
    inv_lbl: str = "response"
    notes: list[str] = field(default_factory=list)

    @property
    def bayesian(self) -> bool:
        return self.draws is not None

    def df(self, L: np.ndarray) -> np.ndarray:
        """Degrees of freedom of each row of ``L`` (NaN for a row of NaNs)."""
        out = np.full(L.shape[0], np.inf)
        for i, row in enumerate(L):
            if not np.all(np.isfinite(row)) or not np.any(row != 0):
                out[i] = np.nan
            else:
                out[i] = self.dffun(row)
        return out


def response_tran(fit) -> Tran | None:
    """The transformation of the response written in the formula (``log(y) ~ ...``), or None."""
    node = fit.design.formula.response
    if isinstance(node, Call) and len(node.args) == 1 and not node.kwargs and node.func in RESPONSE_TRANS:
        return RESPONSE_TRANS[node.func]
    return None


def _link_tran(fit) -> tuple[Tran | None, str]:
    link = fit.family.link
    name = fit.family.name
    if link.name == "identity":
        return response_tran(fit), "response"
    lbl = "prob" if "binomial" in name or name == "bernoulli" else "rate" if "poisson" in name else "response"
    return Tran(link.name, link.linkinv, link.mu_eta), lbl


def _ddf_name(ddf) -> str | None:
    if ddf is None:
        return None
    key = str(ddf).lower().replace(" ", "-")
    if key not in DDF_METHODS:
        choices = ["kenward-roger", "satterthwaite", "asymptotic"]
        raise HierlmError(f"ddf must be one of {', '.join(repr(c) for c in choices)}, not {ddf!r}."
                          f"{suggest(str(ddf).lower(), choices)}")
    return DDF_METHODS[key]


def _lmm_basis(fit, ddf: str | None) -> Basis:
    mode = ddf or "kenward-roger"
    notes: list[str] = []
    tran = response_tran(fit)
    beta = np.asarray(fit.beta, float)
    V0 = np.asarray(fit.vcov_beta, float)
    if mode == "kenward-roger" and not fit.reml:
        if ddf is not None:
            raise HierlmError("Kenward-Roger degrees of freedom need a REML fit (hl.lmer(..., reml=True)); "
                              "use ddf='satterthwaite' or ddf='asymptotic' for this ML fit")
        notes.append("Note: Kenward-Roger df need a REML fit; Satterthwaite df are used for this ML fit")
        mode = "satterthwaite"
    if mode == "asymptotic":
        return Basis(fit, beta, V0, None, lambda l: np.inf, "asymptotic", tran, notes=notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HierlmWarning)
        method = ddf_method(fit, "Kenward-Roger" if mode == "kenward-roger" else "Satterthwaite")
    if mode == "kenward-roger":
        return Basis(fit, beta, np.asarray(method.vcov_adj, float), None, lambda l: method.ddf(l[None, :])[0],
                     "kenward-roger", tran, notes=notes)
    return Basis(fit, beta, V0, None, lambda l: method.variance_df(l)[1], "satterthwaite", tran, notes=notes)


def model_basis(fit, ddf: str | None = None) -> Basis:
    """The :class:`Basis` of ``fit`` (see the module docstring for what each kind of fit gives).

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit, GlmFit or BayesFit
    ddf : {None, "kenward-roger", "satterthwaite", "asymptotic"}
        Degrees-of-freedom method of an lmer fit (None: Kenward–Roger, emmeans' default).

    Returns
    -------
    Basis

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> b = model_basis(m)
    >>> b.df_method, round(b.dffun(np.array([1.0, 4.5])), 4)
    ('kenward-roger', 17.0)
    """
    mode = _ddf_name(ddf)
    if not is_fit(fit):
        raise HierlmError(f"emmeans needs a fitted model (hl.lmer, hl.glmer, hl.lm, hl.glm or hl.blmer), "
                          f"not {type(fit).__name__}")
    if fit.design.data is None:
        raise HierlmError("this fit does not keep its data (keep_data=False); emmeans needs the data to build "
                          "the reference grid: refit with the data kept")
    if is_fit(fit, "bayesian"):
        if mode is not None:
            raise HierlmError(f"ddf={ddf!r} is for frequentist fits; a Bayesian fit's intervals come from its "
                              "posterior draws (drop ddf)")
        B = np.asarray(fit.beta_draws(), float)
        draws = B.reshape(-1, B.shape[-1])
        tran, lbl = _link_tran(fit)
        return Basis(fit, draws.mean(axis=0), None, draws, lambda l: np.nan, None, tran, lbl)
    model = fit.kind.model
    if model == "lmm":
        return _lmm_basis(fit, mode)
    if mode not in (None, "asymptotic"):
        raise HierlmError(f"ddf={ddf!r} is for linear mixed models (hl.lmer); for this {model} fit use "
                          "ddf=None (its usual df) or ddf='asymptotic'")
    beta = np.asarray(fit.beta, float)
    V = np.asarray(fit.vcov_beta, float)
    tran, lbl = _link_tran(fit)
    if model == "glmm":
        return Basis(fit, beta, V, None, lambda l: np.inf, None, tran, lbl)
    if model in ("lm", "glm"):
        df = np.inf if mode == "asymptotic" or not fit.family.has_dispersion else float(fit.df_residual)
        return Basis(fit, beta, V, None, lambda l: df, "asymptotic" if mode else None, tran, lbl)
    raise HierlmError(f"emmeans does not support a {model} fit")  # pragma: no cover
