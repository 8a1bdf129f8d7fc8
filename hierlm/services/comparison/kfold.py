"""K-fold cross-validation of a Bayesian fit by refitting: ``hl.kfold``.

(The module is not called ``kfold``: a submodule named like the function would replace ``hl.kfold``
once imported.)

The rows are split into ``k`` folds; for each fold the model is refitted (``hl.blmer`` with the
fit's formula, family, resolved priors and sampler settings) on the other folds and the held-out
rows are scored by their log predictive density ``log mean_s p(y_i | θ⁽ˢ⁾)``.  With
``group="Subject"`` whole levels are held out together — leave-one-group-out when ``k`` is at
least the number of levels, otherwise the levels are dealt into ``k`` folds — and the held-out
levels' random effects are drawn from the fitted population N(0, Σ), so the score is that of
predicting a *new* subject.  ArviZ's ``arviz_stats.loo_kfold`` does the bookkeeping (pointwise
elpd, ``p_kfold`` = lpd of the full fit − elpd_kfold, se).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import HierlmError, HierlmWarning, suggest
from ..executors import check_executor, run_batches
from .refit import RefitLog, RefitWrapper, check_refittable, heldout_loglik, refit_without

__all__ = ["KFold", "kfold", "make_folds"]


class KFold:
    """The result of :func:`kfold`; :func:`hierlm.compare` accepts it in place of a fit.

    Attributes
    ----------
    elpd_kfold, se, p_kfold : float
        Expected log predictive density, its standard error, and lpd of the full fit − elpd_kfold.
    pointwise : DataFrame
        Indexed by row label: ``elpd_kfold``, ``p_kfold``, ``fold`` (1 … k).
    k : int
        Number of folds.
    group : str or None
        Grouping factor (or column) whose levels were held out together.
    scheme : str
        How the folds were made, in words (``"leave-one-Subject-out (18 folds)"``).
    fit : BayesFit
        The full-data fit.
    elpd_data : arviz_stats.ELPDDataLOOKFold
    notes : list of str

    Examples
    --------
    >>> import hierlm as hl
    >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), draws=500,
    ...              chains=2, seed=1, progressbar=False)
    >>> cv = hl.kfold(b, k=2, seed=3)
    >>> cv.k, cv.group, len(cv.pointwise), bool(cv.elpd_kfold == cv.pointwise["elpd_kfold"].sum())
    (2, None, 180, True)
    >>> print(cv)  # the sampled digits differ a little between machines  # doctest: +SKIP
    K-fold cross-validation, 2 random folds (seed 3)
    model 'Reaction ~ Days + (Days | Subject)', 180 observations: elpd_kfold -868.1 (se 21.6), p_kfold 41.0
    """

    def __init__(self, fit, elpd_data, folds: np.ndarray, group: str | None, seed, notes: list[str],
                 scheme: str = ""):
        self.fit, self.elpd_data, self.folds, self.group, self.seed = fit, elpd_data, folds, group, seed
        self.scheme = scheme or f"{int(elpd_data.n_folds)} folds"
        self.k = int(elpd_data.n_folds)
        self.elpd_kfold = float(elpd_data.elpd)
        self.se = float(elpd_data.se)
        self.p_kfold = float(elpd_data.p)
        obs = [str(o) for o in fit.idata["log_likelihood"]["obs"].values]
        self.pointwise = pd.DataFrame({"elpd_kfold": np.asarray(elpd_data.elpd_i.values, float),
                                       "p_kfold": np.asarray(elpd_data.p_kfold_i.values, float),
                                       "fold": folds}, index=pd.Index(obs, name="obs"))
        self.notes = notes

    @property
    def formula(self) -> str:
        return self.fit.formula

    def nobs(self) -> int:
        return self.fit.nobs()

    def describe(self) -> str:
        """How the folds were made, in words (plus notes about the refits)."""
        return f"K-fold cross-validation, {self.scheme}" + "".join(f"; {n}" for n in self.notes)

    def __repr__(self) -> str:
        return (f"{self.describe()}\nmodel {self.fit.formula!r}, {self.nobs()} observations: "
                f"elpd_kfold {self.elpd_kfold:.1f} (se {self.se:.1f}), p_kfold {self.p_kfold:.1f}")


def _group_codes(fit, group: str) -> np.ndarray:
    d = fit.design
    for t in d.reterms:
        if t.group == group or (":" in group and sorted(t.group.split(":")) == sorted(group.split(":"))):
            return np.asarray(t.index)
    if d.data is not None and group in d.data.columns:
        return pd.factorize(d.data[group], sort=True)[0]
    have = sorted({t.group for t in d.reterms})
    cols = [] if d.data is None else list(d.data.columns)
    raise HierlmError(f"group={group!r} is neither a grouping factor of the model ({', '.join(have)}) nor a column "
                      f"of its data.{suggest(group, have + cols)}")


def make_folds(n: int, k: int, seed, codes: np.ndarray | None = None) -> np.ndarray:
    """Fold (1 … k) of every row: random and balanced, or whole groups (``codes``) kept together.

    With ``codes`` and ``k`` >= the number of groups, every group is its own fold (in the order of
    the codes).  Reproducible by ``seed``.

    Examples
    --------
    >>> make_folds(6, 3, seed=1).tolist()
    [2, 1, 3, 2, 3, 1]
    >>> make_folds(4, 10, seed=1, codes=np.array([0, 0, 1, 2])).tolist()
    [1, 1, 2, 3]
    """
    rng = np.random.default_rng(seed)

    def deal(m: int, kk: int) -> np.ndarray:
        return (np.arange(m) % kk + 1)[rng.permutation(m)]  # sizes differ by at most one

    if codes is None:
        return deal(n, k)
    uniq, inv = np.unique(codes, return_inverse=True)
    if k >= len(uniq):
        return inv + 1
    return deal(len(uniq), k)[inv]


class _FoldJob:
    """Refit without each fold and score its rows (picklable; the fit travels once per worker)."""

    def __init__(self, fit, overrides: dict):
        self.fit, self.overrides = fit, overrides

    def __call__(self, batch: list) -> list:
        out = []
        for rows in batch:
            log = RefitLog()
            refit = refit_without(self.fit, rows, log=log, **self.overrides)
            out.append((heldout_loglik(refit, self.fit, rows), log.n, log.seconds, log.warned))
        return out


class _PrefetchedWrapper(RefitWrapper):
    """ArviZ's wrapper over refits already made (on an executor): ``sample`` looks the fold up."""

    def __init__(self, fit, done: dict, log: RefitLog):
        super().__init__(fit, log=log)
        self.done = done

    def sample(self, modified_observed_data):
        return tuple(np.atleast_1d(modified_observed_data).tolist())

    def log_likelihood__i(self, excluded_obs, idata__i):
        import xarray as xr

        ll = self.done[idata__i]
        obs = self.fit.idata["log_likelihood"]["obs"].values[np.atleast_1d(excluded_obs)]
        return xr.DataArray(ll, dims=("chain", "draw", "obs"), coords={"obs": obs})


