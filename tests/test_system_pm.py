"""System sleep as policy paths (op pm_system_sleep; [path.pm_*] and [path.pci_pm_*] in
linux-7.1.toml, drivers/pci/pci-driver.c and drivers/base/power/main.c of v7.1.3): the phases run
in the kernel's order on both models, the op is refused in no state (the PM core suspends every
device), and a historical PM-core fix as an overlay changes what both models do."""

from pathlib import Path

from both_models import both, model  # noqa: F401  (fixture `both`: a test on both models)
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program
from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.program.op_table import OP_INDEX, OPS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
I350_BAR0 = 0x92E00000
PMCSR = 0x40 + 4                      # the i350's PM capability at 0x40
D0, D3HOT, UNKNOWN = 0, 3, 5


def run(text, policy="linux-7.1", device="i350"):
    m = model(policy, device)
    for call in parse_program(text):
        m.apply(call)
    return m


def test_baseline_states_the_phases_in_kernel_order():
    """dpm_prepare .. dpm_complete (drivers/base/power/main.c) and each pci_pm_* body as the
    v7.1.3 source orders it."""
    p = load_policy("linux-7.1")
    names = lambda path: [s.name for s in p.path(path)]   # noqa: E731
    assert names("pm_suspend_devices") == ["prepare", "suspend", "suspend_noirq", "off", "set_active",
                                           "resume_noirq", "resume", "complete", "put"]
    assert names("pm_hibernate_thaw") == ["freeze", "freeze_noirq", "thaw_noirq", "thaw", "complete", "put"]
    assert names("pm_hibernate_restore") == ["freeze", "freeze_noirq", "off", "restore_noirq", "restore",
                                             "complete", "put"]
    assert names("pci_pm_suspend") == ["clear_skip", "suspend_ptm", "legacy", "stop_legacy", "stop_unbound",
                                       "smart", "runtime_resume", "clear_saved", "callback"]
    assert names("pci_pm_suspend_noirq") == ["skip_suspend", "legacy", "stop_legacy", "save_unbound",
                                             "stop_unbound", "save_and_sleep", "mark_d0", "stop_s2idle_d0", "unknown"]
    assert [(s.do, s.when) for s in p.path("pci_pm_resume_noirq")] == [
        ("power_up", "not skip_bus_pm_no_platform"), ("restore_state", "not skip_bus_pm_no_platform")]
    assert [s.do for s in p.path("pci_pm_save_and_sleep")] == ["save_state", "set_power"]


def test_suspend_to_ram_with_power_lost_restores_the_open_device(both):
    """vfio-pci has dev_pm_ops without system-sleep callbacks: pci_pm_suspend clears state_saved,
    pci_pm_suspend_noirq saves and puts the device in D3hot, the platform cuts power, and
    pci_pm_resume_noirq powers it up and restores the snapshot taken before the power-off."""
    m = run("vfio_open()")
    epoch = m.state.dev.config_epoch
    m.apply(parse_program("pm_system_sleep(transition=deep, power=lost)")[0])
    assert m.state.hw.read(0x10, 4) == I350_BAR0 and m.state.hw.read(0x04, 2) & 0x2
    assert m.state.dev.config_epoch == epoch + 1          # one save: pci_pm_suspend_noirq's
    assert m.state.dev.current_state == D0 and not m.state.dev.state_saved
    assert not m.oracle.violations


def test_phases_in_order_in_the_reference_trace():
    """The reference trace names each phase where it wrote: D3hot in suspend_noirq, the power-off,
    D0 and the restore in resume_noirq, in that order."""
    m = Model(resolve_device("i350"), load_policy("linux-7.1"))
    m.run(parse_program("vfio_open()\npm_system_sleep(transition=deep, power=lost)"), trace=True)
    steps = [e.step for e in m.io.trace if e.op_index == 1]
    where = [s for s in steps if s.startswith(("pci_pm_", "platform power off", "pci_restore_state"))]
    first = {s.split(":")[0].split("/")[0]: i for i, s in reversed(list(enumerate(where)))}
    assert first["pci_pm_suspend_noirq"] < first["platform power off"] < first["pci_restore_state"]


