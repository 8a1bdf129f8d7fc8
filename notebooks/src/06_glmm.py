# %% [markdown]
# # 6. Generalised linear mixed models: proportions, counts, reaction times and ratings
#
# When the response is a count of successes out of n trials, or a count of events, a normal
# model is the wrong tool: the variance depends on the mean and the response cannot be negative.
# A **GLMM** keeps the linear predictor with its random effects, η = Xβ + Zb, and links it to the
# mean of a binomial or Poisson (or negative-binomial) response:
#
# | family | response | link | mean |
# | --- | --- | --- | --- |
# | binomial | successes out of n | logit | p = 1 / (1 + e^−η) |
# | Poisson / negative binomial | count | log | μ = e^η |
#
# `hl.glmer` fits GLMMs by maximum likelihood with lme4's **Laplace approximation** to the
# integral over the random effects (`glmer(..., family = binomial)`, `nAGQ = 1`).
# `hl.blmer(..., family=...)` samples the exact posterior with NUTS, no approximation needed.
#
# Two classic data sets: **cbpp** (binomial) and **grouseticks** (counts).

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import hierlm as hl

FAST = os.environ.get("HIERLM_NOTEBOOK_FAST") == "1"  # CI runs every notebook in a small mode
DRAWS, TUNE = (200, 200) if FAST else (1000, 1000)
SEED = 2024

plt.rcParams["figure.dpi"] = 120  # sharp figures on the documentation site (110-150 dpi)
# a warning prints as "SamplingWarning: message", without the temporary path of the notebook cell
warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)

# %% [markdown]
# ## Part 1. cbpp: a binomial GLMM
#
# Contagious bovine pleuropneumonia in 15 herds of zebu cattle in Ethiopia, followed over four
# periods (lme4's `cbpp`). For each herd and period: `size` animals tested and `incidence` new
# serological cases. Does incidence change over the periods?

# %%
cbpp = hl.load_dataset("cbpp")
cbpp["proportion"] = cbpp["incidence"] / cbpp["size"]
cbpp.head(8)

# %%
fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
for herd, d in cbpp.groupby("herd", observed=True):
    ax.plot(d["period"].astype(int), d["proportion"], marker="o", ms=3, lw=0.8, alpha=0.6, color="0.4")
overall = cbpp.groupby("period", observed=True)[["incidence", "size"]].sum()
ax.plot(overall.index.astype(int), overall["incidence"] / overall["size"], color="C3", lw=2.5, marker="o",
        label="all herds pooled")
ax.set_xticks([1, 2, 3, 4])
ax.set_xlabel("period")
ax.set_ylabel("proportion of new cases")
ax.set_title("cbpp: one grey line per herd")
ax.legend()
plt.show()

# %% [markdown]
# Incidence falls after the first period, and herds differ. The model (lme4's own example):
#
# ```r
# glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), family = binomial, data = cbpp)
# ```
#
# `cbind(successes, failures)` gives the binomial response; `period` has treatment contrasts
# (`period2`, `period3`, `period4` compare each period with period 1, on the log-odds scale);
# `(1 | herd)` gives each herd its own baseline log-odds.

# %%
CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
g = hl.glmer(CBPP, cbpp, family="binomial")
g.summary()

# %% [markdown]
# **What to look at.** The fixed effects are log-odds: period 1's odds of a new case are
# e^−1.40 ≈ 0.25 (a probability of 0.20) in a typical herd (b = 0), and later periods have odds
# e^−0.99 ≈ 0.37, 0.32 and 0.21 times that. There is no residual variance in a binomial model;
# the herd sd (0.64 on the logit scale) says that herds' odds differ by a factor of about
# e^(2 × 0.64) ≈ 3.6 between a herd one sd above and one below the typical herd. As odds ratios:

# %%
np.exp(g.fixef()[["Estimate"]]).rename(columns={"Estimate": "odds ratio"})

# %% [markdown]
# ### The Bayesian fit
#
# Same formula, with `family="binomial"`. Its priors are on the logit scale: normal(0, 2.5) for
# the fixed effects and half-normal(2.5) for the herd sd (see notebook 5).

