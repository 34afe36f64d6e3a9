"""The path vocabulary: entry points as ordered steps, and the primitives a step may call.

A **path** is an ordered list of named steps that a policy states in `[path.NAME]` (a kernel
sequence) or `[driver.CALLBACK]` (what the bound host driver's callback does). A step calls one
**primitive** with its parameters, optionally under a **condition** (`when`), and has a `gate`
("always" or "never", as restore and save steps do). Both models interpret the same steps; adding
a path needs only rows here and a baseline entry, adding a primitive needs its meaning once in
each model (fuzzcore/model/paths.py, fuzzcore/engine/_engine_paths.pxi).

Positions are ids (the compiled policy stores them): append new rows at the end.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PathDef:
    name: str            # "pci_dev_save_and_disable", "driver.slot_reset"
    upstream: str        # the kernel function (or callback) it stands for
    label: str           # the model step reports inside it name ("" = the caller's)
    reference: str
    doc: str


PATHS: tuple[PathDef, ...] = (
    PathDef("pci_dev_save_and_disable", "pci_dev_save_and_disable (drivers/pci/pci.c)",
            "pci_dev_save_and_disable", "§5.1", "before a function reset: quiesce, save, disable"),
    PathDef("pci_dev_restore", "pci_dev_restore (drivers/pci/pci.c)", "pci_dev_restore", "§5.1",
            "after a function reset: restore, then the driver's reset_done"),
    PathDef("pci_reset_function", "pci_reset_function (drivers/pci/pci.c)", "", "§5.1",
            "save and disable, the reset methods, restore (after the -ENOTTY check)"),
    PathDef("pci_reset_bus", "pci_reset_bus (drivers/pci/pci.c)", "pci_reset_bus", "§5.3",
            "save and disable, secondary bus reset, restore (after the no-port check)"),
    PathDef("driver.reset_prepare", "err_handler->reset_prepare", "", "§5.1",
            "the bound host driver, before pci_dev_save_and_disable saves"),
    PathDef("driver.reset_done", "err_handler->reset_done", "", "§5.1",
            "the bound host driver, at the end of pci_dev_restore"),
    PathDef("driver.error_detected", "err_handler->error_detected", "", "§5.4",
            "the bound host driver's vote in pcie_do_recovery (the op's vote argument)"),
    PathDef("driver.mmio_enabled", "err_handler->mmio_enabled", "", "§5.4",
            "called when error_detected voted CAN_RECOVER; its vote is merged"),
    PathDef("driver.slot_reset", "err_handler->slot_reset", "", "§5.4",
            "called after the subordinate reset when the vote was NEED_RESET; its vote is merged"),
    PathDef("driver.resume", "err_handler->resume", "", "§5.4", "called when recovery succeeded"),
    PathDef("qemu_pre_reset", "vfio_pci_pre_reset (QEMU hw/vfio/pci.c)", "vfio_pci_pre_reset", "§6.8",
            "interrupts off, Command bits cleared, D0, all through the vfio regions (after the open check)"),
    PathDef("qemu_post_reset", "vfio_pci_post_reset (QEMU hw/vfio/pci.c)", "vfio_pci_post_reset", "§6.8",
            "INTx re-armed, the six BARs zeroed through the config region (after the open check)"),
    PathDef("qemu_reset", "vfio_pci_reset (QEMU hw/vfio/pci.c)", "vfio_pci_reset", "§6.8",
            "pre-reset, the reset QEMU picks, post-reset (after the open check)"),
    PathDef("pci_pm_runtime_suspend", "rpm_suspend -> pci_pm_runtime_suspend (drivers/pci/pci-driver.c)",
            "pci_pm_runtime_suspend", "§1.4, §1.5", "runtime suspend (after the op's runtime-PM rules)"),
    PathDef("pci_pm_runtime_resume", "rpm_resume -> pci_pm_runtime_resume (drivers/pci/pci-driver.c)",
            "pci_pm_runtime_resume", "§1.4, §5.5", "runtime resume"),
    PathDef("driver.runtime_suspend", "pm->runtime_suspend", "", "§1.4",
            "the bound host driver's runtime_suspend, inside pci_pm_runtime_suspend"),
    PathDef("driver.runtime_resume", "pm->runtime_resume", "", "§1.4",
            "the bound host driver's runtime_resume, at the end of pci_pm_runtime_resume"),
    PathDef("pcie_flr", "pcie_reset_flr -> pcie_flr (drivers/pci/pci.c)", "", "§5.2",
            "the FLR reset method and its probe (condition `probe`: pci_init_reset_methods): DEVCAP FLR read at "
            "enumeration, then FLR; its result is the method's"),
    # system sleep (drivers/pci/pci-driver.c, drivers/base/power/main.c), §1.4: the op pm_system_sleep
    PathDef("pm_suspend_devices", "suspend_devices_and_enter (kernel/power/suspend.c) -> dpm_* (drivers/base/power/main.c)",
            "", "§1.4", "suspend-to-idle or -RAM for this device: prepare, the suspend phases, the platform's "
            "sleep, the resume phases, complete"),
    PathDef("pm_hibernate_thaw", "hibernation_snapshot (kernel/power/hibernate.c): freeze, image, thaw",
            "", "§1.4", "hibernation's freeze phases, then thaw (the kernel goes on after the image is made)"),
    PathDef("pm_hibernate_restore", "hibernate -> power off -> software_resume -> hibernation_restore",
            "", "§1.4", "freeze phases, the image kernel's state kept, power off, restore phases"),
    PathDef("pci_pm_suspend", "pci_pm_suspend (drivers/pci/pci-driver.c)", "pci_pm_suspend", "§1.4",
            "the suspend phase: PTM off, runtime resume, state_saved cleared, the driver's suspend"),
    PathDef("pci_pm_suspend_noirq", "pci_pm_suspend_noirq (drivers/pci/pci-driver.c)", "pci_pm_suspend_noirq",
            "§1.4", "save unless the driver did, pci_prepare_to_sleep, skip_bus_pm, unknown state"),
    PathDef("pci_pm_save_and_sleep", "pci_pm_suspend_noirq's !state_saved block (drivers/pci/pci-driver.c)",
            "", "§1.4", "pci_save_state, then pci_prepare_to_sleep"),
    PathDef("pci_pm_resume_noirq", "pci_pm_resume_noirq (drivers/pci/pci-driver.c)", "pci_pm_resume_noirq",
            "§1.4", "pci_pm_default_resume_early unless the device stayed in D0 over suspend-to-idle"),
    PathDef("pci_pm_resume", "pci_pm_resume (drivers/pci/pci-driver.c)", "pci_pm_resume", "§1.4",
            "restore again if still saved, PTM back, the driver's resume"),
    PathDef("pci_restore_standard_config", "pci_restore_standard_config (drivers/pci/pci-driver.c)", "",
            "§1.4", "current state from PMCSR, D0, pci_restore_state"),
    PathDef("pci_pm_complete", "pci_pm_complete (drivers/pci/pci-driver.c)", "pci_pm_complete", "§1.4",
            "a runtime-suspended device the firmware powered up is runtime-resumed"),
    PathDef("pci_pm_freeze", "pci_pm_freeze (drivers/pci/pci-driver.c)", "pci_pm_freeze", "§1.4",
            "hibernation: runtime resume, state_saved cleared, the driver's freeze"),
    PathDef("pci_pm_freeze_noirq", "pci_pm_freeze_noirq (drivers/pci/pci-driver.c)", "pci_pm_freeze_noirq",
            "§1.4", "save unless saved, unknown state (no power transition)"),
    PathDef("pci_pm_thaw_noirq", "pci_pm_thaw_noirq (drivers/pci/pci-driver.c)", "pci_pm_thaw_noirq", "§1.4",
            "power up, pci_restore_state"),
    PathDef("pci_pm_thaw", "pci_pm_thaw (drivers/pci/pci-driver.c)", "pci_pm_thaw", "§1.4",
            "the driver's thaw"),
    PathDef("pci_pm_restore_noirq", "pci_pm_restore_noirq (drivers/pci/pci-driver.c)", "pci_pm_restore_noirq",
            "§1.4", "pci_pm_default_resume_early: power up, pci_restore_state"),
    PathDef("pci_pm_restore", "pci_pm_restore (drivers/pci/pci-driver.c)", "pci_pm_restore", "§1.4",
            "restore again if still saved, the driver's restore"),
    PathDef("driver.pm_suspend", "pm->suspend (= ->freeze, ->poweroff)", "", "§1.4",
            "the bound host driver's system-sleep suspend (SIMPLE_DEV_PM_OPS: also freeze and poweroff)"),
    PathDef("driver.pm_resume", "pm->resume (= ->thaw, ->restore)", "", "§1.4",
            "the bound host driver's system-sleep resume (SIMPLE_DEV_PM_OPS: also thaw and restore)"),
    # vfio-pci (drivers/vfio/pci/vfio_pci_core.c), §6
    PathDef("vfio_pci_core_enable", "vfio_pci_core_enable (drivers/vfio/pci/vfio_pci_core.c)",
            "vfio_pci_core_enable", "§6.2", "open: runtime resume, enable, the reset attempt, the open-time "
            "snapshot, vconfig"),
    PathDef("vfio_pci_core_disable", "vfio_pci_core_disable (drivers/vfio/pci/vfio_pci_core.c)",
            "vfio_pci_core_disable", "§6.6", "close: D0, interrupts off, reload and restore, disable, try a "
            "bus reset, runtime suspend"),
    PathDef("vfio_pci_core_disable_restore", "vfio_pci_core_disable: reload the open-time state .. out_restore_state",
            "", "§6.6", "pci_load_and_free_saved_state, re-save on failure (or go to out: without a working "
            "reset), Command = INTx Disable, the locked reset, pci_restore_state"),
    PathDef("vfio_pci_core_disable_reset", "vfio_pci_core_disable: if (vdev->reset_works) { ... }",
            "", "§6.6", "with the bridge and device locks: __pci_reset_function_locked; needs_reset cleared "
            "when it worked"),
    PathDef("vfio_pci_dev_set_try_reset", "vfio_pci_dev_set_try_reset (drivers/vfio/pci/vfio_pci_core.c)",
            "", "§6.6", "a bus reset when the closed set needs one (one device per set in the model)"),
    PathDef("vfio_pci_ioctl_reset", "vfio_pci_ioctl_reset (drivers/vfio/pci/vfio_pci_core.c)",
            "vfio_pci_ioctl_reset", "§6.5", "VFIO_DEVICE_RESET: -EINVAL unless reset_works, D0, "
            "pci_try_reset_function"),
    PathDef("vfio_pci_dev_set_hot_reset", "vfio_pci_dev_set_hot_reset (drivers/vfio/pci/vfio_pci_core.c)",
            "vfio_pci_dev_set_hot_reset", "§6.5", "VFIO_DEVICE_PCI_HOT_RESET: every device of the set to D0, "
            "pci_reset_bus (after the no-bus-reset check)"),
    # runtime-PM references a kernel path takes and drops around its work (§1.5)
    PathDef("pm_runtime_put", "pm_runtime_put -> rpm_idle -> pci_pm_runtime_idle (drivers/pci/pci-driver.c)",
            "", "§1.5", "a kernel path's runtime-PM reference dropped: a device nobody holds active "
            "runtime-suspends again"),
    PathDef("reset_store", "reset_store (drivers/pci/pci-sysfs.c)", "", "§5.1",
            "the sysfs reset: pm_runtime_get_sync, pci_reset_function, pm_runtime_put (after "
            "reset_method_store's check of a named method)"),
    PathDef("recovery_runtime_get", "pcie_do_recovery: pci_walk_bridge(bridge, pci_pm_runtime_get_sync, NULL) "
            "(drivers/pci/pcie/err.c)", "", "§5.4", "every runtime-suspended device below the bridge resumed "
            "before error_detected"),
    PathDef("recovery_runtime_put", "pcie_do_recovery: pci_walk_bridge(bridge, pci_pm_runtime_put, NULL) "
            "(drivers/pci/pcie/err.c)", "", "§5.4", "the references dropped on both exits (success and failure)"),
    PathDef("driver.remove", "pci_device_remove -> drv->remove", "", "§1.5",
            "the bound host driver's remove at unbind: it undoes what it enabled"),
    PathDef("driver.probe", "local_pci_probe -> drv->probe", "", "§1.5",
            "the bound host driver's probe: enable, Bus Master, and the save igb-like drivers make"),
    PathDef("vfio_pci_set_irqs_ioctl", "VFIO_DEVICE_SET_IRQS: vfio_pci_set_irqs_ioctl "
            "(drivers/vfio/pci/vfio_pci_intrs.c)", "vfio_pci_set_irqs_ioctl", "§6.4",
            "QEMU's interrupt change: DATA_NONE on the enabled index, the range check, the new index on "
            "(the op's index and count)"),
    PathDef("pci_restore_pcie_state", "pci_restore_pcie_state (drivers/pci/pci.c)", "", "§3.1",
            "restore step `pcie`: LTR latencies, the L1SS link, then the PCIe Capability registers"),
    PathDef("pci_restore_aspm_l1ss_state", "pci_restore_aspm_l1ss_state (drivers/pci/pcie/aspm.c)", "", "§3.1",
            "the L1SS link from the endpoint: ASPM off, L1.2 off, CTL2 then CTL1 without and with the "
            "L1.2 enables, parent before child, ASPM back"),
    PathDef("pci_restore_msix_state", "__pci_restore_msix_state (drivers/pci/msi/msi.c)", "", "§4.2, §4.3",
            "restore step `msi`, its MSI-X half: INTx off, Enable with Mask All, the entries, Mask All cleared"),
    PathDef("pci_restore_msi_state", "__pci_restore_msi_state (drivers/pci/msi/msi.c)", "", "§4.2",
            "restore step `msi`, its MSI half: INTx off, Enable off, the message, the mask bits, Enable on"),
    PathDef("pci_restore_config_space", "pci_restore_config_space (drivers/pci/pci.c)", "", "§3",
            "restore step `config_space`: the header's dwords from the snapshot, in ranges, by header type"),
    PathDef("vfio_pci_bar_rw", "vfio_pci_rw -> vfio_pci_bar_rw -> vfio_pci_core_do_io_rw "
            "(drivers/vfio/pci/vfio_pci_rdwr.c)", "vfio_pci_bar_rw", "§6.10",
            "a user's read or write of a BAR region: the resource check, vfio_pci_core_ioread/iowrite's "
            "test_mem checks under memory_lock, the access"),
    # the capability restore steps of pci_restore_state (§3.2, §3.5, §3.7), write by write
    PathDef("pci_restore_pasid_state", "pci_restore_pasid_state (drivers/pci/ats.c)", "", "§3.2",
            "restore step `pasid` (after its pasid_enabled gate): not for a VF; PASID Control = Enable | features"),
    PathDef("pci_restore_pri_state", "pci_restore_pri_state (drivers/pci/ats.c)", "", "§3.2",
            "restore step `pri` (after its pri_enabled gate): not for a VF; the allocation, then Enable"),
    PathDef("pci_restore_ats_state", "pci_restore_ats_state (drivers/pci/ats.c)", "", "§3.2",
            "restore step `ats` (after its ats_enabled gate): ATS Control = Enable, with the STU unless a VF"),
    PathDef("pci_restore_dpc_state", "pci_restore_dpc_state (drivers/pci/pcie/dpc.c)", "", "§3.5",
            "restore step `dpc`: the saved DPC Control word (a PCIe function with a DPC buffer)"),
    PathDef("pci_restore_ptm_state", "pci_restore_ptm_state (drivers/pci/pcie/ptm.c)", "", "§3.5",
            "restore step `ptm`: the saved PTM Control dword (source live: Enable from ptm_enable_cnt)"),
    PathDef("pci_restore_tph_state", "pci_restore_tph_state (drivers/pci/tph.c)", "", "§3.5",
            "restore step `tph` (after its tph_enabled gate): Control, then the ST entries (source live: "
            "Control rebuilt from tph_mode, tph_req_type)"),
    PathDef("pci_restore_aer_state", "pci_restore_aer_state (drivers/pci/pcie/aer.c)", "", "§3.5",
            "restore step `aer`: Uncorrectable Mask, Severity, Correctable Mask, Cap/Control, Root Error "
            "Command (Root Ports, RCECs)"),
    PathDef("pci_restore_pcix_state", "pci_restore_pcix_state (drivers/pci/pci.c)", "", "§3.7",
            "restore step `pcix`: the saved PCI-X Command word"),
    PathDef("pci_restore_iov_state", "pci_restore_iov_state -> sriov_restore_state (drivers/pci/iov.c)", "",
            "§3.7", "restore step `iov`: nothing while VF Enable reads set; the ARI bit, page size, NumVFs, "
            "then Control from dev->sriov"),
    # the capability save steps of pci_save_state (§2), read by read
    PathDef("pci_save_pcie_state", "pci_save_pcie_state (drivers/pci/pci.c)", "", "§2",
            "save step `pcie`: -ENOMEM without its buffer; DEVCTL .. SLTCTL2, then the L1SS link and LTR"),
    PathDef("pci_save_pcix_state", "pci_save_pcix_state (drivers/pci/pci.c)", "", "§2",
            "save step `pcix`: -ENOMEM without its buffer; the PCI-X Command word"),
    PathDef("pci_save_dpc_state", "pci_save_dpc_state (drivers/pci/pcie/dpc.c)", "", "§2",
            "save step `dpc`: DPC Control (a PCIe function with a DPC buffer)"),
    PathDef("pci_save_aer_state", "pci_save_aer_state (drivers/pci/pcie/aer.c)", "", "§2",
            "save step `aer`: Uncorrectable Mask, Severity, Correctable Mask, Cap/Control, Root Error Command"),
    PathDef("pci_save_ptm_state", "pci_save_ptm_state (drivers/pci/pcie/ptm.c)", "", "§2",
            "save step `ptm`: the PTM Control dword"),
    PathDef("pci_save_tph_state", "pci_save_tph_state (drivers/pci/tph.c)", "", "§2",
            "save step `tph` (after its tph_enabled gate): Control, then the ST entries"),
    PathDef("pci_save_vc_state", "pci_save_vc_state (drivers/pci/vc.c)", "", "§2",
            "save step `vc`: each VC capability's Port VC Control and Resource Controls (-ENOMEM without a buffer)"),
    PathDef("pci_aer_clear_status", "pci_aer_clear_status -> pci_aer_raw_clear_status (drivers/pci/pcie/aer.c)", "",
            "§3.5", "restore step `aer_clear_status`: only when the OS owns AER; Root Error Status (Root Ports, "
            "RCECs), Correctable, then Uncorrectable Status, each read and written back"),
    PathDef("pci_enable_acs", "pci_enable_acs (drivers/pci/pci.c)", "", "§3.7",
            "restore step `acs`: ACS Control read from the hardware, the IOMMU's request added, written back"),
    # AER / DPC error recovery (drivers/pci/pcie/err.c), §5.4: the op pcie_do_recovery
    PathDef("pcie_do_recovery", "pcie_do_recovery (drivers/pci/pcie/err.c)", "pcie_do_recovery", "§5.4",
            "error recovery of the function below the bridge (after the op's DPC checks and containment): "
            "runtime resume, the broadcasts with their status, the reset, the exits"),
    PathDef("recovery_mmio_enabled", "pcie_do_recovery: if (status == CAN_RECOVER) { ... }", "", "§5.4",
            "status = RECOVERED, then report_mmio_enabled"),
    PathDef("recovery_slot_reset", "pcie_do_recovery: if (status == NEED_RESET) { ... }", "", "§5.4",
            "status = RECOVERED, then report_slot_reset"),
    PathDef("recovery_failed", "pcie_do_recovery: failed:", "", "§5.4",
            "the failure exit: runtime-PM references dropped, report_perm_failure_detected, "
            "\"device recovery failed\""),
    PathDef("pci_restore_rebar_state", "pci_restore_rebar_state (drivers/pci/rebar.c)", "", "§3.4",
            "restore step `rebar`: each resizable BAR's Size from the kernel's resource size"),
    PathDef("pci_restore_vc_state", "pci_restore_vc_state (drivers/pci/vc.c)", "", "§3.3",
            "restore step `vc`: for each of MFVC, VC and VC9 the function has with a saved buffer "
            "(vc_caps[] order), Port VC Control, then each VC's Resource Control"),
    # vfio-pci's own callbacks (vfio_pci_core_err_handlers, vfio_pci_core_pm_ops): what
    # driver.CALLBACK is for a host driver. v7.1.3 has error_detected and the two runtime-PM
    # callbacks; the others are empty (no such callback), for a patch to add one.
    PathDef("vfio_pci_core_aer_err_detected", "vfio_pci_core_aer_err_detected (drivers/vfio/pci/vfio_pci_core.c)",
            "", "§5.4", "vfio-pci's error_detected: signals the user's err_trigger, votes CAN_RECOVER"),
    PathDef("vfio_pci_core_aer_mmio_enabled", "err_handler->mmio_enabled of vfio-pci (none in v7.1.3)", "", "§5.4",
            "vfio-pci's mmio_enabled: no handler, so its vote is not merged"),
    PathDef("vfio_pci_core_aer_slot_reset", "err_handler->slot_reset of vfio-pci (none in v7.1.3)", "", "§5.4",
            "vfio-pci's slot_reset: none, so recovery never restores a vfio device"),
    PathDef("vfio_pci_core_aer_resume", "err_handler->resume of vfio-pci (none in v7.1.3)", "", "§5.4",
            "vfio-pci's resume: none"),
    PathDef("vfio_pci_core_aer_reset_prepare", "err_handler->reset_prepare of vfio-pci (none in v7.1.3)", "",
            "§6.7", "vfio-pci's reset_prepare: none"),
    PathDef("vfio_pci_core_aer_reset_done", "err_handler->reset_done of vfio-pci (none in v7.1.3; the v18 "
            "proposal's vfio_pci_core_aer_reset_done)", "vfio_pci_core_aer_reset_done", "§6.7",
            "vfio-pci's reset_done, at the end of pci_dev_restore: none"),
    PathDef("vfio_pci_core_runtime_suspend", "vfio_pci_core_runtime_suspend (drivers/vfio/pci/vfio_pci_core.c)",
            "vfio_pci_core_runtime_suspend", "§1.4",
            "vfio-pci's runtime_suspend, inside pci_pm_runtime_suspend: D0 first (pm_save for NoSoftRst-)"),
    PathDef("vfio_pci_core_runtime_resume", "vfio_pci_core_runtime_resume (drivers/vfio/pci/vfio_pci_core.c)",
            "", "§1.4", "vfio-pci's runtime_resume: the wake eventfd and INTx unmask, no config access modelled"),
    PathDef("aer_root_reset", "aer_root_reset (drivers/pci/pcie/aer.c)", "", "§5.4",
            "AER's reset_subordinates: the root port's AER interrupt masked, an FLR (RCiEP/RCEC) or "
            "pci_bus_error_reset, Root Error Status cleared, the interrupt unmasked"),
    PathDef("dpc_reset_link", "dpc_reset_link (drivers/pci/pcie/dpc.c)", "dpc_reset_link", "§5.4",
            "DPC's reset_subordinates: the link is already down; Trigger Status cleared, then the wait for "
            "the secondary bus"),
    PathDef("pci_power_up", "pci_power_up (drivers/pci/pci.c)", "", "§5.5",
            "platform power, PMCSR to D0, current_state D0; result 1 when a soft reset may have happened"),
    PathDef("pci_set_full_power_state", "pci_set_full_power_state (drivers/pci/pci.c)", "", "§5.5",
            "pci_set_power_state(D0): pci_power_up, current_state from PMCSR, the BARs re-written after a "
            "possible soft reset"),
    PathDef("pci_device_remove", "pci_device_remove (drivers/pci/pci-driver.c)", "", "§1.5",
            "a bound driver's unbind: its remove callback, then current_state PCI_UNKNOWN if still in D0"),
    # power transitions below D0 (§5.5); the path's argument is the target state
    PathDef("pci_set_power_state", "pci_set_power_state -> __pci_set_power_state (drivers/pci/pci.c)", "", "§5.5",
            "nothing when current_state is the target; D0 by pci_set_full_power_state; D3hot and D3cold by "
            "pci_set_low_power_state(D3hot), then the platform's transition (D3cold: power removed)"),
    PathDef("pci_set_low_power_state", "pci_set_low_power_state (drivers/pci/pci.c)", "", "§5.5",
            "D1, D2 or D3hot through PMCSR (the argument; D3cold's first step is D3hot): -EIO without PM, -EINVAL "
            "from a deeper state, -EIO for D1/D2 the function does not support, nothing at the target, -EIO when "
            "PMCSR reads all-ones, else the write and current_state read back"),
    PathDef("vfio_pci_set_power_state", "vfio_pci_set_power_state (drivers/vfio/pci/vfio_pci_core.c)",
            "vfio_pci_set_power_state", "§5.6",
            "-EBUSY below D0 with VFs; a NoSoftRst- function is saved into pm_save on the way into D3hot and "
            "restored from it on the way back to D0"),
    # the reset methods besides FLR (§5.2): each after its probe (method_available)
    PathDef("pci_pm_reset", "pci_pm_reset (drivers/pci/pci.c)", "", "§5.2",
            "the PM reset method and its probe: a PM capability, NoSoftRst read (at enumeration for the probe), "
            "-EINVAL outside D0, PMCSR D3hot then D0, pci_dev_wait; its result is the method's"),
    PathDef("pci_reset_bus_function", "pci_reset_bus_function -> pci_parent_bus_reset (drivers/pci/pci.c)", "",
            "§5.3", "the bus reset method and its probe (an upstream port, no sibling function, not a bridge; no "
            "hotplug slot modelled): the port's secondary bus reset and the wait for the link"),
    PathDef("vfio_pci_core_register_device", "vfio_pci_core_register_device (drivers/vfio/pci/vfio_pci_core.c)",
            "", "§6.1", "vfio-pci's bind, from vfio_pci_probe_power_state (after the bridge and SR-IOV refusals): "
            "NoSoftRst probed, D0, runtime PM allowed and the reference dropped"),
    # what each report_* of pcie_do_recovery does on the function (drivers/pci/pcie/err.c), §5.4; the
    # argument is the op's vote, the result the vote merge_result folds into the status (0: none)
    PathDef("report_error_detected", "report_frozen_detected / report_normal_detected -> report_error_detected "
            "(drivers/pci/pcie/err.c)", "", "§5.4",
            "DISCONNECT when disconnected; the io state set to the channel; without an error_detected "
            "NO_AER_DRIVER (NONE for a bridge); else the driver's vote"),
    PathDef("report_mmio_enabled", "report_mmio_enabled (drivers/pci/pcie/err.c)", "", "§5.4",
            "the driver's mmio_enabled vote, if it has one"),
    PathDef("report_slot_reset", "report_slot_reset (drivers/pci/pcie/err.c)", "", "§5.4",
            "nothing when disconnected; the io state set to normal; the driver's slot_reset vote, if it has one"),
    PathDef("report_resume", "report_resume (drivers/pci/pcie/err.c)", "", "§5.4",
            "nothing when disconnected; the io state set to normal; the driver's resume"),
    PathDef("report_perm_failure_detected", "report_perm_failure_detected (drivers/pci/pcie/err.c)", "", "§5.4",
            "the driver's error_detected(pci_channel_io_perm_failure), its vote ignored"),
    PathDef("pci_save_config_space", "pci_save_state's header loop (drivers/pci/pci.c)", "", "§2",
            "save step `config_space`: the header's 16 dwords read into saved_config_space, then state_saved; "
            "a `fail` here ends the whole save"),
    PathDef("qemu_pick_reset", "vfio_pci_reset's choice of reset (QEMU hw/vfio/pci.c)", "", "§6.8",
            "VFIO_DEVICE_RESET when it works and the function has FLR or no PM reset; on failure or "
            "otherwise a hot reset; then a PM reset through VFIO_DEVICE_RESET; each failure falls through"),
    PathDef("msix_capability_init", "msix_capability_init (drivers/pci/msi/msi.c)", "", "§4.4",
            "MSI-X on (after __pci_enable_msix_range's checks; the argument is the vector count): Enable with "
            "Function Mask, the table mapped from the BIR read now (-ENOMEM: out_disable), the descriptors, INTx "
            "off, every entry masked, Function Mask cleared"),
    PathDef("pci_msix_shutdown", "pci_msix_shutdown (drivers/pci/msi/msi.c)", "", "§4.4",
            "MSI-X off: a disconnected function only forgets it; else each vector masked, Enable cleared, INTx "
            "back on, msix_enabled cleared"),
    PathDef("msi_capability_init", "msi_capability_init -> __msi_capability_init (drivers/pci/msi/msi.c)", "", "§4.4",
            "MSI on, one vector (after __pci_enable_msi_range's checks): Enable off, the descriptor, the vector "
            "masked, the message written, INTx off, Enable on"),
    PathDef("pci_msi_shutdown", "pci_msi_shutdown (drivers/pci/msi/msi.c)", "", "§4.4",
            "MSI off: Enable off, INTx back on, msi_enabled cleared, the vector unmasked (\"initial states\")"),
    PathDef("pci_save_aspm_l1ss_state", "pci_save_aspm_l1ss_state (drivers/pci/pcie/aspm.c)", "", "§2",
            "inside save step `pcie`: nothing on a downstream port or without L1SS on both ends; the function's "
            "CTL2 and CTL1 into its buffer, then the parent's into the parent's (1db806ec06b7)"),
    PathDef("pci_enable_ats", "pci_enable_ats (drivers/pci/ats.c)", "", "§3.2",
            "the op pci_enable_ats (the argument: the STU index, ps = 12 + stu): the checks, dev->ats_stu (not a "
            "VF, which must match its PF's), ATS Control written, ats_enabled"),
    PathDef("pci_disable_ats", "pci_disable_ats (drivers/pci/ats.c)", "", "§3.2",
            "the op pci_disable_ats: Enable cleared in a read-modify-write of ATS Control, ats_enabled cleared"),
    PathDef("pci_enable_pasid", "pci_enable_pasid (drivers/pci/ats.c)", "", "§3.2",
            "the op pci_enable_pasid (the argument: the feature bits asked for): a VF shares its PF's PASID; the "
            "TLP-prefix, capability, ACS-path and feature checks; pasid_features, PASID Control, pasid_enabled"),
    PathDef("pci_disable_pasid", "pci_disable_pasid (drivers/pci/ats.c)", "", "§3.2",
            "the op pci_disable_pasid: nothing for a VF; PASID Control written 0, pasid_enabled cleared"),
    PathDef("pci_enable_pri", "pci_enable_pri (drivers/pci/ats.c)", "", "§3.2",
            "the op pci_enable_pri (the argument: the request count index, reqs = 32 << arg): a VF shares its PF's "
            "PRI; the checks, Stopped read, the allocation (min with Outstanding Page Request Capacity), Enable"),
    PathDef("pci_disable_pri", "pci_disable_pri (drivers/pci/ats.c)", "", "§3.2",
            "the op pci_disable_pri: nothing for a VF; Enable cleared in a read-modify-write of PRI Control, "
            "pri_enabled cleared"),
    PathDef("iommu_enable_pri", "iommu_enable_pci_pri (drivers/iommu/intel/iommu.c; AMD's pdev_enable_cap_pri alike)",
            "", "§3.2",
            "the op pci_enable_pri, as the IOMMU drivers call it: nothing unless ATS is on (both enable ATS first), "
            "pci_reset_pri (-EBUSY while PRI is on), then [path.pci_enable_pri]"),
    PathDef("pcie_enable_tph", "pcie_enable_tph (drivers/pci/tph.c)", "", "§3.1",
            "the op pci_enable_tph (the argument: the ST mode): the checks, tph_mode, the requester type (the "
            "function's and, unless an RCiEP, its root port's completer support, read now; none: -EINVAL), TPH "
            "Control's mode and requester fields, tph_enabled"),
    PathDef("pcie_disable_tph", "pcie_disable_tph (drivers/pci/tph.c)", "", "§3.1",
            "the op pci_disable_tph and a driver's teardown: nothing unless enabled; TPH Control written 0, the "
            "mode, requester type and tph_enabled cleared (the save buffer is kept)"),
    PathDef("pci_enable_sriov", "pci_enable_sriov -> sriov_enable (drivers/pci/iov.c)", "", "§3.7",
            "the op pci_enable_sriov (the argument: nr_virtfn, the op's num_vfs + 1): the PF and count checks, "
            "NumVFs, VF Enable and VF MSE in iov->ctrl written to SR-IOV Control, iov->num_VFs (ARI Capable "
            "Hierarchy and the page size are sriov_init's, at enumeration)"),
    PathDef("pci_disable_sriov", "pci_disable_sriov -> sriov_disable (drivers/pci/iov.c)", "", "§3.7",
            "the op pci_disable_sriov: nothing unless VFs are enabled; VF Enable and VF MSE cleared in iov->ctrl "
            "and written, iov->num_VFs 0, NumVFs 0 (pci_iov_set_numvfs(dev, 0))"),
    PathDef("pcie_aspm_set_policy", "pcie_aspm_set_policy (drivers/pci/pcie/aspm.c): powersupersave", "", "§3.1",
            "the op pci_enable_l1ss: the ASPM policy set to powersupersave; for the function's link, "
            "[path.pcie_config_aspm_link] with every state, then [path.pcie_set_clkpm]"),
    PathDef("pcie_config_aspm_link", "pcie_config_aspm_link (drivers/pci/pcie/aspm.c)", "", "§3.1",
            "the state (kernel_set aspm_target); nothing if the link already has it; ASPM off in LNKCTL, child "
            "then parent; the L1 substates; LNKCTL's ASPM for the state, parent then child; aspm_enabled; the "
            "saved state updated (pci_save_aspm_l1ss_state, pci_update_aspm_saved_state)"),
    PathDef("pcie_config_aspm_l1ss", "pcie_config_aspm_l1ss (drivers/pci/pcie/aspm.c)", "", "§3.1",
            "L1SS Control 1's enables cleared at the child then the parent, then set for the state at the "
            "parent then the child (PCIe r6.2 sec 5.5.4)"),
    PathDef("pcie_set_clkpm", "pcie_set_clkpm (drivers/pci/pcie/aspm.c)", "", "§3.1",
            "Clock PM on for the powersupersave policy: nothing unless capable and off; CLKREQ# Enable set in "
            "the function's LNKCTL and the saved LNKCTL updated (pcie_set_clkpm_nocheck), clkpm_enabled"),
    PathDef("pci_enable_ptm", "pci_enable_ptm (drivers/pci/pcie/ptm.c)", "", "§3.5",
            "the op pci_enable_ptm: unless a PTM Root, the upstream PTM port enabled first "
            "([path.pci_enable_ptm_parent]); the count; nothing more if it was already enabled; "
            "__pci_enable_ptm's type check (the count dropped again on failure) and its Control write"),
    PathDef("pci_enable_ptm_parent", "pci_enable_ptm(parent) (drivers/pci/pcie/ptm.c)", "", "§3.5",
            "the same function run on the port above: nothing is modelled above the port, so it must be a "
            "PTM Root"),
    PathDef("pci_disable_ptm", "pci_disable_ptm (drivers/pci/pcie/ptm.c)", "", "§3.5",
            "the op pci_disable_ptm: the count dropped, PTM Enable and Root Select cleared when it reaches 0, "
            "then the same for the upstream PTM port ([path.pci_disable_ptm_parent])"),
    PathDef("pci_disable_ptm_parent", "pci_disable_ptm(parent) (drivers/pci/pcie/ptm.c)", "", "§3.5",
            "the port above's count dropped, its PTM off at 0"),
    PathDef("pci_suspend_ptm", "pci_suspend_ptm (drivers/pci/pcie/ptm.c)", "", "§3.5",
            "PTM off while the count says it is on (the count is kept)"),
    PathDef("pci_resume_ptm", "pci_resume_ptm (drivers/pci/pcie/ptm.c)", "", "§3.5",
            "PTM back (__pci_enable_ptm) if the count says it is on"),
    PathDef("pcie_aspm_pm_state_change", "pcie_aspm_pm_state_change (drivers/pci/pcie/aspm.c)", "", "§3.1",
            "after the function's power transition (pci_set_full_power_state, pci_set_low_power_state: "
            "dev->bus->self): the link reconfigured for the policy and the new power state"),
    PathDef("pcie_aspm_powersave_config_link", "pcie_aspm_powersave_config_link (drivers/pci/pcie/aspm.c)", "", "§3.1",
            "pci_enable_device's: under a powersave policy, the link configured and Clock PM set"),
    PathDef("pci_std_update_resource", "pci_std_update_resource (drivers/pci/setup-res.c)", "", "§1.5",
            "one resource's register written from the kernel's resource (the argument: the resource, 0-5 a "
            "BAR, 6 the ROM): pci_restore_bars, a BAR assignment or resize"),
    PathDef("pci_assign_resource", "pci_assign_resource + pci_update_resource (drivers/pci/setup-res.c)",
            "", "§1.5", "the op pci_assign_bar: the resource moves to another aligned address (the argument: the "
                        "BAR in bits 0-7, the address slot in bits 8-15), then its register is written"),
    PathDef("pci_resize_resource", "a driver's BAR resize around pci_resize_resource (drivers/pci/rebar.c; "
                                   "amdgpu_device_resize_fb_bar)", "", "§1.5",
            "the op pci_resize_bar (the argument: the size choice): the driver's Memory-off bracket around "
            "pci_resize_resource's checks, the BAR Size write and the BAR's new assignment"),
    # vfio-pci's write functions (perm->writefn, drivers/vfio/pci/vfio_pci_config.c), §6.3: a region's
    # `write_fn` in [vfio_config.NAME] names one. The argument: the piece's offset in its region.
    PathDef("vfio_default_config_write", "vfio_default_config_write (drivers/vfio/pci/vfio_pci_config.c)", "",
            "§6.3", "a capability's writes with no action of their own: the default write"),
    PathDef("vfio_basic_config_write", "vfio_basic_config_write (drivers/vfio/pci/vfio_pci_config.c)", "", "§6.3",
            "the header: at Command, the reset-behind-our-back check and vfio_bar_restore; the default write; "
            "at Command, vconfig's Memory/IO from the value; at Command's two bytes, the INTx Disable emulation"),
    PathDef("vfio_pm_config_write", "vfio_pm_config_write (drivers/vfio/pci/vfio_pci_config.c)", "", "§6.3",
            "the PM capability: the default write, then at PCI_PM_CTRL the power state written "
            "(vfio_lock_and_set_power_state)"),
    PathDef("vfio_exp_config_write", "vfio_exp_config_write (drivers/vfio/pci/vfio_pci_config.c)", "", "§6.3",
            "the PCIe capability: the default write, then a virtual Initiate FLR (cleared; DEVCAP FLR read now: "
            "pci_try_reset_function) and a changed virtual MRRS (pcie_set_readrq(max(MRRS, MPS)))"),
    PathDef("vfio_msi_config_write", "vfio_msi_config_write (drivers/vfio/pci/vfio_pci_config.c)", "", "§6.3",
            "the MSI capability: the default write, then a piece reaching Message Control writes vconfig's flags "
            "through (Enable only with the user's MSI on, QSIZE at most msi_qmax)"),
    # the op pci_bind_driver (drivers/base/dd.c), §1.5; the argument: the driver asked for (0 none, 1 host, 2 vfio)
    PathDef("device_bind_driver", "device_release_driver, then device_driver_attach -> really_probe -> "
                                  "pci_device_probe (drivers/base/dd.c, drivers/pci/pci-driver.c)", "", "§1.5",
            "the op pci_bind_driver (the argument: none, host or vfio): nothing when unbound and no driver is asked "
            "for; a runtime-suspended device resumed (pm_runtime_get_sync in __device_release_driver or "
            "local_pci_probe); the bound driver's unbind; vfio-pci's refusals (a bridge, a PF with VFs); the new "
            "driver's probe; the idle check after it"),
    PathDef("local_pci_probe", "local_pci_probe -> pci_drv->probe (drivers/pci/pci-driver.c)", "host driver probe",
            "§1.5", "the bound host driver's probe ([driver.probe]) as the PCI core calls it"),
    # each vector's request and free (kernel/irq/manage.c, kernel/irq/msi.c, drivers/pci/msi/msi.c), §4.4:
    # a driver's request_irq / free_irq and vfio's vfio_msi_set_vector_signal; the argument: the vector
    PathDef("msix_request_irq", "request_irq -> irq_domain_activate_irq (msi_domain_activate -> __pci_write_msi_msg), "
                                "irq_startup (pci_msix_unmask)", "", "§4.4",
            "an MSI-X vector requested: its message written while masked, then unmasked"),
    PathDef("msix_free_irq", "free_irq -> irq_shutdown (pci_msix_mask), irq_domain_deactivate_irq "
                             "(msi_domain_deactivate: a zeroed message)", "", "§4.4",
            "an MSI-X vector freed: masked if it was not, its message zeroed (written only in D0 and connected)"),
    PathDef("msi_request_irq", "request_irq -> irq_startup (pci_msi_unmask)", "", "§4.4",
            "the MSI vector requested: unmasked (its message was written by msi_capability_init)"),
    PathDef("msi_free_irq", "free_irq -> irq_shutdown (pci_msi_mask), irq_domain_deactivate_irq "
                            "(msi_domain_deactivate: a zeroed message)", "", "§4.4",
            "the MSI vector freed: masked if it was not, its message zeroed (written only in D0 and connected)"),
    # enumeration (drivers/pci/probe.c), §1.5: what pci_device_add's capability set-up does before the
    # enumeration save; the rest of enumeration (reading the capabilities, the link, the BARs) is the profile's
    PathDef("pci_init_capabilities", "pci_device_add -> pci_init_capabilities (drivers/pci/probe.c)", "", "§1.5",
            "the function's power state after pci_pm_init (v7.1.3 powers it up: 4d4c10f763d7), pci_ptm_init and "
            "pci_aer_init"),
    PathDef("pci_ptm_init", "pci_ptm_init (drivers/pci/pcie/ptm.c)", "", "§3.5",
            "what PTM enumeration enables (v7.1.3: nothing, the counts start at 0; the PTM facts it records are the "
            "profile's, conditions ptm_root and ptm_type_ok)"),
    # a vfio user's ioctls (drivers/vfio/vfio_main.c vfio_device_fops_unl_ioctl) and the low-power feature
    # (drivers/vfio/pci/vfio_pci_core.c, VFIO_DEVICE_FEATURE_LOW_POWER_*), §6.11
    PathDef("vfio_device_pm_runtime_get", "vfio_device_pm_runtime_get -> pm_runtime_resume_and_get "
                                          "(drivers/vfio/vfio_main.c)", "", "§6.11",
            "before every ioctl on the device fd, and around each read or write of a region (vfio_pci_rw's "
            "pm_runtime_resume_and_get): a runtime-suspended device resumed"),
    PathDef("vfio_device_pm_runtime_put", "vfio_device_pm_runtime_put -> pm_runtime_put (drivers/vfio/vfio_main.c)",
            "", "§6.11", "after every ioctl on the device fd and each region access: the reference dropped (an "
                        "open device whose user entered low power suspends again)"),
    PathDef("vfio_pci_core_pm_entry", "vfio_pci_core_pm_entry / _with_wakeup -> vfio_pci_runtime_pm_entry "
                                      "(drivers/vfio/pci/vfio_pci_core.c)", "", "§6.11",
            "VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY(_WITH_WAKEUP) (the argument: 1 with a wake-up eventfd): -EINVAL "
            "when already engaged, else pm_runtime_engaged and the open's runtime-PM reference dropped"),
    PathDef("vfio_pci_core_pm_exit", "vfio_pci_core_pm_exit -> vfio_pci_runtime_pm_exit "
                                     "(drivers/vfio/pci/vfio_pci_core.c)", "", "§6.11",
            "VFIO_DEVICE_FEATURE_LOW_POWER_EXIT: the reference taken back (the ioctl's get already resumed it)"),
    PathDef("vfio_intx_enable", "vfio_intx_enable (drivers/vfio/pci/vfio_pci_intrs.c)", "", "§6.4",
            "VFIO_DEVICE_SET_IRQS for INTx: the context's mask from the user's virtual INTx Disable, the physical "
            "bit made to follow it (pci_2_3), irq_type INTx; request_irq touches no register"),
    # SR-IOV through sysfs sriov_numvfs (drivers/pci/iov.c sriov_numvfs_store), §1.5 and §6.1
    PathDef("sriov_configure", "sriov_numvfs_store -> the PF driver's sriov_configure(dev, nr_virtfn) "
                               "(drivers/pci/iov.c)", "", "§1.5",
            "the ops pci_enable_sriov (the argument: nr_virtfn): the host driver's pci_enable_sriov, or vfio-pci's "
            "vfio_pci_sriov_configure"),
    PathDef("sriov_deconfigure", "sriov_numvfs_store(0) -> the PF driver's sriov_configure(dev, 0) "
                                 "(drivers/pci/iov.c)", "", "§1.5",
            "the op pci_disable_sriov: the host driver's pci_disable_sriov, or vfio-pci's"),
    PathDef("vfio_pci_sriov_configure", "vfio_pci_sriov_configure -> vfio_pci_core_sriov_configure(vdev, nr_virtfn) "
                                        "(drivers/vfio/pci/vfio_pci.c, vfio_pci_core.c)", "", "§6.1",
            "VFs on a vfio-pci PF: -ENOENT unless the enable_sriov module parameter, the PF resumed and put in D0 "
            "(f4162eb1e2fc), pci_enable_sriov, its runtime-PM reference kept while the VFs exist"),
    PathDef("vfio_pci_sriov_deconfigure", "vfio_pci_sriov_configure -> vfio_pci_core_sriov_configure(vdev, 0)",
            "", "§6.1", "VFs off on a vfio-pci PF: -ENOENT unless enable_sriov, pci_disable_sriov, the reference "
                        "dropped"),
    # a PF's VF BARs (drivers/pci/iov.c, §3.7 and §5.5)
    PathDef("pci_iov_update_resource", "pci_update_resource -> pci_iov_update_resource (drivers/pci/iov.c)", "",
            "§3.7", "a PF's VF BAR written from the kernel's resource (the argument: the VF BAR, 0-5): nothing for "
                    "a VF or a function without SR-IOV, nor while its VFs decode, nor for an unset resource"),
    PathDef("pci_restore_bars", "pci_restore_bars (drivers/pci/pci.c)", "pci_restore_bars", "§5.5",
            "pci_update_resource for every resource below PCI_BRIDGE_RESOURCES: the BARs and the ROM, then the "
            "VF BARs (after a D3hot->D0 soft reset, pci_set_full_power_state)"),
    # a legacy-PM host driver (struct pci_driver's suspend/resume), drivers/pci/pci-driver.c, §1.4
    PathDef("driver.legacy_suspend", "pci_driver->suspend(pdev, state)", "", "§1.4",
            "a legacy-PM host driver's suspend (also for freeze and hibernate): with steps, the driver is one "
            "(pci_has_legacy_pm_support) and the PM core's legacy branches run"),
    PathDef("driver.legacy_resume", "pci_driver->resume(pdev)", "", "§1.4",
            "a legacy-PM host driver's resume (also for thaw and restore)"),
    PathDef("pci_legacy_suspend", "pci_legacy_suspend (drivers/pci/pci-driver.c)", "", "§1.4",
            "suspend, freeze and poweroff of a legacy-PM driver's device: state_saved cleared, the driver's "
            "suspend"),
    PathDef("pci_legacy_suspend_late", "pci_legacy_suspend_late (drivers/pci/pci-driver.c)", "", "§1.4",
            "the noirq phase of a legacy-PM driver's device: saved unless the driver saved, state unknown"),
    PathDef("pci_legacy_resume", "pci_legacy_resume (drivers/pci/pci-driver.c)", "", "§1.4",
            "resume, thaw and restore of a legacy-PM driver's device: the driver's resume"),
    PathDef("pci_aer_init", "pci_aer_init (drivers/pci/pcie/aer.c)", "", "§3.5",
            "AER at enumeration: its status cleared (pci_aer_clear_status) and, when the OS owns AER, error "
            "reporting enabled in Device Control (pci_enable_pcie_error_reporting); ECRC as firmware left it "
            "(pcie_set_ecrc_checking under the default policy)"),
)
PATH_NAMES = tuple(p.name for p in PATHS)
PATH_IDS = {n: i for i, n in enumerate(PATH_NAMES)}
PATH_BY_NAME = {p.name: p for p in PATHS}
# the paths a [vfio_config.NAME] region's write_fn may name (besides "raw" and "none")
VFIO_WRITE_FNS = ("vfio_default_config_write", "vfio_basic_config_write", "vfio_pm_config_write",
                  "vfio_exp_config_write", "vfio_msi_config_write")
DRIVER_CALLBACKS = tuple(n.split(".", 1)[1] for n in PATH_NAMES if n.startswith("driver."))
KERNEL_PATHS = tuple(n for n in PATH_NAMES if not n.startswith("driver."))
# driver.CALLBACK -> the path that is vfio-pci's callback of that name (absent: vfio-pci has none
# and no patch can add one: probe/remove are the bind itself, system sleep has no vfio-pci ops)
VFIO_CALLBACK_PATHS = {
    "error_detected": "vfio_pci_core_aer_err_detected", "mmio_enabled": "vfio_pci_core_aer_mmio_enabled",
    "slot_reset": "vfio_pci_core_aer_slot_reset", "resume": "vfio_pci_core_aer_resume",
    "reset_prepare": "vfio_pci_core_aer_reset_prepare", "reset_done": "vfio_pci_core_aer_reset_done",
    "runtime_suspend": "vfio_pci_core_runtime_suspend", "runtime_resume": "vfio_pci_core_runtime_resume",
}

# pci_ers_result_t values a driver callback may return (include/linux/pci.h), in the models' codes.
VOTES: tuple[tuple[str, str], ...] = (
    ("arg", "the op's vote argument (error_detected only)"),
    ("none", "PCI_ERS_RESULT_NONE"),
    ("can_recover", "PCI_ERS_RESULT_CAN_RECOVER"),
    ("need_reset", "PCI_ERS_RESULT_NEED_RESET"),
    ("disconnect", "PCI_ERS_RESULT_DISCONNECT"),
    ("recovered", "PCI_ERS_RESULT_RECOVERED"),
    ("no_aer_driver", "PCI_ERS_RESULT_NO_AER_DRIVER"),
)
COMMAND_BITS: tuple[tuple[str, int], ...] = (
    ("io", 0x0001), ("memory", 0x0002), ("bus_master", 0x0004), ("intx_disable", 0x0400),
)


@dataclass(frozen=True)
class ParamDef:
    name: str
    kind: str                               # "enum" (one value) | "bits" (a list, OR-ed) | "path" (one path)
                                            # | "dwords" ("A..B": config dwords A down or up to B) | "count"
                                            # (an integer 0-15) | "flag" (true/false) | "offset" (a register
                                            # offset 0-0xFF in a capability) | "mask" (an integer 0-0xFFFF)
    values: tuple[tuple[str, str], ...]     # (value, meaning); for dwords, count, flag, offset one (form, meaning)
    bits: int = 0                           # its width in a packed argument, when not the kind's
    default: object = None                  # the value when a step leaves it out (None: it must be given)

    @property
    def value_names(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.values)

    @property
    def width(self) -> int:
        """Bits the value takes in the step's packed argument (the params in order, low bits first)."""
        return self.bits or {"dwords": 8, "count": 4, "flag": 1, "bits": 16, "offset": 8, "mask": 16}.get(self.kind, 8)

    def check(self, value) -> str:
        """'' when `value` is one this parameter takes, else what is wrong (free-form kinds)."""
        if self.kind == "count":
            return "" if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 15 else \
                "an integer 0-15"
        if self.kind == "flag":
            return "" if isinstance(value, bool) else "true or false"
        if self.kind == "offset":
            return "" if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFF else \
                "a register offset in the capability, 0-0xFF"
        if self.kind == "mask":
            return "" if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFF else \
                "a bit mask, 0-0xFFFF"
        if self.kind == "dwords":
            a, sep, b = str(value).partition("..")
            ok = sep and a.strip().isdigit() and b.strip().isdigit() and int(a) <= 15 and int(b) <= 15
            return "" if ok else "\"A..B\", config dword indices 0-15 (written from A to B)"
        return ""

    def encode(self, value) -> int:
        """enum: the value's index; path: the path id (a callback names driver.CALLBACK); bits:
        the Command bits OR-ed; dwords: A | B << 4; count: the integer; flag: 0 or 1."""
        if self.kind == "enum":
            return self.value_names.index(value)
        if self.kind == "path":
            return PATH_IDS[value] if value in PATH_IDS else PATH_IDS[f"driver.{value}"]
        if self.kind == "dwords":
            a, _, b = value.partition("..")
            return int(a) | int(b) << 4
        if self.kind in ("count", "flag", "offset", "mask"):
            return int(value)
        bits = dict(COMMAND_BITS)
        mask = 0
        for v in value:
            mask |= bits[v]
        return mask


