# %% [markdown]
# # 9. `lm` beside `lmer`: pooling, F tests, p-values, R² and influence
#
# Every course on mixed models starts from ordinary regression.  This lesson sets the two side by
# side on the sleep-deprivation study (18 subjects, reaction times over 10 days), the way the
# lecture decks do it in R:
#
# 1. **complete pooling** — one regression line for everybody (`lm(Reaction ~ Days)`);
# 2. **no pooling** — a line per subject (`lm(Reaction ~ Days * Subject)`), with its F test;
# 3. **partial pooling** — the mixed model (`lmer(Reaction ~ Days + (Days | Subject))`);
# 4. `anova(lmer, lm)`: do the random effects improve the fit?
# 5. p-values for the mixed model: **Satterthwaite** and **Kenward–Roger** degrees of freedom
#    (R's lmerTest and pbkrtest), F tables and `ranova`;
# 6. **R²** (Nakagawa's marginal and conditional) and the **ICC**;
# 7. **influence**: hat values and Cook's distance; prediction intervals.
#
# Every number printed here is R's number, digit for digit: hierlm follows R's own printing
# rules (`printCoefmat`, `format`), so a student can compare line by line.
#
# *R equivalents:* `lm`, `anova(m0, m1)`, `lmerTest::lmer`, `summary(m, ddf = "Kenward-Roger")`,
# `anova(m, type = 3)`, `lmerTest::ranova`, `performance::r2_nakagawa`, `performance::icc`,
# `cooks.distance`, `hatvalues`.

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import hierlm as hl

FAST = os.environ.get("HIERLM_NOTEBOOK_FAST") == "1"  # CI runs every notebook in a small mode
plt.rcParams["figure.dpi"] = 120  # sharp figures on the documentation site (110-150 dpi)
# a warning prints as "SamplingWarning: message", without the temporary path of the notebook cell
warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"
pd.set_option("display.width", 120)

sleep = hl.load_dataset("sleepstudy")

# %% [markdown]
# ## 1. Complete pooling: one line for everybody
#
# `hl.lm` takes the same formula language as `hl.lmer` (without bars) and prints R's
# `summary.lm`: residual standard error, multiple and adjusted R², the F statistic.

# %%
pooled = hl.lm("Reaction ~ Days", sleep)
print(pooled.summary(data_name="sleepstudy"))

# %% [markdown]
# The slope, about 10.5 ms per day, is right on average, but the residual standard error
# (47.7 ms) mixes two things: how subjects differ from each other and how a subject varies from
# day to day.  The standard error of the slope treats 180 observations as independent — they are
# not: they are 10 measurements on each of 18 people.

# %% [markdown]
# ## 2. No pooling: a line per subject
#
# Give every subject their own intercept and slope.  The F test of the interaction asks whether
# the slopes differ between subjects (R's `anova(lm)`, sequential sums of squares):

# %%
separate = hl.lm("Reaction ~ Days * Subject", sleep)
print(hl.anova(separate))

# %% [markdown]
# and the nested-model F test (`anova(m0, m1)` in R) compares the pooled line with separate lines:

# %%
print(hl.anova(pooled, separate))

# %% [markdown]
# Subjects differ, in level and in slope.  But the no-pooling model spends 36 parameters and
# says nothing about a new subject.

# %% [markdown]
# ## 3. Partial pooling: the mixed model
#
# The mixed model treats the subjects' intercepts and slopes as draws from a population,
# `N(0, Σ)`: 6 parameters instead of 36, and the subject lines are pulled towards the population
# line in proportion to how little their own data say.  Its summary is lmerTest's, with
# Satterthwaite degrees of freedom and p-values:

# %%
mixed = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
print(mixed.summary(data_name="sleepstudy"))

# %% [markdown]
# The slope's estimate is the pooled one, but its standard error is 1.55 rather than 1.24, on
# 17 degrees of freedom rather than 178: the information about the average slope comes from 18
# subjects, not 180 observations.  This is what the no-pooling and complete-pooling analyses get
# wrong in opposite directions.
#
# The three kinds of pooling, subject by subject:

# %%
hl.plot_pooling(mixed, levels=["308", "309", "330", "335", "350", "372"], ncols=3);

# %% [markdown]
# ## 4. Are the random effects needed? `anova(lmer, lm)`
#
# lme4's `anova` accepts an `lm` beside a mixed model: the mixed model is refitted by maximum
# likelihood and the two are compared by a likelihood-ratio test (the χ² is conservative here,
# because variances are tested on the boundary of their space).

