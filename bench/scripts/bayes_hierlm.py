"""hierlm's Bayesian fit (``hl.blmer`` with its defaults) in a fresh process: cold time to a
posterior from the top of the script (imports included), then optionally a warm refit on new data.

Usage: python bayes_hierlm.py DATA.csv|DATASET "FORMULA" FAMILY DRAWS TUNE CHAINS SEED [NEW_RESPONSE.csv]
(NEW_RESPONSE.csv: one column named as the response)
Prints one JSON line.
"""

import time

T0 = time.perf_counter()
import json  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402

import hierlm as hl  # noqa: E402

T_IMPORT = time.perf_counter()


def min_bulk_ess(fit) -> float:
    """Smallest bulk ESS over the summary parameters (fixed effects, SDs, correlations, sigma)."""
    table = fit.diagnostics()
    col = next(c for c in table.columns if "bulk" in c.lower())
    return float(table[col].min())


def main():
    data, formula, family, draws, tune, chains, seed = sys.argv[1:8]
    draws, tune, chains, seed = int(draws), int(tune), int(chains), int(seed)
    df = hl.load_dataset(data) if not data.endswith(".csv") else None
    if df is None:
        import pandas as pd

        df = pd.read_csv(data)
    kw = dict(draws=draws, tune=tune, chains=chains, seed=seed, progressbar=False)
    if family != "gaussian":
        kw["family"] = family
    t0 = time.perf_counter()
    fit = hl.blmer(formula, df, **kw)
    t1 = time.perf_counter()
    out = {"import_s": T_IMPORT - T0, "fit_s": t1 - t0, "cold_s": t1 - T0, "min_ess_bulk": min_bulk_ess(fit),
           "max_rhat": float(fit.diagnostics()["R-hat"].max()),
           "divergences": int(fit.idata["sample_stats"]["diverging"].values.sum()),
           "timings": fit.timings, "sampler": fit.settings.get("sampler_label", fit.settings.get("sampler")),
           "nobs": len(df), "draws": draws, "tune": tune, "chains": chains}
    if len(sys.argv) > 8:
        import pandas as pd

        new = df.copy()
        response = pd.read_csv(pathlib.Path(sys.argv[8]))  # one column, named as the response
        new[response.columns[0]] = response.iloc[:, 0].to_numpy()
        t2 = time.perf_counter()
        fit2 = hl.blmer(formula, new, **dict(kw, seed=seed + 1))
        t3 = time.perf_counter()
        out.update(warm_refit_s=t3 - t2, warm_min_ess_bulk=min_bulk_ess(fit2))
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
