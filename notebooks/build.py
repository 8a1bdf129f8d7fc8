"""Build the course notebooks (``notebooks/*.ipynb``, without outputs) from their sources.

Each notebook is written as a plain Python file in ``notebooks/src/`` in the "percent" format
that Jupytext, VS Code and Spyder understand::

    # %% [markdown]
    # # A heading
    # Some text.

    # %%
    fit = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)

Usage (from the repository root)::

    .venv/bin/python notebooks/build.py            # every notebook
    .venv/bin/python notebooks/build.py 03 05      # only those whose name starts so

Building replaces the notebook's cells and drops its outputs; run ``notebooks/execute.py``
afterwards to store fresh outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def parse(text: str) -> list[tuple[str, str]]:
    """``(kind, source)`` cells of a percent-format file (``kind``: ``code`` or ``markdown``)."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        src = "\n".join(lines).strip("\n")
        if src:
            out.append((kind, src))
    return out


def build(src: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in parse(src.read_text()):
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        cell.pop("id", None)
        nb.cells.append(cell)
    nb.nbformat_minor = 4  # no cell ids: stable diffs
    path = HERE / f"{src.stem}.ipynb"
    nbformat.write(nb, path)
    return path


def main(argv: list[str]) -> None:
    sources = sorted(SRC.glob("[0-9]*.py"))
    if argv:
        sources = [s for s in sources if any(s.stem.startswith(a) for a in argv)]
    for s in sources:
        print("built", build(s).relative_to(HERE.parent))


if __name__ == "__main__":
    main(sys.argv[1:])
