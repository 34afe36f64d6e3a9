# pci_restore_state (drivers/pci/pci.c, kernel.md §3): the policy's restore steps in order;
# mirrors fuzzcore/model/restore.py. A step's gate (always / live_flag / never) and source
# (snapshot / live) come from the policy; the step checks the buffers it reads from (epoch).

cdef enum:
    PCI_EXP_DEVCTL2 = 0x28
    PCI_EXP_DEVCTL2_LTR_EN = 0x400
    PCI_EXP_LNKCTL = 0x10
    PCI_EXP_LNKCTL_ASPMC = 0x3
    PCI_L1SS_CTL1 = 0x08
    PCI_L1SS_CTL2 = 0x0C
    PCI_L1SS_CTL1_L1_2_MASK = 0x5   # PCI-PM L1.2 | ASPM L1.2


cdef void check_epoch(Machine *m, int b, int reg) noexcept nogil:
    """_check_epoch: a restore may only push a buffer that the snapshot's own save filled (H2/H3);
    not after an all-ones save (restore_all_ones is that restore's finding)."""
    cdef int64_t e = m.st.dev.buf_epoch[b]
    if m.st.dev.saved_config[1] == 0xFFFFFFFFU:
        return
    if e != m.st.dev.config_epoch:
        report(m, INV_RESTORE_UNSAVED_BUFFER, reg, MSG_UNSAVED_NEVER if e == 0 else MSG_UNSAVED_OLD,
               m.st.dev.config_epoch, e, 0)


# --- step 1 ---------------------------------------------------------------------------------

cdef void restore_ltr(Machine *m) noexcept nogil:
    """pci_restore_ltr_state: latencies back before DEVCTL2 re-enables LTR."""
    cdef int b = m.d.buf_ltr
    if m.d.fn.caps.ltr and b >= 0:
        check_epoch(m, b, REG_LTR)
        io_write(m, m.d.fn.caps.ltr + 4, 4, buf_u32(m, b, 0))


cdef bint l1ss_link(Machine *m) noexcept nogil:
    """restore.l1ss_link: the function and its parent both have L1SS and a buffer for it."""
    return (m.d.fn.caps.l1ss != 0 and m.d.has_port and m.d.port.caps.l1ss != 0 and m.d.buf_l1ss >= 0
            and m.d.port_buf_l1ss)


cdef void l1ss_aspm(Machine *m, int back) noexcept nogil:
    """restore.l1ss_aspm: "off" (0) reads both LNKCTLs and clears ASPM at both ends (child, parent)
    if either has it; "back" (1) writes them back (parent, child) if it was on."""
    cdef int exp = m.d.fn.caps.exp
    cdef int pexp = m.d.port.caps.exp
    if not l1ss_link(m):
        return
    if not back:
        m.l1ss_clnk = io_read(m, exp + PCI_EXP_LNKCTL, 2)
        m.l1ss_plnk = port_read(m, pexp + PCI_EXP_LNKCTL, 2)
        m.l1ss_aspm_on = ((m.l1ss_clnk | m.l1ss_plnk) & PCI_EXP_LNKCTL_ASPMC) != 0
        if m.l1ss_aspm_on:
            io_write(m, exp + PCI_EXP_LNKCTL, 2, m.l1ss_clnk & ~(<uint32_t>PCI_EXP_LNKCTL_ASPMC))
            port_write(m, pexp + PCI_EXP_LNKCTL, 2, m.l1ss_plnk & ~(<uint32_t>PCI_EXP_LNKCTL_ASPMC))
    elif m.l1ss_aspm_on:
        port_write(m, pexp + PCI_EXP_LNKCTL, 2, m.l1ss_plnk)
        io_write(m, exp + PCI_EXP_LNKCTL, 2, m.l1ss_clnk)


