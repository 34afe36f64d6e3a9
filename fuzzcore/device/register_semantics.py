"""Register semantics of a 4 KiB config image: write masks, sticky bits and per-reset defaults.

QEMU-style (hw/pci/pci.c): the config bytes come with parallel uint8[4096] masks, and one generic
write path uses them (implemented by the engine):

    new = (old & ~wmask) | (val & wmask);  new &= ~(val & w1cmask)

Resets are data too: for each reset kind, `keep[kind]` holds the bits that the reset leaves as
they are, and every other bit takes `default[kind]`:

    reset_image(kind, current) = (current & keep[kind]) | (default[kind] & ~keep[kind])

Reset kinds (kernel.md §7.2): "flr" (Function Level Reset), "hot" (hot reset / link down / SBR),
"soft" (D3hot->D0 with NoSoftRst = 0; whether that transition resets at all is the engine's
decision), "cold" (D3cold / fundamental reset, no Aux power).

- RO and HwInit bits are kept by every kind (their value is the image's). The one exception is
  PRI Status.Stopped: RO to software, but every reset sets it, so it is not kept and defaults 1.
- Non-sticky RW / RW1C bits go to their default (0 unless the table says otherwise: DEVCTL
  0x2810, VC0 TC/VC map 0xff, SR-IOV System Page Size 4 KiB, LNKCTL2 Target Link Speed = Max
  Link Speed, ReBAR size = the image's size).
- Sticky bits (RWS / RW1CS / ROS) are kept by flr, hot and soft; cold resets them.
- Link-related fields and all VC registers are kept by flr and soft (inferred for soft), reset by
  hot and cold. PME_En / PME_Status without PME-from-D3cold are kept by soft only.

Which bits exist comes from the tables in `register_tables` (one per capability); capabilities
without a table (DSN, VSEC, DVSEC, Power Budgeting, VPD, vendor-specific, ...) and every byte no
table covers are opaque and read-only.

Modelling choices worth knowing (details next to each table row):
- self-clearing action bits (Initiate FLR, Retrain Link, PRI Reset, VC Load Table, DPC SW
  Trigger, Slot EIC) are not in wmask: they read 0 and the engine traps the write;
- optional enables follow their capability bit (DEVCTL Ext Tag / Phantom, DEVCTL2 fields vs
  DEVCAP2, LNKCTL CLKREQ_EN / LBMIE / LABIE / LNKSTA LBMS / LABS, AER ECRC, ACS, PASID, ARI,
  L1SS, PTM Root Select, DPC, SR-IOV migration and page size);
- on PCIe functions Latency Timer and Secondary Latency Timer are RO 0; DEVCTL Aux Power PM
  Enable is RWS; DPC Trigger/Interrupt Status are RW1CS; L1SS Control is not an FLR exception;
- MSI mask bits are 32 bits wide whatever the vector count; VF BARs are sized 16 KiB; the
  ReBAR reset size is the size the image holds; MSI address/data reset to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .capability_walk import WalkResult
from .capability_ids import PCI_CAP_ID_EXP
from .register_tables import (
    EXT_CAPS, HEADER_OTHER, HEADER_TYPE0, HEADER_TYPE1, RESET_KINDS, STD_CAPS, STICKY_KEPT,
    CapSpec, Ctx, F,
)

__all__ = ["RESET_KINDS", "BarInfo", "RegisterSemantics", "build_semantics"]

CONFIG_SIZE = 4096
BAR_KINDS = ("mem32", "mem64", "io", "none")


@dataclass(frozen=True)
class BarInfo:
    index: int          # 0..5
    kind: str           # "mem32" | "mem64" | "io" | "none"   (mem64 occupies index and index+1)
    size: int           # bytes, power of two (0 for none)
    prefetchable: bool = False
    address: int = 0    # a VF's BAR: the address its PF's VF BAR gives it (the register reads 0)

    def __post_init__(self) -> None:
        if self.kind not in BAR_KINDS:
            raise ValueError(f"BAR{self.index}: unknown kind {self.kind!r}")
        last = self.index + (1 if self.kind == "mem64" else 0)
        if not 0 <= self.index <= last <= 5:
            raise ValueError(f"BAR{self.index}: index out of range for a {self.kind} BAR")
        if self.kind == "none":
            return
        minimum = 4 if self.kind == "io" else 16
        if self.size < minimum or self.size & (self.size - 1):
            raise ValueError(f"BAR{self.index}: size {self.size:#x} is not a power of two >= {minimum}")


@dataclass
class RegisterSemantics:
    wmask: np.ndarray    # uint8[4096]: bits software may write (plain RW)
    w1cmask: np.ndarray  # uint8[4096]: RW1C bits (write 1 clears)
    sticky: np.ndarray   # uint8[4096]: sticky bits (RWS / RW1CS / ROS) – kept by FLR, hot, soft
    readonly: np.ndarray  # uint8[4096]: ~(wmask|w1cmask) for bytes inside known registers
    keep: dict[str, np.ndarray]     # per reset kind: bits that reset leaves unchanged
    default: dict[str, np.ndarray]  # per reset kind: value taken by every bit NOT in keep

    def reset_image(self, kind: str, current: np.ndarray) -> np.ndarray:
        """The config image after a reset of `kind`: (current & keep) | (default & ~keep)."""
        if kind not in RESET_KINDS:
            raise ValueError(f"unknown reset kind {kind!r}; expected one of {RESET_KINDS}")
        keep = self.keep[kind]
        cur = np.asarray(current, dtype=np.uint8)
        return (cur & keep) | (self.default[kind] & ~keep)


class _Builder:
    """Accumulates rows into the masks; a later row redefines the bits it covers."""

    def __init__(self) -> None:
        z = lambda: np.zeros(CONFIG_SIZE, dtype=np.uint8)  # noqa: E731
        self.wmask, self.w1c, self.sticky, self.known = z(), z(), z(), z()
        self.keep = {k: np.full(CONFIG_SIZE, 0xFF, dtype=np.uint8) for k in RESET_KINDS}
        self.default = {k: z() for k in RESET_KINDS}

    def mark_known(self, start: int, length: int) -> None:
        self.known[max(start, 0):min(start + length, CONFIG_SIZE)] = 0xFF

    def apply(self, ctx: Ctx, base: int, row: F, cap_kept: frozenset) -> None:
        if row.when is not None and not row.when(ctx, base):
            return
        self.mark_known(base + row.off, row.width)
        if not row.resets:
            return
        mask = row.mask
        if row.mask_from is not None:
            off, shift = row.mask_from
            mask &= ctx.dword(base + off) << shift
        default = row.default
        if row.default_from is not None:
            off, shift = row.default_from
            default = ctx.dword(base + off) >> shift
        default &= mask
        kept = (STICKY_KEPT if row.sticky else frozenset()) | row.kept_by | cap_kept
        for i in range(row.width):
            addr = base + row.off + i
            m = (mask >> (8 * i)) & 0xFF
            if not m or addr >= CONFIG_SIZE:
                continue
            d = (default >> (8 * i)) & 0xFF
            self._set(self.wmask, addr, m, row.access == "RW")
            self._set(self.w1c, addr, m, row.access == "RW1C")
            self._set(self.sticky, addr, m, row.sticky)
            for kind in RESET_KINDS:
                self._set(self.keep[kind], addr, m, kind in kept)
                self.default[kind][addr] = (int(self.default[kind][addr]) & ~m) | d

    @staticmethod
    def _set(arr: np.ndarray, addr: int, m: int, on: bool) -> None:
        arr[addr] = (int(arr[addr]) | m) if on else (int(arr[addr]) & ~m & 0xFF)

    def apply_spec(self, ctx: Ctx, base: int, spec: CapSpec, header_len: int) -> None:
        size = spec.size(ctx, base) if callable(spec.size) else spec.size
        self.mark_known(base, max(size, header_len))
        rows = list(spec.fields) + (spec.expand(ctx, base) if spec.expand else [])
        for row in rows:
            self.apply(ctx, base, row, spec.kept_by)

    def result(self) -> RegisterSemantics:
        readonly = self.known & ~(self.wmask | self.w1c)
        return RegisterSemantics(self.wmask, self.w1c, self.sticky, readonly,
                                 self.keep, self.default)


def _as_image(image) -> np.ndarray:
    img = np.frombuffer(bytes(image), dtype=np.uint8) if not isinstance(image, np.ndarray) \
        else image.astype(np.uint8, copy=False)
    if img.size > CONFIG_SIZE:
        raise ValueError(f"config image of {img.size} bytes is larger than {CONFIG_SIZE}")
    if img.size < CONFIG_SIZE:
        img = np.concatenate([img, np.zeros(CONFIG_SIZE - img.size, dtype=np.uint8)])
    return img


def build_semantics(image, walk: WalkResult, bars: list[BarInfo], rom_size: int,
                    header_type: int | None = None, virtfn: bool = False) -> RegisterSemantics:
    """Masks and reset tables for `image` (uint8[4096]; shorter images are zero-padded).

    `walk` is the capability walk of the same image, `bars` the implemented BARs (missing
    indices are unimplemented: read-only), `rom_size` the Expansion ROM size (0: no ROM BAR),
    `header_type` overrides PCI_HEADER_TYPE & 0x7f from the image; `virtfn` makes it an SR-IOV
    VF's (Command's decode bits and the BARs read-only zero).
    """
    if rom_size < 0 or (rom_size and (rom_size & (rom_size - 1) or rom_size < 2048)):
        raise ValueError(f"ROM size {rom_size:#x} is not 0 or a power of two >= 2 KiB")
    img = _as_image(image)
    htype = (int(img[0x0E]) if header_type is None else header_type) & 0x7F
    pcie = walk.find(PCI_CAP_ID_EXP, False)
    port = version = None
    if pcie is not None:
        flags = int(img[pcie.offset + 2]) | (int(img[pcie.offset + 3]) << 8)  # PCI_EXP_FLAGS
        port, version = (flags >> 4) & 0xF, flags & 0xF
    ctx = Ctx(img, htype, port, version or 0, tuple(bars), rom_size, virtfn)

    b = _Builder()
    # CardBus and unknown layouts: only the registers common to every header
    b.apply_spec(ctx, 0, {0: HEADER_TYPE0, 1: HEADER_TYPE1}.get(htype, HEADER_OTHER), 0x40)
    for cap in walk.all:
        spec = (EXT_CAPS if cap.extended else STD_CAPS).get(cap.cap_id)
        hdr_len = 4 if cap.extended else 2
        if spec is None:
            b.mark_known(cap.offset, hdr_len)   # the header is known; the body stays opaque
            continue
        b.apply_spec(ctx, cap.offset, spec, hdr_len)
    return b.result()
