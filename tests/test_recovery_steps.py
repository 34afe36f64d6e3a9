"""pcie_do_recovery's steps that `fuzzcore validate` checked against Linux 6.12.118 (aer_inject in
QEMU): where the reset goes (the steps of [path.pcie_do_recovery]: v7.1.3 after mmio_enabled on
NEED_RESET or a frozen channel, v6.12 right after error_detected for a frozen channel only), the error status a
successful recovery clears (pcie_clear_device_status, pci_aer_clear_nonfatal_status), aer_root_reset's
Root Error Command/Status on a root port, and pci_bridge_wait_for_secondary_bus failing the bus
reset of a fast port whose link never reports active; on both models."""

from pathlib import Path

from both_models import MODELS, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.caps import cap_offsets
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program

PROFILES = Path(__file__).resolve().parent.parent / "corpora" / "validation" / "profiles"
V612 = "linux-7.1+linux-6.12"
RECOVERED, CAN_RECOVER = 5, 2


def start(profile, policy="linux-7.1"):
    m = MODELS["current"](profile, load_policy(policy))
    m.start()
    return m


def run(m, text):
    return [m.apply(c) for c in parse_program(text)]


def test_need_reset_on_a_normal_channel_resets_in_71_and_not_in_612():
    """The device stops answering before the error; only a bus reset brings it back (the link
    retrains), so whether the reset ran shows in hw.accessible afterwards."""
    prog = """
        pci_bind_driver(driver=host)
        pci_save_state()
        hw_inaccessible()
        pcie_do_recovery(channel=normal, vote=need_reset, source=aer)
    """
    m71, m612 = start(resolve_device("i350")), start(resolve_device("i350"), V612)
    assert run(m71, prog)[-1] == RECOVERED and run(m612, prog)[-1] == RECOVERED
    assert m71.state.hw.accessible
    assert not m612.state.hw.accessible


def test_a_frozen_channel_resets_under_both():
    prog = """
        pci_bind_driver(driver=host)
        hw_inaccessible()
        pcie_do_recovery(channel=frozen, vote=can_recover, source=aer)
    """
    for policy in ("linux-7.1", V612):
        m = start(resolve_device("i350"), policy)
        run(m, prog)
        assert m.state.hw.accessible, policy


def _with_devsta_errors(name):
    """A profile whose DEVSTA reports every error (CED, NFED, FED, URD)."""
    prof = resolve_device(name)
    c = cap_offsets(prof)
    img = bytearray(prof.image)
    img[c.exp + 0x0A] |= 0x0F
    prof.image = bytes(img)
    return prof, c


def _latch_uncorrectable(m, c):
    """One non-fatal (Unexpected Completion) and one fatal (Data Link Protocol, i350 SEVER) error in AER
    Uncorrectable Status (enumeration cleared the image's; the reference model's raw registers)."""
    status = m.state.hw.read(c.aer + 4, 4) | (1 << 16) | (1 << 4)
    m.state.hw.config[c.aer + 4:c.aer + 8] = list(status.to_bytes(4, "little"))


def test_a_successful_recovery_clears_devsta():
    prof, c = _with_devsta_errors("i350")
    m = start(prof)
    assert m.state.hw.read(c.exp + 0x0A, 2) & 0x0F == 0x0F
    assert run(m, "pci_bind_driver(driver=host)\n"
                  "pcie_do_recovery(channel=normal, vote=can_recover, source=aer)")[-1] == RECOVERED
    assert m.state.hw.read(c.exp + 0x0A, 2) & 0x0F == 0          # pcie_clear_device_status


def test_a_failed_recovery_clears_nothing_and_leaves_the_error_state():
    prof, c = _with_devsta_errors("i350")
    m = start(prof)
    run(m, "pci_bind_driver(driver=host)\npcie_do_recovery(channel=normal, vote=disconnect, source=aer)")
    assert m.state.hw.read(c.exp + 0x0A, 2) & 0x0F == 0x0F
    # report_perm_failure_detected sets no io state: a second error is still reported to the driver
    assert m.state.dev.error_state == "normal"
    assert run(m, "pcie_do_recovery(channel=normal, vote=can_recover, source=aer)") == [RECOVERED]


