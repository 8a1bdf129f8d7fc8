"""Run the ``>>>`` examples of hierlm's docstrings with doctest.

Every module of the package is searched.  Frequentist fits, parsing, datasets and priors run as
written; examples that sample a Bayesian model use small draws (half a second each) and check only
what does not depend on Monte Carlo noise, and a fit with a seed is sampled once per session (see
``_cached_blmer``).  The methods of a fit class share the fit made in the class's own example
(``SHARED``: ``b`` for ``BayesFit``), so their examples need no preamble.  Plots are drawn with the
Agg backend and closed after every module.
"""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import warnings

import pytest

import hierlm

os.environ.setdefault("MPLBACKEND", "Agg")

pytestmark = pytest.mark.xdist_group("doctests")

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: modules that are scripts rather than library code
SKIP_MODULES = {"hierlm.demo", "hierlm.engines.bayes.warmup"}

#: objects made by a class's example and shared by the examples of its methods: name -> code
SHARED = {
    "b": 'hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), draws=500, chains=2, '
         'seed=1, progressbar=False)',
}


def _modules() -> list[str]:
    names = ["hierlm"]
    for info in pkgutil.walk_packages(hierlm.__path__, prefix="hierlm."):
        if info.name not in SKIP_MODULES and not info.name.split(".")[-1].startswith("__"):
            names.append(info.name)
    return sorted(names)


def _tests(module_name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module, module_name) if t.examples]


def _unshadow() -> None:
    """Importing a submodule binds it on the package, hiding a lazily imported public function of
    the same name (``hierlm.kfold``); drop such bindings so ``hl.<name>`` resolves lazily again and
    the other tests running in this process see the functions."""
    import inspect

    for name in getattr(hierlm, "__all__", []):
        if inspect.ismodule(vars(hierlm).get(name)):
            delattr(hierlm, name)


MODULES = [m for m in _modules() if _tests(m)]
_unshadow()


@pytest.fixture(autouse=True)
def _quiet_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    with pd.option_context("display.width", 88, "display.max_columns", 12):
        yield
    plt.close("all")


_FITS: dict = {}


def _cached_blmer(blmer):
    """``hl.blmer`` that samples each (formula, data, settings, seed) once per test session.

    With a seed a fit is reproducible bit for bit, so the docstrings of ``BayesFit``'s methods,
    which each start by fitting the same model, can share one sampling run.  Every call returns
    a fresh ``BayesFit`` around a copy of the posterior, so examples that add groups to
    ``fit.idata`` do not leak into the next one.  Calls without a seed sample as usual.
    """
    import pandas as pd

    from hierlm.fits.bayes import BayesFit

    def wrapper(formula, data, *args, **kwargs):
        if kwargs.get("seed") is None or args:
            return blmer(formula, data, *args, **kwargs)
        key = (formula, int(pd.util.hash_pandas_object(data, index=True).sum()), repr(sorted(kwargs.items())))
        if key not in _FITS:
            _FITS[key] = blmer(formula, data, **kwargs)
        f = _FITS[key]
        return BayesFit(f.design, f.family, f.response, f.spec, f.idata.copy(), f.priors, dict(f.settings),
                        dict(f.timings))

    wrapper.__wrapped__ = blmer
    return wrapper


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that save fits write here
    monkeypatch.setattr(hierlm, "blmer", _cached_blmer(hierlm.blmer))
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failures = []
    for test in _tests(module_name):
        source = "".join(ex.source for ex in test.examples)
        for name, code in SHARED.items():
            if f"{name}." in source and f"{name} = " not in source:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    test.globs[name] = eval(code, {"hl": hierlm})  # noqa: S307 - our own fixed code
                test.globs.setdefault("hl", hierlm)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sampling diagnostics of the small example fits
            result = runner.run(test, out=failures.append)
        assert result.attempted or not test.examples
    _unshadow()
    assert runner.failures == 0, "".join(failures)


def test_public_api_examples_are_collected():
    """The doctests cover the public functions (they live in these modules)."""
    for name in ("hierlm.fits.lmer", "hierlm.fits.glmer", "hierlm.fits.bayes", "hierlm.fits.bayes_setup", "hierlm.io.datasets",
                 "hierlm.engines.bayes.priors", "hierlm.fits.frequentist", "hierlm.fits.bayes", "hierlm.formula.model"):
        assert name in MODULES
