"""Pure-Python hardware of one PCI function: config space through its masks, plus the MSI-X
table and PBA that live in MMIO behind a BAR.

This is the reference for the Cython `fuzzcore.engine._restore.ConfigBuffer`; tests drive both with the
same writes and compare bytes. The write path is QEMU's `pci_default_write_config` rule: a bit
changes only where `wmask` allows; a 1 written to a `w1cmask` bit clears it; everything else
(read-only, HwInit) ignores the write.
"""

from __future__ import annotations

import numpy as np

from .register_semantics import RESET_KINDS, RegisterSemantics

MSIX_ENTRY_SIZE = 16
MSIX_VECTOR_CTRL = 0x0C
MSIX_VECTOR_MASKED = 0x1


class ConfigSpace:
    def __init__(self, image: np.ndarray, sem: RegisterSemantics, msix_entries: int = 0):
        self.sem = sem
        self.initial = np.array(image, dtype=np.uint8).copy()
        self.config = self.initial.copy()
        self.wmask = sem.wmask
        self.w1cmask = sem.w1cmask
        self.accessible = True
        # False while the platform has removed the function's power (D3cold): it answers nothing
        # and no reset or link event brings it back; only the platform's power-on does
        self.powered = True
        self.msix_entries = msix_entries
        self.msix_table = np.zeros(msix_entries * MSIX_ENTRY_SIZE, dtype=np.uint8)
        self.msix_pba = np.zeros(((msix_entries + 63) // 64) * 8, dtype=np.uint8)
        self._reset_msix()

    # --- config space ---------------------------------------------------------------------
    def read(self, offset: int, width: int) -> int:
        """A config read of 1, 2 or 4 bytes; all-ones while the function does not answer (at any
        offset: a kernel loop bounded by an all-ones count, e.g. ReBAR's NBAR of 7 near the end of
        config space, reads on past 4 KiB and gets all-ones, as the engine does)."""
        if not self.accessible:
            _check_access(offset % 4096, width)
            return (1 << (8 * width)) - 1
        _check_access(offset, width)
        return int.from_bytes(self.config[offset:offset + width].tobytes(), "little")

    def write(self, offset: int, width: int, value: int) -> None:
        """A config write of 1, 2 or 4 bytes through the masks; dropped while inaccessible (at any
        offset, as reads are)."""
        if not self.accessible:
            _check_access(offset % 4096, width)
            return
        _check_access(offset, width)
        for i in range(width):
            b = (value >> (8 * i)) & 0xFF
            o = offset + i
            wm = int(self.wmask[o])
            w1c = int(self.w1cmask[o])
            old = int(self.config[o])
            new = (old & ~wm) | (b & wm)
            new &= ~(b & w1c)
            self.config[o] = new & 0xFF

    def reset(self, kind: str) -> None:
        """Apply a reset of one of RESET_KINDS to config space and the MSI-X table (§7)."""
        if kind not in RESET_KINDS:
            raise ValueError(f"unknown reset kind {kind!r}; expected one of {RESET_KINDS}")
        self.config[:] = self.sem.reset_image(kind, self.config)
        self._reset_msix()

    # --- MSI-X table in MMIO ----------------------------------------------------------------
    def _reset_msix(self) -> None:
        # After any reset every entry is masked; address and data are undefined and modelled as 0.
        self.msix_table[:] = 0
        for i in range(self.msix_entries):
            self.msix_table[i * MSIX_ENTRY_SIZE + MSIX_VECTOR_CTRL] = MSIX_VECTOR_MASKED
        self.msix_pba[:] = 0

    def msix_read(self, offset: int, width: int = 4) -> int:
        return int.from_bytes(self.msix_table[offset:offset + width].tobytes(), "little")

    def msix_write(self, offset: int, width: int, value: int) -> None:
        self.msix_table[offset:offset + width] = np.frombuffer(
            (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little"), dtype=np.uint8)


def _check_access(offset: int, width: int) -> None:
    if width not in (1, 2, 4):
        raise ValueError(f"config access width {width}: expected 1, 2 or 4")
    if offset < 0 or offset + width > 4096 or offset % width:
        raise ValueError(f"config access at 0x{offset:x} width {width}: out of range or unaligned")
