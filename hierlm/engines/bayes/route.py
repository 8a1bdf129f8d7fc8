"""Which route samples a Gaussian model: random effects integrated out (marginal), those of one factor
integrated out (partial), or all sampled with the rest (joint).

Gaussian models can always integrate the random effects out; whether that is *faster* depends on
the factorisation.  For one grouping factor the levels are independent and the marginal kernel is
always cheap (:mod:`.kernels_marginal`).  Otherwise (:mod:`.kernels_sparse`) a gradient costs a
sparse Cholesky of the random effects' precision, whose size follows from the number of levels and
whose fill from the design: nested factors factor without fill, crossed ones fill in (students ×
lecturers: a dense factor over the lecturers).  The joint kernel's gradient costs one pass over the
rows instead, but NUTS needs more gradients per draw (hundreds of coupled coordinates against a
handful) and gets fewer effective draws per draw.  In between, the partial route
(:mod:`.kernels_collapsed`) integrates out one grouping factor only, which never fills in, and samples
the others: two passes over the rows per gradient, far fewer coordinates.  The factor is the one
estimated fastest per effective draw: the one with the most levels, or the only one with correlated
slopes (whose funnel then goes with it).

:func:`choose_route` estimates the sampling time of each route per model, before sampling, from
counts only (so the choice is the same on every run): the symbolic factorisation gives the factor's
node blocks and flops (stopped early when it is clearly too costly), the design gives rows ×
columns and levels; :data:`COSTS` holds the seconds per unit of work, nutpie's work per step, the
leapfrog steps per draw and the effective draws per draw, measured with
``python -m bench.bayes_scale --calibrate`` and the fits of ``python -m bench.bayes_scale``.  The
route with the smallest time per effective draw wins; the marginal route, which has no funnels
(no divergences) and mixes best, is also kept when it costs at most ``marginal_over`` times the cheapest other
route plus ``slack_s`` seconds.  The
decision and its figures are stored in ``fit.settings["route"]`` and printed by ``summary()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import SamplingError
from .spec import Spec, marginal_applies

__all__ = ["COSTS", "LOW_RANK_MAX_DIM", "Route", "choose_route", "describe", "joint_gradient_seconds",
           "mass_matrix", "partial_gradient_seconds", "sparse_gradient_seconds"]

#: Seconds per unit of work, nutpie's own work per leapfrog step, leapfrog steps per draw and effective
#: draws per draw, measured with ``python -m bench.bayes_scale --calibrate`` and the fits of
#: ``python -m bench.bayes_scale`` (2-core Xeon; the kernels' gradients on 10 real datasets).
COSTS = {
    "joint_base": 1e-6,          # per joint gradient
    "joint_cell": 2.5e-9,        # per row × (1 + fixed columns + random-effect terms)
    "joint_dim": 1e-8,           # per sampled coordinate
    "partial_ones": 1.3,         # a collapsed gradient relative to a joint one: the collapsed block an intercept
    "partial_rows": 0.4,         # the same when every block is an intercept and the rows unweighted (the row
                                 # passes of collapsed_rows: 0.33-0.46 on InstEval, lexdec, LaborSupply, ScotsSec)
    "partial_slopes": 2.5,       # the same when the collapsed block has slopes (general small-matrix code)
    "sparse_base": 2e-6,         # per marginal gradient
    "sparse_block": 4.5e-8,      # per stored node block of the factor, × q̄³ (q̄: terms per level)
    "sparse_flop": 3.5e-9,       # per flop of the factorisation (selected inverse included)
    "step_diag": 3e-6,           # nutpie's work per leapfrog step, diagonal mass matrix (joint, partial)
    "step_low_rank": 12e-6,      # the same with its low-rank mass matrix (marginal route)
    "steps_joint": 18.0,         # leapfrog steps per draw at the defaults: joint route (median 15, up to 31)
    "steps_partial": 12.0,       # one grouping factor integrated out, intercepts left (fewer, better-scaled
                                 # coordinates); with correlated slopes left to sample: steps_joint
    "steps_marginal": 6.5,       # everything integrated out (a handful of parameters)
    "ess_marginal": 3.0,         # effective draws per draw of the marginal route relative to the others: min
                                 # bulk ESS ratio to the joint route 0.8-6.3 on the bench's intercept-only models
                                 # (median 2.5), and far more where sampled crossed factors are data-rich
                                 # (txhousing city x year: 5,067 vs 45 with city:year integrated out, 19 joint)
    "ess_marginal_slopes": 6.0,  # the same when a block has correlated slopes (joint: 282 vs 4,240 on egsingle)
    "marginal_over": 3.0,        # the marginal route is also kept when it costs at most this many times the
                                 # cheapest other route (+ slack_s): y ~ x + (x | g) + (1 | h), 15 x 8 levels, took
                                 # the partial route on one core per fit and 41 of 200 SBC fits had R-hat > 1.01
    "slack_s": 2.0,              # the marginal route (no funnels, no divergences) is kept when at most this
                                 # many seconds slower than the fastest estimate
}
#: the partial and joint routes adapt a low-rank mass matrix when their sampled blocks are intercepts and they
#: sample at most this many coordinates (``python -m bench.bayes_mass_matrix``: see :func:`mass_matrix`)
LOW_RANK_MAX_DIM = 120
#: the factor may hold at most this many node blocks (memory: about 3 arrays of this many floats × q²)
MAX_FACTOR_BLOCKS = 20_000_000
#: and cost at most this many flops per factorisation
MAX_FLOPS = 1e11


@dataclass
class Route:
    """The chosen route and why.

    Attributes
    ----------
    method : {"marginal", "partial", "joint"}
        All random effects integrated out, those of one grouping factor only, or none.
    kernel : {"one_factor", "sparse", "laplace", "collapsed", "joint", "pymc", "prior"}
    reason : str
    data, ndim
        The packed marginal kernel (reused by the sampler), when one was built.
    figures : dict
        Levels, the factor's counts (node blocks, fill, flops), the estimated sampling seconds of
        either route.
    """

    method: str
    kernel: str
    reason: str
    data: dict | None = None
    ndim: int | None = None
    figures: dict = field(default_factory=dict)
    collapsed: int | None = None  # the block integrated out on the partial route

    def record(self) -> dict:
        """JSON-ready description (stored in ``fit.settings["route"]``)."""
        return {"method": self.method, "kernel": self.kernel, "reason": self.reason, **self.figures}

    def describe(self) -> str:
        """One line for ``summary()``."""
        return describe(self.record())


def describe(rec: dict) -> str:
    """The summary line of a route record (see :meth:`Route.record`)."""
    if not rec:
        return ""
    parts = [f"{rec[k]:.3g} s {label}" for k, label in (("est_marginal_s", "integrated out"),
                                                        ("est_partial_s", f"with '{rec.get('collapsed')}' integrated out"),
                                                        ("est_joint_s", "joint")) if rec.get(k) is not None]
    est = ("; estimated " + " vs ".join(parts)) if len(parts) > 1 else ""
    fill = ""
    if rec.get("factor_blocks") is not None:
        fill = f"; factor {rec['factor_blocks']:,} blocks over {rec['nodes']:,} levels, fill {rec['fill']:.2f}x"
    return f"{rec['method']} ({rec['reason']}{fill}{est})"


def joint_gradient_seconds(spec: Spec) -> float:
    """Estimated seconds of one joint gradient (one pass over the rows)."""
    c = COSTS
    cols = 1 + spec.p + sum(b.q for b in spec.blocks)
    return c["joint_base"] + c["joint_cell"] * spec.n * cols + c["joint_dim"] * spec.layout()[1]


def sparse_gradient_seconds(info: dict, qbar: float) -> float:
    """Estimated seconds of one marginal gradient from the symbolic factorisation's counts."""
    c = COSTS
    return c["sparse_base"] + c["sparse_block"] * info["factor_blocks"] * qbar ** 3 + c["sparse_flop"] * info["flops"]


