# The engine's invariant checks (fuzzcore/model/oracle.py; names and meanings in
# fuzzcore/model/invariants.py). Checked where they happen: at a write (order), at restore entry and
# exit, at MMIO (in _engine_access.pxi) and at the end of each op. A report is an integer record;
# the Violation object is built after the run.

cdef inline uint64_t refines(int invariant, int reg) noexcept nogil:
    """intent.REFINES: the intent fields a report of (invariant, register) refines."""
    if invariant == INV_USED_WITHOUT_RESTORE and reg == REG_CONFIG:
        return (1ULL << N_INTENT) - 1
    if invariant == INV_MSI_WITHOUT_BUS_MASTER and reg == REG_COMMAND:
        return 1ULL << IF_MASTER
    if invariant == INV_RESTORE_ALL_ONES:
        if reg == REG_COMMAND:
            return REFINES_ALL_ONES_COMMAND
        if REG_BAR0 <= reg <= REG_BAR5:
            return 1ULL << (IF_BAR0 + reg - REG_BAR0)
    if invariant == INV_SNAPSHOT_BAR_STALE and REG_BAR0 <= reg <= REG_BAR5:
        return 1ULL << (IF_BAR0 + reg - REG_BAR0)
    if invariant == INV_RESTORE_OUTSIDE_D0 and reg == REG_MSIX:
        return 1ULL << IF_MSIX_MSG
    if invariant == INV_LIVE_FLAG_MISMATCH and REG_ATS <= reg <= REG_TPH:
        return 1ULL << (IF_FEATURE0 + reg - REG_ATS)
    if invariant == INV_VCONFIG_MISMATCH and reg == REG_COMMAND:
        return (1ULL << IF_MEMORY) | (1ULL << IF_IO)
    if invariant == INV_RESTORE_UNSAVED_BUFFER:
        if reg == REG_TPH:
            return 1ULL << (IF_FEATURE0 + F_TPH)
        if reg == REG_PTM:
            return 1ULL << (IF_FEATURE0 + F_PTM)
        if reg == REG_PCIE:
            return REFINES_PCIE
        if reg == REG_L1SS:
            return REFINES_L1SS
        if reg == REG_VC:
            return REFINES_VC
    if invariant == INV_MMIO_DECODE_OFF and REG_MSIX_NOT_ANSWERING <= reg <= REG_MSIX_BAR_MOVED:
        return 1ULL << IF_MSIX_MSG
    return 0


cdef void report(Machine *m, int invariant, int reg, int msg, uint64_t a, uint64_t b,
                 uint64_t c) noexcept nogil:
    """Oracle.report: one record per bucket (invariant, op kind, register) per run."""
    cdef int i
    cdef ViolationRec *v
    m.refined_now |= refines(invariant, reg)
    for i in range(m.n_viol):
        v = &m.viol[i]
        if v.invariant == invariant and v.op_kind == m.op_kind and v.reg == reg:
            return
    if m.n_viol >= m.viol_cap:
        m.viol_dropped += 1
        return
    v = &m.viol[m.n_viol]
    v.invariant = invariant
    v.op_index = m.op_index
    v.op_kind = m.op_kind
    v.reg = reg
    v.step = m.step
    v.msg = msg
    v.a = a
    v.b = b
    v.c = c
    m.n_viol += 1


# --- at each kernel write ----------------------------------------------------------------------

cdef inline bint step_in_restore(int step) noexcept nogil:
    """m.step.startswith("pci_restore_state")."""
    return step == STEP_PCI_RESTORE_STATE or (STEP_RESTORE_BASE <= step < STEP_SAVE_BASE)


cdef uint32_t bar_decode_bit(Machine *m, int i) noexcept nogil:
    """oracle.bar_decode_bit: I/O for an I/O BAR, Memory for a memory BAR or the upper half of
    64-bit BAR i-1; 0 when dword i holds no BAR."""
    cdef int k
    for k in range(m.d.n_bars):
        if m.d.bars[k].kind != BAR_NONE and (m.d.bars[k].index == i or
                                             (m.d.bars[k].kind == BAR_MEM64 and m.d.bars[k].index + 1 == i)):
            return PCI_COMMAND_IO if m.d.bars[k].kind == BAR_IO else PCI_COMMAND_MEMORY
    return 0