# %%
b = hl.blmer(CBPP, cbpp, family="binomial", draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
b.summary()

# %%
hl.side_by_side(g, b)

# %% [markdown]
# The fixed effects agree closely. The herd sd is larger in the posterior (posterior mean
# ≈ 0.75 against the ML estimate 0.64): with 15 herds the likelihood of an sd is skewed, ML
# estimates of variances are biased low, and the posterior mean averages over the
# uncertainty instead of taking the mode.
#
# ### Predictions: `predict(type="response")`
#
# Predictions come on the **link** scale (log-odds) or the **response** scale (probabilities);
# `type="response"` is the default, as in lme4. `re_form` chooses which random effects to add:
# `None` (all: the herd's own prediction) or `"~0"` (none: a *typical* herd with b = 0).

# %%
rows = cbpp["herd"] == "1"
pd.DataFrame({
    "period": cbpp.loc[rows, "period"].to_numpy(),
    "observed": cbpp.loc[rows, "proportion"].to_numpy(),
    "glmer, herd 1": g.predict(type="response")[rows.to_numpy()],
    "blmer, herd 1": b.predict(type="response")[rows.to_numpy()],
    "glmer, typical herd": g.predict(re_form="~0", type="response")[rows.to_numpy()],
    "glmer, log-odds": g.predict(type="link")[rows.to_numpy()],
})

# %% [markdown]
# New data work the same way. A subtle point for GLMMs: the prediction for a *typical* herd
# (b = 0) is **not** the average over herds, because the inverse link is curved —
# averaging probabilities over the spread of herds gives a higher value than plugging in the
# average log-odds. The Bayesian fit can average over new herds directly: with
# `allow_new_levels=True` a new herd's effect is drawn from N(0, σ²_herd) for every posterior draw.

# %%
periods = pd.Categorical(["1", "2", "3", "4"], categories=["1", "2", "3", "4"])
new = pd.DataFrame({"period": periods, "herd": "a new herd"})
pd.DataFrame({
    "observed (pooled)": (overall["incidence"] / overall["size"]).to_numpy(),
    "glmer, typical herd (b = 0)": g.predict(new, re_form="~0"),
    "blmer, typical herd (b = 0)": b.predict(new, re_form="~0"),
    "blmer, average over new herds": b.predict(new, allow_new_levels=True),
}, index=pd.Index(periods, name="period"))

# %% [markdown]
# `kind="draws"` returns every posterior draw of the prediction, for intervals:

# %%
draws = b.predict(new, re_form="~0", kind="draws")  # xarray: chain × draw × obs
lo, hi = np.quantile(draws.values.reshape(-1, 4), [0.025, 0.975], axis=0)
pd.DataFrame({"mean": draws.mean(("chain", "draw")).values, "2.5%": lo, "97.5%": hi},
             index=pd.Index(periods, name="period"))

# %% [markdown]
# ### Does period matter? LRT and LOO
#
# The likelihood-ratio test compares the model with and without `period` (lme4's
# `anova(g0, g)`); `hl.compare` compares the Bayesian fits by their expected log predictive
# density estimated with leave-one-out cross-validation (PSIS-LOO; `loo::loo_compare` in R).

# %%
g0 = hl.glmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbpp, family="binomial")
hl.anova(g0, g, names=["~ 1 + (1 | herd)", "~ period + (1 | herd)"])

# %%
b0 = hl.blmer("cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbpp, family="binomial", draws=DRAWS,
              tune=TUNE, seed=SEED, progressbar=False)
hl.compare(b0, b, names=["~ 1 + (1 | herd)", "~ period + (1 | herd)"])

