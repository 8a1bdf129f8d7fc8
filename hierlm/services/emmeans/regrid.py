"""emmeans' ``regrid()``: move a grid of means to the response scale for good.

The back-transformed means become the new coefficients: ``μ̂ = g⁻¹(η̂)`` with covariance
``D (L V Lᵀ) D``, ``D = diag(dμ/dη)`` (the delta method); the linear functions become the identity.
After this, intervals are symmetric on the response scale and contrasts are differences of
probabilities / rates, not (odds) ratios.  Degrees of freedom are inherited: one common value when
the rows' df agree to 0.01 (their mean), else the smallest df of the rows a contrast involves.
A Bayesian grid is back-transformed draw by draw.
"""

from __future__ import annotations

import numpy as np

from .basis import Basis
from .result import EmmGrid, emm_info
from .summary import estimates, summarize

__all__ = ["regrid"]


def _inherited_dffun(df: np.ndarray):
    edf = df[np.isfinite(df) | np.isinf(df)]
    if edf.size == 0 or np.any(np.isnan(edf / edf)) or (np.ptp(edf) < 0.01):
        common = float(np.mean(edf)) if edf.size else np.nan
        return lambda l: common

    def dffun(l: np.ndarray) -> float:
        idx = np.flatnonzero(np.round(l, 7) != 0)
        return float(np.nanmin(df[idx])) if idx.size else np.nan

    return dffun


def regrid(emm: EmmGrid) -> EmmGrid:
    """Re-grid an :class:`EmmGrid` to the response scale (R's ``regrid(emm)``).

    Parameters
    ----------
    emm : EmmGrid
        The result of :func:`emmeans`, :func:`ref_grid` or :func:`emtrends` on a model with a link
        or a transformed response (otherwise it is returned unchanged).

    Returns
    -------
    EmmGrid
        Estimates named as emmeans names them (``prob``, ``rate``, ``response``), delta-method SEs,
        symmetric intervals.

    Examples
    --------
    >>> import hierlm as hl
    >>> cbpp = hl.load_dataset("cbpp")
    >>> g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, family="binomial")
    >>> from hierlm.services.emmeans import emmeans
    >>> emmeans(g, "period", regrid=True)["prob"].round(4).tolist()
    [0.198, 0.0839, 0.074, 0.0484]
    """
    info = emm_info(emm)
    b = info.basis
    tran = info.tran
    if tran is None:
        return emm
    ok = np.all(np.isfinite(info.L), axis=1)
    Lz = np.where(ok[:, None], info.L, 0.0)
    df_note = f"inherited from {info.df_note} when re-gridding" if info.df_note and \
        not info.df_note.startswith("inherited") else info.df_note
    if b.bayesian:
        draws = tran.linkinv(b.draws @ Lz.T + info.offset)
        new = Basis(b.fit, draws.mean(axis=0), None, draws, lambda l: np.nan, None, None, info.inv_lbl, b.notes)
    else:
        _, _, df = estimates(info)
        eta = Lz @ b.bhat + info.offset
        D = tran.mu_eta(eta)
        V = D[:, None] * (Lz @ b.V @ Lz.T) * D[None, :]
        bhat = tran.linkinv(eta)
        bhat[~ok] = 0.0  # non-estimable rows stay flagged by their NaN linear function
        new = Basis(b.fit, bhat, V, None, _inherited_dffun(df), df_note, None, info.inv_lbl, b.notes)
    n = info.L.shape[0]
    L = np.eye(n)
    L[~ok] = np.nan
    out = info.replace(basis=new, L=L, offset=np.zeros(n), est_name=info.inv_lbl or "response", tran=None,
                       type="link", df_note=df_note)
    return summarize(out)
