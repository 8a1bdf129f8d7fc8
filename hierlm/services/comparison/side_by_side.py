"""``hl.side_by_side``: a frequentist fit and a Bayesian fit of the same model, parameter by parameter.

(The module is not called ``side_by_side``: a submodule named like the function would replace
``hl.side_by_side`` once imported.)

Rows are labelled as lme4 labels its parameters in ``confint(..., oldNames = FALSE)``: the fixed
effects by term, then per random-effects term ``sd_<term>|<group>`` and
``cor_<term2>.<term1>|<group>`` (θ's order), then ``sigma`` (Gaussian) or ``shape`` (negative
binomial).  Frequentist estimates are lme4's (REML/ML; Laplace for GLMMs) with Wald standard
errors for the fixed effects; Bayesian columns are posterior means, SDs and 95% equal-tailed
intervals of the same quantities computed draw by draw.
"""

from __future__ import annotations

import html
from typing import ClassVar

import numpy as np
import pandas as pd

from ...design.covariance import tril_colmajor
from ...errors import HierlmError
from ...fits.protocol import is_fit
from ..emmeans import contrast as _contrast
from ..emmeans import emmeans as _emmeans

__all__ = ["SideBySide", "side_by_side"]

_SAME_FAMILY = {"bernoulli": "binomial"}


class SideBySide(pd.DataFrame):
    """The table of :func:`side_by_side`; prints a caption saying what each column is."""

    _metadata: ClassVar[list[str]] = ["caption"]

    @property
    def _constructor(self):
        return SideBySide

    def __repr__(self) -> str:
        cap = getattr(self, "caption", None)
        return pd.DataFrame(self).round(4).to_string() + (f"\n\n{cap}" if cap else "")

    def _repr_html_(self) -> str:
        cap = getattr(self, "caption", None)
        body = pd.DataFrame(self).round(4)._repr_html_()
        return body + (f"<p>{html.escape(cap)}</p>" if cap else "")


def _family(fit) -> str:
    return _SAME_FAMILY.get(fit.family.name, fit.family.name)


def _check_same_model(freq, bayes) -> None:
    df, db = freq.design, bayes.design
    problems = []
    if _family(freq) != _family(bayes):
        problems.append(f"families differ ('{_family(freq)}' vs '{_family(bayes)}')")
    if list(df.xnames) != list(db.xnames):
        problems.append(f"fixed effects differ ({list(df.xnames)} vs {list(db.xnames)})")
    rf = [(t.group, list(t.columns)) for t in df.reterms]
    rb = [(t.group, list(t.columns)) for t in db.reterms]
    if rf != rb:
        problems.append(f"random-effects terms differ ({rf} vs {rb})")
    if df.n != db.n:
        problems.append(f"numbers of observations differ ({df.n} vs {db.n})")
    elif np.shape(df.y) != np.shape(db.y) or not np.allclose(np.asarray(df.y, float), np.asarray(db.y, float)):
        problems.append("response values differ")
    elif not np.allclose(df.X, db.X):
        problems.append("predictor values differ")
    if problems:
        raise HierlmError(f"side_by_side() needs the same model fitted to the same data, but {'; '.join(problems)} "
                          f"(formulas {freq.formula!r} and {bayes.formula!r}). Fit both with the same formula and "
                          "data frame")


def _var_labels(design) -> list[tuple[int, int, int, str]]:
    """(block, row, column, label) of every sd / correlation, in θ's order."""
    out = []
    for i, t in enumerate(design.reterms):
        for r, c in zip(*tril_colmajor(t.ncols)):
            label = f"sd_{t.columns[r]}|{t.group}" if r == c else f"cor_{t.columns[r]}.{t.columns[c]}|{t.group}"
            out.append((i, int(r), int(c), label))
    return out


