"""Simulation-based power and Bayesian assurance: ``hl.power_sim`` (simr's ``powerSim`` / ``powerCurve`` /
``extend``).

* :mod:`.power` — the driver: simulate, refit, test, tabulate;
* :mod:`.testspec` — what ``test=`` means (fixed effect, random-effect term, model comparison);
* :mod:`.extend` — more or fewer levels / observations (``along=``, ``sizes=``);
* :mod:`.jobs` — the picklable batches of refits (LMM and GLMM);
* :mod:`.assurance` — Bayesian fits: assurance with ``hl.blmer`` refits;
* :mod:`.table` — power, its Clopper–Pearson interval, effect sizes.

The simulations run on any executor (:mod:`hierlm.services.executors`).
"""

from .extend import Extension, extend_data
from .power import power_sim
from .table import clopper_pearson, effect_sizes, power_table
from .testspec import PowerTest, parse_test

__all__ = ["power_sim", "clopper_pearson", "power_table", "effect_sizes", "extend_data", "Extension", "parse_test",
           "PowerTest"]
