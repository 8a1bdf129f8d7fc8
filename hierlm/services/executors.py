"""Many-fit workloads on any executor: serial, a local process pool, any ``concurrent.futures.Executor``,
or a Dask ``distributed.Client``.

Power simulations, parametric bootstraps, cross-validation and calibration runs all do the same
thing: one *job* (a picklable callable holding the model structure — the design, the engine's
problem, the warm start) applied to many *items* (seeds, response vectors, folds).
:func:`run_batches` sends the items in batches (not one task per refit) and gives the job's results
back in the items' order, so a result depends only on the items and never on the executor, the
number of workers or how the items were split — each simulation draws from its own
:class:`numpy.random.SeedSequence` (:func:`hierlm.fits.simulate.seed_children`), and every batch
runs with one BLAS thread, so the numbers are the same bit for bit.

The job travels once per worker, not once per task:

* ``executor=None, n_jobs=k`` (k > 1): a local spawn process pool whose initializer installs the
  job in each worker process;
* a Dask ``Client`` (or its ``get_executor()``): the job is scattered to every worker
  (``client.scatter(job, broadcast=True)``) and each batch is a task referring to that future;
* a ``ThreadPoolExecutor``: the job object itself (each thread works on its own copy);
* any other ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor`` you made, loky, ...): the job
  is pickled once here; the bytes go with each batch and are unpickled once per worker thread.

A progress bar shows on long runs (after one second) in terminals and notebooks; ``progressbar=False``
turns it off.  The jobs count their own failed refits (a NaN row, an error entry): nothing is dropped.
"""

from __future__ import annotations

import copy
import copyreg
import multiprocessing as mp
import os
import pickle
import sys
import threading
import time
import uuid
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..design.family import LINKS, Link
from ..errors import HierlmError

__all__ = ["Plan", "Progress", "check_executor", "run_batches", "split"]


# -- pickling: links travel by name ----------------------------------------------------------------
def _link_named(name: str) -> Link:
    return LINKS[name]


def _reduce_link(link: Link):
    """A family's link is a table entry of numpy functions (some lambdas): pickle it by its name."""
    if LINKS.get(link.name) is not link:
        raise HierlmError(f"cannot send the link '{link.name}' to other processes: it is not one of {sorted(LINKS)}")
    return _link_named, (link.name,)


def _links_pickle() -> bool:
    try:
        pickle.dumps(list(LINKS.values()))
        return True
    except (pickle.PicklingError, AttributeError, TypeError):
        return False


if not _links_pickle():  # fits, families and GLMM problems can then go to worker processes
    copyreg.pickle(Link, _reduce_link)


# -- what to run on -------------------------------------------------------------------------------
@dataclass
class Plan:
    """Where the batches run: ``kind`` is ``"serial"``, ``"local"`` (n_jobs processes), ``"threads"``,
    ``"executor"`` (any other Executor) or ``"dask"``; ``workers`` the number of workers (an estimate
    for foreign executors)."""

    kind: str
    workers: int
    executor: object = None
    client: object = None


def _is_dask_client(obj) -> bool:
    return type(obj).__module__.startswith("distributed") and type(obj).__name__ == "Client"


def _dask_client(obj):
    """The Dask client behind ``obj`` (a Client or a ClientExecutor), else None."""
    if _is_dask_client(obj):
        return obj
    if type(obj).__module__.startswith("distributed") and type(obj).__name__ == "ClientExecutor":
        return obj._client
    return None


