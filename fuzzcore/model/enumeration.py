"""The device as enumeration leaves it, before any driver binds.

A dump is usually taken with a driver bound, so it shows enables that a driver owns. fuzzcore
starts from the state after enumeration: what the PCI core does at probe is applied
(pci_msi_init / pci_msix_init clear MSI and MSI-X Enable, drivers/pci/msi/pcidev_msi.c), and
the driver- or IOMMU-owned enables (TPH Requester, ATS, PASID, PRI, PTM, SR-IOV VF Enable and
NumVFs) are cleared, as a boot with no driver leaves these RW, default-0 registers. Firmware and
enumeration settings (BARs, Command, DEVCTL/DEVCTL2 including LTR Enable, ASPM, L1SS, AER masks)
are kept as dumped; pci_configure_ltr's result is read back into ltr_path. Bus Master is a
driver's (pci_set_master at probe), so an endpoint's is cleared too: the snapshot
pci_bus_add_device takes comes before any driver sets it. A port keeps it (portdrv is bound)."""

from __future__ import annotations

CLEARS = (  # (cap attribute, register offset, width, bits to clear); "header": offset 0
    ("header", 0x04, 2, 0x0004),
    ("msi", 0x02, 2, 0x0001),
    ("msix", 0x02, 2, 0x8000),
    ("tph", 0x08, 4, 0x0300),
    ("ats", 0x06, 2, 0x8000),
    ("pasid", 0x06, 2, 0x0001),
    ("pri", 0x04, 2, 0x0001),
    ("ptm", 0x08, 4, 0x0001),
    ("sriov", 0x08, 2, 0x0009),
    ("sriov", 0x10, 2, 0xFFFF),
)


def enumerate_function(hw, caps, dev, endpoint: bool = True) -> None:
    """Apply the probe-time clears to `hw` (a ConfigSpace) and set `dev.ltr_path`."""
    for attr, reg, width, bits in CLEARS:
        off = 0 if attr == "header" else getattr(caps, attr)
        if attr != "header" and not off or not endpoint and attr in ("ptm", "header"):
            continue
        v = hw.read(off + reg, width)
        if v & bits:
            hw.write(off + reg, width, v & ~bits)
    if caps.exp:
        dev.ltr_path = bool(hw.read(caps.exp + 0x28, 2) & 0x400)
