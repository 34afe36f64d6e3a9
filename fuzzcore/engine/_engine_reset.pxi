# Resets and error recovery (drivers/pci/pci.c, drivers/pci/pcie/err.c; kernel.md §5.1–§5.4);
# mirrors fuzzcore/model/reset.py.

cdef enum:
    PCI_EXP_DEVCTL = 0x08
    PCI_EXP_DEVCTL_BCR_FLR = 0x8000
    PCI_BRIDGE_CONTROL = 0x3E
    PCI_BRIDGE_CTL_BUS_RESET = 0x40


cdef void cfg_reset(Machine *m, int kind) noexcept nogil:
    """ConfigSpace.reset: (current & keep[kind]) | (default[kind] & ~keep[kind]), word by word over
    the words a reset can change; every MSI-X entry masked, address/data 0 (§7.3)."""
    cdef uint64_t *c = <uint64_t *>m.cfg
    cdef const uint64_t *keep = m.d.fn.keep + kind * (CFG_ALLOC // 8)
    cdef const uint64_t *dflt = m.d.fn.deflt + kind * (CFG_ALLOC // 8)
    cdef const int32_t *words = m.d.fn.reset_words[kind]
    cdef int n = m.d.fn.n_reset_words[kind]
    cdef int i, w
    for i in range(n):
        w = words[i]
        c[w] = (c[w] & keep[w]) | (dflt[w] & ~keep[w])
    m.wr_dirty = ~(<uint64_t>0)          # the oracle re-reads every written-intent row
    memset(m.msix, 0, m.d.msix_entries * PCI_MSIX_ENTRY_SIZE)
    for i in range(m.d.msix_entries):
        m.msix[i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT


cdef void hardware_reset(Machine *m, int kind) noexcept nogil:
    """What the function does when it is reset: registers to their defaults per kind (§7)."""
    if not m.st.powered:
        return   # a function without power sees no reset; the power-on resets it
    if (kind == RESET_HOT or kind == RESET_COLD) and not dpc_contained(m):
        m.st.accessible = 1  # the link retrains (not while the port's DPC holds it down: reset.py)
    cfg_reset(m, kind)
    m.st.needs_restore_after_reset = 1
    m.reset_in_op = 1


# --- reset methods (§5.2) ---------------------------------------------------------------------

cdef int pcie_flr(Machine *m) noexcept nogil:
    """reset.pcie_flr: the policy path pcie_flr."""
    return run_path(m, PATH_PCIE_FLR, 0)


cdef int initiate_flr(Machine *m) noexcept nogil:
    """pcie_flr: set Initiate FLR (read-modify-write of DEVCTL), wait, poll readiness
    (pci_dev_wait: all-ones until it answers); -ENOTTY when it never answers."""
    cdef int exp = m.d.fn.caps.exp
    cdef uint32_t devctl = io_read(m, exp + PCI_EXP_DEVCTL, 2)
    io_write(m, exp + PCI_EXP_DEVCTL, 2, devctl | PCI_EXP_DEVCTL_BCR_FLR)   # the function resets (io_write)
    if m.st.accessible:
        return 0
    return ENOTTY_  # pci_dev_wait timed out: the write never reached the function


cdef int pci_pm_reset(Machine *m) noexcept nogil:
    """reset.pci_pm_reset: the policy path of that name."""
    return run_path(m, PATH_PCI_PM_RESET, 0)


cdef int pci_dev_wait(Machine *m) noexcept nogil:
    """reset.pci_dev_wait: 0 when the function answers, -ENOTTY when it never does."""
    return 0 if m.st.accessible else ENOTTY_


cdef int secondary_bus_reset(Machine *m) noexcept nogil:
    """pci_reset_secondary_bus on the upstream port: Bridge Control SBR set, 2 ms, cleared; the
    link goes down, so the port's LTR Enable is cleared too (§3.1)."""
    cdef uint32_t ctl
    if not m.d.has_port:
        return ENOTTY_
    ctl = port_read(m, PCI_BRIDGE_CONTROL, 2)
    port_write(m, PCI_BRIDGE_CONTROL, 2, ctl | PCI_BRIDGE_CTL_BUS_RESET)
    port_write(m, PCI_BRIDGE_CONTROL, 2, ctl & ~(<uint32_t>PCI_BRIDGE_CTL_BUS_RESET))
    link_down_effects(m)
    hardware_reset(m, RESET_HOT)
    return pci_bridge_wait_for_secondary_bus(m)


cdef int pcie_supported_speeds(Machine *m, int exp) noexcept nogil:
    """pcie_get_supported_speeds on the port: LNKCAP2's vector (version 2) up to LNKCAP's Max Link
    Speed, else synthesized from the Max Link Speed (2.5 or 5.0 GT/s only)."""
    cdef uint32_t lnkcap = port_read(m, exp + 0x0C, 4)
    cdef uint32_t lnkcap2 = port_read(m, exp + 0x2C, 4) if (port_read(m, exp + 0x02, 2) & 0xF) > 1 else 0
    cdef uint32_t sls = lnkcap & 0xF
    cdef uint32_t speeds = lnkcap2 & 0xFE & ((1u << (sls + 1)) - 1)
    if speeds:
        return speeds
    if sls == 2:
        return 0x06
    if sls == 1:
        return 0x02
    return 0


cdef int pci_bridge_wait_for_secondary_bus(Machine *m) noexcept nogil:
    """pci_bridge_wait_for_secondary_bus after the bus reset (reset.pci_bridge_wait_for_secondary_bus):
    above 5 GT/s (or unknown) with DLLLARC the link must come back: -ENOTTY when the port's Link
    Status has DLLLA clear."""
    cdef int exp = m.d.port.caps.exp
    cdef int t = m.d.port.caps.exp_type
    cdef int speeds
    if not exp or not (t == 0x4 or t == 0x6 or t == 0x8):
        return 0
    speeds = pcie_supported_speeds(m, exp)
    if speeds and not (speeds & ~0x06):
        return 0
    if not (port_read(m, exp + 0x0C, 4) & 0x00100000):
        return 0
    return 0 if port_read(m, exp + 0x12, 2) & 0x2000 else ENOTTY_


cdef int pci_bus_reset_method(Machine *m) noexcept nogil:
    """reset.pci_bus_reset_method: the policy path pci_reset_bus_function."""
    return run_path(m, PATH_PCI_RESET_BUS_FUNCTION, 0)


cdef int reset_method_run(Machine *m, int method) noexcept nogil:
    if method == METHOD_FLR:
        return pcie_flr(m)
    if method == METHOD_PM:
        return pci_pm_reset(m)
    if method == METHOD_BUS:
        return pci_bus_reset_method(m)
    return ENOTTY_


cdef int reset_method_probe(Machine *m, int method) noexcept nogil:
    """reset.reset_method_probe: the method's path run as its probe now (auto: 0)."""
    if method == METHOD_FLR:
        return run_path(m, PATH_PCIE_FLR, PATH_ARG_PROBE)
    if method == METHOD_PM:
        return run_path(m, PATH_PCI_PM_RESET, PATH_ARG_PROBE)
    if method == METHOD_BUS:
        return run_path(m, PATH_PCI_RESET_BUS_FUNCTION, PATH_ARG_PROBE)
    return 0


cdef bint method_available(Machine *m, int method) noexcept nogil:
    """reset.method_available: whether the method's probe at enumeration returned 0."""
    return (m.reset_probe >> method) & 1 != 0


cdef int probe_reset_methods(Machine *m) noexcept nogil:
    """reset.probe_reset_methods: each method's path run as its probe (argument PATH_ARG_PROBE)."""
    cdef int mask = 0
    if run_path(m, PATH_PCIE_FLR, PATH_ARG_PROBE) == 0:
        mask |= 1 << METHOD_FLR
    if run_path(m, PATH_PCI_PM_RESET, PATH_ARG_PROBE) == 0:
        mask |= 1 << METHOD_PM
    if run_path(m, PATH_PCI_RESET_BUS_FUNCTION, PATH_ARG_PROBE) == 0:
        mask |= 1 << METHOD_BUS
    return mask


cdef bint any_reset_method(Machine *m, int only) noexcept nogil:
    """reset_methods(m, only) is not empty."""
    cdef int i, method
    for i in range(m.pol.n_reset):
        method = m.pol.reset_method[i]
        if method_available(m, method) and (only == METHOD_AUTO or method == only):
            return True
    return False


cdef int __pci_reset_function_locked(Machine *m, int only) noexcept nogil:
    """Try reset_methods[] in order; -ENOTTY moves on, anything else stops."""
    cdef int rc = ENOTTY_
    cdef int i, method, prev
    for i in range(m.pol.n_reset):
        method = m.pol.reset_method[i]
        if not method_available(m, method) or (only != METHOD_AUTO and method != only):
            continue
        prev = m.step
        m.step = STEP_RESET_BASE + m.pol.reset_step[i]
        rc = reset_method_run(m, method)
        m.step = prev
        if rc != ENOTTY_:
            return rc
    return rc


# --- function and bus reset (§5.1, §5.3): the policy paths of fuzzcore/policy/paths.py ---------

cdef int pci_reset_function(Machine *m, int method) noexcept nogil:
    """pci_reset_function / pci_try_reset_function: -ENOTTY without a reset method, else the
    policy path (save+disable, reset, restore regardless)."""
    if not any_reset_method(m, method):
        return ENOTTY_
    return run_path(m, PATH_RESET_FUNCTION, method)


cdef int reset_store(Machine *m, int method) noexcept nogil:
    """reset.reset_store: a named method enumeration's probe refused: -EINVAL from
    reset_method_store, nothing changes; else the policy path (runtime-PM get, the method probed
    again, pci_reset_function, put)."""
    cdef int i
    cdef bint any_method = False
    for i in range(m.pol.n_reset):                  # pci_dev_reset_attr_is_visible: no method, no file
        any_method = any_method or method_available(m, m.pol.reset_method[i])
    if not any_method:
        m.refused_now = 1
        return ENOENT_
    if method != METHOD_AUTO and not method_available(m, method):
        m.refused_now = 1
        return EINVAL_
    return run_path(m, PATH_RESET_STORE, method)


cdef int pci_reset_bus(Machine *m) noexcept nogil:
    """pci_reset_bus (§5.3): -ENOTTY without an upstream port, else the policy path (save+disable
    every device below the port, SBR, restore each)."""
    if not m.d.has_port or m.d.virtfn:       # reset.pci_reset_bus: a VF has no bus reset here
        return ENOTTY_
    return run_path(m, PATH_RESET_BUS, 0)


cdef int pci_bus_error_reset(Machine *m) noexcept nogil:
    """pci_bus_error_reset: the bus reset alone; no save, no restore, no callbacks."""
    cdef int prev = m.step
    cdef int rc
    m.step = STEP_PCI_BUS_ERROR_RESET
    rc = secondary_bus_reset(m)
    m.step = prev
    return rc


# --- AER / DPC recovery (§5.4) ----------------------------------------------------------------

cdef int merge_result(int orig, int new) noexcept nogil:
    """merge_result (drivers/pci/pcie/err.c)."""
    if new == ERS_NO_AER_DRIVER:
        return ERS_NO_AER_DRIVER
    if new == ERS_NONE:
        return orig
    if orig == ERS_CAN_RECOVER or orig == ERS_RECOVERED:
        return new
    if orig == ERS_DISCONNECT and new == ERS_NEED_RESET:
        return ERS_NEED_RESET
    return orig


cdef int VOTE_VALUES[4]
VOTE_VALUES[:] = [ERS_CAN_RECOVER, ERS_NEED_RESET, ERS_DISCONNECT, ERS_NO_AER_DRIVER]


cdef int root_aer(Machine *m) noexcept nogil:
    """reset._root_aer: root->aer_cap when the port above is a root port (one further up is not
    modelled)."""
    return m.d.port.caps.aer if m.d.port.caps.exp_type == 0x4 else 0


cdef void root_aer_irq(Machine *m, bint enable) noexcept nogil:
    """reset.root_aer_irq: aer_disable_irq / aer_enable_irq on the root port."""
    cdef int aer = root_aer(m)
    cdef uint32_t cmd
    if aer:
        cmd = port_read(m, aer + 0x2C, 4)
        port_write(m, aer + 0x2C, 4, (cmd | 0x7) if enable else (cmd & ~(<uint32_t>0x7)))


cdef void root_error_status_clear(Machine *m) noexcept nogil:
    """reset.root_error_status_clear: Root Error Status read and written back."""
    cdef int aer = root_aer(m)
    if aer:
        port_write(m, aer + 0x30, 4, port_read(m, aer + 0x30, 4))


cdef int bus_error_reset(Machine *m) noexcept nogil:
    """reset.bus_error_reset: pci_bus_error_reset, -ENOTTY without a port above."""
    return pci_bus_error_reset(m) if m.d.has_port else ENOTTY_


cdef void dpc_containment(Machine *m) noexcept nogil:
    """reset._dpc_containment: before dpc_handler runs, the port's DPC trigger took the link down
    (a hot reset of the function, which then answers nothing) and latched Trigger Status with
    the ERR_FATAL reason (PCIe r6.0 6.2.10)."""
    cdef int prev = m.step
    cdef int o = m.d.port.caps.dpc + 0x08
    m.step = STEP_DPC_CONTAINMENT
    link_down_effects(m)
    hardware_reset(m, RESET_HOT)
    m.st.accessible = 0
    if m.d.wr_map[1][o] != 255:
        m.wr_dirty |= (<uint64_t>1) << (m.d.wr_map[1][o] >> 2)
    m.pcfg[o] |= 0x05              # PCI_EXP_DPC_STATUS_TRIGGER | TRIGGER_RSN_FE
    m.step = prev


cdef void dpc_clear_trigger(Machine *m) noexcept nogil:
    """reset.dpc_clear_trigger: DPC Trigger Status cleared on the port, which leaves containment."""
    port_write(m, m.d.port.caps.dpc + 0x08, 2, 0x0001)
    m.st.accessible = m.st.powered


cdef void clear_error_status(Machine *m, bint on_port) noexcept nogil:
    """The end of a successful pcie_do_recovery with native AER: pcie_clear_device_status (DEVSTA
    <- CED|NFED|FED|URD) and pci_aer_clear_nonfatal_status (Uncorrectable Status & ~Severity
    written back when non-zero) on the device that detected the error: the function (AER) or the
    port (DPC: dpc_handler passes the port)."""
    cdef int aer = m.d.port.caps.aer if on_port else m.d.fn.caps.aer
    cdef int exp = m.d.port.caps.exp if on_port else m.d.fn.caps.exp
    cdef uint32_t status
    if on_port:
        if exp:
            port_write(m, exp + 0x0A, 2, 0x000F)
        if aer:
            status = port_read(m, aer + 0x04, 4) & ~port_read(m, aer + 0x0C, 4)
            if status:
                port_write(m, aer + 0x04, 4, status)
        return
    if exp:
        io_write(m, exp + 0x0A, 2, 0x000F)
    if aer:
        status = io_read(m, aer + 0x04, 4) & ~io_read(m, aer + 0x0C, 4)
        if status:
            io_write(m, aer + 0x04, 4, status)


cdef void ers_report(Machine *m, int callback, int vote) noexcept nogil:
    """reset.ers_report: the report_* path (callback in paths order error_detected, mmio_enabled,
    slot_reset, resume, perm_failure), its vote (0: none) merged into the recovery status; resume
    and perm_failure merge nothing."""
    cdef int rc = run_path(m, PATH_REPORT_ERROR_DETECTED + callback, vote)
    if rc and callback < 3:
        m.ers_status = merge_result(m.ers_status, rc)


cdef int pcie_do_recovery(Machine *m, int channel, int vote, int source_dpc) noexcept nogil:
    """reset.pcie_do_recovery: the refusals and DPC containment, then the path pcie_do_recovery;
    the oracle's check of a recovery called successful; the op's result is the status."""
    cdef int prev = m.step
    cdef int has
    if m.d.header_type == 1:
        m.refused_now = 1          # reset.pcie_do_recovery: the walk covers only the devices below a port
        return ENODEV_
    if source_dpc and not (m.d.has_port and m.d.port.caps.dpc):
        m.refused_now = 1          # reset.pcie_do_recovery: no DPC-capable port, no DPC event
        return ENODEV_
    if source_dpc and channel != ERR_FROZEN:
        m.refused_now = 1          # dpc_handler/edr_handle_event: pci_channel_io_frozen only
        return EINVAL_
    if m.st.dev.driver == DRV_HOST:       # reset.pcie_do_recovery: one err_handler per binding
        has = 2 if vote == 3 else 1       # VOTE_VALUES[3]: no_aer_driver
        if m.st.dev.err_handler != 0 and m.st.dev.err_handler != has:
            m.refused_now = 1
            return EINVAL_
        m.st.dev.err_handler = has
    if source_dpc:
        dpc_containment(m)
    m.recovery_channel = channel
    m.recovery_dpc = source_dpc
    m.ers_status = ERS_CAN_RECOVER
    m.recovery_said = 0
    run_path(m, PATH_PCIE_DO_RECOVERY, vote)
    m.step = STEP_PCIE_DO_RECOVERY
    if m.recovery_said == 1 and m.st.needs_restore_after_reset and m.st.dev.driver != DRV_NONE:
        report(m, INV_USED_WITHOUT_RESTORE, REG_CONFIG, MSG_USED_WITHOUT_RESTORE, 0, 0, 0)
    m.step = prev
    return m.ers_status
