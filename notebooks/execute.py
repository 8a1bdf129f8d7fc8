"""Execute the course notebooks with nbclient and store their outputs.

Usage (from the repository root, with the project's virtual environment)::

    .venv/bin/python notebooks/execute.py              # every notebook, full draws, outputs stored in place
    .venv/bin/python notebooks/execute.py 02 06        # only the notebooks whose name starts so
    .venv/bin/python notebooks/execute.py --fast --out /tmp/nb   # CI's small mode, copies written to /tmp/nb

Full mode unsets ``HIERLM_NOTEBOOK_FAST`` (1000 draws and 1000 warm-up iterations per chain,
1000 bootstrap replicates); ``--fast`` sets it to ``1`` (200 + 200 draws, 50 replicates).  The
notebooks run one after another (one kernel at a time) with the notebook's folder as working
directory, and the seconds each took are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def execute(path: Path, out: Path, fast: bool, timeout: int = 3600) -> float:
    """Run ``path`` top to bottom in a fresh ``python3`` kernel; write the executed notebook to ``out``."""
    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("HIERLM_NOTEBOOK_FAST")
    if fast:
        os.environ["HIERLM_NOTEBOOK_FAST"] = "1"
    else:
        os.environ.pop("HIERLM_NOTEBOOK_FAST", None)
    start = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(out.parent)}})
        client.execute()
    finally:
        if env_before is None:
            os.environ.pop("HIERLM_NOTEBOOK_FAST", None)
        else:
            os.environ["HIERLM_NOTEBOOK_FAST"] = env_before
    seconds = time.perf_counter() - start
    nbformat.write(nb, out)
    return seconds


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="notebook name prefixes (default: all)")
    ap.add_argument("--fast", action="store_true", help="small mode (HIERLM_NOTEBOOK_FAST=1)")
    ap.add_argument("--out", type=Path, help="write executed copies here instead of in place")
    args = ap.parse_args(argv)
    paths = sorted(HERE.glob("[0-9]*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(p.stem.startswith(n) for n in args.names)]
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    for p in paths:
        out = (args.out / p.name) if args.out else p
        seconds = execute(p, out, args.fast)
        size = out.stat().st_size / 1e6
        print(f"{p.name}: {seconds:6.1f} s, {size:.2f} MB{'  (fast)' if args.fast else ''}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
