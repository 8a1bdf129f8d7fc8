"""Draw the pictures of the Plots page of the documentation (``docs/img/plots/<name>.png``).

Each public ``hl.plot_*`` function is drawn once from lme4's ``sleepstudy`` (``Reaction ~ Days + (Days |
Subject)``), fitted by ``hl.lmer`` and by ``hl.blmer`` (seeded), and saved at ``DPI`` dots per inch
(110–150: sharp on the page, readable when opened full size).  ``plots.json`` beside the pictures records
the call that drew each one; the site shows it as the caption (``docs/hooks/hierlm_docs.py``).

Usage (from the repository root; about half a minute once the Bayesian kernels are compiled)::

    .venv/bin/python tools/make_plot_images.py            # every plot
    .venv/bin/python tools/make_plot_images.py plot_trace # only some

A public ``plot_*`` function without a recipe in ``RECIPES`` is reported, and the Plots page shows its
entry without a picture until one is added here.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img" / "plots"
DPI = 120

#: name -> the call (``m``: the lmer fit, ``b``: the blmer fit, ``sleep``: the data)
RECIPES = {
    "plot_fixef": "hl.plot_fixef([m, b], labels=['lmer', 'blmer'])",
    "plot_ranef": "hl.plot_ranef(m)",
    "plot_varcorr": "hl.plot_varcorr(b, reference=m)",
    "plot_shrinkage": "hl.plot_shrinkage(m)",
    "plot_pooling": "hl.plot_pooling(m, levels=['308', '309', '310', '330', '331', '332'], ncols=3)",
    "plot_residuals": "hl.plot_residuals(m)",
    "plot_ppc": "hl.plot_ppc(b, num_samples=50)",
    "plot_trace": "hl.plot_trace(b)",
    "plot_influence": "hl.plot_influence(m)",
    "plot_predictions": "hl.plot_predictions(m, 'Days', points=True)",
}


def _shrink(path: Path) -> None:
    """Store the PNG with a 256-colour palette (a third of the size; plots have few colours)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main(argv: list[str]) -> None:
    import matplotlib.pyplot as plt

    import hierlm as hl

    names = [n for n in hl.__all__ if n.startswith("plot_")]
    if argv:
        names = [n for n in names if n in argv]
    missing = [n for n in names if n not in RECIPES]
    OUT.mkdir(parents=True, exist_ok=True)
    meta_path = OUT / "plots.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    sleep = hl.load_dataset("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject)"
    m = hl.lmer(formula, sleep)
    b = None
    for name in names:
        if name not in RECIPES:
            continue
        code = RECIPES[name]
        if b is None and re.search(r"\bb\b", code):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                b = hl.blmer(formula, sleep, seed=2026, progressbar=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig = eval(code, {"hl": hl, "m": m, "b": b, "sleep": sleep})  # our own recipes
        path = OUT / f"{name}.png"
        fig.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
        plt.close(fig)
        _shrink(path)
        w, h = (round(v * DPI) for v in fig.get_size_inches())
        meta[name] = {"code": f"fig = {code}", "dpi": DPI}
        print(f"{path.relative_to(ROOT)}: {w}x{h} px at {DPI} dpi", flush=True)
    meta_path.write_text(json.dumps(dict(sorted(meta.items())), indent=1) + "\n")
    if missing:
        print("no recipe (add one to RECIPES):", ", ".join(missing))


if __name__ == "__main__":
    main(sys.argv[1:])
