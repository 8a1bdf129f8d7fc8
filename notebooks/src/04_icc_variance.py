# %% [markdown]
# # 4. Intraclass correlation and variance decomposition
#
# A random-intercept model splits the variance of the response into a part *between* groups
# and a part *within* groups:
#
# $$y_{ij} = \beta_0 + b_j + \varepsilon_{ij}, \qquad b_j \sim N(0, \tau^2), \quad
#   \varepsilon_{ij} \sim N(0, \sigma^2), \qquad \operatorname{Var}(y_{ij}) = \tau^2 + \sigma^2 .$$
#
# The **intraclass correlation** (ICC) is the between-group share,
#
# $$\mathrm{ICC} = \frac{\tau^2}{\tau^2 + \sigma^2},$$
#
# and it has two readings that are worth keeping apart:
#
# 1. *a share of variance*: the fraction of the total variance due to differences between groups;
# 2. *a correlation*: the correlation between two observations from the same group,
#    Cov(y_ij, y_ik) / Var(y) = τ² / (τ² + σ²).
#
# In this lesson: `hl.icc` for frequentist (`hl.lmer`) and Bayesian (`hl.blmer`) fits, variance
# decompositions with several grouping factors, and a classic result — a **paired t-test is a
# random-intercept model**.
#
# *R equivalents:* `performance::icc()` or by hand from `as.data.frame(VarCorr(m))`;
# `t.test(..., paired = TRUE)`.

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
pd.set_option("display.precision", 4)
pd.set_option("display.width", 120)

sleep = hl.load_dataset("sleepstudy")
dyes = hl.load_dataset("Dyestuff")

# %% [markdown]
# ## 1. Sleepstudy: how much do subjects differ?
#
# Start with the simplest model: each subject has their own mean reaction time, and nothing
# else (`Reaction ~ 1 + (1 | Subject)`; in R `lmer(Reaction ~ 1 + (1 | Subject), sleepstudy)`).

# %%
m0 = hl.lmer("Reaction ~ 1 + (1 | Subject)", sleep)
m0.summary()

# %% [markdown]
# The `Random effects` block gives τ² (the `Subject` variance) and σ² (the `Residual`
# variance). `hl.icc` divides them:

# %%
hl.icc(m0)

# %% [markdown]
# By hand, from the variance components (lme4: `as.data.frame(VarCorr(m0))`):

# %%
vc = m0.varcorr()
tau2, sigma2 = vc["vcov"].iloc[0], vc["vcov"].iloc[1]
print(f"tau^2 = {tau2:.1f}, sigma^2 = {sigma2:.1f}, ICC = {tau2:.1f} / ({tau2:.1f} + {sigma2:.1f}) = "
      f"{tau2 / (tau2 + sigma2):.3f}")

# %% [markdown]
# **Reading it.** About 39% of the variation in reaction times is between subjects; equivalently,
# two reaction times of the same subject correlate at about 0.39. The rest is variation
# *within* a subject — which here includes the systematic slowing over the days of sleep
# deprivation, because the model ignores `Days`.
#
# ### The ICC is conditional on the fixed effects
#
# Adding `Days` as a fixed effect removes the day-to-day trend from the residual variance.
# The subject variance barely changes, so the ICC rises:

# %%
m1 = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep)
pd.concat({"Reaction ~ 1 + (1 | Subject)": hl.icc(m0), "Reaction ~ Days + (1 | Subject)": hl.icc(m1)}, axis=1)

# %% [markdown]
# Always say which model an ICC comes from: "the ICC of subjects, adjusting for days of
# deprivation, is 0.59".
#
# ### No ICC with random slopes
#
# With `(Days | Subject)` the between-subject variance is τ₀² + 2 τ₀₁ Days + τ₁² Days²: it changes
# with `Days`, so there is no single ICC. `hl.icc` says so instead of returning a number:

# %%
try:
    hl.icc(hl.lmer("Reaction ~ Days + (Days | Subject)", sleep))
except hl.HierlmError as err:
    print(err)

# %% [markdown]
# ## 2. The Bayesian ICC: a posterior, not a point
#
# The frequentist ICC is a plug-in of two point estimates; its uncertainty is awkward to get
# (a parametric bootstrap, or the delta method). With a Bayesian fit the ICC is computed **for
# every posterior draw**, which gives its whole posterior distribution for free.