cdef void l1ss_clear_l12(Machine *m, int parent) noexcept nogil:
    """restore.l1ss_clear_l12: the L1.2 enables off at one end (read-modify-write of CTL1)."""
    cdef uint32_t v
    cdef int off
    if not l1ss_link(m):
        return
    if parent:
        off = m.d.port.caps.l1ss + PCI_L1SS_CTL1
        v = port_read(m, off, 4)
        port_write(m, off, 4, v & ~(<uint32_t>PCI_L1SS_CTL1_L1_2_MASK))
    else:
        off = m.d.fn.caps.l1ss + PCI_L1SS_CTL1
        v = io_read(m, off, 4)
        io_write(m, off, 4, v & ~(<uint32_t>PCI_L1SS_CTL1_L1_2_MASK))


cdef uint32_t l1ss_saved(Machine *m, int parent, int ctl2) noexcept nogil:
    """restore.l1ss_saved: the child's buffer holds CTL2, CTL1; the parent's values its own."""
    if parent:
        return m.st.port.l1ss[1] if ctl2 else m.st.port.l1ss[0]
    return buf_u32(m, m.d.buf_l1ss, 1 if ctl2 else 0)


cdef void l1ss_write(Machine *m, int value) noexcept nogil:
    """restore.l1ss_write; value in paths order: parent_ctl2, child_ctl2, parent_ctl1_no_l12,
    child_ctl1_no_l12, parent_ctl1, child_ctl1."""
    cdef int parent = (value & 1) == 0
    cdef int ctl2 = value < 2
    cdef uint32_t v
    cdef int reg = PCI_L1SS_CTL2 if ctl2 else PCI_L1SS_CTL1
    if not l1ss_link(m):
        return
    check_epoch(m, m.d.buf_l1ss, REG_L1SS)          # restore.check_l1ss_buffer, at each write
    if parent and m.st.port.l1ss_epoch == 0:        # the parent's half never saved: zeros pushed
        report(m, INV_RESTORE_UNSAVED_BUFFER, REG_L1SS, MSG_UNSAVED_NEVER, m.st.dev.config_epoch, 0, 0)
    v = l1ss_saved(m, parent, ctl2)
    if value == 2 or value == 3:
        v &= ~(<uint32_t>PCI_L1SS_CTL1_L1_2_MASK)
    if parent:
        port_write(m, m.d.port.caps.l1ss + reg, 4, v)
    else:
        io_write(m, m.d.fn.caps.l1ss + reg, 4, v)


cdef bint l1ss_l12_saved(Machine *m) noexcept nogil:
    if not l1ss_link(m):
        return False
    return ((l1ss_saved(m, 1, 0) | l1ss_saved(m, 0, 0)) & PCI_L1SS_CTL1_L1_2_MASK) != 0


cdef void check_l1ss_buffer(Machine *m) noexcept nogil:
    if l1ss_link(m):
        check_epoch(m, m.d.buf_l1ss, REG_L1SS)


cdef void bridge_reconfigure_ltr(Machine *m) noexcept nogil:
    """pci_bridge_reconfigure_ltr: a port on an LTR path gets LTR Enable back (link down clears it)."""
    cdef int off
    cdef uint32_t v
    if not m.d.has_port or not m.st.port.ltr_path or not m.d.port.caps.exp:
        return
    off = m.d.port.caps.exp + PCI_EXP_DEVCTL2
    v = port_read(m, off, 2)
    if not v & PCI_EXP_DEVCTL2_LTR_EN:
        port_write(m, off, 2, v | PCI_EXP_DEVCTL2_LTR_EN)


cdef void restore_pcie(Machine *m, int source) noexcept nogil:
    """restore.restore_pcie: the policy path pci_restore_pcie_state (§3.1)."""
    run_path(m, PATH_RESTORE_PCIE_STATE, 0)


cdef void restore_pcie_registers(Machine *m) noexcept nogil:
    """restore.restore_pcie_registers: DEVCTL..LNKCTL2 from the PCIe buffer (SLTCTL2 never)."""
    cdef int b = m.d.buf_exp
    cdef int i, reg
    if not m.d.fn.caps.exp or b < 0:
        return
    check_epoch(m, b, REG_PCIE)
    for i in range(N_PCI_EXP_SAVED_REGS):
        reg = PCI_EXP_SAVED_REGS[i]
        if reg == 0x38 or not m.d.pcie_impl[i]:
            continue  # SLTCTL2 is never written back
        io_write(m, m.d.fn.caps.exp + reg, 2, buf_u16(m, b, i))


