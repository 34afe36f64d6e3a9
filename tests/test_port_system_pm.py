"""A port bound to portdrv through runtime and system PM (v7.1.3): pcie_portdrv_probe sets
DPM_FLAG_NO_DIRECT_COMPLETE and DPM_FLAG_SMART_SUSPEND, so a runtime-suspended port is never
direct-completed, stays suspended through pci_pm_suspend and skips suspend_noirq, and the PM core
sets it active for pci_pm_resume_noirq, which powers it up and restores it; a hotplug port has no
bridge_d3, so portdrv's runtime_idle never lets it suspend (pcie_port_runtime_idle)."""

from both_models import model, which_model  # noqa: F401  (every test on both models)
from fuzzcore.program.fzs import parse_program


def run(m, text):
    return [m.apply(c) for c in parse_program(text)]


def test_a_runtime_suspended_root_port_is_restored_after_a_power_loss():
    m = model(device="cnl-rootport")
    assert run(m, "pci_pm_runtime_suspend()") == [0]
    assert m.state.dev.rpm_suspended and m.state.dev.current_state == 3
    saves = m.state.dev.config_epoch
    assert run(m, "pm_system_sleep(transition=s2idle, power=lost)") == [0]
    # restored in resume_noirq (Command and the bridge windows back after the power loss), then
    # device_complete's pm_runtime_put suspended it again: runtime PM is still allowed
    assert m.state.hw.read(0x04, 2) & 0x7 == 0x7 and m.state.hw.read(0x20, 4) != 0
    assert m.state.dev.rpm_suspended and m.state.dev.current_state == 3
    assert m.state.dev.config_epoch > saves


def test_a_hotplug_port_does_not_runtime_suspend():
    m = model(device="plx-8532")
    assert run(m, "pci_pm_runtime_suspend()") == [0]
    assert not m.state.dev.rpm_suspended and m.state.dev.current_state == 0


def test_an_endpoint_is_still_direct_completed():
    """A host driver without those flags: a runtime-suspended I350 whose target state is its
    runtime one is left alone over suspend-to-idle (direct_complete), nothing restored."""
    m = model(device="i350")
    run(m, "pci_bind_driver(driver=host)\npci_pm_runtime_suspend()")
    cmd = m.state.hw.read(0x04, 2)
    assert run(m, "pm_system_sleep(transition=s2idle, power=kept)") == [0]
    assert m.state.dev.rpm_suspended and m.state.hw.read(0x04, 2) == cmd
