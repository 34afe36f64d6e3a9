"""What each op argument means, for `fuzzcore ops` and docs/ops.md.

Kept beside the op table (op_table.py) rather than in it so the table stays one row per op; a test
(tests/test_reference_docs.py) fails when an op's argument has no entry here, so a new op cannot
ship undocumented. Domains come from the table itself; this says what a value *means*."""

from __future__ import annotations

ARG_MEANINGS: dict[tuple[str, str], str] = {
    ("pci_reset_function", "method"):
        "the reset method, as written to sysfs reset_method: auto tries the device's methods in "
        "pci_reset_fn_methods[] order; flr, pm and bus name one (a method the device lacks fails)",
    ("pcie_do_recovery", "channel"):
        "pci_channel_state_t: normal (pci_channel_io_normal, a non-fatal error) or frozen "
        "(pci_channel_io_frozen, a fatal error: the link is reset)",
    ("pcie_do_recovery", "vote"):
        "what the bound driver's error_detected() returns (PCI_ERS_RESULT_CAN_RECOVER, NEED_RESET, "
        "DISCONNECT), or no_aer_driver: the driver has no err_handler",
    ("pcie_do_recovery", "source"):
        "who reports the error: aer (aer_root_reset resets the link) or dpc (the port's DPC "
        "already contained it: dpc_reset_link)",
    ("pci_set_power_state", "state"): "the target power state (PCI_D0, PCI_D3hot, PCI_D3cold)",
    ("pm_system_sleep", "transition"):
        "s2idle (mem_sleep s2idle: pm_suspend_no_platform()), deep (S3: the firmware resumes, "
        "pm_resume_via_firmware()), hibernate_thaw (PMSG_FREEZE, then PMSG_THAW: the kernel goes on "
        "after making the image), hibernate_restore (PMSG_FREEZE, power off, PMSG_RESTORE in the image "
        "kernel)",
    ("pm_system_sleep", "power"):
        "kept: the function stays powered (D3hot keeps its context); lost: the platform removed its "
        "power while the system slept (registers at power-on values, as in D3cold); "
        "hibernate_restore always loses it, hibernate_thaw never",
    ("pci_assign_bar", "bar"): "the BAR index 0-5 (a BAR the device lacks: nothing happens)",
    ("pci_assign_bar", "slot"):
        "which of four alternative bus addresses the resource moves to (an index, not an address)",
    ("pci_enable_msix", "nvec"): "vectors to allocate minus one: nvec=0 asks for one vector",
    ("pci_enable_tph", "mode"):
        "the TPH ST mode: no_st (PCI_TPH_ST_NS_MODE), int_vec (interrupt vector mode), "
        "dev_spec (device-specific mode)",
    ("pci_enable_ats", "stu"): "Smallest Translation Unit as a shift: the STU is 2^(12+stu) bytes",
    ("pci_enable_pasid", "features"):
        "PASID feature bits: bit 0 Execute, bit 1 Privileged (a bit the device does not support "
        "makes pci_enable_pasid fail)",
    ("pci_enable_pri", "reqs"): "outstanding page requests to allocate, as a shift: 32 << reqs",
    ("pci_enable_sriov", "num_vfs"): "VFs to enable minus one: num_vfs=1 enables two VFs",
    ("pci_resize_bar", "size"):
        "an index into the first resizable BAR's supported sizes (smallest first), not a size",
    ("pci_bind_driver", "driver"):
        "the driver to bind after unbinding the current one: none, a host driver, or vfio-pci",
    ("vfio_config_write", "offset"): "byte offset in config space (0x000-0xfff)",
    ("vfio_config_write", "width"): "access width in bytes (1, 2 or 4)",
    ("vfio_config_write", "value"): "the value written (truncated to the width)",
    ("vfio_set_irqs", "index"):
        "VFIO_PCI_*_IRQ_INDEX: none disables every interrupt, intx, msi or msix enables that kind",
    ("vfio_set_irqs", "count"): "vectors to enable minus one (count=0: one vector)",
    ("vfio_bar_rw", "bar"): "the BAR region index 0-5 (unassigned, absent or the upper half of a 64-bit BAR: -EINVAL)",
    ("vfio_bar_rw", "access"): "read (pread) or write (pwrite of zero) of the BAR's last dword",
    ("vfio_low_power", "action"): "entry (LOW_POWER_ENTRY), entry_wakeup (LOW_POWER_ENTRY_WITH_WAKEUP, "
                                  "with an eventfd) or exit (LOW_POWER_EXIT)",
}
