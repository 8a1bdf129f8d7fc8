"""Frequentist fit time against lme4 on real-data models: ``python -m bench.freq_speed``.

Issue 20: hierlm's ``lmer``/``glmer`` should never be slower than lme4 at its defaults.  Every model
is timed in hierlm (``hl.lmer`` / ``hl.glmer`` end to end from the DataFrame: design, checks,
optimisation, result assembly) and in lme4 (``lmer`` REML, ``glmer`` Laplace, ``glmer.nb``, timed
inside R with plain wall-clock timing, :file:`bench/r/freq_speed.R`) on the same rows, one model
after the other in the same run, each as the median of 3 warm fits (one untimed fit first; the
large models, marked ``heavy``, without it).  Reported per model: the ratio hierlm / lme4, the
deviance evaluations of each (lme4's ``m@optinfo$feval`` counts the whole ``lmer`` optimisation but
only ``glmer``'s second stage; hierlm's are given per stage) and the log-likelihood difference
hierlm − lme4 (positive: hierlm found a higher likelihood); overall the geometric mean of the ratios.

Datasets: the bundled ones (``hl.load_dataset``), ``tests/reference/data`` and ``bench/data``
(R-package datasets written by :file:`bench/r/export_freq_data.R`).  Writes
``bench/results/freq_speed.json`` and ``bench/results/freq_speed.md``.

Options: ``--only NAME`` (repeatable), ``--no-r`` (hierlm only), ``--reps N``, ``--quick``.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import statistics
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

from . import common
from .common import (
    RESULTS,
    ROOT,
    export_csv,
    load_average,
    machine,
    now,
    rscript,
    run_r,
    summary,
    write_result,
)

DATA_DIRS = (ROOT / "data", ROOT.parent / "tests" / "reference" / "data")
TARGET_RATIO, TARGET_GEOMEAN = 1.0, 0.5


def _m(name, cls, data, formula, family="gaussian", factors=(), prep=None, heavy=False):
    return {"name": name, "class": cls, "data": data, "formula": formula, "family": family,
            "factors": tuple(factors), "prep": prep, "heavy": heavy}


def _obs(df: pd.DataFrame) -> pd.DataFrame:
    """An observation-level grouping factor ``obs``."""
    return df.assign(obs=[f"o{i}" for i in range(len(df))])


MODELS = [
    # Gaussian (lmer, REML)
    _m("dyestuff", "gaussian: single intercept", "Dyestuff", "Yield ~ 1 + (1 | Batch)"),
    _m("ergostool", "gaussian: single intercept", "ergoStool", "effort ~ Type + (1 | Subject)"),
    _m("sleepstudy", "gaussian: correlated slopes", "sleepstudy", "Reaction ~ Days + (Days | Subject)"),
    _m("orthodont", "gaussian: correlated slopes", "Orthodont", "distance ~ age + Sex + (age | Subject)"),
    _m("chickweight", "gaussian: correlated slopes", "ChickWeight", "weight ~ Time * Diet + (Time | Chick)"),
    _m("sitka", "gaussian: correlated slopes", "Sitka", "size ~ treat * (Time + I(Time^2)) + (1 + Time | tree)"),
    _m("oxboys", "gaussian: correlated slopes (3x3)", "Oxboys", "height ~ age + I(age^2) + (age + I(age^2) | Subject)",
       factors=("Subject",)),
    _m("exam", "gaussian: correlated slopes, 4059 rows", "Exam", "normexam ~ standLRT + sex + (standLRT | school)",
       factors=("school", "sex")),
    _m("penicillin", "gaussian: crossed", "Penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    _m("lexdec", "gaussian: crossed, 7358 rows", "fhch2010_lexdec", "rt ~ frequency + (1 | id) + (1 | item)",
       factors=("id", "item", "frequency")),
    _m("pastes", "gaussian: nested", "Pastes", "strength ~ 1 + (1 | batch/cask)"),
    _m("machines", "gaussian: nested", "Machines", "score ~ Machine + (1 | Worker/Machine)"),
    _m("oats", "gaussian: nested", "Oats", "yield ~ nitro + Variety + (1 | Block/Variety)"),
    _m("egsingle", "gaussian: several correlated blocks, many levels", "egsingle",
       "math ~ year + (year | childid) + (year | schoolid)", factors=("childid", "schoolid")),
    _m("ham", "gaussian: crossed + interaction, several blocks", "ham",
       "Informed_liking ~ Product * Information + (1 | Consumer) + (1 | Consumer:Product)",
       factors=("Consumer", "Product", "Information")),
    _m("insteval", "gaussian: many levels, crossed", "InstEval", "y ~ service + (1 | s) + (1 | d) + (1 | dept)",
       heavy=True),
    # Bernoulli
    _m("bacteria", "bernoulli: intercept", "bacteria_breadth", "y01 ~ trt + late + (1 | ID)", "bernoulli",
       factors=("ID", "trt")),
    _m("contraception", "bernoulli: random slope", "Contraception",
       "use ~ age + I(age^2) + urban + livch + (urban | district)", "bernoulli",
       factors=("district", "urban", "livch")),
    _m("verbagg", "bernoulli: crossed, 7584 rows", "VerbAgg", "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
       "bernoulli", heavy=True),
    # binomial
    _m("cbpp", "binomial: intercept", "cbpp", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial"),
    _m("cbpp_obs", "binomial: observation-level", "cbpp",
       "cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | obs)", "binomial", factors=("obs",), prep=_obs),
    _m("verbagg_agg", "binomial: intercept, 948 rows", "VerbAgg_agg", "cbind(yes, no) ~ Anger + Gender + btype + (1 | id)",
       "binomial", factors=("id", "Gender", "btype")),
    # Poisson
    _m("epil", "poisson: intercept", "epil", "y ~ lbase * trt + lage + V4 + (1 | subject)", "poisson",
       factors=("subject", "trt")),
    _m("epil_obs", "poisson: observation-level", "epil", "y ~ lbase * trt + lage + V4 + (1 | subject) + (1 | obs)",
       "poisson", factors=("subject", "trt", "obs"), prep=_obs),
    _m("grouseticks", "poisson: two crossed intercepts", "grouseticks",
       "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", "poisson"),
    _m("grouseticks_obs", "poisson: observation-level + two blocks", "grouseticks",
       "TICKS ~ YEAR + cHEIGHT + (1 | INDEX) + (1 | BROOD) + (1 | LOCATION)", "poisson"),
    _m("mmmec", "poisson: offset, nested", "Mmmec", "deaths ~ uvb + offset(log(expected)) + (1 | region)", "poisson",
       factors=("region", "nation")),
    _m("owls", "poisson: offset", "Owls", "SiblingNegotiation ~ FoodTreatment * SexParent + offset(logBroodSize) + (1 | Nest)",
       "poisson", factors=("Nest", "FoodTreatment", "SexParent")),
    # negative binomial (glmer.nb)
    _m("salamanders_nb", "negative binomial: intercept", "Salamanders", "count ~ spp + mined + (1 | site)", "negbinomial",
       factors=("site", "spp", "mined")),
    _m("epil_nb", "negative binomial: intercept", "epil", "y ~ lbase * trt + lage + V4 + (1 | subject)", "negbinomial",
       factors=("subject", "trt")),
    _m("grouseticks_nb", "negative binomial: two crossed intercepts", "grouseticks",
       "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", "negbinomial"),
]
QUICK = ("sleepstudy", "penicillin", "cbpp", "epil")


def load(spec: dict) -> pd.DataFrame:
    """The model's data: a bundled dataset, or a CSV of ``bench/data`` / ``tests/reference/data``."""
    import hierlm as hl
    from hierlm.io.datasets import DATASETS

    if spec["data"] in DATASETS:
        df = hl.load_dataset(spec["data"])
    else:
        path = next((d / f"{spec['data']}.csv" for d in DATA_DIRS if (d / f"{spec['data']}.csv").exists()), None)
        if path is None:
            raise FileNotFoundError(f"{spec['data']}.csv not in {[str(d) for d in DATA_DIRS]} "
                                    "(run Rscript bench/r/export_freq_data.R)")
        df = pd.read_csv(path)
    if spec["prep"] is not None:
        df = spec["prep"](df)
    for col in spec["factors"]:
        df[col] = df[col].astype(str).astype("category")
    return df


