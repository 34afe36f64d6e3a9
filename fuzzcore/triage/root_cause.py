"""Root causes: where a finding's offending value came from, not only where it landed.

A bucket is (invariant, op, register): where a violation *landed*. Many buckets share one cause:
the all-ones snapshot that `pci_dev_save_and_disable` takes is restored by every reset path, and
each path is its own bucket. This module derives a finding's *provenance* once, at triage time,
by running its reproducer on the reference model with a recorder attached (the models and the
engine are untouched; the recorder is a subclass that watches the step stack, the saves, loads,
writes and power changes as they happen):

- the save that filled the buffer a restore wrote (or the missing save: a buffer never filled,
  or filled by an older save than the snapshot's);
- the restore step that wrote it, and who called the restore;
- the live state it contradicts (the step that last turned Command.Memory off, moved a BAR, left
  D0, or the hardware event that did);
- the access that hit decode-off hardware;
- the actor path: who owned the device when it happened (host driver, vfio-pci, no driver).

The root-cause key is invariant + origin step + register class (`key()`), stored in the bucket's
meta.json (`root_cause`, with the provenance). Root causes are a view over buckets
(`group_findings`): each lists its member buckets (the op paths that reach it), their hits and
the shortest reproducer. Buckets stay the fine level that corpus feedback and replay use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..model.access import PCI_COMMAND, PCI_COMMAND_MEMORY, Access
from ..model.machine import Model
from ..program.op_table import FACTS, OPS as OP_ROWS, OP_INDEX
from ..policy.vocabulary import RESTORE_STEPS, SAVE_STEPS

# The stored provenance is derived again when this module changes (its text's hash).
PROVENANCE_VERSION = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:12]
OWNERS = ("none", "host", "vfio", "vfio", "host", "host")   # model.facts() owner index -> actor path
ACTOR_PATHS = {"none": "no driver", "host": "host driver", "vfio": "vfio-pci"}

_RESTORE_UPSTREAM = {s.name: s.upstream for s in RESTORE_STEPS}
_SAVE_UPSTREAM = {s.name: s.upstream for s in SAVE_STEPS}
_OP_UPSTREAM = {op.name: op.upstream for op in OP_ROWS}
# model step names that are not upstream function names
_STEP_UPSTREAM = {"reset/flr": "pcie_flr", "reset/pm": "pci_pm_reset", "reset/bus": "pci_reset_bus_function",
                  "link down": "link down (hardware)", "host driver probe": "host driver probe",
                  "pci_restore_state/msi": "__pci_restore_msix_state"}


def upstream(step: str) -> str:
    """The upstream function a model step (or op) stands for."""
    if step in _STEP_UPSTREAM:
        return _STEP_UPSTREAM[step]
    if step.startswith("pci_restore_state/"):
        return _RESTORE_UPSTREAM.get(step.split("/", 1)[1], step)
    if step.startswith("pci_save_state/"):
        return _SAVE_UPSTREAM.get(step.split("/", 1)[1], step)
    if step in _OP_UPSTREAM:
        return _OP_UPSTREAM[step]
    return step


def register_class(register: str) -> str:
    """The register a key groups by: the config header as one (Command, BARs, the snapshot as a
    whole), a capability by name, an MMIO access with its cause."""
    if register in ("config", "Command") or register.startswith("BAR"):
        return "config header"
    from ..model.intent import REGISTER_CLASS      # intent_mismatch's written fields
    return REGISTER_CLASS.get(register, register)


# --- the recorder ----------------------------------------------------------------------------------

@dataclass
class Save:
    epoch: int
    op_index: int
    caller: str              # the function that called pci_save_state
    accessible: bool
    command: int             # the Command word it saved
    seq: int = 0             # position among the recorded writes, events and saves


@dataclass
class Note:
    """The model's state where a violation was reported."""
    invariant: str
    register: str
    op_index: int
    op: str
    stack: tuple
    owner: str
    config_epoch: int
    buffers: dict            # cap id -> epoch
    accessible: bool
    command: int
    current_state: int
    msix_enabled: bool = False
    expected: str = ""       # the violation's own words (Oracle.report)
    actual: str = ""


class _RecAccess(Access):
    def write(self, offset, width, value, target="dev"):
        m = self.m
        old = self._hw(target).read(offset, width) if target == "dev" else 0
        super().write(offset, width, value, target)
        if target == "dev":
            new = self._hw(target).read(offset, width)
            m._rec_seq += 1
            m._rec_writes.append((m.op_index, tuple(m._rec_stack), offset, width, old, new, m._rec_seq))

    def event(self, what):
        super().event(what)
        self.m._rec_seq += 1
        self.m._rec_events.append((self.m.op_index, tuple(self.m._rec_stack), what, self.m._rec_seq))


