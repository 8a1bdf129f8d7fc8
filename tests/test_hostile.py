"""Catalogue of hostile and careless input, as a careless or malicious user would try it (issue 14).

Every case asserts the error class and what the message names, or the exact safe behaviour.  The
cases run against the public entry points (``hierlm/__init__``), so this file sits at the root of
the test tree.  Sections: formulas that ask for unbounded memory (also run under an address-space
limit), degenerate data on every engine, bad arguments, bad ``newdata``, saving into and loading from
folders a stranger prepared, and exact round trips of awkward columns.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import hierlm as hl
from hierlm.storage import folder as store_folder

SLEEP = hl.load_dataset("sleepstudy")
CBPP = hl.load_dataset("cbpp")
F = "Reaction ~ Days + (1|Subject)"
RNG = np.random.default_rng(14)
BIG = pd.DataFrame({"y": RNG.normal(size=2000), "x": RNG.normal(size=2000), "z": RNG.normal(size=2000),
                    "f": np.arange(2000).astype(str), "h": (np.arange(2000) % 400).astype(str),
                    "g": (np.arange(2000) % 20).astype(str)})


def _quiet(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return run


def _lmer(formula=F, data=SLEEP, **kw):
    return _quiet(lambda: hl.lmer(formula, data, **kw))()


def _glmer(formula, data, family, **kw):
    return _quiet(lambda: hl.glmer(formula, data, family=family, **kw))()


def _blmer(formula, data, **kw):
    kw.setdefault("draws", 20)
    kw.setdefault("tune", 20)
    kw.setdefault("chains", 1)
    kw.setdefault("progressbar", False)
    return _quiet(lambda: hl.blmer(formula, data, **kw))()


# -- 1. formulas that would ask for unbounded memory -------------------------------------------------------
MEMORY_FORMULAS = [
    ("poly 1e9", "y ~ poly(x, 1e9) + (1|g)", "poly(x, 1e+09)"),
    ("raw poly 1e9", "y ~ poly(x, 1e9, raw = TRUE) + (1|g)", "poly(x, 1e+09, raw = TRUE)"),
    ("poly 5000", "y ~ poly(x, 5000) + (1|g)", "must be less than the number of unique points"),
    ("poly inf", "y ~ poly(x, Inf) + (1|g)", "positive whole number"),
    ("poly negative", "y ~ poly(x, -3) + (1|g)", "positive whole number"),
    ("poly fraction", "y ~ poly(x, 2.5) + (1|g)", "positive whole number"),
    ("poly text degree", "y ~ poly(x, 'a') + (1|g)", "positive whole number"),
    ("poly inside bar", "y ~ 1 + (poly(x, 1e9)|g)", "poly(x, 1e+09)"),
    ("cross of power", "y ~ (x + z + f + h)^4 + (1|g)", "would make"),
    ("factor interaction", "y ~ f:h + (1|g)", "would make"),
    ("factor times factor", "y ~ f*h + (1|g)", "would make"),
    ("big factor bar", "y ~ 1 + (f|g)", "would make"),
    ("big factor bar double", "y ~ 1 + (f||g)", "40,000 random effects for 2,000 observations"),
    ("interaction bar", "y ~ 1 + (f:h|g)", "would make"),
    ("many-way star", "y ~ " + " * ".join(f"poly(x, {k})" for k in range(1, 16)) + " + (1|g)", "terms"),
    ("power of many", "y ~ (" + " + ".join(f"I(x^{k})" for k in range(1, 41)) + ")^40 + (1|g)", "terms"),
]


@pytest.mark.parametrize("formula, names", [c[1:] for c in MEMORY_FORMULAS], ids=[c[0] for c in MEMORY_FORMULAS])
def test_formula_asking_for_unbounded_memory(formula, names, monkeypatch):
    monkeypatch.setenv("HIERLM_MAX_DESIGN_CELLS", str(10**7))
    with pytest.raises(hl.HierlmError) as err:
        _lmer(formula, BIG)
    assert names in str(err.value)


def test_memory_cases_under_an_address_space_limit(tmp_path):
    """The same formulas in a process that may not exceed 2 GiB of address space beyond what it has:
    every one fails with a HierlmError naming the size, none with MemoryError or a crash."""
    BIG.to_csv(tmp_path / "big.csv", index=False)
    code = f"""
import resource, sys, json, warnings
import pandas as pd, hierlm as hl
warnings.simplefilter("ignore")
d = pd.read_csv({str(tmp_path / 'big.csv')!r}, dtype={{"f": str, "h": str, "g": str}})
used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + 2 * 2**30, used + 2 * 2**30))
out = []
for f in {json.dumps([c[1] for c in MEMORY_FORMULAS])}:
    try:
        hl.lmer(f, d)
        out.append("fitted")
    except hl.HierlmError:
        out.append("HierlmError")
    except MemoryError:
        out.append("MemoryError")
print(json.dumps(out))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout.strip().splitlines()[-1]) == ["HierlmError"] * len(MEMORY_FORMULAS)


def test_formula_of_a_thousand_terms_fits():
    d = pd.DataFrame({f"x{i}": RNG.normal(size=60) for i in range(1000)}).assign(y=RNG.normal(size=60),
                                                                                  g=np.arange(60) % 6)
    f = "y ~ " + " + ".join(f"x{i}" for i in range(1000)) + " + (1|g)"
    with pytest.raises(hl.DataError, match="fixed-effect column"):  # 1000 columns for 60 rows: n <= p, refused
        _lmer(f, d)
    small = "y ~ " + " + ".join(f"x{i}" for i in range(40)) + " + (1|g)"
    assert _lmer(small, d).nobs() == 60


# -- 2. degenerate data, on every engine -------------------------------------------------------------------
def _engines(formula, data, family="gaussian"):
    out = [("glmer", lambda: _glmer(formula, data, family))] if family != "gaussian" else [
        ("lmer", lambda: _lmer(formula, data))]
    out.append(("blmer", lambda: _blmer(formula, data, family=family)))
    return out


