"""The main job: sleepstudy fitted by REML and (once sampled) by NUTS, side by side.

Run with ``./run demo`` (or ``python -m hierlm.demo``).
"""

from __future__ import annotations

import argparse
import time

import hierlm as hl


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--frequentist-only", action="store_true")
    args = parser.parse_args(argv)

    sleep = hl.load_dataset("sleepstudy")
    formula = "Reaction ~ Days + (Days | Subject)"
    t0 = time.perf_counter()
    m = hl.lmer(formula, sleep)
    print(f"== lmer (REML), {time.perf_counter() - t0:.2f} s\n")
    print(m.summary())
    if args.frequentist_only:
        return
    t0 = time.perf_counter()
    b = hl.blmer(formula, sleep, draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed)
    print(f"\n== blmer (NUTS, {args.chains} chains x {args.draws} draws), {time.perf_counter() - t0:.1f} s\n")
    print(b.summary())
    print("\n== side by side\n")
    print(hl.side_by_side(m, b).to_string())


if __name__ == "__main__":
    main()
