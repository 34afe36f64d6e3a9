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
    """__pci_restore_msix_state: the policy path pci_restore_msix_state (INTx off, Enable with
    Mask All, each entry's message and Vector Control, Mask All cleared; 231c7a57d193's Memory
    bracket around the entries is two steps the msix_restore.force_memory switch inserts)."""
    from .paths import run_path
    run_path(m, "pci_restore_msix_state")


def msix_restorable(m) -> bool:
    """if (!dev->msix_enabled) return (and the function has an MSI-X capability)."""
    return bool(m.state.dev.msix_enabled and m.caps.msix)


def msix_ctrl(m, value: str) -> None:
    """pci_msix_clear_and_set_ctrl: "enable_maskall" sets Enable and Mask All, "clear_maskall"
    clears Mask All, "disable_maskall" clears both, "disable" clears Enable."""
    if value == "enable_maskall":
        msix_clear_and_set_ctrl(m, 0, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)
    elif value == "clear_maskall":
        msix_clear_and_set_ctrl(m, PCI_MSIX_FLAGS_MASKALL, 0)
    elif value == "disable_maskall":
        msix_clear_and_set_ctrl(m, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE, 0)
    else:
        msix_clear_and_set_ctrl(m, PCI_MSIX_FLAGS_ENABLE, 0)


def msix_memory(m, state: str) -> None:
    """231c7a57d193's bracket: "on" reads Command and writes it with Memory set; "back" writes the
    value read back (nothing if "on" did not run in this restore)."""
    if state == "on":
        m.msix_saved_cmd = m.io.read(PCI_COMMAND, 2)
        m.io.write(PCI_COMMAND, 2, m.msix_saved_cmd | PCI_COMMAND_MEMORY)
    elif m.msix_saved_cmd is not None:
        m.io.write(PCI_COMMAND, 2, m.msix_saved_cmd)
        m.msix_saved_cmd = None


def msix_restore_entries(m) -> None:
    """For each entry: the cached message (pci_write_msg_msix, D0 and connected only), then the
    cached Vector Control."""
    dev = m.state.dev
    write_msg = _message_writes_allowed(m)
    for i, desc in enumerate(dev.msix_descs):
        if write_msg:
            _write_msg_msix(m, i, desc)
        _write_vector_ctrl(m, i, desc.ctrl)


def _mask_pos(off: int, is64: bool) -> int:
    return off + (0x10 if is64 else 0x0C)


def _write_msg_msi(m, off: int, is64: bool, msg: tuple) -> None:
    """pci_write_msg_msi (via __pci_write_msi_msg, D0 only): Message Control with Multiple
    Message Enable (one vector: 0), the address, the data, then a read to flush."""
    lo, hi, data = msg
    c = m.io.read(off + PCI_MSI_FLAGS, 2)
    m.io.write(off + PCI_MSI_FLAGS, 2, c & ~PCI_MSI_FLAGS_QSIZE)
    m.io.write(off + 0x04, 4, lo)
    if is64:
        m.io.write(off + 0x08, 4, hi)
        m.io.write(off + 0x0C, 2, data)
    else:
        m.io.write(off + 0x08, 2, data)
    m.io.read_checked(off + PCI_MSI_FLAGS, 2)     # the flush: its value is discarded


def pci_msi_set_enable(m, off: int, enable: bool) -> None:
    """pci_msi_set_enable: read-modify-write of MSI Enable, always written."""
    ctrl = m.io.read(off + PCI_MSI_FLAGS, 2) & ~PCI_MSI_FLAGS_ENABLE
    m.io.write(off + PCI_MSI_FLAGS, 2, ctrl | (PCI_MSI_FLAGS_ENABLE if enable else 0))


def restore_msi(m) -> None:
    """__pci_restore_msi_state: the policy path pci_restore_msi_state (INTx off, Enable off, the
    message in D0 only, the mask bits, Enable on)."""
    from .paths import run_path
    run_path(m, "pci_restore_msi_state")


def msi_restorable(m) -> bool:
    """if (!dev->msi_enabled) return (and the function has an MSI capability)."""
    return bool(m.state.dev.msi_enabled and m.caps.msi)


