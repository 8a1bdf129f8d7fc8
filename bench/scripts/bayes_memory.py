"""Peak memory of a Bayesian fit of a 1,000,000-row crossed model, in a fresh process (ru_maxrss).

The data copy InstEval's structure K times (K = 14: 1,027,894 rows): copy c has its own students
(s + c·2972) and lecturers (d + c·1128), the same 14 departments and service indicator, and a response
simulated from the REML fit of ``y ~ service + (1|s) + (1|d) + (1|dept)`` to InstEval.  The model is fitted
with ``hl.blmer`` at the defaults (4 chains × 1000 draws after 1000 tuning) and ``store_ranef=False``.

Usage: python bayes_memory.py [K] [DRAWS] [STORE_RANEF]; prints one JSON line.
"""

import json
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd

import hierlm as hl

FORMULA = "y ~ service + (1|s) + (1|d) + (1|dept)"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def simulate(K: int, seed: int = 14) -> tuple[pd.DataFrame, dict]:
    base = hl.load_dataset("InstEval")
    m = hl.lmer(FORMULA, base)
    vc = m.varcorr().set_index("grp")["sdcor"]
    truth = {"beta": m.fixef()["Estimate"].to_dict(),
             "sd": {g: float(vc[g]) for g in ("s", "d", "dept")}, "sigma": float(m.sigma())}
    rng = np.random.default_rng(seed)
    S, D = base["s"].cat.categories.size, base["d"].cat.categories.size
    s0, d0 = base["s"].cat.codes.to_numpy().astype(np.int64), base["d"].cat.codes.to_numpy().astype(np.int64)
    dept0 = base["dept"].cat.codes.to_numpy().astype(np.int64)
    serv = (base["service"] == "1").to_numpy().astype(float)
    n0 = len(base)
    s = np.concatenate([s0 + c * S for c in range(K)])
    d = np.concatenate([d0 + c * D for c in range(K)])
    dept = np.tile(dept0, K)
    service = np.tile(serv, K)
    b = list(truth["beta"].values())
    y = (b[0] + b[1] * service + truth["sd"]["s"] * rng.standard_normal(K * S)[s]
         + truth["sd"]["d"] * rng.standard_normal(K * D)[d] + truth["sd"]["dept"] * rng.standard_normal(14)[dept]
         + truth["sigma"] * rng.standard_normal(K * n0))
    df = pd.DataFrame({"y": y, "service": pd.Categorical(service.astype(int).astype(str), categories=["0", "1"]),
                       "s": pd.Categorical.from_codes(s, [f"s{i}" for i in range(K * S)]),
                       "d": pd.Categorical.from_codes(d, [f"d{i}" for i in range(K * D)]),
                       "dept": pd.Categorical.from_codes(dept, [str(i) for i in range(14)])})
    return df, truth


def main():
    K = int(sys.argv[1]) if len(sys.argv) > 1 else 14
    draws = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    store = (sys.argv[3].lower() == "true") if len(sys.argv) > 3 else False
    t0 = time.perf_counter()
    df, truth = simulate(K)
    t_sim = time.perf_counter() - t0
    from hierlm.engines.bayes.warmup import warmup

    warmup(verbose=False)  # compiled kernels loaded before the fit is timed
    before = rss_mib()
    t1 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = hl.blmer(FORMULA, df, draws=draws, tune=draws, chains=4, seed=1, progressbar=False, store_ranef=store)
    seconds = time.perf_counter() - t1
    diag = fit.diagnostics()
    st = fit.idata["sample_stats"]
    print(json.dumps({
        "rows": len(df), "levels": {c: int(df[c].cat.categories.size) for c in ("s", "d", "dept")}, "K": K,
        "formula": FORMULA, "store_ranef": store, "draws": draws, "simulate_s": t_sim, "fit_s": seconds,
        "timings": fit.timings, "route": fit.settings.get("route"), "maxrss_before_fit_mib": before,
        "maxrss_mib": rss_mib(), "max_rhat": float(diag["R-hat"].max()),
        "min_ess_bulk": float(diag["ESS bulk"].min()), "divergences": int(st["diverging"].values.sum()),
        "steps_per_draw": float(st["n_steps"].values.mean()), "truth": truth,
        "estimates": {k: float(v) for k, v in diag["Estimate"].items()},
        "groups": list(fit.idata.children), "warnings": [str(w.message)[:200] for w in caught][:5]}, default=str))


if __name__ == "__main__":
    main()