cdef void check_write_order(Machine *m, int offset, int width, uint32_t value) noexcept nogil:
    """Oracle.check_write_order (H5/H7/H14/H17: the order pci_restore_state writes in)."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef uint32_t cmd
    cdef bint ats_on
    cdef uint32_t wm = 0
    cdef int i
    if m.user_access or not m.st.accessible or value == width_mask(width):
        return     # an all-ones write is restore_all_ones' / snapshot_all_ones' finding, not an order one
    # Only bits the register implements count (wmask): rewriting the value it holds changes nothing.
    for i in range(width):
        wm |= (<uint32_t>m.d.fn.wmask[offset + i]) << (8 * i)
    if ((raw_read(m.cfg, offset, width) ^ value) & wm) == 0:
        return
    if c.l1ss and (offset == c.l1ss + PCI_L1SS_CTL1 or offset == c.l1ss + PCI_L1SS_CTL2):
        check_l1ss_order(m, m.cfg, c.l1ss, offset - c.l1ss, raw_read(m.cfg, offset, width), value & wm)
    if not step_in_restore(m.step):
        return
    if 0x10 <= offset < 0x28 and m.d.header_type == 0:
        cmd = hw_read(m, PCI_COMMAND, 2)
        if cmd & bar_decode_bit(m, (offset - 0x10) // 4):
            report(m, INV_ORDER_VIOLATION, REG_BAR0 + (offset - 0x10) // 4, MSG_ORDER_BAR, cmd, 0, 0)
    ats_on = c.ats != 0 and (hw_read(m, c.ats + 6, 2) & 0x8000) != 0
    if ats_on and c.pasid and offset == c.pasid + 6:
        report(m, INV_ORDER_VIOLATION, REG_PASID, MSG_ORDER_PASID, 0, 0, 0)
    if c.ltr and c.exp and offset == c.ltr + 4 and hw_read(m, c.exp + 0x28, 2) & 0x400:
        report(m, INV_ORDER_VIOLATION, REG_LTR, MSG_ORDER_LTR, 0, 0, 0)
    if c.sriov and offset == c.sriov + 0x10 and hw_read(m, c.sriov + 8, 2) & 0x1:
        report(m, INV_ORDER_VIOLATION, REG_SRIOV, MSG_ORDER_SRIOV, 0, 0, 0)


cdef void check_port_write_order(Machine *m, int offset, int width, uint32_t value) noexcept nogil:
    """Oracle.check_port_write_order: the L1SS rules at the port's end of the link."""
    cdef int l1ss = m.d.port.caps.l1ss
    cdef uint32_t wm = 0
    cdef int i
    if m.user_access or l1ss == 0 or width != 4 or value == 0xFFFFFFFFU:
        return
    if offset != l1ss + PCI_L1SS_CTL1 and offset != l1ss + PCI_L1SS_CTL2:
        return
    for i in range(4):
        wm |= (<uint32_t>m.d.port.wmask[offset + i]) << (8 * i)
    if ((raw_read(m.pcfg, offset, 4) ^ value) & wm) == 0:
        return
    check_l1ss_order(m, m.pcfg, l1ss, offset - l1ss, raw_read(m.pcfg, offset, 4), value & wm)


