# %% [markdown]
# # 5. Priors: what `hl.blmer` assumes before it sees the data
#
# A Bayesian mixed model needs a prior for every parameter: the fixed effects, the standard
# deviations and correlations of the random effects, and the residual standard deviation.
# `hl.blmer` never uses flat priors. Its defaults are **weakly informative and scaled to the
# data**, the way rstanarm scales them: they rule out absurd magnitudes but leave any value the
# data could plausibly support open.
#
# In this lesson we
#
# 1. read the default priors (`hl.get_priors`, `fit.prior_summary()`);
# 2. check what they imply about *data* with a **prior predictive check**
#    (`hl.blmer(..., sample_prior="only")` + `hl.plot_ppc`);
# 3. see how the LKJ parameter η shapes the prior of a random-effects correlation matrix Σ;
# 4. override priors with `hl.Prior`, and see when a prior matters and when the data swamp it.
#
# *R equivalents:* brms's `get_prior()` / `prior_summary()` / `set_prior()` and
# `sample_prior = "only"`; rstanarm's `prior_summary()` and `prior_PD = TRUE`. lme4 itself has no
# priors (blme adds some to avoid singular fits).

# %%
import logging
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pymc  # noqa: F401  (imported before silencing its logger: importing it resets the level)
from scipy import stats

import hierlm as hl

FAST = os.environ.get("HIERLM_NOTEBOOK_FAST") == "1"  # CI runs every notebook in a small mode
DRAWS, TUNE = (200, 200) if FAST else (1000, 1000)
PRIOR_DRAWS = 250 if FAST else 1000  # prior draws per chain
SEED = 2024

plt.rcParams["figure.dpi"] = 120  # sharp figures on the documentation site (110-150 dpi)
# a warning prints as "SamplingWarning: message", without the temporary path of the notebook cell
warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"
logging.getLogger("pymc").setLevel(logging.ERROR)  # PyMC's "Sampling: [...]" notes
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)

sleep = hl.load_dataset("sleepstudy")
FORMULA = "Reaction ~ Days + (Days | Subject)"
sleep.describe()

# %% [markdown]
# ## 1. The default priors
#
# `hl.get_priors(formula, data)` lists the priors `blmer` would use, one row per parameter,
# *without fitting anything*. The parameter classes are brms's:
#
# | class | parameter | default |
# | --- | --- | --- |
# | `Intercept` | intercept of the model with **centred** predictors | normal(mean(y), 2.5 sd(y)) |
# | `b` | other fixed effects | normal(0, 2.5 sd(y) / sd(x)) |
# | `sd` | random-effect standard deviations | half-normal(2.5 sd(y) / sd(term)) |
# | `cor` | random-effect correlation matrix (one per bar) | LKJ(η = 1) |
# | `sigma` | residual standard deviation (Gaussian) | exponential(rate 1 / sd(y)), prior mean sd(y) |
#
# Two details are worth pointing out to students:
#
# * The `Intercept` prior is placed on the intercept **at the mean of the predictors** (here the
#   mean reaction time at `Days` = 4.5), so it does not depend on where zero happens to lie on the
#   predictor's scale. The `(Intercept)` reported by `fixef()` is converted back to `Days` = 0.
# * Every scale is a multiple of sd(y) (here about 56 ms) divided by the predictor's sd: the
#   prior says "a one-sd change in `Days` moves reaction time by at most a few sds of y".

# %%
hl.get_priors(FORMULA, sleep)

# %% [markdown]
# A fitted model carries the priors it used: `fit.prior_summary()` returns the same table (the
# `source` column says `default` or `user`).

