"""MSI and MSI-X (drivers/pci/msi/msi.c, kernel.md §4): restore, enable and shutdown.

MSI lives entirely in config space; the MSI-X table lives in MMIO behind a BAR, so its writes go
through Access.msix_write, which reports an Unsupported Request when the device cannot decode."""

from __future__ import annotations

from .access import PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_MEMORY
from .state import D0, MsixDesc

PCI_MSIX_FLAGS = 0x02
PCI_MSIX_FLAGS_ENABLE = 0x8000
PCI_MSIX_FLAGS_MASKALL = 0x4000
PCI_MSIX_ENTRY_SIZE = 16
PCI_MSIX_ENTRY_DATA = 0x8
PCI_MSIX_ENTRY_VECTOR_CTRL = 0xC
PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x1
PCI_MSI_FLAGS = 0x02
PCI_MSI_FLAGS_ENABLE = 0x1
PCI_MSI_FLAGS_QSIZE = 0x70
PCI_MSI_FLAGS_64BIT = 0x80
PCI_MSI_FLAGS_MASKBIT = 0x100


def pci_intx_for_msi(m, enable: bool) -> None:
    """pci_intx(dev, 0) via pci_intx_for_msi: set INTx Disable; write only if it changes."""
    cmd = m.io.read(PCI_COMMAND, 2)
    new = cmd & ~PCI_COMMAND_INTX_DISABLE if enable else cmd | PCI_COMMAND_INTX_DISABLE
    if new != cmd:
        m.io.write(PCI_COMMAND, 2, new)


def msix_clear_and_set_ctrl(m, clear: int, set_: int) -> None:
    """pci_msix_clear_and_set_ctrl: read-modify-write of MSI-X Message Control."""
    off = m.caps.msix + PCI_MSIX_FLAGS
    ctrl = m.io.read(off, 2)
    m.io.write(off, 2, (ctrl & ~clear) | set_)


def _write_msg_msix(m, index: int, desc: MsixDesc) -> None:
    """pci_write_msg_msix: mask if unmasked, address/data, unmask, flush read of Data."""
    base = m.profile.msix.table_offset + PCI_MSIX_ENTRY_SIZE * index
    unmasked = not desc.ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT
    what = "MSI-X table"
    if unmasked:
        m.io.msix_write(base + PCI_MSIX_ENTRY_VECTOR_CTRL, desc.ctrl | PCI_MSIX_ENTRY_CTRL_MASKBIT, what)
    m.io.msix_write(base + 0x0, desc.addr_lo, what)
    m.io.msix_write(base + 0x4, desc.addr_hi, what)
    m.io.msix_write(base + PCI_MSIX_ENTRY_DATA, desc.data, what)
    if unmasked:
        m.io.msix_write(base + PCI_MSIX_ENTRY_VECTOR_CTRL, desc.ctrl, what)
    m.io.msix_read(base + PCI_MSIX_ENTRY_DATA, what)


def _write_vector_ctrl(m, index: int, ctrl: int) -> None:
    """pci_msix_write_vector_ctrl: MMIO write of Vector Control (descriptors here can mask)."""
    base = m.profile.msix.table_offset + PCI_MSIX_ENTRY_SIZE * index
    m.io.msix_write(base + PCI_MSIX_ENTRY_VECTOR_CTRL, ctrl, "MSI-X table")


def _message_writes_allowed(m) -> bool:
    """__pci_write_msi_msg touches hardware only in D0 and when not disconnected."""
    dev = m.state.dev
    return dev.current_state == D0 and dev.error_state != "perm_failure"


def restore_msix(m) -> None:
    """__pci_restore_msix_state (+ the optional Memory-enable fix of §4.3, policy switch
    msix_restore.force_memory)."""
    dev = m.state.dev
    if not dev.msix_enabled or not m.caps.msix:
        return
    pci_intx_for_msi(m, False)
    msix_clear_and_set_ctrl(m, 0, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)
    force = m.policy.switch("msix_restore.force_memory")
    write_msg = _message_writes_allowed(m)
    saved_cmd = None
    if force == "always" or (force == "when_writing_messages" and write_msg):
        saved_cmd = m.io.read(PCI_COMMAND, 2)
        m.io.write(PCI_COMMAND, 2, saved_cmd | PCI_COMMAND_MEMORY)
    for i, desc in enumerate(dev.msix_descs):
        if write_msg:
            _write_msg_msix(m, i, desc)
        _write_vector_ctrl(m, i, desc.ctrl)
    if saved_cmd is not None:
        m.io.write(PCI_COMMAND, 2, saved_cmd)
    msix_clear_and_set_ctrl(m, PCI_MSIX_FLAGS_MASKALL, 0)


