"""The documentation site builds: ``mkdocs build --strict`` with no warnings.

The build runs in a subprocess into a temporary directory (``site/`` is not touched).  It renders
the API reference from the docstrings (mkdocstrings) and the notebooks of ``notebooks/`` from
their stored outputs (mkdocs-jupyter, no execution), so a broken docstring section, a dead link
between pages or a name in ``hierlm.__all__`` that cannot be imported fails it.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

from support import ROOT  # noqa: E402

pytestmark = pytest.mark.xdist_group("docs")

pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("mkdocstrings", reason="the docs extra is not installed")
pytest.importorskip("mkdocs_jupyter", reason="the docs extra is not installed")
pytest.importorskip("material", reason="the docs extra is not installed")


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    return site, proc


def test_mkdocs_build_strict(built_site):
    site, proc = built_site
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log}"
    warnings = [line for line in log.splitlines() if re.match(r"\s*(WARNING|ERROR)\b", line)]
    assert not warnings, "\n".join(warnings)


def test_site_pages(built_site):
    site, proc = built_site
    if proc.returncode:
        pytest.skip("build failed (see test_mkdocs_build_strict)")
    for page in ["index.html", "getting-started/index.html", "formula/index.html", "priors/index.html",
                 "lme4-to-hierlm/index.html", "brms-to-hierlm/index.html", "performance/index.html"]:
        assert (site / page).is_file(), page
    api = (site / "api" / "fitting" / "index.html").read_text(encoding="utf-8")
    assert "lmer" in api and "blmer" in api and "Examples" in api


def test_api_reference_covers_all(built_site):
    """Every name of ``hierlm.__all__`` has an entry on some API page."""
    import hierlm

    site, proc = built_site
    if proc.returncode:
        pytest.skip("build failed (see test_mkdocs_build_strict)")
    html = "".join(p.read_text(encoding="utf-8") for p in (site / "api").glob("*/index.html"))
    missing = [name for name in hierlm.__all__ if f'id="{name}"' not in html and f'.{name}"' not in html]
    assert not missing, f"not on any API page: {missing}"


def test_notebooks_rendered(built_site):
    """Every notebook of notebooks/ is a page of the site."""
    site, proc = built_site
    if proc.returncode:
        pytest.skip("build failed (see test_mkdocs_build_strict)")
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert (site / "notebooks" / nb.stem / "index.html").is_file(), nb.name