# %% [markdown]
# **Reading the tables.** The LRT: χ² ≈ 26 on 3 df, p ≈ 10⁻⁵ — strong evidence that incidence
# changes with period. LOO: the period model has the higher `elpd_loo` (expected log predictive
# density: higher is better) by about 11, but the standard error of that difference (`se_diff`)
# is about 9, so by LOO alone the preference is not decisive. With only 56 rows, each a whole
# herd-period with up to 30 animals, a few rows dominate: LOO leaves out one herd-period at a
# time, and the rows with Pareto k > 0.7 (whose removal changes the posterior too much for the
# importance-sampling shortcut) were refitted exactly, as the notes say. The two tools answer
# different questions: the LRT asks whether the period effects are zero; LOO asks how much better
# the model predicts a held-out herd-period — and with so few rows that estimate is noisy.
#
# ### Posterior predictive check for counts
#
# For a discrete response, density or histogram overlays are hard to read. A clearer check:
# how many herd-periods had 0, 1, 2, … new cases, observed (bars) against the same frequencies in
# data sets replicated from the posterior (points: median, lines: 90% interval over replicates).
# `fit.posterior_predictive()` draws the replicates (one per posterior draw).

# %%
def plot_count_ppc(fit, counts, max_count, title):
    """Observed frequency of each count against its posterior predictive distribution."""
    yrep = fit.posterior_predictive()["y"].values.reshape(-1, len(counts)).astype(int)
    k = np.arange(max_count + 1)

    def capped(y):
        return np.bincount(np.minimum(y, max_count), minlength=max_count + 1)

    freq = np.array([capped(r) for r in yrep])
    _, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
    ax.bar(k, capped(np.asarray(counts)), color="0.75", label="observed")
    lo, med, hi = np.quantile(freq, [0.05, 0.5, 0.95], axis=0)
    ax.vlines(k, lo, hi, color="C0", lw=2, label="posterior predictive 90%")
    ax.scatter(k, med, color="C0", zorder=3, s=18)
    ax.set_xticks(k, [str(i) for i in k[:-1]] + [f"≥{max_count}"])
    ax.set_xlabel("count")
    ax.set_ylabel("number of rows")
    ax.set_title(title)
    ax.legend(frameon=False)
    plt.show()


plot_count_ppc(b, cbpp["incidence"], 8, "cbpp: new cases per herd and period")

# %% [markdown]
# ## Part 2. grouseticks: counts with overdispersion
#
# Elston et al. (2001) counted sheep ticks on the heads of red grouse chicks (`TICKS`), in three
# years (`YEAR`), at 63 locations of different altitude (`HEIGHT`, metres; `cHEIGHT` is the same
# centred at its mean), with chicks grouped in 118 broods (`BROOD`); every row is one chick
# (`INDEX`). Broods are nested within locations.

# %%
ticks = hl.load_dataset("grouseticks")
print(ticks.dtypes, end="\n\n")
ticks.groupby("YEAR", observed=True)["TICKS"].agg(["count", "mean", "var", "max"])

# %% [markdown]
# Counts have a mean–variance relationship: for a Poisson variable the variance equals the mean.
# Here the variance is 20–40 times the mean — far more spread than Poisson. Part of that is
# between broods and locations (the random effects will absorb it); whether any is left is a
# question for the model.

# %%
fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
for k, (year, d) in enumerate(ticks.groupby("YEAR", observed=True)):
    jitter = np.random.default_rng(k).uniform(-0.15, 0.15, len(d))
    ax.scatter(d["HEIGHT"], d["TICKS"] + 1 + jitter, s=10, alpha=0.5, color=f"C{k}", label=f"19{year}")
ax.set_yscale("log")
ax.set_xlabel("HEIGHT (m above sea level)")
ax.set_ylabel("TICKS + 1 (log scale)")
ax.legend(title="YEAR")
ax.set_title("grouseticks: fewer ticks higher up; 1996 a bad year")
plt.show()

# %% [markdown]
# A Poisson GLMM with random intercepts for broods and locations. We use the centred height
# `cHEIGHT`, so that the intercept is the log mean count at the average altitude rather than at
# sea level (with `HEIGHT` the intercept and slope are correlated at −0.99, and the model is
# the same):

# %%
TICKS = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)"
gp = hl.glmer(TICKS, ticks, family="poisson")
gp.summary()

# %% [markdown]
# **What to look at.** On the log scale: 1996 has e^1.17 ≈ 3.2 times the ticks of 1995, 1997
# e^−0.98 ≈ 0.38 times; every 100 m of altitude multiplies the expected count by
# e^(−0.0235 × 100) ≈ 0.095. Broods vary more (sd 0.77) than locations (0.57).
#
# ### Checking for overdispersion
#
# If the Poisson model were right, the sum of squared Pearson residuals (y − μ)/√μ would be
# roughly its residual degrees of freedom. A ratio well above 1 means overdispersion (Bolker's
# `overdisp_fun` in R):