def _refit_folds(fit, folds: np.ndarray, log: RefitLog, executor, n_jobs, progressbar, overrides) -> dict:
    """Every fold's held-out log-likelihood, the refits run on the executor (one task batch per few folds)."""
    tests = [np.flatnonzero(folds == f) for f in np.unique(folds)]
    overrides = dict(overrides)
    overrides.setdefault("cores", 1)  # each worker samples its chains one after the other
    outs = run_batches(_FoldJob(fit, overrides), tests, executor=executor, n_jobs=n_jobs, progressbar=progressbar,
                       desc="k-fold refits", nbatches=len(tests))
    done = {}
    for rows, (ll, n, secs, warned) in zip(tests, [o for batch in outs for o in batch]):
        done[tuple(rows.tolist())] = ll
        log.n += n
        log.seconds += secs
        log.warned += warned
    return done


def kfold(fit, k: int = 10, group: str | None = None, seed: int | None = None, folds=None, executor=None,
          n_jobs: int | None = None, progressbar: bool = True, **refit_kwargs) -> KFold:
    """K-fold cross-validation of a Bayesian fit by refitting it on the training folds.

    Parameters
    ----------
    fit : BayesFit
    k : int, default 10
        Number of folds.  With ``group``, at most the number of its levels (``k`` >= levels:
        leave-one-group-out).
    group : str, optional
        Hold out whole levels of this grouping factor (or data column) together; their random
        effects are then drawn from the fitted population, so the score is that of predicting
        new levels.
    seed : int, optional
        Seed of the random fold assignment (default: the fit's seed), so every model compared
        with the same ``k``, ``group`` and ``seed`` gets the same folds.
    folds : array of int, optional
        Fold of every row (any labels), instead of ``k``/``group``/``seed``.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Run the refits there, the folds in parallel (:mod:`hierlm.services.executors`); each refit
        samples its chains on one core (``cores=1``) unless ``cores`` is given.  The folds, seeds
        and draws are the same as without an executor.
    n_jobs : int, optional
        Local worker processes instead of an executor.
    progressbar : bool, default True
        A progress bar while the refits run on an executor.
    **refit_kwargs
        Sampler settings for the refits (``draws``, ``tune``, ``chains``, ``seed``); default the
        fit's own.

    Returns
    -------
    KFold
        ``elpd_kfold``, ``se``, ``p_kfold``, ``pointwise`` (per row ``elpd_kfold``, ``p_kfold``,
        ``fold``); accepted by :func:`hierlm.compare`.

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...              progressbar=False)
    >>> cv = hl.kfold(b, k=3, group="Subject")  # whole subjects held out, 6 per fold
    >>> cv.k, cv.pointwise.columns.tolist()
    (3, ['elpd_kfold', 'p_kfold', 'fold'])
    >>> b0 = hl.blmer("Reaction ~ Days + (1 | Subject)", sleep, draws=500, chains=2, seed=1, progressbar=False)
    >>> logo = hl.kfold(b, k=18, group="Subject")  # leave-one-subject-out: 18 refits, a minute  # doctest: +SKIP
    >>> hl.compare(logo, hl.kfold(b0, k=18, group="Subject"))  # 18 more refits  # doctest: +SKIP
    """
    import warnings

    import arviz_stats as azs

    check_refittable(fit)
    plan = check_executor(executor, n_jobs)
    n = fit.nobs()
    if seed is None:
        seed = int(fit.settings.get("seed", 0))
    if folds is not None:
        folds = np.asarray(folds)
        if folds.shape != (n,):
            raise HierlmError(f"folds must give one fold per row of the fit ({n}), got shape {folds.shape}")
        folds = np.unique(folds, return_inverse=True)[1] + 1
        if folds.max() < 2:
            raise HierlmError("folds must name at least two different folds")
        group, seed = None, None
        scheme = f"{folds.max()} folds given"
    else:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
            raise HierlmError(f"k must be a whole number >= 2 (e.g. k=10), got {k!r}")
        codes = None
        if group is not None:
            codes = _group_codes(fit, str(group))
            nlev = len(np.unique(codes))
            if nlev < 2:
                raise HierlmError(f"group={group!r} has a single level; leave-one-group-out needs two or more")
        elif k > n:
            raise HierlmError(f"k={k} is more than the number of rows ({n})")
        folds = make_folds(n, int(k), seed, codes)
        if codes is None:
            scheme = f"{folds.max()} random folds (seed {seed})"
        elif folds.max() == len(np.unique(codes)):
            scheme = f"leave-one-{group}-out ({folds.max()} folds)"
        else:
            scheme = f"{folds.max()} folds of whole {group} levels (seed {seed})"
    log = RefitLog()
    if plan.kind == "serial":
        wrapper = RefitWrapper(fit, log=log, **refit_kwargs)
    else:
        wrapper = _PrefetchedWrapper(fit, _refit_folds(fit, folds, log, executor, n_jobs, progressbar, refit_kwargs),
                                     log)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("default", HierlmWarning)
        res = azs.loo_kfold(fit.idata, wrapper, pointwise=True, var_name="y", folds=folds)
    notes = [log.note()] if log.note() else []
    return KFold(fit, res, folds, None if group is None else str(group), seed, notes, scheme)