def _msi_flags(m) -> int:
    """The capability's read-only facts the descriptor caches (msi_attrib.is_64, can_mask)."""
    return m.state.hw.read(m.caps.msi + PCI_MSI_FLAGS, 2)


def msi_ctrl(m, value: str) -> None:
    """"disable": pci_msi_set_enable(dev, 0); "set_enable": pci_msi_set_enable(dev, 1); "enable":
    Message Control read, QSIZE from the descriptor (one vector: 0), Enable set, written."""
    off = m.caps.msi + PCI_MSI_FLAGS
    ctrl = m.io.read(off, 2)
    if value == "disable":
        m.io.write(off, 2, ctrl & ~PCI_MSI_FLAGS_ENABLE)
    elif value == "set_enable":
        m.io.write(off, 2, ctrl | PCI_MSI_FLAGS_ENABLE)
    else:
        m.io.write(off, 2, (ctrl & ~PCI_MSI_FLAGS_QSIZE) | PCI_MSI_FLAGS_ENABLE)


def msi_write_message(m) -> None:
    """__pci_write_msi_msg: the cached message, in D0 and connected only."""
    if _message_writes_allowed(m):
        _write_msg_msi(m, m.caps.msi, bool(_msi_flags(m) & PCI_MSI_FLAGS_64BIT), m.state.dev.msi_msg)


def msi_update_mask(m) -> None:
    """pci_msi_update_mask(entry, 0, 0): the cached mask, when the function can mask."""
    flags = _msi_flags(m)
    if flags & PCI_MSI_FLAGS_MASKBIT:
        m.io.write(_mask_pos(m.caps.msi, bool(flags & PCI_MSI_FLAGS_64BIT)), 4, m.state.dev.msi_mask)


def msix_capability_init(m, nvec: int, request: bool = True) -> int:
    """msix_capability_init (§4.4): -EINVAL when MSI or MSI-X is already on, else the policy path
    of that name (its result: 0, or -ENOMEM when msix_map_region finds no resource); with
    `request`, then the driver's request_irq of every vector (msix_request_irq). The caller must
    have Memory decode on."""
    from .paths import run_path
    dev = m.state.dev
    if not m.caps.msix or dev.msix_enabled or dev.msi_enabled:
        return -22
    rc = run_path(m, "msix_capability_init", min(nvec, m.profile.msix.entries))
    if rc == 0 and request:
        for i in range(len(dev.msix_descs)):
            msix_request_irq(m, i)
    return rc


def msix_map_region(m) -> int:
    """Path primitive msix_map_region: msix_enabled = 1, Message Control (tsize) and the Table
    Offset/BIR read now; -ENOMEM with msix_enabled cleared when the BIR names no assigned resource
    (BIR 6 and 7, the ROM and the first SR-IOV resource, are not held by the model)."""
    from .vfio import resource_kind
    dev = m.state.dev
    dev.msix_enabled = True
    m.io.read(m.caps.msix + PCI_MSIX_FLAGS, 2)                 # tsize = msix_table_size(control)
    bir = m.io.read(m.caps.msix + 4, 4) & 0x7                  # PCI_MSIX_TABLE's BIR
    if bir > 5 or not resource_kind(m, bir):
        dev.msix_enabled = False                               # out_disable
        return -12
    return 0


def msix_setup_interrupts(m, nvec: int) -> None:
    """Path primitive msix_setup_interrupts: a descriptor per vector, each entry's Vector Control
    read; the IRQ core programs and unmasks a vector when it is requested."""
    dev = m.state.dev
    dev.msix_descs = []
    for i in range(nvec):
        base = m.profile.msix.table_offset + PCI_MSIX_ENTRY_SIZE * i
        m.io.msix_read(base + PCI_MSIX_ENTRY_VECTOR_CTRL, "MSI-X table")
        # address per CPU, data per vector
        dev.msix_descs.append(MsixDesc(0xFEE00000 | (i << 12), 0, 0x4020 + i, 0))


def msix_mask_all(m) -> None:
    """Path primitive msix_mask_all: every table entry's Vector Control written masked."""
    for i in range(m.profile.msix.entries):
        _write_vector_ctrl(m, i, PCI_MSIX_ENTRY_CTRL_MASKBIT)


