"""`fuzzcore diff`: what a patch changes, by root cause and actor path, every verdict confirmed.

The same inputs run under a base policy and a patched one, on the native engine (both policies,
one engine each). Inputs come from a corpus (replayed), a differential search (structure-aware
mutations; a program is kept when it shows a new (bucket, actor path, side) triple: the feedback
is the difference itself), and optionally exhaustive exploration to a depth.

A finding is keyed by its root cause (fuzzcore/triage/root_cause.py: invariant + origin step +
register class) *and* its actor path (who owned the device when it happened: host driver,
vfio-pci, no driver), so a regression on the host-driver path is not hidden by the same symptom
on the vfio path. Root causes are derived on the reference model from each (bucket, actor path)'s
shortest reproducer on its side.

Every "introduced" (only under the patch) or "fixed" (only under the base) verdict is checked
before it is reported:

1. replay: the reproducer runs on the reference model under the other policy, which must not show
   the root cause on that actor path;
2. neighbourhood: a bounded search from the reproducer (NEIGHBOURHOOD mutants, native engine)
   under the other policy, which must not reach it either;
3. minimisation on the reference model, keeping the root cause on its side only.

A verdict that fails 1 or 2 is reported as unconfirmed, with the program that refutes it. Each
root cause carries the time to its first find (seconds into the search); the report gives the
search rate (inputs/s, each input run under both policies)."""

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
from ..program.op_table import OPS, RECORD_SIZE

NEIGHBOURHOOD = 3000          # mutants tried around each verdict's reproducer (native engine)
MAX_OPS = 64


@dataclass
class Side:
    bucket: tuple
    actor: str
    data: bytes            # the shortest input showing it (RECORD_SIZE-byte records)
    source: str            # corpus file, "fuzz", "explore"
    found_at: float        # seconds into the diff when first seen

    @property
    def program(self) -> list[Call]:
        return decode(self.data)


@dataclass
class RootCauseDiff:
    key: str                       # root-cause key
    actor: str                     # actor path
    verdict: str                   # introduced | fixed | unchanged
    confirmed: bool = False
    note: str = ""                 # how it was confirmed, or what refutes it
    program: list = field(default_factory=list)     # the (minimised) reproducer on its side
    members: list = field(default_factory=list)     # (bucket, actor) pairs seen on its side
    found_at: float | None = None  # time to first find on its side, seconds
    detail: str = ""               # provenance of the reproducer
    tier: str = ""                 # tier of the root cause under its side's policy


@dataclass
class DiffReport:
    device: str
    base: str
    policy: str
    seen_base: dict = field(default_factory=dict)      # (bucket, actor) -> Side, shortest under base
    seen_patched: dict = field(default_factory=dict)   # the same under the patched policy
    inputs: dict = field(default_factory=dict)         # source -> number of programs run
    notes: list[str] = field(default_factory=list)
    engine: str = "native"
    search_seconds: float = 0.0
    search_inputs: int = 0
    root_causes: list = field(default_factory=list)    # RootCauseDiff
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.search_inputs / self.search_seconds if self.search_seconds else 0.0

    def of(self, verdict: str, confirmed: bool | None = None) -> list:
        return [r for r in self.root_causes if r.verdict == verdict
                and (confirmed is None or r.confirmed == confirmed)]

    # bucket-level views (the fine level), for compatibility with older reports
    @property
    def introduced(self) -> dict:
        return {k: s for k, s in self.seen_patched.items() if k not in self.seen_base}

    @property
    def fixed(self) -> dict:
        return {k: s for k, s in self.seen_base.items() if k not in self.seen_patched}


# --- running a program under both policies -----------------------------------------------------------

_BIND = next(i for i, op in enumerate(OPS) if op.name == "pci_bind_driver")
_DRIVERS = next(a.domain for a in OPS[_BIND].args if a.name == "driver")


