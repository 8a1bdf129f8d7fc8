"""``hl.load``: a saved folder back to the fit it was, without refitting.

The design is rebuilt from the stored formula and data (formulas are interpreted by hierlm's own
evaluator, never ``eval``, and every transform checks its size before it allocates), then the fit
from the stored numbers, so every extractor gives the same numbers.  Before anything is built, the
folder is checked (:mod:`hierlm.storage`): file digests, declared array sizes, and then that the
rebuilt design has the rows, names and levels the save records and that every array has the shape
the design implies — a tampered or inconsistent save raises :class:`~hierlm.HierlmError` naming the
file.  Loading sits at the top of the package because it builds fit objects of every kind.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from ..design import get_family, make_design, response_of
from ..engines.bayes.priors import Prior, PriorSet
from ..engines.bayes.spec import build_spec
from ..errors import HierlmError
from ..fits import BayesFit, ClmmFit, GlmerFit, LmerFit
from ..fits.bayes_families import is_extra
from ..fits.bayes_families import prepare_response as extra_response
from ..fits.lm import fit_glm, fit_lm
from ..fits.ordinal import ordinal_response
from ..fits.storage import design_signature
from ..storage import read_arrays, read_frame, read_meta, read_tree

__all__ = ["load"]


def _get(d: dict, key: str, kind, where: str):
    v = d.get(key) if isinstance(d, dict) else None
    if not isinstance(v, kind) or isinstance(v, bool) and kind is not bool:
        raise HierlmError(f"{where}: '{key}' is missing or not a {getattr(kind, '__name__', kind)}")
    return v


def _check_design(folder, meta: dict, design) -> None:
    want = meta.get("design")
    have = design_signature(design)
    if want != have:
        what = next((k for k in ("n", "xnames", "blocks") if not isinstance(want, dict) or want.get(k) != have[k]),
                    "design")
        raise HierlmError(f"'{folder}/hierlm.json' does not match its data: the rebuilt model differs in '{what}' "
                          f"(saved {str((want or {}).get(what))[:120]}, rebuilt {str(have[what])[:120]}); the save "
                          "is inconsistent")


def _shape(folder, name: str, arr, shape: tuple) -> np.ndarray:
    if arr is None or np.shape(arr) != shape:
        raise HierlmError(f"'{folder}/arrays.nc': '{name}' has shape {None if arr is None else np.shape(arr)}, "
                          f"but the model needs {shape}; the save is inconsistent")
    return arr


def _frequentist(folder, kind: str, design, meta: dict, arrays: dict):
    where = f"'{folder}/hierlm.json'"
    scalars = _get(meta, "fit", dict, where)
    p, n = design.p, design.n
    sizes = [t.ncols for t in design.reterms]
    ntheta = sum(q * (q + 1) // 2 for q in sizes)
    theta = _shape(folder, "theta", arrays.get("theta"), (ntheta,))
    beta = _shape(folder, "beta", arrays.get("beta"), (p,))
    vcov = _shape(folder, "vcov_beta", arrays.get("vcov_beta"), (p, p))
    b = [_shape(folder, f"b{i}", arrays.get(f"b{i}"), (t.nlevels, t.ncols)) for i, t in enumerate(design.reterms)]
    optinfo = dict(_get(scalars, "optinfo", dict, where))
    optinfo.update({k.split("__", 1)[1]: v for k, v in arrays.items() if k.startswith("optinfo__")})
    fam = get_family(_get(scalars, "family", str, where), _link(scalars, where))
    nb_theta = scalars.get("nb_theta")
    if nb_theta is not None:
        fam = replace(fam, theta=float(nb_theta))
    common = dict(design=design, theta=theta, beta=beta, b=b, sigma_=_finite(scalars, "sigma_", where),
                  vcov_beta=vcov, objective=_finite(scalars, "objective", where), family=fam, optinfo=optinfo)
    if kind == "LmerFit":
        return LmerFit(**common, reml=_get(scalars, "reml", bool, where))
    _, resp = response_of(design, fam)
    nagq = scalars.get("nAGQ", 1)
    if not isinstance(nagq, int) or isinstance(nagq, bool) or not 0 <= nagq <= 25:
        raise HierlmError(f"{where}: 'nAGQ' must be a whole number from 0 to 25, not {nagq!r}")
    cond = [_shape(folder, f"cond_var{i}", arrays.get(f"cond_var{i}"), (t.nlevels, t.ncols, t.ncols))
            for i, t in enumerate(design.reterms)]
    return GlmerFit(**common, response=resp, nAGQ=nagq, nb_theta=nb_theta,
                    eta=_shape(folder, "eta", arrays.get("eta"), (n,)), mu=_shape(folder, "mu", arrays.get("mu"), (n,)),
                    cond_var_=cond)


def _finite(scalars: dict, key: str, where: str) -> float:
    v = scalars.get(key)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
        raise HierlmError(f"{where}: '{key}' is missing or not a finite number")
    return float(v)


def _ordinal(folder, design, meta: dict, arrays: dict) -> ClmmFit:
    """A cumulative link mixed model: the response categories rebuilt from the data must be the saved
    ones, and every array must have the shape they and the design imply."""
    where = f"'{folder}/hierlm.json'"
    scalars = _get(meta, "fit", dict, where)
    fam_name, link = _get(scalars, "family", str, where), _link(scalars, where)
    try:
        fam = get_family(fam_name, link)
    except HierlmError as err:
        raise HierlmError(f"{where}: {err}") from err
    if not fam.is_ordinal:
        raise HierlmError(f"{where}: a ClmmFit has family 'cumulative', not {fam.name!r}; the save is inconsistent")
    try:
        _, levels = ordinal_response(design)
    except HierlmError as err:
        raise HierlmError(f"{where}: the formula's response is not one a cumulative model takes ({err}); the save "
                          "is inconsistent") from err
    saved = _get(scalars, "levels", list, where)
    if saved != [str(lv) for lv in levels]:
        raise HierlmError(f"{where}: the response categories {str(saved)[:120]} differ from those of the data "
                          f"{str(levels)[:120]}; the save is inconsistent")
    nagq = scalars.get("nAGQ")
    if not isinstance(nagq, int) or isinstance(nagq, bool) or not 1 <= nagq <= 25:
        raise HierlmError(f"{where}: 'nAGQ' must be a whole number from 1 to 25, not {nagq!r}")
    k, p = len(levels) - 1, sum(x != "(Intercept)" for x in design.xnames)
    ntheta = sum(t.ncols * (t.ncols + 1) // 2 for t in design.reterms)
    npar = k + p + ntheta
    alpha = _shape(folder, "alpha", arrays.get("alpha"), (k,))
    if not np.all(np.diff(alpha) > 0):
        raise HierlmError(f"'{folder}/arrays.nc': the thresholds {alpha.tolist()} are not increasing; "
                          "the save is inconsistent")
    optional = {name: None if arrays.get(name) is None else _shape(folder, name, arrays[name], shape)
                for name, shape in (("gradient", (npar,)), ("hessian", (npar, npar)))}
    optinfo = dict(_get(scalars, "optinfo", dict, where))
    optinfo.update({key.split("__", 1)[1]: v for key, v in arrays.items() if key.startswith("optinfo__")})
    return ClmmFit(
        design=design, family=fam, levels=levels, alpha=alpha, nAGQ=nagq, optinfo=optinfo, **optional,
        beta=_shape(folder, "beta", arrays.get("beta"), (p,)),
        theta=_shape(folder, "theta", arrays.get("theta"), (ntheta,)),
        b=[_shape(folder, f"b{i}", arrays.get(f"b{i}"), (t.nlevels, t.ncols)) for i, t in enumerate(design.reterms)],
        vcov_all=_shape(folder, "vcov_all", arrays.get("vcov_all"), (npar, npar)),
        objective=_finite(scalars, "objective", where),
        eta=_shape(folder, "eta", arrays.get("eta"), (design.n,)),
        cond_var_=[_shape(folder, f"cond_var{i}", arrays.get(f"cond_var{i}"), (t.nlevels, t.ncols, t.ncols))
                   for i, t in enumerate(design.reterms)])


def _link(scalars: dict, where: str) -> str | None:
    """The saved link (saves before links were recorded hold the canonical one: None)."""
    link = scalars.get("link")
    if link is not None and not isinstance(link, str):
        raise HierlmError(f"{where}: 'link' must be a link's name such as 'logit', not {link!r}")
    return link


def _regression(folder, kind: str, design, meta: dict, arrays: dict):
    """lm / glm: refitted from the stored data (exact and cheap), then checked against the stored β."""
    where = f"'{folder}/hierlm.json'"
    scalars = _get(meta, "fit", dict, where)
    beta = _shape(folder, "beta", arrays.get("beta"), (design.p,))
    if kind == "LmFit":
        fit = fit_lm(design)
    else:
        fam = get_family(_get(scalars, "family", str, where), _link(scalars, where))
        nb_theta = scalars.get("nb_theta")
        fit = fit_glm(design, fam.with_theta(float(nb_theta)) if nb_theta is not None else fam)
    if not np.allclose(fit.beta, beta, rtol=1e-8, atol=1e-12, equal_nan=True):
        raise HierlmError(f"'{folder}/arrays.nc': the stored coefficients do not match the stored data; the save "
                          "is inconsistent")
    return fit


def _bayes(folder, meta: dict, design) -> BayesFit:
    where = f"'{folder}/hierlm.json'"
    info = _get(meta, "bayes", dict, where)
    fam = get_family(_get(info, "family", str, where), _link(info, where))
    if is_extra(fam):  # a cumulative model's design has no intercept column; its response is category codes
        design, resp = extra_response(design, fam)
    else:
        fam, resp = response_of(design, fam)
    try:
        priors = PriorSet([dict(r, prior=Prior(r["prior"]["dist"], **r["prior"]["params"]))
                           for r in _get(info, "priors", list, where)])
    except (KeyError, TypeError) as err:
        raise HierlmError(f"{where}: the priors are malformed ({err})") from err
    spec = build_spec(design, fam, resp, priors)
    centred = _get(info, "centred", list, where)
    if len(centred) != len(spec.blocks):
        raise HierlmError(f"{where}: 'centred' has {len(centred)} flags for {len(spec.blocks)} blocks")
    for b, c in zip(spec.blocks, centred):
        b.centred = bool(c)
    spec.hier_centre = _get(info, "hier_centre", dict, where)
    tree = read_tree(folder, meta)
    _check_posterior(folder, tree, spec, design)
    return BayesFit(design, fam, resp, spec, tree, priors, _get(info, "settings", dict, where))


def _check_posterior(folder, tree, spec, design) -> None:
    if "posterior" not in tree.children:
        raise HierlmError(f"'{folder}/posterior.nc' has no posterior group")
    post = tree["posterior"]
    need = {"beta": (design.p,)} if design.p else {}
    summary = tree["ranef_summary"] if "ranef_summary" in tree.children else None  # blmer(store_ranef=False)
    for b in spec.blocks:
        if summary is None:
            need[f"r_{b.v}"] = (b.J, b.q)
        elif f"r_{b.v}_mean" not in summary.data_vars or summary[f"r_{b.v}_mean"].shape != (b.J, b.q):
            raise HierlmError(f"'{folder}/posterior.nc': the summary of the random effects 'r_{b.v}_mean' does not "
                              f"have the model's shape {(b.J, b.q)}; the save is inconsistent")
        need[f"sd_{b.v}"] = (b.q,)
    if spec.disp_name:
        need[spec.disp_name] = ()
    for name, shape in need.items():
        if name not in post.data_vars or post[name].shape[2:] != shape or post[name].ndim != 2 + len(shape):
            got = post[name].shape[2:] if name in post.data_vars else "missing"
            raise HierlmError(f"'{folder}/posterior.nc': '{name}' is {got}, but the model needs {shape} per draw; "
                              "the save is inconsistent")
    if "beta" in need and list(map(str, post["beta"].coords.get("coef", post["beta"]).values)) != list(design.xnames):
        raise HierlmError(f"'{folder}/posterior.nc': the fixed effects are not named {list(design.xnames)}")


def load(path):
    """Read a fit written by ``fit.save(path)``.

    Parameters
    ----------
    path : str or Path
        The folder ``fit.save`` wrote (``~`` is expanded).

    Returns
    -------
    LmerFit, GlmerFit, ClmmFit, LmFit, GlmFit or BayesFit

    Raises
    ------
    HierlmError
        When the folder is not an intact hierlm save: a missing, truncated or changed file (checked
        by digest), an edited ``hierlm.json``, arrays whose shapes or names do not fit the model, or
        a save from a newer hierlm.

    Examples
    --------
    >>> import tempfile
    >>> import hierlm as hl
    >>> m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
    >>> path = m.save(tempfile.mkdtemp() + "/dyestuff")   # a folder: hierlm.json, data.nc, arrays.nc
    >>> back = hl.load(path)                              # nothing is refitted
    >>> back.formula, round(back.sigma(), 3)
    ('Yield ~ 1 + (1 | Batch)', 49.51)
    """
    folder, meta = read_meta(path)
    data = read_frame(folder, meta)
    weights = meta.get("weights")
    if weights is not None and (not isinstance(weights, list) or len(weights) != len(data)):
        raise HierlmError(f"'{folder}/hierlm.json': 'weights' must list one weight per data row ({len(data)})")
    wcol = meta.get("weights_column")
    if wcol is not None and (weights is None or not isinstance(wcol, str) or wcol not in data.columns):
        raise HierlmError(f"'{folder}/hierlm.json': 'weights_column' {str(wcol)[:60]!r} is not a column of the saved "
                          "data holding the saved weights")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warnings of the original fit (dropped rows, aliased columns)
        try:
            design = make_design(meta["formula"], data, weights=wcol if wcol is not None else
                                 None if weights is None else np.asarray(weights, float))
        except HierlmError as err:  # same class (a FormulaError stays one), with the file named
            raise type(err)(f"'{folder}/hierlm.json': the saved formula cannot be rebuilt on the saved data: "
                            f"{err}") from err
    if wcol is not None and not np.array_equal(design.weights, np.asarray(weights, float)):
        raise HierlmError(f"'{folder}/hierlm.json': the weights column {wcol!r} does not hold the saved weights; "
                          "the save is inconsistent")
    _check_design(folder, meta, design)
    kind = meta["kind"]
    if kind in {"LmerFit", "GlmerFit"}:
        return _frequentist(folder, kind, design, meta, read_arrays(folder, meta))
    if kind == "ClmmFit":
        return _ordinal(folder, design, meta, read_arrays(folder, meta))
    if kind == "BayesFit":
        return _bayes(folder, meta, design)
    if kind in {"LmFit", "GlmFit"}:
        return _regression(folder, kind, design, meta, read_arrays(folder, meta))
    raise HierlmError(f"'{folder}' holds an unknown kind of fit: {kind!r}")