# vfio-pci's Memory bracket around its MSI/MSI-X work, a parameter of both SET_IRQS primitives
_MEMORY_BRACKET = ParamDef("memory", "enum", (
    ("bracket", "vfio_pci_memory_lock_and_enable / _unlock_and_restore around each vector and the allocation "
                "(abafbc551fdd)"),
    ("none", "no Command access: the table is reached with the Memory decode the user left")))


# The capabilities a cap_* step names: the offset the kernel caches (dev->pcie_cap, dev->aer_cap, ...) and
# the saved-state buffer of that id. Positions are the compiled code (4 bits): append only.
CAPABILITIES: tuple[tuple[str, str], ...] = (
    ("pcie", "PCI Express (pcie_capability_*: a register the device type lacks is skipped)"),
    ("pcix", "PCI-X"), ("ltr", "LTR"), ("dpc", "DPC"), ("aer", "AER"), ("ptm", "PTM"), ("tph", "TPH Requester"),
    ("pasid", "PASID"), ("pri", "PRI"), ("ats", "ATS"), ("sriov", "SR-IOV"), ("acs", "ACS"),
    ("rebar", "Resizable BAR"), ("l1ss", "L1 PM Substates"),
    ("port_l1ss", "the upstream port's L1 PM Substates, read from the port into the port's buffer (cap_save only: "
                  "pci_save_aspm_l1ss_state's parent; the L1SS restore has its own primitives)"),
)
# kernel_set's assignments: what an enable or disable function records (struct pci_dev), by name.
KERNEL_FIELDS: tuple[tuple[str, str], ...] = (
    ("ats_stu", "dev->ats_stu = ps (the path's argument: 12 + the STU index)"),
    ("ats_enabled", "dev->ats_enabled = 1"),
    ("ats_disabled", "dev->ats_enabled = 0"),
    ("pasid_features", "pdev->pasid_features = features (the path's argument: Execute 0x2, Privileged 0x4)"),
    ("pasid_enabled", "pdev->pasid_enabled = 1"),
    ("pasid_disabled", "pdev->pasid_enabled = 0"),
    ("pri_reqs_alloc", "pdev->pri_reqs_alloc = min(PRI Outstanding Page Request Capacity, read now; reqs = 32 << "
                       "the path's argument)"),
    ("pri_enabled", "pdev->pri_enabled = 1"),
    ("pri_disabled", "pdev->pri_enabled = 0"),
    ("tph_mode", "pdev->tph_mode = mode & PCI_TPH_CTRL_MODE_SEL_MASK (the path's argument)"),
    ("tph_req_type", "pdev->tph_req_type = Extended TPH Requester Supported (TPH Capability, read now) ? EXT_TPH : "
                     "TPH_ONLY, then unless an RCiEP min() with the root port's DEVCAP2 TPH Completer Supported, "
                     "read now (the model's port; none: 0)"),
    ("tph_enabled", "pdev->tph_enabled = 1"),
    ("tph_disabled", "pdev->tph_mode = 0; pdev->tph_req_type = 0; pdev->tph_enabled = 0"),
    ("sriov_vf_enable", "iov->ctrl |= PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE"),
    ("sriov_vf_disable", "iov->ctrl &= ~(PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE)"),
    ("sriov_num_vfs", "iov->num_VFs = nr_virtfn (the path's argument)"),
    ("sriov_num_vfs_zero", "iov->num_VFs = 0"),
    ("aspm_target", "pcie_config_aspm_link's state: policy_to_aspm_state(link) (powersupersave: every state; the "
                    "default policy: aspm_default) & link->aspm_capable (the latency check prunes it only while "
                    "the function is in D0) & ~link->aspm_disable; no L1 substates without L1; the PCI-PM "
                    "substates as link->aspm_enabled has them unless both ends are in D0"),
    ("aspm_enabled", "link->aspm_enabled = state"),
    ("clkpm_enabled", "link->clkpm_enabled = 1 (pcie_set_clkpm_nocheck)"),
    ("ptm_get", "atomic_inc(&dev->ptm_enable_cnt)"),
    ("ptm_put", "atomic_dec(&dev->ptm_enable_cnt)"),
    ("port_ptm_get", "atomic_inc(&parent->ptm_enable_cnt): the port above's count"),
    ("port_ptm_put", "atomic_dec(&parent->ptm_enable_cnt)"),
    ("ptm_suspended", "(the model's record for the live-flag check) PTM off on purpose until pci_resume_ptm"),
    ("ptm_resumed", "(the model's record) the suspend's mark cleared"),
    ("aspm_supersave", "aspm_policy = POLICY_POWER_SUPERSAVE (pcie_aspm_set_policy)"),
    ("driver_failed", "(the model's record) the bound host driver, if it has error_detected, was told the device "
                      "failed for good: it starts no new I/O (owner host_failed)"),
    ("driver_resumed", "(the model's record) the bound driver's resume ran: it does I/O again"),
)
# A cap_write's value: a kernel expression of live state, and the field it fills (a merge write
# replaces only that field of the register as read). Positions are the compiled code (5 bits).
CAP_VALUES: tuple[tuple[str, str, int], ...] = (
    ("pasid_ctrl", "PCI_PASID_CTRL_ENABLE | pdev->pasid_features", 0xFFFF),
    ("pri_reqs_alloc", "pdev->pri_reqs_alloc", 0xFFFFFFFF),
    ("pri_enable", "PCI_PRI_CTRL_ENABLE", 0xFFFF),
    ("ats_enable", "PCI_ATS_CTRL_ENABLE (a VF: its PF holds the STU)", 0xFFFF),
    ("ats_ctrl", "PCI_ATS_CTRL_ENABLE | PCI_ATS_CTRL_STU(dev->ats_stu - PCI_ATS_MIN_STU)", 0xFFFF),
    ("ptm_enable", "PCI_PTM_CTRL_ENABLE if ptm_enable_cnt > 0 (field: Enable)", 0x1),
    ("tph_ctrl", "tph_mode | tph_req_type << 8 (field: ST Mode Select, TPH Requester Enable)", 0x307),
    ("sriov_ari", "iov->ctrl & PCI_SRIOV_CTRL_ARI (field: ARI Capable Hierarchy)", 0x10),
    ("sriov_pgsz", "iov->pgsz", 0xFFFFFFFF),
    ("sriov_num_vfs", "iov->num_VFs (pci_iov_set_numvfs)", 0xFFFF),
    ("sriov_ctrl", "iov->ctrl", 0xFFFF),
    ("acs_iommu", "pci_std_enable_acs: ACS Capability (read) & (SV | RR | CR | UF); with merge, OR-ed into the "
                  "Control read (no Translation Blocking: ATS enabled, no untrusted or external-facing device)", 0x1D),
    ("ats_off", "ctrl & ~PCI_ATS_CTRL_ENABLE (with merge: the Control read, Enable cleared)", 0x8000),
    ("pri_off", "control & ~PCI_PRI_CTRL_ENABLE (with merge: the Control read, Enable cleared)", 0x1),
    ("zero", "0", 0xFFFFFFFF),
    ("pri_reset", "PCI_PRI_CTRL_RESET (pci_reset_pri)", 0xFFFF),
    ("nr_virtfn", "nr_virtfn, the path's argument (pci_iov_set_numvfs(dev, nr_virtfn) in sriov_enable)", 0xFFFF),
    ("aspm_off", "0 in LNKCTL's ASPM Control (pcie_config_aspm_dev(pdev, 0))", 0x3),
    ("aspm_upstream", "the upstream component's LNKCTL ASPM Control for the state: L0s for L0S_DW, L1", 0x3),
    ("aspm_downstream", "the downstream component's LNKCTL ASPM Control for the state: L0s for L0S_UP, L1", 0x3),
    ("l1ss_off", "0 in L1SS Control 1's four enables (PCI_L1SS_CTL1_L1SS_MASK)", 0xF),
    ("l1ss_enables", "L1SS Control 1's enables for the state (ASPM L1.1, L1.2, PCI-PM L1.1, L1.2)", 0xF),
    ("clkreq_on", "PCI_EXP_LNKCTL_CLKREQ_EN", 0x100),
    ("ptm_ctrl", "__pci_enable_ptm for a function that is not a PTM Root: PCI_PTM_CTRL_ENABLE and the "
                 "granularity field from dev->ptm_granularity (field: Enable, Granularity; Root Select left alone)",
     0xFF01),
    ("port_ptm_ctrl", "the same for the port above (with port = true)", 0xFF01),
    ("ptm_off", "__pci_disable_ptm: ctrl & ~(PCI_PTM_CTRL_ENABLE | PCI_PTM_CTRL_ROOT)", 0x3),
    ("ptm_ctrl_root", "__pci_enable_ptm for a PTM Root (dev->ptm_root): ptm_ctrl | PCI_PTM_CTRL_ROOT "
                      "(field: Enable, Granularity, Root Select)", 0xFF03),
    ("port_ptm_ctrl_root", "the same for the port above (with port = true)", 0xFF03),
    ("local_a", "the value the path's read_local put in local a (a register read earlier in the path)", 0xFFFFFFFF),
    ("local_b", "the same for local b", 0xFFFFFFFF),
    ("aer_flags", "PCI_EXP_AER_FLAGS: CERE | NFERE | FERE | URRE (pci_enable_pcie_error_reporting; with merge, "
                  "set in the Device Control read: pcie_capability_set_word)", 0xF),
)
CAP_VALUE_FIELDS = {n: f for n, _, f in CAP_VALUES}
_CAP = ParamDef("cap", "enum", CAPABILITIES, bits=4)
_REG = ParamDef("reg", "offset", (("0x00-0xFF", "the register's offset in the capability"),))
_WIDTH = ParamDef("width", "enum", (("word", "16 bits: pci_*_config_word"), ("dword", "32 bits: pci_*_config_dword")),
                  bits=1)
