"""Features a driver or the PCI core enables at run time (drivers/pci/rebar.c, probe.c), the two
PTM primitives, and BAR re-assignment. Each sets the kernel's live flag and the hardware enable
bit, as the upstream function does. (TPH, ATS, PASID, PRI, SR-IOV, ASPM and PTM are policy
paths: [path.pcie_enable_tph], [path.pci_enable_ats], [path.pci_enable_sriov],
[path.pcie_aspm_set_policy] and the rest, fuzzcore/model/paths.py.)"""

from __future__ import annotations

from . import msi
from .access import PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY
from .power import pci_update_bar

def pci_suspend_ptm(m) -> None:
    """The primitive suspend_ptm (the baseline calls [path.pci_suspend_ptm] instead): PTM Enable
    cleared in hardware before the suspend save; the count kept."""
    if m.caps.ptm and m.state.dev.ptm_enable_cnt:
        m.io.write(m.caps.ptm + 8, 4, m.io.read(m.caps.ptm + 8, 4) & ~0x1)
        m.state.dev.ptm_suspended = True     # what the kernel means to be off until pci_resume_ptm


def pci_resume_ptm(m) -> None:
    """The primitive resume_ptm (the baseline calls [path.pci_resume_ptm] instead): PTM Enable set
    again if the count says it is on."""
    m.state.dev.ptm_suspended = False
    if m.caps.ptm and m.state.dev.ptm_enable_cnt:
        m.io.write(m.caps.ptm + 8, 4, m.io.read(m.caps.ptm + 8, 4) | 0x1)


def command_set(m, bits: int) -> None:
    """pci_enable_resources' Command update: read, OR in the decode bits, written only if it
    changed (paths primitive command_set)."""
    cmd = m.io.read(PCI_COMMAND, 2)
    if cmd | bits != cmd:
        m.io.write(PCI_COMMAND, 2, cmd | bits)


def pci_resize_bar(m, size: int) -> int:
    """A driver's resize of the first resizable BAR: the policy path pci_resize_resource."""
    from .paths import run_path
    return run_path(m, "pci_resize_resource", size)


def rebar_resize(m, size: int) -> int:
    """The paths primitive rebar_resize: the BAR the capability's first entry describes (the one
    the driver asks for, read at probe), found by index in ReBAR Control (pci_rebar_find_pos:
    -ENOENT when it does not match, as an all-ones read does not); the sizes it supports
    (-EINVAL without one; `size` picks among them); BAR Size written (pci_rebar_set_size); the
    resource resized at an aligned address (pci_resize_resource_set_size)."""
    off = m.caps.rebar
    bar = m.profile.config[off + 8] & 0x7
    ctrl = m.io.read(off + 8, 4)
    if ctrl & 0x7 != bar or bar > 5:
        return -2
    supported = m.io.read(off + 4, 4) >> 4
    sizes = [i for i in range(28) if supported & (1 << i)]
    if not sizes:
        return -22
    enc = sizes[size % len(sizes)]
    m.io.write(off + 8, 4, (ctrl & ~0x1F00) | (enc << 8))
    dev = m.state.dev
    dev.resource_sizes[bar] = 1 << (20 + enc)
    dev.resources[bar] &= ~(dev.resource_sizes[bar] - 1)
    return 0


def pci_assign_bar(m, bar: int, slot: int) -> int:
    """pci_assign_resource + pci_update_resource: the policy path pci_assign_resource (the BAR's
    resource moves to another aligned address, slot 0 being the enumeration address)."""
    from .paths import run_path
    return run_path(m, "pci_assign_resource", bar | slot << 8)


def pci_enable_msix(m, nvec: int) -> int:
    """A host driver's pci_alloc_irq_vectors(MSI-X): needs Memory decode (pci_enable_device)."""
    if m.state.dev.driver != "host":
        return -22
    return msi.msix_capability_init(m, nvec + 1)