# %%
fit = hl.blmer(FORMULA, sleep, draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
fit.prior_summary()

# %%
fit.summary()

# %% [markdown]
# ## 2. Prior predictive checks
#
# A prior on parameters is hard to judge by eye: is half-normal(140.8) on the intercept sd
# reasonable? It is easier to judge the **data the priors predict**. `sample_prior="only"`
# draws parameters from the prior (no data are used) and simulates a replicated data set from
# each draw. `hl.plot_ppc` then overlays these replicates on the observed distribution, exactly
# as it does for a posterior predictive check.

# %%
prior_fit = hl.blmer(FORMULA, sleep, sample_prior="only", draws=PRIOR_DRAWS, seed=SEED, progressbar=False)
fig = hl.plot_ppc(prior_fit, num_samples=40)

# %% [markdown]
# **What to look at.** The black curve is the observed distribution of `Reaction` (200–500 ms);
# the blue curves are data sets simulated from the default priors. They are centred near the
# data but are up to ten times wider, and they put real weight on *negative* reaction times.
# That is what "weakly informative" means: the priors know the scale of the response (no
# replicate has reaction times of 10⁵ ms) but are otherwise vague. With 180 observations this
# vagueness costs nothing; with a handful of groups it can matter (see the last section).
#
# A summary statistic makes the same point numerically: the spread (sd) of each simulated data set.

# %%
fig = hl.plot_ppc(prior_fit, kind="stat", stat="std")

# %%
yrep = prior_fit.idata["prior_predictive"]["y"].values.reshape(-1, len(sleep))
pd.DataFrame({
    "observed": np.quantile(sleep["Reaction"], [0.01, 0.5, 0.99]),
    "prior predictive": np.quantile(yrep, [0.01, 0.5, 0.99]),
}, index=["1%", "median", "99%"]).round(0)

# %% [markdown]
# Densities pool all subjects together. A second view keeps the *structure* of the study:
# each panel below is one draw from the prior, showing the 18 simulated subjects' reaction-time
# trajectories over the 10 days. Under the default priors, subjects may improve or deteriorate by
# tens of milliseconds per day, and the curves are very noisy (σ is often large).

# %%
rng = np.random.default_rng(SEED)
picks = rng.choice(yrep.shape[0], size=4, replace=False)
fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), sharey=True, layout="constrained")
for ax, k in zip(axes, picks):
    for rows in sleep.groupby("Subject", observed=True).groups.values():
        ax.plot(sleep.loc[rows, "Days"], yrep[k, rows], lw=0.8, alpha=0.7)
    ax.set_title(f"prior draw {k}", fontsize=10)
    ax.set_xlabel("Days")
axes[0].set_ylabel("simulated Reaction (ms)")
fig.suptitle("Prior predictive trajectories of the 18 subjects (default priors)")
plt.show()

# %% [markdown]
# ## 3. The LKJ prior on a correlation matrix
#
# With `(Days | Subject)` each subject has two random effects, an intercept and a slope, with a
# 2 × 2 covariance matrix Σ = diag(sd) · R · diag(sd). `blmer` gives the standard deviations
# their own (half-normal) priors and the correlation matrix R an **LKJ(η)** prior
# (Lewandowski, Kurowicka and Joe 2009):
#
# * η = 1: uniform over all correlation matrices; for a 2 × 2 matrix the correlation is uniform
#   on (−1, 1);
# * η > 1: concentrates on the identity — correlations near 0 are preferred;
# * η < 1: favours strong correlations near ±1.
#
# For a 2 × 2 matrix the correlation ρ has a simple marginal: (ρ + 1)/2 ~ Beta(η, η). (For a
# d × d matrix each correlation is Beta(η − 1 + d/2, η − 1 + d/2) on the same scale.)
#
# We draw from the prior of our model under four values of η by overriding the `cor` class with
# `hl.Prior("lkj", eta=...)` and sampling with `sample_prior="only"`; the curves are the Beta
# densities above.

# %%
etas = [0.5, 1, 2, 10]
cor_draws = {}
for eta in etas:
    pf = hl.blmer(FORMULA, sleep, priors={"cor": hl.Prior("lkj", eta=eta)}, sample_prior="only",
                  draws=PRIOR_DRAWS, seed=SEED, progressbar=False)
    cor_draws[eta] = pf.posterior["cor_Subject"].values[..., 0, 1].ravel()

