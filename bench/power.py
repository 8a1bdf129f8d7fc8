"""Benchmark: simulation-based power and the parametric bootstrap on executors, against R loops.

Three measurements in one run (2 cores):

* (a) ``hl.power_sim`` — a 1000-simulation power curve over 4 sizes of a sleepstudy-sized LMM
  (``Reaction ~ Days + (Days | Subject)``, fixef Days = 2, along Subject at 10, 20, 30, 40 subjects,
  Satterthwaite t: 4000 refits) on a warm 2-process ``ProcessPoolExecutor``, against the same loop in
  R with lme4 + lmerTest (``bench/r/power_loop.R``; R runs ``--r-nsim`` simulations, 250 by default,
  and its time is scaled to 1000: each R simulation costs the same).  Target ≤ 0.05×.
* (b) ``hl.bootstrap_lrt`` — 1000 refit pairs of Sitka ``size ~ treat*(Time + I(Time^2)) + (Time|tree)``
  against ``size ~ Time + I(Time^2) + (Time|tree)`` on the same pool, against pbkrtest's
  ``PBmodcomp`` on the same models (``bench/r/pbmodcomp_time.R``, one R process).  Target ≤ 0.1×.
* (c) the power curve of (a) on a Dask ``LocalCluster`` with 2 worker processes against one process
  (no executor).  Target: speed-up ≥ 1.7.

Executors are started and warmed (workers import hierlm and load the compiled kernels) before the
timed runs, as R's time excludes starting R.  Writes ``bench/results/power.json``.

Run alone: ``.venv/bin/python -m bench.power [--nsim 1000] [--r-nsim 250]``; part of ``./run bench``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile
import time
import warnings

from .common import export_csv, load_average, machine, now, rscript, run_r

SLEEP = "Reaction ~ Days + (Days | Subject)"
SIZES = [10, 20, 30, 40]
SITKA_LARGE = "size ~ treat*(Time + I(Time^2)) + (Time|tree)"
SITKA_SMALL = "size ~ Time + I(Time^2) + (Time|tree)"
TARGETS = {"power_curve": 0.05, "bootstrap": 0.1, "dask_speedup": 1.7}


def _curve(hl, m, nsim, executor=None, seed=2024):
    from hierlm.services.power import power_sim

    t0 = time.perf_counter()
    res = power_sim(m, "Days", nsim=nsim, effects={"Days": 2.0}, along="Subject", sizes=SIZES, seed=seed,
                    executor=executor, progressbar=False)
    return time.perf_counter() - t0, res


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process so far (on a Dask worker: of that worker)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(nsim: int = 1000, r_nsim: int = 250, boot_nsim: int = 1000, quick: bool = False, log=print) -> dict:
    """The benchmark (``quick``: 100 simulations, 50 refit pairs, R at 20 / 50)."""
    from concurrent.futures import ProcessPoolExecutor

    import numpy as np

    import hierlm as hl

    if quick:
        nsim, r_nsim, boot_nsim = 100, 20, 50
    out = {"description": __doc__.splitlines()[0], "date": now(), "machine": machine(), "nsim": nsim,
           "sizes": SIZES, "formula": SLEEP, "load_average_before": load_average()}
    sleep = hl.load_dataset("sleepstudy")
    m = hl.lmer(SLEEP, sleep)
    sitka = hl.load_dataset("Sitka")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m1, m0 = hl.lmer(SITKA_LARGE, sitka, reml=False), hl.lmer(SITKA_SMALL, sitka, reml=False)
    _curve(hl, m, 4)  # compile / load the kernels in this process
    # (c) one process, no executor
    cpu0 = _cpu_seconds()
    secs_serial, res_serial = _curve(hl, m, nsim)
    cpu_serial = _cpu_seconds() - cpu0
    log(f"power curve, one process: {secs_serial:.2f} s ({1e3 * secs_serial / (nsim * len(SIZES)):.2f} ms per refit); "
        f"power {res_serial['power'].round(3).tolist()}")
    # (a), (b) on a warm process pool
    with ProcessPoolExecutor(2) as pool:
        _curve(hl, m, 8, executor=pool)
        hl.bootstrap_lrt(m0, m1, nsim=4, seed=1, executor=pool, progressbar=False)
        secs_pool, res_pool = _curve(hl, m, nsim, executor=pool)
        t0 = time.perf_counter()
        boot = hl.bootstrap_lrt(m0, m1, nsim=boot_nsim, seed=2024, executor=pool, progressbar=False)
        secs_boot = time.perf_counter() - t0
    same = bool(np.array_equal(res_pool.attrs["pvalues"], res_serial.attrs["pvalues"]))
    log(f"power curve, 2-process pool: {secs_pool:.2f} s (same p-values as one process: {same})")
    log(f"bootstrap_lrt Sitka (Time|tree): {boot_nsim} refit pairs in {secs_boot:.2f} s, p = {boot.p_value:.4g}, "
        f"{boot.n_failed} failed")
    # (c) Dask LocalCluster, 2 worker processes
    dask = {}
    try:
        from distributed import Client, LocalCluster

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster, \
                    Client(cluster) as client:
                _curve(hl, m, 8, executor=client)
                before = client.run(_cpu_seconds)
                secs_dask, res_dask = _curve(hl, m, nsim, executor=client)
                after = client.run(_cpu_seconds)
        busy = [after[w] - before[w] for w in after]
        dask = {"seconds": round(secs_dask, 3), "speedup": secs_serial / secs_dask,
                "worker_cpu_s": [round(b, 3) for b in busy], "one_process_cpu_s": round(cpu_serial, 3),
                # the speed-up if each worker had a core of its own (the machine is shared): one process's CPU
                # time over the busiest worker's
                "cpu_speedup": cpu_serial / max(busy),
                "same_as_one_process": bool(np.array_equal(res_dask.attrs["pvalues"], res_serial.attrs["pvalues"]))}
        log(f"power curve, Dask LocalCluster (2 workers): {secs_dask:.2f} s, speed-up {dask['speedup']:.2f} "
            f"(CPU-time speed-up {dask['cpu_speedup']:.2f}; same p-values: {dask['same_as_one_process']})")
    except ImportError:
        dask = {"skipped": "dask[distributed] is not installed"}
    out["hierlm"] = {
        "power_curve": {"one_process_s": round(secs_serial, 3), "one_process_cpu_s": round(cpu_serial, 3),
                        "pool_2_s": round(secs_pool, 3),
                        "ms_per_refit_one_process": 1e3 * secs_serial / (nsim * len(SIZES)),
                        "power": res_pool["power"].tolist(), "failed": res_pool["failed"].tolist(),
                        "singular": res_pool["singular"].tolist(), "same_as_one_process": same},
        "bootstrap": {"seconds": round(secs_boot, 3), "nsim": boot_nsim, "p_value": boot.p_value,
                      "statistic": boot.statistic, "n_failed": boot.n_failed},
        "dask": dask,
    }
    out["R"] = {}
    if rscript():
        with tempfile.TemporaryDirectory() as tmp:
            csv = pathlib.Path(tmp) / "sleepstudy.csv"
            export_csv(sleep, csv)
            try:
                r = run_r("power_loop.R", str(csv), str(r_nsim), ",".join(map(str, SIZES)), timeout=7200)
                r["seconds_scaled_to_nsim"] = r["seconds"] * nsim / r_nsim
                out["R"]["power_curve"] = r
                log(f"R power loop: {r_nsim} simulations x {len(SIZES)} sizes in {r['seconds']:.1f} s "
                    f"(scaled to {nsim}: {r['seconds_scaled_to_nsim']:.1f} s); power {r['power']}")
            except Exception as exc:  # noqa: BLE001 - report and go on
                out["R"]["power_curve"] = {"error": str(exc)}
            csv = pathlib.Path(tmp) / "Sitka.csv"
            export_csv(sitka, csv)
            try:
                r = run_r("pbmodcomp_time.R", str(csv), str(boot_nsim), SITKA_LARGE, SITKA_SMALL, timeout=7200)
                out["R"]["bootstrap"] = r
                log(f"R PBmodcomp: {boot_nsim} samples in {r['seconds']:.1f} s, p = {r['p_value']:.4g}")
            except Exception as exc:  # noqa: BLE001
                out["R"]["bootstrap"] = {"error": str(exc)}
    else:
        out["R"] = {"skipped": "Rscript not found"}
    ratios = {}
    rc, rb = out["R"].get("power_curve", {}), out["R"].get("bootstrap", {})
    if "seconds" in rc:
        ratios["power_curve"] = secs_pool / rc["seconds_scaled_to_nsim"]
    if "seconds" in rb:
        ratios["bootstrap"] = secs_boot / rb["seconds"]
    if "speedup" in dask:
        ratios["dask_speedup"] = dask["speedup"]
    out["ratios"], out["targets"] = ratios, TARGETS
    out["load_average_after"] = load_average()
    if "cpu_speedup" in dask:
        ratios["dask_cpu_speedup"] = dask["cpu_speedup"]
    log("ratios: " + ", ".join(f"{k} {v:.3g}" for k, v in ratios.items()))
    return out


def rows(result: dict) -> list[tuple]:
    """(measurement, hierlm, baseline, ratio, target) rows for the final table."""
    h, r, ratio = result["hierlm"], result.get("R", {}), result.get("ratios", {})
    n = result["nsim"]
    rc, rb = r.get("power_curve", {}), r.get("bootstrap", {})
    out = [(f"power curve, {n} sims x 4 sizes (sleepstudy), 2 processes vs lme4+lmerTest loop",
            f"{h['power_curve']['pool_2_s']:.2f} s",
            f"{rc['seconds_scaled_to_nsim']:.1f} s" if "seconds" in rc else "-", ratio.get("power_curve"), 0.05),
           (f"bootstrap LRT, {h['bootstrap']['nsim']} refit pairs (Sitka, (Time|tree)) vs PBmodcomp",
            f"{h['bootstrap']['seconds']:.2f} s", f"{rb['seconds']:.1f} s" if "seconds" in rb else "-",
            ratio.get("bootstrap"), 0.1)]
    d = h.get("dask", {})
    if "speedup" in d:
        out.append(("power curve on a Dask LocalCluster (2 workers) vs one process", f"{d['seconds']:.2f} s",
                    f"{h['power_curve']['one_process_s']:.2f} s", d["seconds"] / h["power_curve"]["one_process_s"],
                    "speed-up ≥ 1.7 (ratio ≤ 0.59)"))
    return out


def markdown(result: dict) -> list[str]:
    h = result["hierlm"]
    return [f"* power {h['power_curve']['power']} at {result['sizes']} subjects (R: "
            f"{result.get('R', {}).get('power_curve', {}).get('power')}); "
            f"{h['power_curve']['ms_per_refit_one_process']:.2f} ms per refit in one process",
            f"* Dask: {h.get('dask')}"]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nsim", type=int, default=1000)
    ap.add_argument("--r-nsim", type=int, default=250)
    ap.add_argument("--boot-nsim", type=int, default=1000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "power.json"))
    args = ap.parse_args(argv)
    out = run(nsim=args.nsim, r_nsim=args.r_nsim, boot_nsim=args.boot_nsim, quick=args.quick)
    path = pathlib.Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