cdef void check_l1ss_order(Machine *m, uint8_t *cfg, int l1ss, int rel, uint32_t cur, uint32_t new) noexcept nogil:
    """Oracle._check_l1ss_order, at the end written (cfg, l1ss): ASPM off at both ends while L1SS
    changes; CTL2 while L1.2 is off; the CTL1 timing fields before the L1.2 enables."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef bint port_aspm = (m.d.has_port and m.d.port.caps.exp != 0
                           and (port_read(m, m.d.port.caps.exp + 0x10, 2) & 0x3) != 0)
    if (c.exp != 0 and raw_read(m.cfg, c.exp + 0x10, 1) & 0x3) or port_aspm:   # the function's own LNKCTL
        report(m, INV_ORDER_VIOLATION, REG_L1SS, MSG_ORDER_L1SS_ASPM, 0, 0, 0)
    elif rel == PCI_L1SS_CTL2 and raw_read(cfg, l1ss + PCI_L1SS_CTL1, 4) & PCI_L1SS_CTL1_L1_2_MASK:
        report(m, INV_ORDER_VIOLATION, REG_L1SS, MSG_ORDER_L1SS_CTL2, 0, 0, 0)
    elif (rel == PCI_L1SS_CTL1 and not cur & PCI_L1SS_CTL1_L1_2_MASK and new & PCI_L1SS_CTL1_L1_2_MASK
          and (cur ^ new) & 0xE3FFFF00U):
        report(m, INV_ORDER_VIOLATION, REG_L1SS, MSG_ORDER_L1SS_TIMING, 0, 0, 0)


# --- around pci_restore_state -------------------------------------------------------------------

cdef void before_restore(Machine *m, bint intended_epoch) noexcept nogil:
    """Oracle.before_restore."""
    cdef KernelDev *dev = &m.st.dev
    if dev.msix_enabled and (dev.current_state != D0 or hw_power_state(m) != D0) and not dpc_contained(m):
        report(m, INV_RESTORE_OUTSIDE_D0, REG_MSIX, MSG_OUTSIDE_D0, hw_power_state(m), dev.current_state, 0)
    if dev.partial_load:
        report(m, INV_RESTORE_AFTER_FAILED_LOAD, REG_CONFIG, MSG_FAILED_LOAD, 0, 0, 0)
    if dev.config_epoch < m.st.latest_save_epoch and not intended_epoch:
        report(m, INV_RESTORE_OLDER_SNAPSHOT, REG_CONFIG, MSG_OLDER_SNAPSHOT,
               m.st.latest_save_epoch, dev.config_epoch, 0)


cdef void check_all_ones_write(Machine *m, int index) noexcept nogil:
    """Oracle.check_all_ones_write: pci_restore_config_dword is about to write an all-ones saved
    dword to a function that answers (one that does not reads all-ones, equal, and is skipped)."""
    cdef int i
    if index == 1:
        report(m, INV_RESTORE_ALL_ONES, REG_COMMAND, MSG_ALL_ONES_COMMAND, 0, 0, 0)
    elif m.d.header_type == 0 and 4 <= index <= 9 and not m.d.virtfn:   # a VF's BARs are RO zero
        for i in range(m.d.n_bars):
            if m.d.bars[i].kind != BAR_NONE and m.d.bars[i].index == index - 4:
                report(m, INV_RESTORE_ALL_ONES, REG_BAR0 + index - 4, MSG_ALL_ONES_BAR, 0, 0, 0)


cdef void check_snapshot_bars(Machine *m) noexcept nogil:
    """Oracle.check_snapshot_bars: at pci_restore_config_space, what it is about to write vs the
    kernel's resources."""
    cdef KernelDev *dev = &m.st.dev
    cdef int i, idx
    cdef uint32_t lo
    cdef uint64_t mask, saved
    cdef BarDesc *b
    if m.d.header_type != 0 or m.d.virtfn:
        return                         # a VF's BARs are RO zero: what the snapshot holds lands nowhere
    if dpc_contained(m):
        return                         # the port in DPC containment drops every write of the restore
    for i in range(m.d.n_bars):
        b = &m.d.bars[i]
        if b.kind == BAR_NONE:
            continue
        idx = b.index
        lo = dev.saved_config[4 + idx]
        if lo == 0xFFFFFFFFU:
            continue                   # restore_all_ones, if the restore writes it (check_all_ones_write)
        mask = ~(b.size - 1)
        saved = lo & (0xFFFFFFFCU if b.kind == BAR_IO else 0xFFFFFFF0U)
        if b.kind == BAR_MEM64:
            saved |= (<uint64_t>dev.saved_config[5 + idx]) << 32
        if (saved & mask) != (dev.resources[idx] & mask):
            report(m, INV_SNAPSHOT_BAR_STALE, REG_BAR0 + idx, MSG_BAR_STALE, dev.resources[idx], saved, 0)


