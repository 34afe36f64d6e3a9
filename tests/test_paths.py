"""Paths: entry points as ordered steps in the policy (fuzzcore/policy/paths.py, docs/policies.md
§9). The language (loading, errors, `policy show`), and the worked overlays of docs/policies.md,
each run on both models: the reference model and the native engine (through ModelFacade)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from both_models import both, model  # noqa: F401  (fixture `both`: a test on both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.policy.paths import PATH_NAMES, PRIMITIVE_NAMES, markdown_tables
from fuzzcore.program.fzs import parse_program

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
I350_BAR0 = 0x92E00000


def run(policy, text, device="i350"):
    m = model(policy, device)
    for call in parse_program(text):
        m.apply(call)
    return m


def buckets(m):
    return {(v.invariant, v.register) for v in m.oracle.violations}


def overlay(tmp_path, body, name="t"):
    f = tmp_path / f"{name}.toml"
    f.write_text(f'[overlay]\nname = "{name}"\ndescription = "d"\ncommit = ""\nreference = ""\n' + body)
    return f"linux-7.1+{f}"


# --- the language ---------------------------------------------------------------------------------

def test_baseline_states_every_path():
    p = load_policy("linux-7.1")
    assert [n for n, _ in p.paths] == list(PATH_NAMES)
    assert [s.name for s in p.path("pci_reset_function")] == ["save_and_disable", "reset", "restore"]
    assert [(s.do, s.params) for s in p.path("pci_dev_save_and_disable")] == [
        ("driver", (("callback", "reset_prepare"),)), ("set_power", (("state", "d0"),)), ("save_state", ()),
        ("write_command", (("value", ("intx_disable",)),))]
    c = p.compile()
    k = PATH_NAMES.index("pci_dev_save_and_disable")
    steps = c.step_prim[c.path_start[k]:c.path_start[k] + c.path_len[k]]
    assert [PRIMITIVE_NAMES[i] for i in steps] == ["driver", "set_power", "save_state", "write_command"]
    assert c.step_arg[c.path_start[k] + 3] == 0x0400


def test_path_edit_and_switch_shorthand_compile_alike(tmp_path):
    """e18d1abc3bff as a path edit (docs/examples/skip-save-as-path-edit.toml) and as the shipped
    overlay's switch give the same tables, and the switch reads back from the path."""
    a = load_policy(f"linux-7.1+{EXAMPLES / 'skip-save-as-path-edit.toml'}")
    b = load_policy("linux-7.1+skip-save-if-inaccessible")
    ca, cb = a.compile(), b.compile()
    for f in ("path_start", "path_len", "step_prim", "step_arg", "step_when", "switches"):
        assert np.array_equal(getattr(ca, f), getattr(cb, f)), f
    assert a.switch("reset.save_and_disable_inaccessible") == "skip"
    assert a.origin("reset.save_and_disable_inaccessible") == "skip-save-as-path-edit"
    # the other shorthand: restore only after a successful reset
    p = load_policy(overlay(tmp_path, '[path.pci_reset_function.step]\nrestore = { when = "result_ok" }\n'))
    assert p.switch("reset.restore_after_failed_reset") is False


