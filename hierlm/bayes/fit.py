""":class:`BayesFit`: a sampled model with lme4's extractors, computed from the posterior draws.

Point values are posterior means; every table carries the posterior SD (``Est.Error``) and the 95%
interval (``Q2.5``, ``Q97.5``).  ``fit.idata`` is the ArviZ ``DataTree``; ``fit.model`` the mirror
``pymc.Model`` (built on first access).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from .. import extract
from . import diagnostics as dg
from .posterior import effects
from .predict import PredictionMixin
from .summary import DiagnosticsMixin

__all__ = ["BayesFit"]


class BayesFit(PredictionMixin, DiagnosticsMixin):
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
    family : hierlm.families.Family
    response : hierlm.families.GlmResponse
    spec : hierlm.bayes.spec.Spec
        Arrays, priors and the parameter layout.
    priors : hierlm.priors.PriorSet
        The priors used (:meth:`prior_summary`).
    settings : dict
        draws, tune, chains, seed, sampler, method, target_accept, init, centring, shear, notes.
    timings : dict
        Seconds spent setting up, sampling and building the posterior.

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")
    >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
    ...              progressbar=False)
    >>> b.settings["method"], b.settings["chains"], b.settings["draws"]
    ('marginal', 2, 500)
    >>> list(b.idata.children)
    ['posterior', 'sample_stats', 'observed_data', 'log_likelihood']
    >>> b.fixef().round(2)  # doctest: +SKIP
                 Estimate  Est.Error    Q2.5   Q97.5  R-hat  ESS bulk
    (Intercept)    251.55       7.12  237.91  264.45    1.0   1004.27
    Days            10.47       1.61    7.26   13.79    1.0    829.71
    """

    def __init__(self, design, family, response, spec, idata, priors, settings: dict, timings: dict | None = None):
        self.design, self.family, self.response, self.spec = design, family, response, spec
        self.idata, self.priors, self.settings = idata, priors, settings
        self.timings = timings or {}
        self._model = None

    # -- structure ----------------------------------------------------------------------------
    @property
    def formula(self) -> str:
        """The model formula as given.

        Returns
        -------
        str

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.formula
        'Reaction ~ Days + (Days | Subject)'
        """
        return self.design.formula.text

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
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> post = b.posterior
        >>> post["beta"].dims, post["beta"].shape
        (('chain', 'draw', 'coef'), (2, 500, 2))
        >>> post["r_Subject"].sel(Subject="308").shape  # (chain, draw, term)
        (2, 500, 2)
        """
        return self.idata["posterior"].to_dataset()

    def nobs(self) -> int:
        """Number of observations used.

        Returns
        -------
        int

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.nobs()
        180
        """
        return self.design.n

    def ngrps(self) -> dict[str, int]:
        """Number of levels of every grouping factor.

        Returns
        -------
        dict
            Grouping factor -> number of levels.

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
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
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> model = b.model
        >>> sorted(rv.name for rv in model.free_RVs)  # doctest: +SKIP
        ['Intercept', 'b', 'chol_Subject', 'sigma', 'z_Subject']
        >>> type(model).__name__
        'Model'
        """
        if self._model is None:
            from .pymc_model import build_model

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
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
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

    def _sd_cor(self, k: int) -> tuple[np.ndarray, np.ndarray | None]:
        b = self.spec.blocks[k]
        post = self.posterior
        sd = post[f"sd_{b.v}"].values
        cor = post[f"cor_{b.v}"].values if b.q > 1 else None
        return sd, cor

    def covariance_draws(self) -> list[np.ndarray]:
        """The covariance matrix Σ of every random-effects block, per posterior draw.

        Returns
        -------
        list of ndarray
            One (chains, draws, q, q) array per block.

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> S = b.covariance_draws()[0]
        >>> S.shape
        (2, 500, 2, 2)
        >>> S.mean(axis=(0, 1)).round(0)  # doctest: +SKIP
        array([[788.,   7.],
               [  7.,  44.]])
        """
        out = []
        for k, b in enumerate(self.spec.blocks):
            sd, cor = self._sd_cor(k)
            C = cor if cor is not None else np.ones(sd.shape + (1,))
            out.append(sd[..., :, None] * C * sd[..., None, :])
        return out

    def _disp(self) -> np.ndarray | None:
        nm = self.spec.disp_name
        return self.posterior[nm].values if nm else None

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
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.fixef().round(2)  # doctest: +SKIP
                     Estimate  Est.Error    Q2.5   Q97.5  R-hat  ESS bulk
        (Intercept)    251.55       7.12  237.91  264.45    1.0   1004.27
        Days            10.47       1.61    7.26   13.79    1.0    829.71
        >>> b.fixef().columns.tolist()
        ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5', 'R-hat', 'ESS bulk']
        >>> abs(b.fixef().loc["Days", "Estimate"] - 10.47) < 1  # lme4: 10.467
        np.True_
        """
        beta, _ = self._effects
        s = dg.summarise(beta)
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
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.ranef()["Subject"].head(3).round(2)  # doctest: +SKIP
                 (Intercept)  Days
        Subject
        308             1.90  9.18
        309           -40.44 -8.61
        310           -38.60 -5.56
        >>> b.ranef()["Subject"].shape
        (18, 2)
        >>> b.ranef(intervals=True).head(3).round(2)  # doctest: +SKIP
            grpvar         term  grp  Estimate  Est.Error   Q2.5  Q97.5
        0  Subject  (Intercept)  308      1.90      14.40 -26.87  30.77
        1  Subject  (Intercept)  309    -40.44      14.48 -68.83 -12.63
        2  Subject  (Intercept)  310    -38.60      14.38 -66.47 -11.48
        >>> b.ranef(intervals=True).columns.tolist()
        ['grpvar', 'term', 'grp', 'Estimate', 'Est.Error', 'Q2.5', 'Q97.5']
        """
        _, b = self._effects
        if not intervals:
            return extract.ranef_frames(self.design, [x.mean(axis=(0, 1)) for x in b])
        rows = []
        for t, x in zip(self.design.reterms, b):
            flat = x.reshape((-1,) + x.shape[2:])
            q = np.quantile(flat, [0.025, 0.975], axis=0)
            for j, term in enumerate(t.columns):
                rows.append(pd.DataFrame({
                    "grpvar": t.group, "term": term, "grp": t.levels, "Estimate": flat[:, :, j].mean(0),
                    "Est.Error": flat[:, :, j].std(0, ddof=1), "Q2.5": q[0, :, j], "Q97.5": q[1, :, j]}))
        return pd.concat(rows, ignore_index=True)

    def coef(self) -> dict[str, pd.DataFrame]:
        """Fixed plus random effects per level (lme4's / brms's ``coef``), as posterior means.

        Returns
        -------
        dict
            Grouping factor -> DataFrame (index: level, columns: every fixed-effect term).

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.coef()["Subject"].head(3).round(2)  # doctest: +SKIP
                 (Intercept)   Days
        Subject
        308           253.44  19.65
        309           211.11   1.86
        310           212.95   4.91
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
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> b.varcorr().round(2)  # doctest: +SKIP
                grp         var1  var2    vcov  sdcor  Est.Error   Q2.5  Q97.5
        0   Subject  (Intercept)  None  788.19  27.23       6.83  16.39  41.99
        1   Subject         Days  None   44.48   6.50       1.47   4.02   9.99
        2   Subject  (Intercept)  Days    7.14   0.08       0.30  -0.50   0.68
        3  Residual         None  None  670.69  25.85       1.51  23.13  29.06
        >>> b.varcorr()[["grp", "var1", "var2"]]
                grp         var1  var2
        0   Subject  (Intercept)  None
        1   Subject         Days  None
        2   Subject  (Intercept)  Days
        3  Residual         None  None
        """
        covs = [c.reshape((-1,) + c.shape[2:]) for c in self.covariance_draws()]
        sig = self._disp().reshape(-1) if self.family.name == "gaussian" else None
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
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> round(b.sigma(), 2)  # doctest: +SKIP
        25.85
        >>> 23 < b.sigma() < 29  # lme4: 25.59
        True
        """
        return float(self._disp().mean()) if self.family.name == "gaussian" else 1.0

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
        from .icc import posterior_icc

        return posterior_icc(self)

    def hypothesis(self, hypotheses, alpha: float = 0.05, density: str = "kde") -> pd.DataFrame:
        """brms-style tests of fixed-effect hypotheses (``"Days > 5"``); see :func:`hierlm.hypothesis.hypothesis`.

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
        from ..hypothesis import hypothesis

        return hypothesis(self, hypotheses, alpha=alpha, density=density)

    # -- saving ---------------------------------------------------------------------------------
    def save(self, path):
        """Save the fit to the folder ``path`` (JSON + netCDF, never pickle).

        Read it back with :func:`hierlm.load`: nothing is resampled, every extractor gives the same
        numbers, and ``fit.model`` is rebuilt from the stored formula and data.

        Parameters
        ----------
        path : str or Path
            Folder to write (created if needed): ``hierlm.json``, ``data.nc``, ``posterior.nc``.

        Returns
        -------
        Path
            The folder written.

        Examples
        --------
        >>> import hierlm as hl
        >>> sleep = hl.load_dataset("sleepstudy")
        >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", sleep, draws=500, chains=2, seed=1,
        ...              progressbar=False)
        >>> import os, tempfile
        >>> folder = b.save(os.path.join(tempfile.mkdtemp(), "sleep_blmer"))
        >>> sorted(os.listdir(folder))
        ['data.nc', 'hierlm.json', 'posterior.nc']
        >>> hl.load(folder).fixef().equals(b.fixef())
        True
        """
        from ..io import save

        return save(self, path)

    def _save_state(self, path) -> dict:
        from .persist import save_state

        return save_state(self, path)

    @classmethod
    def _load_state(cls, path, meta, design):
        from .persist import load_state

        return load_state(cls, path, meta, design)
