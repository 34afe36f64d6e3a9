"""Capability IDs and names (include/uapi/linux/pci_regs.h, PCI_CAP_ID_* and PCI_EXT_CAP_ID_*).

Data, not code: the walker, the register semantics and `device show` all look names up here.
"""

# Standard capabilities (linked from config offset 0x34).
STD_CAP_NAMES = {
    0x01: "PM",
    0x02: "AGP",
    0x03: "VPD",
    0x04: "SlotID",
    0x05: "MSI",
    0x06: "CHSWP",
    0x07: "PCI-X",
    0x08: "HT",
    0x09: "Vendor",
    0x0A: "DebugPort",
    0x0B: "CCRC",
    0x0C: "SHPC",
    0x0D: "SSVID",
    0x0E: "AGP3",
    0x0F: "SecDev",
    0x10: "PCIe",
    0x11: "MSI-X",
    0x12: "SATA",
    0x13: "AF",
    0x14: "EA",
}

# Extended capabilities (linked from config offset 0x100).
EXT_CAP_NAMES = {
    0x00: "NULL",
    0x01: "AER",
    0x02: "VC",
    0x03: "DSN",
    0x04: "PwrBudget",
    0x05: "RCLD",
    0x06: "RCILC",
    0x07: "RCEC-EP",
    0x08: "MFVC",
    0x09: "VC9",
    0x0A: "RCRB",
    0x0B: "VSEC",
    0x0C: "CAC",
    0x0D: "ACS",
    0x0E: "ARI",
    0x0F: "ATS",
    0x10: "SR-IOV",
    0x11: "MRIOV",
    0x12: "MCAST",
    0x13: "PRI",
    0x14: "AMD-XXX",
    0x15: "ReBAR",
    0x16: "DPA",
    0x17: "TPH",
    0x18: "LTR",
    0x19: "SecPCIe",
    0x1A: "PMUX",
    0x1B: "PASID",
    0x1C: "LNR",
    0x1D: "DPC",
    0x1E: "L1SS",
    0x1F: "PTM",
    0x20: "M-PCIe",
    0x21: "FRS",
    0x22: "RTR",
    0x23: "DVSEC",
    0x24: "VF-ReBAR",
    0x25: "DLNK",
    0x26: "16GT",
    0x27: "LMR",
    0x28: "HIER-ID",
    0x29: "NPEM",
    0x2A: "32GT",
    0x2E: "DOE",
    0x30: "IDE",
    0x31: "64GT",
}

# Standard capability IDs used by name elsewhere.
PCI_CAP_ID_PM = 0x01
PCI_CAP_ID_MSI = 0x05
PCI_CAP_ID_PCIX = 0x07
PCI_CAP_ID_EXP = 0x10
PCI_CAP_ID_MSIX = 0x11
PCI_CAP_ID_AF = 0x13

# Extended capability IDs used by name elsewhere.
PCI_EXT_CAP_ID_ERR = 0x01
PCI_EXT_CAP_ID_VC = 0x02
PCI_EXT_CAP_ID_MFVC = 0x08
PCI_EXT_CAP_ID_VC9 = 0x09
PCI_EXT_CAP_ID_ACS = 0x0D
PCI_EXT_CAP_ID_ARI = 0x0E
PCI_EXT_CAP_ID_ATS = 0x0F
PCI_EXT_CAP_ID_SRIOV = 0x10
PCI_EXT_CAP_ID_PRI = 0x13
PCI_EXT_CAP_ID_REBAR = 0x15
PCI_EXT_CAP_ID_TPH = 0x17
PCI_EXT_CAP_ID_LTR = 0x18
PCI_EXT_CAP_ID_PASID = 0x1B
PCI_EXT_CAP_ID_DPC = 0x1D
PCI_EXT_CAP_ID_L1SS = 0x1E
PCI_EXT_CAP_ID_PTM = 0x1F


def cap_name(cap_id: int, extended: bool) -> str:
    table = EXT_CAP_NAMES if extended else STD_CAP_NAMES
    return table.get(cap_id, f"{'ext-' if extended else ''}0x{cap_id:02x}")
