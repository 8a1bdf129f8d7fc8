# %% [markdown]
# # 3. Growth curves: Sitka spruce under ozone
#
# Diggle, Liang and Zeger's Sitka spruce data: 79 trees grown in four controlled-environment
# chambers, 54 of them in ozone-enriched air (`treat = "ozone"`) and 25 in clean air
# (`"control"`). Each tree's size was measured five times during 1988:
#
# * `size`: log(height × diameter²), a measure of the tree's volume on the log scale;
# * `Time`: days since 1 January 1988 (152, 174, 201, 227, 258);
# * `tree`: tree id; `treat`: `control` or `ozone`.
#
# **Question:** does ozone slow the trees' growth? This is a *growth-curve* analysis: repeated
# measurements of each tree over time, with a curve per tree. We build the model step by step,
# test the ozone effect with a likelihood-ratio test and a **parametric bootstrap**, compare
# Bayesian fits with LOO, and check the model with trace plots, posterior predictive checks and
# residual plots.

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
NSIM = 50 if FAST else 1000  # parametric-bootstrap replicates
SEED = 2024

plt.rcParams["figure.dpi"] = 120  # sharp figures on the documentation site (110-150 dpi)
# a warning prints as "SamplingWarning: message", without the temporary path of the notebook cell
warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"
pd.set_option("display.float_format", "{:.4g}".format)  # Time is in days: small coefficients
pd.set_option("display.width", 130)

sitka = hl.load_dataset("Sitka")
print(sitka.dtypes, end="\n\n")
print(sitka.groupby("treat", observed=True)["tree"].nunique())
sitka.head()

# %% [markdown]
# ## The growth curves

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True, layout="constrained")
for ax, (treat, d) in zip(axes, sitka.groupby("treat", observed=True)):
    for _, t in d.groupby("tree"):
        ax.plot(t["Time"], t["size"], color="C0" if treat == "control" else "C3", lw=0.7, alpha=0.5)
    mean = d.groupby("Time")["size"].mean()
    ax.plot(mean.index, mean.values, color="k", lw=2.5, label="mean")
    ax.set_title(f"{treat} ({d['tree'].nunique()} trees)")
    ax.set_xlabel("Time (days since 1 Jan 1988)")
    ax.legend()
axes[0].set_ylabel("size = log(height × diameter²)")
plt.show()

# %% [markdown]
# **What to see.** Trees differ a lot in size (the vertical spread) and somewhat in growth rate;
# growth slows down over the season (the curves bend), so a straight line in `Time` will not do —
# we use a quadratic, `Time + I(Time^2)` (`I()` protects arithmetic inside a formula, as in R).
# The ozone trees look slightly smaller by the end.
#
# ## Building the model
#
# Start with the growth curve alone: a quadratic in time for the population, and per tree a
# random intercept and a random slope in time, `(Time | tree)`.

# %%
m0 = hl.lmer("size ~ Time + I(Time^2) + (Time | tree)", sitka)
m0.summary()

# %% [markdown]
# Is the random slope needed? Compare with a random intercept only. The random-slope model is
# overwhelmingly better: trees really do grow at different rates.

# %%
m0_int = hl.lmer("size ~ Time + I(Time^2) + (1 | tree)", sitka)
hl.anova(m0_int, m0, names=["(1 | tree)", "(Time | tree)"])

# %% [markdown]
# Now the treatment. Ozone could change the size (`treat`) and the growth rate (`treat:Time`,
# the interaction: a different slope in time for ozone trees):

# %%
m1 = hl.lmer("size ~ Time + I(Time^2) + treat + treat:Time + (Time | tree)", sitka)
m1.fixef()

# %% [markdown]
# **Reading the coefficients.** The term names are lme4's: `treatozone` is the difference
# ozone − control at `Time` = 0 (1 January, outside the data — not interpretable on its own),
# and `Time:treatozone` the difference in slope: ozone trees gain about 0.0021 less log-size per
# day. Over the 106 days of measurement that is 0.23 on the log scale, i.e. about 20% less volume
# growth. The t value (≈ −2.8) already suggests the effect is real; lme4 gives no p-value, so we
# test it.
#
# ## Testing the ozone effect
#
# ### Likelihood-ratio test
#
# `hl.anova` refits both models by maximum likelihood (REML likelihoods of models with different
# fixed effects are not comparable) and compares them with a χ² test on 2 df (`treat` and
# `treat:Time`), exactly as lme4's `anova(m0, m1)`:

# %%
hl.anova(m0, m1)

# %% [markdown]
# ### Parametric bootstrap
#
# The χ² distribution of the LRT statistic is an *asymptotic* result; with 79 trees it is
# probably fine, but a parametric bootstrap checks it without the approximation: simulate many
# data sets from the fitted **null** model (new tree effects and residuals), refit both models to
# each, and see how often the simulated statistic is as large as the observed one (pbkrtest's
# `PBmodcomp` in R).