def test_pci_aer_clear_nonfatal_status_clears_only_what_severity_calls_non_fatal(which_model):
    if which_model != "reference":
        return      # the engine's registers are not reachable raw; selfcheck compares the two
    prof, c = _with_devsta_errors("i350")
    m = start(prof)
    run(m, "pci_bind_driver(driver=host)")
    _latch_uncorrectable(m, c)
    run(m, "pcie_do_recovery(channel=normal, vote=disconnect, source=aer)")
    assert m.state.hw.read(c.aer + 4, 4) & (1 << 16)              # failed: nothing cleared
    run(m, "pcie_do_recovery(channel=normal, vote=can_recover, source=aer)")
    status = m.state.hw.read(c.aer + 4, 4)
    assert not status & (1 << 16) and status & (1 << 4)


def test_a_fast_root_port_whose_link_never_reports_active_fails_the_bus_reset():
    """QEMU 7.2's pcie-root-port (16 GT/s, DLLLARC, DLLLA never set): pci_reset_bus is -ENOTTY and
    a frozen recovery fails; e1000e's 2.5 GT/s switch port just waits for the device."""
    nvme = resolve_device(str(PROFILES / "nvme.toml"))
    e1000e = resolve_device(str(PROFILES / "e1000e.toml"))
    assert run(start(nvme), "pci_reset_bus()") == [-25]
    assert run(start(e1000e), "pci_reset_bus()") == [0]
    # v6.12: the reset fails right after error_detected, the status is still CAN_RECOVER
    m = start(nvme, V612)
    assert run(m, "pci_bind_driver(driver=host)\n"
                  "pcie_do_recovery(channel=frozen, vote=can_recover, source=aer)")[-1] == CAN_RECOVER
    assert m.state.dev.error_state == "frozen"
    # the root port is the port above: aer_root_reset unmasks its AER interrupt after the reset
    if hasattr(m.state, "port"):
        aer = cap_offsets(resolve_device(nvme.upstream_port)).aer
        assert m.state.port.hw.read(aer + 0x2C, 4) & 0x7 == 0x7


EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def _overlay(tmp_path, body):
    f = tmp_path / "t.toml"
    f.write_text('[overlay]\nname = "t"\ndescription = "d"\ncommit = ""\nreference = ""\n' + body)
    return f"linux-7.1+{f}"


def test_pre_d0a2dee7d458_is_the_612_order_and_keeps_a_normal_need_reset_unreset():
    """The worked overlay (docs/examples/pre-d0a2dee7d458.toml) states pcie_do_recovery before the
    fix as 6.12.118 has it: the same steps, and on a device that stops answering a NEED_RESET vote
    on a normal channel gets slot_reset with no reset (the device stays unreachable)."""
    spec = f"linux-7.1+{EXAMPLES / 'pre-d0a2dee7d458.toml'}"
    old, v612 = load_policy(spec), load_policy(V612)
    assert [(s.name, s.do, s.when) for s in old.path("pcie_do_recovery")] == \
        [(s.name, s.do, s.when) for s in v612.path("pcie_do_recovery")]
    prog = """
        pci_bind_driver(driver=host)
        hw_inaccessible()
        pcie_do_recovery(channel=normal, vote=need_reset, source=aer)
    """
    base, pre = start(resolve_device("i350")), start(resolve_device("i350"), spec)
    run(base, prog)
    run(pre, prog)
    assert base.state.hw.accessible and not pre.state.hw.accessible


def test_a_failed_recovery_tells_the_driver_in_71_and_not_in_612(tmp_path):
    """report_perm_failure_detected (9011f0667c93, in 7.1.3) calls the driver's error_detected a
    second time on the failure exit; 6.12.118 only sends the uevent. A driver whose error_detected
    enables the device shows it in the enable count."""
    body = ('[driver.error_detected]\ninsert = [{ step = "enable", before = "vote" }]\n'
            '[driver.error_detected.step]\nenable = { do = "enable_device", state = "enable" }\n')
    counts = {}
    for name, spec in (("7.1", _overlay(tmp_path, body)),
                       ("6.12", _overlay(tmp_path, body).replace("linux-7.1+", "linux-7.1+linux-6.12+"))):
        m = start(resolve_device("i350"), spec)
        bound = run(m, "pci_bind_driver(driver=host)") and m.state.dev.enable_cnt
        run(m, "pcie_do_recovery(channel=normal, vote=disconnect, source=aer)")
        counts[name] = m.state.dev.enable_cnt - bound
    assert counts == {"7.1": 2, "6.12": 1}


