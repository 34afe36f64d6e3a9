"""Who runs each op in the guest, or why it cannot be run for real.

VALIDATION is the table (one row per op of fuzzcore/program/op_table.py): the guest actor
(sysfs, the vfio client, the fzhost test driver) and the fzguest commands it becomes, or, for an
op that is not validatable, the reason. `fuzzcore ops` can show it; tests check it covers every op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..program.op_table import OPS

SYSPCI = "/sys/bus/pci/devices"


@dataclass(frozen=True)
class Validation:
    op: str
    actor: str                     # "sysfs" | "vfio client" | "fzhost" | "fzhost + aer_inject" | "" (not)
    how: str                       # what the guest does, or why it cannot
    commands: Callable | None = None   # (args: dict, bdf: str) -> list[str] fzguest commands

    @property
    def validatable(self) -> bool:
        return self.commands is not None


def _proc(cmd: str) -> Callable:
    return lambda a, bdf: [f"proc {cmd} {bdf}"]


def _reset_function(a, bdf):
    method = {"auto": "default"}.get(a["method"], a["method"])
    return [f"reset {bdf} {method}"]


def _set_power(a, bdf):
    return [f"proc power {bdf} {a['state']}"]


def _bind(a, bdf):
    return [f"bind {bdf} {a['driver']}"]


def _enable_msix(a, bdf):
    return [f"proc msix {bdf} {a['nvec'] + 1}"]


def _vfio_cfgw(a, bdf):
    return [f"vfio_cfgw 0x{a['offset']:x} {int(a['width'])} 0x{a['value']:x}"]


def _vfio_irqs(a, bdf):
    count = a["count"] + 1 if a["index"] in ("msi", "msix") else 1
    return [f"vfio_irqs {a['index']} {count}"]


def _vfio_bar(a, bdf):
    return [f"vfio_bar {a['bar']}"]


def _system_sleep(a, bdf):
    return [f"pmsleep {a['transition']}"]


def _recovery(a, bdf):
    return [f"proc vote {bdf} {a['vote']}", f"aerinj {bdf} {a['channel']}"]


_NO_QEMU = "QEMU's own vfio-pci device model (hw/vfio/pci.c) would need a nested QEMU inside the guest"
_HW = "a silent hardware event: nothing in the guest can make an emulated device do it"
_NO_CAP = ("none of the kit's QEMU 7.2 devices (e1000e, nvme, virtio-rng, the SR-IOV nvme, the switch and "
           "root ports) has this capability")

_ROWS = [
    Validation("pci_save_state", "fzhost", "pci_save_state() on the bound device", _proc("save")),
    Validation("pci_restore_state", "fzhost", "pci_restore_state() on the bound device", _proc("restore")),
    Validation("pci_reset_function", "sysfs",
               "reset_method (the method, or `default` for auto), then reset: pci_reset_function()",
               _reset_function),
    Validation("pci_reset_bus", "fzhost", "pci_reset_bus()", _proc("resetbus")),
    Validation("pci_bus_error_reset", "", "pci_bus_error_reset is not exported; only AER/DPC recovery calls it"),
    Validation("pcie_do_recovery", "fzhost + aer_inject",
               "fzhost's vote (error_detected's result; no_aer_driver: no err_handler), then aer_inject: "
               "an uncorrectable non-fatal (channel normal) or fatal (frozen) error from the device, "
               "wait for the AER driver's recovery to end; source=dpc is not validatable (QEMU 7.2's "
               "ports have no DPC capability), nor a device without AER", _recovery),
    Validation("pci_set_power_state", "fzhost", "pci_set_power_state(); d3cold ends in D3hot: QEMU "
               "has no platform power control, so the function is never powered off", _set_power),
    Validation("pci_pm_runtime_suspend", "sysfs", "power/control <- auto, then wait for runtime_status "
               "suspended: the PCI core's pci_pm_runtime_suspend with fzhost's (empty) callback; with "
               "vfio-pci bound (disable_idle_d3=1) the device never suspends",
               lambda a, bdf: [f"sysfs {SYSPCI}/{bdf}/power/control auto", f"waitrt {bdf} suspended"]),
    Validation("pci_pm_runtime_resume", "sysfs", "power/control <- on (pm_runtime_forbid resumes the "
               "device: pci_pm_runtime_resume), then wait for runtime_status active",
               lambda a, bdf: [f"sysfs {SYSPCI}/{bdf}/power/control on", f"waitrt {bdf} active"]),
    Validation("pci_assign_bar", "", "no kernel or userspace path moves an assigned BAR of a bound device"),
    Validation("pci_enable_msix", "fzhost", "pci_alloc_irq_vectors(1, nvec+1, MSI-X) + request_irq per vector",
               _enable_msix),
    Validation("pci_disable_msix", "fzhost", "free_irq per vector + pci_free_irq_vectors", _proc("nomsix")),
    Validation("pci_enable_msi", "fzhost", "pci_alloc_irq_vectors(1, MSI) + request_irq", _proc("msi")),
    Validation("pci_disable_msi", "fzhost", "free_irq + pci_free_irq_vectors", _proc("nomsi")),
    Validation("pci_enable_tph", "", _NO_CAP),
    Validation("pci_disable_tph", "", _NO_CAP),
    Validation("pci_enable_ats", "fzhost", "pci_enable_ats(12 + stu) on the bound device (the guest's "
               "virtio-rng has ATS; intel-iommu without device-iotlb leaves ATS to the driver)",
               lambda a, bdf: [f"proc ats {bdf} {a['stu']}"]),
    Validation("pci_disable_ats", "fzhost", "pci_disable_ats() on the bound device when ATS is on",
               _proc("noats")),
    Validation("pci_enable_pasid", "", _NO_CAP),
    Validation("pci_disable_pasid", "", _NO_CAP),
    Validation("pci_enable_pri", "", _NO_CAP),
    Validation("pci_disable_pri", "", _NO_CAP),
    Validation("pci_enable_ptm", "", _NO_CAP),
    Validation("pci_disable_ptm", "", _NO_CAP),
    Validation("pci_configure_ltr", "", "pci_configure_ltr is static and runs only at enumeration"),
    Validation("pci_enable_l1ss", "", _NO_CAP),
    Validation("pci_enable_sriov", "sysfs", "sriov_numvfs <- num_vfs+1: the bound PF driver's sriov_configure "
               "(vfio-pci's with enable_sriov=1; -ENOENT without one)",
               lambda a, bdf: [f"sysfs {SYSPCI}/{bdf}/sriov_numvfs {a['num_vfs'] + 1}"]),
    Validation("pci_disable_sriov", "sysfs", "sriov_numvfs <- 0: the bound PF driver's sriov_configure(0)",
               lambda a, bdf: [f"sysfs {SYSPCI}/{bdf}/sriov_numvfs 0"]),
    Validation("pci_resize_bar", "", _NO_CAP),
    Validation("pci_bind_driver", "sysfs", "unbind, driver_override (none: a name no driver has, host: "
               "fzhost, vfio: vfio-pci), drivers_probe; -EBUSY while the vfio client has it open", _bind),
    Validation("vfio_open", "vfio client", "container, group, VFIO_GROUP_GET_DEVICE_FD",
               lambda a, bdf: ["vfio_open"]),
    Validation("vfio_close", "vfio client", "close the device, group and container fds",
               lambda a, bdf: ["vfio_close"]),
    Validation("vfio_config_write", "vfio client", "pwrite into the config region", _vfio_cfgw),
    Validation("vfio_set_irqs", "vfio client", "VFIO_DEVICE_SET_IRQS: the enabled index off "
               "(DATA_NONE), then the new one with eventfds (MSI and MSI-X: count+1 vectors)", _vfio_irqs),
    Validation("vfio_device_reset", "vfio client", "VFIO_DEVICE_RESET", lambda a, bdf: ["vfio_reset"]),
    Validation("vfio_hot_reset", "vfio client", "VFIO_DEVICE_PCI_HOT_RESET with the device's group",
               lambda a, bdf: ["vfio_hotreset"]),
    Validation("vfio_bar_rw", "vfio client", "pread of 4 bytes at the BAR region's last dword "
               "(VFIO_DEVICE_GET_REGION_INFO; a region of size 0 at its offset: the kernel's -EINVAL); "
               "the return code is compared; access=write is not validatable (a write of the emulated "
               "device's last register dword has device-specific side effects in QEMU's models)",
               _vfio_bar),
    Validation("vfio_low_power", "vfio client", "VFIO_DEVICE_FEATURE (SET) with LOW_POWER_ENTRY, "
               "LOW_POWER_ENTRY_WITH_WAKEUP (a fresh eventfd) or LOW_POWER_EXIT",
               lambda a, bdf: [f"vfio_lowpower {a['action']}"]),
    Validation("qemu_pre_reset", "", _NO_QEMU),
    Validation("qemu_post_reset", "", _NO_QEMU),
    Validation("qemu_reset", "", _NO_QEMU),
    Validation("hw_link_down", "", _HW),
    Validation("hw_inaccessible", "", _HW),
    Validation("hw_accessible", "", _HW),
    Validation("pm_system_sleep", "fzguest + host (QMP)",
               "transition=s2idle, power=kept: \"freeze\" written to /sys/power/state (the whole "
               "guest suspends to idle: every device's prepare, suspend, suspend_late, suspend_noirq "
               "phases), then, once the console says \"PM: suspend-to-idle\", the host presses a key "
               "through QMP (the keyboard is the wakeup source) and the resume phases run; "
               "transition=hibernate_thaw: \"disk\" written to /sys/power/state (disk mode "
               "shutdown): every device frozen, the image made, every device thawed, then the image "
               "write fails (no swap in the guest); deep, hibernate_restore and s2idle with "
               "power=lost are not validatable (see the reasons per argument)",
               _system_sleep),
]

VALIDATION: dict[str, Validation] = {v.op: v for v in _ROWS if v.op in {op.name for op in OPS}}
for _op in OPS:   # an op added to the table later has no guest actor until one is written here
    VALIDATION.setdefault(_op.name, Validation(_op.name, "", "no guest actor written for this op yet"))


# pm_system_sleep arguments the guest cannot run as the model means them, and why (s2idle with
# power=kept and hibernate_thaw are validatable; hibernate_thaw never loses power, whatever the
# argument, in the model as in the guest).
SLEEP_NOT_VALIDATABLE = {
    "deep": "the guest survives S3 and QMP's system_wakeup wakes it, but QEMU 7.2 wakes an x86 "
            "machine through a machine reset (pc_machine_wakeup): every function, the ports above "
            "the device too, is back at its power-on values and the firmware runs before the "
            "kernel's resume, which neither power=kept nor power=lost (the function only) describes",
    "hibernate_restore": "hibernation needs a swap device to write its image to and a second boot "
                         "that restores it; the kit's guest has neither",
    "power=lost": "suspend-to-idle removes no power: QEMU keeps every function powered, so the "
                  "guest cannot make the platform lose the function's power",
}


class NotValidatable(ValueError):
    pass


def call_validatable(call) -> str:
    """'' when the call can run in the guest, else why not."""
    row = VALIDATION[call.name]
    if not row.validatable:
        return row.how
    args = dict(call.args)
    if call.name == "pcie_do_recovery" and args["source"] == "dpc":
        return "source=dpc: QEMU 7.2's root and downstream ports have no DPC capability, no DPC event"
    if call.name == "pm_system_sleep":
        power = f"power={args['power']}" if args["transition"] != "hibernate_thaw" else ""
        for arg in (args["transition"], power):
            if arg in SLEEP_NOT_VALIDATABLE:
                return f"{arg}: {SLEEP_NOT_VALIDATABLE[arg]}"
    if call.name == "vfio_bar_rw" and args["access"] != "read":
        return ("access=write: a write of the emulated device's last register dword has device-specific "
                "side effects in QEMU 7.2's e1000e and nvme models, which the model does not have")
    return ""


def device_validatable(call, has_aer: bool) -> str:
    """'' when the call can run on a guest device with (or without) an AER capability."""
    why = call_validatable(call)
    if not why and call.name == "pcie_do_recovery" and not has_aer:
        why = "the device has no AER capability: aer_inject cannot inject an error from it"
    return why


def guest_commands(call, bdf: str, has_aer: bool = True) -> list[str]:
    why = device_validatable(call, has_aer)
    if why:
        raise NotValidatable(f"{call.name}: not validatable: {why}")
    return VALIDATION[call.name].commands(dict(call.args), bdf)


def validatable_ops() -> list[str]:
    return [name for name, v in VALIDATION.items() if v.validatable]