_SLOT = ParamDef("slot", "count", (("0-15", "the buffer's word or dword (as width) to write: "
                                           "save_state->cap.data[slot]"),))


@dataclass(frozen=True)
class PrimitiveDef:
    name: str
    upstream: str                           # the kernel function it mirrors
    params: tuple[ParamDef, ...]            # at most one (the compiled step has one argument)
    doc: str


_KERNEL_PATH = ParamDef("path", "path", tuple((p.name, p.upstream) for p in PATHS if not p.name.startswith("driver.")))

PRIMITIVES: tuple[PrimitiveDef, ...] = (
    PrimitiveDef("stop", "return", (), "end the path here (with `when`: an early return)"),
    PrimitiveDef("call", "a call of another path", (_KERNEL_PATH,),
                 "run the named path (its result does not change this path's)"),
    PrimitiveDef("set_power", "pci_set_power_state",
                 (ParamDef("state", "enum", (("d0", "PCI_D0: pci_set_full_power_state"),
                                             ("d3hot", "PCI_D3hot: pci_set_low_power_state"),
                                             ("d3cold", "PCI_D3cold: D3hot, then the platform removes power"),
                                             ("arg", "the path's argument (vfio_pci_set_power_state's state)"))),),
                 "a power transition, [path.pci_set_power_state]; sets the result"),
    PrimitiveDef("save_state", "pci_save_state", (), "the [save] steps (§2)"),
    PrimitiveDef("restore_state", "pci_restore_state", (), "the [restore] steps (§3)"),
    PrimitiveDef("write_command", "pci_write_config_word(dev, PCI_COMMAND, value)",
                 (ParamDef("value", "bits", tuple((n, f"0x{b:04x}") for n, b in COMMAND_BITS)),),
                 "write Command with exactly these bits set"),
    PrimitiveDef("reset_methods", "__pci_reset_function_locked",
                 (), "the [reset] methods in order (the op's method argument narrows them); sets the result"),
    PrimitiveDef("secondary_bus_reset", "pci_reset_secondary_bus",
                 (), "the upstream port's Bridge Control SBR pulse; sets the result"),
    PrimitiveDef("driver", "dev->driver->err_handler->CALLBACK",
                 (ParamDef("callback", "path", tuple((c, f"[driver.{c}] for a host driver") for c in DRIVER_CALLBACKS)),),
                 "the bound driver's callback: a host driver runs [driver.CALLBACK], vfio-pci its own"),
    PrimitiveDef("vote", "return PCI_ERS_RESULT_*", (ParamDef("result", "enum", VOTES),),
                 "a driver callback's return value; sets the result"),
    PrimitiveDef("user_set_irqs", "VFIO_DEVICE_SET_IRQS (vfio_pci_set_irqs_ioctl)",
                 (ParamDef("index", "enum", (("none", "DATA_NONE, count 0: every index off"),
                                             ("intx", "INTx on"))),),
                 "QEMU's interrupt set-up through the vfio ioctl (vfio_disable_interrupts, vfio_intx_enable), "
                 "or vfio_pci_core_disable's own call (DATA_NONE on the current index)"),
    PrimitiveDef("user_clear_command", "vfio_pci_read_config/vfio_pci_write_config(PCI_COMMAND) (QEMU)",
                 (ParamDef("value", "bits", tuple((n, f"0x{b:04x}") for n, b in COMMAND_BITS)),),
                 "read Command through the config region (hardware bits, vconfig's INTx Disable), clear these bits, "
                 "write it back"),
    PrimitiveDef("user_pm_d0", "vfio_pci_pre_reset's PMCSR write (QEMU)", (),
                 "if PMCSR's PowerState is not D0, write it to D0 through the config region"),
    PrimitiveDef("user_zero_bars", "vfio_pci_post_reset's BAR writes (QEMU)", (),
                 "the six BAR registers written 0 through the config region"),
    PrimitiveDef("qemu_pick_reset", "vfio_pci_reset's choice (QEMU)", (),
                 "[path.qemu_pick_reset]: the reset QEMU picks, falling through on failure"),
    PrimitiveDef("set_runtime_status", "rpm_suspend/rpm_resume (drivers/base/power/runtime.c)",
                 (ParamDef("status", "enum", (("suspended", "RPM_SUSPENDED"), ("active", "RPM_ACTIVE"))),),
                 "the device's runtime-PM status"),
    PrimitiveDef("suspend_ptm", "pci_suspend_ptm", (), "PTM Enable off, ptm_enable_cnt kept"),
    PrimitiveDef("resume_ptm", "pci_resume_ptm", (), "PTM Enable back if ptm_enable_cnt > 0"),
    PrimitiveDef("clear_state_saved", "pci_dev->state_saved = false", (), "the snapshot no longer counts as saved"),
    PrimitiveDef("power_up", "pci_power_up", (),
                 "[path.pci_power_up]: PMCSR to D0 (no BAR re-write), current_state D0; sets the result "
                 "(1: a D3hot->D0 soft reset may have happened, -EIO: no PM capability or inaccessible)"),
    PrimitiveDef("fail", "return -ERRNO", (ParamDef("errno", "enum", (("enotty", "-ENOTTY (-25)"),
                                                                       ("eio", "-EIO (-5)"),
                                                                       ("einval", "-EINVAL (-22)"),
                                                                       ("enomem", "-ENOMEM (-12)"),
                                                                       ("ebusy", "-EBUSY (-16)"),
                                                                       ("enosys", "-ENOSYS (-38)"),
                                                                       ("enoent", "-ENOENT (-2)"))),),
                 "end the path with this result (with `when`: an early error return)"),
    PrimitiveDef("initiate_flr", "pcie_flr: pcie_capability_set_word(DEVCTL, BCR_FLR) + pci_dev_wait", (),
                 "DEVCTL Initiate FLR by read-modify-write; the function resets if it answers; result 0, or "
                 "-ENOTTY when pci_dev_wait times out"),
    PrimitiveDef("set_unknown_state", "pci_pm_set_unknown_state", (),
                 "current_state D0 becomes unknown (the firmware may change it while the system sleeps)"),
    PrimitiveDef("skip_bus_pm", "pci_dev->skip_bus_pm = value",
                 (ParamDef("value", "enum", (("false", "false"), ("true", "true"))),),
                 "the flag pci_pm_suspend_noirq sets for a device left in D0 and pci_pm_resume_noirq reads"),
    PrimitiveDef("update_current_state", "pci_update_current_state(dev, PCI_UNKNOWN)", (),
                 "current_state from PMCSR (all-ones: D3cold; no PM capability: unknown)"),
    PrimitiveDef("direct_complete", "device_prepare: dev->power.direct_complete (drivers/base/power/main.c)", (),
                 "set when pci_pm_prepare returns 1: runtime-suspended and !pci_dev_need_resume (no platform "
                 "PM, no wakeup: current_state D3hot or D3cold, or D0 without a PM capability)"),
    PrimitiveDef("power_off", "the platform removes main power while the system sleeps", (),
                 "the function loses its context: registers to their power-on values, as D3cold does"),
    PrimitiveDef("clear_master", "pci_clear_master", (), "Bus Master cleared (written only if set)"),
    PrimitiveDef("enable_device", "pci_enable_device / pci_disable_device",
                 (ParamDef("state", "enum", (("enable", "pci_enable_device: D0, I/O and Memory decode for the "
                                                        "assigned BARs, INTx Disable cleared without MSI"),
                                             ("disable", "pci_disable_device: Bus Master off with the last "
                                                         "enable"))),),
                 "the enable count and what comes with it"),
    PrimitiveDef("try_reset", "pci_try_reset_function / pci_reset_bus",
                 (ParamDef("scope", "enum", (("function", "pci_try_reset_function: -ENOTTY without a reset "
                                                          "method, else [path.pci_reset_function]"),
                                             ("bus", "pci_reset_bus: -ENOTTY without an upstream port, else "
                                                     "[path.pci_reset_bus]"))),),
                 "a whole reset entry point, checks included; sets the result"),
    PrimitiveDef("vfio_set_power", "vfio_pci_set_power_state",
                 (ParamDef("state", "enum", (("d0", "PCI_D0: restores pm_save on a NoSoftRst- device"),
                                             ("d3hot", "PCI_D3hot: saves into pm_save on a NoSoftRst- device"))),),
                 "vfio-pci's power transition"),
    PrimitiveDef("vfio_reset_works", "vdev->reset_works = !ret", (),
                 "vfio_pci_core_enable records whether its reset attempt (the result) worked"),
    PrimitiveDef("vfio_store_saved_state", "vdev->pci_saved_state = pci_store_saved_state(pdev)", (),
                 "the open-time copy of the snapshot"),
    PrimitiveDef("vfio_load_saved_state", "pci_load_(and_free_)saved_state(pdev, vdev->pci_saved_state)",
                 (ParamDef("free", "enum", (("true", "pci_load_and_free_saved_state (close): the copy is freed, and "
                                                     "a restore_state later in the same path returns the device to "
                                                     "its open-time state on purpose"),
                                            ("false", "pci_load_saved_state: the copy is kept, and a later restore "
                                                      "of it is one of an older snapshot (v18 reset_done)"))),),
                 "the open-time copy back into the snapshot; sets the result (non-zero: nothing loaded)"),
    PrimitiveDef("vfio_config_init", "vfio_config_init", (),
                 "vconfig's Command and BARs, and rbar[] (BARs and ROM dword), read from the device"),
    PrimitiveDef("vfio_needs_reset", "vdev->needs_reset = value",
                 (ParamDef("value", "enum", (("false", "false"), ("true", "true"))),),
                 "whether the device is dirty for vfio_pci_dev_set_try_reset"),
    PrimitiveDef("vfio_open", "the vfio core's open_count (vfio_df_open / vfio_df_close)",
                 (ParamDef("value", "enum", (("open", "open: no interrupt type yet"),
                                             ("closed", "closed: vdev->virq_disabled = false (vfio_pci_core_disable "
                                                        "clears it after the interrupts; nothing reads it between)"))),),
                 "the device is open (or closed) for the user"),
    PrimitiveDef("disable_feature", "a driver's teardown of a feature it enabled",
                 (ParamDef("feature", "enum", (("msix", "free_irq + pci_free_irq_vectors (pci_disable_msix)"),
                                               ("msi", "free_irq + pci_free_irq_vectors (pci_disable_msi)"),
                                               ("tph", "pcie_disable_tph"))),),
                 "turn the feature off if it is enabled (nothing otherwise)"),
    PrimitiveDef("set_master", "pci_set_master", (), "Bus Master set (written only if clear); is_busmaster"),
    PrimitiveDef("reset_function", "pci_reset_function", (),
                 "-ENOTTY without a reset method (the op's method argument narrows them), else "
                 "[path.pci_reset_function]; sets the result"),
    PrimitiveDef("vfio_irqs_disable", "vfio_msi_disable / vfio_intx_disable (DATA_NONE, count 0)",
                 (_MEMORY_BRACKET,),
                 "the enabled index off: each MSI/MSI-X vector freed, then pci_free_irq_vectors"),
    PrimitiveDef("vfio_irqs_enable", "vfio_msi_enable + vfio_msi_set_block / vfio_intx_enable",
                 (_MEMORY_BRACKET,),
                 "the path's index on with its count of vectors (-EINVAL outside D0, before any table "
                 "access); sets the result"),
    PrimitiveDef("restore_ltr", "pci_restore_ltr_state", (),
                 "the saved Max Snoop/No-Snoop latencies written back (one dword at LTR+0x04)"),
    PrimitiveDef("bridge_reconfigure_ltr", "pci_bridge_reconfigure_ltr", (),
                 "the upstream port on an LTR path gets DEVCTL2 LTR Enable back if it is clear"),
    PrimitiveDef("restore_pcie_registers", "pcie_capability_write_word(DEVCTL .. LNKCTL2)", (),
                 "DEVCTL, LNKCTL, SLTCTL, RTCTL, DEVCTL2, LNKCTL2 from the PCIe buffer, each the capability "
                 "implements (SLTCTL2 is never written back)"),
    PrimitiveDef("check_l1ss_buffer", "(the oracle)", (),
                 "the child's L1SS buffer must come from the snapshot's own save (restore_unsaved_buffer); "
                 "each l1ss_write checks it too, so the baseline has no such step"),
    PrimitiveDef("l1ss_aspm", "pcie_capability_read_word / _write_word(LNKCTL) at both ends",
                 (ParamDef("state", "enum", (("off", "read both LNKCTLs; if either has ASPM L0s/L1, write both "
                                                     "without it (child, then parent)"),
                                             ("back", "if ASPM was on, write both back (parent, then child)"))),),
                 "ASPM L0s/L1 off while L1SS changes"),
    PrimitiveDef("l1ss_clear_l12", "pci_clear_and_set_config_dword(CTL1, PCI_L1SS_CTL1_L1_2_MASK, 0)",
                 (ParamDef("end", "enum", (("child", "the function"), ("parent", "its upstream port"))),),
                 "the L1.2 enables cleared at one end by read-modify-write"),
    PrimitiveDef("l1ss_write", "pci_write_config_dword(L1SS CTL1/CTL2) from the saved values",
                 (ParamDef("value", "enum", (("parent_ctl2", "the parent's saved CTL2"),
                                             ("child_ctl2", "the child's saved CTL2"),
                                             ("parent_ctl1_no_l12", "the parent's saved CTL1 without L1.2 enables"),
                                             ("child_ctl1_no_l12", "the child's saved CTL1 without L1.2 enables"),
                                             ("parent_ctl1", "the parent's saved CTL1 whole"),
                                             ("child_ctl1", "the child's saved CTL1 whole"))),),
                 "one L1SS Control write; the parent's values come from the parent's buffer"),
    PrimitiveDef("intx_for_msi", "pci_intx_for_msi(dev, 0)", (), "INTx Disable set (written only if it changes)"),
    PrimitiveDef("msix_ctrl", "pci_msix_clear_and_set_ctrl",
                 (ParamDef("value", "enum", (("enable_maskall", "set Enable and Function Mask"),
                                             ("clear_maskall", "clear Function Mask"),
                                             ("disable_maskall", "clear Enable and Function Mask "
                                                                 "(msix_capability_init's out_disable)"),
                                             ("disable", "clear Enable (pci_msix_shutdown)"))),),
                 "a read-modify-write of MSI-X Message Control"),
    PrimitiveDef("msix_memory", "pci_read_config_word / pci_write_config_word(PCI_COMMAND) (231c7a57d193)",
                 (ParamDef("state", "enum", (("on", "read Command, write it with Memory set"),
                                             ("back", "write the Command read by `on` back"))),),
                 "Memory decode forced on around the MSI-X table writes"),
    PrimitiveDef("msix_restore_entries", "__pci_restore_msix_state's loop: pci_write_msg_msix, pci_msix_write_vector_ctrl",
                 (), "each entry's cached message (D0 and connected only: __pci_write_msi_msg) and Vector Control, "
                     "over MMIO"),
    PrimitiveDef("msi_ctrl", "pci_msi_set_enable / __pci_restore_msi_state's Message Control write",
                 (ParamDef("value", "enum", (("disable", "pci_msi_set_enable(dev, 0): read-modify-write, Enable clear"),
                                             ("enable", "read Message Control, Multiple Message Enable from the "
                                                        "descriptor (one vector here), Enable set, write"),
                                             ("set_enable", "pci_msi_set_enable(dev, 1): read-modify-write, Enable "
                                                            "set, the rest as read"))),),
                 "a write of MSI Message Control"),
    PrimitiveDef("msi_write_message", "__pci_write_msi_msg", (),
                 "the cached message (address, upper address on a 64-bit capability, data) and a flush read; "
                 "nothing unless current_state is D0 and the device connected"),
    PrimitiveDef("msi_update_mask", "pci_msi_update_mask(entry, 0, 0)", (),
                 "the cached mask bits written back, when the capability has per-vector masking"),
    PrimitiveDef("config_dwords", "pci_restore_config_space_range -> pci_restore_config_dword",
                 (ParamDef("dwords", "dwords", (("\"A..B\"", "the snapshot's dwords A to B, in that order"),)),
                  ParamDef("retry", "count", (("0-15", "re-reads and re-writes while the dword reads back "
                                                      "otherwise (BARs: 10)"),)),
                  ParamDef("force", "flag", (("true/false", "write even when the dword already reads the "
                                                            "saved value"),))),
                 "each dword read and, unless it already holds the saved value (or force), written from "
                 "saved_config_space"),
    PrimitiveDef("vfio_vconfig_set", "*(__le16 *)&vconfig[PCI_COMMAND] |= value",
                 (ParamDef("value", "bits", tuple((n, f"0x{b:04x}") for n, b in COMMAND_BITS)),),
                 "set these bits in vfio's virtual Command (vfio_config_init: a VF's Memory, ebfa440ce38b); "
                 "the device is not touched"),
    PrimitiveDef("vfio_bar_access", "vfio_ioread32 / vfio_iowrite32 on vdev->barmap[bar]",
                 (), "the path's BAR and access at the BAR's last dword, to the address the kernel assigned: "
                     "the function claims it only in D0, answering, with Memory (I/O for an I/O BAR) decode "
                     "on and the BAR still at that address, else an Unsupported Request; a dword inside the "
                     "MSI-X table is not accessed (vfio_pci_core_do_io_rw's excluded range)"),
    PrimitiveDef("cap_restore", "pci_write_config_word/dword(dev, cap + reg, save_state->cap.data[slot])",
                 (_CAP, _REG, _WIDTH, _SLOT),
                 "one register written from the capability's saved-state buffer; nothing without the capability "
                 "or its buffer (the function's early returns); the oracle checks the buffer is the snapshot's "
                 "(restore_unsaved_buffer)"),
    PrimitiveDef("cap_write", "pci_write_config_word/dword(dev, cap + reg, value) of live kernel state",
                 (_CAP, _REG, _WIDTH,
                  ParamDef("value", "enum", tuple((n, d) for n, d, _ in CAP_VALUES), bits=5),
                  ParamDef("merge", "flag", (("true/false", "read the register first and replace only the "
                                                            "value's field (a read-modify-write)"),)),
                  ParamDef("port", "flag", (("true/false (default false)", "the upstream port's capability "
                                                                           "instead of the function's (the other "
                                                                           "end of its link)"),), default=False)),
                 "one register written from the kernel's live state; nothing without the capability"),
    PrimitiveDef("tph_restore_st", "pci_restore_tph_state's loop: pci_write_config_word(ST entry i)", (),
                 "the ST table entries from the TPH buffer (after its Control dword), as many as the live "
                 "capability's ST Table Size says (pcie_tph_get_st_table_size)"),
    PrimitiveDef("cap_save", "pci_read_config_word/dword(dev, cap + reg, &save_state->cap.data[slot])",
                 (_CAP, _REG, _WIDTH, _SLOT),
                 "one register read into the capability's saved-state buffer, which this save then owns; "
                 "nothing without the capability or its buffer (a PCIe register the device type lacks reads 0: "
                 "pcie_capability_read_word)"),
    PrimitiveDef("tph_save_st", "pci_save_tph_state's loop: pci_read_config_word(ST entry i)", (),
                 "the ST table entries into the TPH buffer after its Control dword (pcie_tph_get_st_table_size)"),
    PrimitiveDef("save_l1ss", "pci_save_aspm_l1ss_state", (),
                 "the function's L1SS CTL2 and CTL1, then its upstream port's into the port's buffer (both ends "
                 "need L1SS and a buffer)"),
    PrimitiveDef("vc_save", "pci_save_vc_state's loop", (),
                 "each VC capability's Port VC Control and VC Resource Controls into its buffer; sets the result "
                 "-ENOMEM when a buffer is missing"),
    PrimitiveDef("cap_write_back", "pci_read_config_word/dword(dev, cap + reg, &v); pci_write_config_word/dword(..., v)",
                 (_CAP, _REG, _WIDTH),
                 "a status register read and written back: every set RW1C bit clears (AER Uncorrectable Status "
                 "also holds the model's own latched UR); nothing without the capability"),
    PrimitiveDef("ers_status", "pcie_do_recovery: status = PCI_ERS_RESULT_*",
                 (ParamDef("value", "enum", VOTES[1:]),),
                 "set the recovery status the report_* broadcasts merge their votes into"),
    PrimitiveDef("ers_report", "pcie_do_recovery's pci_walk_bridge(bridge, report_*, &status)",
                 (ParamDef("callback", "enum", (
                     ("error_detected", "[path.report_error_detected] (report_frozen_detected / "
                                        "report_normal_detected: the op's channel)"),
                     ("mmio_enabled", "[path.report_mmio_enabled]"),
                     ("slot_reset", "[path.report_slot_reset]"),
                     ("resume", "[path.report_resume] (no vote)"),
                     ("perm_failure", "[path.report_perm_failure_detected] (its vote ignored)"))),),
                 "one broadcast to the function below the bridge: the report_* path, whose result (the vote; 0 "
                 "for none) merge_result folds into the recovery status"),
    PrimitiveDef("reset_subordinates", "pcie_do_recovery's reset_subordinates(bridge): aer_root_reset / "
                 "dpc_reset_link", (),
                 "the reset the caller passed: [path.dpc_reset_link] for a DPC event (dpc_handler), else "
                 "[path.aer_root_reset] (aer_isr); sets the result (0 when it returned RECOVERED, i.e. the "
                 "path's result was 0)"),
    PrimitiveDef("clear_error_status", "pcie_clear_device_status + pci_aer_clear_nonfatal_status", (),
                 "DEVSTA's error bits and the non-fatal Uncorrectable Status bits written to clear, on the device "
                 "that detected the error (the function for AER, its port for DPC)"),
    PrimitiveDef("recovery_said", "pci_info(bridge, \"device recovery %s\")",
                 (ParamDef("value", "enum", (("successful", "\"device recovery successful\""),
                                             ("failed", "\"device recovery failed\""))),),
                 "what the recovery logs (validate compares it with the guest's kernel log)"),
    PrimitiveDef("rebar_restore_sizes", "pci_restore_rebar_state's loop", (),
                 "the count of resizable BARs from the first ReBAR Control; per entry its Control read, the "
                 "BAR Size field set from resource_size() of its BAR Index (pci_rebar_bytes_to_size), written "
                 "back; nothing without the capability"),
    PrimitiveDef("vc_restore", "pci_vc_do_save_buffer(dev, pos, save_state, false)",
                 (ParamDef("cap", "enum", (("mfvc", "Multi-Function VC (0x0008)"), ("vc", "VC (0x0002)"),
                                           ("vc9", "VC (0x0009)"))),
                  ParamDef("part", "enum", (
                      ("port_ctrl", "pci_write_config_word(pos + PCI_VC_PORT_CTRL) from the buffer"),
                      ("resources", "per VC (Extended VC Count + 1): Resource Control read, the buffer's "
                                    "value written with the live Enable kept (an FLR may keep VC config), then "
                                    "pci_vc_enable when the saved Enable differs: on a Root or Downstream Port "
                                    "or PCIe-to-PCI bridge (pcie_downstream_port) Resource Control read and "
                                    "written with Enable set, elsewhere nothing")))),
                 "one part of one VC capability's restore; nothing without the capability or its buffer (the "
                 "loop's continue). Arbitration tables are not modelled, nor the link partner's end of "
                 "pci_vc_enable"),
    PrimitiveDef("root_aer_irq", "aer_disable_irq / aer_enable_irq (drivers/pci/pcie/aer.c)",
                 (ParamDef("state", "enum", (("disable", "Root Error Command &= ~(COR|NONFATAL|FATAL)_ERR_REPORTING_EN"),
                                             ("enable", "Root Error Command |= the three"))),),
                 "the root port's AER interrupt, read-modify-write of its Root Error Command (the port above "
                 "the function; nothing unless it is a root port with AER)"),
    PrimitiveDef("root_error_status_clear", "pci_read_config_dword(root, aer + PCI_ERR_ROOT_STATUS) written back", (),
                 "the root port's Root Error Status written to clear what it holds (nothing unless the port "
                 "above is a root port with AER)"),
    PrimitiveDef("bus_error_reset", "pci_bus_error_reset(dev)", (),
                 "a secondary bus reset by the port above, no save, no restore, no callbacks; sets the result "
                 "(-ENOTTY without an upstream port)"),
    PrimitiveDef("flr_reset", "pcie_reset_flr(dev, PCI_RESET_DO_RESET)", (),
                 "an FLR of the function (-ENOTTY without FLR capability); sets the result"),
    PrimitiveDef("dpc_clear_trigger", "pci_write_config_word(pdev, cap + PCI_EXP_DPC_STATUS, PCI_EXP_DPC_STATUS_TRIGGER)",
                 (), "DPC Trigger Status cleared on the port (RW1CS): the port leaves containment, the link "
                     "retrains and the function answers again"),
    PrimitiveDef("wait_secondary_bus", "pci_bridge_wait_for_secondary_bus(port)", (),
                 "after a reset of the link: below a fast port with DLLLARC the link must be up again (-ENOTTY "
                 "when Link Status has DLLLA clear); sets the result"),
    PrimitiveDef("platform_power_on", "platform_pci_set_power_state(dev, PCI_D0)", (),
                 "the platform powers the function up: nothing if it has power, else a fundamental reset "
                 "(registers at power-on values, PowerState D0)"),
    PrimitiveDef("set_current_state", "dev->current_state = STATE",
                 (ParamDef("state", "enum", (("d0", "PCI_D0"), ("d3cold", "PCI_D3cold"),
                                             ("pmcsr", "PMCSR's PowerState field as read, unchecked "
                                                       "(pci_set_low_power_state's read-back)"))),),
                 "what the kernel believes the power state is"),
    PrimitiveDef("pmcsr_write", "pci_write_config_word(dev, dev->pm_cap + PCI_PM_CTRL, ...)",
                 (ParamDef("value", "enum", (("zero", "0: the entire word, PME_En off, PowerState D0 "
                                                      "(pci_power_up's \"Force the entire word to 0\")"),
                                             ("d3hot", "PMCSR read, PowerState set to D3hot, the rest kept "
                                                       "(pci_set_low_power_state)"),
                                             ("d0", "PMCSR read, PowerState set to D0, the rest kept "
                                                    "(pci_pm_reset's second write)"),
                                             ("target", "PMCSR read, PowerState set to the low-power target (the "
                                                        "path's argument, D3cold taken as D3hot), the rest kept "
                                                        "(pci_set_low_power_state)"))),),
                 "a PMCSR write; the function's D3hot->D0 with NoSoftRst clear is a soft reset"),
    PrimitiveDef("set_result", "return N", (ParamDef("value", "enum", (("0", "0"), ("1", "1"))),),
                 "the path's result (pci_power_up's need_restore is 1)"),
    PrimitiveDef("restore_bars", "pci_restore_bars(dev): resources 0-6", (),
                 "each BAR and the ROM written from the kernel's resources (pci_update_resource -> "
                 "pci_std_update_resource); [path.pci_restore_bars] adds the VF BARs"),
    PrimitiveDef("return", "return N", (ParamDef("value", "enum", (("0", "0"), ("1", "1"))),),
                 "the path ends with this result (`stop` ends it with the result so far)"),
    PrimitiveDef("call_result", "ret = PATH(...)", (_KERNEL_PATH,),
                 "run the named path with this path's argument; its result becomes this path's"),
    PrimitiveDef("set_flag", "a local of the kernel function (needs_save, needs_restore, ...)",
                 (ParamDef("flag", "enum", (("a", "flag a"), ("b", "flag b"))),),
                 "set one of the path's two flags (false when the path starts): a decision taken before a "
                 "step that changes what it was made from (conditions flag_a, flag_b)"),
    PrimitiveDef("platform_power_off", "pci_platform_power_transition(dev, PCI_D3cold)", (),
                 "the platform removes the function's power: it answers nothing (config reads all-ones, writes "
                 "dropped) until platform_power_on"),
    PrimitiveDef("vfio_pm_save", "vdev->pm_save (vfio_pci_set_power_state)",
                 (ParamDef("op", "enum", (("store", "kfree(vdev->pm_save); vdev->pm_save = pci_store_saved_state(pdev)"),
                                          ("load", "pci_load_and_free_saved_state(pdev, &vdev->pm_save): the copy "
                                                   "(maybe none) back into the snapshot and freed; a restore_state "
                                                   "later in the path restores it on purpose"))),),
                 "vfio-pci's copy of the snapshot over a D3hot it put the function in"),
    PrimitiveDef("dev_wait", "pci_dev_wait(dev, reset_type, timeout)", (),
                 "poll until the function answers after a reset: 0, or -ENOTTY when it never does (config reads "
                 "all-ones); sets the result"),
    PrimitiveDef("vfio_probe_power_state", "vfio_pci_probe_power_state", (),
                 "vdev->needs_pm_restore = PMCSR, read now, has NoSoftRst clear (an all-ones read: set); false "
                 "without a PM capability"),
    PrimitiveDef("driver_vote", "vote = dev->driver->err_handler->CALLBACK(dev, ...)",
                 (ParamDef("callback", "path", tuple((c, f"[driver.{c}] for a host driver") for c in DRIVER_CALLBACKS)),),
                 "the bound driver's callback, as `driver`, whose vote becomes the result (PCI_ERS_RESULT_NONE "
                 "when it votes nothing, has no such callback or no driver is bound)"),
    PrimitiveDef("set_io_state", "pci_dev_set_io_state(dev, state)",
                 (ParamDef("state", "enum", (("channel", "the recovery's channel (frozen or normal)"),
                                             ("normal", "pci_channel_io_normal"))),),
                 "dev->error_state becomes the state, unless it is pci_channel_io_perm_failure (which stays)"),
    PrimitiveDef("config_save", "pci_read_config_dword(dev, i * 4, &dev->saved_config_space[i])",
                 (ParamDef("dwords", "dwords", (("\"A..B\"", "the header's dwords A to B, in that order"),)),),
                 "each dword read into saved_config_space (this save's); a snapshot whose Command/Status dword "
                 "reads all-ones is reported (snapshot_all_ones)"),
    PrimitiveDef("set_state_saved", "dev->state_saved = true", (), "the snapshot counts as saved"),
    PrimitiveDef("user_reset", "ioctl(VFIO_DEVICE_RESET) / vfio_pci_hot_reset_one (QEMU)",
                 (ParamDef("ioctl", "enum", (("device_reset", "VFIO_DEVICE_RESET: [path.vfio_pci_ioctl_reset]"),
                                             ("hot_reset", "VFIO_DEVICE_PCI_HOT_RESET: -ENOTTY without a bus reset, "
                                                           "else [path.vfio_pci_dev_set_hot_reset]"))),),
                 "a reset user space asks vfio-pci for; sets the result (0: it worked)"),
    PrimitiveDef("msix_map_region", "dev->msix_enabled = 1; msix_map_region (drivers/pci/msi/msi.c)", (),
                 "msix_enabled set, Message Control and the Table Offset/BIR read now; -ENOMEM (msix_enabled "
                 "cleared) when the BIR names no assigned resource the model holds (a function reading all-ones "
                 "names BIR 7; SR-IOV resources are not modelled); sets the result"),
    PrimitiveDef("msix_setup_interrupts", "msix_setup_interrupts (drivers/pci/msi/msi.c)", (),
                 "a descriptor per vector (the path's argument), each entry's Vector Control read; the messages "
                 "are written when the vectors are requested"),
    PrimitiveDef("msix_mask_all", "msix_mask_all(dev->msix_base, tsize)", (),
                 "every table entry's Vector Control written masked"),
    PrimitiveDef("msix_mask_vectors", "msi_for_each_desc: pci_msix_mask(desc)", (),
                 "each allocated vector masked (its cached Vector Control, written)"),
    PrimitiveDef("msix_forget", "dev->msix_enabled = 0 (descriptors freed)", (),
                 "the kernel no longer believes MSI-X is on; nothing is written"),
    PrimitiveDef("intx_on", "pci_intx_for_msi(dev, 1)", (), "INTx Disable cleared (written only if it changes)"),
    PrimitiveDef("msi_setup", "msi_setup_msi_desc (drivers/pci/msi/msi.c)", (),
                 "the one vector's descriptor: msi_enabled set (the model marks it here), the message the IRQ core "
                 "composes cached, the cached mask 0"),
    PrimitiveDef("msi_mask", "pci_msi_mask / pci_msi_unmask",
                 (ParamDef("value", "enum", (("mask", "the vector masked"), ("unmask", "the vector unmasked"))),),
                 "the cached mask and the Mask Bits register, written only with Per-Vector Masking (Message "
                 "Control read now)"),
    PrimitiveDef("msi_forget", "dev->msi_enabled = 0", (), "the kernel no longer believes MSI is on; nothing is written"),
    PrimitiveDef("kernel_set", "an assignment to the kernel's own record of a feature (struct pci_dev)",
                 (ParamDef("field", "enum", KERNEL_FIELDS, bits=5),),
                 "one field of the kernel's state set as the enable and disable functions do; nothing is written to "
                 "the function (a read the assignment needs goes through the modelled access path)"),
    PrimitiveDef("command_set", "pci_enable_resources: pci_read_config_word(PCI_COMMAND), cmd |= value, written "
                                "if it changed",
                 (ParamDef("value", "bits", tuple((n, f"0x{b:04x}") for n, b in COMMAND_BITS)),),
                 "set these Command bits in a read-modify-write, written only if they were not all set"),
    PrimitiveDef("command_bracket", "pci_read_config_word(PCI_COMMAND) ... pci_write_config_word(PCI_COMMAND, cmd)",
                 (ParamDef("state", "enum", (("memory_off", "Command read and written with Memory cleared"),
                                             ("back", "the value read written back (nothing if no bracket is open)")),
                           bits=1),),
                 "a Memory-off bracket around a step: pci_std_update_resource's for a 64-bit BAR"),
    PrimitiveDef("bar_write", "pci_write_config_dword(dev, reg, new) in pci_std_update_resource",
                 (ParamDef("part", "enum", (("low", "the register (a BAR's low dword, or the ROM BAR with its enable)"),
                                            ("high", "a 64-bit BAR's upper dword")), bits=1),),
                 "the path's resource (argument bits 0-7) written from the kernel's resource: new = region.start | "
                 "the type bits enumeration decoded; saved_config_space takes it too under "
                 "[resources] bar_assignment_updates_snapshot"),
    PrimitiveDef("bar_move", "pci_assign_resource: the resource placed at a new aligned address",
                 (), "the path's BAR (argument bits 0-7) moves to address slot argument bits 8-15 (slot 0: where "
                     "enumeration found it); nothing is written"),
    PrimitiveDef("rebar_resize", "pci_rebar_size_supported, pci_rebar_get_current_size, pci_rebar_set_size, "
                                 "pci_resize_resource_set_size (drivers/pci/rebar.c)",
                 (), "the first ReBAR entry's BAR to one of the sizes its capability lists (the path's argument picks "
                     "it): the entry found by BAR index in ReBAR Control (-ENOENT if none), the sizes read (-EINVAL if "
                     "none), BAR Size written, the resource resized at an aligned address; its status is the result"),
    PrimitiveDef("rebar_update_bar", "pbus_reassign_bridge_resources -> pci_update_resource (drivers/pci/setup-bus.c)",
                 (), "the resized BAR's register written from its new resource ([path.pci_std_update_resource])"),
    # the parts of vfio-pci's write functions (the vfio_*_config_write paths); each works on the piece
    # vfio_pci_config_rw_single hands the path (its offset, width and value)
    PrimitiveDef("vfio_default_write", "vfio_default_config_write (drivers/vfio/pci/vfio_pci_config.c)", (),
                 "the piece by its region's permission bits: nothing without a write bit; writable virtual bits "
                 "into vconfig; writable bits not virtual to hardware in a read-modify-write of the piece "
                 "(pci_user_read_config / pci_user_write_config)"),
    PrimitiveDef("vfio_bar_restore_check", "vfio_basic_config_write's test, then vfio_bar_restore", (),
                 "the piece's value turns Memory (not with pdev->no_command_memory: a VF) or I/O on while vconfig "
                 "has it on and hardware (Command, read now) has it off, or else a non-zero rbar[] BAR differs "
                 "from hardware (vfio_need_bar_restore): BARs 0-5 then the ROM dword written from rbar[] (nothing "
                 "on a VF); vfio's own accesses"),
    PrimitiveDef("vfio_command_track", "vfio_basic_config_write: *virt_cmd &= ~mask; *virt_cmd |= new_cmd & mask",
                 (), "vconfig's Memory and I/O bits take the piece's value (the test above compares with them "
                     "next time)"),
    PrimitiveDef("vfio_intx_emulate", "vfio_basic_config_write's \"Emulate INTx disable\"", (),
                 "a change of vconfig's INTx Disable: set, virq_disabled and vfio_pci_intx_mask; cleared, "
                 "vfio_pci_intx_unmask (pci_check_and_unmask_intx while the user's INTx is masked)"),
    PrimitiveDef("vfio_power_state", "vfio_pm_config_write: vfio_lock_and_set_power_state", (),
                 "the PowerState of the piece's value (D0, D1, D2, D3hot) to [path.vfio_pci_set_power_state], as "
                 "the kernel's accesses"),
    PrimitiveDef("vfio_flr_trap", "vfio_exp_config_write's FLR: *ctrl &= ~BCR_FLR; pci_try_reset_function", (),
                 "vconfig's Initiate FLR cleared; DEVCAP read now (pci_user_read_config_dword); with Function Level "
                 "Reset Capability, pci_try_reset_function (the reset's accesses are the kernel's)"),
    PrimitiveDef("vfio_readrq", "vfio_exp_config_write: pcie_set_readrq(pdev, max(readrq, pcie_get_mps(pdev)))", (),
                 "vconfig's MRRS to hardware with the function's MPS (DEVCTL, read now) as the floor; above 4096 "
                 "pcie_set_readrq refuses (-EINVAL), else DEVCTL's MRRS field in a read-modify-write"),
    PrimitiveDef("vfio_msi_flags", "vfio_msi_config_write: pci_user_write_config_word(PCI_MSI_FLAGS)", (),
                 "vconfig's Message Control with Enable cleared unless the user's interrupts are MSI and Multiple "
                 "Message Enable capped at msi_qmax, back into vconfig and to hardware"),
    # the bind's bookkeeping (drivers/base/dd.c, drivers/base/power/runtime.c)
    PrimitiveDef("set_driver", "dev->driver = drv / NULL (really_probe, __device_release_driver)",
                 (ParamDef("driver", "enum", (("none", "NULL: no driver bound"),
                                              ("arg", "the driver the path's argument names (none, host, vfio)"))),),
                 "which driver the device is bound to"),
    PrimitiveDef("vfio_registered", "vfio_pci_core_register_device / vfio_pci_core_unregister_device",
                 (ParamDef("value", "enum", (("true", "registered: a new vfio_pci_core_device (msi_qmax 0)"),
                                             ("false", "unregistered"))),),
                 "whether vfio-pci holds the device (the steps of registering are "
                 "[path.vfio_pci_core_register_device])"),
    PrimitiveDef("runtime_auto", "pm_runtime_allow / pm_runtime_forbid (drivers/base/power/runtime.c)",
                 (ParamDef("value", "enum", (("allow", "power/control = auto"),
                                             ("forbid", "power/control = on (vfio_pci_core_unregister_device; a port "
                                                        "at each bind: portdrv's own rule is not modelled)"))),),
                 "power/control, with no transition: a later pm_runtime_put or resume does that"),
    PrimitiveDef("msix_vector", "a descriptor of the path's MSI-X vector (the argument) and its table entry",
                 (ParamDef("op", "enum", (("cache_masked", "the cached Vector Control taken as masked (as "
                                                           "msix_mask_all left the entry); nothing written"),
                                          ("write_message", "pci_write_msg_msix of the cached message: masked first if "
                                                            "the cached control is unmasked, address and data, "
                                                            "unmasked again, the flush read"),
                                          ("mask", "pci_msix_mask: the cached control masked and written"),
                                          ("unmask", "pci_msix_unmask: the cached control unmasked and written"),
                                          ("clear_message", "the cached message zeroed (msi_domain_deactivate's "
                                                            "msg); nothing written"))),),
                 "one vector's cached state or table entry (pci_msix_write_vector_ctrl, MMIO)"),
    PrimitiveDef("msi_clear_message", "msi_domain_deactivate: memset(&msg, 0)", (),
                 "the MSI descriptor's cached message zeroed; nothing written (msi_write_message writes it)"),
    PrimitiveDef("vfio_pm_engage", "vdev->pm_runtime_engaged (vfio_pci_runtime_pm_entry / __vfio_pci_runtime_pm_exit)",
                 (ParamDef("op", "enum", (("entry", "pm_runtime_engaged = true, pm_wake_eventfd_ctx set when the "
                                                   "path's argument is 1 (LOW_POWER_ENTRY_WITH_WAKEUP); "
                                                   "pm_runtime_put_noidle"),
                                          ("exit", "when engaged: pm_runtime_engaged = false, pm_runtime_get_noresume, "
                                                   "the eventfd dropped"))),),
                 "the user's low-power state as vfio-pci records it; nothing is written to the function"),
    PrimitiveDef("vfio_intx", "vfio-pci's INTx context (drivers/vfio/pci/vfio_pci_intrs.c, vfio_pci_core.c)",
                 (ParamDef("op", "enum", (
                     ("init_masked", "ctx->masked = vdev->virq_disabled (vfio_intx_enable)"),
                     ("pci_intx", "pci_intx(pdev, !ctx->masked): INTx Disable written to follow the mask "
                                  "(written only if it changes; pci_2_3 taken as supported)"),
                     ("irq_type", "vdev->irq_type = VFIO_PCI_INTX_IRQ_INDEX"),
                     ("pm_mask", "vdev->pm_intx_masked = irq_type is INTx && vfio_pci_intx_mask(vdev): masked "
                                 "now, INTx Disable set, unless the user's INTx was masked already"),
                     ("pm_unmask", "vfio_pci_intx_unmask(vdev): unless the user masked it meanwhile, "
                                   "pci_check_and_unmask_intx (no interrupt pending: INTx Disable cleared)"),
                     ("new_context", "vfio_irq_ctx_alloc: a zeroed context, ctx->masked = false"))),),
                 "the user's INTx as vfio-pci masks and unmasks it"),
    PrimitiveDef("read_local", "pci_read_config_word/dword(dev or its parent, cap + reg, &local)",
                 (_CAP, _REG, _WIDTH, ParamDef("local", "enum", (("a", "local a"), ("b", "local b")), bits=1),
                  ParamDef("port", "flag", (("true/false (default false)", "the upstream port's capability "
                                                                           "instead of the function's"),), default=False)),
                 "one register read into one of the path's two locals (0 when the path starts; a call has its own), "
                 "through the modelled access path (all-ones from a function that does not answer); nothing "
                 "without the capability. cap_write's values local_a and local_b write it back, test_local "
                 "decides on it"),
    PrimitiveDef("test_local", "if (local & MASK) ...",
                 (ParamDef("local", "enum", (("a", "local a"), ("b", "local b")), bits=1),
                  ParamDef("mask", "mask", (("0x0000-0xFFFF", "the bits tested"),)),
                  ParamDef("flag", "enum", (("a", "flag a"), ("b", "flag b")), bits=1)),
                 "set the path's flag when the local has any of the mask's bits (the flag stays set: two tests OR)"),
    PrimitiveDef("call_arg", "a call of another path with a given argument",
                 (_KERNEL_PATH, ParamDef("arg", "count", (("0-15", "the called path's argument (a VF BAR: 0-5)"),))),
                 "run the named path with this argument, as a kernel loop calls a function once per resource "
                 "(its result does not change this path's)"),
    PrimitiveDef("iov_bar_write", "pci_write_config_dword(dev, iov->pos + PCI_SRIOV_BAR + 4 * vf_bar, new) in "
                                  "pci_iov_update_resource",
                 (ParamDef("part", "enum", (("low", "the VF BAR's register"),
                                            ("high", "a 64-bit VF BAR's upper dword")), bits=1),),
                 "the PF's VF BAR (the path's argument, 0-5) written from the kernel's resource: new = region.start "
                 "| the type bits enumeration decoded (no saved_config_space: VF BARs are not in it)"),
    PrimitiveDef("reset_probe", "pci_reset_fn_methods[m].reset_fn(pdev, PCI_RESET_PROBE) in reset_method_store",
                 (), "the named reset method's path (the path's argument; auto: none) run as its probe now; sets "
                     "the result (0: supported, -ENOTTY: not, as the device is now)"),
)
PRIMITIVE_NAMES = tuple(p.name for p in PRIMITIVES)
PRIMITIVE_IDS = {n: i for i, n in enumerate(PRIMITIVE_NAMES)}
PRIMITIVE_BY_NAME = {p.name: p for p in PRIMITIVES}

