"""The printable report objects: :class:`Printout` (text exactly as R prints it, for the frequentist
summaries, ``VarCorr`` and anova tables) and :class:`Summary` (titled sections, for brms-style reports).

Both give the console layout with ``str()`` and a notebook layout with ``_repr_html_``, from the same
content.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Printout", "Summary"]


class Printout:
    """Text laid out line for line as R prints it, with an HTML view for notebooks.

    A printout is a list of blocks; each block holds the exact lines R prints and, optionally, the
    same content as a table of the formatted cells (shown as an HTML table in notebooks).

    Attributes
    ----------
    blocks : list of (lines, table, heading)
        ``lines``: list of str; ``table``: DataFrame of formatted strings or None; ``heading``: the
        title shown above the table in HTML, or None.

    Examples
    --------
    >>> p = Printout()
    >>> p.add(["Random effects:"])
    >>> p.add([" Groups Name        Std.Dev.", " herd   (Intercept) 0.6421  "])
    >>> print(p)
    Random effects:
     Groups Name        Std.Dev.
     herd   (Intercept) 0.6421
    >>> p.lines[0]
    'Random effects:'
    """

    def __init__(self) -> None:
        self.blocks: list[tuple[list[str], pd.DataFrame | None, str | None]] = []

    def add(self, lines: list[str], table: pd.DataFrame | None = None, heading: str | None = None) -> None:
        """Append a block of lines (and optionally its table for the HTML view).

        Parameters
        ----------
        lines : list of str
        table : DataFrame, optional
        heading : str, optional

        Returns
        -------
        None

        Examples
        --------
        >>> p = Printout()
        >>> p.add(["a", "b"])
        >>> p.lines
        ['a', 'b']
        """
        self.blocks.append((list(lines), table, heading))

    @property
    def lines(self) -> list[str]:
        """Every printed line, in order (no newline characters)."""
        return [line for block in self.blocks for line in block[0]]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        parts, pre = ["<div class='hierlm-summary'>"], []

        def flush():
            if pre:
                parts.append("<pre style='margin:0'>" + html.escape("\n".join(pre)) + "</pre>")
                pre.clear()

        for lines, table, heading in self.blocks:
            if table is None:
                pre.extend(lines)
                continue
            flush()
            if heading:
                parts.append(f"<h4 style='margin:0.6em 0 0.2em 0'>{html.escape(heading.rstrip(':'))}</h4>")
            parts.append(table.to_html(na_rep=""))
        flush()
        parts.append("</div>")
        return "\n".join(parts)


@dataclass
class Summary:
    """A printable, notebook-friendly summary made of titled sections (text or DataFrames).

    Attributes
    ----------
    title : str
    sections : list of (heading, content)
        ``content`` is a str, a DataFrame or None.

    Examples
    --------
    >>> s = Summary("Title")
    >>> s.add("Section:", "text")
    >>> print(s)
    Title
    Section:
    text
    """

    title: str
    sections: list[tuple[str, object]] = field(default_factory=list)

    def add(self, heading: str, content) -> None:
        """Append a section.

        Parameters
        ----------
        heading : str
        content : str, DataFrame or None

        Returns
        -------
        None

        Examples
        --------
        >>> s = Summary("T")
        >>> s.add("", "x")
        >>> len(s.sections)
        1
        """
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
