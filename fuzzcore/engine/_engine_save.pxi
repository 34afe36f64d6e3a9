# pci_save_state (drivers/pci/pci.c, kernel.md §2) and the blob functions (§1.3); mirrors
# fuzzcore/model/save.py. A save bumps the save counter; every buffer it fills is tagged with that
# number (its epoch), so a restore can tell which buffers the current snapshot's save filled.

cdef enum:
    N_PCI_EXP_SAVED_REGS = 7
cdef int PCI_EXP_SAVED_REGS[7]
PCI_EXP_SAVED_REGS[:] = [0x08, 0x10, 0x18, 0x1C, 0x28, 0x30, 0x38]  # DEVCTL LNKCTL SLTCTL RTCTL DEVCTL2 LNKCTL2 SLTCTL2


# --- the device's capability save buffers (CapBuffer) ------------------------------------------

cdef inline uint8_t *buf_data(Machine *m, int b) noexcept nogil:
    return m.pool + m.d.fn.bufs[b].offset

cdef inline uint32_t buf_u32(Machine *m, int b, int i) noexcept nogil:
    return raw_read(buf_data(m, b), 4 * i, 4)

cdef inline void buf_set_u32(Machine *m, int b, int i, uint32_t v) noexcept nogil:
    put_u32(buf_data(m, b) + 4 * i, v)

cdef inline uint32_t buf_u16(Machine *m, int b, int i) noexcept nogil:
    return raw_read(buf_data(m, b), 2 * i, 2)

cdef inline void buf_set_u16(Machine *m, int b, int i, uint32_t v) noexcept nogil:
    put_u16(buf_data(m, b) + 2 * i, v)


# --- save steps -----------------------------------------------------------------------------------

cdef void config_save(Machine *m, int arg) noexcept nogil:
    """save.config_save: header dwords A..B (arg = A | B << 4) into saved_config_space, in that
    order; this save's epoch on the snapshot and each BAR read; an all-ones Command/Status dword
    is reported when the range covers it."""
    cdef KernelDev *dev = &m.st.dev
    cdef int a = arg & 0xF, b = (arg >> 4) & 0xF
    cdef int i, step = -1 if a >= b else 1
    i = a
    while True:
        dev.saved_config[i] = io_read_checked(m, 4 * i, 4)   # snapshot_all_ones owns an all-ones snapshot
        if 4 <= i <= 9:
            dev.bar_epoch[i - 4] = dev.save_count
        if i == b:
            break
        i += step
    dev.config_epoch = dev.save_count
    if (a if a < b else b) <= 1 <= (a if a > b else b) and dev.saved_config[1] == 0xFFFFFFFFU:
        report(m, INV_SNAPSHOT_ALL_ONES, REG_CONFIG, MSG_SNAPSHOT_ALL_ONES, 0, 0, 0)
        m.read_lost_op = m.op_index     # the rest of this save's reads are that finding too


# save steps that are policy paths: False (-ENOMEM ends pci_save_state) when the path fails
cdef bint save_config_space(Machine *m, int64_t epoch) noexcept nogil:
    return run_path(m, PATH_SAVE_CONFIG_SPACE, 0) == 0


cdef bint save_pcie(Machine *m, int64_t epoch) noexcept nogil:
    return run_path(m, PATH_SAVE_PCIE_STATE, 0) == 0


cdef bint save_pcix(Machine *m, int64_t epoch) noexcept nogil:
    return run_path(m, PATH_SAVE_PCIX_STATE, 0) == 0


cdef bint save_dpc(Machine *m, int64_t epoch) noexcept nogil:
    return run_path(m, PATH_SAVE_DPC_STATE, 0) == 0


cdef bint save_aer(Machine *m, int64_t epoch) noexcept nogil:
    return run_path(m, PATH_SAVE_AER_STATE, 0) == 0


cdef bint save_ptm(Machine *m, int64_t epoch) noexcept nogil:
    return run_path(m, PATH_SAVE_PTM_STATE, 0) == 0


cdef bint save_tph(Machine *m, int64_t epoch) noexcept nogil:
    return run_path(m, PATH_SAVE_TPH_STATE, 0) == 0


