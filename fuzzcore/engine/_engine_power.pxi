# Power management (drivers/pci/pci.c, pci-driver.c; kernel.md §5.5) and the hardware's side of
# PMCSR writes; mirrors fuzzcore/model/power.py.

cdef enum:
    PCI_PM_CTRL = 0x04
    PCI_PM_CTRL_STATE_MASK = 0x3
    PCI_PM_CTRL_NO_SOFT_RESET = 0x8


cdef inline int hw_power_state(Machine *m) noexcept nogil:
    """The PowerState the function is really in (PMCSR), D0 when it has no PM capability."""
    if not m.d.fn.caps.pm or not m.st.accessible:
        return D0
    return raw_read(m.cfg, m.d.fn.caps.pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK


cdef void pmcsr_write(Machine *m, uint32_t value) noexcept nogil:
    """power.pmcsr_write (the function's D3hot->D0 soft reset is the hardware's: io_write)."""
    if m.d.fn.caps.pm:
        io_write(m, m.d.fn.caps.pm + PCI_PM_CTRL, 2, value)


cdef void pci_update_bar(Machine *m, int bar) noexcept nogil:
    """power.pci_update_bar: the policy path pci_std_update_resource for a BAR."""
    run_path(m, PATH_STD_UPDATE_RESOURCE, bar)


cdef void pci_update_rom(Machine *m) noexcept nogil:
    """power.pci_update_rom: the same path for the ROM (resource 6)."""
    run_path(m, PATH_STD_UPDATE_RESOURCE, 6)


cdef bint resource_unset(Machine *m, int resno) noexcept nogil:
    """power.resource_unset: no BAR at that index, or the ROM without IORESOURCE_ROM_ENABLE."""
    if resno == 6:
        return m.d.rom_new == 0
    return resno > 5 or m.d.bar_pos[resno] < 0 or m.d.bars[m.d.bar_pos[resno]].kind == BAR_NONE


cdef void command_bracket(Machine *m, int state) noexcept nogil:
    """power.command_bracket: 0 memory_off (Command read and pushed, Memory cleared), 1 back (the
    innermost popped and written). Nesting deeper than MAX_BRACKETS is not in any path."""
    cdef uint32_t cmd
    if state == 0:
        cmd = io_read(m, PCI_COMMAND, 2)
        if m.n_brackets < MAX_BRACKETS:
            m.bracket_cmds[m.n_brackets] = cmd
            m.n_brackets += 1
        io_write(m, PCI_COMMAND, 2, cmd & ~(<uint32_t>PCI_COMMAND_MEMORY))
    elif m.n_brackets > 0:
        m.n_brackets -= 1
        io_write(m, PCI_COMMAND, 2, m.bracket_cmds[m.n_brackets])


cdef void bar_write(Machine *m, int resno, int part) noexcept nogil:
    """power.bar_write: part 0 low (the BAR from the resource and the decoded type bits; the ROM
    with its enable), 1 high (a 64-bit BAR's upper dword); saved_config_space too under
    bar_assignment_updates_snapshot."""
    cdef int reg, pos, kind
    cdef uint32_t new, lowmask
    cdef uint64_t addr
    if resno == 6:
        reg = m.d.rom_base_reg
        new = m.d.rom_new
    else:
        pos = m.d.bar_pos[resno]
        kind = m.d.bars[pos].kind
        addr = m.st.dev.resources[resno]
        if part == 1:
            reg = 0x14 + 4 * resno
            new = <uint32_t>(addr >> 32)
        else:
            lowmask = 0x3 if kind == BAR_IO else 0xF
            reg = 0x10 + 4 * resno
            new = (<uint32_t>(addr & 0xFFFFFFFFU) & ~lowmask) | (m.d.bars[pos].flags & lowmask)
    io_write(m, reg, 4, new)
    if m.pol.bar_assignment_updates_snapshot:
        m.st.dev.saved_config[reg // 4] = new


cdef void iov_bar_write(Machine *m, int vf_bar, int part) noexcept nogil:
    """power.iov_bar_write: the PF's VF BAR from its resource (part 0 low, 1 a 64-bit one's upper)."""
    cdef int reg
    if not (0 <= vf_bar < 6) or m.d.iov_kind[vf_bar] == IOV_UNSET or m.d.fn.caps.sriov == 0:
        return
    reg = m.d.fn.caps.sriov + 0x24 + 4 * vf_bar                # PCI_SRIOV_BAR
    if part == 1:
        io_write(m, reg + 4, 4, <uint32_t>(m.d.iov_addr[vf_bar] >> 32))
    else:
        io_write(m, reg, 4, (<uint32_t>(m.d.iov_addr[vf_bar] & 0xFFFFFFF0U)) | m.d.iov_flags[vf_bar])


cdef void pci_restore_bars(Machine *m) noexcept nogil:
    """power.pci_restore_bars: the primitive restore_bars, resources 0-6: the BARs, then the ROM
    ([path.pci_restore_bars] adds the VF BARs)."""
    cdef int prev = m.step
    cdef int i
    m.bars_owed = 0                      # the soft reset pci_power_up reported is answered
    m.step = STEP_PCI_RESTORE_BARS
    for i in range(m.d.n_bars):
        pci_update_bar(m, m.d.bars[i].index)
    pci_update_rom(m)
    m.step = prev


cdef int pci_power_up(Machine *m) noexcept nogil:
    """power.pci_power_up: the policy path pci_power_up; 1 when a D3hot->D0 soft reset may have
    happened, -EIO without PM or when PMCSR reads all-ones."""
    cdef int ret = run_path(m, PATH_PCI_POWER_UP, 0)
    if ret > 0:
        m.bars_owed = 1                  # need_restore: the core itself must put the BARs back
    return ret


cdef int pci_set_full_power_state(Machine *m) noexcept nogil:
    """power.pci_set_full_power_state: the policy path of that name."""
    return run_path(m, PATH_PCI_SET_FULL_POWER_STATE, 0)


cdef bint pmcsr_need_restore(Machine *m) noexcept nogil:
    """power.pmcsr_need_restore: (PowerState D3hot or current_state >= D3hot) and NoSoftRst clear."""
    cdef uint32_t pmcsr = io_read(m, m.d.fn.caps.pm + PCI_PM_CTRL, 2)
    return ((pmcsr & PCI_PM_CTRL_STATE_MASK) == D3HOT or m.st.dev.current_state >= D3HOT) \
        and not pmcsr & PCI_PM_CTRL_NO_SOFT_RESET


cdef int pci_set_power_state(Machine *m, int state) noexcept nogil:
    """power.pci_set_power_state: the policy path of that name, its argument the target state."""
    return run_path(m, PATH_PCI_SET_POWER_STATE, state)


cdef void platform_power_off(Machine *m) noexcept nogil:
    """power.platform_power_off: the platform removes the function's power (D3cold); it answers
    nothing until platform_power_on."""
    m.st.powered = 0
    m.st.accessible = 0


cdef void platform_power_on(Machine *m) noexcept nogil:
    """power.platform_power_on (pci_power_up's platform_pci_set_power_state(D0)): power back, the
    function at power-on values, PowerState D0 uninitialised."""
    cdef int prev = m.step
    if m.st.powered:
        return
    m.step = STEP_PLATFORM_POWER_ON
    m.st.powered = 1
    hardware_reset(m, RESET_COLD)
    if m.d.fn.caps.pm:
        hw_write(m, m.d.fn.caps.pm + PCI_PM_CTRL, 2, 0)
    m.step = prev


cdef int pci_pm_runtime_suspend(Machine *m) noexcept nogil:
    """power.pci_pm_runtime_suspend: the policy path (pci_suspend_ptm; unbound: save, stay in D0;
    else state_saved cleared, the driver's callback (vfio: D0 first), then save and D3hot unless
    the callback saved or left the device in low power)."""
    run_path(m, PATH_RUNTIME_SUSPEND, 0)
    return 0


cdef int pci_pm_runtime_resume(Machine *m) noexcept nogil:
    """power.pci_pm_runtime_resume: the policy path (pci_power_up, no BAR re-write;
    pci_restore_state; pci_resume_ptm; the driver's runtime_resume)."""
    run_path(m, PATH_RUNTIME_RESUME, 0)
    return 0


cdef int SLEEP_PATH[4]
SLEEP_PATH[:] = [PATH_PM_SUSPEND_DEVICES, PATH_PM_SUSPEND_DEVICES, PATH_PM_HIBERNATE_THAW, PATH_PM_HIBERNATE_RESTORE]


cdef int pm_system_sleep(Machine *m, int transition, int power_lost) noexcept nogil:
    """power.pm_system_sleep: the policy path of the transition, with the sleep's flags set for
    it and cleared after."""
    m.sleep_transition = transition
    m.sleep_power_lost = power_lost
    m.direct_complete = 0
    m.skip_bus_pm = 0
    run_path(m, SLEEP_PATH[transition], 0)
    m.sleep_transition = -1
    m.sleep_power_lost = 0
    m.direct_complete = 0
    m.skip_bus_pm = 0
    if m.st.needs_restore_after_reset and m.st.dev.driver != DRV_NONE and not m.st.dev.rpm_suspended:
        # power.pm_system_sleep: resumed and running, nothing restores it later
        report(m, INV_USED_WITHOUT_RESTORE, REG_CONFIG, MSG_RESUMED_WITHOUT_RESTORE, 0, 0, 0)
    return 0


cdef void power_removed(Machine *m) noexcept nogil:
    """power.power_removed: the platform removes main power while the system sleeps: reset as in
    D3cold, PowerState D0 uninitialised; current_state is not told."""
    cdef int prev = m.step
    m.step = STEP_PLATFORM_POWER_OFF
    hardware_reset(m, RESET_COLD)
    if m.d.fn.caps.pm:
        hw_write(m, m.d.fn.caps.pm + PCI_PM_CTRL, 2, 0)
    m.step = prev


cdef void link_down_effects(Machine *m) noexcept nogil:
    """A downstream port clears LTR Enable when its link goes down (PCIe r5.0 §7.5.3.16)."""
    cdef int off
    if not m.d.has_port or not m.d.port.caps.exp:
        return
    off = m.d.port.caps.exp + 0x28
    port_hw_write(m, off, 2, port_read(m, off, 2) & ~(<uint32_t>0x400))
