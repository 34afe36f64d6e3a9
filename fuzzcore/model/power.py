"""Power management (drivers/pci/pci.c, pci-driver.c; kernel.md §5.5) and the hardware's side
of PMCSR writes."""

from __future__ import annotations

from .access import PCI_COMMAND, PCI_COMMAND_MEMORY
from .state import D0, D3COLD, D3HOT, PCI_UNKNOWN

PCI_PM_CTRL = 0x04
PCI_PM_CTRL_STATE_MASK = 0x3
PCI_PM_CTRL_NO_SOFT_RESET = 0x8


def hw_power_state(m) -> int:
    """The PowerState the function is really in (PMCSR), D0 when it has no PM capability."""
    if not m.caps.pm or not m.state.hw.accessible:
        return D0
    return m.state.hw.read(m.caps.pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK


def pmcsr_write(m, value: int) -> None:
    """A PMCSR write (the function's D3hot->D0 soft reset is the hardware's: Access.write)."""
    if m.caps.pm:
        m.io.write(m.caps.pm + PCI_PM_CTRL, 2, value)


def pci_update_bar(m, bar: int) -> None:
    """pci_update_resource for a BAR: the policy path pci_std_update_resource."""
    from .paths import run_path
    run_path(m, "pci_std_update_resource", bar)


def pci_update_rom(m) -> None:
    """pci_update_resource for the ROM (PCI_ROM_RESOURCE): the same path with resource 6."""
    from .paths import run_path
    run_path(m, "pci_std_update_resource", 6)


def d1d2_support(m) -> tuple[bool, bool]:
    """dev->d1_support, dev->d2_support: PMC's D1/D2 Support bits (pci_pm_init, at enumeration)."""
    if not m.caps.pm:
        return False, False
    pmc = int(m.profile.config[m.caps.pm + 2]) | int(m.profile.config[m.caps.pm + 3]) << 8
    return bool(pmc & 0x0200), bool(pmc & 0x0400)


def resource_unset(m, resno: int) -> bool:
    """pci_std_update_resource's early returns for a resource with nothing to write: no BAR at that
    index (or the upper half of a 64-bit one: !res->flags), or the ROM without
    IORESOURCE_ROM_ENABLE (set by enumeration when it found the ROM enabled)."""
    if resno == 6:
        return not m.profile.rom_size or not m.state.dev.rom_enable
    info = m.profile.bar(resno)
    return info is None or info.kind == "none"


def command_bracket(m, state: str) -> None:
    """The paths primitive command_bracket: "memory_off" reads Command and writes it with Memory
    cleared; "back" writes the innermost open bracket's value back (nothing if none is open).
    Brackets nest as the kernel's local variables do (a resize's driver bracket around
    pci_std_update_resource's own)."""
    if state == "memory_off":
        cmd = m.io.read(PCI_COMMAND, 2)
        m.bracket_cmds.append(cmd)
        m.io.write(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY)
    elif m.bracket_cmds:
        m.io.write(PCI_COMMAND, 2, m.bracket_cmds.pop())


def bar_write(m, resno: int, part: str) -> None:
    """The paths primitive bar_write (pci_std_update_resource's write): new = region.start | the
    type bits enumeration decoded (res->flags, not the BAR now: a BAR that reads all-ones or lost
    its bits gets the kernel's value); the ROM: the resource | PCI_ROM_ADDRESS_ENABLE. The upper
    dword of a 64-bit BAR: region.start >> 32. saved_config_space gets the value written (not the
    read-back, which only feeds pci_err) under resources.bar_assignment_updates_snapshot."""
    st = m.state
    if resno == 6:
        reg = 0x38 if m.profile.header_type == 1 else 0x30
        new = st.dev.rom_resource | 0x1
    else:
        info = m.profile.bar(resno)
        addr = st.dev.resources[resno]
        if part == "high":
            reg, new = 0x14 + 4 * resno, addr >> 32
        else:
            mask = 0x3 if info.kind == "io" else 0xF
            reg, new = 0x10 + 4 * resno, (addr & 0xFFFFFFFF & ~mask) | (st.dev.resource_flags[resno] & mask)
    m.io.write(reg, 4, new)
    if m.policy.switch("resources.bar_assignment_updates_snapshot"):
        st.dev.saved_config[reg // 4] = new


def iov_bar_write(m, vf_bar: int, part: str) -> None:
    """The paths primitive iov_bar_write (pci_iov_update_resource's writes): VF BAR `vf_bar` of the
    SR-IOV capability from its resource: region.start | the type bits sriov_init decoded; "high"
    the upper dword of a 64-bit one. VF BARs have no saved_config_space slot."""
    from .enumeration import IOV_UNSET
    kind, addr, flags = m.iov_resources[vf_bar] if 0 <= vf_bar < 6 else (IOV_UNSET, 0, 0)
    if kind == IOV_UNSET or not m.caps.sriov:
        return
    reg = m.caps.sriov + 0x24 + 4 * vf_bar                       # PCI_SRIOV_BAR
    if part == "high":
        m.io.write(reg + 4, 4, addr >> 32)
    else:
        m.io.write(reg, 4, (addr & 0xFFFFFFF0) | flags)


def pci_restore_bars(m) -> None:
    """The paths primitive restore_bars: pci_update_resource for resources 0-6, the BARs, then the
    ROM ([path.pci_restore_bars] adds the VF BARs, pci_iov_update_resource)."""
    m.oracle.bars_owed = False          # the soft reset pci_power_up reported is answered
    with m.in_step("pci_restore_bars"):
        for b in m.profile.bars:
            pci_update_bar(m, b.index)
        pci_update_rom(m)


def pci_power_up(m) -> int:
    """pci_power_up (drivers/pci/pci.c): the policy path of that name (platform power, PMCSR to
    D0, current_state D0); 1 when a D3hot->D0 soft reset may have happened, -EIO without a PM
    capability or when PMCSR reads all-ones. It restores nothing: the caller does."""
    from .paths import run_path
    ret = run_path(m, "pci_power_up")
    if ret > 0:
        m.oracle.bars_owed = True       # need_restore: the core itself must put the BARs back
    return ret


def pci_set_full_power_state(m) -> int:
    """pci_set_full_power_state (drivers/pci/pci.c): the policy path (pci_power_up, current_state
    from PMCSR, the BARs re-written when it reported a possible soft reset)."""
    from .paths import run_path
    return run_path(m, "pci_set_full_power_state")


def pmcsr_need_restore(m) -> bool:
    """pci_power_up's need_restore: (PowerState D3hot or current_state >= D3hot) and NoSoftRst clear."""
    pmcsr = m.io.read(m.caps.pm + PCI_PM_CTRL, 2)
    return ((pmcsr & PCI_PM_CTRL_STATE_MASK == D3HOT or m.state.dev.current_state >= D3HOT)
            and not pmcsr & PCI_PM_CTRL_NO_SOFT_RESET)


def pci_set_power_state(m, state: int) -> int:
    """pci_set_power_state -> __pci_set_power_state (drivers/pci/pci.c): the policy path of that
    name, its argument the target state."""
    from .paths import run_path
    return run_path(m, "pci_set_power_state", state)


def platform_power_off(m) -> None:
    """pci_platform_power_transition(D3cold): the platform removes the function's power. It
    answers nothing (config reads all-ones, writes dropped) until platform_power_on; no reset or
    link event brings it back meanwhile."""
    with m.in_step("platform power off"):
        m.io.event("the platform removes the function's power (D3cold)")
        m.state.hw.powered = False
        m.state.hw.accessible = False


def platform_power_on(m) -> None:
    """platform_pci_set_power_state(D0), the first thing pci_power_up does: power comes back and
    the function starts from a fundamental reset (registers at power-on values, PowerState D0
    uninitialised). Nothing for a function that has power."""
    from .reset import hardware_reset
    hw = m.state.hw
    if hw.powered:
        return
    with m.in_step("platform power on"):
        hw.powered = True
        hardware_reset(m, "cold")
        if m.caps.pm:
            hw.write(m.caps.pm + PCI_PM_CTRL, 2, 0)


def pci_pm_runtime_suspend(m) -> int:
    """rpm_suspend -> pci_pm_runtime_suspend (§1.4, §1.5): the policy path of that name
    (pci_suspend_ptm; an unbound device is saved and left in D0; otherwise state_saved cleared,
    the driver's runtime_suspend (vfio-pci's puts the device in D0 first), then, unless the
    callback saved or left it in a low-power state, pci_save_state and D3hot). The op table's
    rules keep it to an active device nobody holds (vfio's open reference: -EAGAIN)."""
    from .paths import run_path
    run_path(m, "pci_pm_runtime_suspend")
    return 0


def runtime_allow(m) -> int:
    """The op pci_pm_runtime_suspend: user space lets an idle device runtime-suspend (power/control
    = auto: pm_runtime_allow -> rpm_idle -> rpm_suspend). The device stays allowed, so a later
    pm_runtime_put that leaves it idle suspends it again (the `runtime_idle` condition)."""
    m.state.dev.rpm_auto = True
    return pci_pm_runtime_suspend(m)


def runtime_forbid(m) -> int:
    """The op pci_pm_runtime_resume: power/control = on (pm_runtime_forbid: a usage reference
    held, rpm_resume), so no later put suspends the device."""
    m.state.dev.rpm_auto = False
    return pci_pm_runtime_resume(m)


def pci_pm_runtime_resume(m) -> int:
    """rpm_resume -> pci_pm_runtime_resume: the policy path (pci_pm_default_resume_early:
    pci_power_up, which re-writes no BAR, then pci_restore_state, PME restore; pci_resume_ptm;
    the driver's runtime_resume, vfio-pci's only unmasks INTx)."""
    from .paths import run_path
    run_path(m, "pci_pm_runtime_resume")
    return 0


SLEEP_TRANSITIONS = {"s2idle": "pm_suspend_devices", "deep": "pm_suspend_devices",
                     "hibernate_thaw": "pm_hibernate_thaw", "hibernate_restore": "pm_hibernate_restore"}


class SystemSleep:
    """The system sleep in progress: the op's arguments and the two flags the PM core and the PCI
    core keep for the device over one transition (dev->power.direct_complete, skip_bus_pm)."""
    __slots__ = ("transition", "power_lost", "direct_complete", "skip_bus_pm")

    def __init__(self, transition: str = "", power_lost: bool = False):
        self.transition, self.power_lost = transition, power_lost
        self.direct_complete = self.skip_bus_pm = False


def pm_system_sleep(m, transition: str, power: str) -> int:
    """A system sleep as the PM core runs it for this device (drivers/base/power/main.c phase
    order; kernel/power/suspend.c, hibernate.c): the policy path of the transition. `power` says
    whether the platform removed the function's power meanwhile (a hibernation restore always
    does, a freeze/thaw never)."""
    from .paths import run_path
    m.sleep = SystemSleep(transition, power == "lost")
    try:
        run_path(m, SLEEP_TRANSITIONS[transition])
    finally:
        m.sleep = SystemSleep()
    st = m.state
    if st.needs_restore_after_reset and st.dev.driver != "none" and not st.dev.rpm_suspended:
        # the PM core has resumed every device and the driver runs it: nothing restores it later
        m.oracle.report("used_without_restore", "config", "restored after the reset",
                        "system sleep resumed the device at reset defaults")
    return 0


def power_removed(m) -> None:
    """The platform removes main power while the system sleeps: the function is reset as in
    D3cold (registers to power-on values, PowerState D0 uninitialised); the kernel's current_state
    is not told."""
    from .reset import hardware_reset
    with m.in_step("platform power off"):
        hardware_reset(m, "cold")
        if m.caps.pm:
            m.state.hw.write(m.caps.pm + PCI_PM_CTRL, 2, 0)


def link_down_effects(m) -> None:
    """A downstream port clears LTR Enable when its link goes down (PCIe r5.0 §7.5.3.16)."""
    port = m.state.port
    if port is None or not m.port_caps.exp:
        return
    off = m.port_caps.exp + 0x28
    v = port.hw.read(off, 2)
    port.hw.write(off, 2, v & ~0x400)


def initial_power(m) -> None:
    m.state.dev.current_state = PCI_UNKNOWN
