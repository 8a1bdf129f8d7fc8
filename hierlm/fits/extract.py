"""lme4's extractors, as functions of a fitted model's plain numbers.

Every function takes the pieces it needs (design, β, b, Σ) rather than a model object, so the
frequentist and Bayesian fits share them: ``ranef`` (also its long form with intervals), ``coef``,
``VarCorr`` and the group bookkeeping are written once (the linear predictor behind ``predict`` is
the design layer's, :func:`hierlm.design.linear_predictor`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..design import Design

__all__ = [
    "GroupDict",
    "ranef_frames",
    "coef_frames",
    "varcorr_frame",
    "ngrps",
]


class GroupDict(dict):
    """A dict keyed by grouping factor that also accepts a nesting written the other way round.

    lme4 names the inner factor of ``(1 | batch/cask)`` ``cask:batch``; ``d["batch:cask"]`` finds it too.
    """

    def __missing__(self, key):
        if isinstance(key, str) and ":" in key:
            want = sorted(key.split(":"))
            for k in self:
                if sorted(k.split(":")) == want:
                    return self[k]
        raise KeyError(f"no grouping factor '{key}'; the model has {list(self)}")


def ngrps(design: Design) -> dict[str, int]:
    """Number of levels of each grouping factor (lme4's ``ngrps``)."""
    return GroupDict({g: len(levels) for g, levels in design.groups().items()})


def ranef_frames(design: Design, b: list[np.ndarray]) -> GroupDict:
    """Conditional modes (or posterior means) per grouping factor: levels × terms.

    Blocks on the same factor (``(1|g) + (0+x|g)``) are merged into one frame, as lme4 does.
    """
    out = GroupDict()
    for t, bi in zip(design.reterms, b):
        frame = pd.DataFrame(bi, index=pd.Index(t.levels, name=t.group), columns=t.columns)
        if t.group in out:
            prev = out[t.group]
            new_cols = [c for c in frame.columns if c not in prev.columns]
            out[t.group] = pd.concat([prev, frame[new_cols]], axis=1)
        else:
            out[t.group] = frame
    return out


def coef_frames(fixef: pd.Series, ranef: dict[str, pd.DataFrame]) -> GroupDict:
    """lme4's ``coef()``: fixed effects plus the group's random effects, per level.

    Random-effect terms that are not fixed effects come first (with fixed part 0), as lme4 shows them.
    """
    out = GroupDict()
    for g, re in ranef.items():
        extra = [c for c in re.columns if c not in fixef.index]
        cols = extra + list(fixef.index)
        frame = pd.DataFrame(0.0, index=re.index, columns=cols)
        for c in fixef.index:
            frame[c] = fixef[c]
        for c in re.columns:
            frame[c] = frame[c] + re[c]
        out[g] = frame
    return out


def varcorr_rows(design: Design, covs: list[np.ndarray], sigma: float | None) -> list[dict]:
    """Rows of lme4's ``as.data.frame(VarCorr(m))``: per block the variances, then the
    covariances (pairs in order), then ``Residual`` (when ``sigma`` is given)."""
    rows = []
    for t, S in zip(design.reterms, covs):
        sd = np.sqrt(np.maximum(np.diag(S), 0))
        for j, name in enumerate(t.columns):
            rows.append({"grp": t.label, "var1": name, "var2": None, "vcov": S[j, j], "sdcor": sd[j]})
        for j in range(t.ncols):
            for k in range(j + 1, t.ncols):
                corr = S[j, k] / (sd[j] * sd[k]) if sd[j] > 0 and sd[k] > 0 else np.nan
                rows.append({"grp": t.label, "var1": t.columns[j], "var2": t.columns[k], "vcov": S[j, k], "sdcor": corr})
    if sigma is not None:
        rows.append({"grp": "Residual", "var1": None, "var2": None, "vcov": sigma**2, "sdcor": sigma})
    return rows


def varcorr_frame(design: Design, covs: list[np.ndarray], sigma: float | None) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(m))`` as a DataFrame (``None`` where lme4 has NA)."""
    rows = varcorr_rows(design, covs, sigma)
    cols = {c: pd.Series([r[c] for r in rows], dtype=object) for c in ("grp", "var1", "var2")}
    cols.update({c: pd.Series([r[c] for r in rows], dtype=float) for c in ("vcov", "sdcor")})
    return pd.DataFrame(cols)


def ranef_long(design: Design, stats: dict[str, list[np.ndarray]]) -> pd.DataFrame:
    """The long random-effects table (``as.data.frame(ranef(m, condVar = TRUE))``'s layout).

    Parameters
    ----------
    design : Design
    stats : dict
        Column name → one (levels, q) array per block, e.g. ``{"condval": b, "condsd": sd,
        "Q2.5": lo, "Q97.5": hi}``.

    Returns
    -------
    DataFrame
        ``grpvar``, ``term``, ``grp`` and the columns of ``stats``, block by block, term by term.
    """
    rows = []
    for k, t in enumerate(design.reterms):
        for j, term in enumerate(t.columns):
            cols = {"grpvar": t.group, "term": term, "grp": t.levels}
            cols.update({name: arrays[k][:, j] for name, arrays in stats.items()})
            rows.append(pd.DataFrame(cols))
    return pd.concat(rows, ignore_index=True)
