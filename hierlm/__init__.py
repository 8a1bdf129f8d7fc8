"""hierlm: lme4-style hierarchical regression, the Bayesian way."""

from .datasets import list_datasets, load_dataset
from .errors import DataError, FormulaError, HierlmError, HierlmWarning, SamplingError
from .formula import parse_formula

__version__ = "0.1.0"

__all__ = [
    "load_dataset",
    "list_datasets",
    "parse_formula",
    "HierlmError",
    "FormulaError",
    "DataError",
    "SamplingError",
    "HierlmWarning",
]
