"""hierlm: lme4-style hierarchical regression, the Bayesian way.

>>> import hierlm as hl
>>> sleep = hl.load_dataset("sleepstudy")
>>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
>>> round(m.sigma(), 3)
25.592
"""

from .bayes import BayesFit, blmer
from .compare import anova
from .datasets import list_datasets, load_dataset
from .errors import DataError, FormulaError, HierlmError, HierlmWarning, SamplingError, SamplingWarning
from .fits import GlmerFit, LmerFit
from .formula import parse_formula
from .priors import Prior, get_priors
from .reml import glmer, lmer

__version__ = "0.1.0"
del compare  # noqa: F821  (the submodule, lme4's anova; ``hl.compare`` is the LOO comparison, lazily from .loo)

# Imported on first use, to keep ``import hierlm`` (and a cold Bayesian fit) fast.
_LAZY = {
    "bootstrap_lrt": "bootstrap", "BootstrapLRT": "bootstrap", "icc": "inference", "load": "io",
    "compare": "loo", "kfold": "crossval", "KFold": "crossval", "ComparisonTable": "loo_table", "side_by_side": "freq_bayes",
    **{name: "plots" for name in ("plot_fixef", "plot_ranef", "plot_varcorr", "plot_shrinkage",
                                  "plot_pooling", "plot_residuals", "plot_ppc", "plot_trace")},
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hierlm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "lmer",
    "glmer",
    "blmer",
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
    "load",
    "LmerFit",
    "GlmerFit",
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
]
