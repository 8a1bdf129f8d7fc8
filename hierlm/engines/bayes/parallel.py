"""Chunks of draws on several threads: the compiled draw functions release the GIL (``nogil=True``).

After sampling, the exact draws of the integrated-out random effects (:func:`.kernels_sparse.draw_z`,
:func:`.kernels_collapsed.draw_collapsed`) are independent per draw; :func:`ordered_map` spreads their
chunks over the usable cores and yields the results in order, so the random numbers, drawn by the caller
chunk by chunk, and the results are the same as on one thread.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

__all__ = ["ordered_map", "usable_cores"]


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def ordered_map(fn, items, workers: int | None = None):
    """``fn(item)`` for each item on up to ``workers`` threads (default :func:`usable_cores`), yielded in the
    items' order, with at most ``2 × workers`` results held at once."""
    workers = usable_cores() if workers is None else max(1, int(workers))
    if workers < 2:
        for item in items:
            yield fn(item)
        return
    pool = ThreadPoolExecutor(workers)
    try:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:  # a consumer that stops early (or an error) drops the chunks not yet started
        pool.shutdown(wait=True, cancel_futures=True)
