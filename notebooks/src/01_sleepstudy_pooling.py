# %% [markdown]
# # 1. Sleepstudy: complete, no and partial pooling
#
# Belenky et al. (2003) restricted 18 volunteers to three hours of sleep per night for nine
# nights and measured their average reaction time every day. The data are lme4's `sleepstudy`:
# `Reaction` (ms), `Days` (0–9) and `Subject`.
#
# The question: *how much slower do people react per day of sleep restriction?* Every subject
# contributes 10 repeated measurements, so the 180 observations are not independent. There are
# three ways to deal with the grouping:
#
# | | model | assumption |
# | --- | --- | --- |
# | **complete pooling** | one regression line for everyone | subjects do not differ |
# | **no pooling** | a separate regression line per subject | subjects have nothing in common |
# | **partial pooling** | a mixed model: per-subject lines drawn from a common population | subjects differ, but are alike |
#
# The mixed model is the compromise, fitted here twice — by REML with `hl.lmer` (lme4's
# algorithm) and by NUTS with `hl.blmer` (a Bayesian model with weakly informative priors).
#
# *R:* `lm(Reaction ~ Days)`, `lmList(Reaction ~ Days | Subject)`,
# `lmer(Reaction ~ Days + (Days | Subject))`, `brm(...)` / `stan_lmer(...)`.

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

import hierlm as hl

FAST = os.environ.get("HIERLM_NOTEBOOK_FAST") == "1"  # CI runs every notebook in a small mode
DRAWS, TUNE = (200, 200) if FAST else (1000, 1000)
SEED = 2024

plt.rcParams["figure.dpi"] = 120  # sharp figures on the documentation site (110-150 dpi)
# a warning prints as "SamplingWarning: message", without the temporary path of the notebook cell
warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)

sleep = hl.load_dataset("sleepstudy")
sleep.head()

# %% [markdown]
# ## The data
#
# One line per subject. Most subjects get slower over the days, but they start at different
# levels and slow down at different rates — and a few barely change at all.

# %%
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for subj, d in sleep.groupby("Subject", observed=True):
    ax.plot(d["Days"], d["Reaction"], marker="o", ms=3, lw=1, alpha=0.7)
ax.set_xlabel("Days of sleep restriction")
ax.set_ylabel("Average reaction time (ms)")
ax.set_title("sleepstudy: 18 subjects, one line each")
plt.show()

# %% [markdown]
# ## 1. Complete pooling: ignore the subjects
#
# Ordinary least squares on all 180 points (`lm(Reaction ~ Days)` in R):

# %%
def ols(x, y):
    """Intercept and slope of a least-squares line, with their textbook standard errors."""
    r = stats.linregress(x, y)
    return pd.DataFrame({"Estimate": [r.intercept, r.slope], "Std. Error": [r.intercept_stderr, r.stderr]},
                        index=["(Intercept)", "Days"])


pooled = ols(sleep["Days"], sleep["Reaction"])
pooled

# %% [markdown]
# The line is fine as a *description* of the average subject, but its standard errors pretend
# there are 180 independent observations. In fact there are 18 subjects measured ten times
# each, and measurements of the same subject are correlated. We will see below that the mixed
# model's standard error of the slope is larger (about 1.5 instead of 1.25 ms/day).
#
# ## 2. No pooling: a separate line per subject
#
# Eighteen separate regressions (`lme4::lmList(Reaction ~ Days | Subject, sleepstudy)`):

# %%
nopool = pd.DataFrame({
    subj: ols(d["Days"], d["Reaction"])["Estimate"] for subj, d in sleep.groupby("Subject", observed=True)
}).T
nopool.index.name = "Subject"
nopool.describe().loc[["mean", "std", "min", "max"]]