def partial_gradient_seconds(spec: Spec, kc: int) -> float:
    """Estimated seconds of one gradient with block ``kc`` integrated out (two passes over the rows)."""
    from .collapsed_rows import rows_apply

    c = COSTS
    if rows_apply(spec):
        ratio = c["partial_rows"]
    else:
        ratio = c["partial_ones"] if spec.blocks[kc].ones else c["partial_slopes"]
    return ratio * (joint_gradient_seconds(spec) - c["joint_dim"] * spec.blocks[kc].J * spec.blocks[kc].q)


def mass_matrix(spec: Spec, route: Route) -> str:
    """The mass matrix nutpie adapts on ``route``: ``"low_rank"`` or ``"diag"``.

    The marginal route samples a handful of parameters: low rank.  The partial and joint routes get low
    rank too when every block they sample is an intercept and they sample at most
    :data:`LOW_RANK_MAX_DIM` coordinates.  There a fixed effect that moves with a sampled factor (prices
    with years in a state × year panel) is correlated with that factor's levels in the posterior, which a
    diagonal mass matrix cannot follow: Cigar's min bulk ESS 105 (R-hat 1.038) on the partial route with a
    diagonal one, 9,315 with low rank; on the joint route Mmmec's Poisson model 233 against 4,825.  With
    correlated slopes left to sample low rank met their funnel badly (lexdec's (1 + frequency | id): 544
    divergences, 80 steps per draw), and with hundreds of sampled levels its adaptation costs more than it
    gains (150 simulated levels: 4× the time; star's teachers and schools: 471 s against 40 s), so those
    keep the diagonal one (``python -m bench.bayes_mass_matrix``).  A PyMC sampler adapts its own.
    """
    if route.method == "marginal":
        return "low_rank"
    if route.kernel not in ("collapsed", "joint"):
        return "diag"
    kc = route.collapsed if route.method == "partial" else None
    left = [b for k, b in enumerate(spec.blocks) if k != kc]
    dim = spec.layout()[1] - (spec.blocks[kc].J * spec.blocks[kc].q if kc is not None else 0)
    return "low_rank" if all(b.q == 1 for b in left) and dim <= LOW_RANK_MAX_DIM else "diag"


