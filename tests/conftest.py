"""Shared fixtures: lme4 reference values and datasets (the helpers themselves are in ``support.py``)."""

import pytest

import hierlm as hl
from support import REFS


@pytest.fixture(scope="session")
def refs():
    return REFS


@pytest.fixture(scope="session")
def sleep():
    return hl.load_dataset("sleepstudy")
