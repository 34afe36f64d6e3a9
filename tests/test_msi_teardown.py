"""MSI/MSI-X set-up and teardown where the kernel refuses or skips the hardware, on both models:
teardown after a failed recovery (frozen, not disconnected) and
VFIO_DEVICE_SET_IRQS outside D0 (__pci_enable_msi(x)_range, drivers/pci/msi/msi.c)."""

import pytest

from both_models import model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.program.fzs import parse_program

MSIX_CTRL = 0x70 + 2


def run(m, text):
    for call in parse_program(text):
        m.apply(call)


def failed_recovery_with_msix(m):
    run(m, """
        pci_bind_driver(driver=host)
        pci_enable_msix(nvec=2)
        pcie_do_recovery(channel=frozen, vote=disconnect, source=aer)
    """)
    # report_perm_failure_detected sets no io state (6.12.118, v7.1.3): not disconnected
    assert m.state.dev.error_state == "frozen" and m.state.dev.msix_enabled


@pytest.mark.parametrize("teardown", ["pci_disable_msix()", "pci_bind_driver(driver=none)"])
def test_msix_teardown_after_failed_recovery_is_a_normal_teardown(teardown):
    """A failed recovery leaves the device frozen, not disconnected (pci_dev_is_disconnected is
    false): the teardown clears MSI-X as on any device."""
    m = model()
    failed_recovery_with_msix(m)
    run(m, teardown)
    assert not m.state.dev.msix_enabled
    assert not m.state.hw.read(MSIX_CTRL, 2) & 0x8000


def test_msix_teardown_on_a_connected_device_masks_and_disables():
    """The contrast: after a successful recovery the same teardown clears MSI-X Enable."""
    m = model()
    run(m, """
        pci_bind_driver(driver=host)
        pci_enable_msix(nvec=2)
        pcie_do_recovery(channel=normal, vote=can_recover, source=aer)
    """)
    assert m.state.dev.error_state == "normal" and m.state.hw.read(MSIX_CTRL, 2) & 0x8000
    run(m, "pci_disable_msix()")
    assert not m.state.dev.msix_enabled and not m.state.hw.read(MSIX_CTRL, 2) & 0x8000


@pytest.mark.parametrize("index", ["msix", "msi"])
def test_vfio_set_irqs_outside_d0_fails_before_any_table_access(index):
    """VFIO_DEVICE_SET_IRQS on a device the user put in D3hot (a PMCSR write through vfio):
    vfio_msi_enable -> pci_alloc_irq_vectors -> __pci_enable_msi(x)_range returns -EINVAL
    (current_state != PCI_D0) before the table is touched; Command is forced on and written back
    around it (vfio_pci_memory_lock_and_enable/unlock_and_restore)."""
    m = model()
    run(m, """
        vfio_open()
        vfio_config_write(offset=0x44, width=2, value=0x0003)
    """)
    assert m.state.dev.current_state == 3
    before = [m.state.hw.read(o, 4) for o in range(0, 0x1000, 4)]
    run(m, f"vfio_set_irqs(index={index}, count=1)")
    assert not m.state.dev.msix_enabled and not m.state.dev.msi_enabled
    assert m.state.vfio.irq == "none"
    assert [m.state.hw.read(o, 4) for o in range(0, 0x1000, 4)] == before
    assert not [v for v in m.oracle.violations if v.invariant == "mmio_decode_off"]



def test_msi_set_up_and_teardown_are_paths():
    """msi_capability_init and pci_msi_shutdown are stated in source order; on the I350 a host
    driver's MSI enable then free leaves MSI Enable off, msi_enabled clear and INTx back on."""
    from fuzzcore.policy import load_policy
    p = load_policy("linux-7.1")
    assert [s.name for s in p.path("msi_capability_init")] == ["disable", "setup", "mask", "message", "intx_off", "enable"]
    assert [s.do for s in p.path("pci_msi_shutdown")] == ["msi_ctrl", "intx_on", "msi_forget", "msi_mask"]
    m = model()
    for c in parse_program("pci_bind_driver(driver=host)\npci_enable_msi()\npci_disable_msi()"):
        m.apply(c)
    off = m.caps.msi
    assert not m.state.dev.msi_enabled and not m.state.hw.read(off + 2, 2) & 0x1
    assert not m.state.hw.read(0x04, 2) & 0x0400     # INTx back on