def _n_jobs(n_jobs) -> int:
    if n_jobs is None or (isinstance(n_jobs, (int, np.integer)) and not isinstance(n_jobs, bool) and n_jobs == 1):
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise HierlmError(f"n_jobs must be None, a positive integer or -1 (all cores), not {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


def check_executor(executor=None, n_jobs=None) -> Plan:
    """Validate ``executor=`` / ``n_jobs=`` and say where the batches will run.

    Parameters
    ----------
    executor : None, concurrent.futures.Executor or distributed.Client
        ``None``: in this process (or a local pool of ``n_jobs`` processes).
    n_jobs : int, optional
        Local worker processes when no executor is given (``None``/1: serial, -1: all cores).

    Returns
    -------
    Plan

    Examples
    --------
    >>> check_executor().kind, check_executor(n_jobs=2).workers
    ('serial', 2)
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(3) as pool:
    ...     check_executor(pool).kind, check_executor(pool).workers
    ('threads', 3)
    >>> check_executor("dask")
    Traceback (most recent call last):
    ...
    hierlm.errors.HierlmError: executor must be a concurrent.futures.Executor (e.g. ProcessPoolExecutor(4)) or a Dask distributed.Client (or its get_executor()), not str
    """
    workers = _n_jobs(n_jobs)
    if executor is None:
        return Plan("serial", workers) if workers <= 1 else Plan("local", workers)
    if n_jobs is not None and workers != 1:
        raise HierlmError("give either executor= or n_jobs=, not both (n_jobs makes a local process pool; "
                          "an executor brings its own workers)")
    client = _dask_client(executor)
    if client is not None:
        try:
            nw = sum(client.nthreads().values())
        except Exception:  # noqa: BLE001 - a client that cannot answer still runs tasks
            nw = 1
        return Plan("dask", max(1, nw), executor, client)
    if not isinstance(executor, Executor):
        raise HierlmError("executor must be a concurrent.futures.Executor (e.g. ProcessPoolExecutor(4)) or a Dask "
                          f"distributed.Client (or its get_executor()), not {type(executor).__name__}")
    nw = int(getattr(executor, "_max_workers", 0) or os.cpu_count() or 1)
    return Plan("threads" if isinstance(executor, ThreadPoolExecutor) else "executor", nw, executor)


def split(items: list, nbatches: int) -> list[list]:
    """``items`` in ``nbatches`` contiguous, near-equal batches (order kept).

    Examples
    --------
    >>> [len(b) for b in split(list(range(10)), 3)]
    [3, 3, 4]
    """
    nbatches = max(1, min(len(items), int(nbatches)))
    bounds = np.linspace(0, len(items), nbatches + 1).astype(int)
    return [items[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


# -- one BLAS thread per batch ---------------------------------------------------------------------
_CONTROLLER: list = []


@contextmanager
def one_blas_thread():
    """One BLAS thread inside (results then do not depend on how many threads BLAS would use)."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _CONTROLLER.append(None)
    if _CONTROLLER[0] is None:  # pragma: no cover
        yield
        return
    with _CONTROLLER[0].limit(limits=1, user_api="blas"):
        yield


def _call(job, batch):
    with one_blas_thread():
        return job(batch)


# -- worker side -----------------------------------------------------------------------------------
_JOB: list = [None]  # the job of a local pool's worker process (installed by its initializer)
_THREAD = threading.local()  # per thread: token -> private copy of a job


def _init_worker(job) -> None:
    _JOB[0] = job


def _run_installed(batch):
    return _call(_JOB[0], batch)


def _thread_job(token: str, make):
    jobs = getattr(_THREAD, "jobs", None)
    if jobs is None:
        jobs = _THREAD.jobs = {}
    if token not in jobs:
        while len(jobs) >= 4:  # keep the few latest jobs only
            jobs.pop(next(iter(jobs)))
        jobs[token] = make()
    return jobs[token]


class _Shipped:
    """A job with a token; each thread that runs it works on its own copy."""

    def __init__(self, job):
        self.token, self.job = uuid.uuid4().hex, job


def _run_shipped(shipped: _Shipped, batch):
    return _call(_thread_job(shipped.token, lambda: copy.deepcopy(shipped.job)), batch)


def _run_pickled(token: str, payload: bytes, batch):
    return _call(_thread_job(token, lambda: pickle.loads(payload)), batch)


# -- progress --------------------------------------------------------------------------------------
def _in_notebook() -> bool:
    ip = sys.modules.get("IPython")
    try:
        shell = ip.get_ipython() if ip is not None else None
    except Exception:  # pragma: no cover - exotic shells
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _clock(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class Progress:
    """A small progress bar: HTML in notebooks, one rewritten line on a terminal (stderr), else nothing.

    It appears only once a run has taken ``delay`` seconds, and redraws at most every ``every`` seconds.

    Parameters
    ----------
    total : int
    desc : str
    enabled : bool
    mode : {"auto", "terminal", "notebook", "text"}
        ``"auto"`` picks the notebook or terminal form, or nothing when stderr is not a terminal;
        ``"text"`` writes to ``stream`` whatever it is (tests).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progress(4, "refits", mode="text", stream=out, delay=0)
    >>> for _ in range(4):
    ...     bar.update(1)
    >>> bar.close()
    >>> out.getvalue().splitlines()[-1].startswith("refits: 4/4 |")
    True
    """

    def __init__(self, total: int, desc: str = "", enabled: bool = True, mode: str = "auto", stream=None,
                 delay: float = 1.0, every: float = 0.25, width: int = 24):
        self.total, self.desc, self.done = int(total), desc, 0
        self.t0 = time.perf_counter()
        self.delay, self.every, self.width, self.last = delay, every, width, -np.inf
        self.stream = stream if stream is not None else sys.stderr
        self.handle, self.shown = None, False
        if not enabled:
            mode = None
        elif mode == "auto":
            tty = self.stream is not None and getattr(self.stream, "isatty", lambda: False)()
            mode = "notebook" if _in_notebook() else "terminal" if tty else None
        self.mode = mode

    def text(self) -> str:
        el = time.perf_counter() - self.t0
        frac = self.done / self.total if self.total else 1.0
        fill = int(round(frac * self.width))
        eta = el / frac - el if 0 < frac < 1 else 0.0
        return (f"{self.desc}: {self.done}/{self.total} |{'█' * fill}{' ' * (self.width - fill)}| "
                f"{100 * frac:3.0f}% [{_clock(el)}<{_clock(eta)}]")

    def _draw(self, final: bool = False) -> None:
        if self.mode is None:
            return
        now = time.perf_counter()
        if not final and (now - self.t0 < self.delay or now - self.last < self.every):
            return
        if final and not self.shown:
            return
        self.last, self.shown = now, True
        if self.mode == "notebook":
            from IPython.display import HTML, display

            html = HTML(f"<progress max='{self.total}' value='{self.done}' style='width:40%'></progress> "
                        f"<code>{self.text()}</code>")
            try:
                if self.handle is None:
                    self.handle = display(html, display_id=True)
                else:
                    self.handle.update(html)
            except Exception:  # pragma: no cover - display glitches must not stop the work
                pass
            return
        self.stream.write(("\r" if self.mode == "terminal" else "") + self.text() + ("\n" if self.mode == "text" else ""))
        self.stream.flush()

    def update(self, k: int) -> None:
        self.done += int(k)
        self._draw()

    def close(self) -> None:
        self._draw(final=True)
        if self.shown and self.mode == "terminal":
            self.stream.write("\n")
            self.stream.flush()


# -- the driver ------------------------------------------------------------------------------------
def run_batches(job, items: list, executor=None, n_jobs=None, progressbar: bool = False, desc: str = "refits",
                nbatches: int | None = None) -> list:
    """Apply ``job`` to ``items`` in batches on an executor; the outputs in the items' order.

    Parameters
    ----------
    job : callable
        ``job(batch) -> sequence`` with one result per item of the batch; picklable for process
        pools and Dask.  It must catch the failures of single items itself (and mark them).
    items : list
        Seeds, response vectors, folds, ...
    executor : None, concurrent.futures.Executor or distributed.Client
        See :func:`check_executor`.
    n_jobs : int, optional
        Local processes when ``executor`` is None.
    progressbar : bool
        Show a progress bar (terminals and notebooks) once the run has taken a second.
    desc : str
        Label of the progress bar.
    nbatches : int, optional
        Number of batches (default: about 50 in a single process, 8 per worker otherwise).

    Returns
    -------
    list
        One output of ``job`` per batch, in order (``np.vstack`` them, or chain them).

    Examples
    --------
    >>> def square(batch):
    ...     return [x * x for x in batch]
    >>> [y for out in run_batches(square, list(range(6)), nbatches=4) for y in out]
    [0, 1, 4, 9, 16, 25]
    """
    plan = check_executor(executor, n_jobs)
    items = list(items)
    if not items:
        return []
    nb = nbatches or (min(50, len(items)) if plan.kind == "serial" else 8 * plan.workers)
    batches = split(items, nb)
    bar = Progress(len(items), desc, enabled=progressbar)
    try:
        if plan.kind == "serial":
            outs = []
            with one_blas_thread():
                for b in batches:
                    outs.append(job(b))
                    bar.update(len(b))
            return outs
        if plan.kind == "dask":
            return _run_dask(plan.client, job, batches, bar)
        if plan.kind == "local":
            env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
            for k in env:
                os.environ.setdefault(k, "1")
            try:
                with ProcessPoolExecutor(min(plan.workers, len(batches)), mp_context=mp.get_context("spawn"),
                                         initializer=_init_worker, initargs=(job,)) as pool:
                    return _collect([pool.submit(_run_installed, b) for b in batches], batches, bar)
            finally:
                for k, v in env.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        if plan.kind == "threads":
            shipped = _Shipped(job)
            return _collect([plan.executor.submit(_run_shipped, shipped, b) for b in batches], batches, bar)
        token, payload = uuid.uuid4().hex, pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        return _collect([plan.executor.submit(_run_pickled, token, payload, b) for b in batches], batches, bar)
    finally:
        bar.close()


def _collect(futures: list, batches: list, bar: Progress) -> list:
    index = {id(f): i for i, f in enumerate(futures)}
    try:
        for f in as_completed(futures):
            bar.update(len(batches[index[id(f)]]))
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise


def _run_dask(client, job, batches: list, bar: Progress) -> list:
    from distributed import as_completed as dask_completed

    remote = client.scatter(_Shipped(job), broadcast=True, hash=False)
    futures = [client.submit(_run_shipped, remote, b, pure=False) for b in batches]
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        for f in dask_completed(futures):
            bar.update(len(batches[index[f.key]]))
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.cancel(remote)