cdef void live_flag_mismatches(Machine *m, int8_t *out) noexcept nogil:
    """Oracle.live_flag_mismatches: out[F_*] = the live flag where it disagrees with the hardware
    enable bit, else -1 (all -1 while config space does not answer)."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef KernelDev *dev = &m.st.dev
    cdef int i
    cdef int live, en
    for i in range(N_FEATURES):
        out[i] = -1
    if not m.st.accessible:
        return
    if c.tph:
        live = dev.tph_enabled != 0
        en = (raw_read(m.cfg, c.tph + 8, 4) & 0x300) != 0
        if live != en:
            out[F_TPH] = live
    if c.msix:
        live = dev.msix_enabled != 0
        en = (raw_read(m.cfg, c.msix + 2, 2) & 0x8000) != 0
        if live != en:
            out[F_MSIX] = live
    if c.msi:
        live = dev.msi_enabled != 0
        en = (raw_read(m.cfg, c.msi + 2, 2) & 0x1) != 0
        if live != en:
            out[F_MSI] = live
    if c.ats:
        live = dev.ats_enabled != 0
        en = (raw_read(m.cfg, c.ats + 6, 2) & 0x8000) != 0
        if live != en:
            out[F_ATS] = live
    if c.pasid:
        live = dev.pasid_enabled != 0
        en = (raw_read(m.cfg, c.pasid + 6, 2) & 0x1) != 0
        if live != en:
            out[F_PASID] = live
    if c.pri:
        live = dev.pri_enabled != 0
        en = (raw_read(m.cfg, c.pri + 4, 2) & 0x1) != 0
        if live != en:
            out[F_PRI] = live
    if c.ptm:
        live = dev.ptm_enable_cnt > 0 and not dev.ptm_suspended    # live_flags.FEATURE_ENABLES
        en = (raw_read(m.cfg, c.ptm + 8, 4) & 0x1) != 0
        if live != en:
            out[F_PTM] = live
    if c.sriov:
        live = dev.sriov_num_vfs > 0
        en = (raw_read(m.cfg, c.sriov + 8, 2) & 0x1) != 0
        if live != en:
            out[F_SRIOV] = live


cdef void after_restore(Machine *m) noexcept nogil:
    """Oracle.after_restore: each live flag and its enable bit agree after a restore (unless they
    already disagreed when the op began); MSI with Bus Master turned off by the restore."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef int8_t mm[N_FEATURES]
    cdef int f
    cdef uint32_t cmd
    cdef bint msi_on
    if not m.st.accessible:
        return
    live_flag_mismatches(m, mm)
    for f in range(N_FEATURES):          # sorted by register name, as the reference iterates
        if mm[f] >= 0 and mm[f] != m.mm_start[f] and m.lf_pending[f] < 0:
            m.lf_pending[f] = mm[f]      # reported at the end of the op if it still stands
            m.lf_pending_step[f] = m.step
    cmd = raw_read(m.cfg, PCI_COMMAND, 2)
    msi_on = ((c.msix != 0 and (raw_read(m.cfg, c.msix + 2, 2) & 0x8000) != 0)
              or (c.msi != 0 and (raw_read(m.cfg, c.msi + 2, 2) & 0x1) != 0))
    if msi_on and not cmd & PCI_COMMAND_MASTER and m.cmd_at_op_start & PCI_COMMAND_MASTER:
        report(m, INV_MSI_WITHOUT_BUS_MASTER, REG_COMMAND, MSG_MSI_NO_BUS_MASTER, cmd, 0, 0)


# --- at the end of each op ------------------------------------------------------------------------

