"""Design + family + priors → the parameter layout the sampler and the mirror PyMC model share.

The unconstrained vector is laid out exactly as the mirror model's ``value_vars``::

    [Intercept] [b (fixed effects other than the intercept)]
    per block k: [sd_<g>_log__ (q = 1) | chol_<g>_cholesky-cov-packed__ (q > 1)] [z_<g> | r_<g>]
    [Intercept_ordered__ (cumulative: the thresholds)]
    [the family's own parameters: sigma_log__, nu_log__, shape_log__, phi_log__ (:data:`.families.AUX`)]

``Intercept`` is the intercept of the model with centred predictor columns (brms's parametrisation);
the lme4 intercept is ``Intercept − Σ mean(x_j) b_j``.  A cumulative model has no intercept column:
its ``Intercept`` is the vector of ordered thresholds at centred predictors (brms's), and the
thresholds of the uncentred model (``ordinal::clmm``'s α) are ``Intercept + Σ mean(x_j) b_j``.  Blocks are non-centred (``z``, with
``r = z Lᵀ``) unless the data inform each level strongly, in which case they are centred
(``r ~ N(0, Σ)``): :func:`choose_centring` decides from the REML / ML estimates (the frequentist
engine's solution, passed in as :class:`StartValues`) and falls back to moment guesses.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from scipy.special import chdtri

from ...design import Design, Family, GlmResponse
from .families import FAMILY_CODES, aux_names
from .priors import Prior, PriorSet

__all__ = [
    "Block",
    "Spec",
    "StartValues",
    "build_spec",
    "choose_centring",
    "init_point",
    "level_map",
    "marginal_applies",
    "var_name",
]

FAMILY_CODE = FAMILY_CODES


def var_name(label: str) -> str:
    """A block label as a variable-name fragment (``cask:batch`` → ``cask_batch``)."""
    return re.sub(r"[^0-9A-Za-z_.]", "_", label)


@dataclass
class Block:
    """One random-effects block (one bar, or one column of a ``||`` bar)."""

    label: str
    group: str
    levels: list
    terms: list
    g: np.ndarray
    Z: np.ndarray
    sd_priors: list
    eta: float = 1.0
    centred: bool = False

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def J(self) -> int:
        return len(self.levels)

    @property
    def m(self) -> int:
        return self.q * (self.q + 1) // 2

    @property
    def ones(self) -> bool:
        """A random intercept only (its term column is all ones)."""
        return self.q == 1 and bool(np.all(self.Z[:, 0] == 1.0))

    @property
    def v(self) -> str:
        return var_name(self.label)


@dataclass
class Spec:
    """Arrays and priors of one model, in the sampler's layout.

    Attributes
    ----------
    family : str
        hierlm family name.
    y, trials, weights, offset : ndarray (n,)
        Response (successes for binomial), trials (binomial), prior weights (Gaussian), offset.
    X : ndarray (n, p)
        Fixed-effect columns in kernel order: the intercept first, the other columns centred.
    xnames : list of str
        Fixed-effect names in lme4's order; ``order[k]`` is the lme4 position of kernel column k.
    xmean : ndarray (p,)
        Means subtracted from the kernel columns (0 for the intercept).
    """

    family: str
    y: np.ndarray
    trials: np.ndarray
    weights: np.ndarray
    offset: np.ndarray
    X: np.ndarray
    xnames: list
    order: np.ndarray
    xmean: np.ndarray
    has_intercept: bool
    beta_priors: list
    blocks: list
    disp_prior: Prior | None
    hier_centre: dict = field(default_factory=dict)
    link: str = ""
    levels: list = field(default_factory=list)
    aux_priors: list = field(default_factory=list)
    thres_priors: list = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def p(self) -> int:
        return self.X.shape[1]

    @property
    def aux_names(self) -> tuple[str, ...]:
        """The family's own positive parameters (``sigma``, ``nu``, ``shape``, ``phi``), in layout order."""
        return aux_names(self.family)

    @property
    def disp_name(self) -> str | None:
        """The first of :attr:`aux_names` (σ, the shape, φ), or None."""
        names = self.aux_names
        return names[0] if names else None

    @property
    def ncut(self) -> int:
        """Number of thresholds of a cumulative model (categories − 1), 0 otherwise."""
        return max(len(self.levels) - 1, 0) if self.family == "cumulative" else 0

    @property
    def threshold_names(self) -> list[str]:
        """``ordinal``'s names of the thresholds: ``1|2``, ``2|3``, …"""
        lv = [str(v) for v in self.levels]
        return [f"{lv[j]}|{lv[j + 1]}" for j in range(self.ncut)]

    def layout(self) -> tuple[list[tuple], int]:
        """``[(name, slice, shape, kind, block index), ...]`` and the dimension.

        Names are the mirror model's variable names; kinds are ``Intercept``, ``b``, ``sd``,
        ``chol``, ``z``, ``r``, ``thres`` (the thresholds of a cumulative model) and ``disp`` (each of
        the family's own parameters).
        """
        out, pos = [], 0

        def add(name, size, shape, kind, k=-1):
            nonlocal pos
            out.append((name, slice(pos, pos + size), shape, kind, k))
            pos += size

        if self.has_intercept:
            add("Intercept", 1, (), "Intercept")
        nb = self.p - int(self.has_intercept)
        if nb:
            add("b", nb, (nb,), "b")
        for k, b in enumerate(self.blocks):
            if b.q == 1:
                add(f"sd_{b.v}", 1, (1,), "sd", k)
            else:
                add(f"chol_{b.v}", b.m, (b.m,), "chol", k)
            add(("r_" if b.centred else "z_") + b.v, b.J * b.q, (b.J, b.q), "r" if b.centred else "z", k)
        if self.ncut:
            add("Intercept", self.ncut, (self.ncut,), "thres")
        for name in self.aux_names:
            add(name, 1, (), "disp")
        return out, pos

    def value_var_names(self) -> list[str]:
        """The mirror model's ``value_vars`` names, in layout order."""
        lay, _ = self.layout()
        suffix = {"sd": "_log__", "chol": "_cholesky-cov-packed__", "disp": "_log__", "thres": "_ordered__"}
        return [name + suffix.get(kind, "") for name, _, _, kind, _ in lay]


