"""`fuzzcore diff`: what a patch changes. The same inputs run under a base policy and a patched
one; buckets seen only under the patch are *introduced*, only under the base *fixed*, under
both *unchanged*. Inputs come from a corpus (replayed), a differential fuzz campaign (feedback
rewards programs whose outcome differs), and optionally exhaustive exploration to a depth.

Each reported bucket carries a minimised reproducer (ops removed while the bucket stays on its
side of the difference) and both traces up to the first access where the runs diverge."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..model.machine import Model
from ..program.codec import Call, decode, encode
from ..program.fzs import format_call, format_program
from ..program.load import load_program


@dataclass
class Side:
    bucket: tuple
    program: list[Call]
    source: str            # corpus file, "fuzz", "explore"


@dataclass
class DiffReport:
    device: str
    base: str
    policy: str
    seen_base: dict = field(default_factory=dict)     # bucket -> Side: shortest input showing it under base
    seen_patched: dict = field(default_factory=dict)  # the same under the patched policy
    inputs: dict = field(default_factory=dict)        # source -> number of programs run
    notes: list[str] = field(default_factory=list)
    # Same input, different outcome: (buckets only under base, only under patch) -> shortest input.
    # This is where a patch turns one failure into another (e.g. H1 "Memory off" into H1b "BAR moved").
    changed: dict = field(default_factory=dict)

    # A bucket is introduced when some input shows it under the patch and no input shows it
    # under the base (over everything run), fixed the other way round.
    @property
    def introduced(self) -> dict:
        return {b: s for b, s in self.seen_patched.items() if b not in self.seen_base}

    @property
    def fixed(self) -> dict:
        return {b: s for b, s in self.seen_base.items() if b not in self.seen_patched}

    @property
    def unchanged(self) -> dict:
        return {b: s for b, s in self.seen_patched.items() if b in self.seen_base}


class PairRunner:
    """The reference model under both policies (buckets only)."""

    def __init__(self, profile, base, patched):
        self.base = Model(profile, base)
        self.patched = Model(profile, patched)

    def buckets(self, calls) -> tuple[set, set]:
        return set(self.base.run(calls).buckets), set(self.patched.run(calls).buckets)


def classify(report: DiffReport, runner: PairRunner, calls: list[Call], source: str) -> tuple[set, set]:
    b, p = runner.buckets(calls)
    for bucket in b:
        _keep(report.seen_base, bucket, calls, source)
    for bucket in p:
        _keep(report.seen_patched, bucket, calls, source)
    if b != p:
        _keep(report.changed, (frozenset(b - p), frozenset(p - b)), calls, source)
    return b, p


def _keep(table: dict, bucket, calls, source) -> None:
    cur = table.get(bucket)
    if cur is None or len(calls) < len(cur.program):
        table[bucket] = Side(bucket, list(calls), source)


def minimise(runner: PairRunner, bucket, calls: list[Call], side: str, deadline: float) -> list[Call]:
    """Greedy op deletion (ddmin's last pass) keeping `bucket` on the same side of the diff."""
    def holds(prog):
        b, p = runner.buckets(prog)
        return {"introduced": bucket in p and bucket not in b, "fixed": bucket in b and bucket not in p}[side]

    best = list(calls)
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        for i in range(len(best) - 1, -1, -1):
            cand = best[:i] + best[i + 1:]
            if cand and holds(cand):
                best, changed = cand, True
    return best


def _describe(profile, t) -> str:
    from ..model.register_names import register_name
    if t.target == "event":
        return t.step
    name = f"MSI-X table+0x{t.offset:03x}" if t.target == "msix" else (
        ("port " if t.target == "port" else "") + register_name(profile, t.offset) if t.target == "dev"
        else f"port 0x{t.offset:03x}")
    return f"{name}: 0x{t.old:x} -> 0x{t.new:x} [{t.step.split('/')[-1]}]"


def first_divergence(profile, base, patched, calls, width: int = 58) -> str:
    """Both traces of the op where the runs first differ, side by side, from the first
    differing access on."""
    rb = Model(profile, base).run(calls, trace=True)
    rp = Model(profile, patched).run(calls, trace=True)
    n = min(len(rb.trace), len(rp.trace))
    i = next((k for k in range(n) if rb.trace[k] != rp.trace[k]), n)
    if i == n and len(rb.trace) == len(rp.trace):
        return "the register accesses are identical; the difference is in kernel state or the oracle"
    op = (rb.trace[i] if i < len(rb.trace) else rp.trace[i]).op_index
    left = [_describe(profile, t) for t in rb.trace[i:] if t.op_index == op]
    right = [_describe(profile, t) for t in rp.trace[i:] if t.op_index == op]
    lines = [f"op {op}: {format_call(calls[op])}, from access {i} on", f"{'base':<{width}} | patched"]
    for k in range(max(len(left), len(right))):
        a = left[k] if k < len(left) else ""
        b = right[k] if k < len(right) else ""
        lines.append(f"{a[:width]:<{width}} | {b}")
    return "\n".join(lines[:40] + (["..."] if len(lines) > 40 else []))


def run_diff(profile, device_name: str, base_spec: str, policy_spec: str, corpus: str | None = None,
             max_time: int = 30, depth: int = 0, seed: int = 1, progress=None) -> DiffReport:
    from ..policy import load_policy
    base, patched = load_policy(base_spec), load_policy(policy_spec)
    runner = PairRunner(profile, base, patched)
    report = DiffReport(device_name, base_spec, policy_spec)
    if corpus:
        n = 0
        for path in sorted(Path(corpus).rglob("*")):
            if path.is_file() and not path.name.startswith(".") and path.suffix in ("", ".fzs", ".bin"):
                try:
                    calls = load_program(path)
                except ValueError as e:
                    report.notes.append(f"skipped {path}: {e}")
                    continue
                classify(report, runner, calls, str(path))
                n += 1
        report.inputs["corpus"] = n
    if max_time > 0:
        report.inputs["fuzz"] = differential_fuzz(report, runner, max_time, seed, corpus)
    if depth > 0:
        from . import explore
        for spec, pol in ((base_spec, base), (policy_spec, patched)):
            res = explore(profile, pol, depth)
            for bucket, (program, _) in res.buckets.items():
                classify(report, runner, program, f"explore depth {depth} under {spec}")
        report.inputs["explore"] = depth
    deadline = time.monotonic() + max(10, max_time)
    for side in ("introduced", "fixed"):
        for bucket, s in getattr(report, side).items():
            s.program = minimise(runner, bucket, s.program, side, deadline)
    return report


def differential_fuzz(report: DiffReport, runner: PairRunner, max_time: int, seed: int, corpus) -> int:
    """A mutation loop whose corpus keeps programs that show a new (bucket, side) pair: the
    feedback is the difference itself. Uses the structure-aware mutator when it is built."""
    from ..program.op_table import OPS, RECORD_SIZE
    rng = random.Random(seed)
    try:
        from ..engine import _mutate
        mutate = _mutate.mutate if hasattr(_mutate, "mutate") else None
    except ImportError:
        mutate = None
    pool = [encode(s.program) for t in (report.seen_base, report.seen_patched) for s in t.values()]
    seeds_dir = Path(__file__).resolve().parents[1] / "corpora" / "regression"
    for f in sorted(seeds_dir.glob("*.fzs")) if seeds_dir.is_dir() else []:
        pool.append(encode(load_program(f)))
    if not pool:
        pool.append(bytes(RECORD_SIZE))
    seen: set = set()
    deadline = time.monotonic() + max_time
    n = 0
    while time.monotonic() < deadline:
        parent = rng.choice(pool)
        if mutate is not None:
            child = mutate(parent, 64 * RECORD_SIZE, rng.getrandbits(32))
        else:
            recs = [parent[i:i + RECORD_SIZE] for i in range(0, len(parent), RECORD_SIZE)]
            k = rng.randrange(len(recs) + 1)
            recs.insert(k, bytes([rng.randrange(len(OPS))] + [rng.randrange(256) for _ in range(RECORD_SIZE - 1)]))
            if len(recs) > 2 and rng.random() < 0.3:
                recs.pop(rng.randrange(len(recs)))
            child = b"".join(recs[:64])
        calls = decode(child)
        b, p = classify(report, runner, calls, "fuzz")
        n += 1
        # Feedback: a program is kept when it shows a (bucket, side of the difference) pair that
        # no earlier program showed.
        keys = {(x, "patched only") for x in p - b} | {(x, "base only") for x in b - p} | {(x, "both") for x in b & p}
        if keys - seen:
            seen |= keys
            pool.append(child)
    return n


def to_json(report: DiffReport) -> str:
    def side(t):
        return [{"bucket": list(b), "ops": len(s.program), "program": format_program(s.program),
                 "source": s.source} for b, s in sorted(t.items())]
    return json.dumps({"device": report.device, "base": report.base, "policy": report.policy,
                       "inputs": report.inputs, "introduced": side(report.introduced),
                       "fixed": side(report.fixed), "unchanged": [list(b) for b in sorted(report.unchanged)],
                       "changed_on_same_input": [
                           {"base_only": sorted(list(x) for x in k[0]), "patched_only": sorted(list(x) for x in k[1]),
                            "program": format_program(s.program)}
                           for k, s in sorted(report.changed.items(), key=lambda kv: len(kv[1].program))[:50]],
                       "notes": report.notes}, indent=2)


def to_markdown(report: DiffReport, profile) -> str:
    from ..policy import load_policy
    base, patched = load_policy(report.base), load_policy(report.policy)
    out = [f"# fuzzcore diff: `{report.base}` → `{report.policy}` on `{report.device}`", "",
           "Inputs: " + ", ".join(f"{k}: {v}" for k, v in report.inputs.items()), ""]
    for title, table, where in (("Introduced by the patch", report.introduced, "patched"),
                                ("Fixed by the patch", report.fixed, "base")):
        out += [f"## {title} ({len(table)})", ""]
        if not table:
            out += ["None found within the bound.", ""]
        for bucket, s in sorted(table.items()):
            runner_policy = patched if where == "patched" else base
            v = next(x for x in Model(profile, runner_policy).run(s.program).violations if x.bucket == bucket)
            out += [f"### `{' | '.join(bucket)}`", "", f"{v.invariant}: expected {v.expected}; actual {v.actual} "
                    f"(in {v.step}, op {v.op_index}). Found by: {s.source}.", "", "```", format_program(s.program).rstrip(),
                    "```", "", "First divergence of the two runs:", "", "```",
                    first_divergence(profile, base, patched, s.program), "```", ""]
    pairs = sorted(((k, v) for k, v in report.changed.items() if k[0] and k[1]), key=lambda kv: len(kv[1].program))
    out += [f"## Same input, different outcome ({len(pairs)} kinds; shortest 10 shown)", "",
            "Buckets that both policies have, but that one input turns from one into another.", ""]
    for (only_b, only_p), s in pairs[:10]:
        out += [f"- base: {', '.join(sorted(' | '.join(x) for x in only_b))}  \n"
                f"  patched: {', '.join(sorted(' | '.join(x) for x in only_p))}", "", "```",
                format_program(s.program).rstrip(), "```", ""]
    out += [f"## In both ({len(report.unchanged)})", ""]
    out += [f"- `{' | '.join(b)}`" for b in sorted(report.unchanged)] + [""]
    return "\n".join(out)
