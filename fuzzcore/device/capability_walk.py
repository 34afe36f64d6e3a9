"""Walk the standard and extended capability lists of a config image the way the kernel does.

Mirrors PCI_FIND_NEXT_CAP / PCI_FIND_NEXT_EXT_CAP (drivers/pci/pci.h) as used by
pci_find_capability() and pci_find_next_ext_capability() (drivers/pci/pci.c):

- standard list: only when Status.CapList is set; start pointer at 0x34 (0x14 for CardBus,
  __pci_bus_find_cap_start); stop on a pointer below 0x40 or an ID of 0xff; pointers are
  aligned down to a dword; at most PCI_FIND_CAP_TTL (48) entries.
- extended list: from 0x100, only when the image is 4 KiB (dev->cfg_size); stop on a zero
  header, a next pointer below 0x100, or after (4096-256)/8 entries; next = header[31:20] & 0xffc.

The kernel bounds loops with a TTL; we also stop on the first repeat so that the table lists
each capability once, and report it. All-ones headers (a device that does not answer) end the
walk too. Every anomaly is a warning with its offset; the walk never raises and never loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .capability_ids import PCI_CAP_ID_EXP, cap_name

PCI_STD_HEADER_SIZEOF = 0x40
PCI_CFG_SPACE_SIZE = 0x100
PCI_CFG_SPACE_EXP_SIZE = 0x1000
PCI_FIND_CAP_TTL = 48
EXT_CAP_TTL = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) // 8
PCI_STATUS_CAP_LIST = 0x10


@dataclass(frozen=True)
class Capability:
    """One entry of a capability list."""

    cap_id: int
    extended: bool
    offset: int
    version: int = 0  # extended capabilities only

    @property
    def name(self) -> str:
        return cap_name(self.cap_id, self.extended)

    def key(self) -> tuple[int, bool]:
        return (self.cap_id, self.extended)


@dataclass(frozen=True)
class WalkWarning:
    offset: int
    message: str

    def __str__(self) -> str:
        return f"0x{self.offset:03x}: {self.message}"


@dataclass
class WalkResult:
    standard: list[Capability] = field(default_factory=list)
    extended: list[Capability] = field(default_factory=list)
    warnings: list[WalkWarning] = field(default_factory=list)
    truncated: bool = False

    @property
    def all(self) -> list[Capability]:
        return self.standard + self.extended

    def find(self, cap_id: int, extended: bool) -> Capability | None:
        """First capability with this ID, as pci_find_(ext_)capability returns."""
        for cap in self.extended if extended else self.standard:
            if cap.cap_id == cap_id:
                return cap
        return None

    def find_all(self, cap_id: int, extended: bool) -> list[Capability]:
        return [c for c in (self.extended if extended else self.standard) if c.cap_id == cap_id]


def _u8(img, off: int) -> int:
    return int(img[off])


def _u16(img, off: int) -> int:
    return int(img[off]) | (int(img[off + 1]) << 8)


def _u32(img, off: int) -> int:
    return _u16(img, off) | (_u16(img, off + 2) << 16)


def walk_standard(img, result: WalkResult) -> None:
    """pci_find_capability: the list hanging off the Capabilities Pointer."""
    size = len(img)
    if size < PCI_STD_HEADER_SIZEOF:
        return
    if not _u16(img, 0x06) & PCI_STATUS_CAP_LIST:
        return
    header_type = _u8(img, 0x0E) & 0x7F
    start = 0x14 if header_type == 2 else 0x34
    pos = _u8(img, start)
    seen: set[int] = set()
    ttl = PCI_FIND_CAP_TTL
    while ttl > 0:
        ttl -= 1
        if pos < PCI_STD_HEADER_SIZEOF:
            if pos != 0:
                result.warnings.append(WalkWarning(pos, "standard capability pointer below 0x40 ends the list"))
            return
        if pos & 3:
            result.warnings.append(WalkWarning(pos, "standard capability pointer not dword aligned; aligned down"))
        pos &= ~3
        if pos + 2 > size:
            result.warnings.append(WalkWarning(pos, "standard capability pointer beyond the dump"))
            return
        if pos in seen:
            result.warnings.append(WalkWarning(pos, "standard capability list loops back here; walk stopped"))
            return
        seen.add(pos)
        cap_id = _u8(img, pos)
        if cap_id == 0xFF:
            result.warnings.append(WalkWarning(pos, "standard capability ID 0xff (device not answering?) ends the list"))
            return
        result.standard.append(Capability(cap_id, False, pos))
        pos = _u8(img, pos + 1)
    result.warnings.append(WalkWarning(pos, f"standard capability list longer than {PCI_FIND_CAP_TTL} entries; walk stopped"))


def walk_extended(img, result: WalkResult) -> None:
    """pci_find_next_ext_capability: the list from 0x100 (4 KiB config space only)."""
    size = len(img)
    is_pcie = any(c.cap_id == PCI_CAP_ID_EXP for c in result.standard)
    if size <= PCI_CFG_SPACE_SIZE:
        if is_pcie:
            result.truncated = True
            result.warnings.append(WalkWarning(
                PCI_CFG_SPACE_SIZE,
                f"PCIe device dumped with only {size} bytes: extended capabilities 0x100-0xfff are missing (truncated)"))
        return
    pos = PCI_CFG_SPACE_SIZE
    prev = None
    seen: set[int] = set()
    ttl = EXT_CAP_TTL
    while ttl > 0 and pos >= PCI_CFG_SPACE_SIZE:
        ttl -= 1
        if pos in seen:
            result.warnings.append(WalkWarning(pos, f"extended capability list loops back here from 0x{prev:03x}; walk stopped"))
            return
        seen.add(pos)
        header = _u32(img, pos)
        if header == 0:
            return
        if header == 0xFFFFFFFF:
            result.warnings.append(WalkWarning(pos, "extended capability header reads all-ones; walk stopped"))
            return
        cap_id = header & 0xFFFF
        version = (header >> 16) & 0xF
        nxt = (header >> 20) & 0xFFC
        if cap_id == 0:
            result.warnings.append(WalkWarning(
                pos, f"extended capability header has ID 0 / version {version} but next pointer 0x{nxt:03x}; followed"))
        if prev is not None and pos < prev:
            result.warnings.append(WalkWarning(pos, f"non-ascending extended capability link 0x{prev:03x} -> 0x{pos:03x}"))
        result.extended.append(Capability(cap_id, True, pos, version))
        prev = pos
        if nxt and nxt < PCI_CFG_SPACE_SIZE:
            result.warnings.append(WalkWarning(pos, f"extended capability next pointer 0x{nxt:03x} below 0x100 ends the list"))
        pos = nxt
    if ttl == 0 and pos >= PCI_CFG_SPACE_SIZE:
        result.warnings.append(WalkWarning(pos, "extended capability list too long; walk stopped"))


def walk_capabilities(img) -> WalkResult:
    """Walk both lists of a config image (bytes, bytearray or uint8 array of 64, 256 or 4096 bytes)."""
    result = WalkResult()
    walk_standard(img, result)
    walk_extended(img, result)
    return result