def test_policy_show_path_marks_the_overlay():
    r = subprocess.run([sys.executable, "-m", "fuzzcore.cli", "policy", "show",
                        f"linux-7.1+{EXAMPLES / 'driver-resave-after-restore.toml'}", "driver.slot_reset"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("driver.slot_reset") and "[driver-resave-after-restore]" in lines[0]
    assert [l.split()[1] for l in lines[1:]] == ["enable", "master", "restore", "resave", "vote"]
    assert "[driver-resave-after-restore]" in lines[4] and "[driver" not in lines[3]


@pytest.mark.parametrize("body,line,message", [
    ('[path.pci_dev_restore.step]\nrestore = { do = "nonesuch" }\n', 7, "unknown primitive"),
    ('[path.pci_dev_restore]\ninsert = [{ step = "x", before = "nowhere" }]\n', 7, "not another step"),
    ('[path.pci_dev_restore]\ninsert = [{ step = "x", before = "restore" }]\n', 6, "has no definition"),
    ('[path.pci_dev_restore.step]\nrestore = { when = "sometimes" }\n', 7, "unknown condition"),
    ('[path.pci_dev_restore]\ninsert = [{ step = "t", before = "restore" }]\n[path.pci_dev_restore.step]\n'
     't = { do = "test_local", local = "a", mask = 0x10000, flag = "a" }\n', 9, "a bit mask, 0-0xFFFF"),
    ('[path.pci_dev_restore.step]\nrestore = { when = "d0 and sometimes" }\n', 7, 'unknown condition "sometimes"'),
    ('[path.pci_dev_restore.step]\nrestore = { when = "d0 and d0 and d0 and not d0" }\n', 7, "at most 3"),
    ('[path.pci_restore_config_space.step]\nbars = { dwords = "9..x" }\n', 7, "config dword indices 0-15"),
    ('[path.pci_restore_config_space.step]\nbars = { retry = 99 }\n', 7, "an integer 0-15"),
    ('[path.pci_restore_config_space.step]\nbars = { force = "yes" }\n', 7, "force"),
    ('[path.pci_restore_config_space]\ninsert = [{ step = "x", after = "bars" }]\n'
     '[path.pci_restore_config_space.step]\nx = { do = "config_dwords", dwords = "1..2", retry = 0 }\n', 9,
     "needs force"),
    ('[path.pci_dev_restore.step]\nreset_done = { callback = "shutdown" }\n', 7, "not allowed"),
    ('[path.nonesuch]\nsteps = []\n', 6, "unknown path"),
    ('[driver.shutdown]\nsteps = []\n', 6, "unknown driver callback"),
    ('[path.pci_dev_save_and_disable.step]\nd0 = { do = "call", path = "pci_dev_save_and_disable" }\n', 7,
     "cannot call itself"),
])
def test_path_errors_name_file_and_line(tmp_path, body, line, message):
    spec = overlay(tmp_path, body)
    with pytest.raises(ValueError) as e:
        load_policy(spec)
    assert f"t.toml:{line}:" in str(e.value) and message in str(e.value)


def test_docs_embed_the_path_vocabulary():
    assert markdown_tables() in (ROOT / "docs" / "policies.md").read_text()


# --- worked overlays, on both models ----------------------------------------------------------------

def test_e18d1abc3bff_as_path_edit_keeps_the_old_snapshot(both):
    """The path form of e18d1abc3bff: the all-ones device is not saved before the reset, so the
    restore after it uses the open-time snapshot (BAR0 comes back); the baseline restores all-ones."""
    prog = "vfio_open()\nhw_inaccessible()\nvfio_hot_reset()"
    base = run("linux-7.1", prog)
    patched = run(f"linux-7.1+{EXAMPLES / 'skip-save-as-path-edit.toml'}", prog)
    assert ("snapshot_all_ones", "config") in buckets(base)
    assert not {b for b in buckets(patched) if b[0] in ("snapshot_all_ones", "restore_all_ones")}
    assert patched.state.hw.read(0x10, 4) == I350_BAR0


TWO_RECOVERIES = """
    pci_bind_driver(driver=host)
    pci_save_state()
    pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)
    pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)
"""


def test_b94f2d775a71_driver_resave_keeps_the_one_shot_snapshot_usable(both):
    """Before a2f1e22390ac a restore used the snapshot up: the second recovery leaves the device
    at reset defaults unless the driver's slot_reset saves again (b94f2d775a71)."""
    pre = "linux-7.1+pre-a2f1e22390ac"
    plain = run(pre, TWO_RECOVERIES)
    resave = run(f"{pre}+{EXAMPLES / 'driver-resave-after-restore.toml'}", TWO_RECOVERIES)
    assert ("used_without_restore", "config") in buckets(plain)
    assert plain.state.hw.read(0x10, 4) == 0
    assert ("used_without_restore", "config") not in buckets(resave)
    assert resave.state.hw.read(0x10, 4) == I350_BAR0 and resave.state.dev.state_saved


def test_driver_without_restore_in_slot_reset_is_a_one_line_overlay(tmp_path, both):
    """A driver's mistake: slot_reset votes RECOVERED without restoring. One line."""
    spec = overlay(tmp_path, '[driver.slot_reset]\nremove = ["restore"]\n')
    prog = "pci_bind_driver(driver=host)\npcie_do_recovery(channel=frozen, vote=need_reset, source=aer)"
    assert ("used_without_restore", "config") not in buckets(run("linux-7.1", prog))
    m = run(spec, prog)
    assert ("used_without_restore", "config") in buckets(m) and m.state.hw.read(0x10, 4) == 0


def test_mmio_enabled_vote_is_merged(tmp_path, both):
    """A driver whose mmio_enabled asks for a reset turns a CAN_RECOVER recovery on a normal
    channel into reset + slot_reset (report_mmio_enabled merges its vote)."""
    spec = overlay(tmp_path, '[driver.mmio_enabled]\nsteps = ["vote"]\n'
                             '[driver.mmio_enabled.step]\nvote = { do = "vote", result = "need_reset" }\n')
    prog = "pci_bind_driver(driver=host)\npcie_do_recovery(channel=normal, vote=can_recover, source=aer)"
    base, m = run("linux-7.1", prog), run(spec, prog)
    assert not base.state.needs_restore_after_reset and base.state.dev.config_epoch == m.state.dev.config_epoch
    assert m.state.hw.read(0x10, 4) == I350_BAR0   # reset, then restored by slot_reset


def test_qemu_pre_reset_order_as_path_edit(both):
    """QEMU < 10.0's pre-reset order as a move in the qemu_pre_reset path: same tables as the
    shorthand switch, and on the 7265 (D3hot set by the guest) both models end differently: with
    D0 first the Command clear lands, with the 10.x order Memory and Bus Master stay on in
    hardware while vconfig says off."""
    spec = f"linux-7.1+{EXAMPLES / 'qemu-pre-reset-d0-first.toml'}"
    p = load_policy(spec)
    assert p.switch("qemu.pre_reset_order") == "d0_then_clear"
    assert [s.name for s in p.path("qemu_pre_reset")] == ["irqs_off", "d0", "clear_command"]
    prog = ("vfio_open()\nvfio_config_write(offset=0x04, width=2, value=0x0006)\n"
            "vfio_config_write(offset=0xcc, width=2, value=0x0003)\nqemu_pre_reset()")
    assert resolve_device("wifi-7265") and Model(resolve_device("wifi-7265"), p).caps.pm == 0xc8
    base, old = run("linux-7.1", prog, "wifi-7265"), run(spec, prog, "wifi-7265")
    assert base.state.hw.read(0x04, 2) & 0x6 == 0x6 and ("vconfig_mismatch", "Command") in buckets(base)
    assert old.state.hw.read(0x04, 2) & 0x6 == 0 and ("vconfig_mismatch", "Command") not in buckets(old)


def test_runtime_suspend_switches_are_gates_of_the_path(tmp_path):
    """pm.runtime_suspend_clears_state_saved / _disables_ptm are the gates of two steps."""
    p = load_policy(overlay(tmp_path, '[pm]\nruntime_suspend_clears_state_saved = false\n'))
    q = load_policy(overlay(tmp_path, '[path.pci_pm_runtime_suspend.step]\nclear_saved = { gate = "never" }\n', "u"))
    assert p.compile().step_prim.tolist() == q.compile().step_prim.tolist()
    assert q.switch("pm.runtime_suspend_clears_state_saved") is False
    assert q.switch("pm.runtime_suspend_disables_ptm") is True


def test_driver_that_saves_in_runtime_suspend_stays_in_d0(tmp_path, both):
    """A host driver whose runtime_suspend calls pci_save_state itself: pci_pm_runtime_suspend
    sees state_saved and leaves the rest (save, D3hot) to the driver, which did not do it."""
    spec = overlay(tmp_path, '[driver.runtime_suspend]\nsteps = ["save"]\n'
                             '[driver.runtime_suspend.step]\nsave = { do = "save_state" }\n')
    prog = "pci_bind_driver(driver=host)\npci_pm_runtime_suspend()"
    base, m = run("linux-7.1", prog), run(spec, prog)
    assert base.state.dev.current_state == 3 and base.state.hw.read(0x40 + 4, 2) & 0x3 == 0x3  # D3hot
    assert m.state.dev.current_state == 0 and m.state.dev.state_saved and m.state.dev.rpm_suspended


def test_ad05c16b290b_as_path_edit():
    """ad05c16b290b as a step in the pcie_flr path: the same tables as the shipped overlay's
    switch, and the FLR on an all-ones I350 no longer writes DEVCTL (the reference trace shows
    the write that v7.1.3 attempts and loses; the engine does not trace, and both models agree
    on these tables in selfcheck)."""
    a = load_policy(f"linux-7.1+{EXAMPLES / 'fail-flr-as-path-edit.toml'}")
    b = load_policy("linux-7.1+fail-flr-if-inaccessible")
    for f in ("path_start", "path_len", "step_prim", "step_arg", "step_when", "switches"):
        assert np.array_equal(getattr(a.compile(), f), getattr(b.compile(), f)), f
    assert a.switch("reset.flr_inaccessible") == "enotty"
    prog = parse_program("pci_bind_driver(driver=host)\nhw_inaccessible()\npci_reset_function(method=flr)")
    devctl = Model(resolve_device("i350"), a).caps.exp + 0x08
    writes = {}
    for spec, pol in (("base", load_policy("linux-7.1")), ("patched", a)):
        m = Model(resolve_device("i350"), pol)
        res = m.run(prog, trace=True)
        writes[spec] = [t for t in res.trace if t.step == "reset/flr" and t.target == "dev" and t.offset == devctl]
        assert res.returns[-1] == -25
    assert writes["base"] and not writes["patched"]


def test_pm_and_bus_reset_methods_are_paths(tmp_path, both):
    """pci_pm_reset and pci_reset_bus_function are paths with their probes: the 82576 (NoSoftRst-)
    reset by the PM method goes D3hot then D0 (a soft reset the restore repairs); an overlay
    without the `d0` write leaves it in D3hot. The bus method is the port's secondary bus reset."""
    p = load_policy("linux-7.1")
    assert [s.name for s in p.path("pci_pm_reset")] == ["no_pm", "no_soft_reset", "probe", "not_d0", "d3hot", "d0",
                                                        "wait"]
    assert [s.do for s in p.path("pci_reset_bus_function")] == ["fail", "return", "secondary_bus_reset"]
    prog = "pci_bind_driver(driver=host)\npci_reset_function(method=pm)"
    pmcsr = Model(resolve_device("nic-82576"), p).caps.pm + 4
    base = run("linux-7.1", prog, "nic-82576")
    assert base.state.hw.read(pmcsr, 2) & 0x3 == 0 and base.state.hw.read(0x04, 2) & 0x2
    m = run(overlay(tmp_path, '[path.pci_pm_reset]\nremove = ["d0"]\n'), prog, "nic-82576")
    assert m.state.hw.read(pmcsr, 2) & 0x3 == 0x3 and m.state.dev.current_state == 0


def test_config_save_is_a_path_and_an_early_return_ends_the_whole_save(tmp_path, both):
    """Save step config_space is [path.pci_save_config_space]: the header dwords, then
    state_saved. A kernel that refused to save an inaccessible function (one `fail` step before the
    reads) keeps the old snapshot and reports no all-ones snapshot; the baseline overwrites it."""
    p = load_policy("linux-7.1")
    assert [(s.do, s.param("dwords")) for s in p.path("pci_save_config_space")] == [
        ("config_save", "0..15"), ("set_state_saved", None)]
    prog = "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_save_state()"
    base = run("linux-7.1", prog)
    assert ("snapshot_all_ones", "config") in buckets(base) and base.state.dev.saved_config[1] == 0xFFFFFFFF
    m = run(overlay(tmp_path, '[path.pci_save_config_space]\ninsert = [{ step = "inaccessible", before = "dwords" }]\n'
                              '[path.pci_save_config_space.step]\n'
                              'inaccessible = { do = "fail", errno = "eio", when = "config_all_ones" }\n'), prog)
    assert ("snapshot_all_ones", "config") not in buckets(m) and m.state.dev.saved_config[4] == I350_BAR0


def test_qemu_reset_choice_is_a_path_that_falls_through(tmp_path, both):
    """QEMU's vfio_pci_reset tries VFIO_DEVICE_RESET (the I350 has FLR), and when it fails goes on
    to its own bus reset: an I350 that stopped answering is brought back by the hot reset. A QEMU
    that gave up after the first attempt (an unconditional `device_done`) leaves it unreachable."""
    assert [s.name for s in load_policy("linux-7.1").path("qemu_pick_reset")] == [
        "none_yet", "device_reset_flr", "device_reset_no_pm", "device_done", "hot_reset", "hot_done", "pm_reset"]
    prog = "vfio_open()\nhw_inaccessible()\nqemu_reset()"
    assert run("linux-7.1", prog).state.hw.accessible
    m = run(overlay(tmp_path, '[path.qemu_pick_reset.step]\ndevice_done = { when = "" }\n'), prog)
    assert not m.state.hw.accessible


def test_msix_set_up_is_a_path_and_438553958ba1_is_its_order():
    """msix_capability_init is [path.msix_capability_init]: Enable with Function Mask before any
    table access, then the entries, all masked, Function Mask cleared. Before 438553958ba1 MSI-X
    was disabled while the table was set up and Enable came after the entries
    (docs/examples/pre-438553958ba1.toml): in the reference trace Message Control is first written
    with Enable clear, and the table's masking writes still follow Enable. Both set MSI-X up."""
    p = load_policy("linux-7.1")
    assert [s.name for s in p.path("msix_capability_init")] == [
        "enable_maskall", "map", "out_disable", "failed", "setup", "intx_off", "mask_all", "clear_maskall"]
    prog = parse_program("pci_bind_driver(driver=host)\npci_enable_msix(nvec=0)")
    seen = {}
    for name, spec in (("base", "linux-7.1"), ("old", f"linux-7.1+{EXAMPLES / 'pre-438553958ba1.toml'}")):
        m = Model(resolve_device("i350"), load_policy(spec))
        res = m.run(prog, trace=True)
        assert res.returns[-1] == 0 and m.state.dev.msix_enabled
        ctrl = m.caps.msix + 2
        seen[name] = [("ctrl", t.new & 0xC000) for t in res.trace if t.op_index == 1 and t.target == "dev"
                      and t.offset == ctrl][:3]
    assert seen["base"] == [("ctrl", 0xC000), ("ctrl", 0x8000)]
    assert seen["old"] == [("ctrl", 0x0000), ("ctrl", 0xC000), ("ctrl", 0x8000)]


def test_l1ss_save_is_a_path_and_1db806ec06b7_is_its_parent_half(both):
    """pci_save_aspm_l1ss_state is a path: the 7265's CTL2 and CTL1, then its parent's into the
    parent's buffer (1db806ec06b7). Without the parent's half (docs/examples/pre-1db806ec06b7.toml)
    a restore after a link-down pushes the parent's never-saved buffer: the port's L1SS ends at
    zero and the oracle reports restore_unsaved_buffer on L1SS."""
    assert [s.name for s in load_policy("linux-7.1").path("pci_save_aspm_l1ss_state")][-2:] == [
        "parent_ctl2", "parent_ctl1"]
    prog = "pci_bind_driver(driver=host)\npci_enable_l1ss()\npci_save_state()\nhw_link_down()\npci_restore_state()"
    base = run("linux-7.1", prog, "wifi-7265")
    old = run(f"linux-7.1+{EXAMPLES / 'pre-1db806ec06b7.toml'}", prog, "wifi-7265")
    pl = Model(resolve_device("wifi-7265"), load_policy("linux-7.1")).port_caps.l1ss
    assert base.state.port.hw.read(pl + 8, 4) != 0 and old.state.port.hw.read(pl + 8, 4) == 0
    assert ("restore_unsaved_buffer", "L1SS") in buckets(old) and ("restore_unsaved_buffer", "L1SS") not in buckets(base)


# --- vfio-pci's own sequences as paths ----------------------------------------------------------

def test_vfio_sequences_are_paths():
    """vfio_pci_core_enable/disable and VFIO_DEVICE_RESET are stated in the baseline, in the
    v7.1.3 order (the open has no D0 transition of its own: pci_enable_device's), and the [vfio]
    close_on_load_failure switch reads back from the resave step."""
    p = load_policy("linux-7.1")
    assert [s.name for s in p.path("vfio_pci_core_enable")] == [
        "runtime_resume", "clear_master", "enable", "reset", "reset_works", "save", "store",
        "config_init", "vf_memory", "open"]
    assert [s.name for s in p.path("vfio_pci_core_disable")] == [
        "pm_exit", "resume", "d0", "clear_master", "irqs_off", "needs_reset", "reload", "disable", "closed", "try_reset", "put"]
    assert [s.do for s in p.path("vfio_pci_core_disable_restore")] == [
        "vfio_load_saved_state", "stop", "save_state", "write_command", "call", "restore_state"]
    assert [s.do for s in p.path("vfio_pci_ioctl_reset")] == ["fail", "vfio_set_power", "try_reset"]
    assert [s.do for s in p.path("vfio_pci_dev_set_hot_reset")] == ["fail", "fail", "vfio_set_power", "try_reset"]
    assert p.switch("vfio.close_on_load_failure") == "resave"
    q = load_policy("linux-7.1+vfio-reset-done-v18")
    assert q.switch("vfio.close_on_load_failure") == p.switch("vfio.close_on_load_failure")


V18_AS_PATH = """[path.vfio_pci_core_aer_reset_done]
steps = ["no_blob", "load", "restore"]
[path.vfio_pci_core_aer_reset_done.step]
no_blob = { do = "stop", when = "not vfio_saved_state" }
load = { do = "vfio_load_saved_state", free = "false" }
restore = { do = "restore_state" }
"""


def test_vfio_callbacks_are_paths_and_v18_is_their_shorthand(tmp_path):
    """vfio-pci's err_handlers and runtime-PM ops are paths: the v18 reset_done switch and the
    same steps written as a path edit compile alike, and the switch reads back from the path."""
    p = load_policy("linux-7.1")
    assert [(s.do, s.params) for s in p.path("vfio_pci_core_aer_err_detected")] == [
        ("vote", (("result", "can_recover"),))]
    assert [s.do for s in p.path("vfio_pci_core_runtime_suspend")] == ["vfio_set_power", "vfio_intx"]
    for empty in ("vfio_pci_core_aer_mmio_enabled", "vfio_pci_core_aer_slot_reset", "vfio_pci_core_aer_resume",
                  "vfio_pci_core_aer_reset_prepare", "vfio_pci_core_aer_reset_done"):
        assert p.path(empty) == (), empty
    a = load_policy("linux-7.1+vfio-reset-done-v18")
    b = load_policy(overlay(tmp_path, V18_AS_PATH, "b"))
    ca, cb = a.compile(), b.compile()
    for f in ("path_start", "path_len", "step_prim", "step_arg", "step_when", "switches"):
        assert np.array_equal(getattr(ca, f), getattr(cb, f)), f
    assert b.switch("vfio.reset_done") == "load_open_blob_and_restore"
    c = load_policy(overlay(tmp_path, '[vfio]\nreset_done_checks_load_result = true\n'
                                      'reset_done = "load_open_blob_and_restore"\n', "c"))
    assert [s.name for s in c.path("vfio_pci_core_aer_reset_done")] == ["no_blob", "load", "check_load", "restore"]
    d = load_policy(overlay(tmp_path, '[recovery]\nvfio_slot_reset = "restore"\n', "d"))
    assert [s.do for s in d.path("vfio_pci_core_aer_slot_reset")] == ["restore_state", "vote"]


def test_v18_reset_done_as_path_edit_restores_the_open_blob(tmp_path, both):
    """§6.9 B from the path edit alone: after a VFIO_DEVICE_RESET on an open device, reset_done
    loads the open-time blob over the snapshot pci_dev_save_and_disable just took and restores it."""
    prog = "vfio_open()\nvfio_device_reset()\n"
    base, m = run("linux-7.1", prog), run(overlay(tmp_path, V18_AS_PATH, "v18"), prog)
    assert base.state.dev.config_epoch != m.state.dev.config_epoch
    assert ("restore_older_snapshot", "config") in buckets(m)
    assert ("restore_older_snapshot", "config") not in buckets(base)


def test_vfio_error_detected_vote_is_an_overlay(tmp_path, both):
    """A vfio-pci that votes NEED_RESET in error_detected: the recovery resets the function and,
    with no vfio slot_reset, nothing restores it; the baseline's CAN_RECOVER never resets."""
    spec = overlay(tmp_path, '[path.vfio_pci_core_aer_err_detected.step]\nvote = { result = "need_reset" }\n')
    prog = "vfio_open()\npcie_do_recovery(channel=normal, vote=can_recover, source=aer)"
    base, m = run("linux-7.1", prog), run(spec, prog)
    assert base.state.hw.read(0x10, 4) == I350_BAR0
    assert m.state.hw.read(0x10, 4) == 0 and m.state.needs_restore_after_reset


def test_close_on_load_failure_is_the_gate_of_the_resave_step(tmp_path):
    a = load_policy(overlay(tmp_path, '[vfio]\nclose_on_load_failure = "restore_partial"\n', "a"))
    b = load_policy(overlay(tmp_path, '[path.vfio_pci_core_disable_restore.step]\nresave = { gate = "never" }\n',
                            "b"))
    ca, cb = a.compile(), b.compile()
    for f in ("path_start", "path_len", "step_prim", "step_arg", "step_when", "switches"):
        assert np.array_equal(getattr(ca, f), getattr(cb, f)), f
    assert b.switch("vfio.close_on_load_failure") == "restore_partial"


def test_policy_show_prints_the_vfio_close_path():
    r = subprocess.run([sys.executable, "-m", "fuzzcore.cli", "policy", "show", "linux-7.1",
                        "vfio_pci_core_disable"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("vfio_pci_core_disable")
    assert [l.split()[1] for l in lines[1:]] == [
        "pm_exit", "resume", "d0", "clear_master", "irqs_off", "needs_reset", "reload", "disable", "closed", "try_reset", "put"]


def test_9a92c5091a42_reverted_changes_the_open_snapshot(both):
    """Before 9a92c5091a42 vfio-pci enabled the device after the reset attempt and the open-time
    snapshot (docs/examples/pre-9a92c5091a42.toml). On the I350 (an INTx pin, no MSI yet)
    pci_enable_device clears INTx Disable: after the fix before the snapshot, before it after,
    so the close restores a Command with INTx Disable set."""
    spec = f"linux-7.1+{EXAMPLES / 'pre-9a92c5091a42.toml'}"
    assert [s.name for s in load_policy(spec).path("vfio_pci_core_enable")].index("enable") == 7
    base, old = run("linux-7.1", "vfio_open()"), run(spec, "vfio_open()")
    assert base.state.dev.saved_config[1] & 0x0400 == 0
    assert old.state.dev.saved_config[1] & 0x0400
    base, old = run("linux-7.1", "vfio_open()\nvfio_close()"), run(spec, "vfio_open()\nvfio_close()")
    assert base.state.hw.read(0x04, 2) & 0x0400 == 0
    assert old.state.hw.read(0x04, 2) & 0x0400


def test_vfio_ioctl_reset_refuses_without_a_working_reset(both):
    """vfio_pci_ioctl_reset's first step: the Fiji (no FLR, NoSoftRst+, no upstream port in the
    model) has no reset, so reset_works is false at open and VFIO_DEVICE_RESET returns -EINVAL
    without touching the device; the I350 resets (FLR) and returns 0."""
    m = run("linux-7.1", "vfio_open()", "fiji")
    assert not m.state.vfio.reset_works
    before = m.state.hw.read(0x04, 4)
    assert m.apply(parse_program("vfio_device_reset()")[0]) == -22
    assert m.state.hw.read(0x04, 4) == before
    m = run("linux-7.1", "vfio_open()")
    assert m.state.vfio.reset_works and m.apply(parse_program("vfio_device_reset()")[0]) == 0


SET_IRQS_MEMORY_OFF = ("vfio_open()\nvfio_config_write(offset=0x4, width=2, value=0x0)\n"
                       "vfio_set_irqs(index=msix, count=1)\n")


def test_set_irqs_is_a_path_whose_memory_bracket_is_data(both):
    """VFIO_DEVICE_SET_IRQS is [path.vfio_pci_set_irqs_ioctl]. The baseline brackets the MSI-X
    set-up with vfio_pci_memory_lock_and_enable: with the user's Memory off, Command is forced on
    around each table access and written back after (docs/examples/pre-abafbc551fdd.toml is the
    kernel before that bracket, where the table is written with Memory off)."""
    assert [s.name for s in load_policy("linux-7.1").path("vfio_pci_set_irqs_ioctl")] == ["disable", "einval", "enable"]
    base = run("linux-7.1", SET_IRQS_MEMORY_OFF)
    assert base.state.dev.msix_enabled and base.state.hw.read(0x04, 2) & 0x2 == 0
    assert ("mmio_decode_off", "MSI-X table, Memory off") not in buckets(base)
    spec = f"linux-7.1+{EXAMPLES / 'pre-abafbc551fdd.toml'}"
    old = run(spec, SET_IRQS_MEMORY_OFF)
    assert old.state.dev.msix_enabled
    assert ("mmio_decode_off", "MSI-X table, Memory off") in buckets(old)


def test_set_irqs_range_check_is_a_step(both, tmp_path):
    """The -EINVAL of vfio_set_irqs_validate_and_prepare is the step `einval`: INTx asked of a
    function with no interrupt pin (the DSA) fails; with the step removed the enable runs and
    returns 0."""
    m = model("linux-7.1", "dsa")
    rc = [m.apply(c) for c in parse_program("vfio_open()\nvfio_set_irqs(index=intx, count=0)")]
    assert rc[-1] == -22
    m = model(overlay(tmp_path, '[path.vfio_pci_set_irqs_ioctl]\nremove = ["einval"]\n'), "dsa")
    rc = [m.apply(c) for c in parse_program("vfio_open()\nvfio_set_irqs(index=intx, count=0)")]
    assert rc[-1] == 0


def test_pcie_restore_is_a_path_and_its_ltr_fix_is_one_sub_step(both):
    """Restore step `pcie` runs [path.pci_restore_pcie_state]. A link down clears the port's LTR
    Enable; the baseline's bridge_ltr sub-step (pci_bridge_reconfigure_ltr) sets it again before
    DEVCTL2 is restored, the kernel before it (docs/examples/pre-ltr-reconfigure.toml) leaves LTR
    on at the device only."""
    text = "pci_bind_driver(driver=host)\nhw_link_down()\npci_restore_state()\n"
    base = run("linux-7.1", text)
    old = run(f"linux-7.1+{EXAMPLES / 'pre-ltr-reconfigure.toml'}", text)
    assert ("upstream_feature_off", "LTR") not in buckets(base)
    assert ("upstream_feature_off", "LTR") in buckets(old)
    if isinstance(base, Model):          # the port's registers (the engine facade shows the device's)
        assert base.state.port.hw.read(base.port_caps.exp + 0x28, 2) & 0x400
        assert not old.state.port.hw.read(old.port_caps.exp + 0x28, 2) & 0x400


L1SS_RESTORE = "pci_bind_driver(driver=host)\npci_enable_l1ss()\npci_save_state()\nhw_link_down()\npci_restore_state()\n"


@pytest.mark.parametrize("edit, expected", [
    ('remove = ["ctl1_parent_no_l12", "ctl1_child_no_l12"]', "L1.2 thresholds programmed before the L1.2 enables"),
    ('remove = ["aspm_off", "aspm_back"]', "ASPM L0s/L1 off at both ends while L1SS changes"),
    ('move = [{ step = "ctl2_child", after = "ctl1_child" }]', "T_POWER_ON programmed while L1.2 is disabled"),
])
def test_l1ss_restore_sub_steps_are_data_and_their_order_is_checked(both, tmp_path, edit, expected):
    """pci_restore_aspm_l1ss_state is a path of single writes (the wifi-7265 and its port both have
    L1SS). The baseline's order raises nothing; each edit that breaks one of the rules its comments
    state is an order_violation on L1SS (at the bind's runtime-resume restore or the explicit one)."""
    assert not [v for v in run("linux-7.1", L1SS_RESTORE, "wifi-7265").oracle.violations
                if v.invariant == "order_violation"]
    m = run(overlay(tmp_path, f"[path.pci_restore_aspm_l1ss_state]\n{edit}\n"), L1SS_RESTORE, "wifi-7265")
    found = [v for v in m.oracle.violations if v.invariant == "order_violation" and v.register == "L1SS"]
    assert expected in {v.expected for v in found}


MSIX_AFTER_RECOVERY = ("pci_bind_driver(driver=host)\n"
                       "pcie_do_recovery(channel=frozen, vote=can_recover, source=aer)\n"
                       "pci_enable_msix(nvec=2)\npci_reset_function(method=flr)\n")


def test_msix_restore_is_a_path_and_231c7a57d193_is_its_memory_bracket(both):
    """The MSI-X half of restore step `msi` is [path.pci_restore_msix_state]. 231c7a57d193 as a
    path edit (docs/examples/msix-memory-as-path-edit.toml) compiles to the steps the shipped
    switch overlay msix-restore-enable-memory gives. A recovery that reset the device left Memory
    off, the driver's MSI-X set-up and the reset's save keep it off: the baseline's restore writes
    the table with Memory off, the fix's does not."""
    edit = f"linux-7.1+{EXAMPLES / 'msix-memory-as-path-edit.toml'}"

    def steps(spec):
        return [(s.name, s.do, s.params, s.when) for s in load_policy(spec).path("pci_restore_msix_state")]
    assert steps(edit) == steps("linux-7.1+msix-restore-enable-memory")
    assert load_policy(edit).switch("msix_restore.force_memory") == "always"
    base, fixed = run("linux-7.1", MSIX_AFTER_RECOVERY), run(edit, MSIX_AFTER_RECOVERY)
    key = ("mmio_decode_off", "MSI-X table, Memory off")
    assert key in {(v.invariant, v.register) for v in base.oracle.violations if v.op == "pci_reset_function"}
    assert key not in {(v.invariant, v.register) for v in fixed.oracle.violations if v.op == "pci_reset_function"}


def test_when_joins_conditions_with_and(both, tmp_path):
    """A step's `when` may join up to three conditions with "and" (each may be negated), compiled
    to ten bits per term (the condition id + 1, bit 9 the negation); both models evaluate every
    term. pci_dev_restore's restore under `result_ok and not d0`: a function reset leaves the I350
    in D0, so the restore is skipped."""
    from fuzzcore.policy.paths import CONDITION_IDS, encode_when
    d0, ok = CONDITION_IDS["d0"] + 1, CONDITION_IDS["result_ok"] + 1
    assert encode_when("d0 and not result_ok") == d0 | (0x200 | ok) << 10
    prog = "pci_bind_driver(driver=host)\npci_enable_msix(nvec=1)\npci_reset_function(method=flr)"
    base = run("linux-7.1", prog)
    assert base.state.dev.msix_enabled and base.state.hw.read(base.caps.msix + 2, 2) & 0x8000
    spec = overlay(tmp_path, '[path.pci_dev_restore.step]\nrestore = { do = "restore_state", when = "result_ok and not d0" }\n')
    skipped = run(spec, prog)
    assert not skipped.state.hw.read(skipped.caps.msix + 2, 2) & 0x8000      # not restored
    spec = overlay(tmp_path, '[path.pci_dev_restore.step]\nrestore = { do = "restore_state", when = "result_ok and d0" }\n',
                   "u")
    kept = run(spec, prog)
    assert kept.state.hw.read(kept.caps.msix + 2, 2) & 0x8000


def test_msi_restore_is_a_path(both, tmp_path):
    """The MSI half of restore step `msi` is [path.pci_restore_msi_state] (INTx off, Enable off,
    the message, the mask, Enable on). Taking the message step out leaves an FLR'd I350 with MSI
    enabled and a zero message the kernel does not know of (intent_mismatch on the MSI message)."""
    assert [s.name for s in load_policy("linux-7.1").path("pci_restore_msi_state")] == [
        "stop_unless_enabled", "intx_off", "disable", "message", "mask", "enable"]
    prog = "pci_bind_driver(driver=host)\npci_enable_msi()\npci_reset_function(method=flr)"
    base = run("linux-7.1", prog)
    msi = base.caps.msi
    assert base.state.hw.read(msi + 2, 2) & 0x1 and base.state.hw.read(msi + 4, 4) != 0
    assert not [v for v in base.oracle.violations if v.op == "pci_reset_function"]
    spec = overlay(tmp_path, '[path.pci_restore_msi_state]\nremove = ["message"]\n')
    cut = run(spec, prog)
    assert cut.state.hw.read(msi + 2, 2) & 0x1 and cut.state.hw.read(msi + 4, 4) == 0
    assert {(v.invariant, v.register) for v in cut.oracle.violations if v.op == "pci_reset_function"} == {
        ("intent_mismatch", "MSI message")}


def test_config_space_restore_is_a_path_of_ranges(both, tmp_path):
    """Restore step config_space is [path.pci_restore_config_space]: ranges of snapshot dwords
    with their order, retry and force as parameters. Written upwards from dword 0
    (docs/examples/command-before-bars.toml), Command goes back with Memory on before the BARs:
    each BAR the I350 implements is rewritten while it decodes (order_violation); the baseline's
    BARs-first order is clean. On a bridge, force = false skips the prefetch-window writes that
    the baseline forces."""
    p = load_policy("linux-7.1")
    assert [(s.name, dict(s.params)["dwords"]) for s in p.path("pci_restore_config_space")] == [
        ("tail", "15..10"), ("bars", "9..4"), ("head", "3..0"), ("bridge_tail", "15..12"),
        ("bridge_windows", "11..9"), ("bridge_head", "8..0"), ("other", "15..0")]
    prog = "pci_bind_driver(driver=host)\npci_save_state()\nhw_link_down()\npci_restore_state()"
    base = run("linux-7.1", prog)
    assert not {v.register for v in base.oracle.violations if v.invariant == "order_violation"}
    flipped = run(f"linux-7.1+{EXAMPLES / 'command-before-bars.toml'}", prog)
    assert {v.register for v in flipped.oracle.violations if v.invariant == "order_violation"} == {"BAR0", "BAR3"}
    assert flipped.state.hw.read(0x10, 4) == base.state.hw.read(0x10, 4) != 0



def test_config_space_force_is_a_parameter(tmp_path):
    """The bridge's prefetch windows are rewritten even when they read the saved value (force);
    with force = false they are not (the reference model's trace: the engine does not trace)."""
    def window_writes(spec):
        m = Model(resolve_device("plx-8532"), load_policy(spec))
        # portdrv makes no bare save or restore; hibernation's freeze saves and thaw restores,
        # with no reset in between (the windows read back as saved)
        res = m.run(parse_program("pm_system_sleep(transition=hibernate_thaw, power=kept)"), trace=True)
        return [t.offset for t in res.trace if t.target == "dev" and 0x24 <= t.offset < 0x30
                and t.op_index == 0]
    unforced = overlay(tmp_path, '[path.pci_restore_config_space.step]\nbridge_windows = { force = false }\n')
    assert window_writes("linux-7.1") == [0x2C, 0x28, 0x24] and window_writes(unforced) == []
