"""engines/bayes/parallel.ordered_map: results in order on any number of threads, early stop drops the rest."""

import threading
import time

from hierlm.engines.bayes.parallel import ordered_map


def _slow_square(i):
    time.sleep(0.002 * ((7 * i) % 5))  # finishing out of order
    return i * i


def test_ordered_map_keeps_order_on_any_thread_count():
    want = [i * i for i in range(40)]
    for workers in (1, 2, 4):
        assert list(ordered_map(_slow_square, range(40), workers)) == want


def test_ordered_map_early_stop_runs_at_most_the_window():
    started = []
    lock = threading.Lock()

    def f(i):
        with lock:
            started.append(i)
        time.sleep(0.01)
        return i

    gen = ordered_map(f, range(1000), 2)
    assert [next(gen) for _ in range(3)] == [0, 1, 2]
    gen.close()
    assert len(started) <= 3 + 2 * 2 + 1  # the window of 2 × workers, not the 1,000 items