# --- capability registers: the cap_* primitives the capability restore paths call ---------------

cdef enum:
    # paths.CAPABILITIES order
    CAP_PCIE = 0
    CAP_PCIX
    CAP_LTR
    CAP_DPC
    CAP_AER
    CAP_PTM
    CAP_TPH
    CAP_PASID
    CAP_PRI
    CAP_ATS
    CAP_SRIOV
    CAP_ACS
    CAP_REBAR
    CAP_L1SS
    CAP_PORT_L1SS                    # cap_save only: the port above's L1SS into the port's buffer
    # paths.CAP_VALUES order
    VAL_PASID_CTRL = 0
    VAL_PRI_REQS_ALLOC
    VAL_PRI_ENABLE
    VAL_ATS_ENABLE
    VAL_ATS_CTRL
    VAL_PTM_ENABLE
    VAL_TPH_CTRL
    VAL_SRIOV_ARI
    VAL_SRIOV_PGSZ
    VAL_SRIOV_NUM_VFS
    VAL_SRIOV_CTRL
    VAL_ACS_IOMMU
    VAL_ATS_OFF
    VAL_PRI_OFF
    VAL_ZERO
    VAL_PRI_RESET
    VAL_NR_VIRTFN
    VAL_ASPM_OFF
    VAL_ASPM_UPSTREAM
    VAL_ASPM_DOWNSTREAM
    VAL_L1SS_OFF
    VAL_L1SS_ENABLES
    VAL_CLKREQ_ON
    VAL_PTM_CTRL
    VAL_PORT_PTM_CTRL
    VAL_PTM_OFF
    VAL_PTM_CTRL_ROOT
    VAL_PORT_PTM_CTRL_ROOT
    VAL_LOCAL_A
    VAL_LOCAL_B
    VAL_AER_FLAGS

# paths.CAP_VALUES fields (a merge write replaces only these bits)
cdef uint32_t CAP_VALUE_FIELD[31]
CAP_VALUE_FIELD[:] = [0xFFFF, 0xFFFFFFFFU, 0xFFFF, 0xFFFF, 0xFFFF, 0x1, 0x307, 0x10, 0xFFFFFFFFU, 0xFFFF, 0xFFFF, 0x1D,
                      0x8000, 0x1, 0xFFFFFFFFU, 0xFFFF, 0xFFFF, 0x3, 0x3, 0x3, 0xF, 0xF, 0x100, 0xFF01, 0xFF01, 0x3,
                      0xFF03, 0xFF03, 0xFFFFFFFFU, 0xFFFFFFFFU, 0xF]


cdef inline bint pcie_reg_implemented(Machine *m, int reg) noexcept nogil:
    """caps.pcie_reg_implemented, looked up in the device's table (tables._pcie_reg_table)."""
    return 0 <= reg < 0x40 and m.d.pcie_reg_impl[reg] != 0


cdef int cap_base(Machine *m, int cap) noexcept nogil:
    """restore.CAP_TABLE: the offset the kernel caches for the capability (0: absent)."""
    return cap_base_in(&m.d.fn.caps, cap)


cdef int cap_base_in(CapOffsets *c, int cap) noexcept nogil:
    """cap_base for a function's capability offsets (the device's or the port's)."""
    if cap == CAP_PCIE:
        return c.exp
    if cap == CAP_PCIX:
        return c.pcix
    if cap == CAP_LTR:
        return c.ltr
    if cap == CAP_DPC:
        return c.dpc
    if cap == CAP_AER:
        return c.aer
    if cap == CAP_PTM:
        return c.ptm
    if cap == CAP_TPH:
        return c.tph
    if cap == CAP_PASID:
        return c.pasid
    if cap == CAP_PRI:
        return c.pri
    if cap == CAP_ATS:
        return c.ats
    if cap == CAP_SRIOV:
        return c.sriov
    if cap == CAP_ACS:
        return c.acs
    if cap == CAP_REBAR:
        return c.rebar
    if cap == CAP_L1SS:
        return c.l1ss
    return 0                         # CAP_PORT_L1SS: not the function's (cap_save handles it)


