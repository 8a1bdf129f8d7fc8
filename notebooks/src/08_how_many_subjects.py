# %% [markdown]
# # 8. How many subjects do I need? Power by simulation
#
# Before a study, the question is not "is my effect significant?" but "**if the effect is as large
# as I care about, how likely is my design to detect it?**" — the study's *power*. For a mixed
# model there is rarely a formula: the answer depends on the number of subjects, the number of
# observations per subject, the variance of the random intercepts and slopes, and the test.
#
# So we simulate, as R's **simr** does (`powerSim`, `powerCurve`, `extend`):
#
# 1. take a fitted model (from a pilot study or earlier work) as the data-generating process, and
#    set the effect of interest to the smallest value that would matter;
# 2. simulate a new data set from it — new random effects for every subject, new residuals;
# 3. refit the model and test the effect; repeat 1000 times;
# 4. power = the share of simulations with p < α, with a binomial confidence interval.
#
# `hl.power_sim` does all of it in one call, and can grow or shrink the design (`along`, `sizes`)
# to draw a **power curve**.

# %%
import os
import warnings
from concurrent.futures import ProcessPoolExecutor

import matplotlib.pyplot as plt
import pandas as pd

import hierlm as hl

FAST = os.environ.get("HIERLM_NOTEBOOK_FAST") == "1"  # CI runs every notebook in a small mode
DRAWS, TUNE = (200, 200) if FAST else (1000, 1000)
NSIM = 100 if FAST else 1000  # simulations per power estimate
SEED = 2024

plt.rcParams["figure.dpi"] = 120  # sharp figures on the documentation site (110-150 dpi)
# a warning prints as "SamplingWarning: message", without the temporary path of the notebook cell
warnings.formatwarning = lambda message, category, *args, **kwargs: f"{category.__name__}: {message}\n"
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)

# %% [markdown]
# ## The pilot: sleepstudy
#
# Take `sleepstudy` as a pilot: 18 subjects, reaction times on 10 days of sleep deprivation. The
# model has a random intercept and a random slope for `Days` per subject.

# %%
sleep = hl.load_dataset("sleepstudy")
pilot = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
print(pilot.summary())

# %% [markdown]
# The pilot's slope, 10.5 ms per day, is large. Suppose the new study tests a countermeasure that
# we expect to cut the slope to **2 ms/day**, and a slope that small still matters. The effect
# size comes from the question, not from the pilot's estimate: simulating at the observed effect
# ("observed power") only restates the pilot's p-value.
#
# `effects={"Days": 2.0}` sets that coefficient (simr's `fixef(m)["Days"] <- 2`); everything else —
# the intercept, the subject variances and correlation, σ — stays as fitted.

# %%
res = hl.power_sim(pilot, "Days", nsim=NSIM, effects={"Days": 2.0}, seed=SEED)
res

# %% [markdown]
# With 18 subjects and 10 days each, a 2 ms/day slope is detected (Satterthwaite t test, p < 0.05)
# in only about a quarter of the simulations. `lower` and `upper` are the exact (Clopper–Pearson)
# 95% interval of that estimate — it narrows with `nsim`. `failed` counts refits that did not
# converge (they count as not significant, as in simr) and `singular` the refits on the boundary.

# %% [markdown]
# ## A power curve: more subjects
#
# `along="Subject", sizes=[...]` extends the data as simr's `extend` does: new subjects copy the
# within-subject design of existing ones (the same 10 days) and get their own random effects,
# drawn from the fitted covariance matrix. Every simulation is refitted at every size (simr's
# `powerCurve`), so the curve is smooth.

# %%
sizes = [10, 20, 40, 60, 80] if FAST else [10, 20, 30, 40, 50, 60, 80, 100]
curve = hl.power_sim(pilot, "Days", nsim=NSIM, effects={"Days": 2.0}, along="Subject", sizes=sizes, seed=SEED)
curve

# %%
fig = hl.plot_power(curve, target=0.8)
fig.axes[0].set_title("Power to detect a slope of 2 ms/day (Satterthwaite t, α = 0.05)", fontsize=10)
plt.show()

# %%
enough = curve.loc[curve["power"] >= 0.8, "size"]
print("smallest size with estimated power ≥ 0.8:", int(enough.iloc[0]) if len(enough) else "none of these")

# %% [markdown]
# Read the curve with its intervals: a size whose *lower* limit clears 0.8 is a safe choice; near
# the line, run more simulations at the sizes of interest.
#
# ## More days instead of more subjects?
#
# `along="Days"` extends the observations *within* each subject: the days continue past the last
# observed one (day 10, 11, ...), as simr's `extend(along = "Days", values = ...)`. For a random
# slope, longer follow-up helps — but the subject-to-subject variation of the slopes does not
# shrink with more days, so the curve flattens.

# %%
days = hl.power_sim(pilot, "Days", nsim=NSIM, effects={"Days": 2.0}, along="Days", sizes=[5, 10, 15, 20],
                    seed=SEED)
days

