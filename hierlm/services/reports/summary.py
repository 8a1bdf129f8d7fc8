"""The printable summary object and R's formatting helpers shared by every report.

A :class:`Summary` is a list of titled sections (text lines or DataFrames); ``str()`` gives the
console layout and ``_repr_html_`` the notebook one, from the same content.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Summary", "abbreviate", "random_effects_table", "fixed_correlation", "scaled_residuals", "format_signif",
           "format_pval", "stars", "SIGNIF"]


@dataclass
class Summary:
    """A printable, notebook-friendly summary made of sections."""

    title: str
    sections: list[tuple[str, object]] = field(default_factory=list)

    def add(self, heading: str, content) -> None:
        self.sections.append((heading, content))

    def __str__(self) -> str:
        out = [self.title]
        for heading, content in self.sections:
            if heading:
                out.append(heading)
            if isinstance(content, pd.DataFrame):
                out.append(content.to_string())
            elif content is not None:
                out.append(str(content))
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        parts = [f"<div class='hierlm-summary'><pre style='margin:0'><b>{html.escape(self.title)}</b></pre>"]
        for heading, content in self.sections:
            if heading:
                parts.append(f"<h4 style='margin:0.6em 0 0.2em 0'>{html.escape(heading.rstrip(':'))}</h4>")
            if isinstance(content, pd.DataFrame):
                parts.append(content.to_html(na_rep=""))
            elif content is not None:
                parts.append(f"<pre style='margin:0'>{html.escape(str(content))}</pre>")
        parts.append("</div>")
        return "\n".join(parts)


def format_signif(x: float, digits: int = 4) -> str:
    """R's ``format(x, digits=)`` for one number (significant digits, no trailing zeros)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    return f"{x:.{digits}g}"


def abbreviate(name: str, minlength: int = 6) -> str:
    """R's ``abbreviate()``: drop lower-case vowels, then lower-case letters, from the right.

    Examples
    --------
    >>> abbreviate("(Intercept)"), abbreviate("MachineB"), abbreviate("Days")
    ('(Intr)', 'MachnB', 'Days')
    """
    s = list(name)
    for pattern in ("[aeiou]", "[a-z]"):
        i = len(s) - 1
        while len(s) > minlength and i > 0:
            if re.fullmatch(pattern, s[i]):
                del s[i]
            i -= 1
    return "".join(s)


def _quantile7(x: np.ndarray) -> np.ndarray:
    return np.quantile(x, [0, 0.25, 0.5, 0.75, 1.0], method="linear")


def scaled_residuals(res: np.ndarray, sigma: float) -> str:
    q = _quantile7(res / sigma)
    names = ["Min", "1Q", "Median", "3Q", "Max"]
    vals = [f"{v:.4g}" for v in q]
    w = max(len(v) for v in vals + names) + 1
    return "".join(n.rjust(w) for n in names) + "\n" + "".join(v.rjust(w) for v in vals)


def random_effects_table(varcorr: pd.DataFrame, digits: int = 5, show_variance: bool = True) -> str:
    """lme4's random-effects block: Groups, Name, Variance, Std.Dev. and the correlation triangle."""
    lines = []
    blocks = []
    for grp, sub in varcorr.groupby("grp", sort=False):
        var = sub[sub["var2"].isna()]
        cor = sub[sub["var2"].notna()]
        names = [v if v is not None else "" for v in var["var1"]]
        corr = np.full((len(names), len(names)), np.nan)
        for _, r in cor.iterrows():
            i, j = names.index(r["var1"]), names.index(r["var2"])
            corr[j, i] = r["sdcor"]
        blocks.append((grp, names, var["vcov"].to_numpy(), var["sdcor"].to_numpy(), corr))
    wg = max(len("Groups"), *(len(b[0]) for b in blocks))
    wn = max(len("Name"), *(len(n) for b in blocks for n in b[1]))
    fv = [format_signif(v, digits) for b in blocks for v in b[2]]
    fs = [format_signif(v, digits) for b in blocks for v in b[3]]
    wv, ws = max(len("Variance"), *map(len, fv)), max(len("Std.Dev."), *map(len, fs))
    has_corr = any(len(b[1]) > 1 for b in blocks)
    head = f" {'Groups':<{wg}} {'Name':<{wn}} " + (f"{'Variance':<{wv}} " if show_variance else "") + f"{'Std.Dev.':<{ws}}"
    lines.append(head + (" Corr" if has_corr else ""))
    k = 0
    for grp, names, _, _, corr in blocks:
        for i, name in enumerate(names):
            g = grp if i == 0 else ""
            row = f" {g:<{wg}} {name:<{wn}} " + (f"{fv[k]:<{wv}} " if show_variance else "") + f"{fs[k]:<{ws}}"
            if i > 0:
                row += " " + " ".join(f"{corr[i, j]:5.2f}" if np.isfinite(corr[i, j]) else "  NaN" for j in range(i))
            lines.append(row.rstrip())
            k += 1
    return "\n".join(lines)


def fixed_correlation(vcov: np.ndarray, names: list[str]) -> str | None:
    """lme4's "Correlation of Fixed Effects" triangle (abbreviated column names)."""
    p = len(names)
    if p < 2:
        return None
    sd = np.sqrt(np.diag(vcov))
    C = vcov / np.outer(sd, sd)
    abbr = [abbreviate(n) for n in names[:-1]]
    w0 = max(len(n) for n in names[1:])
    wc = max(6, *map(len, abbr))
    lines = [" " * w0 + " " + " ".join(a.ljust(wc) for a in abbr)]
    for i in range(1, p):
        cells = [f"{C[i, j]:6.3f}".ljust(wc) for j in range(i)]
        lines.append(names[i].ljust(w0) + " " + " ".join(cells).rstrip())
    return "\n".join(lines)


SIGNIF = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


def format_pval(p: float) -> str:
    """R's ``format.pval`` for one p-value (4 significant digits, ``<2e-16`` below machine precision).

    Examples
    --------
    >>> format_pval(1.4703e-09), format_pval(0.00106789), format_pval(1e-20)
    ('1.47e-09', '0.001068', '<2e-16')
    """
    if not np.isfinite(p):
        return "NA"
    return "<2e-16" if p < 2.2e-16 else f"{p:.4g}"


def stars(p: float) -> str:
    """Significance stars as R's ``printCoefmat``."""
    return next(s for cut, s in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (np.inf, " ")) if p < cut)
