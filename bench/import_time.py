"""Cold ``import hierlm`` time of this tree beside a baseline commit, measured in the same run.

``python -m bench.import_time [--baseline REF] [--repeats N]`` checks the baseline commit out into a
temporary git worktree and times ``import hierlm`` in fresh interpreters, alternating the two trees
so that load drifts hit both alike.  Both use this interpreter and its installed dependencies; each
run asserts which tree it imported.  Reports medians and the ratio (this tree / baseline).

The default baseline is the commit before the package was layered (issue 13).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BASELINE = "f03cd99"  # main before the layered package (issue 13)

_CODE = ("import sys, time; sys.path.insert(0, {tree!r}); t = time.perf_counter(); import hierlm; "
         "dt = time.perf_counter() - t; assert hierlm.__file__.startswith({tree!r}), hierlm.__file__; print(dt)")


def _once(tree: pathlib.Path) -> float:
    out = subprocess.run([sys.executable, "-c", _CODE.format(tree=str(tree))], capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir())
    return float(out.stdout.strip())


def run(baseline: str = BASELINE, repeats: int = 15, log=print) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        base = pathlib.Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), baseline], cwd=ROOT, check=True)
        try:
            for tree in (ROOT, base):  # warm the file cache and byte-compile both trees first
                _once(tree)
            now, before = [], []
            for _ in range(repeats):
                now.append(_once(ROOT))
                before.append(_once(base))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    res = {"baseline": baseline, "repeats": repeats, "this_tree_s": statistics.median(now),
           "baseline_s": statistics.median(before), "this_tree_all": now, "baseline_all": before}
    res["ratio"] = res["this_tree_s"] / res["baseline_s"]
    log(f"import hierlm: this tree {res['this_tree_s']:.3f} s, baseline {baseline} {res['baseline_s']:.3f} s "
        f"(medians of {repeats}); ratio {res['ratio']:.3f}")
    return res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=BASELINE)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args(argv)
    res = run(args.baseline, args.repeats)
    out = ROOT / "bench" / "results" / "import_time.json"
    out.write_text(json.dumps({k: v for k, v in res.items()}, indent=1))
    return res


if __name__ == "__main__":
    main()