# %%
print(hl.anova(mixed, pooled, data_name="sleepstudy"))

# %% [markdown]
# Within the mixed model, `ranova` tests each random-effect term by reducing it (lmerTest):

# %%
print(mixed.ranova())

# %% [markdown]
# ## 5. p-values: Satterthwaite and Kenward–Roger
#
# lme4 prints no p-values, because the null distribution of the t statistic of a mixed model is
# not exactly t.  Two approximations are standard: **Satterthwaite**'s (lmerTest's default) and
# **Kenward–Roger**'s (pbkrtest; it also inflates the covariance of β̂ for small samples).  On
# balanced data like these they agree; they can differ on unbalanced ones.

# %%
pd.concat({"Satterthwaite": mixed.fixef(ddf="Satterthwaite"), "Kenward-Roger": mixed.fixef(ddf="Kenward-Roger")})

# %% [markdown]
# F tests of whole terms (type III, as lmerTest's `anova(m)`); with factors this is where the
# types I, II and III differ.  The Machines data (6 workers on 3 machines):

# %%
machines = hl.load_dataset("Machines")
mm = hl.lmer("score ~ Machine + (1 | Worker) + (1 | Worker:Machine)", machines)
print(mm.anova(type=3))

# %%
print(mm.anova(type=3, ddf="Kenward-Roger"))

# %% [markdown]
# A specific contrast, machine B against machine C, by `contest` (lmerTest's `contest`): the row
# of L picks `MachineB − MachineC`.

# %%
mm.contest([0, 1, -1], joint=False)

# %% [markdown]
# ## 6. How much is explained? R² and the ICC
#
# For `lm`, R² is the share of variance explained.  For mixed models, Nakagawa's R² splits it:
# the **marginal** R² (fixed effects only) and the **conditional** R² (fixed and random effects),
# as `performance::r2_nakagawa`.

# %%
pd.DataFrame({"lm (complete pooling)": hl.r2(pooled).rename({"r2": "marginal", "adj_r2": "adjusted"}),
              "lmer": hl.r2(mixed)})

# %% [markdown]
# Days explain 28% of the variance; together with the subjects' own intercepts and slopes, 80%.
# The **adjusted ICC** — the share of the variance (fixed part aside) that is between subjects —
# works with random slopes too (`performance::icc`):

# %%
hl.icc(mixed, adjusted=True)

# %% [markdown]
# ## 7. Influence: which observations move the fit?
#
# Hat values (leverage) and Cook's distance are defined for mixed models too, as lme4's methods
# compute them: the hat matrix of the mixed model (random effects included) and
# `(r / (1 − h))² h / (σ² p)`.

# %%
infl = pd.DataFrame({"hat": mixed.hatvalues(), "cook": mixed.cooks_distance()}, index=mixed.design.rows)
infl.sort_values("cook", ascending=False).head()

# %%
hl.plot_influence(mixed);

# %% [markdown]
# Observations 59 and 56 (subject 332, days 9 and 6) stand out: reaction times far from the
# subject's line.
# Compare with the `lm`, whose Cook's distances treat every observation as independent:

# %%
pd.Series(pooled.cooks_distance(), index=pooled.design.rows).sort_values(ascending=False).head(3)

# %% [markdown]
# ## 8. Predictions with uncertainty
#
# Confidence intervals carry the uncertainty of the fixed effects; prediction intervals add the
# variance of a new subject's random effects and the residual variance (the GLMM FAQ's recipe):

# %%
new = pd.DataFrame({"Days": [0, 5, 9], "Subject": "new subject"})
pd.concat({"confidence": mixed.predict(new, re_form="~0", interval="confidence"),
           "prediction": mixed.predict(new, allow_new_levels=True, interval="prediction")}, axis=1).round(1)

# %% [markdown]
# ## Summary
#
# | question | `lm` | `lmer` |
# |---|---|---|
# | slope of Days | 10.5 (SE 1.24, 178 df) | 10.5 (SE 1.55, 17 df) |
# | do subjects differ? | F test of `Days * Subject` | `anova(lmer, lm)`, `ranova` |
# | variance explained | R² | marginal and conditional R², ICC |
# | influential points | Cook's distance | Cook's distance of the mixed model |
#
# The `lm` beside the `lmer` shows why the mixed model is the honest one: the same average slope,
# with the uncertainty of 18 subjects rather than 180 independent observations.
