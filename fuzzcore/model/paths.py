"""Paths: the policy's ordered steps, interpreted (fuzzcore/policy/paths.py; docs/policies.md §9).

`run_path(m, name, arg)` runs the steps of path `name` as the policy states them; `arg` is the
op's argument the steps may use (the reset method, the recovery vote). A path's result starts at
0 and only the primitives that return a status set it (`reset_methods`, `secondary_bus_reset`,
`vote`). The engine's twin is fuzzcore/engine/_engine_paths.pxi.
"""

from __future__ import annotations

import importlib

from ..policy.paths import when_terms
from .access import PCI_COMMAND, PCI_COMMAND_MEMORY
from .state import D0, D1, D2, D3COLD, D3HOT, PCI_UNKNOWN

# pci_ers_result_t (include/linux/pci.h), by paths.VOTES name ("arg" reads the op's vote)
VOTE_CODES = {"none": 1, "can_recover": 2, "need_reset": 3, "disconnect": 4, "recovered": 5, "no_aer_driver": 6}
from .enumeration import IOV_MEM64, IOV_UNSET, LINK_ASPM_ALL, LINK_L1, LINK_L1SS
LINK_PCIPM = 0x60                 # PCIE_LINK_STATE_L1_SS_PCIPM

ERRNOS = {"enotty": -25, "eio": -5, "einval": -22, "enomem": -12, "ebusy": -16, "enosys": -38, "enoent": -2}
POWER_STATES = {"d0": D0, "d3hot": D3HOT, "d3cold": D3COLD}
COMMAND_BITS = {"io": 0x0001, "memory": 0x0002, "bus_master": 0x0004, "intx_disable": 0x0400}
DRIVERS = ("none", "host", "vfio")     # the op pci_bind_driver's argument, as device_bind_driver's


# Primitives that are one call of a model function with the machine and nothing else: primitive -> (module of fuzzcore.model, function).
CALLS = {
    "save_state": ("save", "pci_save_state"),
    "restore_ltr": ("restore", "restore_ltr"),
    "bridge_reconfigure_ltr": ("restore", "bridge_reconfigure_ltr"),
    "restore_pcie_registers": ("restore", "restore_pcie_registers"),
    "check_l1ss_buffer": ("restore", "check_l1ss_buffer"),
    "msi_write_message": ("msi", "msi_write_message"),
    "msi_update_mask": ("msi", "msi_update_mask"),
    "msix_restore_entries": ("msi", "msix_restore_entries"),
    "tph_restore_st": ("restore", "tph_restore_st"),
    "tph_save_st": ("save", "tph_save_st"),
    "save_l1ss": ("save", "save_l1ss"),
    "user_pm_d0": ("qemu", "to_d0"),
    "user_zero_bars": ("qemu", "zero_bars"),
    "qemu_pick_reset": ("qemu", "pick_reset"),
    "suspend_ptm": ("features", "pci_suspend_ptm"),
    "resume_ptm": ("features", "pci_resume_ptm"),
    "power_off": ("power", "power_removed"),
    "clear_master": ("features", "pci_clear_master"),
    "set_master": ("features", "pci_set_master"),
    "vfio_config_init": ("vfio", "vfio_config_init"),
    "clear_error_status": ("reset", "clear_error_status"),
    "rebar_restore_sizes": ("restore", "rebar_restore_sizes"),
    "root_error_status_clear": ("reset", "root_error_status_clear"),
    "dpc_clear_trigger": ("reset", "dpc_clear_trigger"),
    "platform_power_on": ("power", "platform_power_on"),
    "restore_bars": ("power", "pci_restore_bars"),
    "platform_power_off": ("power", "platform_power_off"),
    "msix_mask_all": ("msi", "msix_mask_all"),
    "msix_mask_vectors": ("msi", "msix_mask_vectors"),
    "msix_forget": ("msi", "msix_forget"),
    "msi_setup": ("msi", "msi_setup"),
    "vfio_probe_power_state": ("vfio", "vfio_probe_power_state"),
    "vfio_default_write": ("vfio", "piece_default_write"),
    "vfio_bar_restore_check": ("vfio", "piece_bar_restore_check"),
    "vfio_command_track": ("vfio", "piece_command_track"),
    "vfio_intx_emulate": ("vfio", "emulate_intx_disable"),
    "vfio_power_state": ("vfio", "piece_power_state"),
    "vfio_flr_trap": ("vfio", "vfio_flr_trap"),
    "vfio_readrq": ("vfio", "vfio_readrq"),
    "vfio_msi_flags": ("vfio", "msi_flags_write"),
}

# The same for primitives whose call's return value is the path's result.
RESULT_CALLS = {
    "secondary_bus_reset": ("reset", "secondary_bus_reset"),
    "power_up": ("power", "pci_power_up"),
    "initiate_flr": ("reset", "initiate_flr"),
    "reset_subordinates": ("reset", "reset_subordinates"),
    "bus_error_reset": ("reset", "bus_error_reset"),
    "flr_reset": ("reset", "pcie_flr"),
    "wait_secondary_bus": ("reset", "pci_bridge_wait_for_secondary_bus"),
    "msix_map_region": ("msi", "msix_map_region"),
    "dev_wait": ("reset", "pci_dev_wait"),
}


def _vfs_on_bus(m) -> bool:
    """The PF's VFs are enabled and on its bus (enumeration.vfs_share_bus)."""
    from .enumeration import vfs_share_bus
    return bool(m.state.dev.sriov_num_vfs) and vfs_share_bus(m.profile, m.caps)