class Recorder(Model):
    """The reference model with a recorder: the step stack, saves, loads, config writes, events,
    and power/resource changes, each with the op and the stack of model steps at the time."""

    def __init__(self, profile, policy):
        self._rec_clear()
        super().__init__(profile, policy)
        self.io = _RecAccess(self)

    def _rec_clear(self):
        self._rec_stack: list = ["init"]
        self._rec_saves: list[Save] = []
        self._rec_loads: list = []        # (op_index, stack, epoch)
        self._rec_writes: list = []       # (op_index, stack, offset, width, old, new)
        self._rec_events: list = []       # (op_index, stack, what)
        self._rec_power: list = []        # (op_index, stack, current_state)
        self._rec_resources: list = []    # (op_index, stack, resources)
        self._rec_notes: list[Note] = []
        self._rec_seq = 0
        self._rec_facts: list = []        # per op, at its start: (op, owner, current_state, runtime)
        self._rec_msix_at_start: list = []   # per op: dev->msix_enabled at its start
        self._rec_last = None

    def start(self, trace=False):
        self._rec_clear()
        super().start(trace)
        self._rec_last = self._watch_state()
        self._hook_oracle()

    def _hook_oracle(self):
        oracle = self.oracle
        orig = oracle.report

        def report(invariant, register, expected, actual):
            st = self.state
            self._rec_notes.append(Note(
                invariant, register, self.op_index, self.op_name, tuple(self._rec_stack), OWNERS[self.facts()[0]],
                st.dev.config_epoch, {b.cap_id: b.epoch for b in st.dev.buffers}, st.hw.accessible,
                int(st.hw.config[PCI_COMMAND]) | int(st.hw.config[PCI_COMMAND + 1]) << 8, st.dev.current_state,
                st.dev.msix_enabled, expected, actual))
            orig(invariant, register, expected, actual)
        oracle.report = report

    def _watch_state(self):
        d = self.state.dev
        return (d.config_epoch, d.current_state, tuple(d.resources))

    def _observe(self):
        """Note what changed since the last step boundary: a snapshot epoch that changed outside a
        save is a load (pci_load_saved_state); power state; kernel resources."""
        if self._rec_last is None:
            return
        now = self._watch_state()
        last = self._rec_last
        where = (self.op_index, tuple(self._rec_stack))
        if now[0] != last[0] and not any(s.startswith("pci_save_state/") for s in self._rec_stack):
            self._rec_loads.append(where + (now[0],))
        if now[1] != last[1]:
            self._rec_power.append(where + (now[1],))
        if now[2] != last[2]:
            self._rec_resources.append(where + (now[2],))
        self._rec_last = now

    @contextlib.contextmanager
    def in_step(self, name):
        self._observe()
        self._rec_stack.append(name)
        try:
            with super().in_step(name):
                yield
        finally:
            self._observe()
            if name == "pci_save_state/config_space":
                d = self.state.dev
                self._rec_seq += 1
                self._rec_saves.append(Save(d.config_epoch, self.op_index, _caller(self._rec_stack[:-1]),
                                            self.state.hw.accessible, d.saved_config[1] & 0xFFFF, self._rec_seq))
            self._rec_stack.pop()

    def apply(self, call):
        self._observe()
        owner, power, runtime, _qemu = self.facts()
        self._rec_facts.append((call.name, OWNERS[owner], power, runtime, bool(self.state.hw.accessible),
                                self.state.dev.error_state == "perm_failure", FACTS["owner"][owner]))
        self._rec_msix_at_start.append(self.state.dev.msix_enabled)
        self._rec_stack = [call.name]
        try:
            return super().apply(call)
        finally:
            self._observe()


def _caller(stack) -> str:
    """The function that called into the innermost save (or restore): the nearest frame that is
    not a pci_save_state/pci_restore_state step. The bottom frame is the op itself: a bare
    pci_save_state/pci_restore_state op is the bound driver's own call."""
    for i in range(len(stack) - 1, -1, -1):
        frame = stack[i]
        if i == 0:
            if frame in ("pci_save_state", "pci_restore_state"):
                return f"{frame} (driver)"
            return "registration" if frame == "init" else upstream(frame)
        if not frame.startswith(("pci_save_state", "pci_restore_state")):
            return upstream(frame)
    return "registration"


# --- provenance ------------------------------------------------------------------------------------