# %%
mu = gp.fitted()
pearson = (ticks["TICKS"].to_numpy() - mu) / np.sqrt(mu)
df_resid = gp.nobs() - gp.npar()
print(f"sum of squared Pearson residuals: {np.sum(pearson**2):.1f} on {df_resid} df; "
      f"ratio {np.sum(pearson**2) / df_resid:.2f}")

# %% [markdown]
# Some overdispersion remains (ratio ≈ 1.7 after the brood and location effects). Two standard
# remedies:
#
# * a **negative-binomial** response (variance μ + μ²/φ): `family="negbinomial"`
#   (lme4: `glmer.nb`);
# * an **observation-level random effect**, `(1 | INDEX)`: every chick gets its own normal
#   deviation on the log scale (a Poisson–lognormal model; Elston et al.'s choice).

# %%
gnb = hl.glmer(TICKS, ticks, family="negbinomial")
golre = hl.glmer("TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)", ticks, family="poisson")
pd.DataFrame({
    "AIC": [gp.aic(), gnb.aic(), golre.aic()],
    "cHEIGHT": [m.fixef().loc["cHEIGHT", "Estimate"] for m in (gp, gnb, golre)],
    "SE cHEIGHT": [m.fixef().loc["cHEIGHT", "Std. Error"] for m in (gp, gnb, golre)],
}, index=["Poisson", "negative binomial", "Poisson + (1 | INDEX)"])

# %% [markdown]
# Both remedies improve the AIC a lot; the fixed effects hardly change, and their standard
# errors grow only slightly. The Poisson + `(1 | INDEX)` model's variance components:

# %%
golre.varcorr()

# %% [markdown]
# ### The Bayesian fits
#
# Counts with a few hundred random-effect levels are where NUTS earns its keep: the same three
# models with `hl.blmer`. One parameter is hard to sample: the **location sd**. Broods are
# nested in locations and most locations hold only one or two broods, so the data can hardly
# tell "this brood is unusual" from "this location is unusual" — the two sds trade off against
# each other. With the default 1000 draws the sampler warns about R-hat and effective sample
# size for it; we follow the warning's advice and run longer chains with smaller steps
# (`target_accept=0.95`).

# %%
SETTINGS = {"draws": DRAWS, "tune": TUNE} if FAST else {"draws": 3000, "tune": 2000, "target_accept": 0.95}
OLRE = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)"
bp = hl.blmer(TICKS, ticks, family="poisson", seed=SEED, progressbar=False, **SETTINGS)
bnb = hl.blmer(TICKS, ticks, family="negbinomial", seed=SEED, progressbar=False, **SETTINGS)
bolre = hl.blmer(OLRE, ticks, family="poisson", seed=SEED, progressbar=False, **SETTINGS)
bnb.summary()

# %% [markdown]
# The negative binomial's `shape` φ sets the extra variance: Var = μ + μ²/φ. With φ ≈ 3, a
# brood-and-location-adjusted mean of 10 ticks has variance ≈ 10 + 100/3 ≈ 43 instead of 10.

# %%
hl.side_by_side(gnb, bnb)

# %% [markdown]
# ### Posterior predictive checks: zeros and spread
#
# Overdispersion shows up in the *shape* of the count distribution: many zeros and a long tail.
# The count plot from Part 1, for the Poisson and the negative-binomial fits:

# %%
plot_count_ppc(bp, ticks["TICKS"], 15, "grouseticks, Poisson GLMM")
plot_count_ppc(bnb, ticks["TICKS"], 15, "grouseticks, negative-binomial GLMM")

# %% [markdown]
# And a statistic, with `hl.plot_ppc(kind="stat")`: the standard deviation of the counts in each
# replicated data set against the observed one (the dot).

# %%
fig = hl.plot_ppc(bp, kind="stat", stat="std")

# %%
fig = hl.plot_ppc(bnb, kind="stat", stat="std")