# %%
b0 = hl.blmer("Reaction ~ 1 + (1 | Subject)", sleep, draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
hl.icc(b0)

# %% [markdown]
# What `hl.icc` does with the draws, step by step: the posterior draws of the subject sd and of σ
# give one ICC per draw.

# %%
post = b0.posterior
tau_draws = post["sd_Subject"].values[..., 0].ravel()  # sd of the subject intercepts, one per draw
sigma_draws = post["sigma"].values.ravel()
icc_draws = tau_draws**2 / (tau_draws**2 + sigma_draws**2)

fig, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
ax.hist(icc_draws, bins=40, density=True, color="C0", alpha=0.6, label="posterior draws of the ICC")
ax.axvline(icc_draws.mean(), color="C0", lw=2, label=f"posterior mean {icc_draws.mean():.3f}")
ax.axvspan(*np.quantile(icc_draws, [0.025, 0.975]), color="C0", alpha=0.12, label="95% interval")
ax.axvline(float(hl.icc(m0)["ICC"].iloc[0]), color="C3", ls="--", lw=2, label="lmer (REML) estimate")
ax.set_xlabel("ICC of Subject")
ax.set_yticks([])
ax.legend(fontsize=8, frameon=False)
ax.set_title("sleepstudy: Reaction ~ 1 + (1 | Subject)")
plt.show()

# %% [markdown]
# The REML estimate (0.395) sits inside the posterior, slightly below its mean: the ICC's posterior
# is skewed to the right, because τ is bounded below by 0 and is estimated from only 18 subjects.
#
# ## 3. Dyestuff: few groups, wide uncertainty
#
# Dyestuff (Davies 1947) has the yield of dyestuff from 6 batches of an intermediate product,
# 5 preparations each. How much of the variation in yield is due to the batches?

# %%
md = hl.lmer("Yield ~ 1 + (1 | Batch)", dyes)
bd = hl.blmer("Yield ~ 1 + (1 | Batch)", dyes, draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
pd.concat({"lmer (REML)": hl.icc(md), "blmer (posterior)": hl.icc(bd)}, axis=1)

# %% [markdown]
# The point estimates are close, but the Bayesian interval is very wide: 6 batches carry little
# information about a variance. lme4's profile interval for the batch sd (`.sig01`) tells the same
# story — it reaches from about 12 to 85:

# %%
md.confint()

# %% [markdown]
# `hl.plot_varcorr` shows the posteriors of the batch sd and σ with the REML estimates marked
# (dashed). The batch sd's posterior is long-tailed; σ, estimated from 30 observations, is much
# better determined.

# %%
fig = hl.plot_varcorr(bd, reference=md)

# %% [markdown]
# ## 4. Several grouping factors: a variance decomposition
#
# With more than one random intercept, `hl.icc` gives one share per grouping factor:
# ICC_g = τ_g² / (Σ_h τ_h² + σ²). Two classic designs from lme4's datasets:
#
# * **Penicillin** — *crossed*: 24 plates × 6 penicillin samples, every sample on every plate
#   (`diameter ~ 1 + (1 | plate) + (1 | sample)`).
# * **Pastes** — *nested*: 3 casks within each of 10 batches (`strength ~ 1 + (1 | batch/cask)`,
#   which expands to `(1 | batch) + (1 | batch:cask)`; lme4 names the inner group `cask:batch`).

# %%
pen = hl.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", hl.load_dataset("Penicillin"))
pas = hl.lmer("strength ~ 1 + (1 | batch/cask)", hl.load_dataset("Pastes"))
print(hl.icc(pen), end="\n\n")
print(hl.icc(pas))

# %% [markdown]
# The shares (the residual takes the rest) side by side for every model of this lesson:

# %%
models = {
    "sleepstudy\n(1 | Subject)": m0,
    "sleepstudy\nDays + (1 | Subject)": m1,
    "Dyestuff\n(1 | Batch)": md,
    "Penicillin\n(1 | plate) + (1 | sample)": pen,
    "Pastes\n(1 | batch/cask)": pas,
}
fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
palette = iter(["C0", "C1", "C2", "C4", "C5", "C6"])
colours = {}
for row, (name, m) in enumerate(models.items()):
    shares = hl.icc(m)["ICC"]
    shares["Residual"] = 1 - shares.sum()
    left = 0.0
    for grp, share in shares.items():
        if grp not in colours:
            colours[grp] = "0.8" if grp == "Residual" else next(palette)
        colour = colours[grp]
        ax.barh(row, share, left=left, color=colour, edgecolor="white")
        if share > 0.08:
            ax.text(left + share / 2, row, f"{grp}\n{share:.2f}", ha="center", va="center", fontsize=7)
        left += share
ax.set_yticks(range(len(models)), list(models), fontsize=8)
ax.invert_yaxis()
ax.set_xlim(0, 1)
ax.set_xlabel("share of the total variance")
ax.set_title("Variance decomposition: each grouping factor's ICC, and the residual (grey)")
plt.show()

# %% [markdown]
# In Penicillin most of the variation is between the six samples (their potencies genuinely
# differ); in Pastes it is between casks within batches, and the batches themselves add little.
#
# ## 5. A paired t-test is a random-intercept model
#
# Take only day 0 (baseline) and day 9 (after nine nights of restricted sleep) of each subject.
# The textbook analysis is a **paired t-test** on the 18 differences. The mixed-model analysis
# gives each subject a random intercept and estimates the day effect as a fixed effect:
#
# ```r
# t.test(Reaction ~ day, paired = TRUE)          # R, on wide data
# lmer(Reaction ~ day + (1 | Subject), sub)      # the same test
# ```

# %%
sub = sleep[sleep["Days"].isin([0, 9])].copy()
sub["day"] = pd.Categorical(sub["Days"].astype(str), categories=["0", "9"])
wide = sub.pivot(index="Subject", columns="day", values="Reaction")
wide.head()

# %%
tt = stats.ttest_rel(wide["9"], wide["0"])
mp = hl.lmer("Reaction ~ day + (1 | Subject)", sub)
mp.fixef()

# %%
diff = wide["9"] - wide["0"]
pd.DataFrame({
    "estimate": [diff.mean(), mp.fixef().loc["day9", "Estimate"]],
    "std. error": [diff.std(ddof=1) / np.sqrt(len(diff)), mp.fixef().loc["day9", "Std. Error"]],
    "t": [tt.statistic, mp.fixef().loc["day9", "t value"]],
}, index=["paired t-test (scipy.stats.ttest_rel)", "lmer: Reaction ~ day + (1 | Subject)"])

# %% [markdown]
# **The t values agree** (to the last digit). Why: with two observations per subject, the
# random-intercept model says Var(y) = τ² + σ² and Cov(day 0, day 9) = τ² within a subject.
# The GLS estimate of the day effect is then the mean of the differences, and its variance is
# Var(difference)/n = 2σ²/n — exactly the paired t-test's, because the subject effect cancels
# in each difference. (The equivalence needs the estimated τ² to be positive, i.e. a positive
# correlation between the two days, which is what pairing is for.)
#
# lme4 prints no degrees of freedom or p-value; the paired test's are n − 1 = 17, and with them
# the p-value and confidence interval are identical too:

# %%
est, se = mp.fixef().loc["day9", ["Estimate", "Std. Error"]]
t17 = stats.t(df=len(diff) - 1)
ci_t = tt.confidence_interval()
pd.DataFrame({
    "p-value": [tt.pvalue, 2 * t17.sf(abs(est / se))],
    "95% CI low": [ci_t.low, est - t17.ppf(0.975) * se],
    "95% CI high": [ci_t.high, est + t17.ppf(0.975) * se],
}, index=["paired t-test", "lmer with 17 df"])

# %% [markdown]
# And the correlation between the two days that pairing exploits is this model's ICC:

# %%
v0, v9 = wide["0"].var(), wide["9"].var()
c = np.cov(wide["0"], wide["9"])[0, 1]
print(f"ICC of the random-intercept model:          {hl.icc(mp)['ICC'].iloc[0]:.3f}")
print(f"covariance / mean of the two variances:     {c / ((v0 + v9) / 2):.3f}")
print(f"sample correlation of day 0 and day 9:      {c / np.sqrt(v0 * v9):.3f}")
print(f"(sd on day 0: {np.sqrt(v0):.1f} ms, on day 9: {np.sqrt(v9):.1f} ms)")

# %% [markdown]
# The model's τ² is exactly the covariance of the two days, and τ² + σ² is the *average* of the two
# days' variances: the model assumes both days vary equally. Here they do not (reaction times
# are much more spread out after nine days of sleep restriction), so the ICC (0.40) is smaller than
# the sample correlation (0.52), which divides by the geometric mean of the variances instead.
# The t-test does not care: the difference's variance v₀ + v₉ − 2c is the same either way.
#
# The Bayesian version of the same model answers the question directly: how large is the slowing,
# and how sure are we that it is positive?

# %%
bp = hl.blmer("Reaction ~ day + (1 | Subject)", sub, draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
day9 = bp.posterior["beta"].sel(coef="day9").values.ravel()
print(bp.fixef().round(2))
p_slower = np.mean(day9 > 0)
print(f"\nP(slower on day 9 than on day 0 | data) = {p_slower:.3f}"
      + (f"  (all {day9.size} posterior draws of day9 are positive)" if p_slower == 1 else ""))

# %% [markdown]
# ## Summary
#
# * ICC = τ² / (τ² + σ²): the between-group share of the variance, and the within-group
#   correlation. `hl.icc(fit)` computes it per grouping factor for `lmer` and `blmer` fits (with a
#   posterior interval for the latter); it refuses models with random slopes.
# * The ICC is conditional on the fixed effects in the model.
# * With few groups (Dyestuff: 6 batches) the ICC is very uncertain — the posterior shows it.
# * A paired t-test is `lmer(y ~ condition + (1 | pair))`: same estimate, SE and t.
#
# **Exercises.** (1) Compute the ICC of `Yield ~ 1 + (1 | Batch)` by hand from `md.varcorr()`.
# (2) Repeat the paired comparison for day 0 against day 3: is the slowing already there?
# (3) Use `hl.load_dataset("Machines")` to decompose `score ~ Machine + (1 | Worker)`.
