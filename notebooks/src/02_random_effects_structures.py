# %% [markdown]
# # 2. Random-effects structures
#
# The part of an lme4 formula in parentheses says *which coefficients vary between the levels
# of which grouping factor*, and whether their variations are correlated:
#
# | formula term | meaning | parameters |
# | --- | --- | --- |
# | <code>(1 &#124; g)</code> | random intercept per level of `g` | 1 sd |
# | <code>(x &#124; g)</code> | random intercept and slope of `x`, correlated | 2 sds, 1 correlation |
# | <code>(x &#124;&#124; g)</code> | the same, uncorrelated: <code>(1 &#124; g) + (0 + x &#124; g)</code> | 2 sds |
# | <code>(1 &#124; a/b)</code> | `b` nested in `a`: <code>(1 &#124; a) + (1 &#124; a:b)</code> | 2 sds |
# | <code>(1 &#124; a) + (1 &#124; b)</code> | crossed factors | 2 sds |
#
# This lesson works through each with lme4's classic data sets, shows what a **singular fit**
# is and what the Bayesian fit says about one, and compares structures with likelihood-ratio
# tests (`hl.anova`) and leave-one-out cross-validation (`hl.compare`). The syntax is lme4's;
# every model here runs unchanged in R with `lmer()`.

# %%
import os
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import hierlm as hl

FAST = os.environ.get("HIERLM_NOTEBOOK_FAST") == "1"  # CI runs every notebook in a small mode
DRAWS, TUNE = (200, 200) if FAST else (1000, 1000)
SEED = 2024

plt.rcParams["figure.dpi"] = 120  # sharp figures on the documentation site (110-150 dpi)
# a warning prints as "SamplingWarning: message", without the temporary path of the notebook cell
warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"
pd.set_option("display.precision", 3)
pd.set_option("display.width", 130)

sleep = hl.load_dataset("sleepstudy")

# %% [markdown]
# ## 1. Random intercepts, random slopes
#
# **Random intercepts** `(1 | Subject)`: every subject has their own baseline, but all share the
# same slope — parallel lines.
#
# **Random slopes** `(Days | Subject)`: every subject has their own baseline *and* their own
# rate of slowing; the intercepts and slopes come from a bivariate normal with a correlation.
#
# **Uncorrelated** `(Days || Subject)`: intercepts and slopes both vary, but independently
# (lme4 writes the two blocks as `Subject` and `Subject.1` in `VarCorr`).

# %%
m_int = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep)
m_unc = hl.lmer("Reaction ~ Days + (Days || Subject)", sleep)
m_cor = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
for m in (m_int, m_unc, m_cor):
    print(m.formula)
    print(m.varcorr().to_string(index=False), end="\n\n")

# %% [markdown]
# The fitted lines of four subjects under the two main structures: with random intercepts only
# the lines are parallel (every subject gets the average slope of ≈ 10.5 ms/day, even subject 309
# whose reaction times barely change); with random slopes each subject gets their own.

# %%
show = ["308", "309", "335", "337"]
fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), sharey=True, layout="constrained")
for ax, subj in zip(axes, show):
    d = sleep[sleep["Subject"] == subj]
    ax.scatter(d["Days"], d["Reaction"], s=12, color="k")
    for m, style, label in [(m_int, {"color": "C1", "ls": "--"}, "(1 | Subject)"),
                            (m_cor, {"color": "C0"}, "(Days | Subject)")]:
        ax.plot(d["Days"], m.predict(d), lw=1.8, label=label, **style)
    ax.set_title(f"Subject {subj}", fontsize=10)
    ax.set_xlabel("Days")
axes[0].set_ylabel("Reaction (ms)")
axes[-1].legend(fontsize=8)
plt.show()

# %% [markdown]
# ### Which structure? Likelihood-ratio tests with `hl.anova`
#
# The three models are nested: (1 | Subject) ⊂ (Days || Subject) ⊂ (Days | Subject). `hl.anova`
# refits REML fits by maximum likelihood (as lme4's `anova` does — REML likelihoods of models
# with different fixed effects are not comparable; here the fixed effects are equal, but we follow
# lme4) and tests each model against the one above it.

# %%
hl.anova(m_int, m_unc, m_cor, names=["(1 | Subject)", "(Days || Subject)", "(Days | Subject)"])

# %% [markdown]
# **Reading the table.** Adding uncorrelated random slopes improves the log-likelihood by 21
# (χ² = 42 on 1 df): subjects clearly differ in their slopes. Adding the correlation gains
# nothing (χ² = 0.06, p = 0.80), and AIC and BIC agree. One caveat: testing whether a variance is
# zero puts the null value on the boundary of the parameter space, so the χ² reference
# distribution is conservative (p-values too large, roughly twice the correct value for one
# variance). Here it does not matter, but for borderline cases use a parametric bootstrap
# (`hl.bootstrap_lrt`, notebook 3).
#
# ### The Bayesian view: `hl.compare`
#
# Bayesian fits are compared by how well they predict held-out observations: the expected log
# predictive density, estimated by Pareto-smoothed importance-sampling leave-one-out (PSIS-LOO).
# Higher `elpd_loo` is better; `elpd_diff` and `se_diff` compare every model with the best one.