def actor_paths(data: bytes, refused, upto: int | None = None) -> list[str]:
    """Who owns the device at each op (host | vfio | none), read from the encoded program (the
    codec: selector byte modulo the number of ops, an enum byte modulo its names): the initial
    state is vfio-pci bound (model/machine.py); pci_bind_driver changes the owner unless refused."""
    owner, out, refused = "vfio", [], set(refused)
    n = len(data) // RECORD_SIZE if upto is None else min(upto + 1, len(data) // RECORD_SIZE)
    for i in range(n):
        out.append(owner)
        rec = RECORD_SIZE * i
        if data[rec] % len(OPS) == _BIND and i not in refused:
            owner = _DRIVERS[data[rec + 1] % len(_DRIVERS)]
    return out


class PairRunner:
    """Both policies on the native engine (the reference model when the engine is not built)."""

    def __init__(self, profile, base, patched, engine: str = "auto"):
        self.profile = profile
        self.base_policy, self.patched_policy = base, patched
        self.engine = "reference"
        if engine in ("auto", "native"):
            try:
                from ..engine import Engine
                self.base, self.patched = Engine(profile, base), Engine(profile, patched)
                self.engine = "native"
            except (ImportError, AttributeError):
                if engine == "native":
                    raise
        if self.engine == "reference":
            self.base, self.patched = Model(profile, base), Model(profile, patched)

    def _keys(self, runner, data: bytes) -> set:
        r = runner.run(data) if self.engine == "native" else runner.run(decode(data))
        vs = r.violations
        if not vs:
            return set()
        owners = actor_paths(data, r.refused, max(v.op_index for v in vs))
        return {(v.bucket, owners[v.op_index] if 0 <= v.op_index < len(owners) else "vfio") for v in vs}

    def keys(self, calls=None, data: bytes | None = None) -> tuple[set, set]:
        """{(bucket, actor path)} under base and under the patch."""
        data = encode(calls) if data is None else data
        return self._keys(self.base, data), self._keys(self.patched, data)

    def side_keys(self, side: str, data: bytes) -> set:
        return self._keys(self.base if side == "base" else self.patched, data)


def _keep(table: dict, key, data: bytes, source, t0) -> None:
    cur = table.get(key)
    if cur is None:
        table[key] = Side(key[0], key[1], data, source, time.monotonic() - t0)
    elif len(data) < len(cur.data):
        cur.data, cur.source = data, source


def classify(report: DiffReport, runner: PairRunner, calls, source: str, t0: float, data=None) -> tuple[set, set]:
    """Run one input under both policies and keep it as the shortest for each (bucket, actor)
    it shows. `data` (the encoded program) may stand for `calls`; it is canonical once encoded."""
    data = encode(calls) if data is None else encode(decode(data))
    b, p = runner.keys(data=data)
    for k in b:
        _keep(report.seen_base, k, data, source, t0)
    for k in p:
        _keep(report.seen_patched, k, data, source, t0)
    return b, p


def _seed_programs() -> list[bytes]:
    root = Path(__file__).resolve().parents[2] / "corpora"
    out = []
    for d in (root / "seeds", root / "regression"):
        for f in sorted(d.glob("*.fzs")) if d.is_dir() else []:
            try:
                out.append(encode(load_program(f)))
            except (ValueError, OSError):
                continue
    return out


def _mutator():
    try:
        from ..engine import _mutate
        return _mutate.mutate
    except (ImportError, AttributeError):
        return None


def _fallback_mutate(rng: random.Random, parent: bytes) -> bytes:
    recs = [parent[i:i + RECORD_SIZE] for i in range(0, len(parent), RECORD_SIZE)]
    k = rng.randrange(len(recs) + 1)
    recs.insert(k, bytes([rng.randrange(len(OPS))] + [rng.randrange(256) for _ in range(RECORD_SIZE - 1)]))
    if len(recs) > 2 and rng.random() < 0.3:
        recs.pop(rng.randrange(len(recs)))
    return b"".join(recs[:MAX_OPS])


