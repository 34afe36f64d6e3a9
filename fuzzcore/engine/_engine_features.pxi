# Features a driver or the PCI core enables at run time (drivers/pci/pcie/ptm.c, rebar.c, probe.c)
# and BAR re-assignment; mirrors fuzzcore/model/features.py. Each sets the
# kernel's live flag and the hardware enable bit. (TPH, ATS, PASID, PRI, SR-IOV, ASPM, PTM: policy paths.)

cdef void pci_suspend_ptm(Machine *m) noexcept nogil:
    """pci_suspend_ptm: PTM Enable cleared in hardware before the suspend save; count kept."""
    cdef int ptm = m.d.fn.caps.ptm
    if ptm and m.st.dev.ptm_enable_cnt:
        io_write(m, ptm + 8, 4, io_read(m, ptm + 8, 4) & ~(<uint32_t>0x1))
        m.st.dev.ptm_suspended = 1


cdef void pci_resume_ptm(Machine *m) noexcept nogil:
    """pci_resume_ptm: PTM Enable set again if the count says it is on."""
    cdef int ptm = m.d.fn.caps.ptm
    m.st.dev.ptm_suspended = 0
    if ptm and m.st.dev.ptm_enable_cnt:
        io_write(m, ptm + 8, 4, io_read(m, ptm + 8, 4) | 0x1)


cdef void command_set(Machine *m, uint32_t bits) noexcept nogil:
    """features.command_set: pci_enable_resources' Command read, OR, written only if it changed."""
    cdef uint32_t cmd = io_read(m, PCI_COMMAND, 2)
    if (cmd | bits) != cmd:
        io_write(m, PCI_COMMAND, 2, cmd | bits)


cdef int pci_resize_bar(Machine *m, int size) noexcept nogil:
    """features.pci_resize_bar: the policy path pci_resize_resource."""
    return run_path(m, PATH_RESIZE_RESOURCE, size)


cdef int rebar_resize(Machine *m, int size) noexcept nogil:
    """features.rebar_resize: find the first entry's BAR (-ENOENT), its sizes (-EINVAL), BAR Size
    written, the resource resized at an aligned address."""
    cdef int off = m.d.fn.caps.rebar
    cdef int bar, i, n_sizes, enc
    cdef uint32_t ctrl, supported
    cdef int sizes[28]
    cdef KernelDev *dev = &m.st.dev
    bar = m.d.rebar_first_bar
    ctrl = io_read(m, off + 8, 4)
    if <int>(ctrl & 0x7) != bar or bar > 5:
        return ENOENT_
    supported = io_read(m, off + 4, 4) >> 4
    n_sizes = 0
    for i in range(28):
        if supported & (1u << i):
            sizes[n_sizes] = i
            n_sizes += 1
    if not n_sizes:
        return EINVAL_
    enc = sizes[size % n_sizes]
    io_write(m, off + 8, 4, (ctrl & ~(<uint32_t>0x1F00)) | (<uint32_t>enc << 8))
    dev.resource_sizes[bar] = (<uint64_t>1) << (20 + enc)
    dev.resources[bar] &= ~(dev.resource_sizes[bar] - 1)
    return 0


cdef uint64_t bar_slot_address(Machine *m, int bar, int slot) noexcept nogil:
    """Model.bar_slot_address: alternative aligned addresses a re-assignment may move a BAR to."""
    cdef BarDesc *info = &m.d.bars[m.d.bar_pos[bar]]
    cdef uint64_t base = info.image_addr if info.image_addr else 0x80000000U
    cdef uint64_t size = info.size if info.size > 16 else 16
    if slot:
        return base + <uint64_t>slot * size * 2
    return base


cdef int pci_assign_bar(Machine *m, int bar, int slot) noexcept nogil:
    """features.pci_assign_bar: the policy path pci_assign_resource."""
    return run_path(m, PATH_ASSIGN_RESOURCE, bar | slot << 8)


cdef int pci_enable_msix(Machine *m, int nvec) noexcept nogil:
    """A host driver's pci_alloc_irq_vectors(MSI-X): needs Memory decode (pci_enable_device)."""
    if m.st.dev.driver != DRV_HOST:
        return EINVAL_
    return msix_capability_init(m, nvec + 1, True)


