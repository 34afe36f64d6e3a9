# MSI and MSI-X (drivers/pci/msi/msi.c, kernel.md §4): restore, enable and shutdown; mirrors
# fuzzcore/model/msi.py. MSI lives in config space; the MSI-X table lives in MMIO behind a BAR,
# so its writes go through msix_write, which reports an Unsupported Request when the device
# cannot decode.

cdef enum:
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


cdef void pci_intx_for_msi(Machine *m, bint enable) noexcept nogil:
    """pci_intx(dev, 0) via pci_intx_for_msi: set INTx Disable; write only if it changes."""
    cdef uint32_t cmd = io_read(m, PCI_COMMAND, 2)
    cdef uint32_t new
    if enable:
        new = cmd & ~(<uint32_t>PCI_COMMAND_INTX_DISABLE)
    else:
        new = cmd | PCI_COMMAND_INTX_DISABLE
    if new != cmd:
        io_write(m, PCI_COMMAND, 2, new)


cdef void msix_clear_and_set_ctrl(Machine *m, uint32_t clear, uint32_t set_) noexcept nogil:
    """pci_msix_clear_and_set_ctrl: read-modify-write of MSI-X Message Control."""
    cdef int off = m.d.fn.caps.msix + PCI_MSIX_FLAGS
    cdef uint32_t ctrl = io_read(m, off, 2)
    io_write(m, off, 2, (ctrl & ~clear) | set_)


cdef void write_msg_msix(Machine *m, int index, MsixDesc *desc) noexcept nogil:
    """pci_write_msg_msix: mask if unmasked, address/data, unmask, flush read of Data."""
    cdef int base = m.d.msix_table_offset + PCI_MSIX_ENTRY_SIZE * index
    cdef bint unmasked = not desc.ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT
    if unmasked:
        msix_write(m, base + PCI_MSIX_ENTRY_VECTOR_CTRL, desc.ctrl | PCI_MSIX_ENTRY_CTRL_MASKBIT)
    msix_write(m, base + 0x0, desc.addr_lo)
    msix_write(m, base + 0x4, desc.addr_hi)
    msix_write(m, base + PCI_MSIX_ENTRY_DATA, desc.data)
    if unmasked:
        msix_write(m, base + PCI_MSIX_ENTRY_VECTOR_CTRL, desc.ctrl)
    msix_read(m, base + PCI_MSIX_ENTRY_DATA)


cdef inline void write_vector_ctrl(Machine *m, int index, uint32_t ctrl) noexcept nogil:
    """pci_msix_write_vector_ctrl: MMIO write of Vector Control (descriptors here can mask)."""
    msix_write(m, m.d.msix_table_offset + PCI_MSIX_ENTRY_SIZE * index + PCI_MSIX_ENTRY_VECTOR_CTRL, ctrl)


cdef inline bint message_writes_allowed(Machine *m) noexcept nogil:
    """__pci_write_msi_msg touches hardware only in D0 and when not disconnected."""
    return m.st.dev.current_state == D0 and m.st.dev.error_state != ERR_PERM_FAILURE


cdef void restore_msix(Machine *m) noexcept nogil:
    """msi.restore_msix: __pci_restore_msix_state, the policy path pci_restore_msix_state."""
    run_path(m, PATH_RESTORE_MSIX_STATE, 0)


cdef void msix_memory(Machine *m, int back) noexcept nogil:
    """msi.msix_memory: "on" (0) reads Command and sets Memory; "back" (1) writes it back."""
    if not back:
        m.msix_saved_cmd = io_read(m, PCI_COMMAND, 2)
        io_write(m, PCI_COMMAND, 2, <uint32_t>m.msix_saved_cmd | PCI_COMMAND_MEMORY)
    elif m.msix_saved_cmd >= 0:
        io_write(m, PCI_COMMAND, 2, <uint32_t>m.msix_saved_cmd)
        m.msix_saved_cmd = -1


cdef void msix_restore_entries(Machine *m) noexcept nogil:
    """msi.msix_restore_entries: each entry's message (D0 and connected) and Vector Control."""
    cdef KernelDev *dev = &m.st.dev
    cdef bint write_msg = message_writes_allowed(m)
    cdef int i
    for i in range(dev.n_msix_descs):
        if write_msg:
            write_msg_msix(m, i, &dev.msix_descs[i])
        write_vector_ctrl(m, i, dev.msix_descs[i].ctrl)


cdef inline int msi_mask_pos(int off, bint is64) noexcept nogil:
    return off + (0x10 if is64 else 0x0C)


cdef void write_msg_msi(Machine *m, int off, bint is64) noexcept nogil:
    """msi._write_msg_msi: pci_write_msg_msi (via __pci_write_msi_msg, D0 only): Message Control
    with Multiple Message Enable (one vector: 0), the address, the data, then a read to flush."""
    cdef KernelDev *dev = &m.st.dev
    cdef uint32_t c = io_read(m, off + PCI_MSI_FLAGS, 2)
    io_write(m, off + PCI_MSI_FLAGS, 2, c & ~(<uint32_t>PCI_MSI_FLAGS_QSIZE))
    io_write(m, off + 0x04, 4, dev.msi_msg[0])
    if is64:
        io_write(m, off + 0x08, 4, dev.msi_msg[1])
        io_write(m, off + 0x0C, 2, dev.msi_msg[2])
    else:
        io_write(m, off + 0x08, 2, dev.msi_msg[2])
    io_read_checked(m, off + PCI_MSI_FLAGS, 2)      # the flush: its value is discarded