def differential_fuzz(report: DiffReport, runner: PairRunner, max_time: float, seed: int, t0: float) -> int:
    """The differential search: mutate programs from the pool; keep a child that shows a
    (bucket, actor path, side of the difference) triple no earlier program showed."""
    rng = random.Random(seed)
    mutate = _mutator()
    pool = [s.data for t in (report.seen_base, report.seen_patched) for s in t.values()]
    pool += _seed_programs()
    if not pool:
        pool.append(bytes(RECORD_SIZE))
    seen: set = set()
    start = time.monotonic()
    deadline = start + max_time
    n = 0
    while True:
        if n % 64 == 0 and time.monotonic() >= deadline:
            break
        parent = pool[rng.randrange(len(pool))]
        child = (mutate(parent, MAX_OPS * RECORD_SIZE, rng.getrandbits(32)) if mutate is not None
                 else _fallback_mutate(rng, parent))
        if not child:
            continue
        b, p = runner.keys(data=child)
        for k in b:
            _keep(report.seen_base, k, child, "fuzz", t0)
        for k in p:
            _keep(report.seen_patched, k, child, "fuzz", t0)
        n += 1
        keys = {(x, "patched only") for x in p - b} | {(x, "base only") for x in b - p} | {(x, "both") for x in b & p}
        if not keys <= seen:
            seen |= keys
            pool.append(child)
    report.search_seconds += time.monotonic() - start
    report.search_inputs += n
    return n


# --- root causes and their verdicts ------------------------------------------------------------------

_PROV_CACHE: dict = {}


def _provenances(profile, policy, calls):
    """derive_all on the reference model, once per (policy, program): many (bucket, actor) pairs
    share their shortest program."""
    from ..triage.root_cause import derive_all
    k = (id(profile), id(policy), encode(calls))
    got = _PROV_CACHE.get(k)
    if got is None:
        if len(_PROV_CACHE) > 20000:
            _PROV_CACHE.clear()
        got = _PROV_CACHE[k] = derive_all(profile, policy, calls)
    return got


def _rc_of(profile, policy, side: Side):
    """(root-cause key, actor path, provenance) of a (bucket, actor) on its side, from its
    shortest reproducer on the reference model; None when the model does not reproduce it."""
    for p in _provenances(profile, policy, side.program):
        if p.bucket_tuple == tuple(side.bucket) and p.actor_path == side.actor:
            return p.key, p.actor_path, p
    for p in _provenances(profile, policy, side.program):
        if p.bucket_tuple == tuple(side.bucket):
            return p.key, p.actor_path, p
    return None


def _shows(profile, policy, calls, key: str, actor: str) -> bool:
    return any(p.key == key and p.actor_path == actor for p in _provenances(profile, policy, calls))


def neighbourhood(runner: PairRunner, other: str, program: list, members: set, tries: int, seed: int,
                  key: str, actor: str, other_policy) -> list | None:
    """A bounded search from `program` under the `other` side's policy (native engine): a mutant
    that shows one of `members` ((bucket, actor) pairs of the root cause) there and, on the
    reference model, the root cause itself on that actor path; None when none does. A mutant
    refutes only with no more outside events (hw_* ops, which the kernel is not told of) than the
    reproducer has: a path the other side reaches only through more of them is a different,
    environmental path, not the one the verdict is about."""
    rng = random.Random(seed)
    mutate = _mutator()
    parent = encode(program)
    pool = [parent]
    hw_budget = _hw_ops(program)
    for _ in range(tries):
        src = pool[rng.randrange(len(pool))]
        child = mutate(src, MAX_OPS * RECORD_SIZE, rng.getrandbits(32)) if mutate else _fallback_mutate(rng, src)
        if not child:
            continue
        hit = runner.side_keys(other, child) & members
        if hit:
            calls = decode(child)
            if _hw_ops(calls) <= hw_budget and _shows(runner.profile, other_policy, calls, key, actor):
                return calls
        elif len(pool) < 64 and rng.random() < 0.1:
            pool.append(child)
    return None