# Conditions a step's `when` may name ("not NAME" negates). Reads go through the modelled access
# path, so an unreachable function reads all-ones and a disabled decode behaves as on hardware.
CONDITIONS: tuple[tuple[str, str], ...] = (
    ("config_all_ones", "the Command/Status dword reads all-ones (pci_dev_config_accessible fails)"),
    ("result_ok", "the path's result so far is 0 (the reset worked)"),
    ("intx_pin", "the Interrupt Pin register is non-zero (QEMU's vdev->intx.pin)"),
    ("no_driver", "no driver is bound (dev->driver == NULL)"),
    ("state_saved", "dev->state_saved is set"),
    ("low_power", "current_state is neither D0 nor unknown"),
    ("command_all_ones", "the Command register reads all-ones (ad05c16b290b's check)"),
    ("runtime_suspended", "pm_runtime_suspended(dev): runtime status RPM_SUSPENDED"),
    ("d0", "current_state is D0"),
    ("skip_bus_pm_no_platform", "pci_dev->skip_bus_pm && pm_suspend_no_platform() (suspend-to-idle)"),
    ("direct_complete", "dev->power.direct_complete: the PM core skips the device's suspend and resume callbacks"),
    ("power_lost", "the op's power argument: the platform removed power while the system slept"),
    ("resume_via_firmware", "pm_resume_via_firmware(): the op's transition is deep (acpi_suspend_enter, S3) or "
                            "hibernate_restore (acpi_hibernation_leave)"),
    ("pmcsr_shallower", "PMCSR reads a shallower state than current_state (pci_pm_complete's "
                        "pci_refresh_power_state, then current_state < pre_sleep_state)"),
    ("vfio_idle", "vfio-pci bound and runtime-active with no runtime-PM reference left, so a pm_runtime_put "
                  "lets rpm_idle suspend it: closed with vfio.disable_idle_d3 off, or open with its user's "
                  "low-power entry engaged (the entry drops the open's reference, or with disable_idle_d3 the "
                  "probe's); never while its VFs are enabled (vfio_pci_core_sriov_configure keeps a reference)"),
    ("vfio_reset_works", "vdev->reset_works"),
    ("vfio_needs_reset", "vdev->needs_reset (vfio_pci_dev_set_needs_reset: the only device of its set)"),
    ("vfio_load_failed_no_reset", "the path's result is not 0 (pci_load_and_free_saved_state failed) and "
                                  "!vdev->reset_works: vfio_pci_core_disable's goto out"),
    ("vfio_irqs_out_of_range", "the SET_IRQS index and count are beyond vfio_pci_get_irq_count "
                               "(vfio_set_irqs_validate_and_prepare: no capability, no pin, more vectors "
                               "than Message Control, read now, allows: MSI 1 << MMC, MSI-X QSIZE + 1)"),
    ("pcie_buffer", "the function has a PCIe Capability and a saved-state buffer for it "
                    "(pci_find_saved_cap(dev, PCI_CAP_ID_EXP))"),
    ("l1ss_link", "the function and its upstream port both have L1SS and a saved-state buffer for it "
                  "(pci_restore_aspm_l1ss_state goes on)"),
    ("l1ss_l12_saved", "pl_l1_2_enable || cl_l1_2_enable: either saved CTL1 has an L1.2 enable"),
    ("msix_enabled", "dev->msix_enabled (and the function has an MSI-X capability)"),
    ("msix_messages_written", "__pci_write_msi_msg writes the message: current_state D0 and the device connected"),
    ("msi_enabled", "dev->msi_enabled (and the function has an MSI capability)"),
    ("header_normal", "pdev->hdr_type == PCI_HEADER_TYPE_NORMAL (type 0)"),
    ("header_bridge", "pdev->hdr_type == PCI_HEADER_TYPE_BRIDGE (type 1)"),
    ("vfio_bar_unassigned", "the path's BAR has no resource: pci_resource_start(pdev, bar) is 0 (no BAR, the "
                            "upper half of a 64-bit BAR, or unassigned)"),
    ("vfio_mem_bar", "the path's BAR is a memory BAR (res->flags & IORESOURCE_MEM: vfio_pci_core_do_io_rw's test_mem)"),
    ("d3_or_unknown", "current_state >= PCI_D3hot: D3hot, D3cold or unknown (not __vfio_pci_memory_enabled's "
                      "current_state < PCI_D3hot)"),
    ("vfio_vconfig_memory_off", "vfio's virtual Command (vconfig) has Memory clear"),
    ("no_command_memory", "pdev->no_command_memory: the function does not implement Command.Memory (every SR-IOV "
                          "VF, pci_iov_add_virtfn)"),
    ("virtfn", "pdev->is_virtfn: an SR-IOV virtual function"),
    ("source_live", "the calling restore step's source is `live` ([restore.step] NAME.source, the path's argument)"),
    ("root_error_regs", "pcie_cap_has_rtctl: a Root Port or Root Complex Event Collector (AER's Root Error "
                        "Command is saved and restored)"),
    ("sriov_vf_enabled", "SR-IOV Control, read from the function, has VF Enable set (an absent capability: false)"),
    ("pcie", "pci_is_pcie(dev): the function has a PCI Express Capability"),
    ("pcix", "the function has a PCI-X Capability (pci_find_capability(dev, PCI_CAP_ID_PCIX))"),
    ("pcix_buffer", "the function has a saved-state buffer for PCI-X (pci_find_saved_cap(dev, PCI_CAP_ID_PCIX))"),
    ("aer_native", "pcie_aer_is_native(dev): the OS owns AER ([recovery] aer_native) and the function has AER"),
    ("ers_can_recover", "the recovery status is PCI_ERS_RESULT_CAN_RECOVER"),
    ("ers_need_reset", "the recovery status is PCI_ERS_RESULT_NEED_RESET"),
    ("ers_recovered", "the recovery status is PCI_ERS_RESULT_RECOVERED"),
    ("channel_frozen", "the op's channel is pci_channel_io_frozen"),
    ("aer_os_owned", "host->native_aer || pcie_ports_native: the OS owns AER ([recovery] aer_native)"),
    ("rebar_ctrl_error", "the function has ReBAR and its first ReBAR Control reads all-ones (PCI_POSSIBLE_ERROR; "
                         "the read is one the caller checks)"),
    ("vfio_saved_state", "vdev->pci_saved_state != NULL: vfio-pci holds its open-time copy of the snapshot"),
    ("rc_end", "pci_pcie_type(dev) is PCI_EXP_TYPE_RC_END or PCI_EXP_TYPE_RC_EC (a Root Complex Integrated "
               "Endpoint or Event Collector)"),
    ("root_aer_native", "(host->native_aer || pcie_ports_native) && root->aer_cap: the OS owns AER ([recovery] "
                        "aer_native) and the port above the function is a root port with AER (pcie_find_root_port; "
                        "a root port further up is not modelled)"),
    ("runtime_idle", "rpm_idle would suspend a device that is not vfio-pci's: active, runtime PM allowed "
                     "(power/control = auto, the op pci_pm_runtime_suspend) and no driver reference held "
                     "(a bind clears it)"),
    ("pm_cap", "dev->pm_cap: the function has a PCI Power Management capability"),
    ("disconnected", "pci_dev_is_disconnected(dev): error_state is pci_channel_io_perm_failure"),
    ("pmcsr_all_ones", "PMCSR reads all-ones (PCI_POSSIBLE_ERROR(pmcsr): the function does not answer; a "
                       "read the caller checks)"),
    ("pmcsr_d0", "PMCSR's PowerState reads D0"),
    ("pmcsr_soft_reset", "need_restore of pci_power_up: (PowerState reads D3hot or current_state >= D3hot) "
                         "and NoSoftRst reads clear"),
    ("result_error", "the path's result so far is negative (an error)"),
    ("target_d0", "the path's argument, a target power state, is PCI_D0"),
    ("at_target", "current_state is the path's argument, the target power state"),
    ("d3hot", "current_state is PCI_D3hot"),
    ("d3cold", "current_state is PCI_D3cold"),
    ("platform_power", "platform_pci_set_power_state(dev, target) succeeds: the target is D3cold and the "
                       "platform can remove the function's power (profile platform_d3cold; never for a VF, which has "
                       "no ACPI companion: -ENODEV); the model's platform has no other transition"),
    ("num_vfs", "pci_num_vf(dev): the function has VFs enabled (dev->sriov->num_VFs)"),
    ("vfio_needs_pm_restore", "vdev->needs_pm_restore: vfio-pci found NoSoftRst clear at register"),
    ("flag_a", "the path's flag a is set (set_flag)"),
    ("flag_b", "the path's flag b is set (set_flag)"),
    ("pmcsr_no_soft_reset", "PMCSR reads NoSoftRst set (an all-ones read does too)"),
    ("qemu_has_flr", "QEMU's vdev->has_flr: DEVCAP has Function Level Reset (vfio_check_pcie_flr)"),
    ("qemu_has_pm_reset", "QEMU's vdev->has_pm_reset: PMCSR NoSoftRst clear (vfio_check_pm_reset)"),
    ("downstream_port", "pcie_downstream_port(dev): a Root Port, Switch Downstream Port or PCIe-to-PCI bridge"),
    ("l1ss_pair", "dev->l1ss && parent->l1ss: the function and the port above both have L1SS"),
    ("l1ss_buffer", "pci_find_saved_ext_cap(dev, PCI_EXT_CAP_ID_L1SS): the function has an L1SS buffer"),
    ("port_l1ss_buffer", "pci_find_saved_ext_cap(parent, PCI_EXT_CAP_ID_L1SS): the port above has an L1SS buffer"),
    ("ext_cap_found", "pci_find_ext_capability() finds the capability now (LTR and VC are looked up at each save and "
                      "restore, not cached): the extended list's first header does not read all-ones"),
    ("ats_cap", "dev->ats_cap: enumeration found an ATS capability (pci_ats_supported; no untrusted device here)"),
    ("ats_enabled", "dev->ats_enabled"),
    ("vf_stu_mismatch", "a VF asks for a page size (12 + the path's argument) other than its PF's ats_stu: the PF's "
                        "IOMMU set-up prepared 4 KiB (pci_prepare_ats(pf, 12)); the PF itself is not modelled"),
    ("pasid_cap", "pdev->pasid_cap: enumeration found a PASID capability"),
    ("pasid_enabled", "pdev->pasid_enabled"),
    ("eetlp_prefix", "pdev->eetlp_prefix_max != 0 (pci_configure_eetlp_prefix at enumeration: DEVCAP2 End-End TLP "
                     "Prefix Supported, and for a function below a port the port's too; a Root Port or RCiEP needs "
                     "only its own)"),
    ("acs_path_rr_uf", "pci_acs_path_enabled(pdev, NULL, PCI_ACS_RR | PCI_ACS_UF): a multi-function endpoint's own "
                       "ACS and the port above's ACS Control, read now, have Request Redirect and Upstream Forwarding "
                       "on (as far as each one's ACS Capability, from enumeration, offers them); an RCiEP ends the walk"),
    ("pasid_features_unsupported", "the features asked for (the path's argument) are not all in PASID Capability's "
                                   "Execute/Privileged bits, read now"),
    ("pri_cap", "pdev->pri_cap: enumeration found a PRI capability"),
    ("pri_enabled", "pdev->pri_enabled"),
    ("pri_stopped", "PRI Status, read now, has Stopped set"),
    ("portdrv", "the bound driver is portdrv (a bridge's host driver): pcie_portdrv_probe sets DPM_FLAG_NO_DIRECT_COMPLETE "
                "and DPM_FLAG_SMART_SUSPEND (no DPM_FLAG_MAY_SKIP_RESUME), and its runtime_idle refuses without bridge_d3"),
    ("need_resume", "pci_dev_need_resume(pci_dev): the system-sleep target state differs from the runtime one "
                    "(pci_target_state: D3hot, D0 without PM; no platform, no wakeup)"),
    ("power_manageable", "pci_power_manageable(pci_dev): not a bridge, or a bridge with bridge_d3 (pci_bridge_d3_possible "
                         "at enumeration: a Root/Switch Port that is no hotplug port, taking a 2015+ BIOS)"),
    ("tph_cap", "pdev->tph_cap: enumeration found a TPH Requester capability"),
    ("tph_enabled", "pdev->tph_enabled"),
    ("tph_mode_unsupported", "the ST mode asked for (the path's argument) is not among the TPH Capability's ST Mode "
                             "Supported bits, read now (get_st_modes)"),
    ("tph_req_disabled", "pdev->tph_req_type is PCI_TPH_REQ_DISABLE (0): no requester type both ends support"),
    ("probe", "the reset method's path runs as its probe (PCI_RESET_PROBE): pci_init_reset_methods at enumeration, "
              "whose answers (0: the method is available) make dev->reset_methods"),
    ("devcap_flr", "dev->devcap & PCI_EXP_DEVCAP_FLR: DEVCAP, read at enumeration, has Function Level Reset (a "
                   "function without a PCIe capability: no)"),
    ("parent_bus_resettable", "pci_dev_reset_slot_function returns -ENOTTY (no hotplug slot here; dev->multifunction) "
                              "and pci_parent_bus_reset's checks pass: a port above (not a root bus), the function no "
                              "bridge (no subordinate), alone on its bus (no other functions: not multi-function, not a "
                              "VF beside its PF, not a PF with its VFs enabled on that bus)"),
    ("sriov_cap", "dev->is_physfn: enumeration found an SR-IOV capability (sriov_init)"),
    ("sriov_initial_bad", "InitialVFs, read now, exceeds iov->total_VFs (TotalVFs read at enumeration), or differs "
                          "from it without VF Migration Capable (iov->cap): sriov_enable's -EIO"),
    ("sriov_nr_invalid", "nr_virtfn (the path's argument) exceeds iov->total_VFs, or without VF Migration Capable "
                         "exceeds InitialVFs (read now): sriov_enable's -EINVAL"),
    ("iov_bars_assigned", "every VF BAR the SR-IOV capability describes holds an address the kernel assigned at "
                          "enumeration (the image's VF BARs are non-zero): pci_enable_resources' IOV resources "
                          "have a parent"),
    ("aspm_link", "pcie_aspm_get_link(pdev): a link the ASPM code manages heads at the port above (a Root or "
                  "Downstream Port, both ends PCIe; fixed at enumeration)"),
    ("aspm_unchanged", "link->aspm_enabled == state (the state kernel_set aspm_target computed)"),
    ("aspm_l1ss_capable", "link->aspm_capable & PCIE_LINK_STATE_L1SS (aspm_l1ss_init at enumeration)"),
    ("clkpm_enable", "pcie_set_clkpm(link, 1) changes something: link->clkpm_capable (every function below has "
                     "LNKCAP Clock PM; not blacklisted) and not link->clkpm_enabled"),
    ("ptm_root", "dev->ptm_root (pci_ptm_init: Root Capable and no PTM port above)"),
    ("upstream_ptm", "pci_upstream_ptm(dev): the port above has PTM (not a Switch Downstream Port)"),
    ("ptm_type_ok", "__pci_enable_ptm's checks pass: a PTM capability, and a Root Port that is ptm_root, an Upstream "
                    "Port that is a responder, or an endpoint that is a requester"),
    ("ptm_shared", "dev->ptm_enable_cnt > 1 (after the increment: already enabled)"),
    ("ptm_enabled", "atomic_read(&dev->ptm_enable_cnt) != 0"),
    ("ptm_count_zero", "dev->ptm_enable_cnt == 0 (after the decrement: atomic_dec_and_test)"),
    ("port_ptm_root", "the port above's ptm_root"),
    ("port_ptm_type_ok", "__pci_enable_ptm's checks on the port above"),
    ("port_ptm_shared", "the port above's ptm_enable_cnt > 1"),
    ("port_ptm_count_zero", "the port above's ptm_enable_cnt == 0"),
    ("aspm_supersave", "aspm_policy == POLICY_POWER_SUPERSAVE"),
    ("resource_unset", "the path's resource (argument bits 0-7) has nothing to write: no BAR there (or the upper "
                       "half of a 64-bit one: !res->flags), or the ROM without IORESOURCE_ROM_ENABLE"),
    ("resource_mem64", "the path's resource is a 64-bit memory BAR (IORESOURCE_MEM_64)"),
    ("rebar_cap", "pdev->rebar_cap: enumeration found a Resizable BAR capability"),
    ("memory_decode_on", "Command, read now, has Memory Space Enable (pci_resize_is_memory_decoding_enabled)"),
    ("target_d3", "the path's argument, a target power state, is D3hot or deeper (state >= PCI_D3hot)"),
    ("low_deeper", "current_state (up to D3cold) is deeper than the low-power target (the path's argument, D3cold "
                   "taken as D3hot): pci_set_low_power_state's \"Invalid power transition\""),
    ("low_at_target", "current_state is the low-power target (the path's argument, D3cold taken as D3hot)"),
    ("low_unsupported", "the target is D1 without dev->d1_support or D2 without dev->d2_support (PMC's D1/D2 "
                        "Support, read at enumeration: pci_pm_init)"),
    # a vfio write function's piece (the argument: its offset in the region)
    ("piece_command", "the piece starts at PCI_COMMAND (offset == PCI_COMMAND)"),
    ("piece_command_word", "the piece starts in Command's two bytes (offset >= PCI_COMMAND && offset <= "
                           "PCI_COMMAND + 1)"),
    ("piece_pm_ctrl", "the piece starts at PCI_PM_CTRL (offset == PCI_PM_CTRL)"),
    ("piece_msi_flags", "the piece reaches Message Control (offset <= PCI_MSI_FLAGS && offset + count >= "
                        "PCI_MSI_FLAGS)"),
    ("vconfig_flr", "vconfig's DEVCTL has Initiate FLR (a user wrote the virtual bit)"),
    ("readrq_changed", "vconfig's DEVCTL MRRS differs from what it was before the piece (the readrq the write "
                       "function read first)"),
    # the op pci_bind_driver's argument and the driver bound now
    ("bind_none", "the driver asked for (the path's argument) is none"),
    ("bind_host", "the driver asked for is the host driver"),
    ("bind_vfio", "the driver asked for is vfio-pci"),
    ("driver_vfio", "vfio-pci is bound (dev->driver == &vfio_pci_driver)"),
    ("msix_vector_unmasked", "the cached Vector Control of the path's MSI-X vector (the argument) is unmasked"),
    ("msi_vector_unmasked", "the MSI descriptor's cached mask has the vector unmasked"),
    ("ptm_cap", "dev->ptm_cap: the function has a PTM capability"),
    ("ptm_port_type", "pci_pcie_type(dev) is a Root Port or a Switch Upstream Port"),
    ("walked", "pci_walk_bridge reaches the function: not a VF on a bus of its own (virtfn_add_bus's bus has no "
               "bridge device, and __pci_walk_bus descends only through a bridge's subordinate bus)"),
    ("channel_offline", "pci_channel_offline(dev): error_state is not pci_channel_io_normal (a recovery has it "
                        "frozen, or it failed for good)"),
    ("vote_need_reset", "the vote the op gives the driver's error_detected (the path's argument) is "
                        "PCI_ERS_RESULT_NEED_RESET"),
    ("vfio_pm_engaged", "vdev->pm_runtime_engaged: the user's low-power entry holds"),
    ("vfio_pm_wakeup", "vdev->pm_wake_eventfd_ctx: the entry came with a wake-up eventfd"),
    ("vfio_pm_intx_masked", "vdev->pm_intx_masked: vfio_pci_core_runtime_suspend masked the user's INTx"),
    ("disable_idle_d3", "vfio-pci's disable_idle_d3 module parameter is set (switch vfio.disable_idle_d3): "
                        "`if (!disable_idle_d3)` in vfio_pci_core_enable, _disable, _register_device"),
    ("iov_decode_on", "SR-IOV Control, read now, has both VF Enable and VF MSE (pci_iov_update_resource: "
                      "\"can't update enabled VF BAR\"; an absent capability: false)"),
    ("iov_resource_unset", "the path's VF BAR (the argument, 0-5) has nothing to write: not implemented or the "
                           "upper half of a 64-bit one (!res->flags), or never assigned (IORESOURCE_UNSET: the "
                           "enumeration image's VF BAR has a type but no address)"),
    ("iov_resource_mem64", "the path's VF BAR is a 64-bit memory BAR (IORESOURCE_MEM_64)"),
    ("numvfs_same", "the path's argument, a VF count, is dev->sriov->num_VFs (sriov_numvfs_store: nothing to do)"),
    ("reporter_aer_native", "pcie_aer_is_native(dev) of the device that detected the error (the function for an AER "
                            "recovery, the port for a DPC one): it has an AER capability and the OS owns AER"),
    ("legacy_pm", "pci_has_legacy_pm_support(dev): a host driver is bound and [driver.legacy_suspend] or "
                  "[driver.legacy_resume] has steps (struct pci_driver's suspend or resume)"),
    ("vfs_on_bus", "the PF's VFs are enabled and on its own bus (First VF Offset below 0x100; past it they are on "
                   "a bus of their own, which pci_walk_bus does not reach)"),
)
CONDITION_NAMES = tuple(n for n, _ in CONDITIONS)
CONDITION_IDS = {n: i for i, n in enumerate(CONDITION_NAMES)}
STEP_GATES = ("always", "never")


