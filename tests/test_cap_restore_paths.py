"""The capability restore steps of pci_restore_state as policy paths (fuzzcore/policy/paths.py:
cap_restore, cap_write, tph_restore_st; docs/policies.md §9): their steps, what an edit of them
changes, and the worked overlay pre-ff26449e415a, on both models where the state shows it and on
the reference model's trace where only the order of writes does."""

from pathlib import Path

import pytest

from both_models import both, model  # noqa: F401  (fixture `both`: a test on both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program
from fuzzcore.util.toml_source import TomlError
from profiles import I350_TPH

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
SRIOV_FLR = "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=2)\npci_reset_function(method=flr)"


def overlay(tmp_path, body, name="t"):
    f = tmp_path / f"{name}.toml"
    f.write_text(f'[overlay]\nname = "{name}"\ndescription = "d"\ncommit = ""\nreference = ""\n' + body)
    return f"linux-7.1+{f}"


def run(policy, text, device="i350"):
    m = model(policy, device)
    for call in parse_program(text):
        m.apply(call)
    return m


def writes(spec, device, prog, lo, hi, op):
    """(offset - lo, value) of the reference model's config writes to [lo, hi) during op `op`."""
    m = Model(resolve_device(device), load_policy(spec))
    res = m.run(parse_program(prog), trace=True)
    return [(t.offset - lo, t.new) for t in res.trace if t.target == "dev" and lo <= t.offset < hi
            and t.op_index == op]


def test_baseline_states_each_capability_restore_write_by_write():
    p = load_policy("linux-7.1")
    names = {path: [s.name for s in p.path(path)] for path in (
        "pci_restore_pasid_state", "pci_restore_pri_state", "pci_restore_ats_state", "pci_restore_dpc_state",
        "pci_restore_ptm_state", "pci_restore_tph_state", "pci_restore_aer_state", "pci_restore_pcix_state",
        "pci_restore_iov_state")}
    assert names["pci_restore_pri_state"] == ["stop_vf", "alloc", "enable"]
    assert names["pci_restore_aer_state"] == ["uncor_mask", "uncor_sever", "cor_mask", "cap", "root_command"]
    assert names["pci_restore_iov_state"] == ["stop_vf_enabled", "ari", "bar0", "bar1", "bar2", "bar3", "bar4", "bar5",
                                             "pgsz", "num_vfs", "control"]
    aer = {s.name: dict(s.params) for s in p.path("pci_restore_aer_state")}
    assert [(a["reg"], a["slot"]) for a in aer.values()] == [(0x08, 0), (0x0C, 1), (0x14, 2), (0x18, 3), (0x2C, 4)]


def test_sriov_restore_writes_ari_first_and_pre_ff26449e415a_does_not():
    """After an FLR of an I350 with VFs enabled, sriov_restore_state writes the ARI Capable
    Hierarchy bit (merged into the Control it read), the VF BARs from the resources (the I350's two
    64-bit ones, low then high), then page size, NumVFs and Control; before ff26449e415a
    (docs/examples/pre-ff26449e415a.toml) NumVFs came before any Control write."""
    sriov = Model(resolve_device("i350"), load_policy("linux-7.1")).caps.sriov
    base = writes("linux-7.1", "i350", SRIOV_FLR, sriov, sriov + 0x40, 2)
    old = writes(f"linux-7.1+{EXAMPLES / 'pre-ff26449e415a.toml'}", "i350", SRIOV_FLR, sriov, sriov + 0x40, 2)
    assert [off for off, _ in base] == [0x08, 0x24, 0x28, 0x30, 0x34, 0x20, 0x10, 0x08]
    assert base[0][1] == base[-1][1] & 0x10 and base[-1][1] & 0x1          # ARI alone, then VF Enable
    assert [off for off, _ in old] == [0x24, 0x28, 0x30, 0x34, 0x20, 0x10, 0x08] and old == base[1:]


def test_sriov_restore_leaves_vf_enable_alone(both):
    """sriov_restore_state returns while VF Enable reads set: a restore without a reset writes
    nothing to the capability (the VFs stay), on both models."""
    m = run("linux-7.1", "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=2)\npci_restore_state()")
    assert m.state.hw.read(m.caps.sriov + 0x08, 2) & 0x1


