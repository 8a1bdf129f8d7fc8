"""hierlm's Bayesian engine: :func:`blmer` and :class:`BayesFit`.

Modules: :mod:`.spec` (parameter layout, centring), :mod:`.kernel_parts` / :mod:`.kernels` /
:mod:`.kernels_marginal` / :mod:`.shear` (compiled log densities), :mod:`.nutpie_core` (sampler
driver), :mod:`.pymc_model` (mirror PyMC model), :mod:`.posterior` (DataTree), :mod:`.diagnostics`,
:mod:`.fit`, :mod:`.summary`, :mod:`.blmer` (entry point), :mod:`.warmup` (compile the kernels once).
Importing this package is cheap: the compiled kernels load on first use.
"""

from .blmer import blmer
from .fit import BayesFit

__all__ = ["BayesFit", "blmer"]