# %% [markdown]
# **What to see.** The Poisson GLMM predicts too few zeros (the observed 126 chicks without ticks
# sit at the top of its interval) and too many ones; the negative binomial matches the zeros.
# The overall spread is reproduced by both — the brood and location effects already absorb much
# of the overdispersion — but the Poisson's replicated sds are slightly too small (the observed
# sd lies in their upper tail), while the negative binomial allows a wide range of spreads (its
# long tail can produce occasional very large counts). Here the zeros are the more telling check.

# %% [markdown]
# ### Comparing the count models: LOO, then K-fold

# %%
hl.compare(bp, bnb, bolre, names=["Poisson", "negative binomial", "Poisson + (1 | INDEX)"])

# %% [markdown]
# **Reading the table.** The overdispersed models predict far better than the plain Poisson, and
# taken at face value the observation-level random effect beats the negative binomial by many
# standard errors. But look at `n_bad_k` and the notes below the table: the model with
# `(1 | INDEX)` has one parameter *per observation*, so leaving an observation out changes the
# posterior of its own parameter a lot, and about a third of the observations get Pareto k > 0.7.
# Its PSIS-LOO estimate is then unreliable — and typically optimistic, exactly in the model's
# favour. (The plain Poisson has too many high-k observations as well.)
#
# The remedy is **K-fold cross-validation**: refit each model K times, each time holding out a
# tenth of the chicks, and score the held-out ones. `hl.kfold` does it, with the same folds for
# every model (same `k` and `seed`), and `hl.compare` accepts its results. (This is the slow cell
# of the notebook: 10 refits per model.)

# %%
K = 4 if FAST else 10
cv = {name: hl.kfold(fit, k=K, seed=SEED) for name, fit in
      [("Poisson", bp), ("negative binomial", bnb), ("Poisson + (1 | INDEX)", bolre)]}
hl.compare(**cv)

# %% [markdown]
# **Reading it.** With honest cross-validation the negative binomial and the observation-level
# random effect predict equally well (a difference well within its standard error), and both far
# better than the plain Poisson. PSIS-LOO's apparent advantage of `(1 | INDEX)` was an artefact of
# the unreliable importance sampling. Either overdispersed model is a sound choice; the fixed
# effects barely differ between them.

# %% [markdown]
# ### Expected counts along the altitude gradient
#
# Population-level predictions (`re_form="~0"`: a typical brood at a typical location) on the
# response scale, per year, with 95% posterior intervals from `kind="draws"`, over the data.

# %%
grid = pd.DataFrame([(y, h) for y in ["95", "96", "97"] for h in np.linspace(403, 533, 40)], columns=["YEAR", "HEIGHT"])
grid["YEAR"] = pd.Categorical(grid["YEAR"], categories=["95", "96", "97"])
grid["cHEIGHT"] = grid["HEIGHT"] - ticks["HEIGHT"].mean()
pred_g = gnb.predict(grid, re_form="~0", type="response")
pred_b = bnb.predict(grid, re_form="~0", kind="draws").values.reshape(-1, len(grid))
lo, hi = np.quantile(pred_b, [0.025, 0.975], axis=0)

fig, ax = plt.subplots(figsize=(7.5, 4), layout="constrained")
for k, year in enumerate(["95", "96", "97"]):
    sel = (grid["YEAR"] == year).to_numpy()
    obs = ticks[ticks["YEAR"] == year]
    ax.scatter(obs["HEIGHT"], obs["TICKS"], s=8, alpha=0.35, color=f"C{k}")
    ax.fill_between(grid.loc[sel, "HEIGHT"], lo[sel], hi[sel], color=f"C{k}", alpha=0.2)
    ax.plot(grid.loc[sel, "HEIGHT"], pred_b.mean(axis=0)[sel], color=f"C{k}", lw=2, label=f"19{year}: blmer")
    ax.plot(grid.loc[sel, "HEIGHT"], pred_g[sel], color="k", lw=1, ls="--")
