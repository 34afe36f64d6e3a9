# QEMU's vfio-pci reset handler (hw/vfio/pci.c, kernel.md §6.8); mirrors fuzzcore/model/qemu.py.

cdef uint32_t guest_view_command(Machine *m) noexcept nogil:
    """A Command read through vfio: hardware bits with vconfig's INTx Disable."""
    cdef uint32_t hw = io_read(m, PCI_COMMAND, 2)
    return ((hw & ~(<uint32_t>PCI_COMMAND_INTX_DISABLE))
            | (<uint32_t>m.st.vfio.vconfig_command & PCI_COMMAND_INTX_DISABLE))


cdef void clear_command(Machine *m) noexcept nogil:
    cdef uint32_t cmd = guest_view_command(m)
    cmd &= ~m.pol.pre_reset_clear_bits
    vfio_config_write(m, PCI_COMMAND, 2, cmd)


cdef void to_d0(Machine *m) noexcept nogil:
    cdef int pm = m.d.fn.caps.pm
    if pm and io_read(m, pm + 4, 2) & 0x3:
        vfio_config_write(m, pm + 4, 2, io_read(m, pm + 4, 2) & ~(<uint32_t>0x3))


cdef int qemu_pre_reset(Machine *m) noexcept nogil:
    """vfio_pci_pre_reset: interrupts off (SET_IRQS), Command cleared, D0 (order per policy)."""
    cdef int prev
    if not m.st.vfio.open:
        return ENODEV_
    prev = m.step
    m.step = STEP_QEMU_PRE_RESET
    vfio_set_irqs(m, IRQ_NONE, 0)
    if m.pol.pre_reset_clear_then_d0:
        clear_command(m)
        to_d0(m)
    else:
        to_d0(m)
        clear_command(m)
    m.step = prev
    return 0


cdef int qemu_post_reset(Machine *m) noexcept nogil:
    """vfio_pci_post_reset: INTx re-armed, the six BARs zeroed through the config region."""
    cdef int prev, i
    if not m.st.vfio.open:
        return ENODEV_
    prev = m.step
    m.step = STEP_QEMU_POST_RESET
    if hw_read(m, PCI_INTERRUPT_PIN, 1):
        vfio_set_irqs(m, IRQ_INTX, 0)
    for i in range(6):
        vfio_config_write(m, 0x10 + 4 * i, 4, 0)
    m.step = prev
    return 0


cdef int qemu_reset(Machine *m) noexcept nogil:
    """vfio_pci_reset: pre-reset; VFIO_DEVICE_RESET if it works with FLR or without a PM reset;
    else a hot reset; else a PM reset; then post-reset."""
    cdef VfioDev *v = &m.st.vfio
    cdef bint has_flr, has_pm
    cdef int prev
    if not v.open:
        return ENODEV_
    qemu_pre_reset(m)
    prev = m.step
    m.step = STEP_QEMU_RESET
    has_flr = method_available(m, METHOD_FLR)
    has_pm = method_available(m, METHOD_PM)
    if v.reset_works and (has_flr or not has_pm):
        vfio_device_reset(m)
    elif m.d.has_port:
        vfio_hot_reset(m)
    elif v.reset_works and has_pm:
        vfio_device_reset(m)
    m.step = prev
    qemu_post_reset(m)
    return 0
