# Running programs (fuzzcore/model/machine.py): the initial state (enumeration, the enumeration
# save, vfio-pci bound), the op dispatch (one branch per row of the op table), Model.apply's
# per-op bookkeeping (oracle at op start and end, state feature), and the canonical state hash.

cdef enum:
    MAX_ARGS = 4


# --- the initial state ------------------------------------------------------------------------

cdef void enumerate_function(uint8_t *cfg, const uint8_t *wmask, const uint8_t *w1cmask,
                             CapOffsets *caps, bint endpoint, int64_t *ltr_path) noexcept nogil:
    """enumeration.enumerate_function: the probe-time clears (an endpoint's Bus Master, pci_msi_init
    / pci_msix_init, and the driver- or IOMMU-owned enables), then ltr_path from DEVCTL2."""
    cdef int k, off, reg, width
    cdef uint32_t bits, v
    if endpoint:
        v = raw_read(cfg, PCI_COMMAND, 2)
        if v & PCI_COMMAND_MASTER:
            raw_write(cfg, wmask, w1cmask, PCI_COMMAND, 2, v & ~(<uint32_t>PCI_COMMAND_MASTER))
    # (cap offset, register, width, bits) in enumeration.CLEARS order
    cdef int offs[9]
    cdef int regs[9]
    cdef int widths[9]
    cdef uint32_t clears[9]
    offs[:] = [caps.msi, caps.msix, caps.tph, caps.ats, caps.pasid, caps.pri,
               caps.ptm if endpoint else 0, caps.sriov, caps.sriov]
    regs[:] = [0x02, 0x02, 0x08, 0x06, 0x06, 0x04, 0x08, 0x08, 0x10]
    widths[:] = [2, 2, 4, 2, 2, 2, 4, 2, 2]
    clears[:] = [0x0001, 0x8000, 0x0307, 0x8000, 0x0001, 0x0001, 0x0001, 0x0009, 0xFFFF]
    for k in range(9):
        off = offs[k]
        if not off:
            continue
        reg = regs[k]
        width = widths[k]
        bits = clears[k]
        v = raw_read(cfg, off + reg, width)
        if v & bits:
            raw_write(cfg, wmask, w1cmask, off + reg, width, v & ~bits)
    if caps.exp:
        ltr_path[0] = 1 if raw_read(cfg, caps.exp + 0x28, 2) & 0x400 else 0


cdef void machine_transients(Machine *m) noexcept nogil:
    """The Machine's own fields (outside State) back to their start: each run begins with them
    (Engine._reset), as Model._reset_state does, so nothing one run left behind reaches the next."""
    cdef int i
    m.op_index = -1
    m.op_kind = -1
    m.step = STEP_ENUMERATION
    m.user_access = 0
    m.cmd_at_op_start = 0
    m.sleep_transition = -1
    m.sleep_power_lost = 0
    m.direct_complete = 0
    m.skip_bus_pm = 0
    m.ers_status = 0
    m.recovery_channel = ERR_NORMAL
    m.recovery_dpc = 0
    m.recovery_said = 0
    m.l1ss_aspm_on = 0
    m.msix_saved_cmd = -1
    m.n_brackets = 0
    m.path_locals[0] = 0
    m.path_locals[1] = 0
    for i in range(N_FEATURES):
        m.mm_start[i] = -1
        m.lf_pending[i] = -1
    m.restore_rmw = 0
    m.aspm_target = 0
    m.user_wmask = 0xFFFFFFFFU


