"""MkDocs hook of hierlm's documentation site (``hooks:`` in ``mkdocs.yml``).

* **API reference**: written at build time from ``hierlm.__all__``, one page per topic (``API_PAGES``)
  plus one page per fit class, so names added to the package appear without editing the docs (names
  the topic table does not know land on an "Other" page).  Every name is documented as the function
  or class itself: the ``:::`` path is ``obj.__module__ + "." + obj.__qualname__``, never a module of
  the same name.  Each page opens with one summary table (one line per entry, or per member on a fit
  class's page); internals of the fit classes (``INTERNAL``) are left out.  ``api/index.md`` is the
  reference index: every public name with its summary line.  The Plots page shows each plot, from
  ``docs/img/plots/<name>.png`` (made by ``tools/make_plot_images.py``).
* **Examples**: ``# doctest:`` directives are doctest's business, not the reader's: they are removed from
  the rendered examples.  An example skipped with ``# doctest: +SKIP`` must say why in a comment before
  the directive (``>>> hl.kfold(b, k=18)  # 18 refits, a minute  # doctest: +SKIP``); a skip without a
  reason is left visible, and ``tests/project/test_site.py`` fails on it.
* **Notebooks**: every ``notebooks/*.ipynb`` is a page (rendered by mkdocs-jupyter from its stored
  outputs) with a download link to its ``.ipynb``; the index is a gallery with a thumbnail per notebook
  (its first figure).  Temporary cell paths that Jupyter puts in front of a warning are removed.
* **Benchmarks**: ``<!-- bench:summary -->`` is replaced by the summary table of
  ``bench/results/latest.md`` without the validation rows, and ``<!-- bench:validation -->`` by the
  SBC / recovery rows and sections (each model in a collapsed block); one source for every figure.
* **Version**: ``{{ hierlm_version }}`` in a page, the footer and the header show ``hierlm.__version__``.
* Sphinx roles in docstrings (``:func:`x```) are shown as plain code.
"""

from __future__ import annotations

import base64
import html
import importlib
import inspect
import io
import json
import re
from pathlib import Path

from mkdocs.plugins import event_priority, get_plugin_logger
from mkdocs.structure.files import File

log = get_plugin_logger("hierlm-site")

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NOTEBOOK_DIR = ROOT / "notebooks"
BENCH_LATEST = ROOT / "bench" / "results" / "latest.md"
PLOT_IMAGES = DOCS / "img" / "plots"

#: (page, title, intro, names) of the API reference; names missing from ``hierlm.__all__`` are skipped
API_PAGES = [
    ("fitting", "Fitting", "Fit a model: `hl.lmer` (REML / ML, as lme4), `hl.glmer` (Laplace / adaptive "
     "Gauss–Hermite GLMMs), `hl.blmer` (NUTS on the same model, with weakly informative priors), and "
     "`hl.lm` / `hl.glm` for the same formulas without random effects.",
     ["lmer", "glmer", "blmer", "lm", "glm", "clmm", "family"]),
    ("comparison", "Comparison and tests", "Likelihood-ratio and F tests, LOO / WAIC and K-fold comparison, "
     "the parametric bootstrap, and frequentist and Bayesian estimates side by side.",
     ["anova", "compare", "ComparisonTable", "kfold", "KFold", "bootstrap_lrt", "BootstrapLRT", "side_by_side"]),
    ("effects", "Variance, R² and tables", "Intraclass correlations, R², and tidy one-row-per-term and "
     "one-row-per-model tables of any fit.",
     ["icc", "r2", "tidy", "glance"]),
    ("emmeans", "Marginal means and contrasts", "Estimated marginal means and their contrasts, as R's emmeans.",
     ["emmeans", "contrast", "emtrends", "ref_grid", "regrid", "EmmGrid"]),
    ("power", "Power", "Simulation-based power, as R's simr.", ["power_sim", "power_curve", "PowerResult"]),
    ("priors", "Priors", "The priors of `hl.blmer`: see also the [priors guide](../priors.md).",
     ["Prior", "get_priors"]),
    ("data", "Data, formulas and saving", "Bundled datasets, the formula parser and reading saved fits.",
     ["load_dataset", "list_datasets", "parse_formula", "load"]),
    ("plots", "Plots", "Every plot takes a fit and returns a matplotlib `Figure`. The pictures below are drawn "
     "from lme4's `sleepstudy` (`Reaction ~ Days + (Days | Subject)`) by `tools/make_plot_images.py`.", []),
    ("errors", "Errors and warnings", "Every mistake in a formula, a data frame or an argument raises "
     "`HierlmError` (a `ValueError`) or a subclass, with a message that names the culprit. See also "
     "[Troubleshooting](../troubleshooting.md).", []),
    ("other", "Other", "Further public names.", []),
]
#: the fit classes, a page each (in this order), under "Fit objects"; any other public class whose name
#: ends in "Fit" gets a page too, after these
FIT_CLASSES = ["LmerFit", "GlmerFit", "LmFit", "GlmFit", "BayesFit"]
FIT_INTRO = {
    "LmerFit": "What `hl.lmer` returns: a linear mixed model fitted by REML or ML.",
    "GlmerFit": "What `hl.glmer` returns: a generalised linear mixed model fitted by Laplace or AGQ.",
    "LmFit": "What `hl.lm` returns: a linear model without random effects (R's `lm`).",
    "GlmFit": "What `hl.glm` returns: a generalised linear model without random effects (R's `glm`).",
    "BayesFit": "What `hl.blmer` returns: the posterior draws of a mixed model (an ArviZ `DataTree`) "
                "with the same extractors as the frequentist fits.",
}
#: members of the fit classes that are the engine's state, not the user's API
INTERNAL = {"b", "beta", "theta", "sigma_", "vcov_beta", "objective", "cond_var_", "eta", "mu", "response",
            "problem", "saved_arrays", "saved_settings", "lambdas", "covariances", "inverse_link", "kind",
            "design", "family", "optinfo", "nAGQ", "reml", "nb_theta", "iter", "converged", "df_null",
            "null_deviance", "idata", "spec", "setup"}