def _hw_ops(calls: list) -> int:
    """How many of the program's ops are outside events (the op table's actor `hw`)."""
    return sum(1 for c in calls if OPS[_OP_INDEX[c.name]].actor == "hw")


_OP_INDEX = {op.name: i for i, op in enumerate(OPS)}


def minimise(profile, keep_policy, drop_policy, key: str, actor: str, calls: list, deadline: float) -> list:
    """Greedy op deletion on the reference model keeping the root cause on `actor` under
    keep_policy and absent under drop_policy."""
    def holds(prog):
        return _shows(profile, keep_policy, prog, key, actor) and not _shows(profile, drop_policy, prog, key, actor)

    best = list(calls)
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        for i in range(len(best) - 1, -1, -1):
            if time.monotonic() >= deadline:
                break
            cand = best[:i] + best[i + 1:]
            if cand and holds(cand):
                best, changed = cand, True
    return best


def root_cause_table(report: DiffReport, profile, base, patched) -> tuple[dict, dict]:
    """{(key, actor): [Side, ...]} per side, every seen (bucket, actor) mapped to its root cause."""
    out = []
    for table, pol in ((report.seen_base, base), (report.seen_patched, patched)):
        rc: dict = {}
        for k, side in sorted(table.items(), key=lambda kv: len(kv[1].data)):
            got = _rc_of(profile, pol, side)
            if got is None:
                rc.setdefault(("not reproduced on the reference model: " + " | ".join(k[0]), k[1]), []).append(side)
                continue
            rc.setdefault((got[0], got[1]), []).append(side)
        out.append(rc)
    return out[0], out[1]


def confirm(report: DiffReport, runner: PairRunner, profile, base, patched, rc_base: dict, rc_patched: dict,
            deadline: float, seed: int, tries: int = NEIGHBOURHOOD) -> None:
    """Verdicts per (root cause, actor path), each introduced/fixed one replayed and searched
    around under the other policy, then minimised."""
    from ..triage.root_cause import derive_all
    for (key, actor) in sorted(set(rc_base) | set(rc_patched)):
        in_b, in_p = (key, actor) in rc_base, (key, actor) in rc_patched
        seen_both = ""
        if in_b and in_p:
            # Seen under both: the same root cause on a path with fewer outside events (hw_* ops,
            # which the kernel is not told of) on one side is what the patch introduces or fixes
            # (an environmental root cause of the base that the patch makes a hazard, say).
            hw_b = min(_hw_ops(s.program) for s in rc_base[(key, actor)])
            hw_p = min(_hw_ops(s.program) for s in rc_patched[(key, actor)])
            if hw_b == hw_p:
                sides = rc_patched[(key, actor)]
                report.root_causes.append(RootCauseDiff(key, actor, "unchanged", True, "seen under both",
                                                        min(sides, key=lambda s: len(s.data)).program,
                                                        [(s.bucket, s.actor) for s in sides],
                                                        min(s.found_at for s in sides)))
                continue
            in_p = hw_p < hw_b
            seen_both = (f"seen under both, with {min(hw_b, hw_p)} outside events (hw_*) under "
                         f"{'the patch' if in_p else 'the base'} and {max(hw_b, hw_p)} under the other; ")
        verdict = "introduced" if in_p else "fixed"
        sides = rc_patched[(key, actor)] if in_p else rc_base[(key, actor)]
        if seen_both:
            fewest = min(_hw_ops(s.program) for s in sides)
            sides = [s for s in sides if _hw_ops(s.program) == fewest]
        keep, other_pol, other = (patched, base, "base") if in_p else (base, patched, "patched")
        best = min(sides, key=lambda s: len(s.data))
        rcd = RootCauseDiff(key, actor, verdict, False, seen_both, best.program, [(s.bucket, s.actor) for s in sides],
                            min(s.found_at for s in sides))
        report.root_causes.append(rcd)
        if key.startswith("not reproduced"):
            rcd.note = "unconfirmed: the reference model does not reproduce the engine's finding"
            continue
        if _shows(profile, other_pol, best.program, key, actor):
            rcd.note = seen_both + f"unconfirmed: the reproducer shows it under {other} too on the reference model"
            continue
        members = {(s.bucket, s.actor) for s in sides}
        refute = neighbourhood(runner, other, best.program, members, tries, seed, key, actor, other_pol)
        if refute is not None:
            rcd.note = (seen_both + f"unconfirmed: a neighbour of the reproducer shows it under {other}: "
                        + "; ".join(format_call(c) for c in refute))
            continue
        rcd.confirmed = True
        rcd.note = (seen_both + f"confirmed: replayed under {other} on the reference model (absent) and "
                    f"{tries} neighbours searched under {other} (none shows it)")
        rcd.program = minimise(profile, keep, other_pol, key, actor, best.program, deadline)
        prov = next((p for p in derive_all(profile, keep, rcd.program) if p.key == key and p.actor_path == actor), None)
        rcd.detail = prov.detail if prov else ""


