"""Hand-written baseline: sleepstudy ``Reaction ~ Days + (Days | Subject)`` in PyMC, sampled by nutpie.

Non-centred random effects with an LKJ Cholesky covariance, weakly informative priors scaled by
the data (like rstanarm's / brms's defaults), 4 chains × 1000 draws after 1000 tuning steps.
Run in a fresh process; times import, compile and sample from the top of the script, then a warm
refit on new data (``compiled.with_data``: no recompilation).  Prints one JSON line.

Usage: python bayes_pymc_nutpie.py DATA.csv NEW_RESPONSE.csv DRAWS TUNE CHAINS SEED
"""

import time

T0 = time.perf_counter()
import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pymc as pm  # noqa: E402
import nutpie  # noqa: E402

T_IMPORT = time.perf_counter()


def min_bulk_ess(trace, names) -> float:
    import arviz as az

    post = trace["posterior"].to_dataset() if hasattr(trace["posterior"], "to_dataset") else trace.posterior
    ess = az.ess(post[names], method="bulk")
    return float(min(float(np.min(ess[v].values)) for v in names))


def main():
    path, new_path, draws, tune, chains, seed = sys.argv[1:7]
    draws, tune, chains, seed = int(draws), int(tune), int(chains), int(seed)
    df = pd.read_csv(path)
    subj, groups = pd.factorize(df["Subject"])
    x, y = df["Days"].to_numpy(float), df["Reaction"].to_numpy(float)
    sy, sx = y.std(), x.std()
    with pm.Model(coords={"subject": groups, "effect": ["Intercept", "Days"], "obs": np.arange(len(y))}) as model:
        y_data = pm.Data("y", y, dims="obs")
        b0 = pm.Normal("b_Intercept", mu=y.mean(), sigma=2.5 * sy)
        b1 = pm.Normal("b_Days", mu=0.0, sigma=2.5 * sy / sx)
        chol, corr, sds = pm.LKJCholeskyCov("chol", n=2, eta=1.0, sd_dist=pm.Exponential.dist(1.0 / sy, shape=2),
                                            compute_corr=True)
        pm.Deterministic("sd", sds, dims="effect")
        pm.Deterministic("cor", corr[0, 1])
        z = pm.Normal("z", 0.0, 1.0, dims=("subject", "effect"))
        b = pm.Deterministic("b", z @ chol.T, dims=("subject", "effect"))
        sigma = pm.Exponential("sigma", 1.0 / sy)
        mu = b0 + b[subj, 0] + (b1 + b[subj, 1]) * x
        pm.Normal("Reaction", mu=mu, sigma=sigma, observed=y_data, dims="obs")
    compiled = nutpie.compile_pymc_model(model)
    t_compile = time.perf_counter()
    trace = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed, progress_bar=False)
    t_sample = time.perf_counter()
    names = ["b_Intercept", "b_Days", "sd", "cor", "sigma"]
    ess = min_bulk_ess(trace, names)
    y_new = pd.read_csv(new_path).iloc[:, 0].to_numpy(float)
    t1 = time.perf_counter()
    trace2 = nutpie.sample(compiled.with_data(y=y_new), draws=draws, tune=tune, chains=chains, seed=seed + 1,
                           progress_bar=False)
    t2 = time.perf_counter()
    print(json.dumps({
        "import_s": T_IMPORT - T0, "compile_s": t_compile - T_IMPORT, "sample_s": t_sample - t_compile,
        "cold_s": t_sample - T0, "min_ess_bulk": ess, "warm_refit_s": t2 - t1,
        "warm_min_ess_bulk": min_bulk_ess(trace2, names), "draws": draws, "tune": tune, "chains": chains,
        "versions": {"pymc": pm.__version__, "nutpie": nutpie.__version__},
    }))


if __name__ == "__main__":
    main()
