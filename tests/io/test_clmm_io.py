"""Save/load of cumulative link mixed models (``glmer(family="cumulative")`` → ClmmFit).

A reloaded fit is not refitted: every extractor, every kind of prediction, the summary and the
likelihood-ratio table are identical, bit for bit.  A tampered save (thresholds of the wrong length
or out of order, an edited formula, family, link or response categories) is refused with a
HierlmError naming the file.
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
from support import REF_DIR, reference_json

import hierlm as hl
from hierlm.fits.ordinal import ClmmFit
from hierlm.storage import folder as store_folder

DATASETS = reference_json("breadth_reference.json")["datasets"]
WINE_F = "rating ~ temp + contact + (1|judge)"


def load(name: str) -> pd.DataFrame:
    info = DATASETS[name]
    data = pd.read_csv(REF_DIR / "data" / f"{name}.csv")
    for col, levels in info["factors"].items():
        data[col] = pd.Categorical(data[col].astype(str), categories=levels, ordered=col in info["ordered"])
    return data


WINE = load("wine_breadth")


def _clmm(formula=WINE_F, data=WINE, link="logit", **kw) -> ClmmFit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hl.HierlmWarning)
        return hl.glmer(formula, data, family=hl.family("cumulative", link), **kw)


def _same(a, b):
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, (np.ndarray, pd.Categorical)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    else:
        assert a == b


def _roundtrip(fit: ClmmFit, tmp_path, newdata=None) -> ClmmFit:
    back = hl.load(fit.save(tmp_path / "fit"))
    assert type(back) is ClmmFit
    assert back.family.link.name == fit.family.link.name and back.levels == fit.levels and back.nAGQ == fit.nAGQ
    for name in ["fixef", "thresholds", "coefficients", "vcov", "varcorr", "ranef", "cond_var", "covariances",
                 "ngrps", "sigma", "npar", "loglik", "aic", "bic", "deviance", "is_singular", "fitted", "nobs"]:
        _same(getattr(fit, name)(), getattr(back, name)())
    for kw in [{}, {"re_form": "~0"}, {"type": "cum.prob"}, {"type": "class"}, {"type": "linear.predictor"}]:
        _same(fit.predict(**kw), back.predict(**kw))
    if newdata is not None:
        _same(fit.predict(newdata), back.predict(newdata))
        _same(fit.predict(newdata, re_form="~0"), back.predict(newdata, re_form="~0"))
    assert str(fit.summary()) == str(back.summary())
    assert fit.summary()._repr_html_() == back.summary()._repr_html_()
    assert sorted(fit.optinfo) == sorted(back.optinfo)
    for key in fit.optinfo:
        _same(fit.optinfo[key], back.optinfo[key])
    return back


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_wine_roundtrip(tmp_path, link):
    m = _clmm(link=link)
    back = _roundtrip(m, tmp_path, newdata=WINE.iloc[[0, 17, 40, 71]])
    assert back.formula == m.formula and back.threshold_names == ["1|2", "2|3", "3|4", "4|5"]


def test_two_blocks_agq_and_weights_roundtrip(tmp_path):
    _roundtrip(_clmm("rating ~ temp + contact + (1|judge) + (1|bottle)"), tmp_path / "a")
    _roundtrip(_clmm(nAGQ=7), tmp_path / "b")
    w = WINE.assign(w=np.tile([0.5, 1.5, 1.0], 24))
    back = _roundtrip(_clmm("rating ~ temp + (1|judge)", w, weights="w"), tmp_path / "c")
    np.testing.assert_array_equal(back.design.weights, w.w.to_numpy())


def test_vector_random_effect_and_soup_roundtrip(tmp_path):
    soup = load("soup_breadth")
    m = _clmm("SURENESS ~ PROD + (1 + PROD | RESP)", soup, link="probit")
    _roundtrip(m, tmp_path, newdata=soup.iloc[:5])


def test_reloaded_fit_updates_and_compares(tmp_path):
    m1 = _clmm()
    back = hl.load(m1.save(tmp_path / "fit"))
    m0, b0 = m1.update(". ~ . - contact"), back.update(". ~ . - contact")
    assert b0.formula == m0.formula == "rating ~ temp + (1 | judge)"
    _same(b0.coefficients(), m0.coefficients())
    assert repr(hl.anova(b0, back)) == repr(hl.anova(m0, m1))


def test_save_refuses_foreign_files_and_overwrites_a_save(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(hl.HierlmError, match="not a hierlm save.*notes.txt"):
        _clmm().save(tmp_path)
    m = _clmm()
    m.save(tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert hl.load(tmp_path).thresholds().equals(m.thresholds())
    lm = hl.lmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"))
    lm.save(tmp_path / "x")
    m.save(tmp_path / "x")  # a hierlm save is replaced
    assert type(hl.load(tmp_path / "x")) is ClmmFit


# -- tampered saves --------------------------------------------------------------------------------
def _tamper(folder: pathlib.Path, edit, resign: bool = True):
    meta = json.loads((folder / "hierlm.json").read_text())
    edit(meta)
    if resign:
        meta["digest"] = store_folder._meta_digest(meta)
    (folder / "hierlm.json").write_text(json.dumps(meta))


def _rewrite_arrays(folder: pathlib.Path, edit):
    import xarray as xr

    with xr.open_dataset(folder / "arrays.nc", engine="h5netcdf") as ds:
        arrays = {k: ds[k].values for k in ds.data_vars}
    edit(arrays)
    xr.Dataset({k: xr.Variable([f"{k}_dim{j}" for j in range(np.ndim(v))], np.asarray(v)) for k, v in arrays.items()}
               ).to_netcdf(folder / "arrays.nc", engine="h5netcdf")


def _resign(folder: pathlib.Path, name: str):
    meta = json.loads((folder / "hierlm.json").read_text())
    meta["files"][name] = store_folder._sha256(folder / name)
    meta["digest"] = store_folder._meta_digest(meta)
    (folder / "hierlm.json").write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def wine_fit():
    return _clmm()


def test_thresholds_of_the_wrong_length_are_refused(tmp_path, wine_fit):
    folder = wine_fit.save(tmp_path / "fit")
    _rewrite_arrays(folder, lambda a: a.update(alpha=np.r_[a["alpha"], 9.0]))
    with pytest.raises(hl.HierlmError, match=r"arrays.nc' was changed or truncated"):
        hl.load(folder)
    _resign(folder, "arrays.nc")
    with pytest.raises(hl.HierlmError, match=r"arrays.nc': 'alpha' has shape \(5,\), but the model needs \(4,\)"):
        hl.load(folder)


@pytest.mark.parametrize("what, edit, text", [
    ("thresholds out of order", lambda a: a.update(alpha=a["alpha"][::-1].copy()), "are not increasing"),
    ("coefficients too long", lambda a: a.update(beta=np.r_[a["beta"], 1.0]), r"'beta' has shape \(3,\)"),
    ("theta missing", lambda a: a.pop("theta"), r"'theta' has shape None"),
    ("vcov too small", lambda a: a.update(vcov_all=a["vcov_all"][:-1, :-1]), r"'vcov_all' has shape \(6, 6\)"),
    ("gradient too short", lambda a: a.update(gradient=a["gradient"][:-1]), r"'gradient' has shape \(6,\)"),
    ("modes of the wrong shape", lambda a: a.update(b0=a["b0"][:-1]), r"'b0' has shape \(8, 1\)"),
    ("conditional variances missing", lambda a: a.pop("cond_var0"), "'cond_var0' has shape None"),
    ("eta too short", lambda a: a.update(eta=a["eta"][:5]), r"'eta' has shape \(5,\)"),
])
def test_inconsistent_arrays_are_refused(tmp_path, wine_fit, what, edit, text):
    folder = wine_fit.save(tmp_path / "fit")
    _rewrite_arrays(folder, edit)
    _resign(folder, "arrays.nc")
    with pytest.raises(hl.HierlmError, match=text) as err:
        hl.load(folder)
    assert "arrays.nc" in str(err.value)


def _column_type(meta: dict, column: str) -> dict:
    return meta["data"]["types"][meta["data"]["columns"].index(["s", column])]


TAMPER = [
    ("edited formula", lambda m: m.update(formula="rating ~ temp + (1|judge)"), False, "was changed after"),
    ("edited formula, re-signed", lambda m: m.update(formula="rating ~ temp + (1|judge)"), True, "differs in 'xnames'"),
    ("edited grouping, re-signed", lambda m: m.update(formula="rating ~ temp + contact + (1|temp)"), True,
     "differs in 'blocks'"),
    ("formula of another column, re-signed", lambda m: m.update(formula="rating ~ temp + contact + (1|bottle)"),
     True, "the saved formula cannot be rebuilt on the saved data: the formula uses 'bottle'"),
    ("response unordered, re-signed", lambda m: _column_type(m, "rating").update(ordered=False), True,
     "the formula's response is not one a cumulative model takes ("),
    ("response categories", lambda m: m["fit"].update(levels=["1", "2", "3", "5", "4"]), True,
     "response categories"),
    ("response categories missing", lambda m: m["fit"].pop("levels"), True, "'levels' is missing"),
    ("family", lambda m: m["fit"].update(family="binomial"), True, "has family 'cumulative', not 'binomial'"),
    ("family unknown", lambda m: m["fit"].update(family="poison"), True, "unknown family"),
    ("link", lambda m: m["fit"].update(link="log"), True, "does not take the link 'log'"),
    ("link a number", lambda m: m["fit"].update(link=3), True, "'link' must be a link's name"),
    ("nAGQ", lambda m: m["fit"].update(nAGQ=0), True, "'nAGQ' must be a whole number from 1 to 25"),
    ("objective", lambda m: m["fit"].update(objective="x"), True, "'objective' is missing or not a finite number"),
    ("optinfo", lambda m: m["fit"].update(optinfo=[]), True, "'optinfo' is missing"),
    ("kind", lambda m: m.update(kind="LmerFit"), True, "arrays.nc"),
]


@pytest.mark.parametrize("edit, resign, text", [c[1:] for c in TAMPER], ids=[c[0] for c in TAMPER])
def test_tampered_saves_are_refused(tmp_path, wine_fit, edit, resign, text):
    folder = wine_fit.save(tmp_path / "fit")
    _tamper(folder, edit, resign)
    with pytest.raises(hl.HierlmError) as err:
        hl.load(folder)
    assert text in str(err.value)
    assert str(folder) in str(err.value)


def test_an_lmer_save_relabelled_as_clmm_is_refused(tmp_path):
    folder = hl.lmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy")).save(tmp_path / "fit")
    _tamper(folder, lambda m: m.update(kind="ClmmFit"))
    with pytest.raises(hl.HierlmError, match="hierlm.json': a ClmmFit has family 'cumulative', not 'gaussian'"):
        hl.load(folder)
