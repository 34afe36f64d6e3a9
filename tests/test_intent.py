"""intent_mismatch (fuzzcore/model/intent.py): a field whose hardware silently differs from what the
kernel believes is flagged at the first op after which the kernel believes the device usable, once
per kind of path: reset, power transition, recovery, vfio, driver. The program-only scenarios run on
both models; the ones that change the hardware behind the kernel's back (a device that loses context
where it should not) poke the reference model's hardware between ops."""

import pytest

from fuzzcore.device.builtin import resolve_device
from fuzzcore.engine import Engine
from fuzzcore.model import intent
from fuzzcore.model.invariants import BY_NAME
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.program.codec import encode as encode_program
from fuzzcore.program.fzs import parse_program
from profiles import I350_TPH

def _model(device=I350_TPH):
    """The I350 below a root port that lets it enable TPH (profiles.I350_TPH)."""
    return Model(resolve_device(device), load_policy("linux-7.1"))


def _intent_violations(violations):
    return [v for v in violations if v.invariant == "intent_mismatch"]


def _run_both(text, device=I350_TPH):
    """The reference model's violations, after checking the engine reports the same."""
    calls = parse_program(text)
    ref = Model(resolve_device(device), load_policy("linux-7.1")).run(calls).violations
    eng = Engine(device, "linux-7.1").run(encode_program(calls)).violations
    assert [str(v) for v in eng] == [str(v) for v in ref]
    return ref


def test_invariant_row_and_fields():
    inv = BY_NAME["intent_mismatch"]
    assert "usable" in inv.checked
    assert len(intent.FIELDS) == intent.N_FIELDS
    for (invariant, _reg), fields in intent.REFINES.items():
        assert invariant in BY_NAME and invariant != "intent_mismatch"
        assert all(0 <= f < intent.N_FIELDS for f in fields)


def test_reset_path_flags_a_snapshot_of_an_unnoticed_reset():
    # A link down nobody reported resets the device; pci_reset_function saves (the reset
    # defaults), resets and restores them: TPH Enable is off while tph_enabled says on. The reset
    # path is the first op after which the kernel believes the device usable.
    vs = _run_both("""
pci_bind_driver(driver=host)
pci_enable_tph(mode=dev_spec)
hw_link_down()
pci_reset_function(method=flr)
""", I350_TPH)
    tph = [v for v in _intent_violations(vs) if v.register == "TPH"]
    assert len(tph) == 1 and tph[0].op_index == 3 and tph[0].op == "pci_reset_function"
    assert "intent of pcie_enable_tph (dev->tph_enabled)" in tph[0].expected
    assert tph[0].expected.startswith("on") and tph[0].actual.startswith("off in hardware")
    assert "last changed by op 2 (hw_link_down)" in tph[0].actual
    # the BARs are snapshot_bar_stale's (more precise): not repeated
    assert not [v for v in _intent_violations(vs) if v.register.startswith("BAR")]
    assert {v.register for v in vs if v.invariant == "snapshot_bar_stale"} == {"BAR0", "BAR3"}


def test_recovery_flags_a_restore_of_a_snapshot_taken_after_an_unnoticed_reset():
    vs = _run_both("""
pci_bind_driver(driver=host)
pci_enable_tph(mode=dev_spec)
hw_link_down()
pci_save_state()
pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)
""")
    found = _intent_violations(vs)
    assert [(v.op_index, v.op, v.register) for v in found if v.register == "TPH"] == [(4, "pcie_do_recovery", "TPH")]
    # the header: the restore wrote (or found equal) the snapshot, so that is what the kernel means
    assert not [v for v in found if v.register.startswith("Command.")]


def test_driver_path_flags_its_own_restore():
    # the driver saves after a reset it was not told about, then restores: flagged at the restore
    vs = _run_both("""
pci_bind_driver(driver=host)
pci_enable_tph(mode=dev_spec)
hw_link_down()
pci_save_state()
pci_restore_state()
""")
    found = _intent_violations(vs)
    assert [(v.op_index, v.op, v.register) for v in found if v.register == "TPH"] == [(4, "pci_restore_state", "TPH")]
    assert not [v for v in vs if v.invariant == "live_flag_mismatch"]   # it stood before the op


