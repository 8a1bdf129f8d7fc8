"""``hl.load``: a saved folder back to the fit it was, without refitting.

The design is rebuilt from the stored formula and data (formulas are interpreted by hierlm's own
evaluator, never ``eval``), then the fit from the stored numbers, so every extractor gives the same
numbers.  Loading sits at the top of the package because it builds fit objects of every kind; the
format itself is :mod:`hierlm.storage`'s.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..design import get_family, make_design, response_of
from ..engines.bayes.priors import Prior, PriorSet
from ..engines.bayes.spec import build_spec
from ..errors import HierlmError
from ..fits import BayesFit, GlmerFit, LmerFit
from ..storage import read_arrays, read_frame, read_meta, read_tree

__all__ = ["load"]


def _frequentist(kind: str, design, scalars: dict, arrays: dict):
    nb = sum(1 for k in arrays if k.startswith("b") and k[1:].isdigit())
    optinfo = dict(scalars.get("optinfo", {}))
    optinfo.update({k.split("__", 1)[1]: v for k, v in arrays.items() if k.startswith("optinfo__")})
    fam = get_family(scalars["family"])
    if scalars.get("nb_theta") is not None:
        fam = replace(fam, theta=scalars["nb_theta"])
    common = dict(design=design, theta=arrays["theta"], beta=arrays["beta"], b=[arrays[f"b{i}"] for i in range(nb)],
                  sigma_=scalars["sigma_"], vcov_beta=arrays["vcov_beta"], objective=scalars["objective"],
                  family=fam, optinfo=optinfo)
    if kind == "LmerFit":
        return LmerFit(**common, reml=scalars["reml"])
    _, resp = response_of(design, fam)
    ncv = sum(1 for k in arrays if k.startswith("cond_var"))
    return GlmerFit(**common, response=resp, nAGQ=scalars.get("nAGQ", 1), nb_theta=scalars.get("nb_theta"),
                    eta=arrays.get("eta"), mu=arrays.get("mu"),
                    cond_var_=[arrays[f"cond_var{i}"] for i in range(ncv)] or None)


def _bayes(path, meta: dict, design) -> BayesFit:
    info = meta["bayes"]
    fam, resp = response_of(design, info["family"])
    priors = PriorSet([dict(r, prior=Prior(r["prior"]["dist"], **r["prior"]["params"])) for r in info["priors"]])
    spec = build_spec(design, fam, resp, priors)
    for b, c in zip(spec.blocks, info["centred"]):
        b.centred = bool(c)
    spec.hier_centre = info["hier_centre"]
    return BayesFit(design, fam, resp, spec, read_tree(path), priors, info["settings"])


def load(path):
    """Read a fit written by ``fit.save(path)``.

    Parameters
    ----------
    path : str or Path
        The folder ``fit.save`` wrote.

    Returns
    -------
    LmerFit, GlmerFit or BayesFit

    Examples
    --------
    >>> import hierlm as hl, tempfile, os
    >>> m = hl.lmer("Yield ~ 1 + (1 | Batch)", hl.load_dataset("Dyestuff"))
    >>> back = hl.load(m.save(os.path.join(tempfile.mkdtemp(), "dyestuff")))
    >>> back.sigma() == m.sigma()
    True
    """
    meta = read_meta(path)
    data = read_frame(path, meta)
    weights = None if meta["weights"] is None else np.asarray(meta["weights"])
    design = make_design(meta["formula"], data, weights=weights)
    kind = meta["kind"]
    if kind in {"LmerFit", "GlmerFit"}:
        return _frequentist(kind, design, meta["fit"], read_arrays(path))
    if kind == "BayesFit":
        return _bayes(path, meta, design)
    raise HierlmError(f"'{path}' holds an unknown kind of fit: {kind!r}")
