"""Binding vfio-pci to a PF whose VFs are enabled fails: vfio_pci_core_register_device
(drivers/vfio/pci/vfio_pci_core.c, v7.1.3) returns -EBUSY ("Cannot bind to PF with SR-IOV
enabled", pci_num_vf) before it touches the device, and local_pci_probe leaves the PF with no
driver. The baseline's host driver disables its VFs in remove (igb_remove), so the PF reaches
vfio-pci with VFs only under a driver that leaves them enabled: the worked overlay
docs/examples/driver-leaves-vfs-enabled.toml (pci_iov_remove only warns). Both models."""

from pathlib import Path

from both_models import model as _model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.program.fzs import parse_program

LEAVES_VFS = "linux-7.1+" + str(Path(__file__).resolve().parent.parent / "docs" / "examples" / "driver-leaves-vfs-enabled.toml")


def model(policy=LEAVES_VFS, device="i350"):
    return _model(policy, device)

SRIOV = 0x160  # the i350's SR-IOV extended capability
EBUSY = -16


def run(m, text):
    return [m.apply(call) for call in parse_program(text)]


def test_vfio_refuses_a_pf_with_vfs_enabled():
    m = model()
    rcs = run(m, """
        pci_bind_driver(driver=host)
        pci_enable_sriov(num_vfs=1)
        pci_bind_driver(driver=vfio)
    """)
    assert rcs == [0, 0, EBUSY]
    dev, hw = m.state.dev, m.state.hw
    assert dev.driver == "none"                        # probe failed: no driver
    assert dev.sriov_num_vfs == 2                      # the VFs stay enabled
    assert hw.read(SRIOV + 8, 2) & 0x1                 # VF Enable still set in hardware
    assert not dev.rpm_suspended                       # vfio never runtime-suspended it
    assert dev.current_state == 5                      # pci_device_remove: D0 becomes PCI_UNKNOWN
    assert hw.read(0x04, 2) & 0x4 == 0                 # the host driver's unbind cleared Bus Master
    # with no vfio-pci bound there is no device fd to open
    assert run(m, "vfio_open()") == [EBUSY]


def test_vfio_binds_once_the_vfs_are_disabled():
    m = model()
    rcs = run(m, """
        pci_bind_driver(driver=host)
        pci_enable_sriov(num_vfs=0)
        pci_disable_sriov()
        pci_bind_driver(driver=vfio)
    """)
    assert rcs == [0, 0, 0, 0]
    assert m.state.dev.driver == "vfio" and m.state.dev.rpm_suspended


def test_a_host_driver_still_binds_with_vfs_enabled():
    m = model()
    rcs = run(m, """
        pci_bind_driver(driver=host)
        pci_enable_sriov(num_vfs=0)
        pci_bind_driver(driver=vfio)
        pci_bind_driver(driver=host)
    """)
    assert rcs == [0, 0, EBUSY, 0]
    assert m.state.dev.driver == "host" and m.state.dev.sriov_num_vfs == 1


# An unbound device that runtime-suspended (power/control=auto: pci_pm_runtime_suspend saves it and
# leaves it in D0) is not resumed by a bind no driver matches: __device_release_driver has no driver
# to release and __device_attach resumes only the parent (drivers/base/dd.c); a driver that
# matches is probed by local_pci_probe, whose pm_runtime_get_sync resumes it.

def test_binding_none_to_an_unbound_suspended_device_leaves_it_suspended():
    m = model()
    run(m, """
        pci_bind_driver(driver=none)
        pci_pm_runtime_suspend()
    """)
    assert m.state.dev.rpm_suspended and m.state.dev.state_saved
    assert run(m, "pci_bind_driver(driver=none)") == [0]
    assert m.state.dev.rpm_suspended and m.state.dev.state_saved   # no runtime resume, no restore
    assert run(m, "pci_bind_driver(driver=host)") == [0]
    # local_pci_probe resumed it (the runtime resume's restore, then [driver.probe]); power/control
    # is still auto and the driver dropped the probe's reference, so driver_probe_device's
    # pm_request_idle suspends it again (the driver's runtime_suspend, the save, D3hot)
    assert m.state.dev.driver == "host" and m.state.dev.is_busmaster and m.state.dev.rpm_auto
    assert m.state.dev.rpm_suspended and m.state.dev.state_saved and m.state.dev.current_state == 3
    assert run(m, "pci_pm_runtime_resume()\npci_bind_driver(driver=host)") == [0, 0]
    assert not m.state.dev.rpm_suspended                             # power/control on: stays active