def test_power_transition_flags_context_lost_in_d3hot():
    # The I350 is NoSoftRst+: D3hot->D0 keeps its state, so the kernel restores nothing. A device
    # that loses TPH Control in D3hot anyway is flagged by the D0 transition, not while in D3hot.
    m = _model()
    m.start()
    calls = parse_program("""
pci_bind_driver(driver=host)
pci_enable_tph(mode=dev_spec)
pci_set_power_state(state=d3hot)
pci_set_power_state(state=d0)
""")
    for call in calls[:3]:
        m.apply(call)
    tph = m.caps.tph
    m.state.hw.config[tph + 9] &= 0xFC                         # silently: TPH Requester Enable off
    m.apply(calls[3])
    assert not _intent_violations(m.oracle.violations[:-1])
    found = _intent_violations(m.oracle.violations)
    assert [(v.op_index, v.op, v.register) for v in found] == [(3, "pci_set_power_state", "TPH")]
    assert "last changed by op 3 (pci_set_power_state)" in found[0].actual


def test_vfio_path_flags_a_vector_lost_while_the_user_had_it_in_d3hot():
    m = _model()
    m.start()
    pmcsr = m.caps.pm + 4
    calls = parse_program(f"""
vfio_open()
vfio_set_irqs(index=msix, count=2)
vfio_config_write(offset=0x{pmcsr:x}, width=2, value=0x0003)
vfio_config_write(offset=0x{pmcsr:x}, width=2, value=0x0000)
""")
    for call in calls[:3]:
        m.apply(call)
    m.state.hw.msix_table[8:12] = 0                              # silently: vector 0's data
    assert not _intent_violations(m.oracle.violations)           # in D3hot: not usable
    m.apply(calls[3])
    found = _intent_violations(m.oracle.violations)
    assert [(v.op_index, v.op, v.register) for v in found] == [(3, "vfio_config_write", "MSI-X message")]
    assert found[0].expected.startswith("vector 0: address 0xfee00000 data 0x4020")
    assert "data 0x0 in hardware" in found[0].actual


def test_not_reported_while_not_usable_and_not_repeated_while_it_stands():
    m = _model()
    m.start()
    calls = parse_program("""
pci_bind_driver(driver=host)
pci_enable_tph(mode=dev_spec)
pci_set_power_state(state=d3hot)
pci_save_state()
pci_set_power_state(state=d0)
pci_save_state()
pci_save_state()
""")
    for call in calls[:3]:
        m.apply(call)
    m.state.hw.config[m.caps.tph + 9] &= 0xFC
    for call in calls[3:]:
        m.apply(call)
    found = _intent_violations(m.oracle.violations)
    assert [(v.op_index, v.register) for v in found] == [(4, "TPH")]


@pytest.mark.parametrize("device", ["i350", "wifi-7265", "dsa", "plx-8532"])
def test_coverage_report_lists_every_written_field(device):
    from fuzzcore.model.check_coverage import coverage
    rows = coverage(device)
    assert rows, device
    for row in rows:
        assert row.checks or row.reason, row


def test_invariants_coverage_command():
    from click.testing import CliRunner
    from fuzzcore.cli import main
    r = CliRunner().invoke(main, ["invariants", "--coverage", "--device", "i350"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("checks coverage on i350:")
    pmcsr = next(ln for ln in lines if ln.strip().startswith("PM+0x04 (PMCSR)"))
    assert "intent_mismatch" in pmcsr
    assert any("Status" in ln and "write-1-to-clear" in ln for ln in lines)
    assert "gap(s)" in lines[-1]
    bad = CliRunner().invoke(main, ["invariants", "--coverage", "--device", "no-such-device"])
    assert bad.exit_code == 2 and "no-such-device" in bad.output


def test_invariant_text_names_the_fields_it_refines():
    from fuzzcore.cli.reference import invariant_text
    from fuzzcore.model.invariants import BY_NAME
    assert "BAR0" in invariant_text(BY_NAME["snapshot_bar_stale"]).split("refines")[1]
    assert "owns Command.Memory/IO" in invariant_text(BY_NAME["vconfig_mismatch"])