cdef bint save_vc(Machine *m, int64_t epoch) noexcept nogil:
    return run_path(m, PATH_SAVE_VC_STATE, 0) == 0


cdef void cap_save(Machine *m, int arg) noexcept nogil:
    """save.cap_save: arg = cap | reg << 4 | dword << 12 | slot << 13 (paths.ParamDef.width)."""
    cdef int cap = arg & 0xF, reg = (arg >> 4) & 0xFF, slot = (arg >> 13) & 0xF
    cdef int size = 4 if (arg >> 12) & 1 else 2
    cdef int name = 0
    cdef int base = cap_base(m, cap)
    cdef int b = cap_buffer(m, cap, &name)
    cdef uint32_t v
    if cap == CAP_PORT_L1SS:            # save._port_l1ss_save: the port's register into the port's buffer
        if m.d.has_port and m.d.port.caps.l1ss and m.d.port_buf_l1ss:
            m.st.port.l1ss[slot] = port_read(m, m.d.port.caps.l1ss + reg, 4)
            m.st.port.l1ss_epoch = cap_save_epoch(m)
        return
    if not base or b < 0:
        return
    v = 0 if cap == CAP_PCIE and not pcie_reg_implemented(m, reg) else io_read(m, base + reg, size)
    if size == 2:
        buf_set_u16(m, b, slot, v)
    else:
        buf_set_u32(m, b, slot, v)
    m.st.dev.buf_epoch[b] = cap_save_epoch(m)


cdef inline int64_t cap_save_epoch(Machine *m) noexcept nogil:
    """save._cap_save_epoch: inside pci_save_state that save's; outside, the snapshot's own."""
    return m.st.dev.save_count if STEP_SAVE_BASE <= m.step < STEP_RESET_BASE else m.st.dev.config_epoch


cdef void save_l1ss(Machine *m) noexcept nogil:
    """save.save_l1ss: pci_save_aspm_l1ss_state: child CTL2, CTL1, then the parent's."""
    cdef int l1ss = m.d.fn.caps.l1ss
    cdef int pl = m.d.port.caps.l1ss
    cdef int b = m.d.buf_l1ss
    cdef int64_t epoch = m.st.dev.save_count
    if not l1ss or not m.d.has_port or not pl:
        return
    if b < 0 or not m.d.port_buf_l1ss:
        return
    buf_set_u32(m, b, 1, io_read(m, l1ss + 0x0C, 4))
    buf_set_u32(m, b, 0, io_read(m, l1ss + 0x08, 4))
    m.st.dev.buf_epoch[b] = epoch
    m.st.port.l1ss[1] = port_read(m, pl + 0x0C, 4)
    m.st.port.l1ss[0] = port_read(m, pl + 0x08, 4)
    m.st.port.l1ss_epoch = epoch


cdef void tph_save_st(Machine *m) noexcept nogil:
    """save.tph_save_st: the ST entries after the TPH buffer's Control dword."""
    cdef int tph = m.d.fn.caps.tph
    cdef int b = m.d.buf_tph
    cdef int i
    if not tph or b < 0:
        return
    for i in range(m.d.tph_entries):
        buf_set_u16(m, b, 2 + i, io_read(m, tph + 0x0C + 2 * i, 2))
    m.st.dev.buf_epoch[b] = m.st.dev.save_count


