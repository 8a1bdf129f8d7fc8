"""Parameter recovery: simulate from a model with known parameters, fit with ``hl.blmer``, score the intervals.

For each replication the random effects (and the response) are drawn afresh at the fixed truth;
the fit's 95% intervals (``fixef()`` and ``varcorr()``) are checked against the truth.  The table
gives, per parameter, the coverage count, the mean interval width, the bias and the RMSE of the
posterior mean.  Across many replications and parameters the coverage of calibrated, weakly
informative Bayesian intervals is close to 95%; widths shrink like 1/√n with the design.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from hierlm.services.validation.recovery import recovery
>>> d = pd.DataFrame({"y": 0.0, "x": np.random.default_rng(0).normal(size=60), "g": np.repeat(list("abcdef"), 10)})
>>> truth = {"beta": [1.0, 0.5], "sd": [[0.8]], "sigma": 1.0}
>>> tab = recovery("y ~ x + (1 | g)", d, truth=truth, n_reps=3, seed=1, draws=300, tune=300)  # doctest: +SKIP
>>> tab[["truth", "covered", "n", "width"]]  # doctest: +SKIP
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from ...errors import HierlmError
from ...fits import blmer
from ...fits.bayes_setup import prepare
from ...formula import deparse
from ..executors import check_executor, run_batches
from .prior_sim import simulate_response

__all__ = ["recovery", "full_truth", "simulate_data"]


def full_truth(design, family: str, truth: dict) -> dict:
    """Check ``truth`` against the design and complete it (correlation matrices, dispersion).

    ``truth`` holds ``beta`` (lme4 order, or a dict by name), ``sd`` (one sequence per
    random-effects block), optionally ``cor`` (per block: a q × q matrix, a number for q = 2, or
    None for 0) and ``sigma`` (Gaussian) / ``shape`` (negative binomial).

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> design = make_design("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
    >>> full_truth(design, "gaussian", {"beta": [250, 10], "sd": [[25, 6]], "cor": [0.1], "sigma": 25})["cor"][0]
    array([[1. , 0.1],
           [0.1, 1. ]])
    """
    names = list(design.xnames)
    beta = truth.get("beta")
    if isinstance(beta, dict):
        missing = [n for n in names if n not in beta]
        if missing:
            raise HierlmError(f"truth['beta'] has no value for {missing}; the fixed effects are {names}")
        beta = [beta[n] for n in names]
    beta = np.asarray(beta, float)
    if beta.shape != (len(names),):
        raise HierlmError(f"truth['beta'] needs {len(names)} values (for {names}), got {beta.shape}")
    sds, cors = truth.get("sd"), truth.get("cor") or [None] * len(design.reterms)
    if sds is None or len(sds) != len(design.reterms) or len(cors) != len(design.reterms):
        raise HierlmError(f"truth['sd'] (and 'cor', if given) need one entry per random-effects block: "
                          f"{[(t.label, t.columns) for t in design.reterms]}")
    out = {"beta": beta, "sd": [], "cor": []}
    for t, sd, C in zip(design.reterms, sds, cors):
        sd = np.asarray(sd, float).reshape(-1)
        if sd.shape != (t.ncols,) or np.any(sd < 0):
            raise HierlmError(f"truth['sd'] for block '{t.label}' needs {t.ncols} non-negative values ({t.columns})")
        if C is None:
            C = np.eye(t.ncols)
        elif np.ndim(C) == 0:
            C = np.array([[1.0, C], [C, 1.0]]) if t.ncols == 2 else None
        C = np.asarray(C, float) if C is not None else None
        if C is None or C.shape != (t.ncols, t.ncols) or np.any(np.linalg.eigvalsh(C) < -1e-12):
            raise HierlmError(f"truth['cor'] for block '{t.label}' must be a {t.ncols} x {t.ncols} correlation matrix")
        out["sd"].append(sd)
        out["cor"].append(C)
    for key in {"gaussian": ["sigma"], "negbinomial": ["shape"]}.get(family, []):
        if key not in truth:
            raise HierlmError(f"family='{family}' needs truth['{key}']")
        out[key] = float(truth[key])
    return out


def simulate_data(design, family: str, truth: dict, rng: np.random.Generator, data: pd.DataFrame,
                  response: str) -> pd.DataFrame:
    """``data`` (the design's rows) with ``response`` drawn at ``truth`` and fresh random effects.

    Examples
    --------
    >>> import hierlm as hl
    >>> from hierlm.design import make_design
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> design = make_design("Reaction ~ Days + (1 | Subject)", sleep)
    >>> t = full_truth(design, "gaussian", {"beta": [250, 10], "sd": [[25]], "sigma": 25})
    >>> simulate_data(design, "gaussian", t, np.random.default_rng(0), sleep, "Reaction").shape
    (180, 3)
    """
    t = dict(truth, r=[])
    for term, sd, C in zip(design.reterms, truth["sd"], truth["cor"]):
        L = np.linalg.cholesky(C + 1e-12 * np.eye(len(sd))) * sd[:, None]
        t["r"].append(rng.standard_normal((term.nlevels, term.ncols)) @ L.T)
    out = data.loc[design.rows].copy()
    out[response] = simulate_response(design, family, t, rng)
    return out


def _truth_rows(design, truth: dict) -> list[tuple[str, float]]:
    rows = [(f"b_{n}", b) for n, b in zip(design.xnames, truth["beta"])]
    for t, sd, C in zip(design.reterms, truth["sd"], truth["cor"]):
        rows += [(f"sd({t.label}: {c})", s) for c, s in zip(t.columns, sd)]
        i, j = np.triu_indices(t.ncols, 1)
        rows += [(f"cor({t.label}: {t.columns[a]},{t.columns[b]})", C[a, b]) for a, b in zip(i, j)]
    if "sigma" in truth:
        rows.append(("sigma", truth["sigma"]))
    return rows


def _estimates(fit) -> pd.DataFrame:
    """Posterior mean and 95% interval of every fixed effect, sd, correlation and σ, labelled as
    :func:`_truth_rows` labels them."""
    fe = fit.fixef()
    out = pd.DataFrame({"mean": fe["Estimate"].to_numpy(), "lo": fe["Q2.5"].to_numpy(), "hi": fe["Q97.5"].to_numpy()},
                       index=[f"b_{n}" for n in fe.index])
    vc = fit.varcorr()
    labels = []
    for _, r in vc.iterrows():
        if r["grp"] == "Residual":
            labels.append("sigma")
        elif r["var2"] is None or (isinstance(r["var2"], float) and np.isnan(r["var2"])):
            labels.append(f"sd({r['grp']}: {r['var1']})")
        else:
            labels.append(f"cor({r['grp']}: {r['var1']},{r['var2']})")
    vco = pd.DataFrame({"mean": vc["sdcor"].to_numpy(), "lo": vc["Q2.5"].to_numpy(), "hi": vc["Q97.5"].to_numpy()},
                       index=labels)
    return pd.concat([out, vco])


class _FitJob:
    """Fit simulated data sets and score them against the truth (picklable, for executors)."""

    def __init__(self, formula: str, family: str, labels: list[str], true: np.ndarray, fit_kw: dict):
        self.formula, self.family, self.labels, self.true, self.fit_kw = formula, family, labels, true, fit_kw

    def __call__(self, batch: list) -> list[tuple]:
        out = []
        for sim, fit_seed in batch:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = blmer(self.formula, sim, family=self.family, seed=fit_seed, progressbar=False, **self.fit_kw)
            est = _estimates(fit).loc[self.labels]
            out.append((est["mean"].to_numpy(), ((est["lo"] <= self.true) & (self.true <= est["hi"])).to_numpy(),
                        (est["hi"] - est["lo"]).to_numpy(), float(fit.diagnostics()["R-hat"].max()),
                        int(fit.idata["sample_stats"]["diverging"].values.sum() > 0)))
        return out


def recovery(formula: str, data: pd.DataFrame, family: str = "gaussian", truth: dict | None = None, n_reps: int = 20,
             seed: int = 0, level: float = 0.95, executor=None, n_jobs: int | None = None, progressbar: bool = True,
             **fit_kw) -> pd.DataFrame:
    """Fit ``n_reps`` data sets simulated at ``truth`` and score the posterior against it.

    Parameters
    ----------
    formula : str
        lme4 formula; its response must be a plain column of ``data`` (overwritten by the simulation).
    data : DataFrame
        Predictors and grouping factors of the design.
    family : {"gaussian", "poisson", "negbinomial", "bernoulli"}
    truth : dict
        ``beta``, ``sd``, ``cor``, ``sigma`` / ``shape``; see :func:`full_truth`.
    n_reps : int
    seed : int
    level : float
        Only 0.95 (the interval ``fixef`` and ``varcorr`` report).
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the fits there, in batches (:mod:`hierlm.services.executors`).  The data sets and the
        fits' seeds are drawn here, in the same order as without an executor, so the table is the same.
    n_jobs : int, optional
        Local worker processes instead of an executor.
    progressbar : bool, default True
        A progress bar on runs longer than a second.
    **fit_kw
        Passed to :func:`hierlm.blmer` (``priors``, ``draws``, ``method``, ...).

    Returns
    -------
    DataFrame
        Index: parameter.  Columns ``truth``, ``covered`` (replications whose 95% interval holds the
        truth), ``n``, ``coverage``, ``width`` (mean interval width), ``bias`` and ``rmse`` (of the
        posterior mean), ``max_rhat`` (worst over replications); ``attrs["seconds"]`` and
        ``attrs["divergent_fits"]``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> d = pd.DataFrame({"y": 0.0, "x": np.arange(60) % 5, "g": np.repeat(list("abcdef"), 10)})
    >>> tab = recovery("y ~ x + (1 | g)", d, truth={"beta": [1, 0.5], "sd": [[0.8]], "sigma": 1},
    ...                n_reps=2, draws=200, tune=200)  # doctest: +SKIP
    >>> list(tab.index)  # doctest: +SKIP
    ['b_(Intercept)', 'b_x', 'sd(g: (Intercept))', 'sigma']
    """
    if level != 0.95:
        raise HierlmError("recovery scores the 95% intervals that fixef() and varcorr() report; use level=0.95")
    if truth is None:
        raise HierlmError("recovery needs the true parameters, e.g. truth={'beta': [1, 0.5], 'sd': [[0.8]], "
                          "'sigma': 1}")
    design, fam, _ = prepare(formula, data, family, check_response=False)
    response = deparse(design.formula.response)
    if response not in data.columns:
        raise HierlmError(f"the response '{response}' must be a plain column of data (it is simulated)")
    truth = full_truth(design, fam.name, truth)
    labels, true = zip(*_truth_rows(design, truth))
    true = np.array(true, float)
    plan = check_executor(executor, n_jobs)
    if plan.kind != "serial":
        fit_kw.setdefault("cores", 1)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    tasks = []  # the data sets and seeds, drawn in order from one stream
    for _ in range(n_reps):
        sim = simulate_data(design, fam.name, truth, rng, data, response)
        tasks.append((sim, int(rng.integers(2**62))))
    rows = [r for batch in run_batches(_FitJob(formula, fam.name, list(labels), true, fit_kw), tasks, executor=executor,
                                       n_jobs=n_jobs, progressbar=progressbar, desc="recovery fits") for r in batch]
    means, covered, widths, rhats, divs = zip(*rows)
    divergent = int(sum(divs))
    means = np.array(means)
    tab = pd.DataFrame({"truth": true, "covered": np.sum(covered, axis=0), "n": n_reps,
                        "coverage": np.mean(covered, axis=0), "width": np.mean(widths, axis=0),
                        "bias": means.mean(axis=0) - true, "rmse": np.sqrt(np.mean((means - true) ** 2, axis=0)),
                        "max_rhat": max(rhats)}, index=list(labels))
    tab.attrs.update(seconds=time.perf_counter() - t0, divergent_fits=divergent, n_obs=design.n,
                     groups={t.label: t.nlevels for t in design.reterms})
    return tab
