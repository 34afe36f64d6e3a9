"""The op vocabulary: one row per upstream entry point a program can call.

This table is the single source of truth: the byte codec, the `.fzs` text format, the mutator,
the docs and both models' dispatch are generated from it (libFuzzer's FuzzerFlags.def habit).
Adding an op is one row here plus its semantics in the models.

Argument kinds:
- ("enum", names): one of a few named values; text `name`, byte value taken modulo len(names).
- ("int", n_bytes, modulo): an integer taken from n_bytes little-endian bytes modulo `modulo`.
- ("hex", n_bytes, modulo): the same, printed in hex.
Every op record is RECORD_SIZE bytes: one selector byte (op index modulo the number of ops),
then the argument bytes in order; unused bytes are ignored (and written as 0 by the encoder).
"""

from __future__ import annotations

from dataclasses import dataclass

RECORD_SIZE = 8
ARG_BYTES = RECORD_SIZE - 1

RESET_METHODS = ("auto", "flr", "pm", "bus")
POWER_STATES = ("d0", "d3hot", "d3cold")
CHANNELS = ("normal", "frozen")
VOTES = ("can_recover", "need_reset", "disconnect", "no_aer_driver")
RECOVERY_SOURCES = ("aer", "dpc")
IRQ_KINDS = ("none", "intx", "msi", "msix")
TPH_MODES = ("no_st", "int_vec", "dev_spec")
DRIVERS = ("none", "host", "vfio")
BAR_SLOTS = 4  # alternative resource addresses a re-assignment may move a BAR to


@dataclass(frozen=True)
class Arg:
    name: str
    kind: str                      # "enum" | "int" | "hex"
    nbytes: int = 1
    domain: int | tuple = 0        # modulo for int/hex, names for enum

    @property
    def size(self) -> int:
        return len(self.domain) if self.kind == "enum" else self.domain


@dataclass(frozen=True)
class Op:
    name: str
    actor: str                     # kernel | driver | vfio | qemu | hw
    upstream: str                  # the upstream function (or event) the op stands for
    args: tuple = ()
    doc: str = ""


def _enum(name, names):
    return Arg(name, "enum", 1, tuple(names))


