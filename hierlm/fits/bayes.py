""":class:`BayesFit` and ``hl.blmer``: formula + data → a sampled model with lme4's extractors.

The pipeline of :func:`blmer`: the design with the checks every engine makes, priors and the
sampler's parameter layout (:mod:`hierlm.engines.bayes.spec`), start values and centring from the
frequentist engine's solution, sampling (:mod:`hierlm.engines.bayes.sample`), the ArviZ DataTree,
the fit, plain-language warnings (the steps are :mod:`.bayes_setup`'s).  Point values of the
extractors are posterior means; every table carries the posterior SD (``Est.Error``) and the 95%
interval (``Q2.5``, ``Q97.5``).  ``fit.idata`` is the ArviZ ``DataTree``; ``fit.model`` the mirror
``pymc.Model`` (built on first access).

Routes (see :mod:`hierlm.engines.bayes.sample` and :mod:`hierlm.engines.bayes.route`):
``sampler=None`` / ``"nutpie"`` runs hierlm's compiled kernel on nutpie's Rust NUTS —
``method="marginal"`` integrates the random effects out (any Gaussian model), ``"partial"`` those of
one grouping factor only, ``"laplace"`` those of a binomial / Poisson model on one factor by Laplace's
method (approximate, opt-in), ``"joint"`` samples everything, ``"auto"`` picks the route estimated
fastest (recorded in ``fit.settings["route"]``, printed by ``summary()``); ``"pymc"``, ``"numpyro"``, ``"blackjax"``, ``"nutpie-pymc"`` sample the
mirror PyMC model (also the automatic fallback for priors the kernel cannot evaluate).
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd

from ..engines.bayes import diagnostics as dg
from ..engines.bayes import spec as S
from ..engines.bayes.posterior import build_tree
from ..engines.bayes.priors import resolve_priors
from ..engines.bayes.route import mass_matrix
from ..errors import HierlmWarning
from . import bayes_draws, bayes_predict, extract
from .bayes_base import BayesBase
from .bayes_families import family_sigma
from .bayes_setup import (
    centring_flags,
    default_cores,
    pick_route,
    prepare,
    start_values,
    validate,
)
from .protocol import services
from .storage import save_fit
from .update import updated_call

__all__ = ["BayesFit", "blmer"]


class BayesFit(BayesBase):
    """A Bayesian mixed model fitted by :func:`hierlm.blmer`.

    The extractors have the names of lme4's (:meth:`fixef`, :meth:`ranef`, :meth:`coef`,
    :meth:`varcorr`, :meth:`sigma`, :meth:`predict`, ...), computed from the posterior draws:
    point values are posterior means, and the tables add the posterior SD (``Est.Error``) and the
    95% interval (``Q2.5``, ``Q97.5``).  :meth:`summary` is laid out like brms's.

    Attributes
    ----------
    idata : xarray.DataTree
        The ArviZ data: ``posterior``, ``sample_stats``, ``observed_data``, ``log_likelihood``
        (+ ``prior``, ``posterior_predictive``, ... when drawn).
    model : pymc.Model
        The equivalent PyMC model (built on first access).
    design : hierlm.design.Design
        Response, fixed-effects matrix, random-effects terms and the rows used.
    family : hierlm.design.Family
    response : hierlm.design.GlmResponse
    spec : hierlm.engines.bayes.spec.Spec
        Arrays, priors and the parameter layout.
    priors : hierlm.engines.bayes.priors.PriorSet
        The priors used (:meth:`prior_summary`).
    settings : dict
        draws, tune, chains, seed, sampler, method, target_accept, init, centring, shear, notes.
    timings : dict
        Seconds spent setting up, sampling and building the posterior.

    Examples
    --------
    The examples of the methods below use this fit, ``b``:

    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...              progressbar=False)
    >>> b.settings["method"], b.settings["chains"], b.settings["draws"]
    ('marginal', 2, 500)
    >>> list(b.idata.children)
    ['posterior', 'sample_stats', 'observed_data', 'log_likelihood']
    """

    # -- extractors ---------------------------------------------------------------------------
    def fixef(self) -> pd.DataFrame:
        """Fixed effects: posterior means with their uncertainty and convergence diagnostics (brms's ``fixef``).

        Returns
        -------
        DataFrame
            Indexed by term (lme4's names), with columns ``Estimate`` (posterior mean),
            ``Est.Error`` (posterior SD), ``Q2.5``, ``Q97.5`` (95% interval), ``R-hat`` and
            ``ESS bulk``.

        Examples
        --------
        >>> b.fixef().columns.tolist()
        ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5', 'R-hat', 'ESS bulk']
        >>> abs(b.fixef().loc["Days", "Estimate"] - 10.47) < 1  # lme4: 10.467
        np.True_
        """
        s = dg.summarise(self.beta_draws())
        cols = ["Estimate", "Est.Error", "Q2.5", "Q97.5", "R-hat", "ESS bulk"]
        return pd.DataFrame({c: s[c] for c in cols}, index=pd.Index(self.design.xnames))

    def ranef(self, intervals: bool = False):
        """Random effects per grouping factor: posterior means, or with their uncertainty.

        Parameters
        ----------
        intervals : bool, default False
            ``True``: one long table with the posterior SD and the 95% interval of every random
            effect (brms's ``ranef`` layout in long form).  For a fit made with
            ``store_ranef=False`` the interval is the normal one (mean ± 1.96 SD).

        Returns
        -------
        dict or DataFrame
            ``intervals=False``: grouping factor -> DataFrame (index: level, columns: terms) of
            posterior means.  ``intervals=True``: DataFrame with columns ``grpvar``, ``term``,
            ``grp``, ``Estimate``, ``Est.Error``, ``Q2.5``, ``Q97.5``.

        Examples
        --------
        >>> b.ranef()["Subject"].shape
        (18, 2)
        >>> b.ranef(intervals=True).columns.tolist()
        ['grpvar', 'term', 'grp', 'Estimate', 'Est.Error', 'Q2.5', 'Q97.5']
        """
        return bayes_draws.ranef_table(self, intervals)

    def coef(self) -> dict[str, pd.DataFrame]:
        """Fixed plus random effects per level (lme4's / brms's ``coef``), as posterior means.

        Returns
        -------
        dict
            Grouping factor -> DataFrame (index: level, columns: every fixed-effect term).

        Examples
        --------
        >>> b.coef()["Subject"].columns.tolist()
        ['(Intercept)', 'Days']
        """
        return extract.coef_frames(self.fixef()["Estimate"], self.ranef())

    def varcorr(self) -> pd.DataFrame:
        """Variance components with their posterior uncertainty (lme4's ``as.data.frame(VarCorr(m))`` layout).

        Returns
        -------
        DataFrame
            ``grp``, ``var1``, ``var2``, ``vcov``, ``sdcor`` as for :meth:`LmerFit.varcorr`, with
            posterior means, plus ``Est.Error``, ``Q2.5`` and ``Q97.5`` of ``sdcor`` (the SDs and
            correlations).  The ``Residual`` row comes last (Gaussian models).

        Examples
        --------
        >>> b.varcorr()[["grp", "var1", "var2"]]
                grp         var1  var2
        0   Subject  (Intercept)  None
        1   Subject         Days  None
        2   Subject  (Intercept)  Days
        3  Residual         None  None
        """
        return bayes_draws.varcorr_table(self)

    def sigma(self) -> float:
        """Posterior mean of the residual SD (the scale σ of Student-t / lognormal, lme4's 1/√shape of Gamma).

        Returns
        -------
        float

        Examples
        --------
        >>> 23 < b.sigma() < 29  # lme4: 25.59
        True
        """
        return family_sigma(self)

    # -- predictions and checks (functions of the fit in bayes_predict / bayes_draws) ----------
    def fitted(self) -> np.ndarray:
        """Posterior mean of the expected response per observation (proportions for binomial models).

        Returns
        -------
        ndarray
            One value per observation used (brms's ``fitted``).

        Examples
        --------
        >>> b.fitted().shape
        (180,)
        """
        return bayes_predict.mu_draws(self).mean(axis=(0, 1))

    def residuals(self, type: str = "response") -> np.ndarray:
        """Residuals at the posterior mean: response y − fitted (the default), Pearson or deviance.

        Parameters
        ----------
        type : {"response", "pearson", "deviance"}

        Returns
        -------
        ndarray
            One residual per observation used (observed proportions for binomial models).

        Examples
        --------
        >>> b.residuals().shape, b.residuals("pearson").shape
        ((180,), (180,))
        """
        return bayes_predict.residuals(self, type)

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str | None = None, allow_new_levels: bool = False,
                kind: str = "mean", type: str = "response", interval: str | None = None, level: float = 0.95):
        """Posterior predictions of the expected response (brms's ``fitted`` / ``posterior_epred``).

        Parameters
        ----------
        newdata : DataFrame, optional
            Defaults to the data used for fitting.
        re_form : str, optional
            ``None``: all random effects; ``"~0"``: none; or a formula naming the bars to keep.
        allow_new_levels : bool
            Levels not seen in fitting get effects drawn from the fitted population N(0, Σ), one
            draw per posterior draw, shared by the rows of the same new level.
        kind : {"mean", "draws"}
            Posterior mean (numpy array) or all draws (xarray DataArray: chain, draw, obs).
        type : {"response", "link"}
            Scale of the predictions (they differ for GLMMs only).
        interval : {None, "confidence", "prediction"}
            A DataFrame ``fit``, ``lwr``, ``upr``: the posterior mean with an equal-tailed interval of the
            expected response, or of a new observation (posterior-predictive draws).
        level : float, default 0.95

        Returns
        -------
        ndarray, xarray.DataArray or DataFrame
            ``kind="mean"``: one value per row; ``kind="draws"``: (chain, draw, obs); with ``interval``
            a DataFrame.

        Examples
        --------
        >>> import pandas as pd
        >>> new = pd.DataFrame({"Days": [0, 5, 10], "Subject": ["308", "308", "new"]})
        >>> draws = b.predict(new, allow_new_levels=True, kind="draws")
        >>> draws.dims, draws.shape
        (('chain', 'draw', 'obs'), (2, 500, 3))
        >>> b.predict(new, re_form="~0").shape  # population level
        (3,)
        """
        if interval is not None:
            return bayes_predict.predict_interval(self, newdata, interval, level, re_form, allow_new_levels, type)
        return bayes_predict.predict(self, newdata, re_form, allow_new_levels, kind, type)

    def posterior_predictive(self):
        """Draw replicated responses for every posterior draw (brms's ``posterior_predict``).

        The draws are also stored as the ``posterior_predictive`` group of ``fit.idata`` (for
        :func:`hierlm.plot_ppc` and ArviZ).

        Returns
        -------
        xarray.Dataset
            Variable ``y`` with dimensions (chain, draw, obs).

        Examples
        --------
        >>> pp = b.posterior_predictive()
        >>> pp["y"].dims, pp["y"].shape
        (('chain', 'draw', 'obs'), (2, 500, 180))
        >>> "posterior_predictive" in b.idata.children
        True
        """
        return bayes_predict.posterior_predictive(self)

    def diagnostics(self) -> pd.DataFrame:
        """Convergence diagnostics of the main parameters: posterior summaries with R-hat and bulk / tail ESS.

        Returns
        -------
        DataFrame
            One row per fixed effect (``b_<term>``), SD, correlation and σ / shape, with columns
            ``Estimate``, ``Est.Error``, ``Q2.5``, ``Q97.5``, ``R-hat``, ``ESS bulk``, ``ESS tail``.

        Examples
        --------
        >>> b.diagnostics().index.tolist()
        ['b_(Intercept)', 'b_Days', 'sd(Subject: (Intercept))', 'sd(Subject: Days)', 'cor(Subject: (Intercept),Days)', 'sigma']
        >>> bool(b.diagnostics()["R-hat"].max() < 1.05)
        True
        """
        return bayes_draws.diagnostic_table(self)

    def singular_terms(self) -> list[str]:
        """Plain-language list of SDs whose posterior piles up at 0 and correlations piling up at ±1.

        Returns
        -------
        list of str
            Empty when nothing piles up, e.g. ``["sd(Days) of 'Subject' at 0"]`` otherwise.

        Examples
        --------
        >>> b.singular_terms()
        []
        """
        return bayes_draws.singular_terms(self)

    def is_singular(self) -> bool:
        """Whether some SD's posterior piles up at 0 or some correlation's at ±1 (see :meth:`singular_terms`).

        The Bayesian counterpart of lme4's ``isSingular``: a posterior piled at a boundary says the
        data cannot tell that variance from zero (or that correlation from ±1).

        Returns
        -------
        bool

        Examples
        --------
        >>> b.is_singular()
        False
        """
        return bool(self.singular_terms())

    def update(self, formula: str | None = None, data=None, **settings) -> BayesFit:
        """Refit with a changed formula, data or settings, as R's / brms's ``update`` (``". ~ . - Days"``).

        The priors you set are kept, the defaults rescale to the new data; ``settings`` override the
        sampler's (``draws=``, ``seed=``, ``priors=``, ...).

        Parameters
        ----------
        formula : str, optional
            A change such as ``". ~ . - Days"`` (R's ``update.formula``), or a new formula.
        data : DataFrame, optional
            Default: the data frame the fit was made from.
        **settings
            Arguments of :func:`hierlm.blmer` to change.

        Returns
        -------
        BayesFit

        Examples
        --------
        >>> b.update(". ~ . - Days", draws=200).formula
        'Reaction ~ (Days | Subject)'
        """
        formula, data, weights = updated_call(self, formula, data, settings, blmer)
        st = self.settings
        kw = {k: st[k] for k in ("draws", "tune", "chains", "seed", "method", "init", "target_accept", "cores")
              if st.get(k) is not None}
        kw.update(family=self.family, weights=weights, progressbar=False,
                  priors=[r["prior"] for r in self.priors.rows if r["source"] == "user"] or None)
        kw.update(settings)
        return blmer(formula, data, **kw)

    def icc(self) -> pd.DataFrame:
        """Posterior of the intraclass correlation(s) of a random-intercept model (see :func:`hierlm.icc`).

        Returns
        -------
        DataFrame
            Indexed by group: ``ICC`` (posterior mean), ``Est.Error``, ``Q2.5``, ``Q97.5``.

        Examples
        --------
        >>> import hierlm as hl
        >>> b = hl.blmer("Reaction ~ 1 + (1 | Subject)", hl.load_dataset("sleepstudy"), draws=500, chains=2,
        ...              seed=1, progressbar=False)
        >>> out = b.icc()
        >>> out.columns.tolist(), bool(out.loc["Subject", "Q2.5"] < 0.395 < out.loc["Subject", "Q97.5"])
        (['ICC', 'Est.Error', 'Q2.5', 'Q97.5'], True)
        """
        return services["icc"](self)

    def hypothesis(self, hypotheses, alpha: float = 0.05, density: str = "kde") -> pd.DataFrame:
        """brms-style tests of fixed-effect hypotheses (``"Days > 5"``); see :func:`hierlm.services.inference.hypothesis`.

        Parameters
        ----------
        hypotheses : str or list of str
            ``"Days > 5"``, ``"Days - 2*treatozone = 0"``, ...: fixed effects by lme4 name, compared
            with ``<``, ``>`` (posterior probability) or ``=`` (Savage–Dickey Bayes factor).
        alpha : float, default 0.05
            Two-sided ``1 − alpha`` intervals for ``=``; one-sided ``alpha`` bounds for ``<``, ``>``.
        density : {"kde", "normal"}
            Posterior density at the point: kernel density estimate or normal approximation.

        Returns
        -------
        DataFrame
            One row per hypothesis: ``Hypothesis``, ``Estimate``, ``Est.Error``, ``CI.Lower``,
            ``CI.Upper``, ``Evid.Ratio``, ``Post.Prob``, ``Star``.

        Examples
        --------
        >>> import hierlm as hl
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), draws=500,
        ...              chains=2, seed=1, progressbar=False)
        >>> h = b.hypothesis("Days > 5")
        >>> h["Hypothesis"].item(), bool(h["Post.Prob"].item() > 0.99)
        ('(Days)-(5) > 0', True)
        """
        return services["hypothesis"](self, hypotheses, alpha=alpha, density=density)

    # -- saving ---------------------------------------------------------------------------------
    def save(self, path, overwrite: bool = False):
        """Save the fit to the folder ``path`` (JSON + netCDF, never pickle).

        Read it back with :func:`hierlm.load`: nothing is resampled, every extractor gives the same
        numbers, and ``fit.model`` is rebuilt from the stored formula and data.

        Parameters
        ----------
        path : str or Path
            Folder to write (created if needed; ``~`` is expanded): ``hierlm.json``, ``data.nc``,
            ``posterior.nc``.  The save is atomic; an existing hierlm save there is replaced.
        overwrite : bool, default False
            Allow a folder that holds other files: hierlm then writes its own files beside them
            (replacing files of the same names) and touches nothing else.  Without it such a folder
            is refused.

        Returns
        -------
        Path
            The folder written.

        Examples
        --------
        >>> import os, tempfile
        >>> folder = b.save(os.path.join(tempfile.mkdtemp(), "sleep_blmer"))
        >>> sorted(os.listdir(folder))
        ['data.nc', 'hierlm.json', 'posterior.nc']
        >>> hl.load(folder).fixef().equals(b.fixef())
        True
        """
        return save_fit(self, path, overwrite=overwrite)


def blmer(formula: str, data, family: str = "gaussian", priors=None, draws: int = 1000, tune: int = 1000,
          chains: int = 4, seed: int | None = None, sampler: str | None = None, progressbar: bool = True, *,
          method: str = "auto", target_accept: float | None = None, cores: int | None = None, init: str = "lmer",
          weights=None, sample_prior: str | None = None, centred="auto", store_ranef: bool = True, **kw) -> BayesFit:
    """Fit a mixed model by NUTS, with lme4 formula syntax and weakly informative default priors.

    Parameters
    ----------
    formula : str
        lme4 formula, e.g. ``"Reaction ~ Days + (Days | Subject)"``.
    data : DataFrame
    family : str or Family
        ``"gaussian"``, ``"binomial"``, ``"bernoulli"``, ``"poisson"``, ``"negbinomial"``, ``"student"``, ``"lognormal"``,
        ``"gamma"``, ``"inverse_gaussian"``, ``"beta"``, ``"cumulative"`` (an ordered Categorical response), or
        ``hl.family(name, link=...)``.  Binomial: ``cbind(successes, failures)`` or a proportion with ``weights=``.
    priors : dict or list of Prior, optional
        Overrides of the defaults, e.g. ``{"b": hl.Prior("normal", mu=0, sigma=5),
        ("sd", "Subject"): hl.Prior("half_normal", sigma=20)}``; see :mod:`hierlm.engines.bayes.priors`.
    draws, tune, chains : int
        Draws kept and warm-up iterations per chain; number of chains.
    seed : int, optional
        Makes the fit bit-for-bit reproducible on the same machine (same hierlm, numba and CPU); on
        another machine the draws differ in the last bits and the summaries agree within Monte Carlo
        error.  None draws one (stored in ``fit.idata.attrs["seed"]``).
    sampler : {None, "nutpie", "pymc", "numpyro", "blackjax", "nutpie-pymc"}
    progressbar : bool
    method : {"auto", "marginal", "partial", "laplace", "joint"}
        ``"marginal"`` integrates the random effects out (any Gaussian model: one grouping factor,
        or crossed, nested and several bars through a sparse Cholesky of their precision) and draws
        them exactly afterwards; ``"partial"`` (Gaussian, several factors) integrates out those of
        one factor only (the one with the most levels, or the only one with correlated slopes) and
        samples the others; ``"laplace"`` (binomial-logit or Poisson-log, one grouping factor) integrates
        them out by Laplace's method as lme4's ``nAGQ = 1`` (approximate, opt-in:
        :mod:`hierlm.engines.bayes.kernels_laplace`); ``"joint"`` samples them all with the other
        parameters; ``"auto"`` (default) picks the route estimated fastest, from the number of levels
        and the factor's fill (see :mod:`hierlm.engines.bayes.route`).  The choice and its figures are
        in ``fit.settings["route"]`` and ``summary()``.
    target_accept : float, optional
        Target acceptance rate of NUTS; raise it (0.95, 0.99) after divergences.  Default 0.9 for
        the marginal route, 0.95 for the joint route when a grouping factor has fewer than 10
        levels, 0.8 otherwise.
    cores : int, optional
        Chains run in parallel on this many cores (default: one per chain, at most the machine's).
    init : {"lmer", "random"}
        Start chains near the REML / ML estimates (jittered) or at PyMC's default random points.
    weights : str or array-like, optional
        Number of trials for a binomial proportion; prior weights for a Gaussian model.
    sample_prior : {None, "yes", "only"}
        ``"only"``: draws from the prior (and prior predictive) instead of the posterior;
        ``"yes"``: add ``prior`` / ``prior_predictive`` groups to the posterior fit.
    centred : "auto", bool or list of bool
        Joint route: sample each random-effects block centred (r ~ N(0, Σ)) or non-centred
        (r = L z); "auto" decides per block from the REML / ML fit (see :func:`.spec.choose_centring`).
        On the marginal route the effects are integrated out, so anything but "auto" only warns
        (the number of flags is checked on both routes).
    store_ranef : bool, default True
        ``False``: keep only the posterior mean and SD of every random effect (the
        ``ranef_summary`` group of ``fit.idata``) instead of its draws, for models with many
        levels (the draws of b take chains × draws × levels numbers).  ``ranef()`` and ``coef()``
        then give the means (``ranef(intervals=True)`` a normal interval); ``ranef_draws()``,
        predictions with random effects, ``fitted()``, ``posterior_predictive()`` and LOO need the
        draws and say so.  The pointwise log-likelihood (for LOO) is not stored then, nor when
        draws × observations exceed 10⁹.
    maxdepth : int, optional
        Maximum NUTS tree depth (default 10).
    mass_matrix : {"diag", "low_rank"}, optional
        nutpie's mass-matrix adaptation; default ``"low_rank"`` for the marginal route, and for the others
        when they sample intercepts only, few of them (:func:`~hierlm.engines.bayes.route.mass_matrix`).

    Returns
    -------
    BayesFit

    Examples
    --------
    >>> import hierlm as hl
    >>> fit = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), seed=1,
    ...                progressbar=False)  # full draws: ~10 s with the first compile  # doctest: +SKIP
    >>> fit.fixef()  # sampled digits differ a little between machines  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    draws, tune, chains, seed, sample_prior = validate(draws, tune, chains, seed, sampler, method, target_accept,
                                                        cores, init, sample_prior, kw, store_ranef)
    design, fam, resp = prepare(formula, data, family, weights)
    prior_set = resolve_priors(design, fam, priors, resp)
    spec = S.build_spec(design, fam, resp, prior_set)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    cores = cores or default_cores(chains)
    notes: list[str] = []
    if sampler in (None, "nutpie") and not prior_set.kernel_ok:
        odd = sorted({r["prior"].dist for r in prior_set.rows
                      if r["prior"].kernel_code is None and r["prior"].dist != "lkj"})
        notes.append(f"the prior(s) {', '.join(odd)} are not in hierlm's compiled kernel, so PyMC's model was "
                     "sampled with nutpie (sampler='nutpie-pymc'), which compiles for several seconds")
        warnings.warn(notes[-1], HierlmWarning, stacklevel=2)
        sampler = "nutpie-pymc"
    kernel = sampler in (None, "nutpie")
    route = pick_route(spec, fam, method, kernel, sample_prior == "only", (tune + draws) * -(-chains // cores),
                       draws * chains)
    use_marginal = route.method == "marginal"  # (the partial route samples the other blocks: centring applies)
    start = start_values(design, fam, resp) if sample_prior != "only" else None
    flags = centring_flags(centred, spec)
    if use_marginal and flags is not None:
        notes.append(f"centred={centred!r} has no effect here: the random effects are integrated out (marginal "
                     "route), so there is nothing to centre; pass method='joint' to sample them centred")
        warnings.warn(notes[-1], HierlmWarning, stacklevel=2)
    if not use_marginal:
        for k, (b, c) in enumerate(zip(spec.blocks, flags if flags is not None else S.choose_centring(spec, start))):
            b.centred = bool(c) and k != route.collapsed  # the partial route integrates that block out
    if target_accept is None:  # small steps where funnels are likely: marginal (cheap) and few levels
        few = min(b.J for b in spec.blocks) < 10
        target_accept = 0.9 if use_marginal else 0.95 if few else 0.8
    target_accept = float(target_accept)
    kw.setdefault("mass_matrix", mass_matrix(spec, route))  # low rank where it mixes better
    settings = dict(formula=design.formula.text, family=fam.name, draws=draws, tune=tune, chains=chains, seed=seed,
                    sampler=sampler or "nutpie", method=route.method, init=init,
                    target_accept=target_accept, cores=cores, sample_prior=sample_prior, notes=notes,
                    centred=[b.label for b in spec.blocks if b.centred], route=route.record(),
                    store_ranef=bool(store_ranef), **kw)
    t1 = time.perf_counter()
    # the sampling routes import numba and nutpie: loaded here, on the first fit, so `import hierlm` stays fast
    from ..engines.bayes import sample as sampling

    if sample_prior == "only":
        run = sampling.prior_draws(spec, design, draws, chains, seed)
    else:
        run = sampling.sample(spec, design, route=route, start=start if init == "lmer" else None,
                              sampler=sampler, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                              target_accept=target_accept, progressbar=progressbar, store_ranef=store_ranef, **kw)
        if sample_prior == "yes":
            run.extra_groups.update(sampling.prior_draws(spec, design, draws, chains, seed).extra_groups)
    settings["sampler_label"] = run.label
    t2 = time.perf_counter()
    attrs = dict(seed=str(seed), method=settings["method"], sampler=settings["sampler"],
                 inference_library=settings["sampler_label"], hierlm_formula=design.formula.text, family=fam.name,
                 centred=json.dumps(settings["centred"]), hier_centre=json.dumps(spec.hier_centre))
    tree = build_tree(spec, design, fam, resp, run.posterior, run.stats, attrs, run.extra_groups,
                      gaussian=sampling.gaussian_loglik(spec, design, resp) if fam.name == "gaussian" else None)
    fit = BayesFit(design, fam, resp, spec, tree, prior_set, settings,
                   timings=dict(setup_s=t1 - t0, sample_s=t2 - t1, posterior_s=time.perf_counter() - t2), model=run.model)
    if sample_prior != "only":
        bayes_draws.check_fit(fit, stacklevel=3)
    return fit
