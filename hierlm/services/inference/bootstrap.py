"""Parametric bootstrap of linear mixed models: likelihood-ratio tests (pbkrtest's ``PBmodcomp``)
and the refits behind ``confint(method="boot")`` (lme4's ``bootMer``).

Every replicate simulates a response from a fitted model and refits models with the same design.
Refits reuse each model's :class:`~hierlm.engines.frequentist.lmm.LmmProblem` (design, θ layout and column
scalings are built once; :meth:`~hierlm.engines.frequentist.lmm.LmmProblem.set_response` only rebuilds the cross
products for the new response) and warm-start θ at the original optimum.  The likelihood-ratio
refits use the compiled :class:`~hierlm.engines.frequentist.fastlmm.FastLmm` (only the response's row
of the cross products changes; BOBYQA without the gradient polish, so a refitted deviance is within
the optimiser's tolerance, ~1e-7, of :meth:`LmmProblem.optimize`'s).  Replicate ``i`` draws
from its own child seed (:func:`hierlm.fits.simulate.seed_children`), so the statistics depend only
on ``seed`` — not on ``n_jobs``, the executor or how replicates are split between workers
(:mod:`hierlm.services.executors`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.linalg as sla
from scipy import stats

from ...design.covariance import sdcor_of_theta
from ...engines.frequentist.fastlmm import FastLmm, fast_enough
from ...errors import HierlmError
from ...fits.protocol import check_same_data, is_fit
from ...fits.simulate import Simulator, seed_children
from ..executors import check_executor, run_batches
from .params import fit_params

__all__ = ["bootstrap_lrt", "BootstrapLRT", "bootstrap_params", "percentile_interval", "refit_replicates"]

_FAILURES = (HierlmError, np.linalg.LinAlgError, ValueError, ArithmeticError, RuntimeError)


# -- the work of one replicate ------------------------------------------------------------------
class _RefitJob:
    """Simulate (or take) responses and refit problems; picklable for worker processes.

    ``kind="deviance"``: one column per problem with the optimised objective.
    ``kind="params"``: (.sig…, .sigma, β) of the first problem's refit.
    """

    def __init__(self, simulator: Simulator | None, problems: list, starts: list, kind: str):
        self.simulator = simulator
        # deviances: the compiled refit kernel where it applies; parameters: the engine's polished optimum
        self.problems = [FastLmm(p) if kind == "deviance" and fast_enough(p) else copy.copy(p) for p in problems]
        self.starts = [np.asarray(s, float) for s in starts]
        self.kind = kind
        self.width = len(problems) if kind == "deviance" else None

    def one(self, y: np.ndarray) -> np.ndarray:
        if self.kind == "deviance":
            out = np.empty(len(self.problems))
            for k, (prob, start) in enumerate(zip(self.problems, self.starts)):
                prob.set_response(y)
                _, res = prob.optimize(start)
                out[k] = res["fun"]
            if not np.all(np.isfinite(out)) or np.any(out >= 1e299):
                raise HierlmError("refit did not converge")
            return out
        prob = self.problems[0]
        prob.set_response(y)
        x, _ = prob.optimize(self.starts[0])
        f = prob.cp.factor(prob.tmap.lambdas(x))
        if f is None:
            raise HierlmError("refit did not converge")
        q, p = prob.cp.q_re, prob.p
        sigma = np.sqrt(f.pwrss / (prob.n - p if prob.reml else prob.n))
        beta = prob.TX @ (sla.solve_triangular(f.Lrr[q : q + p, q : q + p], f.Lrr[q + p, q : q + p], lower=True,
                                               trans="T") + prob.beta_shift) if p else np.zeros(0)
        theta = prob.tmap.to_original(x)
        return np.concatenate([sdcor_of_theta(theta, prob.tmap.sizes, sigma), [sigma], beta])

    def __call__(self, items: list) -> np.ndarray:
        rows = []
        for item in items:
            y = item if isinstance(item, np.ndarray) else self.simulator.draw(np.random.default_rng(item))
            try:
                with np.errstate(all="ignore"):
                    rows.append(self.one(y))
            except _FAILURES:
                rows.append(None)
        width = next((len(r) for r in rows if r is not None), self.width or 1)
        return np.array([np.full(width, np.nan) if r is None else r for r in rows]).reshape(len(rows), width)


def refit_replicates(job: _RefitJob, items: list, n_jobs: int | None = None, executor=None,
                     progressbar: bool = False) -> np.ndarray:
    """Run ``job`` over ``items`` (seeds or response vectors) on an executor, rows in order.

    See :func:`hierlm.services.executors.run_batches`: serial, ``n_jobs`` local processes, any
    ``concurrent.futures.Executor`` or a Dask client; the rows do not depend on which.
    """
    return np.vstack(run_batches(job, items, executor=executor, n_jobs=n_jobs, progressbar=progressbar,
                                 desc="bootstrap refits"))


def _theta_internal(fit) -> np.ndarray:
    """The fit's optimum in the optimiser's coordinates (the warm start of every refit)."""
    th = fit.optinfo.get("theta_internal")
    return np.asarray(th, float) if th is not None else fit._problem().tmap.to_internal(fit.theta)


def _items(seed, nsim: int, responses) -> list:
    if responses is None:
        if int(nsim) < 1:
            raise HierlmError(f"nsim must be a positive integer, not {nsim}")
        return seed_children(seed, int(nsim))
    Y = np.asarray(responses, float)
    return [np.ascontiguousarray(Y[:, i]) for i in range(Y.shape[1])]


# -- likelihood-ratio test ----------------------------------------------------------------------
@dataclass
class BootstrapLRT:
    """Result of :func:`bootstrap_lrt`; also readable as a dict (``res["p_value"]``).

    ``print(res)`` shows pbkrtest's ``PBmodcomp`` layout; :meth:`to_frame` gives its table.

    Attributes
    ----------
    statistic : float
        Observed 2(ℓ₁ − ℓ₀) of the ML fits.
    df : int
        Difference in the number of parameters.
    p_value : float
        (1 + #{t* ≥ t}) / (1 + m) over the m replicates whose refits succeeded.
    p_value_pbkrtest : float
        pbkrtest 0.5's ``PBmodcomp`` rule, which drops non-positive t*:
        (1 + #{t* > t, t* > 0}) / (1 + #{t* > 0}).  Differs from ``p_value`` when many t* are 0
        (tests of a variance at its boundary).
    p_chisq : float
        The asymptotic χ²(df) p-value, for comparison.
    stats : ndarray (nsim,)
        The simulated statistics t* (NaN where a refit failed).
    nsim, n_failed : int
    seconds : float

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> m0 = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep)
    >>> m1 = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    >>> res = hl.bootstrap_lrt(m0, m1, nsim=20, seed=1)
    >>> round(res.statistic, 2), res.df, res["nsim"], res.n_failed
    (42.14, 2, 20, 0)
    >>> res.p_value  # no simulated statistic reached the observed one: 1 / (1 + 20)
    0.047619047619047616
    """

    statistic: float
    df: int
    p_value: float
    p_value_pbkrtest: float
    p_chisq: float
    stats: np.ndarray = field(repr=False)
    nsim: int
    n_failed: int
    seconds: float

    def __getitem__(self, key):
        return getattr(self, key)

    def keys(self):
        """Names of the fields, so that ``dict(res)`` and ``res["p_value"]`` work.

        Returns
        -------
        list of str

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> m0 = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep)
        >>> m1 = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
        >>> res = hl.bootstrap_lrt(m0, m1, nsim=20, seed=1)
        >>> res.keys()[:5]
        ['statistic', 'df', 'p_value', 'p_value_pbkrtest', 'p_chisq']
        """
        return ["statistic", "df", "p_value", "p_value_pbkrtest", "p_chisq", "stats", "nsim", "n_failed", "seconds"]

    def to_frame(self) -> pd.DataFrame:
        """pbkrtest's table: rows ``LRT`` (the χ² test) and ``PBtest`` (the bootstrap test).

        Returns
        -------
        DataFrame
            Columns ``stat``, ``df``, ``p.value``.

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> m0 = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep)
        >>> m1 = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
        >>> hl.bootstrap_lrt(m0, m1, nsim=20, seed=1).to_frame().round(4)
                   stat   df  p.value
        LRT     42.1393  2.0   0.0000
        PBtest  42.1393  NaN   0.0476
        """
        return pd.DataFrame({"stat": [self.statistic] * 2, "df": [self.df, np.nan],
                             "p.value": [self.p_chisq, self.p_value]}, index=["LRT", "PBtest"])

    def __str__(self) -> str:
        ok = self.nsim - self.n_failed
        head = (f"Parametric bootstrap test; time: {self.seconds:.2f} sec; samples: {ok}"
                f"{f' ({self.n_failed} failed)' if self.n_failed else ''}; "
                f"extremes: {int(np.sum(self.stats[np.isfinite(self.stats)] >= self.statistic))}")
        return head + "\n" + self.to_frame().to_string(float_format=lambda v: f"{v:.4g}")


def _p_values(t: float, ref: np.ndarray) -> tuple[float, float]:
    ref = ref[np.isfinite(ref)]
    p = (1 + np.sum(ref >= t)) / (1 + len(ref))
    pos = ref[ref > 0]
    return float(p), float((1 + np.sum(pos > t)) / (1 + len(pos)))


def bootstrap_lrt(fit0, fit1, nsim: int = 1000, seed=None, n_jobs: int | None = None,
                  responses=None, executor=None, progressbar: bool = True) -> BootstrapLRT:
    """Parametric-bootstrap likelihood-ratio test of nested linear mixed models (pbkrtest's ``PBmodcomp``).

    Responses are simulated from the null model's ML fit (new random effects and residuals),
    both models are refitted by maximum likelihood, and the observed statistic
    t = 2(ℓ₁ − ℓ₀) is compared with the simulated t*.

    Parameters
    ----------
    fit0, fit1 : LmerFit
        The null (smaller) and the alternative model, fitted to the same data; REML fits are
        refitted by ML first, as ``anova`` and pbkrtest do.
    nsim : int, default 1000
    seed : int or numpy Generator, optional
        Same seed, same statistics (whatever ``n_jobs`` or ``executor``).  Replicate ``i`` uses the
        response ``fit0.refit_ml().simulate(nsim, seed)[:, i]``.
    n_jobs : int, optional
        Local worker processes (``None``/1: serial, -1: all cores).
    responses : array (n, nsim), optional
        Use these simulated responses instead of drawing them (e.g. to compare with another
        implementation on the same data); ``nsim`` and ``seed`` are then ignored.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the refits there, in batches (see :mod:`hierlm.services.executors`); e.g.
        ``ProcessPoolExecutor(4)`` or a Dask ``Client``.
    progressbar : bool, default True
        A progress bar on runs longer than a second (terminals and notebooks).

    Returns
    -------
    BootstrapLRT
        ``statistic``, ``df``, ``p_value``, ``p_value_pbkrtest``, ``p_chisq``, ``stats``, ``nsim``,
        ``n_failed``, ``seconds``.

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> m0 = hl.lmer("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", sleep)
    >>> m1 = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    >>> res = hl.bootstrap_lrt(m0, m1, nsim=50, seed=1)
    >>> round(res.statistic, 4), res.nsim
    (0.0639, 50)
    >>> 0 < res.p_value <= 1
    True
    """
    for f in (fit0, fit1):
        if not is_fit(f, "frequentist", "lmm"):
            raise HierlmError("bootstrap_lrt() compares linear mixed models (hl.lmer fits)")
    check_same_data([fit0, fit1])
    if fit1.npar() <= fit0.npar():
        raise HierlmError(
            f"bootstrap_lrt(fit0, fit1): fit0 must be the null model with fewer parameters than fit1; "
            f"got {fit0.npar()} and {fit1.npar()} parameters ({fit0.formula!r} vs {fit1.formula!r})"
        )
    check_executor(executor, n_jobs)
    t0 = time.perf_counter()
    ml0, ml1 = fit0.refit_ml(), fit1.refit_ml()
    tobs = float(ml0.objective - ml1.objective)
    df = int(ml1.npar() - ml0.npar())
    job = _RefitJob(Simulator(ml0), [ml0._problem(), ml1._problem()],
                    [_theta_internal(ml0), _theta_internal(ml1)], kind="deviance")
    items = _items(seed, nsim, responses)
    dev = refit_replicates(job, items, n_jobs, executor, progressbar)
    ref = dev[:, 0] - dev[:, 1]
    p, p_pb = _p_values(tobs, ref)
    return BootstrapLRT(statistic=tobs, df=df, p_value=p, p_value_pbkrtest=p_pb,
                        p_chisq=float(stats.chi2.sf(tobs, df)), stats=ref, nsim=len(items),
                        n_failed=int(np.sum(~np.isfinite(ref))), seconds=time.perf_counter() - t0)


# -- bootstrap of the parameters (confint(method="boot")) ---------------------------------------
def bootstrap_params(fit, nsim: int = 500, seed=None, n_jobs: int | None = None, responses=None, executor=None,
                     progressbar: bool = True) -> np.ndarray:
    """(.sig…, .sigma, β) of ``nsim`` refits of ``fit`` to responses simulated from it (lme4's
    ``bootMer``; refits keep the fit's REML/ML setting).  Failed refits are rows of NaN.
    ``n_jobs`` / ``executor``: where the refits run (:func:`hierlm.services.executors.run_batches`).

    Examples
    --------
    >>> import hierlm as hl
    >>> m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
    >>> bootstrap_params(m, nsim=20, seed=1).shape
    (20, 3)
    """
    check_executor(executor, n_jobs)
    job = _RefitJob(Simulator(fit), [fit._problem()], [_theta_internal(fit)], kind="params")
    out = refit_replicates(job, _items(seed, nsim, responses), n_jobs, executor, progressbar)
    if out.shape[1] != len(fit_params(fit)) or np.all(np.isnan(out)):
        raise HierlmError("all bootstrap refits failed")
    return out


def percentile_interval(t: np.ndarray, alpha) -> np.ndarray:
    """Bootstrap percentile limits as the ``boot`` package's ``boot.ci(type="perc")`` computes them
    (``norm.inter``: order statistics (R+1)α, interpolated on the normal-quantile scale).

    Examples
    --------
    >>> percentile_interval(np.arange(1.0, 200.0), [0.025, 0.975]).tolist()  # (R+1)α = 5 and 195
    [5.0, 195.0]
    >>> percentile_interval(np.arange(1.0, 100.0), [0.025, 0.975]).round(3).tolist()  # interpolated
    [2.542, 97.458]
    """
    t = np.sort(np.asarray(t, float)[np.isfinite(t)])
    R = len(t)
    alpha = np.atleast_1d(np.asarray(alpha, float))
    if R == 0:
        return np.full(len(alpha), np.nan)
    rk = (R + 1) * alpha
    k = np.trunc(rk).astype(int)
    out = np.empty(len(alpha))
    for i, (r, ki, a) in enumerate(zip(rk, k, alpha)):
        if ki == r and 1 <= ki <= R:
            out[i] = t[ki - 1]
        elif ki <= 0:
            out[i] = t[0]
        elif ki >= R:
            out[i] = t[-1]
        else:
            z, z1, z2 = stats.norm.ppf([a, ki / (R + 1), (ki + 1) / (R + 1)])
            out[i] = t[ki - 1] + (z - z1) / (z2 - z1) * (t[ki] - t[ki - 1])
    return out
