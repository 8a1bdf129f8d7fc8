"""MkDocs hook of hierlm's documentation site (``hooks:`` in ``mkdocs.yml``).

* **Notebooks**: every ``notebooks/*.ipynb`` that exists is added to the site (rendered by
  mkdocs-jupyter from its stored outputs) and to the ``Notebooks`` section of the nav, with an
  index page; notebooks that are not written yet are simply left out, so the build never points at
  a missing file.  The section is dropped when there are none.
* **API reference**: one page per topic, written at build time from ``hierlm.__all__`` (a
  ``::: path`` mkdocstrings block per public name), so names added to the package appear without
  editing the docs.  Names the topic table does not know land on an "Other" page.
* **Benchmarks**: ``<!-- bench:latest -->`` in a page is replaced by ``bench/results/latest.md``
  (headings moved down one level).
* Sphinx roles in docstrings (``:func:`x```) are shown as plain code.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path

from mkdocs.plugins import event_priority, get_plugin_logger
from mkdocs.structure.files import File

log = get_plugin_logger("hierlm-site")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
BENCH_LATEST = ROOT / "bench" / "results" / "latest.md"

#: (page, title, intro, names) of the API reference; names missing from ``hierlm.__all__`` are skipped
API_PAGES = [
    ("fitting", "Fitting", "Fit a model: `hl.lmer` (REML / ML, as lme4), `hl.glmer` (Laplace / AGQ GLMMs) and "
     "`hl.blmer` (NUTS on the same model, with weakly informative priors).",
     ["lmer", "glmer", "blmer"]),
    ("fits", "Fit objects", "What the fitting functions return. The extractors have the same names on every fit "
     "(`fixef`, `ranef`, `coef`, `varcorr`, `sigma`, `predict`, `summary`, ...).",
     ["LmerFit", "GlmerFit", "BayesFit"]),
    ("comparison", "Comparison and inference", "Likelihood-ratio tests, LOO / WAIC comparison, parametric "
     "bootstrap and intraclass correlations.",
     ["anova", "compare", "ComparisonTable", "kfold", "KFold", "side_by_side", "bootstrap_lrt", "BootstrapLRT", "icc"]),
    ("priors", "Priors", "The priors of `hl.blmer`: see also the [priors guide](../priors.md).",
     ["Prior", "get_priors"]),
    ("data", "Data, formulas and saving", "Bundled datasets, the formula parser and reading saved fits.",
     ["load_dataset", "list_datasets", "parse_formula", "load"]),
    ("plots", "Plots", "Every plot takes a fit and returns a matplotlib Figure.", []),
    ("errors", "Errors and warnings", "Every mistake in a formula, a data frame or an argument raises "
     "`HierlmError` (a `ValueError`) or a subclass, with a message that names the culprit.", []),
    ("other", "Other", "Further public names.", []),
]
FIT_CLASSES = {"LmerFit", "GlmerFit", "BayesFit"}

_SPHINX_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc|py:\w+):<code>(~?)([^<]*)</code>")


# -- notebooks ----------------------------------------------------------------------------------
def _notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb")) if NOTEBOOK_DIR.is_dir() else []


def _notebook_title(path: Path) -> str:
    """The first Markdown heading of the notebook, else the file name made readable."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") != "markdown":
                continue
            text = "".join(cell.get("source", []))
            m = re.search(r"^#{1,2}\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
            if m:
                return re.sub(r"[`*_]", "", m.group(1)).strip()
    except (OSError, ValueError):
        pass
    return re.sub(r"^\d+[_-]", "", path.stem).replace("_", " ").capitalize()


def _notebook_index(books: list[Path]) -> str:
    lines = ["# Notebooks", "",
             "Worked examples, rendered with their stored outputs (download the `.ipynb` from each page to "
             "run it yourself; they live in `notebooks/` of the repository).", ""]
    lines += [f"* [{_notebook_title(p)}]({p.name})" for p in books]
    return "\n".join(lines) + "\n"


# -- API reference ------------------------------------------------------------------------------
def _api_groups() -> dict[str, list[str]]:
    import hierlm

    public = list(dict.fromkeys(hierlm.__all__))
    groups: dict[str, list[str]] = {page: [] for page, *_ in API_PAGES}
    placed: set[str] = set()
    for page, _, _, names in API_PAGES:
        for name in names:
            if name in public:
                groups[page].append(name)
                placed.add(name)
    for name in list(public):
        try:
            obj = getattr(hierlm, name)
        except (AttributeError, ImportError) as err:  # a warning fails the strict build, as it should
            log.warning(f"hierlm.__all__ lists {name!r}, which cannot be imported: {err}")
            public.remove(name)
            for names in groups.values():
                if name in names:
                    names.remove(name)
            continue
        if name in placed:
            continue
        if name.startswith("plot_"):
            groups["plots"].append(name)
        elif inspect.isclass(obj) and issubclass(obj, (BaseException, Warning)):
            groups["errors"].append(name)
        else:
            groups["other"].append(name)
    return {k: v for k, v in groups.items() if v}


def _object_path(name: str) -> str:
    """Where mkdocstrings finds ``hl.<name>``: the module that defines the function or class itself, so a
    name is never resolved to a submodule of the same name."""
    import hierlm

    obj = getattr(hierlm, name)
    return f"{obj.__module__}.{obj.__qualname__}"


def _api_page(page: str, names: list[str]) -> str:
    _, title, intro, _ = next(p for p in API_PAGES if p[0] == page)
    lines = [f"# {title}", "", intro, ""]
    for name in names:
        lines.append(f"::: {_object_path(name)}")
        if name in FIT_CLASSES:
            lines += ["    options:", "      inherited_members: true", "      members_order: source",
                      "      show_root_heading: true"]
        lines.append("")
    return "\n".join(lines)


# -- MkDocs events --------------------------------------------------------------------------------
_STATE: dict = {}


def on_config(config, **kwargs):
    """Fill the ``Notebooks`` and ``API reference`` placeholders of the nav."""
    importlib.invalidate_caches()
    _STATE["groups"] = _api_groups()
    nav = config["nav"] or []
    books = _notebooks()
    out = []
    for item in nav:
        if isinstance(item, dict) and "Notebooks" in item:
            if books:
                out.append({"Notebooks": ["notebooks/index.md"] + [{_notebook_title(p): f"notebooks/{p.name}"}
                                                                   for p in books]})
            continue
        if isinstance(item, dict) and "API reference" in item:
            groups = _STATE["groups"]
            out.append({"API reference": [{title: f"api/{page}.md"} for page, title, *_ in API_PAGES
                                          if page in groups]})
            continue
        out.append(item)
    config["nav"] = out
    return config


@event_priority(50)  # before mkdocs-jupyter turns the .ipynb files into pages
def on_files(files, config, **kwargs):
    """Add the existing notebooks, their index and the API pages as generated files."""
    books = _notebooks()
    for path in books:
        files.append(File.generated(config, f"notebooks/{path.name}", abs_src_path=str(path)))
    if books:
        files.append(File.generated(config, "notebooks/index.md", content=_notebook_index(books)))
    for page, names in _STATE["groups"].items():
        files.append(File.generated(config, f"api/{page}.md", content=_api_page(page, names)))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    """Insert the latest benchmark report where a page asks for it."""
    if "<!-- bench:latest -->" not in markdown:
        return markdown
    if BENCH_LATEST.is_file():
        text = BENCH_LATEST.read_text(encoding="utf-8")
        text = re.sub(r"^(#{1,5}) ", r"#\1 ", text, flags=re.MULTILINE)
    else:
        text = "*No benchmark report yet: run `./run bench`.*"
    return markdown.replace("<!-- bench:latest -->", text)


def on_post_page(output, page, config, **kwargs):
    """Show Sphinx cross-reference roles of docstrings (``:func:`hierlm.lmer```) as plain code."""
    def plain(m: re.Match) -> str:
        target = m.group(2).lstrip(".")
        return f"<code>{target.rsplit('.', 1)[-1] if m.group(1) else target}</code>"

    return _SPHINX_ROLE.sub(plain, output)
