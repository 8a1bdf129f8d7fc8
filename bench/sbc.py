"""Simulation-based calibration of hl.blmer: ranks of prior-drawn truths among posterior draws must be uniform.

Models (fixed explicit priors, so the prior the data are simulated from is the one the sampler uses):

* ``gaussian_slopes``: ``y ~ x + (x | g)``, 15 groups × 8 observations, x ~ N(2, 1) (uncentred, so
  the centred-intercept parametrisation is exercised); default route (marginal).
* ``gaussian_slopes_joint``: the same with ``method="joint"`` (random effects sampled, centring / shear).
* ``poisson_intercept``: ``y ~ x + (1 | g)``, Poisson, 15 groups × 8 observations.
* ``gaussian_crossed``: ``y ~ x + (x | g) + (1 | h)``, the slopes model with a crossed factor h of 8
  levels (every g meets every h); default route (the random effects integrated out by the sparse
  Cholesky of ``hierlm.engines.bayes.kernels_sparse``).
* ``student``, ``gamma`` (log link), ``beta`` (logit link), ``cumulative`` (logit link, 4 ordered categories):
  ``y ~ x + (1 | g)``, 20 groups × 8 observations (cumulative: × 12), issue 17's families; ν has brms's
  gamma(2, 0.1) prior.  ``--model student --model gamma --model beta --model cumulative --out
  bench/results/sbc_families.json`` runs these four alone.

Each replication ranks every fixed effect (lme4's and the centred intercept), sd, correlation, σ and
two levels' random effects among L = 99 draws (4 chains × 1000 draws, every 40th kept, 99 evenly
spaced; the fits whose true sd(x) is near 0 mix slowly, and with 500 draws thinned by 20 their kept
draws were still autocorrelated); a chi-square test on 10 bins per parameter, Holm- and
Bonferroni-corrected over the parameters of a model, decides pass / fail at 1%.  Writes
``bench/results/sbc.json``.

Run alone: ``.venv/bin/python -m bench.sbc [--reps 200] [--n-jobs 2]``; part of ``python -m bench --only sbc``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np
import pandas as pd

ALPHA = 0.01


def templates() -> dict:
    """Model name → (formula, data template, family, priors, extra blmer arguments)."""
    import hierlm as hl

    P = hl.Prior
    rng = np.random.default_rng(20240611)
    J, n = 15, 8
    g = np.repeat([f"g{j:02d}" for j in range(J)], n)
    gauss = pd.DataFrame({"y": 0.0, "x": rng.normal(2.0, 1.0, J * n), "g": g})
    pois = pd.DataFrame({"y": 0.0, "x": rng.uniform(0.0, 2.0, J * n), "g": g})
    gpri = {"Intercept": P("normal", mu=1, sigma=1), "b": P("normal", mu=0, sigma=1),
            ("sd", "g", "(Intercept)"): P("half_normal", sigma=1), ("sd", "g", "x"): P("half_normal", sigma=0.5),
            "cor": P("lkj", eta=2), "sigma": P("exponential", lam=1)}
    ppri = {"Intercept": P("normal", mu=1, sigma=0.5), "b": P("normal", mu=0, sigma=0.5),
            "sd": P("half_normal", sigma=0.7)}
    # issue 17's families: 20 groups (a fresh generator, so the other templates keep their x)
    fr = np.random.default_rng(20261202)
    Jf = 20
    gf = np.repeat([f"g{j:02d}" for j in range(Jf)], n)
    cont = pd.DataFrame({"y": 1.0, "x": fr.normal(0.0, 1.0, Jf * n), "g": gf})
    cats = ["1", "2", "3", "4"]
    g12 = np.repeat([f"g{j:02d}" for j in range(Jf)], 12)
    ordl = pd.DataFrame({"y": pd.Categorical(np.tile(cats, 3 * Jf), categories=cats, ordered=True),
                         "x": fr.normal(0.0, 1.0, 12 * Jf), "g": g12})
    base = {"Intercept": P("normal", mu=0, sigma=1), "b": P("normal", mu=0, sigma=0.5),
            "sd": P("half_normal", sigma=0.5)}
    # crossed (issue 19): the 15 groups of g (slopes) crossed with 8 levels of h, every g meeting every h
    crossed = gauss.assign(h=[f"h{j}" for j in np.arange(J * n) % 8])
    cpri = {**gpri, ("sd", "h", "(Intercept)"): P("half_normal", sigma=0.7)}
    return {
        "gaussian_crossed": ("y ~ x + (x | g) + (1 | h)", crossed, "gaussian", cpri, {}),
        "gaussian_slopes": ("y ~ x + (x | g)", gauss, "gaussian", gpri, {}),
        "gaussian_slopes_joint": ("y ~ x + (x | g)", gauss, "gaussian", gpri, {"method": "joint"}),
        "poisson_intercept": ("y ~ x + (1 | g)", pois, "poisson", ppri, {}),
        "student": ("y ~ x + (1 | g)", cont, "student",
                    dict(base, sigma=P("exponential", lam=1), nu=P("gamma", alpha=2, beta=0.1)), {}),
        "gamma": ("y ~ x + (1 | g)", cont, "gamma(log)", dict(base, shape=P("gamma", alpha=2, beta=0.2)), {}),
        "beta": ("y ~ x + (1 | g)", cont.assign(y=0.5), "beta", dict(base, phi=P("gamma", alpha=2, beta=0.1)), {}),
        "cumulative": ("y ~ x + (1 | g)", ordl, "cumulative",
                       {"Intercept": P("normal", mu=0, sigma=2), "b": P("normal", mu=0, sigma=1),
                        "sd": P("half_normal", sigma=1)}, {}),
    }


def _family(name: str):
    """``"gamma(log)"`` → ``hl.family("gamma", link="log")``."""
    import hierlm as hl

    fam, _, link = name.partition("(")
    return hl.family(fam, link=link.rstrip(")") or None)


def run(n_reps: int = 200, n_jobs: int = 2, seed: int = 2024, quick: bool = False, log=print,
        only: list | None = None) -> dict:
    """Run the SBC of every model (``quick``: 30 replications); returns the result dict."""
    from hierlm.services.validation.sbc import sbc

    n_reps = 30 if quick else n_reps
    out = {"description": __doc__.splitlines()[0], "alpha": ALPHA, "n_reps": n_reps, "n_jobs": n_jobs,
           "seed": seed, "models": {}}
    for k, (name, (formula, data, family, priors, kw)) in enumerate(templates().items()):
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        res = sbc(formula, data, family=_family(family), priors=priors, n_reps=n_reps, draws=1000, tune=1000, chains=4,
                  thin=40, n_keep=99, bins=10, alpha=ALPHA, seed=seed + k, n_jobs=n_jobs, n_ranef=2, **kw)
        secs = time.perf_counter() - t0
        d = res.diagnostics
        tab = res.table
        out["models"][name] = {
            "formula": formula, "family": family, "n_obs": len(data), "groups": int(data["g"].nunique()),
            "blmer_args": kw, "priors": {str(key): str(v) for key, v in priors.items()},
            "draws": "4 chains x 1000 draws (tune 1000), every 40th kept, L = 99 evenly spaced",
            "seconds": round(secs, 2), "seconds_per_fit_median": float(d["seconds"].median()),
            "n_failed": res.n_failed, "max_rhat": float(d["max_rhat"].max()),
            "fits_with_rhat_above_1.01": int((d["max_rhat"] > 1.01).sum()),
            "fits_with_divergences": int((d["divergences"] > 0).sum()),
            "min_ess_median": float(d["min_ess"].median()),
            "min_p": res.min_p, "min_p_holm": float(tab["p_holm"].min()),
            "min_p_bonferroni": float(tab["p_bonferroni"].min()), "passed": res.passed(),
            "parameters": {p: {"chi2": float(r.chi2), "p": float(r.p), "p_holm": float(r.p_holm),
                               "p_bonferroni": float(r.p_bonferroni), "ok": bool(r.ok),
                               "mean_rank": float(r.mean_rank), "counts": list(r.counts)}
                           for p, r in tab.iterrows()},
            "ranks": res.ranks.to_dict(orient="list"),
            "truths": res.truths.round(6).to_dict(orient="list"),
            "fits": {k: [None if isinstance(v, float) and np.isnan(v) else v for v in vals]
                     for k, vals in d.to_dict(orient="list").items()},
            "rhat_above_1.01_vs_truth": _rhat_vs_truth(res),
        }
        log(f"sbc {name}: {n_reps} fits in {secs:.1f} s, min p = {res.min_p:.3g} (Holm {tab['p_holm'].min():.3g}), "
            f"{'PASS' if res.passed() else 'FAIL'} at {ALPHA:g}; max R-hat {d['max_rhat'].max():.3f}, "
            f"{int((d['divergences'] > 0).sum())} fits with divergences, {res.n_failed} failed")
    return out


def _rhat_vs_truth(res) -> dict:
    """Median true value of each sd / cor / sigma in fits with R-hat above 1.01 and in the others
    (where convergence trouble sits in the prior)."""
    bad = (res.diagnostics["max_rhat"] > 1.01).to_numpy()
    cols = [c for c in res.truths.columns if c.startswith(("sd(", "cor(", "sigma"))]
    return {c: {"rhat_above_1.01": float(np.median(res.truths[c][bad])) if bad.any() else None,
                "others": float(np.median(res.truths[c][~bad])) if (~bad).any() else None} for c in cols}


def rows(result: dict) -> list[tuple]:
    return [(f"SBC {name} ({m['formula']}, {m['family']}), {result['n_reps']} reps: min p (Holm)",
             f"{m['min_p']:.3g} ({m['min_p_holm']:.3g})", "-", None, None) for name, m in result["models"].items()]


def markdown(result: dict) -> list[str]:
    """Per-model, per-parameter table for ``latest.md``."""
    lines = []
    for name, m in result["models"].items():
        lines += ["", f"### {name}: `{m['formula']}` ({m['family']}, {m['n_obs']} obs, {m['groups']} groups"
                  f"{', ' + ', '.join(f'{k}={v!r}' for k, v in m['blmer_args'].items()) if m['blmer_args'] else ''})",
                  "", f"{result['n_reps']} replications, {m['draws']}; {m['seconds']} s; failed fits {m['n_failed']}; "
                  f"max R-hat {m['max_rhat']:.3f} ({m['fits_with_rhat_above_1.01']} fits above 1.01); "
                  f"fits with divergences {m['fits_with_divergences']}. "
                  f"**min p = {m['min_p']:.3g}, min Holm p = {m['min_p_holm']:.3g}: "
                  f"{'PASS' if m['passed'] else 'FAIL'} at {result['alpha']:g}**", ""]
        rv = m.get("rhat_above_1.01_vs_truth", {})
        if m["fits_with_rhat_above_1.01"] and rv:
            lines += ["Where the fits with R-hat > 1.01 sit in the prior (median true value, those fits vs the "
                      "others): "
                      + "; ".join(f"{k} {v['rhat_above_1.01']:.3g} vs {v['others']:.3g}" for k, v in rv.items()
                                  if v["others"] is not None), ""]
        lines += ["| parameter | chi2 (9 df) | p | p Holm | p Bonferroni | mean rank (49.5) | ok |",
                  "|---|---|---|---|---|---|---|"]
        for p, r in m["parameters"].items():
            lines.append(f"| {p} | {r['chi2']:.1f} | {r['p']:.3g} | {r['p_holm']:.3g} | {r['p_bonferroni']:.3g} | "
                         f"{r['mean_rank']:.1f} | {'yes' if r['ok'] else 'NO'} |")
    return lines


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--model", action="append", help="only these models")
    ap.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "sbc.json"))
    args = ap.parse_args(argv)
    out = run(n_reps=args.reps, n_jobs=args.n_jobs, seed=args.seed, only=args.model)
    path = pathlib.Path(args.out)
    if args.model and path.exists():  # a part of the models: keep the others' recorded results
        old = json.loads(path.read_text())
        if (old.get("n_reps"), old.get("seed")) == (out["n_reps"], out["seed"]):
            out["models"] = {**old["models"], **out["models"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print("\n".join(markdown(out)))
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
