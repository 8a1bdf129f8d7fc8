"""Mixing where the joint route remains (issue 19): mass matrix and centring options by ESS per second.

A fixed set of models the joint route samples (GLMMs, and Gaussian models forced onto it), each fitted
at the defaults (4 chains × 1000 draws after 1000 tuning) in a fresh process with:

* ``diag/auto`` — the default when this was measured: nutpie's diagonal mass matrix, each block centred or
  not as :func:`hierlm.engines.bayes.spec.choose_centring` decides from the REML / Laplace fit (the mass
  matrix is now chosen per model: :func:`hierlm.engines.bayes.route.mass_matrix`, measured by
  ``bench/bayes_mass_matrix.py``);
* ``low_rank/auto`` — nutpie's low-rank (dense in the leading directions) mass-matrix adaptation;
* ``diag/non-centred`` — every block non-centred (``centred=False``), the per-block choice switched off;
* ``diag/centred`` — every block centred (``centred=True``).

Per fit: wall time, min bulk ESS over the summary parameters, ESS per second, max R-hat, divergences.
The option with the best ESS/s on most models (ties: the geometric mean of the ESS/s ratios) is the
one to keep as the default.  Run: ``nice -n 5 .venv/bin/python -m bench.bayes_mixing``; writes
``bench/results/bayes_mixing.json`` and ``.md``.
"""

from __future__ import annotations

import json
import math
import sys

from .bayes_scale import _fit
from .common import RESULTS, machine, now, write_result

MODELS = [
    ("cbpp", "cbpp", "cbind(incidence, size - incidence) ~ period + (1|herd)", {"family": "binomial"}),
    ("grouseticks", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|LOCATION)", {"family": "poisson"}),
    ("VerbAgg", "VerbAgg", "r2 ~ Anger + Gender + btype + situ + (1|id) + (1|item)", {"family": "bernoulli"}),
    ("sleepstudy", "sleepstudy", "Reaction ~ Days + (Days|Subject)", {}),
    ("Penicillin", "Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)", {}),
    ("Machines", "Machines", "score ~ Machine + (1|Worker) + (1|Worker:Machine)", {}),
]
OPTIONS = {
    "diag/auto": {},
    "low_rank/auto": {"mass_matrix": "low_rank"},
    "diag/non-centred": {"centred": False},
    "diag/centred": {"centred": True},
}


def run(log=print, only=None) -> dict:
    out = {"description": __doc__.splitlines()[0], "date": now(), "machine": machine(), "models": {}}
    for name, data, formula, extra in MODELS:
        if only and name not in only:
            continue
        rec = {"formula": formula, **extra}
        rec.update(fit_options(name, data, formula, "joint", OPTIONS, log, **extra))
        out["models"][name] = rec
        write_result("bayes_mixing", out)
    out["verdict"] = verdict(out)
    write_result("bayes_mixing", out)
    (RESULTS / "bayes_mixing.md").write_text("\n".join(markdown(out)) + "\n")
    return out


def fit_options(name: str, data: str, formula: str, method: str, options: dict, log=print, **extra) -> dict:
    """One fit per option (seed 1, a fresh process each), logged as it ends: ``{option: record}``."""
    recs = {}
    for opt, kw in options.items():
        r = recs[opt] = _fit(data, formula, method, 1, **extra, **kw)
        if "error" in r:
            log(f"{name:17s} {opt:16s} FAILED {r['error'][-200:]}")
        else:
            log(f"{name:17s} {opt:16s} {r['wall_s']:7.1f} s  min ESS {r['min_ess_bulk']:6.0f}  ESS/s "
                f"{r['ess_per_s']:8.1f}  R-hat {r['max_rhat']:.4f}  div {r['divergences']}  steps "
                f"{r['steps_per_draw']:.1f}  (worst {r['worst_ess']})")
    return recs


def verdict(out: dict, options=OPTIONS, default: str = "diag/auto") -> dict:
    """Wins (best ESS/s) per option and the geometric mean of each option's ESS/s relative to ``default``."""
    wins = dict.fromkeys(options, 0)
    logs = {k: [] for k in options}
    for rec in out["models"].values():
        ok = {k: rec[k]["ess_per_s"] for k in options if "error" not in rec.get(k, {"error": 1})}
        if not ok:
            continue
        wins[max(ok, key=ok.get)] += 1
        base = ok.get(default)
        for k, v in ok.items():
            if base and v > 0:
                logs[k].append(math.log(v / base))
    gm = {k: math.exp(sum(v) / len(v)) if v else None for k, v in logs.items()}
    best = max(options, key=lambda k: (wins[k], gm[k] or 0))
    return {"wins": wins, "geomean_ess_per_s_vs_default": gm, "best": best}


def markdown(out: dict, options=OPTIONS, default: str = "diag/auto") -> list[str]:
    lines = [f"# {out['description']}", "", f"* date: {out['date']}; load average {out['machine'].get('load_average')}",
             "", "| model | " + " | ".join(f"{k} ESS/s (R-hat, div)" for k in options) + " |",
             "|---|" + "---|" * len(options)]
    for name, rec in out["models"].items():
        cells = []
        for k in options:
            r = rec.get(k, {})
            cells.append("failed" if "error" in r or not r else
                         f"{r['ess_per_s']:.1f} ({r['max_rhat']:.3f}, {r['divergences']})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    v = out.get("verdict", {})
    lines += ["", f"* wins: {v.get('wins')}", (f"* geometric mean of ESS/s relative to {default}: "
               f"{json.dumps(v.get('geomean_ess_per_s_vs_default'))}"), f"* best: {v.get('best')}"]
    return lines


if __name__ == "__main__":
    run(only=sys.argv[1:] or None)
