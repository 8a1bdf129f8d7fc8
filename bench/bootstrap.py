"""Benchmark: parametric-bootstrap LRT, 1000 refit pairs of a Sitka-size model on 2 worker processes.

Sitka (395 observations, 79 trees): ``size ~ Time + I(Time^2) + (1 | tree)`` against
``size ~ treat*(Time + I(Time^2)) + (1 | tree)``.  Writes ``bench/results/bootstrap.json``.

Run alone: ``.venv/bin/python -m bench.bootstrap [--nsim 1000] [--n-jobs 2]``; part of ``./run bench``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import hierlm as hl

from .common import machine, now

NULL = "size ~ Time + I(Time^2) + (1 | tree)"
ALT = "size ~ treat*(Time + I(Time^2)) + (1 | tree)"


def run(nsim: int = 1000, n_jobs: int = 2, seed: int = 2024, quick: bool = False, log=print) -> dict:
    """The benchmark itself (``quick``: 50 refit pairs); returns the result dict."""
    nsim = 50 if quick else nsim
    sitka = hl.load_dataset("Sitka")
    m0, m1 = hl.lmer(NULL, sitka), hl.lmer(ALT, sitka)
    t0 = time.perf_counter()
    res = hl.bootstrap_lrt(m0, m1, nsim=nsim, seed=seed, n_jobs=n_jobs)
    seconds = time.perf_counter() - t0
    out = {
        "benchmark": "bootstrap_lrt",
        "description": __doc__.splitlines()[0],
        "date": now(),
        "hierlm": hl.__version__,
        "machine": machine(),
        "data": "Sitka",
        "null": NULL,
        "alternative": ALT,
        "nsim": nsim,
        "n_jobs": n_jobs,
        "seed": seed,
        "seconds": round(seconds, 3),
        "seconds_per_refit_pair": round(seconds / nsim, 5),
        "statistic": res.statistic,
        "df": res.df,
        "p_value": res.p_value,
        "p_value_pbkrtest": res.p_value_pbkrtest,
        "p_chisq": res.p_chisq,
        "n_failed": res.n_failed,
    }
    log(f"bootstrap_lrt: {nsim} refit pairs on {n_jobs} processes in {seconds:.2f} s "
        f"({1e3 * seconds / nsim:.1f} ms per pair); p = {res.p_value:.4g} (chi-square {res.p_chisq:.3g})")
    return out


def rows(result: dict) -> list[tuple]:
    return [(f"bootstrap LRT, {result['nsim']} refit pairs (Sitka)", f"{result['seconds']:.2f} s",
             "-", None, None)]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nsim", type=int, default=1000)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "bootstrap.json"))
    args = ap.parse_args(argv)

    out = run(nsim=args.nsim, n_jobs=args.n_jobs, seed=args.seed)
    path = pathlib.Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
