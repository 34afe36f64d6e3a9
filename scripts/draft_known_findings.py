"""Draft a baseline's known-findings list from one or more findings stores, for review.

    python scripts/draft_known_findings.py --policy linux-7.1 fuzzcore-out/i350-linux-7.1/findings [...]

Prints TOML in the form of fuzzcore/policies/known/<baseline>.toml: one [[root_cause]] per root
cause over all the stores (union by key), with its computed tier and reason, its member count and
an example reproducer. Review every entry against the upstream source before committing it; the
list is what a campaign calls "known"."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzzcore.device.builtin import resolve_device  # noqa: E402
from fuzzcore.triage import tiers  # noqa: E402
from fuzzcore.triage.root_cause import group_findings  # noqa: E402


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stores", nargs="+", type=Path)
    ap.add_argument("--policy", default="linux-7.1")
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    # Union by key over the stores: every member's reproducer counts when the tier is decided.
    seen: dict = {}
    for store in args.stores:
        for rc in group_findings(store, args.device, args.policy):
            cur = seen.get(rc.key)
            if cur is None:
                seen[rc.key] = rc
                continue
            cur.reproducers += rc.reproducers
            cur.actor_paths |= rc.actor_paths
            cur.reproduced &= rc.reproduced
            if rc.shortest_ops < cur.shortest_ops:
                cur.shortest_ops, cur.detail = rc.shortest_ops, rc.detail
    profile = resolve_device(args.device or "i350")
    for rc in seen.values():
        rc.verdict = tiers.assess(profile, args.policy, rc.key, rc.invariant, rc.origin, rc.register_class,
                                  rc.actor_paths, rc.reproducers, rc.reproduced)
    for rc in sorted(seen.values(), key=lambda r: (r.verdict.tier, r.key)):
        print("[[root_cause]]")
        print(f"key = {_q(rc.key)}")
        print(f"tier = {_q(rc.verdict.label)}")
        print(f"reason = {_q(rc.verdict.reason)}")
        if rc.verdict.upstream:
            print(f"upstream = {_q(rc.verdict.upstream)}")
        print(f"example = {_q(rc.detail)}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