DEGENERATE = []
for name, formula, data, family, text in [
    ("constant response", "y ~ Days + (1|Subject)", SLEEP.assign(y=5.0), "gaussian", "is constant (every value is 5)"),
    ("constant negative response", "y ~ Days + (1|Subject)", SLEEP.assign(y=-2.5), "gaussian", "every value is -2.5"),
    ("constant zero response", "y ~ 1 + (1|Subject)", SLEEP.assign(y=0.0), "gaussian", "is constant"),
    ("all-zero Poisson", "z ~ period + (1|herd)", CBPP.assign(z=0), "poisson", "is 0 in every row"),
    ("all-zero negbinomial", "z ~ period + (1|herd)", CBPP.assign(z=0), "negbinomial", "is 0 in every row"),
    ("all-failure Bernoulli", "z ~ period + (1|herd)", CBPP.assign(z=0), "bernoulli", "only failures"),
    ("all-success Bernoulli", "z ~ period + (1|herd)", CBPP.assign(z=1), "bernoulli", "only successes"),
    ("all-failure binomial", "cbind(z, size) ~ period + (1|herd)", CBPP.assign(z=0), "binomial", "only failures"),
    ("all-success binomial", "cbind(size, z) ~ period + (1|herd)", CBPP.assign(z=0), "binomial", "only successes"),
    ("logical all TRUE", "z ~ period + (1|herd)", CBPP.assign(z=True), "bernoulli", "only successes"),
    ("p equals n", "Reaction ~ factor(Days) + (1|Subject)", SLEEP.iloc[[0, 1, 2, 3, 4, 15, 16, 17, 18, 19]],
     "gaussian", "must exceed the number of fixed effects"),
]:
    for engine, call in _engines(formula, data, family):
        DEGENERATE.append((f"{name} [{engine}]", call, hl.DataError, text))


@pytest.mark.parametrize("call, kind, text", [c[1:] for c in DEGENERATE], ids=[c[0] for c in DEGENERATE])
def test_degenerate_data_refused(call, kind, text):
    with pytest.raises(kind) as err:
        call()
    assert text in str(err.value)


def test_zero_weights_dropped_by_every_engine():
    w = np.ones(180)
    w[:10] = 0
    d = SLEEP.assign(w=w)
    for fit in (_lmer(weights="w", data=d), _blmer(F, d, weights="w")):
        assert fit.nobs() == 170
    with pytest.warns(hl.HierlmWarning, match=r"10 row\(s\) with weight 0 dropped"):
        hl.lmer(F, d, weights="w")


@pytest.mark.parametrize("value", [1e151, -1e200, 1e300, 1.7e308])
@pytest.mark.parametrize("column", ["Reaction", "Days"])
def test_huge_values_refused(column, value):
    d = SLEEP.assign(**{column: SLEEP[column] * 0 + value + SLEEP[column]})
    with pytest.raises(hl.DataError, match=f"column '{column}' has 180 value"):
        _lmer(data=d)


@pytest.mark.parametrize("weights, text", [
    (np.r_[-1.0, np.ones(179)], "finite and non-negative"),
    (np.r_[np.inf, np.ones(179)], "the weights has 1 infinite value"),
    (np.zeros(180), "every weight is 0"),
    (np.ones(179), "one value per row"),
    ("nope", "'nope'"),
])
def test_bad_weights(weights, text):
    with pytest.raises(hl.DataError, match=text.replace("(", r"\(")):
        _lmer(weights=weights)


# -- 3. bad arguments -----------------------------------------------------------------------------------------
BAD_SAMPLER_ARGS = [("tune", v) for v in (0, -1, 2.5, "a", None, True)] + \
                   [("draws", v) for v in (0, -3, 1.5, "10", None, False)] + \
                   [("chains", v) for v in (0, -1, 2.0, "4", None)] + \
                   [("maxdepth", v) for v in (-1, 0, 31, 2.5, "10", 10**6)] + \
                   [("target_accept", v) for v in (0, 1, 1.5, -0.2, "0.9")] + \
                   [("seed", v) for v in (-1, 2**63, 1.5, "1", True)] + \
                   [("cores", v) for v in (0, -2, 1.5, "2")] + \
                   [("method", v) for v in ("margin", None, 1)] + \
                   [("init", v) for v in ("zero", None)] + \
                   [("sample_prior", v) for v in ("always", 1)] + \
                   [("mass_matrix", v) for v in ("dense", 1)] + \
                   [("sampler", v) for v in ("stan", "numpy", 3)]


@pytest.mark.parametrize("arg, value", BAD_SAMPLER_ARGS, ids=[f"{a}={v!r}" for a, v in BAD_SAMPLER_ARGS])
def test_bad_sampler_arguments(arg, value):
    with pytest.raises(hl.SamplingError) as err:
        hl.blmer(F, SLEEP, progressbar=False, **{arg: value})
    assert arg in str(err.value)


def test_unknown_blmer_argument_suggests():
    with pytest.raises(hl.HierlmError, match="Did you mean 'draws'"):
        hl.blmer(F, SLEEP, drawz=10)


@pytest.mark.parametrize("nagq", [-1, 26, 1.5, "1", True, None])
def test_bad_nagq(nagq):
    with pytest.raises(hl.HierlmError, match="nAGQ must be a whole number"):
        _glmer("incidence ~ period + (1|herd)", CBPP, "poisson", nAGQ=nagq)


@pytest.mark.parametrize("reml", ["yes", 1, 0, None, "TRUE"])
def test_bad_reml(reml):
    with pytest.raises(hl.HierlmError, match="reml must be True"):
        _lmer(reml=reml)


@pytest.mark.parametrize("family", ["poison", "gausian", "", "logit", 3, None, ["poisson"]])
def test_bad_family(family):
    with pytest.raises(hl.HierlmError):
        _glmer("incidence ~ period + (1|herd)", CBPP, family)


@pytest.mark.parametrize("data", [None, [1, 2], "sleepstudy", np.zeros((3, 3)), 42, SLEEP.iloc[:0]])
def test_bad_data(data):
    with pytest.raises(hl.DataError):
        _lmer(data=data)


@pytest.mark.parametrize("formula", [None, 42, b"y ~ x", ["Reaction ~ Days"], "", "   ", "~", "Reaction ~",
                                     "Reaction ~ Days + (1|Subject", "Reaction ~ Days + (1||)", "Reaction ~ ((1|S)"])
def test_bad_formula(formula):
    with pytest.raises(hl.HierlmError):
        _lmer(formula=formula)