def test_suspend_to_idle_keeps_power_and_skips_nothing_in_d3hot(both):
    """s2idle with power kept: D3hot then D0 (PMCSR), the same snapshot, the device usable."""
    m = run("vfio_open()\npm_system_sleep(transition=s2idle, power=kept)")
    assert m.state.hw.read(PMCSR, 2) & 0x3 == 0 and m.state.dev.current_state == D0
    assert m.state.hw.read(0x10, 4) == I350_BAR0 and not m.oracle.violations


def test_direct_complete_leaves_the_idle_vfio_device_suspended(both):
    """The closed vfio device is runtime-suspended in D3hot: pci_pm_prepare returns 1
    (!pci_dev_need_resume) and the PM core skips every callback; with power kept nothing changes."""
    m = run("")
    before = (m.state.dev.config_epoch, m.state.dev.current_state, m.state.hw.read(PMCSR, 2))
    m.apply(parse_program("pm_system_sleep(transition=s2idle, power=kept)")[0])
    assert m.state.dev.rpm_suspended
    assert (m.state.dev.config_epoch, m.state.dev.current_state, m.state.hw.read(PMCSR, 2)) == before


def test_s3_resume_runtime_resumes_a_direct_complete_device_the_firmware_powered_up(both):
    """pci_pm_complete: after an S3 resume (pm_resume_via_firmware) PMCSR reads D0 below the
    kernel's D3hot, so pm_request_resume runs the runtime resume (restore), and device_complete's
    pm_runtime_put lets the idle vfio device suspend again (snapshot + D3hot)."""
    m = run("")
    epoch = m.state.dev.config_epoch
    m.apply(parse_program("pm_system_sleep(transition=deep, power=lost)")[0])
    assert m.state.hw.read(0x10, 4) == I350_BAR0
    assert m.state.dev.rpm_suspended and m.state.dev.current_state == D3HOT
    assert m.state.dev.config_epoch == epoch + 1          # the runtime suspend's save
    s2idle = run("pm_system_sleep(transition=s2idle, power=lost)")   # no firmware resume: nobody looks
    assert s2idle.state.hw.read(0x10, 4) == 0 and s2idle.state.dev.rpm_suspended


def test_hibernation_thaw_runtime_resumes_and_resuspends_the_idle_device(both):
    """pci_pm_freeze runtime-resumes a device with dev_pm_ops (no direct-complete for
    PM_EVENT_FREEZE); freeze_noirq saves and sets the state unknown; thaw restores; the put
    suspends it again: two saves."""
    m = run("")
    epoch = m.state.dev.config_epoch
    m.apply(parse_program("pm_system_sleep(transition=hibernate_thaw, power=kept)")[0])
    assert m.state.dev.config_epoch == epoch + 2
    assert m.state.dev.rpm_suspended and m.state.dev.current_state == D3HOT


def test_suspend_to_idle_leaves_an_unbound_device_in_d0_then_restores_it(both):
    """No driver: pci_pm_suspend_noirq only saves (goto Fixup: no D3hot, no unknown state),
    skip_bus_pm stays false, so pci_pm_resume_noirq restores even over suspend-to-idle."""
    m = run("pci_bind_driver(driver=none)\npm_system_sleep(transition=s2idle, power=lost)")
    assert m.state.dev.current_state == D0 and m.state.hw.read(0x10, 4) == I350_BAR0


def test_the_op_is_refused_in_no_state(both):
    """The PM core suspends every device whatever its owner, power or runtime state
    (pci_pm_suspend / pci_pm_freeze runtime-resume, direct-complete, the !pm branches): no rule."""
    op = OPS[OP_INDEX["pm_system_sleep"]]
    assert op.pre == () and [a.name for a in op.args] == ["transition", "power"]
    for prog in ("", "vfio_open()", "pci_bind_driver(driver=host)\npci_pm_runtime_suspend()",
                 "pci_bind_driver(driver=host)\npci_set_power_state(state=d3hot)", "pci_bind_driver(driver=none)"):
        m = run(prog)
        for t in ("s2idle", "deep", "hibernate_thaw", "hibernate_restore"):
            assert m.apply(parse_program(f"pm_system_sleep(transition={t}, power=kept)")[0]) == 0, (prog, t)


PRE_894 = f"linux-7.1+{EXAMPLES / 'pre-894f475f88e0.toml'}"
UNBOUND_AFTER_SAVE = """
    pci_bind_driver(driver=host)
    pci_save_state()
    pci_bind_driver(driver=none)
    pm_system_sleep(transition=hibernate_restore, power=lost)
"""