MAX_WHEN_TERMS = 3   # conditions a step's `when` may join with "and" (one signed byte each)


def when_terms(when: str) -> list[tuple[bool, str]]:
    """`when` as its terms: "a and not b" -> [(False, "a"), (True, "b")]; "" -> []."""
    if not when:
        return []
    terms = []
    for t in when.split(" and "):
        t = t.strip()
        neg = t.startswith("not ")
        terms.append((neg, t[4:].strip() if neg else t))
    return terms


def encode_when(when: str) -> int:
    """0 = no condition; else WHEN_TERM_BITS per term, low term first: condition id + 1, with
    the top bit set when negated (the engine's path_condition reads them back)."""
    code = 0
    for k, (neg, name) in enumerate(when_terms(when)):
        c = CONDITION_IDS[name] + 1
        code |= (c | (WHEN_NEGATE if neg else 0)) << (WHEN_TERM_BITS * k)
    return code


WHEN_TERM_BITS = 10            # a term: 9 bits of condition id + 1, the negation bit
WHEN_NEGATE = 1 << 9


def _check() -> None:
    assert len(CONDITIONS) < WHEN_NEGATE - 1, "a condition id + 1 must fit a when term (encode_when)"
    assert MAX_WHEN_TERMS * WHEN_TERM_BITS <= 31, "a step's when is one int32"
    for p in PRIMITIVES:
        # one parameter, or several packed into the step's int32 argument (ParamDef.width)
        assert len(p.params) <= 1 or sum(q.width for q in p.params) <= 31, p.name
    for p in PATHS:
        assert not p.name.startswith("driver.") or not p.label, p.name