@pytest.mark.parametrize("expr, text", [
    ("round(Days, 1e300)", "digits"), ("round(Days, -1e9)", "digits"), ("round(Days, 'a')", "digits"),
    ("round(Days, Inf)", "digits"), ("log(Days, base = 'e')", "must be a number, not the text 'e'"),
    ("log(Days, base = 1)", "positive number other than 1"), ("log(Days, base = -2)", "positive number other than 1"),
    ("scale(Days, center = 'a')", "must be TRUE or FALSE"), ("scale(Days, scale = 2)", "must be TRUE or FALSE"),
    ("poly(Days, 2, raw = 'yes')", "must be TRUE or FALSE"), ("poly(Days, 2, raw = TRUE)", None),
    ("scale(Days, center = FALSE)", None), ("log(Days + 1, base = 2)", None), ("poly(Days, Days)", "constant"),
])
def test_bad_transform_arguments(expr, text):
    if text is None:
        assert _lmer(f"Reaction ~ {expr} + (1|Subject)").nobs() == 180
        return
    with pytest.raises(hl.HierlmError) as err:
        _lmer(f"Reaction ~ {expr} + (1|Subject)")
    assert text in str(err.value)


# -- 4. newdata -------------------------------------------------------------------------------------------------
M = _lmer("Reaction ~ Days + (Days|Subject)")
G = _glmer("cbind(incidence, size - incidence) ~ period + (1|herd)", CBPP, "binomial")

NEWDATA = [
    ("NaN group", pd.DataFrame({"Days": [1.0], "Subject": [np.nan]}), {}, hl.DataError, "missing value of the grouping"),
    ("NaN group allow new", pd.DataFrame({"Days": [1.0], "Subject": [np.nan]}), {"allow_new_levels": True},
     hl.DataError, "missing value of the grouping"),
    ("None group", pd.DataFrame({"Days": [1.0], "Subject": [None]}), {}, hl.DataError, "missing value of the grouping"),
    ("text Days", pd.DataFrame({"Days": ["a"], "Subject": ["308"]}), {}, hl.DataError, "held numbers"),
    ("bool Days", pd.DataFrame({"Days": [True], "Subject": ["308"]}), {}, None, None),
    ("numeric Subject", pd.DataFrame({"Days": [1.0], "Subject": [308]}), {}, None, None),
    ("missing column", pd.DataFrame({"Subject": ["308"]}), {}, hl.DataError, "'Days'"),
    ("new level", pd.DataFrame({"Days": [1.0], "Subject": ["999"]}), {}, hl.DataError, "allow_new_levels=True"),
    ("empty", pd.DataFrame({"Days": [], "Subject": []}), {}, hl.DataError, "empty"),
    ("not a frame", [[1, "308"]], {}, hl.DataError, "DataFrame"),
    ("bad re_form", pd.DataFrame({"Days": [1.0], "Subject": ["308"]}), {"re_form": 3}, hl.FormulaError, "re_form"),
    ("unknown re_form group", pd.DataFrame({"Days": [1.0], "Subject": ["308"]}), {"re_form": "~(1|Item)"},
     hl.FormulaError, "'Item'"),
    ("infinite Days", pd.DataFrame({"Days": [np.inf], "Subject": ["308"]}), {}, None, None),
]


@pytest.mark.parametrize("newdata, kw, kind, text", [c[1:] for c in NEWDATA], ids=[c[0] for c in NEWDATA])
def test_newdata_lmer(newdata, kw, kind, text):
    if kind is None:
        out = M.predict(newdata, **kw)
        assert out.shape == (len(newdata),)
        return
    with pytest.raises(kind) as err:
        M.predict(newdata, **kw)
    assert text in str(err.value)


@pytest.mark.parametrize("newdata, text", [
    (pd.DataFrame({"period": ["1"], "herd": [np.nan]}), "missing value of the grouping"),
    (pd.DataFrame({"period": ["9"], "herd": ["1"]}), "level(s) ['9']"),
    (pd.DataFrame({"period": [1], "herd": [1]}), None),
    (pd.DataFrame({"herd": ["1"]}), "'period'"),
])
def test_newdata_glmer(newdata, text):
    if text is None:
        assert G.predict(newdata).shape == (1,)
        return
    with pytest.raises(hl.HierlmError) as err:
        G.predict(newdata)
    assert text in str(err.value)


# -- 5. saving into and loading from hostile folders -----------------------------------------------------------
def _save(fit, path, **kw):
    return fit.save(path, **kw)


def test_save_refuses_a_folder_with_foreign_files(tmp_path):
    (tmp_path / "data.nc").write_text("my thesis data")
    (tmp_path / "thesis.tex").write_text("\\section{}")
    with pytest.raises(hl.HierlmError, match="not a hierlm save.*data.nc, thesis.tex"):
        _save(M, tmp_path)
    assert (tmp_path / "data.nc").read_text() == "my thesis data"


def test_overwrite_writes_beside_foreign_files_and_touches_nothing_else(tmp_path):
    (tmp_path / "thesis.tex").write_text("\\section{}")
    _save(M, tmp_path, overwrite=True)
    assert (tmp_path / "thesis.tex").read_text() == "\\section{}"
    assert hl.load(tmp_path).fixef().equals(M.fixef())
    b = _blmer(F, SLEEP, seed=1)
    _save(b, tmp_path, overwrite=True)  # the lmer's arrays.nc goes, thesis.tex stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.nc", "hierlm.json", "posterior.nc", "thesis.tex"]


def test_saving_over_a_save_leaves_no_stale_file(tmp_path):
    b = _blmer(F, SLEEP, seed=1)
    _save(b, tmp_path / "fit")
    _save(M, tmp_path / "fit")
    assert sorted(p.name for p in (tmp_path / "fit").iterdir()) == ["arrays.nc", "data.nc", "hierlm.json"]
    assert not list(tmp_path.glob(".fit.*"))  # no temporary folders left behind


def test_save_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    out = _save(M, "~/fits/x")
    assert out == tmp_path / "fits" / "x" and (tmp_path / "fits" / "x" / "hierlm.json").is_file()
    assert not pathlib.Path("~").exists()
    assert hl.load("~/fits/x").sigma() == M.sigma()


@pytest.mark.parametrize("path", [42, None, 3.5, ["a"]])
def test_save_path_of_the_wrong_type(path):
    with pytest.raises(hl.HierlmError, match="path must be"):
        _save(M, path)