@dataclass
class Provenance:
    invariant: str
    register: str
    register_class: str
    op: str
    op_index: int
    step: str                    # the model step that tripped it (Violation.step)
    actor_path: str              # host | vfio | none: who owned the device at the violating op
    origin: str                  # the origin step (an upstream function), part of the key
    origin_kind: str             # save | missing save | older save | load | write | event | access | power
    origin_op_index: int         # the op where the origin happened (-1: at enumeration / never)
    detail: str                  # one line a reader can check against the trace
    reproduced: bool = True      # the reference model reports the bucket for this reproducer
    hw_ops: list = field(default_factory=list)   # indices of hw_* ops in the reproducer
    restored_by: str = ""                        # the caller of the restore that wrote it (restore-time invariants)
    op_facts: list = field(default_factory=list) # per op up to the violating one, at its start:
                                                 # [op, owner, current_state (0 = D0), runtime suspended,
                                                 #  config space answering, error_state perm_failure,
                                                 #  the owner fact (op_table.FACTS["owner"])]

    @property
    def key(self) -> str:
        return key(self.invariant, self.origin, self.register_class)

    @property
    def bucket_tuple(self) -> tuple:
        return (self.invariant, self.op, self.register)

    def to_json(self) -> dict:
        d = dict(self.__dict__)
        d["key"] = self.key
        d["version"] = PROVENANCE_VERSION
        return d


def key(invariant: str, origin: str, reg_class: str) -> str:
    return f"{invariant} @ {origin} [{reg_class}]"


def _save_of_epoch(rec: Recorder, epoch: int) -> Save | None:
    for s in reversed(rec._rec_saves):
        if s.epoch == epoch:
            return s
    return None


def _last(items, before_op: int, pred) -> tuple | None:
    """The last recorded item at or before op `before_op` that satisfies pred."""
    for it in reversed(items):
        if it[0] <= before_op and pred(it):
            return it
    return None


def _innermost(stack) -> str:
    return stack[-1] if stack else ""


def _cap_base(m, cap: str) -> int:
    attr = {"MSI": "msi", "MSI-X": "msix", "TPH": "tph", "ATS": "ats", "PASID": "pasid", "PRI": "pri",
            "PTM": "ptm", "SR-IOV": "sriov", "LTR": "ltr", "PCIe": "exp", "AER": "aer", "VC": "vc",
            "L1SS": "l1ss", "DPC": "dpc", "PCI-X": "pcix"}.get(cap)
    val = getattr(m.caps, attr, 0) if attr else 0
    return val if isinstance(val, int) else 0


_CAP_IDS = {"PCIe": 0x10, "PCI-X": 0x07, "LTR": 0x18, "PTM": 0x1F, "AER": 0x01, "TPH": 0x17, "L1SS": 0x1E,
            "DPC": 0x1D, "VC": 0x02}


def _snapshot_origin(rec: Recorder, note: Note) -> tuple[str, str, int, str]:
    """Where the snapshot a restore wrote came from: the save that filled it (by its caller), or
    the load that put an older one back."""
    load = _last(rec._rec_loads, note.op_index, lambda x: x[2] == note.config_epoch)
    save = _save_of_epoch(rec, note.config_epoch)
    if save is None:
        return "registration", "save", -1, f"snapshot #{note.config_epoch}"
    at = f"op {save.op_index}" if save.op_index >= 0 else "start (before op 0)"
    text = (f"snapshot of save #{save.epoch} taken by {save.caller} at {at}"
            + ("" if save.accessible else " from a device that read all-ones")
            + f" (saved Command=0x{save.command:04x})")
    if load is not None and load[0] > save.op_index:
        text += f", loaded back by {_caller(load[1])} at op {load[0]}"
    return save.caller, "save", save.op_index, text


def _bar_first_taken(rec: Recorder, note: Note, save: Save) -> Save:
    """The save that first took the stale BAR value `save`'s snapshot holds. A later save that
    took it again from hardware a restore put it back into (or left, already equal) only carried
    it: walk back over such restores to the last thing that set the register otherwise (a reset,
    another write); the first save after that took the value."""
    off = 0x10 + 4 * int(note.register[3:])
    try:
        stale = int(note.actual.split()[0], 16) & 0xFFFFFFF0
    except ValueError:
        return save
    cur = save
    for _ in range(len(rec._rec_saves)):
        w = next((x for x in reversed(rec._rec_writes) if x[6] < cur.seq and x[2] == off and x[3] == 4), None)
        e = next((x for x in reversed(rec._rec_events) if x[3] < cur.seq and "reset" in x[2]), None)
        if w is not None and (e is None or w[6] > e[3]) and w[5] & 0xFFFFFFF0 == stale \
                and any(f.startswith("pci_restore_state") for f in w[1]):
            prev = next((s for s in reversed(rec._rec_saves) if s.seq < w[6]), None)
            if prev is None:
                return cur
            cur = prev                    # the restore wrote a snapshot's value: who took that
            continue
        since = max((x for x in (w[6] if w else None, e[3] if e else None) if x is not None), default=-1)
        return next((s for s in rec._rec_saves if since < s.seq <= cur.seq and s.accessible), cur)
    return cur