def msix_request_irq(m, i: int) -> None:
    """request_irq of MSI-X vector i: the policy path msix_request_irq (the message written while
    masked, then unmasked)."""
    from .paths import run_path
    run_path(m, "msix_request_irq", i)


def msix_free_irq(m, i: int) -> None:
    """free_irq of MSI-X vector i: the policy path msix_free_irq (masked, a zeroed message in D0)."""
    from .paths import run_path
    run_path(m, "msix_free_irq", i)


def msix_vector(m, i: int, op: str) -> None:
    """Path primitive msix_vector: vector i's cached state or table entry."""
    desc = m.state.dev.msix_descs[i]
    if op == "cache_masked":
        desc.ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT
    elif op == "write_message":
        _write_msg_msix(m, i, desc)
    elif op in ("mask", "unmask"):
        if op == "mask":
            desc.ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT
        else:
            desc.ctrl &= ~PCI_MSIX_ENTRY_CTRL_MASKBIT
        _write_vector_ctrl(m, i, desc.ctrl)
    else:                                                   # clear_message
        desc.addr_lo = desc.addr_hi = desc.data = 0


def pci_msix_shutdown(m) -> None:
    """pci_msix_shutdown: nothing unless msix_enabled, else the policy path of that name (a
    disconnected function only forgets it; else each vector masked, Enable cleared, INTx back on,
    msix_enabled cleared)."""
    from .paths import run_path
    if m.state.dev.msix_enabled:
        run_path(m, "pci_msix_shutdown")


def msix_mask_vectors(m) -> None:
    """Path primitive msix_mask_vectors: pci_msix_mask of each allocated vector."""
    for i, desc in enumerate(m.state.dev.msix_descs):
        desc.ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT
        _write_vector_ctrl(m, i, desc.ctrl)


def msix_forget(m) -> None:
    """Path primitive msix_forget: msix_enabled cleared and the descriptors freed."""
    m.state.dev.msix_enabled = False
    m.state.dev.msix_descs = []


def msi_capability_init(m, request: bool = True) -> bool:
    """msi_capability_init (§4.4): nothing when MSI or MSI-X is already on, else the policy path
    of that name (Enable off, the descriptor, the vector masked, the message in D0 only, INTx off,
    Enable on); with `request`, then the driver's request_irq (msi_request_irq)."""
    from .paths import run_path
    dev = m.state.dev
    if not m.caps.msi or dev.msi_enabled or dev.msix_enabled:
        return False
    run_path(m, "msi_capability_init")
    if request:
        msi_request_irq(m)
    return True


def msi_setup(m) -> None:
    """Path primitive msi_setup: the one vector's descriptor (msi_enabled, the composed message,
    the cached mask 0)."""
    dev = m.state.dev
    dev.msi_enabled = True
    dev.msi_msg = (0xFEE00000, 0, 0x4030)
    dev.msi_mask = 0


def _msi_update_mask(m, mask: int) -> None:
    """pci_msi_update_mask: the Mask Bits register, written only with Per-Vector Masking."""
    off = m.caps.msi
    ctrl = m.io.read(off + PCI_MSI_FLAGS, 2)
    if ctrl & PCI_MSI_FLAGS_MASKBIT:
        m.state.dev.msi_mask = mask
        m.io.write(_mask_pos(off, bool(ctrl & PCI_MSI_FLAGS_64BIT)), 4, mask)


def msi_request_irq(m) -> None:
    """request_irq of the MSI vector: the policy path msi_request_irq (unmasked)."""
    from .paths import run_path
    run_path(m, "msi_request_irq")


def msi_free_irq(m) -> None:
    """free_irq of the MSI vector: the policy path msi_free_irq (masked, a zeroed message in D0)."""
    from .paths import run_path
    run_path(m, "msi_free_irq")


def pci_msi_shutdown(m) -> None:
    """pci_msi_shutdown: nothing unless msi_enabled, else the policy path of that name (Enable off,
    INTx back on, msi_enabled cleared, the vector unmasked)."""
    from .paths import run_path
    if m.state.dev.msi_enabled:
        run_path(m, "pci_msi_shutdown")