OPS: tuple[Op, ...] = (
    # --- PCI core ---------------------------------------------------------------------------
    Op("pci_save_state", "kernel", "pci_save_state", (), "snapshot config + capability buffers (§2)"),
    Op("pci_restore_state", "kernel", "pci_restore_state", (), "the sixteen restore steps (§3)"),
    Op("pci_reset_function", "kernel", "pci_reset_function", (_enum("method", RESET_METHODS),),
       "save and disable, reset, restore, reset_done (§5.1); method=auto tries reset_methods[] in order"),
    Op("pci_reset_bus", "kernel", "pci_reset_bus", (), "slot/bus reset with save and restore (§5.3)"),
    Op("pci_bus_error_reset", "kernel", "pci_bus_error_reset", (), "bus reset with no save or restore (§5.3)"),
    Op("pcie_do_recovery", "kernel", "pcie_do_recovery",
       (_enum("channel", CHANNELS), _enum("vote", VOTES), _enum("source", RECOVERY_SOURCES)),
       "AER/DPC recovery with the bound driver's vote (§5.4)"),
    Op("pci_set_power_state", "kernel", "pci_set_power_state", (_enum("state", POWER_STATES),),
       "power transition; D3hot->D0 may soft-reset and re-write BARs (§5.5)"),
    Op("pci_pm_runtime_suspend", "kernel", "pci_pm_runtime_suspend", (),
       "clear state_saved, suspend PTM, save, D3hot (§1.4, §1.5)"),
    Op("pci_pm_runtime_resume", "kernel", "pci_pm_runtime_resume", (), "power up, restore (§5.5)"),
    Op("pci_assign_bar", "kernel", "pci_std_update_resource",
       (Arg("bar", "int", 1, 6), Arg("slot", "int", 1, BAR_SLOTS)),
       "move a BAR's resource and write it; updates the snapshot since 909f7bf9b080"),
    # --- features a driver or the IOMMU code enables ----------------------------------------
    Op("pci_enable_msix", "driver", "pci_alloc_irq_vectors", (Arg("nvec", "int", 1, 8),),
       "msix_capability_init with nvec+1 vectors (§4.4)"),
    Op("pci_disable_msix", "driver", "pci_free_irq_vectors", (), "pci_msix_shutdown (§4.4)"),
    Op("pci_enable_msi", "driver", "pci_alloc_irq_vectors", (), "msi_capability_init, one vector"),
    Op("pci_disable_msi", "driver", "pci_free_irq_vectors", (), "pci_msi_shutdown"),
    Op("pci_enable_tph", "driver", "pcie_enable_tph", (_enum("mode", TPH_MODES),), "TPH requester enable"),
    Op("pci_disable_tph", "driver", "pcie_disable_tph", (), "TPH requester disable"),
    Op("pci_enable_ats", "iommu", "pci_enable_ats", (Arg("stu", "int", 1, 4),), "ATS enable, STU = 12+stu"),
    Op("pci_disable_ats", "iommu", "pci_disable_ats", (), ""),
    Op("pci_enable_pasid", "iommu", "pci_enable_pasid", (Arg("features", "int", 1, 4),), "Exec/Priv bits"),
    Op("pci_disable_pasid", "iommu", "pci_disable_pasid", (), ""),
    Op("pci_enable_pri", "iommu", "pci_enable_pri", (Arg("reqs", "int", 1, 4),), "allocation = 32<<reqs"),
    Op("pci_disable_pri", "iommu", "pci_disable_pri", (), ""),
    Op("pci_enable_ptm", "driver", "pci_enable_ptm", (), "PTM enable (ptm_enable_cnt++)"),
    Op("pci_disable_ptm", "driver", "pci_disable_ptm", (), ""),
    Op("pci_configure_ltr", "kernel", "pci_configure_ltr", (Arg("latency", "int", 1, 4),),
       "program LTR latencies, then set DEVCTL2 LTR Enable"),
    Op("pci_enable_l1ss", "kernel", "pci_configure_aspm_l1ss", (), "program L1SS on the link and enable L1.2"),
    Op("pci_enable_sriov", "driver", "pci_enable_sriov", (Arg("num_vfs", "int", 1, 4),), "num_vfs+1 VFs"),
    Op("pci_disable_sriov", "driver", "pci_disable_sriov", (), ""),
    Op("pci_resize_bar", "driver", "pci_resize_resource", (Arg("size", "int", 1, 4),),
       "ReBAR: resize the first resizable BAR"),
    Op("pci_bind_driver", "kernel", "device_driver_attach", (_enum("driver", DRIVERS),),
       "unbind the current driver (a vfio device must be closed) and bind none, a host driver or vfio-pci"),
    # --- vfio-pci ---------------------------------------------------------------------------
    Op("vfio_open", "vfio", "vfio_pci_core_enable", (), "open: clear master, enable, reset, save, keep blob (§6.2)"),
    Op("vfio_close", "vfio", "vfio_pci_core_disable", (), "close: load blob, reset, restore (§6.6)"),
    Op("vfio_config_write", "vfio", "vfio_pci_config_rw",
       (Arg("offset", "hex", 2, 4096), Arg("width", "enum", 1, ("1", "2", "4")), Arg("value", "hex", 4, 1 << 32)),
       "user config write through the permission table (§6.3)"),
    Op("vfio_set_irqs", "vfio", "vfio_pci_ioctl_set_irqs", (_enum("index", IRQ_KINDS), Arg("count", "int", 1, 8)),
       "enable MSI/MSI-X/INTx with Memory forced on, or disable (§6.4)"),
    Op("vfio_device_reset", "vfio", "vfio_pci_ioctl_reset", (), "VFIO_DEVICE_RESET (§6.5)"),
    Op("vfio_hot_reset", "vfio", "vfio_pci_dev_set_hot_reset", (), "VFIO_DEVICE_PCI_HOT_RESET (§6.5)"),
    # --- QEMU -------------------------------------------------------------------------------
    Op("qemu_pre_reset", "qemu", "vfio_pci_pre_reset", (), "disable interrupts, clear Command, D0 (§6.8)"),
    Op("qemu_post_reset", "qemu", "vfio_pci_post_reset", (), "re-arm INTx, zero the BARs in vconfig (§6.8)"),
    Op("qemu_reset", "qemu", "vfio_pci_reset", (), "pre-reset, the reset QEMU picks, post-reset (§6.8)"),
    # --- hardware events --------------------------------------------------------------------
    Op("hw_link_down", "hw", "link down", (), "the link drops and retrains: a hot reset of the function"),
    Op("hw_inaccessible", "hw", "config read all-ones", (), "config space stops answering (reads all-ones)"),
    Op("hw_accessible", "hw", "config answers again", (), "config space answers again"),
)

OP_INDEX = {op.name: i for i, op in enumerate(OPS)}
for _op in OPS:
    assert sum(a.nbytes for a in _op.args) <= ARG_BYTES, _op.name