def test_cap_write_merge_replaces_only_the_value_field(both, tmp_path):
    """A merge write reads the register and replaces the value's field (ptm_enable: bit 0, 0 while
    ptm_enable_cnt is 0); a plain write writes the value whole. Aimed at DEVCTL by an overlay step
    inserted after the PCIe restore, the merge clears only bit 0 (Correctable Error Reporting
    Enable) and the plain write clears everything."""
    prog = "pci_bind_driver(driver=host)\npci_save_state()\npci_restore_state()"
    body = ('[path.pci_restore_pcie_state]\ninsert = [{ step = "poke", after = "registers" }]\n'
            '[path.pci_restore_pcie_state.step]\n'
            'poke = { do = "cap_write", cap = "pcie", reg = 0x08, width = "word", value = "ptm_enable", merge = %s }\n')
    base = run("linux-7.1", prog)
    devctl = base.state.hw.read(base.caps.exp + 0x08, 2)
    assert devctl & 0x1 and devctl & ~0x1 and base.state.dev.ptm_enable_cnt == 0
    merged = run(overlay(tmp_path, body % "true", "m"), prog)
    plain = run(overlay(tmp_path, body % "false", "p"), prog)
    assert merged.state.hw.read(merged.caps.exp + 0x08, 2) == devctl & ~0x1
    assert plain.state.hw.read(plain.caps.exp + 0x08, 2) == 0


def test_aer_root_error_command_is_restored_on_a_root_port_only():
    """pci_restore_aer_state writes Root Error Command (AER + 0x2C) only under pcie_cap_has_rtctl
    (root_error_regs): the CNL root port gets five AER writes in a restore (its runtime resume:
    portdrv calls no bare restore), the I350 four."""
    port = "pci_pm_runtime_suspend()\npci_pm_runtime_resume()"
    host = "pci_bind_driver(driver=host)\npci_save_state()\npci_restore_state()"
    for device, prog, op, regs in (("cnl-rootport", port, 1, [0x08, 0x0C, 0x14, 0x18, 0x2C]),
                                   ("i350", host, 2, [0x08, 0x0C, 0x14, 0x18])):
        aer = Model(resolve_device(device), load_policy("linux-7.1")).caps.aer
        saved = [off for off, _ in writes("linux-7.1", device, prog, aer, aer + 0x30, op)
                 if off not in (0x04, 0x10, 0x30)]                 # not pci_aer_clear_status's
        assert saved == regs, device


def test_tph_restore_source_live_rebuilds_control_and_skips_the_st_table(both, tmp_path):
    """[restore.step] tph.source = "live" is the path's source_live condition: TPH Control is
    rebuilt from tph_mode and tph_req_type and the ST entries are not written; the snapshot
    source writes Control and the table from the buffer."""
    prog = "pci_bind_driver(driver=host)\npci_enable_tph(mode=dev_spec)\npci_reset_function(method=flr)"
    base = run("linux-7.1", prog, I350_TPH)
    live = run(overlay(tmp_path, '[restore.step]\ntph = { source = "live" }\n'), prog, I350_TPH)
    tph = base.caps.tph
    d = live.state.dev
    assert live.state.hw.read(tph + 0x08, 4) == d.tph_mode | d.tph_req_type << 8
    assert base.state.hw.read(tph + 0x08, 4) & 0x300       # requester enabled by the saved Control
    st = [(t.offset - tph) for t in Model(resolve_device(I350_TPH), load_policy(overlay(tmp_path, '[restore.step]\ntph = { source = "live" }\n', "r"))).run(
        parse_program(prog), trace=True).trace if t.target == "dev" and t.op_index == 2 and tph + 0x0C <= t.offset < tph + 0x1C]
    assert st == []
    assert len(writes("linux-7.1", I350_TPH, prog, tph + 0x0C, tph + 0x1C, 2)) == 8      # ST Table Size 7: 8 entries


def test_cap_step_parameters_are_checked(tmp_path):
    """A register offset outside 0-0xFF, an unknown capability or value: file:line errors."""
    bad = [('poke = { do = "cap_restore", cap = "aer", reg = 300, width = "dword", slot = 0 }', "0-0xFF"),
           ('poke = { do = "cap_restore", cap = "nope", reg = 8, width = "dword", slot = 0 }', "one of: pcie"),
           ('poke = { do = "cap_write", cap = "aer", reg = 8, width = "dword", value = "x", merge = false }',
            "one of: pasid_ctrl"),
           ('poke = { do = "cap_write", cap = "aer", reg = 8, width = "dword", value = "pri_enable" }', "merge")]
    for k, (step, fragment) in enumerate(bad):
        spec = overlay(tmp_path, '[path.pci_restore_aer_state]\ninsert = [{ step = "poke", after = "cap" }]\n'
                                 f'[path.pci_restore_aer_state.step]\n{step}\n', f"b{k}")
        with pytest.raises(TomlError) as info:
            load_policy(spec)
        assert fragment in str(info.value) and f"b{k}.toml:9: " in str(info.value), str(info.value)


