"""QEMU's vfio-pci reset handler (hw/vfio/pci.c, kernel.md §6.8): the policy paths qemu_pre_reset,
qemu_post_reset and qemu_reset (fuzzcore/model/paths.py runs them), and the primitives only they use."""

from __future__ import annotations

from . import vfio
from .access import PCI_COMMAND, PCI_COMMAND_INTX_DISABLE
from .paths import run_path


def guest_view_command(m) -> int:
    """A Command read through vfio: hardware bits with vconfig's INTx Disable."""
    v = m.state.vfio
    hw = m.io.read_checked(PCI_COMMAND, 2)    # QEMU's read: a vfio user's, not the kernel's
    return (hw & ~PCI_COMMAND_INTX_DISABLE) | (v.vconfig_command & PCI_COMMAND_INTX_DISABLE)


def to_d0(m) -> None:
    """vfio_pci_pre_reset: PMCSR PowerState to D0 through the config region, if it is not. QEMU's
    pm_cap is what its realize found walking the chain vfio showed at open: none when the
    function did not answer then (vfio_perm.build(answering=False))."""
    pm = 0 if m.state.vfio.map_silent else m.caps.pm
    if pm and m.io.read_checked(pm + 4, 2) & 0x3:       # QEMU's reads (a vfio user's)
        vfio.vfio_config_write(m, pm + 4, 2, m.io.read_checked(pm + 4, 2) & ~0x3)


def zero_bars(m) -> None:
    """vfio_pci_post_reset: the six BARs written 0 through the config region."""
    for i in range(6):
        vfio.vfio_config_write(m, 0x10 + 4 * i, 4, 0)


def pick_reset(m) -> None:
    """vfio_pci_reset's choice: the policy path qemu_pick_reset (VFIO_DEVICE_RESET with FLR or
    without a PM reset, else or on failure a hot reset, then a PM reset)."""
    run_path(m, "qemu_pick_reset")


def qemu_pre_reset(m) -> int:
    """vfio_pci_pre_reset: -ENODEV unless open, else the policy path (interrupts off, Command
    bits cleared, D0)."""
    if not m.state.vfio.open:
        return -19
    run_path(m, "qemu_pre_reset")
    m.state.vfio.qemu_resetting = True     # until vfio_pci_post_reset (the op table's qemu fact)
    return 0


def qemu_post_reset(m) -> int:
    """vfio_pci_post_reset: -ENODEV unless open, else the policy path (INTx re-armed, BARs zeroed)."""
    if not m.state.vfio.open:
        return -19
    run_path(m, "qemu_post_reset")
    m.state.vfio.qemu_resetting = False
    return 0


def qemu_reset(m) -> int:
    """vfio_pci_reset: -ENODEV unless open, else the policy path (pre-reset, the reset QEMU
    picks, post-reset)."""
    if not m.state.vfio.open:
        return -19
    run_path(m, "qemu_reset")
    return 0
