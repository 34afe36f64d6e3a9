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
SLEEP_TRANSITIONS = ("s2idle", "deep", "hibernate_thaw", "hibernate_restore")   # mem_sleep s2idle/deep; hibernation
SLEEP_POWER = ("kept", "lost")   # whether the platform removed the function's power while asleep
BAR_SLOTS = 4  # alternative resource addresses a re-assignment may move a BAR to
LOW_POWER_ACTIONS = ("entry", "entry_wakeup", "exit")   # VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY(_WITH_WAKEUP), _EXIT
BAR_ACCESS = ("read", "write")   # a user's pread or pwrite on a BAR region of the vfio device fd


@dataclass(frozen=True)
class Arg:
    name: str
    kind: str                      # "enum" | "int" | "hex"
    nbytes: int = 1
    domain: int | tuple = 0        # modulo for int/hex, names for enum

    @property
    def size(self) -> int:
        return len(self.domain) if self.kind == "enum" else self.domain


# --- preconditions (issue 17): what the kernel requires before an op acts ------------------------
#
# A precondition is a Rule: a fact of the state, the values the op accepts, the return the kernel
# gives otherwise (the op then changes nothing) and the upstream function that decides it. Both
# models check an op's rules, in order, before they run it (model/machine.py, engine
# _engine_machine.pxi). A policy switch can widen or narrow a rule (`when`), e.g. an overlay for
# a patch that adds a path the kernel lacks today.

FACTS = {
    # who owns the device: no driver, a host driver, vfio-pci with the device closed or open,
    # portdrv (a bridge's host driver: it calls none of the driver-facing API a host driver does),
    # or a host driver that error recovery told the device failed for good (its error_detected got
    # pci_channel_io_perm_failure): it starts no new I/O (Documentation/PCI/pci-error-recovery.rst)
    # until a later recovery resumes it or it is unbound
    "owner": ("none", "host", "vfio_closed", "vfio_open", "portdrv", "host_failed"),
    # dev->current_state (include/linux/pci.h pci_power_t)
    "power": ("d0", "d1", "d2", "d3hot", "d3cold", "unknown"),
    # dev->power.runtime_status
    "runtime": ("active", "suspended"),
    # QEMU's reset of the device (hw/vfio/pci.c): resetting from vfio_pci_pre_reset until
    # vfio_pci_post_reset, which QEMU runs only as a pair around its reset ioctls
    "qemu": ("idle", "resetting"),
}
FACT_NAMES = tuple(FACTS)

EPERM, ENOENT, EIO, EAGAIN, EBUSY, ENODEV, EINVAL, ENOTTY = -1, -2, -5, -11, -16, -19, -22, -25
ALREADY = 1       # rpm_suspend / rpm_resume return 1 when the device already has that status
ERRNO_NAMES = {EPERM: "-EPERM", ENOENT: "-ENOENT", EIO: "-EIO", EAGAIN: "-EAGAIN", EBUSY: "-EBUSY",
               ENODEV: "-ENODEV", EINVAL: "-EINVAL", ENOTTY: "-ENOTTY", ALREADY: "1"}


@dataclass(frozen=True)
class Rule:
    fact: str                      # a key of FACTS
    allowed: tuple                 # values of that fact the op runs in
    errno: int                     # what the op returns otherwise (it changes nothing)
    cite: str                      # the upstream function that decides it, and how
    when: tuple = ()               # ((switch, value, allowed), ...): under that policy switch value,
                                   # `allowed` replaces the default (first match wins)

    def allowed_under(self, policy) -> tuple:
        for switch, value, allowed in self.when:
            if policy is not None and policy.switch(switch) == value:
                return allowed
        return self.allowed


# The actors whose op returns control to user space: a vfio ioctl, config or BAR access ends, and
# QEMU's own sequence (outside vfio_pci_pre_reset..post_reset) ends with it. A reset such an op made
# and did not follow with a restore is nobody's to restore: the kernel's flow is over, and the user
# cannot restore the kernel's state (used_without_restore). A driver's or the PM core's op returns
# to its caller, which restores next (pci_set_power_state(D0), then pci_restore_state).
RETURNS_TO_USER_SPACE = ("vfio", "qemu")