cdef void initial_state(Machine *m) noexcept nogil:
    """Model._reset_state, after the arena holds the images: buffers allocated (zeros, epoch 0),
    resources from the image, the port enumerated, the device enumerated, current_state D0
    (4d4c10f763d7), the enumeration save of a2f1e22390ac when the policy has it, vfio-pci bound."""
    cdef KernelDev *dev = &m.st.dev
    cdef int i
    machine_transients(m)
    m.st.accessible = 1
    m.st.powered = 1
    dev.current_state = PCI_UNKNOWN
    dev.sriov_pgsz = 1
    dev.driver = DRV_NONE
    dev.error_state = ERR_NORMAL
    for i in range(m.d.n_bars):
        dev.resources[m.d.bars[i].index] = m.d.bars[i].image_addr
        dev.resource_sizes[m.d.bars[i].index] = m.d.bars[i].size
    m.st.vfio.reset_works = 1
    m.st.vfio.irq = IRQ_NONE
    memset(m.msix, 0, m.d.msix_entries * PCI_MSIX_ENTRY_SIZE)
    for i in range(m.d.msix_entries):
        m.msix[i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT
    if m.d.has_port:
        m.st.port.current_state = D0
        enumerate_function(m.pcfg, m.d.port.wmask, m.d.port.w1cmask, &m.d.port.caps, False,
                           &m.st.port.ltr_path)
        # portdrv bound; is_busmaster from the port's Bus Master bit (model/machine.py)
        m.st.port.is_busmaster = (port_read(m, PCI_COMMAND, 2) & PCI_COMMAND_MASTER) != 0
        m.st.port.aspm_enabled = m.d.aspm_enabled0      # model/machine.py: the link as enumeration left it
        m.st.port.clkpm_enabled = m.d.clkpm_enabled0
    enumerate_function(m.cfg, m.d.fn.wmask, m.d.fn.w1cmask, &m.d.fn.caps, True, &dev.ltr_path)
    if m.d.fn.caps.sriov:      # sriov_init's iov->ctrl (ARI Capable Hierarchy) and iov->pgsz, as the image holds them
        dev.sriov_ctrl = raw_read(m.cfg, m.d.fn.caps.sriov + 0x08, 2) & 0x10
        dev.sriov_pgsz = raw_read(m.cfg, m.d.fn.caps.sriov + 0x20, 4)
    m.st.latest_save_epoch = 0
    m.reset_probe = probe_reset_methods(m)      # dev->reset_methods (pci_init_reset_methods)
    # pci_device_add -> pci_init_capabilities: pci_pm_init's power-up (4d4c10f763d7), pci_ptm_init
    run_path(m, PATH_PCI_INIT_CAPABILITIES, 0)
    if m.pol.enumeration_save:
        m.step = STEP_PCI_BUS_ADD_DEVICE
        pci_save_state(m)
        m.step = STEP_ENUMERATION
    if m.d.header_type == 1:
        # model/machine.py: vfio-pci refuses a bridge (-EINVAL); portdrv's probe is [driver.probe]
        dev.driver = DRV_HOST
        m.step = STEP_HOST_DRIVER_PROBE
        driver_callback(m, CB_PROBE, 0)
    else:
        dev.driver = DRV_VFIO
        m.step = STEP_VFIO_REGISTER
        vfio_register(m)
    m.step = STEP_ENUMERATION
    intent_init(m)


# --- op dispatch: one branch per row of fuzzcore/program/op_table.py ----------------------------

cdef int bind_driver(Machine *m, int driver) noexcept nogil:
    """machine._bind: the policy path device_bind_driver, its argument the driver (DRV_*)."""
    m.st.dev.err_handler = 0
    m.st.dev.driver_failed = 0
    return run_path(m, PATH_DEVICE_BIND_DRIVER, driver)


cdef int POWER_ARG[3]
POWER_ARG[:] = [D0, D3HOT, D3COLD]


cdef int64_t dispatch(Machine *m, int code, const uint32_t *a) noexcept nogil:
    """OPS: the model function for each op (args already decoded to the engine's codes)."""
    if code == OP_PCI_SAVE_STATE:
        # A bare pci_save_state/pci_restore_state is something a bound host driver does (the op
        # table's owner rule).
        return pci_save_state(m)
    if code == OP_PCI_RESTORE_STATE:
        pci_restore_state(m, False)
        return 0
    if code == OP_PCI_RESET_FUNCTION:
        return reset_store(m, <int>a[0] - 1)                 # auto, flr, pm, bus
    if code == OP_PCI_RESET_BUS:
        return pci_reset_bus(m)
    if code == OP_PCIE_DO_RECOVERY:
        return pcie_do_recovery(m, a[0], a[1], a[2])
    if code == OP_PCI_SET_POWER_STATE:
        return pci_set_power_state(m, POWER_ARG[a[0]])
    if code == OP_PCI_PM_RUNTIME_SUSPEND:              # power.runtime_allow
        m.st.dev.rpm_auto = 1
        return pci_pm_runtime_suspend(m)
    if code == OP_PCI_PM_RUNTIME_RESUME:               # power.runtime_forbid
        m.st.dev.rpm_auto = 0
        return pci_pm_runtime_resume(m)
    if code == OP_PCI_ASSIGN_BAR:
        return pci_assign_bar(m, a[0], a[1])
    if code == OP_PCI_ENABLE_MSIX:
        return pci_enable_msix(m, a[0])
    if code == OP_PCI_DISABLE_MSIX:
        return pci_disable_msix(m)
    if code == OP_PCI_ENABLE_MSI:
        return pci_enable_msi(m)
    if code == OP_PCI_DISABLE_MSI:
        return pci_disable_msi(m)
    if code == OP_PCI_ENABLE_TPH:
        return run_path(m, PATH_ENABLE_TPH, a[0])
    if code == OP_PCI_DISABLE_TPH:
        return run_path(m, PATH_DISABLE_TPH, 0)
    if code == OP_PCI_ENABLE_ATS:
        return run_path(m, PATH_ENABLE_ATS, a[0])
    if code == OP_PCI_DISABLE_ATS:
        return run_path(m, PATH_DISABLE_ATS, 0)
    if code == OP_PCI_ENABLE_PASID:
        return run_path(m, PATH_ENABLE_PASID, a[0])
    if code == OP_PCI_DISABLE_PASID:
        return run_path(m, PATH_DISABLE_PASID, 0)
    if code == OP_PCI_ENABLE_PRI:
        return run_path(m, PATH_IOMMU_ENABLE_PRI, a[0])
    if code == OP_PCI_DISABLE_PRI:
        return run_path(m, PATH_DISABLE_PRI, 0)
    if code == OP_PCI_ENABLE_PTM:
        return run_path(m, PATH_ENABLE_PTM, 0)
    if code == OP_PCI_DISABLE_PTM:
        return run_path(m, PATH_DISABLE_PTM, 0)
    if code == OP_PCI_ENABLE_L1SS:
        return run_path(m, PATH_ASPM_SET_POLICY, 0)
    if code == OP_PCI_ENABLE_SRIOV:
        return run_path(m, PATH_SRIOV_CONFIGURE, a[0] + 1)  # nr_virtfn
    if code == OP_PCI_DISABLE_SRIOV:
        return run_path(m, PATH_SRIOV_DECONFIGURE, 0)
    if code == OP_PCI_RESIZE_BAR:
        return pci_resize_bar(m, a[0])
    if code == OP_PCI_BIND_DRIVER:
        return bind_driver(m, a[0])
    if code == OP_VFIO_OPEN:
        return vfio_open(m)
    if code == OP_VFIO_CLOSE:
        return vfio_close(m)
    if code == OP_VFIO_CONFIG_WRITE:
        return vfio_config_write(m, a[0], a[1], a[2])
    if code == OP_VFIO_SET_IRQS:
        return vfio_ioctl(m, VIOCTL_SET_IRQS, a[0], a[1])
    if code == OP_VFIO_DEVICE_RESET:
        return vfio_ioctl(m, VIOCTL_DEVICE_RESET, 0, 0)
    if code == OP_VFIO_HOT_RESET:
        return vfio_ioctl(m, VIOCTL_HOT_RESET, 0, 0)
    if code == OP_VFIO_LOW_POWER:
        return vfio_ioctl(m, VIOCTL_LOW_POWER, a[0], 0)
    if code == OP_QEMU_PRE_RESET:
        return qemu_pre_reset(m)
    if code == OP_QEMU_POST_RESET:
        return qemu_post_reset(m)
    if code == OP_QEMU_RESET:
        return qemu_reset(m)
    if code == OP_HW_LINK_DOWN:
        return hw_link_down(m)
    if code == OP_HW_INACCESSIBLE:
        return hw_inaccessible(m)
    if code == OP_HW_ACCESSIBLE:
        return hw_accessible(m)
    if code == OP_PM_SYSTEM_SLEEP:
        return pm_system_sleep(m, a[0], a[1])
    if code == OP_VFIO_BAR_RW:
        return vfio_bar_rw(m, a[0], a[1])
    return 0


cdef inline int64_t fact_value(Machine *m, int fact) noexcept nogil:
    """Model.facts: owner (none, host, vfio_closed, vfio_open, portdrv, host_failed), power (current_state), runtime
    (active, suspended), qemu (idle, resetting), as indices into op_table.FACTS[...]."""
    if fact == 0:
        if m.st.dev.driver == DRV_VFIO:
            return 3 if m.st.vfio.open else 2
        if m.st.dev.driver == DRV_HOST:             # a bridge's host driver is portdrv; one told of a
            if m.d.header_type == 1:                # permanent failure, host_failed
                return 4
            return 5 if m.st.dev.driver_failed else 1
        return 0
    if fact == 1:
        return m.st.dev.current_state
    if fact == 2:
        return 1 if m.st.dev.rpm_suspended else 0
    return 1 if m.st.vfio.qemu_resetting else 0


cdef inline uint8_t pack_facts(Machine *m) noexcept nogil:
    """The four facts refusal() reads, in one byte: owner | power << 3 | runtime << 6 | qemu << 7. The
    campaign's mutator asks which ops the state at a position allows (Engine.op_mask); as the
    facts are all refusal() depends on, the last run's per-op facts answer it for every
    prefix of that run without running anything again (Engine.facts_masks)."""
    return <uint8_t>(fact_value(m, 0) | (fact_value(m, 1) << 3) | (fact_value(m, 2) << 6)
                     | (fact_value(m, 3) << 7))


cdef inline int64_t refusal_by_facts(Policy *pol, int op, uint8_t facts) noexcept nogil:
    """refusal() for the state whose packed facts are `facts`."""
    cdef int j, f
    cdef int64_t v
    for j in range(pol.pre_n[op]):
        f = pol.pre_fact[op][j]
        v = (facts & 7) if f == 0 else ((facts >> 3) & 7 if f == 1 else (facts >> (6 if f == 2 else 7)) & 1)
        if not (pol.pre_mask[op][j] >> v) & 1:
            return pol.pre_errno[op][j]
    return 0


cdef inline int64_t refusal(Machine *m, int op) noexcept nogil:
    """Model.refusal: the errno of the first precondition of op-table row `op` the state fails,
    0 when the op may run (no rule's errno is 0)."""
    cdef int j
    for j in range(m.pol.pre_n[op]):
        if not (m.pol.pre_mask[op][j] >> fact_value(m, m.pol.pre_fact[op][j])) & 1:
            return m.pol.pre_errno[op][j]
    return 0


cdef struct OpDecode:            # how one op-table row decodes (codec.decode_record)
    int code                     # OP_*
    int n_args
    int nbytes[MAX_ARGS]
    uint64_t modulo[MAX_ARGS]
    int width_arg                # vfio_config_write: the arg holding the width index, else -1
    int align_arg                # ... and the arg aligned down to it


cdef uint32_t WIDTH_ARG[3]
WIDTH_ARG[:] = [1, 2, 4]


cdef void apply_record(Machine *m, const OpDecode *table, int n_table, const uint8_t *rec,
                       int index) noexcept nogil:
    """Model.apply for one RECORD_SIZE-byte record: decode, run, check, count the state feature."""
    cdef int op = rec[0] % n_table
    cdef const OpDecode *d = &table[op]
    cdef uint32_t a[MAX_ARGS]
    cdef uint64_t raw
    cdef int k, j, pos = 1
    cdef int64_t rc
    cdef uint32_t idx
    for k in range(d.n_args):
        raw = 0
        for j in range(d.nbytes[k]):
            raw |= (<uint64_t>rec[pos + j]) << (8 * j)
        pos += d.nbytes[k]
        a[k] = <uint32_t>(raw % d.modulo[k])
    if d.width_arg >= 0:
        a[d.width_arg] = WIDTH_ARG[a[d.width_arg]]
        a[d.align_arg] -= a[d.align_arg] % a[d.width_arg]
    m.op_index = index
    m.op_kind = op
    m.step = d.code
    m.refused_now = 0
    rc = refusal(m, op)
    if rc != 0:
        m.refused_now = 1
    else:
        m.cmd_at_op_start = raw_read(m.cfg, PCI_COMMAND, 2) if m.st.accessible else 0
        live_flag_mismatches(m, m.mm_start)
        memset(m.lf_pending, 0xFF, sizeof(m.lf_pending))   # -1: no restore left a mismatch yet
        m.refined_now = 0
        m.wr_started = 0                 # Oracle.begin_op
        m.bars_owed = 0
        m.reset_in_op = 0
        rc = dispatch(m, d.code, a)
        m.step = d.code
        if not m.refused_now:
            if OP_RETURNS_TO_USER[d.code]:
                returned_to_user(m)
            end_of_op(m)
    m.n_ops_run += 1
    m.work += 1
    if m.refused_now:
        m.n_refused += 1
    if m.refused != NULL:
        m.refused[index] = <uint8_t>m.refused_now
    if m.facts != NULL:
        m.facts[index] = pack_facts(m)
    if m.rets != NULL:
        m.rets[index] = rc
    idx = counter_index(m, op)
    if m.features != NULL:
        m.features[index] = idx
    if m.counters != NULL:
        if m.counters[idx] != 255:
            m.counters[idx] += 1
        m.seen[idx] = 1


# --- canonical state hash -------------------------------------------------------------------------

cdef inline uint64_t mix64(uint64_t h) noexcept nogil:
    h ^= h >> 33
    h *= 0xFF51AFD7ED558CCDULL
    h ^= h >> 33
    h *= 0xC4CEB9FE1A85EC53ULL
    h ^= h >> 33
    return h


cdef uint64_t hash_words(const uint64_t *w, Py_ssize_t n, uint64_t seed) noexcept nogil:
    """A 64-bit hash of n words: four independent multiply-rotate lanes, then a final mix."""
    cdef uint64_t h0 = seed ^ 0x9E3779B97F4A7C15ULL, h1 = seed ^ 0xC2B2AE3D27D4EB4FULL
    cdef uint64_t h2 = seed ^ 0x165667B19E3779F9ULL, h3 = seed ^ 0x27D4EB2F165667C5ULL
    cdef Py_ssize_t i = 0
    while i + 4 <= n:
        h0 = ((h0 ^ w[i]) * 0x9E3779B97F4A7C15ULL)
        h1 = ((h1 ^ w[i + 1]) * 0xC2B2AE3D27D4EB4FULL)
        h2 = ((h2 ^ w[i + 2]) * 0x165667B19E3779F9ULL)
        h3 = ((h3 ^ w[i + 3]) * 0x27D4EB2F165667C5ULL)
        h0 = (h0 << 31) | (h0 >> 33)
        h1 = (h1 << 29) | (h1 >> 35)
        h2 = (h2 << 27) | (h2 >> 37)
        h3 = (h3 << 23) | (h3 >> 41)
        i += 4
    while i < n:
        h0 = ((h0 ^ w[i]) * 0x9E3779B97F4A7C15ULL)
        h0 = (h0 << 31) | (h0 >> 33)
        i += 1
    return mix64(h0 ^ mix64(h1 + 1) ^ mix64(h2 + 2) ^ mix64(h3 + 3) ^ <uint64_t>n)


cdef int64_t rank_epoch(int64_t e, const int64_t *sorted_epochs, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        if sorted_epochs[i] == e:
            return i
    return -1


cdef void canonical_epochs(Machine *m, State *s) noexcept nogil:
    """Epochs matter only by equality and order: renumber them 0, 1, 2, ... in order, so states that
    differ only in how many saves happened before hash alike (as fuzzcore/explore/backend.py does)."""
    cdef int64_t e[64]
    cdef int n = 0, i, j, nb = m.d.fn.n_bufs
    cdef int64_t t
    e[n] = 0; n += 1
    e[n] = s.dev.config_epoch; n += 1
    e[n] = s.latest_save_epoch; n += 1
    e[n] = s.dev.save_count; n += 1
    e[n] = s.port.l1ss_epoch; n += 1
    e[n] = s.vfio.blob.config_epoch; n += 1
    e[n] = s.vfio.pm_save.config_epoch; n += 1
    for i in range(6):
        e[n] = s.dev.bar_epoch[i]; n += 1
    for i in range(nb):
        e[n] = s.dev.buf_epoch[i]; n += 1
        e[n] = s.vfio.blob.epochs[i]; n += 1
        e[n] = s.vfio.pm_save.epochs[i]; n += 1
    for i in range(1, n):                    # insertion sort, then unique
        t = e[i]
        j = i - 1
        while j >= 0 and e[j] > t:
            e[j + 1] = e[j]
            j -= 1
        e[j + 1] = t
    j = 0
    for i in range(1, n):
        if e[i] != e[j]:
            j += 1
            e[j] = e[i]
    n = j + 1
    s.dev.config_epoch = rank_epoch(s.dev.config_epoch, e, n)
    s.latest_save_epoch = rank_epoch(s.latest_save_epoch, e, n)
    s.dev.save_count = rank_epoch(s.dev.save_count, e, n)
    s.port.l1ss_epoch = rank_epoch(s.port.l1ss_epoch, e, n)
    s.vfio.blob.config_epoch = rank_epoch(s.vfio.blob.config_epoch, e, n)
    s.vfio.pm_save.config_epoch = rank_epoch(s.vfio.pm_save.config_epoch, e, n)
    for i in range(6):
        s.dev.bar_epoch[i] = rank_epoch(s.dev.bar_epoch[i], e, n)
    for i in range(nb):
        s.dev.buf_epoch[i] = rank_epoch(s.dev.buf_epoch[i], e, n)
        s.vfio.blob.epochs[i] = rank_epoch(s.vfio.blob.epochs[i], e, n)
        s.vfio.pm_save.epochs[i] = rank_epoch(s.vfio.pm_save.epochs[i], e, n)


cdef uint64_t state_hash_of(Machine *m, const uint8_t *arena, Py_ssize_t arena_size) noexcept nogil:
    """The canonical 64-bit hash of the state: the State struct (epochs renumbered) and the arena
    (config spaces, MSI-X table, save buffers, blobs)."""
    cdef State s
    memcpy(&s, &m.st, sizeof(State))
    canonical_epochs(m, &s)
    return hash_words(<const uint64_t *>arena, arena_size // 8,
                      hash_words(<const uint64_t *>&s, sizeof(State) // 8, 0))