def test_recovery_status_steps_are_data(tmp_path):
    """The status is the path's: an overlay that drops the `mmio` block leaves a CAN_RECOVER vote
    unresolved, so the recovery fails (CAN_RECOVER is not RECOVERED) on both models."""
    prog = "pci_bind_driver(driver=host)\npcie_do_recovery(channel=normal, vote=can_recover, source=aer)"
    assert run(start(resolve_device("i350")), prog)[-1] == RECOVERED
    no_mmio = _overlay(tmp_path, '[path.pcie_do_recovery]\nremove = ["mmio"]\n')
    assert run(start(resolve_device("i350"), no_mmio), prog)[-1] == CAN_RECOVER


def test_mmio_into_a_dpc_contained_link_reaches_nothing():
    """pcie_do_recovery resumes a runtime-suspended device (pm_runtime_get_sync) before
    dpc_reset_link, so its restore writes the MSI-X table while the port above holds the link in
    DPC containment. The port discards those writes: no Unsupported Request at the function
    (mmio_decode_off) and no UR latched in its AER, on both models."""
    m = start(resolve_device("nic-82576"))
    run(m, "pci_bind_driver(driver=host)\npci_enable_msix(nvec=2)\npci_pm_runtime_suspend()\n"
           "pcie_do_recovery(channel=frozen, vote=need_reset, source=dpc)")
    assert not [v for v in m.oracle.violations if v.invariant == "mmio_decode_off"]
    assert not m.state.hw.read(m.caps.aer + 0x04, 4) & 0x00100000       # no UR logged (AER)
    assert not m.state.hw.read(m.caps.exp + 0x0A, 2) & 0x0008            # nor in DEVSTA
    assert m.state.hw.accessible                      # dpc_reset_link let the link retrain


def test_the_retired_reset_after_switch_names_its_replacement(tmp_path):
    """An overlay that still sets recovery.reset_after gets file:line and where the setting went."""
    from fuzzcore.util.toml_source import TomlError
    import pytest
    spec = _overlay(tmp_path, '[recovery]\nreset_after = "error_detected"\n')
    with pytest.raises(TomlError) as e:
        load_policy(spec)
    msg = str(e.value)
    assert "t.toml:7" in msg and "[path.pcie_do_recovery]" in msg and "pre-d0a2dee7d458" in msg


def test_a_power_up_inside_dpc_containment_leaves_the_function_unreachable():
    """pcie_do_recovery resumes a runtime-suspended device before dpc_reset_link; its power-up (a
    cold reset after the platform restores power) does not let the contained link up: the
    function answers nothing until dpc_reset_link, and answers after it (both models)."""
    m = start(resolve_device("nic-82576"))
    run(m, "pci_bind_driver(driver=host)\npci_enable_msix(nvec=2)\npci_set_power_state(state=d3cold)\n"
           "pci_pm_runtime_suspend()")
    # no slot_reset (CAN_RECOVER): what the runtime resume wrote is what stays. Had the power-up let
    # the link up, its config writes would land and its MSI-X table writes not (a lost message)
    run(m, "pcie_do_recovery(channel=frozen, vote=can_recover, source=dpc)")
    assert not [v for v in m.oracle.violations if v.invariant == "intent_mismatch" and "MSI-X" in v.register]
    assert m.state.hw.accessible


def test_the_callers_reset_is_a_path_per_caller(tmp_path):
    """reset_subordinates runs the caller's path: aer_root_reset gives an RCiEP an FLR (its `flr`
    step, `when = "rc_end"`), so a frozen CAN_RECOVER recovery of the DSA leaves it at reset
    defaults; an overlay without that step leaves the BARs alone. dpc_reset_link's Trigger Status
    clear is what lets the link up: without the step the function stays unreachable."""
    prog = "pci_bind_driver(driver=host)\npcie_do_recovery(channel=frozen, vote=can_recover, source=aer)"
    dsa = resolve_device("dsa")
    base = start(dsa)
    bar0 = base.state.hw.read(0x10, 4)
    run(base, prog)
    assert bar0 and base.state.hw.read(0x10, 4) != bar0 and base.state.needs_restore_after_reset
    no_flr = start(dsa, _overlay(tmp_path, '[path.aer_root_reset]\nremove = ["flr"]\n'))
    assert run(no_flr, prog)[-1] == RECOVERED and no_flr.state.hw.read(0x10, 4) == bar0
    dpc = "pci_bind_driver(driver=host)\npcie_do_recovery(channel=frozen, vote=need_reset, source=dpc)"
    m = start(resolve_device("i350"))
    assert run(m, dpc)[-1] == RECOVERED and m.state.hw.accessible
    stuck = start(resolve_device("i350"), _overlay(tmp_path, '[path.dpc_reset_link]\nremove = ["clear_trigger"]\n'))
    run(stuck, dpc)
    assert not stuck.state.hw.accessible


