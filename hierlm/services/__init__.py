"""Layer 5, the services: what a course or a paper does after the fit, over the fit protocol.

* :mod:`.reports` — summaries laid out as lme4's and brms's;
* :mod:`.inference` — confidence intervals, the parametric bootstrap, ICC, hypotheses;
* :mod:`.comparison` — anova (LRT), LOO / WAIC / K-fold, frequentist beside Bayesian;
* :mod:`.validation` — prior simulation, SBC, parameter recovery;
* :mod:`.plots` — the pictures the courses use.

Each imports the fits and engines below it; ``plots`` and ``reports`` sit above ``comparison``, which
sits above ``inference`` and ``validation`` (the import-linter contract in ``pyproject.toml``).
Nothing here is imported by ``import hierlm``: the package's ``__init__`` loads a service on first use.
"""
