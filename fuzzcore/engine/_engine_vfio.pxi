# vfio-pci (drivers/vfio/pci/vfio_pci_core.c, vfio_pci_config.c, vfio_pci_intrs.c; §5.6, §6);
# mirrors fuzzcore/model/vfio.py.

cdef enum:
    PCI_STATUS_INTERRUPT = 0x08

cdef int vfio_pci_set_power_state(Machine *m, int state) noexcept nogil:
    """vfio.vfio_pci_set_power_state: the policy path of that name, its argument the target state."""
    return run_path(m, PATH_VFIO_SET_POWER_STATE, state)


cdef void vfio_register(Machine *m) noexcept nogil:
    """vfio.vfio_register: the policy path vfio_pci_core_register_device."""
    m.st.vfio.registered = 1
    m.st.vfio.msi_qmax = 0                   # a new vfio_pci_core_device
    run_path(m, PATH_VFIO_REGISTER_DEVICE, 0)


cdef void vfio_probe_power_state(Machine *m) noexcept nogil:
    """vfio.vfio_probe_power_state: needs_pm_restore from PMCSR's NoSoftRst, read now; false
    without a PM capability."""
    cdef int pm = m.d.fn.caps.pm
    m.st.vfio.needs_pm_restore = 0
    if pm:
        m.st.vfio.needs_pm_restore = 0 if io_read(m, pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET else 1


cdef enum:
    DEVCTL_READRQ = 0x7000
    DEVCTL_VIRT = 0x8000 | 0x00E0 | 0x7000      # vfio.DEVCTL_VIRT: FLR, Payload, READRQ virtual


cdef void vfio_config_init(Machine *m) noexcept nogil:
    """vfio_config_init: vconfig copied from hardware; rbar[] records the BARs and the ROM dword
    (vconfig[PCI_ROM_ADDRESS], 0x30 whatever the header type)."""
    cdef VfioDev *v = &m.st.vfio
    cdef int i
    v.map_silent = 1 if hw_read(m, 0x06, 2) == 0xFFFF else 0    # vfio_cap_init's Status read
    v.vconfig_command = io_read(m, PCI_COMMAND, 2)
    for i in range(6):
        v.vconfig_bars[i] = io_read(m, 0x10 + 4 * i, 4)
    for i in range(6):
        v.rbar[i] = v.vconfig_bars[i]
    v.rbar[6] = io_read(m, 0x30, 4)
    if m.d.fn.caps.exp:
        v.vconfig_devctl = io_read(m, m.d.fn.caps.exp + 0x08, 2) & DEVCTL_VIRT
    if m.d.fn.caps.msi:
        v.vconfig_msi_flags = io_read(m, m.d.fn.caps.msi + 2, 2)


cdef int vfio_open(Machine *m) noexcept nogil:
    """vfio_pci_core_enable (§6.2): the policy path of that name."""
    run_path(m, PATH_VFIO_CORE_ENABLE, METHOD_AUTO)
    return 0


cdef int vfio_close(Machine *m) noexcept nogil:
    """vfio_pci_core_disable (§6.6): the policy path of that name."""
    run_path(m, PATH_VFIO_CORE_DISABLE, METHOD_AUTO)
    return 0


cdef uint32_t NO_BRACKET = 0xFFFFFFFFU   # no Command was read (a 16-bit read never gives this)


cdef uint32_t memory_lock_and_enable(Machine *m, bint bracket) noexcept nogil:
    """vfio_pci_memory_lock_and_enable: Memory forced on around MSI/MSI-X set-up (abafbc551fdd);
    without the bracket nothing is read or written (NO_BRACKET comes back)."""
    cdef uint32_t cmd
    if not bracket:
        return NO_BRACKET
    cmd = io_read(m, PCI_COMMAND, 2)
    if not cmd & PCI_COMMAND_MEMORY:
        io_write(m, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY)
    return cmd


cdef inline void memory_unlock_and_restore(Machine *m, uint32_t cmd) noexcept nogil:
    if cmd != NO_BRACKET:
        io_write(m, PCI_COMMAND, 2, cmd)


cdef int vfio_set_irqs(Machine *m, int index, int count) noexcept nogil:
    """vfio.vfio_set_irqs: VFIO_DEVICE_SET_IRQS as QEMU issues it, the policy path
    vfio_pci_set_irqs_ioctl (its argument: index | count << 8)."""
    return run_path(m, PATH_VFIO_SET_IRQS, index | (count << 8))


cdef void vfio_irqs_disable(Machine *m, bint bracket) noexcept nogil:
    """vfio.vfio_irqs_disable: DATA_NONE on the enabled index; each MSI/MSI-X vector freed in its
    own Memory bracket, then pci_free_irq_vectors in a last one."""
    cdef VfioDev *v = &m.st.vfio
    cdef uint32_t cmd
    cdef int i, n
    if v.irq == IRQ_MSI or v.irq == IRQ_MSIX:
        n = m.st.dev.n_msix_descs if v.irq == IRQ_MSIX else 1
        for i in range(n):
            cmd = memory_lock_and_enable(m, bracket)
            if v.irq == IRQ_MSIX:
                msix_free_irq(m, i)
            else:
                msi_free_irq(m)
            memory_unlock_and_restore(m, cmd)
        cmd = memory_lock_and_enable(m, bracket)
        if v.irq == IRQ_MSIX:
            pci_msix_shutdown(m)
        else:
            pci_msi_shutdown(m)
        memory_unlock_and_restore(m, cmd)
    v.irq = IRQ_NONE


cdef int vfio_bar_rw(Machine *m, int bar, int access) noexcept nogil:
    """vfio.vfio_bar_rw: a user's pread/pwrite of a BAR region, the policy path vfio_pci_bar_rw, in
    vfio_pci_rw's runtime-PM get/put."""
    return vfio_ioctl(m, VIOCTL_BAR_RW, bar, access)


cdef int resource_kind(Machine *m, int bar) noexcept nogil:
    """vfio._resource_kind: the BAR kind behind region `bar`, BAR_NONE when pci_resource_start is 0."""
    cdef int pos = m.d.bar_pos[bar]
    if pos < 0 or m.d.bars[pos].kind == BAR_NONE or not m.st.dev.resources[bar]:
        return BAR_NONE
    return m.d.bars[pos].kind


cdef inline bint is_mem_kind(int kind) noexcept nogil:
    return kind == BAR_MEM32 or kind == BAR_MEM64


cdef void vfio_bar_access(Machine *m, int bar) noexcept nogil:
    """vfio.vfio_bar_access: the BAR's last dword, unless it lies in the MSI-X table range."""
    cdef uint64_t off = m.d.bars[m.d.bar_pos[bar]].size - 4
    if (m.d.fn.caps.msix and m.d.msix_table_bir == bar and <uint64_t>m.d.msix_table_offset <= off
            and off < <uint64_t>(m.d.msix_table_offset + 16 * m.d.msix_entries)):
        return
    bar_access(m, bar)


cdef bint vfio_irqs_out_of_range(Machine *m, int index, int count) noexcept nogil:
    """vfio.vfio_irqs_out_of_range: vfio_set_irqs_validate_and_prepare's -EINVAL against
    vfio_pci_get_irq_count, Message Control read now (MSI-X QSIZE + 1, MSI 1 << MMC)."""
    if index == IRQ_MSIX:
        return not m.d.fn.caps.msix or count + 1 > <int>(io_read(m, m.d.fn.caps.msix + 2, 2) & 0x7FF) + 1
    if index == IRQ_MSI:
        return not m.d.fn.caps.msi or count + 1 > (1 << ((io_read(m, m.d.fn.caps.msi + 2, 2) & 0x0E) >> 1))
    return index == IRQ_INTX and not hw_read(m, PCI_INTERRUPT_PIN, 1)


cdef int vfio_irqs_enable(Machine *m, int index, int count, bint bracket) noexcept nogil:
    """vfio.vfio_irqs_enable: vfio_msi_enable allocates in a Memory bracket, then each vector is
    requested in its own (-EINVAL outside D0 before any table access); INTx follows the virtual
    INTx Disable."""
    cdef VfioDev *v = &m.st.vfio
    cdef uint32_t cmd
    cdef bint ok
    cdef int i, rc
    if (index == IRQ_MSIX or index == IRQ_MSI) and m.st.dev.current_state != D0:
        cmd = memory_lock_and_enable(m, bracket)
        memory_unlock_and_restore(m, cmd)
        return EINVAL_
    if index == IRQ_MSIX:
        cmd = memory_lock_and_enable(m, bracket)
        rc = msix_capability_init(m, count + 1, False)
        memory_unlock_and_restore(m, cmd)
        if rc == ENOMEM_:
            return rc                           # vfio_msi_enable: pci_alloc_irq_vectors failed
        if rc == 0:
            v.irq = IRQ_MSIX
            for i in range(m.st.dev.n_msix_descs):
                cmd = memory_lock_and_enable(m, bracket)
                msix_request_irq(m, i)
                memory_unlock_and_restore(m, cmd)
    elif index == IRQ_MSI:
        cmd = memory_lock_and_enable(m, bracket)
        ok = msi_capability_init(m, False)
        memory_unlock_and_restore(m, cmd)
        if ok:
            v.irq = IRQ_MSI
            v.msi_qmax = 0                              # fls(nvec * 2 - 1) - 1
            while (1 << (v.msi_qmax + 1)) <= 2 * (count + 1) - 1:
                v.msi_qmax += 1
            cmd = memory_lock_and_enable(m, bracket)
            msi_request_irq(m)
            memory_unlock_and_restore(m, cmd)
    elif index == IRQ_INTX:
        run_path(m, PATH_VFIO_INTX_ENABLE, 0)
    return 0


cdef void vfio_intx(Machine *m, int op) noexcept nogil:
    """vfio.vfio_intx (paths order: init_masked, pci_intx, irq_type, pm_mask, pm_unmask, new_context)."""
    cdef VfioDev *v = &m.st.vfio
    if op == 0:
        v.intx_masked = v.virq_disabled
    elif op == 1:
        pci_intx_for_msi(m, not v.intx_masked)
    elif op == 2:
        v.irq = IRQ_INTX
    elif op == 3:
        v.pm_intx_masked = 1 if v.irq == IRQ_INTX and intx_mask(m) else 0
    elif op == 4:
        intx_unmask(m)
    else:
        v.intx_masked = 0


cdef int vfio_ioctl(Machine *m, int ioctl, int a0, int a1) noexcept nogil:
    """vfio.vfio_ioctl: the paths vfio_device_pm_runtime_get and _put around an ioctl on the device fd."""
    cdef int rc
    if ioctl == VIOCTL_HOT_RESET:                   # vfio.vfio_user_hot_reset: GET_PCI_HOT_RESET_INFO first
        run_path(m, PATH_VFIO_DEVICE_PM_RUNTIME_GET, 0)
        run_path(m, PATH_VFIO_DEVICE_PM_RUNTIME_PUT, 0)
    run_path(m, PATH_VFIO_DEVICE_PM_RUNTIME_GET, 0)
    if ioctl == VIOCTL_SET_IRQS:
        rc = vfio_set_irqs(m, a0, a1)
    elif ioctl == VIOCTL_DEVICE_RESET:
        rc = vfio_device_reset(m)
    elif ioctl == VIOCTL_HOT_RESET:
        rc = vfio_hot_reset(m)
    elif ioctl == VIOCTL_BAR_RW:
        rc = run_path(m, PATH_VFIO_BAR_RW, a0 | (a1 << 8))
    elif a0 == 2:                                   # vfio.vfio_low_power: exit
        rc = run_path(m, PATH_VFIO_PCI_CORE_PM_EXIT, 0)
    else:                                           # entry (0) or entry_wakeup (1)
        rc = run_path(m, PATH_VFIO_PCI_CORE_PM_ENTRY, a0)
    run_path(m, PATH_VFIO_DEVICE_PM_RUNTIME_PUT, 0)
    return rc


cdef int vfio_device_reset(Machine *m) noexcept nogil:
    """VFIO_DEVICE_RESET (§6.5): the policy path vfio_pci_ioctl_reset."""
    return run_path(m, PATH_VFIO_IOCTL_RESET, METHOD_AUTO)


cdef int vfio_hot_reset(Machine *m) noexcept nogil:
    """VFIO_DEVICE_PCI_HOT_RESET: without a bus reset -ENODEV, else the policy path
    vfio_pci_dev_set_hot_reset."""
    if not m.d.has_port:
        return ENODEV_
    return run_path(m, PATH_VFIO_DEV_SET_HOT_RESET, METHOD_AUTO)


# --- config writes through the permission table (§6.3) -----------------------------------------

cdef void bar_restore_if_reset_behind_back(Machine *m, uint32_t new_cmd) noexcept nogil:
    """vfio_basic_config_write's check (decode turned on behind vfio's back, or a non-zero rbar[]
    BAR differs: vfio_need_bar_restore), then vfio_bar_restore: BARs 0-5, then the ROM dword."""
    cdef VfioDev *v = &m.st.vfio
    cdef uint32_t hw_cmd = io_read(m, PCI_COMMAND, 2)
    cdef uint32_t vc = <uint32_t>v.vconfig_command
    cdef bint suspicious = False
    cdef int i, prev
    if (new_cmd & PCI_COMMAND_MEMORY and vc & PCI_COMMAND_MEMORY and not hw_cmd & PCI_COMMAND_MEMORY
            and not m.d.virtfn):       # !pdev->no_command_memory
        suspicious = True
    if new_cmd & PCI_COMMAND_IO and vc & PCI_COMMAND_IO and not hw_cmd & PCI_COMMAND_IO:
        suspicious = True
    if not suspicious:
        for i in range(6):          # vfio_need_bar_restore: the non-zero rbar[] entries
            if v.rbar[i] and io_read(m, 0x10 + 4 * i, 4) != <uint32_t>v.rbar[i]:
                suspicious = True
                break
    if suspicious and not m.d.virtfn:  # vfio_bar_restore returns at once for is_virtfn
        prev = m.step
        m.step = STEP_VFIO_BAR_RESTORE
        for i in range(6):
            io_write(m, 0x10 + 4 * i, 4, <uint32_t>v.rbar[i])
        io_write(m, 0x30, 4, <uint32_t>v.rbar[6])
        m.step = prev


cdef void write_hw_bits(Machine *m, int offset, int width, uint32_t value, uint32_t writable) noexcept nogil:
    """vfio_default_config_write: hardware gets the non-virtual writable bits, read-modify-write."""
    cdef uint32_t cur
    if not writable:
        return
    cur = io_read(m, offset, width)
    m.user_wmask = writable              # Oracle.note_write: only these bits are the user's
    io_write(m, offset, width, (cur & ~writable) | (value & writable))
    m.user_wmask = 0xFFFFFFFFU


cdef void emulate_intx_disable(Machine *m) noexcept nogil:
    """vfio._emulate_intx_disable: a change of the virtual INTx Disable masks or unmasks INTx."""
    cdef VfioDev *v = &m.st.vfio
    cdef bint virt = (v.vconfig_command & PCI_COMMAND_INTX_DISABLE) != 0
    if virt and not v.virq_disabled:
        v.virq_disabled = 1
        intx_mask(m)
    elif not virt and v.virq_disabled:
        v.virq_disabled = 0
        intx_unmask(m)


cdef bint intx_mask(Machine *m) noexcept nogil:
    """vfio._intx_mask (__vfio_pci_intx_mask): not using INTx, pci_intx(pdev, 0); using it, mask
    once (pci_2_3 taken as supported)."""
    cdef VfioDev *v = &m.st.vfio
    if v.irq != IRQ_INTX:
        pci_intx_for_msi(m, False)
    elif not v.intx_masked:
        pci_intx_for_msi(m, False)
        v.intx_masked = 1
        return True                                 # masked_changed
    return False


cdef void intx_unmask(Machine *m) noexcept nogil:
    """vfio._intx_unmask (vfio_pci_intx_unmask_handler): not using INTx, pci_intx(pdev, 1); using
    it and masked, pci_check_and_unmask_intx: unless Interrupt Status, INTx Disable cleared."""
    cdef VfioDev *v = &m.st.vfio
    cdef uint32_t cs
    if v.irq != IRQ_INTX:
        pci_intx_for_msi(m, True)
    elif v.intx_masked and not v.virq_disabled:
        cs = io_read(m, PCI_COMMAND, 4)
        if not (cs >> 16) & PCI_STATUS_INTERRUPT:
            if cs & PCI_COMMAND_INTX_DISABLE:
                io_write(m, PCI_COMMAND, 2, (cs & 0xFFFF) & ~(<uint32_t>PCI_COMMAND_INTX_DISABLE))
            v.intx_masked = 0


# vfio_perm's write functions: raw, none, or VF_PATH_BASE + the path's id
DEF VF_RAW = 0
DEF VF_NONE = 1
DEF VF_PATH_BASE = 2


cdef int vfio_config_write(Machine *m, int offset, int width, uint32_t value) noexcept nogil:
    """vfio.vfio_config_write: vfio_pci_rw's runtime-PM get/put around the write."""
    cdef int rc
    run_path(m, PATH_VFIO_DEVICE_PM_RUNTIME_GET, 0)
    rc = vfio_config_rw_write(m, offset, width, value)
    run_path(m, PATH_VFIO_DEVICE_PM_RUNTIME_PUT, 0)
    return rc


cdef int vfio_config_rw_write(Machine *m, int offset, int width, uint32_t value) noexcept nogil:
    """vfio._vfio_config_rw (vfio_pci_config_rw): -EFAULT past cfg_size; else each aligned piece
    that stays in one region's dword (vfio_perm.pieces) to its write function."""
    cdef int prev_step, prev_user, pos, end, i, count, n
    cdef int16_t *vmap = m.d.vf_map[m.st.vfio.map_silent]
    if offset + width > m.d.vf_cfg_size:
        return -14                                  # -EFAULT
    value &= width_mask(width)
    prev_step = m.step
    prev_user = m.user_access
    m.step = STEP_VFIO_CONFIG_RW
    m.user_access = 1
    pos = offset
    end = offset + width
    while pos < end:
        i = 1
        while (pos + i) % 4 and vmap[pos + i] == vmap[pos]:     # vfio_pci_cap_remaining_dword
            i += 1
        count = end - pos if end - pos < i else i
        if count >= 4 and pos % 4 == 0:
            n = 4
        elif count >= 2 and pos % 2 == 0:
            n = 2
        else:
            n = 1
        write_piece(m, pos, n, (value >> (8 * (pos - offset))) & width_mask(n))
        pos += n
    m.step = prev_step
    m.user_access = prev_user
    return 0


cdef void write_piece(Machine *m, int pos, int n, uint32_t val) noexcept nogil:
    """vfio._write_piece: raw, none, or the write function's path with the piece's offset in its
    region as the argument (the piece in m.piece_*)."""
    cdef int s = m.st.vfio.map_silent
    cdef int kind = m.d.vf_kind[s][pos], rel = pos - m.d.vf_start[s][pos]
    if kind == VF_NONE:
        return
    if kind == VF_RAW:
        io_write(m, pos, n, val)                    # vfio_raw_config_write (no read)
        return
    m.piece_pos, m.piece_n, m.piece_val = pos, n, val
    m.piece_old_rq = m.st.vfio.vconfig_devctl & DEVCTL_READRQ
    run_path(m, kind - VF_PATH_BASE, rel)


cdef void piece_bar_restore_check(Machine *m) noexcept nogil:
    """vfio.piece_bar_restore_check: vfio's own check and restore from rbar[] (the kernel's)."""
    cdef int prev_user = m.user_access
    m.user_access = 0
    bar_restore_if_reset_behind_back(m, m.piece_val & 0xFFFF)
    m.user_access = prev_user


cdef void msi_flags_write(Machine *m) noexcept nogil:
    """vfio._msi_flags_write (vfio_msi_config_write): vconfig's Message Control, Enable only for
    the user's MSI, QSIZE at most msi_qmax, back to vconfig and to hardware."""
    cdef VfioDev *v = &m.st.vfio
    cdef int64_t flags = v.vconfig_msi_flags
    if v.irq != IRQ_MSI:
        flags &= ~(<int64_t>0x1)
    if ((flags & 0x70) >> 4) > v.msi_qmax:
        flags = (flags & ~(<int64_t>0x70)) | (v.msi_qmax << 4)
    v.vconfig_msi_flags = flags
    io_write(m, m.d.fn.caps.msi + 2, 2, <uint32_t>flags)


cdef void default_write(Machine *m, int pos, int n, uint32_t val) noexcept nogil:
    """vfio._default_write (vfio_default_config_write)."""
    cdef uint32_t write = 0, virt = 0
    cdef int i, s = m.st.vfio.map_silent
    for i in range(n):
        write |= (<uint32_t>m.d.vf_write[s][pos + i]) << (8 * i)
        virt |= (<uint32_t>m.d.vf_virt[s][pos + i]) << (8 * i)
    if not write:
        return
    if write & virt:
        vconfig_put(m, pos, n, val, write & virt)
    if write & ~virt:
        write_hw_bits(m, pos, n, val, write & ~virt)


cdef void vconfig_put(Machine *m, int pos, int n, uint32_t val, uint32_t mask) noexcept nogil:
    """vfio._vconfig_put: the vconfig bytes the model keeps (Command, BARs, DEVCTL)."""
    cdef VfioDev *v = &m.st.vfio
    cdef int exp = m.d.fn.caps.exp, i, b, k, sh
    cdef int64_t mb, vb
    for i in range(n):
        b = pos + i
        mb = (mask >> (8 * i)) & 0xFF
        vb = (val >> (8 * i)) & 0xFF
        if not mb:
            continue
        if b == PCI_COMMAND or b == PCI_COMMAND + 1:
            sh = 8 * (b - PCI_COMMAND)
            v.vconfig_command = (v.vconfig_command & ~(mb << sh)) | ((vb & mb) << sh)
        elif 0x10 <= b < 0x28:
            k = (b - 0x10) // 4
            sh = 8 * (b % 4)
            v.vconfig_bars[k] = (v.vconfig_bars[k] & ~(mb << sh)) | ((vb & mb) << sh)
        elif m.d.fn.caps.msi and (b == m.d.fn.caps.msi + 2 or b == m.d.fn.caps.msi + 3):
            sh = 8 * (b - m.d.fn.caps.msi - 2)
            v.vconfig_msi_flags = (v.vconfig_msi_flags & ~(mb << sh)) | ((vb & mb) << sh)
        elif exp and (b == exp + 0x08 or b == exp + 0x09):
            sh = 8 * (b - exp - 0x08)
            v.vconfig_devctl = (v.vconfig_devctl & ~(mb << sh)) | ((vb & mb) << sh)


cdef void pm_state_write(Machine *m, uint32_t val) noexcept nogil:
    """vfio._pm_state_write (vfio_pm_config_write at PCI_PM_CTRL): the PowerState written."""
    cdef int prev_user = m.user_access
    m.user_access = 0                # Model.as_kernel: the transition's writes are the kernel's
    vfio_pci_set_power_state(m, <int>(val & 0x3))
    m.user_access = prev_user


cdef void vfio_flr_trap(Machine *m) noexcept nogil:
    """vfio.vfio_flr_trap: the virtual FLR cleared; DEVCAP FLR (read now) -> pci_try_reset_function."""
    cdef int exp = m.d.fn.caps.exp
    cdef int prev = m.step, prev_user = m.user_access
    m.st.vfio.vconfig_devctl &= ~(<int64_t>0x8000)
    m.step = STEP_VFIO_EXP_FLR
    m.user_access = 0            # Model.as_kernel: the reset's writes are the kernel's
    if io_read(m, exp + 0x04, 4) & 0x10000000U:         # PCI_EXP_DEVCAP_FLR
        pci_reset_function(m, METHOD_AUTO)
    m.step = prev
    m.user_access = prev_user


cdef void vfio_readrq(Machine *m) noexcept nogil:
    """vfio.vfio_readrq: pcie_set_readrq(max(virtual MRRS, MPS as DEVCTL reads))."""
    cdef int exp = m.d.fn.caps.exp
    cdef uint32_t mps, rq, cur
    cdef int prev = m.step, prev_user = m.user_access, enc
    m.step = STEP_VFIO_EXP_MRRS
    m.user_access = 0
    mps = 128U << ((io_read(m, exp + 0x08, 2) >> 5) & 0x7)     # pcie_get_mps
    rq = 128U << ((m.st.vfio.vconfig_devctl & DEVCTL_READRQ) >> 12)
    if mps > rq:
        rq = mps
    if rq <= 4096:                                      # pcie_set_readrq: else -EINVAL
        enc = 0
        while (128U << enc) < rq:
            enc += 1
        cur = io_read(m, exp + 0x08, 2)
        io_write(m, exp + 0x08, 2, (cur & ~(<uint32_t>DEVCTL_READRQ)) | (<uint32_t>enc << 12))
    m.step = prev
    m.user_access = prev_user
