"""brms-style hypothesis tests on the fixed effects of a Bayesian fit: ``fit.hypothesis("Days > 5")``.

A hypothesis compares two linear combinations of fixed effects, named as lme4 names them
(``(Intercept)`` — or ``Intercept`` — ``Days``, ``treatozone:time``, ``I(Days^2)``; names may be
quoted in backticks), with ``<``, ``>`` or ``=``: ``"Days > 5"``, ``"Days - 2*treatozone = 0"``,
``"(Intercept) + 3*Days < 300"``.  Its posterior is that of ``lhs − rhs``, computed draw by draw.

* One-sided (``<``, ``>``): ``Post.Prob`` is the posterior probability of the hypothesis and
  ``Evid.Ratio`` its posterior odds P / (1 − P) (infinite when every draw agrees).  As in brms the
  interval is one-sided: ``[q_α, ∞)`` for ``>``, ``(−∞, q_{1−α}]`` for ``<`` (a 90% interval for the
  default α = 0.05).
* Point (``=``): ``Evid.Ratio`` is the Savage–Dickey Bayes factor BF₀₁ = p(h = 0 | y) / p(h = 0),
  the posterior density of ``lhs − rhs`` at 0 over its prior density there, and ``Post.Prob`` =
  BF₀₁ / (1 + BF₀₁) (equal prior odds).  The interval is two-sided (95%).

The prior density is exact where it can be: normal priors on the coefficients give a normal
prior for the combination (the default intercept prior is on *centred* predictors, so the lme4
intercept is ``Intercept − Σ mean(x_j) b_j`` and its prior involves the slopes' priors too); a
single non-normal coefficient uses its own density; otherwise 200 000 prior draws and a kernel
density estimate.  The posterior density is a Gaussian kernel density estimate of the draws
(``density="kde"``, Scott's bandwidth) or the normal approximation N(mean, sd)
(``density="normal"``).  Improper priors (``Flat``) have no density to divide by, so point
hypotheses on their coefficients are refused.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...errors import HierlmError, suggest

__all__ = ["hypothesis", "parse_hypothesis"]

_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_CMP = ("<=", ">=", "==", "<", ">", "=")
_IDENT = re.compile(r"[A-Za-z0-9_.]")
_IMPROPER = ("flat", "half_flat", "halfflat")


# -- parsing --------------------------------------------------------------------------------------
def _tokens(text: str, names: list[str]) -> list[tuple[str, object]]:
    by_length = sorted(set(names) | {"Intercept"}, key=len, reverse=True)
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise HierlmError(f"hypothesis {text!r}: unmatched backtick at position {i}")
            out.append(("name", text[i + 1 : j]))
            i = j + 1
            continue
        hit = next((nm for nm in by_length if text.startswith(nm, i)
                    and not (_IDENT.match(nm[-1]) and i + len(nm) < len(text) and _IDENT.match(text[i + len(nm)]))
                    and not (_IDENT.match(nm[0]) and i > 0 and _IDENT.match(text[i - 1]))), None)
        if hit is not None:
            out.append(("name", hit))
            i += len(hit)
            continue
        m = _NUMBER.match(text, i)
        if m and not (m.end() < len(text) and re.match(r"[A-Za-z_(]", text[m.end()])):
            out.append(("num", float(m.group(0))))
            i = m.end()
            continue
        op = next((o for o in _CMP + ("+", "-", "*", "/", "(", ")") if text.startswith(o, i)), None)
        if op is not None:
            out.append(("cmp", (op, i)) if op in _CMP else ("op", op))
            i += len(op)
            continue
        word = re.match(r"[^\s+\-*/<>=]+", text[i:])
        bad = word.group(0) if word else ch
        raise HierlmError(f"hypothesis {text!r}: {bad!r} is not a fixed effect of the model; the fixed effects are "
                          f"{names}.{suggest(bad, names)} Write products with '*' (2*Days) and quote odd names in "
                          "backticks")
    return out


class _Linear:
    """Recursive-descent parser of a linear combination of named coefficients."""

    def __init__(self, toks, names, text):
        self.toks, self.names, self.text, self.i = toks, names, text, 0

    def _peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def _fail(self, what: str):
        raise HierlmError(f"hypothesis {self.text!r}: {what}; write it like 'Days > 5' or 'Days - 2*treatozone = 0'")

    def expr(self):
        a, c = self.term()
        while self._peek() in (("op", "+"), ("op", "-")):
            sign = 1 if self.toks[self.i][1] == "+" else -1
            self.i += 1
            b, d = self.term()
            a, c = a + sign * b, c + sign * d
        return a, c

    def term(self):
        a, c = self.factor()
        while self._peek() in (("op", "*"), ("op", "/")):
            op = self.toks[self.i][1]
            self.i += 1
            b, d = self.factor()
            if op == "/":
                if b.any() or d == 0:
                    self._fail("divide only by a non-zero number")
                a, c = a / d, c / d
            elif a.any() and b.any():
                self._fail("a product of two coefficients is not linear")
            else:
                a, c = (a * d if a.any() else b * c), c * d
        return a, c

    def factor(self):
        kind, val = self._peek()
        zero = np.zeros(len(self.names))
        if kind == "op" and val in "+-":
            self.i += 1
            a, c = self.factor()
            return (a, c) if val == "+" else (-a, -c)
        if kind == "num":
            self.i += 1
            return zero, float(val)
        if kind == "name":
            self.i += 1
            name = "(Intercept)" if val == "Intercept" and "Intercept" not in self.names else val
            if name not in self.names:
                self._fail(f"{val!r} is not a fixed effect (they are {self.names}).{suggest(val, self.names)}")
            a = zero.copy()
            a[self.names.index(name)] = 1.0
            return a, 0.0
        if (kind, val) == ("op", "("):
            self.i += 1
            out = self.expr()
            if self._peek() != ("op", ")"):
                self._fail("unbalanced parentheses")
            self.i += 1
            return out
        self._fail("incomplete expression" if kind is None else f"unexpected {val!r}")


def parse_hypothesis(text: str, names: list[str]) -> tuple[np.ndarray, float, str, str]:
    """``"lhs op rhs"`` → (a, c, op, label) with ``lhs − rhs = a·β + c`` and op one of ``<``, ``>``, ``=``.

    Examples
    --------
    >>> a, c, op, label = parse_hypothesis("Days - 2*treatozone = 1", ["(Intercept)", "Days", "treatozone"])
    >>> a.tolist(), c, op, label
    ([0.0, 1.0, -2.0], -1.0, '=', '(Days - 2*treatozone)-(1) = 0')
    """
    if not isinstance(text, str) or not text.strip():
        raise HierlmError(f"a hypothesis is a string such as 'Days > 5', not {text!r}")
    toks = _tokens(text, list(names))
    cmp = [k for k, (kind, _) in enumerate(toks) if kind == "cmp"]
    if len(cmp) != 1:
        raise HierlmError(f"hypothesis {text!r} needs exactly one of <, > or = (e.g. 'Days > 5'), found {len(cmp)}")
    op_text, at = toks[cmp[0]][1]
    op = {"<=": "<", ">=": ">", "==": "="}.get(op_text, op_text)
    sides = []
    for part in (toks[: cmp[0]], toks[cmp[0] + 1 :]):
        p = _Linear(part, list(names), text)
        if not part:
            p._fail("one side of the comparison is empty")
        sides.append(p.expr())
        if p.i != len(part):
            p._fail(f"unexpected {part[p.i][1]!r}")
    (al, cl), (ar, cr) = sides
    a, c = al - ar, cl - cr
    if not a.any():
        raise HierlmError(f"hypothesis {text!r} involves no fixed effect (its coefficients cancel)")
    lhs, rhs = text[:at].strip(), text[at + len(op_text) :].strip()
    label = f"({lhs})" + (f"-({rhs})" if rhs not in ("0", "0.0") else "") + f" {op} 0"
    return a, c, op, label


# -- densities ------------------------------------------------------------------------------------
def _prior_terms(fit, a: np.ndarray) -> list[tuple[float, object, str]]:
    """(coefficient, Prior, name) of each sampled coefficient in ``a·β`` (lme4 β → the sampler's)."""
    spec = fit.spec
    names = list(fit.design.xnames)
    xm = np.zeros(len(names))
    xm[spec.order] = spec.xmean
    icpt = names.index("(Intercept)") if spec.has_intercept else None
    out = []
    for k, pos in enumerate(spec.order):
        pos = int(pos)
        if icpt is not None and pos == icpt:
            coef, label = a[icpt], "Intercept (on centred predictors)"
        else:
            coef, label = a[pos] - (a[icpt] * xm[pos] if icpt is not None else 0.0), names[pos]
        if abs(coef) > 1e-14:
            out.append((float(coef), spec.beta_priors[k], label))
    return out


def _scipy_dist(pr):
    """The prior as a frozen scipy distribution (hierlm's real-valued ones), or None (other PyMC ones)."""
    from scipy import stats

    p = pr.params
    if pr.dist == "normal":
        return stats.norm(p["mu"], p["sigma"])
    if pr.dist == "student_t":
        return stats.t(p["nu"], p["mu"], p["sigma"])
    return None


def _prior_density(fit, a: np.ndarray, c: float, seed) -> tuple[float, str]:
    from scipy import stats

    terms = _prior_terms(fit, a)
    for coef, pr, label in terms:
        if pr.dist.replace("_", "") in [s.replace("_", "") for s in _IMPROPER]:
            raise HierlmError(f"the prior of {label} is {pr} (improper), so a point hypothesis on it has no Bayes "
                              "factor; give it a proper prior, e.g. priors={'b': hl.Prior('normal', mu=0, sigma=10)}")
    if all(pr.dist == "normal" for _, pr, _ in terms):
        mean = c + sum(coef * pr.params["mu"] for coef, pr, _ in terms)
        sd = np.sqrt(sum((coef * pr.params["sigma"]) ** 2 for coef, pr, _ in terms))
        return float(stats.norm.pdf(0.0, mean, sd)), "normal (exact)"
    if len(terms) == 1:
        coef, pr, _ = terms[0]
        dist = _scipy_dist(pr)
        if dist is not None:
            dens = float(dist.pdf(-c / coef))
        else:
            import pymc as pm

            dens = float(np.exp(pm.logp(pr.pymc_class().dist(**pr.params), np.array(-c / coef)).eval()))
        return dens / abs(coef), f"{pr.dist} (exact)"
    total = np.full(200_000, float(c))
    for k, (coef, pr, _) in enumerate(terms):
        rng = np.random.default_rng([seed, k])
        dist = _scipy_dist(pr)
        if dist is not None:
            draws = dist.rvs(size=total.size, random_state=rng)
        else:
            import pymc as pm

            draws = pm.draw(pr.pymc_class().dist(**pr.params), draws=total.size, random_seed=rng)
        total += coef * np.asarray(draws, float)
    return _kde_at(total, 0.0), "prior draws + KDE"


def _kde_at(x: np.ndarray, point: float) -> float:
    from scipy import stats

    x = np.asarray(x, float)
    if x.std() == 0:
        return np.inf if np.all(x == point) else 0.0
    if len(x) > 20_000:
        x = x[:: len(x) // 20_000]
    return float(stats.gaussian_kde(x)(point)[0])


# -- the table ------------------------------------------------------------------------------------
def hypothesis(fit, hypotheses, alpha: float = 0.05, density: str = "kde") -> pd.DataFrame:
    """Test hypotheses about fixed effects of a Bayesian fit, as brms's ``hypothesis()`` does.

    Parameters
    ----------
    fit : BayesFit
    hypotheses : str or list of str
        E.g. ``"Days > 5"``, ``"Days - 2*treatozone = 0"``, ``"(Intercept) < 260"``; fixed effects
        by their lme4 names (``Intercept`` also works), odd names in backticks.
    alpha : float, default 0.05
        ``1 − alpha`` two-sided intervals for point hypotheses; one-sided ``alpha`` bounds for
        ``<`` / ``>`` (brms's convention).
    density : {"kde", "normal"}
        Posterior density at the point for the Savage–Dickey ratio: kernel density estimate of
        the draws, or the normal approximation N(mean, sd).

    Returns
    -------
    DataFrame
        One row per hypothesis (indexed by its text): ``Hypothesis`` (as brms writes it,
        ``(lhs)-(rhs) > 0``), ``Estimate`` and ``Est.Error`` (posterior mean and sd of lhs − rhs),
        ``CI.Lower``, ``CI.Upper``, ``Evid.Ratio`` (posterior odds for ``<``/``>``, BF₀₁ for ``=``),
        ``Post.Prob``, ``Star`` (``*`` when the interval excludes 0).  ``frame.attrs["densities"]``
        holds the posterior and prior densities of point hypotheses and how they were computed.

    Raises
    ------
    HierlmError
        For unknown names, nonlinear or malformed hypotheses, and point hypotheses on a
        coefficient with an improper prior.

    Examples
    --------
    >>> import hierlm as hl
    >>> b = hl.blmer("Reaction ~ Days + (Days | Subject)", hl.load_dataset("sleepstudy"), draws=500,
    ...              chains=2, seed=1, progressbar=False)
    >>> h = hypothesis(b, ["Days > 5", "Days = 10", "(Intercept) - 25*Days < 0"])
    >>> h["Hypothesis"].tolist()
    ['(Days)-(5) > 0', '(Days)-(10) = 0', '((Intercept) - 25*Days) < 0']
    >>> bool(h.loc["Days > 5", "Post.Prob"] > 0.99), h.attrs["densities"]["Days = 10"]["prior_method"]
    (True, 'normal (exact)')
    """
    from scipy import stats

    if isinstance(hypotheses, str):
        hypotheses = [hypotheses]
    if not isinstance(hypotheses, (list, tuple)) or not hypotheses:
        raise HierlmError(f"hypotheses must be a string such as 'Days > 5' or a list of them, not {hypotheses!r}")
    if not (isinstance(alpha, float) and 0 < alpha < 0.5):
        raise HierlmError(f"alpha must be a number between 0 and 0.5 (e.g. 0.05), got {alpha!r}")
    if density not in ("kde", "normal"):
        raise HierlmError(f"density must be 'kde' or 'normal', not {density!r}")
    names = list(fit.design.xnames)
    if not names:
        raise HierlmError("the model has no fixed effects to test hypotheses about")
    beta = fit.posterior["beta"].values.reshape(-1, len(names))
    seed = int(fit.settings.get("seed", 0) or 0)
    rows, dens = [], {}
    for text in hypotheses:
        a, c, op, label = parse_hypothesis(text, names)
        h = beta @ a + c
        est, sd = float(h.mean()), float(h.std(ddof=1))
        if op == "=":
            lo, hi = np.quantile(h, [alpha / 2, 1 - alpha / 2])
            post = _kde_at(h, 0.0) if density == "kde" else float(stats.norm.pdf(0.0, est, sd))
            prior, how = _prior_density(fit, a, c, seed)
            er = post / prior
            pp = er / (1 + er) if np.isfinite(er) else 1.0
            dens[text] = {"posterior": post, "prior": prior, "prior_method": how, "posterior_method": density}
        else:
            p = float(np.mean(h > 0) if op == ">" else np.mean(h < 0))
            lo, hi = (np.quantile(h, alpha), np.inf) if op == ">" else (-np.inf, np.quantile(h, 1 - alpha))
            er = p / (1 - p) if p < 1 else np.inf
            pp = p
        star = "*" if not (lo <= 0 <= hi) else ""
        rows.append({"Hypothesis": label, "Estimate": est, "Est.Error": sd, "CI.Lower": float(lo),
                     "CI.Upper": float(hi), "Evid.Ratio": float(er), "Post.Prob": float(pp), "Star": star})
    out = pd.DataFrame(rows, index=pd.Index([str(t) for t in hypotheses], name="hypothesis"))
    out.attrs["densities"] = dens
    return out