# %%
fits = {}
for name, formula in [("(1 | Subject)", "Reaction ~ Days + (1 | Subject)"),
                      ("(Days || Subject)", "Reaction ~ Days + (Days || Subject)"),
                      ("(Days | Subject)", "Reaction ~ Days + (Days | Subject)")]:
    fits[name] = hl.blmer(formula, sleep, draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)
hl.compare(*fits.values(), names=list(fits))

# %% [markdown]
# **Reading the table.** LOO points the same way as the LRT but is far less emphatic. The two
# random-slope models are indistinguishable (a difference of under one elpd). The
# random-intercept model predicts worse by about 23 elpd — but that is fewer than two standard
# errors of the difference (`se_diff`), because the gain is concentrated in the few subjects whose
# slopes are far from average (308, 309, 335, 337, …): for them, a held-out day is predicted much
# better with their own slope; for most subjects it makes little difference. LOO asks "which
# model predicts a new observation better?", not "is the slope variance zero?", and its answer
# comes with honest uncertainty. `weight` (stacking weights) says how one would combine the
# models' predictions, and the notes report the few observations whose Pareto k was too high and
# which were therefore refitted exactly.
#
# ## 2. Nested random effects: Pastes
#
# Davies and Goldsmith's paste strength data: 10 batches (`A`–`J`) of a chemical paste, 3 casks
# per batch, 2 strength tests per cask. The casks are labelled `a`, `b`, `c` *within* each batch —
# cask `a` of batch A has nothing to do with cask `a` of batch B.

# %%
pastes = hl.load_dataset("Pastes")
pastes.head(7)

# %% [markdown]
# `(1 | batch/cask)` is shorthand for `(1 | batch) + (1 | batch:cask)`: a random effect per batch
# and one per cask *within* a batch (30 casks). lme4 names the inner factor `cask:batch`.

# %%
m_nest = hl.lmer("strength ~ 1 + (1 | batch/cask)", pastes)
print(m_nest.ngrps())
m_nest.summary()

# %% [markdown]
# A common mistake is to write the nesting as crossed factors, `(1 | batch) + (1 | cask)`.
# Because the cask labels repeat across batches, this model has only **3** casks, each shared
# by all ten batches — a different (and here meaningless) model. The data set also has a column
# `sample` with a unique label per cask (`A:a`, `A:b`, …); with unique labels, crossed syntax
# gives the nested model again. Always check `ngrps()`:

# %%
m_wrong = hl.lmer("strength ~ 1 + (1 | batch) + (1 | cask)", pastes)
m_same = hl.lmer("strength ~ 1 + (1 | batch) + (1 | sample)", pastes)
pd.DataFrame({
    "ngrps": [m_nest.ngrps(), m_wrong.ngrps(), m_same.ngrps()],
    "REML criterion": [m_nest.reml_criterion(), m_wrong.reml_criterion(), m_same.reml_criterion()],
}, index=["(1 | batch/cask)", "(1 | batch) + (1 | cask)  -- wrong", "(1 | batch) + (1 | sample)"])

# %% [markdown]
# The variance components say most variation is between casks (sd 2.9) and little between
# batches beyond that (sd 1.3). Is the batch level needed at all? Compare with a model that has
# only a cask effect:

# %%
m_cask = hl.lmer("strength ~ 1 + (1 | sample)", pastes)
hl.anova(m_cask, m_nest, names=["(1 | sample)", "(1 | batch/cask)"])

# %% [markdown]
# No evidence for a batch effect beyond the cask effect (p ≈ 0.52; even halved for the boundary,
# 0.26). The Bayesian fit of the nested model shows the same through the posterior of the batch
# sd, which reaches down to 0.
#
# A posterior that reaches an sd of 0 has a *funnel* shape (when the sd is near 0, the batch
# effects must all be near 0 too), which NUTS finds hard to explore with its default step size;
# with the defaults this fit reports a divergent transition or two. Asking for smaller steps with
# `target_accept=0.95` (the sampler warning's own advice) removes them:

# %%
b_nest = hl.blmer("strength ~ 1 + (1 | batch/cask)", pastes, draws=DRAWS, tune=TUNE, seed=SEED,
                  target_accept=0.95, progressbar=False)
fig = hl.plot_varcorr(b_nest, reference=m_nest)

