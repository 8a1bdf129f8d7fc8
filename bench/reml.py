"""REML fit time: hierlm against lme4 (timed inside R) and statsmodels MixedLM, model by model.

For each model the baseline runs first and hierlm right after, in the same run, so both see the
same load.  hierlm is timed end to end from the DataFrame (``hl.lmer(formula, df)``: design,
set-up, optimisation and results); lme4 with ``system.time(lmer(...))`` on the same rows
(exported to CSV).  Writes ``bench/results/reml.json``.
"""

from __future__ import annotations

import pathlib
import tempfile
import time
import warnings

from .common import export_csv, load_average, rscript, run_r, summary, timed

# name, dataset, formula, hierlm reps, lme4 reps, statsmodels (groups, re_formula) or None
MODELS = [
    ("insteval", "InstEval", "y ~ service + (1|s) + (1|d) + (1|dept)", 3, 1, None),
    ("sleepstudy", "sleepstudy", "Reaction ~ Days + (Days|Subject)", 15, 7, ("Subject", "~Days")),
    ("penicillin", "Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)", 15, 7, None),
    ("sitka_slopes", "Sitka", "size ~ treat*(Time + I(Time^2)) + (1 + Time|tree)", 15, 7, ("tree", "~Time")),
]
QUICK = ("sleepstudy", "penicillin")
TARGETS = {"insteval": 0.1}  # issue 6: InstEval REML fit ≤ 0.1 × lme4's time


def run(quick: bool = False, log=print) -> dict:
    import hierlm as hl

    out = {"description": __doc__.splitlines()[0], "models": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hl.lmer("Reaction ~ Days + (Days|Subject)", hl.load_dataset("sleepstudy"))  # imports, caches
    with tempfile.TemporaryDirectory() as tmp:
        for name, data, formula, reps, r_reps, sm in MODELS:
            if quick and name not in QUICK:
                continue
            df = hl.load_dataset(data)
            rec = {"data": data, "formula": formula, "nobs": len(df), "load_average_before": load_average()}
            if rscript():
                csv = pathlib.Path(tmp) / f"{data}.csv"
                factors = export_csv(df, csv)
                r_reps = 1 if quick else r_reps
                try:
                    r = run_r("lme4_time.R", str(csv), formula, "TRUE", str(r_reps), "0" if r_reps == 1 else "1",
                              ",".join(factors))
                    rec["lme4"] = dict(summary(r["seconds"]), criterion=r["criterion"], sigma=r["sigma"],
                                       vcov=r["vcov"], versions=r["versions"])
                except Exception as exc:  # noqa: BLE001 - report and go on
                    rec["lme4"] = {"error": str(exc)}
            else:
                rec["lme4"] = {"skipped": "Rscript not found"}
            if sm is not None:
                rec["statsmodels"] = _statsmodels(df, formula, *sm, reps=3 if quick else 5)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                secs, m = timed(lambda: hl.lmer(formula, df), reps=2 if quick else reps)
            rec["hierlm"] = dict(summary(secs), criterion=m.reml_criterion(), sigma=m.sigma(),
                                 vcov=m.varcorr()["vcov"].tolist(), optimizer=m.optinfo.get("optimizer", "bobyqa"),
                                 nevals=m.optinfo.get("nevals"))
            for base in ("lme4", "statsmodels"):
                b = rec.get(base, {})
                if "median" in b:
                    rec[f"ratio_vs_{base}"] = rec["hierlm"]["median"] / b["median"]
            if "criterion" in rec["lme4"]:
                rec["criterion_diff_vs_lme4"] = rec["hierlm"]["criterion"] - rec["lme4"]["criterion"]
            if name in TARGETS:
                rec["target_ratio"] = TARGETS[name]
            rec["load_average_after"] = load_average()
            out["models"][name] = rec
            log(_line(name, rec))
    return out


def _statsmodels(df, formula, groups, re_formula, reps):
    try:
        import statsmodels.formula.api as smf
    except ImportError:
        return {"skipped": "statsmodels not installed"}
    fixed = formula.split("+ (")[0].strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings are recorded as ``converged``
            secs, res = timed(lambda: smf.mixedlm(fixed, df, groups=df[groups], re_formula=re_formula).fit(reml=True),
                              reps=reps, warmup=1)
        return dict(summary(secs), criterion=-2 * float(res.llf), converged=bool(res.converged))
    except Exception as exc:  # noqa: BLE001
        return {"error": str(exc)}


def _line(name, rec) -> str:
    h = rec["hierlm"]
    parts = [f"{name:13s} hierlm {h['median']:8.3f} s [{h['min']:.3f}-{h['max']:.3f}] "
             f"({h['optimizer']}, {h['nevals']} ev)"]
    for base in ("lme4", "statsmodels"):
        b = rec.get(base, {})
        if "median" in b:
            parts.append(f"{base} {b['median']:8.3f} s [{b['min']:.3f}-{b['max']:.3f}] "
                         f"ratio {rec[f'ratio_vs_{base}']:.3f}")
    if "criterion_diff_vs_lme4" in rec:
        parts.append(f"Δcrit {rec['criterion_diff_vs_lme4']:+.1e}")
    return " | ".join(parts)


def rows(result: dict) -> list[tuple]:
    """(measurement, hierlm, baseline, ratio, target) rows for the final table."""
    out = []
    for name, rec in result.get("models", {}).items():
        for base in ("lme4", "statsmodels"):
            b = rec.get(base, {})
            if "median" in b:
                out.append((f"REML {name} vs {base}", f"{rec['hierlm']['median']:.3f} s", f"{b['median']:.3f} s",
                            rec[f"ratio_vs_{base}"], rec.get("target_ratio") if base == "lme4" else None))
    return out


if __name__ == "__main__":  # pragma: no cover
    t0 = time.perf_counter()
    run()
    print(f"{time.perf_counter() - t0:.1f} s")