def fit_hierlm(spec: dict, df: pd.DataFrame):
    import hierlm as hl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec["family"] == "gaussian":
            return hl.lmer(spec["formula"], df)
        return hl.glmer(spec["formula"], df, family=spec["family"])


def _hierlm_record(spec, df, reps: int) -> dict:
    secs = []
    if not spec["heavy"]:
        fit_hierlm(spec, df)  # warm
    for _ in range(reps):
        t0 = time.perf_counter()
        m = fit_hierlm(spec, df)
        secs.append(time.perf_counter() - t0)
    info = m.optinfo
    if spec["family"] == "gaussian":
        evals = {"nevals": info.get("nevals"), "optimizer": info.get("optimizer", "bobyqa")}
    else:
        evals = {"nevals": info.get("nevals"), "stage1_nevals": info.get("stage1_nevals"),
                 "stage2_nevals": info.get("stage2_nevals")}
    return dict(summary(secs), loglik=float(m.loglik()), theta=np.asarray(m.theta).tolist(),
                beta=np.asarray(m.beta).tolist(), **evals)


def run(quick: bool = False, only=None, reps: int = 3, log=print) -> dict:
    """Time every model (hierlm and lme4 one after the other); returns the result dict."""
    out = {"description": __doc__.splitlines()[0], "models": {}, "target_ratio": TARGET_RATIO,
           "target_geomean": TARGET_GEOMEAN}
    fit_hierlm(MODELS[2], load(MODELS[2]))  # imports and caches before anything is timed
    with tempfile.TemporaryDirectory() as tmp:
        for spec in MODELS:
            if (quick and spec["name"] not in QUICK) or (only and spec["name"] not in only):
                continue
            df = load(spec)
            rec = {k: spec[k] for k in ("class", "data", "formula", "family", "heavy")}
            rec.update(nobs=len(df), load_average_before=load_average())
            if rscript():
                csv = pathlib.Path(tmp) / f"{spec['name']}.csv"
                factors = export_csv(df, csv)
                try:
                    r = run_r("freq_speed.R", str(csv), spec["formula"], spec["family"], str(reps),
                              "0" if spec["heavy"] else "1", ",".join(factors))
                    rec["lme4"] = dict(summary(r["seconds"]), loglik=r["loglik"], feval=r["feval"], theta=r["theta"],
                                       fixef=r["fixef"], messages=r.get("messages") or [], versions=r["versions"])
                except Exception as exc:  # noqa: BLE001 - report and go on
                    rec["lme4"] = {"error": str(exc)}
            else:
                rec["lme4"] = {"skipped": "Rscript not found"}
            try:
                rec["hierlm"] = _hierlm_record(spec, df, reps)
            except Exception as exc:  # noqa: BLE001
                rec["hierlm"] = {"error": repr(exc)}
            if "median" in rec["lme4"] and "median" in rec["hierlm"]:
                rec["ratio"] = rec["hierlm"]["median"] / rec["lme4"]["median"]
                rec["loglik_diff"] = rec["hierlm"]["loglik"] - rec["lme4"]["loglik"]
            rec["load_average_after"] = load_average()
            out["models"][spec["name"]] = rec
            log(_line(spec["name"], rec))
    ratios = [r["ratio"] for r in out["models"].values() if "ratio" in r]
    if ratios:
        out["geomean_ratio"] = math.exp(statistics.fmean(math.log(x) for x in ratios))
        out["max_ratio"] = max(ratios)
        out["n_slower"] = sum(x > TARGET_RATIO for x in ratios)
        log(f"geometric mean ratio {out['geomean_ratio']:.3f} (target ≤ {TARGET_GEOMEAN}); max {out['max_ratio']:.3f}; "
            f"{out['n_slower']} of {len(ratios)} above {TARGET_RATIO}")
    return out