cdef void end_of_op(Machine *m) noexcept nogil:
    """Oracle.end_of_op: state that must agree after every op, reported by the op that makes it
    true, not again by each later op while it stands."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef CapOffsets *pc = &m.d.port.caps
    cdef int64_t before = m.st.standing
    cdef int64_t standing = 0
    cdef uint32_t hw_cmd, diff
    cdef int8_t mm_now[N_FEATURES]
    cdef int f, prev
    cdef bint pending = False
    for f in range(N_FEATURES):
        pending = pending or m.lf_pending[f] >= 0
    if pending:                          # Oracle.end_of_op: a restore's mismatch that still stands
        live_flag_mismatches(m, mm_now)
        for f in range(N_FEATURES):
            if m.lf_pending[f] >= 0 and mm_now[f] == m.lf_pending[f]:
                prev = m.step
                m.step = m.lf_pending_step[f]
                report(m, INV_LIVE_FLAG_MISMATCH, REG_ATS + f, MSG_LIVE_FLAG, mm_now[f], 1 - mm_now[f], 0)
                m.step = prev
            m.lf_pending[f] = -1
    intent_track(m)
    m.st.standing = 0
    if not m.st.accessible:
        m.st.standing = check_intent(m, before)    # not usable: only keeps what stood
        m.refined_now = 0
        return
    if m.st.vfio.open and not m.d.virtfn and m.st.dev.rpm_suspended:
        standing |= before & STAND_VCONFIG  # oracle: every way in resumes and restores it first
    elif m.st.vfio.open and not m.d.virtfn:   # a VF decodes by its PF's VF MSE: vfio's bits are all there is
        hw_cmd = raw_read(m.cfg, PCI_COMMAND, 2)
        diff = (hw_cmd ^ <uint32_t>m.st.vfio.vconfig_command) & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO)
        if diff:
            standing |= STAND_VCONFIG
            if not before & STAND_VCONFIG:
                report(m, INV_VCONFIG_MISMATCH, REG_COMMAND, MSG_VCONFIG,
                       m.st.vfio.vconfig_command & 3, hw_cmd & 3, 0)
    if m.d.has_port:
        if c.exp and pc.exp and c.ltr:
            if (raw_read(m.cfg, c.exp + 0x28, 2) & 0x400) and not (port_read(m, pc.exp + 0x28, 2) & 0x400):
                standing |= STAND_LTR
                if not before & STAND_LTR:
                    report(m, INV_UPSTREAM_FEATURE_OFF, REG_LTR, MSG_UPSTREAM_LTR, 0, 0, 0)
        if c.ptm and pc.ptm:
            if (raw_read(m.cfg, c.ptm + 8, 4) & 0x1) and not (port_read(m, pc.ptm + 8, 4) & 0x1):
                standing |= STAND_PTM
                if not before & STAND_PTM:
                    report(m, INV_UPSTREAM_FEATURE_OFF, REG_PTM, MSG_UPSTREAM_PTM, 0, 0, 0)
    standing |= check_intent(m, before)
    m.refined_now = 0
    m.st.standing = standing


# --- intent beside the hardware (fuzzcore/model/intent.py) -----------------------------------------

cdef inline uint64_t intent_bar_raw(Machine *m, int i) noexcept nogil:
    """intent._bar_value: BAR i's address in raw storage (a VF: its share of the PF's VF BAR)."""
    cdef int kind = m.d.bars[m.d.bar_pos[i]].kind
    cdef uint64_t lo = raw_read(m.cfg, 0x10 + 4 * i, 4)
    if m.d.virtfn:
        return m.d.bars[m.d.bar_pos[i]].image_addr
    if kind == BAR_IO:
        return lo & ~(<uint64_t>0x3)
    lo &= ~(<uint64_t>0xF)
    if kind == BAR_MEM64:
        lo |= (<uint64_t>raw_read(m.cfg, 0x14 + 4 * i, 4)) << 32
    return lo


cdef inline bint intent_bar_implemented(Machine *m, int i) noexcept nogil:
    return m.d.header_type == 0 and m.d.bar_pos[i] >= 0 and m.d.bars[m.d.bar_pos[i]].kind != BAR_NONE


cdef inline uint64_t intent_msi_raw(Machine *m) noexcept nogil:
    cdef int off = m.d.fn.caps.msi
    cdef uint32_t ctrl = raw_read(m.cfg, off + 2, 2)
    return ((<uint64_t>raw_read(m.cfg, off + 4, 4)) << 32) | raw_read(m.cfg, off + (0x0C if ctrl & 0x80 else 0x08), 2)


cdef inline uint64_t intent_msix_entry(Machine *m, int i) noexcept nogil:
    return ((<uint64_t>raw_read(m.msix, 16 * i, 4)) << 32) | raw_read(m.msix, 16 * i + 8, 4)


cdef void intent_feature(Machine *m, int f, int *off, int *reg, int *width, uint32_t *mask) noexcept nogil:
    """live_flags.FEATURE_ENABLES for feature F_* (ATS, MSI, MSI-X, PASID, PRI, PTM, SR-IOV, TPH)."""
    cdef CapOffsets *c = &m.d.fn.caps
    if f == F_ATS:
        off[0] = c.ats; reg[0] = 0x06; width[0] = 2; mask[0] = 0x8000
    elif f == F_MSI:
        off[0] = c.msi; reg[0] = 0x02; width[0] = 2; mask[0] = 0x0001
    elif f == F_MSIX:
        off[0] = c.msix; reg[0] = 0x02; width[0] = 2; mask[0] = 0x8000
    elif f == F_PASID:
        off[0] = c.pasid; reg[0] = 0x06; width[0] = 2; mask[0] = 0x0001
    elif f == F_PRI:
        off[0] = c.pri; reg[0] = 0x04; width[0] = 2; mask[0] = 0x0001
    elif f == F_PTM:
        off[0] = c.ptm; reg[0] = 0x08; width[0] = 4; mask[0] = 0x0001
    elif f == F_SRIOV:
        off[0] = c.sriov; reg[0] = 0x08; width[0] = 2; mask[0] = 0x0001
    else:
        off[0] = c.tph; reg[0] = 0x08; width[0] = 4; mask[0] = 0x0300


cdef inline int intent_live_flag(Machine *m, int f) noexcept nogil:
    cdef KernelDev *d = &m.st.dev
    if f == F_ATS:
        return d.ats_enabled != 0
    if f == F_MSI:
        return d.msi_enabled != 0
    if f == F_MSIX:
        return d.msix_enabled != 0
    if f == F_PASID:
        return d.pasid_enabled != 0
    if f == F_PRI:
        return d.pri_enabled != 0
    if f == F_PTM:
        return d.ptm_enable_cnt > 0 and not d.ptm_suspended
    if f == F_SRIOV:
        return d.sriov_num_vfs > 0
    return d.tph_enabled != 0


cdef void intent_hardware_values(Machine *m, uint64_t *out, bint rows) noexcept nogil:
    """intent.hardware_values: every field's value in raw storage (the written rows only when
    `rows`: intent_track reads those it must itself)."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef uint32_t cmd = raw_read(m.cfg, PCI_COMMAND, 2)
    cdef int i, k, off, reg, width
    cdef uint32_t mask
    cdef uint64_t h = 0
    out[IF_MEMORY] = (cmd >> 1) & 1
    out[IF_IO] = cmd & 1
    out[IF_MASTER] = (cmd >> 2) & 1
    out[IF_POWER] = (raw_read(m.cfg, c.pm + 4, 2) & 0x3) if c.pm else 0
    for i in range(6):
        out[IF_BAR0 + i] = intent_bar_raw(m, i) if intent_bar_implemented(m, i) else 0
    for i in range(N_FEATURES):
        intent_feature(m, i, &off, &reg, &width, &mask)
        out[IF_FEATURE0 + i] = 1 if off and (raw_read(m.cfg, off + reg, width) & mask) else 0
    out[IF_MSI_MSG] = intent_msi_raw(m) if c.msi else 0
    if c.msix:
        for i in range(m.st.dev.n_msix_descs):
            h = (h * 1000003ULL) ^ intent_msix_entry(m, i)
    out[IF_MSIX_MSG] = h
    if not rows:
        return
    for i in range(m.d.n_wr):                # absent rows stay 0, as intent_init left them
        k = m.d.wr_rows[i]
        out[IF_WRITTEN1 + k - 1] = written_hw(m, k)