cdef void pci_msi_set_enable(Machine *m, int off, bint enable) noexcept nogil:
    """msi.pci_msi_set_enable: read-modify-write of MSI Enable, always written."""
    cdef uint32_t ctrl = io_read(m, off + PCI_MSI_FLAGS, 2) & ~(<uint32_t>PCI_MSI_FLAGS_ENABLE)
    if enable:
        ctrl |= PCI_MSI_FLAGS_ENABLE
    io_write(m, off + PCI_MSI_FLAGS, 2, ctrl)


cdef void restore_msi(Machine *m) noexcept nogil:
    """msi.restore_msi: the policy path pci_restore_msi_state."""
    run_path(m, PATH_RESTORE_MSI_STATE, 0)


cdef inline uint32_t msi_flags(Machine *m) noexcept nogil:
    """msi._msi_flags: the capability's read-only facts the descriptor caches (is_64, can_mask)."""
    return raw_read(m.cfg, m.d.fn.caps.msi + PCI_MSI_FLAGS, 2)


cdef void msi_ctrl(Machine *m, int value) noexcept nogil:
    """msi.msi_ctrl: 0 disable (pci_msi_set_enable(dev, 0)), 1 enable (QSIZE 0, Enable set),
    2 set_enable (pci_msi_set_enable(dev, 1))."""
    cdef int off = m.d.fn.caps.msi + PCI_MSI_FLAGS
    cdef uint32_t ctrl = io_read(m, off, 2)
    if value == 0:
        io_write(m, off, 2, ctrl & ~(<uint32_t>PCI_MSI_FLAGS_ENABLE))
    elif value == 2:
        io_write(m, off, 2, ctrl | PCI_MSI_FLAGS_ENABLE)
    else:
        io_write(m, off, 2, (ctrl & ~(<uint32_t>PCI_MSI_FLAGS_QSIZE)) | PCI_MSI_FLAGS_ENABLE)


cdef void msi_write_message(Machine *m) noexcept nogil:
    """msi.msi_write_message: __pci_write_msi_msg, in D0 and connected only."""
    if message_writes_allowed(m):
        write_msg_msi(m, m.d.fn.caps.msi, (msi_flags(m) & PCI_MSI_FLAGS_64BIT) != 0)


cdef void msi_restore_mask(Machine *m) noexcept nogil:
    """msi.msi_update_mask: pci_msi_update_mask(entry, 0, 0), when the function can mask."""
    cdef uint32_t flags = msi_flags(m)
    if flags & PCI_MSI_FLAGS_MASKBIT:
        io_write(m, msi_mask_pos(m.d.fn.caps.msi, (flags & PCI_MSI_FLAGS_64BIT) != 0), 4,
                 <uint32_t>m.st.dev.msi_mask)


cdef int msix_capability_init(Machine *m, int nvec, bint request) noexcept nogil:
    """msi.msix_capability_init: -EINVAL when MSI or MSI-X is already on, else the policy path;
    with `request`, each vector requested."""
    cdef KernelDev *dev = &m.st.dev
    cdef int i, rc
    if not m.d.fn.caps.msix or dev.msix_enabled or dev.msi_enabled:
        return EINVAL_
    if nvec > m.d.msix_entries:
        nvec = m.d.msix_entries
    rc = run_path(m, PATH_MSIX_CAPABILITY_INIT, nvec)
    if rc == 0 and request:
        for i in range(dev.n_msix_descs):
            msix_request_irq(m, i)
    return rc


cdef int msix_map_region(Machine *m) noexcept nogil:
    """msi.msix_map_region: msix_enabled = 1, Message Control and the Table BIR read now; -ENOMEM
    (msix_enabled cleared) when the BIR names no assigned resource."""
    cdef int bir
    m.st.dev.msix_enabled = 1
    io_read(m, m.d.fn.caps.msix + PCI_MSIX_FLAGS, 2)           # tsize = msix_table_size(control)
    bir = <int>(io_read(m, m.d.fn.caps.msix + 4, 4) & 0x7)      # PCI_MSIX_TABLE's BIR
    if bir > 5 or resource_kind(m, bir) == BAR_NONE:
        m.st.dev.msix_enabled = 0                               # out_disable
        return ENOMEM_
    return 0


cdef void msix_setup_interrupts(Machine *m, int nvec) noexcept nogil:
    """msi.msix_setup_interrupts: a descriptor per vector, each entry's Vector Control read."""
    cdef KernelDev *dev = &m.st.dev
    cdef MsixDesc *desc
    cdef int i
    memset(dev.msix_descs, 0, sizeof(dev.msix_descs))
    dev.n_msix_descs = 0
    for i in range(nvec):
        msix_read(m, m.d.msix_table_offset + PCI_MSIX_ENTRY_SIZE * i + PCI_MSIX_ENTRY_VECTOR_CTRL)
        desc = &dev.msix_descs[i]
        desc.addr_lo = 0xFEE00000U | (<uint32_t>i << 12)    # address per CPU, data per vector
        desc.addr_hi = 0
        desc.data = 0x4020 + i
        desc.ctrl = 0
        dev.n_msix_descs = i + 1