# %% [markdown]
# Now every subject has their own intercept and slope, and they differ a lot: slopes range from
# about −3 to +22 ms/day. But each line rests on only ten points, so each estimate is noisy, and
# the model has nothing to say about a *new* subject — there is no population in it.
#
# ## 3. Partial pooling: a mixed model
#
# The mixed model treats each subject's intercept and slope as a draw from a bivariate normal
# population:
#
# $$\text{Reaction}_{ij} = (\beta_0 + b_{0j}) + (\beta_1 + b_{1j})\,\text{Days}_{ij} + \varepsilon_{ij},
# \qquad (b_{0j}, b_{1j}) \sim N(0, \Sigma), \quad \varepsilon_{ij} \sim N(0, \sigma^2).$$
#
# In lme4 notation, `Reaction ~ Days + (Days | Subject)`: fixed effects β₀, β₁ for the
# population average, and a correlated random intercept and slope per subject.

# %%
m = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
m.summary()

# %% [markdown]
# **What to look at in the summary** (it is laid out like lme4's):
#
# * *Random effects*: subjects' intercepts vary with sd ≈ 24.7 ms and their slopes with
#   sd ≈ 5.9 ms/day; the two are nearly uncorrelated (0.07); the residual sd is ≈ 25.6 ms.
# * *Fixed effects*: the average subject starts at ≈ 251 ms and slows by ≈ 10.5 ms per day. The
#   slope's standard error (1.55) is larger than complete pooling's, because it now accounts for
#   subjects differing in their slopes.
#
# The three estimates of the average line side by side (for no pooling, the mean of the 18
# per-subject estimates and its standard error, the "two-stage" or summary-statistics approach):

# %%
pd.DataFrame({
    "complete pooling": pooled["Estimate"],
    "no pooling (mean of 18)": nopool.mean(),
    "partial pooling (lmer)": m.fixef()["Estimate"],
}).assign(**{"SE complete": pooled["Std. Error"], "SE no pooling": nopool.std() / np.sqrt(len(nopool)),
             "SE lmer": m.fixef()["Std. Error"]})

# %% [markdown]
# All three agree on the average line. The standard errors do not: complete pooling's is too
# small. In this *balanced* design (every subject measured on the same ten days) the mixed
# model's fixed effects and standard errors coincide exactly with the two-stage summary of the
# no-pooling fits. With unbalanced data, missing observations or few observations per subject
# they no longer do, and the mixed model weighs each subject by how much information it carries.
# Its real gains are elsewhere: estimates of how much subjects vary (Σ), and better estimates of
# each individual subject.
#
# Each subject's own line in the mixed model is `coef()` = fixed effects + that subject's random
# effects (lme4's `coef(m)`):

# %%
m.coef()["Subject"].head()

# %% [markdown]
# ## Seeing the pooling: `hl.plot_pooling`
#
# One panel per subject, with the data and the three fitted lines: complete pooling (grey dashed,
# the same in every panel), no pooling (orange, that subject's own least-squares line) and
# partial pooling (blue, `coef()`).

# %%
fig = hl.plot_pooling(m)

# %% [markdown]
# **What to look at.** For most subjects the blue and orange lines nearly coincide: ten points
# are enough to pin a line down. Where they differ, the blue line lies between the orange one
# and the grey one — it is *shrunk* towards the population. Look at subjects 330, 335 and 370:
# their own lines are unusual and partly driven by a few points, and the mixed model trusts them
# less.
#
# ## Shrinkage: `hl.plot_shrinkage`
#
# The same comparison in the plane of (intercept, slope): open circles are the no-pooling
# estimates, dots the partial-pooling ones, and arrows show how far each subject moves. The
# shaded ellipses are the estimated population distribution of subjects (centre: the fixed
# effects, shape: Σ), 50% and 95%.

# %%
fig = hl.plot_shrinkage(m)

# %% [markdown]
# **What to look at.** Arrows point inward, towards the centre of the population: subjects with
# extreme own estimates move most. That is *partial pooling*: each subject's estimate is a
# precision-weighted compromise between their own data and what the other subjects suggest.
# How much a subject is pulled depends on how noisy their own estimate is relative to how much
# subjects genuinely vary (Σ).

