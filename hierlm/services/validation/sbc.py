"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari and Gelman 2018) of ``hl.blmer``.

If parameters θ̃ are drawn from the prior, data ỹ from the model given θ̃, and the posterior given ỹ
is computed exactly, then the rank of θ̃ among L independent posterior draws is uniform on
{0, …, L}, for every parameter and every function of the parameters.  :func:`sbc` repeats this
``n_reps`` times with :func:`hierlm.blmer` as the posterior computation and tests the ranks of each
parameter for uniformity (chi-square on binned ranks, with Holm and Bonferroni corrections over
the parameters).

The prior must be the one the sampler uses, so :func:`sbc` insists on explicit priors for every
parameter (the defaults scale with the response, which changes from simulation to simulation) and
draws from exactly those :class:`~hierlm.engines.bayes.priors.Prior` objects.  As in ``blmer`` (and brms), the
``Intercept`` prior is on the intercept of the model with *centred* predictors: the lme4 intercept is
``Intercept − Σ_j mean(x_j) b_j``, and the simulation builds η that way.

Examples
--------
>>> import numpy as np, pandas as pd, hierlm as hl
>>> from hierlm.services.validation.sbc import sbc
>>> rng = np.random.default_rng(0)
>>> d = pd.DataFrame({"y": 0.0, "x": rng.normal(size=40), "g": np.repeat(list("abcdefgh"), 5)})
>>> pri = {"Intercept": hl.Prior("normal", mu=0, sigma=1), "b": hl.Prior("normal", mu=0, sigma=1),
...        "sd": hl.Prior("half_normal", sigma=1), "sigma": hl.Prior("exponential", lam=1)}
>>> res = sbc("y ~ x + (1 | g)", d, priors=pri, n_reps=4, draws=200, thin=2, seed=1)  # doctest: +SKIP
>>> res.table[["chi2", "p", "p_holm"]]  # doctest: +SKIP
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ...design import get_family
from ...engines.bayes.families import aux_names
from ...engines.bayes.priors import resolve_priors
from ...errors import HierlmError
from ...fits import blmer
from ...fits.bayes_draws import diagnostic_table
from ...fits.bayes_setup import prepare
from ...formula import deparse
from ..executors import check_executor, run_batches
from .prior_sim import draw_prior, simulate_response

__all__ = ["sbc", "SBCResult", "rank_uniformity", "thin_draws", "holm"]

FAMILIES = ("gaussian", "poisson", "negbinomial", "bernoulli", "binomial", "student", "lognormal", "gamma",
            "inverse_gaussian", "beta", "cumulative")


# -- ranks and the uniformity test --------------------------------------------------------------------
def _labels(design) -> list[str]:
    names = [f"b_{nm}" for nm in design.xnames]
    if "(Intercept)" in design.xnames:
        names.append("Intercept (centred)")
    for t in design.reterms:
        names += [f"sd({t.label}: {c})" for c in t.columns]
        i, j = np.triu_indices(t.ncols, 1)
        names += [f"cor({t.label}: {t.columns[a]},{t.columns[c]})" for a, c in zip(i, j)]
    return names


def _vector(truth: dict, design, family: str, n_ranef: int) -> tuple[np.ndarray, list[str]]:
    """Truth as a flat vector, with labels (the ranked quantities): fixed effects, the centred intercept, SDs
    and correlations, the family's own parameters, the thresholds (centred and not) and some random effects."""
    ordinal = "thresholds" in truth
    vals = list(truth["beta"]) + ([truth["Intercept"]] if "Intercept" in truth and not ordinal else [])
    for sd, C in zip(truth["sd"], truth["cor"]):
        i, j = np.triu_indices(len(sd), 1)
        vals += list(sd) + list(C[i, j])
    labels = _labels(design)
    for nm in aux_names(family):
        vals.append(truth[nm])
        labels.append(nm)
    if ordinal:
        lv = list(design.response_value.levels)
        names = [f"{lv[j]}|{lv[j + 1]}" for j in range(len(lv) - 1)]
        vals += list(truth["Intercept"]) + list(truth["thresholds"])
        labels += [f"Intercept[{t}] (centred)" for t in names] + [f"thresholds[{t}]" for t in names]
    for t, r in zip(design.reterms, truth["r"]):
        for lev in range(min(n_ranef, t.nlevels)):
            vals += list(r[lev])
            labels += [f"r({t.label}[{t.levels[lev]}]: {c})" for c in t.columns]
    return np.asarray(vals, float), labels


