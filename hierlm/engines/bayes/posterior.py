"""Draws → ``xarray.DataTree`` laid out as ArviZ 1.x expects.

Groups (always present): ``posterior`` (the mirror model's free variables and deterministics, with
its dims and lme4-named coords), ``sample_stats`` (ArviZ names: ``diverging``, ``tree_depth``,
``reached_max_treedepth``, ``n_steps``, ``step_size``, ``lp``, ...), ``observed_data`` (``y``) and
``log_likelihood`` (``y``: one value per draw and observation, for LOO).  When draws × observations
exceed :data:`FLOAT32_ABOVE` the log-likelihood is stored as float32 (``attrs["dtype_note"]`` says so).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ...design import linear_predictor
from .pymc_model import coords_of, dims_of

__all__ = ["FLOAT32_ABOVE", "build_tree", "constrain", "effects", "eta_chunks", "log_likelihood", "to_dataset"]

FLOAT32_ABOVE = 20_000_000


def _unpack_chol(v: np.ndarray, q: int) -> np.ndarray:
    L = np.zeros(v.shape[:-1] + (q, q))
    rows, cols = np.tril_indices(q)
    L[..., rows, cols] = v
    d = np.arange(q)
    L[..., d, d] = np.exp(L[..., d, d])
    return L


def constrain(spec, X: np.ndarray) -> dict[str, np.ndarray]:
    """Unconstrained model-coordinate draws (chains, draws, ndim) → the mirror model's variables."""
    lay, _ = spec.layout()
    out: dict[str, np.ndarray] = {}
    Ls = {}
    for name, sl, shape, kind, k in lay:
        v = X[..., sl]
        if kind == "Intercept":
            out[name] = v[..., 0]
        elif kind == "b":
            out[name] = v
        elif kind == "sd":
            out[name] = np.exp(v)
            Ls[k] = out[name][..., None]
        elif kind == "chol":
            q = spec.blocks[k].q
            L = _unpack_chol(v, q)
            rows, cols = np.tril_indices(q)
            out[name] = L[..., rows, cols]
            sd = np.sqrt((L**2).sum(-1))
            C = L @ np.swapaxes(L, -1, -2) / (sd[..., :, None] * sd[..., None, :])
            out[f"sd_{spec.blocks[k].v}"] = sd
            out[f"cor_{spec.blocks[k].v}"] = C
            Ls[k] = L
        elif kind in ("z", "r"):
            vv = v.reshape(v.shape[:-1] + shape)
            out[name] = vv
            if kind == "z":
                out[f"r_{spec.blocks[k].v}"] = np.einsum("...jt,...st->...js", vv, Ls[k])
        elif kind == "disp":
            out[name] = np.exp(v[..., 0])
    if spec.p:
        p0 = int(spec.has_intercept)
        parts = ([out["Intercept"][..., None]] if spec.has_intercept else []) + ([out["b"]] if "b" in out else [])
        beta_k = np.concatenate(parts, axis=-1)
        if spec.has_intercept and "b" in out:
            beta_k[..., 0] -= out["b"] @ spec.xmean[p0:]
        out["beta"] = beta_k[..., np.argsort(spec.order)]
    return out


def to_dataset(spec, post: dict, rows=None):
    """Posterior dict → ``xarray.Dataset`` with the mirror model's dims and coords."""
    import xarray as xr

    dims = dims_of(spec)
    first = next(iter(post.values()))
    C, D = first.shape[:2]
    data = {}
    for k, v in post.items():
        extra = dims.get(k, tuple(f"{k}_dim_{i}" for i in range(v.ndim - 2)))
        data[k] = (("chain", "draw") + tuple(extra), np.ascontiguousarray(v))
    used = {d for dd, _ in data.values() for d in dd}
    coords = {"chain": np.arange(C), "draw": np.arange(D)}
    coords.update({k: v for k, v in coords_of(spec, rows).items() if k in used})
    return xr.Dataset(data, coords=coords)