# -- building ----------------------------------------------------------------------------------
@dataclass
class StartValues:
    """Frequentist estimates the sampler starts from and decides centring by (REML/ML or Laplace).

    Attributes
    ----------
    beta, vcov_beta : ndarray
        Fixed effects (lme4's order) and their covariance.
    covariances : list of ndarray
        Σ of every block.
    b : list of ndarray
        Conditional modes per block, (levels, q).
    sigma : float
        Residual SD (1 for families without one).
    mu : ndarray or None
        Fitted means (GLMMs).
    nb_theta : float or None
        Negative-binomial shape.
    aux : dict or None
        The family's own parameters by name (``sigma``, ``nu``, ``shape``, ``phi``).
    thresholds : ndarray or None
        Thresholds of a cumulative model (uncentred predictors, as ``ordinal::clmm``'s α).
    weights : ndarray or None
        Information about η per row (:func:`.families.info_weights`), for the centring rule.
    """

    beta: np.ndarray
    vcov_beta: np.ndarray
    covariances: list
    b: list
    sigma: float = 1.0
    mu: np.ndarray | None = None
    nb_theta: float | None = None
    aux: dict | None = None
    thresholds: np.ndarray | None = None
    weights: np.ndarray | None = None


def build_spec(design: Design, fam: Family, resp: GlmResponse, priors: PriorSet) -> Spec:
    """Collect arrays and priors into a :class:`Spec` (all blocks non-centred)."""
    names = list(design.xnames)
    has_icpt = "(Intercept)" in names
    order = np.array(([names.index("(Intercept)")] if has_icpt else [])
                     + [j for j, nm in enumerate(names) if nm != "(Intercept)"], dtype=np.int64)
    X = np.array(design.X[:, order], dtype=float)
    xmean = np.zeros(len(order))
    if has_icpt and X.shape[1] > 1:
        xmean[1:] = X[:, 1:].mean(axis=0)
        X[:, 1:] -= xmean[1:]
    elif fam.is_ordinal and X.shape[1]:  # the thresholds play the intercept's part: centre every column
        xmean[:] = X.mean(axis=0)
        X -= xmean
    beta_priors = ([priors.get("Intercept")] if has_icpt else []) + [priors.get("b", None, names[j])
                                                                       for j in order[int(has_icpt):]]
    blocks = []
    for t in design.reterms:
        blocks.append(Block(
            label=t.label, group=t.group, levels=list(t.levels), terms=list(t.columns),
            g=np.ascontiguousarray(t.index, dtype=np.int64), Z=np.ascontiguousarray(t.values, dtype=float),
            sd_priors=[priors.get("sd", t.label, c) for c in t.columns],
            eta=priors.get("cor", t.label).params["eta"] if t.ncols > 1 else 1.0))
    aux = aux_names(fam.name)
    y = resp.successes if fam.name in ("binomial", "bernoulli") else resp.y
    levels = list(design.response_value.levels) if fam.is_ordinal else []
    thres = [f"{levels[j]}|{levels[j + 1]}" for j in range(len(levels) - 1)]
    return Spec(
        family=fam.name, y=np.ascontiguousarray(y, dtype=float),
        trials=np.ascontiguousarray(resp.trials, dtype=float),
        weights=np.ascontiguousarray(resp.prior_weights, dtype=float),
        offset=np.ascontiguousarray(design.offset, dtype=float), X=np.ascontiguousarray(X),
        xnames=names, order=order, xmean=xmean, has_intercept=has_icpt, beta_priors=beta_priors, blocks=blocks,
        disp_prior=priors.get(aux[0]) if aux else None, link=fam.link.name, levels=levels,
        aux_priors=[priors.get(a) for a in aux], thres_priors=[priors.get("Intercept", None, t) for t in thres])