cdef bint vc_save(Machine *m) noexcept nogil:
    """save.vc_save: Port VC Control (4-byte slot), then each VC's Resource Control; False without
    a buffer. Arbitration tables are not modelled (their registers are opaque in the device model)."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef int k, n, b, off
    for k in range(c.n_vc):
        b = m.d.buf_vc[k]
        if b < 0:
            return False
        off = c.vc_off[k]
        buf_set_u32(m, b, 0, io_read(m, off + 0x0C, 2))
        for n in range(c.vc_count[k]):
            buf_set_u32(m, b, 1 + n, io_read(m, off + 0x10 + 12 * n + 4, 4))
        m.st.dev.buf_epoch[b] = m.st.dev.save_count
    return True


cdef bint save_step(Machine *m, int kind, int64_t epoch) noexcept nogil:
    if kind == S_CONFIG_SPACE:
        return save_config_space(m, epoch)
    if kind == S_PCIE:
        return save_pcie(m, epoch)
    if kind == S_PCIX:
        return save_pcix(m, epoch)
    if kind == S_DPC:
        return save_dpc(m, epoch)
    if kind == S_AER:
        return save_aer(m, epoch)
    if kind == S_PTM:
        return save_ptm(m, epoch)
    if kind == S_TPH:
        return save_tph(m, epoch)
    if kind == S_VC:
        return save_vc(m, epoch)
    return True


cdef bint save_gate_open(Machine *m, int kind) noexcept nogil:
    """live_flags.STEP_FLAGS: the live flag a step's `live_flag` gate reads (True for steps without one)."""
    if kind == S_TPH:
        return m.st.dev.tph_enabled != 0
    if kind == S_PTM:
        return m.st.dev.ptm_enable_cnt > 0
    return True


cdef int pci_save_state(Machine *m) noexcept nogil:
    """pci_save_state: the policy's save steps in order; a step that fails ends the save."""
    cdef KernelDev *dev = &m.st.dev
    cdef int i, kind, gate, prev
    cdef int64_t epoch
    dev.save_count += 1
    epoch = dev.save_count
    m.st.latest_save_epoch = epoch
    dev.partial_load = 0
    m.work += m.pol.n_save
    for i in range(m.pol.n_save):
        gate = m.pol.save_gate[i]
        kind = m.pol.save_kind[i]
        if gate == GATE_NEVER:
            continue
        if gate == GATE_LIVE_FLAG and not save_gate_open(m, kind):
            continue
        prev = m.step
        m.step = STEP_SAVE_BASE + m.pol.save_step[i]
        if not save_step(m, kind, epoch):
            m.step = prev
            return ENOMEM_
        m.step = prev
    return 0


# --- the blob (§1.3) ------------------------------------------------------------------------

cdef inline uint8_t *blob_pool(Machine *m, Blob *blob) noexcept nogil:
    return m.blob_pool if blob == &m.st.vfio.blob else m.pm_save_pool


cdef void clear_blob(Machine *m, Blob *blob) noexcept nogil:
    """Drop a blob (kfree): zero it so the state stays canonical."""
    memset(blob, 0, sizeof(Blob))
    memset(blob_pool(m, blob), 0, m.pool_size)


cdef void pci_store_saved_state(Machine *m, Blob *blob) noexcept nogil:
    """pci_store_saved_state: NULL unless state_saved; otherwise the snapshot as it stands (records
    in hlist order; here one record per buffer, each keeping its epoch)."""
    cdef KernelDev *dev = &m.st.dev
    cdef int i
    if not dev.state_saved:
        clear_blob(m, blob)
        return
    blob.present = 1
    for i in range(16):
        blob.config[i] = dev.saved_config[i]
    blob.config_epoch = dev.config_epoch
    for i in range(m.d.fn.n_bufs):
        blob.epochs[i] = dev.buf_epoch[i]
    memcpy(blob_pool(m, blob), m.pool, m.pool_size)


cdef int pci_load_saved_state(Machine *m, Blob *blob) noexcept nogil:
    """pci_load_saved_state: clear state_saved; copy config, then each record. Every record of a
    blob the engine stores comes from this function's own buffers, so sizes always match and the
    -EINVAL partial load of the reference model (a record with no same-size buffer) cannot happen."""
    cdef KernelDev *dev = &m.st.dev
    cdef int i
    dev.state_saved = 0
    if blob == NULL or not blob.present:
        return 0
    for i in range(16):
        dev.saved_config[i] = blob.config[i]
    dev.config_epoch = blob.config_epoch
    for i in range(6):
        dev.bar_epoch[i] = blob.config_epoch
    for i in range(m.d.fn.n_bufs):
        dev.buf_epoch[i] = blob.epochs[i]
    memcpy(m.pool, blob_pool(m, blob), m.pool_size)
    dev.partial_load = 0
    dev.state_saved = 1
    return 0
