"""Priors of the Bayesian engine (:func:`hierlm.blmer`): :class:`Prior`, the defaults and overrides.

Parameter classes follow brms: ``Intercept`` (the intercept of the model with *centred*
predictors, so its prior does not depend on where the predictors' zero lies), ``b`` (the other
fixed effects), ``sd`` (random-effect standard deviations), ``cor`` (random-effect correlations,
one LKJ prior per block), ``sigma`` (Gaussian residual SD) and ``shape`` (negative-binomial
shape φ, variance μ + μ²/φ).

Default priors are weakly informative and scaled to the data, as rstanarm scales them (never flat).
With s_y = sd(y) for the Gaussian family and s_y = 1 on the link scale for the others:

============  ==========================================  =========================================
class         default                                     notes
============  ==========================================  =========================================
Intercept     normal(mean(y), 2.5 s_y)                    Gaussian; normal(0, 2.5) for GLMs
b             normal(0, 2.5 s_y / sd(x_j))                sd(x_j) = 1 for a constant column
sd            half_normal(2.5 s_y / s_k)                  s_k: sd of the term's column (1 for the
                                                          intercept or a constant column)
cor           lkj(eta=1)                                  uniform over correlation matrices
sigma         exponential(lam=1 / s_y)                    Gaussian only (prior mean s_y)
shape         exponential(lam=1)                          negative binomial only (rstanarm's
                                                          reciprocal_dispersion default)
============  ==========================================  =========================================

Overrides go from general to specific: ``"b"`` < ``("b", term)``; ``"sd"`` < ``("sd", group)`` <
``("sd", group, term)``; ``"cor"`` < ``("cor", group)``.  ``group`` is the grouping factor as lme4
writes it (``Subject``, ``cask:batch``) or a block's ``VarCorr`` label (``Subject.1``).

Distributions (parameters as PyMC names them): ``normal(mu, sigma)``, ``student_t(nu, mu, sigma)``,
``half_normal(sigma)``, ``half_student_t(nu, sigma)``, ``half_cauchy(beta)``, ``exponential(lam)``,
``gamma(alpha, beta)``, ``lkj(eta)``.  Any other PyMC distribution can be named
(``Prior("Laplace", mu=0, b=1)``); the fast kernel cannot evaluate those, so such fits run PyMC's
model through nutpie (``sampler="nutpie-pymc"``), with a note.

Examples
--------
>>> import hierlm as hl
>>> tab = hl.get_priors("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))
>>> tab["class"].tolist()
['Intercept', 'b', 'sd', 'sd', 'cor', 'sigma']
>>> tab["prior"].iloc[-1]
'exponential(0.01775)'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...design import get_family
from ...errors import HierlmError, suggest

__all__ = ["Prior", "PriorSet", "resolve_priors", "DISTS", "CLASSES"]

# name -> (PyMC class, parameter names, default parameter values, support, kernel code)
DISTS = {
    "normal": ("Normal", ("mu", "sigma"), {"mu": 0.0}, "real", 0),
    "student_t": ("StudentT", ("nu", "mu", "sigma"), {"nu": 3.0, "mu": 0.0}, "real", 1),
    "half_normal": ("HalfNormal", ("sigma",), {}, "positive", 2),
    "half_student_t": ("HalfStudentT", ("nu", "sigma"), {"nu": 3.0}, "positive", 3),
    "half_cauchy": ("HalfCauchy", ("beta",), {}, "positive", 4),
    "exponential": ("Exponential", ("lam",), {}, "positive", 5),
    "gamma": ("Gamma", ("alpha", "beta"), {}, "positive", 6),
    "lkj": (None, ("eta",), {"eta": 1.0}, "corr", -1),
}
_ALIASES = {"gaussian": "normal", "studentt": "student_t", "student": "student_t", "t": "student_t",
            "halfnormal": "half_normal", "halfstudentt": "half_student_t", "half_t": "half_student_t",
            "halfcauchy": "half_cauchy", "exp": "exponential", "lkjcorr": "lkj"}
CLASSES = {"Intercept": "real", "b": "real", "sd": "positive", "cor": "corr", "sigma": "positive",
           "shape": "positive", "nu": "positive", "phi": "positive"}


def _canonical(dist: str) -> str:
    key = dist.strip().lower().replace("-", "_").replace(" ", "_")
    return _ALIASES.get(key.replace("_", ""), _ALIASES.get(key, key))


class Prior:
    """A prior distribution, optionally tied to a parameter class, group and term.

    Parameters
    ----------
    dist : str
        ``"normal"``, ``"student_t"``, ``"half_normal"``, ``"half_student_t"``, ``"half_cauchy"``,
        ``"exponential"``, ``"gamma"``, ``"lkj"``, or the name of another PyMC distribution.
    class_, group, term : str, optional
        Where the prior applies when priors are passed as a list (see :func:`hierlm.blmer`).
    **params
        The distribution's parameters, named as in PyMC (``mu``, ``sigma``, ``nu``, ``beta``,
        ``lam``, ``alpha``, ``eta``).

    Examples
    --------
    >>> Prior("normal", mu=0, sigma=10)
    Prior('normal', mu=0, sigma=10)
    >>> str(Prior("lkj", eta=2))
    'lkj(2)'
    """

    def __init__(self, dist: str, *args, class_: str | None = None, group: str | None = None,
                 term: str | None = None, **params):
        if not isinstance(dist, str) or not dist.strip():
            raise HierlmError(f"Prior needs a distribution name such as 'normal', not {dist!r}")
        if args:
            raise HierlmError(f"Prior({dist!r}, {', '.join(map(repr, args))}): give the distribution's parameters by "
                              f"name, as PyMC names them, e.g. Prior('normal', mu=0, sigma=1), Prior('lkj', eta=2), "
                              "Prior('student_t', nu=3, mu=0, sigma=2.5)")
        for name, value in (("class_", class_), ("group", group), ("term", term)):
            if value is not None and not isinstance(value, str):
                raise HierlmError(f"Prior({dist!r}): {name} must be a string such as 'b' or 'sd', not {value!r}")
        self.dist = _canonical(dist)
        self.class_, self.group, self.term = class_, group, term
        if self.dist in DISTS:
            _, names, defaults, _, _ = DISTS[self.dist]
            unknown = [k for k in params if k not in names]
            if unknown:
                raise HierlmError(f"Prior('{self.dist}') has no parameter {unknown[0]!r}; its parameters are "
                                  f"{', '.join(names)}.{suggest(unknown[0], names)}")
            full = dict(defaults, **params)
            missing = [k for k in names if k not in full]
            if missing:
                raise HierlmError(f"Prior('{self.dist}') needs {', '.join(missing)}, e.g. "
                                  f"Prior('{self.dist}', {', '.join(f'{k}=1' for k in missing)})")
            for k in names:
                v = full[k]
                if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)) \
                        or not np.isfinite(v):
                    raise HierlmError(f"Prior('{self.dist}'): {k} must be a finite number, got {v!r}")
                if k != "mu" and v <= 0:
                    raise HierlmError(f"Prior('{self.dist}'): {k} must be positive, got {v!r}")
            self.params = {k: float(full[k]) for k in names}
            self._user = dict(params)
        else:
            if self.pymc_class() is None:
                raise HierlmError(f"unknown prior distribution '{dist}'; use one of {', '.join(DISTS)} or the name "
                                  f"of a PyMC distribution.{suggest(self.dist, DISTS)}")
            _check_pymc_params(self.pymc_class(), dist, params)
            self.params = dict(params)
            self._user = dict(params)

    # -- properties ---------------------------------------------------------------------------
    @property
    def kernel_code(self) -> int | None:
        """Code of the distribution in hierlm's compiled kernel, or None (PyMC only)."""
        return DISTS[self.dist][4] if self.dist in DISTS and self.dist != "lkj" else None

    @property
    def support(self) -> str | None:
        return DISTS[self.dist][3] if self.dist in DISTS else None

    def pymc_class(self):
        """The PyMC distribution class."""
        if self.dist in DISTS:
            import pymc as pm

            return getattr(pm, DISTS[self.dist][0])
        import pymc as pm

        for name in dir(pm.distributions):
            if name.lower().replace("_", "") == self.dist.replace("_", ""):
                obj = getattr(pm.distributions, name)
                if isinstance(obj, type) and hasattr(obj, "dist"):
                    return obj
        return None

    def kernel_params(self) -> list[float]:
        """The three parameter slots the kernel reads (unused ones are 0)."""
        vals = [self.params[k] for k in DISTS[self.dist][1]]
        return vals + [0.0] * (3 - len(vals))

    def at(self, class_=None, group=None, term=None) -> Prior:
        """A copy placed on a parameter class / group / term."""
        return Prior(self.dist, class_=class_, group=group, term=term, **self._user)

    def __str__(self) -> str:
        vals = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in self.params.values())
        return f"{self.dist}({vals})"

    def __repr__(self) -> str:
        args = [repr(self.dist)] + [f"{k}={v!r}" for k, v in self._user.items()]
        args += [f"{k}={v!r}" for k, v in (("class_", self.class_), ("group", self.group), ("term", self.term)) if v]
        return f"Prior({', '.join(args)})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Prior) and (self.dist, self.params) == (other.dist, other.params)

    __hash__ = None