@dataclass(frozen=True)
class Op:
    name: str
    actor: str                     # kernel | driver | iommu | vfio | qemu | hw
    upstream: str                  # the upstream function (or event) the op stands for
    args: tuple = ()
    doc: str = ""
    pre: tuple = ()                # Rules, checked in order before the op acts


def _enum(name, names):
    return Arg(name, "enum", 1, tuple(names))


_ANY_DRIVER = ("none", "host", "vfio_closed", "vfio_open", "portdrv", "host_failed")
_VFIO_OPEN = Rule("owner", ("vfio_open",), ENODEV,
                  "vfio_pci_core_ioctl / vfio_pci_core_write: only through the open vfio device fd")
_QEMU = Rule("owner", ("vfio_open",), ENODEV,
             "vfio_pci_core_ioctl: QEMU's vfio-pci device acts through the open vfio device fd")
# vfio_pci_reset and vfio_pci_hot_reset (QEMU hw/vfio/pci.c) run vfio_pci_pre_reset, the reset
# ioctls, then vfio_pci_post_reset, all under the BQL: between the two halves QEMU issues nothing
# else for the device (no guest config access, SET_IRQS, close or second reset); the kernel's own
# paths (recovery, PM, sysfs) are not QEMU's and run whenever they run.
_QEMU_IDLE = Rule("qemu", ("idle",), EPERM,
                  "vfio_pci_reset: between vfio_pci_pre_reset and vfio_pci_post_reset QEMU issues only "
                  "the reset ioctls (VFIO_DEVICE_RESET, VFIO_DEVICE_PCI_HOT_RESET), under the BQL")
_QEMU_RESETTING = Rule("qemu", ("resetting",), EPERM,
                       "vfio_pci_reset / vfio_pci_hot_reset: vfio_pci_post_reset runs only after the same "
                       "reset's vfio_pci_pre_reset")


def _host(why: str) -> Rule:
    """A bound host driver is the only caller of the driver-facing PCI API: vfio-pci never calls
    it for its user and an unbound device has no caller (-EPERM: the call does not happen)."""
    return Rule("owner", ("host",), EPERM, why + " (portdrv, a bridge's driver, makes none of these calls; "
                "nor does a host driver told the device failed for good: host_failed)")


# pci_enable_ptm(dev) of an endpoint first enables its parent (pci_upstream_ptm) the same way, so a
# port's ptm_enable_cnt moves with the drivers below it: on a bridge (owner portdrv) the op is theirs
def _host_teardown(why: str) -> Rule:
    """A driver's release of what it set up: also made by a driver told the device failed for
    good (host_failed): pci-error-recovery.rst stops new I/O, and a driver frees its vectors and
    features in its error handler or its remove."""
    return Rule("owner", ("host", "host_failed"), EPERM,
                why + " (portdrv, a bridge's driver, makes none of these calls)")


_PTM_CALLER = Rule("owner", ("host", "portdrv"), EPERM,
                   "pci_enable_ptm / pci_disable_ptm: a host driver's call, on a port that of a driver below "
                   "(the upstream path's count)")


# A driver touches its device only while it holds it active (pm_runtime_get_sync / probe's
# reference); while the device is runtime-suspended its calls do not happen.
_ACTIVE = Rule("runtime", ("active",), EPERM,
               "pm_runtime_get_sync: a driver calls into the PCI core for its device only while it "
               "holds the device active")