_check()


def markdown_tables() -> str:
    """The path vocabulary as the Markdown tables docs/policies.md embeds (a test keeps them equal)."""
    def row(cells) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = ["#### Paths (`[path.NAME]`, `[driver.CALLBACK]`)", "", row(("id", "path", "upstream", "what")),
           row(("---",) * 4)]
    out += [row((str(i), f"`{p.name}`", f"`{p.upstream}` ({p.reference})", p.doc)) for i, p in enumerate(PATHS)]
    out += ["", "#### Primitives (a step's `do`)", "", row(("id", "primitive", "mirrors", "parameter", "what")),
            row(("---",) * 5)]
    for i, p in enumerate(PRIMITIVES):
        params = "; ".join(f"`{q.name}`" + (" (list)" if q.kind == "bits" else "") + ": "
                           + (", ".join(f"`{v}`" for v in q.value_names) if q.kind in ("enum", "bits", "path")
                              else f"{q.values[0][0]} ({q.values[0][1]})") for q in p.params) or "–"
        out.append(row((str(i), f"`{p.name}`", f"`{p.upstream}`", params, p.doc)))
    out += ["", "#### Conditions (a step's `when`; `\"not NAME\"` negates, `and` joins up to three)", "", row(("condition", "true when")),
            row(("---",) * 2)]
    out += [row((f"`{n}`", d)) for n, d in CONDITIONS]
    out.append("")
    return "\n".join(out)
