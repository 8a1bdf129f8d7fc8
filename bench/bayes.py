"""Bayesian timings: ``hl.blmer`` against hand-written PyMC + nutpie, bambi, rstanarm and brms.

Every fit runs in a fresh process and is timed from the parent (interpreter start, imports,
compilation and sampling: the "cold time to a posterior"); the scripts also report their own
breakdown, a warm refit on new data (same design, a response simulated from the REML fit) and
the smallest bulk ESS over the summary parameters, from which ESS per second follows.

* default: sleepstudy ``(Days | Subject)``: hierlm vs PyMC + nutpie; bambi vs hierlm on the
  uncorrelated ``(Days || Subject)`` model.
* ``--with-stan``: rstanarm and brms (brms compiles a Stan model: ~100 s).
* ``--long``: InstEval and VerbAgg (hierlm only).

Called through :func:`bench_bayes` when ``hierlm.blmer`` exists.  Writes ``bench/results/bayes.json``.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile
import time

from .common import SCRIPTS, export_csv, load_average, rscript, run_python, run_r

SLEEP = "Reaction ~ Days + (Days | Subject)"
SLEEP_UNCORR = "Reaction ~ Days + (Days || Subject)"
LONG = [("InstEval", "y ~ service + (1|s) + (1|d) + (1|dept)", "gaussian"),
        ("VerbAgg", "r2 ~ Anger + Gender + btype + situ + (1|id) + (1|item)", "bernoulli")]


def bench_bayes(quick: bool = False, with_stan: bool = False, long: bool = False, log=print) -> dict:
    """Run the Bayesian comparisons; returns the result dict (see module docstring)."""
    import hierlm as hl

    draws, tune, chains = (200, 200, 2) if quick else (1000, 1000, 4)
    out = {"description": __doc__.splitlines()[0], "draws": draws, "tune": tune, "chains": chains, "fits": {}}
    df = hl.load_dataset("sleepstudy")
    new_y = hl.lmer(SLEEP, df).simulate(nsim=1, seed=11).reshape(-1)
    with tempfile.TemporaryDirectory() as tmp:
        csv, ycsv = pathlib.Path(tmp) / "sleepstudy.csv", pathlib.Path(tmp) / "new_y.csv"
        export_csv(df, csv)
        ycsv.write_text("Reaction\n" + "\n".join(repr(float(v)) for v in new_y) + "\n")
        common = [str(draws), str(tune), str(chains), "1"]
        jobs = [("hierlm sleepstudy",
                 lambda: run_python("bayes_hierlm.py", str(csv), SLEEP, "gaussian", *common, str(ycsv))),
                ("pymc+nutpie sleepstudy", lambda: run_python("bayes_pymc_nutpie.py", str(csv), str(ycsv), *common))]
        if not quick:
            jobs += [("hierlm sleepstudy uncorrelated",
                      lambda: run_python("bayes_hierlm.py", str(csv), SLEEP_UNCORR, "gaussian", *common)),
                     ("bambi sleepstudy uncorrelated", lambda: run_python("bayes_bambi.py", str(csv), *common))]
        if with_stan and rscript():
            cores = "2"
            for pkg in ("rstanarm", "brms"):
                jobs.append((f"{pkg} sleepstudy", lambda pkg=pkg: run_r(
                    "stan_sleepstudy.R", pkg, str(csv), str(chains), str(draws + tune), str(tune), cores, "1")))
        if long:
            for data, formula, family in LONG:
                jobs.append((f"hierlm {data}", lambda d=data, f=formula, fam=family: run_python(
                    "bayes_hierlm.py", d, f, fam, *common)))
        for name, job in jobs:
            out["fits"][name] = _run(job, log, name)
    out["comparisons"] = _comparisons(out["fits"])
    return out


def _run(job, log, name) -> dict:
    load = load_average()
    t0 = time.perf_counter()
    try:
        rec = job()
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        log(f"{name}: failed: {str(exc)[:300]}")
        return {"error": str(exc), "load_average_before": load}
    rec["wall_s"] = time.perf_counter() - t0  # from the parent: interpreter / R start-up included
    rec["load_average_before"] = load
    rec["ess_per_s"] = rec["min_ess_bulk"] / rec["wall_s"]
    if "warm_refit_s" in rec:
        rec["warm_ess_per_s"] = rec["warm_min_ess_bulk"] / rec["warm_refit_s"]
    log(f"{name:32s} cold {rec['wall_s']:7.1f} s (in-process {rec['cold_s']:.1f})"
        + (f", warm refit {rec['warm_refit_s']:.2f} s" if "warm_refit_s" in rec else "")
        + f", min bulk ESS {rec['min_ess_bulk']:.0f} ({rec['ess_per_s']:.0f}/s cold)")
    return rec


PAIRS = [("sleepstudy (Days|Subject)", "hierlm sleepstudy", "pymc+nutpie sleepstudy"),
         ("sleepstudy (Days|Subject)", "hierlm sleepstudy", "rstanarm sleepstudy"),
         ("sleepstudy (Days|Subject)", "hierlm sleepstudy", "brms sleepstudy"),
         ("sleepstudy (Days||Subject)", "hierlm sleepstudy uncorrelated", "bambi sleepstudy uncorrelated")]


def _comparisons(fits: dict) -> list[dict]:
    out = []
    for label, mine, base in PAIRS:
        a, b = fits.get(mine, {}), fits.get(base, {})
        if "wall_s" not in a or "wall_s" not in b:
            continue
        rec = {"model": label, "hierlm": mine, "baseline": base, "cold_ratio": a["wall_s"] / b["wall_s"],
               "ess_per_s_ratio": a["ess_per_s"] / b["ess_per_s"]}
        if "warm_refit_s" in a and "warm_refit_s" in b:
            rec["warm_ratio"] = a["warm_refit_s"] / b["warm_refit_s"]
        out.append(rec)
    return out


TARGETS = {  # issue 6 (sleepstudy, InstEval) and issue 8 (VerbAgg), on 2 cores with the defaults
    "cold": "≤ 0.25", "ess": "≥ 1000", "warm": "≤ 2 s", "hierlm InstEval": 900.0, "hierlm VerbAgg": 600.0}


def rows(result: dict) -> list[tuple]:
    """(measurement, hierlm, baseline, ratio, target) rows for the final table."""
    fits, out = result.get("fits", {}), []
    for c in result.get("comparisons", []):
        a, b = fits[c["hierlm"]], fits[c["baseline"]]
        base = c["baseline"].split()[0]
        headline = c["hierlm"] == "hierlm sleepstudy" and base == "pymc+nutpie"
        out.append((f"Bayes cold {c['model']} vs {base}", f"{a['wall_s']:.1f} s",
                    f"{b['wall_s']:.1f} s", c["cold_ratio"], TARGETS["cold"] if headline else None))
        if "warm_ratio" in c:
            out.append((f"Bayes warm refit {c['model']} vs {base}", f"{a['warm_refit_s']:.2f} s",
                        f"{b['warm_refit_s']:.2f} s", c["warm_ratio"], TARGETS["warm"] if headline else None))
        out.append((f"Bayes min bulk ESS {c['model']} vs {base}", f"{a['min_ess_bulk']:.0f}",
                    f"{b['min_ess_bulk']:.0f}", a["min_ess_bulk"] / b["min_ess_bulk"],
                    TARGETS["ess"] if headline else None))
        out.append((f"Bayes ESS/s {c['model']} vs {base} (higher is better)",
                    f"{a['ess_per_s']:.0f}/s", f"{b['ess_per_s']:.0f}/s", c["ess_per_s_ratio"], None))
    for name, rec in fits.items():
        if name.startswith("hierlm ") and "sleepstudy" not in name and "wall_s" in rec:
            target = TARGETS.get(name)
            out.append((f"Bayes cold {name[7:]} (hierlm only; max R-hat {rec.get('max_rhat', float('nan')):.3f}, "
                        f"{rec.get('divergences', '?')} divergences)", f"{rec['wall_s']:.1f} s", "-", None,
                        f"< {target:g} s, R-hat < 1.01" if target else None))
    return out


if __name__ == "__main__":  # pragma: no cover
    bench_bayes(quick="--quick" in sys.argv)
    print(SCRIPTS)