def _sdcor(S: np.ndarray, r: int, c: int) -> np.ndarray:
    sd_r = np.sqrt(np.maximum(S[..., r, r], 0))
    if r == c:
        return sd_r
    sd_c = np.sqrt(np.maximum(S[..., c, c], 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return S[..., r, c] / (sd_r * sd_c)


def _freq_intervals(freq, intervals, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(len(labels), np.nan)
    hi = np.full(len(labels), np.nan)
    p = freq.design.p
    if intervals == "wald":
        se = np.sqrt(np.diag(freq.vcov_beta))
        lo[:p], hi[:p] = freq.beta - 1.959964 * se, freq.beta + 1.959964 * se
        return lo, hi
    if not is_fit(freq, "frequentist", "lmm"):
        raise HierlmError("intervals='profile' needs an hl.lmer fit (lme4's profile confint is for linear mixed "
                          "models); use intervals='wald' for GLMMs")
    ci = freq.confint(method="profile")
    names = ci.attrs.get("labels", {})
    by_label = {names.get(k, k): tuple(ci.loc[k].to_numpy(float)) for k in ci.index}
    for j, lab in enumerate(labels):
        if lab in by_label:
            lo[j], hi[j] = by_label[lab]
    return lo, hi


def _means_side_by_side(freq, bayes, means, contrast, adjust, type, by, at) -> SideBySide:
    """Marginal means (or their contrasts) of both fits, row by row (see :func:`side_by_side`)."""
    fe = _emmeans(freq, means, by=by, at=at, type=type)
    be = _emmeans(bayes, means, by=by, at=at, type=type)
    what = "marginal means"
    if contrast is not None:
        fe, be = _contrast(fe, contrast, adjust=adjust, conf_int=True), _contrast(be, contrast)
        what = "contrasts"
    labels = [c for c in fe.columns if c in be.columns and c in (list(fe.info.pri_vars) + list(fe.info.by_vars))]
    est = next(c for c in fe.columns if c not in labels)
    lo = next(c for c in fe.columns if c in ("lower.CL", "asymp.LCL"))
    hi = next(c for c in fe.columns if c in ("upper.CL", "asymp.UCL"))
    cols = {"freq_estimate": fe[est].to_numpy(float), "freq_se": fe["SE"].to_numpy(float),
            "freq_df": fe["df"].to_numpy(float), "freq_lower": fe[lo].to_numpy(float),
            "freq_upper": fe[hi].to_numpy(float)}
    if "p.value" in fe.columns:
        cols["freq_p"] = fe["p.value"].to_numpy(float)
    bcols = [c for c in be.columns if c not in labels]
    cols.update({"bayes_median": be[bcols[0]].to_numpy(float), "bayes_lower": be["lower.HPD"].to_numpy(float),
                 "bayes_upper": be["upper.HPD"].to_numpy(float)})
    for c in bcols[3:]:
        cols[f"bayes_{c}"] = be[c].to_numpy(float)
    index = pd.MultiIndex.from_frame(fe[labels].astype(str)) if len(labels) > 1 else \
        pd.Index(fe[labels[0]].astype(str).tolist(), name=labels[0])
    out = SideBySide(pd.DataFrame(cols, index=index))
    foot = [n for n in fe.notes if n.startswith(("Results are", "Degrees", "P value", "Conf-level", "Intervals"))]
    cap = (f"{what} ({est}): freq = emmeans on the {fit_kind(freq)} fit ({'; '.join(foot) or 'Wald'}); "
           f"bayes = posterior median and 95% HPD interval of the same linear functions"
           + (", with the posterior probability of each sign" if contrast is not None else "") + ".")
    object.__setattr__(out, "caption", cap)
    return out


def fit_kind(fit) -> str:
    return "lmer" if fit.kind.model == "lmm" else "glmer"


def side_by_side(freq_fit, bayes_fit, intervals: str | None = None, *, means=None, contrast=None,
                 adjust: str | None = None, type: str = "link", by=None, at: dict | None = None) -> SideBySide:
    """Frequentist estimates beside posterior summaries, one row per parameter.

    Parameters
    ----------
    freq_fit : LmerFit or GlmerFit
    bayes_fit : BayesFit
        The same formula, family and data fitted by :func:`hierlm.blmer` (the two may be passed in
        either order).
    intervals : {None, "wald", "profile"}
        Add ``freq_lower`` / ``freq_upper``: Wald 95% intervals of the fixed effects (NaN for the
        variance parameters, as lme4), or lme4's profile intervals of every parameter
        (``fit.confint(method="profile")``, hl.lmer fits only).
    means : str or list of str, optional
        Instead of the parameters, the estimated marginal means of these variables
        (:func:`hierlm.services.emmeans.emmeans` specs, e.g. ``"Type"`` or ``"~ A | B"``): one row per
        mean with ``freq_estimate``, ``freq_se``, ``freq_df``, ``freq_lower``, ``freq_upper`` (emmeans'
        defaults: Kenward–Roger for lmer) beside ``bayes_median``, ``bayes_lower``, ``bayes_upper``
        (95% HPD).
    contrast : str or dict, optional
        With ``means``: their contrasts (``"pairwise"``, ``"trt.vs.ctrl"``, ...; see
        :func:`hierlm.services.emmeans.contrast`), adding ``freq_p`` (adjusted by ``adjust``, default
        the method's) and the posterior probabilities ``bayes_P(>0)``, ``bayes_P(<0)``.
    adjust, type, by, at
        Passed to :func:`~hierlm.services.emmeans.contrast` / :func:`~hierlm.services.emmeans.emmeans`.

    Returns
    -------
    SideBySide
        A DataFrame indexed by ``parameter`` (fixed-effect terms, ``sd_(Intercept)|Subject``,
        ``cor_Days.(Intercept)|Subject``, ``sigma``) with columns ``freq_estimate``, ``freq_se``
        (Wald SE for fixed effects, NaN otherwise), [``freq_lower``, ``freq_upper``],
        ``bayes_mean``, ``bayes_sd``, ``bayes_q2.5``, ``bayes_q97.5``.

    Raises
    ------
    HierlmError
        When the two fits are not the same model of the same data.

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...              progressbar=False)
    >>> tab = hl.side_by_side(m, b)
    >>> tab.index.tolist()
    ['(Intercept)', 'Days', 'sd_(Intercept)|Subject', 'cor_Days.(Intercept)|Subject', 'sd_Days|Subject', 'sigma']
    >>> tab["freq_estimate"].round(2).tolist()
    [251.41, 10.47, 24.74, 0.07, 5.92, 25.59]
    >>> tab.round(2)  # the sampled digits differ a little between machines  # doctest: +SKIP
                                  freq_estimate  freq_se  bayes_mean  bayes_sd  bayes_q2.5  bayes_q97.5
    parameter
    (Intercept)                          251.41     6.82      251.40      7.38      237.07       265.89
    Days                                  10.47     1.55       10.47      1.71        7.10        13.87
    ...
    """
    if is_fit(freq_fit, "bayesian") and is_fit(bayes_fit, "frequentist"):
        freq_fit, bayes_fit = bayes_fit, freq_fit
    if not (is_fit(freq_fit, "frequentist", ("lmm", "glmm")) and is_fit(bayes_fit, "bayesian")):
        raise HierlmError(f"side_by_side() takes an hl.lmer / hl.glmer fit and an hl.blmer fit of the same model, got "
                          f"{freq_fit.__class__.__name__} and {bayes_fit.__class__.__name__}")
    if intervals not in (None, "wald", "profile"):
        raise HierlmError(f"intervals must be None, 'wald' or 'profile', not {intervals!r}")
    _check_same_model(freq_fit, bayes_fit)
    if means is not None:
        return _means_side_by_side(freq_fit, bayes_fit, means, contrast, adjust, type, by, at)
    if contrast is not None:
        raise HierlmError("contrast= compares marginal means: give means= too, e.g. means='Type', "
                          "contrast='pairwise'")
    design = freq_fit.design
    post = bayes_fit.posterior
    C, D = post.sizes["chain"], post.sizes["draw"]
    labels = list(design.xnames)
    est = list(np.asarray(freq_fit.beta, float))
    se = list(np.sqrt(np.diag(freq_fit.vcov_beta)))
    draws = [post["beta"].values[..., j].reshape(-1) for j in range(design.p)] if design.p else []
    fcov, bcov = freq_fit.covariances(), bayes_fit.covariance_draws()
    for i, r, c, lab in _var_labels(design):
        labels.append(lab)
        est.append(float(_sdcor(fcov[i], r, c)))
        se.append(np.nan)
        draws.append(_sdcor(bcov[i], r, c).reshape(-1))
    fam = _family(freq_fit)
    if fam == "gaussian":
        labels.append("sigma")
        est.append(float(freq_fit.sigma_))
        draws.append(post["sigma"].values.reshape(-1))
        se.append(np.nan)
    elif fam == "negbinomial" and "shape" in post:
        labels.append("shape")
        est.append(float(freq_fit.nb_theta or np.nan))
        draws.append(post["shape"].values.reshape(-1))
        se.append(np.nan)
    M = np.column_stack(draws)
    q = np.quantile(M, [0.025, 0.975], axis=0)
    cols = {"freq_estimate": est, "freq_se": se}
    if intervals is not None:
        cols["freq_lower"], cols["freq_upper"] = _freq_intervals(freq_fit, intervals, labels)
    cols.update({"bayes_mean": M.mean(0), "bayes_sd": M.std(0, ddof=1), "bayes_q2.5": q[0], "bayes_q97.5": q[1]})
    out = SideBySide(pd.DataFrame(cols, index=pd.Index(labels, name="parameter")))
    how = ("REML" if freq_fit.reml else "ML") if freq_fit.kind.model == "lmm" else "ML (Laplace)"
    cap = (f"freq: {how} estimates (lme4's algorithm), Wald SEs for the fixed effects"
           + {None: "", "wald": ", Wald 95% intervals", "profile": ", profile 95% intervals"}[intervals]
           + f"; bayes: posterior mean, sd and 95% interval of {C * D} draws ({C} chains).")
    object.__setattr__(out, "caption", cap)
    return out
