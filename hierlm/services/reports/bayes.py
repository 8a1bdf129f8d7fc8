"""brms-style summary of a :class:`~hierlm.fits.BayesFit` (text and HTML from one content)."""

from __future__ import annotations

import pandas as pd

from ...engines.bayes.route import describe
from ...fits.bayes_draws import diagnostic_table
from .summary import Summary

__all__ = ["bayes_summary"]

_COLS = ["Estimate", "Est.Error", "l-95% CI", "u-95% CI", "Rhat", "Bulk_ESS", "Tail_ESS"]
_LINKS = {"gaussian": "mu = identity; sigma = identity", "binomial": "mu = logit", "bernoulli": "mu = logit",
          "poisson": "mu = log", "negbinomial": "mu = log; shape = identity"}


def _links(fit) -> str:
    """brms's ``Links:`` line: the family's link for μ, identity for its other parameters."""
    fam = fit.family
    if fam.name in _LINKS and fam.canonical:
        return _LINKS[fam.name]
    return "; ".join([f"mu = {fam.link.name}"] + [f"{a} = identity" for a in fit.spec.aux_names])


def _table(diag: pd.DataFrame, labels: list[str], names: list[str]) -> pd.DataFrame:
    sub = diag.loc[labels]
    out = pd.DataFrame({
        "Estimate": sub["Estimate"], "Est.Error": sub["Est.Error"], "l-95% CI": sub["Q2.5"],
        "u-95% CI": sub["Q97.5"], "Rhat": sub["R-hat"], "Bulk_ESS": sub["ESS bulk"], "Tail_ESS": sub["ESS tail"],
    })
    out.index = names
    out = out.astype(float)
    for c in ("Estimate", "Est.Error", "l-95% CI", "u-95% CI", "Rhat"):
        out[c] = out[c].map(lambda v: f"{v:.2f}")
    for c in ("Bulk_ESS", "Tail_ESS"):
        out[c] = out[c].map(lambda v: f"{v:.0f}" if v == v else "NA")
    return out[_COLS]


def bayes_summary(fit) -> Summary:
    """Summary laid out like brms's ``summary(brm(...))``, with divergences and sampler notes."""
    st = fit.settings
    C, D = fit.idata["posterior"].sizes["chain"], fit.idata["posterior"].sizes["draw"]
    tune = st.get("tune", 0)
    fam = fit.family.name
    head = [
        f" Family: {fam} ",
        f"  Links: {_links(fit)} ",
        f"Formula: {fit.formula} ",
        f"   Data: data (Number of observations: {fit.nobs()}) ",
        f"  Draws: {C} chains, each with iter = {D + tune}; warmup = {tune}; thin = 1;",
        f"         total post-warmup draws = {C * D}",
    ]
    if st.get("sample_prior") == "only":
        head.append("         (draws from the PRIOR only: sample_prior='only')")
    s = Summary("\n".join(head))
    diag = diagnostic_table(fit)
    groups: dict[str, list] = {}
    for b in fit.spec.blocks:
        groups.setdefault(b.group, []).append(b)
    if groups:
        s.add("\nMultilevel Hyperparameters:", None)
    ng = fit.ngrps()
    for g, blocks in groups.items():
        labels, names = [], []
        for b in blocks:
            labels += [f"sd({b.label}: {t})" for t in b.terms]
            names += [f"sd({t})" for t in b.terms]
        for b in blocks:
            for i in range(b.q):
                for j in range(i + 1, b.q):
                    labels.append(f"cor({b.label}: {b.terms[i]},{b.terms[j]})")
                    names.append(f"cor({b.terms[i]},{b.terms[j]})")
        s.add(f"~{g} (Number of levels: {ng[g]}) ", _table(diag, labels, names))
    xn = list(fit.design.xnames)
    thres = fit.spec.threshold_names if fit.spec.ncut else []  # brms: Intercept[1], Intercept[2], ...
    s.add("\nRegression Coefficients:", _table(diag, [f"Intercept[{t}]" for t in thres] + [f"b_{n}" for n in xn],
                                             [f"Intercept[{j + 1}]" for j in range(len(thres))]
                                             + ["Intercept" if n == "(Intercept)" else n for n in xn]))
    if fit.spec.aux_names:
        aux = list(fit.spec.aux_names)
        s.add("\nFurther Distributional Parameters:", _table(diag, aux, aux))
    stats = fit.idata["sample_stats"]
    ndiv = int(stats["diverging"].values.sum()) if "diverging" in stats else 0
    sampler = st.get("sampler_label", "NUTS")
    foot = [f"Draws were sampled using {sampler}. For each parameter, Bulk_ESS",
            "and Tail_ESS are effective sample size measures, and Rhat is the potential",
            "scale reduction factor on split chains (at convergence, Rhat = 1).",
            f"Divergent transitions after warmup: {ndiv}"]
    if st.get("route"):
        mass = st.get("mass_matrix") if st["route"].get("kernel") != "pymc" else None
        foot.append(f"Route: {describe(st['route'])}" + (f"; mass matrix {mass.replace('_', '-')}" if mass else ""))
    if st.get("store_ranef") is False:
        foot.append("Random effects: posterior mean and SD only (store_ranef=False)")
    for note in st.get("notes", []):
        foot.append(f"Note: {note}")
    s.add("", "\n" + "\n".join(foot))
    return s