# %%
fig, ax = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained", sharey=True)
hl.plot_power(curve, ax=ax[0], label="more subjects (10 days each)")
hl.plot_power(days, ax=ax[1], label="more days (18 subjects)")
for a in ax:
    a.legend(fontsize=8, loc="lower right")
plt.show()

# %% [markdown]
# ## Which test?
#
# The test is part of the design. `test=` takes a fixed effect with a method — `"satterthwaite"`
# (the default for `lmer` fits), `"kr"` (Kenward–Roger), `"z"` (the t value against a normal: too
# liberal in small samples), `"lrt"` (likelihood ratio of ML refits) — a random-effect term, or a
# smaller model to compare with.

# %%
tests = {
    "Satterthwaite t": "Days",
    "Kenward-Roger F": ("fixed", "Days", "kr"),
    "Wald z": ("fixed", "Days", "z"),
    "likelihood ratio": ("fixed", "Days", "lrt"),
}
rows = {name: hl.power_sim(pilot, t, nsim=NSIM, effects={"Days": 2.0}, along="Subject", sizes=[8], seed=SEED)
        .iloc[0][["power", "lower", "upper"]] for name, t in tests.items()}
pd.DataFrame(rows).T

# %% [markdown]
# With only 8 subjects the choice matters. The z test treats the t statistic (7 degrees of freedom)
# as normal and the likelihood-ratio test uses the χ² approximation: both reject more often than
# they should (their type I error is above 5%), which shows up as "more power". Satterthwaite and
# Kenward–Roger agree closely for this balanced design.
#
# A variance component can be tested too: is there subject-to-subject variation in the slopes?
# Here the test is a likelihood-ratio test of the model without the term (REML fits, as lmerTest's
# `ranova`; χ² on the boundary is conservative).

# %%
hl.power_sim(pilot, "(Days | Subject)", nsim=min(NSIM, 100), along="Subject", sizes=[6, 10], seed=SEED)

# %% [markdown]
# ## Counts and proportions: a binomial GLMM
#
# `power_sim` takes `glmer` fits as well (binomial, Bernoulli, Poisson, negative binomial; Wald z
# or likelihood-ratio tests). With cbpp as the pilot: how many herds would we need to detect a
# drop of 0.5 on the logit scale after the first period?

# %%
cbpp = hl.load_dataset("cbpp")
g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
effects = {"period2": -0.5, "period3": -0.5, "period4": -0.5}
herds = hl.power_sim(g, ("fixed", "period", "lrt"), nsim=10 if FAST else 300, effects=effects, along="herd",
                     sizes=[15, 30], seed=SEED)
herds

# %% [markdown]
# ## Running it in parallel
#
# Every simulation has its own random stream (derived from `seed`), so the result is the same **bit
# for bit** whatever runs it: this process, a pool of processes, or a Dask cluster. Give an
# executor and the simulations go out in batches, the model structure once per worker:

# %%
with ProcessPoolExecutor(2) as pool:
    par = hl.power_sim(pilot, "Days", nsim=NSIM, effects={"Days": 2.0}, along="Subject", sizes=sizes, seed=SEED,
                       executor=pool)
print("same as the serial run:", par["successes"].tolist() == curve["successes"].tolist())

# %% [markdown]
# The same call runs on a Dask cluster — on this laptop a `LocalCluster`, on a SLURM or Kubernetes
# cluster `dask_jobqueue.SLURMCluster` or `dask_kubernetes.KubeCluster` (see the documentation page
# *Running on a cluster*). Only the line that makes the cluster changes:
#
# ```python
# from distributed import Client, LocalCluster
# with LocalCluster(n_workers=2) as cluster, Client(cluster) as client:
#     curve = hl.power_sim(pilot, "Days", nsim=10_000, effects={"Days": 2.0},
#                          along="Subject", sizes=sizes, seed=SEED, executor=client)
# ```
#
# ## Bayesian assurance
#
# A Bayesian analysis asks a different question: how likely is the *posterior* to settle the
# question? **Assurance** is power averaged over the uncertainty in the parameters: each simulation
# takes one posterior draw of a `blmer` fit (with the effect of interest still set by hand), and the
# refit — few draws, on the fast marginal route — counts as a success when the 95% interval of the
# slope excludes 0 (or, with `width=`, is narrower than a target).

# %%
bpilot = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=DRAWS, tune=TUNE, chains=2, seed=SEED,
                  progressbar=False)
assur = hl.power_sim(bpilot, "Days", nsim=6 if FAST else 200, effects={"Days": 5.0}, along="Subject",
                     sizes=[18, 40], seed=SEED)
assur

# %% [markdown]
# ## What to take away
#
# * Power is a property of the **design and the effect you care about**, not of a data set:
#   choose the effect from the science, simulate the design you can afford.
# * Random effects put a ceiling on what more observations per subject can buy; more subjects
#   (or items) usually help most.
# * Report the simulation: the model, the effect, the test, α, `nsim`, and the interval of the
#   power estimate; look at failed and singular refits.
# * Simulations are cheap in hierlm (a few milliseconds per LMM refit) and parallel on any
#   executor, so a dense curve with thousands of simulations is a matter of seconds.
