"""hierlm.services.executors: where many-fit workloads run, and that it never changes the numbers.

Batches keep the items' order on every kind of executor; the job travels once per worker thread;
bad executors are clear errors; the progress bar draws in text mode.  The many-fit functions take
``executor=`` (bootstrap, confint(method="boot"), kfold, SBC, recovery) and give the same result as
without one.
"""

import io
import pickle
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import hierlm as hl
from hierlm.services.executors import Progress, check_executor, run_batches, split
from hierlm.services.inference import confint


class _Square:
    """A job: squares of its batch (module level, so process pools can pickle it)."""

    def __call__(self, batch):
        return [x * x for x in batch]


def test_batches_keep_order_on_every_executor():
    items = list(range(37))
    want = [x * x for x in items]
    assert [y for out in run_batches(_Square(), items) for y in out] == want
    with ThreadPoolExecutor(3) as pool:
        assert [y for out in run_batches(_Square(), items, executor=pool) for y in out] == want
    with ProcessPoolExecutor(2) as pool:
        outs = run_batches(_Square(), items, executor=pool)
    assert [y for out in outs for y in out] == want
    assert 1 < len(outs) <= 16  # batches, not one task per item
    assert [len(b) for b in split(items, 4)] == [9, 9, 9, 10]


def test_check_executor_errors():
    assert check_executor().kind == "serial"
    assert check_executor(n_jobs=-1).kind in ("serial", "local")
    with pytest.raises(hl.HierlmError, match="executor must be"):
        check_executor(object())
    with pytest.raises(hl.HierlmError, match="n_jobs"):
        check_executor(n_jobs=0)
    with ThreadPoolExecutor(1) as pool, pytest.raises(hl.HierlmError, match="either executor= or n_jobs="):
        check_executor(pool, n_jobs=2)


def test_progress_text():
    out = io.StringIO()
    bar = Progress(10, "refits", mode="text", stream=out, delay=0.0, every=0.0)
    for _ in range(10):
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("refits: 1/10 |") and lines[-1].startswith("refits: 10/10 |")
    assert "100%" in lines[-1]
    quiet = io.StringIO()
    bar = Progress(10, "refits", enabled=False, stream=quiet, delay=0.0)
    bar.update(10)
    bar.close()
    assert quiet.getvalue() == ""


def test_glmm_fits_and_families_pickle():
    g = hl.glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", hl.load_dataset("cbpp"),
                 family="binomial")
    back = pickle.loads(pickle.dumps(g))
    assert back.family == g.family and back.family.link.name == "logit"
    np.testing.assert_array_equal(back.family.link.linkinv(np.array([0.0])), [0.5])


def test_bootstrap_and_confint_on_executors():
    sleep = hl.load_dataset("sleepstudy")
    m0 = hl.lmer("Reaction ~ Days + (1 | Subject)", sleep)
    m1 = hl.lmer("Reaction ~ Days + (Days | Subject)", sleep)
    a = hl.bootstrap_lrt(m0, m1, nsim=12, seed=4, progressbar=False)
    with ThreadPoolExecutor(2) as pool:
        b = hl.bootstrap_lrt(m0, m1, nsim=12, seed=4, executor=pool, progressbar=False)
        ci = confint(m0, method="boot", nsim=20, seed=3, progressbar=False)
        ci2 = confint(m0, method="boot", nsim=20, seed=3, executor=pool, progressbar=False)
    np.testing.assert_array_equal(a.stats, b.stats)
    np.testing.assert_array_equal(ci.to_numpy(), ci2.to_numpy())


@pytest.mark.slow
def test_recovery_and_kfold_on_executor():
    import pandas as pd

    from hierlm.services.validation import recovery

    d = pd.DataFrame({"y": 0.0, "x": np.arange(40) % 5, "g": np.repeat(list("abcdefgh"), 5)})
    truth = {"beta": [1.0, 0.5], "sd": [[0.8]], "sigma": 1.0}
    kw = dict(truth=truth, n_reps=2, seed=1, draws=150, tune=150, chains=2, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = recovery("y ~ x + (1 | g)", d, cores=1, **kw)
        with ThreadPoolExecutor(2) as pool:
            b = recovery("y ~ x + (1 | g)", d, executor=pool, **kw)
    pd.testing.assert_frame_equal(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), draws=150, tune=150,
                       chains=2, seed=1, progressbar=False)
        cv = hl.kfold(fit, k=2, seed=3, cores=1)
        with ThreadPoolExecutor(2) as pool:
            cv2 = hl.kfold(fit, k=2, seed=3, executor=pool, progressbar=False)
    np.testing.assert_allclose(cv2.pointwise["elpd_kfold"], cv.pointwise["elpd_kfold"], rtol=1e-10)
