"""The state of a Bayesian fit and public access to its draws: the base of :class:`~hierlm.fits.BayesFit`.

A :class:`BayesBase` owns what sampling produced (the design, family, response, spec, ArviZ data,
priors, settings) and gives the posterior draws under lme4's structure (fixed effects, random
effects per block, SDs and correlations, Σ, the dispersion); :class:`~hierlm.fits.BayesFit` builds
lme4's extractors on these accessors, and the functions of :mod:`.bayes_draws` and
:mod:`.bayes_predict` use them too.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from ..engines.bayes.posterior import effects
from ..engines.bayes.pymc_model import build_model
from ..errors import HierlmError
from . import extract
from .protocol import Fit, FitKind

__all__ = ["BayesBase"]


class BayesBase(Fit):
    """State and draws of a Bayesian fit (see the module docstring); fits are :class:`~hierlm.fits.BayesFit`."""


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
        if self.family.is_ordinal:
            return FitKind("bayesian", "ordinal")
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
        if not self.has_ranef_draws:
            beta = self.posterior["beta"].values if "beta" in self.posterior else None
            return beta, None
        return effects(self.spec, self.posterior)

    @property
    def has_ranef_draws(self) -> bool:
        """Whether the draws of the random effects were kept (False for ``blmer(..., store_ranef=False)``).

        Returns
        -------
        bool

        Examples
        --------
        >>> b.has_ranef_draws
        True
        """
        post = self.idata["posterior"]
        return all(f"r_{b.v}" in post for b in self.spec.blocks)

    def ranef_summary(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Posterior mean and SD of the random effects of every block, from the draws or the stored summary.

        Returns
        -------
        list of (ndarray, ndarray)
            Per block (``design.reterms`` order) the means and SDs, each (levels, q).

        Examples
        --------
        >>> m, sd = b.ranef_summary()[0]
        >>> m.shape, sd.shape
        ((18, 2), (18, 2))
        """
        if self.has_ranef_draws:
            out = []
            for x in self.ranef_draws():
                flat = x.reshape((-1,) + x.shape[2:])
                out.append((flat.mean(0), flat.std(0, ddof=1)))
            return out
        summ = self.idata["ranef_summary"]
        return [(summ[f"r_{b.v}_mean"].values, summ[f"r_{b.v}_sd"].values) for b in self.spec.blocks]

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
        if not self.has_ranef_draws:
            raise HierlmError("this fit kept only the posterior mean and SD of the random effects "
                              "(blmer(..., store_ranef=False)), not their draws, which predictions with random "
                              "effects, fitted values, posterior predictive draws and LOO need; refit with "
                              "store_ranef=True, or use ranef() / ranef_summary() for the summaries")
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