cdef int cap_buffer(Machine *m, int cap, int *reg_name) noexcept nogil:
    """restore.CAP_TABLE: the capability's saved-state buffer (-1: none) and its report name."""
    if cap == CAP_PCIE:
        reg_name[0] = REG_PCIE
        return m.d.buf_exp
    if cap == CAP_PCIX:
        reg_name[0] = REG_PCIX
        return m.d.buf_pcix
    if cap == CAP_LTR:
        reg_name[0] = REG_LTR
        return m.d.buf_ltr
    if cap == CAP_DPC:
        reg_name[0] = REG_DPC
        return m.d.buf_dpc
    if cap == CAP_AER:
        reg_name[0] = REG_AER
        return m.d.buf_aer
    if cap == CAP_PTM:
        reg_name[0] = REG_PTM
        return m.d.buf_ptm
    if cap == CAP_TPH:
        reg_name[0] = REG_TPH
        return m.d.buf_tph
    if cap == CAP_L1SS:
        reg_name[0] = REG_L1SS
        return m.d.buf_l1ss
    return -1


cdef int cap_register(Machine *m, int cap, int reg) noexcept nogil:
    """restore._cap_register: cap + reg; 0 without the capability or an unimplemented PCIe register."""
    cdef int base = cap_base(m, cap)
    if not base or (cap == CAP_PCIE and not pcie_reg_implemented(m, reg)):
        return 0
    return base + reg


cdef void cap_restore(Machine *m, int arg) noexcept nogil:
    """restore.cap_restore: arg = cap | reg << 4 | dword << 12 | slot << 13 (paths.ParamDef.width)."""
    cdef int cap = arg & 0xF, reg = (arg >> 4) & 0xFF, slot = (arg >> 13) & 0xF
    cdef bint dword = (arg >> 12) & 1
    cdef int name = 0
    cdef int where = cap_register(m, cap, reg)
    cdef int b = cap_buffer(m, cap, &name)
    if not where or b < 0:
        return
    check_epoch(m, b, name)
    if dword:
        io_write(m, where, 4, buf_u32(m, b, slot))
    else:
        io_write(m, where, 2, buf_u16(m, b, slot))


