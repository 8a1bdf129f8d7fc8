"""GLMM fit time (Laplace): ``hl.glmer`` against lme4's ``glmer`` (timed inside R), model by model.

The headline model is VerbAgg's crossed Bernoulli model (7,584 rows, 316 subjects × 24 items),
issue 8's target being under 30 s on 2 cores; cbpp's binomial model is the small case.  As for
REML, lme4 runs first and hierlm right after on the same rows.  Writes ``bench/results/glmm.json``.
"""

from __future__ import annotations

import pathlib
import tempfile
import warnings

from .common import export_csv, load_average, rscript, run_r, summary, timed

# name, dataset, formula, family, hierlm reps, lme4 reps, absolute target (s)
MODELS = [
    ("verbagg", "VerbAgg", "r2 ~ Anger + Gender + btype + situ + (1|id) + (1|item)", "bernoulli", 3, 1, 30.0),
    ("cbpp", "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", 7, 5, None),
]
QUICK = ("cbpp",)


def run(quick: bool = False, log=print) -> dict:
    """Time every model; returns the result dict (see module docstring)."""
    import hierlm as hl

    out = {"description": __doc__.splitlines()[0], "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data, formula, family, reps, r_reps, target in MODELS:
            if quick and name not in QUICK:
                continue
            df = hl.load_dataset(data)
            rec = {"data": data, "formula": formula, "family": family, "nobs": len(df), "target_s": target,
                   "load_average_before": load_average()}
            if rscript():
                csv = pathlib.Path(tmp) / f"{data}.csv"
                factors = export_csv(df, csv)
                try:
                    r = run_r("glmer_time.R", str(csv), formula, family, str(1 if quick else r_reps), ",".join(factors))
                    rec["lme4"] = dict(summary(r["seconds"]), loglik=r["loglik"], versions=r["versions"])
                except Exception as exc:  # noqa: BLE001 - report and go on
                    rec["lme4"] = {"error": str(exc)}
            else:
                rec["lme4"] = {"skipped": "Rscript not found"}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                secs, m = timed(lambda: hl.glmer(formula, df, family=family), reps=1 if quick else reps)
            rec["hierlm"] = dict(summary(secs), loglik=m.loglik())
            if "median" in rec["lme4"]:
                rec["ratio_vs_lme4"] = rec["hierlm"]["median"] / rec["lme4"]["median"]
                rec["loglik_diff_vs_lme4"] = rec["hierlm"]["loglik"] - rec["lme4"]["loglik"]
            out["models"][name] = rec
            log(f"{name:8s} hierlm {rec['hierlm']['median']:7.2f} s"
                + (f" | lme4 {rec['lme4']['median']:7.2f} s ratio {rec['ratio_vs_lme4']:.3f} "
                   f"ΔlogLik {rec['loglik_diff_vs_lme4']:+.1e}" if "ratio_vs_lme4" in rec else ""))
    return out


def rows(result: dict) -> list[tuple]:
    """(measurement, hierlm, baseline, ratio, target) rows for the final table."""
    out = []
    for name, rec in result.get("models", {}).items():
        h = rec["hierlm"]["median"]
        target = f"< {rec['target_s']:g} s" if rec.get("target_s") else None
        if "ratio_vs_lme4" in rec:
            out.append((f"glmer {name} vs lme4", f"{h:.2f} s", f"{rec['lme4']['median']:.2f} s", rec["ratio_vs_lme4"],
                        target))
        else:
            out.append((f"glmer {name}", f"{h:.2f} s", "-", None, target))
    return out
