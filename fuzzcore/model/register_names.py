"""Readable names for config offsets in traces: header registers by name, capability registers
as CAP+0xREL (NAME)."""

from __future__ import annotations

HEADER = {0x00: "Vendor/Device", 0x04: "Command", 0x06: "Status", 0x08: "Class/Rev", 0x0C: "CacheLine/Lat",
          0x10: "BAR0", 0x14: "BAR1", 0x18: "BAR2", 0x1C: "BAR3", 0x20: "BAR4", 0x24: "BAR5",
          0x2C: "Subsystem", 0x30: "ROM BAR", 0x34: "CapPtr", 0x3C: "IntLine/Pin", 0x3E: "BridgeCtl"}
# a type 1 (bridge) header from 0x18 on
BRIDGE_HEADER = {**{k: v for k, v in HEADER.items() if k < 0x18}, 0x18: "Bus Numbers", 0x1C: "I/O Base/Limit",
                 0x1E: "Secondary Status", 0x20: "Memory Base/Limit", 0x24: "Pref Base/Limit",
                 0x28: "Pref Base Upper", 0x2C: "Pref Limit Upper", 0x30: "I/O Upper", 0x34: "CapPtr",
                 0x38: "ROM BAR", 0x3C: "IntLine/Pin", 0x3E: "BridgeCtl"}

CAP_REGS = {
    "PM": {0x04: "PMCSR"},
    "MSI": {0x02: "MsgCtl", 0x04: "AddrLo", 0x08: "AddrHi/Data", 0x0C: "Data/Mask", 0x10: "Mask"},
    "MSI-X": {0x02: "MsgCtl"},
    "PCIe": {0x08: "DEVCTL", 0x0A: "DEVSTA", 0x10: "LNKCTL", 0x18: "SLTCTL", 0x1C: "RTCTL", 0x28: "DEVCTL2",
             0x30: "LNKCTL2"},
    "AER": {0x04: "UncorStatus", 0x08: "UncorMask", 0x0C: "UncorSev", 0x10: "CorStatus", 0x14: "CorMask",
            0x18: "CapCtl", 0x2C: "RootCmd", 0x30: "RootStatus"},
    "TPH": {0x08: "Control"}, "ATS": {0x06: "Control"}, "PASID": {0x06: "Control"},
    "PRI": {0x04: "Control", 0x0C: "Alloc"}, "PTM": {0x08: "Control"}, "LTR": {0x04: "Latency"},
    "L1SS": {0x08: "CTL1", 0x0C: "CTL2"}, "ACS": {0x06: "Control"}, "DPC": {0x06: "Control"},
    "SR-IOV": {0x08: "Control", 0x10: "NumVFs", 0x20: "PageSize"}, "ReBAR": {0x08: "Control0"},
    "VC": {0x0C: "PortVCCtl"},
}


def register_name(profile, offset: int) -> str:
    offset = int(offset)
    base = offset & ~3
    if offset < 0x40:
        header = BRIDGE_HEADER if profile.header_type == 1 else HEADER
        return header.get(offset, header.get(base, f"0x{offset:03x}"))
    best = None
    for cap in profile.walk.all:
        if cap.offset <= offset and (best is None or cap.offset > best.offset):
            best = cap
    if best is None:
        return f"0x{offset:03x}"
    rel = offset - best.offset
    reg = CAP_REGS.get(best.name, {}).get(rel)
    return f"{best.name}+0x{rel:02x}" + (f" ({reg})" if reg else "")
