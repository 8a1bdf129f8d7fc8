"""Every public name of ``hierlm`` (and every public method of the fit classes) has a numpy-style
docstring: a summary line, ``Parameters`` when it takes arguments, ``Returns`` and ``Examples``.
Classes need ``Parameters`` or ``Attributes`` (result objects are made by hierlm, so they describe
what they hold) and ``Examples``, but no ``Returns``.

The public names are read from ``hierlm.__all__`` at run time, so functions added later are checked
too.  Exception and warning classes need a summary line and an ``Examples`` section only.
"""

from __future__ import annotations

import inspect
import re

import pytest

import hierlm as hl

FIT_CLASSES = ("LmerFit", "GlmerFit", "ClmmFit", "BayesFit", "LmFit", "GlmFit")
#: section headings of numpy-style docstrings that the checks look for
_SECTION = re.compile(r"^\s*(\w[\w ]*)\n\s*-{3,}\s*$", re.MULTILINE)


def _public_names() -> list[str]:
    return sorted(hl.__all__)


def _is_exception(obj) -> bool:
    return inspect.isclass(obj) and issubclass(obj, (BaseException, Warning))


def _public_methods() -> list[tuple[str, str]]:
    out = []
    for cname in FIT_CLASSES:
        cls = getattr(hl, cname)
        for name, member in inspect.getmembers(cls):
            if name.startswith("_"):
                continue
            if inspect.isfunction(member) or isinstance(inspect.getattr_static(cls, name), (classmethod, staticmethod)):
                out.append((cname, name))
    return out


def _sections(doc: str) -> set[str]:
    return {m.group(1).strip() for m in _SECTION.finditer(doc)}


def _takes_arguments(func) -> bool:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
    return bool(params)


def _check(obj, what: str, returns: bool = True) -> list[str]:
    doc = inspect.getdoc(obj)
    problems = []
    if not doc or not doc.strip():
        return [f"{what}: no docstring"]
    first = doc.strip().splitlines()[0].strip()
    if not first or first.endswith(":") or len(first) > 120:
        problems.append(f"{what}: the first line should be a one-line summary, got {first!r}")
    sections = _sections(doc)
    func = obj.__init__ if inspect.isclass(obj) else obj
    if inspect.isclass(obj) and "__init__" not in vars(obj) and not _is_exception(obj):
        func = obj  # dataclass / inherited constructor: the signature of the class
    # a class may describe what it holds (``Attributes``) instead of its constructor's arguments:
    # result objects are made by hierlm, not by users
    wanted = {"Parameters", "Attributes"} if inspect.isclass(obj) else {"Parameters"}
    if not _is_exception(obj) and _takes_arguments(func) and not wanted & sections:
        problems.append(f"{what}: takes arguments but has no 'Parameters' section")
    if returns and not inspect.isclass(obj) and "Returns" not in sections and "Yields" not in sections:
        problems.append(f"{what}: no 'Returns' section")
    if "Examples" not in sections or ">>>" not in doc.split("Examples", 1)[-1]:
        problems.append(f"{what}: no 'Examples' section with a >>> example")
    return problems


@pytest.mark.parametrize("name", _public_names())
def test_public_name_docstring(name):
    obj = getattr(hl, name)
    assert not inspect.ismodule(obj), (
        f"hl.{name} is the submodule {obj.__name__}, which hides the lazily imported public object of the "
        "same name once the submodule has been imported (see test_all_names_resolve)")
    assert not (problems := _check(obj, f"hl.{name}")), "\n".join(problems)


@pytest.mark.parametrize(("cname", "method"), _public_methods())
def test_fit_method_docstring(cname, method):
    obj = getattr(getattr(hl, cname), method)
    assert not (problems := _check(obj, f"{cname}.{method}")), "\n".join(problems)


def test_fit_classes_are_checked():
    """The method list is not empty, and the core extractors are on it."""
    methods = set(_public_methods())
    for cname in FIT_CLASSES:
        for m in ("fixef", "ranef", "coef", "varcorr", "sigma", "predict", "summary", "save"):
            assert (cname, m) in methods


def test_all_names_resolve():
    """Every public name is the function or class, never a submodule of the same name.

    Importing a submodule sets it as an attribute of the package, which hides a lazily imported
    function of the same name (``hierlm.kfold`` the module vs ``hl.kfold`` the function); so the
    check imports every submodule first, in a fresh process (not to disturb the other tests).
    """
    import subprocess
    import sys

    code = (
        "import importlib, inspect, pkgutil, hierlm as hl\n"
        "for info in pkgutil.walk_packages(hl.__path__, prefix='hierlm.'):\n"
        "    if info.name != 'hierlm.demo':\n"
        "        importlib.import_module(info.name)\n"
        "print([n for n in hl.__all__ if inspect.ismodule(getattr(hl, n))])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    modules = out.stdout.strip().splitlines()[-1]
    assert modules == "[]", f"hl.<name> is a module, not the public function/class: {modules}"
