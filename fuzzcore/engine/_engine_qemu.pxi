# QEMU's vfio-pci reset handler (hw/vfio/pci.c, kernel.md §6.8); mirrors fuzzcore/model/qemu.py.

cdef uint32_t guest_view_command(Machine *m) noexcept nogil:
    """A Command read through vfio: hardware bits with vconfig's INTx Disable."""
    cdef uint32_t hw = io_read_checked(m, PCI_COMMAND, 2)    # QEMU's read: a vfio user's
    return ((hw & ~(<uint32_t>PCI_COMMAND_INTX_DISABLE))
            | (<uint32_t>m.st.vfio.vconfig_command & PCI_COMMAND_INTX_DISABLE))


cdef void to_d0(Machine *m) noexcept nogil:
    cdef int pm = 0 if m.st.vfio.map_silent else m.d.fn.caps.pm   # qemu.to_d0
    if pm and io_read_checked(m, pm + 4, 2) & 0x3:      # QEMU's reads (a vfio user's)
        vfio_config_write(m, pm + 4, 2, io_read_checked(m, pm + 4, 2) & ~(<uint32_t>0x3))


cdef void zero_bars(Machine *m) noexcept nogil:
    """vfio_pci_post_reset: the six BARs written 0 through the config region."""
    cdef int i
    for i in range(6):
        vfio_config_write(m, 0x10 + 4 * i, 4, 0)


cdef void qemu_pick_reset(Machine *m) noexcept nogil:
    """qemu.pick_reset: the policy path qemu_pick_reset."""
    run_path(m, PATH_QEMU_PICK_RESET, 0)


cdef int qemu_pre_reset(Machine *m) noexcept nogil:
    """vfio_pci_pre_reset: -ENODEV unless open, else the policy path (interrupts off, Command
    bits cleared, D0)."""
    if not m.st.vfio.open:
        return ENODEV_
    run_path(m, PATH_QEMU_PRE_RESET, 0)
    m.st.vfio.qemu_resetting = 1         # until vfio_pci_post_reset (the op table's qemu fact)
    return 0


cdef int qemu_post_reset(Machine *m) noexcept nogil:
    """vfio_pci_post_reset: -ENODEV unless open, else the policy path (INTx re-armed, BARs zeroed)."""
    if not m.st.vfio.open:
        return ENODEV_
    run_path(m, PATH_QEMU_POST_RESET, 0)
    m.st.vfio.qemu_resetting = 0
    return 0


cdef int qemu_reset(Machine *m) noexcept nogil:
    """vfio_pci_reset: -ENODEV unless open, else the policy path (pre-reset, the reset QEMU picks,
    post-reset)."""
    if not m.st.vfio.open:
        return ENODEV_
    run_path(m, PATH_QEMU_RESET, 0)
    return 0
