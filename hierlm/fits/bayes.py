""":class:`BayesFit`: a sampled model with lme4's extractors, computed from the posterior draws.

Point values are posterior means; every table carries the posterior SD (``Est.Error``) and the 95%
interval (``Q2.5``, ``Q97.5``).  ``fit.idata`` is the ArviZ ``DataTree``; ``fit.model`` the mirror
``pymc.Model`` (built on first access).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from ..engines.bayes import diagnostics as dg
from ..engines.bayes.posterior import effects
from ..engines.bayes.pymc_model import build_model
from . import bayes_draws, bayes_predict, extract
from .protocol import Fit, FitKind, services
from .storage import save_fit

__all__ = ["BayesFit"]


class BayesFit(Fit):
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

    def __init__(self, design, family, response, spec, idata, priors, settings: dict, timings: dict | None = None,
                 model=None):
        self.design, self.family, self.response, self.spec = design, family, response, spec
        self.idata, self.priors, self.settings = idata, priors, settings
        self.timings = timings or {}
        self._model = model

    @property
    def kind(self) -> FitKind:
        """Bayesian; ``lmm`` for the Gaussian family, ``glmm`` otherwise.

        Returns
        -------
        FitKind

        Examples
        --------
        >>> b.kind
        FitKind(engine='bayesian', model='lmm')
        """
        return FitKind("bayesian", "lmm" if self.family.name == "gaussian" else "glmm")

    # -- structure ----------------------------------------------------------------------------
    @property
    def posterior(self):
        """The posterior draws as an xarray Dataset (``fit.idata["posterior"]``).

        Variables: ``Intercept`` (centred-predictor intercept), ``b`` (the other fixed effects),
        ``beta`` (all fixed effects on the original scale), ``sd_<group>``, ``cor_<group>``,
        ``r_<group>`` (random effects), ``sigma`` / ``shape``.

        Returns
        -------
        xarray.Dataset

        Examples
        --------
        >>> post = b.posterior
        >>> post["beta"].dims, post["beta"].shape
        (('chain', 'draw', 'coef'), (2, 500, 2))
        >>> post["r_Subject"].sel(Subject="308").shape  # (chain, draw, term)
        (2, 500, 2)
        """
        return self.idata["posterior"].to_dataset()

    def ngrps(self) -> dict[str, int]:
        """Number of levels of every grouping factor.

        Returns
        -------
        dict
            Grouping factor -> number of levels.

        Examples
        --------
        >>> b.ngrps()
        {'Subject': 18}
        """
        return extract.ngrps(self.design)

    @property
    def model(self):
        """The equivalent ``pymc.Model`` (same density and parameter layout as the sampler's).

        Built on first access from the formula, data and priors; use it with PyMC and ArviZ as any
        model (``pm.sample_posterior_predictive``, ``pm.model_to_graphviz``, ...).

        Returns
        -------
        pymc.Model

        Examples
        --------
        >>> model = b.model
        >>> type(model).__name__
        'Model'
        """
        if self._model is None:
            self._model = build_model(self.spec, self.design.rows)
        return self._model

    def prior_summary(self) -> pd.DataFrame:
        """The priors of this fit, as brms's ``prior_summary``.

        Returns
        -------
        DataFrame
            Columns ``class``, ``group``, ``term``, ``prior``, ``source`` (``default`` or ``user``);
            see :func:`hierlm.get_priors` and the priors guide.

        Examples
        --------
        >>> b.prior_summary()
               class    group         term                 prior   source
        0  Intercept                        normal(298.5, 140.8)  default
        1          b                  Days      normal(0, 48.89)  default
        2         sd  Subject  (Intercept)    half_normal(140.8)  default
        3         sd  Subject         Days    half_normal(48.89)  default
        4        cor  Subject                             lkj(1)  default
        5      sigma                        exponential(0.01775)  default
        """
        return self.priors.table()

    # -- draws --------------------------------------------------------------------------------
    @cached_property
    def _effects(self):
        return effects(self.spec, self.posterior)

    def beta_draws(self) -> np.ndarray:
        """Draws of the fixed effects in lme4's order (``design.xnames``), on the original scale.

        Returns
        -------
        ndarray
            (chains, draws, p).

        Examples
        --------
        >>> b.beta_draws().shape
        (2, 500, 2)
        """
        return self._effects[0]

    def ranef_draws(self) -> list[np.ndarray]:
        """Draws of the random effects of every block.

        Returns
        -------
        list of ndarray
            One (chains, draws, levels, q) array per block, in ``design.reterms`` order.

        Examples
        --------
        >>> b.ranef_draws()[0].shape
        (2, 500, 18, 2)
        """
        return self._effects[1]

    def sdcor_draws(self, k: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Draws of the SDs and the correlation matrix of block ``k``.

        Parameters
        ----------
        k : int
            Index of the block (``design.reterms`` order).

        Returns
        -------
        (ndarray, ndarray or None)
            SDs (chains, draws, q); correlations (chains, draws, q, q), None for a one-term block.

        Examples
        --------
        >>> [x.shape for x in b.sdcor_draws(0)]
        [(2, 500, 2), (2, 500, 2, 2)]
        """
        b = self.spec.blocks[k]
        post = self.posterior
        sd = post[f"sd_{b.v}"].values
        cor = post[f"cor_{b.v}"].values if b.q > 1 else None
        return sd, cor

    def dispersion_draws(self) -> np.ndarray | None:
        """Draws of the family's dispersion parameter (σ, or the negative-binomial shape); None without one.

        Returns
        -------
        ndarray or None
            (chains, draws).

        Examples
        --------
        >>> b.dispersion_draws().shape
        (2, 500)
        """
        nm = self.spec.disp_name
        return self.posterior[nm].values if nm else None

    def covariance_draws(self) -> list[np.ndarray]:
        """The covariance matrix Σ of every random-effects block, per posterior draw.

        Returns
        -------
        list of ndarray
            One (chains, draws, q, q) array per block.

        Examples
        --------
        >>> S = b.covariance_draws()[0]
        >>> S.shape
        (2, 500, 2, 2)
        """
        out = []
        for k, b in enumerate(self.spec.blocks):
            sd, cor = self.sdcor_draws(k)
            C = cor if cor is not None else np.ones(sd.shape + (1,))
            out.append(sd[..., :, None] * C * sd[..., None, :])
        return out

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
            effect (brms's ``ranef`` layout in long form).

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
        draws = self.ranef_draws()
        if not intervals:
            return extract.ranef_frames(self.design, [x.mean(axis=(0, 1)) for x in draws])
        flat = [x.reshape((-1,) + x.shape[2:]) for x in draws]
        qs = [np.quantile(f, [0.025, 0.975], axis=0) for f in flat]
        return extract.ranef_long(self.design, {
            "Estimate": [f.mean(0) for f in flat], "Est.Error": [f.std(0, ddof=1) for f in flat],
            "Q2.5": [q[0] for q in qs], "Q97.5": [q[1] for q in qs]})

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
        covs = [c.reshape((-1,) + c.shape[2:]) for c in self.covariance_draws()]
        sig = self.dispersion_draws().reshape(-1) if self.family.has_dispersion else None
        S = covs[0].shape[0]
        per_draw = [extract.varcorr_rows(self.design, [c[s] for c in covs], None if sig is None else sig[s])
                    for s in range(S)]
        vcov = np.array([[r["vcov"] for r in rows] for rows in per_draw])
        sdcor = np.array([[r["sdcor"] for r in rows] for rows in per_draw])
        frame = extract.varcorr_frame(self.design, [c.mean(0) for c in covs], None if sig is None else sig.mean())
        frame["vcov"] = vcov.mean(0)
        frame["sdcor"] = sdcor.mean(0)
        frame["Est.Error"] = sdcor.std(0, ddof=1)
        q = np.quantile(sdcor, [0.025, 0.975], axis=0)
        frame["Q2.5"], frame["Q97.5"] = q[0], q[1]
        return frame

    def sigma(self) -> float:
        """Posterior mean of the residual SD (1 for families without one).

        Returns
        -------
        float

        Examples
        --------
        >>> 23 < b.sigma() < 29  # lme4: 25.59
        True
        """
        return float(self.dispersion_draws().mean()) if self.family.has_dispersion else 1.0

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

    def residuals(self) -> np.ndarray:
        """Response residuals y − fitted (observed proportions for binomial models).

        Returns
        -------
        ndarray
            One residual per observation used.

        Examples
        --------
        >>> b.residuals().shape
        (180,)
        """
        return self.response.y - self.fitted()

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str | None = None, allow_new_levels: bool = False,
                kind: str = "mean", type: str = "response"):
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

        Returns
        -------
        ndarray or xarray.DataArray
            ``kind="mean"``: one value per row; ``kind="draws"``: (chain, draw, obs).

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