# --- save steps ------------------------------------------------------------------------------------

L1SS_SAVE_RESTORE = ("pci_bind_driver(driver=host)\npci_enable_l1ss()\npci_save_state()\nhw_link_down()\n"
                     "pci_restore_state()\n")


def test_baseline_states_each_capability_save_read_by_read():
    p = load_policy("linux-7.1")
    assert [s.name for s in p.path("pci_save_pcie_state")] == [
        "stop_not_pcie", "no_buffer", "devctl", "lnkctl", "sltctl", "rtctl", "devctl2", "lnkctl2", "sltctl2",
        "l1ss", "ltr"]
    assert [s.name for s in p.path("pci_save_tph_state")] == ["control", "st_entries"]
    save = {s.name: dict(s.params) for s in p.path("pci_save_aer_state")}
    restore = {s.name: dict(s.params) for s in p.path("pci_restore_aer_state")}
    assert save == restore                      # the same registers and slots, in the same order


def test_a_save_that_skips_a_buffer_leaves_it_stale_for_the_restore(both, tmp_path):
    """Save step `pcie` is [path.pci_save_pcie_state]; without its `l1ss` step the L1SS buffer keeps
    the enumeration's values, and the restore after a link down pushes a buffer the snapshot's
    own save did not fill (restore_unsaved_buffer, L1SS) on the wifi-7265; the baseline is clean."""
    key = ("restore_unsaved_buffer", "L1SS")
    base = run("linux-7.1", L1SS_SAVE_RESTORE, "wifi-7265")
    cut = run(overlay(tmp_path, '[path.pci_save_pcie_state]\nremove = ["l1ss"]\n'), L1SS_SAVE_RESTORE, "wifi-7265")
    assert key not in {(v.invariant, v.register) for v in base.oracle.violations}
    assert key in {(v.invariant, v.register) for v in cut.oracle.violations}


def test_a_failing_save_step_ends_pci_save_state(both, tmp_path):
    """A path's -ENOMEM (`fail`, errno enomem) ends pci_save_state as the kernel's missing buffer
    does: made unconditional in pci_save_pcie_state, the save stops before the PCIe registers and
    before `aer`, after config space; the next restore pushes both buffers from an older save
    (restore_unsaved_buffer on PCIe and AER), which the baseline does not."""
    spec = overlay(tmp_path, '[path.pci_save_pcie_state.step]\nno_buffer = { when = "" }\n')
    prog = "pci_bind_driver(driver=host)\npci_save_state()\npci_restore_state()"
    base, cut = run("linux-7.1", prog), run(spec, prog)
    stale = {v.register for v in cut.oracle.violations if v.invariant == "restore_unsaved_buffer"}
    assert {"PCIe", "AER"} <= stale
    assert not [v for v in base.oracle.violations if v.invariant == "restore_unsaved_buffer"]


def test_aer_clear_status_is_a_path_of_write_backs(both, tmp_path):
    """Restore step aer_clear_status is [path.pci_aer_clear_status]: only with native AER, each
    status register read and written back. A UR the function logged (the driver's MSI-X set-up
    and teardown with Memory off after a recovery reset it) is cleared by the restore of the next
    FLR; without the `uncor_status` step, or with the OS not owning AER, it stays latched."""
    prog = ("pci_bind_driver(driver=host)\npcie_do_recovery(channel=frozen, vote=can_recover, source=aer)\n"
            "pci_enable_msix(nvec=2)\npci_disable_msix()\npci_reset_function(method=flr)\n")
    assert [s.name for s in load_policy("linux-7.1").path("pci_aer_clear_status")] == [
        "stop_not_native", "root_status", "cor_status", "uncor_status"]
    def ur_logged(m):     # AER Uncorrectable Status: Unsupported Request Error Status
        return m.state.hw.read(m.caps.aer + 0x04, 4) & 0x00100000
    first = run("linux-7.1", prog.rsplit("pci_reset_function", 1)[0])
    assert ur_logged(first)                                    # the UR is logged before the reset
    assert not ur_logged(run("linux-7.1", prog))
    cut = run(overlay(tmp_path, '[path.pci_aer_clear_status]\nremove = ["uncor_status"]\n'), prog)
    assert ur_logged(cut)
    firmware = run(overlay(tmp_path, '[recovery]\naer_native = false\n', "f"), prog)
    assert ur_logged(firmware)


