"""Plots: what is drawn (panels, points, interval segments, lines, lme4 labels), for lmer fits of
sleepstudy and the crossed Penicillin model, and for blmer fits when the Bayesian engine is there."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402

import hierlm as hl  # noqa: E402

SLEEP = "Reaction ~ Days + (Days | Subject)"
PEN = "diameter ~ 1 + (1 | plate) + (1 | sample)"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sleep_data():
    return hl.load_dataset("sleepstudy")


@pytest.fixture(scope="module")
def m_sleep(sleep_data):
    return hl.lmer(SLEEP, sleep_data)


@pytest.fixture(scope="module")
def m_pen():
    return hl.lmer(PEN, hl.load_dataset("Penicillin"))


@pytest.fixture(scope="module")
def m_small(sleep_data):
    """Subject 308 keeps 2 observations, 309 only 1 (too few for its own intercept and slope)."""
    s = sleep_data
    drop = ((s.Subject == "308") & (s.Days > 1)) | ((s.Subject == "309") & (s.Days > 0))
    return hl.lmer(SLEEP, s[~drop])


# -- helpers reading the figure ----------------------------------------------------------------------
def segments(ax, gid="interval"):
    """All segments of the LineCollections with ``gid`` on ``ax``."""
    return [seg for c in ax.collections if isinstance(c, LineCollection) and c.get_gid() == gid
            for seg in c.get_segments()]


def points(ax, gid):
    """Offsets of the scatter collections with ``gid`` on ``ax``, stacked."""
    offs = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection) and c.get_gid() == gid]
    return np.vstack(offs) if offs else np.zeros((0, 2))


def ticks(ax, axis="y"):
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in labels]


def legend_texts(fig):
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def lines(ax, gid):
    return [ln for ln in ax.lines if ln.get_gid() == gid]


# -- plot_fixef ---------------------------------------------------------------------------------------
def test_fixef_one_panel_per_term_with_se_intervals(m_sleep):
    fig = hl.plot_fixef(m_sleep, single_axis=False)
    assert len(fig.axes) == 2
    assert "each panel has its own scale" in fig._suptitle.get_text()
    assert [ticks(ax) for ax in fig.axes] == [["(Intercept)"], ["Days"]]
    fe = m_sleep.fixef()
    for ax, term in zip(fig.axes, ["(Intercept)", "Days"]):
        (seg,) = segments(ax)
        est, se = fe.loc[term, "Estimate"], fe.loc[term, "Std. Error"]
        np.testing.assert_allclose([seg[0][0], seg[1][0]], [est - 1.96 * se, est + 1.96 * se], rtol=1e-4)
        np.testing.assert_allclose(points(ax, "estimate")[:, 0], [est])
    assert "Fixed effects" in fig._suptitle.get_text() and "1.96 SE" in fig._suptitle.get_text()


def test_fixef_overlays_fits_with_legend(m_sleep, sleep_data):
    m_ml = hl.lmer(SLEEP, sleep_data, reml=False)
    fig = hl.plot_fixef([m_sleep, m_ml], single_axis=False)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(segments(ax)) == 2 and len(points(ax, "estimate")) == 2
    assert legend_texts(fig) == ["lmer (REML)", "lmer (ML)"]


def test_fixef_default_is_one_shared_axis_without_the_intercept(m_sleep, m_pen):
    """One axis, so interval widths compare across terms; the intercept (250) would squash a slope (10)."""
    fig = hl.plot_fixef(m_sleep)
    (ax,) = fig.axes
    assert ticks(ax) == ["Days"] and len(segments(ax)) == 1
    fig = hl.plot_fixef(m_sleep, intercept=True)
    assert ticks(fig.axes[0]) == ["(Intercept)", "Days"] and len(segments(fig.axes[0])) == 2
    fig = hl.plot_fixef(m_pen)  # the intercept alone is shown
    assert [ticks(ax) for ax in fig.axes] == [["(Intercept)"]]


def test_fixef_tells_two_lmer_fits_apart(m_sleep, sleep_data):
    other = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep_data)
    fig = hl.plot_fixef([m_sleep, other])
    assert legend_texts(fig) == [f"lmer (REML): {m_sleep.formula}", f"lmer (REML): {other.formula}"]
    same = hl.plot_fixef([m_sleep, m_sleep])
    assert len(set(legend_texts(same))) == 2


def test_influence_plot_draws_cooks_distance_and_leverage(m_sleep):
    fig = hl.plot_influence(m_sleep)
    a1, a2 = fig.axes
    assert len(a1.collections[0].get_segments()) == m_sleep.nobs()
    np.testing.assert_allclose([seg[1][1] for seg in a1.collections[0].get_segments()], m_sleep.cooks_distance())
    assert len(points(a2, "leverage")) == m_sleep.nobs()
    assert len([ln for ln in a2.get_lines() if (ln.get_gid() or "").startswith("cook")]) == 4
    assert [t.get_text() for t in a1.texts][0] == str(m_sleep.design.rows[int(np.argmax(m_sleep.cooks_distance()))])


def test_pooling_with_a_factor_predictor_puts_it_on_x():
    oats = hl.load_dataset("Oats")
    m = hl.lmer("yield ~ Variety + (1 | Block)", oats)
    fig = hl.plot_pooling(m, levels=["I", "II"])
    assert fig.axes[0].get_xlabel() == "Variety" and ticks(fig.axes[0], "x") == ["Golden Rain", "Marvellous", "Victory"]
    line = lines(fig.axes[0], "partial")[0]
    assert len(np.unique(np.round(line.get_ydata(), 6))) == 3  # not flat


def test_pooling_wraps_long_level_names():
    d = hl.load_dataset("sleepstudy")
    d = d.assign(Subject=d.Subject.astype(str) + "-a-very-long-participant-identifier-from-the-lab")
    fig = hl.plot_pooling(hl.lmer("Reaction ~ Days + (Days | Subject)", d), levels=[d.Subject.iloc[0]])
    title = fig.axes[0].get_title()
    assert "\n" in title and all(len(part) <= 30 for part in title.splitlines())


# -- plot_ranef ---------------------------------------------------------------------------------------
def test_ranef_caterpillar_per_term_sorted(m_sleep):
    fig = hl.plot_ranef(m_sleep)
    assert [ax.get_title() for ax in fig.axes] == ["(Intercept) | Subject", "Days | Subject"]
    re = m_sleep.ranef()["Subject"]
    for ax, term in zip(fig.axes, re.columns):
        assert len(segments(ax)) == 18 and len(points(ax, "estimate")) == 18
        assert ticks(ax) == list(re[term].sort_values().index.astype(str))  # levels sorted by estimate
        assert np.all(np.diff(points(ax, "estimate")[:, 0]) >= 0)


def test_ranef_crossed_groups_and_selection(m_pen, m_sleep):
    fig = hl.plot_ranef(m_pen)
    assert [ax.get_title() for ax in fig.axes] == ["(Intercept) | plate", "(Intercept) | sample"]
    assert [len(segments(ax)) for ax in fig.axes] == [24, 6]
    assert sorted(ticks(fig.axes[1])) == list("ABCDEF")
    fig = hl.plot_ranef(m_sleep, group="Subject", term="Days")
    assert [ax.get_title() for ax in fig.axes] == ["Days | Subject"]
    with pytest.raises(hl.HierlmError, match="Subjct"):
        hl.plot_ranef(m_sleep, group="Subjct")


# -- plot_varcorr -------------------------------------------------------------------------------------
def test_varcorr_lmer_profile_intervals(m_sleep, m_pen):
    fig = hl.plot_varcorr(m_sleep)
    labels = [ticks(ax)[0] for ax in fig.axes]
    assert labels == ["sd (Intercept) | Subject", "sd Days | Subject", "cor (Intercept), Days | Subject",
                      "sigma (Residual)"]
    ci = m_sleep.confint(method="profile")
    (seg,) = segments(fig.axes[3])
    np.testing.assert_allclose([seg[0][0], seg[1][0]], ci.loc[".sigma"], rtol=1e-6)
    (seg,) = segments(fig.axes[2])  # the correlation is .sig02
    np.testing.assert_allclose([seg[0][0], seg[1][0]], ci.loc[".sig02"], rtol=1e-6)
    fig = hl.plot_varcorr(m_pen, method=None)
    assert [ticks(ax)[0] for ax in fig.axes] == ["sd (Intercept) | plate", "sd (Intercept) | sample",
                                                 "sigma (Residual)"]
    np.testing.assert_allclose([points(ax, "estimate")[0, 0] for ax in fig.axes], m_pen.varcorr()["sdcor"])
    assert all(len(segments(ax)) == 0 for ax in fig.axes) and "point estimates" in fig._suptitle.get_text()


def test_varcorr_falls_back_to_points_when_profiling_fails(m_pen, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("array must not contain infs or NaNs")

    monkeypatch.setattr(m_pen, "confint", broken)
    with pytest.warns(hl.HierlmWarning, match="profile intervals"):
        fig = hl.plot_varcorr(m_pen)
    assert len(fig.axes) == 3 and all(len(points(ax, "estimate")) == 1 for ax in fig.axes)


# -- plot_shrinkage -----------------------------------------------------------------------------------
def test_shrinkage_two_terms_arrows_and_ellipses(m_sleep):
    fig = hl.plot_shrinkage(m_sleep)
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("(Intercept)", "Days")
    (quiver,) = [c for c in ax.collections if c.get_gid() == "shrinkage"]
    assert quiver.N == 18
    partial = points(ax, "partial")
    coef = m_sleep.coef()["Subject"][["(Intercept)", "Days"]].to_numpy()
    np.testing.assert_allclose(partial, coef)
    nopool = points(ax, "nopool")
    np.testing.assert_allclose(nopool + np.column_stack([quiver.U, quiver.V]), coef)  # arrows end at coef()
    assert len(nopool) == 18 and nopool[:, 1].std() > partial[:, 1].std()  # shrinkage
    assert sorted(p.get_gid() for p in ax.patches) == ["ellipse0.5", "ellipse0.95"]
    assert "Subject" in fig._suptitle.get_text()


def test_shrinkage_small_groups_and_one_term(m_small, m_pen):
    fig = hl.plot_shrinkage(m_small)
    ax = fig.axes[0]
    assert len(points(ax, "partial")) == 18 and len(points(ax, "nopool")) == 17  # 309 has 1 observation
    fig = hl.plot_shrinkage(m_pen, group="plate")
    (ax,) = fig.axes
    assert len(ticks(ax)) == 24 and ax.get_xlabel() == "(Intercept)" and ax.get_ylabel() == "plate"
    assert [c for c in ax.collections if c.get_gid() == "shrinkage"][0].N == 24
    with pytest.raises(hl.HierlmError, match="Gaussian"):
        hl.plot_shrinkage(hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)",
                                   hl.load_dataset("cbpp"), family="binomial"))


# -- plot_pooling -------------------------------------------------------------------------------------
def test_pooling_panel_per_level_three_lines(m_sleep):
    fig = hl.plot_pooling(m_sleep)
    assert len(fig.axes) == 18 and fig.axes[0].get_title() == "Subject 308 (n=10)"
    coef = m_sleep.coef()["Subject"]
    for ax, level in zip(fig.axes, coef.index):
        assert len(points(ax, "data")) == 10
        assert [len(lines(ax, k)) for k in ("complete", "none", "partial")] == [1, 1, 1]
        x, y = lines(ax, "partial")[0].get_data()
        np.testing.assert_allclose(y, coef.loc[level, "(Intercept)"] + coef.loc[level, "Days"] * x)
    assert "partial pooling (coef())" in legend_texts(fig)


def test_pooling_small_groups_and_crossed(m_small, m_pen):
    fig = hl.plot_pooling(m_small, levels=["308", "309", "310"])
    assert [ax.get_title() for ax in fig.axes] == ["Subject 308 (n=2)", "Subject 309 (n=1)", "Subject 310 (n=10)"]
    assert [len(points(ax, "data")) for ax in fig.axes] == [2, 1, 10]
    assert [len(lines(ax, "none")) for ax in fig.axes] == [1, 0, 1]  # one observation: no own fit
    assert all(len(lines(ax, "partial")) == 1 for ax in fig.axes)
    fig = hl.plot_pooling(m_pen)
    assert len(fig.axes) == 24 and all(len(points(ax, "data")) == 6 for ax in fig.axes)
    fig = hl.plot_pooling(m_pen, group="sample", x="plate")
    assert len(fig.axes) == 6 and ticks(fig.axes[0], "x")[0] == "a"


# -- plot_residuals -----------------------------------------------------------------------------------
def test_residuals_panels(m_sleep, m_pen):
    fig = hl.plot_residuals(m_sleep)
    assert [ax.get_title() for ax in fig.axes] == ["Residuals vs fitted", "Normal Q-Q: residuals",
                                                   "Normal Q-Q: (Intercept) | Subject", "Normal Q-Q: Days | Subject"]
    np.testing.assert_allclose(points(fig.axes[0], "residuals"),
                               np.column_stack([m_sleep.fitted(), m_sleep.residuals()]))
    assert [len(points(ax, "qq")) for ax in fig.axes[1:]] == [180, 18, 18]
    fig = hl.plot_residuals(m_pen)
    assert [len(points(ax, "qq")) for ax in fig.axes[1:]] == [144, 24, 6]


# -- Bayesian fits (hl.blmer) -------------------------------------------------------------------------
needs_blmer = pytest.mark.skipif(not hasattr(hl, "blmer"), reason="hl.blmer (the Bayesian engine) is not available yet")
FAST = dict(draws=200, tune=200, chains=2, seed=1, progressbar=False)


def _blmer(formula, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short chains: R-hat / ESS warnings are expected
        return hl.blmer(formula, data, **FAST)


@pytest.fixture(scope="module")
def b_sleep(sleep_data):
    return _blmer(SLEEP, sleep_data)


@pytest.fixture(scope="module")
def b_pen():
    return _blmer(PEN, hl.load_dataset("Penicillin"))


@needs_blmer
def test_bayes_fixef_beside_lmer(m_sleep, b_sleep):
    fig = hl.plot_fixef([m_sleep, b_sleep], single_axis=False)
    assert legend_texts(fig) == ["lmer (REML)", "blmer (posterior)"]
    fe = b_sleep.fixef()
    for ax, term in zip(fig.axes, ["(Intercept)", "Days"]):
        assert ticks(ax) == [term]
        assert len(segments(ax)) == 2 and len(segments(ax, "inner")) == 1  # 95% both, 50% Bayesian
        bayes = segments(ax)[1]
        np.testing.assert_allclose([bayes[0][0], bayes[1][0]], fe.loc[term, ["Q2.5", "Q97.5"]], rtol=1e-3)
        np.testing.assert_allclose(points(ax, "estimate")[1, 0], fe.loc[term, "Estimate"])


@needs_blmer
def test_bayes_ranef_posterior_intervals(b_sleep, b_pen):
    fig = hl.plot_ranef(b_sleep)
    assert [ax.get_title() for ax in fig.axes] == ["(Intercept) | Subject", "Days | Subject"]
    long = b_sleep.ranef(intervals=True)
    days = long[long["term"] == "Days"].sort_values("Estimate")
    assert ticks(fig.axes[1]) == list(days["grp"].astype(str))
    lo = np.array([seg[0][0] for seg in segments(fig.axes[1])])
    np.testing.assert_allclose(lo, days["Q2.5"], rtol=1e-3, atol=1e-3)
    fig = hl.plot_ranef(b_pen)
    assert [len(segments(ax)) for ax in fig.axes] == [24, 6]


@needs_blmer
def test_bayes_varcorr_densities_with_reference(b_sleep, m_sleep, b_pen, m_pen):
    fig = hl.plot_varcorr(b_sleep, reference=m_sleep)
    assert [ax.get_title() for ax in fig.axes] == ["sd (Intercept) | Subject", "sd Days | Subject",
                                                   "cor (Intercept), Days | Subject", "sigma (Residual)"]
    for ax, est in zip(fig.axes, m_sleep.varcorr()["sdcor"]):
        assert len(lines(ax, "density")) == 1 and len(lines(ax, "mean")) == 1
        (ref,) = lines(ax, "reference")
        np.testing.assert_allclose(ref.get_xdata()[0], est)
    x = lines(fig.axes[2], "density")[0].get_xdata()
    assert x.min() >= -1 and x.max() <= 1  # correlation density stays in [-1, 1]
    assert "lmer (REML) estimate" in legend_texts(fig)
    fig = hl.plot_varcorr(b_pen, reference=m_pen)
    assert [ax.get_title() for ax in fig.axes] == ["sd (Intercept) | plate", "sd (Intercept) | sample",
                                                   "sigma (Residual)"]
    with pytest.raises(hl.HierlmError, match="reference"):
        hl.plot_varcorr(m_sleep, reference=b_sleep)


@needs_blmer
def test_bayes_shrinkage_pooling_residuals(b_sleep, b_pen):
    fig = hl.plot_shrinkage(b_sleep)
    np.testing.assert_allclose(points(fig.axes[0], "partial"),
                               b_sleep.coef()["Subject"][["(Intercept)", "Days"]].to_numpy())
    fig = hl.plot_pooling(b_pen, group="sample")
    assert len(fig.axes) == 6 and all(len(lines(ax, "partial")) == 1 for ax in fig.axes)
    fig = hl.plot_residuals(b_pen)
    assert [len(points(ax, "qq")) for ax in fig.axes[1:]] == [144, 24, 6]


@needs_blmer
def test_bayes_ppc(b_sleep, b_pen, m_sleep):
    fig = hl.plot_ppc(b_sleep, num_samples=20)
    assert len(fig.axes[0].lines) == 21  # 20 replicated densities + the observed one
    assert fig.axes[0].get_xlabel() == "Reaction" and "Posterior predictive" in fig._suptitle.get_text()
    fig = hl.plot_ppc(b_pen, kind="hist", num_samples=10)
    assert fig.axes[0].get_xlabel() == "diameter"
    fig = hl.plot_ppc(b_sleep, kind="stat", stat="std")
    assert fig.axes[0].get_xlabel() == "std(Reaction)"
    with pytest.raises(hl.HierlmError, match="blmer"):
        hl.plot_ppc(m_sleep)
    with pytest.raises(hl.HierlmError, match="kind"):
        hl.plot_ppc(b_sleep, kind="violin")


@needs_blmer
def test_bayes_trace_and_rank(b_sleep, b_pen):
    fig = hl.plot_trace(b_sleep)
    assert len(fig.axes) == 3 * 6
    assert [ax.get_title() for ax in fig.axes[::3]] == ["(Intercept)", "Days", "sd (Intercept) | Subject",
                                                         "sd Days | Subject", "cor (Intercept), Days | Subject",
                                                         "sigma (Residual)"]
    dens, trace, rank = fig.axes[:3]
    assert len(lines(dens, "density")) == 2  # one per chain
    assert [len(ln.get_xdata()) for ln in lines(trace, "trace")] == [200, 200]
    assert len([p for p in rank.patches if p.get_gid() == "rank"]) == 2
    assert rank.get_title().startswith("rank") and "R-hat" in rank.get_title()
    fig = hl.plot_trace(b_pen, var_names=["sd (Intercept) | plate", "sigma (Residual)"])
    assert [ax.get_title() for ax in fig.axes[::3]] == ["sd (Intercept) | plate", "sigma (Residual)"]
    with pytest.raises(hl.HierlmError, match="sigma"):
        hl.plot_trace(b_pen, var_names="sigma")