def test_save_onto_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(hl.HierlmError, match="is a file"):
        _save(M, tmp_path / "f")


def _tamper(folder: pathlib.Path, edit, resign: bool = True):
    meta = json.loads((folder / "hierlm.json").read_text())
    edit(meta)
    if resign:
        meta["digest"] = store_folder._meta_digest(meta)
    (folder / "hierlm.json").write_text(json.dumps(meta))


def _resign_file(folder: pathlib.Path, name: str):
    meta = json.loads((folder / "hierlm.json").read_text())
    meta["files"][name] = store_folder._sha256(folder / name)
    meta["digest"] = store_folder._meta_digest(meta)
    (folder / "hierlm.json").write_text(json.dumps(meta))


TAMPER = [
    ("edited formula", lambda m: m.update(formula="Reaction ~ 1 + (1|Subject)"), False, "was changed after"),
    ("edited formula, re-signed", lambda m: m.update(formula="Reaction ~ 1 + (1|Subject)"), True, "differs in"),
    ("edited theta, re-signed", lambda m: m["fit"].update(objective="x"), True, "finite number"),
    ("format_version text", lambda m: m.update(format_version="2"), True, "format_version"),
    ("format_version float", lambda m: m.update(format_version=2.0), True, "format_version"),
    ("format_version future", lambda m: m.update(format_version=99), True, "newer hierlm"),
    ("format_version old", lambda m: m.update(format_version=1), True, "older format"),
    ("kind unknown", lambda m: m.update(kind="StanFit"), True, "unknown kind"),
    ("kind missing", lambda m: m.pop("kind"), True, "'kind'"),
    ("weights too short", lambda m: m.update(weights=[1.0]), True, "one weight per data row"),
    ("data rows", lambda m: m["data"].update(nrow=5), True, "row labels"),
    ("column dtype", lambda m: m["data"]["types"][0].update(dtype="complex999"), True, "malformed"),
    ("column kind", lambda m: m["data"]["types"][0].update(kind="pickle"), True, "unknown kind"),
    ("category levels", lambda m: m["data"]["types"][2].update(levels=[["s", "1"]]), True, "codes outside"),
    ("family", lambda m: m["fit"].update(family="poison"), True, "unknown family"),
    ("nAGQ", lambda m: m["fit"].update(nAGQ=99), True, "'nAGQ' must be a whole number"),
    ("reml text", lambda m: m["fit"].update(reml="yes"), True, "'reml'"),
    ("files dropped", lambda m: m["files"].pop("arrays.nc"), True, "does not list arrays.nc"),
    ("files not a dict", lambda m: m.update(files=[]), True, "not a hierlm manifest"),
    ("design blocks", lambda m: m["design"]["blocks"][0].update(levels=["a"]), True, "differs in 'blocks'"),
    ("design names", lambda m: m["design"].update(xnames=["x"]), True, "differs in 'xnames'"),
]


@pytest.mark.parametrize("edit, resign, text", [c[1:] for c in TAMPER], ids=[c[0] for c in TAMPER])
def test_tampered_saves_are_refused(tmp_path, edit, resign, text):
    folder = _save(G if "nAGQ" in str(edit.__code__.co_consts) else M, tmp_path / "fit")
    _tamper(folder, edit, resign)
    with pytest.raises(hl.HierlmError) as err:
        hl.load(folder)
    assert text in str(err.value)


def test_theta_of_the_wrong_length_is_refused(tmp_path):
    import xarray as xr

    folder = _save(M, tmp_path / "fit")
    with xr.open_dataset(folder / "arrays.nc", engine="h5netcdf") as ds:
        arrays = {k: ds[k].values for k in ds.data_vars}
    arrays["theta"] = np.r_[arrays["theta"], 1.0]
    xr.Dataset({k: xr.Variable([f"{k}_dim{j}" for j in range(v.ndim)], v) for k, v in arrays.items()}).to_netcdf(
        folder / "arrays.nc", engine="h5netcdf")
    with pytest.raises(hl.HierlmError, match="arrays.nc' was changed"):
        hl.load(folder)
    _resign_file(folder, "arrays.nc")
    with pytest.raises(hl.HierlmError, match=r"'theta' has shape \(4,\), but the model needs \(3,\)"):
        hl.load(folder)