fig, axes = plt.subplots(1, 4, figsize=(13, 3.0), sharey=True, layout="constrained")
grid = np.linspace(-0.995, 0.995, 400)
for ax, eta in zip(axes, etas):
    ax.hist(cor_draws[eta], bins=30, range=(-1, 1), density=True, color="C0", alpha=0.5, label="prior draws")
    ax.plot(grid, stats.beta(eta, eta).pdf((grid + 1) / 2) / 2, color="C3", lw=1.5, label="Beta(η, η) on (−1, 1)")
    ax.set_title(f"LKJ η = {eta}", fontsize=11)
    ax.set_xlabel("cor((Intercept), Days | Subject)")
axes[0].set_ylabel("density")
axes[0].set_ylim(0, 2.2)
axes[-1].legend(fontsize=8, loc="upper left")
fig.suptitle("Prior of the intercept–slope correlation under LKJ(η)")
plt.show()

# %%
pd.DataFrame({
    "prior sd of ρ": [cor_draws[e].std() for e in etas],
    "P(|ρ| > 0.8)": [np.mean(np.abs(cor_draws[e]) > 0.8) for e in etas],
}, index=pd.Index(etas, name="η")).round(3)

# %% [markdown]
# Another way to see R: each prior draw of a correlation matrix is an ellipse (the contour of a
# bivariate normal with unit variances and that correlation). With η = 0.5 many ellipses are
# thin cigars along the diagonals (|ρ| near 1); with η = 10 almost all are nearly circles.

# %%
t = np.linspace(0, 2 * np.pi, 100)
circle = np.vstack([np.cos(t), np.sin(t)])
fig, axes = plt.subplots(1, 4, figsize=(13, 3.4), layout="constrained")
for ax, eta in zip(axes, etas):
    for rho in cor_draws[eta][:15]:
        L = np.linalg.cholesky(np.array([[1.0, rho], [rho, 1.0]]) + 1e-9 * np.eye(2))
        x, y = L @ circle
        ax.plot(x, y, color="C0", alpha=0.35, lw=0.8)
    ax.set_aspect("equal")
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.5, 1.5)
    ax.set_title(f"LKJ η = {eta}", fontsize=11)
    ax.set_xlabel("(Intercept), standardised")
axes[0].set_ylabel("Days, standardised")
fig.suptitle("15 prior draws of the correlation matrix R, drawn as unit-variance ellipses")
plt.show()

# %% [markdown]
# ## 4. Overriding priors with `hl.Prior`
#
# Priors are overridden with a dict (or a list of `hl.Prior(..., class_=, group=, term=)`).
# Keys go from general to specific, as in brms:
#
# | key | applies to |
# | --- | --- |
# | `"b"` | every fixed effect except the intercept |
# | `("b", "Days")` | one fixed effect |
# | `"Intercept"` | the intercept (on centred predictors) |
# | `"sd"`, `("sd", "Subject")`, `("sd", "Subject", "Days")` | all sds, one grouping factor's, one term's |
# | `"cor"`, `("cor", "Subject")` | LKJ priors of the correlation matrices |
# | `"sigma"` | the residual sd |
#
# Distributions: `normal(mu, sigma)`, `student_t(nu, mu, sigma)`, `half_normal(sigma)`,
# `half_student_t(nu, sigma)`, `half_cauchy(beta)`, `exponential(lam)`, `gamma(alpha, beta)`,
# `lkj(eta)` (parameters named as in PyMC).
#
# Suppose we bring domain knowledge instead: simple reaction times of rested adults are about
# 250–350 ms; a day without sleep might slow them by a few tens of ms at most; people differ by
# perhaps 50 ms at baseline; and the trial-to-trial noise is a few tens of ms. Written as priors:

# %%
informed = {
    "Intercept": hl.Prior("normal", mu=300, sigma=50),          # mean RT at the average day
    ("b", "Days"): hl.Prior("normal", mu=0, sigma=20),           # ms per day, either direction
    ("sd", "Subject", "(Intercept)"): hl.Prior("half_normal", sigma=50),
    ("sd", "Subject", "Days"): hl.Prior("half_normal", sigma=15),
    "cor": hl.Prior("lkj", eta=2),                               # mild preference for small correlations
    "sigma": hl.Prior("exponential", lam=1 / 30),                # prior mean 30 ms
}
hl.get_priors(FORMULA, sleep, priors=informed)