_SPHINX_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc|py:\w+):<code>(~?)([^<]*)</code>")
_SPHINX_ROLE_MD = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc|py:\w+):`~?([^`]*)`")
#: a doctest directive in a rendered example (a Python comment token); group 1: what precedes it
_DIRECTIVE = re.compile(r'(<span class="c1">[^<]*?)\s*#\s*doctest:\s*[+-][A-Z_]+(?:[ ,]+[+-][A-Z_]+)*\s*</span>')
_TMP_CELL = re.compile(r"(?:/tmp|/var/folders/[^\s:]*)/ipykernel_\d+/\d+\.py:\d+: ")


# -- helpers --------------------------------------------------------------------------------------
def _version() -> str:
    import hierlm

    return hierlm.__version__


def _summary_line(obj) -> str:
    """The first sentence of a docstring as Markdown for a table cell."""
    doc = inspect.getdoc(obj) or ""
    line = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    line = _SPHINX_ROLE_MD.sub(lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", line)
    line = line.replace("``", "`").replace("|", "\\|")
    return line


def _object_path(name: str) -> str:
    """Where mkdocstrings finds ``hl.<name>``: the module that defines the function or class itself, so a
    name is never resolved to a submodule of the same name."""
    import hierlm

    obj = getattr(hierlm, name)
    return f"{obj.__module__}.{obj.__qualname__}"


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, (BaseException, Warning)) else "class"
    return "function"


def _members(cls) -> list[tuple[str, object, str]]:
    """Public, documented members of a fit class in the order a reader wants: (name, object, kind)."""
    out = []
    for name in dir(cls):
        if name.startswith("_") or name in INTERNAL:
            continue
        static = inspect.getattr_static(cls, name)
        if isinstance(static, property):
            obj, kind = static.fget, "property"
        elif isinstance(static, (classmethod, staticmethod)):
            obj, kind = static.__func__, "method"
        elif inspect.isfunction(static):
            obj, kind = static, "method"
        else:
            continue
        if not (inspect.getdoc(obj) or "").strip():
            continue
        out.append((name, obj, kind))
    return out


