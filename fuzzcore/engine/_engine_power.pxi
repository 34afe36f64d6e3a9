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
    """A PMCSR write as the function sees it: D3hot->D0 with NoSoftRst=0 is a soft reset."""
    cdef int pm = m.d.fn.caps.pm
    cdef int before, after
    if not pm:
        return
    before = hw_power_state(m)
    io_write(m, pm + PCI_PM_CTRL, 2, value)
    after = hw_power_state(m)
    if before == D3HOT and after == D0 and m.st.accessible and not m.d.no_soft_reset:
        hardware_reset(m, RESET_SOFT)


cdef void pci_update_bar(Machine *m, int bar) noexcept nogil:
    """pci_std_update_resource: write the BAR from the kernel resource (64-bit: Memory off around
    the two halves), and since 909f7bf9b080 also update saved_config_space."""
    cdef int pos = m.d.bar_pos[bar]
    cdef int kind
    cdef uint64_t addr
    cdef uint32_t lowmask, lo, cmd
    cdef bint disable
    if pos < 0 or m.d.bars[pos].kind == BAR_NONE:
        return
    kind = m.d.bars[pos].kind
    addr = m.st.dev.resources[bar]
    # new = region.start | (res->flags & ~PCI_BASE_ADDRESS_{IO,MEM}_MASK): the type bits come
    # from the resource enumeration decoded (BarDesc.flags), not from the BAR now
    # (drivers/pci/setup-res.c, 6.12 and 7.1)
    lowmask = 0x3 if kind == BAR_IO else 0xF
    lo = (<uint32_t>(addr & 0xFFFFFFFFU) & ~lowmask) | (m.d.bars[pos].flags & lowmask)
    # Memory off around the BAR, then the Command read before, whatever Memory was (both
    # unconditional in pci_std_update_resource, drivers/pci/setup-res.c, 6.12 and 7.1).
    disable = kind == BAR_MEM64
    cmd = 0
    if disable:
        cmd = io_read(m, PCI_COMMAND, 2)
        io_write(m, PCI_COMMAND, 2, cmd & ~(<uint32_t>PCI_COMMAND_MEMORY))
    io_write(m, 0x10 + 4 * bar, 4, lo)
    if kind == BAR_MEM64:
        io_write(m, 0x14 + 4 * bar, 4, <uint32_t>(addr >> 32))
    if disable:
        io_write(m, PCI_COMMAND, 2, cmd)
    # saved_config_space gets the value written (`new`), not the read-back (`check`, only for
    # pci_err), drivers/pci/setup-res.c
    if m.pol.bar_assignment_updates_snapshot:
        m.st.dev.saved_config[4 + bar] = lo
        if kind == BAR_MEM64:
            m.st.dev.saved_config[5 + bar] = <uint32_t>(addr >> 32)


cdef void pci_update_rom(Machine *m) noexcept nogil:
    """power.pci_update_rom: pci_std_update_resource(PCI_ROM_RESOURCE) writes only a ROM
    enumeration found enabled (IORESOURCE_ROM_ENABLE): region.start | PCI_ROM_ADDRESS_ENABLE,
    also into saved_config_space (drivers/pci/setup-res.c, 6.12 and 7.1)."""
    if not m.d.rom_new:
        return
    io_write(m, m.d.rom_base_reg, 4, m.d.rom_new)
    if m.pol.bar_assignment_updates_snapshot:
        m.st.dev.saved_config[m.d.rom_base_reg // 4] = m.d.rom_new


cdef void pci_restore_bars(Machine *m) noexcept nogil:
    """power.pci_restore_bars: pci_update_resource for every resource below PCI_BRIDGE_RESOURCES:
    the BARs, then the ROM (the SR-IOV VF BARs are not modelled here)."""
    cdef int prev = m.step
    cdef int i
    m.step = STEP_PCI_RESTORE_BARS
    for i in range(m.d.n_bars):
        pci_update_bar(m, m.d.bars[i].index)
    pci_update_rom(m)
    m.step = prev


cdef int pci_power_up(Machine *m) noexcept nogil:
    """power.pci_power_up: the policy path pci_power_up; 1 when a D3hot->D0 soft reset may have
    happened, -EIO without PM or when PMCSR reads all-ones."""
    return run_path(m, PATH_PCI_POWER_UP, 0)


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