def test_a_failed_vfio_probe_lets_an_unbound_suspended_device_suspend_again():
    m = model()
    run(m, """
        pci_bind_driver(driver=host)
        pci_enable_sriov(num_vfs=0)
        pci_bind_driver(driver=none)
        pci_pm_runtime_suspend()
    """)
    assert run(m, "pci_bind_driver(driver=vfio)") == [EBUSY]
    # local_pci_probe's pm_runtime_get_sync resumed it, its pm_runtime_put_sync after the failed
    # probe suspends it again (rpm_idle: pci_pm_runtime_idle returns 0 for an unbound device)
    assert m.state.dev.driver == "none" and m.state.dev.rpm_suspended


def test_register_probes_nosoftrst_from_pmcsr_as_read_then():
    """vfio_pci_core_register_device is a path; its vfio_pci_probe_power_state reads PMCSR at bind:
    the 82576 (NoSoftRst clear) needs pm_save over D3hot, the I350 (NoSoftRst set) does not, a VF
    without a PM capability keeps the fresh vdev's false, and an 82576 that reads all-ones at bind
    reads NoSoftRst set."""
    from fuzzcore.policy import load_policy
    assert [s.do for s in load_policy("linux-7.1").path("vfio_pci_core_register_device")] == [
        "vfio_probe_power_state", "vfio_set_power", "call"]
    for device, want in (("nic-82576", True), ("i350", False), ("nic-82576-vf", False)):
        m = model(device=device)
        run(m, "pci_bind_driver(driver=vfio)")
        assert bool(m.state.vfio.needs_pm_restore) is want, device
    m = model(device="nic-82576")
    run(m, "hw_inaccessible()\npci_bind_driver(driver=vfio)")
    assert not m.state.vfio.needs_pm_restore


def test_the_baseline_driver_disables_its_vfs_in_remove():
    """[driver.remove] calls pci_disable_sriov first: vfio-pci binds the PF."""
    m = _model()
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=1)\npci_bind_driver(driver=vfio)") == [0, 0, 0]
    assert m.state.dev.driver == "vfio" and m.state.dev.sriov_num_vfs == 0
    assert m.state.hw.read(SRIOV + 8, 2) & 0x1 == 0


EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
ENABLE_SRIOV = f"linux-7.1+{EXAMPLES / 'vfio-enable-sriov.toml'}"


def test_vfio_sriov_needs_enable_sriov_and_keeps_the_pf_awake():
    """vfio_pci_sriov_configure: -ENOENT with the module parameter off (the baseline); with
    enable_sriov=1 the PF is resumed, its VFs enabled, a second request -EBUSY, and the PF stays
    runtime-active (the VFs' reference) after the close until the VFs are disabled."""
    m = model("linux-7.1")
    assert run(m, "pci_enable_sriov(num_vfs=1)\npci_disable_sriov()") == [-2, 0]
    assert m.state.dev.sriov_num_vfs == 0 and m.state.dev.rpm_suspended
    m = model(ENABLE_SRIOV)
    rcs = run(m, "pci_enable_sriov(num_vfs=1)\npci_enable_sriov(num_vfs=0)\nvfio_open()\nvfio_close()")
    assert rcs == [0, EBUSY, 0, 0]
    assert m.state.dev.sriov_num_vfs == 2 and m.state.hw.read(SRIOV + 0x08, 2) & 0x1    # VF Enable
    assert not m.state.dev.rpm_suspended
    run(m, "pci_disable_sriov()")
    assert m.state.dev.sriov_num_vfs == 0 and m.state.dev.rpm_suspended


def test_f4162eb1e2fc_vfs_are_enabled_with_the_pf_in_d0():
    """f4162eb1e2fc (docs/examples/pre-f4162eb1e2fc.toml): the user's PMCSR write left the PF in
    D3hot; the fix moves it to D0 before VF Enable, the kernel before it enables VFs on a PF in
    D3hot."""
    pm = 0x40                                   # the i350's PM capability
    prog = f"vfio_open()\nvfio_config_write(offset=0x{pm + 4:x}, width=2, value=0x3)\npci_enable_sriov(num_vfs=0)"
    m = model(ENABLE_SRIOV)
    assert run(m, prog)[-1] == 0
    assert m.state.hw.read(pm + 4, 2) & 0x3 == 0 and m.state.hw.read(SRIOV + 0x08, 2) & 0x1
    m = model(f"{ENABLE_SRIOV}+{EXAMPLES / 'pre-f4162eb1e2fc.toml'}")
    assert run(m, prog)[-1] == 0
    assert m.state.hw.read(pm + 4, 2) & 0x3 == 3 and m.state.hw.read(SRIOV + 0x08, 2) & 0x1


def test_unbinding_vfio_disables_the_vfs_it_enabled():
    m = model(ENABLE_SRIOV)
    run(m, "pci_enable_sriov(num_vfs=1)\npci_bind_driver(driver=none)")
    assert m.state.dev.sriov_num_vfs == 0 and not m.state.hw.read(SRIOV + 0x08, 2) & 0x1