def _first_loss(rec: Recorder, event: tuple) -> tuple:
    """The reset that lost the BARs: walk back over resets with no BAR write between them (a
    reset of a function whose BARs an earlier reset already cleared, with only restores of the
    same cleared values since, lost nothing more)."""
    for _ in range(len(rec._rec_events)):
        prev = next((x for x in reversed(rec._rec_events) if x[3] < event[3] and "reset" in x[2]), None)
        if prev is None or any(prev[3] < w[6] < event[3] and 0x10 <= w[2] < 0x28 for w in rec._rec_writes):
            return event
        event = prev
    return event


def _memory_cleared(rec: Recorder, before_seq: int, before_op: int = 1 << 30) -> tuple[str, int, str]:
    """Who last turned Command.Memory off before a point: a write that cleared it, or a reset."""
    w = next((x for x in reversed(rec._rec_writes) if x[6] < before_seq and x[0] <= before_op
              and x[2] == PCI_COMMAND and x[4] & PCI_COMMAND_MEMORY and not x[5] & PCI_COMMAND_MEMORY), None)
    e = next((x for x in reversed(rec._rec_events) if x[3] < before_seq and x[0] <= before_op
              and "reset" in x[2]), None)
    if w is not None and (e is None or w[6] > e[3]):
        fn = upstream(_innermost(w[1]))
        return fn, w[0], f"Command.Memory cleared by {fn} at op {w[0]}"
    if e is not None:
        return upstream(_innermost(e[1])), e[0], f"Command cleared by {e[2]} at op {e[0]}"
    return "initial state", -1, "Command.Memory off since enumeration"


def _decode_origin(rec: Recorder, note: Note, cause: str) -> tuple[str, int, str]:
    """The live state an MMIO access contradicts: who turned decode off."""
    op = note.op_index
    if cause == "Memory off":
        # Inside a restore whose snapshot has Memory off: the snapshot's Command is what the
        # restore put back (or left, when equal); who turned Memory off before that save.
        save = _save_of_epoch(rec, note.config_epoch) if any(
            f.startswith("pci_restore_state") for f in note.stack) else None
        if save is not None and not save.command & PCI_COMMAND_MEMORY:
            fn, at, why = _memory_cleared(rec, save.seq)
            return fn, at, (f"the restored Command (0x{save.command:04x}, snapshot of save #{save.epoch} "
                            f"by {save.caller} at op {save.op_index}) has Memory off; {why}")
        fn, at, why = _memory_cleared(rec, 1 << 62, op)
        return fn, at, why
    if cause == "not in D0":
        p = _last(rec._rec_power, op, lambda x: x[2] != 0)
        if p is not None:
            return upstream(_innermost(p[1])), p[0], f"device left D0 in {upstream(_innermost(p[1]))} at op {p[0]}"
        w = _last(rec._rec_writes, op, lambda x: (x[5] & 0x3) != 0 and rec.caps.pm and x[2] == rec.caps.pm + 4)
        if w is not None:
            return upstream(_innermost(w[1])), w[0], f"PMCSR set to D{w[5] & 3} by {upstream(_innermost(w[1]))} at op {w[0]}"
        return "unknown", -1, "not in D0"
    if cause == "BAR moved":
        r = _last(rec._rec_resources, op, lambda x: True)
        w = _last(rec._rec_writes, op, lambda x: 0x10 <= x[2] < 0x28)
        e = _last(rec._rec_events, op, lambda x: "reset" in x[2])
        cands = [(c[0], "resource", c) for c in (r,) if c] + [(c[0], "write", c) for c in (w,) if c] + \
                [(c[0], "event", c) for c in (e,) if c]
        if not cands:
            return "unknown", -1, "BAR not at the kernel's address"
        at, kind, c = max(cands, key=lambda t: t[0])
        if kind == "event":
            c = _first_loss(rec, c)
            at = c[0]
        fn = upstream(_innermost(c[1]))
        what = {"resource": "kernel resource moved", "write": "BAR rewritten", "event": f"BAR lost to {c[2]}"}[kind]
        return fn, at, f"{what} by {fn} at op {at}"
    if cause == "not answering":
        # the last event before the access that left the function silent (the models set it
        # unreachable for each): the program's own op names it
        silencers = {"hw_inaccessible": "config space stopped answering (hw_inaccessible)",
                     "hw_link_down": "the link went down (hw_link_down)",
                     "pci_set_power_state": "the platform removed its power (D3cold)",
                     "pm_system_sleep": "the platform removed its power while the system slept"}
        hw = [(i, c.name) for i, c in enumerate(rec._calls) if i <= op and c.name in silencers
              and (c.name not in ("pci_set_power_state", "pm_system_sleep")
                   or c["state" if c.name == "pci_set_power_state" else "power"] in ("d3cold", "lost"))]
        if not hw:
            return "config read all-ones", -1, "config space reads all-ones"
        return "config read all-ones", hw[-1][0], silencers[hw[-1][1]]
    return "unknown", -1, cause


