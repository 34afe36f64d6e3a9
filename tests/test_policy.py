"""Policies: every shipped file and composition loads, overlays do what they say, compile()
matches the Policy, and every kind of mistake is reported with its file and line."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from fuzzcore.policy import BUILTIN_DIR, Policy, PolicyError, builtin_policies, load_policy
from fuzzcore.policy import vocabulary as V
from fuzzcore.util.toml_source import TomlError, parse_toml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "policies.md"
EXAMPLE = ROOT / "docs" / "examples" / "ptm-restore-gated.toml"
BASE = "linux-7.1"
BASE_FILE = BUILTIN_DIR / f"{BASE}.toml"
OVERLAYS = ["msix-restore-enable-memory", "vfio-reset-done-v18", "skip-save-if-inaccessible",
            "fail-flr-if-inaccessible", "pre-a2f1e22390ac", "no-bar-snapshot-update", "linux-6.12", "vfio-tph"]
V71_RESTORE = ("pcie", "pasid", "pri", "ats", "vc", "rebar", "dpc", "ptm", "tph", "aer_clear_status", "aer",
               "config_space", "pcix", "msi", "acs", "iov")
V71_SAVE = ("config_space", "pcie", "pcix", "dpc", "aer", "ptm", "tph", "vc")


def _names(steps) -> tuple:
    return tuple(s.name for s in steps)


def _overlay(tmp_path: Path, body: str, name: str = "t", header: bool = True) -> Path:
    text = (f'[overlay]\nname = "{name}"\ndescription = "test"\ncommit = ""\nreference = ""\n\n' if header else "")
    path = tmp_path / f"{name}.toml"
    path.write_text(text + body)
    return path


def _line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for n, line in enumerate(path.read_text().splitlines(), 1):
        seen += line.count(needle)
        if seen >= occurrence:
            return n
    raise AssertionError(f"{needle!r} not in {path}")


def _baseline_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = BASE_FILE.read_text()
    assert old in text, old
    path = tmp_path / "base.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def _expect_error(spec: str, path: Path, line: int, *fragments: str) -> TomlError:
    with pytest.raises(TomlError) as info:
        load_policy(spec)
    err = info.value
    assert (err.path, err.line) == (str(path), line), str(err)
    assert str(err).startswith(f"{path}:{line}: ")
    for f in fragments:
        assert f in err.message, (f, err.message)
    return err


# --- shipped files ----------------------------------------------------------------------------

def test_builtins_are_the_shipped_files():
    assert set(builtin_policies()) == {BASE, *OVERLAYS}


@pytest.mark.parametrize("name", [BASE, *OVERLAYS])
def test_builtin_declares_its_file_name_and_comments_every_key(name):
    path = BUILTIN_DIR / f"{name}.toml"
    src = parse_toml(path.read_text(), str(path))
    head = src.data["policy" if name == BASE else "overlay"]
    assert head["name"] == name
    if name != BASE:
        assert set(head) == {"name", "description", "commit", "reference"}
    lines = path.read_text().splitlines()
    for n, line in enumerate(lines, 1):
        if re.match(r"^\s*[A-Za-z0-9_\"]+\s*=", line) or re.match(r'^\s*"[a-z_]+",', line):
            above = lines[n - 2].lstrip().startswith("#") if n > 1 else False
            assert "#" in line or above, f"{path}:{n}: key without a comment: {line}"


def test_baseline_states_v7_1_3():
    p = load_policy(BASE)
    assert isinstance(p, Policy) and p.name == BASE and p.parts == (BASE,)
    assert _names(p.restore_steps) == V71_RESTORE
    assert _names(p.save_steps) == V71_SAVE
    assert p.reset_methods == ("flr", "pm", "bus")
    steps = {s.name: s for s in p.restore_steps}
    assert (steps["tph"].source, steps["tph"].gate) == ("snapshot", "live_flag")
    assert (steps["ptm"].source, steps["ptm"].gate) == ("snapshot", "always")
    for name in ("pasid", "pri", "ats", "msi"):
        assert (steps[name].source, steps[name].gate) == ("live", "live_flag")
    assert steps["rebar"].source == "live" and steps["acs"].source == "hardware"
    assert steps["config_space"].upstream == "pci_restore_config_space"
    assert {s.name: s.gate for s in p.save_steps} == {**{n: "always" for n in V71_SAVE}, "tph": "live_flag"}
    assert p.save_step("tph").upstream == "pci_save_tph_state"
    expected = {
        "restore.gate_on_state_saved": False, "restore.clear_state_saved": True, "save.enumeration_save": True,
        "reset.methods": ("flr", "pm", "bus"), "reset.save_and_disable_inaccessible": "save",
        "reset.flr_inaccessible": "proceed", "reset.restore_after_failed_reset": True,
        "resources.bar_assignment_updates_snapshot": True, "msix_restore.force_memory": "off",
        "pm.runtime_suspend_clears_state_saved": True, "pm.runtime_suspend_disables_ptm": True,
        "vfio.reset_done": "none", "vfio.reset_done_checks_load_result": False,
        "vfio.close_on_load_failure": "resave",
        "qemu.pre_reset_clears": ("io", "memory", "bus_master", "intx_disable"),
        "qemu.pre_reset_order": "clear_then_d0", "recovery.vfio_slot_reset": "none", "recovery.aer_native": True,
        "vfio.disable_idle_d3": False, "paths.vfio_user_tph": False, "paths.host_tph": True,
        "vfio.pmcsr_from_user": ("no_soft_reset", "reserved", "data_select", "data_scale", "bse_data"),
    }
    assert p.switches == expected
    assert p.origins == ()


def test_baseline_states_every_step_explicitly():
    data = parse_toml(BASE_FILE.read_text(), str(BASE_FILE)).data
    for name in V71_RESTORE:
        assert set(data["restore"]["step"][name]) == {"source", "gate"}, name
    for name in V71_SAVE:
        assert set(data["save"]["step"][name]) == {"gate"}, name


# --- compositions -----------------------------------------------------------------------------

SPECS = ([BASE] + [f"{BASE}+{o}" for o in OVERLAYS]
         + [f"{BASE}+{a}+{b}" for a, b in itertools.permutations(OVERLAYS, 2)]
         + [f"{BASE}+" + "+".join(OVERLAYS), f"{BASE}+{EXAMPLE}"])


@pytest.mark.parametrize("spec", SPECS)
def test_composition_loads_and_compiles_consistently(spec):
    p = load_policy(spec)
    assert p.name == spec and len(p.parts) == spec.count("+") + 1
    text = p.describe()
    assert text.startswith(f"policy {spec}\n") and "pci_restore_state" in text
    _check_compiled(p)


def _check_compiled(p: Policy):
    c = p.compile()
    assert c is p.compile()
    for arr, dtype in ((c.restore_order, np.int8), (c.restore_position, np.int8), (c.restore_source, np.int8),
                       (c.restore_gate, np.int8), (c.save_order, np.int8), (c.save_position, np.int8),
                       (c.save_gate, np.int8), (c.reset_order, np.int8), (c.switches, np.int16)):
        assert arr.dtype == dtype and not arr.flags.writeable
    assert c.restore_step_names == V.RESTORE_STEP_NAMES and c.save_step_names == V.SAVE_STEP_NAMES
    assert c.source_names == V.SOURCE_NAMES and c.gate_names == V.GATE_NAMES
    assert c.reset_method_names == V.RESET_METHOD_NAMES and c.switch_names == V.SWITCH_NAMES
    assert tuple(c.restore_step_names[i] for i in c.restore_order) == _names(p.restore_steps)
    assert c.restore_position.shape == c.restore_source.shape == c.restore_gate.shape == (len(V.RESTORE_STEPS),)
    for name, sid in V.RESTORE_STEP_IDS.items():
        step = p.restore_step(name)
        if step is None:
            assert c.restore_position[sid] == -1 and c.gate_names[c.restore_gate[sid]] == "never"
        else:
            assert c.restore_order[c.restore_position[sid]] == sid
            assert c.source_names[c.restore_source[sid]] == step.source
            assert c.gate_names[c.restore_gate[sid]] == step.gate
    assert tuple(c.save_step_names[i] for i in c.save_order) == _names(p.save_steps)
    for name, sid in V.SAVE_STEP_IDS.items():
        step = p.save_step(name)
        assert c.save_position[sid] == (-1 if step is None else _names(p.save_steps).index(name))
        if step is not None:
            assert c.gate_names[c.save_gate[sid]] == step.gate
    assert tuple(c.reset_method_names[i] for i in c.reset_order) == p.reset_methods
    assert c.switches.shape == (len(V.SWITCHES),)
    for sw in V.SWITCHES:
        code = c.switch(sw.name)
        assert code == c.switches[V.SWITCH_IDS[sw.name]]
        value = p.switch(sw.name)
        if sw.kind == "list":
            assert sw.decode(code) == tuple(v for v in sw.value_names if v in value)
        else:
            assert sw.decode(code) == value


def test_compiled_values_are_the_documented_encoding():
    c = load_policy(f"{BASE}+msix-restore-enable-memory").compile()
    assert c.switch("msix_restore.force_memory") == 1          # index of "always"
    assert c.switch("restore.gate_on_state_saved") == 0
    assert c.switch("qemu.pre_reset_clears") == 0b1111
    assert c.switch("reset.methods") == 0b111
    assert list(c.reset_order) == [0, 1, 2]
    assert list(c.restore_order) == list(range(16))
    assert c.restore_source[V.RESTORE_STEP_IDS["acs"]] == V.SOURCE_IDS["hardware"]
    assert c.save_gate[V.SAVE_STEP_IDS["tph"]] == V.GATE_IDS["live_flag"]


# --- what each overlay changes ----------------------------------------------------------------

def _changes(spec: str) -> dict:
    base, p = load_policy(BASE), load_policy(spec)
    out = {k: v for k, v in p.switches.items() if base.switches[k] != v}
    if p.restore_steps != base.restore_steps:
        out["restore"] = p.restore_steps
    if p.save_steps != base.save_steps:
        out["save"] = p.save_steps
    return out


@pytest.mark.parametrize("overlay,expected", [
    ("msix-restore-enable-memory", {"msix_restore.force_memory": "always"}),
    ("vfio-reset-done-v18", {"vfio.reset_done": "load_open_blob_and_restore"}),
    ("skip-save-if-inaccessible", {"reset.save_and_disable_inaccessible": "skip"}),
    ("fail-flr-if-inaccessible", {"reset.flr_inaccessible": "enotty"}),
    ("pre-a2f1e22390ac", {"restore.gate_on_state_saved": True, "save.enumeration_save": False}),
    ("no-bar-snapshot-update", {"resources.bar_assignment_updates_snapshot": False}),
])
def test_overlay_changes_exactly_what_it_says(overlay, expected):
    spec = f"{BASE}+{overlay}"
    assert _changes(spec) == expected
    p = load_policy(spec)
    assert p.parts == (BASE, overlay)
    info = p.part_info[1]
    assert info.kind == "overlay" and info.name == overlay and info.reference and info.description
    for key in expected:
        assert p.origin(key) == overlay
        assert f"[{overlay}]" in next(line for line in p.describe().splitlines() if line.strip().startswith(key))


def test_overlay_commits():
    commits = {o: load_policy(f"{BASE}+{o}").part_info[1].commit for o in OVERLAYS}
    assert commits == {"msix-restore-enable-memory": "231c7a57d193", "vfio-reset-done-v18": "",
                       "skip-save-if-inaccessible": "e18d1abc3bff", "fail-flr-if-inaccessible": "ad05c16b290b",
                       "pre-a2f1e22390ac": "a2f1e22390ac", "no-bar-snapshot-update": "909f7bf9b080",
                       "vfio-tph": "", "linux-6.12": ""}


def test_all_overlays_compose_into_the_union_of_their_changes():
    union: dict = {}
    for o in OVERLAYS:
        union.update(_changes(f"{BASE}+{o}"))
    assert _changes(f"{BASE}+" + "+".join(OVERLAYS)) == union


def test_later_overlay_wins(tmp_path):
    a = _overlay(tmp_path, '[msix_restore]\nforce_memory = "when_writing_messages"  # v19\n', "v19")
    p = load_policy(f"{BASE}+msix-restore-enable-memory+{a}")
    assert p.switch("msix_restore.force_memory") == "when_writing_messages" and p.origin(
        "msix_restore.force_memory") == "v19"
    p = load_policy(f"{BASE}+{a}+msix-restore-enable-memory")
    assert p.switch("msix_restore.force_memory") == "always"


def test_docs_example_gates_ptm_on_its_live_flag():
    p = load_policy(f"{BASE}+{EXAMPLE}")
    assert p.parts == (BASE, "ptm-restore-gated")
    assert p.restore_step("ptm").gate == "live_flag" and p.restore_step("ptm").source == "snapshot"
    assert p.save_step("ptm").gate == "live_flag"
    assert _changes(f"{BASE}+{EXAMPLE}").keys() == {"restore", "save"}
    base = load_policy(BASE)
    assert [s for s in p.restore_steps if s.name != "ptm"] == [s for s in base.restore_steps if s.name != "ptm"]
    c = p.compile()
    assert c.restore_gate[V.RESTORE_STEP_IDS["ptm"]] == V.GATE_IDS["live_flag"]
    assert c.save_gate[V.SAVE_STEP_IDS["ptm"]] == V.GATE_IDS["live_flag"]
    assert "ptm-restore-gated" in next(l for l in p.describe().splitlines() if "pci_restore_ptm_state" in l)


# --- order edits ------------------------------------------------------------------------------

def test_remove_insert_move_restore_steps(tmp_path):
    rm = _overlay(tmp_path, '[restore]\nremove = ["ptm"]\n', "rm")
    p = load_policy(f"{BASE}+{rm}")
    assert _names(p.restore_steps) == tuple(s for s in V71_RESTORE if s != "ptm")
    assert p.compile().restore_position[V.RESTORE_STEP_IDS["ptm"]] == -1
    assert p.origin("restore.steps") == "rm"

    ins = _overlay(tmp_path, '[restore]\ninsert = [{ step = "ptm", after = "tph" }]\n', "ins")
    p = load_policy(f"{BASE}+{rm}+{ins}")
    order = list(V71_RESTORE)
    order.remove("ptm")
    order.insert(order.index("tph") + 1, "ptm")
    assert _names(p.restore_steps) == tuple(order)
    assert p.restore_step("ptm").gate == "always"          # settings survive remove + insert

    mv = _overlay(tmp_path, '[restore]\nmove = [{ step = "msi", before = "config_space" }]\n', "mv")
    p = load_policy(f"{BASE}+{mv}")
    names = _names(p.restore_steps)
    assert names.index("msi") + 1 == names.index("config_space") and len(names) == 16
    assert names[-2:] == ("acs", "iov")


def test_edits_apply_in_documented_order_and_settings_follow(tmp_path):
    body = ('[restore]\nremove = ["tph", "ptm"]\n'
            'insert = [\n    { step = "ptm", before = "pcie" },\n    { step = "tph", after = "ptm" },\n]\n'
            'move = [{ step = "iov", before = "pcie" }]\n\n'
            '[restore.step.tph]\nsource = "live"\ngate = "always"\n')
    p = load_policy(f"{BASE}+{_overlay(tmp_path, body)}")
    assert _names(p.restore_steps)[:5] == ("ptm", "tph", "iov", "pcie", "pasid")
    assert (p.restore_step("tph").source, p.restore_step("tph").gate) == ("live", "always")
    assert p.origin("restore.step.tph.source") == "t"


def test_save_edits_and_whole_order_replacement(tmp_path):
    body = ('[save]\nremove = ["tph"]\ninsert = [{ step = "tph", before = "config_space" }]\n'
            'move = [{ step = "vc", after = "config_space" }]\n\n[save.step]\nptm = { gate = "never" }\n')
    p = load_policy(f"{BASE}+{_overlay(tmp_path, body)}")
    assert _names(p.save_steps) == ("tph", "config_space", "vc", "pcie", "pcix", "dpc", "aer", "ptm")
    assert p.save_step("ptm").gate == "never" and p.save_step("tph").gate == "live_flag"

    body = '[restore]\nsteps = ["config_space", "msi"]\n\n[save]\nsteps = ["config_space"]\n'
    p = load_policy(f"{BASE}+{_overlay(tmp_path, body, 'short')}")
    assert _names(p.restore_steps) == ("config_space", "msi") and _names(p.save_steps) == ("config_space",)
    _check_compiled(p)


def test_switch_lists_and_inline_step_form(tmp_path):
    body = ('[reset]\nmethods = ["bus", "flr"]\n\n[qemu]\npre_reset_clears = ["memory", "bus_master"]\n\n'
            '[restore.step]\ntph = { source = "live" }\n')
    p = load_policy(f"{BASE}+{_overlay(tmp_path, body)}")
    assert p.reset_methods == ("bus", "flr") and list(p.compile().reset_order) == [2, 0]
    assert p.switch("qemu.pre_reset_clears") == ("memory", "bus_master")
    assert p.compile().switch("qemu.pre_reset_clears") == 0b0110
    assert p.restore_step("tph").source == "live" and p.restore_step("tph").gate == "live_flag"
    p = load_policy(f"{BASE}+{_overlay(tmp_path, '[reset]' + chr(10) + 'methods = []' + chr(10), 'none')}")
    assert p.reset_methods == () and p.compile().reset_order.shape == (0,)


def test_switch_lookup_of_unknown_name_is_a_policy_error():
    with pytest.raises(PolicyError, match="no switch 'msix.force'"):
        load_policy(BASE).switch("msix.force")


# --- errors with file and line ----------------------------------------------------------------

def test_error_unknown_key(tmp_path):
    path = _overlay(tmp_path, '[msix_restore]\nforce_memroy = "always"\n')
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "force_memroy"), "unknown key 'force_memroy'",
                  "force_memory")


def test_error_unknown_table(tmp_path):
    path = _overlay(tmp_path, '[msix]\nforce_memory = "always"\n')
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "[msix]"), "unknown key 'msix'", "msix_restore")


def test_error_unknown_key_in_step_table(tmp_path):
    path = _overlay(tmp_path, '[restore.step.tph]\nsorce = "live"\n')
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "sorce"), "unknown key 'sorce'")
    path = _overlay(tmp_path, '[restore.step]\ntph = { gate = "always", sorce = "live" }\n', "inline")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "sorce"), "unknown key 'sorce'")


def test_error_unknown_step(tmp_path):
    path = _overlay(tmp_path, '[restore]\nremove = ["ptmx"]\n')
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "ptmx"), 'unknown restore step "ptmx"', "ptm")
    path = _overlay(tmp_path, '[save]\ninsert = [{ step = "msi", after = "vc" }]\n', "save")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, '"msi"'), 'unknown save step "msi"')
    path = _overlay(tmp_path, '\n[restore.step.bogus]\ngate = "never"\n', "tbl")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "[restore.step.bogus]"), 'unknown restore step "bogus"')
    base = _baseline_copy(tmp_path, '    "acs",', '    "acss",')
    _expect_error(str(base), base, _line_of(base, '"acss"'), 'unknown restore step "acss"')


def test_error_bad_value(tmp_path):
    path = _overlay(tmp_path, '[msix_restore]\nforce_memory = "sometimes"\n')
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "sometimes"), '"sometimes" is not allowed',
                  '"when_writing_messages"')
    path = _overlay(tmp_path, '[restore.step.ptm]\ngate = "live-flag"\n', "gate")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "live-flag"), 'gate = "live-flag"',
                  "live_flag, never", "ptm_enable_cnt > 0")
    path = _overlay(tmp_path, '[restore.step.pcie]\nsource = "live"\n', "src")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, 'source = "live"'), "supported: snapshot")
    path = _overlay(tmp_path, '[qemu]\npre_reset_clears = [\n    "memory",\n    "serr",\n]\n', "list")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, '"serr"'), '"serr" is not allowed')


def test_error_unmodelled_reset_method(tmp_path):
    path = _overlay(tmp_path, '[reset]\nmethods = ["acpi", "flr"]\n')
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "acpi"), '"acpi" is not modelled', '"flr", "pm"')


def test_error_wrong_type(tmp_path):
    path = _overlay(tmp_path, '[restore]\ngate_on_state_saved = "yes"\n')
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "gate_on_state_saved"), "must be bool", "'yes'")
    path = _overlay(tmp_path, '[restore]\nremove = "ptm"\n', "str")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "remove"), "must be list")
    path = _overlay(tmp_path, '[restore]\ninsert = ["ptm"]\n', "entry")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "insert"), "each entry is a table")
    path = _overlay(tmp_path, '[reset]\nmethods = ["flr", 3]\n', "elem")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "methods"), "list of strings")
    path = _overlay(tmp_path, '[restore.step]\ntph = "always"\n', "steptbl")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "tph ="), "must be a table")
    path = _overlay(tmp_path, '[restore]\nsteps = ["pcie", 5]\n', "steplist")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "steps ="), "step names are strings")


def test_error_duplicate_step(tmp_path):
    path = _overlay(tmp_path, '[restore]\ninsert = [{ step = "msi", before = "pcie" }]\n')
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "insert"), '"msi" is already in', "use move")
    base = _baseline_copy(tmp_path, '    "pcix",', '    "pcix",\n    "dpc",')
    _expect_error(str(base), base, _line_of(base, '"dpc"', occurrence=2), '"dpc" is listed twice')
    path = _overlay(tmp_path, '[qemu]\npre_reset_clears = ["io", "io"]\n', "dup")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "pre_reset_clears"), '"io" is listed twice')


def test_error_edits_that_do_not_apply(tmp_path):
    path = _overlay(tmp_path, '[restore]\nremove = ["ptm"]\n\n[restore.step.ptm]\ngate = "never"\n')
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "[restore.step.ptm]"), "not in the pci_restore_state order")
    path = _overlay(tmp_path, '[restore]\nremove = ["ptm", "ptm"]\n', "twice")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "remove"), "not in the pci_restore_state order")
    path = _overlay(tmp_path, '[restore]\nremove = ["tph"]\nmove = [{ step = "msi", after = "tph" }]\n', "anchor")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "move = [{"), 'after = "tph", which is not in')
    path = _overlay(tmp_path, '[restore]\nmove = [{ step = "msi", before = "pcie", after = "acs" }]\n', "both")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "move"), "exactly one of before/after")
    path = _overlay(tmp_path, '[restore]\nmove = [{ step = "msi", before = "msi" }]\n', "self")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "move"), "before itself")
    path = _overlay(tmp_path, '[save]\nmove = [{ step = "tph", where = "vc" }]\n', "where")
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "move"), "unknown key 'where'")


def test_error_overlay_as_base(tmp_path):
    path = BUILTIN_DIR / "msix-restore-enable-memory.toml"
    _expect_error("msix-restore-enable-memory", path, _line_of(path, "[overlay]"), "is an overlay",
                  "must be a baseline")
    own = _overlay(tmp_path, '[vfio]\nreset_done = "none"\n')
    _expect_error(f"{own}+msix-restore-enable-memory", own, _line_of(own, "[overlay]"), "is an overlay")


def test_error_baseline_as_overlay(tmp_path):
    _expect_error(f"{BASE}+{BASE}", BASE_FILE, _line_of(BASE_FILE, "[policy]"), "is a baseline")


def test_error_unknown_policy_name():
    with pytest.raises(PolicyError) as info:
        load_policy(f"{BASE}+msix-fix")
    err = info.value
    assert err.part == "msix-fix" and err.spec == f"{BASE}+msix-fix"
    assert "unknown policy 'msix-fix'" in str(err) and "msix-restore-enable-memory" in str(err)
    assert isinstance(err, ValueError)
    with pytest.raises(PolicyError, match="part 'linux-6.1'"):
        load_policy("linux-6.1")


@pytest.mark.parametrize("spec,fragment", [
    ("", "empty policy spec"),
    (f"{BASE}+", "empty part"),
    (f"{BASE}++msix-restore-enable-memory", "empty part"),
    (f"{BASE}+msix-restore-enable-memory+msix-restore-enable-memory", "applied twice"),
    (f"{BASE}+/nonexistent/x.toml", "/nonexistent/x.toml: no such file or directory"),
    (f"{BASE}+../etc/passwd", "../etc/passwd: no such file or directory"),
])
def test_spec_errors(spec, fragment):
    with pytest.raises(PolicyError, match=re.escape(fragment)):
        load_policy(spec)


def test_error_baseline_missing_switch_and_steps(tmp_path):
    base = _baseline_copy(tmp_path, 'force_memory = "off"', "")
    _expect_error(str(base), base, _line_of(base, "[msix_restore]"), "[msix_restore] force_memory is missing")
    base = _baseline_copy(tmp_path, 'steps = ["config_space"', 'xsteps = ["config_space"')
    _expect_error(str(base), base, _line_of(base, "xsteps"), "unknown key 'xsteps'")


def test_error_edit_in_baseline(tmp_path):
    base = _baseline_copy(tmp_path, "gate_on_state_saved = false", 'remove = ["ptm"]')
    _expect_error(str(base), base, _line_of(base, "remove ="), "belongs in an overlay")


def test_error_headers(tmp_path):
    path = _overlay(tmp_path, '[overlay]\nname = "x"\ndescription = ""\ncommit = ""\n', header=False)
    _expect_error(f"{BASE}+{path}", path, _line_of(path, "[overlay]"), "missing key 'reference'")
    path = _overlay(tmp_path, '[vfio]\nreset_done = "none"\n', "headless", header=False)
    _expect_error(f"{BASE}+{path}", path, 1, "not a policy file")
    path = _overlay(tmp_path, '[policy]\nkind = "overlay"\nname = "x"\ndescription = ""\n', "kind", header=False)
    _expect_error(str(path), path, _line_of(path, "kind"), 'the only kind is "baseline"')
    path = _overlay(tmp_path, '[vfio]\nreset_done = "none"\n[vfio]\n', "bad")
    err = _expect_error(f"{BASE}+{path}", path, _line_of(path, "[vfio]", occurrence=2), "not valid TOML")
    assert err.line > 1


def test_errors_are_value_errors_never_key_errors(tmp_path):
    bodies = ['[restore]\ninsert = [{ before = "pcie" }]\n', '[restore]\nmove = [{ step = 3, before = "pcie" }]\n',
              "[restore.step]\ntph = 3\n", "[restore]\nstep = 3\n", "restore = 3\n", '[save.step.tph]\nsource = "live"\n',
              '[reset]\nmethods = [["flr"]]\n', "[restore]\nsteps = [[1]]\n", "[restore]\nremove = [{}]\n"]
    for i, body in enumerate(bodies):
        path = _overlay(tmp_path, body, f"e{i}")
        with pytest.raises(TomlError) as info:
            load_policy(f"{BASE}+{path}")
        assert info.value.path == str(path) and info.value.line >= 1, body


# --- docs -------------------------------------------------------------------------------------

def test_docs_embed_the_current_vocabulary():
    text = DOCS.read_text()
    embedded = text.split("<!-- vocabulary:begin -->\n", 1)[1].split("<!-- vocabulary:end -->", 1)[0]
    assert embedded == V.markdown_tables()


def test_docs_name_every_shipped_policy_and_the_example():
    text = DOCS.read_text()
    for name in [BASE, *OVERLAYS, "ptm-restore-gated"]:
        assert f"`{name}`" in text or name in text, name
    assert EXAMPLE.read_text().split("[overlay]", 1)[1] in text    # the example is quoted in full


def test_docs_snippets_load(tmp_path):
    """Every ```toml block of the docs that is an overlay body (no [policy]/[overlay]) applies."""
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(), re.S)
    bodies = [b for b in blocks if "[policy]" not in b and "[overlay]" not in b]
    assert len(bodies) >= 4
    for i, body in enumerate(bodies):
        load_policy(f"{BASE}+{_overlay(tmp_path, body, f'snippet{i}')}")


def test_a_policy_file_rewritten_loads_anew(tmp_path):
    """load_policy keeps what it loaded, by the bytes of each file: an overlay rewritten at once
    (the same size, within one timestamp tick) gives the new policy; an unchanged one the same
    object."""
    a = _overlay(tmp_path, '[msix_restore]\nforce_memory = "always"\n', "w")
    first = load_policy(f"{BASE}+{a}")
    assert load_policy(f"{BASE}+{a}") is first
    assert first.switch("msix_restore.force_memory") == "always"
    _overlay(tmp_path, '[msix_restore]\nforce_memory = "off"   \n', "w")
    again = load_policy(f"{BASE}+{a}")
    assert again.switch("msix_restore.force_memory") == "off"
