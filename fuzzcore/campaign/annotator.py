"""The campaign driver's root-cause annotation of the findings store.

A bucket's meta.json carries the provenance of its min reproducer (`root_cause`,
fuzzcore/triage/root_cause.py), derived on the reference model: ~20 ms per reproducer. Done in
the worker, for every new bucket and every shorter input, it took that time out of the fuzzing
loop (a 30 s campaign writes some 200-250 of them); the driver has a core of its own and little
else to do, so it derives them here, between status ticks, within a time budget, and once more
for everything left when the workers have stopped. What it writes is what the store wrote
before: the same `root_cause` dict, for the same reproducer (its `ops` equal to meta's min_ops),
under the store's lock, re-reading meta.json there so that no hit count or shorter input a
worker wrote meanwhile is lost.
"""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path

from ..util.atomic_write import atomic_write_text
from .findings_store import bucket_metas
from .state import meta_problem, read_json_checked


def _current(rc, meta: dict) -> bool:
    from ..triage.root_cause import PROVENANCE_VERSION
    return (isinstance(rc, dict) and rc.get("version") == PROVENANCE_VERSION
            and rc.get("ops") == meta.get("min_ops") and bool(rc.get("key")))


class RootCauseAnnotator:
    def __init__(self, findings: Path, device: str, policy: str):
        self.findings = Path(findings)
        self.device, self.policy = device, policy
        self.keys: dict[str, str] = {}           # bucket -> root-cause key of its current min
        self._seen: dict[str, tuple] = {}        # bucket -> min.bin (mtime_ns, size) last looked at
        self.derived = 0                         # reproducers derived here (stats, tests)

    def _todo(self) -> list[str]:
        out = []
        for meta in bucket_metas(self.findings):
            name = meta.parent.name
            try:
                st = (meta.parent / "min.bin").stat()
                sig = (st.st_mtime_ns, st.st_size)
            except OSError:
                sig = None
            if self._seen.get(name) != sig:
                out.append(name)
                self._seen[name] = sig
        return sorted(out)

    def step(self, budget_s: float | None = 0.2) -> int:
        """Annotate buckets whose min is new or changed, for at most `budget_s` seconds (None: all);
        returns how many are still waiting."""
        todo = self._todo()
        started = time.monotonic()
        for i, name in enumerate(todo):
            if budget_s is not None and time.monotonic() - started >= budget_s:
                for rest in todo[i:]:
                    self._seen.pop(rest, None)       # looked at again next time
                return len(todo) - i
            self._annotate(name)
        return 0

    def _annotate(self, name: str) -> None:
        d = self.findings / name
        meta, why = read_json_checked(d / "meta.json")
        if why is not None or meta_problem(meta) is not None:
            return                              # the store repairs it; looked at again later
        rc = meta.get("root_cause")
        if _current(rc, meta):
            self.keys[name] = rc["key"]
            return
        try:
            from ..program.codec import decode
            from ..triage.root_cause import annotate
            calls = decode((d / "min.bin").read_bytes())
            if len(calls) != meta.get("min_ops"):
                return                          # min.bin and meta.json mid-update: next tick
            rc = annotate(self.device, self.policy, calls, tuple(meta["bucket"]))
        except Exception:       # triage must never stop a campaign; `show` derives it again
            return              # (tried again when the bucket's min changes)
        self.derived += 1
        with open(self.findings / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                now, why = read_json_checked(d / "meta.json")
                if why is not None or meta_problem(now) is not None or now.get("min_ops") != rc["ops"]:
                    self._seen.pop(name, None)  # a worker replaced min meanwhile: again next tick
                    return
                now["root_cause"] = rc
                atomic_write_text(d / "meta.json", json.dumps(now, indent=2, sort_keys=True) + "\n")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self.keys[name] = rc["key"]