cdef uint32_t cap_value(Machine *m, int value, int arg) noexcept nogil:
    """restore.cap_value: the kernel expression of live state a cap_write writes (arg: the path's)."""
    cdef KernelDev *d = &m.st.dev
    cdef int t
    if value == VAL_NR_VIRTFN:
        return <uint32_t>arg
    if value == VAL_LOCAL_A or value == VAL_LOCAL_B:
        return m.path_locals[value - VAL_LOCAL_A]
    if value == VAL_ASPM_UPSTREAM or value == VAL_ASPM_DOWNSTREAM:     # pcie_config_aspm_link's upstream / dwstream
        t = m.aspm_target
        return (0x1 if t & (0x2 if value == VAL_ASPM_UPSTREAM else 0x1) else 0) | (0x2 if t & 0x4 else 0)
    if value == VAL_L1SS_ENABLES:                       # pcie_config_aspm_l1ss's val
        t = m.aspm_target
        return (0x8 if t & 0x08 else 0) | (0x4 if t & 0x10 else 0) | (0x2 if t & 0x20 else 0) | (0x1 if t & 0x40 else 0)
    if value == VAL_CLKREQ_ON:
        return 0x100                                    # PCI_EXP_LNKCTL_CLKREQ_EN
    if value == VAL_AER_FLAGS:
        return 0xF                                      # PCI_EXP_AER_FLAGS (drivers/pci/pci.h)
    if value == VAL_ASPM_OFF or value == VAL_L1SS_OFF or value == VAL_PTM_OFF:
        return 0
    if value == VAL_PTM_CTRL or value == VAL_PTM_CTRL_ROOT:              # __pci_enable_ptm
        return 0x1 | (<uint32_t>m.d.ptm_gran << 8) | (0x2 if value == VAL_PTM_CTRL_ROOT else 0)
    if value == VAL_PORT_PTM_CTRL or value == VAL_PORT_PTM_CTRL_ROOT:
        return 0x1 | (<uint32_t>m.d.port_ptm_gran << 8) | (0x2 if value == VAL_PORT_PTM_CTRL_ROOT else 0)
    if value == VAL_PASID_CTRL:
        return 0x1 | <uint32_t>d.pasid_features
    if value == VAL_PRI_REQS_ALLOC:
        return <uint32_t>d.pri_reqs_alloc
    if value == VAL_PRI_ENABLE:
        return 0x1
    if value == VAL_ATS_ENABLE:
        return 0x8000
    if value == VAL_ATS_CTRL:
        return 0x8000 | <uint32_t>((d.ats_stu - 12) & 0x1F)
    if value == VAL_PTM_ENABLE:
        return 0x1 if d.ptm_enable_cnt else 0
    if value == VAL_TPH_CTRL:
        return <uint32_t>(d.tph_mode | (d.tph_req_type << 8))
    if value == VAL_SRIOV_ARI:
        return <uint32_t>(d.sriov_ctrl & 0x10)
    if value == VAL_SRIOV_PGSZ:
        return <uint32_t>d.sriov_pgsz
    if value == VAL_SRIOV_NUM_VFS:
        return <uint32_t>d.sriov_num_vfs
    if value == VAL_ATS_OFF or value == VAL_PRI_OFF or value == VAL_ZERO:
        return 0
    if value == VAL_PRI_RESET:
        return 0x2                                      # PCI_PRI_CTRL_RESET
    if value == VAL_ACS_IOMMU:                          # pci_std_enable_acs: SV, RR, CR, UF where capable
        return io_read(m, m.d.fn.caps.acs + 0x04, 2) & (ACS_SV | ACS_RR | ACS_CR | ACS_UF)
    return <uint32_t>d.sriov_ctrl                       # VAL_SRIOV_CTRL


cdef void read_local(Machine *m, int arg) noexcept nogil:
    """restore.read_local: arg = cap | reg << 4 | dword << 12 | local << 13 | port << 14."""
    cdef int cap = arg & 0xF, reg = (arg >> 4) & 0xFF
    cdef int size = 4 if (arg >> 12) & 1 else 2
    cdef int local = (arg >> 13) & 1
    cdef int where, base
    if (arg >> 14) & 1:
        base = cap_base_in(&m.d.port.caps, cap) if m.d.has_port else 0
        if base:
            m.path_locals[local] = port_read(m, base + reg, size)
        return
    where = cap_register(m, cap, reg)
    if where:
        m.path_locals[local] = io_read(m, where, size)


cdef void cap_write(Machine *m, int arg, int path_arg) noexcept nogil:
    """restore.cap_write: arg = cap | reg << 4 | dword << 12 | value << 13 | merge << 18 | port << 19;
    path_arg: the path's argument."""
    cdef int cap = arg & 0xF, reg = (arg >> 4) & 0xFF, value = (arg >> 13) & 0x1F
    cdef int size = 4 if (arg >> 12) & 1 else 2
    cdef bint merge = (arg >> 18) & 1
    cdef bint port = (arg >> 19) & 1
    cdef int where, base
    cdef uint32_t v, field
    if port:                                            # the port's capability (every PCIe register implemented)
        base = cap_base_in(&m.d.port.caps, cap) if m.d.has_port else 0
        where = base + reg if base else 0
    else:
        where = cap_register(m, cap, reg)
    if not where:
        return
    v = cap_value(m, value, path_arg)
    field = CAP_VALUE_FIELD[value]
    if not merge:
        v &= 0xFFFF if size == 2 else 0xFFFFFFFFU
        if port:
            port_write(m, where, size, v)
        else:
            io_write(m, where, size, v)
        return
    if port:
        v = (port_read(m, where, size) & ~field) | (v & field)
        port_write(m, where, size, v & (0xFFFF if size == 2 else 0xFFFFFFFFU))
        return
    v = (io_read(m, where, size) & ~field) | (v & field)
    m.restore_rmw = 1        # Oracle.note_write: in a restore, no intent from an all-ones read
    io_write(m, where, size, v & (0xFFFF if size == 2 else 0xFFFFFFFFU))
    m.restore_rmw = 0


