"""plot_predictions: what it draws (lines, bands, intervals, data points, panels, legend) and the numbers behind
it (emmeans' reference-grid predictions), for lmer, glmer and overlaid lmer + blmer fits."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection, PolyCollection

import hierlm as hl
from hierlm.services.emmeans import emmeans
from hierlm.services.plots.predictions import plot_predictions


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def m_sleep():
    return hl.lmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"))


@pytest.fixture(scope="module")
def m_orth():
    return hl.lmer("distance ~ age * Sex + (1 | Subject)", hl.load_dataset("Orthodont"))


@pytest.fixture(scope="module")
def g_cbpp():
    return hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
                    family="binomial")


def bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_gid() == "band"]


def lines(ax, gid="prediction"):
    return [ln for ln in ax.lines if ln.get_gid() == gid]


def legend_texts(fig):
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def test_one_line_one_band_and_the_numbers_of_emmeans(m_sleep):
    fig = plot_predictions(m_sleep, "Days", n=25)
    (ax,) = fig.axes
    assert len(lines(ax)) == 1 and len(bands(ax)) == 1
    assert legend_texts(fig) == ["lmer (REML)"]
    d = fig.prediction_data
    assert len(d) == 25 and list(d.columns) == ["Days", "estimate", "lower", "upper", "fit"]
    np.testing.assert_allclose(lines(ax)[0].get_ydata(), d["estimate"])
    fe = m_sleep.fixef()["Estimate"]
    np.testing.assert_allclose(d["estimate"], fe["(Intercept)"] + fe["Days"] * d["Days"], rtol=1e-10)
    # Wald 95% band: estimate -/+ 1.96 SE of the prediction
    ref = emmeans(m_sleep, "Days", at={"Days": [0.0, 9.0]}, ddf="asymptotic")
    np.testing.assert_allclose(d[["lower", "upper"]].iloc[[0, -1]].to_numpy(),
                               ref[["asymp.LCL", "asymp.UCL"]].to_numpy(), rtol=1e-10)
    # the band's polygon spans those limits
    verts = bands(ax)[0].get_paths()[0].vertices
    np.testing.assert_allclose([verts[:, 1].min(), verts[:, 1].max()], [d["lower"].min(), d["upper"].max()])


def test_points_and_return_data(m_sleep):
    fig, data = plot_predictions(m_sleep, "Days", points=True, return_data=True)
    pts = [c for c in fig.axes[0].collections if isinstance(c, PathCollection) and c.get_gid() == "data"]
    assert len(pts) == 1 and len(pts[0].get_offsets()) == m_sleep.nobs()
    assert data is fig.prediction_data


def test_by_factor_gives_one_panel_per_level(m_orth):
    fig = plot_predictions(m_orth, "age", by="Sex")
    assert [ax.get_title() for ax in fig.axes] == ["Sex = Female", "Sex = Male"]
    for ax in fig.axes:
        assert len(lines(ax)) == 1 and len(bands(ax)) == 1
    d = fig.prediction_data
    slopes = d.groupby("Sex")["estimate"].apply(lambda s: np.polyfit(d.loc[s.index, "age"], s, 1)[0])
    fe = m_orth.fixef()["Estimate"]
    np.testing.assert_allclose(slopes.to_numpy(), [fe["age"], fe["age"] + fe["age:SexMale"]], rtol=1e-8)


def test_glmm_factor_x_on_the_response_scale(g_cbpp):
    fig = plot_predictions(g_cbpp, "period", points=True)
    (ax,) = fig.axes
    ivals = [c for c in ax.collections if isinstance(c, LineCollection) and c.get_gid() == "interval"]
    assert len(ivals) == 1 and len(ivals[0].get_segments()) == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]
    d = fig.prediction_data
    ref = emmeans(g_cbpp, "period", type="response")
    np.testing.assert_allclose(d["estimate"], ref["prob"], rtol=1e-10)
    np.testing.assert_allclose(d[["lower", "upper"]].to_numpy(), ref[["asymp.LCL", "asymp.UCL"]].to_numpy())
    assert (d["upper"] < 1).all() and (d["lower"] > 0).all()
    assert "probability" in ax.get_ylabel()


def test_two_fits_overlaid_with_legend(m_sleep):
    other = hl.lmer("Reaction ~ Days + (1 | Subject)", hl.load_dataset("sleepstudy"))
    fig = plot_predictions({"correlated slopes": m_sleep, "intercepts only": other}, "Days")
    (ax,) = fig.axes
    assert len(lines(ax)) == 2 and len(bands(ax)) == 2
    assert legend_texts(fig) == ["correlated slopes", "intercepts only"]
    assert set(fig.prediction_data["fit"]) == {"correlated slopes", "intercepts only"}


def test_bad_input(m_sleep):
    with pytest.raises(hl.HierlmError, match="x='Dyas' is not a predictor.*Did you mean 'Days'"):
        plot_predictions(m_sleep, "Dyas")
    with pytest.raises(hl.HierlmError, match="by='Subject' is not a predictor"):
        plot_predictions(m_sleep, "Days", by="Subject")
    with pytest.raises(hl.HierlmError, match="needs a fit"):
        plot_predictions("m", "Days")
    with pytest.raises(hl.HierlmError, match="labels has 1 entries for 2 fits"):
        plot_predictions([m_sleep, m_sleep], "Days", labels=["a"])


def test_lmer_and_blmer_overlaid(m_sleep):
    """The course's picture: the frequentist band and the posterior HPD band of one model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), draws=150, tune=150,
                     chains=2, seed=3, progressbar=False)
    fig = plot_predictions([m_sleep, b], "Days", n=20)
    (ax,) = fig.axes
    assert len(lines(ax)) == 2 and len(bands(ax)) == 2
    assert legend_texts(fig) == ["lmer (REML)", "blmer (posterior)"]
    d = fig.prediction_data
    f, p = d[d.fit == "lmer (REML)"], d[d.fit == "blmer (posterior)"]
    np.testing.assert_allclose(p["estimate"].to_numpy(), f["estimate"].to_numpy(), rtol=0.05)
    assert "confidence / HPD" in fig._suptitle.get_text()