# %%
shrink = pd.DataFrame({
    "no pooling": nopool["Days"],
    "partial pooling": m.coef()["Subject"]["Days"].to_numpy(),
})
shrink["moved"] = shrink["partial pooling"] - shrink["no pooling"]
shrink.reindex(shrink["moved"].abs().sort_values(ascending=False).index).head(6)

# %% [markdown]
# ## The Bayesian fit
#
# `hl.blmer` fits the same model by NUTS, with weakly informative priors (see notebook 5 for
# what they are). The formula and the extractors are the same; the summary is laid out like
# brms's, with R-hat and effective sample sizes for every parameter.

# %%
b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
b.summary()

# %% [markdown]
# **What to look at.** First the diagnostics: `Rhat` ≈ 1.00 and bulk/tail ESS in the thousands
# mean the four chains agree and the estimates are precise; 0 divergent transitions. Then the
# numbers: posterior means and 95% intervals (`l-95% CI`, `u-95% CI`) for every parameter —
# including the sds and the correlation, for which lme4 gives no standard errors at all.
#
# `hl.side_by_side` puts every parameter of the two fits in one table: the REML estimate and its
# standard error beside the posterior mean, sd and 95% interval.

# %%
hl.side_by_side(m, b)

# %% [markdown]
# `freq_se` is empty (NaN) for the sds, the correlation and σ: lme4 reports no standard errors for
# variance parameters, because their sampling distributions are far from normal. Instead,
# `intervals="profile"` adds lme4's profile-likelihood intervals (`confint(m)`) for every
# parameter, to set beside the posterior intervals:

# %%
hl.side_by_side(m, b, intervals="profile")

# %% [markdown]
# The fixed effects agree closely. The random-effect sds are a little larger in the posterior:
# the posterior mean averages over the uncertainty in Σ, and a variance's posterior is
# right-skewed (it cannot go below 0). The correlation is very uncertain in both (its 95%
# interval spans most of −0.5 to 0.7) — 18 subjects say little about it.
#
# The shrinkage plot works on the Bayesian fit too, with posterior means as the partial-pooling
# estimates and the posterior mean of Σ for the ellipses:

# %%
fig = hl.plot_shrinkage(b)

# %% [markdown]
# ## Caterpillar plots: `hl.plot_ranef`
#
# The random effects b_j themselves (deviations from the fixed effects), sorted, with 95%
# intervals: conditional modes ± 1.96 conditional sd for `lmer` (lme4's
# `dotplot(ranef(m, condVar = TRUE))`), posterior means and intervals for `blmer`.

# %%
fig = hl.plot_ranef(m)

# %%
fig = hl.plot_ranef(b)

# %% [markdown]
# **What to look at.** The intervals of individual subjects are wide and many overlap zero — yet
# the *spread* of the effects is clearly non-zero (the sds above). Subjects 308, 337 and 350 are
# clearly steeper than average, 309 and 335 (and, only just, 310) clearly flatter. The Bayesian intervals are slightly
# wider than lme4's: they also carry the uncertainty in Σ and σ, which the conditional variances
# treat as known.
#
# Finally the fixed effects of both fits in one forest plot:

# %%
fig = hl.plot_fixef([m, b])

# %% [markdown]
# ## Summary
#
# * **Complete pooling** ignores the subjects: the right average, but overconfident standard errors.
# * **No pooling** fits each subject alone: noisy per-subject estimates, and no population.
# * **Partial pooling** (`hl.lmer`, `hl.blmer`) estimates the population *and* each subject,
#   shrinking unreliable individual estimates towards the population.
# * The REML and Bayesian fits agree on the fixed effects; the Bayesian fit adds honest
#   uncertainty for the variance components.
#
# **Exercises.** (1) Refit without subject 309 and 335: how do the sds change? (2) Drop days 0 and 1
# (adaptation days, as in some analyses of these data) and refit. (3) What does
# `hl.plot_pooling(m, levels=["308", "309", "330"])` show?
