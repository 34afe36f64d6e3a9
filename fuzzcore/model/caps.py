"""Capability offsets the kernel caches in `struct pci_dev` (pm_cap, msix_cap, aer_cap, ...),
found once from a device profile's walk, and the register-presence rules that depend on them."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


@dataclass
class CapOffsets:
    pm: int = 0
    msi: int = 0
    msix: int = 0
    exp: int = 0
    pcix: int = 0
    aer: int = 0
    acs: int = 0
    ari: int = 0
    ats: int = 0
    sriov: int = 0
    pri: int = 0
    rebar: int = 0
    tph: int = 0
    ltr: int = 0
    pasid: int = 0
    dpc: int = 0
    l1ss: int = 0
    ptm: int = 0
    vc: list = field(default_factory=list)   # [(cap_id, offset)] for MFVC, VC, VC9 in that order
    exp_type: int = 0
    exp_flags: int = 0


_STD = {0x01: "pm", 0x05: "msi", 0x11: "msix", 0x10: "exp", 0x07: "pcix"}
_EXT = {0x01: "aer", 0x0D: "acs", 0x0E: "ari", 0x0F: "ats", 0x10: "sriov", 0x13: "pri", 0x15: "rebar",
        0x17: "tph", 0x18: "ltr", 0x1B: "pasid", 0x1D: "dpc", 0x1E: "l1ss", 0x1F: "ptm"}


def cap_offsets(profile) -> CapOffsets:
    caps = CapOffsets()
    for cap in profile.walk.standard:
        name = _STD.get(cap.cap_id)
        if name and not getattr(caps, name):
            setattr(caps, name, cap.offset)
    for cap in profile.walk.extended:
        name = _EXT.get(cap.cap_id)
        if name and not getattr(caps, name):
            setattr(caps, name, cap.offset)
    # pci_save_vc_state walks MFVC, VC, VC9 in this order.
    for vc_id in (0x08, 0x02, 0x09):
        cap = profile.walk.find(vc_id, True)
        if cap:
            caps.vc.append((vc_id, cap.offset))
    if caps.exp:
        caps.exp_flags = struct.unpack_from("<H", profile.image, caps.exp + 2)[0]
        caps.exp_type = (caps.exp_flags >> 4) & 0xF
    return caps


PCI_EXP_TYPE_ROOT_PORT = 0x4
PCI_EXP_TYPE_DOWNSTREAM = 0x6
PCI_EXP_TYPE_RC_END = 0x9
PCI_EXP_TYPE_RC_EC = 0xA
PCI_EXP_FLAGS_SLOT = 0x0100


def pcie_reg_implemented(m, reg: int) -> bool:
    """pcie_capability_reg_implemented (drivers/pci/access.c) for the registers save/restore use."""
    c = m.caps
    version = c.exp_flags & 0xF
    has_lnk = c.exp_type in (0x0, 0x1, 0x4, 0x5, 0x6, 0x7, 0x8)        # pcie_cap_has_lnkctl
    downstream = c.exp_type in (0x4, 0x6, 0x8)                           # pcie_downstream_port
    has_slt = downstream and bool(c.exp_flags & PCI_EXP_FLAGS_SLOT)      # pcie_cap_has_sltctl
    has_rt = c.exp_type in (PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_RC_EC)  # pcie_cap_has_rtctl
    if reg in (0x02, 0x04, 0x08, 0x0A):
        return True
    if reg in (0x0C, 0x10, 0x12):
        return has_lnk
    if reg in (0x14, 0x18, 0x1A):
        return has_slt
    if reg in (0x1C, 0x1E, 0x20):
        return has_rt
    if reg in (0x24, 0x28):
        return version > 1
    if reg in (0x2C, 0x30, 0x32):
        return has_lnk and version > 1                                   # pcie_cap_has_lnkctl2
    return False  # SLTCTL2 and SLTCAP2: never implemented by the helper