def _seconds(per_grad: float, route: str, iters: int, draws: int, per_draw: float = 0.0,
             steps: str | None = None) -> float:
    """Sampling seconds: iterations × steps × (gradient + nutpie's step), plus the exact draws of b
    (``steps``: the route whose leapfrog steps per draw apply, when not ``route``'s own)."""
    c = COSTS
    step = c["step_low_rank"] if route == "marginal" else c["step_diag"]
    return iters * c[f"steps_{steps or route}"] * (per_grad + step) + draws * per_draw


def _partial_seconds(spec: Spec, kc: int, iters: int, draws: int) -> tuple[float, float]:
    """Estimated sampling seconds with block ``kc`` integrated out, and the same per effective draw of the joint
    route.  The steps per draw fall only when the blocks left to sample are intercepts: sampled correlated
    slopes keep the joint route's geometry (lexdec's (1 + frequency | id) sampled, item integrated out: 17.1
    steps per draw vs 15.0 joint).  Integrating out the only block with correlated slopes removes its funnel,
    so its effective draws are counted as the marginal route's (the same lexdec model with id integrated
    out: min bulk ESS 629 vs 142 joint)."""
    gp = partial_gradient_seconds(spec, kc)
    slopes_left = any(b.q > 1 for k, b in enumerate(spec.blocks) if k != kc)
    tp = _seconds(gp, "partial", iters, draws, 0.5 * gp, steps="joint" if slopes_left else None)
    ess = COSTS["ess_marginal_slopes"] if spec.blocks[kc].q > 1 and not slopes_left else 1.0
    return tp, tp / ess


