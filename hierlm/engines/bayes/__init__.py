"""Layer 3b, the Bayesian engine: model → draws → posterior.

* :mod:`.priors` — default and user priors (:class:`Prior`);
* :mod:`.spec` — design + family + priors → the parameter layout shared by the kernels and the
  mirror model; centring and start points;
* :mod:`.kernel_parts`, :mod:`.kernels`, :mod:`.kernels_marginal`, :mod:`.kernels_sparse`,
  :mod:`.kernels_collapsed`, :mod:`.shear` — fused numba log-density and gradient kernels (joint
  route; random effects integrated out for one grouping factor, for any Gaussian model through a
  sparse Cholesky, or for one grouping factor only);
* :mod:`.sparse_chol` — the block-sparse Cholesky (minimum-degree order, symbolic factorisation,
  numeric refactorisation, selected inverse) of the integrated-out route;
* :mod:`.route` — which route samples a model, estimated from the factor's fill and the levels;
* :mod:`.nutpie_core` — nutpie's Rust NUTS driven with a compiled log-density pointer;
* :mod:`.pymc_model` — the equivalent ``pymc.Model``, and the PyMC samplers;
* :mod:`.sample` — the routes, run (imports numba: loaded on the first fit);
* :mod:`.posterior` — draws → ArviZ DataTree (posterior, sample_stats, log_likelihood, ...);
* :mod:`.diagnostics` — R-hat, ESS and boundary pile-ups;
* :mod:`.warmup` — compile the kernels once (``python -m hierlm.engines.bayes.warmup``).
"""