cdef void tph_restore_st(Machine *m) noexcept nogil:
    """restore.tph_restore_st: the ST entries after the TPH buffer's Control dword."""
    cdef int tph = m.d.fn.caps.tph
    cdef int b = m.d.buf_tph
    cdef int i, n
    if not tph or b < 0:
        return
    check_epoch(m, b, REG_TPH)
    n = (m.d.fn.bufs[b].size - 4) // 2
    if m.d.tph_entries < n:
        n = m.d.tph_entries
    for i in range(n):
        io_write(m, tph + 0x0C + 2 * i, 2, buf_u16(m, b, 2 + i))


# restore steps that are policy paths; the step's source is the path's argument (source_live)
cdef void restore_pasid(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_PASID_STATE, source)


cdef void restore_pri(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_PRI_STATE, source)


cdef void restore_ats(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_ATS_STATE, source)


# --- step 5: VC (drivers/pci/vc.c) ---------------------------------------------------------------

cdef void restore_vc(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_VC_STATE, source)


cdef int VC_KIND_ID[3]
VC_KIND_ID[:] = [0x08, 0x02, 0x09]      # paths vc_restore's cap: mfvc, vc, vc9


cdef void vc_restore(Machine *m, int kind, int part) noexcept nogil:
    """restore.vc_restore: pci_vc_do_save_buffer(save = false) for one VC capability."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef int k, n, b, off, reg
    cdef uint32_t saved, tmp
    for k in range(c.n_vc):
        b = m.d.buf_vc[k]
        if b < 0 or c.vc_id[k] != VC_KIND_ID[kind]:
            continue
        off = c.vc_off[k]
        check_epoch(m, b, REG_VC)
        if part == 0:
            io_write(m, off + 0x0C, 2, buf_u32(m, b, 0) & 0xFFFF)
            continue
        for n in range(c.vc_count[k]):
            reg = off + 0x14 + 12 * n
            saved = buf_u32(m, b, 1 + n)
            tmp = (io_read(m, reg, 4) & 0x80000000U) | (saved & ~(<uint32_t>0x80000000U))
            io_write(m, reg, 4, tmp)
            if (saved ^ tmp) & 0x80000000U and c.exp and (c.exp_type == 0x4 or c.exp_type == 0x6
                                                          or c.exp_type == 0x8):
                io_write(m, reg, 4, io_read(m, reg, 4) | 0x80000000U)   # _pci_vc_enable


# --- step 6: ReBAR --------------------------------------------------------------------------------

cdef inline int bit_length(uint64_t x) noexcept nogil:
    cdef int n = 0
    while x:
        x >>= 1
        n += 1
    return n


cdef void restore_rebar(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_REBAR_STATE, source)


cdef void rebar_restore_sizes(Machine *m) noexcept nogil:
    """restore.rebar_restore_sizes: pci_restore_rebar_state's loop (§3.4)."""
    cdef int off = m.d.fn.caps.rebar
    cdef int nbars, i, bar, enc
    cdef uint32_t ctrl
    cdef uint64_t size
    if not off:
        return
    nbars = (io_read(m, off + 8, 4) >> 5) & 0x7
    for i in range(nbars):
        ctrl = io_read(m, off + 8 + 8 * i, 4)
        bar = ctrl & 0x7
        size = m.st.dev.resource_sizes[bar] if bar < 6 else 0  # resource_size() of a non-BAR index
        enc = 0
        if size:
            enc = bit_length(size) - 1 - 20
            if enc < 0:
                enc = 0
        m.restore_rmw = 1                               # Control as read, BAR Size replaced
        io_write(m, off + 8 + 8 * i, 4, (ctrl & ~(<uint32_t>0x1F00)) | (<uint32_t>enc << 8))
        m.restore_rmw = 0


