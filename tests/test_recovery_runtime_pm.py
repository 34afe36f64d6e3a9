"""pcie_do_recovery (drivers/pci/pcie/err.c) first resumes every runtime-suspended device below
the bridge (pci_walk_bridge(bridge, pci_pm_runtime_get_sync, NULL)), so the driver's callbacks and
its slot_reset restore see a device in D0; on both models."""

from both_models import model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.model.state import D0, D3HOT
from fuzzcore.program.fzs import parse_program


def run(m, text):
    for call in parse_program(text):
        m.apply(call)


def test_recovery_resumes_a_runtime_suspended_device_before_the_slot_reset_restore():
    m = model()
    run(m, """
        pci_bind_driver(driver=host)
        pci_enable_msix(nvec=1)
        pci_pm_runtime_suspend()
    """)
    assert m.state.dev.rpm_suspended and m.state.dev.current_state != D0
    run(m, "pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)")
    # pci_pm_runtime_put at the end: power/control is auto, so the idle device suspends again
    assert m.state.dev.rpm_suspended and m.state.dev.current_state == D3HOT
    assert m.state.dev.error_state == "normal"
    assert not [v for v in m.oracle.violations if v.invariant == "restore_outside_d0"]
    assert m.state.hw.read(0x72, 2) & 0x8000        # the slot_reset restore re-enabled MSI-X in D0


def test_under_dpc_the_runtime_resume_meets_a_contained_device():
    """dpc_handler runs after the port's DPC trigger took the link down (the function was hot-reset
    and answers nothing until dpc_reset_link clears Trigger Status). The recovery's first step,
    pm_runtime_get_sync -> pci_pm_runtime_resume -> pci_pm_default_resume_early, then reads
    PMCSR as all-ones and pci_update_current_state records D3cold, although after dpc_reset_link
    the function is back in D0. The driver's slot_reset corrects that belief
    (pci_enable_device -> pci_update_current_state reads D0), so the put after recovery
    runtime-suspends it to D3hot as usual."""
    def after_dpc_recovery(vote):
        m = model()
        run(m, "pci_bind_driver(driver=host)\npci_enable_msix(nvec=1)\npci_pm_runtime_suspend()\n"
               f"pcie_do_recovery(channel=frozen, vote={vote}, source=dpc)")
        assert m.state.dev.rpm_suspended and m.state.dev.error_state == "normal"
        return m.state.dev.current_state, m.state.hw.read(0x40 + 4, 2) & 0x3      # (belief, PMCSR)
    assert after_dpc_recovery("need_reset") == (3, 3)     # PCI_D3hot: suspended again by pci_pm_runtime_put
    # no slot_reset (no NEED_RESET vote): the put finds current_state D3cold from the all-ones PMCSR,
    # while the hardware is in D0 after the link retrained
    assert after_dpc_recovery("can_recover") == (4, 0)


def test_reset_store_drops_its_runtime_pm_reference():
    """reset_store (drivers/pci/pci-sysfs.c): pm_runtime_get_sync, pci_reset_function,
    pm_runtime_put. The put lets an idle vfio-pci device (bound, closed, runtime PM allowed)
    runtime-suspend again; an open one stays active (vfio holds its own reference)."""
    m = model()
    assert m.state.dev.rpm_suspended                  # vfio_pci_core_register_device's pm_runtime_put
    run(m, "pci_reset_function(method=auto)")
    assert m.state.dev.rpm_suspended and m.state.dev.current_state != D0
    m = model()
    run(m, "vfio_open()\npci_reset_function(method=auto)")
    assert not m.state.dev.rpm_suspended and m.state.dev.current_state == D0


def test_recovery_drops_its_runtime_pm_references_on_either_exit():
    """pcie_do_recovery (drivers/pci/pcie/err.c) ends, on success and on failure, with
    pci_walk_bridge(bridge, pci_pm_runtime_put, NULL): the idle vfio-pci device it resumed
    runtime-suspends again; a host driver's device stays active."""
    for vote in ("can_recover", "disconnect"):
        m = model()
        run(m, f"pcie_do_recovery(channel=normal, vote={vote}, source=aer)")
        assert m.state.dev.rpm_suspended and m.state.dev.current_state != D0
    m = model()
    run(m, "pci_bind_driver(driver=host)\npcie_do_recovery(channel=frozen, vote=need_reset, source=aer)")
    assert not m.state.dev.rpm_suspended and m.state.dev.current_state == D0


NO_RUNTIME_PM = """\
[overlay]
name = "recovery-without-runtime-pm"
description = "pcie_do_recovery takes no runtime-PM references (the kernel before they were added)"
commit = "none"
reference = "§5.4"

[path.recovery_runtime_get]
remove = ["resume"]
[path.recovery_runtime_put]
remove = ["put"]
"""


def test_recovery_runtime_pm_references_are_policy_paths(tmp_path):
    """The get and the put are [path.recovery_runtime_get] / [path.recovery_runtime_put]: an overlay
    that removes them states a kernel whose recovery meets a runtime-suspended device as it is: the
    driver's slot_reset powers it up itself (pci_enable_device), and runtime PM still counts it
    suspended while it is in D0; the baseline resumes it first and suspends it again after."""
    overlay = tmp_path / "no-rpm.toml"
    overlay.write_text(NO_RUNTIME_PM)
    m = model(f"linux-7.1+{overlay}")
    run(m, """
        pci_bind_driver(driver=host)
        pci_enable_msix(nvec=1)
        pci_pm_runtime_suspend()
        pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)
    """)
    assert m.state.dev.rpm_suspended and m.state.dev.current_state == D0
    base = model()
    run(base, """
        pci_bind_driver(driver=host)
        pci_enable_msix(nvec=1)
        pci_pm_runtime_suspend()
        pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)
    """)
    assert base.state.dev.rpm_suspended and base.state.dev.current_state == 3     # PCI_D3hot


def test_the_sysfs_reset_is_a_policy_path(tmp_path):
    """[path.reset_store]: without its put an idle vfio-pci device stays runtime-active after a
    sysfs reset; with it (the baseline) it runtime-suspends again."""
    base = model()
    run(base, "pci_reset_function(method=auto)")
    assert base.state.dev.rpm_suspended
    overlay = tmp_path / "no-put.toml"
    overlay.write_text(NO_RUNTIME_PM.replace("recovery-without-runtime-pm", "reset-store-without-put")
                       .split("[path.")[0] + '[path.reset_store]\nremove = ["put"]\n')
    m = model(f"linux-7.1+{overlay}")
    run(m, "pci_reset_function(method=auto)")
    assert not m.state.dev.rpm_suspended