def condition(m, when: str, result: int, arg=None, flags: int = 0) -> bool:
    """A step's `when`: its terms ("a and not b") all hold, evaluated in order and stopping at the
    first that fails, as the engine does."""
    return all(_term(m, neg, name, result, arg, flags) for neg, name in when_terms(when))


def _term(m, neg: bool, name: str, result: int, arg, flags: int) -> bool:
    """One condition of paths.CONDITIONS, negated when `neg`; reads go through the modelled
    access path. `arg` is the path's argument (SET_IRQS: the index and count asked for; a power
    transition: the target state), `flags` its set_flag bits (a = 1, b = 2)."""
    if name == "config_all_ones":
        # pci_dev_config_accessible (e18d1abc3bff): Command/Status as one dword
        value = m.io.read_checked(PCI_COMMAND, 4) == 0xFFFFFFFF
    elif name == "result_ok":
        value = result == 0
    elif name == "intx_pin":
        value = m.state.hw.read(0x3D, 1) != 0                  # QEMU's vdev->intx.pin (its own copy)
    elif name == "no_driver":
        value = m.state.dev.driver == "none"
    elif name == "state_saved":
        value = bool(m.state.dev.state_saved)
    elif name == "command_all_ones":
        value = m.io.read_checked(PCI_COMMAND, 2) == 0xFFFF
    elif name == "low_power":
        value = m.state.dev.current_state not in (D0, PCI_UNKNOWN)
    elif name == "runtime_suspended":
        value = bool(m.state.dev.rpm_suspended)
    elif name == "d0":
        value = m.state.dev.current_state == D0
    elif name == "skip_bus_pm_no_platform":
        value = m.sleep.skip_bus_pm and m.sleep.transition == "s2idle"   # pm_suspend_no_platform()
    elif name == "direct_complete":
        value = m.sleep.direct_complete
    elif name == "power_lost":
        value = m.sleep.power_lost
    elif name == "resume_via_firmware":
        # pm_set_resume_via_firmware(): acpi_suspend_enter (S3), acpi_hibernation_leave
        value = m.sleep.transition in ("deep", "hibernate_restore")
    elif name == "pmcsr_shallower":
        value = pmcsr_state(m, m.state.dev.current_state) < m.state.dev.current_state
    elif name == "vfio_idle":
        d = m.state.dev
        # the runtime-PM usage count is 0: a closed device's (the bind's put, unless disable_idle_d3),
        # or an open one's whose user's low-power entry dropped the last reference (the open's get,
        # or with disable_idle_d3 the probe's, which the bind then kept)
        v = m.state.vfio
        value = (d.driver == "vfio" and not d.rpm_suspended and not d.sriov_num_vfs
                 and (v.pm_engaged if v.open else not m.policy.switch("vfio.disable_idle_d3")))
    elif name == "pcie_buffer":
        from .restore import pcie_buffer
        value = pcie_buffer(m) is not None
    elif name == "l1ss_link":
        from .restore import l1ss_link
        value = l1ss_link(m) is not None
    elif name == "l1ss_l12_saved":
        from .restore import l1ss_l12_saved
        value = l1ss_l12_saved(m)
    elif name == "msix_enabled":
        from .msi import msix_restorable
        value = msix_restorable(m)
    elif name == "msix_messages_written":
        from .msi import _message_writes_allowed
        value = _message_writes_allowed(m)
    elif name == "vfio_irqs_out_of_range":
        from .vfio import vfio_irqs_out_of_range
        value = vfio_irqs_out_of_range(m, *arg)
    elif name == "header_normal":
        value = m.profile.header_type == 0
    elif name == "header_bridge":
        value = m.profile.header_type == 1
    elif name == "msi_enabled":
        from .msi import msi_restorable
        value = msi_restorable(m)
    elif name == "vfio_bar_unassigned":
        from .vfio import resource_kind
        value = not resource_kind(m, arg[0])
    elif name == "vfio_mem_bar":
        from .vfio import resource_kind
        value = resource_kind(m, arg[0]) not in ("", "io")
    elif name == "d3_or_unknown":
        value = m.state.dev.current_state >= D3HOT          # PCI_UNKNOWN sorts after D3cold
    elif name == "vfio_vconfig_memory_off":
        value = not m.state.vfio.vconfig_command & PCI_COMMAND_MEMORY
    elif name == "no_command_memory":
        value = m.profile.virtfn                            # pci_iov_add_virtfn sets it for every VF
    elif name == "virtfn":
        value = m.profile.virtfn
    elif name == "source_live":
        value = arg == "live"
    elif name == "root_error_regs":
        value = m.has_root_error_regs()
    elif name == "sriov_vf_enabled":
        value = bool(m.caps.sriov) and bool(m.io.read(m.caps.sriov + 0x08, 2) & 0x1)   # PCI_SRIOV_CTRL_VFE
    elif name == "pcie":
        value = bool(m.caps.exp)
    elif name == "aer_native":
        value = bool(m.caps.aer) and bool(m.policy.switch("recovery.aer_native"))
    elif name == "pcix":
        value = bool(m.caps.pcix)
    elif name == "pcix_buffer":
        value = m.state.dev.buffer(0x07, False) is not None
    elif name == "vfio_reset_works":
        value = bool(m.state.vfio.reset_works)
    elif name == "vfio_needs_reset":
        value = bool(m.state.vfio.needs_reset)
    elif name == "ers_can_recover":
        value = m.ers_status == 2                           # PCI_ERS_RESULT_CAN_RECOVER
    elif name == "ers_need_reset":
        value = m.ers_status == 3                           # PCI_ERS_RESULT_NEED_RESET
    elif name == "ers_recovered":
        value = m.ers_status == 5                           # PCI_ERS_RESULT_RECOVERED
    elif name == "channel_frozen":
        value = m.recovery_channel == "frozen"
    elif name == "aer_os_owned":
        value = bool(m.policy.switch("recovery.aer_native"))   # host->native_aer || pcie_ports_native
    elif name == "rebar_ctrl_error":
        value = bool(m.caps.rebar) and m.io.read_checked(m.caps.rebar + 8, 4) == 0xFFFFFFFF
    elif name == "vfio_load_failed_no_reset":
        value = result != 0 and not m.state.vfio.reset_works
    elif name == "vfio_saved_state":
        value = m.state.vfio.blob is not None
    elif name == "pm_cap":
        value = bool(m.caps.pm)
    elif name == "disconnected":
        value = m.state.dev.error_state == "perm_failure"
    elif name == "pmcsr_all_ones":
        value = m.io.read_checked(m.caps.pm + 0x04, 2) == 0xFFFF   # PCI_POSSIBLE_ERROR(pmcsr)
    elif name == "pmcsr_d0":
        value = m.io.read(m.caps.pm + 0x04, 2) & 0x3 == D0
    elif name == "pmcsr_soft_reset":
        from .power import pmcsr_need_restore
        value = pmcsr_need_restore(m)
    elif name == "result_error":
        value = result < 0
    elif name == "runtime_idle":
        d = m.state.dev
        value = d.driver != "vfio" and d.rpm_auto and not d.rpm_suspended
    elif name == "rc_end":
        value = m.caps.exp_type in (0x9, 0xA)                   # PCI_EXP_TYPE_RC_END, PCI_EXP_TYPE_RC_EC
    elif name == "root_aer_native":
        from .reset import _root_aer
        value = bool(_root_aer(m)) and bool(m.policy.switch("recovery.aer_native"))
    elif name == "target_d0":
        value = arg == D0
    elif name == "target_d3":
        value = arg >= D3HOT
    elif name == "low_deeper":
        cur = m.state.dev.current_state
        value = cur <= D3COLD and cur > min(arg, D3HOT)
    elif name == "low_at_target":
        value = m.state.dev.current_state == min(arg, D3HOT)
    elif name == "low_unsupported":
        from .power import d1d2_support
        d1, d2 = d1d2_support(m)
        value = (arg == D1 and not d1) or (arg == D2 and not d2)
    elif name == "at_target":
        value = m.state.dev.current_state == arg
    elif name == "d3hot":
        value = m.state.dev.current_state == D3HOT
    elif name == "d3cold":
        value = m.state.dev.current_state == D3COLD
    elif name == "platform_power":
        value = arg == D3COLD and m.profile.platform_d3cold and not m.profile.virtfn   # a VF has no ACPI companion
    elif name == "num_vfs":
        value = m.state.dev.sriov_num_vfs != 0
    elif name == "vfio_needs_pm_restore":
        value = bool(m.state.vfio.needs_pm_restore)
    elif name == "flag_a":
        value = bool(flags & 1)
    elif name == "flag_b":
        value = bool(flags & 2)
    elif name == "qemu_has_flr":
        from .reset import method_available
        value = method_available(m, "flr")
    elif name == "qemu_has_pm_reset":
        from .reset import method_available
        value = method_available(m, "pm")
    elif name == "ext_cap_found":
        value = m.io.read_checked(0x100, 4) != 0xFFFFFFFF      # the walk's first header (the walk stops on it)
    elif name == "downstream_port":
        value = bool(m.caps.exp) and m.caps.exp_type in (0x4, 0x6, 0x8)
    elif name == "l1ss_pair":
        value = bool(m.caps.l1ss) and m.state.port is not None and bool(m.port_caps.l1ss)
    elif name == "l1ss_buffer":
        value = m.state.dev.buffer(0x1E, True) is not None
    elif name == "port_l1ss_buffer":
        value = m.state.port is not None and m.state.port.dev.buffer(0x1E, True) is not None
    elif name == "pmcsr_no_soft_reset":
        value = bool(m.io.read(m.caps.pm + 0x04, 2) & 0x8)     # PCI_PM_CTRL_NO_SOFT_RESET
    elif name == "ats_cap":
        value = bool(m.caps.ats)
    elif name == "ats_enabled":
        value = bool(m.state.dev.ats_enabled)
    elif name == "vf_stu_mismatch":
        value = m.profile.virtfn and 12 + arg != VF_PF_ATS_STU
    elif name == "pasid_cap":
        value = bool(m.caps.pasid)
    elif name == "pasid_enabled":
        value = bool(m.state.dev.pasid_enabled)
    elif name == "eetlp_prefix":
        from .enumeration import eetlp_prefix
        value = eetlp_prefix(m.profile, m.caps, m._port_profile, m.port_caps)
    elif name == "acs_path_rr_uf":
        value = acs_path_rr_uf(m)
    elif name == "pasid_features_unsupported":
        want = (arg << 1) & 0x6                                  # PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV
        value = (m.io.read(m.caps.pasid + 0x04, 2) & 0x6 & want) != want
    elif name == "pri_cap":
        value = bool(m.caps.pri)
    elif name == "pri_enabled":
        value = bool(m.state.dev.pri_enabled)
    elif name == "portdrv":
        value = m.state.dev.driver == "host" and m.profile.header_type == 1
    elif name == "need_resume":
        value = pci_dev_need_resume(m)
    elif name == "power_manageable":
        from .enumeration import bridge_d3
        value = m.profile.header_type != 1 or bridge_d3(m.profile, m.caps)
    elif name == "tph_cap":
        value = bool(m.caps.tph)
    elif name == "tph_enabled":
        value = bool(m.state.dev.tph_enabled)
    elif name == "tph_mode_unsupported":
        value = not (1 << (arg & 0x7)) & m.io.read(m.caps.tph + 0x04, 4) & 0x7   # PCI_TPH_CAP_ST_NS | _IV | _DS
    elif name == "tph_req_disabled":
        value = m.state.dev.tph_req_type == 0
    elif name == "probe":
        value = arg == "probe"
    elif name == "devcap_flr":
        value = m.profile.flr and bool(m.caps.exp)
    elif name == "parent_bus_resettable":
        multifunction = bool(m.profile.config[0x0E] & 0x80)
        value = (m.state.port is not None and m.profile.header_type != 1 and not multifunction
                 and not m.profile.virtfn and not _vfs_on_bus(m))   # VFs share the bus both ways
    elif name == "sriov_cap":
        value = bool(m.caps.sriov)
    elif name in ("sriov_initial_bad", "sriov_nr_invalid"):
        from .enumeration import sriov_total_vfs, sriov_vfm
        total, vfm = sriov_total_vfs(m.profile, m.caps), sriov_vfm(m.profile, m.caps)
        initial = m.io.read(m.caps.sriov + 0x0C, 2)                  # PCI_SRIOV_INITIAL_VF, read now
        if name == "sriov_initial_bad":
            value = initial > total or (not vfm and initial != total)
        else:
            value = arg > total or (not vfm and arg > initial)
    elif name == "aspm_link":
        value = m.aspm is not None
    elif name == "aspm_unchanged":
        value = m.state.port.dev.aspm_enabled == m.aspm_target
    elif name == "aspm_l1ss_capable":
        value = m.aspm is not None and bool(m.aspm.capable & LINK_L1SS)
    elif name == "aspm_supersave":
        value = m.state.port is not None and m.state.port.dev.aspm_supersave
    elif name == "resource_unset":
        from .power import resource_unset
        value = resource_unset(m, arg & 0xFF)
    elif name == "rebar_cap":
        value = bool(m.caps.rebar)
    elif name == "memory_decode_on":
        value = bool(m.io.read(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY)
    elif name == "resource_mem64":
        info = m.profile.bar(arg & 0xFF) if arg & 0xFF < 6 else None
        value = info is not None and info.kind == "mem64"
    elif name == "clkpm_enable":
        value = m.aspm is not None and m.aspm.clkpm_capable and not m.state.port.dev.clkpm_enabled
    elif name in ("ptm_root", "ptm_type_ok", "port_ptm_root", "port_ptm_type_ok"):
        info = m.port_ptm if name.startswith("port_") else m.ptm
        value = info is not None and (info.root if name.endswith("root") else info.type_ok)
    elif name == "upstream_ptm":
        value = m.port_ptm is not None
    elif name in ("ptm_shared", "ptm_enabled", "ptm_count_zero", "port_ptm_shared", "port_ptm_count_zero"):
        cnt = (m.state.port.dev if name.startswith("port_") else m.state.dev).ptm_enable_cnt
        value = cnt > 1 if name.endswith("shared") else (cnt != 0 if name == "ptm_enabled" else cnt == 0)
    elif name == "iov_bars_assigned":
        from .enumeration import iov_bars_assigned
        value = iov_bars_assigned(m.profile, m.caps)
    elif name == "pri_stopped":
        value = bool(m.io.read(m.caps.pri + 0x06, 2) & 0x100)  # PCI_PRI_STATUS_STOPPED
    elif name == "piece_command":                     # a vfio write function's piece (arg: its offset)
        value = arg == PCI_COMMAND
    elif name == "piece_command_word":
        value = PCI_COMMAND <= arg <= PCI_COMMAND + 1
    elif name == "piece_pm_ctrl":
        value = arg == 4                                # PCI_PM_CTRL
    elif name == "piece_msi_flags":
        from .vfio import piece_msi_flags_reached
        value = piece_msi_flags_reached(m, arg)
    elif name == "vconfig_flr":
        value = bool(m.state.vfio.vconfig_devctl & 0x8000)   # PCI_EXP_DEVCTL_BCR_FLR
    elif name == "readrq_changed":
        value = m.state.vfio.vconfig_devctl & 0x7000 != m.vfio_piece.old_rq
    elif name in ("bind_none", "bind_host", "bind_vfio"):     # the op pci_bind_driver's argument
        value = arg == DRIVERS.index(name[5:])
    elif name == "driver_vfio":
        value = m.state.dev.driver == "vfio"
    elif name == "msix_vector_unmasked":
        value = not m.state.dev.msix_descs[arg].ctrl & 0x1          # PCI_MSIX_ENTRY_CTRL_MASKBIT
    elif name == "msi_vector_unmasked":
        value = not m.state.dev.msi_mask & 1
    elif name == "walked":
        value = not m.profile.virtual_bus
    elif name == "channel_offline":
        value = m.state.dev.error_state != "normal"
    elif name == "vfio_pm_engaged":
        value = m.state.vfio.pm_engaged
    elif name == "vfio_pm_wakeup":
        value = m.state.vfio.pm_wakeup
    elif name == "disable_idle_d3":
        value = bool(m.policy.switch("vfio.disable_idle_d3"))
    elif name == "iov_decode_on":
        value = bool(m.caps.sriov) and m.io.read(m.caps.sriov + 0x08, 2) & 0x9 == 0x9   # VFE | VF MSE
    elif name == "iov_resource_unset":
        value = not 0 <= arg < 6 or m.iov_resources[arg][0] == IOV_UNSET
    elif name == "legacy_pm":                       # pci_has_legacy_pm_support: drv->suspend || drv->resume
        value = m.state.dev.driver == "host" and bool(m.policy.path("driver.legacy_suspend")
                                                      or m.policy.path("driver.legacy_resume"))
    elif name == "reporter_aer_native":             # pcie_aer_is_native(dev): dev->aer_cap && OS-owned AER
        aer = m.port_caps.aer if m.recovery_source == "dpc" else m.caps.aer
        value = bool(aer) and bool(m.policy.switch("recovery.aer_native"))
    elif name == "vfs_on_bus":
        value = _vfs_on_bus(m)
    elif name == "numvfs_same":
        value = arg == m.state.dev.sriov_num_vfs
    elif name == "iov_resource_mem64":
        value = 0 <= arg < 6 and m.iov_resources[arg][0] == IOV_MEM64
    elif name == "vfio_pm_intx_masked":
        value = m.state.vfio.pm_intx_masked
    elif name == "vote_need_reset":
        from .reset import VOTE_VALUES
        value = VOTE_VALUES.get(arg) == 3                    # PCI_ERS_RESULT_NEED_RESET
    elif name == "ptm_cap":
        value = bool(m.caps.ptm)
    elif name == "ptm_port_type":
        from .enumeration import _exp_type
        value = bool(m.caps.exp) and _exp_type(m.profile.config, m.caps.exp) in (0x4, 0x5)
    else:
        raise ValueError(f"unknown condition {name!r}")
    return value != neg


# A VF's ATS page size must be its PF's: the PF's IOMMU set-up prepared 4 KiB pages
# (pci_prepare_ats(pf, PAGE_SHIFT) / pci_enable_ats(pf, VTD_PAGE_SHIFT)); the PF is not modelled.
VF_PF_ATS_STU = 12


def acs_path_rr_uf(m) -> bool:
    """pci_acs_path_enabled(pdev, NULL, PCI_ACS_RR | PCI_ACS_UF): the function, then (unless it is
    on the root bus: no port) the port above; the walk ends there (the model has one port)."""
    from .enumeration import acs_holds, acs_rr_uf_check
    if not acs_holds(acs_rr_uf_check(m.profile, m.caps), lambda: m.io.read(m.caps.acs + 0x06, 2)):
        return False
    if m.state.port is None:
        return True
    return acs_holds(acs_rr_uf_check(m._port_profile, m.port_caps),
                     lambda: m.io.read(m.port_caps.acs + 0x06, 2, "port"))


def tph_req_type(m) -> int:
    """pcie_enable_tph's requester type: EXT_TPH (2) when the TPH Capability reads Extended TPH
    Requester Supported, else TPH_ONLY (1); unless an RCiEP, no more than the root port's DEVCAP2
    TPH Completer Supported (get_rp_completer_type: the model's port; without one, 0)."""
    req = 2 if m.io.read(m.caps.tph + 0x04, 4) & 0x100 else 1    # PCI_TPH_CAP_EXT_TPH
    if m.caps.exp_type != 0x9:                                   # PCI_EXP_TYPE_RC_END
        rp = 0
        if m.state.port is not None and m.port_caps.exp:
            rp = (m.io.read(m.port_caps.exp + 0x24, 4, "port") >> 12) & 0x3   # PCI_EXP_DEVCAP2_TPH_COMP_MASK
        req = min(req, rp)
    return req


def aspm_target(m) -> int:
    """pcie_config_aspm_link's state: policy_to_aspm_state (powersupersave: every state; the default
    policy: aspm_default, what the firmware enabled) & aspm_capable (aspm_disable: none); no L1
    substates without L1; with either end out of D0 the PCI-PM substates stay as enabled."""
    port, dev = m.state.port.dev, m.state.dev
    enabled = port.aspm_enabled
    # pcie_update_aspm_capable: the latency check prunes only while the function is in D0 (or unknown)
    capable = m.aspm.capable if dev.current_state in (D0, PCI_UNKNOWN) else m.aspm.support
    state = (LINK_ASPM_ALL if port.aspm_supersave else m.aspm.default) & capable
    if not state & LINK_L1:
        state &= ~LINK_L1SS
    if m.state.port.dev.current_state != D0 or m.state.dev.current_state != D0:
        state = (state & ~LINK_PCIPM) | (enabled & LINK_PCIPM)
    return state


def kernel_set(m, field: str, arg) -> None:
    """Primitive kernel_set: one assignment of paths.KERNEL_FIELDS."""
    d = m.state.dev
    if field == "driver_failed":          # report_perm_failure_detected: only a driver with error_detected hears it
        d.driver_failed = d.driver_failed or (d.driver == "host" and d.err_handler != 2)
    elif field == "driver_resumed":
        d.driver_failed = False
    elif field == "ats_stu":
        d.ats_stu = 12 + arg
    elif field in ("ats_enabled", "ats_disabled"):
        d.ats_enabled = field == "ats_enabled"
    elif field == "pasid_features":
        d.pasid_features = (arg << 1) & 0x6
    elif field in ("pasid_enabled", "pasid_disabled"):
        d.pasid_enabled = field == "pasid_enabled"
    elif field == "pri_reqs_alloc":
        d.pri_reqs_alloc = min(m.io.read(m.caps.pri + 0x08, 4), 32 << arg)   # PCI_PRI_MAX_REQ
    elif field in ("pri_enabled", "pri_disabled"):
        d.pri_enabled = field == "pri_enabled"
    elif field == "tph_mode":
        d.tph_mode = arg & 0x7                                     # PCI_TPH_CTRL_MODE_SEL_MASK
    elif field == "tph_req_type":
        d.tph_req_type = tph_req_type(m)
    elif field == "tph_enabled":
        d.tph_enabled = True
    elif field == "tph_disabled":
        d.tph_mode, d.tph_req_type, d.tph_enabled = 0, 0, False
    elif field == "sriov_vf_enable":
        d.sriov_ctrl |= 0x9                                        # PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE
    elif field == "sriov_vf_disable":
        d.sriov_ctrl &= ~0x9
    elif field == "sriov_num_vfs":
        d.sriov_num_vfs = arg
    elif field == "sriov_num_vfs_zero":
        d.sriov_num_vfs = 0
    elif field == "aspm_target":
        m.aspm_target = aspm_target(m)
    elif field == "aspm_enabled":
        m.state.port.dev.aspm_enabled = m.aspm_target
    elif field == "clkpm_enabled":
        m.state.port.dev.clkpm_enabled = True
    elif field == "aspm_supersave":
        if m.state.port is not None:
            m.state.port.dev.aspm_supersave = True
    elif field in ("ptm_get", "ptm_put", "port_ptm_get", "port_ptm_put"):
        dev = m.state.port.dev if field.startswith("port_") else d
        dev.ptm_enable_cnt += 1 if field.endswith("get") else -1
    elif field in ("ptm_suspended", "ptm_resumed"):
        d.ptm_suspended = field == "ptm_suspended"
    else:
        raise ValueError(f"unknown kernel field {field!r}")


def run_path(m, name: str, arg=None) -> int:
    """Run path `name` (a kernel sequence or a host driver callback); its result."""
    from ..policy.paths import PATH_BY_NAME
    label = PATH_BY_NAME[name].label
    brackets = len(m.bracket_cmds)          # command_bracket's reads are this call's locals
    outer, m.path_locals = m.path_locals, [0, 0]   # read_local's locals: this call's own
    try:
        if label:
            with m.in_step(label):
                return _run(m, name, arg)
        return _run(m, name, arg)
    finally:
        del m.bracket_cmds[brackets:]       # a bracket a failed path left open dies with the call
        m.path_locals = outer


def _run(m, name: str, arg) -> int:
    result = 0
    loaded = False          # a vfio_load_saved_state ran: a later restore restores that state on purpose
    flags = 0               # set_flag's bits: a = 1, b = 2
    for st in m.policy.path(name):
        if st.gate == "never" or not condition(m, st.when, result, arg, flags):
            continue
        do = st.do
        if do in CALLS:
            _model_function(*CALLS[do])(m)
            continue
        if do in RESULT_CALLS:
            result = _model_function(*RESULT_CALLS[do])(m)
            continue
        if do == "stop":
            break
        if do == "call":
            run_path(m, st.param("path"), arg)
        elif do == "set_power":
            from .power import pci_set_power_state
            s_ = st.param("state")
            result = pci_set_power_state(m, arg if s_ == "arg" else POWER_STATES[s_])
        elif do == "restore_state":
            from .restore import pci_restore_state
            pci_restore_state(m, intended_epoch=loaded)
        elif do == "write_command":
            value = 0
            for bit in st.param("value"):
                value |= COMMAND_BITS[bit]
            m.io.write(PCI_COMMAND, 2, value)                   # pci_write_config_word(dev, PCI_COMMAND, v)
        elif do == "reset_methods":
            from .reset import __pci_reset_function_locked
            result = __pci_reset_function_locked(m, arg)
        elif do == "driver":
            driver_callback(m, st.param("callback"), arg)
        elif do == "vote":
            v = st.param("result")
            from .reset import VOTE_VALUES
            result = VOTE_VALUES[arg] if v == "arg" else VOTE_CODES[v]
        elif do == "l1ss_aspm":
            from .restore import l1ss_aspm
            l1ss_aspm(m, st.param("state"))
        elif do == "l1ss_clear_l12":
            from .restore import l1ss_clear_l12
            l1ss_clear_l12(m, st.param("end"))
        elif do == "l1ss_write":
            from .restore import l1ss_write
            l1ss_write(m, st.param("value"))
        elif do == "intx_for_msi":
            from .msi import pci_intx_for_msi
            pci_intx_for_msi(m, False)
        elif do == "config_dwords":
            from .restore import config_dwords
            config_dwords(m, st.param("dwords"), st.param("retry"), st.param("force"))
        elif do == "msi_ctrl":
            from .msi import msi_ctrl
            msi_ctrl(m, st.param("value"))
        elif do == "msix_ctrl":
            from .msi import msix_ctrl
            msix_ctrl(m, st.param("value"))
        elif do == "msix_memory":
            from .msi import msix_memory
            msix_memory(m, st.param("state"))
        elif do == "vfio_irqs_disable":
            from .vfio import vfio_irqs_disable
            vfio_irqs_disable(m, st.param("memory") == "bracket")
        elif do == "vfio_irqs_enable":
            from .vfio import vfio_irqs_enable
            result = vfio_irqs_enable(m, arg[0], arg[1], st.param("memory") == "bracket")
        elif do == "vfio_vconfig_set":
            for bit in st.param("value"):
                m.state.vfio.vconfig_command |= COMMAND_BITS[bit]
        elif do == "cap_restore":
            from .restore import cap_restore
            cap_restore(m, st.param("cap"), st.param("reg"), st.param("width"), st.param("slot"))
        elif do == "cap_write":
            from .restore import cap_write
            cap_write(m, st.param("cap"), st.param("reg"), st.param("width"), st.param("value"), st.param("merge"), arg,
                      st.param("port", False))
        elif do == "cap_write_back":
            from .restore import cap_write_back
            cap_write_back(m, st.param("cap"), st.param("reg"), st.param("width"))
        elif do == "cap_save":
            from .save import cap_save
            cap_save(m, st.param("cap"), st.param("reg"), st.param("width"), st.param("slot"))
        elif do == "vc_save":
            from .save import vc_save
            if not vc_save(m):
                result = ERRNOS["enomem"]
        elif do == "vfio_bar_access":
            from .vfio import vfio_bar_access
            vfio_bar_access(m, arg[0], arg[1])
        elif do == "user_set_irqs":
            from .vfio import vfio_ioctl, vfio_set_irqs
            vfio_ioctl(m, vfio_set_irqs, st.param("index"), 0)  # VFIO_DEVICE_SET_IRQS, count 0
        elif do == "user_clear_command":
            from .qemu import guest_view_command
            from .vfio import vfio_config_write
            cmd = guest_view_command(m)
            for bit in st.param("value"):
                cmd &= ~COMMAND_BITS[bit]
            vfio_config_write(m, PCI_COMMAND, 2, cmd)
        elif do == "set_runtime_status":
            m.state.dev.rpm_suspended = st.param("status") == "suspended"
        elif do == "clear_state_saved":
            m.state.dev.state_saved = False
        elif do == "fail":
            return ERRNOS[st.param("errno")]
        elif do == "set_unknown_state":
            if m.state.dev.current_state == D0:                 # pci_pm_set_unknown_state
                m.state.dev.current_state = PCI_UNKNOWN
        elif do == "skip_bus_pm":
            m.sleep.skip_bus_pm = st.param("value") == "true"
        elif do == "update_current_state":
            m.state.dev.current_state = pmcsr_state(m, PCI_UNKNOWN)   # pci_update_current_state(dev, PCI_UNKNOWN)
        elif do == "direct_complete":
            m.sleep.direct_complete = m.state.dev.rpm_suspended and not pci_dev_need_resume(m)
        elif do == "enable_device":
            from .features import pci_disable_device, pci_enable_device
            (pci_enable_device if st.param("state") == "enable" else pci_disable_device)(m)
        elif do == "disable_feature":
            from . import features
            feature, d = st.param("feature"), m.state.dev
            if feature == "msix" and d.msix_enabled:
                features.pci_disable_msix(m)
            elif feature == "msi" and d.msi_enabled:
                features.pci_disable_msi(m)
            elif feature == "tph":
                run_path(m, "pcie_disable_tph")         # returns at once unless tph_enabled
        elif do == "reset_function":
            from .reset import pci_reset_function
            result = pci_reset_function(m, arg)
        elif do == "try_reset":
            from .reset import pci_reset_bus, pci_reset_function
            result = pci_reset_function(m, "auto") if st.param("scope") == "function" else pci_reset_bus(m)
        elif do == "vfio_set_power":
            from .vfio import vfio_pci_set_power_state
            vfio_pci_set_power_state(m, D0 if st.param("state") == "d0" else D3HOT)
        elif do == "vfio_reset_works":
            m.state.vfio.reset_works = result == 0              # vdev->reset_works = !ret
        elif do == "vfio_store_saved_state":
            from .save import pci_store_saved_state
            m.state.vfio.blob = pci_store_saved_state(m.state.dev)
        elif do == "vfio_load_saved_state":
            from .save import pci_load_saved_state
            v = m.state.vfio
            blob = v.blob
            if st.param("free") == "true":
                v.blob = None                                   # pci_load_and_free_saved_state: freed either way
                loaded = True                                   # close returns the device to its open-time state
            result = pci_load_saved_state(m, blob)
        elif do == "vfio_needs_reset":
            m.state.vfio.needs_reset = st.param("value") == "true"
        elif do == "vfio_open":
            v = m.state.vfio
            if st.param("value") == "open":
                v.open, v.irq = True, "none"
            else:
                v.open, v.virq_disabled = False, False
        elif do == "ers_status":
            m.ers_status = VOTE_CODES[st.param("value")]
        elif do == "ers_report":
            from .reset import ers_report
            ers_report(m, st.param("callback"), arg)
        elif do == "vc_restore":
            from .restore import vc_restore
            vc_restore(m, st.param("cap"), st.param("part"))
        elif do == "root_aer_irq":
            from .reset import root_aer_irq
            root_aer_irq(m, st.param("state") == "enable")
        elif do == "set_current_state":
            s_ = st.param("state")
            if s_ == "pmcsr":
                from .power import PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK
                m.state.dev.current_state = m.io.read(m.caps.pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK
            else:
                m.state.dev.current_state = POWER_STATES[s_]
        elif do == "pmcsr_write":
            from .power import PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK, pmcsr_write
            if st.param("value") == "zero":
                pmcsr_write(m, 0)
            else:
                csr = m.io.read(m.caps.pm + PCI_PM_CTRL, 2)
                target = {"d3hot": D3HOT, "d0": D0}.get(st.param("value"), min(arg if arg is not None else D3HOT, D3HOT))
                pmcsr_write(m, (csr & ~PCI_PM_CTRL_STATE_MASK) | target)
        elif do == "set_result":
            result = int(st.param("value"))
        elif do == "return":
            return int(st.param("value"))
        elif do == "recovery_said":
            m.recovery_said = st.param("value")
        elif do == "call_result":
            result = run_path(m, st.param("path"), arg)
        elif do == "set_flag":
            flags |= 1 if st.param("flag") == "a" else 2
        elif do == "driver_vote":
            result = driver_callback(m, st.param("callback"), arg) or VOTE_CODES["none"]
        elif do == "set_io_state":
            from .reset import set_io_state
            set_io_state(m, st.param("state"))
        elif do == "config_save":
            from .save import config_save
            config_save(m, st.param("dwords"))
        elif do == "set_state_saved":
            m.state.dev.state_saved = True
        elif do == "read_local":
            from .restore import read_local
            read_local(m, st.param("cap"), st.param("reg"), st.param("width"), st.param("local"),
                       st.param("port", False))
        elif do == "test_local":
            if m.path_locals[0 if st.param("local") == "a" else 1] & st.param("mask"):
                flags |= 1 if st.param("flag") == "a" else 2
        elif do == "vfio_intx":
            from .vfio import vfio_intx
            vfio_intx(m, st.param("op"))
        elif do == "vfio_pm_engage":
            v = m.state.vfio
            if st.param("op") == "entry":
                v.pm_engaged, v.pm_wakeup = True, arg == 1
            elif v.pm_engaged:
                v.pm_engaged = v.pm_wakeup = False
        elif do == "user_reset":
            from .vfio import vfio_device_reset, vfio_ioctl, vfio_user_hot_reset
            result = (vfio_ioctl(m, vfio_device_reset) if st.param("ioctl") == "device_reset"
                      else vfio_user_hot_reset(m))
        elif do == "msix_setup_interrupts":
            from .msi import msix_setup_interrupts
            msix_setup_interrupts(m, arg)
        elif do == "intx_on":
            from .msi import pci_intx_for_msi
            pci_intx_for_msi(m, True)
        elif do == "msi_mask":
            from .msi import _msi_update_mask
            _msi_update_mask(m, 1 if st.param("value") == "mask" else 0)
        elif do == "msi_forget":
            m.state.dev.msi_enabled = False
        elif do == "kernel_set":
            kernel_set(m, st.param("field"), arg)
        elif do == "command_set":
            from .features import command_set
            command_set(m, sum(COMMAND_BITS[bit] for bit in st.param("value")))
        elif do == "command_bracket":
            from .power import command_bracket
            command_bracket(m, st.param("state"))
        elif do == "bar_write":
            from .power import bar_write
            bar_write(m, arg & 0xFF, st.param("part"))
        elif do == "reset_probe":
            from .reset import reset_method_probe
            result = reset_method_probe(m, arg)
        elif do == "call_arg":
            run_path(m, st.param("path"), st.param("arg"))
        elif do == "iov_bar_write":
            from .power import iov_bar_write
            iov_bar_write(m, arg, st.param("part"))
        elif do == "rebar_resize":
            from .features import rebar_resize
            result = rebar_resize(m, arg)
        elif do == "rebar_update_bar":
            from .power import pci_update_bar
            pci_update_bar(m, m.profile.config[m.caps.rebar + 8] & 0x7)
        elif do == "bar_move":
            m.state.dev.resources[arg & 0xFF] = m.bar_slot_address(arg & 0xFF, (arg >> 8) & 0xFF)
        elif do == "set_driver":
            m.state.dev.driver = "none" if st.param("driver") == "none" else DRIVERS[arg]
        elif do == "vfio_registered":
            m.state.vfio.registered = st.param("value") == "true"
            if m.state.vfio.registered:
                m.state.vfio.msi_qmax = 0            # a new vfio_pci_core_device
        elif do == "runtime_auto":
            m.state.dev.rpm_auto = st.param("value") == "allow"
        elif do == "msix_vector":
            from .msi import msix_vector
            msix_vector(m, arg, st.param("op"))
        elif do == "msi_clear_message":
            m.state.dev.msi_msg = (0, 0, 0)
        elif do == "vfio_pm_save":
            from .save import pci_load_saved_state, pci_store_saved_state
            v = m.state.vfio
            if st.param("op") == "store":
                v.pm_save = pci_store_saved_state(m.state.dev)
            else:
                pm_save, v.pm_save = v.pm_save, None         # pci_load_and_free_saved_state: freed
                pci_load_saved_state(m, pm_save)
                loaded = True
        else:
            raise ValueError(f"unknown primitive {do!r}")
    return result


def _model_function(module: str, name: str):
    """fuzzcore.model.MODULE.NAME, imported when first used (the area modules import this one)."""
    return getattr(importlib.import_module(f"fuzzcore.model.{module}"), name)


def pmcsr_state(m, fallback: int) -> int:
    """pci_update_current_state (no platform PM): PMCSR's PowerState, D3cold when it reads
    all-ones, `fallback` without a PM capability."""
    from .power import PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK
    if not m.caps.pm:
        return fallback
    pmcsr = m.io.read_checked(m.caps.pm + PCI_PM_CTRL, 2)
    return D3COLD if pmcsr == 0xFFFF else pmcsr & PCI_PM_CTRL_STATE_MASK


def pci_dev_need_resume(m) -> bool:
    """pci_dev_need_resume for a runtime-suspended device, no platform PM and no wakeup:
    pci_target_state is D3cold from D3cold, D0 without a PM capability, else D3hot."""
    cur = m.state.dev.current_state
    target = D3COLD if cur == D3COLD else (D0 if not m.caps.pm else D3HOT)
    return target != cur and target != D3COLD and cur != D3HOT


def driver_callback(m, callback: str, arg=None) -> int:
    """dev->driver->err_handler->CALLBACK (or ->pm->CALLBACK): a host driver runs [driver.CALLBACK],
    vfio-pci its own callback's path (paths.VFIO_CALLBACK_PATHS; an empty one is a callback it
    does not have); no driver, no callback. The vote returned (0 when the callback returns none)."""
    driver = m.state.dev.driver
    if driver == "host":
        return run_path(m, f"driver.{callback}", arg)
    if driver == "vfio":
        from ..policy.paths import VFIO_CALLBACK_PATHS
        path = VFIO_CALLBACK_PATHS.get(callback)
        if path is not None:
            return run_path(m, path, arg)
    return 0