@pytest.mark.parametrize("name", ["data.nc", "arrays.nc", "hierlm.json"])
@pytest.mark.parametrize("how", ["truncate", "delete", "empty", "garbage"])
def test_damaged_files_are_refused(tmp_path, name, how):
    folder = _save(M, tmp_path / "fit")
    target = folder / name
    if how == "truncate":
        target.write_bytes(target.read_bytes()[: max(1, target.stat().st_size // 3)])
    elif how == "delete":
        target.unlink()
    elif how == "empty":
        target.write_bytes(b"")
    else:
        target.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(500))
    with pytest.raises(hl.HierlmError) as err:
        hl.load(folder)
    assert name in str(err.value) or "not a saved hierlm fit" in str(err.value)


def test_damaged_file_with_a_matching_digest_is_refused_by_its_content(tmp_path):
    folder = _save(M, tmp_path / "fit")
    (folder / "data.nc").write_bytes(b"not netcdf at all")
    _resign_file(folder, "data.nc")
    with pytest.raises(hl.HierlmError, match="cannot be read as netCDF"):
        hl.load(folder)


def test_a_decompression_bomb_is_not_loaded(tmp_path):
    import xarray as xr

    folder = _save(M, tmp_path / "fit")
    big = xr.Dataset({"col0": ("row", np.zeros(20_000_000))})
    big.to_netcdf(folder / "data.nc", engine="h5netcdf", encoding={"col0": {"compression": "gzip",
                                                                             "compression_opts": 9}})
    _resign_file(folder, "data.nc")
    with pytest.raises(hl.HierlmError, match="declares 160,000,000 bytes"):
        hl.load(folder)


def test_huge_manifest_is_not_read(tmp_path):
    folder = _save(M, tmp_path / "fit")
    with open(folder / "hierlm.json", "ab") as f:
        f.truncate(store_folder.MAX_META_BYTES + 10)
    with pytest.raises(hl.HierlmError, match="refusing to read it"):
        hl.load(folder)


@pytest.mark.parametrize("content", ["[]", "42", "null", '"text"', "{", '{"files": {}}'])
def test_manifest_that_is_not_one(tmp_path, content):
    folder = _save(M, tmp_path / "fit")
    (folder / "hierlm.json").write_text(content)
    with pytest.raises(hl.HierlmError):
        hl.load(folder)


def test_load_of_a_folder_without_a_save(tmp_path):
    with pytest.raises(hl.HierlmError, match="not a saved hierlm fit"):
        hl.load(tmp_path)


def test_formula_in_a_strangers_save_cannot_ask_for_memory(tmp_path, monkeypatch):
    folder = _save(M, tmp_path / "fit")
    _tamper(folder, lambda m: m.update(formula="Reaction ~ poly(Days, 1e9) + (Days | Subject)"))
    with pytest.raises(hl.FormulaError, match=r"poly\(Days, 1e\+09\)"):
        hl.load(folder)


# -- 6. exact round trips of awkward columns ---------------------------------------------------------------------
def _awkward(kind: str) -> pd.DataFrame:
    base = SLEEP.copy()
    codes = base.Days.to_numpy() % 3
    cols = {
        "bool": pd.Categorical(codes == 0),
        "float": pd.Categorical(np.array([1.0, 2.5, 1e5])[codes]),
        "int": pd.Categorical(np.array([10, 2, 33])[codes]),
        "mixed": pd.Categorical(np.array([1, "1", 2.5], dtype=object)[codes]),
        "arrow": pd.array(np.array(["ä", "b", "c"])[codes], dtype="string[pyarrow]"),
        "unicode": np.array(["αλφα", "βήτα", "γάμμα ü"])[codes],
        "plain bool": codes == 0,
        "object numbers": np.array([1, 2.5, 3], dtype=object)[codes],
    }
    return base.assign(k=cols[kind])


AWKWARD = ["bool", "float", "int", "mixed", "arrow", "unicode", "plain bool", "object numbers"]


def _same_fit(a, b):
    assert b.fixef().equals(a.fixef())
    assert b.varcorr().equals(a.varcorr())
    for g in a.ranef():
        assert b.ranef()[g].equals(a.ranef()[g])
    assert list(b.design.xnames) == list(a.design.xnames)
    assert [t.levels for t in b.design.reterms] == [t.levels for t in a.design.reterms]
    np.testing.assert_array_equal(b.fitted(), a.fitted())
    np.testing.assert_array_equal(b.predict(a.design.data), a.predict(a.design.data))


@pytest.mark.parametrize("kind", AWKWARD)
@pytest.mark.parametrize("where", ["fixed", "group"])
def test_round_trip_lmer(tmp_path, kind, where):
    d = _awkward(kind)
    f = "Reaction ~ Days + k + (1|Subject)" if where == "fixed" else "Reaction ~ Days + (1|k) + (1|Subject)"
    m = _lmer(f, d)
    _same_fit(m, hl.load(_save(m, tmp_path / "fit")))


@pytest.mark.parametrize("kind", AWKWARD)
def test_round_trip_glmer(tmp_path, kind):
    d = CBPP.assign(k=_awkward(kind).k.iloc[: len(CBPP)].to_numpy())
    g = _glmer("cbind(incidence, size - incidence) ~ k + (1|herd)", d, "binomial")
    back = hl.load(_save(g, tmp_path / "fit"))
    _same_fit(g, back)


@pytest.mark.parametrize("kind", ["bool", "mixed", "arrow", "unicode"])
def test_round_trip_blmer(tmp_path, kind):
    b = _blmer("Reaction ~ Days + k + (1|Subject)", _awkward(kind), seed=3)
    back = hl.load(_save(b, tmp_path / "fit"))
    assert back.fixef().equals(b.fixef())
    np.testing.assert_array_equal(back.predict(b.design.data), b.predict(b.design.data))


def test_round_trip_weights_offsets_and_unicode_names(tmp_path):
    d = SLEEP.rename(columns={"Days": "Tage ü", "Reaction": "Reaktion"}).assign(w=np.linspace(0.5, 2, 180),
                                                                               off=np.linspace(-1, 1, 180))
    m = _lmer("Reaktion ~ `Tage ü` + offset(off) + (1|Subject)", d, weights="w")
    back = hl.load(_save(m, tmp_path / "fit"))
    _same_fit(m, back)
    np.testing.assert_array_equal(back.design.weights, m.design.weights)
    np.testing.assert_array_equal(back.design.offset, m.design.offset)


def test_row_labels_keep_their_type(tmp_path):
    d = SLEEP.set_index(pd.Index([f"r{i}" for i in range(180)]))
    m = _lmer(data=d)
    back = hl.load(_save(m, tmp_path / "fit"))
    assert list(back.design.rows) == list(m.design.rows)
    m2 = _lmer(data=SLEEP)
    back2 = hl.load(_save(m2, tmp_path / "fit2"))
    assert [type(r) for r in back2.design.rows] == [type(r) for r in m2.design.rows]


# -- 8. careless arguments to the extractors and services ---------------------------------------------------
_M = _lmer("Reaction ~ Days + (Days|Subject)")
_G = _glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", CBPP, "binomial")
_L = _quiet(lambda: hl.lm("Reaction ~ Days", SLEEP))()
_GL = _quiet(lambda: hl.glm("cbind(incidence, size - incidence) ~ period", CBPP, family="binomial"))()

SERVICE_CASES = [
    ("load_dataset None", lambda: hl.load_dataset(None), "takes a dataset's name as a string"),
    ("load_dataset int", lambda: hl.load_dataset(3), "not int"),
    ("load_dataset path", lambda: hl.load_dataset("../../etc/passwd"), "no dataset called"),
    ("load_dataset typo", lambda: hl.load_dataset("sleepstudyy"), "Did you mean 'sleepstudy'"),
    ("lmer predict type", lambda: _M.predict(type="prob"), "type must be 'response' or 'link'"),
    ("glmer predict type", lambda: _G.predict(type="probability"), "type must be 'response' or 'link'"),
    ("lmer update misspelt setting", lambda: _M.update(REMl=False), "Did you mean 'reml'"),
    ("glmer update misspelt setting", lambda: _G.update(nagq=2), "Did you mean 'nAGQ'"),
    ("lm update unknown setting", lambda: _L.update(family="poisson"), "lm() does not take"),
    ("glm update misspelt setting", lambda: _GL.update(famly="poisson"), "Did you mean 'family'"),
    ("update unknown column", lambda: _M.update(". ~ . + Dayz"), "Did you mean 'Days'"),
    ("update empty formula", lambda: _M.update("~~"), "nothing on its left"),
    ("confint level text", lambda: _M.confint(level="95%"), "level must be a number between 0 and 1"),
    ("confint level 2", lambda: _M.confint(level=2), "between 0 and 1"),
    ("confint level bool", lambda: _M.confint(level=True), "between 0 and 1"),
    ("confint unknown parm", lambda: _M.confint(parm=["Dayz"]), "no parameter 'Dayz'"),
    ("confint unknown method", lambda: _M.confint(method="bayes"), "use 'profile', 'wald' or 'boot'"),
    ("confint no bootstrap draws", lambda: _M.confint(method="boot", nsim=0), "nsim must be a positive integer"),
    ("lm confint level", lambda: _L.confint(level=-1), "between 0 and 1"),
    ("summary misspelt ddf", lambda: _M.summary(ddf="Satterwaite"), "ddf must be"),
    ("anova unknown ddf", lambda: hl.anova(_M, ddf="KR2"), "ddf must be"),
    ("anova type 4", lambda: hl.anova(_M, type=4), "type must be 1, 2 or 3"),
    ("anova of a string", lambda: hl.anova(_M, "model"), "not str"),
    ("anova lm with glm", lambda: hl.anova(_L, _GL), "compares lm fits with lm fits"),
    ("anova on other rows", lambda: hl.anova(_M, _lmer("Reaction ~ Days + (1|Subject)", SLEEP.iloc[:100])),
     "different numbers of observations"),
    ("anova other response", lambda: hl.anova(_M, _lmer("log(Reaction) ~ Days + (1|Subject)")), "different responses"),
    ("simulate negative nsim", lambda: _M.simulate(nsim=-1), "nsim must be a positive integer"),
    ("simulate text nsim", lambda: _M.simulate(nsim="10"), "nsim must be a positive integer"),
    ("simulate text seed", lambda: _M.simulate(nsim=1, seed="x"), "seed must be None"),
    ("glmer residual type", lambda: _G.residuals(type="studentized"), "type must be 'deviance'"),
    ("lmer residual type", lambda: _M.residuals(type="foo"), "residual type must be one of"),
    ("lm residual type", lambda: _L.residuals(type="foo"), "residual type must be one of"),
    ("predict unknown interval", lambda: _M.predict(interval="foo"), "interval must be"),
    ("predict interval level", lambda: _M.predict(interval="confidence", level=5), "between 0 and 1"),
    ("glmer prediction interval", lambda: _G.predict(interval="prediction"), "use interval='confidence'"),
    ("lm newdata without the column", lambda: _L.predict(newdata=pd.DataFrame({"x": [1]})), "not a column"),
    ("predict re_form unknown group", lambda: _M.predict(re_form="~(1|Foo)"), "'Foo'"),
    ("save overwrite text", lambda: _M.save("unused-folder", overwrite="yes"), "overwrite must be True or False"),
    ("tidy unknown effects", lambda: hl.tidy(_M, effects="random2"), "effects must be among"),
    ("tidy of an int", lambda: hl.tidy(42), "not int"),
    ("glance of a string", lambda: hl.glance("x"), "needs a fit"),
    ("r2 of a string", lambda: hl.r2("m"), "not str"),
    ("icc of None", lambda: hl.icc(None), "not NoneType"),
    ("plot_pooling unknown x", lambda: hl.plot_pooling(_M, x="Dayz"), "Did you mean 'Days'"),
    ("plot_ranef unknown group", lambda: hl.plot_ranef(_M, group="Foo"), "no grouping factor 'Foo'"),
    ("plot_varcorr of an lm", lambda: hl.plot_varcorr(_L), "an lm has no random effects"),
    ("plot_residuals of an int", lambda: hl.plot_residuals(42), "not int"),
    ("side_by_side of two lm", lambda: hl.side_by_side(_L, _L), "an hl.blmer fit"),
    ("bootstrap_lrt swapped", lambda: hl.bootstrap_lrt(_lmer(reml=False), _lmer("Reaction ~ 1 + (1|Subject)", reml=False),
                                                       nsim=5), "must be the null model"),
]


@pytest.mark.parametrize("call, text", [c[1:] for c in SERVICE_CASES], ids=[c[0] for c in SERVICE_CASES])
def test_careless_service_arguments(call, text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(hl.HierlmError) as err:
        _quiet(call)()
    assert text in str(err.value)
    assert not (tmp_path / "unused-folder").exists()


# -- 9. regression without random effects: the same refusals as the mixed engines ----------------------------
LM_DEGENERATE = [
    ("lm constant response", lambda: hl.lm("y ~ x", pd.DataFrame({"y": [1.0] * 5, "x": [1, 2, 3, 4, 5.0]})),
     "is constant"),
    ("lm as many columns as rows", lambda: hl.lm("y ~ x + z", pd.DataFrame({"y": [1.0, 2], "x": [1, 2.0], "z": [3, 1.0]})),
     "must exceed the number of fixed effects"),
    ("glm all-zero Poisson", lambda: hl.glm("y ~ x", pd.DataFrame({"y": [0] * 6, "x": range(6)}), family="poisson"),
     "is 0 in every row"),
    ("glm all-success binomial", lambda: hl.glm("y ~ x", pd.DataFrame({"y": [1] * 6, "x": range(6)}), family="binomial"),
     "only successes"),
    ("glm negative counts", lambda: hl.glm("y ~ x", pd.DataFrame({"y": [-1, 0, 3, 1, 1, 1], "x": range(6)}),
                                           family="poisson"), "negative counts"),
    ("glm proportions without weights", lambda: hl.glm("y ~ x", pd.DataFrame({"y": [0.5, 0, 1, 1, 1, 0], "x": range(6)}),
                                                       family="binomial"), "need weights="),
    ("lm formula of an int", lambda: hl.lm(3, SLEEP), "must be a string"),
    ("lm with a bar", lambda: hl.lm("Reaction ~ Days + (1|Subject)", SLEEP), "use hl.lmer()"),
    ("lm negative weights", lambda: hl.lm("Reaction ~ Days", SLEEP, weights=-np.ones(180)), "non-negative"),
    ("lm weights of another length", lambda: hl.lm("Reaction ~ Days", SLEEP, weights=np.ones(3)), "one value per row"),
    ("glm misspelt family", lambda: hl.glm("incidence ~ period", CBPP, family="poison"), "unknown family 'poison'"),
    ("glm family None", lambda: hl.glm("Reaction ~ Days", SLEEP, family=None), "family must be one of"),
]


@pytest.mark.parametrize("call, text", [c[1:] for c in LM_DEGENERATE], ids=[c[0] for c in LM_DEGENERATE])
def test_regression_refuses_what_the_mixed_engines_refuse(call, text):
    with pytest.raises(hl.HierlmError) as err:
        _quiet(call)()
    assert text in str(err.value)


# -- 10. columns of types a model cannot use ------------------------------------------------------------------
COLUMN_CASES = [
    ("complex response", SLEEP.assign(y=SLEEP.Reaction.astype(complex)), "y ~ Days + (1|Subject)", "complex"),
    ("complex predictor", SLEEP.assign(x=SLEEP.Days.astype(complex)), "Reaction ~ x + (1|Subject)", "complex"),
    ("datetime predictor", SLEEP.assign(x=pd.Timestamp("2020-01-01") + pd.to_timedelta(SLEEP.Days, "D")),
     "Reaction ~ x + (1|Subject)", "datetime64"),
    ("timedelta predictor", SLEEP.assign(x=pd.to_timedelta(SLEEP.Days, "D")), "Reaction ~ x + (1|Subject)",
     "timedelta64"),
    ("infinite predictor", SLEEP.assign(x=np.where(SLEEP.Days == 3, np.inf, SLEEP.Days)), "Reaction ~ x + (1|Subject)",
     "infinite value"),
    ("all-missing predictor", SLEEP.assign(x=np.nan), "Reaction ~ x + (1|Subject)", "every row has a missing value"),
    ("text response", SLEEP.assign(y=SLEEP.Reaction.astype(str)), "y ~ Days + (1|Subject)", "is a factor"),
    ("log of zero", SLEEP, "Reaction ~ log(Days) + (1|Subject)", "non-finite values"),
    ("duplicated columns", pd.concat([SLEEP, SLEEP[["Days"]]], axis=1), "Reaction ~ Days + (1|Subject)",
     "duplicated column names"),
]


@pytest.mark.parametrize("data, formula, text", [c[1:] for c in COLUMN_CASES], ids=[c[0] for c in COLUMN_CASES])
def test_columns_a_model_cannot_use(data, formula, text):
    with pytest.raises(hl.HierlmError) as err:
        _lmer(formula, data)
    assert text in str(err.value)


def test_missing_values_of_nullable_columns_are_dropped_with_a_warning():
    d = SLEEP.assign(x=SLEEP.Days.astype("Int64").where(SLEEP.Days != 3, pd.NA),
                     g=SLEEP.Subject.astype(str).where(SLEEP.Days != 0, None))
    with pytest.warns(hl.HierlmWarning, match=r"36 row\(s\) with missing values dropped"):
        m = hl.lmer("Reaction ~ x + (1|g)", d)
    assert m.nobs() == 144


# -- 11. priors given carelessly -------------------------------------------------------------------------------
PRIOR_CASES = [
    ("positional parameters", lambda: hl.Prior("normal", 0, 1), "give the distribution's parameters by name"),
    ("positional lkj", lambda: hl.Prior("lkj", -1), "by name"),
    ("class as a number", lambda: hl.Prior("normal", mu=0, sigma=1, class_=3), "class_ must be a string"),
    ("negative scale", lambda: hl.Prior("normal", mu=0, sigma=-1), "sigma must be positive"),
    ("infinite scale", lambda: hl.Prior("normal", mu=0, sigma=np.inf), "must be a finite number"),
    ("missing scale", lambda: hl.Prior("normal", mu=0), "needs sigma"),
    ("misspelt distribution", lambda: hl.Prior("normall", mu=0, sigma=1), "unknown prior distribution"),
    ("unknown parameter", lambda: hl.Prior("normal", mu=0, sd=1), "has no parameter 'sd'"),
    ("lkj negative eta", lambda: hl.Prior("lkj", eta=-1), "eta must be positive"),
    ("prior as a tuple", lambda: _blmer(F, SLEEP, priors={"Days": (0, 1)}), "must be a hl.Prior"),
    ("priors as a string", lambda: _blmer(F, SLEEP, priors="normal(0, 1)"), "priors must be a dict"),
    ("priors as a list of numbers", lambda: _blmer(F, SLEEP, priors=[1, 2]), "must hold Prior objects"),
    ("prior of an unknown class", lambda: _blmer(F, SLEEP, priors={"Dayz": hl.Prior("normal", mu=0, sigma=1)}),
     "unknown prior class 'Dayz'"),
    ("unbounded prior on an sd", lambda: _blmer(F, SLEEP, priors={"sd": hl.Prior("normal", mu=0, sigma=1)}),
     "cannot go on class 'sd'"),
    ("unbounded prior on sigma", lambda: _blmer(F, SLEEP, priors={"sigma": hl.Prior("normal", mu=0, sigma=1)}),
     "cannot go on class 'sigma'"),
    ("lkj prior without correlations", lambda: _blmer(F, SLEEP, priors={"cor": hl.Prior("lkj", eta=2)}),
     "no parameters of class 'cor'"),
]


@pytest.mark.parametrize("call, text", [c[1:] for c in PRIOR_CASES], ids=[c[0] for c in PRIOR_CASES])
def test_careless_priors(call, text):
    with pytest.raises(hl.HierlmError) as err:
        call()
    assert text in str(err.value)


# -- 12. exact round trips for the other kinds: lm, glm and cumulative link mixed models ---------------------------
def _awkward_k(kind: str, n: int):
    """The first ``n`` values of the awkward column ``kind``, keeping its dtype (categorical, Arrow, bool, object)."""
    return _awkward(kind).k.iloc[:n].reset_index(drop=True).array


def _same_regression(a, b, data):
    assert b.fixef().equals(a.fixef())
    assert b.vcov().equals(a.vcov())
    assert list(b.design.xnames) == list(a.design.xnames)
    np.testing.assert_array_equal(b.fitted(), a.fitted())
    np.testing.assert_array_equal(b.predict(data), a.predict(data))
    assert (b.loglik(), b.aic(), b.nobs()) == (a.loglik(), a.aic(), a.nobs())
    assert str(b.summary()) == str(a.summary())


@pytest.mark.parametrize("kind", AWKWARD)
def test_round_trip_lm(tmp_path, kind):
    d = _awkward(kind)
    m = _quiet(lambda: hl.lm("Reaction ~ Days + k", d))()
    _same_regression(m, hl.load(_save(m, tmp_path / "fit")), d)


@pytest.mark.parametrize("kind", AWKWARD)
def test_round_trip_glm(tmp_path, kind):
    d = CBPP.assign(k=_awkward_k(kind, len(CBPP)))
    g = _quiet(lambda: hl.glm("cbind(incidence, size - incidence) ~ period + k", d, family="binomial"))()
    _same_regression(g, hl.load(_save(g, tmp_path / "fit")), d)


def test_round_trip_lm_glm_weights_offsets_and_unicode_names(tmp_path):
    d = SLEEP.rename(columns={"Days": "Tage ü", "Reaction": "Reaktion"}).assign(w=np.linspace(0.5, 2, 180),
                                                                               off=np.linspace(-1, 1, 180))
    m = _quiet(lambda: hl.lm("Reaktion ~ `Tage ü` + offset(off)", d, weights="w"))()
    back = hl.load(_save(m, tmp_path / "lm"))
    _same_regression(m, back, d)
    np.testing.assert_array_equal(back.design.weights, m.design.weights)
    np.testing.assert_array_equal(back.design.offset, m.design.offset)
    c = CBPP.rename(columns={"incidence": "Fälle", "period": "Zeitraum"}).assign(w=np.linspace(0.5, 2, len(CBPP)))
    g = _quiet(lambda: hl.glm("`Fälle` ~ Zeitraum + offset(log(size))", c, family="poisson", weights="w"))()
    back = hl.load(_save(g, tmp_path / "glm"))
    _same_regression(g, back, c)
    np.testing.assert_array_equal(back.design.offset, g.design.offset)


def _wine() -> pd.DataFrame:
    rng = np.random.default_rng(17)
    judge = np.repeat(np.arange(9), 8)
    temp = np.tile([0, 1], 36)
    y = np.clip(np.round(2.5 + 1.2 * temp + rng.normal(0, 0.6, 9)[judge] + rng.normal(0, 1, 72)), 1, 5).astype(int)
    return pd.DataFrame({"rating": pd.Categorical(y, categories=[1, 2, 3, 4, 5], ordered=True),
                         "temp": np.where(temp == 1, "warm", "cold"), "judge": (judge + 1).astype(str)})


WINE = _wine()


def _clmm(formula, data, **kw):
    return _quiet(lambda: hl.glmer(formula, data, family=hl.family("cumulative", kw.pop("link", "logit")), **kw))()


def _same_clmm(a, b, data):
    assert type(b) is type(a) and b.levels == a.levels and b.family.link.name == a.family.link.name
    assert b.thresholds().equals(a.thresholds())
    _same_fit(a, b)
    assert b.vcov().equals(a.vcov())
    for kw in [{}, {"re_form": "~0"}, {"type": "cum.prob"}]:
        assert b.predict(data, **kw).equals(a.predict(data, **kw))
    assert str(b.summary()) == str(a.summary())


@pytest.mark.parametrize("kind", AWKWARD)
@pytest.mark.parametrize("where", ["fixed", "group"])
def test_round_trip_clmm(tmp_path, kind, where):
    d = WINE.assign(k=_awkward_k(kind, len(WINE)))
    f = "rating ~ temp + k + (1|judge)" if where == "fixed" else "rating ~ temp + (1|k) + (1|judge)"
    m = _clmm(f, d)
    _same_clmm(m, hl.load(_save(m, tmp_path / "fit")), d)


RESPONSE_LEVELS = {
    "int": [1, 2, 3, 4, 5],
    "float": [0.5, 1.0, 2.5, 1e5, 7.25],
    "unicode": ["sehr schlecht", "schlecht ü", "mittel", "gut", "sehr gut ★"],
    "mixed": [1, "eins", 2.5, "zwei", 3.75],
    "reversed text": ["e", "d", "c", "b", "a"],
}


@pytest.mark.parametrize("kind", list(RESPONSE_LEVELS))
def test_round_trip_clmm_awkward_ordered_response(tmp_path, kind):
    lv = RESPONSE_LEVELS[kind]
    y = pd.Categorical.from_codes(WINE.rating.cat.codes, categories=pd.Index(lv, dtype=object), ordered=True)
    d = WINE.assign(rating=y)
    m = _clmm("rating ~ temp + (1|judge)", d, link="probit")
    back = hl.load(_save(m, tmp_path / "fit"))
    _same_clmm(m, back, d)
    assert list(back.predict(d, type="class")) == list(m.predict(d, type="class"))


def test_round_trip_clmm_arrow_groups_weights_and_unicode_names(tmp_path):
    d = WINE.rename(columns={"rating": "Bewertung", "temp": "Temperatür", "judge": "Richter ü"}).assign(
        w=np.tile([0.5, 1.5, 1.0], 24))
    d["Richter ü"] = pd.array(d["Richter ü"].to_numpy(), dtype="string[pyarrow]")
    m = _clmm("Bewertung ~ `Temperatür` + (1|`Richter ü`)", d, weights="w", link="cloglog")
    back = hl.load(_save(m, tmp_path / "fit"))
    _same_clmm(m, back, d)
    np.testing.assert_array_equal(back.design.weights, m.design.weights)
    assert list(back.ranef()) == list(m.ranef()) == ["`Richter ü`"]  # lme4: deparse() of the bar's right side


def test_clmm_response_categories_written_alike_are_refused():
    y = pd.Categorical.from_codes(WINE.rating.cat.codes, categories=pd.Index([1, "1", 2.5, 3, 4], dtype=object),
                                  ordered=True)
    with pytest.raises(hl.DataError, match=r"'rating' has different categories that are written alike \(\['1'\]"):
        _clmm("rating ~ temp + (1|judge)", WINE.assign(rating=y))