# --- steps 7-11 -------------------------------------------------------------------------------

cdef void restore_dpc(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_DPC_STATE, source)


cdef void restore_ptm(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_PTM_STATE, source)


cdef void restore_tph(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_TPH_STATE, source)


cdef void aer_clear_status(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_AER_CLEAR_STATUS, source)


cdef void cap_write_back(Machine *m, int arg) noexcept nogil:
    """restore.cap_write_back: arg = cap | reg << 4 | dword << 12."""
    cdef int cap = arg & 0xF, reg = (arg >> 4) & 0xFF
    cdef int size = 4 if (arg >> 12) & 1 else 2
    cdef int where = cap_register(m, cap, reg)
    if not where:
        return
    io_write(m, where, size, io_read(m, where, size))


cdef void restore_aer(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_AER_STATE, source)


# --- step 12: the header (§3.6) ---------------------------------------------------------------

cdef void restore_dword(Machine *m, int index, int retry, bint force) noexcept nogil:
    """pci_restore_config_dword: skip if equal (unless forced); retry BARs up to `retry` times."""
    cdef uint32_t saved = m.st.dev.saved_config[index]
    cdef int offset = 4 * index
    if not force and io_read(m, offset, 4) == saved:
        note_write(m, 0, offset, 4, saved)     # checked equal: the snapshot is what it means
        return
    if saved == 0xFFFFFFFFU:
        check_all_ones_write(m, index)
    while True:
        io_write(m, offset, 4, saved)
        if retry <= 0 or io_read(m, offset, 4) == saved:
            return
        retry -= 1


cdef void restore_config_space(Machine *m, int source) noexcept nogil:
    """restore.restore_config_space: the snapshot's BARs checked, then the policy path
    pci_restore_config_space."""
    check_snapshot_bars(m)
    run_path(m, PATH_RESTORE_CONFIG_SPACE, 0)


cdef void config_dwords(Machine *m, int arg) noexcept nogil:
    """restore.config_dwords: arg = A | B << 4 | retry << 8 | force << 12 (paths.ParamDef.width)."""
    cdef int a = arg & 0xF, b = (arg >> 4) & 0xF, retry = (arg >> 8) & 0xF
    cdef bint force = (arg >> 12) & 1
    cdef int i
    if a >= b:
        for i in range(a, b - 1, -1):
            restore_dword(m, i, retry, force)
    else:
        for i in range(a, b + 1):
            restore_dword(m, i, retry, force)


# --- steps 13-16 ------------------------------------------------------------------------------

cdef void restore_pcix(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_PCIX_STATE, source)


cdef void restore_msi_step(Machine *m, int source) noexcept nogil:
    """pci_restore_msi_state: MSI then MSI-X, each only when its live flag is set (§4)."""
    restore_msi(m)
    restore_msix(m)


cdef enum:
    ACS_SV = 0x1
    ACS_TB = 0x2
    ACS_RR = 0x4
    ACS_CR = 0x8
    ACS_UF = 0x10


cdef void enable_acs(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_ENABLE_ACS, source)


cdef void restore_iov(Machine *m, int source) noexcept nogil:
    run_path(m, PATH_RESTORE_IOV_STATE, source)


