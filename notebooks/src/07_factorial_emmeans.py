# %% [markdown]
# # 7. A factorial experiment: marginal means, Tukey comparisons and simple slopes, both ways
#
# Yates (1935) grew three oat varieties at four levels of nitrogen manure (0, 0.2, 0.4 and 0.6
# cwt/acre) in a split-plot design: six blocks, each split into three whole plots (one variety
# each), each whole plot split into four subplots (one nitrogen level each). The data are
# `Oats` (nlme / MASS): `yield` (1/4 lbs per subplot), `Variety`, `nitro`, `Block`.
#
# The questions a paper asks of such an experiment are rarely about single coefficients:
#
# * *What is the mean yield at each nitrogen level, averaged over the varieties?* — **estimated
#   marginal means**;
# * *Which nitrogen levels differ?* — **pairwise comparisons** with a multiplicity adjustment;
# * *How fast does yield rise with nitrogen in each variety?* — **simple slopes**;
# * and a **picture of the fitted model** with its uncertainty.
#
# This is what R's `emmeans` package does after `lmer`. hierlm does the same for both engines:
# `hl.emmeans`, `hl.contrast`, `hl.emtrends` and `hl.plot_predictions` take an `hl.lmer` fit
# (Kenward–Roger degrees of freedom, as emmeans) or an `hl.blmer` fit (the same linear
# combinations of the coefficients, computed draw by draw: posterior medians and HPD intervals).
#
# *R:* `lmer(yield ~ nitro_f * Variety + (1 | Block/Variety))`, `emmeans(m, ~ nitro_f)`,
# `contrast(emm, "pairwise")`, `emtrends(m, ~ Variety, var = "nitro")`.

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
pd.set_option("display.width", 120)

oats = hl.load_dataset("Oats")
oats["nitro_f"] = pd.Categorical(oats["nitro"].map(lambda v: f"{v:g}"), categories=["0", "0.2", "0.4", "0.6"])
oats.head()

# %% [markdown]
# ## The model
#
# Nitrogen as a factor (`nitro_f`, four levels) crossed with `Variety`, with the interaction, and
# the split-plot structure as random effects: blocks, and whole plots within blocks
# (`(1 | Block/Variety)` = `(1 | Block) + (1 | Block:Variety)`). The same formula goes to both
# engines.

# %%
formula = "yield ~ nitro_f * Variety + (1 | Block/Variety)"
m = hl.lmer(formula, oats)
b = hl.blmer(formula, oats, draws=DRAWS, tune=TUNE, chains=4, seed=SEED, progressbar=False)
m.anova()

# %% [markdown]
# The F table (Satterthwaite df) says nitrogen matters a great deal, the varieties barely, and
# the interaction not at all. With 12 coefficients (`nitro_f0.2:VarietyMarvellous`, ...) the
# coefficient table is hard to read; marginal means are easier.
#
# ## Estimated marginal means
#
# `hl.emmeans(fit, "nitro_f")` predicts every cell of the *reference grid* (4 nitrogen levels ×
# 3 varieties) and averages over the varieties **with equal weights** — the mean yield of a
# nitrogen level in a balanced world. Degrees of freedom are Kenward–Roger's, and the SEs use
# the Kenward–Roger adjusted covariance, exactly as emmeans (1.8) prints them.

# %%
emm = hl.emmeans(m, "nitro_f")
emm.round(3)

# %% [markdown]
# The footer is emmeans' own: what was averaged over, the df method, and the note that nitrogen
# is involved in an interaction (averaging over varieties is only a fair summary if the
# nitrogen effect is similar in every variety — the F test above says it is).
#
# The Bayesian fit gives the same table computed draw by draw: for each posterior draw of the
# coefficients the same averages are formed; the table shows the posterior median and the 95%
# highest-posterior-density interval.

# %%
hl.emmeans(b, "nitro_f")

# %% [markdown]
# `hl.side_by_side` puts the two answers in one table:

# %%
hl.side_by_side(m, b, means="nitro_f")

# %% [markdown]
# ## Which nitrogen levels differ? Tukey's pairwise comparisons
#
# `hl.contrast(emm, "pairwise")` forms all 6 differences. The default adjustment for pairwise
# comparisons is Tukey's (the studentized range distribution), as in emmeans; `adjust="holm"`,
# `"bonferroni"`, `"sidak"`, `"none"` are there too. `conf_int=True` adds simultaneous intervals.