cdef void msix_mask_all(Machine *m) noexcept nogil:
    """msi.msix_mask_all: every table entry's Vector Control written masked."""
    cdef int i
    for i in range(m.d.msix_entries):
        write_vector_ctrl(m, i, PCI_MSIX_ENTRY_CTRL_MASKBIT)


cdef void msix_request_irq(Machine *m, int i) noexcept nogil:
    """msi.msix_request_irq: the policy path msix_request_irq."""
    run_path(m, PATH_MSIX_REQUEST_IRQ, i)


cdef void msix_free_irq(Machine *m, int i) noexcept nogil:
    """msi.msix_free_irq: the policy path msix_free_irq."""
    run_path(m, PATH_MSIX_FREE_IRQ, i)


cdef void msix_vector(Machine *m, int i, int op) noexcept nogil:
    """msi.msix_vector (paths order: cache_masked, write_message, mask, unmask, clear_message)."""
    cdef MsixDesc *desc = &m.st.dev.msix_descs[i]
    if op == 0:
        desc.ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT
    elif op == 1:
        write_msg_msix(m, i, desc)
    elif op == 2 or op == 3:
        if op == 2:
            desc.ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT
        else:
            desc.ctrl &= ~(<uint32_t>PCI_MSIX_ENTRY_CTRL_MASKBIT)
        write_vector_ctrl(m, i, desc.ctrl)
    else:
        desc.addr_lo = 0
        desc.addr_hi = 0
        desc.data = 0


cdef void pci_msix_shutdown(Machine *m) noexcept nogil:
    """msi.pci_msix_shutdown: the policy path, when msix_enabled."""
    if m.st.dev.msix_enabled:
        run_path(m, PATH_PCI_MSIX_SHUTDOWN, 0)


cdef void msix_mask_vectors(Machine *m) noexcept nogil:
    """msi.msix_mask_vectors: pci_msix_mask of each allocated vector."""
    cdef KernelDev *dev = &m.st.dev
    cdef int i
    for i in range(dev.n_msix_descs):
        dev.msix_descs[i].ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT
        write_vector_ctrl(m, i, dev.msix_descs[i].ctrl)


cdef void msix_forget(Machine *m) noexcept nogil:
    """msi.msix_forget: msix_enabled cleared, the descriptors freed."""
    m.st.dev.msix_enabled = 0
    memset(m.st.dev.msix_descs, 0, sizeof(m.st.dev.msix_descs))
    m.st.dev.n_msix_descs = 0


cdef bint msi_capability_init(Machine *m, bint request) noexcept nogil:
    """msi.msi_capability_init: nothing when MSI or MSI-X is already on, else the policy path;
    with `request`, the driver's request_irq (msi_request_irq)."""
    cdef KernelDev *dev = &m.st.dev
    if not m.d.fn.caps.msi or dev.msi_enabled or dev.msix_enabled:
        return False
    run_path(m, PATH_MSI_CAPABILITY_INIT, 0)
    if request:
        msi_request_irq(m)
    return True


cdef void msi_setup(Machine *m) noexcept nogil:
    """msi.msi_setup: msi_enabled, the composed message, the cached mask 0."""
    cdef KernelDev *dev = &m.st.dev
    dev.msi_enabled = 1
    dev.msi_msg[0] = 0xFEE00000U
    dev.msi_msg[1] = 0
    dev.msi_msg[2] = 0x4030
    dev.msi_mask = 0


cdef void msi_update_mask(Machine *m, uint32_t mask) noexcept nogil:
    """msi._msi_update_mask: pci_msi_update_mask, written only with Per-Vector Masking."""
    cdef int off = m.d.fn.caps.msi
    cdef uint32_t ctrl = io_read(m, off + PCI_MSI_FLAGS, 2)
    if ctrl & PCI_MSI_FLAGS_MASKBIT:
        m.st.dev.msi_mask = mask
        io_write(m, msi_mask_pos(off, (ctrl & PCI_MSI_FLAGS_64BIT) != 0), 4, mask)


cdef inline void msi_request_irq(Machine *m) noexcept nogil:
    """msi.msi_request_irq: the policy path msi_request_irq."""
    run_path(m, PATH_MSI_REQUEST_IRQ, 0)


cdef void msi_free_irq(Machine *m) noexcept nogil:
    """msi.msi_free_irq: the policy path msi_free_irq."""
    run_path(m, PATH_MSI_FREE_IRQ, 0)


cdef void pci_msi_shutdown(Machine *m) noexcept nogil:
    """msi.pci_msi_shutdown: the policy path, when msi_enabled."""
    if m.st.dev.msi_enabled:
        run_path(m, PATH_PCI_MSI_SHUTDOWN, 0)