def effects(spec, posterior) -> tuple[np.ndarray, list[np.ndarray]]:
    """β (chains, draws, p) in lme4 order and the random effects per block (chains, draws, J, q)."""
    first = posterior[next(iter(posterior.data_vars))]
    C, D = first.shape[:2]
    beta = posterior["beta"].values if "beta" in posterior else np.zeros((C, D, 0))
    return beta, [posterior[f"r_{b.v}"].values for b in spec.blocks]


def eta_chunks(design, beta: np.ndarray, b: list[np.ndarray], chunk_rows: int = 4_000_000, **kw):
    """Yield ``(slice of flattened draws, η)`` over chunks of draws, η of shape (draws in chunk, n).

    ``kw`` goes to :func:`hierlm.design.linear_predictor` (newdata, re_form, allow_new_levels,
    new_level_effects).
    """
    S = beta.shape[0] * beta.shape[1]
    bf = beta.reshape(S, -1)
    rf = [x.reshape((S,) + x.shape[2:]) for x in b]
    n = max(design.n if kw.get("newdata") is None else len(kw["newdata"]), 1)
    step = max(1, chunk_rows // n)
    newb = kw.pop("new_level_effects", None)
    for s0 in range(0, S, step):
        sl = slice(s0, min(S, s0 + step))
        extra = {} if newb is None else {"new_level_effects": {i: v[sl] for i, v in newb.items()}}
        yield sl, linear_predictor(design, bf[sl], [x[sl] for x in rf], **kw, **extra)


def _family_at(fam, disp: np.ndarray | None):
    return replace(fam, theta=disp) if fam.name == "negbinomial" else fam


def log_likelihood(spec, design, fam, resp, posterior) -> tuple[np.ndarray, str | None]:
    """Pointwise log-likelihood (chains, draws, n) and a note when it is stored as float32."""
    beta, b = effects(spec, posterior)
    C, D = beta.shape[:2]
    S, n = C * D, design.n
    dtype = np.float32 if S * n > FLOAT32_ABOVE else np.float64
    out = np.empty((S, n), dtype)
    disp = posterior[spec.disp_name].values.reshape(S) if spec.disp_name else None
    for sl, eta in eta_chunks(design, beta, b):
        mu = fam.link.linkinv(eta)
        d = disp[sl, None] if disp is not None else None
        out[sl] = fam.loglik_obs(resp, mu, sigma=d if fam.name == "gaussian" else 1.0) if fam.name != "negbinomial" \
            else _family_at(fam, d).loglik_obs(resp, mu)
    note = None
    if dtype == np.float32:
        note = (f"log_likelihood stored as float32 ({S} draws x {n} observations = {S * n:,} values); "
                "precision ~1e-7 relative, ample for LOO")
    return out.reshape(C, D, n), note


def build_tree(spec, design, fam, resp, posterior, stats: dict | None, attrs: dict, extra_groups: dict | None = None):
    """Assemble the DataTree: posterior, sample_stats, observed_data, log_likelihood (+ extra groups)."""
    import xarray as xr

    rows = [str(r) for r in design.rows]
    C, D = posterior.sizes["chain"], posterior.sizes["draw"]
    cd = {"chain": posterior["chain"].values, "draw": posterior["draw"].values}
    if isinstance(stats, dict):
        stats = xr.Dataset({k: (("chain", "draw"), np.asarray(v)) for k, v in stats.items()}, coords=cd)
    elif stats is None:
        stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((C, D), bool))}, coords=cd)
    ll, note = log_likelihood(spec, design, fam, resp, posterior)
    obs = {"obs": rows}
    groups = {
        "posterior": posterior,
        "sample_stats": stats,
        "observed_data": xr.Dataset({"y": ("obs", spec.y)}, coords=obs),
        "log_likelihood": xr.Dataset({"y": (("chain", "draw", "obs"), ll)}, coords=dict(cd, **obs)),
    }
    if note:
        groups["log_likelihood"].attrs["dtype_note"] = note
    if fam.name in ("binomial",):
        groups["observed_data"]["trials"] = ("obs", spec.trials)
    groups.update(extra_groups or {})
    tree = xr.DataTree.from_dict(groups)
    tree.attrs.update({k: v for k, v in attrs.items() if v is not None})
    return tree