cdef void restore_step(Machine *m, int kind, int source) noexcept nogil:
    """RESTORE_STEPS dispatch."""
    if kind == R_PCIE:
        restore_pcie(m, source)
    elif kind == R_PASID:
        restore_pasid(m, source)
    elif kind == R_PRI:
        restore_pri(m, source)
    elif kind == R_ATS:
        restore_ats(m, source)
    elif kind == R_VC:
        restore_vc(m, source)
    elif kind == R_REBAR:
        restore_rebar(m, source)
    elif kind == R_DPC:
        restore_dpc(m, source)
    elif kind == R_PTM:
        restore_ptm(m, source)
    elif kind == R_TPH:
        restore_tph(m, source)
    elif kind == R_AER_CLEAR_STATUS:
        aer_clear_status(m, source)
    elif kind == R_AER:
        restore_aer(m, source)
    elif kind == R_CONFIG_SPACE:
        restore_config_space(m, source)
    elif kind == R_PCIX:
        restore_pcix(m, source)
    elif kind == R_MSI:
        restore_msi_step(m, source)
    elif kind == R_ACS:
        enable_acs(m, source)
    elif kind == R_IOV:
        restore_iov(m, source)


cdef bint restore_live_flag(Machine *m, int kind) noexcept nogil:
    """live_flags.STEP_FLAGS: what each step's `live_flag` gate reads (True for steps without one)."""
    cdef KernelDev *dev = &m.st.dev
    if kind == R_PASID:
        return dev.pasid_enabled != 0
    if kind == R_PRI:
        return dev.pri_enabled != 0
    if kind == R_ATS:
        return dev.ats_enabled != 0
    if kind == R_PTM:
        return dev.ptm_enable_cnt > 0
    if kind == R_TPH:
        return dev.tph_enabled != 0
    if kind == R_MSI:
        return dev.msi_enabled != 0 or dev.msix_enabled != 0
    if kind == R_IOV:
        return dev.sriov_num_vfs > 0 or dev.sriov_ctrl != 0
    return True


cdef void pci_restore_state(Machine *m, bint intended_epoch) noexcept nogil:
    """pci_restore_state: no entry gate since a2f1e22390ac (policy: gate_on_state_saved); the
    steps in policy order; then state_saved is cleared."""
    cdef KernelDev *dev = &m.st.dev
    cdef int prev = m.step
    cdef int i, gate, kind
    cdef int aer = m.d.fn.caps.aer
    cdef uint32_t stale_cor = 0, stale_unc = 0    # error_status_stale: AER status bits set at the start
    m.step = STEP_PCI_RESTORE_STATE
    if m.pol.gate_on_state_saved and not dev.state_saved:
        m.step = prev
        return
    before_restore(m, intended_epoch)
    if aer != 0 and m.pol.aer_native and m.st.accessible:
        stale_cor = raw_read(m.cfg, aer + 0x10, 4)
        stale_unc = raw_read(m.cfg, aer + 0x04, 4)
    m.work += m.pol.n_restore
    for i in range(m.pol.n_restore):
        gate = m.pol.restore_gate[i]
        kind = m.pol.restore_kind[i]
        if gate == GATE_NEVER:
            continue
        if gate == GATE_LIVE_FLAG and not restore_live_flag(m, kind):
            continue
        m.step = STEP_RESTORE_BASE + m.pol.restore_step[i]
        restore_step(m, kind, m.pol.restore_source[i])
        m.step = STEP_PCI_RESTORE_STATE
        if stale_cor | stale_unc:       # ... and not cleared since (restore.pci_restore_state)
            if m.st.accessible:
                stale_cor &= raw_read(m.cfg, aer + 0x10, 4)
                stale_unc &= raw_read(m.cfg, aer + 0x04, 4)
            else:
                stale_cor = 0
                stale_unc = 0
    if stale_cor | stale_unc:
        report(m, INV_ERROR_STATUS_STALE, REG_AER, MSG_ERROR_STATUS_STALE, stale_cor, stale_unc, 0)
    if m.pol.clear_state_saved:
        dev.state_saved = 0
    if m.st.accessible:            # a restore whose writes the function dropped restored nothing
        m.st.needs_restore_after_reset = 0
    after_restore(m)
    m.step = prev