# %%
boot = hl.bootstrap_lrt(m0, m1, nsim=NSIM, seed=SEED)
print(boot)

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
tstar = boot.stats[np.isfinite(boot.stats)]
ax.hist(tstar, bins=40, density=True, color="0.7", label=f"bootstrap LRT statistics ({len(tstar)})")
grid = np.linspace(0, max(tstar.max(), boot.statistic) * 1.05, 200)
ax.plot(grid, stats.chi2(boot.df).pdf(grid), color="C0", lw=2, label=f"χ²({boot.df}) density")
ax.axvline(boot.statistic, color="C3", lw=2, label=f"observed {boot.statistic:.2f}")
ax.set_xlabel("2 × (logLik of m1 − logLik of m0)")
ax.set_yticks([])
ax.legend(fontsize=8)
ax.set_title("Null distribution of the LRT statistic: bootstrap vs χ²")
plt.show()

# %% [markdown]
# **Reading it.** The histogram of simulated statistics is close to the χ²(2) density, but its
# tail is a little heavier, so the bootstrap p-value (`PBtest`) is a little larger than the χ²
# one (`LRT`): both are about 0.01. This is typical — likelihood-ratio tests of *fixed* effects in
# mixed models are slightly anti-conservative with moderate numbers of groups, which is why R
# users reach for pbkrtest (parametric bootstrap, Kenward–Roger). The conclusion stands: strong
# evidence that ozone changes growth. (With `nsim` replicates the smallest possible bootstrap
# p-value is 1/(nsim + 1), so small p-values need many replicates.)
#
# ## The Bayesian fits
#
# The same two models with `hl.blmer`. With a single grouping factor the random effects can be
# integrated out analytically, so `blmer` samples the few population parameters only (the
# *marginal* route, noted at the bottom of the summary) — which makes these fits fast.

# %%
b0 = hl.blmer("size ~ Time + I(Time^2) + (Time | tree)", sitka, draws=DRAWS, tune=TUNE, seed=SEED,
              progressbar=False)
b1 = hl.blmer("size ~ Time + I(Time^2) + treat + treat:Time + (Time | tree)", sitka, draws=DRAWS, tune=TUNE,
              seed=SEED, progressbar=False)
b1.summary()

# %% [markdown]
# The brms-style summary rounds to two decimals, which hides coefficients per *day*; `fixef()`
# has the full numbers (posterior mean, sd, 95% interval, R-hat and bulk ESS):

# %%
b1.fixef()

# %% [markdown]
# The posterior of the interaction answers the question directly:

# %%
slope_diff = b1.posterior["beta"].sel(coef="Time:treatozone").values.ravel()
print(f"posterior mean of Time:treatozone: {slope_diff.mean():.5f} per day")
print(f"95% interval: {np.quantile(slope_diff, 0.025):.5f} to {np.quantile(slope_diff, 0.975):.5f}")
print(f"P(ozone slows growth | data) = P(Time:treatozone < 0) = {np.mean(slope_diff < 0):.3f}")

# %% [markdown]
# ### Comparing the Bayesian fits with LOO
#
# `hl.compare` ranks the models by their estimated out-of-sample predictive accuracy
# (`elpd_loo`, higher is better), with the difference to the best model and its standard error.

# %%
hl.compare(b0, b1, names=["no treatment", "treat + treat:Time"])

# %% [markdown]
# **Reading the table.** Two things. First, the models are indistinguishable: leaving out one
# measurement of a tree, the tree's other four measurements and its own random intercept and
# slope predict it well, whatever the population model says about ozone. Second, the notes
# below the table warn that many observations have Pareto k > 0.7: with only five points per
# tree and two random effects per tree, each point is influential, and the importance-sampling
# shortcut behind PSIS-LOO is unreliable.
#
# Both point to the same remedy, and to a better question. The treatment is a property of
# *trees*, so ask how well each model predicts a **new tree**: K-fold cross-validation that holds
# out whole trees (`group="tree"`), refitting the model without them and drawing their random
# effects from the fitted population. For a new tree the model knows only its treatment and the
# population curve, so if the ozone terms help prediction anywhere, it is here.

# %%
K = 4 if FAST else 10
cv0 = hl.kfold(b0, k=K, group="tree", seed=SEED)
cv1 = hl.kfold(b1, k=K, group="tree", seed=SEED)
hl.compare(cv0, cv1, names=["no treatment", "treat + treat:Time"])

