"""Layer 3, the engines: pure numerics that turn a design into a solution, never into a fit object.

* :mod:`.frequentist` — lme4's profiled deviance (REML/ML) and the Laplace / AGQ deviance of GLMMs;
* :mod:`.bayes` — the sampler's parameter layout, priors, compiled log-density kernels driven by
  nutpie's NUTS, the mirror PyMC model, and the posterior as an ArviZ DataTree.

The two engines do not import each other: the fits layer hands the frequentist solution to the
Bayesian engine as start values (:class:`hierlm.engines.bayes.spec.StartValues`).
"""
