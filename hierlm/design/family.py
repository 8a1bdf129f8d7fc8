"""Response families of the engines: links, variances, deviances and log-likelihoods.

One table (:data:`FAMILY_TABLE`) says, for every family hierlm knows, which links it takes (the
canonical one first, the default), which engines fit it with which links, how R names it and what
its response must look like; a :class:`Family` is one entry of it with a chosen link
(:func:`family`, ``hl.family("binomial", link="probit")``).  Every fit carries its family as a
:class:`Family` (``fit.family``), which compares equal to its name (``fit.family == "poisson"``).

The numbers follow R's ``family`` objects (``binomial()``, ``poisson()``, ``Gamma()``,
``inverse.gaussian()``, ``MASS::negative.binomial()``): the same clamping of μ, the same deviance
residuals, and log-likelihoods with the constants R includes (binomial coefficients, ``log y!``), so
``logLik``/``AIC`` agree with lme4.  For Gamma and inverse Gaussian, :meth:`Family.aic` is R's
``family$aic``: the dispersion is the mean deviance ``Σ dev / Σ w`` and 2 is added, which is what lme4
puts into the Laplace deviance of a ``glmer`` fit.  The Bayesian-only families (``student``,
``lognormal``, ``beta``) and the ordinal ``cumulative`` family are table entries (links, response
checks, engines); their likelihoods live in the engines that fit them.

Examples
--------
>>> fam = get_family("poisson")
>>> fam.link.name, round(float(fam.link.linkinv(np.log(3.0))), 12)
('log', 3.0)
>>> family("gamma", link="log").r_name, family("gamma").link.name
('Gamma', 'inverse')
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import gammaln, xlogy

from ..errors import DataError, HierlmError, suggest
from .links import LINKS, Link, get_link

__all__ = ["FAMILIES", "FAMILY_TABLE", "LINKS", "Family", "FamilySpec", "Link", "family", "get_family"]

ENTRIES = {"frequentist": "glmer", "bayesian": "blmer"}


@dataclass(frozen=True)
class FamilySpec:
    """What hierlm knows about one family.

    Attributes
    ----------
    links : tuple of str
        The links it takes; the first is the default (the canonical link for R's families).
    engines : dict
        Engine (``"frequentist"``, ``"bayesian"``) → the links that engine fits.
    r_name : str
        The family as R prints it (``Gamma``, ``inverse.gaussian``).
    dispersion : bool
        Whether it has a free scale parameter (σ of the Gaussian, Gamma and inverse Gaussian
        dispersion, Student-t / lognormal σ, beta precision).
    response : str
        What the response must be: ``"real"``, ``"binary"`` (binomial), ``"count"``, ``"positive"``,
        ``"unit"`` (inside (0, 1)) or ``"ordered"`` (an ordered categorical).
    glm : bool
        Whether R's GLM numerics (variance, deviance, IRLS) apply.
    """

    links: tuple[str, ...]
    engines: dict
    r_name: str
    dispersion: bool = False
    response: str = "real"
    glm: bool = True


_BINARY = ("logit", "probit", "cloglog")
FAMILY_TABLE: dict[str, FamilySpec] = {
    "binomial": FamilySpec(_BINARY, {"frequentist": _BINARY, "bayesian": _BINARY}, "binomial", response="binary"),
    "bernoulli": FamilySpec(_BINARY, {"frequentist": _BINARY, "bayesian": _BINARY}, "binomial", response="binary"),
    "poisson": FamilySpec(("log",), {"frequentist": ("log",), "bayesian": ("log",)}, "poisson", response="count"),
    "negbinomial": FamilySpec(("log",), {"frequentist": ("log",), "bayesian": ("log",)}, "Negative Binomial",
                              response="count"),
    "gaussian": FamilySpec(("identity",), {"frequentist": ("identity",), "bayesian": ("identity",)}, "gaussian",
                           dispersion=True),
    "gamma": FamilySpec(("inverse", "log", "identity"),
                        {"frequentist": ("inverse", "log", "identity"), "bayesian": ("inverse", "log", "identity")},
                        "Gamma", dispersion=True, response="positive"),
    "inverse_gaussian": FamilySpec(("1/mu^2", "log", "inverse", "identity"),
                                   {"frequentist": ("1/mu^2", "log", "inverse", "identity"),
                                    "bayesian": ("1/mu^2", "log", "inverse", "identity")},
                                   "inverse.gaussian", dispersion=True, response="positive"),
    # Bayesian-only families: table entries, their likelihoods are the Bayesian engine's
    "student": FamilySpec(("identity", "log", "inverse"), {"bayesian": ("identity", "log", "inverse")}, "student",
                          dispersion=True, glm=False),
    "lognormal": FamilySpec(("identity",), {"bayesian": ("identity",)}, "lognormal", dispersion=True,
                            response="positive", glm=False),
    "beta": FamilySpec(_BINARY, {"bayesian": _BINARY}, "beta", dispersion=True, response="unit", glm=False),
    # ordinal: P(Y <= j) = F(alpha_j - eta); glmer fits it as ordinal::clmm (Laplace)
    "cumulative": FamilySpec(_BINARY, {"frequentist": _BINARY, "bayesian": ("logit", "probit")}, "cumulative",
                             response="ordered", glm=False),
}

_ALIASES = {"negative_binomial": "negbinomial", "negative.binomial": "negbinomial", "nb": "negbinomial",
            "negbin": "negbinomial", "normal": "gaussian", "logistic": "bernoulli",
            "inverse.gaussian": "inverse_gaussian", "inversegaussian": "inverse_gaussian",
            "inverse gaussian": "inverse_gaussian", "wald": "inverse_gaussian", "student_t": "student",
            "studentt": "student", "student-t": "student", "t": "student", "log_normal": "lognormal",
            "log-normal": "lognormal", "ordinal": "cumulative", "ordered": "cumulative"}


@dataclass(frozen=True)
class Family:
    """A response distribution with a link (an entry of :data:`FAMILY_TABLE`).

    Attributes
    ----------
    name : str
        hierlm's name (``"binomial"``, ``"bernoulli"``, ``"poisson"``, ``"negbinomial"``, ``"gaussian"``,
        ``"gamma"``, ``"inverse_gaussian"``, ``"student"``, ``"lognormal"``, ``"beta"``, ``"cumulative"``).
    link : Link
    theta : float or None
        Shape θ of the negative binomial (variance μ + μ²/θ).

    The ``resp`` argument of the methods is a :class:`~hierlm.design.GlmResponse` (the response in
    canonical form).

    Examples
    --------
    >>> fam = get_family("binomial")
    >>> y, mu, wt = np.array([0.2, 1.0]), np.array([0.3, 0.9]), np.array([10.0, 1.0])
    >>> fam.deviance_residuals(y, mu, wt).round(4).tolist()
    [-0.7174, 0.459]
    """

    name: str
    link: Link
    theta: float | None = None

    def __eq__(self, other) -> bool:
        """Equal to another family with the same name, link and θ, or to its name as a string."""
        if isinstance(other, str):
            return self.name == other
        if isinstance(other, Family):
            return (self.name, self.link.name, self.theta) == (other.name, other.link.name, other.theta)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name, self.link.name, self.theta))

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"Family({self.name!r}, link={self.link.name!r}" + (f", theta={self.theta!r})" if self.theta else ")")

    # -- what the table says ------------------------------------------------------------------
    @property
    def spec(self) -> FamilySpec:
        """The family's :class:`FamilySpec`."""
        return FAMILY_TABLE[self.name]

    @property
    def links(self) -> tuple[str, ...]:
        """The links the family takes (the default first)."""
        return self.spec.links

    @property
    def engines(self) -> tuple[str, ...]:
        """The engines that fit this family with this link (``"frequentist"``, ``"bayesian"``)."""
        return tuple(e for e, links in self.spec.engines.items() if self.link.name in links)

    @property
    def canonical(self) -> bool:
        """Whether the link is the family's default (canonical) one."""
        return self.link.name == self.spec.links[0]

    @property
    def r_name(self) -> str:
        """The family as R prints it (``Gamma``, ``inverse.gaussian``, ``Negative Binomial(2.0522)``)."""
        if self.name == "negbinomial" and self.theta is not None:
            return f"Negative Binomial({self.theta:.5g})"
        return self.spec.r_name

    @property
    def has_dispersion(self) -> bool:
        """Whether the family has a free scale parameter (Gaussian σ, Gamma / inverse-Gaussian dispersion, ...)."""
        return self.spec.dispersion

    @property
    def is_ordinal(self) -> bool:
        """Whether the response is an ordered categorical (``cumulative``)."""
        return self.spec.response == "ordered"

    def require_engine(self, engine: str, entry: str | None = None) -> Family:
        """The family itself if ``engine`` fits it with its link; else a HierlmError saying what does.

        Parameters
        ----------
        engine : {"frequentist", "bayesian"}
        entry : str, optional
            The function the user called (``"glmer"``), for the message.

        Returns
        -------
        Family

        Examples
        --------
        >>> try:
        ...     family("student").require_engine("frequentist", "glmer")
        ... except HierlmError as e:
        ...     print(e)  # doctest: +ELLIPSIS
        family 'student' is not available in glmer ...: use hl.blmer(formula, data, family='student')
        """
        entry = entry or ENTRIES.get(engine, engine)
        spec = self.spec
        if engine in spec.engines and self.link.name in spec.engines[engine]:
            return self
        others = [e for e, links in spec.engines.items() if e != engine and self.link.name in links]
        where = (f": use hl.{ENTRIES[others[0]]}(formula, data, family={self._call()})" if others else "")
        if engine not in spec.engines:
            raise HierlmError(f"family '{self.name}' is not available in {entry} (the {engine} engine does not fit "
                              f"it){where}")
        takes = spec.engines[engine]
        raise HierlmError(f"the link '{self.link.name}' of family '{self.name}' is not available in {entry}; it takes "
                          f"{', '.join(repr(x) for x in takes)}{where or ''}")

    def _call(self) -> str:
        return (f"'{self.name}'" if self.canonical
                else f"hl.family('{self.name}', link='{self.link.name}')")

    def with_theta(self, theta: float) -> Family:
        """The negative binomial family at another θ."""
        return replace(self, theta=float(theta))

    def _glm_only(self, what: str):
        if not self.spec.glm:
            raise HierlmError(f"family '{self.name}' has no {what} of a generalised linear model; its likelihood is "
                              f"computed by the engine that fits it ({', '.join(self.spec.engines)})")

    # -- response --------------------------------------------------------------------------------
    def check_response(self, y, rows=None, name: str = "response") -> None:
        """Refuse response values outside the family's range with a DataError (counting the rows).

        Gamma, inverse Gaussian and lognormal need y > 0; beta needs 0 < y < 1.  (Binary, count and
        ordered responses are checked when the response is put in canonical form.)

        Examples
        --------
        >>> try:
        ...     family("gamma").check_response(np.array([1.0, 0.0, -2.0]), name="rt")
        ... except HierlmError as e:
        ...     print(e)  # doctest: +ELLIPSIS
        the response 'rt' has 2 value(s) <= 0 (first at row 1: 0); family 'gamma' needs a positive response ...
        """
        kind = self.spec.response
        if kind not in ("positive", "unit"):
            return
        y = np.asarray(y, float)
        rows = np.arange(len(y)) if rows is None else np.asarray(rows)
        bad = ~np.isfinite(y) | (y <= 0) if kind == "positive" else ~np.isfinite(y) | (y <= 0) | (y >= 1)
        if not bad.any():
            return
        i = int(np.flatnonzero(bad)[0])
        row = rows[i].item() if isinstance(rows[i], np.generic) else rows[i]
        where = f"{int(bad.sum())} value(s) {'<= 0' if kind == 'positive' else 'outside (0, 1)'}"
        if kind == "positive":
            raise DataError(f"the response '{name}' has {where} (first at row {row!r}: {y[i]:g}); family '{self.name}' "
                            "needs a positive response (y > 0). Drop or fix those rows, or shift the response")
        raise DataError(f"the response '{name}' has {where} (first at row {row!r}: {y[i]:g}); family 'beta' needs "
                        "proportions strictly between 0 and 1 (0 and 1 themselves are not allowed; squeeze them, "
                        "e.g. (y * (n - 1) + 0.5) / n)")

    def valid_mu(self, mu: np.ndarray) -> bool:
        """R's ``family$validmu``: μ inside the family's range."""
        mu = np.asarray(mu, float)
        if not np.all(np.isfinite(mu)):
            return False
        if self.spec.response == "binary":
            return bool(np.all((mu > 0) & (mu < 1)))
        if self.spec.response in ("count", "positive"):
            return bool(np.all(mu > 0))
        return True

    # -- GLM numerics -------------------------------------------------------------------------------
    def variance(self, mu: np.ndarray) -> np.ndarray:
        """Variance function V(μ)."""
        mu = np.asarray(mu, float)
        name = self.name
        if name in ("binomial", "bernoulli"):
            return mu * (1 - mu)
        if name == "poisson":
            return mu
        if name == "negbinomial":
            return mu + mu * mu / self.theta
        if name == "gamma":
            return mu * mu
        if name == "inverse_gaussian":
            return mu**3
        self._glm_only("variance function")
        return np.ones_like(mu)

    def mustart(self, resp) -> np.ndarray:
        """R's starting values of μ (``family$initialize``)."""
        y, wt = resp.y, resp.weights
        if self.name in ("binomial", "bernoulli"):
            return (wt * y + 0.5) / (wt + 1)
        if self.name == "poisson":
            return y + 0.1
        if self.name == "negbinomial":
            return y + (y == 0) / 6
        self._glm_only("starting values")
        return y.astype(float)

    def dev_resids(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Squared deviance residuals (R's ``family$dev.resids``); their sum is the deviance."""
        name = self.name
        with np.errstate(divide="ignore", invalid="ignore"):
            if name in ("binomial", "bernoulli"):
                return 2 * wt * (xlogy(y, y / mu) + xlogy(1 - y, (1 - y) / (1 - mu)))
            if name == "poisson":
                return 2 * wt * (xlogy(y, y / mu) - (y - mu))
            if name == "negbinomial":
                th = self.theta
                return 2 * wt * (y * np.log(np.maximum(1, y) / mu) - (y + th) * np.log((y + th) / (mu + th)))
            if name == "gamma":
                return -2 * wt * (np.log(np.where(y == 0, 1.0, y / mu)) - (y - mu) / mu)
            if name == "inverse_gaussian":
                return wt * (y - mu) ** 2 / (y * mu * mu)
        self._glm_only("deviance")
        return wt * (y - mu) ** 2

    def deviance_residuals(self, y, mu, wt) -> np.ndarray:
        """sign(y − μ) √dev_resid."""
        return np.sign(y - mu) * np.sqrt(np.maximum(self.dev_resids(y, mu, wt), 0))

    def pearson_residuals(self, y, mu, wt) -> np.ndarray:
        """(y − μ) √w / √V(μ)."""
        return (y - mu) * np.sqrt(wt) / np.sqrt(self.variance(mu))

    def dispersion_of(self, resp, mu: np.ndarray) -> float:
        """The dispersion R's ``family$aic`` uses: the mean deviance ``Σ dev_resid / Σ w`` (Gamma, inverse
        Gaussian; the Gaussian's over the rows with positive weight), 1 for the other families."""
        if not self.has_dispersion:
            return 1.0
        w = resp.weights
        dev = float(np.sum(self.dev_resids(resp.y, mu, w)))
        return dev / (float(np.sum(w > 0)) if self.name == "gaussian" else float(np.sum(w)))

    def loglik_obs(self, resp, mu: np.ndarray, sigma=None) -> np.ndarray:
        """Log-likelihood of every row, with R's constants.

        ``sigma`` is the scale of the families with a dispersion: the Gaussian σ (default 1), and
        for Gamma / inverse Gaussian √φ with φ the dispersion (default: the mean deviance, as R's
        ``family$aic``; the Gamma shape is 1/φ).
        """
        y, pw = resp.y, resp.prior_weights
        name = self.name
        if name in ("binomial", "bernoulli"):
            n = resp.trials
            k = np.round(n * y)
            lchoose = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
            return pw * (lchoose + xlogy(k, mu) + xlogy(n - k, 1 - mu))
        if name == "poisson":
            return pw * (xlogy(y, mu) - mu - gammaln(y + 1))
        if name == "negbinomial":
            th = self.theta
            return pw * (gammaln(y + th) - gammaln(th) - gammaln(y + 1) + th * np.log(th)
                         + xlogy(y, mu) - (y + th) * np.log(mu + th))
        if name in ("gamma", "inverse_gaussian"):
            phi = self.dispersion_of(resp, mu) if sigma is None else np.asarray(sigma, dtype=float) ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                if name == "gamma":  # R: dgamma(y, 1/phi, scale = mu * phi, log = TRUE) * wt
                    a = 1.0 / phi
                    return pw * (-gammaln(a) - a * np.log(mu * phi) + (a - 1) * np.log(y) - y / (mu * phi))
                return pw * (-0.5 * np.log(2 * np.pi * phi * y**3) - (y - mu) ** 2 / (2 * phi * mu * mu * y))
        self._glm_only("log-likelihood")
        sigma = 1.0 if sigma is None else np.asarray(sigma, dtype=float)  # an array of draws broadcasts
        return -0.5 * (np.log(2 * np.pi * sigma**2 / pw) + pw * (y - mu) ** 2 / sigma**2)

    def loglik(self, resp, mu: np.ndarray, sigma=None) -> float:
        """Total log-likelihood (rows with zero weight contribute 0)."""
        ll = self.loglik_obs(resp, mu, sigma)
        return float(np.sum(np.where(resp.weights > 0, ll, 0.0)))

    def aic(self, resp, mu: np.ndarray) -> float:
        """R's ``family$aic(y, n, mu, wt, dev)``: −2 log-likelihood, for the families with a dispersion
        at the mean deviance and + 2 (the term lme4's Laplace deviance is built from).

        Examples
        --------
        >>> from hierlm.design.response import GlmResponse
        >>> r = GlmResponse(np.array([1.0, 2.0, 4.0]), np.ones(3), np.ones(3))
        >>> round(family("gamma", link="log").aic(r, np.array([1.5, 2.0, 3.0])), 4)
        7.0786
        """
        if self.name == "gaussian":
            disp = self.dispersion_of(resp, mu)
            return -2 * self.loglik(resp, mu, np.sqrt(disp)) + 2
        extra = 2.0 if self.has_dispersion else 0.0
        return -2 * self.loglik(resp, mu) + extra


def _lookup(name) -> str:
    if not isinstance(name, str):
        raise DataError(f"family must be one of {sorted(FAMILY_TABLE)} (a string), not {name!r}; a link goes in as "
                        "hl.family(name, link=...)")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FAMILY_TABLE:
        raise DataError(f"unknown family '{name}'; use one of {sorted(FAMILY_TABLE)}.{suggest(key, FAMILY_TABLE)}")
    return key


def family(name, link=None) -> Family:
    """A response family with a link: R's ``binomial(link = "probit")`` is ``hl.family("binomial", link="probit")``.

    Parameters
    ----------
    name : str
        ``"gaussian"``, ``"binomial"``, ``"bernoulli"``, ``"poisson"``, ``"negbinomial"``, ``"gamma"``,
        ``"inverse_gaussian"`` (fitted by ``glmer`` and ``blmer``), ``"student"``, ``"lognormal"``,
        ``"beta"`` (``blmer`` only) or ``"cumulative"`` (ordinal; ``glmer`` fits it as ``ordinal::clmm``).
        R's spellings are accepted too (``"Gamma"``, ``"inverse.gaussian"``).
    link : str, optional
        Default: the family's canonical link (logit, log, identity, inverse for Gamma, ``1/mu^2`` for
        the inverse Gaussian).  Binomial / Bernoulli / beta / cumulative take ``logit``, ``probit``,
        ``cloglog``; Gamma ``inverse``, ``log``, ``identity``; inverse Gaussian ``1/mu^2``, ``log``,
        ``inverse``, ``identity``.

    Returns
    -------
    Family

    Examples
    --------
    >>> import hierlm as hl
    >>> f = family("binomial", link="probit")
    >>> f.name, f.link.name, f == "binomial", f.engines
    ('binomial', 'probit', True, ('frequentist', 'bayesian'))
    >>> family("inverse.gaussian").link.name
    '1/mu^2'
    >>> try:
    ...     family("gamma", link="logit")
    ... except hl.HierlmError as e:
    ...     print(e)
    family 'gamma' does not take the link 'logit'; it takes 'inverse' (the default), 'log', 'identity'
    """
    if isinstance(name, Family):
        key = name.name
        if link is None:
            return name
    else:
        key = _lookup(name)
    spec = FAMILY_TABLE[key]
    if link is None:
        lk = LINKS[spec.links[0]]
    else:
        try:
            lk = get_link(link)
        except HierlmError:
            lk = None
        if lk is None or lk.name not in spec.links:
            takes = ", ".join(f"'{x}'" + (" (the default)" if i == 0 else "") for i, x in enumerate(spec.links))
            raise HierlmError(f"family '{key}' does not take the link {link!r}; it takes {takes}")
    fam = Family(key, lk)
    if isinstance(name, Family) and name.theta is not None:
        fam = fam.with_theta(name.theta)
    return fam


def get_family(family_, link=None) -> Family:
    """Look a family up by name (or pass a :class:`Family` through), with an optional link.

    Examples
    --------
    >>> get_family("binomial").link.name
    'logit'
    >>> get_family("Gamma", "log").r_name
    'Gamma'
    """
    return family(family_, link)


#: the families at their default links, by name
FAMILIES: dict[str, Family] = {k: Family(k, LINKS[s.links[0]]) for k, s in FAMILY_TABLE.items()}