def test_894f475f88e0_freeze_clears_state_saved_of_an_unbound_device(both):
    """A host driver saved (Bus Master on), was unbound (Bus Master off), then the system
    hibernates. v7.1.3's pci_pm_freeze clears the stale state_saved of the driverless device, so
    pci_pm_freeze_noirq saves what it has now; before 894f475f88e0 the driver's old snapshot is what
    pci_pm_restore_noirq writes back: Bus Master on for a device nobody drives."""
    p = load_policy(PRE_894)
    assert [s.name for s in p.path("pci_pm_freeze")] == ["legacy", "stop_legacy", "stop_unbound", "runtime_resume",
                                                         "clear_saved", "callback"]
    base, old = run(UNBOUND_AFTER_SAVE), run(UNBOUND_AFTER_SAVE, PRE_894)
    assert base.state.hw.read(0x04, 2) & 0x4 == 0
    assert old.state.hw.read(0x04, 2) & 0x4 == 0x4
    assert base.state.dev.config_epoch == old.state.dev.config_epoch + 1   # the save the fix brings back


def test_linux_6_12_thaw_still_clears_state_saved(tmp_path, both):
    """6.12.118's pci_pm_thaw clears state_saved after the driver's thaw (be9edde43d85 dropped
    that line): a host driver that saves in its thaw keeps the flag under v7.1.3 only."""
    drv = tmp_path / "drv.toml"
    drv.write_text('[overlay]\nname = "drv"\ndescription = "d"\ncommit = ""\nreference = ""\n'
                   '[driver.pm_resume]\nsteps = ["save"]\n[driver.pm_resume.step]\nsave = { do = "save_state" }\n')
    prog = "pci_bind_driver(driver=host)\npm_system_sleep(transition=hibernate_thaw, power=kept)"
    assert run(prog, f"linux-7.1+{drv}").state.dev.state_saved
    assert not run(prog, f"linux-7.1+linux-6.12+{drv}").state.dev.state_saved
    assert [s.name for s in load_policy("linux-7.1+linux-6.12").path("pci_pm_suspend_noirq")][:6] == [
        "skip_suspend", "legacy", "stop_legacy", "save_unbound", "unknown_unbound", "stop_unbound"]


def test_a_device_user_space_let_runtime_suspend_is_suspended_again_by_each_put(both):
    """Row 28 of docs/validation.md: power/control = auto (the op pci_pm_runtime_suspend) lets the
    PM core suspend the idle device again wherever it drops the reference it took: after the
    thaw (device_complete's pm_runtime_put), after recovery (pci_pm_runtime_put) and after a sysfs
    reset (reset_store). power/control = on (pci_pm_runtime_resume) stops that."""
    for tail in ("pm_system_sleep(transition=hibernate_thaw, power=kept)",
                 "pcie_do_recovery(channel=normal, vote=can_recover, source=aer)",
                 "pci_reset_function(method=auto)"):
        m = run(f"pci_bind_driver(driver=host)\npci_pm_runtime_suspend()\n{tail}")
        assert m.state.dev.rpm_suspended and m.state.hw.read(PMCSR, 2) & 3 == D3HOT, tail
        m = run(f"pci_bind_driver(driver=host)\npci_pm_runtime_suspend()\npci_pm_runtime_resume()\n{tail}")
        assert not m.state.dev.rpm_suspended and m.state.hw.read(PMCSR, 2) & 3 == D0, tail


def test_power_up_is_a_path_and_its_bar_rewrite_is_one_step(tmp_path, both):
    """pci_set_power_state(D0) runs [path.pci_set_full_power_state]: pci_power_up reports a
    possible soft reset of a NoSoftRst- device leaving D3hot, and its `bars` step re-writes the
    BARs (pci_restore_bars). An overlay without that step leaves them at the reset's zero."""
    p = load_policy("linux-7.1")
    assert [s.name for s in p.path("pci_set_full_power_state")] == [
        "power_up", "d0_anyway", "failed", "update", "bars", "aspm", "done"]
    assert [s.do for s in p.path("pci_power_up")][:3] == ["platform_power_on", "set_current_state", "fail"]
    prog = "pci_bind_driver(driver=host)\npci_set_power_state(state=d3hot)\npci_set_power_state(state=d0)"
    bar0 = run("pci_bind_driver(driver=host)", device="nic-82576").state.hw.read(0x10, 4)
    m = run(prog, device="nic-82576")                          # NoSoftRst-: D3hot->D0 resets it
    assert bar0 and m.state.dev.current_state == D0 and m.state.hw.read(0x10, 4) == bar0
    f = tmp_path / "no-bars.toml"
    f.write_text('[overlay]\nname = "no-bars"\ndescription = "d"\ncommit = ""\nreference = ""\n'
                 '[path.pci_set_full_power_state]\nremove = ["bars"]\n')
    m = run(prog, f"linux-7.1+{f}", device="nic-82576")
    assert m.state.dev.current_state == D0 and m.state.hw.read(0x10, 4) & ~0xF == 0