def pci_disable_msix(m) -> int:
    if m.state.dev.driver != "host":
        return -22
    # The driver's free_irq of each vector, then pci_free_irq_vectors.
    for i in range(len(m.state.dev.msix_descs) if m.state.dev.msix_enabled else 0):
        msi.msix_free_irq(m, i)
    msi.pci_msix_shutdown(m)
    return 0


def pci_enable_msi(m) -> int:
    if m.state.dev.driver != "host":
        return -22
    return 0 if msi.msi_capability_init(m) else -22


def pci_disable_msi(m) -> int:
    if m.state.dev.driver != "host":
        return -22
    msi.msi_free_irq(m)   # the driver's free_irq, then pci_free_irq_vectors
    msi.pci_msi_shutdown(m)
    return 0


def pci_enable_device(m) -> None:
    """pci_enable_device_flags: current_state refreshed from PMCSR (pci_update_current_state: the
    state is unknown after a driver's removal); nothing more when already enabled; else D0,
    Command I/O and Memory for the assigned BAR kinds, INTx Disable cleared when there is a pin
    and no MSI (do_pci_enable_device)."""
    from .paths import pmcsr_state
    from .power import pci_set_power_state
    dev = m.state.dev
    dev.current_state = pmcsr_state(m, dev.current_state)   # pci_update_current_state(dev, dev->current_state)
    dev.enable_cnt += 1
    if dev.enable_cnt > 1:
        return                                  # "already enabled"
    pci_enable_bridge(m)
    pci_set_power_state(m, 0)
    from .paths import run_path
    run_path(m, "pcie_aspm_powersave_config_link")   # do_pci_enable_device, on the bridge above
    cmd = m.io.read(PCI_COMMAND, 2)
    decode = _decode_bits(m)
    new = cmd | decode
    if m.state.hw.read(0x3D, 1) and not (dev.msi_enabled or dev.msix_enabled):
        new &= ~0x400
    if new != cmd:
        m.io.write(PCI_COMMAND, 2, new)
    m.oracle.note_meant(0, decode, True)     # intent.W_COMMAND: the decode it enabled, written or not


def _decode_bits(m) -> int:
    """The Command decode bits pci_enable_resources turns on for the device's BARs and ROM."""
    bits = 0
    for b in m.profile.bars:
        bits |= {"io": 0x1, "mem32": 0x2, "mem64": 0x2}.get(b.kind, 0)
    return bits | (0x2 if m.profile.rom_size else 0)


def pci_enable_bridge(m) -> None:
    """pci_enable_bridge (drivers/pci/pci.c), from the first pci_enable_device below the port
    (pci_enable_device_flags): the port, enabled by portdrv, becomes bus master unless the kernel
    already has it so (pci_set_master: Command written only if Bus Master is clear). The ports
    above it get the same; the model has only this one."""
    port = m.state.port
    if port is None or port.dev.is_busmaster:
        return
    cmd = m.io.read(PCI_COMMAND, 2, "port")
    if not cmd & PCI_COMMAND_MASTER:
        m.io.write(PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER, "port")
    port.dev.is_busmaster = True


def pci_disable_device(m) -> None:
    """pci_disable_device: Bus Master cleared when the last enable goes."""
    dev = m.state.dev
    if dev.enable_cnt:
        dev.enable_cnt -= 1
    if dev.enable_cnt == 0:
        pci_clear_master(m)


def pci_set_master(m) -> None:
    cmd = m.io.read(PCI_COMMAND, 2)
    if not cmd & PCI_COMMAND_MASTER:
        m.io.write(PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER)
    m.state.dev.is_busmaster = True
    m.oracle.note_meant(0, PCI_COMMAND_MASTER, True)   # intent.W_COMMAND, written or not


def pci_clear_master(m) -> None:
    cmd = m.io.read(PCI_COMMAND, 2)
    if cmd & PCI_COMMAND_MASTER:
        m.io.write(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER)
    m.state.dev.is_busmaster = False
    m.oracle.note_meant(0, PCI_COMMAND_MASTER, False)
