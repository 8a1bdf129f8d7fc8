"""The datasets hierlm ships, loaded as lme4 users know them.

Columns that are factors in R are pandas categoricals, with levels ordered as R's ``factor()``
orders them (numerically for numeric-looking values, alphabetically otherwise); R's ordered
factors become plain categoricals.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from ..design.value import level_names, sort_levels
from ..errors import DataError, suggest

__all__ = ["DATASETS", "list_datasets", "load_dataset"]

#: name -> (factor columns, provenance)
DATASETS: dict[str, tuple[tuple[str, ...], str]] = {
    "sleepstudy": (("Subject",), "Reaction times under sleep deprivation (Belenky et al. 2003); lme4::sleepstudy"),
    "mtcars": ((), "Motor Trend 1974 road tests of 32 cars (Henderson & Velleman 1981); datasets::mtcars"),
    "Sitka": (("treat",), "Growth of Sitka spruce under ozone (Diggle, Liang & Zeger 1994); MASS::Sitka"),
    "Dyestuff": (("Batch",), "Yield of dyestuff by batch of intermediate product (Davies & Goldsmith 1972); lme4::Dyestuff"),
    "Penicillin": (("plate", "sample"), "Penicillin potency, crossed plates and samples (Davies & Goldsmith 1972); lme4::Penicillin"),
    "Pastes": (("batch", "cask", "sample"), "Paste strength, casks nested in batches (Davies & Goldsmith 1972); lme4::Pastes"),
    "cbpp": (("herd", "period"), "Contagious bovine pleuropneumonia incidence in Ethiopian herds (Lesnoff et al. 2004); lme4::cbpp"),
    "grouseticks": (("INDEX", "BROOD", "YEAR", "LOCATION"), "Ticks on red grouse chicks (Elston et al. 2001); lme4::grouseticks"),
    "InstEval": (("s", "d", "studage", "lectage", "service", "dept"), "Lecture evaluations at ETH Zurich, students x lecturers; lme4::InstEval"),
    "Orthodont": (("Subject", "Sex"), "Orthodontic growth, pituitary-pterygomaxillary distance (Potthoff & Roy 1964); nlme::Orthodont"),
    "Oats": (("Block", "Variety"), "Split-plot oats yield trial (Yates 1935); nlme::Oats"),
    "Machines": (("Worker", "Machine"), "Productivity scores of workers on three machines (Milliken & Johnson 1992); nlme::Machines"),
    "ChickWeight": (("Chick", "Diet"), "Weight of chicks on four diets (Crowder & Hand 1990); datasets::ChickWeight"),
    "VerbAgg": (("Gender", "item", "resp", "id", "btype", "situ", "mode", "r2"), "Verbal aggression questionnaire (De Boeck & Wilson 2004); lme4::VerbAgg"),
    "ergoStool": (("Type", "Subject"), "Effort to arise from four stool types (Pinheiro & Bates 2000); nlme::ergoStool"),
}


def list_datasets() -> pd.DataFrame:
    """The bundled datasets with their size and provenance.

    Returns
    -------
    DataFrame
        Indexed by name, with columns ``rows``, ``factors`` and ``source``.

    Examples
    --------
    >>> import hierlm as hl
    >>> hl.list_datasets().loc[["sleepstudy", "Penicillin"], ["rows", "factors"]]
                rows        factors
    name
    sleepstudy   180        Subject
    Penicillin   144  plate, sample
    """
    rows = []
    for name, (factors, source) in DATASETS.items():
        rows.append({"name": name, "rows": len(load_dataset(name)), "factors": ", ".join(factors), "source": source})
    return pd.DataFrame(rows).set_index("name")


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled dataset.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets` (e.g. ``"sleepstudy"``, ``"Sitka"``, ``"InstEval"``).

    Returns
    -------
    DataFrame
        Factor columns as categoricals with R's level order.

    Examples
    --------
    >>> import hierlm as hl
    >>> sleep = hl.load_dataset("sleepstudy")      # Subject: a categorical, levels in R's order
    >>> sleep.head(3)
       Reaction  Days Subject
    0  249.5600     0     308
    1  258.7047     1     308
    2  250.8006     2     308
    """
    if not isinstance(name, str):
        raise DataError(f"load_dataset() takes a dataset's name as a string, not {type(name).__name__}; "
                        f"one of: {', '.join(DATASETS)}")
    if name not in DATASETS:
        raise DataError(f"no dataset called '{name}'.{suggest(name, DATASETS)} Available: {', '.join(DATASETS)}")
    factors, _ = DATASETS[name]
    files = resources.files("hierlm") / "data"
    path = files / f"{name}.csv"
    if not path.is_file():
        path = files / f"{name}.csv.gz"
    with resources.as_file(path) as p:
        df = pd.read_csv(p, dtype={c: str for c in factors})
    for c in factors:
        levels = level_names(sort_levels(list(df[c].dropna().unique())))
        df[c] = pd.Categorical(df[c], categories=levels)
    return df
