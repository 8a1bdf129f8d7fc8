"""brms-style summary of a :class:`~hierlm.bayes.fit.BayesFit` (text and HTML from one content)."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from ..summary import Summary
from . import diagnostics as dg

__all__ = ["DiagnosticsMixin", "bayes_summary"]

_COLS = ["Estimate", "Est.Error", "l-95% CI", "u-95% CI", "Rhat", "Bulk_ESS", "Tail_ESS"]
_LINKS = {"gaussian": "mu = identity; sigma = identity", "binomial": "mu = logit", "bernoulli": "mu = logit",
          "poisson": "mu = log", "negbinomial": "mu = log; shape = identity"}


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
        f"  Links: {_LINKS.get(fam, 'mu = identity')} ",
        f"Formula: {fit.formula} ",
        f"   Data: data (Number of observations: {fit.nobs()}) ",
        f"  Draws: {C} chains, each with iter = {D + tune}; warmup = {tune}; thin = 1;",
        f"         total post-warmup draws = {C * D}",
    ]
    if st.get("sample_prior") == "only":
        head.append("         (draws from the PRIOR only: sample_prior='only')")
    s = Summary("\n".join(head))
    diag = fit._diagnostic_table()
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
    s.add("\nRegression Coefficients:", _table(diag, [f"b_{n}" for n in xn],
                                             ["Intercept" if n == "(Intercept)" else n for n in xn]))
    if fit.spec.disp_name:
        s.add("\nFurther Distributional Parameters:", _table(diag, [fit.spec.disp_name], [fit.spec.disp_name]))
    stats = fit.idata["sample_stats"]
    ndiv = int(stats["diverging"].values.sum()) if "diverging" in stats else 0
    sampler = st.get("sampler_label", "NUTS")
    foot = [f"Draws were sampled using {sampler}. For each parameter, Bulk_ESS",
            "and Tail_ESS are effective sample size measures, and Rhat is the potential",
            "scale reduction factor on split chains (at convergence, Rhat = 1).",
            f"Divergent transitions after warmup: {ndiv}"]
    for note in st.get("notes", []):
        foot.append(f"Note: {note}")
    s.add("", "\n" + "\n".join(foot))
    return s


class DiagnosticsMixin:
    """The convergence and singularity checks and the brms-style summary of
    :class:`~hierlm.bayes.fit.BayesFit`."""

    def _main_draws(self) -> tuple[np.ndarray, list[str]]:
        """Draws of the summary parameters: fixed effects, sds, correlations, sigma / shape."""
        beta, _ = self._effects
        cols, labels = [beta], [f"b_{n}" for n in self.design.xnames]
        for k, b in enumerate(self.spec.blocks):
            sd, cor = self._sd_cor(k)
            cols.append(sd)
            labels += [f"sd({b.label}: {t})" for t in b.terms]
            if cor is not None:
                i, j = np.triu_indices(b.q, 1)
                cols.append(cor[..., i, j])
                labels += [f"cor({b.label}: {b.terms[a]},{b.terms[c]})" for a, c in zip(i, j)]
        d = self._disp()
        if d is not None:
            cols.append(d[..., None])
            labels.append(self.spec.disp_name)
        return np.concatenate(cols, axis=-1), labels

    @cached_property
    def _diag(self) -> pd.DataFrame:
        draws, labels = self._main_draws()
        return pd.DataFrame(dg.summarise(draws), index=labels)

    def _diagnostic_table(self) -> pd.DataFrame:
        return self._diag

    def singular_terms(self) -> list[str]:
        """Plain-language list of SDs whose posterior piles up at 0 and correlations piling up at ±1.

        Returns
        -------
        list of str
            Empty when nothing piles up, e.g. ``["sd(Days) of 'Subject' at 0"]`` otherwise.

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.singular_terms()
        []
        """
        out = []
        for k, b in enumerate(self.spec.blocks):
            sd, cor = self._sd_cor(k)
            for j, term in enumerate(b.terms):
                if dg.piled_up(sd=sd[..., j].ravel())[0]:
                    out.append(f"sd({term}) of '{b.label}' at 0")
            if cor is not None:
                i, j = np.triu_indices(b.q, 1)
                for a, c in zip(i, j):
                    if dg.piled_up(cor=cor[..., a, c].ravel())[1]:
                        out.append(f"cor({b.terms[a]},{b.terms[c]}) of '{b.label}' at ±1")
        return out

    def is_singular(self) -> bool:
        """Whether some SD's posterior piles up at 0 or some correlation's at ±1 (see :meth:`singular_terms`).

        The Bayesian counterpart of lme4's ``isSingular``: a posterior piled at a boundary says the
        data cannot tell that variance from zero (or that correlation from ±1).

        Returns
        -------
        bool

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.is_singular()
        False
        """
        return bool(self.singular_terms())

    def summary(self):
        """brms-style summary: ``print()`` gives brms's text layout, notebooks show it as HTML.

        Returns
        -------
        Summary
            Its ``str()`` is laid out like brms's ``summary(fit)``: multilevel hyperparameters,
            regression coefficients, distributional parameters, with R-hat, bulk and tail ESS and the
            number of divergent transitions.

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> print(b.summary())  # doctest: +SKIP
         Family: gaussian
          Links: mu = identity; sigma = identity
        Formula: Reaction ~ Days + (Days | Subject)
           Data: data (Number of observations: 180)
          Draws: 2 chains, each with iter = 1500; warmup = 1000; thin = 1;
                 total post-warmup draws = 1000
        <BLANKLINE>
        Multilevel Hyperparameters:
        ~Subject (Number of levels: 18)
                              Estimate Est.Error l-95% CI u-95% CI  Rhat Bulk_ESS Tail_ESS
        sd((Intercept))          27.23      6.83    16.39    41.99  1.00     1224      758
        sd(Days)                  6.50      1.47     4.02     9.99  1.00      921      616
        cor((Intercept),Days)     0.08      0.30    -0.50     0.68  1.01      755      615
        <BLANKLINE>
        Regression Coefficients:
                  Estimate Est.Error l-95% CI u-95% CI  Rhat Bulk_ESS Tail_ESS
        Intercept   251.55      7.12   237.91   264.45  1.00     1004      787
        Days         10.47      1.61     7.26    13.79  1.00      830      666
        <BLANKLINE>
        Further Distributional Parameters:
              Estimate Est.Error l-95% CI u-95% CI  Rhat Bulk_ESS Tail_ESS
        sigma    25.85      1.51    23.13    29.06  1.00     1060      684
        <BLANKLINE>
        Draws were sampled using NUTS (nutpie core, hierlm kernel, marginal). For each parameter, Bulk_ESS
        and Tail_ESS are effective sample size measures, and Rhat is the potential
        scale reduction factor on split chains (at convergence, Rhat = 1).
        Divergent transitions after warmup: 0
        >>> text = str(b.summary())
        >>> text.splitlines()[0].strip(), "Divergent transitions after warmup: 0" in text
        ('Family: gaussian', True)
        """
        return bayes_summary(self)

    def __repr__(self) -> str:
        return str(self.summary())
