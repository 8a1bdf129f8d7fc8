"""Summaries of frequentist fits laid out like lme4's ``summary()`` (text and HTML)."""

from __future__ import annotations

import pandas as pd

from .summary import SIGNIF, Summary, fixed_correlation, format_pval, random_effects_table, scaled_residuals, stars

__all__ = ["lmer_summary", "glmer_summary"]


def groups_line(fit) -> str:
    ng = fit.ngrps()
    # lme4 lists the factors in the order of the blocks
    return f"Number of obs: {fit.nobs()}, groups:  " + "; ".join(f"{g}, {k}" for g, k in ng.items())


def _fixef_frame(fit) -> pd.DataFrame:
    fe = fit.fixef()
    return fe.map(lambda v: float(f"{v:.5g}"))


def lmer_summary(fit) -> Summary:
    """Summary of an :class:`~hierlm.fits.LmerFit`, as lme4 prints it."""
    method = "REML" if fit.reml else "maximum likelihood"
    s = Summary(f"Linear mixed model fit by {method} ['LmerFit']\nFormula: {fit.formula}")
    if fit.reml:
        s.add("", f"REML criterion at convergence: {fit.objective:.1f}")
    else:
        stats = pd.DataFrame(
            [[fit.aic(), fit.bic(), fit.loglik(), fit.objective, fit.nobs() - fit.npar()]],
            columns=["AIC", "BIC", "logLik", "deviance", "df.resid"],
            index=[""],
        ).round(1)
        s.add("", stats.to_string())
    s.add("Scaled residuals:", scaled_residuals(fit.residuals(), fit.sigma()))
    s.add("Random effects:", random_effects_table(fit.varcorr()))
    s.add("", groups_line(fit))
    s.add("Fixed effects:", _fixef_frame(fit))
    corr = fixed_correlation(fit.vcov_beta, fit.design.xnames)
    if corr:
        s.add("Correlation of Fixed Effects:", corr)
    if fit.design.dropped:
        s.add("", f"fixed-effect model matrix is rank deficient so dropping {len(fit.design.dropped)} "
                  f"column(s): {', '.join(fit.design.dropped)}")
    if fit.is_singular():
        s.add("", "boundary (singular) fit: see help('isSingular')")
    return s


def _glmer_fixef_frame(fit) -> pd.DataFrame:
    fe = fit.fixef()
    out = pd.DataFrame(index=fe.index)
    out["Estimate"] = fe["Estimate"].map(lambda v: float(f"{v:.5g}"))
    out["Std. Error"] = fe["Std. Error"].map(lambda v: float(f"{v:.4g}"))
    out["z value"] = fe["z value"].map(lambda v: float(f"{v:.4g}"))
    out["Pr(>|z|)"] = fe["Pr(>|z|)"].map(format_pval)
    out[""] = fe["Pr(>|z|)"].map(stars)
    return out


def glmer_summary(fit) -> Summary:
    """Summary of a :class:`~hierlm.fits.GlmerFit`, as lme4 prints ``summary(glmer(...))``."""
    how = ("Laplace Approximation" if fit.nAGQ == 1 else
           f"Adaptive Gauss-Hermite Quadrature, nAGQ = {fit.nAGQ}" if fit.nAGQ > 1 else "nAGQ = 0")
    fam = fit.family
    s = Summary(f"Generalized linear mixed model fit by maximum likelihood ({how}) ['GlmerFit']\n"
                f" Family: {fam.r_name}  ( {fam.link.name} )\nFormula: {fit.formula}")
    stats = pd.DataFrame(
        [[fit.aic(), fit.bic(), fit.loglik(), -2 * fit.loglik(), fit.nobs() - fit.npar()]],
        columns=["AIC", "BIC", "logLik", "deviance", "df.resid"], index=[""],
    ).round(1)
    stats["df.resid"] = stats["df.resid"].astype(int)
    s.add("", stats.to_string())
    s.add("Scaled residuals:", scaled_residuals(fit.residuals("pearson"), 1.0))
    s.add("Random effects:", random_effects_table(fit.varcorr()))
    s.add("", groups_line(fit))
    s.add("Fixed effects:", _glmer_fixef_frame(fit))
    s.add("---", SIGNIF)
    corr = fixed_correlation(fit.vcov_beta, fit.design.xnames)
    if corr:
        s.add("Correlation of Fixed Effects:", corr)
    if fit.design.dropped:
        s.add("", f"fixed-effect model matrix is rank deficient so dropping {len(fit.design.dropped)} "
                  f"column(s): {', '.join(fit.design.dropped)}")
    if fit.is_singular():
        s.add("", "boundary (singular) fit: see help('isSingular')")
    if fit.optinfo.get("vcov_warning"):
        s.add("", fit.optinfo["vcov_warning"])
    return s
