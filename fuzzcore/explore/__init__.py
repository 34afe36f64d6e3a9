"""`fuzzcore explore`: every program of up to K ops, breadth first, with states deduplicated by a
canonical hash (as TLC does), every invariant checked on every transition.

Each violation bucket gets a **shortest** counterexample (BFS order), written as a replayable
finding. The vocabulary is a list of calls: each op of `--ops` over its finite domain, except
`vfio_config_write`, whose 2^46 argument values are replaced by the registers a user or QEMU
writes in these sequences (EXPLORE_CONFIG_WRITES), and the ops listed in NARROWED, whose
counts/indices are narrowed to the values that change behaviour; both are stated in the
completeness line, so the claim is exact."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .backend import make_backend
from ..program.codec import Call
from ..program.op_table import OPS

DEFAULT_OPS = (
    "vfio_open", "vfio_close", "vfio_config_write", "vfio_set_irqs", "vfio_device_reset", "vfio_hot_reset",
    "qemu_pre_reset", "qemu_post_reset", "qemu_reset", "pci_reset_function", "pcie_do_recovery",
    "pci_enable_tph", "pci_disable_tph", "pci_assign_bar", "pci_pm_runtime_suspend", "pci_pm_runtime_resume",
    "hw_inaccessible", "hw_accessible", "hw_link_down",
)

# Narrowed domains (op -> the argument values explored), documented in the completeness line.
NARROWED = {
    "vfio_set_irqs": [{"index": "none", "count": 0}, {"index": "msix", "count": 1}],
    "pci_reset_function": [{"method": "auto"}],
    "pcie_do_recovery": [{"channel": "frozen", "vote": "can_recover", "source": "aer"},
                         {"channel": "frozen", "vote": "need_reset", "source": "aer"}],
    "pci_assign_bar": [{"bar": 0, "slot": 1}],
    "pci_enable_msix": [{"nvec": 1}],
}


def explore_config_writes(profile) -> list[dict]:
    """The config writes explored: Command values, PowerState D3hot/D0, and the FLR bit."""
    writes = [{"offset": 0x04, "width": "2", "value": v} for v in (0x0000, 0x0002, 0x0004, 0x0006)]
    from ..model.caps import cap_offsets
    caps = cap_offsets(profile)
    if caps.pm:
        writes += [{"offset": caps.pm + 4, "width": "2", "value": v} for v in (0x0003, 0x0000)]
    if caps.exp and profile.flr:
        devctl = int.from_bytes(profile.image[caps.exp + 8:caps.exp + 10], "little")
        writes.append({"offset": caps.exp + 8, "width": "2", "value": devctl | 0x8000})
    return writes


def vocabulary(profile, op_names) -> list[Call]:
    calls = []
    by_name = {op.name: op for op in OPS}
    for name in op_names:
        op = by_name[name]
        if name == "vfio_config_write":
            arg_sets = explore_config_writes(profile)
        elif name in NARROWED:
            arg_sets = NARROWED[name]
        else:
            domains = [list(a.domain) if a.kind == "enum" else list(range(a.domain)) for a in op.args]
            arg_sets = [dict(zip([a.name for a in op.args], combo)) for combo in itertools.product(*domains)]
        calls += [Call.of(name, **args) for args in arg_sets]
    return calls


@dataclass
class DepthStats:
    depth: int
    states: int          # new distinct states first reached at this depth
    transitions: int
    seconds: float


@dataclass
class ExploreResult:
    depths: list[DepthStats] = field(default_factory=list)
    buckets: dict = field(default_factory=dict)      # bucket -> (program: list[Call], violation)
    total_states: int = 0
    complete: bool = True
    stop_reason: str = ""
    vocabulary_size: int = 0
    ops: tuple = ()
    refused: int = 0         # (state, call) pairs a precondition refused: not transitions (issue 17)


def _path(parents: list, idx: int, calls: list[Call]) -> list[Call]:
    out = []
    while idx > 0:
        parent, call_idx = parents[idx]
        out.append(calls[call_idx])
        idx = parent
    return out[::-1]


_WORKER: dict = {}


def _worker_init(profile, policy, backend, calls) -> None:
    _WORKER["be"] = make_backend(profile, policy, backend)
    _WORKER["calls"] = calls


def _expand(chunk):
    """Expand frontier states (sid, state) by every call; return transitions to states that are
    new within this chunk, and the violations seen (a worker process of --workers). A call a
    precondition refuses in that state is no transition: the kernel would not perform it
    (returned as (sid, ci, None, None, None) so it can be counted)."""
    be, calls = _WORKER["be"], _WORKER["calls"]
    out, local = [], set()
    for sid, state in chunk:
        for ci, call in enumerate(calls):
            be.load_state(state)
            violations = be.apply(call)
            if be.refused():
                out.append((sid, ci, None, None, None))
                continue
            h = be.state_hash()
            fresh = h not in local
            local.add(h)
            out.append((sid, ci, h, be.state() if fresh else None, violations))
    return out


def explore(profile, policy, depth: int, ops=DEFAULT_OPS, max_states: int = 2_000_000,
            backend: str = "auto", progress=None, workers: int = 1) -> ExploreResult:
    be = make_backend(profile, policy, backend)
    calls = vocabulary(profile, ops)
    res = ExploreResult(vocabulary_size=len(calls), ops=tuple(ops))
    seen = {be.state_hash(): 0}
    parents: list = [(-1, -1)]
    states = [be.state()]
    frontier = [0]
    pool = None
    if workers > 1:
        import multiprocessing
        pool = multiprocessing.get_context("fork").Pool(workers, _worker_init, (profile, policy, backend, calls))
    try:
        for d in range(1, depth + 1):
            t0 = time.monotonic()
            next_frontier: list[int] = []
            transitions = 0
            if pool is not None:
                chunks = [[(sid, states[sid]) for sid in frontier[k::workers * 4]] for k in range(workers * 4)]
                results = (r for part in pool.imap(_expand, [c for c in chunks if c]) for r in part)
            else:
                _WORKER.update(be=be, calls=calls)
                results = (r for sid in frontier for r in _expand([(sid, states[sid])]))
            for sid, ci, h, new_state, violations in results:
                if h is None:
                    res.refused += 1
                    continue
                transitions += 1
                for v in violations:
                    if v.bucket not in res.buckets:
                        program = _path(parents, sid, calls) + [calls[ci]]
                        res.buckets[v.bucket] = (program, replace(v, op_index=len(program) - 1))
                if h in seen:
                    continue
                if new_state is None:  # a duplicate inside its chunk whose first copy was kept
                    continue
                seen[h] = len(states)
                parents.append((sid, ci))
                states.append(new_state)
                next_frontier.append(len(states) - 1)
                if len(states) > max_states:
                    res.complete = False
                    res.stop_reason = (f"stopped at depth {d}: more than {max_states} distinct states "
                                       f"(raise --max-states, or restrict --ops)")
                    res.depths.append(DepthStats(d, len(next_frontier), transitions, time.monotonic() - t0))
                    res.total_states = len(states)
                    return res
            el = time.monotonic() - t0
            res.depths.append(DepthStats(d, len(next_frontier), transitions, el))
            if progress:
                rate = transitions / el if el else 0
                est = len(next_frontier) * len(calls) / rate if rate else 0
                progress(d, len(frontier), len(frontier), transitions, el, done=True, next_estimate=est,
                         new_states=len(next_frontier))
            frontier = next_frontier
            if not frontier:
                break
    finally:
        if pool is not None:
            pool.terminate()
    res.total_states = len(states)
    return res


def completeness_line(res: ExploreResult, depth: int) -> str:
    if not res.complete:
        return f"INCOMPLETE: {res.stop_reason}"
    narrowed = sorted(set(res.ops) & (set(NARROWED) | {"vfio_config_write"}))
    return (f"every program of <= {depth} ops over these {res.vocabulary_size} calls ({len(res.ops)} ops"
            + (f"; narrowed domains for {', '.join(narrowed)}" if narrowed else "")
            + f") was checked; {res.total_states} distinct states"
            + (f"; {res.refused} (state, call) pairs refused by preconditions, not counted" if res.refused else ""))


def write_findings(res: ExploreResult, out: Path, device: str, policy: str) -> list[Path]:
    """Each bucket's shortest counterexample as a replayable finding (.fzs + .bin + meta)."""
    from ..campaign.findings_store import FindingsStore
    store = FindingsStore(out, device, policy, "explore")
    from ..program.codec import encode
    for bucket, (program, v) in sorted(res.buckets.items()):
        store.record(encode(program), v)
    store.maybe_flush(force=True)
    return sorted(out.glob("*/min.fzs"))