def _run(profile, policy, calls) -> Recorder:
    rec = Recorder(profile, policy)
    rec._calls = list(calls)
    rec.start()
    for c in calls:
        rec.apply(c)
    return rec


def _provenance(rec: Recorder, calls, bucket) -> Provenance:
    inv, op, reg = bucket
    hw_ops = [i for i, c in enumerate(calls) if c.op.actor == "hw"]
    note = next((n for n in rec._rec_notes if (n.invariant, n.op, n.register) == (inv, op, reg)), None)
    viol = next((v for v in rec.oracle.violations if v.bucket == tuple(bucket)), None)
    if note is None or viol is None:
        return Provenance(inv, reg, register_class(reg), op, len(calls) - 1, "", "unknown", "not reproduced",
                          "unknown", -1, "the reference model does not report this bucket for the reproducer",
                          reproduced=False, hw_ops=hw_ops)
    p = Provenance(inv, reg, register_class(reg), op, note.op_index, viol.step, note.owner, "", "", -1, "",
                   hw_ops=hw_ops, op_facts=[list(f) for f in rec._rec_facts[:note.op_index + 1]])
    _explain(rec, note, p)
    if any(f.startswith("pci_restore_state") for f in note.stack) or note.stack[:1] == ("pci_restore_state",):
        p.restored_by = _caller([f for f in note.stack if not f.startswith("pci_restore_state")] or ["pci_restore_state"])
    return p


def derive(profile, policy, calls, bucket) -> Provenance:
    """Run `calls` on the reference model with the recorder and derive the provenance of the
    first violation in `bucket` (invariant, op, register)."""
    return _provenance(_run(profile, policy, calls), calls, tuple(bucket))


def derive_all(profile, policy, calls) -> list[Provenance]:
    """The provenance of every violation `calls` reports (one run)."""
    rec = _run(profile, policy, calls)
    return [_provenance(rec, calls, v.bucket) for v in rec.oracle.violations]


