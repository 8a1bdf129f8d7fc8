"""The built documentation site, read as a browser reads it: the HTML of every page.

``mkdocs build --strict`` runs in a subprocess into a temporary folder (``site/`` is not touched; set
``HIERLM_SITE_DIR`` to check a site built already).  Then:

* every public name of ``hierlm.__all__`` has a reference entry for the function or class itself — a
  heading whose id is ``obj.__module__ + "." + obj.__qualname__`` naming a function or class, never a module;
* no example is skipped without a reason (the site hook removes ``# doctest: +SKIP`` only where a comment
  before it says why, so any that is left is a skip without one);
* every notebook page links its ``.ipynb``, and the file is there; the gallery has a thumbnail per notebook;
* no page needs a CDN: every script, stylesheet, font, image and frame a page or a stylesheet loads is a
  file of the site itself (MathJax and the fonts are bundled);
* the version is shown, and the Plots page shows a picture of each plot it has one for.

Slow (the build takes about a minute on two shared cores).
"""

from __future__ import annotations

import html.parser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docs")]

pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("mkdocstrings", reason="the docs extra is not installed")
pytest.importorskip("mkdocs_jupyter", reason="the docs extra is not installed")

#: (tag, attribute) pairs that make a browser fetch something
_FETCHES = {("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"), ("source", "srcset"),
            ("img", "srcset"), ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data")}
_LINK_FETCH = {"stylesheet", "preload", "modulepreload", "icon", "shortcut icon", "apple-touch-icon",
               "manifest", "prefetch", "dns-prefetch", "preconnect"}
_OFFSITE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])([^'")\s]+)""", re.IGNORECASE)


class _Page(html.parser.HTMLParser):
    """What a page would fetch, and its headings, links and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fetches: list[str] = []
        self.links: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for t, attr in _FETCHES:
            if tag == t and a.get(attr):
                self.fetches += [s.split()[0] for s in a[attr].split(",")] if attr == "srcset" else [a[attr]]
        if tag == "link" and a.get("href") and (a.get("rel") or "").lower() in _LINK_FETCH:
            self.fetches.append(a["href"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if a.get("style"):
            self.styles.append(a["style"])
        if a.get("data-mkdocs-jupyter-mathjax"):  # mkdocs-jupyter's MathJax loader reads its URL from here
            m = re.search(r'"url":\s*"([^"]+)"', a["data-mkdocs-jupyter-mathjax"])
            if m:
                self.fetches.append(m.group(1))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)
        self.text.append(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    given = os.environ.get("HIERLM_SITE_DIR")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}"
    return out


@pytest.fixture(scope="module")
def pages(site) -> dict[str, tuple[str, _Page]]:
    out = {}
    for path in sorted(site.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        parser = _Page()
        parser.feed(text)
        out[str(path.relative_to(site))] = (text, parser)
    return out


def _public():
    import hierlm

    for name in hierlm.__all__:
        obj = getattr(hierlm, name)
        yield name, obj


def test_every_public_name_has_an_entry_for_the_object_itself(pages):
    api = {k: v[0] for k, v in pages.items() if k.startswith("api/")}
    missing, modules = [], []
    for name, obj in _public():
        assert not isinstance(obj, type(sys)), f"hl.{name} is a module"
        ident = f"{obj.__module__}.{obj.__qualname__}"
        kind = "class" if isinstance(obj, type) else "function"
        heading = re.compile(r'<h\d id="' + re.escape(ident) + r'" class="doc doc-heading">\s*<span class="doc '
                             r'doc-object-name doc-(\w+)-name">' + re.escape(obj.__qualname__) + "</span>")
        found = [m.group(1) for text in api.values() for m in heading.finditer(text)]
        if not found:
            missing.append(f"{name} (#{ident})")
        elif kind not in found:
            modules.append(f"{name}: documented as {found}")
    assert not missing, f"no reference entry for: {missing}"
    assert not modules, f"entries that document something else than the {kind} itself: {modules}"


def test_reference_pages_open_with_a_summary_table(pages):
    for key, (text, _) in pages.items():
        if key.startswith("api/") and key.endswith("index.html") and "doc-heading" in text:
            first_entry = text.index('class="doc doc-heading"')
            assert text.find('class="hierlm-members"') < first_entry and 'class="hierlm-members"' in text, key


def test_no_example_is_skipped_without_a_reason(pages):
    bad = {}
    for key, (_, page) in pages.items():
        hits = [line.strip() for line in "".join(page.text).splitlines() if re.search(r"doctest:\s*\+SKIP", line)]
        if hits:
            bad[key] = hits
    assert not bad, ("examples skipped without a reason (write one in a comment before '# doctest: +SKIP'): "
                     f"{bad}")


def test_every_notebook_page_links_its_ipynb(site, pages):
    books = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert books
    gallery = pages["notebooks/index.html"][1]
    for nb in books:
        key = f"notebooks/{nb.stem}/index.html"
        assert key in pages, f"{nb.name} has no page"
        _, page = pages[key]
        assert nb.name in page.links, f"{key} does not link {nb.name}"
        assert (site / "notebooks" / nb.stem / nb.name).is_file(), f"{nb.name} is not in the site"
        assert f"thumbs/{nb.stem}.png" in gallery.fetches or not _has_figure(nb), f"no thumbnail for {nb.name}"
        text = pages[key][0]
        assert not re.search(r"/ipykernel_\d+/\d+\.py:\d+", text), f"{key} prints a temporary cell path"


def _has_figure(nb: Path) -> bool:
    return '"image/png"' in nb.read_text(encoding="utf-8")


def test_no_page_needs_a_cdn(site, pages):
    offsite = {}
    for key, (_, page) in pages.items():
        urls = list(page.fetches)
        for style in page.styles:
            urls += _CSS_URL.findall(style)
        bad = [u for u in urls if _OFFSITE.match(u)]
        if bad:
            offsite[key] = bad
    for css in site.rglob("*.css"):
        bad = [u for u in _CSS_URL.findall(css.read_text(encoding="utf-8", errors="replace")) if _OFFSITE.match(u)]
        if bad:
            offsite[str(css.relative_to(site))] = bad
    assert not offsite, f"pages that load files from another site: {offsite}"
    # what the pages load instead is there
    assert (site / "assets" / "vendor" / "mathjax" / "tex-svg.js").is_file()
    assert list((site / "assets" / "vendor" / "fonts").glob("roboto-*.woff2"))


def test_version_and_plots_are_shown(site, pages):
    import hierlm

    text, _ = pages["index.html"]
    assert f'class="hierlm-version">{hierlm.__version__}<' in text
    plots_text, plots = pages["api/plots/index.html"]
    pictures = sorted(p.stem for p in (ROOT / "docs" / "img" / "plots").glob("plot_*.png"))
    assert pictures
    for name in pictures:
        if f'doc-function-name">{name}<' in plots_text:
            assert any(u.endswith(f"img/plots/{name}.png") for u in plots.fetches), f"the Plots page does not show {name}"
