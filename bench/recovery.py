"""Parameter recovery of hl.blmer: simulated data with known truth, coverage of 95% intervals, widths by size.

Designs: ``small`` (8 groups × 5 observations) and ``large`` (60 groups × 20), for a Gaussian model
with correlated random slopes ``y ~ x + (x | g)`` and a Poisson GLMM ``y ~ x + (1 | g)``; default
(data-scaled) priors, default sampler settings.  Each configuration is fitted to ``n_reps``
independent simulations; the table gives per parameter the truth, the coverage count of the 95%
interval, the mean interval width, the bias and RMSE of the posterior mean.  Writes
``bench/results/recovery.json``.

Run alone: ``.venv/bin/python -m bench.recovery [--reps 40]``; part of ``python -m bench --only recovery``.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np
import pandas as pd

DESIGNS = {"small": (8, 5), "large": (60, 20)}
MODELS = {
    "gaussian_slopes": ("y ~ x + (x | g)", "gaussian",
                        {"beta": [1.0, 0.5], "sd": [[1.0, 0.4]], "cor": [0.3], "sigma": 0.8}),
    "poisson_intercept": ("y ~ x + (1 | g)", "poisson", {"beta": [0.5, 0.3], "sd": [[0.6]]}),
}


def template(groups: int, per_group: int, seed: int = 11) -> pd.DataFrame:
    """Predictor x ~ N(0, 1) and a grouping factor g, response column y = 0 (simulated later)."""
    rng = np.random.default_rng([seed, groups, per_group])
    return pd.DataFrame({"y": 0.0, "x": rng.normal(0.0, 1.0, groups * per_group),
                         "g": np.repeat([f"g{j:02d}" for j in range(groups)], per_group)})


def run(n_reps: int = 40, seed: int = 7, quick: bool = False, log=print) -> dict:
    from hierlm.services.validation.recovery import recovery

    n_reps = 8 if quick else n_reps
    out = {"description": __doc__.splitlines()[0], "n_reps": n_reps, "seed": seed, "configs": {}}
    for mname, (formula, family, truth) in MODELS.items():
        for dname, (J, n) in DESIGNS.items():
            tab = recovery(formula, template(J, n), family=family, truth=truth, n_reps=n_reps, seed=seed)
            key = f"{mname}/{dname}"
            out["configs"][key] = {"formula": formula, "family": family, "groups": J, "per_group": n,
                                   "seconds": round(tab.attrs["seconds"], 2),
                                   "divergent_fits": tab.attrs["divergent_fits"],
                                   "parameters": {p: {k: float(v) for k, v in r.items()} for p, r in tab.iterrows()}}
            cov = tab["covered"].sum() / tab["n"].sum()
            log(f"recovery {key}: {n_reps} fits in {tab.attrs['seconds']:.1f} s, coverage {100 * cov:.1f}% "
                f"({int(tab['covered'].sum())}/{int(tab['n'].sum())}), max R-hat {tab['max_rhat'].max():.3f}")
    for mname in MODELS:
        s, b = out["configs"][f"{mname}/small"]["parameters"], out["configs"][f"{mname}/large"]["parameters"]
        out["configs"][f"{mname}/large"]["width_ratio_vs_small"] = {p: b[p]["width"] / s[p]["width"] for p in b}
    return out


def rows(result: dict) -> list[tuple]:
    out = []
    for key, c in result["configs"].items():
        ps = c["parameters"].values()
        cov, n = sum(p["covered"] for p in ps), sum(p["n"] for p in ps)
        out.append((f"recovery {key} ({c['groups']}x{c['per_group']}): 95% coverage", f"{int(cov)}/{int(n)}", "-",
                    None, None))
    return out


def markdown(result: dict) -> list[str]:
    lines = ["", "| configuration | parameter | truth | covered | coverage | mean width | width ratio large/small | "
             "bias | RMSE | max R-hat |", "|---|---|---|---|---|---|---|---|---|---|"]
    for key, c in result["configs"].items():
        ratio = c.get("width_ratio_vs_small", {})
        for p, r in c["parameters"].items():
            wr = f"{ratio[p]:.2f}" if p in ratio else "-"
            lines.append(f"| {key} ({c['groups']}x{c['per_group']}) | {p} | {r['truth']:.3g} | "
                         f"{int(r['covered'])}/{int(r['n'])} | {r['coverage']:.2f} | {r['width']:.3g} | {wr} | "
                         f"{r['bias']:.3g} | {r['rmse']:.3g} | {r['max_rhat']:.3f} |")
    return lines


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "recovery.json"))
    args = ap.parse_args(argv)
    out = run(n_reps=args.reps, seed=args.seed)
    path = pathlib.Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print("\n".join(markdown(out)))
    print(f"wrote {path}")
    return out


if __name__ == "__main__":
    main()