ax.plot([], [], color="k", ls="--", lw=1, label="glmer (same model)")
ax.set_ylim(0, 40)
ax.set_xlabel("HEIGHT (m)")
ax.set_ylabel("TICKS")
ax.legend(fontsize=8)
ax.set_title("Negative-binomial GLMM: expected ticks for a typical brood and location")
plt.show()

# %% [markdown]
# The Bayesian posterior mean (coloured) and the ML prediction (dashed) nearly coincide; at low
# altitudes the posterior mean lies slightly above, because it averages e^η over the posterior
# and the mean of e^η exceeds e to the mean of η. The bands show the uncertainty of the
# *population* curve — individual chicks scatter far more, because of the brood and location
# effects and the negative-binomial noise.
#
# ## Part 3. Reaction times: lognormal, Gamma or Student-t?
#
# Reaction times are positive and skewed to the right: a few slow responses stretch the upper tail,
# and the spread grows with the mean. A normal model ignores both. Three families are common in
# psycholinguistics and cognitive psychology:
#
# | family | model | effects | spread |
# | --- | --- | --- | --- |
# | `lognormal` | log y ~ Normal(η, σ) | on log(ms): e^b is a ratio | SD ∝ mean |
# | `gamma`, log link | y ~ Gamma(shape, mean e^η) | on log(ms): e^b is a ratio | SD ∝ mean, skew 2/√shape |
# | `student` | y ~ Student-t(ν, η, σ) | in ms | constant, heavy tails (ν small) absorb outliers |
#
# `blmer` fits all three with the same formula (`hl.glmer` fits the Gamma one by lme4's Laplace
# approximation; the lognormal is `lmer` on log y). Here on sleepstudy's reaction times: the
# average reaction time of each subject on each of ten days of sleep deprivation.