def test_power_transitions_below_d0_are_paths(both):
    """pci_set_power_state -> __pci_set_power_state, pci_set_low_power_state and
    vfio_pci_set_power_state are stated in source order; the D3cold request of a function the
    platform cannot power off (a VF: no ACPI companion) fails with pci_set_low_power_state's -EIO
    and, without a PM capability, leaves current_state at D0 (pci_platform_power_transition)."""
    p = load_policy("linux-7.1")
    names = lambda path: [s.name for s in p.path(path)]   # noqa: E731
    assert names("pci_set_power_state") == ["there", "full_power", "full_done", "low_power",
                                            "no_platform_no_pm", "no_platform", "off", "cold", "done"]
    assert names("pci_set_low_power_state") == ["no_pm", "deeper", "unsupported", "there", "inaccessible_state",
                                                "inaccessible", "write", "read_back", "aspm", "done"]
    assert names("vfio_pci_set_power_state")[:5] == ["busy", "needs_save", "save", "needs_restore", "transition"]
    for device, rc, state, powered in (("nic-82576-vf", -5, D0, True), ("nic-82576", 0, 4, False)):
        m = run("pci_bind_driver(driver=host)", device=device)
        assert m.apply(parse_program("pci_set_power_state(state=d3cold)")[0]) == rc
        assert m.state.dev.current_state == state and m.state.hw.accessible == powered


def test_51ef3a004b1e_reverted_loses_command_over_a_users_d3hot(both):
    """vfio_pci_set_power_state saves a NoSoftRst- function into pm_save on its way into D3hot
    and restores it on the way back (51ef3a004b1e). Without those steps (the path as it was before,
    one step) a user's D3hot->D0 soft-resets the 82576 and only the BARs come back (pci_restore_bars):
    Command loses Memory decode while vfio's virtual Command still has it."""
    prog = ("pci_bind_driver(driver=vfio)\nvfio_open()\nvfio_config_write(offset=0x44, width=2, value=0x3)\n"
            "vfio_config_write(offset=0x44, width=2, value=0x0)\n")
    from fuzzcore.model.caps import cap_offsets
    assert cap_offsets(resolve_device("nic-82576")).pm + 4 == 0x44
    base = run(prog, device="nic-82576")
    assert base.state.hw.read(0x04, 2) & 0x2 and not base.oracle.violations
    m = run(prog, f"linux-7.1+{EXAMPLES / 'pre-51ef3a004b1e.toml'}", device="nic-82576")
    assert m.state.dev.current_state == D0 and m.state.hw.read(0x10, 4) == base.state.hw.read(0x10, 4)
    assert not m.state.hw.read(0x04, 2) & 0x2
    found = {(v.invariant, v.register, v.op_index) for v in m.oracle.violations}
    assert ("vconfig_mismatch", "Command", 3) in found
    # the op returned to the user with the function reset and nothing restored (Oracle.returned_to_user)
    assert ("used_without_restore", "config", 3) in found


