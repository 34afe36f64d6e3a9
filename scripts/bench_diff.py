"""The differential search rate of `fuzzcore diff`: inputs per second (each run under both
policies), native engine vs the reference model, median of --repeat timed runs of --seconds each
(the search alone: no confirmation, no minimisation).

    python scripts/bench_diff.py --policy linux-7.1+vfio-reset-done-v18 --seconds 10 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzzcore.device.builtin import resolve_device  # noqa: E402
from fuzzcore.explore.diff import DiffReport, PairRunner, differential_fuzz  # noqa: E402
from fuzzcore.policy import load_policy  # noqa: E402


def rate(profile, base, patched, engine: str, seconds: float, seed: int) -> float:
    runner = PairRunner(profile, base, patched, engine)
    report = DiffReport("bench", "base", "patched", engine=runner.engine)
    differential_fuzz(report, runner, seconds, seed, time.monotonic())
    return report.rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="i350")
    ap.add_argument("--base", default="linux-7.1")
    ap.add_argument("--policy", default="linux-7.1+vfio-reset-done-v18")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    profile = resolve_device(args.device)
    base, patched = load_policy(args.base), load_policy(args.policy)
    samples = {e: [rate(profile, base, patched, e, args.seconds, seed) for seed in range(1, args.repeat + 1)]
               for e in ("native", "reference")}
    med = {e: statistics.median(v) for e, v in samples.items()}
    if args.json:
        print(json.dumps({"samples": samples, "median": med}, indent=2))
        return 0
    print(f"diff search, {args.base} vs {args.policy} on {args.device}: median of {args.repeat} runs of "
          f"{args.seconds:g} s; {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    for e in ("native", "reference"):
        print(f"  {e:10} {med[e]:>10,.0f} inputs/s   (samples: {', '.join(f'{x:,.0f}' for x in samples[e])})")
    print(f"  ratio      {med['native'] / med['reference']:>10.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
