"""pcie_do_recovery (drivers/pci/pcie/err.c) first resumes every runtime-suspended device below
the bridge (pci_walk_bridge(bridge, pci_pm_runtime_get_sync, NULL)), so the driver's callbacks and
its slot_reset restore see a device in D0; on both models."""

from both_models import model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.model.state import D0
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
    run(m, "pcie_do_recovery(channel=frozen, vote=need_reset, source=dpc)")
    assert not m.state.dev.rpm_suspended and m.state.dev.current_state == D0
    assert m.state.dev.error_state == "normal"
    assert not [v for v in m.oracle.violations if v.invariant == "restore_outside_d0"]
    assert m.state.hw.read(0x72, 2) & 0x8000        # the slot_reset restore re-enabled MSI-X in D0