# -- API reference --------------------------------------------------------------------------------
def _api_groups() -> dict[str, list[str]]:
    import hierlm

    public = list(dict.fromkeys(hierlm.__all__))
    for name in public:  # fit classes added since FIT_CLASSES was written
        if name.endswith("Fit") and name not in FIT_CLASSES and inspect.isclass(getattr(hierlm, name, None)):
            FIT_CLASSES.append(name)
    groups: dict[str, list[str]] = {page: [] for page, *_ in API_PAGES}
    groups.update({f"fit-{c.lower()}": [] for c in FIT_CLASSES})
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
            for names in groups.values():
                if name in names:
                    names.remove(name)
            continue
        if inspect.ismodule(obj):
            log.warning(f"hl.{name} is a module, not a function or class: the reference would document the module")
            continue
        if name in placed:
            continue
        if name in FIT_CLASSES:
            groups[f"fit-{name.lower()}"].append(name)
        elif name.startswith("plot_"):
            groups["plots"].append(name)
        elif inspect.isclass(obj) and issubclass(obj, (BaseException, Warning)):
            groups["errors"].append(name)
        else:
            groups["other"].append(name)
    return {k: v for k, v in groups.items() if v}


def _page_title(page: str) -> str:
    if page.startswith("fit-"):
        return next(c for c in FIT_CLASSES if c.lower() == page[4:])
    return next(t for p, t, *_ in API_PAGES if p == page)


def _anchor(name: str) -> str:
    return _object_path(name)


def _entries_table(names: list[str]) -> list[str]:
    import hierlm

    lines = ['<div class="hierlm-members" markdown="1">', "", "| name | what it does |", "| --- | --- |"]
    for name in names:
        obj = getattr(hierlm, name)
        call = f"hl.{name}" + ("()" if _kind(obj) == "function" else "")
        lines.append(f"| [`{call}`](#{_anchor(name)}) | {_summary_line(obj)} |")
    return lines + ["", "</div>", ""]


def _members_table(name: str) -> list[str]:
    import hierlm

    cls = getattr(hierlm, name)
    path = _object_path(name)
    lines = ['<div class="hierlm-members" markdown="1">', "", "| member | what it does |", "| --- | --- |"]
    for member, obj, kind in _members(cls):
        call = f"{member}()" if kind == "method" else member
        lines.append(f"| [`{call}`](#{path}.{member}) | {_summary_line(obj)} |")
    return lines + ["", "</div>", ""]


def _plot_block(name: str) -> list[str]:
    img = PLOT_IMAGES / f"{name}.png"
    if not img.is_file():
        log.info(f"no picture for {name} (run tools/make_plot_images.py)")
        return []
    meta = PLOT_IMAGES / "plots.json"
    code = ""
    if meta.is_file():
        code = json.loads(meta.read_text(encoding="utf-8")).get(name, {}).get("code", "")
    lines = ['<figure markdown="span">', f"  ![What hl.{name} draws](../img/plots/{name}.png)"]
    if code:
        lines.append(f"  <figcaption><code>{html.escape(code)}</code></figcaption>")
    return lines + ["</figure>", ""]


def _plots_gallery(names: list[str]) -> list[str]:
    cards = []
    for name in names:
        if not (PLOT_IMAGES / f"{name}.png").is_file():
            continue
        cards.append(f'<a class="hierlm-card" href="#{_anchor(name)}"><img src="../../img/plots/{name}.png" alt="hl.{name}" '
                     f'loading="lazy"><span class="hierlm-card-title">hl.{name}()</span></a>')
    return ['<div class="hierlm-gallery">', *cards, "</div>", ""] if cards else []


def _api_page(page: str, names: list[str]) -> str:
    title = _page_title(page)
    if page.startswith("fit-"):
        name = names[0]
        intro = FIT_INTRO.get(name) or _summary_line(_obj(name))
        lines = [f"# {title}", "", intro, "", *_members_table(name), f"::: {_object_path(name)}",
                 "    options:", "      inherited_members: true", "      members_order: alphabetical",
                 "      merge_init_into_class: false", "      show_bases: false", "      show_labels: false",
                 "      show_root_heading: true", "      heading_level: 2",
                 "      members: [" + ", ".join(m for m, *_ in _members(_obj(name))) + "]", ""]
        return "\n".join(lines)
    intro = next(i for p, _, i, _ in API_PAGES if p == page)
    lines = [f"# {title}", "", intro, ""]
    lines += _plots_gallery(names) if page == "plots" else []
    lines += _entries_table(names)
    for name in names:
        lines.append(f"::: {_object_path(name)}")
        if _kind(_obj(name)) != "function":
            lines += ["    options:", "      show_root_heading: true", "      members_order: source"]
        lines.append("")
        if page == "plots":
            lines += _plot_block(name)
    return "\n".join(lines)


