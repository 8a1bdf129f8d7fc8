"""hierlm's benchmark suite: ``./run bench`` (= ``python -m bench``).

Measures hierlm side by side with its baselines in the same run (the machine is shared: only
ratios measured together mean anything) and prints a table of ratios at the end.

Benchmarks (``--only NAME``, repeatable):

* ``reml``: REML fit time vs lme4 (timed inside R) and statsmodels MixedLM if installed, on
  InstEval and small models (sleepstudy, Penicillin, Sitka random slopes).
* ``memory``: peak memory of the InstEval REML fit, in a fresh process (limit 1 GiB).
* ``bayes``: ``hl.blmer`` vs a hand-written PyMC + nutpie model and bambi; ``--with-stan`` adds
  rstanarm and brms, ``--long`` InstEval and VerbAgg (skipped if ``hierlm.blmer`` is missing).
* ``glmm``: ``hl.glmer`` (Laplace) vs lme4's ``glmer`` on VerbAgg (crossed Bernoulli) and cbpp.
* ``bootstrap``: parametric-bootstrap LRT, 1000 refit pairs on 2 processes.
* ``sbc``: simulation-based calibration of ``hl.blmer`` (200 replications per model, 2 processes).
* ``recovery``: parameter recovery of ``hl.blmer`` on simulated data (coverage of 95% intervals).
* ``freq_speed``: ``hl.lmer`` / ``hl.glmer`` on 31 real-data models beside lme4 at its defaults (median of 3
  warm fits each, ratios, evaluation counts, logLik differences).
* ``power``: ``hl.power_sim`` power curve and the Sitka bootstrap on a 2-process pool against R loops
  (lme4 + lmerTest, pbkrtest's ``PBmodcomp``), and a Dask ``LocalCluster`` against one process.

Options: ``--quick`` (small subset, CI smoke), ``--no-r`` (skip R even if installed).
Results: ``bench/results/<name>.json`` and a readable ``bench/results/latest.md`` (benchmarks not
run this time keep their section from their last run, read back from their JSON).
"""

from __future__ import annotations

import argparse
import sys
import time

from . import common
from .common import RESULTS, load_average, machine, now, write_result

NAMES = ("reml", "memory", "glmm", "freq_speed", "bayes", "bayes_scale", "bootstrap", "sbc", "recovery", "power")


def _bayes(args, log):
    import hierlm

    if not hasattr(hierlm, "blmer"):
        log("bayes: hierlm.blmer is not available yet; skipped")
        return {"skipped": "hierlm.blmer not available"}
    from .bayes import bench_bayes

    return bench_bayes(quick=args.quick, with_stan=args.with_stan, long=args.long, log=log)


def _runners():
    from . import (
        bayes,
        bayes_scale,
        bootstrap,
        freq_speed,
        glmm,
        memory,
        power,
        recovery,
        reml,
        sbc,
    )

    return {
        "reml": (lambda a, log: reml.run(quick=a.quick, log=log), reml.rows),
        "memory": (lambda a, log: memory.run(quick=a.quick, log=log), memory.rows),
        "glmm": (lambda a, log: glmm.run(quick=a.quick, log=log), glmm.rows),
        "bayes": (_bayes, bayes.rows),
        "bayes_scale": (lambda a, log: bayes_scale.run(with_stan=a.with_stan, log=log), bayes_scale.rows),
        "freq_speed": (lambda a, log: freq_speed.run(quick=a.quick, log=log), freq_speed.rows),
        "bootstrap": (lambda a, log: bootstrap.run(quick=a.quick, log=log), bootstrap.rows),
        "sbc": (lambda a, log: sbc.run(quick=a.quick, log=log), sbc.rows),
        "recovery": (lambda a, log: recovery.run(quick=a.quick, log=log), recovery.rows),
        "power": (lambda a, log: power.run(quick=a.quick, log=log), power.rows),
    }


def _markdown_extra(name: str, res: dict) -> list[str]:
    """A benchmark's own lines for ``latest.md`` (its ``markdown(result)``, if it has one)."""
    import importlib

    fn = getattr(importlib.import_module(f".{name}", __package__), "markdown", None)
    return fn(res) if fn is not None and "error" not in res and "skipped" not in res else []


