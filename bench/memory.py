"""Memory peak of the InstEval REML fit (fresh process: ru_maxrss, and tracemalloc over the fit).

The whole process, imports and data included, must stay under 1 GiB.  Writes
``bench/results/memory.json``.
"""

from __future__ import annotations

from .common import run_python

LIMIT_MIB = 1024
CASES = [("InstEval", "y ~ service + (1|s) + (1|d) + (1|dept)")]


def run(quick: bool = False, log=print) -> dict:
    out = {"description": __doc__.splitlines()[0], "limit_mib": LIMIT_MIB, "cases": []}
    for data, formula in CASES:
        try:
            r = run_python("reml_memory.py", data, formula)
        except Exception as exc:  # noqa: BLE001
            out["cases"].append({"data": data, "error": str(exc)})
            log(f"memory {data}: failed: {exc}")
            continue
        r["within_limit"] = r["maxrss_mib"] < LIMIT_MIB
        out["cases"].append(r)
        log(f"memory {data}: process peak {r['maxrss_mib']:.0f} MiB (before the fit {r['maxrss_before_fit_mib']:.0f}), "
            f"tracemalloc peak during the fit {r['tracemalloc_peak_mib']:.0f} MiB; limit {LIMIT_MIB} MiB")
    return out


def rows(result: dict) -> list[tuple]:
    return [(f"memory {c['data']} REML (process peak)", f"{c['maxrss_mib']:.0f} MiB", f"limit {LIMIT_MIB} MiB",
             c["maxrss_mib"] / LIMIT_MIB, 1.0) for c in result.get("cases", []) if "maxrss_mib" in c]
