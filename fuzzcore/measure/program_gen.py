"""Random programs for differential checks and benchmarks (not for campaigns: libFuzzer and the
structure-aware mutator do that). Half of the records are raw random bytes, which the codec
accepts whatever they hold; the other half are biased towards what reaches deep states: vfio
open/close and resets, a host driver bound, config writes at the registers vfio's permission
table treats specially (Command, BARs, PMCSR, DEVCTL with Initiate FLR, DEVCTL2, MSI mask, AER)."""

from __future__ import annotations

import random

from ..model.caps import cap_offsets
from ..program.op_table import OP_INDEX, OPS, RECORD_SIZE

_DEEP_OPS = ("vfio_open", "vfio_close", "vfio_device_reset", "vfio_hot_reset", "qemu_reset", "qemu_pre_reset",
             "qemu_post_reset", "pci_reset_function", "pci_bind_driver", "vfio_set_irqs", "pci_set_power_state",
             "pcie_do_recovery", "hw_inaccessible", "hw_accessible", "pci_save_state", "pci_restore_state")
_COMMAND_VALUES = (0x0000, 0x0002, 0x0004, 0x0006, 0x0007, 0x0400, 0x0402, 0x0406, 0x0001, 0x0003)


class ProgramGenerator:
    """Programs for one device profile, from a seeded random.Random."""

    def __init__(self, profile, seed: int = 0):
        self.rng = random.Random(seed)
        caps = cap_offsets(profile)
        regs = [(0x04, 2), (0x04, 4), (0x0C, 1), (0x0D, 1), (0x0F, 1), (0x0C, 4), (0x3C, 4)]
        regs += [(0x10 + 4 * i, 4) for i in range(6)]
        if caps.pm:
            regs += [(caps.pm + 4, 2), (caps.pm + 4, 4)]
        if caps.exp:
            regs += [(caps.exp + 8, 2), (caps.exp + 8, 4), (caps.exp + 0x28, 2), (caps.exp + 0x10, 2)]
        if caps.msi:
            regs += [(caps.msi + 0x0C, 4), (caps.msi + 0x10, 4), (caps.msi + 2, 2)]
        if caps.aer:
            regs += [(caps.aer + r, 4) for r in (0x04, 0x08, 0x0C, 0x10, 0x14, 0x18)]
        regs += [(cap.offset + 4, 4) for cap in profile.walk.standard if cap.cap_id == 0x09]
        self.regs = regs

    def record(self) -> bytes:
        rng = self.rng
        if rng.random() < 0.5:
            return bytes(rng.randrange(256) for _ in range(RECORD_SIZE))
        if rng.random() < 0.5:
            name = rng.choice(_DEEP_OPS)
        else:
            name = rng.choice(OPS).name
        op = OPS[OP_INDEX[name]]
        out = bytearray(RECORD_SIZE)
        out[0] = OP_INDEX[name]
        if name == "vfio_config_write":
            offset, width = rng.choice(self.regs)
            r = rng.random()
            if offset == 0x04 and r < 0.7:
                value = rng.choice(_COMMAND_VALUES)
            elif r < 0.3:
                value = rng.choice((0, 3, 0x8000, 0x8003, 0x100, 0xFFFF, 0x2810, 0x400))
            else:
                value = rng.getrandbits(32)
            out[1:3] = offset.to_bytes(2, "little")
            out[3] = {1: 0, 2: 1, 4: 2}[width]
            out[4:8] = value.to_bytes(4, "little")
            return bytes(out)
        pos = 1
        for a in op.args:
            out[pos:pos + a.nbytes] = rng.randrange(a.size).to_bytes(a.nbytes, "little")
            pos += a.nbytes
        return bytes(out)

    def program(self, n_ops: int) -> bytes:
        return b"".join(self.record() for _ in range(n_ops))
