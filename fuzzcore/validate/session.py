"""Validating programs: batches of programs per boot, the comparison per program, and the
agreement per op kind."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .compare import ProgramComparison, compare_program
from .guestrun import DEVICES, run_batch
from .kit import Kit

DEFAULT_POLICY = "linux-7.1+linux-6.12"
GUEST_OVERLAY = Path(__file__).with_name("guest-policy.toml")


def guest_policy_spec(spec: str) -> str:
    """`spec` plus the guest's own setup (guest-policy.toml) once the policy vocabulary has the
    switch it sets; before that, the model keeps a closed vfio device in D0 anyway."""
    from ..policy.vocabulary import SWITCHES
    if any(f"{s.section}.{s.key}" == "vfio.disable_idle_d3" for s in SWITCHES):
        return f"{spec}+{GUEST_OVERLAY}"
    return spec
DEFAULT_BATCH = 25


@dataclass
class Outcome:
    comparisons: list[ProgramComparison] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    seconds: float = 0.0
    boots: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def programs_per_minute(self) -> float:
        return 60.0 * len(self.comparisons) / self.seconds if self.seconds else 0.0

    def per_op_kind(self) -> dict[str, tuple[int, int]]:
        """op kind -> (agreed, compared). Ops after a program's first divergence are not
        compared: the two sides no longer start the op from the same state."""
        agreed, compared = Counter(), Counter()
        for pc in self.comparisons:
            for op in pc.ops:
                compared[op.name] += 1
                if not op.agrees:
                    break
                agreed[op.name] += 1
        return {k: (agreed[k], compared[k]) for k in sorted(compared)}

    @property
    def agreeing(self) -> list[ProgramComparison]:
        return [pc for pc in self.comparisons if pc.agrees]


def validate_programs(kit: Kit, programs: list[tuple[str, str, list]], policy,
                      batch: int = DEFAULT_BATCH, workdir: Path | None = None,
                      progress: Callable[[str], None] = lambda s: None, why: bool = False) -> Outcome:
    """programs: (name, device, calls). Programs of one device share boots, `batch` per boot.
    why: the guest also records which kernel function made each write (kprobes with stack traces;
    slower, meant for a few programs)."""
    out = Outcome()
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="fuzzcore-validate-"))
    t0 = time.monotonic()
    for device in DEVICES:
        mine = [(n, c) for n, d, c in programs if d == device]
        if mine:
            out.devices.append(device)
        boots = -(-len(mine) // batch)
        size = -(-len(mine) // boots) if boots else batch     # even batches: 51 -> 26 + 25
        for start in range(0, len(mine), size):
            chunk = mine[start:start + size]
            wd = root / f"{device}-boot{out.boots}"
            out.boots += 1
            progress(f"{device}: booting for programs {start + 1}-{start + len(chunk)} of {len(mine)}")
            res = run_batch(kit, device, chunk, wd, why=why)
            out.problems += [f"{device} boot {out.boots}: {p}" for p in res.problems]
            for k, (name, calls) in enumerate(chunk):
                if k < len(res.programs) and k < len(res.writes):
                    pc = compare_program(name, calls, res.programs[k], res.writes[k], device, policy, wd)
                else:
                    pc = ProgramComparison(name, calls, error="the guest did not run this program "
                                                              f"(see {wd / 'console.log'})")
                pc.device = device
                out.comparisons.append(pc)
    out.seconds = time.monotonic() - t0
    return out
