"""The kernel's live flags and the hardware enable bits they stand for: one table, read by the
oracle (live_flag_mismatch), the abstract state, and the `live_flag` gates of save/restore steps."""

from __future__ import annotations

# (name, capability attribute in CapOffsets, kernel flag, register offset, width, enable mask)
FEATURE_ENABLES = (
    ("MSI", "msi", lambda d: d.msi_enabled, 0x02, 2, 0x0001),
    ("MSI-X", "msix", lambda d: d.msix_enabled, 0x02, 2, 0x8000),
    ("TPH", "tph", lambda d: d.tph_enabled, 0x08, 4, 0x0300),
    ("ATS", "ats", lambda d: d.ats_enabled, 0x06, 2, 0x8000),
    ("PASID", "pasid", lambda d: d.pasid_enabled, 0x06, 2, 0x0001),
    ("PRI", "pri", lambda d: d.pri_enabled, 0x04, 2, 0x0001),
    # PTM: on while counted, except between pci_suspend_ptm and pci_resume_ptm (system sleep,
    # runtime suspend), when the kernel turns it off on purpose
    ("PTM", "ptm", lambda d: d.ptm_enable_cnt > 0 and not d.ptm_suspended, 0x08, 4, 0x0001),
    ("SR-IOV", "sriov", lambda d: d.sriov_num_vfs > 0, 0x08, 2, 0x0001),
)


def feature_pairs(m):
    """(name, kernel flag, hardware bit) for each feature the device has; [] while inaccessible."""
    hw = m.state.hw
    if not hw.accessible:
        return []
    dev, caps = m.state.dev, m.caps
    out = []
    for name, attr, flag, reg, width, mask in FEATURE_ENABLES:
        off = getattr(caps, attr)
        if off:
            out.append((name, bool(flag(dev)), bool(hw.read(off + reg, width) & mask)))
    return out


# The flag a save or restore step's `live_flag` gate reads (pci_save_tph_state and
# pci_restore_tph_state test tph_enabled, ...); steps not listed have no flag and always run.
STEP_FLAGS = {
    "pasid": lambda d: d.pasid_enabled,
    "pri": lambda d: d.pri_enabled,
    "ats": lambda d: d.ats_enabled,
    "ptm": lambda d: d.ptm_enable_cnt > 0,
    "tph": lambda d: d.tph_enabled,
    "msi": lambda d: d.msi_enabled or d.msix_enabled,
    "iov": lambda d: d.sriov_num_vfs > 0 or d.sriov_ctrl != 0,
}


def gate_open(gate: str, step_name: str, dev) -> bool:
    """A policy gate: always, never, or the step's live flag."""
    if gate == "never":
        return False
    if gate == "live_flag":
        return STEP_FLAGS.get(step_name, lambda d: True)(dev)
    return True