def _explain(rec: Recorder, note: Note, p: Provenance) -> None:
    inv, reg = note.invariant, note.register
    stack = note.stack
    if inv == "mmio_decode_off":
        # the access that hit decode-off hardware, and what turned decode off
        what, _, cause = reg.partition(", ")
        access = upstream(_innermost(stack))
        if access == "vfio_pci_set_irqs_ioctl":
            # set-up (msix_capability_init under vfio_msi_enable) or teardown (pci_msix_shutdown
            # under vfio_msi_disable): different kernel code, different checks
            call = rec._calls[note.op_index]
            setup = (call.name == "vfio_set_irqs" and call["index"] == "msix"
                     and not rec._rec_msix_at_start[note.op_index])
            access = "vfio_msi_enable" if setup else "vfio_msi_disable"
        fn, at, why = _decode_origin(rec, note, cause)
        p.origin, p.origin_kind, p.origin_op_index = access, "access", note.op_index
        p.detail = f"{what} access in {access} while {cause}: {why}"
    elif inv in ("restore_all_ones", "snapshot_bar_stale", "msi_without_bus_master", "order_violation",
                 "restore_older_snapshot", "restore_after_failed_load"):
        caller, kind, at, text = _snapshot_origin(rec, note)
        restore_by = _caller(stack)
        p.origin, p.origin_kind, p.origin_op_index = caller, kind, at
        p.detail = f"{text}; restored by {restore_by} at op {note.op_index}"
        if inv == "snapshot_bar_stale":
            save = _save_of_epoch(rec, note.config_epoch)
            first = _bar_first_taken(rec, note, save) if save is not None else None
            if first is not None and first is not save:
                # the key keeps the save that was restored (the reviewed list's grouping); the
                # detail names where the value came from
                p.detail = (f"{text}, which carried the BAR value save #{first.epoch} took ({first.caller} at "
                            f"op {first.op_index}); restored by {restore_by} at op {note.op_index}")
            r = _last(rec._rec_resources, note.op_index, lambda x: True)
            if r is not None and r[0] > at:
                p.origin, p.origin_kind, p.origin_op_index = upstream(_innermost(r[1])), "write", r[0]
                p.detail = (f"kernel resource moved by {p.origin} at op {r[0]} after the {text}; "
                            f"restored by {restore_by} at op {note.op_index}")
        elif inv == "order_violation":
            p.origin, p.origin_kind, p.origin_op_index = upstream(_innermost(stack)), "write", note.op_index
            # a BAR's rule is its decode; the others name their own (PASID before ATS Enable, ...)
            why = (f"while the hardware decoded it (Command=0x{note.command:04x})" if reg.startswith("BAR")
                   else f"out of order: {note.expected} ({note.actual})")
            p.detail = f"{upstream(_innermost(stack))} wrote {reg} {why}; {text}"
        elif inv in ("restore_older_snapshot", "restore_after_failed_load"):
            load = _last(rec._rec_loads, note.op_index, lambda x: True)
            if load is not None:
                p.origin, p.origin_kind, p.origin_op_index = _caller(load[1]), "load", load[0]
                p.detail = f"pci_load_saved_state in {p.origin} at op {load[0]} put back the {text}"
    elif inv == "snapshot_all_ones":
        caller = _caller(stack)
        hw = [i for i in p.hw_ops if i <= note.op_index]
        p.origin, p.origin_kind, p.origin_op_index = caller, "save", note.op_index
        p.detail = (f"{caller} saved config space that read all-ones"
                    + (f" (config stopped answering at op {hw[-1]})" if hw else ""))
    elif inv == "restore_unsaved_buffer":
        cap = _CAP_IDS.get(reg)
        epoch = note.buffers.get(cap, 0) if cap is not None else 0
        restore_by = _caller(stack)
        if epoch == 0:
            p.origin, p.origin_kind, p.origin_op_index = "no save", "missing save", -1
            p.detail = (f"{upstream(_innermost(stack))} wrote the {reg} buffer that no save ever filled "
                        f"(restore by {restore_by} at op {note.op_index}; snapshot #{note.config_epoch})")
        else:
            s = _save_of_epoch(rec, epoch)
            by = s.caller if s else "registration"
            p.origin, p.origin_kind, p.origin_op_index = "older save", "older save", s.op_index if s else -1
            p.detail = (f"{upstream(_innermost(stack))} wrote the {reg} buffer of save #{epoch} ({by}) "
                        f"with the snapshot of save #{note.config_epoch} (restore by {restore_by} at op {note.op_index})")
    elif inv == "live_flag_mismatch":
        from ..model.live_flags import FEATURE_ENABLES
        row = next((r for r in FEATURE_ENABLES if r[0] == reg), None)
        ctl = _cap_base(rec, reg) + row[3] if row and _cap_base(rec, reg) else -1
        w = _last(rec._rec_writes, note.op_index, lambda x: x[0] == note.op_index and x[2] == ctl)
        if w is not None:
            p.origin, p.origin_kind, p.origin_op_index = upstream(_innermost(w[1])), "write", w[0]
            p.detail = (f"{p.origin} wrote {reg} Control 0x{w[4]:x} -> 0x{w[5]:x}, against the kernel's "
                        f"flag (restore by {_caller(stack)} at op {note.op_index})")
        else:
            e = _last(rec._rec_events, note.op_index, lambda x: x[0] == note.op_index and "reset" in x[2])
            p.origin = "not restored"
            p.origin_kind, p.origin_op_index = "event", note.op_index
            p.detail = (f"no restore step wrote {reg} Control after " + (e[2] if e else "the op's reset")
                        + f" (restore by {_caller(stack)} at op {note.op_index}); the kernel flag disagrees")
    elif inv == "restore_outside_d0":
        # keyed by the restore's caller: kernel callers move the device to D0 first (H12); where one
        # does not, that caller is what to fix. Who left D0 goes in the detail.
        pw = _last(rec._rec_power, note.op_index, lambda x: x[2] != 0)
        fn = upstream(_innermost(pw[1])) if pw else "unknown"
        by = _caller(stack)
        p.origin, p.origin_kind, p.origin_op_index = by, "power", note.op_index
        p.detail = (f"pci_restore_state called by {by} with MSI-X enabled while not in D0 "
                    f"(left D0 in {fn}" + (f" at op {pw[0]})" if pw else ")"))
    elif inv == "upstream_feature_off":
        base = _cap_base(rec, "PCIe") if reg == "LTR" else _cap_base(rec, "PTM")
        w = _last(rec._rec_writes, note.op_index, lambda x: base and base <= x[2] < base + 0x40)
        fn = upstream(_innermost(w[1])) if w else upstream(_innermost(stack))
        p.origin, p.origin_kind, p.origin_op_index = fn, "write", w[0] if w else note.op_index
        p.detail = f"{reg} enabled on the device by {fn} while the upstream port has it off"
    elif inv == "vconfig_mismatch":
        w = _last(rec._rec_writes, note.op_index, lambda x: x[0] == note.op_index and x[2] == PCI_COMMAND
                  and (x[4] ^ x[5]) & 3)
        e = _last(rec._rec_events, note.op_index, lambda x: x[0] == note.op_index and "refused" not in x[2])
        pw = _last(rec._rec_power, note.op_index, lambda x: x[0] == note.op_index)
        if w is not None:
            fn, what = upstream(_innermost(w[1])), f"wrote Command 0x{w[4]:04x} -> 0x{w[5]:04x}"
        elif e is not None:
            fn, what = upstream(_innermost(e[1])), e[2]
        elif pw is not None:
            fn, what = upstream(_innermost(pw[1])), "power transition"
        else:
            fn, what = upstream(note.op), "changed the hardware"
        p.origin, p.origin_kind, p.origin_op_index = fn, "write", note.op_index
        p.detail = f"{fn} ({what}) behind vfio's virtual Command at op {note.op_index}"
    elif inv == "used_without_restore":
        p.origin, p.origin_kind, p.origin_op_index = upstream(_innermost(stack)), "event", note.op_index
        what = ("returned to user space" if "user space" in note.actual
                else "reported it recovered" if "recovery" in note.actual else "resumed it")
        p.detail = (f"{p.origin} reset the device and {what} with no restore "
                    f"(driver: {ACTOR_PATHS.get(note.owner, note.owner)})")
    else:
        p.origin, p.origin_kind, p.origin_op_index = upstream(_innermost(stack)), "step", note.op_index
        p.detail = f"in {p.origin}"


