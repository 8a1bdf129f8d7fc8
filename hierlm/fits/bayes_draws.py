"""Summaries of a :class:`~hierlm.fits.BayesFit`'s draws: the diagnostic table of its main parameters,
the parameters piled at a boundary, and the plain-language warnings raised after sampling.

Functions of the fit (its public draw accessors), which its methods and the reports delegate to.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..engines.bayes import diagnostics as dg
from ..errors import SamplingWarning
from . import extract

__all__ = ["check_fit", "diagnostic_table", "main_draws", "ranef_table", "singular_terms", "varcorr_table"]


def main_draws(fit) -> tuple[np.ndarray, list[str]]:
    """Draws of the summary parameters (fixed effects, SDs, correlations, σ / shape) and their labels."""
    cols, labels = [fit.beta_draws()], [f"b_{n}" for n in fit.design.xnames]
    for k, b in enumerate(fit.spec.blocks):
        sd, cor = fit.sdcor_draws(k)
        cols.append(sd)
        labels += [f"sd({b.label}: {t})" for t in b.terms]
        if cor is not None:
            i, j = np.triu_indices(b.q, 1)
            cols.append(cor[..., i, j])
            labels += [f"cor({b.label}: {b.terms[a]},{b.terms[c]})" for a, c in zip(i, j)]
    post = fit.idata["posterior"]
    if fit.spec.ncut:  # thresholds of a cumulative model (uncentred predictors, as ordinal::clmm)
        cols.append(post["thresholds"].values)
        labels += [f"Intercept[{t}]" for t in fit.spec.threshold_names]
    for nm in fit.spec.aux_names:  # σ, ν, shape, φ
        cols.append(post[nm].values[..., None])
        labels.append(nm)
    return np.concatenate(cols, axis=-1), labels


def diagnostic_table(fit) -> pd.DataFrame:
    """Posterior summaries with R-hat and ESS of the main parameters, one row per label of :func:`main_draws`."""
    draws, labels = main_draws(fit)
    return pd.DataFrame(dg.summarise(draws), index=labels)


def singular_terms(fit) -> list[str]:
    """SDs whose posterior piles up at 0 and correlations piling up at ±1, in plain words."""
    out = []
    for k, b in enumerate(fit.spec.blocks):
        sd, cor = fit.sdcor_draws(k)
        for j, term in enumerate(b.terms):
            if dg.piled_up(sd=sd[..., j].ravel())[0]:
                out.append(f"sd({term}) of '{b.label}' at 0")
        if cor is not None:
            i, j = np.triu_indices(b.q, 1)
            for a, c in zip(i, j):
                if dg.piled_up(cor=cor[..., a, c].ravel())[1]:
                    out.append(f"cor({b.terms[a]},{b.terms[c]}) of '{b.label}' at ±1")
    return out


def check_fit(fit, stacklevel: int = 3) -> list[str]:
    """Warn (:class:`~hierlm.errors.SamplingWarning`) in plain words about sampling problems; return the messages."""
    tree = fit.idata
    st = tree["sample_stats"]
    C, D = st.sizes["chain"], st.sizes["draw"]
    msgs = []
    ndiv = int(st["diverging"].values.sum()) if "diverging" in st else 0
    if ndiv:
        msgs.append(
            f"{ndiv} of {C * D} draws ended in a divergent transition: the sampler met curvature it could not "
            "follow, so the draws may miss part of the posterior (often a funnel: a random-effect SD near 0 with "
            "few levels to estimate it from). Try target_accept=0.95 (smaller steps), more tuning (tune=2000), "
            "more informative sd priors, or a simpler random-effects structure (fewer slopes, || instead of |)."
            + _singular_hint(fit))
    if "reached_max_treedepth" in st:
        nmax = int(st["reached_max_treedepth"].values.sum())
        if nmax > 0.01 * C * D:
            msgs.append(f"{nmax} draws hit the maximum tree depth: the sampler needed very long trajectories, "
                        "which is slow and a sign of strongly correlated or badly scaled parameters. Try rescaling "
                        "predictors, a simpler random-effects structure, or maxdepth=12.")
    main = diagnostic_table(fit)
    if D < dg.MIN_DRAWS:
        msgs.append(f"with {D} draw(s) per chain, R-hat and the effective sample size cannot be computed (they need "
                    f"{dg.MIN_DRAWS} or more); the posterior summaries are not checked. Run more draws (draws=1000)")
    elif len(main):
        bad = main[main["R-hat"] > 1.01]
        if len(bad):
            worst = bad["R-hat"].idxmax()
            msgs.append(f"R-hat is above 1.01 for {len(bad)} parameter(s) (worst: {worst}, {bad['R-hat'].max():.3f}): "
                        "the chains disagree, so the posterior summaries are not reliable yet. Run longer "
                        "(draws=2000, tune=2000) and check the model for weakly identified parameters.")
        low = main[(main["ESS bulk"] < 100 * C) | (main["ESS tail"] < 100 * C)]
        if len(low):
            ess = low[["ESS bulk", "ESS tail"]].min(axis=1)
            msgs.append(f"the effective sample size is below {100 * C} ({100} per chain) for {len(low)} parameter(s) "
                        f"(lowest bulk or tail ESS: {ess.idxmin()}, {ess.min():.0f}): means and especially 95% "
                        "intervals are imprecise. Run more draws or simplify the random-effects structure.")
    sing = singular_terms(fit)
    if sing:
        msgs.append("the posterior piles up at the boundary for " + "; ".join(sing)
                    + ". The data hardly inform these variance parameters (lme4 would call the fit singular); "
                    "consider dropping the term or the correlation ((x || g)), or an informative prior.")
    for m in msgs:
        warnings.warn(m, SamplingWarning, stacklevel=stacklevel)
    return msgs


def _singular_hint(fit) -> str:
    sing = singular_terms(fit)
    small = [f"'{g}' has {n} levels" for g, n in fit.ngrps().items() if n < 5]
    bits = []
    if small:
        bits.append("; ".join(small) + ", too few to estimate its SDs and correlations well")
    if sing:
        bits.append("piled-up posteriors: " + "; ".join(sing))
    return (" Here: " + " and ".join(bits) + ".") if bits else ""


def varcorr_table(fit) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(m))`` over the posterior: means plus ``Est.Error``, ``Q2.5``, ``Q97.5``."""
    covs = [c.reshape((-1,) + c.shape[2:]) for c in fit.covariance_draws()]
    sig = fit.dispersion_draws().reshape(-1) if fit.spec.disp_name == "sigma" else None
    S = covs[0].shape[0]
    per_draw = [extract.varcorr_rows(fit.design, [c[s] for c in covs], None if sig is None else sig[s])
                for s in range(S)]
    vcov = np.array([[r["vcov"] for r in rows] for rows in per_draw])
    sdcor = np.array([[r["sdcor"] for r in rows] for rows in per_draw])
    frame = extract.varcorr_frame(fit.design, [c.mean(0) for c in covs], None if sig is None else sig.mean())
    frame["vcov"] = vcov.mean(0)
    frame["sdcor"] = sdcor.mean(0)
    frame["Est.Error"] = sdcor.std(0, ddof=1)
    q = np.quantile(sdcor, [0.025, 0.975], axis=0)
    frame["Q2.5"], frame["Q97.5"] = q[0], q[1]
    return frame