def run_diff(profile, device_name: str, base_spec: str, policy_spec: str, corpus: str | None = None,
             max_time: int = 30, depth: int = 0, seed: int = 1, progress=None, engine: str = "auto",
             tries: int = NEIGHBOURHOOD) -> DiffReport:
    from ..policy import load_policy
    t0 = time.monotonic()
    base, patched = load_policy(base_spec), load_policy(policy_spec)
    runner = PairRunner(profile, base, patched, engine)
    report = DiffReport(device_name, base_spec, policy_spec, engine=runner.engine)
    if corpus:
        n = 0
        for path in sorted(Path(corpus).rglob("*")):
            if path.is_file() and not path.name.startswith(".") and path.suffix in ("", ".fzs", ".bin"):
                try:
                    calls = load_program(path)
                except ValueError as e:
                    report.notes.append(f"skipped {path}: {e}")
                    continue
                classify(report, runner, calls, str(path), t0)
                n += 1
        report.inputs["corpus"] = n
    if max_time > 0:
        report.inputs["fuzz"] = differential_fuzz(report, runner, max_time, seed, t0)
    if depth > 0:
        from . import explore
        for spec, pol in ((base_spec, base), (policy_spec, patched)):
            res = explore(profile, pol, depth)
            for bucket, (program, _) in res.buckets.items():
                classify(report, runner, program, f"explore depth {depth} under {spec}", t0)
        report.inputs["explore"] = depth
    rc_base, rc_patched = root_cause_table(report, profile, base, patched)
    deadline = time.monotonic() + max(10, max_time)
    confirm(report, runner, profile, base, patched, rc_base, rc_patched, deadline, seed, tries)
    _tiers(report, profile, base_spec, policy_spec, rc_base, rc_patched)
    report.seconds = time.monotonic() - t0
    return report


def _tiers(report: DiffReport, profile, base_spec, policy_spec, rc_base, rc_patched) -> None:
    """The tier of each introduced/fixed root cause under its own side's policy."""
    from ..triage import tiers
    for r in report.root_causes:
        if r.verdict == "unchanged" or r.key.startswith("not reproduced"):
            continue
        spec, table = (policy_spec, rc_patched) if r.verdict == "introduced" else (base_spec, rc_base)
        inv, _, rest = r.key.partition(" @ ")
        origin, _, reg = rest.rpartition(" [")
        sides = table[(r.key, r.actor)]
        try:
            v = tiers.assess(profile, spec, r.key, inv, origin, reg.rstrip("]"), {r.actor},
                             [(s.program, s.bucket) for s in sides])
            r.tier = v.label
        except Exception as e:       # a tier is a label; its failure must not hide a verdict
            r.tier = f"? ({e})"


# --- output --------------------------------------------------------------------------------------------

