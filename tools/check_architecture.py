"""Check hierlm's architecture limits: import cycles, function-local imports, top-level modules, module size.

Usage: ``python tools/check_architecture.py [--json] [--root hierlm]``.  Exit status 1 when a limit is broken.

The import graph is read from the source (``ast``), not by importing: every ``import`` statement counts,
at module level or inside a function, and so does ``importlib.import_module("hierlm....")`` with a literal
name.  ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``.

Limits (issue 13):

* zero import cycles between hierlm modules, function-local imports included;
* at most 10 function-local imports of hierlm modules;
* at most 8 modules directly under ``hierlm/`` (``*.py`` files, ``__init__`` included);
* no module over 600 lines.
"""

from __future__ import annotations

import argparse
import ast
import json
import pathlib
import sys

LIMITS = {"cycles": 0, "local_imports": 10, "top_level_modules": 8, "max_lines": 600}


def module_name(path: pathlib.Path, root: pathlib.Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([target] if target else []))


class Visitor(ast.NodeVisitor):
    def __init__(self, name: str, is_package: bool, modules: set[str]):
        self.name, self.is_package, self.modules = name, is_package, modules
        self.edges: list[tuple[str, int, bool]] = []  # (target, line, local)
        self.local_statements: set[int] = set()  # lines of function-local import statements of hierlm modules
        self.dynamic: list[int] = []  # lines of importlib.import_module(<not a literal>)
        self.depth = 0

    def _add(self, target: str, line: int) -> None:
        if target == "hierlm" or target.startswith("hierlm."):
            while target not in self.modules and "." in target:
                target = target.rsplit(".", 1)[0]
            self.edges.append((target, line, self.depth > 0))
            if self.depth > 0:
                self.local_statements.add(line)

    def visit_FunctionDef(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node):
        for a in node.names:
            self._add(a.name, node.lineno)

    def visit_ImportFrom(self, node):
        base = resolve(self.name, self.is_package, node.level, node.module)
        for a in node.names:
            sub = f"{base}.{a.name}"
            self._add(sub if sub in self.modules else base, node.lineno)

    def visit_Call(self, node):
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "import_module" and node.args and not (
                isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            self.dynamic.append(node.lineno)
        if (isinstance(f, ast.Attribute) and f.attr == "import_module" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            target = node.args[0].value
            if target.startswith("."):
                level = len(target) - len(target.lstrip("."))
                target = resolve(self.name, self.is_package, level, target.lstrip(".") or None)
            self._add(target, node.lineno)
        self.generic_visit(node)


def analyse(root: pathlib.Path) -> dict:
    files = sorted(root.rglob("*.py"))
    modules = {module_name(p, root): p for p in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    local, dynamic = [], []
    for m, p in modules.items():
        v = Visitor(m, p.name == "__init__.py", set(modules))
        v.visit(ast.parse(p.read_text(), str(p)))
        targets: dict[int, list[str]] = {}
        for target, line, is_local in v.edges:
            if target != m:
                graph[m].add(target)
            if is_local:
                targets.setdefault(line, []).append(target)
        rel = p.relative_to(root.parent)
        local += [f"{rel}:{line} -> {', '.join(sorted(set(t)))}" for line, t in sorted(targets.items())]
        dynamic += [f"{rel}:{line}" for line in v.dynamic]
    cycles = strongly_connected(graph)
    lines = {str(p.relative_to(root.parent)): len(p.read_text().splitlines()) for p in files}
    top = sorted(p.name for p in root.glob("*.py"))
    return {
        "modules": len(modules),
        "cycles": [sorted(c) for c in cycles],
        "modules_in_cycles": sum(len(c) for c in cycles),
        "local_imports": local,
        "dynamic_imports": dynamic,
        "top_level_modules": top,
        "max_lines": max(lines.values()),
        "over_600": {k: v for k, v in lines.items() if v > 600},
    }


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm (iterative); components with more than one module, or a self-loop."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = set()
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.add(w)
                        if w == v:
                            break
                    if len(comp) > 1 or v in graph[v]:
                        out.append(comp)
    return out


def report(res: dict) -> tuple[str, bool]:
    ok = (len(res["cycles"]) == 0 and len(res["local_imports"]) <= LIMITS["local_imports"]
          and len(res["top_level_modules"]) <= LIMITS["top_level_modules"] and res["max_lines"] <= LIMITS["max_lines"])
    lines = [
        f"modules: {res['modules']}",
        f"import cycles: {len(res['cycles'])} ({res['modules_in_cycles']} modules)   [limit 0]",
        *[f"  cycle members: {", ".join(c)}" for c in res["cycles"]],
        f"function-local imports of hierlm modules: {len(res['local_imports'])}   [limit {LIMITS['local_imports']}]",
        *[f"  {x}" for x in res["local_imports"]],
        f"dynamic imports (importlib with a computed name, not in the graph): {len(res['dynamic_imports'])}",
        *[f"  {x}" for x in res["dynamic_imports"]],
        f"modules directly under hierlm/: {len(res['top_level_modules'])} {res['top_level_modules']}   "
        f"[limit {LIMITS['top_level_modules']}]",
        f"longest module: {res['max_lines']} lines   [limit {LIMITS['max_lines']}]",
        *[f"  over 600: {k} ({v})" for k, v in res["over_600"].items()],
        "OK" if ok else "LIMITS BROKEN",
    ]
    return "\n".join(lines), ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parents[1] / "hierlm"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    res = analyse(pathlib.Path(args.root))
    text, ok = report(res)
    print(json.dumps(res, indent=1) if args.json else text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
