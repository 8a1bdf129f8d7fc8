"""The Laplace-approximated marginal for GLMMs on one grouping factor (issue 19), beside the joint route.

A fixed set of binomial (logit) and Poisson (log) models whose bars share one grouping factor, each fitted at
the defaults (4 chains × 1000 draws after 1000 tuning) in a fresh process with ``method="joint"`` (what
``method="auto"`` runs for a GLMM) and ``method="laplace"`` (:mod:`hierlm.engines.bayes.kernels_laplace`).

Per fit: wall and CPU seconds of the fit (CPU: all threads of the fit's process, which is what other load on a
shared machine disturbs least), min bulk ESS over the summary parameters, ESS per CPU second, max R-hat,
divergences, leapfrog steps per draw.  Per model: the ESS-per-CPU-second ratio laplace / joint and the
approximation's error: the largest difference of a posterior mean (fixed effects, SDs, correlations) from the
joint route's, in units of the joint posterior SD, and the largest ratio of posterior SDs.

Run: ``nice -n 5 .venv/bin/python -m bench.bayes_laplace``; writes ``bench/results/bayes_laplace.json`` and ``.md``.
"""

from __future__ import annotations

import math

from .bayes_scale import _fit
from .common import RESULTS, machine, now, write_result

MODELS = [
    ("cbpp", "cbpp", "cbind(incidence, size - incidence) ~ period + (1|herd)", "binomial"),
    ("cbpp_poisson", "cbpp", "incidence ~ period + offset(log(size)) + (1|herd)", "poisson"),
    ("Contraception", "csv:bench/data/Contraception.csv:urban,livch,district",
     "use ~ age + I(age^2) + urban + livch + (urban|district)", "bernoulli"),
    ("Mmmec", "csv:bench/data/Mmmec.csv:region,nation", "deaths ~ uvb + offset(log(expected)) + (1|region)", "poisson"),
    ("Salamanders", "csv:bench/data/Salamanders.csv:spp,mined,site", "count ~ mined + spp + (1|site)", "poisson"),
    ("grouseticks", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|BROOD)", "poisson"),
    ("VerbAgg", "VerbAgg", "r2 ~ Anger + Gender + btype + situ + (1|id)", "bernoulli"),
]
METHODS = ("joint", "laplace")


def compare(j: dict, a: dict) -> dict:
    """ESS per CPU second ratio and the approximation's error against the joint route."""
    keys = [k for k in j["means"] if k in a["means"]]
    z = {k: abs(a["means"][k] - j["means"][k]) / j["sds"][k] for k in keys if j["sds"][k] > 0}
    r = {k: a["sds"][k] / j["sds"][k] for k in keys if j["sds"][k] > 0}
    worst = max(z, key=z.get)
    return {"ess_per_cpu_s_ratio": (a["min_ess_bulk"] / a["cpu_s"]) / (j["min_ess_bulk"] / j["cpu_s"]),
            "wall_ratio": a["wall_s"] / j["wall_s"], "max_mean_shift_sd": z[worst], "worst": worst,
            "sd_ratio_range": [min(r.values()), max(r.values())]}


def run(log=print, only=None) -> dict:
    out = {"description": __doc__.splitlines()[0], "date": now(), "machine": machine(), "models": {}}
    for name, data, formula, family in MODELS:
        if only and name not in only:
            continue
        rec = {"data": data, "formula": formula, "family": family}
        for m in METHODS:
            r = _fit(data, formula, m, 1, family=family)
            rec[m] = r
            if "error" in r:
                log(f"{name:14s} {m:8s} FAILED {r['error'][-300:]}")
                continue
            r["ess_per_cpu_s"] = r["min_ess_bulk"] / r["cpu_s"]
            log(f"{name:14s} {m:8s} {r['wall_s']:6.1f} s ({r['cpu_s']:6.1f} CPU s)  min ESS {r['min_ess_bulk']:6.0f}  "
                f"ESS/CPU s {r['ess_per_cpu_s']:8.1f}  R-hat {r['max_rhat']:.4f}  div {r['divergences']}  "
                f"steps {r['steps_per_draw']:.1f}")
        if all("error" not in rec[m] for m in METHODS):
            rec["compare"] = compare(rec["joint"], rec["laplace"])
            log(f"{name:14s} laplace/joint ESS per CPU s {rec['compare']['ess_per_cpu_s_ratio']:.2f}, largest mean "
                f"shift {rec['compare']['max_mean_shift_sd']:.2f} SD ({rec['compare']['worst']})")
        out["models"][name] = rec
        write_result("bayes_laplace", out)
    out["verdict"] = verdict(out)
    write_result("bayes_laplace", out)
    (RESULTS / "bayes_laplace.md").write_text("\n".join(markdown(out)) + "\n")
    return out


def verdict(out: dict) -> dict:
    cmp_ = {k: r["compare"] for k, r in out["models"].items() if "compare" in r}
    ratios = [c["ess_per_cpu_s_ratio"] for c in cmp_.values()]
    return {"models": len(cmp_), "laplace_wins": sum(x > 1 for x in ratios),
            "geo_mean_ess_per_cpu_s_ratio": math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None,
            "max_mean_shift_sd": max((c["max_mean_shift_sd"] for c in cmp_.values()), default=None)}


def markdown(out: dict) -> list[str]:
    lines = [f"# {out['description']}", "", f"* date: {out['date']}; load average at start: "
             f"{out['machine'].get('load_average')}", "",
             "| model | family | joint: CPU s, min ESS, R-hat, div | laplace: CPU s, min ESS, R-hat, div | "
             "ESS per CPU s ratio | largest mean shift (joint SDs) | SD ratio range |", "|---|---|---|---|---|---|---|"]
    for name, rec in out["models"].items():
        cells = []
        for m in METHODS:
            r = rec.get(m, {})
            cells.append("failed" if "error" in r else f"{r['cpu_s']:.1f}, {r['min_ess_bulk']:.0f}, "
                                                        f"{r['max_rhat']:.3f}, {r['divergences']}")
        c = rec.get("compare")
        tail = (f"{c['ess_per_cpu_s_ratio']:.2f} | {c['max_mean_shift_sd']:.2f} ({c['worst']}) | "
                f"{c['sd_ratio_range'][0]:.2f}–{c['sd_ratio_range'][1]:.2f}") if c else " | | "
        lines.append(f"| {name} | {rec['family']} | {cells[0]} | {cells[1]} | {tail} |")
    lines += ["", f"* verdict: {out.get('verdict')}"]
    return lines


def main(argv=None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.bayes_laplace", description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append")
    args = ap.parse_args(argv)
    run(only=args.only)


if __name__ == "__main__":
    main()