def _rc_json(r: RootCauseDiff) -> dict:
    return {"root_cause": r.key, "actor_path": r.actor, "verdict": r.verdict, "confirmed": r.confirmed,
            "note": r.note, "tier": r.tier, "time_to_first_find_s": None if r.found_at is None else round(r.found_at, 2),
            "ops": len(r.program), "program": format_program(r.program), "detail": r.detail,
            "members": [{"bucket": list(b), "actor_path": a} for b, a in r.members]}


def to_json(report: DiffReport) -> str:
    return json.dumps({
        "device": report.device, "base": report.base, "policy": report.policy, "inputs": report.inputs,
        "engine": report.engine, "search": {"inputs": report.search_inputs, "seconds": round(report.search_seconds, 2),
                                            "inputs_per_s": round(report.rate)},
        "seconds": round(report.seconds, 1),
        "introduced": [_rc_json(r) for r in report.of("introduced")],
        "fixed": [_rc_json(r) for r in report.of("fixed")],
        "unchanged": [_rc_json(r) for r in report.of("unchanged")],
        "notes": report.notes}, indent=2)


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


def summary_lines(report: DiffReport) -> list[str]:
    """One line per introduced/fixed root cause (confirmed first): actor path, member count,
    time to first find, shortest reproducer's length."""
    out = [f"search: {report.search_inputs:,} inputs in {report.search_seconds:.1f}s "
           f"({report.rate:,.0f} inputs/s, each under both policies, {report.engine} engine); "
           f"diff took {report.seconds:.1f}s"]
    for verdict in ("introduced", "fixed"):
        rows = sorted(report.of(verdict), key=lambda r: (not r.confirmed, r.found_at or 0))
        ok = sum(r.confirmed for r in rows)
        out.append(f"{verdict}: {ok} confirmed, {len(rows) - ok} unconfirmed")
        for r in rows:
            t = "-" if r.found_at is None else f"{r.found_at:.1f}s"
            out.append(f"  {'confirmed  ' if r.confirmed else 'UNCONFIRMED'} {r.key}  on {r.actor} path; "
                       f"{len(r.members)} path(s), first found at {t}, {len(r.program)} ops"
                       + (f"; tier {r.tier}" if r.tier else ""))
    out.append(f"unchanged: {len(report.of('unchanged'))} root cause/actor path pairs under both")
    return out


def to_markdown(report: DiffReport, profile) -> str:
    from ..policy import load_policy
    base, patched = load_policy(report.base), load_policy(report.policy)
    out = [f"# fuzzcore diff: `{report.base}` → `{report.policy}` on `{report.device}`", "",
           "Inputs: " + ", ".join(f"{k}: {v}" for k, v in report.inputs.items()), ""]
    out += ["```"] + summary_lines(report) + ["```", ""]
    for title, verdict in (("Introduced by the patch", "introduced"), ("Fixed by the patch", "fixed")):
        rows = sorted(report.of(verdict), key=lambda r: (not r.confirmed, r.key))
        out += [f"## {title} ({len(rows)} root cause/actor path pairs)", ""]
        if not rows:
            out += ["None found within the bound.", ""]
        for r in rows:
            t = "-" if r.found_at is None else f"{r.found_at:.1f} s"
            out += [f"### `{r.key}` on the {r.actor} path", "",
                    f"{r.note[:1].upper()}{r.note[1:]}.", "",
                    f"Tier: {r.tier or '-'}. Time to first find: {t}. Op paths: "
                    + ", ".join(f"`{' | '.join(b)}`" for b, _ in r.members) + ".", ""]
            if r.detail:
                out += [f"Origin: {r.detail}.", ""]
            out += ["```", format_program(r.program).rstrip(), "```", "", "First divergence of the two runs:", "",
                    "```", first_divergence(profile, base, patched, r.program), "```", ""]
    same = report.of("unchanged")
    out += [f"## In both ({len(same)})", ""]
    out += [f"- `{r.key}` on the {r.actor} path" for r in sorted(same, key=lambda r: (r.key, r.actor))] + [""]
    if report.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in report.notes] + [""]
    return "\n".join(out)
