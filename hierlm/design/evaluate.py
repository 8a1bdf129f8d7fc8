"""Evaluate formula expressions against a data frame, safely and reproducibly.

Expressions are interpreted node by node (never ``eval``), with a whitelist of R functions, so a
formula read back from a saved fit cannot run arbitrary code.  Stateful transforms (``poly``,
``scale``, ``factor`` levels) record their state on the training data and reuse it on new data,
which is what ``predict(newdata=...)`` needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, FormulaError, suggest
from ..formula import BinOp, Bool, Call, Name, Node, Num, Paren, Str, UnaryOp, deparse
from .transforms import FUNCTIONS
from .value import CONSTANTS, Value, as_categorical, level_names, unknown_column

__all__ = ["Evaluator"]


class Evaluator:
    """Evaluate formula nodes on ``data``.

    Parameters
    ----------
    data : DataFrame
    state : dict, optional
        Stateful-transform state from a previous evaluation (new-data mode).  When omitted the
        evaluator is in training mode and fills ``self.state``.
    """

    def __init__(self, data: pd.DataFrame, state: dict | None = None):
        self.data = data
        self.n = len(data)
        self.training = state is None
        self.state: dict = {} if state is None else state
        self.cache: dict[Node, Value] = {}

    # -- entry point ------------------------------------------------------------------------
    def __call__(self, node: Node) -> Value:
        if node not in self.cache:
            self.cache[node] = self._eval(node)
        return self.cache[node]

    def _eval(self, node: Node) -> Value:
        if isinstance(node, Paren):
            return self(node.expr)
        if isinstance(node, Name):
            return self._column(node.id)
        if isinstance(node, Bool):
            return Value("lgl", np.full(self.n, bool(node.value)))
        if isinstance(node, Num):
            return Value("num", np.full(self.n, node.value))
        if isinstance(node, Str):
            raise FormulaError(f"the string {deparse(node)} cannot be used as a variable")
        if isinstance(node, UnaryOp):
            v = self(node.operand)
            if node.op == "!":
                return Value("lgl", ~self._logical(v, node))
            x = v.numeric(deparse(node.operand)) if v.kind != "mat" else v.data
            return Value(v.kind if v.kind == "mat" else "num", -x if node.op == "-" else x, colnames=v.colnames)
        if isinstance(node, BinOp):
            return self._binop(node)
        if isinstance(node, Call):
            return self._call(node)
        raise FormulaError(f"cannot evaluate '{deparse(node)}'")

    # -- columns ----------------------------------------------------------------------------
    def _column(self, name: str) -> Value:
        if name not in self.data.columns:
            if name in CONSTANTS:
                return Value("num", np.full(self.n, CONSTANTS[name]))
            raise unknown_column(name, self.data.columns)
        s = self.data[name]
        key = ("column", name)
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            kind = "cat"
        elif pd.api.types.is_bool_dtype(s.dtype):
            kind = "lgl"
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_complex_dtype(s.dtype):
            kind = "num"
        else:
            raise DataError(f"column '{name}' has type {s.dtype}, which hierlm cannot use; convert it to numbers or "
                            "strings")
        if self.training:
            self.state[("kind", name)] = kind
        else:
            kind = self._as_trained(s, name, kind)
        if kind == "cat":
            return self._categorical(s, key, name)
        if kind == "lgl":
            return Value("lgl", s.to_numpy(dtype=bool))
        return Value("num", pd.to_numeric(s, errors="raise").to_numpy(dtype=float, na_value=np.nan))

    def _as_trained(self, s: pd.Series, name: str, kind: str) -> str:
        """New data: read column ``name`` as it was read when fitting (a factor stays a factor)."""
        trained = self.state.get(("kind", name), kind)
        if trained == kind or trained == "cat":
            return trained
        values = s.dropna()
        if trained == "num" and kind == "lgl":
            return "num"
        if trained == "num":
            converted = pd.to_numeric(values.astype(object), errors="coerce")
            if converted.notna().all():
                return "num"
        elif trained == "lgl" and kind == "num" and values.isin([0, 1]).all():
            return "lgl"
        example = values.iloc[0] if len(values) else None
        raise DataError(f"column '{name}' held {'numbers' if trained == 'num' else 'TRUE/FALSE values'} when the model "
                        f"was fitted, but newdata has {s.dtype} values such as {example!r}; give newdata the same "
                        "column types as the data the model was fitted to")

    def _categorical(self, s, key, what: str) -> Value:
        if self.training:
            codes, levels, ordered = as_categorical(s)
            self.state[key] = (levels, ordered)
            return Value("cat", codes, levels=levels, ordered=ordered)
        train, ordered = self.state[key]
        codes, levels, _ = as_categorical(s, train)
        return Value("cat", codes, levels=levels, ordered=ordered, known=len(train))

    @staticmethod
    def _logical(v: Value, node: Node) -> np.ndarray:
        if v.kind == "lgl":
            return v.data
        if v.kind == "num":
            return v.data != 0
        raise FormulaError(f"'{deparse(node)}' is not logical")

    # -- operators --------------------------------------------------------------------------
    def _binop(self, node: BinOp) -> Value:
        op = node.op
        if op == ":":
            return self._interaction([node.left, node.right], node)
        a, b = self(node.left), self(node.right)
        if op in {"&", "&&", "|", "||"}:
            la, lb = self._logical(a, node.left), self._logical(b, node.right)
            return Value("lgl", (la & lb) if op in {"&", "&&"} else (la | lb))
        if op in {"==", "!="} and (a.kind == "cat" or b.kind == "cat"):
            return self._compare_cat(a, b, node)
        x = a.numeric(deparse(node.left)) if a.kind != "mat" else a.data
        y = b.numeric(deparse(node.right)) if b.kind != "mat" else b.data
        with np.errstate(all="ignore"):
            if op == "+":
                r = x + y
            elif op == "-":
                r = x - y
            elif op == "*":
                r = x * y
            elif op == "/":
                r = x / y
            elif op == "^":
                r = np.power(x, y)
            elif op == "%%":
                r = np.mod(x, y)
            elif op == "%/%":
                r = np.floor_divide(x, y)
            elif op in {"==", "!=", "<", ">", "<=", ">="}:
                fn = {"==": np.equal, "!=": np.not_equal, "<": np.less, ">": np.greater, "<=": np.less_equal, ">=": np.greater_equal}[op]
                return Value("lgl", fn(x, y))
            else:
                raise FormulaError(f"the operator '{op}' cannot be used inside '{deparse(node)}'")
        return Value("num", np.asarray(r, dtype=float))

    def _compare_cat(self, a: Value, b: Value, node: BinOp) -> Value:
        cat, other = (a, node.right) if a.kind == "cat" else (b, node.left)
        if not isinstance(other, (Str, Num)):
            raise FormulaError(f"in '{deparse(node)}' compare a factor with a quoted level, e.g. f == \"b\"")
        target = other.value if isinstance(other, Str) else level_names([other.value])[0]
        idx = cat.levels.index(target) if target in cat.levels else -3
        eq = cat.data == idx
        return Value("lgl", eq if node.op == "==" else ~eq)

    def _interaction(self, parts: list[Node], node: Node) -> Value:
        """``a:b`` of factors → one factor with observed combinations, lme4's lexicographic order."""
        vals = [self.factor_of(p) for p in parts]
        codes = np.zeros(self.n, dtype=np.int64)
        missing = np.zeros(self.n, dtype=bool)
        for v in vals:
            missing |= v.data < 0
            codes = codes * len(v.levels) + np.maximum(v.data, 0)
        key = ("interaction", node)
        if self.training:
            used = np.unique(codes[~missing])
            self.state[key] = (used, [self._combo_name(c, vals) for c in used])
        used, names = self.state[key]
        lookup = {int(c): i for i, c in enumerate(used)}
        names = list(names)
        out = np.empty(self.n, dtype=np.int64)
        for i, (c, miss) in enumerate(zip(codes.tolist(), missing.tolist())):
            if miss:
                out[i] = -1
                continue
            j = lookup.get(c)
            if j is None:  # combination unseen in training: an extra level
                j = lookup[c] = len(names)
                names.append(self._combo_name(c, vals))
            out[i] = j
        return Value("cat", out, levels=names, known=len(used))

    @staticmethod
    def _combo_name(code: int, vals: list[Value]) -> str:
        pieces = []
        for v in reversed(vals):
            code, r = divmod(int(code), len(v.levels))
            pieces.append(v.levels[r])
        return ":".join(reversed(pieces))

    def factor_of(self, node: Node) -> Value:
        """Evaluate ``node`` as a factor (numbers become levels, as R's ``factor()``)."""
        v = self(node)
        if v.kind == "cat":
            return v
        if v.kind == "mat":
            raise FormulaError(f"'{deparse(node)}' has several columns and cannot be a grouping factor")
        key = ("factor", node)
        series = pd.Series(v.data)
        if self.training:
            codes, levels, _ = as_categorical(series)
            self.state[key] = levels
            return Value("cat", codes, levels=levels)
        codes, levels, _ = as_categorical(series, self.state[key])
        return Value("cat", codes, levels=levels, known=len(self.state[key]))

    # -- functions --------------------------------------------------------------------------
    def _call(self, node: Call) -> Value:
        fn = FUNCTIONS.get(node.func)
        if fn is None:
            raise FormulaError(
                f"unknown function '{node.func}()' in '{deparse(node)}'.{suggest(node.func, FUNCTIONS)}"
                f" Available: {', '.join(sorted(FUNCTIONS))}"
            )
        return fn(self, node)