def choose_route(spec: Spec, method: str, kernel_ok: bool, iters: int = 2000, draws: int = 4000) -> Route:
    """Pick the route for ``spec`` (see the module docstring).

    Parameters
    ----------
    spec : Spec
    method : {"auto", "marginal", "partial", "laplace", "joint"}
        ``"marginal"`` forces the integrated-out route (Gaussian only), ``"partial"`` the route that
        integrates out one factor only (the one estimated fastest), ``"laplace"`` the Laplace-approximated
        marginal of a binomial or Poisson model on one grouping factor (:mod:`.kernels_laplace`), ``"joint"``
        the joint one.
    kernel_ok : bool
        Whether hierlm's compiled kernels sample this fit (False: a PyMC sampler, always joint).
    iters : int
        Tuning plus kept iterations per core (scales the estimates).
    draws : int
        Kept draws over all chains (the exact draws of b after sampling).

    Returns
    -------
    Route
    """
    levels = {b.group: b.J for b in spec.blocks}
    figures: dict = {"levels": levels}
    if not kernel_ok:
        return Route("joint", "pymc", "sampled by a PyMC sampler", figures=figures)
    if method == "laplace":
        return _laplace(spec, figures)
    if spec.family != "gaussian" or spec.link not in ("", "identity"):
        what = f"family '{spec.family}'" + (f" with the link '{spec.link}'" if spec.family == "gaussian" else "")
        return Route("joint", "joint", f"{what}: the random effects cannot be integrated out exactly", figures=figures)
    if method == "joint":
        return Route("joint", "joint", "method='joint'", figures=figures)
    if marginal_applies(spec):
        return Route("marginal", "one_factor", "one grouping factor: levels integrated out independently",
                     figures=figures)
    from . import (
        kernels_sparse as ks,  # numba: loaded on the first fit, so that `import hierlm` stays fast
    )

    tj = _seconds(joint_gradient_seconds(spec), "joint", iters, draws)
    est = [_partial_seconds(spec, k, iters, draws) for k in range(len(spec.blocks))]
    kc = min(range(len(spec.blocks)), key=lambda k: (est[k][1], -spec.blocks[k].J * spec.blocks[k].q))
    tp, tpe = est[kc]  # seconds, and seconds per joint-route effective draw
    figures.update(est_joint_s=tj, est_partial_s=tp, collapsed=spec.blocks[kc].label)
    partial = Route("partial", "collapsed", f"the random effects of '{spec.blocks[kc].label}' are integrated out, the "
                    "others sampled: estimated the fastest", figures=figures, collapsed=kc)
    if method == "partial":
        partial.reason = "method='partial'"
        return partial
    qbar = float(np.average([b.q for b in spec.blocks], weights=[b.J for b in spec.blocks]))
    ess = COSTS["ess_marginal"] if all(b.q == 1 for b in spec.blocks) else COSTS["ess_marginal_slopes"]
    # stop the symbolic factorisation once the marginal route is clearly the slowest (4x margin)
    best = max(min(tj, tpe) * ess, COSTS["marginal_over"] * min(tj, tp)) + COSTS["slack_s"]
    budget = np.inf if method == "marginal" else (
        4 * max(best / (COSTS["steps_marginal"] * iters), 0.0) / COSTS["sparse_flop"] + 1e6)
    got = ks.pack_sparse(spec, max_entries=MAX_FACTOR_BLOCKS, max_flops=min(budget, MAX_FLOPS))
    if got is None:
        if method == "marginal":
            raise SamplingError(f"method='marginal': the random effects' sparse factor is too large here (over "
                                f"{MAX_FACTOR_BLOCKS:,} blocks or {MAX_FLOPS:.0e} flops per gradient; levels: {levels}); "
                                "use method='partial' or 'joint' (or method='auto', which chooses)")
        figures["factor"] = "over budget"
        return _cheaper(partial, tj, tpe, figures)
    d, ndim = got
    info = d["info"]
    gm = sparse_gradient_seconds(info, qbar)
    tm = _seconds(gm, "marginal", iters, draws, 0.5 * gm)
    figures.update(nodes=info["nodes"], factor_blocks=info["factor_blocks"], fill=round(info["fill"], 3),
                   flops=info["flops"], est_marginal_s=tm)
    if method == "marginal":
        return Route("marginal", "sparse", "method='marginal'", d, ndim, figures)
    near = COSTS["marginal_over"] * min(tj, tp) + COSTS["slack_s"]
    if tm / ess <= min(tj, tpe) or tm <= near:
        return Route("marginal", "sparse", "integrating the random effects out is estimated the fastest per "
                     "effective draw" if tm / ess <= min(tj, tpe) else "integrating the random effects out costs at "
                     f"most {COSTS['marginal_over']:g}x the cheapest route (+{COSTS['slack_s']:g} s) and has no "
                     "funnels", d, ndim, figures)
    return _cheaper(partial, tj, tpe, figures)


def _laplace(spec: Spec, figures: dict) -> Route:
    """``method="laplace"``: binomial (logit) or Poisson (log) with every bar on one grouping factor."""
    from .kernels_laplace import laplace_applies

    if not laplace_applies(spec):
        raise SamplingError(f"method='laplace' integrates the random effects out by Laplace's method for binomial "
                            f"(logit link) and Poisson (log link) models whose bars share one grouping factor; this "
                            f"one: family '{spec.family}', link '{spec.link}', grouping factors "
                            f"{sorted({b.group for b in spec.blocks})}. Use method='auto' (or 'joint')")
    return Route("marginal", "laplace", "method='laplace': the random effects integrated out by Laplace's method "
                 "(an approximation, as lme4's nAGQ = 1)", figures=figures)


def _cheaper(partial: Route, tj: float, tpe: float, figures: dict) -> Route:
    if tpe < tj:
        return partial
    return Route("joint", "joint", "sampling the random effects is estimated the fastest", figures=figures)
