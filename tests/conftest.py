"""Shared fixtures: lme4 reference values and datasets (the helpers themselves are in ``support.py``)."""

import sys

import pytest

import hierlm as hl
from support import REFS

_RECURSION_LIMIT = sys.getrecursionlimit()


@pytest.fixture(autouse=True)
def _restore_recursion_limit():
    """Importing pymc / pytensor raises Python's recursion limit for good (to 10000); put it back so the
    formula parser's nesting check (tests/formula) sees the default on every xdist worker."""
    yield
    sys.setrecursionlimit(_RECURSION_LIMIT)


@pytest.fixture(scope="session")
def refs():
    return REFS


@pytest.fixture(scope="session")
def sleep():
    return hl.load_dataset("sleepstudy")