def _obj(name: str):
    import hierlm

    return getattr(hierlm, name)


def _api_index(groups: dict[str, list[str]]) -> str:
    lines = ["# API reference", "",
             "Every public name of `hierlm` (`import hierlm as hl`), one line each. Each links to its entry, "
             "with the parameters, what it returns and an example with its real output (every example is run "
             "by the test suite).", ""]
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for page in _nav_pages(groups):
        title = "Fit objects" if page.startswith("fit-") else _page_title(page)
        if not sections or sections[-1][0] != title:
            sections.append((title, []))
        sections[-1][1].extend((page, name) for name in groups[page])
    for title, entries in sections:
        lines += [f"## {title}", "", '<div class="hierlm-members" markdown="1">', "",
                  "| name | what it does |", "| --- | --- |"]
        for page, name in entries:
            obj = _obj(name)
            call = f"hl.{name}" + ("()" if _kind(obj) == "function" else "")
            lines.append(f"| [`{call}`]({page}.md#{_anchor(name)}) | {_summary_line(obj)} |")
        lines += ["", "</div>", ""]
    return "\n".join(lines)


def _nav_pages(groups: dict[str, list[str]]) -> list[str]:
    order = [p for p, *_ in API_PAGES[:1]] + [f"fit-{c.lower()}" for c in FIT_CLASSES] + [p for p, *_ in API_PAGES[1:]]
    return [p for p in order if p in groups]


# -- notebooks ------------------------------------------------------------------------------------
def _notebooks() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb")) if NOTEBOOK_DIR.is_dir() else []


def _read_nb(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"cells": []}


def _notebook_title(path: Path) -> str:
    """The first Markdown heading of the notebook, else the file name made readable."""
    for cell in _read_nb(path).get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell.get("source", []))
        m = re.search(r"^#{1,2}\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
        if m:
            return re.sub(r"[`*_]", "", m.group(1)).strip()
    return re.sub(r"^\d+[_-]", "", path.stem).replace("_", " ").capitalize()


def _notebook_blurb(path: Path, limit: int = 150) -> str:
    """The first paragraph after the notebook's heading, shortened at a word."""
    for cell in _read_nb(path).get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell.get("source", []))
        paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip() and not p.lstrip().startswith(("#", "|"))]
        if paras:
            plain = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", paras[0]).replace("\n", " ")
            return plain if len(plain) <= limit else plain[:limit].rsplit(" ", 1)[0] + " …"
    return ""


def _notebook_thumb(path: Path) -> bytes | None:
    """The notebook's first stored figure, made small (PNG)."""
    for cell in _read_nb(path).get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {}).get("image/png")
            if not data:
                continue
            raw = base64.b64decode("".join(data) if isinstance(data, list) else data)
            try:
                from PIL import Image

                img = Image.open(io.BytesIO(raw))
                img.thumbnail((480, 320))
                buf = io.BytesIO()
                img.save(buf, format="PNG", optimize=True)
                return buf.getvalue()
            except Exception:  # noqa: BLE001 - Pillow missing or an odd image: use the figure as it is
                return raw
    return None


def _notebook_index(books: list[Path], thumbs: set[str]) -> str:
    lines = ["# Notebooks", "",
             "Worked lessons, each fitted both ways (REML / ML and NUTS), shown with their stored outputs. "
             "Each page has a link to download the `.ipynb` and run it yourself, with Jupyter and hierlm "
             "installed ([Install](../install.md)); the sources are in `notebooks/src/` of the repository.", "",
             '<div class="hierlm-gallery">']
    for p in books:
        img = f'<img src="thumbs/{p.stem}.png" alt="" loading="lazy">' if p.stem in thumbs else ""
        lines.append(f'<a class="hierlm-card" href="{p.stem}/">{img}<span class="hierlm-card-title">'
                     f"{html.escape(_notebook_title(p))}</span><span class=\"hierlm-card-text\">"
                     f"{html.escape(_notebook_blurb(p))}</span></a>")
    lines += ["</div>", "", "Download the notebooks:", "", "<ul>"]
    # raw HTML: the .ipynb files are copied into the site by mkdocs-jupyter, not pages MkDocs can check
    lines += [f'<li><a href="{p.stem}/{p.name}" download>{html.escape(p.name)}</a> — '
              f"{html.escape(_notebook_title(p))}</li>" for p in books]
    lines += ["</ul>"]
    return "\n".join(lines) + "\n"


