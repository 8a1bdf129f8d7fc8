"""Layer 2, the model frame: DataFrame + formula → response, fixed-effects matrix and random-effects terms.

Imports only :mod:`hierlm.formula` (and :mod:`hierlm.errors`).  Besides the design itself
(:func:`make_design`), this layer holds what every engine shares about a model: the value and level
helpers (:mod:`.value`), families and links (:mod:`.family`), the response in a family's canonical
form (:mod:`.response`), the checks made before fitting (:mod:`.checks`) and the θ ↔ Λ ↔ Σ ↔ sd/cor
conversions in lme4's order (:mod:`.covariance`).
"""

from .build import Design, NewDesign, make_design
from .checks import check_gaussian_response, check_groups, check_model, check_rank, check_response
from .evaluate import Evaluator
from .family import FAMILIES, Family, Link, get_family
from .fixed import aliased_columns, contr_poly, model_matrix
from .predictor import linear_predictor, select_blocks
from .random import ReTerm
from .response import GlmResponse, prepare_response, response_of
from .value import Value, as_categorical, level_names

__all__ = [
    "Design",
    "NewDesign",
    "make_design",
    "check_groups",
    "check_model",
    "check_gaussian_response",
    "check_rank",
    "check_response",
    "Evaluator",
    "Value",
    "as_categorical",
    "level_names",
    "FAMILIES",
    "Family",
    "Link",
    "get_family",
    "GlmResponse",
    "prepare_response",
    "response_of",
    "linear_predictor",
    "select_blocks",
    "aliased_columns",
    "contr_poly",
    "model_matrix",
    "ReTerm",
]
