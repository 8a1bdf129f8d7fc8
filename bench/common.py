"""Shared pieces of the benchmark suite: machine description, timing, subprocesses, R, results.

Every comparison is measured in the same run as its baseline (the machine is shared, so absolute
times drift with the load); summaries report the median with the range of the repetitions.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent
RESULTS = ROOT / "results"
SCRIPTS = ROOT / "scripts"

__all__ = ["ROOT", "RESULTS", "SCRIPTS", "NO_R", "machine", "load_average", "summary", "timed", "rscript",
           "run_r", "run_python", "export_csv", "write_result", "now"]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _cpu_model() -> str | None:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in ("hierlm", "numpy", "scipy", "pymc", "nutpie", "bambi", "statsmodels"):
        try:
            out[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - optional packages
            out[name] = None
    return out


def machine() -> dict:
    """Platform, CPU model (/proc/cpuinfo), cores, memory, load average now, package versions."""
    mem = None
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": mem,
        "load_average": load_average(),
        "versions": _versions(),
        "rscript": rscript(),
    }


def summary(seconds: list[float]) -> dict:
    """Median, min and max of repeated timings (seconds)."""
    return {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds), "n": len(seconds),
            "all": [round(s, 5) for s in seconds]}


def timed(fn, reps: int, warmup: int = 0) -> tuple[list[float], object]:
    """Wall-clock seconds of ``reps`` calls of fn() after ``warmup`` untimed ones; and the last result."""
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


NO_R: list[bool] = [False]  # set by ``--no-r``


def rscript() -> str | None:
    """Path of Rscript, or None (R parts are then skipped: R is never a dependency)."""
    return None if NO_R[0] else shutil.which("Rscript")


def run_r(script: str, *args: str, timeout: float = 3600) -> dict:
    """Run an R script of bench/r with arguments; it writes JSON to the path given as its last one."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "out.json"
        proc = subprocess.run([rscript(), str(ROOT / "r" / script), *args, str(out)], capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"Rscript {script} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads(out.read_text())


def run_python(script: str, *args: str, timeout: float = 3600, env: dict | None = None) -> dict:
    """Run bench/scripts/<script> in a fresh interpreter; it prints one JSON object as its last line."""
    proc = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=str(ROOT.parent))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{script} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def export_csv(df, path: pathlib.Path) -> list[str]:
    """Write a DataFrame for R; returns the columns R should turn into factors."""
    df.to_csv(path, index=False)
    return [c for c in df.columns if str(df[c].dtype) in ("category", "object", "bool")]


def write_result(name: str, result: dict) -> pathlib.Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(x):
    try:
        return x.item()  # numpy scalars
    except AttributeError:
        return str(x)