# %% [markdown]
# **Reading it.** Even for new trees the ozone terms barely change the predictive accuracy: the
# difference is well within its standard error. A new tree's size is dominated by how large that
# particular tree happens to be (sd ≈ 0.86 on the log scale), and the ozone effect (≈ 0.2–0.3 by
# the end of the season) is small by comparison and has to be estimated from the training trees,
# with their own noise. (K-fold estimates also vary with how the trees happen to be split into
# folds — by a few elpd here — so read them together with their standard errors; 10 folds are the
# usual choice.)
#
# That is a general lesson: **a clear effect on the population mean need not improve the
# prediction of individuals**. A test and cross-validation answer different questions — "is the
# effect different from zero?" versus "does including it predict new data better?" — and both
# answers are worth reporting.
#
# ## Diagnostics
#
# ### Trace and rank plots: did the sampler work?
#
# `hl.plot_trace` shows, per parameter, the posterior density per chain, the trace, and the rank
# histogram per chain. What to look for: overlapping densities, traces that look like stationary
# noise ("hairy caterpillars") with the chains mixed together, and flat rank histograms;
# R-hat ≈ 1.00 in the titles.

# %%
fig = hl.plot_trace(b1, var_names=["Time:treatozone", "sd Time | tree", "cor (Intercept), Time | tree",
                                   "sigma (Residual)"])

# %% [markdown]
# ### Posterior predictive check: does the model reproduce the data?
#
# Replicated data sets drawn from the posterior, against the observed distribution of `size`.
# What to look for: the black curve should look like one more blue curve.

# %%
fig = hl.plot_ppc(b1, num_samples=50)

# %% [markdown]
# A statistic the model was not fitted to directly — the spread (standard deviation) of size:

# %%
fig = hl.plot_ppc(b1, kind="stat", stat="std")

# %% [markdown]
# ### Residuals
#
# `hl.plot_residuals` shows residuals against fitted values (look for curvature or a funnel)
# and normal QQ plots of the residuals and of each random effect (look for points off the line).
# For the REML fit:

# %%
fig = hl.plot_residuals(m1)

# %% [markdown]
# **What to see.** No strong pattern against the fitted values, and the residuals are close to
# normal with somewhat heavy tails (a few trees have unusual measurements). The random intercepts
# and slopes are roughly normal. The Bayesian fit's residuals (posterior means) look the same:

# %%
fig = hl.plot_residuals(b1)

# %% [markdown]
# ## The fitted growth curves
#
# Population-level curves (`re_form="~0"`: a typical tree) for each treatment, with 95% posterior
# intervals from the draws of the Bayesian fit, and the REML fit's curves dashed:

# %%
grid = pd.DataFrame([(t, d) for t in ["control", "ozone"] for d in np.linspace(152, 258, 50)],
                    columns=["treat", "Time"])
grid["treat"] = pd.Categorical(grid["treat"], categories=["control", "ozone"])
draws = b1.predict(grid, re_form="~0", kind="draws").values.reshape(-1, len(grid))
lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
freq = m1.predict(grid, re_form="~0")

fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for treat, colour in [("control", "C0"), ("ozone", "C3")]:
    sel = (grid["treat"] == treat).to_numpy()
    ax.fill_between(grid.loc[sel, "Time"], lo[sel], hi[sel], color=colour, alpha=0.2)
    ax.plot(grid.loc[sel, "Time"], draws.mean(axis=0)[sel], color=colour, lw=2, label=f"{treat}: blmer")
    ax.plot(grid.loc[sel, "Time"], freq[sel], color="k", lw=1, ls="--")
    obs = sitka[sitka["treat"] == treat].groupby("Time")["size"].mean()
    ax.scatter(obs.index, obs.values, color=colour, zorder=3, s=20)
ax.plot([], [], color="k", ls="--", lw=1, label="lmer")
ax.set_xlabel("Time (days since 1 Jan 1988)")
ax.set_ylabel("size")
ax.legend()
ax.set_title("Population growth curves (points: observed means)")
plt.show()

# %% [markdown]
# ## Summary
#
# * Growth curves: a polynomial in time for the population (`Time + I(Time^2)`), and random
#   intercepts and slopes per individual (`(Time | tree)`); the random slope is clearly needed.
# * Ozone slows growth: `Time:treatozone` ≈ −0.0021 per day. The LRT (χ² on 2 df) and the
#   parametric bootstrap (`hl.bootstrap_lrt`) agree; the posterior puts almost all its mass below 0.
# * LOO and K-fold cross-validation measure predictive accuracy, which here barely depends on
#   the treatment terms — for measurements of known trees (LOO, with unreliable Pareto k) and for
#   new trees (K-fold by tree). A different question from a test.
# * Check every fit: trace/rank plots and R-hat (the sampler), posterior predictive checks (the
#   model against the data), residual plots (assumptions).
#
# **Exercises.** (1) Does the curvature differ between treatments? Add `treat:I(Time^2)` and test
# it. (2) Rescale time to months (`sitka["month"] = (sitka["Time"] - 152) / 30.4`) and refit:
# which numbers change, which stay the same? (3) Run `hl.bootstrap_lrt(m0_int, m0)` for the random
# slope: how does the bootstrap p-value compare with the χ² one?