def marginal_applies(spec: Spec) -> bool:
    """Whether the random effects can be integrated out: Gaussian, every block on one grouping factor."""
    b0 = spec.blocks[0]
    return spec.family == "gaussian" and all(b.group == b0.group and b.J == b0.J and np.array_equal(b.g, b0.g)
                                             for b in spec.blocks[1:])


def _glm_weights(spec: Spec, mu: np.ndarray, theta: float | None) -> np.ndarray:
    if spec.family in ("binomial", "bernoulli"):
        return spec.trials * mu * (1 - mu)
    if spec.family == "poisson":
        return mu
    if spec.family == "negbinomial":
        return mu / (1 + mu / theta)
    return spec.weights


def choose_centring(spec: Spec, freq: StartValues | None = None) -> list[bool]:
    """Centre a block when the data inform its levels more than its prior does.

    For level j the data precision relative to the prior is M_j = Lᵀ A_j L / σ² with
    A_j = Σ_i w_i z_i z_iᵀ (GLM working weights w_i) and Σ = L Lᵀ; the block is centred when the
    median over levels of the smallest eigenvalue of M_j exceeds 1 (Papaspiliopoulos, Roberts and
    Sköld 2007), with Σ scaled down to the lower 10% point of its chi-square sampling spread (few
    levels: the posterior reaches small variances).  Σ, σ and μ come from the frequentist fit when
    there is one, else from moments.  Blocks with random slopes of the families beyond the canonical
    four stay non-centred (see the comment in the loop).
    """
    if freq is not None:
        covs = freq.covariances
        s2 = freq.sigma**2 if spec.family == "gaussian" else 1.0
        mu = None if spec.family == "gaussian" else np.asarray(freq.mu, float)
        theta = freq.nb_theta
    else:
        covs, s2, mu, theta = _moment_guesses(spec)
    w = _glm_weights(spec, mu, theta) if mu is not None else spec.weights
    if freq is not None and freq.weights is not None:  # the families beyond the canonical four
        w, s2 = np.asarray(freq.weights, float), 1.0
    info = _nested_information(spec, covs, w / s2)
    out = []
    for k, (b, S) in enumerate(zip(spec.blocks, covs)):
        if k in info:
            kappa = info[k] * S[0, 0]
        else:
            A = np.zeros((b.J, b.q, b.q))
            np.add.at(A, b.g, (w / s2)[:, None, None] * b.Z[:, :, None] * b.Z[:, None, :])
            ev, U = np.linalg.eigh(S)
            half = U * np.sqrt(np.maximum(ev, 0))
            kappa = np.linalg.eigvalsh(np.einsum("ka,jkl,lb->jab", half, A, half))[:, 0]
        # with few levels Σ is uncertain and its posterior reaches small values, where centring
        # is bad: judge at a plausible low value (lower 10% point of a chi-square scaled estimate)
        low = chdtri(b.J - 1, 0.9) / (b.J - 1) if b.J > 1 else 0.0
        # families beyond the canonical four (start values with info weights): a block with random
        # slopes stays non-centred, as the hierarchical-centring shear (.shear) moves only intercept
        # blocks, and a centred slope block leaves its fixed effects on a ridge with the slopes (Student-t
        # sleepstudy: bulk ESS of b_Days 650 centred, 1000 non-centred; R-hat 1.011 against 1.004)
        slopes = b.q > 1 and freq is not None and freq.weights is not None
        out.append(bool(np.median(kappa) * low > 1.0) and not slopes)
    return out