def test_acs_enable_is_a_merge_write_of_the_iommu_request(both, tmp_path):
    """Restore step acs is [path.pci_enable_acs]: ACS Control read from the (reset) hardware with
    the IOMMU's request (SV, RR, CR, UF where the capability has them) merged in. On the CNL root
    port (ACS Capability SV, TB, RR, CR; Control 0 as the dump has it) a restore (its runtime
    resume) sets SV, RR and CR; without the step Control stays 0."""
    prog = "pci_pm_runtime_suspend()\npci_pm_runtime_resume()"
    base = run("linux-7.1", prog, "cnl-rootport")
    acs = base.caps.acs
    request = base.state.hw.read(acs + 0x04, 2) & 0x1D
    assert request and base.state.hw.read(acs + 0x06, 2) == request
    assert request == 0xD
    cut = run(overlay(tmp_path, '[path.pci_enable_acs]\nremove = ["control"]\n'), prog, "cnl-rootport")
    assert cut.state.hw.read(acs + 0x06, 2) == 0


def test_rebar_restore_on_an_unreachable_fiji_and_ee7471fe968d(both):
    """pci_restore_rebar_state in v7.1.3 uses the all-ones first Control it read (nbars 7, BAR
    index 7) and writes seven Controls; the fix after it (docs/examples/rebar-skip-on-read-error.toml,
    in 6.12.118 as a backport) returns there, so the first unchecked read of the restore is a later
    step's. On both models: where config_read_lost is reported."""
    prog = "pci_bind_driver(driver=host)\npci_save_state()\nhw_inaccessible()\npci_restore_state()"
    steps = {}
    for name, spec in (("base", "linux-7.1"), ("fix", f"linux-7.1+{EXAMPLES / 'rebar-skip-on-read-error.toml'}"),
                       ("6.12", "linux-7.1+linux-6.12")):
        m = run(spec, prog, "fiji")
        steps[name] = [v.step for v in m.oracle.violations if v.invariant == "config_read_lost"]
    assert steps["base"] == ["pci_restore_state/rebar"]
    assert steps["fix"] == steps["6.12"] == ["pci_restore_state/aer_clear_status"]
    ctrl = Model(resolve_device("fiji"), load_policy("linux-7.1")).caps.rebar + 8
    assert [o for o, _ in writes("linux-7.1", "fiji", prog, ctrl, ctrl + 0x38, 3)] == [8 * i for i in range(7)]
    assert writes(f"linux-7.1+{EXAMPLES / 'rebar-skip-on-read-error.toml'}", "fiji", prog, ctrl, ctrl + 0x38, 3) == []


def test_vc_restore_keeps_the_live_enable_and_re_enables_only_on_a_downstream_port(both, tmp_path):
    """pci_vc_do_save_buffer(save = false): Resource Control written from the buffer with the live
    Enable kept; pci_vc_enable, where the saved Enable differs, acts only from the downstream end
    of a link (pcie_downstream_port). After a power cycle (D3cold) clears VC1 on the DSA (an RCiEP,
    VC1 enabled when saved), the restore brings back its TC/VC map and ID but not its Enable; an
    overlay that drops the `resources` step leaves VC1 at its reset value."""
    import dataclasses
    from both_models import MODELS
    # the DSA's profile says the platform cannot cut its power; here it can (a power cycle)
    dsa = dataclasses.replace(resolve_device("dsa"), platform_d3cold=True)

    def run_dsa(spec):
        m = MODELS["current"](dsa, load_policy(spec))
        m.start()
        for call in parse_program(prog):
            m.apply(call)
        return m
    prog = ("pci_bind_driver(driver=host)\npci_save_state()\npci_set_power_state(state=d3cold)\n"
            "pci_set_power_state(state=d0)\npci_restore_state()")
    m = run_dsa("linux-7.1")
    (_, off), = m.caps.vc
    vc1 = off + 0x14 + 12
    assert m.state.hw.read(vc1, 4) == 0x01000002               # map and ID back, Enable not
    no_res = overlay(tmp_path, '[path.pci_restore_vc_state]\nremove = ["vc_resources"]\n')
    assert run_dsa(no_res).state.hw.read(vc1, 4) == 0
    assert [s.name for s in load_policy("linux-7.1").path("pci_restore_vc_state")][:2] == \
        ["mfvc_port_ctrl", "mfvc_resources"]