# -- benchmarks -----------------------------------------------------------------------------------
_VALIDATION_ROW = re.compile(r"^\|\s*(SBC|recovery)\b", re.IGNORECASE)


def _bench_parts() -> tuple[str, str] | None:
    """(performance part, validation part) of ``bench/results/latest.md``, headings moved down two levels."""
    if not BENCH_LATEST.is_file():
        return None
    text = BENCH_LATEST.read_text(encoding="utf-8")
    # a list right after a paragraph line needs a blank line in Markdown, else it renders as text
    text = re.sub(r"(?m)^([^\n*|#\s][^\n]*)\n(\* )", r"\1\n\n\2", text)
    sections = re.split(r"(?m)^(?=## )", text)
    head, rest = sections[0], sections[1:]
    head = re.sub(r"(?m)^# .*\n", "", head)
    val_rows, other = [], []
    lines = head.splitlines()
    for line in lines:
        if line.startswith("|") and _VALIDATION_ROW.match(line):
            val_rows.append(line)
        else:
            other.append(line)
    perf = "\n".join(other)
    val_sections = [s for s in rest if re.match(r"## (sbc|recovery)\b", s)]
    perf_sections = [s for s in rest if s not in val_sections]
    perf += "\n\n" + "\n".join(perf_sections)
    val = ""
    if val_rows:  # only the first two columns mean something for a validation row
        cells = lambda row: [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))][:2]
        val = "| check | result |\n| --- | --- |\n" + "\n".join(f"| {a} | {b} |" for a, b in map(cells, val_rows))
        val += "\n\n"
    for s in val_sections:
        val += _collapse_models(s)
    demote = lambda t: re.sub(r"(?m)^(#{1,4}) ", r"#\1 ", t)
    return demote(perf), demote(val)


def _collapse_models(section: str) -> str:
    """A validation section with each model's long table in a collapsed block."""
    parts = re.split(r"(?m)^(?=### )", section)
    out = _fold_long_tables(parts[0])
    for part in parts[1:]:
        title, _, body = part.partition("\n")
        summary = html.escape(title.lstrip("# ").replace("`", ""))
        out += f'\n<details class="note" markdown="1">\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>\n\n'
    return out


def _fold_long_tables(text: str, rows: int = 12) -> str:
    """Markdown tables longer than ``rows`` rows in a collapsed block."""
    out, table = [], []

    def flush():
        if len(table) > rows + 2:
            out.extend(['<details class="note" markdown="1">', f"<summary>the full table ({len(table) - 2} rows)</summary>",
                        "", *table, "", "</details>"])
        else:
            out.extend(table)
        table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            flush()
        out.append(line)
    if table:
        flush()
    return "\n".join(out) + "\n"


# -- MkDocs events ----------------------------------------------------------------------------------
_STATE: dict = {}


def on_config(config, **kwargs):
    """Fill the ``Notebooks`` and ``API reference`` placeholders of the nav; put the version in the footer."""
    importlib.invalidate_caches()
    _STATE["groups"] = groups = _api_groups()
    version = _version()
    config["copyright"] = f"hierlm {version} · MIT licence"
    config["extra"]["hierlm_version"] = version
    nav = config["nav"] or []
    books = _notebooks()
    out = []
    for item in nav:
        if isinstance(item, dict) and "Notebooks" in item:
            if books:
                out.append({"Notebooks": [{"Gallery": "notebooks/index.md"}] + [{_notebook_title(p): f"notebooks/{p.name}"}
                                                                   for p in books]})
            continue
        if isinstance(item, dict) and "API reference" in item:
            pages = _nav_pages(groups)
            fits = [{_page_title(p): f"api/{p}.md"} for p in pages if p.startswith("fit-")]
            entries: list = ["api/index.md"]
            for p in pages:
                if p.startswith("fit-"):
                    if fits:
                        entries.append({"Fit objects": fits})
                        fits = []
                    continue
                entries.append({_page_title(p): f"api/{p}.md"})
            out.append({"API reference": [{"Index": entries[0]}] + entries[1:]})
            continue
        out.append(item)
    _add_orphan_pages(out)
    config["nav"] = out
    return config


