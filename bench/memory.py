"""Memory peak of the InstEval REML fit (fresh process: ru_maxrss, and tracemalloc over the fit).

The whole process, imports and data included, must stay under 1 GiB.  Writes
``bench/results/memory.json``.

``python -m bench.memory --bayes-1m`` (issue 19) measures instead the Bayesian fit of a
1,000,000-row crossed model (InstEval's structure × 14, simulated: ``scripts/bayes_memory.py``) at the
defaults with ``store_ranef=False``, in a fresh process; the limit is 8 GiB.  It takes tens of minutes
on 2 cores and writes ``bench/results/memory_bayes.json``.
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


BAYES_LIMIT_MIB = 8 * 1024


def run_bayes(K: int = 14, draws: int = 1000, store_ranef: bool = False, log=print) -> dict:
    """Peak RSS of ``hl.blmer`` on InstEval's structure × K (fresh process); limit 8 GiB."""
    out = {"description": "Bayesian fit of a 1,000,000-row crossed model (InstEval x 14), peak RSS",
           "limit_mib": BAYES_LIMIT_MIB}
    try:
        r = run_python("bayes_memory.py", str(K), str(draws), str(store_ranef), timeout=6 * 3600)
    except Exception as exc:  # noqa: BLE001
        out["error"] = str(exc)
        log(f"memory bayes: failed: {exc}")
        return out
    r["within_limit"] = r["maxrss_mib"] < BAYES_LIMIT_MIB
    out.update(r)
    log(f"memory bayes {r['rows']:,} rows: process peak {r['maxrss_mib']:.0f} MiB (before the fit "
        f"{r['maxrss_before_fit_mib']:.0f}), fit {r['fit_s']:.0f} s, route {(r.get('route') or {}).get('kernel')}, "
        f"max R-hat {r['max_rhat']:.4f}, min bulk ESS {r['min_ess_bulk']:.0f}; limit {BAYES_LIMIT_MIB} MiB")
    return out


def rows(result: dict) -> list[tuple]:
    return [(f"memory {c['data']} REML (process peak)", f"{c['maxrss_mib']:.0f} MiB", f"limit {LIMIT_MIB} MiB",
             c["maxrss_mib"] / LIMIT_MIB, 1.0) for c in result.get("cases", []) if "maxrss_mib" in c]


if __name__ == "__main__":  # pragma: no cover
    import sys

    from .common import write_result

    if "--bayes-1m" in sys.argv:
        write_result("memory_bayes", run_bayes())
    else:
        write_result("memory", run())