def _nested_information(spec: Spec, covs, prec: np.ndarray) -> dict[int, np.ndarray]:
    """Data information about each level of the random-intercept blocks, nesting accounted for.

    A level's information is Σ_i prec_i over its rows, unless a finer block is nested in it: then
    it is Σ_l 1 / (1 / info_l + τ²_child) over its child levels l (the children's spread is noise
    for the parent).  Returns {block index: information per level}.
    """
    ones = sorted([k for k, b in enumerate(spec.blocks) if b.ones], key=lambda k: -spec.blocks[k].J)
    info: dict[int, np.ndarray] = {}
    for k in ones:
        b = spec.blocks[k]
        kids = [c for c in ones if c in info and level_map(spec.blocks[c], b) is not None]
        if kids:
            c = min(kids, key=lambda c: spec.blocks[c].J)
            pm = level_map(spec.blocks[c], b)
            info[k] = np.bincount(pm, weights=1.0 / (1.0 / info[c] + covs[c][0, 0]), minlength=b.J)
        else:
            info[k] = np.bincount(b.g, weights=prec, minlength=b.J)
    return info


def level_map(child: Block, parent: Block) -> np.ndarray | None:
    """Parent level of every child level, or None when child is not nested in parent."""
    if parent.J >= child.J:
        return None
    pm = np.full(child.J, -1, np.int64)
    pm[child.g] = parent.g
    return pm if np.array_equal(pm[child.g], parent.g) else None


def _moment_guesses(spec: Spec):
    """Σ_k, σ², μ and θ from moments (when no frequentist fit is available)."""
    y = spec.y / np.maximum(spec.trials, 1) if spec.family in ("binomial", "bernoulli") else spec.y
    if spec.family == "gaussian":
        beta, *_ = np.linalg.lstsq(spec.X, y - spec.offset, rcond=None)
        r = y - spec.offset - spec.X @ beta
        s2 = max(float(r.var()), 1e-12)
        mu = None
    else:
        r, s2 = None, 1.0
        mu = np.full(len(y), np.clip(np.average(y, weights=spec.trials), 1e-3, 1 - 1e-3)
                     if spec.family != "poisson" and spec.family != "negbinomial" else max(y.mean(), 1e-3))
    covs = []
    for b in spec.blocks:
        tau2 = 1.0
        if r is not None:
            nj = np.bincount(b.g, minlength=b.J).astype(float)
            means = np.bincount(b.g, weights=r, minlength=b.J) / np.maximum(nj, 1)
            tau2 = max(np.var(means) - np.mean(s2 / np.maximum(nj, 1)), 0.05 * s2)
        covs.append(np.eye(b.q) * tau2)
    return covs, s2, mu, 1.0


# -- initial values -----------------------------------------------------------------------------
def _support_point(spec: Spec) -> np.ndarray:
    """PyMC's initial point (prior location; log of a typical scale for positive parameters)."""
    lay, ndim = spec.layout()
    x = np.zeros(ndim)
    for name, sl, _, kind, _ in lay:
        if kind == "Intercept":
            x[sl] = spec.beta_priors[0].params.get("mu", 0.0)
        elif kind == "b":
            x[sl] = [pr.params.get("mu", 0.0) for pr in spec.beta_priors[int(spec.has_intercept):]]
        elif kind == "thres":
            x[sl] = ordered_coords(np.linspace(-1.5, 1.5, spec.ncut) if spec.ncut > 1 else np.zeros(1))
    return x