def _posterior_matrix(fit, n_ranef: int) -> np.ndarray:
    """The same quantities as :func:`_vector`, per draw: (chains, draws, K)."""
    post, spec = fit.posterior, fit.spec
    cols = [post["beta"].values]
    if spec.has_intercept:
        cols.append(post["Intercept"].values[..., None])
    for b in spec.blocks:
        cols.append(post[f"sd_{b.v}"].values)
        if b.q > 1:
            i, j = np.triu_indices(b.q, 1)
            cols.append(post[f"cor_{b.v}"].values[..., i, j])
    for nm in spec.aux_names:
        cols.append(post[nm].values[..., None])
    if spec.ncut:
        cols += [post["Intercept"].values, post["thresholds"].values]
    for b in spec.blocks:
        r = post[f"r_{b.v}"].values[:, :, : min(n_ranef, b.J)]
        cols.append(r.reshape(r.shape[:2] + (-1,)))
    return np.concatenate(cols, axis=-1)


def thin_draws(draws: np.ndarray, thin: int, n_keep: int) -> np.ndarray:
    """Every ``thin``-th draw of each chain, pooled, then ``n_keep`` of them evenly spaced.

    Parameters
    ----------
    draws : ndarray (chains, draws, ...)
    thin, n_keep : int

    Returns
    -------
    ndarray (n_keep, ...)

    Examples
    --------
    >>> thin_draws(np.arange(40.0).reshape(2, 20, 1), thin=4, n_keep=9)[:, 0].tolist()
    [0.0, 4.0, 8.0, 12.0, 16.0, 24.0, 28.0, 32.0, 36.0]
    """
    kept = draws[:, ::thin].reshape((-1,) + draws.shape[2:])
    if len(kept) < n_keep:
        raise HierlmError(f"chains × draws / thin gives {len(kept)} draws, fewer than n_keep={n_keep}; "
                          "raise draws or lower thin")
    return kept[np.round(np.linspace(0, len(kept) - 1, n_keep)).astype(int)]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control).

    Parameters
    ----------
    p : array-like
        Raw p-values.

    Returns
    -------
    ndarray
        Adjusted p-values, in the input order.

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p)
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def rank_uniformity(ranks: pd.DataFrame, n_keep: int, bins: int = 10, alpha: float = 0.01) -> pd.DataFrame:
    """Chi-square test of uniformity of SBC ranks, per column, with Holm and Bonferroni corrections.

    Parameters
    ----------
    ranks : DataFrame
        One row per replication (NaN rows skipped), one column per parameter; ranks in 0..n_keep.
    n_keep : int
        Number of posterior draws each rank was taken among (L): ranks take L + 1 values.
    bins : int
        Number of bins; must divide L + 1 so each bin holds equally many rank values.
    alpha : float
        Level of the ``ok`` column (Holm-adjusted p > alpha).

    Returns
    -------
    DataFrame
        Index: parameter; columns ``n``, ``chi2``, ``df``, ``p``, ``p_holm``, ``p_bonferroni``,
        ``ok``, ``mean_rank`` (expected L / 2) and ``counts`` (per bin).

    Examples
    --------
    >>> r = pd.DataFrame({"a": np.tile(np.arange(100), 2), "b": np.repeat([0, 99], 100)})
    >>> t = rank_uniformity(r, n_keep=99, bins=10)
    >>> bool(t.loc["a", "p"] == 1.0), bool(t.loc["b", "p_holm"] < 1e-10), t["ok"].tolist()
    (True, True, [True, False])
    """
    if (n_keep + 1) % bins:
        raise HierlmError(f"bins={bins} does not divide the {n_keep + 1} possible ranks; use a divisor, e.g. "
                          f"{[b for b in range(2, 21) if (n_keep + 1) % b == 0]}")
    rows = {}
    for col in ranks.columns:
        r = ranks[col].dropna().to_numpy()
        if np.any((r < 0) | (r > n_keep)):
            raise HierlmError(f"ranks of '{col}' leave 0..{n_keep}")
        counts = np.bincount((r * bins // (n_keep + 1)).astype(int), minlength=bins)
        chi2, p = stats.chisquare(counts) if len(r) else (np.nan, np.nan)
        rows[col] = dict(n=len(r), chi2=float(chi2), df=bins - 1, p=float(p), mean_rank=float(np.mean(r)),
                         counts=counts.tolist())
    tab = pd.DataFrame.from_dict(rows, orient="index")
    tab["p_holm"] = holm(tab["p"].to_numpy())
    tab["p_bonferroni"] = np.minimum(1.0, tab["p"] * len(tab))
    tab["ok"] = tab["p_holm"] > alpha
    return tab[["n", "chi2", "df", "p", "p_holm", "p_bonferroni", "ok", "mean_rank", "counts"]]


# -- the driver ---------------------------------------------------------------------------------------------
@dataclass
class SBCResult:
    """Result of :func:`sbc`.

    Attributes
    ----------
    ranks : DataFrame
        Replication × parameter ranks (0..n_keep; NaN rows for failed fits).
    truths : DataFrame
        Replication × parameter true values (drawn from the prior).
    table : DataFrame
        :func:`rank_uniformity` of the ranks.
    diagnostics : DataFrame
        Per replication: ``seconds``, ``max_rhat``, ``min_ess``, ``divergences``, ``error``.
    n_keep, bins : int
    alpha : float
    settings : dict

    Examples
    --------
    Made by :func:`sbc`; by hand, from 100 perfectly uniform ranks of one parameter:

    >>> ranks = pd.DataFrame({"b_x": np.arange(100.0)})
    >>> diag = pd.DataFrame({"seconds": 0.1, "max_rhat": 1.0, "min_ess": 800.0, "divergences": 0,
    ...                      "error": None}, index=range(100))
    >>> res = SBCResult(ranks, ranks * 0, rank_uniformity(ranks, 99), diag, n_keep=99, bins=10, alpha=0.01)
    >>> res.passed(), res.min_p, res.n_failed
    (True, 1.0, 0)
    """

    ranks: pd.DataFrame
    truths: pd.DataFrame
    table: pd.DataFrame
    diagnostics: pd.DataFrame
    n_keep: int
    bins: int
    alpha: float
    settings: dict = field(default_factory=dict)

    @property
    def min_p(self) -> float:
        """Smallest raw p-value over the parameters."""
        return float(self.table["p"].min())

    @property
    def n_failed(self) -> int:
        return int(self.diagnostics["error"].notna().sum())

    def passed(self, alpha: float | None = None) -> bool:
        """No parameter rejected at ``alpha`` after Holm's correction (and no failed fit).

        Parameters
        ----------
        alpha : float, optional
            Level (default: the one given to :func:`sbc`).

        Returns
        -------
        bool
        """
        a = self.alpha if alpha is None else alpha
        return bool((self.table["p_holm"] > a).all()) and self.n_failed == 0

    def __str__(self) -> str:
        d = self.diagnostics
        head = (f"SBC of {self.settings.get('formula')} ({self.settings.get('family')}): {len(self.ranks)} "
                f"replications, "
                f"ranks among L = {self.n_keep} draws, {self.bins} bins; failed fits: {self.n_failed}; "
                f"max R-hat {d['max_rhat'].max():.3f}; divergent transitions in {int((d['divergences'] > 0).sum())} "
                f"fits; min p = {self.min_p:.3g}; {'PASS' if self.passed() else 'FAIL'} at {self.alpha:g} (Holm)")
        cols = ["chi2", "p", "p_holm", "p_bonferroni", "ok", "mean_rank"]
        return head + "\n" + self.table[cols].to_string(float_format=lambda v: f"{v:.4g}")


class _Job:
    """One replication (picklable, runs in worker processes)."""

    def __init__(self, formula, data, family, priors, sim_priors, fit_kw, n_ranef, thin, n_keep):
        self.__dict__.update(formula=formula, data=data, family=family, priors=priors, sim_priors=sim_priors,
                             fit_kw=fit_kw, n_ranef=n_ranef, thin=thin, n_keep=n_keep)

    def __getstate__(self):  # the cached design holds lambdas: workers rebuild it
        return {k: v for k, v in self.__dict__.items() if k != "_setup"}

    def setup(self):
        if self.__dict__.get("_setup") is None:
            self._setup = self._prepare()
        return self._setup

    def _prepare(self):
        design, fam, resp = prepare(self.formula, self.data, get_family(*self.family), check_response=False)
        fit_set = resolve_priors(design, fam, self.priors, resp)
        loose = [f"{r['class']}" + "".join(f" {x}" for x in (r["group"], r["term"]) if x)
                 for r in fit_set.rows if r["source"] != "user"]
        if loose:
            raise HierlmError("sbc needs an explicit prior for every parameter (the defaults scale with the "
                              f"simulated response); missing: {', '.join(loose)}. E.g. priors={{'Intercept': "
                              "Prior('normal', mu=0, sigma=1), 'b': ..., 'sd': ..., 'cor': ..., 'sigma': ...}")
        sim_set = fit_set if self.sim_priors is None else resolve_priors(design, fam, self.sim_priors, resp)
        response = deparse(design.formula.response)
        if response not in self.data.columns:
            raise HierlmError(f"sbc writes simulated responses into a column; the response '{response}' must be a "
                              "plain column name of data")
        return design, fam, sim_set, response

    def __call__(self, seed_seq) -> dict:
        design, fam, sim_set, response = self.setup()
        rng = np.random.default_rng(seed_seq)
        truth = draw_prior(sim_set, design, fam, rng)
        true_vec, labels = _vector(truth, design, fam.name, self.n_ranef)
        data = self.data.loc[design.rows].copy()
        y = simulate_response(design, fam, truth, rng)
        if fam.is_ordinal:  # category codes → the template's ordered categories
            y = pd.Categorical.from_codes(y.astype(int), categories=design.response_value.levels, ordered=True)
        data[response] = y
        t0 = time.perf_counter()
        out = dict(labels=labels, truth=true_vec.tolist())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = blmer(self.formula, data, family=fam, priors=self.priors, progressbar=False,
                            seed=int(rng.integers(2**62)), **self.fit_kw)
        except HierlmError as err:  # a failed fit is reported, never silently dropped
            return dict(out, seconds=time.perf_counter() - t0, error=str(err))
        draws = _posterior_matrix(fit, self.n_ranef)
        kept = thin_draws(draws, self.thin, self.n_keep)
        diag = diagnostic_table(fit)
        return dict(out, seconds=time.perf_counter() - t0, error=None, ranks=np.sum(kept < true_vec, axis=0).tolist(),
                    max_rhat=float(diag["R-hat"].max()), min_ess=float(diag[["ESS bulk", "ESS tail"]].min().min()),
                    divergences=int(fit.idata["sample_stats"]["diverging"].values.sum()))


class _Batch:
    """A batch of replications for :func:`hierlm.services.executors.run_batches`."""

    def __init__(self, job: _Job):
        self.job = job

    def __call__(self, seeds: list) -> list[dict]:
        return [self.job(s) for s in seeds]


def sbc(formula: str, data: pd.DataFrame, family: str = "gaussian", priors=None, n_reps: int = 200,
        draws: int = 500, tune: int = 500, chains: int = 2, thin: int = 10, n_keep: int = 99, seed: int = 0,
        n_jobs: int = 1, n_ranef: int = 2, bins: int = 10, alpha: float = 0.01, simulate_priors=None,
        executor=None, progressbar: bool = True, **fit_kw) -> SBCResult:
    """Simulation-based calibration of :func:`hierlm.blmer` for one model and prior.

    Parameters
    ----------
    formula : str
        lme4 formula; the response must be a plain column of ``data`` (it is overwritten).
    data : DataFrame
        Template: predictors and grouping factors (the response column's values are ignored but
        must be valid for the family, e.g. 0).
    family : str or Family
        ``"gaussian"``, ``"poisson"``, ``"negbinomial"``, ``"bernoulli"``, ``"binomial"``, ``"student"``,
        ``"lognormal"``, ``"gamma"``, ``"inverse_gaussian"``, ``"beta"`` or ``"cumulative"`` (the response
        column of the template then an ordered categorical), or ``hl.family(name, link=...)``.
    priors : dict or list of Prior
        Explicit priors for *every* parameter class present (Intercept — the thresholds of a cumulative
        model —, b, sd, cor, sigma / shape / nu / phi).
    n_reps : int
        Replications (prior draw → simulated data → fit).
    draws, tune, chains : int
        Passed to ``blmer`` (per chain).
    thin, n_keep : int
        Every ``thin``-th draw of each chain is kept and ``n_keep`` (L) of them, evenly spaced, rank
        the true value; choose ``thin`` so they are roughly independent.
    seed : int
        Seeds every replication (prior draw, data, sampler): same seed, same ranks.
    n_jobs : int
        Local worker processes (each fit then runs its chains on one core).
    n_ranef : int
        Random effects ranked per block (the first ``n_ranef`` levels, every term).
    bins, alpha : int, float
        Chi-square bins (dividing L + 1) and the level of the pass / fail verdict (after Holm).
    simulate_priors : dict or list of Prior, optional
        Simulate from these priors instead (a deliberately miscalibrated check: ranks should fail).
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the replications there, in batches (:mod:`hierlm.services.executors`; each fit runs its
        chains on one core).  Same seed, same ranks, whatever the executor.
    progressbar : bool, default True
        A progress bar on runs longer than a second.
    **fit_kw
        More ``blmer`` arguments (``method``, ``target_accept``, ...).

    Returns
    -------
    SBCResult

    Examples
    --------
    >>> import numpy as np, pandas as pd, hierlm as hl
    >>> d = pd.DataFrame({"y": 0.0, "x": np.arange(40) % 7, "g": np.repeat(list("abcdefgh"), 5)})
    >>> pri = {"Intercept": hl.Prior("normal", mu=0, sigma=1), "b": hl.Prior("normal", mu=0, sigma=1),
    ...        "sd": hl.Prior("half_normal", sigma=1), "sigma": hl.Prior("exponential", lam=1)}
    >>> res = sbc("y ~ x + (1 | g)", d, priors=pri, n_reps=10, draws=200, thin=4, seed=1, bins=5)  # doctest: +SKIP
    >>> res.passed(alpha=0.001)  # doctest: +SKIP
    True
    """
    fam = get_family(family)
    if fam.name not in FAMILIES:
        raise HierlmError(f"sbc supports family {', '.join(FAMILIES)}, not {family!r}")
    fam = (fam.name, fam.link.name)  # rebuilt in each worker
    for name, val, low in (("n_reps", n_reps, 1), ("thin", thin, 1), ("n_keep", n_keep, 1), ("n_jobs", n_jobs, 1),
                           ("n_ranef", n_ranef, 0), ("bins", bins, 2)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < low:
            raise HierlmError(f"{name} must be a whole number >= {low}, got {val!r}")
    if chains * (-(-draws // thin)) < n_keep:
        raise HierlmError(f"chains={chains} × draws={draws} / thin={thin} keeps fewer than n_keep={n_keep} draws")
    if (n_keep + 1) % bins:
        raise HierlmError(f"bins={bins} must divide n_keep + 1 = {n_keep + 1}")
    plan = check_executor(executor, None if n_jobs == 1 else n_jobs)
    cores = 1 if plan.kind != "serial" else None
    fit_kw = dict(fit_kw, draws=draws, tune=tune, chains=chains, cores=cores)
    job = _Job(formula, data, fam, priors, simulate_priors, fit_kw, n_ranef, thin, n_keep)
    design = job.setup()[0]  # check the setup once, here, with a clear error
    seeds = np.random.SeedSequence(seed).spawn(n_reps)
    t0 = time.perf_counter()
    outs = [o for batch in run_batches(_Batch(job), seeds, executor=executor, n_jobs=None if n_jobs == 1 else n_jobs,
                                       progressbar=progressbar, desc="SBC replications") for o in batch]
    labels = outs[0]["labels"]
    ranks = pd.DataFrame([o.get("ranks", [np.nan] * len(labels)) for o in outs], columns=labels, dtype=float)
    diag = pd.DataFrame([{k: o.get(k, np.nan) for k in ("seconds", "max_rhat", "min_ess", "divergences", "error")}
                         for o in outs])
    truths = pd.DataFrame([o["truth"] for o in outs], columns=labels, dtype=float)
    table = rank_uniformity(ranks, n_keep, bins, alpha)
    settings = dict(formula=formula, family=fam[0] if fam[1] == get_family(fam[0]).link.name else f"{fam[0]}({fam[1]})",
                    n_reps=n_reps, draws=draws, tune=tune, chains=chains, thin=thin,
                    n_keep=n_keep, seed=seed, n_jobs=n_jobs, n_obs=design.n, seconds=time.perf_counter() - t0,
                    priors={str(k): str(v) for k, v in (priors.items() if isinstance(priors, dict) else [])},
                    simulate_priors=None if simulate_priors is None else str(simulate_priors),
                    fit_kw={k: v for k, v in fit_kw.items() if k not in ("draws", "tune", "chains")})
    return SBCResult(ranks, truths, table, diag, n_keep, bins, alpha, settings)