def restore_msi(m) -> None:
    """__pci_restore_msi_state: INTx off, Enable off, message (D0 only), mask bits, Enable on."""
    dev = m.state.dev
    off = m.caps.msi
    if not dev.msi_enabled or not off:
        return
    pci_intx_for_msi(m, False)
    ctrl = m.io.read(off + PCI_MSI_FLAGS, 2)
    m.io.write(off + PCI_MSI_FLAGS, 2, ctrl & ~PCI_MSI_FLAGS_ENABLE)
    is64 = bool(ctrl & PCI_MSI_FLAGS_64BIT)
    if _message_writes_allowed(m):
        lo, hi, data = dev.msi_msg
        c = m.io.read(off + PCI_MSI_FLAGS, 2)
        m.io.write(off + PCI_MSI_FLAGS, 2, c & ~PCI_MSI_FLAGS_QSIZE)
        m.io.write(off + 0x04, 4, lo)
        if is64:
            m.io.write(off + 0x08, 4, hi)
            m.io.write(off + 0x0C, 2, data)
        else:
            m.io.write(off + 0x08, 2, data)
        m.io.read(off + PCI_MSI_FLAGS, 2)
    ctrl = m.io.read(off + PCI_MSI_FLAGS, 2)
    if ctrl & PCI_MSI_FLAGS_MASKBIT:
        m.io.write(off + (0x10 if is64 else 0x0C), 4, dev.msi_mask)
    m.io.write(off + PCI_MSI_FLAGS, 2, (ctrl & ~PCI_MSI_FLAGS_QSIZE) | PCI_MSI_FLAGS_ENABLE)


def msix_capability_init(m, nvec: int) -> bool:
    """msix_capability_init (§4.4): Enable+MaskAll, msix_enabled=1, descriptors from the table,
    INTx off, mask every entry, clear MaskAll. The caller must have Memory decode on."""
    dev = m.state.dev
    if not m.caps.msix or dev.msix_enabled or dev.msi_enabled:
        return False
    nvec = min(nvec, m.profile.msix.entries)
    msix_clear_and_set_ctrl(m, 0, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)
    dev.msix_enabled = True
    dev.msix_descs = []
    for i in range(nvec):
        base = m.profile.msix.table_offset + PCI_MSIX_ENTRY_SIZE * i
        ctrl = m.io.msix_read(base + PCI_MSIX_ENTRY_VECTOR_CTRL, "MSI-X table")
        # The IRQ core then programs and unmasks the vector: address per CPU, data per vector.
        dev.msix_descs.append(MsixDesc(0xFEE00000 | (i << 12), 0, 0x4020 + i, 0))
    pci_intx_for_msi(m, False)
    for i in range(m.profile.msix.entries):
        _write_vector_ctrl(m, i, PCI_MSIX_ENTRY_CTRL_MASKBIT)
    msix_clear_and_set_ctrl(m, PCI_MSIX_FLAGS_MASKALL, 0)
    # request_irq: write each message, unmask.
    for i, desc in enumerate(dev.msix_descs):
        desc.ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT
        _write_msg_msix(m, i, desc)
        desc.ctrl = 0
        _write_vector_ctrl(m, i, 0)
    return True


def pci_msix_shutdown(m) -> None:
    """pci_msix_shutdown: mask each descriptor, clear Enable, INTx back on, msix_enabled=0.
    On a disconnected device (pci_dev_is_disconnected: error_state perm_failure) it only clears
    msix_enabled and touches no register."""
    dev = m.state.dev
    if not dev.msix_enabled:
        return
    if dev.error_state == "perm_failure":
        dev.msix_enabled = False
        dev.msix_descs = []
        return
    for i, desc in enumerate(dev.msix_descs):
        desc.ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT
        _write_vector_ctrl(m, i, desc.ctrl)
    msix_clear_and_set_ctrl(m, PCI_MSIX_FLAGS_ENABLE, 0)
    pci_intx_for_msi(m, True)
    dev.msix_enabled = False
    dev.msix_descs = []


def msi_capability_init(m) -> bool:
    """msi_capability_init: one vector, message written, Enable set, INTx off."""
    dev = m.state.dev
    off = m.caps.msi
    if not off or dev.msi_enabled or dev.msix_enabled:
        return False
    dev.msi_enabled = True
    dev.msi_msg = (0xFEE00000, 0, 0x4030)
    dev.msi_mask = 0
    ctrl = m.io.read(off + PCI_MSI_FLAGS, 2)
    m.io.write(off + 0x04, 4, dev.msi_msg[0])
    if ctrl & PCI_MSI_FLAGS_64BIT:
        m.io.write(off + 0x08, 4, 0)
        m.io.write(off + 0x0C, 2, dev.msi_msg[2])
    else:
        m.io.write(off + 0x08, 2, dev.msi_msg[2])
    pci_intx_for_msi(m, False)
    m.io.write(off + PCI_MSI_FLAGS, 2, (ctrl & ~PCI_MSI_FLAGS_QSIZE) | PCI_MSI_FLAGS_ENABLE)
    return True


def pci_msi_shutdown(m) -> None:
    """pci_msi_shutdown: Enable off, INTx back on, msi_enabled=0."""
    dev = m.state.dev
    if not dev.msi_enabled:
        return
    off = m.caps.msi
    ctrl = m.io.read(off + PCI_MSI_FLAGS, 2)
    m.io.write(off + PCI_MSI_FLAGS, 2, ctrl & ~PCI_MSI_FLAGS_ENABLE)
    pci_intx_for_msi(m, True)
    dev.msi_enabled = False
