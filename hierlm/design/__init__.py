"""DataFrame → response, fixed-effects matrix and random-effects terms (level indices + columns)."""

from .build import Design, NewDesign, make_design
from .evaluate import Evaluator, Value, as_categorical
from .fixed import aliased_columns, contr_poly, model_matrix
from .random import ReTerm

__all__ = [
    "Design",
    "NewDesign",
    "make_design",
    "Evaluator",
    "Value",
    "as_categorical",
    "aliased_columns",
    "contr_poly",
    "model_matrix",
    "ReTerm",
]
