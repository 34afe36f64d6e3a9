"""Reading what a guest run left: QEMU's trace log (config writes, with their width) and the
guest's console (fzguest's result lines), cut into programs and ops by the markers.

QEMU's `pci_cfg_write` trace line has no width; the `memory_region_ops_write` line QEMU traces
just before it (the 0xcfc data port or the ECAM window, whichever the kernel used) has it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MARK_BEGIN, MARK_OP, MARK_END = 0xF8, 0xFC, 0xF4
MARKER_BDF = "00:00.0"

_CFG = re.compile(r"pci_cfg_(read|write) (\S+) ([0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) @0x([0-9a-f]+) (?:->|<-) 0x([0-9a-f]+)")
_MRW = re.compile(r"memory_region_ops_write .* value 0x([0-9a-f]+) size (\d+) name '(pci-conf-data|pcie-mmcfg-mmio)'")


@dataclass(frozen=True)
class GuestWrite:
    target: str        # "dev" | "port"
    offset: int
    width: int
    value: int

    def __str__(self) -> str:
        return f"{self.target} @0x{self.offset:03x} w{self.width} <- 0x{self.value:0{2 * self.width}x}"


@dataclass
class GuestOp:
    index: int
    rcs: list[int] = field(default_factory=list)
    writes: list[GuestWrite] = field(default_factory=list)
    image: dict[str, dict[int, int]] = field(default_factory=dict)   # target -> {dword offset: value}
    kf: list[str] = field(default_factory=list)                     # kprobe trace lines (kftrace on)


@dataclass
class GuestProgram:
    name: str
    initial: dict[str, dict[int, int]] = field(default_factory=dict)
    resources: list[tuple[int, int, int]] = field(default_factory=list)   # (start, end, flags) per line
    sizes: dict[str, int] = field(default_factory=dict)                  # target -> bytes dumped
    ops: list[GuestOp] = field(default_factory=list)

    def image_bytes(self, target: str, after_op: int | None = None) -> bytes:
        """The config image of `target` at the start, or after op `after_op` (dumps are deltas)."""
        dwords = dict(self.initial.get(target, {}))
        if after_op is not None:
            for op in self.ops[: after_op + 1]:
                dwords.update(op.image.get(target, {}))
        size = max([self.sizes.get(target, 0)] + [o + 4 for o in dwords])
        out = bytearray(size)
        for off, v in dwords.items():
            out[off:off + 4] = v.to_bytes(4, "little")
        return bytes(out)


class GuestLogError(RuntimeError):
    pass


def parse_console(text: str) -> list[GuestProgram]:
    """fzguest's output: BEGIN/OP/END/IMG/RES/RC lines (kernel messages in between are skipped)."""
    programs: list[GuestProgram] = []
    prog: GuestProgram | None = None
    op: GuestOp | None = None
    in_op = False
    for raw in text.splitlines():
        line = raw.strip()
        parts = line.split()
        if not parts:
            continue
        tag = parts[0]
        try:
            if tag == "BEGIN":
                prog = GuestProgram(parts[1] if len(parts) > 1 else "")
                programs.append(prog)
                op, in_op = None, False
            elif prog is None:
                continue
            elif tag == "OP":
                op = GuestOp(int(parts[1]))
                prog.ops.append(op)
                in_op = True
                op.rcs.append(None)   # placeholder for the `op` command's own RC
            elif tag == "END":
                in_op = False
            elif tag == "RC" and len(parts) == 2:
                if in_op and op is not None:
                    if op.rcs and op.rcs[-1] is None:
                        op.rcs.pop()
                    else:
                        op.rcs.append(int(parts[1]))
            elif tag == "IMG" and len(parts) == 4:
                target, off, val = parts[1], int(parts[2], 16), int(parts[3], 16)
                dest = op.image if op is not None else prog.initial
                dest.setdefault(target, {})[off] = val
            elif tag == "KF" and op is not None:
                op.kf.append(raw.split("KF ", 1)[1])
            elif tag == "IMGSIZE" and len(parts) == 3 and op is None:
                prog.sizes[parts[1]] = int(parts[2])
            elif tag == "RES" and len(parts) == 4:
                prog.resources.append((int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)))
        except (ValueError, IndexError):
            continue  # a line cut by a kernel message
    return programs


def parse_trace(path: Path, dev_bdf: str, port_bdf: str) -> list[list[list[GuestWrite]]]:
    """Per program (BEGIN marker), per op (OP..END markers): the config writes to the device and
    its port, in order, with their width."""
    targets = {dev_bdf: "dev", port_bdf: "port"}
    programs: list[list[list[GuestWrite]]] = []
    cur_ops: list[list[GuestWrite]] | None = None
    cur: list[GuestWrite] | None = None
    width = 4
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("memory_region_ops_write") or "memory_region_ops_write" in line[:40]:
                m = _MRW.search(line)
                if m:
                    width = int(m.group(2))
                continue
            if "pci_cfg_" not in line:
                continue
            m = _CFG.search(line)
            if not m:
                continue
            kind, _name, bdf, off, val = m.groups()
            off_i = int(off, 16)
            if kind == "read":
                if bdf == MARKER_BDF and off_i in (MARK_BEGIN, MARK_OP, MARK_END):
                    if off_i == MARK_BEGIN:
                        cur_ops = []
                        programs.append(cur_ops)
                        cur = None
                    elif off_i == MARK_OP and cur_ops is not None:
                        cur = []
                        cur_ops.append(cur)
                    else:
                        cur = None
                continue
            target = targets.get(bdf)
            if target is None or cur is None:
                continue
            cur.append(GuestWrite(target, off_i, width, int(val, 16)))
    return programs


_KF_EVENT = re.compile(r"\b([bu])([124]): \((\w+)\+[^)]*\)(?: devfn=\d+)? pos=(-?\d+) val=(\d+)")
_KF_FRAME = re.compile(r"^\s*=> (\w+)")
# Accessors between the write and the function that decided it: left out of the chain shown.
KF_HELPERS = re.compile(r"^(0x[0-9a-f]+|pci_bus_write_config_\w+|pci_write_config_\w+|pci_user_write_config_\w+|"
                        r"pcie_capability_\w+|vfio_user_config_write|trace_\w+|kprobe\w*|"
                        r"\w*ftrace\w*|__\w*kprobe\w*)$")


def kernel_functions(kf_lines: list[str], writes: list[GuestWrite], depth: int = 3) -> list[str]:
    """For each write (in order), the chain of kernel functions that made it, innermost first
    ("pci_restore_config_space < pci_restore_state < pci_dev_restore"), from the kprobe events
    with stack traces (fzguest `kftrace on`); "" where no event matches."""
    events: list[tuple[int, int, int, list[str]]] = []   # (width, pos, value, frames)
    for line in kf_lines:
        m = _KF_EVENT.search(line)
        if m:
            events.append((int(m.group(2)), int(m.group(4)), int(m.group(5)), []))
            continue
        f = _KF_FRAME.match(line)
        if f and events:
            events[-1][3].append(f.group(1))
    out, j = [], 0
    for w in writes:
        k = j
        while k < len(events) and (events[k][0], events[k][1], events[k][2]) != (w.width, w.offset, w.value):
            k += 1
        if k == len(events):
            out.append("")
            continue
        frames = [f for f in events[k][3] if not KF_HELPERS.match(f)]
        out.append(" < ".join(frames[:depth]))
        j = k + 1
    return out
