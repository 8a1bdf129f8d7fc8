"""Peak memory of one REML fit, in a fresh process: ru_maxrss and tracemalloc.

Usage: python reml_memory.py DATASET "FORMULA"; prints one JSON line.
"""

import json
import resource
import sys
import time
import tracemalloc


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


data, formula = sys.argv[1], sys.argv[2]
import hierlm as hl  # noqa: E402

df = hl.load_dataset(data)
before = rss_mib()
tracemalloc.start()
t0 = time.perf_counter()
m = hl.lmer(formula, df)
seconds = time.perf_counter() - t0
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({"data": data, "formula": formula, "maxrss_before_fit_mib": before, "maxrss_mib": rss_mib(),
                  "fit_increment_mib": rss_mib() - before, "tracemalloc_peak_mib": peak / 2**20,
                  "seconds_with_tracemalloc": seconds, "sigma": m.sigma()}))