# %% [markdown]
# ## 3. Crossed random effects: Penicillin
#
# Six penicillin samples (`A`–`F`) were each tested on each of 24 agar plates; the response is the
# diameter of the zone of inhibited growth. Every sample meets every plate: the factors are
# **crossed**, `(1 | plate) + (1 | sample)`.

# %%
pen = hl.load_dataset("Penicillin")
print(pd.crosstab(pen["plate"], pen["sample"]).iloc[:5])
m_pen = hl.lmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen)
m_pen.varcorr()

# %% [markdown]
# The caterpillar plot shows both sets of effects. The samples differ far more than the plates
# (sample sd 1.9 against plate sd 0.85) — and with only 6 samples, the sample sd is the more
# uncertain of the two.

# %%
fig = hl.plot_ranef(m_pen)

# %%
b_pen = hl.blmer("diameter ~ 1 + (1 | plate) + (1 | sample)", pen, draws=DRAWS, tune=TUNE, seed=SEED,
                 progressbar=False)
hl.side_by_side(m_pen, b_pen)

# %% [markdown]
# The posterior of the sample sd is wide and right-skewed (95% interval roughly 1 to 5) because
# six samples carry little information about a variance. The plate sd, from 24 plates, is much
# better determined.
#
# ## 4. A singular fit: mtcars `mpg ~ wt + (wt | cyl)`
#
# Random slopes need enough groups. Here is a model that asks too much: fuel consumption against
# weight, with an intercept and a slope per number of cylinders — and `cyl` has only **3**
# levels (4, 6, 8). Three groups cannot inform two sds and a correlation.

# %%
mtcars = hl.load_dataset("mtcars")
m_mt = hl.lmer("mpg ~ wt + (wt | cyl)", mtcars)
m_mt.summary()

# %%
print("is_singular():", m_mt.is_singular())

# %% [markdown]
# **What lme4 says.** The estimated correlation is exactly −1.00: the 2 × 2 covariance matrix
# of the random effects is singular (the estimate lies on the boundary of the parameter space),
# and the summary ends with lme4's `boundary (singular) fit` message. The intercepts and slopes
# of the three groups lie on a line; the model is over-parameterised for the data.
#
# **What the Bayesian fit says.** The same model with `hl.blmer`. Read the warnings it prints:

# %%
b_mt = hl.blmer("mpg ~ wt + (wt | cyl)", mtcars, draws=DRAWS, tune=TUNE, seed=SEED, progressbar=False)

# %% [markdown]
# The warnings say, in plain language, what is wrong and what to do about it: the posterior of
# the correlation **piles up at ±1** (the Bayesian counterpart of a singular fit), `cyl` has too
# few levels to estimate its sds and correlation, and there may be divergent transitions (the
# sampler struggling with the funnel-shaped posterior near a zero sd). The suggested remedies:
# drop the term or the correlation (`(wt || cyl)`), or use an informative prior. The same
# verdict is available programmatically:

# %%
print("is_singular():", b_mt.is_singular())
print("singular_terms():", b_mt.singular_terms())

# %% [markdown]
# Unlike the REML fit, the posterior does not *collapse* onto the boundary: it spreads over
# everything the data allow — the correlation's 95% interval covers most of (−1, 1), and the sds'
# intervals are very wide. The dashed red lines are the REML estimates:

# %%
fig = hl.plot_varcorr(b_mt, reference=m_mt)

# %% [markdown]
# What to do? With 3 groups, a random slope is not estimable; keep `cyl` as a random intercept
# (or, better with 3 levels, as a fixed factor). The likelihood-ratio test agrees that the slope
# block adds little:

# %%
m_mt0 = hl.lmer("mpg ~ wt + (1 | cyl)", mtcars)
hl.anova(m_mt0, m_mt, names=["(1 | cyl)", "(wt | cyl)"])

# %% [markdown]
# ## Summary
#
# * `(1 | g)` random intercepts, `(x | g)` correlated random slopes, `(x || g)` uncorrelated ones;
#   `(1 | a/b)` nests `b` in `a`; `(1 | a) + (1 | b)` crosses them. Check `ngrps()` — nested
#   labels that repeat across groups need `a/b` (or unique labels).
# * Compare structures with `hl.anova` (LRT, REML fits refitted by ML; conservative on the
#   boundary) or `hl.compare` (LOO for Bayesian fits).
# * A singular fit (`is_singular()`, correlation ±1 or sd 0) means the structure is too rich for
#   the data. The Bayesian fit does not hide it: it warns that the posterior piles up at the
#   boundary and suggests simplifying or using an informative prior.
#
# **Exercises.** (1) Fit `Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)` and check that it
# is the same as `(Days || Subject)`. (2) Compare `(1 | plate) + (1 | sample)` with
# `(1 | plate)` alone for Penicillin using `hl.anova`. (3) Refit the mtcars model with
# `priors={"cor": hl.Prior("lkj", eta=4)}`: what happens to the warnings?
