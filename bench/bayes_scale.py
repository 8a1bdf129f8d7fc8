"""Bayesian fits at scale (issue 19): the route ``hl.blmer`` chooses by default beside the joint route.

Real datasets, crossed, nested and with several correlated blocks, each fitted at the defaults
(4 chains × 1000 draws after 1000 tuning iterations) twice in the same run, each fit in a fresh
process: ``method="auto"`` (the default: the random effects integrated out where that is estimated
faster, see ``hierlm.engines.bayes.route``) and ``method="joint"``.  Reported per fit: wall time of
the fit (in process, kernels already compiled), the route and its figures, max R-hat, divergent
transitions (% of draws), min bulk / tail ESS over the summary parameters, leapfrog steps per draw;
per model the time ratio auto / joint and the ESS-per-second ratio.  Acceptance (issue 19): R-hat
< 1.01, divergences < 1%, min bulk ESS ≥ 400, time ≤ 0.25× joint.

InstEval ``y ~ service + (1|s) + (1|d) + (1|dept)`` is fitted at the defaults by this checkout and by
*today's route*: hierlm as of :data:`TODAY_REF`, the commit before the marginal routes (``git archive``,
unpacked into a temporary folder and run with ``PYTHONPATH``), in the same run; target ≤ 0.4×.

``--with-stan``: rstanarm's ``stan_lmer`` on the same data and formulas (4 chains, 2000 iterations,
2 cores), timed inside R, stopped after 30 minutes.  ``--calibrate``: seconds per gradient of the
joint and the marginal kernels on these models (numba loops), to check the constants of
``hierlm.engines.bayes.route.COSTS``.  ``--only NAME`` (repeatable) restricts the models and updates
their entries in the earlier result of the same settings (so the models can be run one at a time on a
shared machine; each model's ``date`` says when it ran); ``--no-insteval`` skips the InstEval comparison.
``--sbc``: the SBC of ``y ~ x + (x | g) + (1 | h)`` (bench/sbc.py's ``gaussian_crossed``, 200 replications)
on the default route, in ``bayes_scale_sbc.json``.  ``--memory [--draws N]``: peak RSS of the fit of
InstEval's structure × 14 (1,027,894 rows) with ``store_ranef=False``, in ``bayes_scale_memory.json``.

Run: ``nice -n 5 .venv/bin/python -m bench.bayes_scale``.  Writes ``bench/results/bayes_scale.json``
and ``bench/results/bayes_scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np

from .common import (
    RESULTS,
    ROOT,
    load_average,
    machine,
    now,
    rscript,
    run_python,
    write_result,
)

# name, data (see scripts/bayes_scale_fit.py), formula, structure
MODELS = [
    ("Chem97", "ref:Chem97:lea,school,gender", "score ~ gcsecnt + (1|school) + (1|lea)",
     "nested: 2,410 schools in 131 LEAs, 31,022 rows"),
    ("egsingle", "ref:egsingle:schoolid,childid,female,black,hispanic",
     "math ~ year + (year|childid) + (year|schoolid)", "nested, two correlated-slope blocks: 1,721 children in 60 schools"),
    ("ScotsSec", "ref:ScotsSec:sex,primary,second", "attain ~ verbal + sex + (1|primary) + (1|second)",
     "crossed: 148 primary x 19 secondary schools"),
    ("star", "ref:star:id,sch,tch,gr,cltype", "math ~ gr + cltype + (1|tch) + (1|sch)",
     "nested: 1,374 teachers in 80 schools, 24,613 rows"),
    ("lexdec", "ref:fhch2010_lexdec:id,stimulus,density,frequency,length,item", "rt ~ frequency + (1|id) + (1|item)",
     "crossed: 25 subjects x 600 items, 7,358 rows"),
    ("lexdec_slopes", "ref:fhch2010_lexdec:id,stimulus,density,frequency,length,item",
     "rt ~ frequency + (1 + frequency|id) + (1|item)", "crossed, correlated slopes: 25 subjects x 600 items"),
    ("Penicillin", "Penicillin", "diameter ~ 1 + (1|plate) + (1|sample)", "crossed: 24 plates x 6 samples"),
    ("Pastes", "Pastes", "strength ~ 1 + (1|batch/cask)", "nested: 30 casks in 10 batches"),
    ("Oats", "Oats", "yield ~ nitro + Variety + (1|Block/Variety)", "nested split plot: 18 plots in 6 blocks"),
    ("Machines", "Machines", "score ~ Machine + (1|Worker) + (1|Worker:Machine)", "nested: 18 cells in 6 workers"),
    ("Pixel", "ref:Pixel:Dog,Side", "pixel ~ day + I(day^2) + (day|Dog) + (1|Dog:Side)",
     "correlated block + nested: 20 sides in 10 dogs"),
    ("grouseticks", "grouseticks", "log(TICKS + 1) ~ YEAR + cHEIGHT + (1|BROOD) + (1|LOCATION)",
     "nested (mostly): 118 broods, 63 locations"),
    # R datasets exported by bench/r/export_scale_data.R
    ("ames", "bench:ames:Neighborhood,MS_SubClass", "lprice ~ larea + (larea | Neighborhood) + (1 | MS_SubClass)",
     "crossed, correlated slopes: 2,930 house sales, 28 neighbourhoods x 16 building classes"),
    ("Vocab", "bench:Vocab:sex,year", "vocabulary ~ education + (education | year) + (1 | year:sex)",
     "correlated block + nested: 30,351 GSS respondents, 22 survey years, year x sex"),
    ("GSSvocab", "bench:GSSvocab:year,ageGroup",
     "vocab ~ educ + (educ | year) + (1 | ageGroup) + (1 | year:ageGroup)",
     "crossed + nested, correlated slopes: 27,408 GSS respondents, 20 years x 5 age groups"),
    ("CPS1988", "bench:CPS1988:region,smsa,ethnicity",
     "lwage ~ education + experience + I(experience^2) + (education | region) + (1 | region:smsa)",
     "correlated block + nested: 28,155 men's wages (CPS 1988), 4 regions, region x city"),
    ("LaborSupply", "bench:LaborSupply:id,year", "lnhr ~ lnwg + kids + age + (1|id) + (1|year)",
     "crossed panel: 532 men x 10 years, 5,320 rows"),
    ("txhousing", "bench:txhousing:city,year", "lmedian ~ month + (1|city) + (1|year) + (1|city:year)",
     "crossed + nested: 46 cities x 16 years, city-years, 7,986 months"),
]
INSTEVAL = ("InstEval", "InstEval", "y ~ service + (1|s) + (1|d) + (1|dept)")
DEFAULTS = dict(draws=1000, tune=1000, chains=4)
TARGETS = {"rhat": 1.01, "divergent_pct": 1.0, "min_ess_bulk": 400, "time_ratio": 0.25, "insteval_ratio": 0.4}


def _fit(data: str, formula: str, method: str, seed: int, env: dict | None = None, timeout: float = 7200,
         **settings) -> dict:
    args = [data, formula, method, str(settings.pop("draws", DEFAULTS["draws"])),
            str(settings.pop("tune", DEFAULTS["tune"])), str(settings.pop("chains", DEFAULTS["chains"])), str(seed)]
    if settings:
        args.append(json.dumps(settings))
    load = load_average()
    t0 = time.perf_counter()
    try:
        rec = run_python("bayes_scale_fit.py", *args, timeout=timeout, env=env)
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        return {"error": str(exc)[-1500:], "load_average_before": load}
    rec["process_s"] = time.perf_counter() - t0
    rec["load_average_before"] = load
    rec["ess_per_s"] = rec["min_ess_bulk"] / rec["wall_s"]
    return rec


#: "today's route" of issue 19: the last commit before the marginal routes of every Gaussian LMM landed (ff6916e)
TODAY_REF = "750050a"


def _head_checkout(tmp: pathlib.Path) -> pathlib.Path | None:
    """hierlm as of :data:`TODAY_REF` (today's route) unpacked from ``git archive`` (the repository is not touched)."""
    try:
        blob = subprocess.run(["git", "archive", TODAY_REF, "hierlm"], cwd=ROOT.parent, capture_output=True,
                              check=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path = tmp / "head.tar"
    path.write_bytes(blob)
    with tarfile.open(path) as tar:
        tar.extractall(tmp / "head", filter="data")
    return tmp / "head"


def _warm(env: dict | None, log) -> None:
    """Compile (or load) the kernels of a checkout before timing it."""
    proc = subprocess.run([sys.executable, "-m", "hierlm.engines.bayes.warmup"], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=str(ROOT.parent), timeout=1800)
    log(f"warmup ({TODAY_REF if env else 'this checkout'}): {proc.stderr.strip()[-200:]}")


def _checks(auto: dict, joint: dict) -> dict:
    if "error" in auto or "error" in joint:
        return {}
    return {"rhat_ok": auto["max_rhat"] < TARGETS["rhat"], "divergences_ok": auto["divergent_pct"] < TARGETS["divergent_pct"],
            "ess_ok": auto["min_ess_bulk"] >= TARGETS["min_ess_bulk"],
            "time_ratio": auto["wall_s"] / joint["wall_s"],
            "time_ok": auto["wall_s"] <= TARGETS["time_ratio"] * joint["wall_s"],
            "ess_per_s_ratio": auto["ess_per_s"] / joint["ess_per_s"] if joint["ess_per_s"] > 0 else None}


def _summary_line(name: str, method: str, r: dict) -> str:
    if "error" in r:
        return f"{name:12s} {method:6s} FAILED: {r['error'][-300:]}"
    route = (r.get("route") or {}).get("kernel", r.get("method"))
    return (f"{name:12s} {method:6s} {r['wall_s']:8.1f} s  route {route:10s} R-hat {r['max_rhat']:.4f}  "
            f"div {r['divergences']:3d} ({r['divergent_pct']:.2f}%)  min ESS bulk {r['min_ess_bulk']:6.0f}  "
            f"steps/draw {r['steps_per_draw']:5.1f}  ESS/s {r['ess_per_s']:8.1f}")


def stan_fit(data: str, formula: str, log, timeout: float = 1800) -> dict:
    """rstanarm::stan_lmer on the same data (exported to CSV), timed inside R; ``{"error": ...}`` otherwise."""
    if not rscript():
        return {"error": "Rscript not found"}
    sys.path.insert(0, str(ROOT / "scripts"))
    from bayes_scale_fit import load

    df = load(data)
    with tempfile.TemporaryDirectory() as tmp:
        csv, out = pathlib.Path(tmp) / "data.csv", pathlib.Path(tmp) / "out.json"
        df.to_csv(csv, index=False)
        factors = ",".join(c for c in df.columns if str(df[c].dtype) == "category")
        t0 = time.perf_counter()
        # its own process group: on the time limit R's parallel chain workers are stopped with it
        proc = subprocess.Popen([rscript(), str(ROOT / "r" / "stan_lmer_time.R"), str(csv), formula, factors,
                                 str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            err = proc.communicate(timeout=timeout)[1]
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return {"error": f"stopped after {timeout:.0f} s (did not finish within 30 minutes)"}
        if proc.returncode != 0 or not out.exists():
            return {"error": err[-1000:]}
        rec = json.loads(out.read_text())
        rec["process_s"] = time.perf_counter() - t0
        return rec


def calibrate(log) -> dict:
    """Seconds per gradient of the joint and marginal kernels on the models (numba loops, kernels compiled)."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bayes_scale_calibrate.py")]
                          + [json.dumps([m[1], m[2]]) for m in MODELS + [INSTEVAL]],
                          capture_output=True, text=True, cwd=str(ROOT.parent), timeout=3600)
    rows = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    for r in rows:
        log(json.dumps(r))
    return {"rows": rows, "stderr": proc.stderr[-1000:]}


def _earlier(settings: dict) -> dict:
    path = RESULTS / "bayes_scale.json"
    try:
        res = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return res if res.get("settings") == settings else {}


def run(only: list | None = None, with_stan: bool = False, insteval: bool = True, seed: int = 1, log=print,
        stan_only: bool = False, **settings) -> dict:
    """Fit every model with both routes (and InstEval beside today's route); returns the result dict."""
    out = {"description": __doc__.splitlines()[0], "date": now(), "machine": machine(), "targets": TARGETS,
           "settings": {**DEFAULTS, **settings}, "models": {}, "insteval": None,
           "rstanarm": "installed" if rscript() else "Rscript not found"}
    if only:  # a partial run updates the models it fits in the earlier result (same settings), keeps the rest
        earlier = _earlier(out["settings"])
        out["models"], out["insteval"] = earlier.get("models", {}), earlier.get("insteval")
    _warm(None, log)
    for name, data, formula, structure in MODELS:
        if only and name not in only:
            continue
        if stan_only:  # the default route again, beside stan_lmer; the joint-route entry stays as it was
            rec = out["models"].get(name) or {"data": data, "formula": formula, "structure": structure, "date": now()}
            rec["auto_beside_stan"] = _fit(data, formula, "auto", seed, **dict(settings))
            log(_summary_line(name, "auto", rec["auto_beside_stan"]))
        else:
            rec = {"data": data, "formula": formula, "structure": structure, "date": now()}
            for method in ("auto", "joint"):
                rec[method] = _fit(data, formula, method, seed, **dict(settings))
                log(_summary_line(name, method, rec[method]))
            rec["checks"] = _checks(rec["auto"], rec["joint"])
        if with_stan or stan_only:
            rec["rstanarm"] = stan_fit(data, formula, log)
            rec["rstanarm"]["date"] = now()
            log(f"{name:12s} rstanarm {rec['rstanarm'].get('fit_s', float('nan')):.1f} s "
                f"{rec['rstanarm'].get('error', '')[:200]}")
        out["models"][name] = rec
        write_result("bayes_scale", out)
    if insteval and not stan_only and (not only or "InstEval" in only):
        with tempfile.TemporaryDirectory() as tmp:
            head = _head_checkout(pathlib.Path(tmp))
            name, data, formula = INSTEVAL
            rec = {"data": data, "formula": formula, "date": now()}
            rec["auto"] = _fit(data, formula, "auto", seed, **dict(settings))
            log(_summary_line(name, "auto", rec["auto"]))
            if head is not None:
                env = {"PYTHONPATH": str(head)}
                _warm(env, log)
                rec["today"] = _fit(data, formula, "default", seed, env=env, **dict(settings))
                log(_summary_line(name, "today", rec["today"]))
                if "error" not in rec["auto"] and "error" not in rec["today"]:
                    rec["time_ratio"] = rec["auto"]["wall_s"] / rec["today"]["wall_s"]
                    rec["time_ok"] = rec["time_ratio"] <= TARGETS["insteval_ratio"]
            out["insteval"] = rec
    write_result("bayes_scale", out)
    (RESULTS / "bayes_scale.md").write_text("\n".join(markdown(out)) + "\n")
    return out


def sbc_crossed(n_reps: int = 200, n_jobs: int = 2, log=print) -> dict:
    """SBC of ``y ~ x + (x | g) + (1 | h)`` (crossed; bench/sbc.py's ``gaussian_crossed``) on the route blmer
    chooses by default: 200 replications at the defaults, ranks uniform at 1% after Holm's correction, and
    fewer than 5% of the fits with R-hat > 1.01.  Writes ``bench/results/bayes_scale_sbc.json``."""
    from . import sbc as bench_sbc

    t0 = time.perf_counter()
    res = bench_sbc.run(n_reps=n_reps, n_jobs=n_jobs, log=log, only=["gaussian_crossed"])
    m = res["models"]["gaussian_crossed"]
    out = {"description": "SBC of the crossed model at the default route (issue 19)", "date": now(),
           "machine": machine(), "seconds": time.perf_counter() - t0, "n_reps": n_reps, "alpha": res["alpha"],
           "route": _route_of(m["formula"]), "model": m,
           "rhat_above_1.01_pct": 100.0 * m["fits_with_rhat_above_1.01"] / n_reps,
           "passed_uniformity": bool(m["passed"]),
           "passed_rhat": 100.0 * m["fits_with_rhat_above_1.01"] / n_reps < 5.0}
    write_result("bayes_scale_sbc", out)
    log(f"SBC crossed: min Holm p {m['min_p_holm']:.3g}, {m['fits_with_rhat_above_1.01']} of {n_reps} fits with "
        f"R-hat > 1.01, route {out['route']}")
    return out


def memory_1m(K: int = 14, draws: int = 1000, log=print) -> dict:
    """Peak RSS of a fit of InstEval's structure × K (1,027,894 rows at K = 14) with ``store_ranef=False``, in a
    fresh process (scripts/bayes_memory.py); limit 8 GiB.  Writes ``bench/results/bayes_scale_memory.json``."""
    out = {"description": "Bayesian fit of a 1,000,000-row crossed model (InstEval x 14), peak RSS", "date": now(),
           "machine": machine(), "limit_mib": 8 * 1024, "K": K, "draws": draws}
    try:
        out.update(run_python("bayes_memory.py", str(K), str(draws), "False", timeout=6 * 3600))
        out["within_limit"] = out["maxrss_mib"] < out["limit_mib"]
        log(f"memory: {out['rows']:,} rows, peak {out['maxrss_mib']:.0f} MiB, fit {out['fit_s']:.0f} s, "
            f"route {(out.get('route') or {}).get('kernel')}, R-hat {out['max_rhat']:.4f}")
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        out["error"] = str(exc)[-1500:]
    write_result("bayes_scale_memory", out)
    return out


def _route_of(formula: str) -> str | None:
    """The route blmer chooses for the SBC template (one short fit)."""
    import hierlm as hl

    from . import sbc as bench_sbc

    _, data, _, priors, kw = bench_sbc.templates()["gaussian_crossed"]
    rng = np.random.default_rng(0)
    fit = hl.blmer(formula, data.assign(y=rng.normal(size=len(data))), priors=priors, draws=20, tune=20, chains=1,
                   progressbar=False, **kw)
    return (fit.settings.get("route") or {}).get("kernel")


def rows(res: dict) -> list[tuple]:
    """The table rows of ``python -m bench`` (time of the default route / the joint route, per model)."""
    out = []
    for name, rec in res.get("models", {}).items():
        a, j = rec.get("auto", {}), rec.get("joint", {})
        if "wall_s" in a and "wall_s" in j:
            out.append((f"blmer {name} default route ({(a.get('route') or {}).get('kernel')}) vs joint, s",
                        f"{a['wall_s']:.1f}", f"{j['wall_s']:.1f}", a["wall_s"] / j["wall_s"], TARGETS["time_ratio"]))
    ie = res.get("insteval") or {}
    if "time_ratio" in ie:
        out.append(("blmer InstEval default route vs today's, s", f"{ie['auto']['wall_s']:.1f}",
                    f"{ie['today']['wall_s']:.1f}", ie["time_ratio"], TARGETS["insteval_ratio"]))
    return out


def _beside(rec: dict) -> str:
    """The default route's fit run just before stan_lmer in the same invocation (``--stan-only``), if any."""
    a = rec.get("auto_beside_stan") or {}
    if "wall_s" not in a or "fit_s" not in rec.get("rstanarm", {}):
        return ""
    return (f"; hierlm's default route in the same invocation {a['wall_s']:.1f} s "
            f"({a['wall_s'] / rec['rstanarm']['fit_s']:.3g}× stan_lmer's time)")


def markdown(res: dict) -> list[str]:
    """The result as a readable table."""
    lines = [f"# {res['description']}", "", f"* date: {res['date']}; load average at start: "
             f"{res['machine'].get('load_average')}; {res['machine'].get('cpu_model')}, "
             f"{res['machine'].get('usable_cpus')} cores", f"* settings: {res['settings']}",
             f"* rstanarm: {res.get('rstanarm')}", "",
             "| model | structure | route (auto) | auto s | joint s | ratio | ESS/s ratio | R-hat | div % | "
             "min ESS | steps/draw auto / joint | ok |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, rec in res["models"].items():
        a, j, c = rec.get("auto", {}), rec.get("joint", {}), rec.get("checks", {})
        if "error" in a or "error" in j or not c:
            lines.append(f"| {name} | {rec['structure']} | failed | | | | | | | | | |")
            continue
        ok = all(c[k] for k in ("rhat_ok", "divergences_ok", "ess_ok", "time_ok"))
        lines.append(f"| {name} | {rec['structure']} | {(a.get('route') or {}).get('kernel')} | {a['wall_s']:.1f} | "
                     f"{j['wall_s']:.1f} | {c['time_ratio']:.2g} | {c['ess_per_s_ratio']:.1f} | {a['max_rhat']:.4f} | "
                     f"{a['divergent_pct']:.2f} | {a['min_ess_bulk']:.0f} | {a['steps_per_draw']:.1f} / "
                     f"{j['steps_per_draw']:.1f} | {'yes' if ok else 'no'} |")
    lines += ["", "Joint route of the same models (R-hat, divergences %, min bulk ESS):", ""]
    for name, rec in res["models"].items():
        j = rec.get("joint", {})
        if "error" not in j and j:
            lines.append(f"* {name}: R-hat {j['max_rhat']:.4f}, divergences {j['divergent_pct']:.2f}%, "
                         f"min bulk ESS {j['min_ess_bulk']:.0f}")
        st = rec.get("rstanarm")
        if st:
            lines.append("  * rstanarm stan_lmer: " + (f"{st['fit_s']:.1f} s, R-hat {st.get('max_rhat', 0):.4f}, min bulk "
                                                        f"ESS {st.get('min_ess_bulk', 0):.0f}"
                                                        if "fit_s" in st else st.get("error", "")[:200]) + _beside(rec)
                         + (f" — {st['note']}" if st.get("note") else ""))
    ie = res.get("insteval")
    if ie:
        lines += ["", f"InstEval `{ie['formula']}`:", ""]
        for k in ("auto", "today"):
            r = ie.get(k)
            if r and "error" not in r:
                lines.append(f"* {k}: {r['wall_s']:.1f} s (sampling {r['timings']['sample_s']:.1f} s, posterior "
                             f"{r['timings']['posterior_s']:.1f} s), route {(r.get('route') or {}).get('kernel', r.get('method'))}, "
                             f"R-hat {r['max_rhat']:.4f}, min bulk ESS {r['min_ess_bulk']:.0f}, steps/draw "
                             f"{r['steps_per_draw']:.1f}")
        if "time_ratio" in ie:
            lines.append(f"* ratio auto / today: {ie['time_ratio']:.2f} (target ≤ {TARGETS['insteval_ratio']})")
    return lines + _side_results()


def _side_results() -> list[str]:
    """The SBC and memory results (their own JSON files), when they exist."""
    lines = []
    try:
        sb = json.loads((RESULTS / "bayes_scale_sbc.json").read_text())
        m = sb["model"]
        lines += ["", f"SBC of `{m['formula']}` ({sb['date']}): {sb['n_reps']} replications on the default route "
                  f"({sb['route']}), {m['seconds']:.0f} s; min p {m['min_p']:.3g}, min Holm p {m['min_p_holm']:.3g} "
                  f"({'uniform' if sb['passed_uniformity'] else 'NOT uniform'} at {sb['alpha']:g}); "
                  f"{m['fits_with_rhat_above_1.01']} fits ({sb['rhat_above_1.01_pct']:.1f}%) with R-hat > 1.01, "
                  f"{m['fits_with_divergences']} with divergences, max R-hat {m['max_rhat']:.4f}"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        mem = json.loads((RESULTS / "bayes_scale_memory.json").read_text())
        if "maxrss_mib" in mem:
            lines += ["", f"Memory ({mem['date']}): {mem['rows']:,} rows (InstEval × {mem['K']}), store_ranef=False, "
                      f"{mem['draws']} draws + {mem['draws']} tuning × 4 chains: peak RSS {mem['maxrss_mib']:.0f} MiB "
                      f"(limit {mem['limit_mib']} MiB; before the fit {mem['maxrss_before_fit_mib']:.0f} MiB), fit "
                      f"{mem['fit_s']:.0f} s, route {(mem.get('route') or {}).get('kernel')}, R-hat {mem['max_rhat']:.4f}, "
                      f"min bulk ESS {mem['min_ess_bulk']:.0f}"]
    except (OSError, ValueError, KeyError):
        pass
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.bayes_scale", description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="model name (repeatable)")
    ap.add_argument("--with-stan", action="store_true", help="also rstanarm's stan_lmer (30-minute limit per fit)")
    ap.add_argument("--stan-only", action="store_true",
                    help="with --only: the default route and stan_lmer on the model, keeping its joint-route entry")
    ap.add_argument("--no-insteval", action="store_true")
    ap.add_argument("--calibrate", action="store_true", help="only time the kernels' gradients")
    ap.add_argument("--draws", type=int, default=DEFAULTS["draws"])
    ap.add_argument("--tune", type=int, default=DEFAULTS["tune"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sbc", action="store_true", help="only the SBC of the crossed model (200 replications)")
    ap.add_argument("--reps", type=int, default=200, help="SBC replications")
    ap.add_argument("--report", action="store_true", help="only rewrite bayes_scale.md from the JSON results")
    ap.add_argument("--memory", action="store_true", help="only the peak memory of the 1,000,000-row fit (--draws)")
    args = ap.parse_args(argv)
    if args.sbc:
        sbc_crossed(n_reps=args.reps)
        return
    if args.memory:
        memory_1m(draws=args.draws)
        return
    if args.report:
        (RESULTS / "bayes_scale.md").write_text("\n".join(markdown(json.loads((RESULTS / "bayes_scale.json").read_text())))
                                                + "\n")
        return
    if args.calibrate:
        res = calibrate(print)
        write_result("bayes_scale_calibration", res)
        return
    run(only=args.only, with_stan=args.with_stan, insteval=not args.no_insteval, seed=args.seed, draws=args.draws,
        tune=args.tune, stan_only=args.stan_only)


if __name__ == "__main__":
    main()