cdef inline uint32_t written_hw(Machine *m, int k) noexcept nogil:
    """intent.written_hw: WRITTEN row k's compared bits in raw storage (0 when absent)."""
    if m.d.wr_off[k] < 0:
        return 0
    return raw_read(m.pcfg if m.d.wr_port[k] else m.cfg, m.d.wr_off[k], m.d.wr_width[k]) & m.d.wr_cmp[k]


cdef void intent_reset(Machine *m, const uint64_t *prev, const uint32_t *written) noexcept nogil:
    """intent_init of the initial state, from its values computed once (Engine._reset)."""
    memcpy(m.intent_prev, prev, sizeof(m.intent_prev))
    memcpy(m.written, written, sizeof(m.written))
    memset(m.intent_op, 0xFF, sizeof(m.intent_op))          # -1
    memset(m.intent_kind, 0xFF, sizeof(m.intent_kind))
    memset(m.written_op, 0xFF, sizeof(m.written_op))
    memset(m.written_kind, 0xFF, sizeof(m.written_kind))
    memset(m.written_step, 0xFF, sizeof(m.written_step))
    m.refined_now = 0
    m.wr_dirty = 0
    m.wr_started = 0
    m.intent_all = 1
    m.lost_op = -2
    m.read_lost_op = -2


cdef void intent_init(Machine *m) noexcept nogil:
    """Oracle.init_intent: the hardware as enumeration leaves it, changed by no op yet."""
    cdef int f
    m.refined_now = 0
    m.wr_dirty = 0
    m.wr_started = 0
    m.intent_all = 1
    m.lost_op = -2
    m.read_lost_op = -2
    for f in range(N_INTENT):
        m.intent_prev[f] = 0
    intent_hardware_values(m, m.intent_prev, True)
    for f in range(N_INTENT):
        m.intent_op[f] = -1
        m.intent_kind[f] = -1
    for f in range(N_WRITTEN):
        m.written[f] = (raw_read(m.pcfg if m.d.wr_port[f] else m.cfg, m.d.wr_off[f], m.d.wr_width[f])
                        if m.d.wr_off[f] >= 0 else 0)
        m.written_op[f] = -1
        m.written_kind[f] = -1
        m.written_step[f] = -1