_POSITIVE = ("sigma", "b", "beta", "lam", "nu", "tau", "eta")  # scale / rate parameters of PyMC distributions


def _check_pymc_params(cls, dist: str, params: dict) -> None:
    """Parameters of a PyMC-only prior: known names, all required ones, finite numbers, positive scales."""
    import inspect

    sig = inspect.signature(cls.dist)
    names = [n for n, p in sig.parameters.items() if n != "cls" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [k for k in params if k not in names]
    if unknown and names:
        raise HierlmError(f"Prior('{dist}') has no parameter {unknown[0]!r}; PyMC's {cls.__name__} takes "
                          f"{', '.join(names)}.{suggest(unknown[0], names)}")
    for k, v in params.items():
        arr = np.asarray(v)
        if arr.dtype.kind not in "iuf" or not np.all(np.isfinite(arr)):
            raise HierlmError(f"Prior('{dist}'): {k} must be a finite number, got {v!r}")
        if k in _POSITIVE and np.any(arr <= 0):
            raise HierlmError(f"Prior('{dist}'): {k} must be positive, got {v!r}")
    try:
        cls.dist(**params)
    except (TypeError, ValueError) as err:
        raise HierlmError(f"Prior('{dist}', {', '.join(f'{k}={v!r}' for k, v in params.items())}) is not a valid "
                          f"PyMC {cls.__name__}: {err}") from None


def _admits_negative(pr: Prior) -> bool:
    """Whether a PyMC-only prior has a finite log density at -1 (so it cannot be a scale's prior)."""
    import pymc as pm

    try:
        return bool(np.isfinite(pm.logp(pr.pymc_class().dist(**pr.params), np.array(-1.0)).eval()))
    except Exception:  # noqa: BLE001 - undecidable here; PyMC reports problems when sampling
        return False


# -- defaults and resolution --------------------------------------------------------------------
def _sd(x: np.ndarray, what: str = "the response") -> float:
    """Scale of a column for the default priors: its SD, 1 for a constant column; non-finite is refused."""
    with np.errstate(over="ignore", invalid="ignore"):
        s = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    if not np.isfinite(s):
        raise HierlmError(f"the standard deviation of {what} is not finite (values too large for double "
                          "precision?), so the default priors cannot be scaled; rescale the data or give every prior")
    return s if s > 1e-12 else 1.0


def _same_group(a: str, b: str) -> bool:
    return a == b or (":" in a and sorted(a.split(":")) == sorted(b.split(":")))


class PriorSet:
    """The priors a fit uses: one row per parameter (class, group, term) with its prior and source.

    Built by :func:`resolve_priors`; ``table()`` gives the DataFrame of :func:`get_priors`.
    """

    def __init__(self, rows: list[dict]):
        self.rows = rows

    def get(self, class_: str, group: str | None = None, term: str | None = None) -> Prior:
        for r in self.rows:
            if (r["class"], r["group"], r["term"]) == (class_, group, term):
                return r["prior"]
        raise KeyError((class_, group, term))

    @property
    def kernel_ok(self) -> bool:
        """Whether hierlm's compiled kernel can evaluate every prior."""
        return all(r["prior"].dist in DISTS for r in self.rows)

    def table(self) -> pd.DataFrame:
        """DataFrame with columns class, group, term, prior, source."""
        return pd.DataFrame({
            "class": [r["class"] for r in self.rows],
            "group": [r["group"] or "" for r in self.rows],
            "term": [r["term"] or "" for r in self.rows],
            "prior": [str(r["prior"]) for r in self.rows],
            "source": [r["source"] for r in self.rows],
        })


def _normalise_user(priors) -> list[tuple[tuple, Prior]]:
    """User priors -> list of ((class, group, term), Prior), keys checked for shape."""
    if priors is None:
        return []
    if isinstance(priors, Prior):
        priors = [priors]
    items = []
    if isinstance(priors, dict):
        for key, pr in priors.items():
            if isinstance(key, str):
                key = (key,)
            if not isinstance(key, tuple) or not 1 <= len(key) <= 3 or not isinstance(key[0], str) \
                    or not all(k is None or isinstance(k, str) for k in key):
                raise HierlmError(f"prior key {key!r} is not a parameter: use a class name such as 'b' or 'sd', or a "
                                  "tuple (class, group, term) such as ('sd', 'Subject', 'Days')")
            items.append((key, pr))
    elif isinstance(priors, (list, tuple)):
        for pr in priors:
            if not isinstance(pr, Prior) or pr.class_ is None:
                raise HierlmError("a list of priors must hold Prior objects with class_ set, e.g. "
                                  "Prior('normal', mu=0, sigma=5, class_='b', term='Days')")
            key = {"b": (pr.class_, pr.term), "Intercept": (pr.class_, pr.term), "sd": (pr.class_, pr.group, pr.term),
                   "cor": (pr.class_, pr.group)}.get(pr.class_, (pr.class_,))
            if pr.class_ not in ("b", "sd", "Intercept") and pr.term is not None \
                    or pr.class_ not in ("sd", "cor") and pr.group:
                raise HierlmError(f"{pr}: class '{pr.class_}' takes "
                                  + {"b": "a term but no group", "cor": "a group but no term"}.get(
                                      pr.class_, "neither a group nor a term"))
            items.append((key, pr))
    else:
        raise HierlmError(f"priors must be a dict such as {{'b': Prior('normal', mu=0, sigma=5)}} or a list of "
                          f"Prior objects, not {type(priors).__name__}")
    out = []
    for key, pr in items:
        if not isinstance(pr, Prior):
            raise HierlmError(f"the prior for {key!r} must be a hl.Prior(...), not {pr!r}")
        cls = key[0]
        if cls not in CLASSES:
            raise HierlmError(f"unknown prior class {cls!r}; use one of {', '.join(CLASSES)}."
                              f"{suggest(str(cls), CLASSES)}")
        group, term = None, None
        if cls in ("b", "Intercept") and len(key) > 1 and (cls == "b" or key[1] is not None):
            if len(key) > 2:
                raise HierlmError(f"prior key {key!r}: class '{cls}' takes at most a term, e.g. ('b', 'Days') or "
                                  "('Intercept', '2|3') for one threshold of a cumulative model")
            term = key[1]
        elif cls in ("sd", "cor"):
            if len(key) > (3 if cls == "sd" else 2):
                raise HierlmError(f"prior key {key!r} is too long: use ('{cls}', group"
                                  + (", term)" if cls == "sd" else ")"))
            group = key[1] if len(key) > 1 else None
            term = key[2] if len(key) > 2 else None
        elif len([k for k in key[1:] if k is not None]):
            raise HierlmError(f"prior key {key!r}: class '{cls}' is a single parameter; write it as '{cls}'")
        want = CLASSES[cls]
        if pr.support is not None and pr.support != want:
            hint = {"real": "normal or student_t", "positive": "half_normal, half_student_t, half_cauchy, "
                    "exponential or gamma", "corr": "lkj"}[want]
            raise HierlmError(f"the prior {pr} cannot go on class '{cls}' (values {want}); use {hint}")
        if pr.support is None and cls == "cor":
            raise HierlmError("correlations take Prior('lkj', eta=...)")
        if pr.support is None and want == "positive" and _admits_negative(pr):
            raise HierlmError(f"the prior {pr} cannot go on class '{cls}': it gives negative values a density, and "
                              f"{cls} is positive; use half_normal, half_student_t, half_cauchy, exponential, gamma "
                              "or a positive PyMC distribution such as LogNormal")
        out.append(((cls, group, term), pr))
    return out


#: derivative of the link at μ, for the delta-method scale of the linear predictor
_LINK_SLOPE = {"identity": lambda m: 1.0, "log": lambda m: 1.0 / m, "inverse": lambda m: -1.0 / m**2,
               "1/mu^2": lambda m: -2.0 / m**3}


def _default_scales(fam, y: np.ndarray, offset: np.ndarray) -> tuple[float, float, float]:
    """Centre and scale of the linear predictor, and the response's scale, for the default priors.

    Gaussian and identity-link Student-t: mean and SD of y − offset.  Lognormal: mean and SD of
    log y − offset.  Gamma, inverse Gaussian and Student-t with another link: g(ȳ) − mean(offset) and the
    delta-method SD s_y |g'(ȳ)| (the coefficient of variation for the log link).  Every other
    family: 0 and 1 on its link scale (log-odds, log-rate, latent scale).
    """
    name, link = fam.name, fam.link.name
    if name == "gaussian" or (name == "student" and link == "identity"):
        yc = y - offset
        s = _sd(yc)
        return float(np.mean(yc)), s, s
    if name == "lognormal":
        ly = np.log(y) - offset
        s = _sd(ly, "the log response")
        return float(np.mean(ly)), s, s
    if name in ("gamma", "inverse_gaussian", "student"):
        m, s = float(np.mean(y)), _sd(y)
        centre = float(fam.link.linkfun(np.array([m]))[0] - np.mean(offset))
        return centre, s * abs(_LINK_SLOPE[link](m)), s
    return 0.0, 1.0, 1.0


def _family_priors(fam, y: np.ndarray, s_resp: float, levels) -> list[dict]:
    """Default priors of the family's own parameters and of the thresholds of a cumulative model.

    σ: exponential(1 / s) with s the SD of the response (of log y for the lognormal); ν: brms's
    gamma(2, 0.1); Gamma shape, inverse-Gaussian shape λ, beta precision φ: gamma(2, 0.5 / m̂) with
    m̂ the moment estimate from the response alone (ȳ²/s², ȳ³/s², ȳ(1 − ȳ)/s² − 1), so the prior
    mean is 4 m̂ and its central 95% [0.48 m̂, 11 m̂]; thresholds: brms's student_t(3, 0, 2.5).
    """
    name = fam.name
    rows = [dict(key=("Intercept", None, f"{levels[j]}|{levels[j + 1]}"),
                 prior=Prior("student_t", nu=3.0, mu=0.0, sigma=2.5)) for j in range(len(levels) - 1)]
    if name in ("gaussian", "student", "lognormal"):
        rows.append(dict(key=("sigma", None, None), prior=Prior("exponential", lam=1.0 / s_resp)))
    if name == "student":
        rows.append(dict(key=("nu", None, None), prior=Prior("gamma", alpha=2.0, beta=0.1)))
    if name == "negbinomial":
        rows.append(dict(key=("shape", None, None), prior=Prior("exponential", lam=1.0)))
    if name in ("gamma", "inverse_gaussian", "beta"):
        m, v = float(np.mean(y)), _sd(y) ** 2
        mom = {"gamma": m * m / v, "inverse_gaussian": m**3 / v, "beta": max(m * (1 - m) / v - 1.0, 0.1)}[name]
        rows.append(dict(key=("phi" if name == "beta" else "shape", None, None),
                         prior=Prior("gamma", alpha=2.0, beta=float(0.5 / mom))))
    return rows


def resolve_priors(design, family, priors=None, resp=None) -> PriorSet:
    """Defaults for ``design`` and ``family``, overridden by the user's ``priors``.

    Parameters
    ----------
    design : hierlm.design.Design
    family : str or hierlm.design.Family
        The family (with its link: the defaults of Gamma, inverse-Gaussian and Student-t models are
        scaled on the link's scale).
    priors : dict or list of Prior, optional
    resp : hierlm.design.GlmResponse, optional
        Canonical response (for the scale of y).

    Returns
    -------
    PriorSet
    """
    fam = get_family(family)
    y = resp.y if resp is not None else np.asarray(design.y, float)
    centre, sy, s_resp = _default_scales(fam, np.asarray(y, float), design.offset)
    names = list(design.xnames)
    rows: list[dict] = []
    if "(Intercept)" in names:
        rows.append(dict(key=("Intercept", None, None), prior=Prior("normal", mu=centre, sigma=2.5 * sy)))
    for j, nm in enumerate(names):
        if nm != "(Intercept)":
            scale = 2.5 * sy / _sd(design.X[:, j], f"'{nm}'")
            rows.append(dict(key=("b", None, nm), prior=Prior("normal", mu=0.0, sigma=scale)))
    for t in design.reterms:
        for c, term in enumerate(t.columns):
            s_k = 1.0 if term == "(Intercept)" else _sd(t.values[:, c], f"'{term}' in ({t.label})")
            rows.append(dict(key=("sd", t.label, term), prior=Prior("half_normal", sigma=2.5 * sy / s_k)))
        if t.ncols > 1:
            rows.append(dict(key=("cor", t.label, None), prior=Prior("lkj", eta=1.0)))
    levels = list(design.response_value.levels) if fam.is_ordinal else []
    extra = _family_priors(fam, np.asarray(y, float), s_resp, levels)
    rows = [r for r in extra if r["key"][0] == "Intercept"] + rows + [r for r in extra if r["key"][0] != "Intercept"]
    for r in rows:
        r["source"] = "default"
    group_of = {t.label: t.group for t in design.reterms}

    def matches(user_key, row_key) -> int:
        """Specificity (1, 2, 3) of a user key for a parameter row, or 0 when it does not apply."""
        cls, grp, term = user_key
        rcls, rgrp, rterm = row_key
        if cls != rcls:
            return 0
        if grp is not None and not (grp == rgrp or _same_group(grp, group_of.get(rgrp, ""))):
            return 0
        if term is not None and term != rterm:
            return 0
        return 1 + (grp is not None) + (term is not None)

    for key, pr in _normalise_user(priors):
        hits = [(matches(key, r["key"]), r) for r in rows]
        hits = [(s, r) for s, r in hits if s]
        if not hits:
            raise HierlmError(_no_such_parameter(key, rows, design))
        for s, r in hits:
            if s >= r.get("_spec", 0):
                r.update(prior=pr.at(*key), source="user", _spec=s)
    return PriorSet([dict(zip(("class", "group", "term"), r["key"]), prior=r["prior"], source=r["source"])
                     for r in rows])


def _no_such_parameter(key, rows, design) -> str:
    cls, grp, term = key
    if cls == "Intercept" and not any(r["key"][0] == "Intercept" for r in rows):
        return "the model has no intercept, so there is no 'Intercept' prior to set"
    if cls == "Intercept":
        terms = [r["key"][2] for r in rows if r["key"][0] == "Intercept"]
        return f"prior {key!r}: no threshold '{term}'; the thresholds are {terms}.{suggest(str(term), terms)}"
    if cls == "sigma":
        return ("'sigma' is the residual scale of the gaussian, student and lognormal families; this family has "
                "none")
    if cls == "shape":
        return ("'shape' is the shape of the negbinomial, gamma and inverse_gaussian families; this family has "
                "none")
    if cls == "nu":
        return "'nu' is the degrees of freedom of family='student'; this family has none"
    if cls == "phi":
        return "'phi' is the precision of family='beta'; this family has none"
    if cls == "b" and term == "(Intercept)":
        return "set the intercept's prior with the class 'Intercept' (on centred predictors), not ('b', '(Intercept)')"
    have = [r["key"] for r in rows if r["key"][0] == cls]
    if not have:
        return f"the model has no parameters of class '{cls}'"
    groups = sorted({k[1] for k in have if k[1]} | {t.group for t in design.reterms})
    if grp is not None and not any(_same_group(grp, g) or grp == g for g in groups):
        return f"prior {key!r}: no grouping factor '{grp}'; the model has {groups}.{suggest(str(grp), groups)}"
    terms = sorted({k[2] for k in have if k[2]})
    return f"prior {key!r}: no term '{term}' in class '{cls}'; the terms are {terms}.{suggest(str(term), terms)}"
