"""Posterior draws of a ``BayesFit`` under lme4's names, as the plots need them.

The fit's ``idata`` names variables brms-style (``beta``, ``sd_Subject``, ``cor_Subject``,
``r_Subject``, ``sigma``); here they become one array per lme4 quantity: fixed effects by term,
``sd (Intercept) | Subject``, ``cor (Intercept), Days | Subject``, ``sigma (Residual)``, and the
random effects per grouping factor (blocks of one factor merged, as ``ranef()`` merges them).
"""

from __future__ import annotations

import numpy as np

from ...errors import HierlmError, suggest

__all__ = ["fixef_draws", "ranef_draws", "varcorr_draws", "main_draws", "main_dataset", "varcorr_label"]


def varcorr_label(grp: str, var1, var2) -> str:
    """Readable lme4 name of a ``VarCorr`` row: ``sd (Intercept) | Subject``, ``cor (Intercept), Days | Subject``."""
    if grp == "Residual":
        return "sigma (Residual)"
    if var2 is None or (isinstance(var2, float) and np.isnan(var2)):
        return f"sd {var1} | {grp}"
    return f"cor {var1}, {var2} | {grp}"


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape((-1,) + a.shape[2:])


def _beta(fit) -> np.ndarray:
    """β draws, (chains, draws, p), in the order of ``fit.fixef()``."""
    return fit.beta_draws()


def fixef_draws(fit) -> np.ndarray:
    """Fixed-effect draws, (chains·draws, p), columns as ``fit.fixef().index``."""
    return _flat(_beta(fit))


def _block_effects(fit) -> list[np.ndarray]:
    """Random-effect draws per block of ``fit.design.reterms``, (chains, draws, levels, terms)."""
    return fit.ranef_draws()


def ranef_draws(fit) -> dict[str, tuple[list[str], list[str], np.ndarray]]:
    """Per grouping factor: (levels, terms, draws (chains·draws, levels, terms))."""
    out: dict = {}
    for t, b in zip(fit.design.reterms, _block_effects(fit)):
        if t.group in out:
            levels, terms, prev = out[t.group]
            out[t.group] = (levels, terms + list(t.columns), np.concatenate([prev, _flat(b)], axis=-1))
        else:
            out[t.group] = ([str(v) for v in t.levels], list(t.columns), _flat(b))
    return out


def _varcorr_arrays(fit) -> dict[str, np.ndarray]:
    """sd, correlation and σ draws, (chains, draws) each, keyed by :func:`varcorr_label`."""
    out = {}
    for t, S in zip(fit.design.reterms, fit.covariance_draws()):
        sd = np.sqrt(np.maximum(np.diagonal(S, axis1=-2, axis2=-1), 0))
        for j, name in enumerate(t.columns):
            out[varcorr_label(t.label, name, None)] = sd[..., j]
        for j in range(t.ncols):
            for k in range(j + 1, t.ncols):
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[varcorr_label(t.label, t.columns[j], t.columns[k])] = S[..., j, k] / (sd[..., j] * sd[..., k])
    if fit.family.has_dispersion:
        out[varcorr_label("Residual", None, None)] = fit.dispersion_draws()
    return out


def varcorr_draws(fit) -> dict[str, np.ndarray]:
    """sd, correlation and σ draws (flattened), keyed by :func:`varcorr_label`."""
    return {k: v.reshape(-1) for k, v in _varcorr_arrays(fit).items()}


def main_draws(fit) -> dict[str, np.ndarray]:
    """Fixed effects, sds, correlations and σ, (chains, draws) each, under lme4's names."""
    beta = _beta(fit)
    out = {name: beta[..., j] for j, name in enumerate(fit.fixef().index)}
    out.update(_varcorr_arrays(fit))
    return out


def main_dataset(fit, var_names=None):
    """:func:`main_draws` as an ``xarray.Dataset`` (``chain``, ``draw``) for arviz-plots."""
    import xarray as xr

    draws = main_draws(fit)
    if var_names is not None:
        names = [var_names] if isinstance(var_names, str) else list(var_names)
        for n in names:
            if n not in draws:
                raise HierlmError(f"no parameter '{n}'; the fit has {list(draws)}.{suggest(n, draws)}")
        draws = {n: draws[n] for n in names}
    C, D = next(iter(draws.values())).shape
    return xr.Dataset({k: (("chain", "draw"), v) for k, v in draws.items()},
                      coords={"chain": np.arange(C), "draw": np.arange(D)})