# %%
prior_informed = hl.blmer(FORMULA, sleep, priors=informed, sample_prior="only", draws=PRIOR_DRAWS, seed=SEED,
                          progressbar=False)
fig = hl.plot_ppc(prior_informed, num_samples=40)

# %% [markdown]
# The prior predictive distribution is now on the right scale: most replicated reaction times
# lie between 0 and 600 ms, with only thin tails beyond. Does it change the posterior? Compare the fixed effects and variance components
# of the two fits:

# %%
fit_informed = hl.blmer(FORMULA, sleep, priors=informed, draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)


def estimates(f):
    """Fixed effects, sds, correlation and sigma: posterior mean and 95% interval."""
    fe = f.fixef()[["Estimate", "Q2.5", "Q97.5"]]
    vc = f.varcorr()
    names = [f"sd {a}" if b is None else f"cor {a}, {b}" for a, b in zip(vc["var1"], vc["var2"])]
    names[-1] = "sigma"
    vc = pd.DataFrame({"Estimate": vc["sdcor"].values, "Q2.5": vc["Q2.5"].values, "Q97.5": vc["Q97.5"].values},
                      index=names)
    return pd.concat([fe, vc])


pd.concat({"default priors": estimates(fit), "informed priors": estimates(fit_informed)}, axis=1).round(2)

# %% [markdown]
# Almost no difference: 180 observations on 18 subjects carry far more information than either
# set of priors. This is the usual situation for the fixed effects and σ. The priors that matter
# most in practice are those on the **random-effect sds and correlations when there are few
# groups**, because there the data say little (see the mtcars example in notebook 2).
#
# ### A dogmatic prior: prior–data conflict
#
# To see a prior *win*, make it both strong and wrong: `normal(0, 1)` on the `Days` slope says
# "reaction times change by at most about 2 ms per day", while the data say about 10.

# %%
fit_dogmatic = hl.blmer(FORMULA, sleep, priors={("b", "Days"): hl.Prior("normal", mu=0, sigma=1)},
                        draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
pd.concat({"default priors": estimates(fit), "normal(0, 1) on Days": estimates(fit_dogmatic)}, axis=1).round(2)

# %% [markdown]
# The fixed slope is dragged towards 0 — and the model compensates elsewhere: the sd of the
# subjects' slopes grows, because the individual subjects' slopes still have to fit their data.
# A posterior that disagrees this much with its prior is a signal to revisit the prior (or
# the model), not a result.
#
# ### Mistakes get clear messages
#
# A prior with the wrong support, or a misspelt group, raises `hl.HierlmError` saying what would
# work:

# %%
mistakes = [
    lambda: hl.get_priors(FORMULA, sleep, priors={"sd": hl.Prior("normal", mu=0, sigma=10)}),
    lambda: hl.get_priors(FORMULA, sleep, priors={("sd", "Subjects"): hl.Prior("half_normal", sigma=10)}),
    lambda: hl.Prior("lkj", eta=0),
    lambda: hl.Prior("half_normal", scale=10),
]
for mistake in mistakes:
    try:
        mistake()
    except hl.HierlmError as err:
        print(f"{type(err).__name__}: {err}\n")

# %% [markdown]
# ## Summary
#
# * `hl.get_priors` / `fit.prior_summary()` show every prior; defaults are weakly informative and
#   scaled by sd(y) and the predictors' sds (never flat).
# * `sample_prior="only"` + `hl.plot_ppc` is a prior predictive check: judge priors by the data
#   they imply.
# * LKJ(η) controls correlations: η = 1 uniform, η > 1 towards 0, η < 1 towards ±1; for a 2 × 2
#   matrix (ρ + 1)/2 ~ Beta(η, η).
# * Override priors with a dict of `hl.Prior`s keyed by class, group and term. With plenty of
#   data they barely matter; a strong, wrong prior shows up as prior–data conflict.
#
# **Exercises.** (1) Refit with `"cor": hl.Prior("lkj", eta=10)` and compare the posterior of
# the correlation with the default fit's. (2) Fit `Reaction ~ Days + (Days | Subject)` to only
# the first four subjects with the default and the informed priors: when do the priors start to
# matter?