cdef void intent_track(Machine *m) noexcept nogil:
    """The op that last changed each field's hardware value."""
    cdef uint64_t now[N_INTENT]
    cdef int f, i
    cdef int k
    cdef uint64_t v
    intent_hardware_values(m, now, False)
    for f in range(IF_WRITTEN1):
        if now[f] != m.intent_prev[f]:
            m.intent_prev[f] = now[f]
            m.intent_op[f] = m.op_index
            m.intent_kind[f] = m.op_kind
    # the written rows this device has, only those written or reset since the last end_of_op
    for i in range(m.d.n_wr):
        k = m.d.wr_rows[i]
        if not m.intent_all and not (m.wr_dirty >> k) & 1:
            continue
        f = IF_WRITTEN1 + k - 1
        v = written_hw(m, k)
        if v != m.intent_prev[f]:
            m.intent_prev[f] = v
            m.intent_op[f] = m.op_index
            m.intent_kind[f] = m.op_kind


cdef inline bint intent_active(Machine *m) noexcept nogil:
    """intent._active: config space answers, the channel is normal, D0, runtime PM active."""
    cdef KernelDev *d = &m.st.dev
    return m.st.accessible and d.error_state == ERR_NORMAL and d.current_state == D0 and not d.rpm_suspended


cdef inline bint intent_usable(Machine *m) noexcept nogil:
    """intent.usable: the kernel believes the device usable."""
    return intent_active(m) and not m.st.needs_restore_after_reset


cdef inline bint intent_usable_unrestored(Machine *m) noexcept nogil:
    """intent.usable_unrestored: usable but for a reset no pci_restore_state has followed."""
    return intent_active(m) and m.st.needs_restore_after_reset


cdef uint8_t OP_RETURNS_TO_USER[N_ENGINE_OPS]    # op_table.RETURNS_TO_USER_SPACE by engine op (_engine_api)


cdef void returned_to_user(Machine *m) noexcept nogil:
    """Oracle.returned_to_user: an op that returns to user space reset the function and left it in
    use with nothing restored."""
    if m.reset_in_op and not m.st.vfio.qemu_resetting and intent_usable_unrestored(m) \
            and m.st.dev.driver != DRV_NONE:
        report(m, INV_USED_WITHOUT_RESTORE, REG_CONFIG, MSG_RETURNED_WITHOUT_RESTORE, 0, 0, 0)


cdef int64_t check_core_restored(Machine *m, int64_t before, int64_t standing) noexcept nogil:
    """Oracle._check_intent while a restore is pending: intent.CORE_RESTORED (BAR0-5, the VF BAR
    rows) compared; `standing` (what the not-usable rule kept) has their bits replaced."""
    cdef KernelDev *d = &m.st.dev
    cdef int i, k, f
    for i in range(6):
        standing &= ~((<int64_t>STAND_INTENT0) << (IF_BAR0 + i))
        if intent_bar_implemented(m, i):
            standing |= intent_one(m, before, IF_BAR0 + i, 0, d.resources[i], intent_bar_raw(m, i), -1)
    for k in range(W_VF_BAR0, W_VF_BAR0 + 6):
        f = IF_WRITTEN1 + k - 1          # intent_prev: intent_track read every row this end_of_op or kept it
        standing &= ~((<int64_t>STAND_INTENT0) << f)     # an absent row (no SR-IOV) stands for nothing
        if m.d.wr_off[k] >= 0:
            standing |= intent_one(m, before, f, 0, m.written[k] & m.d.wr_cmp[k], m.intent_prev[f], k)
    return standing


cdef inline uint64_t clamp_index(int32_t op_index) noexcept nogil:
    return <uint64_t>(op_index + 1) if op_index + 1 < 0xFFFF else 0xFFFFULL