def init_point(spec: Spec, seed: int, freq: StartValues | None = None) -> np.ndarray:
    """A chain's initial point in model coordinates.

    ``freq=None``: PyMC's default (support point + U(−1, 1) jitter on the unconstrained scale).
    Otherwise the frequentist estimates, with jitter of about one standard error.
    """
    rng = np.random.default_rng(seed)
    lay, ndim = spec.layout()
    if freq is None:
        return _support_point(spec) + rng.uniform(-1, 1, ndim)
    x = np.zeros(ndim)
    scale = np.full(ndim, 0.2)
    beta = np.asarray(freq.beta, float)[spec.order]
    V = np.asarray(freq.vcov_beta, float)[np.ix_(spec.order, spec.order)]
    A = np.eye(spec.p)
    if spec.has_intercept:
        A[0, 1:] = spec.xmean[1:]
    bk, Vk = A @ beta, A @ V @ A.T
    se = np.sqrt(np.maximum(np.diag(Vk), 1e-12))
    covs = freq.covariances
    for name, sl, shape, kind, k in lay:
        if kind == "Intercept":
            x[sl], scale[sl] = bk[0], se[0]
        elif kind == "b":
            x[sl], scale[sl] = bk[int(spec.has_intercept):], se[int(spec.has_intercept):]
        elif kind in ("sd", "chol"):
            L = _safe_chol(covs[k], spec.blocks[k])
            x[sl] = pack_chol(L)
            # off-diagonal Cholesky entries are on the data's scale (not logs): jitter them relative to
            # their row's sd, or a slope on a column scaled by 1e4 starts 1e4 times too wide
            rows, cols = np.tril_indices(L.shape[0])
            scale[sl] = np.where(rows == cols, 0.2, 0.2 * np.sqrt((L**2).sum(axis=1))[rows])
        elif kind in ("z", "r"):
            b = freq.b[k]
            if kind == "z":
                L = _safe_chol(covs[k], spec.blocks[k])
                b = np.linalg.solve(L, b.T).T
                scale[sl] = 0.3
            else:
                scale[sl] = 0.3 * np.tile(np.sqrt(np.maximum(np.diag(covs[k]), 1e-4)), spec.blocks[k].J)
            x[sl] = np.asarray(b, float).ravel()
        elif kind == "disp":
            val = (freq.aux or {}).get(name) or (freq.sigma if spec.family == "gaussian" else (freq.nb_theta or 1.0))
            x[sl] = math.log(max(val, 1e-6))
            scale[sl] = 0.1
        elif kind == "thres":
            c = np.asarray(freq.thresholds, float) - float(spec.xmean @ bk)  # thresholds at centred predictors
            x[sl], scale[sl] = ordered_coords(c), 0.05
    return x + rng.uniform(-1, 1, ndim) * scale


def ordered_coords(c: np.ndarray) -> np.ndarray:
    """Increasing thresholds → PyMC's ``ordered`` coordinates (the first, then log differences)."""
    c = np.asarray(c, float)
    return np.concatenate([c[:1], np.log(np.maximum(np.diff(c), 1e-3))])


def _safe_chol(S: np.ndarray, block: Block) -> np.ndarray:
    """Cholesky factor of a (possibly singular) frequentist covariance, diagonal kept away from 0."""
    floor = 0.05 * np.array([pr.params.get("sigma", pr.params.get("beta", 1.0)) for pr in block.sd_priors])
    sd = np.sqrt(np.maximum(np.diag(S), floor**2))
    d = np.sqrt(np.maximum(np.diag(S), 1e-300))
    C = S / np.outer(d, d)
    C = 0.9 * np.nan_to_num(C) + 0.1 * np.eye(len(sd))
    np.fill_diagonal(C, 1.0)
    return np.linalg.cholesky(C * np.outer(sd, sd))


def pack_chol(L: np.ndarray) -> np.ndarray:
    """Lower-triangular L → PyMC's packed row-major layout with a log diagonal."""
    rows, cols = np.tril_indices(L.shape[0])
    v = L[rows, cols].copy()
    diag = rows == cols
    v[diag] = np.log(v[diag])
    return v