def _intent_lost(example: str, device: str, text: str) -> list:
    """The intent_mismatch registers a program reports under a docs/examples overlay, after
    checking the baseline runs it without one; every op returns 0 under both."""
    calls = parse_program(text)
    base = model("linux-7.1", device)
    assert [base.apply(c) for c in calls] == [0] * len(calls)
    assert not [v for v in base.oracle.violations if v.invariant == "intent_mismatch"]
    old = model(f"linux-7.1+{EXAMPLES / example}", device)
    assert [old.apply(c) for c in calls] == [0] * len(calls)
    return sorted(v.register for v in old.oracle.violations if v.invariant == "intent_mismatch")


def test_pre_dbbfadf23190_loses_the_ltr_latencies(both):
    """The LTR latencies are written intent: the baseline restores them after an FLR (before
    DEVCTL2's LTR Enable); the kernel before dbbfadf23190 (docs/examples/pre-dbbfadf23190.toml)
    neither saved nor restored them, so the FLR leaves 0 where enumeration found 0x846."""
    text = "pci_bind_driver(driver=host)\npci_reset_function(method=flr)"
    assert _intent_lost("pre-dbbfadf23190.toml", "i350", text) == ["LTR Max No-Snoop", "LTR Max Snoop"]


def test_pre_4f802170a861_loses_the_dpc_control(both):
    """DPC Control is written intent: the Cannon Lake root port's (0x9: trigger on fatal errors,
    interrupt) comes back from the save buffer after a suspend-to-RAM that cut its power in v7.1.3;
    before 4f802170a861 (docs/examples/pre-4f802170a861.toml) nothing saved or restored it."""
    assert _intent_lost("pre-4f802170a861.toml", "cnl-rootport", "pm_system_sleep(transition=deep, power=lost)") \
        == ["DPC Control"]


def test_pre_064b53dbcc97_leaves_the_bars_at_zero(both):
    """A PF's BARs (and VF BARs) are compared with the kernel's resources while a restore is
    pending too: the 82576 (No_Soft_Reset clear) soft-resets on D3hot -> D0, and v7.1.3's
    pci_set_full_power_state writes the BARs back (pci_restore_bars); before 064b53dbcc97
    (docs/examples/pre-064b53dbcc97.toml) they stayed 0 while the kernel's resources did not."""
    text = "pci_bind_driver(driver=host)\npci_set_power_state(state=d3hot)\npci_set_power_state(state=d0)"
    base = model("linux-7.1", "nic-82576")
    assert [base.apply(c) for c in parse_program(text)] == [0, 0, 0]
    assert base.state.needs_restore_after_reset            # Command and the rest: the driver's restore
    assert not [v for v in base.oracle.violations if v.invariant == "intent_mismatch"]
    old = model(f"linux-7.1+{EXAMPLES / 'pre-064b53dbcc97.toml'}", "nic-82576")
    assert [old.apply(c) for c in parse_program(text)] == [0, 0, 0]
    found = sorted((v.register, v.op_index) for v in old.oracle.violations if v.invariant == "intent_mismatch")
    assert found == [("BAR0", 2), ("BAR1", 2), ("BAR2", 2), ("BAR3", 2), ("SR-IOV VF BAR0", 2), ("SR-IOV VF BAR3", 2)]


def test_bars_are_compared_while_pending_only_where_the_core_owes_them(both):
    """A restore pending after a reset is the caller's to make (a driver's resume calls
    pci_restore_state after pci_set_power_state(D0); recovery's slot_reset), so the BARs wait for
    it: a link down, or a D3cold -> D0 of the I350 (No_Soft_Reset set: pci_power_up reports no
    soft reset), reports nothing. Only when pci_power_up itself reports the soft reset
    (need_restore) is the core to put them back, which pci_set_full_power_state does."""
    for text in ("pci_bind_driver(driver=host)\nhw_link_down()",
                 "pci_bind_driver(driver=host)\npci_set_power_state(state=d3cold)\npci_set_power_state(state=d0)"):
        m = model("linux-7.1", "i350")
        assert all(r == 0 for r in (m.apply(c) for c in parse_program(text)))
        assert m.state.needs_restore_after_reset
        assert not [v for v in m.oracle.violations if v.invariant == "intent_mismatch"]


