"""broom's and broom.mixed's tables: ``tidy`` (one row per parameter) and ``glance`` (one row per model).

The columns are broom.mixed's (``effect``, ``group``, ``term``, ``estimate``, ``std.error``,
``statistic``, ``df``, ``p.value``; ``level`` for random effects; ``conf.low``/``conf.high`` for
Bayesian fits), so tables made in R and in Python can be stacked or compared.  Random-effect
parameters are named as broom.mixed names them: ``sd__(Intercept)``, ``cor__(Intercept).Days``,
``sd__Observation`` (the residual SD), in lme4's θ order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...design.covariance import tril_colmajor
from ...errors import HierlmError, suggest
from ...fits.protocol import is_fit

__all__ = ["tidy", "glance"]

EFFECTS = ("fixed", "ran_pars", "ran_vals")


def _effects(effects) -> list[str]:
    chosen = [effects] if isinstance(effects, str) else list(effects)
    for e in chosen:
        if e not in EFFECTS:
            raise HierlmError(f"effects must be among {list(EFFECTS)}, not {e!r}.{suggest(str(e), EFFECTS)}")
    return [e for e in EFFECTS if e in chosen]


def _fixed(fit, ddf) -> pd.DataFrame:
    if fit.kind.bayesian:
        fe = fit.fixef()
        return pd.DataFrame({"effect": "fixed", "group": None, "term": fe.index, "estimate": fe["Estimate"].to_numpy(),
                             "std.error": fe["Est.Error"].to_numpy(), "conf.low": fe["Q2.5"].to_numpy(),
                             "conf.high": fe["Q97.5"].to_numpy()})
    fe = fit.fixef(ddf=ddf) if fit.kind.model == "lmm" and ddf != "lme4" else fit.fixef()
    stat = next(c for c in fe.columns if c in ("t value", "z value"))
    out = pd.DataFrame({"effect": "fixed", "group": None, "term": fe.index, "estimate": fe["Estimate"].to_numpy(),
                        "std.error": fe["Std. Error"].to_numpy(), "statistic": fe[stat].to_numpy()})
    if "df" in fe:
        out["df"] = fe["df"].to_numpy()
    p = [c for c in fe.columns if c.startswith("Pr(")]
    if p:
        out["p.value"] = fe[p[0]].to_numpy()
    if fit.kind.model in ("lm", "glm"):
        out = out.drop(columns=["effect", "group"])
    return out


def _ran_pars(fit) -> pd.DataFrame:
    vc = fit.varcorr()
    rows = []
    by = {(r.grp, r.var1, r.var2): r for r in vc.itertuples(index=False)}
    for t in fit.design.reterms:
        for r, c in zip(*tril_colmajor(t.ncols)):
            key = (t.label, t.columns[r], None) if r == c else (t.label, t.columns[c], t.columns[r])
            row = by[key]
            term = f"sd__{t.columns[r]}" if r == c else f"cor__{t.columns[c]}.{t.columns[r]}"
            rows.append(_par_row(fit, t.label, term, row))
    if fit.family.has_dispersion:
        rows.append(_par_row(fit, "Residual", "sd__Observation", by[("Residual", None, None)]))
    return pd.DataFrame(rows)


def _par_row(fit, group: str, term: str, row) -> dict:
    out = {"effect": "ran_pars", "group": group, "term": term, "estimate": row.sdcor}
    if fit.kind.bayesian:
        out.update({"std.error": row[5], "conf.low": row[6], "conf.high": row[7]})
    else:
        out.update({"std.error": np.nan, "statistic": np.nan})
    return out


def _ran_vals(fit) -> pd.DataFrame:
    long = fit.ranef(intervals=True)
    out = pd.DataFrame({"effect": "ran_vals", "group": long["grpvar"], "level": long["grp"], "term": long["term"]})
    if fit.kind.bayesian:
        out["estimate"], out["std.error"] = long["Estimate"].to_numpy(), long["Est.Error"].to_numpy()
        out["conf.low"], out["conf.high"] = long["Q2.5"].to_numpy(), long["Q97.5"].to_numpy()
    else:
        out["estimate"], out["std.error"] = long["condval"].to_numpy(), long["condsd"].to_numpy()
    return out


def tidy(fit, effects=("fixed", "ran_pars"), ddf: str = "Satterthwaite") -> pd.DataFrame:
    """One row per parameter, as broom.mixed's ``tidy`` (``broom::tidy`` for lm / glm).

    Parameters
    ----------
    fit : LmerFit, GlmerFit, BayesFit, LmFit or GlmFit
    effects : str or sequence of {"fixed", "ran_pars", "ran_vals"}
        Fixed effects, random-effect SDs and correlations (and the residual SD), the random effects
        themselves (conditional modes with their SDs, or posterior means).
    ddf : {"Satterthwaite", "Kenward-Roger", "lme4"}
        lmer fits: ``df`` and ``p.value`` as lmerTest's (broom.mixed on an lmerTest fit); ``"lme4"``
        leaves them out.

    Returns
    -------
    DataFrame
        broom.mixed's columns; Bayesian fits have ``conf.low``/``conf.high`` (95% intervals)
        instead of ``statistic`` and ``p.value``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> hl.tidy(m).columns.tolist()
    ['effect', 'group', 'term', 'estimate', 'std.error', 'statistic', 'df', 'p.value']
    >>> hl.tidy(m)[["effect", "group", "term", "estimate", "std.error"]].round(3)
         effect     group                   term  estimate  std.error
    0     fixed      None            (Intercept)   251.405      6.825
    1     fixed      None                   Days    10.467      1.546
    2  ran_pars   Subject        sd__(Intercept)    24.740        NaN
    3  ran_pars   Subject  cor__(Intercept).Days     0.066        NaN
    4  ran_pars   Subject               sd__Days     5.922        NaN
    5  ran_pars  Residual        sd__Observation    25.592        NaN
    """
    if not is_fit(fit):
        raise HierlmError(f"tidy() needs a fit (hl.lmer, hl.glmer, hl.blmer, hl.lm, hl.glm), not {type(fit).__name__}")
    chosen = _effects(effects)
    if fit.kind.model in ("lm", "glm"):
        if chosen != ["fixed"] and chosen != ["fixed", "ran_pars"]:
            raise HierlmError("an lm / glm has no random effects: use effects='fixed'")
        return _fixed(fit, "lme4")
    parts = {"fixed": lambda: _fixed(fit, ddf), "ran_pars": lambda: _ran_pars(fit), "ran_vals": lambda: _ran_vals(fit)}
    return pd.concat([parts[e]() for e in chosen], ignore_index=True)


def glance(fit) -> pd.DataFrame:
    """One row of model statistics, as broom.mixed's / broom's ``glance``.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, BayesFit, LmFit or GlmFit

    Returns
    -------
    DataFrame
        lmer: ``nobs``, ``sigma``, ``logLik``, ``AIC``, ``BIC``, ``REMLcrit`` (REML) or ``deviance``
        (ML), ``df.residual``; glmer: ``deviance`` (lme4's) instead; lm: ``r.squared``,
        ``adj.r.squared``, ``sigma``, ``statistic``, ``p.value``, ``df``, ``logLik``, ``AIC``, ``BIC``,
        ``deviance``, ``df.residual``, ``nobs``; glm: ``null.deviance``, ``df.null``, ``logLik``,
        ``AIC``, ``BIC``, ``deviance``, ``df.residual``, ``nobs``; Bayesian: ``nobs``, ``sigma``
        (posterior mean), ``draws``, ``chains``, ``divergences``, ``max.rhat``.

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> hl.glance(m).round(3)
       nobs   sigma   logLik       AIC       BIC  REMLcrit  df.residual
    0   180  25.592 -871.814  1755.628  1774.786  1743.628          174
    """
    if not is_fit(fit):
        raise HierlmError(f"glance() needs a fit, not {type(fit).__name__}")
    n = fit.nobs()
    if fit.kind.bayesian:
        post = fit.idata["posterior"]
        row = {"nobs": n, "sigma": fit.sigma(), "draws": int(post.sizes["draw"]), "chains": int(post.sizes["chain"]),
               "divergences": int(fit.idata["sample_stats"]["diverging"].values.sum()),
               "max.rhat": float(fit.diagnostics()["R-hat"].max())}
    elif fit.kind.model == "lm":
        f = fit.fstatistic()
        r2 = fit.r2()
        row = {"r.squared": r2["r2"], "adj.r.squared": r2["adj_r2"], "sigma": fit.sigma(),
               "statistic": None if f is None else f["value"], "p.value": None if f is None else f["p"],
               "df": None if f is None else f["numdf"], "logLik": fit.loglik(), "AIC": fit.aic(), "BIC": fit.bic(),
               "deviance": fit.deviance(), "df.residual": fit.df_residual, "nobs": n}
    elif fit.kind.model == "glm":
        row = {"null.deviance": fit.null_deviance, "df.null": fit.df_null, "logLik": fit.loglik(), "AIC": fit.aic(),
               "BIC": fit.bic(), "deviance": fit.deviance(), "df.residual": fit.df_residual, "nobs": n}
    else:
        row = {"nobs": n, "sigma": fit.sigma(), "logLik": fit.loglik(), "AIC": fit.aic(), "BIC": fit.bic()}
        if fit.kind.model == "lmm" and fit.reml:
            row["REMLcrit"] = fit.reml_criterion()
        else:
            row["deviance"] = fit.deviance() if fit.kind.model == "glmm" else -2 * fit.loglik()
        row["df.residual"] = n - fit.npar()
    return pd.DataFrame([row])