def test_pre_2dd1194833de_a_users_raw_d0_soft_resets_behind_the_kernel(both):
    """Before 2dd1194833de (docs/examples/pre-2dd1194833de.toml) vfio let the user's PowerState
    bits through to PMCSR: the 82576 (NoSoftRst clear) soft-resets on the user's own D3hot->D0 (the
    hardware's doing, whoever writes PMCSR), current_state never left D0, and nothing restored:
    the op returns to user space with the function reset (used_without_restore). v7.1.3 traps the
    write and restores (vfio_pci_set_power_state's pm_save)."""
    prog = ("pci_bind_driver(driver=vfio)\nvfio_open()\nvfio_set_irqs(index=msix, count=2)\n"
            "vfio_config_write(offset=0x44, width=2, value=0x3)\nvfio_config_write(offset=0x44, width=2, value=0x0)\n")
    base = run(prog, device="nic-82576")
    assert not base.oracle.violations and base.state.hw.read(0x04, 2) & 0x2
    m = run(prog, f"linux-7.1+{EXAMPLES / 'pre-2dd1194833de.toml'}", device="nic-82576")
    assert m.state.dev.current_state == D0                      # the kernel was never told
    assert m.state.hw.read(0x10, 4) == 0 and not m.state.hw.read(0x04, 2) & 0x2   # soft reset: BAR0, Command
    found = {(v.invariant, v.register, v.op_index) for v in m.oracle.violations}
    assert ("used_without_restore", "config", 4) in found and ("vconfig_mismatch", "Command", 4) in found
    # the D3hot write resets nothing, but current_state is no longer what the function is in
    assert {(v.invariant, v.register) for v in m.oracle.violations if v.op_index < 4} == {("intent_mismatch", "PowerState")}
    # a function with NoSoftRst set (the I350, PMCSR at 0x44 too) keeps its state over the round trip
    i350 = run(prog, f"linux-7.1+{EXAMPLES / 'pre-2dd1194833de.toml'}", device="i350")
    assert not [v for v in i350.oracle.violations if v.invariant == "used_without_restore"]


def test_d0_request_trusts_current_state_not_pmcsr():
    """__pci_set_power_state returns at once when dev->current_state is already the target: a
    function whose PMCSR reads D3hot while the kernel believes D0 is not woken (the kernel reads
    current_state only)."""
    from fuzzcore.model.power import pci_set_power_state
    m = Model(resolve_device("i350"), load_policy("linux-7.1"))
    m.start()
    m.state.dev.current_state = D0
    m.state.hw.write(PMCSR, 2, (m.state.hw.read(PMCSR, 2) & ~0x3) | 0x3)
    assert pci_set_power_state(m, D0) == 0
    assert m.state.hw.read(PMCSR, 2) & 0x3 == 0x3


LEGACY = f"linux-7.1+{EXAMPLES / 'legacy-pm-driver.toml'}"
THAW = "pci_bind_driver(driver=host)\npci_enable_msix(nvec=1)\npm_system_sleep(transition=hibernate_thaw, power=kept)"


def test_a_legacy_pm_driver_takes_the_legacy_branches(both):
    """docs/examples/legacy-pm-driver.toml gives the host driver struct pci_driver's suspend and
    resume: pci_pm_freeze runs pci_legacy_suspend (state_saved cleared, the driver's save, disable
    and D3hot), pci_pm_freeze_noirq finds it saved, pci_pm_thaw_noirq returns it to D0 and
    restores it (since f2c33ccacb2d, before its legacy return), pci_pm_thaw runs the driver's
    resume. The baseline driver has none of these (dev_pm_ops): its freeze leaves it in D0."""
    from fuzzcore.model.machine import Model
    for spec, sleeps in (("linux-7.1", False), (LEGACY, True)):
        m = run(THAW, spec, "nic-82576")
        assert m.state.dev.current_state == 0 and m.state.dev.msix_enabled
        assert not m.oracle.violations, [str(v) for v in m.oracle.violations]
        if isinstance(m, Model):
            res = Model(resolve_device("nic-82576"), load_policy(spec)).run(parse_program(THAW), trace=True)
            d3 = [t for t in res.trace if t.op_index == 2 and t.step == "pci_pm_freeze"
                  and t.offset == m.caps.pm + 4 and t.new & 0x3 == 0x3]
            assert bool(d3) == sleeps, spec


def test_pre_f2c33ccacb2d_leaves_a_legacy_drivers_device_unrestored(both):
    """Before f2c33ccacb2d pci_pm_thaw_noirq returned at once for a legacy-PM driver: the
    driver's resume re-enables the 82576 from D3hot (a soft reset: NoSoftRst clear), and only the
    BARs come back (pci_restore_bars): MSI-X and the rest stay at reset defaults while the
    driver runs it (used_without_restore at the end of the sleep)."""
    m = run(THAW, f"{LEGACY}+{EXAMPLES / 'pre-f2c33ccacb2d.toml'}", "nic-82576")
    assert [(v.invariant, v.op_index) for v in m.oracle.violations] == [("used_without_restore", 2)]
    assert m.state.hw.read(m.caps.msix + 2, 2) & 0x8000 == 0 and m.state.dev.msix_enabled