def test_the_report_broadcasts_are_paths(tmp_path):
    """What report_error_detected, report_slot_reset and report_resume do on the function is
    data: an unbound endpoint votes NO_AER_DRIVER and the recovery fails (status NO_AER_DRIVER);
    a kernel whose report_error_detected let an unbound function vote NONE (one step's vote) recovers
    it, and the function's io state is back to normal."""
    p = load_policy("linux-7.1")
    assert [s.name for s in p.path("report_error_detected")] == [
        "disconnected", "disconnected_done", "io_state", "unbound_bridge", "unbound", "unbound_done", "callback"]
    assert [s.do for s in p.path("report_slot_reset")] == ["stop", "set_io_state", "driver_vote"]
    prog = "pci_bind_driver(driver=none)\npcie_do_recovery(channel=frozen, vote=need_reset, source=aer)"
    base = start(resolve_device("i350"))
    assert run(base, prog)[-1] == 6 and base.state.dev.error_state == "frozen"   # failed: sets no io state
    m = start(resolve_device("i350"), _overlay(tmp_path, '[path.report_error_detected.step]\n'
                                                         'unbound = { result = "none" }\n'))
    assert run(m, prog)[-1] == RECOVERED and m.state.dev.error_state == "normal"


def test_a_driver_step_can_test_whether_the_channel_is_offline(tmp_path):
    """Condition channel_offline (pci_channel_offline: error_state not normal): report_error_detected
    sets the io state to the op's channel before the driver's callback, so a step under `not
    channel_offline` runs for a normal channel and not for a frozen one (a patch that skips work
    while the channel is offline is one condition)."""
    spec = _overlay(tmp_path, '[driver.error_detected]\ninsert = [{ step = "enable", before = "vote" }]\n'
                              '[driver.error_detected.step]\n'
                              'enable = { do = "enable_device", state = "enable", when = "not channel_offline" }\n')
    counts = {}
    for channel in ("normal", "frozen"):
        m = start(resolve_device("i350"), spec)
        bound = run(m, "pci_bind_driver(driver=host)") and m.state.dev.enable_cnt
        run(m, f"pcie_do_recovery(channel={channel}, vote=can_recover, source=aer)")
        counts[channel] = m.state.dev.enable_cnt - bound
    assert counts == {"normal": 1, "frozen": 0}


def test_pre_aa344bc8b727_clears_status_only_on_a_device_with_aer():
    """docs/examples/pre-aa344bc8b727.toml gates the end-of-recovery clear on the detecting device's
    pcie_aer_is_native (condition reporter_aer_native). The CNVi Wi-Fi has no AER capability: a
    UR latched in Device Status (the MSI-X table written with Memory off after a frozen recovery
    left Command 0, then a reset) is cleared by the next successful recovery in v7.1.3 (OS-owned
    AER is enough), and stays under the kernel before the fix."""
    examples = Path(__file__).resolve().parents[1] / "docs" / "examples"
    prog = ("pci_bind_driver(driver=host)\npci_enable_msix(nvec=0)\n"
            "pcie_do_recovery(channel=frozen, vote=can_recover, source=aer)\npci_reset_function(method=auto)\n"
            "pcie_do_recovery(channel=normal, vote=can_recover, source=aer)")
    for spec, devsta in (("linux-7.1", 0x10), (f"linux-7.1+{examples / 'pre-aa344bc8b727.toml'}", 0x18)):
        m = start(resolve_device("cnvi-wifi"), spec)
        assert run(m, prog) == [0, 0, 5, 0, 5]
        assert m.state.hw.read(m.caps.exp + 0x0A, 2) == devsta, spec
