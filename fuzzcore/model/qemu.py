"""QEMU's vfio-pci reset handler (hw/vfio/pci.c, kernel.md §6.8)."""

from __future__ import annotations

from . import vfio
from .access import PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY

CLEAR_BITS = {"io": PCI_COMMAND_IO, "memory": PCI_COMMAND_MEMORY, "bus_master": PCI_COMMAND_MASTER,
              "intx_disable": PCI_COMMAND_INTX_DISABLE}


def _guest_view_command(m) -> int:
    """A Command read through vfio: hardware bits with vconfig's INTx Disable."""
    v = m.state.vfio
    hw = m.io.read(PCI_COMMAND, 2)
    return (hw & ~PCI_COMMAND_INTX_DISABLE) | (v.vconfig_command & PCI_COMMAND_INTX_DISABLE)


def _clear_command(m) -> None:
    cmd = _guest_view_command(m)
    for name in m.policy.switch("qemu.pre_reset_clears"):
        cmd &= ~CLEAR_BITS[name]
    vfio.vfio_config_write(m, PCI_COMMAND, 2, cmd)


def _to_d0(m) -> None:
    pm = m.caps.pm
    if pm and m.io.read(pm + 4, 2) & 0x3:
        vfio.vfio_config_write(m, pm + 4, 2, m.io.read(pm + 4, 2) & ~0x3)


def qemu_pre_reset(m) -> int:
    """vfio_pci_pre_reset: interrupts off (SET_IRQS), Command cleared, D0 (order per policy)."""
    if not m.state.vfio.open:
        return -19
    with m.in_step("vfio_pci_pre_reset"):
        vfio.vfio_set_irqs(m, "none", 0)
        if m.policy.switch("qemu.pre_reset_order") == "clear_then_d0":
            _clear_command(m)
            _to_d0(m)
        else:
            _to_d0(m)
            _clear_command(m)
    return 0


def qemu_post_reset(m) -> int:
    """vfio_pci_post_reset: INTx re-armed, the six BARs zeroed through the config region."""
    if not m.state.vfio.open:
        return -19
    with m.in_step("vfio_pci_post_reset"):
        if m.state.hw.read(0x3D, 1):
            vfio.vfio_set_irqs(m, "intx", 0)
        for i in range(6):
            vfio.vfio_config_write(m, 0x10 + 4 * i, 4, 0)
    return 0


def qemu_reset(m) -> int:
    """vfio_pci_reset: pre-reset; VFIO_DEVICE_RESET if it works with FLR or without a PM reset;
    else a hot reset; else a PM reset; then post-reset."""
    from .reset import method_available
    v = m.state.vfio
    if not v.open:
        return -19
    qemu_pre_reset(m)
    with m.in_step("vfio_pci_reset"):
        has_flr = method_available(m, "flr")
        has_pm = method_available(m, "pm")
        if v.reset_works and (has_flr or not has_pm):
            vfio.vfio_device_reset(m)
        elif m.state.port is not None:
            vfio.vfio_hot_reset(m)
        elif v.reset_works and has_pm:
            vfio.vfio_device_reset(m)
    qemu_post_reset(m)
    return 0