def _evals(rec) -> str:
    h = rec.get("hierlm", {})
    if h.get("stage2_nevals") is not None:
        return f"{h.get('stage1_nevals')}+{h.get('stage2_nevals')} ({h.get('nevals')})"
    return f"{h.get('nevals')}"


def _line(name, rec) -> str:
    h, r = rec.get("hierlm", {}), rec.get("lme4", {})
    parts = [f"{name:16s}"]
    parts.append(f"hierlm {h['median']:8.4f} s" if "median" in h else f"hierlm {h}")
    if "median" in r:
        parts.append(f"lme4 {r['median']:8.4f} s")
    if "ratio" in rec:
        parts.append(f"ratio {rec['ratio']:6.3f}  evals {_evals(rec)} vs {r.get('feval')}  ΔlogLik {rec['loglik_diff']:+.1e}")
    elif "error" in r:
        parts.append("lme4 error: " + r["error"].strip().splitlines()[-1][:160])
    return " | ".join(parts)


def rows(result: dict) -> list[tuple]:
    """(measurement, hierlm, baseline, ratio, target) rows for the suite's table."""
    out = []
    for name, rec in result.get("models", {}).items():
        if "ratio" in rec:
            out.append((f"freq {name} vs lme4", f"{rec['hierlm']['median']:.4f} s", f"{rec['lme4']['median']:.4f} s",
                        rec["ratio"], TARGET_RATIO))
    if "geomean_ratio" in result:
        out.append(("freq geometric mean vs lme4", "-", "-", result["geomean_ratio"], TARGET_GEOMEAN))
    return out


