"""The state the reference model runs over (design.md §3): hardware, `struct pci_dev`, vfio-pci,
and the upstream port. Plain dataclasses; behaviour lives in the per-area modules."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..device.config_space import ConfigSpace

# Power states as in include/linux/pci.h (pci_power_t).
D0, D1, D2, D3HOT, D3COLD, PCI_UNKNOWN = 0, 1, 2, 3, 4, 5
POWER_NAMES = {D0: "D0", D1: "D1", D2: "D2", D3HOT: "D3hot", D3COLD: "D3cold", PCI_UNKNOWN: "unknown"}


@dataclass
class CapBuffer:
    """One `pci_cap_saved_state`: a save buffer allocated at enumeration (§1.2).

    `epoch` is the number of the pci_save_state() that last filled it (0: never filled, zeros).
    """

    cap_id: int
    extended: bool
    data: bytearray
    epoch: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def u32(self, i: int) -> int:
        return int.from_bytes(self.data[4 * i:4 * i + 4], "little")

    def set_u32(self, i: int, v: int) -> None:
        self.data[4 * i:4 * i + 4] = (v & 0xFFFFFFFF).to_bytes(4, "little")

    def u16(self, i: int) -> int:
        return int.from_bytes(self.data[2 * i:2 * i + 2], "little")

    def set_u16(self, i: int, v: int) -> None:
        self.data[2 * i:2 * i + 2] = (v & 0xFFFF).to_bytes(2, "little")


@dataclass
class Blob:
    """`struct pci_saved_state` (pci_store_saved_state): config dwords + records in hlist order."""

    config: list[int]
    config_epoch: int
    records: list[tuple[int, bool, bytes, int]]  # (cap_id, extended, data, epoch)


@dataclass
class MsixDesc:
    """One MSI-X `msi_desc`: cached message and Vector Control (msix_ctrl)."""

    addr_lo: int
    addr_hi: int
    data: int
    ctrl: int  # cached Vector Control, Mask bit 0x1


@dataclass
class KernelDev:
    """The fields of `struct pci_dev` that save/restore reads or writes (§1.1)."""

    saved_config: list[int] = field(default_factory=lambda: [0] * 16)
    config_epoch: int = 0                 # epoch of the save that filled saved_config
    bar_epoch: list[int] = field(default_factory=lambda: [0] * 6)
    buffers: list[CapBuffer] = field(default_factory=list)   # allocation order; hlist is reversed
    state_saved: bool = False
    save_count: int = 0                   # epochs are numbered by this
    current_state: int = PCI_UNKNOWN
    resources: list[int] = field(default_factory=lambda: [0] * 6)   # BAR addresses the kernel assigned
    resource_sizes: list[int] = field(default_factory=lambda: [0] * 6)
    # the BAR type bits of res->flags as __pci_read_base's decode_bar took them from the BAR at
    # enumeration (IO: bits 1:0; memory: bits 3:0, 64-bit and prefetchable); no op changes them
    resource_flags: list[int] = field(default_factory=lambda: [0] * 6)
    # dev->resource[PCI_ROM_RESOURCE]: its start, and IORESOURCE_ROM_ENABLE (the ROM was enabled
    # when __pci_read_base read it at enumeration)
    rom_resource: int = 0
    rom_enable: bool = False
    enable_cnt: int = 0
    is_busmaster: bool = False
    msi_enabled: bool = False
    msix_enabled: bool = False
    msix_descs: list[MsixDesc] = field(default_factory=list)
    msi_msg: tuple[int, int, int] = (0, 0, 0)
    msi_mask: int = 0
    tph_enabled: bool = False
    tph_mode: int = 0
    tph_req_type: int = 0
    ats_enabled: bool = False
    ats_stu: int = 0
    pasid_enabled: bool = False
    pasid_features: int = 0
    pri_enabled: bool = False
    pri_reqs_alloc: int = 0
    ptm_enable_cnt: int = 0
    ptm_suspended: bool = False   # between pci_suspend_ptm and pci_resume_ptm: PTM off on purpose
    sriov_ctrl: int = 0
    sriov_num_vfs: int = 0
    sriov_pgsz: int = 1
    error_state: str = "normal"           # normal | frozen | perm_failure
    driver: str = "none"                  # none | host | vfio
    partial_load: bool = False            # a pci_load_saved_state failed half way (H3d)
    ltr_path: bool = False                # pci_configure_ltr enabled LTR here (bridges: on an LTR path)
    aspm_enabled: int = 0                 # a port: its link's link->aspm_enabled (PCIE_LINK_STATE_*)
    clkpm_enabled: bool = False           # a port: its link's link->clkpm_enabled
    aspm_supersave: bool = False          # the ASPM policy is powersupersave (pcie_aspm's aspm_policy; kept
                                          # here: the model has one link)
    rpm_suspended: bool = False           # dev->power.runtime_status == RPM_SUSPENDED
    rpm_auto: bool = False                # power/control = auto and no driver reference: idle suspends it
    err_handler: int = 0                  # the bound host driver's error handling as its recoveries showed:
                                          # 0 not yet, 1 error_detected, 2 none (the op's vote no_aer_driver)
    driver_failed: bool = False           # recovery failed and told the bound host driver so (its error_detected
                                          # got pci_channel_io_perm_failure): it does no new I/O (owner host_failed)

    def buffer(self, cap_id: int, extended: bool) -> CapBuffer | None:
        """pci_find_saved_cap / pci_find_saved_ext_cap."""
        for b in self.buffers:
            if b.cap_id == cap_id and b.extended == extended:
                return b
        return None


@dataclass
class VfioState:
    """vfio_pci_core_device fields that matter (§6)."""

    registered: bool = False
    open: bool = False
    blob: Blob | None = None              # vdev->pci_saved_state, the open-time snapshot
    pm_save: Blob | None = None
    vconfig_command: int = 0              # only Memory/IO/INTx Disable are tracked
    vconfig_devctl: int = 0               # DEVCTL's virtual bits (Initiate FLR, MPS, MRRS) in vconfig
    vconfig_bars: list[int] = field(default_factory=lambda: [0] * 6)
    vconfig_msi_flags: int = 0            # MSI Message Control in vconfig (vfio_msi_config_write)
    msi_qmax: int = 0                     # vdev->msi_qmax: log2 of the last MSI enable's vectors
    map_silent: bool = False              # vfio_config_init read a function that did not answer (vfio_perm)
    rbar: list[int] = field(default_factory=lambda: [0] * 7)     # BARs 0-5, then the ROM dword (0x30)
    reset_works: bool = True
    needs_reset: bool = False
    needs_pm_restore: bool = False
    irq: str = "none"                     # none | intx | msi | msix
    virq_disabled: bool = False           # the user's virtual INTx Disable, as vfio last acted on it
    intx_masked: bool = False             # the INTx ctx's masked flag (irq == intx)
    qemu_resetting: bool = False          # QEMU ran vfio_pci_pre_reset, not yet vfio_pci_post_reset
    pm_engaged: bool = False              # vdev->pm_runtime_engaged: the user's LOW_POWER_ENTRY holds
    pm_wakeup: bool = False               # vdev->pm_wake_eventfd_ctx: the entry came with a wake-up eventfd
    pm_intx_masked: bool = False          # vdev->pm_intx_masked: the runtime suspend masked the user's INTx


@dataclass
class PortState:
    """The upstream port (root port / switch downstream port) above the device."""

    hw: ConfigSpace
    dev: KernelDev
    name: str = ""


@dataclass
class ModelState:
    hw: ConfigSpace
    dev: KernelDev
    vfio: VfioState
    port: PortState | None
    needs_restore_after_reset: bool = False   # reset happened; no restore since (H11 / §5.4)

    def clone(self) -> "ModelState":
        return copy.deepcopy(self)