def _nav_files(nav) -> set[str]:
    found: set[str] = set()
    for item in nav:
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, dict):
            for value in item.values():
                found |= _nav_files(value) if isinstance(value, list) else {value}
    return found


def _add_orphan_pages(nav: list) -> None:
    """Pages of docs/ that the nav of mkdocs.yml does not list (written since) join the Guide, by title."""
    listed = _nav_files(nav)
    guide = next((item["Guide"] for item in nav if isinstance(item, dict) and "Guide" in item), None)
    if guide is None:
        return
    for path in sorted(DOCS.glob("*.md")):
        if path.name in listed:
            continue
        m = re.search(r"^#\s+(.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
        guide.append({m.group(1).strip() if m else path.stem.replace("-", " ").capitalize(): path.name})


@event_priority(50)  # before mkdocs-jupyter turns the .ipynb files into pages
def on_files(files, config, **kwargs):
    """Add the existing notebooks, their gallery, the API pages and the reference index as generated files."""
    books = _notebooks()
    thumbs = set()
    for path in books:
        files.append(File.generated(config, f"notebooks/{path.name}", abs_src_path=str(path)))
        thumb = _notebook_thumb(path)
        if thumb:
            files.append(File.generated(config, f"notebooks/thumbs/{path.stem}.png", content=thumb))
            thumbs.add(path.stem)
    if books:
        files.append(File.generated(config, "notebooks/index.md", content=_notebook_index(books, thumbs)))
    groups = _STATE["groups"]
    for page, names in groups.items():
        files.append(File.generated(config, f"api/{page}.md", content=_api_page(page, names)))
    files.append(File.generated(config, "api/index.md", content=_api_index(groups)))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    """Benchmark tables where a page asks for them; the version where a page names it."""
    markdown = markdown.replace("{{ hierlm_version }}", _version())
    if "<!-- bench:" not in markdown:
        return markdown
    parts = _bench_parts()
    if parts is None:
        missing = "*No benchmark report yet: run `./run bench`.*"
        parts = (missing, missing)
    return markdown.replace("<!-- bench:summary -->", parts[0]).replace("<!-- bench:validation -->", parts[1])


def on_post_page(output, page, config, **kwargs):
    """Finish a page's HTML: Sphinx roles as code, doctest directives out of the examples, notebook pages
    with a download link and no temporary cell paths, the version beside the site name."""
    def plain(m: re.Match) -> str:
        target = m.group(2).lstrip(".")
        return f"<code>{target.rsplit('.', 1)[-1] if m.group(1) else target}</code>"

    output = _SPHINX_ROLE.sub(plain, output)

    def directive(m: re.Match) -> str:
        before = m.group(1)
        comment = before.split(">", 1)[1].strip()
        if "SKIP" in m.group(0) and comment in ("", "#"):
            return m.group(0)  # a skip with no reason stays visible (tests/project/test_site.py fails on it)
        return before.rstrip() + "</span>" if comment not in ("", "#") else ""

    output = _DIRECTIVE.sub(directive, output)
    # short inline code (an option, a name, a short call) is never broken across lines ("-" + "-quick")
    output = re.sub(r"<code>([^<\n]{1,32})</code>", r'<code class="hierlm-nw">\1</code>', output)
    version = html.escape(_version())
    output = re.sub(r'(<div class="md-header__topic">\s*<span class="md-ellipsis">\s*)([^<]*?)(\s*</span>)',
                    lambda m: f'{m.group(1)}{m.group(2)}<span class="hierlm-version">{version}</span>{m.group(3)}',
                    output, count=1)
    src = page.file.src_uri
    if src.startswith("notebooks/") and src.endswith(".ipynb"):
        output = _TMP_CELL.sub("", output)
        # hierlm's messages name the page of this site that explains them: make that a link
        output = re.sub(r"docs/troubleshooting\.md#([a-z0-9-]+)",
                        r'<a href="../../troubleshooting/#\1">docs/troubleshooting.md#\1</a>', output)
        name = Path(src).name
        link = (f'<p class="hierlm-download"><a href="{html.escape(name)}" download>'
                f'<span class="twemoji">⬇</span> Download this notebook ({html.escape(name)})</a> '
                f"— run it with Jupyter after installing hierlm.</p>")
        output = re.sub(r'(<article class="md-content__inner md-typeset">)', r"\1" + link.replace("\\", "\\\\"),
                        output, count=1)
    return output