# --- root causes as a view over buckets --------------------------------------------------------------

@dataclass
class RootCause:
    key: str
    invariant: str
    origin: str
    register_class: str
    members: list = field(default_factory=list)      # bucket dir names
    hits: int = 0
    shortest: str = ""                               # path of the shortest reproducer
    shortest_ops: int = 1 << 30
    actor_paths: set = field(default_factory=set)
    detail: str = ""                                 # the shortest member's provenance line
    reproduced: bool = True
    first_seen: str = ""
    reproducers: list = field(default_factory=list)  # [(calls, bucket)], one per member
    member_tiers: list = field(default_factory=list)  # each member's own computed tier (Verdict.members)
    verdict: object = None                           # tiers.Verdict, once assessed
    known: bool | None = None                        # in the baseline's reviewed list (None: no list)
    reviewed_tier: str = ""                          # the tier the reviewed list gives it
    computed: object = None                          # the tier these reproducers alone give, when the
                                                     # reviewed one (shown) differs
    reviewed: object = None                          # the reviewed tier, when these reproducers' own
                                                     # environmental tier (shown) overrules it

    @property
    def paths(self) -> int:
        return len(self.members)


def provenance_of_dir(bucket_dir: Path, device=None, policy=None) -> dict:
    """The provenance stored in a bucket's meta.json, or derived now (and not written) when the
    meta has none, or one for an older reproducer than min_ops says."""
    meta = _read_json(bucket_dir / "meta.json")
    rc = meta.get("root_cause")
    if isinstance(rc, dict) and rc.get("version") == PROVENANCE_VERSION and rc.get("ops") == meta.get("min_ops"):
        return rc
    from .finding import load_finding
    f = load_finding(bucket_dir)
    return annotate(device or f.device, policy or f.policy, f.calls, f.bucket)


_MODELS: dict = {}


def annotate(device: str, policy: str, calls, bucket) -> dict:
    """The provenance of `bucket` for `calls` as stored in meta.json (`root_cause`)."""
    from ..device.builtin import resolve_device
    from ..policy import load_policy
    k = (device, policy)
    if k not in _MODELS:
        _MODELS[k] = (resolve_device(device), load_policy(policy))
    prof, pol = _MODELS[k]
    p = derive(prof, pol, calls, tuple(bucket))
    out = p.to_json()
    out["ops"] = len(calls)
    return out