cdef inline int64_t intent_one(Machine *m, int64_t before, int f, int vec, uint64_t want,
                               uint64_t got, int w) noexcept nogil:
    """One field with an intent: its standing bit when it differs (reported unless it stood
    already or a more precise invariant flagged it in this op). w: its WRITTEN row, -1 derived."""
    cdef int64_t bit = (<int64_t>STAND_INTENT0) << f
    cdef uint64_t packed
    if want == got:
        return 0
    if not before & bit and not (m.refined_now >> f) & 1:
        packed = ((<uint64_t>f) | ((<uint64_t>vec) << 8) | ((<uint64_t>(m.intent_kind[f] + 1)) << 16)
                  | (clamp_index(m.intent_op[f]) << 24))       # intent.pack
        if w >= 0:
            packed |= ((<uint64_t>(m.written_kind[w] + 1)) << 40) | (clamp_index(m.written_op[w]) << 48)
            want |= (<uint64_t>(m.written_step[w] + 1)) << 32    # a written intent is 32 bits at most
        report(m, INV_INTENT_MISMATCH, REG_INTENT0 + f, MSG_INTENT, want, got, packed)
    return bit


cdef int64_t check_intent(Machine *m, int64_t before) noexcept nogil:
    """Oracle._check_intent: while usable, every field with an intent equals the hardware."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef KernelDev *d = &m.st.dev
    cdef int64_t standing = 0
    cdef int i, off, reg, width
    cdef int k, f
    cdef uint32_t mask, bit
    cdef uint64_t want, got
    if not intent_usable(m):
        # nothing compared; a mismatch that stood keeps standing unless this op changed the field
        for i in range(N_INTENT):
            if ((before >> (3 + i)) & 1 and m.intent_op[i] != m.op_index) or (m.refined_now >> i) & 1:
                standing |= (<int64_t>STAND_INTENT0) << i
        if m.bars_owed and intent_usable_unrestored(m):
            standing = check_core_restored(m, before, standing)
        m.intent_all = 1          # the next usable end_of_op compares every row again
        m.wr_dirty = 0
        return standing
    if d.driver != DRV_NONE:
        # Command's bits: the last deliberate write (vconfig_mismatch owns Memory/IO while open);
        # the hardware values are intent_prev's: intent_track read them in this end_of_op
        for i in range(3):
            bit = 0x2 if i == IF_MEMORY else (0x1 if i == IF_IO else 0x4)
            if i != IF_MASTER and m.st.vfio.open:
                continue
            if m.d.wr_cmp[W_COMMAND] & bit:
                standing |= intent_one(m, before, i, 0, 1 if m.written[W_COMMAND] & bit else 0,
                                       m.intent_prev[i], W_COMMAND)
    # the hardware values below are intent_prev's too (intent_track read them in this end_of_op)
    if c.pm:
        standing |= intent_one(m, before, IF_POWER, 0, <uint64_t>d.current_state, m.intent_prev[IF_POWER], -1)
    for i in range(6):
        if intent_bar_implemented(m, i):
            standing |= intent_one(m, before, IF_BAR0 + i, 0, d.resources[i], m.intent_prev[IF_BAR0 + i], -1)
    for i in range(N_FEATURES):
        intent_feature(m, i, &off, &reg, &width, &mask)
        if off:
            standing |= intent_one(m, before, IF_FEATURE0 + i, 0, <uint64_t>intent_live_flag(m, i),
                                   m.intent_prev[IF_FEATURE0 + i], -1)
    if c.msi and d.msi_enabled:
        standing |= intent_one(m, before, IF_MSI_MSG, 0,
                               ((<uint64_t>d.msi_msg[0]) << 32) | (d.msi_msg[2] & 0xFFFF), m.intent_prev[IF_MSI_MSG], -1)
    if c.msix and d.msix_enabled:
        for i in range(d.n_msix_descs):
            want = ((<uint64_t>d.msix_descs[i].addr_lo) << 32) | d.msix_descs[i].data
            got = intent_msix_entry(m, i)
            if want != got:
                standing |= intent_one(m, before, IF_MSIX_MSG, i, want, got, -1)
                break
    # Written rows: O(rows written or reset since the last end_of_op). A row neither written nor
    # reset since a usable end_of_op holds the same intent and hardware, so its standing bit (and
    # no report) is what it was. MSI mask depends on dev->msi_enabled too: always compared.
    for i in range(m.d.n_wr):
        k = m.d.wr_rows[i]
        f = IF_WRITTEN1 + k - 1
        if not m.intent_all and not (m.wr_dirty >> k) & 1 and k != W_MSI_MASK:
            standing |= before & ((<int64_t>STAND_INTENT0) << f)
            continue
        if k == W_MSI_MASK and not d.msi_enabled:
            continue
        standing |= intent_one(m, before, f, 0, m.written[k] & m.d.wr_cmp[k], m.intent_prev[f], k)
    m.intent_all = 0
    m.wr_dirty = 0
    return standing