def test_pre_425c1b223dac_loses_the_vc1_resource_control(both):
    """VC Port Control and VC0/VC1 Resource Control are written intent: the PLX 8532's VC1
    (VC ID 1, set up at enumeration) comes back from the save buffer after a suspend-to-RAM that
    cut its power in v7.1.3; before 425c1b223dac (docs/examples/pre-425c1b223dac.toml) nothing
    saved or restored it (overlay trial D)."""
    assert _intent_lost("pre-425c1b223dac.toml", "plx-8532", "pm_system_sleep(transition=deep, power=lost)") \
        == ["VC1 Resource Control"]


def test_enumeration_clears_aer_status_and_enables_error_reporting(both, tmp_path):
    """pci_init_capabilities -> pci_aer_init: AER status cleared, and with the OS owning AER the
    four error-reporting enables set in DEVCTL (pci_enable_pcie_error_reporting), before the
    enumeration save; the 82576's dump has them clear and Correctable Status 0x2000 latched. An
    overlay without the call, or firmware-first AER, leaves both as dumped."""
    image = resolve_device("nic-82576").config
    def devctl(m):
        return m.state.hw.read(m.caps.exp + 0x08, 2)
    def cor(m):
        return m.state.hw.read(m.caps.aer + 0x10, 4)
    first = run("linux-7.1", "", "nic-82576")
    exp, aer = first.caps.exp, first.caps.aer
    assert int(image[exp + 8]) & 0xF == 0 and int(image[aer + 0x11]) == 0x20     # as dumped
    assert devctl(first) & 0xF == 0xF and cor(first) == 0
    # the enumeration snapshot holds them: a driver's FLR restores the enables
    assert devctl(run("linux-7.1", "pci_bind_driver(driver=host)\npci_reset_function(method=flr)", "nic-82576")) \
        & 0xF == 0xF
    cut = run(overlay(tmp_path, '[path.pci_init_capabilities]\nremove = ["aer_init"]\n'), "", "nic-82576")
    assert devctl(cut) & 0xF == 0 and cor(cut) == 0x2000
    firmware = run(overlay(tmp_path, '[recovery]\naer_native = false\n', "f"), "", "nic-82576")
    assert devctl(firmware) & 0xF == 0 and cor(firmware) == 0x2000


def test_pre_b07461a8e45b_leaves_aer_status_latched_through_a_restore(both):
    """error_status_stale: a UR the function logged before an FLR (AER status is sticky) is
    cleared by the restore's aer_clear_status step; before b07461a8e45b (docs/examples) it
    survives the restore. Without the enumeration clear the 82576's dumped Correctable Status
    (Advisory Non-Fatal) is latched too, and the first restore reports it."""
    prog = ("pci_bind_driver(driver=host)\npcie_do_recovery(channel=frozen, vote=can_recover, source=aer)\n"
            "pci_enable_msix(nvec=2)\npci_disable_msix()\npci_reset_function(method=flr)\n")
    pre = f"linux-7.1+{EXAMPLES / 'pre-b07461a8e45b.toml'}"
    def stale(m):
        return [(v.op, v.register, v.actual) for v in m.oracle.violations if v.invariant == "error_status_stale"]
    assert stale(run("linux-7.1", prog)) == []
    got = stale(run(pre, prog))     # the i350's dumped Advisory Non-Fatal too, from the bind's restore on
    assert [(op, reg) for op, reg, _ in got] == [("pci_bind_driver", "AER"), ("pci_reset_function", "AER")], got
    assert "Uncorrectable 0x0" in got[0][2] and "Uncorrectable 0x100000" in got[1][2]   # then the UR
    assert stale(run("linux-7.1", "pci_bind_driver(driver=host)\npci_reset_function(method=flr)\n",
                     "nic-82576")) == []
    got = stale(run(pre, "pci_bind_driver(driver=host)\npci_reset_function(method=flr)\n", "nic-82576"))
    assert got and "Correctable 0x2000" in got[0][2], got
