"""What the kernel saves and restores for each capability (kernel.md §1.2, §2, §3).

Data for `fuzzcore device show`: one row per capability the restore path touches. The key is
(capability ID, extended). Text is ours, describing drivers/pci behaviour in v7.1.3.
"""

# (id, extended): (save: what pci_save_state copies, restore: what pci_restore_state writes and from where)
KERNEL_HANDLING = {
    (0x01, False): ("nothing (PMCSR is not saved)",
                    "not restored; pci_power_up writes PowerState, pci_restore_bars re-writes BARs"),
    (0x05, False): ("nothing", "pci_restore_msi_state: from live MSI descriptors when msi_enabled"),
    (0x07, False): ("pci_save_pcix_state: PCI-X Command", "pci_restore_pcix_state: from the save buffer"),
    (0x10, False): ("pci_save_pcie_state: DEVCTL LNKCTL SLTCTL RTCTL DEVCTL2 LNKCTL2 (SLTCTL2 as 0)",
                    "pci_restore_pcie_state: from the save buffer, step 1"),
    (0x11, False): ("nothing", "pci_restore_msix_state: Control by config, table by MMIO, from live descriptors"),
    (0x13, False): ("nothing", "not restored (AF FLR is a reset method)"),
    (0x01, True): ("pci_save_aer_state: masks, severity, cap/control (+ root error command)",
                   "pci_aer_clear_status then pci_restore_aer_state: from the save buffer, steps 10-11"),
    (0x02, True): ("pci_save_vc_state: port VC control, arbitration tables, resource control",
                   "pci_restore_vc_state: from the save buffer, step 5"),
    (0x08, True): ("pci_save_vc_state (MFVC)", "pci_restore_vc_state: step 5"),
    (0x09, True): ("pci_save_vc_state (VC9)", "pci_restore_vc_state: step 5"),
    (0x0D, True): ("nothing", "pci_enable_acs: re-derived from hardware + policy, step 15"),
    (0x0E, True): ("nothing", "ARI Capable Hierarchy rewritten by sriov_restore_state (PF)"),
    (0x0F, True): ("nothing", "pci_restore_ats_state: from live ats_enabled/ats_stu, step 4"),
    (0x10, True): ("nothing", "pci_restore_iov_state: from live dev->sriov, step 16"),
    (0x13, True): ("nothing", "pci_restore_pri_state: from live pri_enabled/pri_reqs_alloc, step 3"),
    (0x15, True): ("nothing", "pci_restore_rebar_state: BAR Size from live resource size, step 6"),
    (0x17, True): ("pci_save_tph_state: Control + ST table, only while tph_enabled",
                   "pci_restore_tph_state: from the save buffer, only while tph_enabled, step 9"),
    (0x18, True): ("pci_save_ltr_state: max snoop/no-snoop latency dword",
                   "pci_restore_ltr_state: from the save buffer, inside step 1"),
    (0x1B, True): ("nothing", "pci_restore_pasid_state: from live pasid_enabled/pasid_features, step 2"),
    (0x1D, True): ("pci_save_dpc_state: DPC Control (buffer only once portdrv DPC binds)",
                   "pci_restore_dpc_state: from the save buffer, step 7"),
    (0x1E, True): ("pci_save_aspm_l1ss_state: CTL2, CTL1 of child and parent",
                   "pci_restore_aspm_l1ss_state: parent then child, inside step 1"),
    (0x1F, True): ("pci_save_ptm_state: PTM Control", "pci_restore_ptm_state: from the save buffer, step 8"),
}


def handling(cap_id: int, extended: bool) -> tuple[str, str]:
    return KERNEL_HANDLING.get((cap_id, extended), ("nothing", "not restored (opaque to the model: read-only)"))
