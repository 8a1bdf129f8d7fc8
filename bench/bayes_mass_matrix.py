"""Mass matrix of the partial and joint routes (issue 19): diagonal or low-rank, by ESS per second.

The partial route integrates out one grouping factor and samples the others with the fixed effects; the
joint route (every GLMM) samples them all.
Where a covariate moves with a sampled factor (prices and years in a state × year panel), the fixed
effect and that factor's levels are correlated in the posterior, and a diagonal mass matrix mixes
poorly: on Cigar, ``log(sales) ~ log(price) + (1|state) + (1|year)``, min bulk ESS 106 and R-hat 1.014.
nutpie's low-rank adaptation learns those directions.

A fixed set of real models, each fitted at the defaults (4 chains × 1000 draws after 1000 tuning) on
its route in a fresh process: crossed Gaussian models on the partial route (``method="partial"``),
GLMMs and two Gaussian panels on the joint route (``method="joint"``), with:

* ``diag`` — nutpie's diagonal mass matrix;
* ``low_rank`` — nutpie's low-rank mass-matrix adaptation.

A simulated sweep sets the size limit: ``y ~ x + (1|g) + (1|h)``, 12,000 rows, g's 1,500 levels
integrated out and h's H levels sampled, with x moving with h (``simcorr_H``) or not (``simindep_H``).

Per fit: wall time, min bulk ESS over the summary parameters, ESS per second, max R-hat, divergences.
The option with the best ESS/s on most models (ties: the geometric mean of the ESS/s ratios) is the
default, within the limits the models show (:func:`hierlm.engines.bayes.route.mass_matrix`).  Run: ``nice -n 5 .venv/bin/python -m bench.bayes_mass_matrix [NAME ...]``;
writes ``bench/results/bayes_mass_matrix.json`` and ``.md``.  (The joint route's centring options:
``bench/bayes_mixing.py``.)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .bayes_laplace import MODELS as LAPLACE_MODELS
from .bayes_mixing import fit_options, markdown, verdict
from .bayes_scale import INSTEVAL
from .bayes_scale import MODELS as SCALE_MODELS
from .common import RESULTS, machine, now, write_result

_SCALE = {name: (data, formula) for name, data, formula, _ in SCALE_MODELS}
PARTIAL = [
    ("Cigar", "bench:Cigar:state,year", "lsales ~ lprice + (1|state) + (1|year)"),
    ("SumHes", "bench:SumHes:country,year", "lgdp ~ lpop + (1|country) + (1|year)"),
    ("PSID7682", "bench:PSID7682:id,year,gender",
     "lwage ~ experience + I(experience^2) + education + gender + (1|id) + (1|year)"),
    ("Males", "bench:Males:nr,year", "wage ~ exper + school + (1|nr) + (1|year)"),
    ("Guns", "bench:Guns:state,year,law", "lviolent ~ law + lincome + (1|state) + (1|year)"),
    ("Municipalities", "bench:Municipalities:municipality,year",
     "expenditures ~ revenues + grants + (1|municipality) + (1|year)"),
    *((name, *_SCALE[name]) for name in ("LaborSupply", "lexdec", "lexdec_slopes", "txhousing", "ScotsSec")),
    ("star3", "ref:star:id,sch,tch,gr,cltype", "math ~ gr + cltype + (1|id) + (1|tch) + (1|sch)"),
    INSTEVAL,
    *((f"sim{kind}_{H}", f"simulate:{kind}:{H}", "y ~ x + (1|g) + (1|h)") for kind in ("corr", "indep")
      for H in (60, 100, 150, 300)),
]
JOINT = [
    *(m for m in LAPLACE_MODELS if m[0] != "VerbAgg"),  # GLMMs on one factor (VerbAgg: 5,000 levels)
    ("grouseticks_crossed", "grouseticks", "TICKS ~ YEAR + cHEIGHT + (1|BROOD) + (1|LOCATION)", "poisson"),
    ("Cigar_joint", "bench:Cigar:state,year", "lsales ~ lprice + (1|state) + (1|year)", "gaussian"),
    ("Guns_joint", "bench:Guns:state,year,law", "lviolent ~ law + lincome + (1|state) + (1|year)", "gaussian"),
]
# name, data, formula, method, family
MODELS = [(*m, "partial", "gaussian") for m in PARTIAL] + [(n, d, f, "joint", fam) for n, d, f, fam in JOINT]
OPTIONS = {"diag": {"mass_matrix": "diag"}, "low_rank": {"mass_matrix": "low_rank"}}
DEFAULT = "diag"  # the option this bench is measured against (the default before it)


def simulate(kind: str, H: int, folder: Path) -> str:
    """The sweep's data set (seeded by H) as a CSV in ``folder``: its ``sim:`` spec for the fit script."""
    rng = np.random.default_rng(H)
    n, G = 12_000, 1_500
    g, h = rng.integers(0, G, n), rng.integers(0, H, n)
    x = (rng.normal(size=H)[h] if kind == "corr" else 0.0) + 0.3 * rng.normal(size=n)
    y = 1 + 0.5 * x + 0.7 * rng.normal(size=G)[g] + 0.5 * rng.normal(size=H)[h] + rng.normal(size=n)
    path = folder / f"sim_{kind}_{H}.csv"
    pd.DataFrame({"y": y, "x": x, "g": g.astype(str), "h": h.astype(str)}).to_csv(path, index=False)
    return f"sim:{path}:g,h"


def run(log=print, only=None) -> dict:
    """Fit every model (or those in ``only``, kept beside the recorded others) with each option."""
    path = RESULTS / "bayes_mass_matrix.json"
    out = {"description": __doc__.splitlines()[0], "date": now(), "machine": machine(), "models": {}}
    if only and path.exists():
        out["models"] = json.loads(path.read_text())["models"]
    tmp = tempfile.TemporaryDirectory()
    for name, data, formula, method, family in MODELS:
        if only and name not in only:
            continue
        rec = {"data": data, "formula": formula, "method": method, "family": family, "date": now()}
        spec = data
        if data.startswith("simulate:"):
            _, kind, H = data.split(":")
            spec = simulate(kind, int(H), Path(tmp.name))
        rec.update(fit_options(name, spec, formula, method, OPTIONS, log, family=family))
        out["models"][name] = rec
        write_result("bayes_mass_matrix", out)
    tmp.cleanup()
    out["verdict"] = verdict(out, OPTIONS, DEFAULT)
    write_result("bayes_mass_matrix", out)
    (RESULTS / "bayes_mass_matrix.md").write_text("\n".join(markdown(out, OPTIONS, DEFAULT)) + "\n")
    return out


if __name__ == "__main__":
    run(only=sys.argv[1:] or None)
