"""Rerun the ``pycon`` examples of the guide pages and write their real output back into the page.

The guide pages (``docs/*.md``) show sessions as ```` ```pycon ```` blocks: ``>>>`` / ``...`` lines are
code, the lines under them what Python printed.  This script runs every block of a page in order, in one
namespace (as a reader typing them into one session would), and replaces each output with what the code
prints now — so "all output below is real" stays true when hierlm's printouts change.  Code and its
comments are kept as written.  pandas is set to the display width of the site (``WIDTH`` characters:
what fits the text column at 1400 px without scrolling).

Usage (from the repository root; a page with Bayesian fits takes some seconds per fit)::

    .venv/bin/python tools/refresh_doc_outputs.py docs/getting-started.md docs/priors.md
    .venv/bin/python tools/refresh_doc_outputs.py --check docs/*.md      # report stale pages, change nothing

An example that raises shows the exception's last line under ``Traceback (most recent call last):``.
The working directory is a temporary folder, so examples that save files leave nothing behind.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

WIDTH = 100
_BLOCK = re.compile(r"^```pycon[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _chunks(block: str) -> list[tuple[str, list[str]]]:
    """(source, source lines as written) of each example of a pycon block; outputs are dropped, and a
    blank line that separated an example from the one before is kept (as an empty first line)."""
    out: list[tuple[str, list[str]]] = []
    prev_blank = in_source = False
    for line in block.splitlines():
        if line.startswith(">>>"):
            out.append((line[4:], ([""] if prev_blank and out else []) + [line]))
            in_source = True
        elif in_source and (line == "..." or line.startswith("... ")):  # a continuation line of the code
            src, lines = out[-1]
            out[-1] = (src + "\n" + line[4:], lines + [line])
        else:
            in_source = False
        prev_blank = not line.strip()
    return out


def _run(source: str, ns: dict) -> str:
    """What the interactive interpreter prints for ``source`` (stdout, the value's repr, an exception)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = compile(source + "\n", "<doc>", "single")
            sys.displayhook = lambda value: (value is not None and print(repr(value)), ns.__setitem__("_", value))
            exec(code, ns)  # noqa: S102 - the documentation's own examples
        except Exception as err:  # noqa: BLE001 - shown as the reader would see it
            print("Traceback (most recent call last):\n  ...")
            print("".join(traceback.format_exception_only(type(err), err)).rstrip())
        finally:
            sys.displayhook = sys.__displayhook__
    return "\n".join(line.rstrip() for line in buf.getvalue().rstrip("\n").splitlines())


def refresh(path: Path) -> tuple[str, int]:
    """The page with fresh outputs, and how many examples printed something different."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    text = path.read_text(encoding="utf-8")
    ns: dict = {"__name__": "__doc__"}
    changed = 0
    pieces, last = [], 0
    with pd.option_context("display.width", WIDTH, "display.max_columns", 20), tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            for m in _BLOCK.finditer(text):
                old = m.group(1)
                lines = []
                for source, written in _chunks(old):
                    lines += written
                    got = _run(source, ns)
                    if got:
                        lines += got.splitlines()
                new = "\n".join(lines) + "\n"
                changed += sum(a != b for a, b in zip(_outputs(old), _outputs(new))) + abs(
                    len(_outputs(old)) - len(_outputs(new)))
                pieces += [text[last:m.start(1)], new]
                last = m.end(1)
        finally:
            os.chdir(cwd)
    pieces.append(text[last:])
    return "".join(pieces), changed


def _outputs(block: str) -> list[str]:
    out, cur = [], []
    for line in block.splitlines():
        if line.startswith((">>>", "... ")):
            if cur:
                out.append("\n".join(cur).rstrip())
                cur = []
        else:
            cur.append(line.rstrip())
    if cur:
        out.append("\n".join(cur).rstrip())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", nargs="+", type=Path)
    ap.add_argument("--check", action="store_true", help="only report pages whose outputs are stale")
    args = ap.parse_args(argv)
    stale = 0
    for page in args.pages:
        page = page.resolve()
        new, changed = refresh(page)
        stale += bool(changed)
        if not args.check and changed:
            page.write_text(new, encoding="utf-8")
        print(f"{page.name}: {changed} output(s) {'differ' if args.check else 'refreshed'}", flush=True)
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