def markdown(result: dict) -> list[str]:
    """The table of every model (for ``latest.md`` and ``bench/results/freq_speed.md``)."""
    lines = ["| model | class | n | hierlm (s) | lme4 (s) | ratio | evals hierlm | evals lme4 | ΔlogLik |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, rec in result.get("models", {}).items():
        h, r = rec.get("hierlm", {}), rec.get("lme4", {})
        lines.append(f"| {name} | {rec['class']} | {rec['nobs']} | {h.get('median', float('nan')):.4f} | "
                     f"{r.get('median', float('nan')):.4f} | {rec.get('ratio', float('nan')):.3f} | {_evals(rec)} | "
                     f"{r.get('feval', '-')} | {rec.get('loglik_diff', float('nan')):+.1e} |")
    if "geomean_ratio" in result:
        lines += ["", (f"Geometric mean of the ratios: **{result['geomean_ratio']:.3f}** (target ≤ {TARGET_GEOMEAN}); "
                       f"largest ratio {result['max_ratio']:.3f}; {result['n_slower']} model(s) above {TARGET_RATIO}.")]
    return lines


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.freq_speed", description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", metavar="NAME", help="model name (repeatable)")
    ap.add_argument("--no-r", action="store_true", help="time hierlm only")
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--reps", type=int, default=3, help="timed fits per model and side (default 3)")
    ap.add_argument("--out", default="freq_speed", help="result name under bench/results (default freq_speed)")
    args = ap.parse_args(argv)
    common.NO_R[0] = args.no_r
    start = {"date": now(), "machine": machine()}
    print(f"frequentist speed {start['date']} on {start['machine']['cpu_model']} "
          f"({start['machine']['usable_cpus']} cores), load average {start['machine']['load_average']}")
    t0 = time.perf_counter()
    res = run(quick=args.quick, only=args.only, reps=args.reps)
    res.update(benchmark="freq_speed", date=start["date"], seconds=round(time.perf_counter() - t0, 1),
               machine=start["machine"], load_average_end=load_average(), argv=list(argv or []))
    print(f"wrote {write_result(args.out, res)}")
    head = (f"`python -m bench.freq_speed` on {start['machine']['cpu_model']}, {start['machine']['usable_cpus']} "
            f"cores, load average {start['machine']['load_average']} → {res['load_average_end']}; "
            "median of 3 warm fits each; ratio = hierlm / lme4.")
    md = [f"# Frequentist fit time against lme4 ({start['date']})", "", head, "", *markdown(res)]
    (RESULTS / f"{args.out}.md").write_text("\n".join(md) + "\n")
    return res


if __name__ == "__main__":  # pragma: no cover
    main()
