"""One ``hl.blmer`` fit of bench/bayes_scale.py in a fresh process, with its diagnostics.

Usage: python bayes_scale_fit.py DATA "FORMULA" METHOD DRAWS TUNE CHAINS SEED ['{"json": "blmer kwargs"}']

DATA is a shipped dataset name, or ``ref:NAME:col1,col2`` for tests/reference/data/NAME.csv with the
listed factor columns, ``bench:NAME:col1,col2`` for bench/data/NAME.csv.gz (bench/r/export_scale_data.R), or
``sim:PATH:col1,col2`` for a CSV written by the bench.  METHOD is blmer's
``method``.  Prints one JSON line: the fit's wall time (in process, after the imports), its timings,
route, max R-hat, divergences, min bulk / tail ESS, mean leapfrog steps per draw and the posterior means
of the summary parameters.  The same script runs against another hierlm checkout (``PYTHONPATH``), so
settings it lacks are read with ``.get``.
"""

import time

T0 = time.perf_counter()
import json
import pathlib
import resource
import sys
import warnings

import pandas as pd

import hierlm as hl
from hierlm.design.value import level_names, sort_levels

T_IMPORT = time.perf_counter()
ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(spec: str) -> pd.DataFrame:
    if ":" not in spec:
        return hl.load_dataset(spec)
    kind, name, cols = spec.split(":", 2)
    factors = [c for c in cols.split(",") if c]
    path = {"ref": ROOT / "tests" / "reference" / "data" / f"{name}.csv",
            "bench": ROOT / "bench" / "data" / f"{name}.csv.gz"}.get(kind, pathlib.Path(name))
    df = pd.read_csv(path, dtype={c: str for c in factors})
    for c in factors:  # R's level order, as hl.load_dataset orders them
        df[c] = pd.Categorical(df[c], categories=level_names(sort_levels(list(df[c].dropna().unique()))))
    return df


def main():
    data, formula, method, draws, tune, chains, seed = sys.argv[1:8]
    extra = json.loads(sys.argv[8]) if len(sys.argv) > 8 else {}
    df = load(data)
    kw = dict(draws=int(draws), tune=int(tune), chains=int(chains), seed=int(seed), progressbar=False, **extra)
    if method != "default":
        kw["method"] = method
    from hierlm.engines.bayes.warmup import warmup

    warmup(verbose=False)  # untimed: compiles (or loads) the kernels, so the timing below is the fit's own
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = hl.blmer(formula, df, **kw)
    t1, c1 = time.perf_counter(), time.process_time()
    diag = fit.diagnostics()
    st = fit.idata["sample_stats"]
    C, D = st.sizes["chain"], st.sizes["draw"]
    ndiv = int(st["diverging"].values.sum())
    out = {"wall_s": t1 - t0, "cpu_s": c1 - c0, "import_s": T_IMPORT - T0, "timings": fit.timings,
           "method": fit.settings.get("method"), "route": fit.settings.get("route"),
           "sampler": fit.settings.get("sampler_label"), "nobs": len(fit.design.y),
           "levels": {t.group: t.nlevels for t in fit.design.reterms},
           "max_rhat": float(diag["R-hat"].max()), "divergences": ndiv, "divergent_pct": 100.0 * ndiv / (C * D),
           "min_ess_bulk": float(diag["ESS bulk"].min()), "min_ess_tail": float(diag["ESS tail"].min()),
           "worst_ess": str(diag["ESS bulk"].idxmin()), "steps_per_draw": float(st["n_steps"].values.mean()),
           "means": {k: float(v) for k, v in diag["Estimate"].items()},
           "sds": {k: float(v) for k, v in diag["Est.Error"].items()},
           "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "warnings": [str(w.message)[:160] for w in caught][:5],
           "draws": int(draws), "tune": int(tune), "chains": int(chains)}
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
