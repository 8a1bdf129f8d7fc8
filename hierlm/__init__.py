"""hierlm: lme4-style hierarchical regression, frequentist and Bayesian side by side.

This file is the table of contents.  The package is a pipeline of layers, each importing only from
the layers below it (checked by import-linter, ``pyproject.toml``)::

    formula   lme4 formula → response, fixed part, bars
    design    DataFrame → y, X, random-effects terms; families, responses, θ ↔ Σ conversions
    engines   frequentist (REML/ML, Laplace) | bayes (spec, priors, kernels, NUTS): solutions, never fits
    storage   the saved-fit format (JSON + netCDF)
    fits      LmerFit, GlmerFit, BayesFit and the entry points lmer, glmer, blmer: one protocol
    services  reports | inference | comparison | validation | plots
    io        load, datasets

Services that fits offer as methods (``fit.summary()``, ``fit.confint()``, ...) are bound here, by
name, to the fits' late-bound service table; they and the other heavy parts load on first use, so
``import hierlm`` stays fast.

>>> import hierlm as hl
>>> sleep = hl.load_dataset("sleepstudy")
>>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
>>> round(m.sigma(), 3)
25.592
"""

from ._version import __version__
from .design.family import family
from .engines.bayes.priors import Prior
from .errors import DataError, FormulaError, HierlmError, HierlmWarning, SamplingError, SamplingWarning
from .fits import BayesFit, ClmmFit, GlmerFit, GlmFit, LmerFit, LmFit, blmer, get_priors, glm, glmer, lm, lmer
from .fits.protocol import services as _services
from .formula import parse_formula
from .io.datasets import list_datasets, load_dataset

_services.bind(
    summary="hierlm.services.reports:summary",
    anova="hierlm.services.comparison:anova",
    ranova="hierlm.services.comparison:ranova",
    confint="hierlm.services.inference:confint",
    icc="hierlm.services.inference:icc",
    hypothesis="hierlm.services.inference:hypothesis",
)

# Public names imported on first use (they pull in scipy.stats, arviz-stats, xarray or matplotlib).
_LAZY = {
    "anova": "hierlm.services.comparison",
    "compare": "hierlm.services.comparison",
    "kfold": "hierlm.services.comparison",
    "KFold": "hierlm.services.comparison",
    "ComparisonTable": "hierlm.services.comparison",
    "side_by_side": "hierlm.services.comparison",
    "bootstrap_lrt": "hierlm.services.inference",
    "BootstrapLRT": "hierlm.services.inference",
    "icc": "hierlm.services.inference",
    "r2": "hierlm.services.inference",
    "load": "hierlm.io.load",
    "tidy": "hierlm.services.reports",
    "glance": "hierlm.services.reports",
    "power_sim": "hierlm.services.power",
    **{name: "hierlm.services.emmeans" for name in ("emmeans", "contrast", "emtrends", "ref_grid", "regrid")},
    **{name: "hierlm.services.plots" for name in ("plot_fixef", "plot_ranef", "plot_varcorr", "plot_shrinkage",
                                                  "plot_pooling", "plot_residuals", "plot_ppc", "plot_trace",
                                                  "plot_influence", "plot_predictions", "plot_power")},
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hierlm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "lmer",
    "glmer",
    "blmer",
    "lm",
    "glm",
    "family",
    "BayesFit",
    "Prior",
    "get_priors",
    "anova",
    "compare",
    "kfold",
    "KFold",
    "ComparisonTable",
    "side_by_side",
    "bootstrap_lrt",
    "BootstrapLRT",
    "icc",
    "r2",
    "tidy",
    "glance",
    "emmeans",
    "contrast",
    "emtrends",
    "ref_grid",
    "regrid",
    "power_sim",
    "load",
    "LmerFit",
    "GlmerFit",
    "ClmmFit",
    "LmFit",
    "GlmFit",
    "load_dataset",
    "list_datasets",
    "parse_formula",
    "HierlmError",
    "FormulaError",
    "DataError",
    "SamplingError",
    "HierlmWarning",
    "SamplingWarning",
    "plot_fixef",
    "plot_ranef",
    "plot_varcorr",
    "plot_shrinkage",
    "plot_pooling",
    "plot_residuals",
    "plot_ppc",
    "plot_trace",
    "plot_influence",
    "plot_predictions",
    "plot_power",
]