# %%
pairs = hl.contrast(emm, "pairwise", conf_int=True)
pairs.round(4)

# %% [markdown]
# Every step up in nitrogen increases yield except the last (0.4 → 0.6, adjusted p ≈ 0.18).
# The Bayesian version reports each difference's posterior median and HPD interval, plus the
# posterior probability of each sign — a direct answer to "is 0.6 better than 0.4?".

# %%
hl.side_by_side(m, b, means="nitro_f", contrast="pairwise")

# %% [markdown]
# Other families of contrasts: each level against the control (`"trt.vs.ctrl"`, Dunnett-style
# adjustment) and orthogonal polynomials (`"poly"`), which ask whether the response to nitrogen
# is linear:

# %%
hl.contrast(emm, "poly")

# %% [markdown]
# A strong linear trend, no evidence of curvature. Comparisons *within* each variety use `by`:

# %%
hl.contrast(hl.emmeans(m, "~ nitro_f | Variety"), "trt.vs.ctrl")

# %% [markdown]
# ## Simple slopes
#
# Since the response looks linear, refit with nitrogen as a number. `hl.emtrends(fit, "Variety",
# var="nitro")` gives the slope of yield on nitrogen in each variety (emmeans differentiates the
# design numerically, so curved terms such as `poly(nitro, 2)` work too), and `hl.contrast`
# compares the slopes.

# %%
formula_num = "yield ~ nitro * Variety + (1 | Block/Variety)"
m_num = hl.lmer(formula_num, oats)
b_num = hl.blmer(formula_num, oats, draws=DRAWS, tune=TUNE, chains=4, seed=SEED, progressbar=False)
slopes = hl.emtrends(m_num, "Variety", var="nitro")
slopes.round(3)

# %%
hl.contrast(slopes, "pairwise")

# %%
hl.emtrends(b_num, "Variety", var="nitro")

# %% [markdown]
# Between 65 and 80 quarter-pounds per subplot for each cwt/acre of nitrogen in every variety: the slopes
# do not differ detectably, and the Bayesian intervals say the same.
#
# ## The picture: predictions with bands, both engines
#
# `hl.plot_predictions` draws the population-level predictions (no random effects) along a
# predictor, one panel per level of `by`, with 95% confidence bands for the lmer fit and 95% HPD
# bands for the blmer fit, overlaid.

# %%
fig = hl.plot_predictions([m_num, b_num], "nitro", by="Variety", points=True)
plt.show()

# %% [markdown]
# With nitrogen as a factor the same function draws a point and interval per level:

# %%
fig = hl.plot_predictions([m, b], "nitro_f", by="Variety")
plt.show()

# %% [markdown]
# The two engines agree closely here: the data are balanced and informative, and the priors are
# weak. The numbers behind every plot are in `fig.prediction_data`.
#
# ## Summary
#
# * `hl.emmeans(fit, specs, by=, at=, type=)` — marginal means over emmeans' reference grid
#   (factors weighted equally, covariates at their means); Kenward–Roger df for lmer, z for
#   glmer, posterior medians and HPD intervals for blmer.
# * `hl.contrast(emm, method, adjust=)` — `pairwise` (Tukey), `trt.vs.ctrl` (Dunnett-style),
#   `poly`, `consec`, custom weights `{"label": [...]}`; Bayesian: posterior probabilities of
#   each sign.
# * `hl.emtrends(fit, specs, var=)` — slopes per level; `hl.contrast` compares them.
# * `hl.plot_predictions([lmer_fit, blmer_fit], x, by=)` — the model's predictions with bands.
# * `hl.side_by_side(m, b, means=, contrast=)` — both engines' answers in one table.
#
# **Exercises.** (1) `hl.emmeans(m, "Variety")`: do the varieties differ once nitrogen is
# averaged over? (2) Compare `weights="proportional"` with the default on an unbalanced subset
# (drop a few rows). (3) Fit `yield ~ poly(nitro, 2) * Variety + ...` and look at
# `hl.emtrends(..., at={"nitro": [0, 0.3, 0.6]})`: the slope now depends on the nitrogen level.
