"""Benchmark: parametric-bootstrap LRT, 1000 refit pairs of a Sitka-size model on 2 worker processes.

Sitka (395 observations, 79 trees): ``size ~ Time + I(Time^2) + (1 | tree)`` against
``size ~ treat*(Time + I(Time^2)) + (1 | tree)``.  Writes ``bench/results/bootstrap.json``.

Run: ``.venv/bin/python bench/bootstrap.py [--nsim 1000] [--n-jobs 2]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import time

import hierlm as hl

NULL = "size ~ Time + I(Time^2) + (1 | tree)"
ALT = "size ~ treat*(Time + I(Time^2)) + (1 | tree)"


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nsim", type=int, default=1000)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "bootstrap.json"))
    args = ap.parse_args(argv)

    sitka = hl.load_dataset("Sitka")
    m0, m1 = hl.lmer(NULL, sitka), hl.lmer(ALT, sitka)
    t0 = time.perf_counter()
    res = hl.bootstrap_lrt(m0, m1, nsim=args.nsim, seed=args.seed, n_jobs=args.n_jobs)
    seconds = time.perf_counter() - t0
    out = {
        "benchmark": "bootstrap_lrt",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "hierlm": hl.__version__,
        "machine": machine(),
        "data": "Sitka",
        "null": NULL,
        "alternative": ALT,
        "nsim": args.nsim,
        "n_jobs": args.n_jobs,
        "seed": args.seed,
        "seconds": round(seconds, 3),
        "seconds_per_refit_pair": round(seconds / args.nsim, 5),
        "statistic": res.statistic,
        "df": res.df,
        "p_value": res.p_value,
        "p_value_pbkrtest": res.p_value_pbkrtest,
        "p_chisq": res.p_chisq,
        "n_failed": res.n_failed,
    }
    path = pathlib.Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"bootstrap_lrt: {args.nsim} refit pairs on {args.n_jobs} processes in {seconds:.2f} s; "
          f"p = {res.p_value:.4g} (chi-square {res.p_chisq:.3g}); wrote {path}")
    return out


if __name__ == "__main__":
    main()