def group_findings(findings: Path, device=None, policy=None) -> list[RootCause]:
    """The root causes of a findings store (or of crashes/<policy>/): each bucket directory
    joins the root cause of its provenance."""
    from ..campaign.findings_store import bucket_metas
    out: dict[str, RootCause] = {}
    for meta_path in sorted(bucket_metas(findings)):
        d = meta_path.parent
        meta = _read_json(meta_path)
        try:
            prov = provenance_of_dir(d, device, policy)
            from .finding import load_finding
            f = load_finding(d)
        except (ValueError, OSError, LookupError):
            continue
        rc = out.get(prov["key"])
        if rc is None:
            rc = out[prov["key"]] = RootCause(prov["key"], prov["invariant"], prov["origin"], prov["register_class"])
        rc.members.append(d.name)
        rc.reproducers.append((f.calls, tuple(f.bucket)))
        rc.hits += int(meta.get("hits", 0) or 0)
        rc.actor_paths.add(prov.get("actor_path", "unknown"))
        rc.reproduced &= bool(prov.get("reproduced", True))
        n = int(meta.get("min_ops", 1 << 30) or 1 << 30)
        if n < rc.shortest_ops or (n == rc.shortest_ops and str(d) < rc.shortest):
            rc.shortest_ops, rc.detail = n, prov.get("detail", "")
            rc.shortest = str(_program_path(d))
        fs = str(meta.get("first_seen", ""))
        if fs and (not rc.first_seen or fs < rc.first_seen):
            rc.first_seen = fs
    return sorted(out.values(), key=lambda r: r.key)


def _program_path(d: Path) -> Path:
    for name in ("min.fzs", "min.bin", "first.fzs", "first.bin"):
        if (d / name).is_file():
            return d / name
    return d


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def assess_findings(findings: Path, device: str | None = None, policy: str | None = None) -> list[RootCause]:
    """The root causes of a findings store, each with its tier (tiers.assess) and whether the
    baseline's reviewed list knows it, in display order (tiers.sort_key)."""
    from ..device.builtin import resolve_device
    from . import tiers
    from ..campaign.findings_store import bucket_metas
    if device is None or policy is None:
        metas = [m for m in sorted(bucket_metas(findings))]
        meta = _read_json(metas[0]) if metas else {}
        device = device or meta.get("device", "i350")
        policy = policy or meta.get("policy", "linux-7.1")
    rcs = group_findings(findings, device, policy)
    profile = resolve_device(device)
    known = tiers.known_root_causes(policy)
    classes = tiers.known_classes(policy)
    for rc in rcs:
        rc.verdict = tiers.assess(profile, policy, rc.key, rc.invariant, rc.origin, rc.register_class,
                                  rc.actor_paths, rc.reproducers, rc.reproduced)
        rc.member_tiers = list(rc.verdict.members)
        rc.known = None if known is None else rc.key in known
        if known is not None and not rc.known and tiers.class_entry(classes, rc.invariant, rc.verdict):
            rc.known = True               # reviewed as a class; the computed tier is the class's
        elif rc.known:
            # The reviewed list pooled every reproducer several campaigns found; one store may hold
            # only some of them, so its computed tier can differ. The reviewed one is shown, except
            # where the computed one is a fact about these programs that the reviewed one cannot
            # overrule: "environmental" (every reproducer here needs an event the kernel is not told
            # of; a reader sees it in them), any computed tier against a reviewed "environmental"
            # (a claim about other reproducers: some reproducer here needs no outside event), and
            # any computed tier against a reviewed "fixed-by X" (replayed under +X, some
            # reproducer here still shows the harm).
            entry = known[rc.key]
            rc.reviewed_tier = str(entry.get("tier", ""))
            if rc.reviewed_tier and rc.reviewed_tier != rc.verdict.label:
                word, _, rest = rc.reviewed_tier.partition(" ")
                reviewed = tiers.Verdict(word, str(entry.get("reason", "")), str(entry.get("upstream", "")),
                                         rest.split() if word == "fixed-by" else [], rule="reviewed")
                if rc.verdict.rule == "environmental" or word in ("fixed-by", "environmental"):
                    rc.reviewed = reviewed
                else:
                    rc.computed, rc.verdict = rc.verdict, reviewed
    return sorted(rcs, key=tiers.sort_key)
