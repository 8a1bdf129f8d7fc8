"""Layer 6, the top: loading saved fits (:func:`load`) and the bundled datasets (:func:`load_dataset`)."""

from .datasets import DATASETS, list_datasets, load_dataset
from .load import load

__all__ = ["load", "load_dataset", "list_datasets", "DATASETS"]