OPS: tuple[Op, ...] = (
    # --- PCI core ---------------------------------------------------------------------------
    Op("pci_save_state", "kernel", "pci_save_state", (), "snapshot config + capability buffers (§2)",
       (_host("pci_save_state: called by the bound driver (probe, suspend, slot_reset); vfio-pci saves "
              "only inside its own paths"), _ACTIVE)),
    Op("pci_restore_state", "kernel", "pci_restore_state", (), "the sixteen restore steps (§3)",
       (_host("pci_restore_state: called by the bound driver (resume, slot_reset); vfio-pci restores "
              "only inside its own paths"), _ACTIVE)),
    Op("pci_reset_function", "kernel", "reset_store", (_enum("method", RESET_METHODS),),
       "sysfs reset (resumes a runtime-suspended device first): save and disable, reset, restore, "
       "reset_done (§5.1); method=auto tries reset_methods[] in order, a named method is first set "
       "through reset_method_store (-EINVAL when pci_init_reset_methods did not find it) and "
       "reset_method is set back to `default` after the reset (as the validation guest does), so "
       "later resets try every method again; a device with no reset method has no reset file "
       "(pci_dev_reset_attr_is_visible): -ENOENT"),
    # No owner or runtime-PM precondition: whoever holds the device, root can reset its bus through
    # the port's reset_subordinate attribute (pci-sysfs.c: no runtime resume of the children), and
    # the drivers of sibling functions call pci_reset_bus themselves (mlx5, lpfc, r8169).
    Op("pci_reset_bus", "kernel", "pci_reset_bus", (),
       "slot/bus reset with save and restore (§5.3); any owner: the port's reset_subordinate "
       "attribute, or a sibling function's driver"),
    Op("pcie_do_recovery", "kernel", "pcie_do_recovery",
       (_enum("channel", CHANNELS), _enum("vote", VOTES), _enum("source", RECOVERY_SOURCES)),
       "AER/DPC recovery with the bound driver's vote (§5.4); its bus reset is "
       "pci_bus_error_reset inside aer_root_reset"),
    Op("pci_set_power_state", "kernel", "pci_set_power_state", (_enum("state", POWER_STATES),),
       "power transition; D3hot->D0 may soft-reset and re-write BARs (§5.5)",
       (_host("pci_set_power_state: the bound driver calls it; on a vfio-owned device only "
              "vfio_pci_set_power_state does (a user PMCSR write, vfio's runtime PM)"),
        _ACTIVE)),
    Op("pci_pm_runtime_suspend", "kernel", "pci_pm_runtime_suspend", (),
       "clear state_saved, suspend PTM, save, D3hot (§1.4, §1.5); unbound: save only, stays D0",
       (Rule("runtime", ("active",), ALREADY, "rpm_suspend: returns 1 when already suspended"),
        Rule("owner", ("none", "host", "vfio_closed", "portdrv", "host_failed"), EAGAIN,
             "rpm_check_suspend_allowed: -EAGAIN while vfio_pci_core_enable's "
             "pm_runtime_resume_and_get reference is held",
             (("vfio.disable_idle_d3", True, ("none", "host", "portdrv", "host_failed")),)))),
    Op("pci_pm_runtime_resume", "kernel", "pci_pm_runtime_resume", (), "power up, restore (§5.5)",
       (Rule("runtime", ("suspended",), ALREADY,
             "rpm_resume: returns 1 when already active; pci_pm_runtime_resume runs only after a "
             "runtime suspend"),)),
    Op("pci_assign_bar", "kernel", "pci_std_update_resource",
       (Arg("bar", "int", 1, 6), Arg("slot", "int", 1, BAR_SLOTS)),
       "move a BAR's resource and write it; updates the snapshot since 909f7bf9b080",
       (Rule("owner", ("none",), EBUSY,
             "__resource_resize_store / pci_reassign_resource: -EBUSY while a driver is bound"),)),
    # --- features a driver or the IOMMU code enables ----------------------------------------
    Op("pci_enable_msix", "driver", "pci_alloc_irq_vectors", (Arg("nvec", "int", 1, 8),),
       "msix_capability_init with nvec+1 vectors (§4.4)",
       (_host("pci_alloc_irq_vectors: a host driver's call; vfio-pci enables MSI-X only through "
              "VFIO_DEVICE_SET_IRQS"),
        _ACTIVE, Rule("power", ("d0",), EINVAL, "__pci_enable_msix_range: -EINVAL if current_state != PCI_D0"))),
    Op("pci_disable_msix", "driver", "pci_free_irq_vectors", (), "pci_msix_shutdown (§4.4)",
       (_host_teardown("pci_free_irq_vectors: a host driver's call"), _ACTIVE)),
    Op("pci_enable_msi", "driver", "pci_alloc_irq_vectors", (), "msi_capability_init, one vector",
       (_host("pci_alloc_irq_vectors: a host driver's call; vfio-pci enables MSI only through "
              "VFIO_DEVICE_SET_IRQS"),
        _ACTIVE, Rule("power", ("d0",), EINVAL, "__pci_enable_msi_range: -EINVAL if current_state != PCI_D0"))),
    Op("pci_disable_msi", "driver", "pci_free_irq_vectors", (), "pci_msi_shutdown",
       (_host_teardown("pci_free_irq_vectors: a host driver's call"), _ACTIVE)),
    Op("pci_enable_tph", "driver", "pcie_enable_tph", (_enum("mode", TPH_MODES),), "TPH requester enable",
       (Rule("owner", ("host",), EPERM,
             "pcie_enable_tph: only host drivers call it; vfio-pci has no caller in v7.1.3; a kernel "
             "without drivers/pci/tph.c (before v6.13, [paths] host_tph = false) has none at all",
             (("paths.host_tph", False, ()), ("paths.vfio_user_tph", True, ("host", "vfio_open")))), _ACTIVE)),
    Op("pci_disable_tph", "driver", "pcie_disable_tph", (), "TPH requester disable",
       (Rule("owner", ("host", "host_failed"), EPERM, "pcie_disable_tph: only host drivers call it (none before v6.13)",
             (("paths.host_tph", False, ()),
              ("paths.vfio_user_tph", True, ("host", "host_failed", "vfio_open")))), _ACTIVE)),
    Op("pci_enable_ats", "iommu", "pci_enable_ats", (Arg("stu", "int", 1, 4),), "ATS enable, STU = 12+stu",
       (_host("pci_enable_ats: the IOMMU driver acting for a bound host driver's DMA"), _ACTIVE)),
    Op("pci_disable_ats", "iommu", "pci_disable_ats", (), "",
       (_host_teardown("pci_disable_ats: the IOMMU driver acting for a bound host driver"), _ACTIVE)),
    Op("pci_enable_pasid", "iommu", "pci_enable_pasid", (Arg("features", "int", 1, 4),), "Exec/Priv bits",
       (_host("pci_enable_pasid: the IOMMU driver acting for a bound host driver"), _ACTIVE)),
    Op("pci_disable_pasid", "iommu", "pci_disable_pasid", (), "",
       (_host_teardown("pci_disable_pasid: the IOMMU driver acting for a bound host driver"), _ACTIVE)),
    Op("pci_enable_pri", "iommu", "pci_enable_pri", (Arg("reqs", "int", 1, 4),),
       "allocation = 32<<reqs; as the IOMMU drivers call it (iommu_enable_pci_pri, pdev_enable_cap_pri): "
       "nothing unless ATS is on, pci_reset_pri first",
       (_host("pci_enable_pri: the IOMMU driver acting for a bound host driver"), _ACTIVE)),
    Op("pci_disable_pri", "iommu", "pci_disable_pri", (), "",
       (_host_teardown("pci_disable_pri: the IOMMU driver acting for a bound host driver"), _ACTIVE)),
    Op("pci_enable_ptm", "driver", "pci_enable_ptm", (), "PTM enable (ptm_enable_cnt++); on a port, a "
       "driver below enabling PTM (pci_enable_ptm enables the upstream path first)",
       (_PTM_CALLER, _ACTIVE)),
    Op("pci_disable_ptm", "driver", "pci_disable_ptm", (), "on a port, a driver below disabling PTM "
       "(pci_disable_ptm drops the upstream path's counts after its own)",
       (Rule("owner", ("host", "portdrv", "host_failed"), EPERM, _PTM_CALLER.cite), _ACTIVE)),
    Op("pci_enable_l1ss", "kernel", "pcie_aspm_set_policy", (),
       "the ASPM policy set to powersupersave (/sys/module/pcie_aspm/parameters/policy): the link above "
       "the function gets every ASPM state and L1 substate both ends can take, and Clock PM "
       "([path.pcie_aspm_set_policy]); nothing on a link without ASPM"),
    Op("pci_enable_sriov", "driver", "pci_enable_sriov", (Arg("num_vfs", "int", 1, 4),), "num_vfs+1 VFs",
       (Rule("owner", ("host", "vfio_closed", "vfio_open"), ENOENT,
             "sriov_numvfs_store: -ENOENT without a bound driver's sriov_configure (a host PF driver's, or "
             "vfio-pci's: [path.vfio_pci_sriov_configure], -ENOENT unless enable_sriov=1)"),)),
    Op("pci_disable_sriov", "driver", "pci_disable_sriov", (),
       "sriov_numvfs <- 0: with no VFs a success that does nothing, bound or not (sriov_numvfs_store checks "
       "the count before the driver: [path.sriov_deconfigure])"),
    Op("pci_resize_bar", "driver", "pci_resize_resource", (Arg("size", "int", 1, 4),),
       "ReBAR: resize the first resizable BAR",
       (_host("pci_resize_resource: a host driver's call (amdgpu, xe)"), _ACTIVE)),
    Op("pci_bind_driver", "kernel", "device_driver_attach", (_enum("driver", DRIVERS),),
       "unbind the current driver (resuming the device first; an unbound device bound to none again "
       "is left alone) and bind none, a host driver or vfio-pci "
       "(vfio_pci_core_register_device refuses a bridge: -EINVAL, and a PF whose VFs are enabled: -EBUSY; "
       "either is left unbound)",
       (Rule("owner", ("none", "host", "vfio_closed", "portdrv", "host_failed"), EBUSY,
             "vfio_pci_core_unregister_device -> vfio_unregister_group_dev waits for the user to "
             "close the device"),)),
    # --- vfio-pci ---------------------------------------------------------------------------
    Op("vfio_open", "vfio", "vfio_pci_core_enable", (),
       "open: runtime resume, clear master, enable, reset, save, keep blob (§6.2)",
       (Rule("owner", ("vfio_closed",), EBUSY,
             "vfio_df_open: one open device fd per device here (vfio-pci bound, not yet open)"),)),
    Op("vfio_close", "vfio", "vfio_pci_core_disable", (), "close: load blob, reset, restore, runtime "
       "suspend (§6.6)", (_VFIO_OPEN, _QEMU_IDLE)),
    Op("vfio_config_write", "vfio", "vfio_pci_config_rw",
       (Arg("offset", "hex", 2, 4096), Arg("width", "enum", 1, ("1", "2", "4")), Arg("value", "hex", 4, 1 << 32)),
       "user config write through the permission table (§6.3)", (_VFIO_OPEN, _QEMU_IDLE)),
    Op("vfio_set_irqs", "vfio", "vfio_pci_ioctl_set_irqs", (_enum("index", IRQ_KINDS), Arg("count", "int", 1, 8)),
       "enable MSI/MSI-X/INTx with Memory forced on, or disable (§6.4)", (_VFIO_OPEN, _QEMU_IDLE)),
    Op("vfio_device_reset", "vfio", "vfio_pci_ioctl_reset", (), "VFIO_DEVICE_RESET (§6.5)", (_VFIO_OPEN,)),
    Op("vfio_hot_reset", "vfio", "vfio_pci_dev_set_hot_reset", (), "VFIO_DEVICE_PCI_HOT_RESET (§6.5)",
       (_VFIO_OPEN,)),
    # --- QEMU -------------------------------------------------------------------------------
    Op("qemu_pre_reset", "qemu", "vfio_pci_pre_reset", (), "disable interrupts, clear Command, D0 (§6.8)",
       (_QEMU, _QEMU_IDLE)),
    Op("qemu_post_reset", "qemu", "vfio_pci_post_reset", (), "re-arm INTx, zero the BARs in vconfig (§6.8)",
       (_QEMU, _QEMU_RESETTING)),
    Op("qemu_reset", "qemu", "vfio_pci_reset", (), "pre-reset, the reset QEMU picks, post-reset (§6.8)",
       (_QEMU, _QEMU_IDLE)),
    # --- hardware events --------------------------------------------------------------------
    Op("hw_link_down", "hw", "link down", (), "the link drops and retrains: a hot reset of the function"),
    Op("hw_inaccessible", "hw", "config read all-ones", (), "config space stops answering (reads all-ones)"),
    Op("hw_accessible", "hw", "config answers again", (), "config space answers again"),
    # --- system sleep (appended: existing records keep their selector) -------------------------
    # No rule: the PM core suspends every device whatever its owner, power or runtime state
    # (pci_pm_suspend/pci_pm_freeze runtime-resume a device with dev_pm_ops, direct-complete
    # leaves a runtime-suspended one alone, an unbound device takes the !pm branches).
    Op("pm_system_sleep", "kernel", "pm_suspend / hibernate",
       (_enum("transition", SLEEP_TRANSITIONS), _enum("power", SLEEP_POWER)),
       "system sleep and wake-up through the PCI core's PM phases (drivers/pci/pci-driver.c): "
       "s2idle and deep (S3) suspend, hibernation freeze+thaw, hibernation restore; power=lost: the "
       "platform removed the function's power meanwhile (always for hibernate_restore, never for "
       "hibernate_thaw, whatever the argument)"),
    # --- a vfio user's MMIO/port I/O (appended) -------------------------------------------------
    Op("vfio_bar_rw", "vfio", "vfio_pci_bar_rw", (Arg("bar", "int", 1, 6), _enum("access", BAR_ACCESS)),
       "a user's dword read or write of a BAR region through the device fd (the BAR's last dword; "
       "inside the MSI-X table vfio reads all-ones and drops writes): [path.vfio_pci_bar_rw]",
       (_VFIO_OPEN, _QEMU_IDLE)),
    # --- a vfio user's low-power feature (appended) --------------------------------------------
    Op("vfio_low_power", "vfio", "vfio_pci_core_ioctl_feature", (_enum("action", LOW_POWER_ACTIONS),),
       "VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY (with a wake-up eventfd: entry_wakeup) or _EXIT on the open device "
       "(§6.11): the entry drops the open's runtime-PM reference, so after the ioctl the device runtime-suspends "
       "until an ioctl, a wake-up or the close resumes it",
       (_VFIO_OPEN, _QEMU_IDLE)),
)

OP_INDEX = {op.name: i for i, op in enumerate(OPS)}
MAX_RULES = 4
for _op in OPS:
    assert sum(a.nbytes for a in _op.args) <= ARG_BYTES, _op.name
    assert len(_op.pre) <= MAX_RULES, _op.name
    for _r in _op.pre:
        assert _r.fact in FACTS and set(_r.allowed) <= set(FACTS[_r.fact]), (_op.name, _r)
        assert all(set(a) <= set(FACTS[_r.fact]) for _, _, a in _r.when), (_op.name, _r)
        assert _r.errno in ERRNO_NAMES, (_op.name, _r)


def compile_preconditions(policy=None) -> list[list[tuple[int, int, int]]]:
    """Per op (table order), its rules under `policy` as (fact id, allowed bitmask over the fact's
    values, errno): the form both models check."""
    out = []
    for op in OPS:
        rows = []
        for r in op.pre:
            values = FACTS[r.fact]
            mask = 0
            for v in r.allowed_under(policy):
                mask |= 1 << values.index(v)
            rows.append((FACT_NAMES.index(r.fact), mask, r.errno))
        out.append(rows)
    return out
