"""Drive nutpie's Rust NUTS sampler directly with a compiled log-density function pointer.

This uses nutpie's private extension module ``nutpie._lib`` (the path its own
``compile_pymc_model`` takes), loaded *without* running ``nutpie/__init__`` (which imports ArviZ,
about 2.5 s).  Because the API is private, ``pyproject.toml`` pins ``nutpie==0.16.*`` and
``tests/test_bayes_core.py`` exercises this module.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

import numpy as np

from ...errors import SamplingError
from .kernel_parts import c_expand

__all__ = ["STAT_NAMES", "load_lib", "run_nuts"]

# nutpie's sample-stat names -> the names hierlm's DataTree uses (ArviZ conventions)
STAT_NAMES = {"diverging": "diverging", "n_steps": "n_steps", "depth": "tree_depth",
              "maxdepth_reached": "reached_max_treedepth", "step_size": "step_size", "logp": "lp",
              "energy": "energy", "mean_tree_accept": "acceptance_rate"}

_PROGRESS_HTML = """<div><b>hierlm NUTS</b> {{ total_finished_draws }} / {{ total_draws }} draws,
{{ finished_chains }} of {{ num_chains }} chains done, {{ time_sampling }} elapsed, about
{{ time_remaining_estimate }} left<br><progress max="{{ total_draws }}" value="{{ total_finished_draws }}"
style="width:60%"></progress><table>{% for chain in chains %}<tr><td>chain {{ loop.index0 }}</td><td>
<progress max="{{ chain.total_draws }}" value="{{ chain.finished_draws }}"></progress></td>
<td>{{ chain.finished_draws }} draws</td><td>{{ chain.divergences }} divergences</td>
<td>{{ chain.latest_num_steps }} steps</td></tr>{% endfor %}</table></div>"""


def load_lib():
    """nutpie's Rust extension, without importing the ``nutpie`` package (and ArviZ)."""
    if "nutpie._lib" in sys.modules:
        return sys.modules["nutpie._lib"]
    if "nutpie" in sys.modules and hasattr(sys.modules["nutpie"], "_lib"):
        return sys.modules["nutpie"]._lib
    found = importlib.util.find_spec("nutpie")
    if found is None:
        raise SamplingError("nutpie is not installed: pip install 'nutpie==0.16.*'")
    pkg = types.ModuleType("nutpie")
    pkg.__path__ = list(found.submodule_search_locations)
    sys.modules["nutpie"] = pkg
    try:
        import nutpie._lib as lib
    finally:
        del sys.modules["nutpie"]  # a later ``import nutpie`` runs the real __init__ and reuses _lib
    return lib


def _in_notebook() -> bool:
    ip = sys.modules.get("IPython")
    try:
        shell = ip.get_ipython() if ip is not None else None
    except Exception:  # pragma: no cover - exotic shells
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _progress(lib, progressbar: bool, cores: int):
    """nutpie progress type: HTML in notebooks, a terminal bar on a TTY, nothing otherwise."""
    if not progressbar:
        return lib.ProgressType.none()
    if _in_notebook():
        from IPython.display import HTML, display

        handle = display(HTML("hierlm NUTS: starting"), display_id=True)

        def callback(formatted):
            try:
                handle.update(HTML(formatted))
            except Exception:  # pragma: no cover - display glitches must not stop sampling
                pass

        return lib.ProgressType.template_callback(250, _PROGRESS_HTML, cores, callback)
    if sys.stderr is not None and sys.stderr.isatty():
        return lib.ProgressType.indicatif(250)
    return lib.ProgressType.none()


def run_nuts(logp_address: int, user_data: int, keepalive, ndim: int, init, *, draws: int, tune: int, chains: int,
             cores: int, seed: int, target_accept: float = 0.8, progressbar: bool = False, mass_matrix: str = "diag",
             transform=None, **settings):
    """Sample with nutpie's NUTS (diagonal mass matrix adaptation).

    Parameters
    ----------
    logp_address : int
        Address of a C function ``int64 logp(uint64 dim, double* x, double* grad, double* logp, void* data)``.
    user_data : int
        The pointer passed as ``data``.
    keepalive : object
        Arrays the pointers refer to (kept alive by nutpie while it samples).
    ndim : int
    init : callable
        ``init(seed) -> ndarray (ndim,)`` initial point of a chain.
    transform : callable, optional
        ``transform(chain, draws (draws, ndim)) -> ndarray``, applied to each chain's kept draws as
        they are read (e.g. to summarise the random effects instead of storing them); its results
        are stacked instead of the draws.
    settings
        Further nutpie settings (``maxdepth``, ...).

    Returns
    -------
    draws : ndarray (chains, draws, ndim), or the stacked results of ``transform``
    stats : dict of ndarray (chains, draws)
    """
    import pyarrow as pa

    lib = load_lib()
    logp_fn = lib.LogpFunc(logp_address, user_data, keepalive)
    expand_fn = lib.ExpandFunc(ndim, ndim, c_expand.address, user_data, keepalive)
    sizes = {"unc": ndim}
    variables = lib.PyVariable.new_variables(["__x"], ["float64"], [(ndim,)], sizes, {"__x": ["unc"]})
    model = lib.PyMcModel(logp_fn, expand_fn, variables, ndim, sizes, {}, init, None)
    st = (lib.PyNutsSettings.LowRank if mass_matrix == "low_rank" else lib.PyNutsSettings.Diag)(int(seed))
    st.update(dict(num_tune=int(tune), num_draws=int(draws), num_chains=int(chains),
                   target_accept=float(target_accept), **settings))
    try:
        sampler = lib.PySampler.from_pymc(st, int(cores), model, _progress(lib, progressbar, cores), None, 100,
                                          lib.PyStorage.arrow())
        try:
            sampler.wait(None)
        except KeyboardInterrupt:
            sampler.abort()
            raise
        results = sampler.take_results()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:
        # the Rust sampler raises RuntimeError / ValueError, and on an internal assertion a PanicException,
        # which derives from BaseException
        if not isinstance(err, (RuntimeError, ValueError)) and type(err).__name__ != "PanicException":
            raise
        raise SamplingError(f"the NUTS sampler stopped: {err}. This usually means the log density is not finite at "
                            "the initial point; try init='random' or check the data for extreme values") from err
    draw_batches, stat_batches = results.get_arrow_trace()
    draw_batches = list(draw_batches)
    del results
    out, stats, got = None, {}, []
    for c, sb in enumerate(stat_batches):
        db = draw_batches[c]
        col = pa.array(db.column("__x"))
        arr = col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), ndim)
        keep = ~pa.array(sb.column("tuning")).to_numpy(zero_copy_only=False).astype(bool)
        got.append(int(keep.sum()))
        if got[-1] == draws and c < chains:
            kept = arr[keep] if transform is None else transform(c, arr[keep])
            if out is None:  # one array for all chains: no second copy of the draws
                out = np.empty((chains,) + kept.shape, kept.dtype)
            out[c] = kept
        del arr, col, db
        draw_batches[c] = None  # the chain's Arrow buffers go as soon as they are copied
        for name, ours in STAT_NAMES.items():
            if name in sb.column_names:
                stats.setdefault(ours, []).append(pa.array(sb.column(name)).to_numpy(zero_copy_only=False)[keep])
    if len(got) != chains or any(g != draws for g in got):
        raise SamplingError(f"sampling was interrupted: got {got} draws per chain")
    return out, {k: np.stack(v) for k, v in stats.items()}


def default_cores(chains: int) -> int:
    """One core per chain, at most the machine's cores."""
    return max(1, min(chains, os.cpu_count() or 1))