def _earlier(names, runners) -> tuple[dict, dict]:
    """Results (and table rows) of the benchmarks not run this time, from their JSON files (for ``latest.md``)."""
    import json

    results, table = {}, {}
    for name in NAMES:
        path = RESULTS / f"{name}.json"
        if name in names or not path.exists():
            continue
        try:
            res = json.loads(path.read_text())
            rows = runners[name][1](res) if "error" not in res and "skipped" not in res else []
        except Exception:  # noqa: BLE001 - an old or foreign file must not stop the report
            continue
        results[name] = dict(res, earlier=True)
        table[name] = rows
    return results, table


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small subset for a CI smoke run")
    ap.add_argument("--only", action="append", choices=NAMES, metavar="NAME", help=f"one of {', '.join(NAMES)}")
    ap.add_argument("--with-stan", action="store_true", help="also rstanarm and brms (needs Rscript; brms ~100 s)")
    ap.add_argument("--long", action="store_true", help="also the long Bayesian fits (InstEval, VerbAgg)")
    ap.add_argument("--no-r", action="store_true", help="skip every R baseline")
    args = ap.parse_args(argv)
    common.NO_R[0] = args.no_r
    names = args.only or list(NAMES)
    start = {"date": now(), "machine": machine(), "argv": sys.argv[1:] if argv is None else list(argv)}
    print(f"hierlm benchmarks {start['date']} on {start['machine']['cpu_model']} "
          f"({start['machine']['usable_cpus']} cores), load average {start['machine']['load_average']}")
    runners, results, table, by_name = _runners(), {}, [], {}
    for name in names:
        run, rows = runners[name]
        print(f"\n== {name}")
        t0 = time.perf_counter()
        try:
            res = run(args, print)
        except Exception as exc:  # noqa: BLE001 - one failing benchmark must not lose the others
            print(f"{name}: failed: {exc!r}")
            res = {"error": repr(exc)}
        res = dict(res, benchmark=name, date=now(), seconds=round(time.perf_counter() - t0, 2), quick=args.quick,
                   load_average_start=start["machine"]["load_average"], load_average_end=load_average(),
                   machine=start["machine"])
        print(f"   wrote {write_result(name, res)}")
        results[name] = res
        if "error" not in res and "skipped" not in res:
            by_name[name] = rows(res)
            table += by_name[name]
    print("\n" + _table(table))
    earlier, old_rows = _earlier(names, runners)
    merged, rows_all = {**earlier, **results}, {**old_rows, **by_name}
    _write_markdown(start, {n: merged[n] for n in NAMES if n in merged},
                    _table([r for n in NAMES for r in rows_all.get(n, [])], markdown=True))
    return results


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def _table(rows, markdown: bool = False) -> str:
    head = ["measurement", "hierlm", "baseline", "ratio", "target"]
    body = [[m.replace("|", "\\|") if markdown else m, h, b, _fmt(r),
             "-" if t is None else t if isinstance(t, str) else f"≤ {t:g}"]
            for m, h, b, r, t in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)] if body else [len(h) for h in head]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in body])


def _gist(text: str) -> str:
    """The informative part of an error text (R: the ``Error ...`` line and the next one)."""
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()] or [""]
    hits = [i for i, x in enumerate(lines) if x.lower().startswith("error")]
    return " ".join(lines[hits[-1] : hits[-1] + 2] if hits else lines[-1:])[:240]


def _problems(res, path: str = "") -> list[str]:
    """Every ``error`` / ``skipped`` entry in a result, with where it sits (first line of errors)."""
    out = []
    for key, val in res.items():
        if key in ("error", "skipped") and isinstance(val, str):
            out.append(f"{path or 'all'}: {key}: {_gist(val)}")
        elif isinstance(val, dict) and key != "machine":
            out += _problems(val, f"{path}/{key}" if path else key)
    return out


def _write_markdown(start, results, table) -> None:
    m = start["machine"]
    v = m["versions"]
    lines = [
        "# hierlm benchmarks (latest run)", "",
        f"* date: {start['date']}",
        f"* command: `python -m bench {' '.join(start['argv'])}`",
        f"* machine: {m['platform']}; {m['cpu_model']}; {m['usable_cpus']} usable of {m['cpu_count']} cores; "
        f"{m['memory_gib']} GiB",
        f"* load average at start: {m['load_average']} (shared machine: compare ratios, not absolute times)",
        "* versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val)
        + f"; Rscript: {m['rscript'] or 'absent'}",
        "", "Ratios are hierlm / baseline (time: lower is better; ESS/s: higher is better).", "", table, "",
    ]
    for name, res in results.items():
        lines.append(f"## {name}")
        lines.append(f"{res.get('description', '')} ({res.get('seconds')} s; load average "
                     f"{res.get('load_average_start')} → {res.get('load_average_end')}; details in `{name}.json`"
                     + (f"; from the earlier run of {res.get('date')})" if res.get("earlier") else ")"))
        lines += [f"* {p}" for p in _problems(res)]
        lines += _markdown_extra(name, res)
        lines.append("")
    (RESULTS / "latest.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