# %%
sleep = hl.load_dataset("sleepstudy")
RT = "Reaction ~ Days + (Days | Subject)"
rt_fits = {}
for name, fam in [("lognormal", "lognormal"), ("Gamma (log)", hl.family("gamma", link="log")),
                  ("Student-t", "student")]:
    rt_fits[name] = hl.blmer(RT, sleep, family=fam, draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
rt_fits["Gamma (log)"].summary()

# %% [markdown]
# The Gamma model's coefficients are on the log scale: e^0.034 ≈ 1.035, reaction times grow by about
# 3.5% per day of sleep deprivation; `shape` is the Gamma's shape (its coefficient of variation is
# 1/√shape). `hl.glmer` fits the same model by maximum likelihood:

# %%
hl.glmer(RT, sleep, family=hl.family("gamma", link="log")).fixef()

# %% [markdown]
# Which family predicts new reaction times best? The three likelihoods are all densities of the
# reaction time itself (the lognormal's includes the Jacobian of the log), so their expected log
# predictive densities are comparable, and `hl.compare` ranks them by PSIS-LOO:

# %%
hl.compare(*rt_fits.values(), names=list(rt_fits))

# %% [markdown]
# The Student-t fit estimates few degrees of freedom — the tails are heavier than normal: a handful
# of very slow days (subject 332 on day 9, for instance) would pull a normal or lognormal fit around,
# and the t fit downweights them:

# %%
rt_fits["Student-t"].diagnostics().loc[["b_Days", "sigma", "nu"]]

# %%
fig = hl.plot_ppc(rt_fits["Gamma (log)"], num_samples=40)
plt.show()

# %% [markdown]
# On the response scale all three describe the same slowing. `predict(type="response")` gives the
# expected reaction time — for the lognormal e^(η + σ²/2), the mean of a lognormal, not e^η (its
# median):

# %%
days = pd.DataFrame({"Days": [0, 9], "Subject": ["new", "new"]})
pd.DataFrame({name: f.predict(days, re_form="~0") for name, f in rt_fits.items()}, index=["day 0", "day 9"])

# %% [markdown]
# ## Part 4. A Likert item: an ordinal (cumulative) mixed model
#
# In the verbal aggression data (`VerbAgg`), 316 people said whether they would react to 24
# frustrating situations by cursing, scolding or shouting: *no*, *perhaps* or *yes*. The answer is
# **ordered** but not numeric — the distance from *no* to *perhaps* need not equal the distance from
# *perhaps* to *yes*. A cumulative (proportional-odds) model keeps the order and nothing more: a latent
# propensity η = Xβ + b_person + b_item, and thresholds α₁ < α₂ that cut it into the categories,
#
# P(answer ≤ k) = logit⁻¹(α_k − η).
#
# Positive coefficients push the answer towards *yes*. `hl.glmer(..., family="cumulative")` fits it
# as `ordinal::clmm` does (Laplace); `hl.blmer(..., family="cumulative")` with brms's
# parametrisation and priors (thresholds ~ Student-t(3, 0, 2.5)). The response must be an ordered
# pandas Categorical.

# %%
va = hl.load_dataset("VerbAgg")
va["resp"] = pd.Categorical(va["resp"], categories=["no", "perhaps", "yes"], ordered=True)
LIKERT = "resp ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)"
clm = hl.glmer(LIKERT, va, family="cumulative")
clm.thresholds()

# %%
bclm = hl.blmer(LIKERT, va, family="cumulative", draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
d = bclm.diagnostics()  # thresholds are labelled Intercept[no|perhaps], ..., coefficients b_Anger, ...
ml = pd.concat([clm.thresholds()["Estimate"], clm.fixef()["Estimate"]])
labels = [f"Intercept[{k}]" for k in clm.thresholds().index] + [f"b_{k}" for k in clm.fixef().index]
pd.DataFrame({"clmm (ML)": ml.to_numpy(), "blmer (posterior mean)": d.loc[labels, "Estimate"].to_numpy(),
              "posterior SD": d.loc[labels, "Est.Error"].to_numpy()}, index=ml.index)

# %% [markdown]
# The two fits agree. Shouting is much less likely to be endorsed than cursing (β = −1.9 on the
# latent logit scale), and what people *would* do (`situself`: a situation where they are to blame)
# gets fewer *yes* answers than situations where someone else is to blame.
#
# Coefficients on a latent scale are hard to read; category probabilities are not.
# `predict(type="prob")` gives them, here for a typical person and item (`re_form="~0"`):

# %%
grid = pd.DataFrame({"btype": ["curse", "scold", "shout"] * 2, "situ": ["other"] * 3 + ["self"] * 3,
                     "Gender": "F", "Anger": 20, "id": "1", "item": "S1WantCurse"})
probs = bclm.predict(grid, re_form="~0", type="prob")
probs.index = [f"{b}, {s}" for b, s in zip(grid["btype"], grid["situ"])]
probs

# %%
fig = hl.plot_ppc(bclm)
plt.show()

# %% [markdown]
# The posterior predictive check of an ordinal response compares the frequencies of the categories:
# the bars are the observed shares of *no*, *perhaps* and *yes*, the points the replicated data sets'
# shares with their 95% intervals.
#
# ## Summary
#
# * `hl.glmer(formula, data, family=...)` is lme4's Laplace GLMM; `hl.blmer(..., family=...)` the
#   Bayesian one with the same formula. Binomial responses as `cbind(successes, failures)`.
# * Coefficients are on the link scale: exponentiate for odds ratios (logit) or rate ratios (log).
# * `predict(type="response")` gives probabilities / expected counts, `type="link"` the linear
#   predictor; `re_form="~0"` a typical group; `allow_new_levels=True` (Bayesian) averages over
#   new groups — which is not the same as a typical group on a curved link.
# * Check count models for overdispersion; a negative binomial or an observation-level random
#   effect absorbs it. LOO (`hl.compare`) compares the Bayesian fits; mind the Pareto-k warnings.
# * Reaction times: `family="lognormal"`, `hl.family("gamma", link="log")` or `"student"` (heavy
#   tails); their LOO values are comparable because all three are densities of the raw response.
# * Ordered answers (Likert items): `family="cumulative"` with an ordered Categorical response —
#   thresholds in place of an intercept, `predict(type="prob")` for the category probabilities.
#
# **Exercises.** (1) Add an observation-level random effect to cbpp
# (`cbpp["obs"] = range(len(cbpp))`, `+ (1 | obs)`): is there overdispersion? (2) Compute rate
# ratios with 95% posterior intervals for `YEAR96` and `YEAR97` from `bnb.fixef()`.
