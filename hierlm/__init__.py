"""hierlm: lme4-style hierarchical regression, the Bayesian way.

>>> import hierlm as hl
>>> sleep = hl.load_dataset("sleepstudy")
>>> m = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
>>> round(m.sigma(), 3)
25.592
"""

from .bootstrap import BootstrapLRT, bootstrap_lrt
from .compare import anova
from .datasets import list_datasets, load_dataset
from .errors import DataError, FormulaError, HierlmError, HierlmWarning, SamplingError
from .fits import GlmerFit, LmerFit
from .formula import parse_formula
from .inference import icc
from .io import load
from .reml import glmer, lmer

__version__ = "0.1.0"

__all__ = [
    "lmer",
    "glmer",
    "anova",
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
]