cdef int pci_disable_msix(Machine *m) noexcept nogil:
    cdef int i
    if m.st.dev.driver != DRV_HOST:
        return EINVAL_
    # The driver's free_irq of each vector, then pci_free_irq_vectors.
    if m.st.dev.msix_enabled:
        for i in range(m.st.dev.n_msix_descs):
            msix_free_irq(m, i)
    pci_msix_shutdown(m)
    return 0


cdef int pci_enable_msi(Machine *m) noexcept nogil:
    if m.st.dev.driver != DRV_HOST:
        return EINVAL_
    return 0 if msi_capability_init(m, True) else EINVAL_


cdef int pci_disable_msi(Machine *m) noexcept nogil:
    if m.st.dev.driver != DRV_HOST:
        return EINVAL_
    msi_free_irq(m)   # the driver's free_irq, then pci_free_irq_vectors
    pci_msi_shutdown(m)
    return 0


cdef void pci_enable_bridge(Machine *m) noexcept nogil:
    """features.pci_enable_bridge (drivers/pci/pci.c): the first pci_enable_device below the port
    makes the port (enabled by portdrv) bus master unless it already is (pci_set_master)."""
    cdef uint32_t cmd
    if not m.d.has_port or m.st.port.is_busmaster:
        return
    cmd = port_read(m, PCI_COMMAND, 2)
    if not cmd & PCI_COMMAND_MASTER:
        port_write(m, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER)
    m.st.port.is_busmaster = 1


cdef void pci_enable_device(Machine *m) noexcept nogil:
    """pci_enable_device: D0, Command I/O and Memory for the assigned BAR kinds, INTx Disable
    cleared when there is a pin and no MSI."""
    cdef KernelDev *dev = &m.st.dev
    cdef uint32_t cmd, new, decode = 0
    cdef int i, kind
    dev.current_state = pmcsr_state(m, dev.current_state)   # features.pci_enable_device: pci_update_current_state
    dev.enable_cnt += 1
    if dev.enable_cnt > 1:
        return                                  # already enabled
    pci_enable_bridge(m)
    pci_set_power_state(m, D0)
    run_path(m, PATH_ASPM_POWERSAVE_CONFIG_LINK, 0)     # do_pci_enable_device, on the bridge above
    cmd = io_read(m, PCI_COMMAND, 2)
    for i in range(m.d.n_bars):          # features._decode_bits
        kind = m.d.bars[i].kind
        if kind == BAR_IO:
            decode |= 0x1
        elif kind == BAR_MEM32 or kind == BAR_MEM64:
            decode |= 0x2
    if m.d.has_rom:
        decode |= 0x2
    new = cmd | decode
    if hw_read(m, PCI_INTERRUPT_PIN, 1) and not (dev.msi_enabled or dev.msix_enabled):
        new &= ~(<uint32_t>0x400)
    if new != cmd:
        io_write(m, PCI_COMMAND, 2, new)
    note_meant(m, W_COMMAND, decode, 1)  # the decode it enabled, written or not


cdef void pci_disable_device(Machine *m) noexcept nogil:
    """pci_disable_device: Bus Master cleared when the last enable goes."""
    cdef KernelDev *dev = &m.st.dev
    if dev.enable_cnt:
        dev.enable_cnt -= 1
    if dev.enable_cnt == 0:
        pci_clear_master(m)


cdef void pci_set_master(Machine *m) noexcept nogil:
    cdef uint32_t cmd = io_read(m, PCI_COMMAND, 2)
    if not cmd & PCI_COMMAND_MASTER:
        io_write(m, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER)
    m.st.dev.is_busmaster = 1
    note_meant(m, W_COMMAND, PCI_COMMAND_MASTER, 1)


cdef void pci_clear_master(Machine *m) noexcept nogil:
    cdef uint32_t cmd = io_read(m, PCI_COMMAND, 2)
    if cmd & PCI_COMMAND_MASTER:
        io_write(m, PCI_COMMAND, 2, cmd & ~(<uint32_t>PCI_COMMAND_MASTER))
    m.st.dev.is_busmaster = 0
    note_meant(m, W_COMMAND, PCI_COMMAND_MASTER, 0)