def ranef_table(fit, intervals: bool = False):
    """:meth:`BayesFit.ranef`: posterior means per grouping factor, or the long table with SDs and 95% intervals.

    Without the draws (``store_ranef=False``) the interval is the normal one, mean ± 1.96 SD.
    """
    if not intervals:
        means = ([x.mean(axis=(0, 1)) for x in fit.ranef_draws()] if fit.has_ranef_draws
                 else [m for m, _ in fit.ranef_summary()])
        return extract.ranef_frames(fit.design, means)
    if fit.has_ranef_draws:
        flat = [x.reshape((-1,) + x.shape[2:]) for x in fit.ranef_draws()]
        qs = [np.quantile(f, [0.025, 0.975], axis=0) for f in flat]
        est, err = [f.mean(0) for f in flat], [f.std(0, ddof=1) for f in flat]
        lo, hi = [q[0] for q in qs], [q[1] for q in qs]
    else:
        summ = fit.ranef_summary()
        est, err = [m for m, _ in summ], [s for _, s in summ]
        lo, hi = [m - 1.959963984540054 * s for m, s in summ], [m + 1.959963984540054 * s for m, s in summ]
    return extract.ranef_long(fit.design, {"Estimate": est, "Est.Error": err, "Q2.5": lo, "Q97.5": hi})
