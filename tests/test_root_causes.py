"""Root causes, tiers and known findings (fuzzcore/triage/root_cause.py, tiers.py, report.py)."""

import json
import tomllib

import pytest

from fuzzcore.campaign.findings_store import FindingsStore
from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.program.codec import encode
from fuzzcore.program.fzs import parse_program
from fuzzcore.triage import tiers
from fuzzcore.triage.root_cause import assess_findings, derive, derive_all, group_findings
from profiles import I350_TPH

I350 = resolve_device(I350_TPH)     # the I350 below a root port that lets it enable TPH
BASE = load_policy("linux-7.1")

# An all-ones snapshot: config stops answering, then a sysfs reset saves it and restores it.
# The function stops answering; the bus reset saves all-ones, brings it back, and writes them.
ALL_ONES = "vfio_open()\nhw_inaccessible()\nvfio_hot_reset()\n"
# H1(a): a vfio user turns Memory off and resets; the MSI-X restore writes the table (kernel.md §9).
H1A = ("vfio_open()\nvfio_config_write(offset=0x04, width=2, value=0x06)\nvfio_set_irqs(index=msix, count=2)\n"
       "vfio_config_write(offset=0x04, width=2, value=0x04)\nvfio_device_reset()\n")
# H2: a host driver enables TPH after the last save and restores (the TPH buffer was never filled).
TPH = "pci_bind_driver(driver=host)\npci_enable_tph(mode=no_st)\npci_restore_state()\n"
# H11: recovery of a vfio-pci device resets it and restores nothing.
RECOVERY = "pcie_do_recovery(channel=frozen, vote=need_reset, source=dpc)\n"


def provs(text, policy=BASE):
    return derive_all(I350, policy, parse_program(text))


def test_buckets_of_one_snapshot_share_one_root_cause():
    """Command and both BARs restored from the same all-ones save are three buckets, one root cause
    keyed by where the value came from: the save in pci_dev_save_and_disable."""
    ps = [p for p in provs(ALL_ONES) if p.invariant == "restore_all_ones"]
    assert {p.register for p in ps} >= {"Command", "BAR0"}
    assert {p.key for p in ps} == {"restore_all_ones @ pci_dev_save_and_disable [config header]"}
    p = ps[0]
    assert p.origin_kind == "save" and p.origin_op_index == 2
    assert "read all-ones" in p.detail and p.actor_path == "vfio"
    assert p.hw_ops == [1]


def test_provenance_names_the_access_and_the_missing_save():
    h1 = next(p for p in provs(H1A) if p.invariant == "mmio_decode_off")
    assert h1.key == "mmio_decode_off @ __pci_restore_msix_state [MSI-X table, Memory off]"
    assert "Command.Memory cleared" in h1.detail
    tph = next(p for p in provs(TPH) if p.invariant == "restore_unsaved_buffer")
    assert tph.key == "restore_unsaved_buffer @ no save [TPH]"
    assert tph.origin_kind == "missing save" and tph.actor_path == "host"
    assert tph.restored_by == "pci_restore_state (driver)"


def test_a_bucket_the_model_does_not_reproduce_is_marked():
    p = derive(I350, BASE, parse_program(TPH), ("snapshot_all_ones", "pci_restore_state", "config"))
    assert not p.reproduced and p.origin == "not reproduced"


def _assess(text, bucket_invariant, policy="linux-7.1"):
    calls = parse_program(text)
    p = next(p for p in derive_all(I350, load_policy(policy), calls) if p.invariant == bucket_invariant)
    return p, tiers.assess(I350, policy, p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                           [(calls, p.bucket_tuple)])


def test_a_fix_that_only_moves_the_harm_is_not_fixed_by():
    """An unannounced link loss clears Command and the BARs; the bus reset's save and restore keep
    them, and __pci_restore_msix_state writes the table with Memory off. Under
    +msix-restore-enable-memory the same write still happens, now to a BAR that moved: the harm
    stayed at the same op, so the overlay does not fix this root cause."""
    text = ("pci_bind_driver(driver=host)\nhw_link_down()\npci_enable_msix(nvec=2)\npci_reset_bus()\n"
            "pci_restore_state()\n")
    calls = parse_program(text)
    key = "mmio_decode_off @ __pci_restore_msix_state [MSI-X table, Memory off]"
    p = next(p for p in derive_all(I350, load_policy("linux-7.1"), calls) if p.key == key)
    v = tiers.assess(I350, "linux-7.1", p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                     [(calls, p.bucket_tuple)])
    assert v.tier == "environmental"       # not fixed-by msix-restore-enable-memory
    under = derive_all(I350, load_policy("linux-7.1+msix-restore-enable-memory"), parse_program(text))
    assert not [q for q in under if q.key == p.key]
    assert [q for q in under if q.invariant == "mmio_decode_off" and q.op_index == p.op_index]


def test_fix_overlays_tag_fixed_by():
    _, v = _assess(H1A, "mmio_decode_off")
    assert v.tier == "fixed-by" and v.fixed_by == ["msix-restore-enable-memory"]
    assert v.label == "fixed-by msix-restore-enable-memory" and "231c7a57d193" in v.reason
    _, v = _assess(ALL_ONES, "restore_all_ones")
    assert v.tier == "fixed-by" and "skip-save-if-inaccessible" in v.fixed_by
    # a fix already in the policy is not tried again: a driver's own save of an all-ones device
    # is fixed by none of them
    drv = "hw_inaccessible()\npci_bind_driver(driver=host)\npci_save_state()\n"
    all_fixes = "linux-7.1+msix-restore-enable-memory+skip-save-if-inaccessible+fail-flr-if-inaccessible"
    assert tiers.fix_overlays(all_fixes) == []
    _, v = _assess(drv, "snapshot_all_ones", all_fixes)
    assert v.tier != "fixed-by"


def test_environmental_is_decided_by_whether_the_reproducer_needs_the_event():
    # a driver's snapshot of a device that reads all-ones needs config space to stop answering
    calls = parse_program("hw_inaccessible()\npci_bind_driver(driver=host)\npci_save_state()\n")
    p = next(p for p in derive_all(I350, BASE, calls) if p.invariant == "snapshot_all_ones")
    v = tiers.assess(I350, "linux-7.1", p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                     [(calls, p.bucket_tuple)])
    assert v.tier == "environmental" and "hw_inaccessible" in v.reason
    # a hw op that the violation does not need does not make it environmental
    p, v = _assess("hw_link_down()\n" + TPH, "restore_unsaved_buffer")
    assert v.tier == "hazard"


def test_a_state_the_hw_ops_only_move_to_another_op_is_not_environmental():
    """intent_mismatch's root cause is named after the op where it was first compared. Two failed
    recoveries (no error handler) leave the function reset and a runtime suspend saves it; the
    driver's sriov_enable sets VF Enable without writing the VF BARs and the next restore skips
    them. The hw ops only delay the compare to `config answers again`: without them the same
    VF BAR mismatch is compared at the recovery, so the root cause is a hazard (audit R #4)."""
    core = ("pm_system_sleep(transition=deep, power=lost)\npci_bind_driver(driver=host)\npci_pm_runtime_suspend()\n"
            "pcie_do_recovery(channel=frozen, vote=no_aer_driver, source=dpc)\n"
            "pcie_do_recovery(channel=frozen, vote=no_aer_driver, source=aer)\n"
            "pci_enable_sriov(num_vfs=0)\npci_pm_runtime_resume()\n")
    i350 = resolve_device("i350")
    text = core + "hw_inaccessible()\npcie_do_recovery(channel=normal, vote=no_aer_driver, source=aer)\nhw_accessible()\n"
    calls = parse_program(text)
    p = next(p for p in derive_all(i350, BASE, calls)
             if p.invariant == "intent_mismatch" and p.register == "SR-IOV VF BAR3")
    assert p.origin == "config answers again"
    v = tiers.assess(i350, "linux-7.1", p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                     [(calls, p.bucket_tuple)])
    assert v.tier == "hazard", v
    # the same program with the event kept in but the mismatch not reachable without it stays
    # environmental: a lost write of the host driver's MSI disable
    p, v = _assess("pci_bind_driver(driver=host)\npci_enable_msi()\nhw_inaccessible()\npci_disable_msi()\n"
                   "hw_accessible()\n", "intent_mismatch")
    assert v.tier == "environmental", v


def test_by_design_entries_cite_upstream():
    _, v = _assess("vfio_open()\n" + RECOVERY, "used_without_restore")
    assert v.tier == "by-design" and v.rule == "vfio-no-slot-reset"
    assert "report_slot_reset" in v.upstream
    # closed (and runtime-suspended): no user to signal, nobody restores it (audit S #4)
    _, closed = _assess(RECOVERY, "used_without_restore")
    assert closed.tier == "hazard", closed
    for entry in tiers.rules()["by_design"] + tiers.rules().get("model_gap", []):
        assert entry["upstream"] and entry["reason"] and entry["id"], entry
        assert "(" in entry["upstream"], f"{entry['id']}: cite the upstream file"
    for inv, h in tiers.rules()["hazard"].items():
        assert h["upstream"] and h["reason"], inv


def test_hazard_needs_kernel_visible_events_only():
    p, v = _assess(TPH, "restore_unsaved_buffer")
    assert v.tier == "hazard" and "tph_enabled" in v.reason
    assert not p.hw_ops


def test_every_invariant_has_a_severity_and_a_hazard_entry():
    from fuzzcore.model.invariants import INVARIANTS
    for inv in INVARIANTS:
        assert tiers.severity(inv.name)[1] != "other", inv.name
        assert inv.name in tiers.rules()["hazard"], inv.name


def test_findings_store_records_the_root_cause_and_show_groups_by_it(tmp_path):
    store = FindingsStore(tmp_path, I350_TPH, "linux-7.1", "reference")
    for text in (ALL_ONES, TPH, "hw_inaccessible()\npci_reset_bus()\n"):
        calls = parse_program(text)
        for v in Model(I350, BASE).run(calls).violations:
            store.record(encode(calls), v)
    store.maybe_flush(force=True)
    metas = {m.parent.name: json.loads(m.read_text()) for m in tmp_path.glob("*/meta.json")}
    assert all(m["root_cause"]["key"] for m in metas.values())
    rcs = group_findings(tmp_path)
    by_key = {r.key: r for r in rcs}
    family = by_key["restore_all_ones @ pci_dev_save_and_disable [config header]"]
    # reached from two resets (two op paths), three registers: six buckets, one root cause
    assert family.paths >= 4 and {m.split("--")[1] for m in family.members} == {"vfio_hot_reset", "pci_reset_bus"}
    assert family.shortest_ops == 2
    assessed = {r.key: r for r in assess_findings(tmp_path)}
    assert assessed["restore_unsaved_buffer @ no save [TPH]"].verdict.tier == "hazard"
    assert sum(r.paths for r in assessed.values()) == len(metas)


def test_known_findings_list_for_the_baseline_is_reviewed():
    path = tiers.known_path("linux-7.1+vfio-reset-done-v18")
    assert path.name == "linux-7.1.toml" and path.is_file()
    data = tomllib.loads(path.read_text())
    entries = data["root_cause"]
    assert entries and len({e["key"] for e in entries}) == len(entries)
    for e in entries:
        assert e["tier"].split()[0] in tiers.TIER_ORDER and e["reason"], e
    known = tiers.known_root_causes("linux-7.1")
    for text, inv in ((ALL_ONES, "restore_all_ones"), (TPH, "restore_unsaved_buffer"), (H1A, "mmio_decode_off"),
                      (RECOVERY, "used_without_restore")):
        key = next(p.key for p in provs(text) if p.invariant == inv)
        assert key in known, key
    assert tiers.known_root_causes("nonesuch-baseline") is None


@pytest.mark.parametrize("edit, where, says", [
    (('needs = ["hw_inaccessible"]\n', ""), "[[root_cause_class]]", "missing key 'needs'"),
    (('invariant = "intent_mismatch"', 'invariant = "intent_mismach"'), 'invariant = "intent_mismach"',
     "is not an invariant"),
    (('needs = ["hw_inaccessible"]', 'needs = ["hw_gone"]'), 'needs = ["hw_gone"]', "hw_gone"),
    (('tier = "by-design"', 'tier = "bydesign"'), 'tier = "bydesign"', "is none of"),
    (('tier = "by-design"', 'tier = "by-design"\nteir = "hazard"'), 'teir = "hazard"', "unknown key 'teir'"),
])
def test_a_malformed_reviewed_list_is_a_located_error(tmp_path, monkeypatch, edit, where, says):
    """A hand-edited entry that would match nothing (or everything) fails with file:line, in the
    campaign's checks before any run as in show."""
    from fuzzcore.util.text_input import InputError
    text = tiers.known_path("linux-7.1").read_text()
    old, new = edit
    assert old in text
    text = text.replace(old, new, 1)
    (tmp_path / "linux-7.1.toml").write_text(text)
    monkeypatch.setenv(tiers.KNOWN_DIR_ENV, str(tmp_path))
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith(where))
    with pytest.raises(InputError) as e:
        tiers.known_root_causes("linux-7.1")
    assert f"linux-7.1.toml:{line}:" in str(e.value) and says in str(e.value)


def test_a_key_listed_twice_is_a_located_error(tmp_path, monkeypatch):
    from fuzzcore.util.text_input import InputError
    text = tiers.known_path("linux-7.1").read_text()
    key = tomllib.loads(text)["root_cause"][0]["key"]
    text += f'\n[[root_cause]]\nkey = "{key}"\ntier = "hazard"\nreason = "again"\n'
    (tmp_path / "linux-7.1.toml").write_text(text)
    monkeypatch.setenv(tiers.KNOWN_DIR_ENV, str(tmp_path))
    with pytest.raises(InputError, match=r"linux-7.1.toml:\d+: key .* is listed twice \(first at line \d+\)"):
        tiers.known_root_causes("linux-7.1")


# --- diff: by root cause and actor path, every verdict confirmed ------------------------------------

PLANTED = """\
[overlay]
name = "planted-keep-state-saved"
description = "planted regression: pci_pm_runtime_suspend no longer clears state_saved"
commit = ""
reference = "§1.4"

[pm]
runtime_suspend_clears_state_saved = false
"""
# The same root cause (a restore of a snapshot the driver took of a device whose BARs were lost)
# on the host-driver path under both policies, and on the vfio-pci path only under the plant: an
# idle vfio-pci device's runtime suspend no longer re-saves, so the driver's stale snapshot returns.
HOST_PATH = "pci_bind_driver(driver=host)\nhw_link_down()\npci_save_state()\npci_restore_state()\n"
VFIO_PATH = ("pci_bind_driver(driver=host)\nhw_link_down()\npci_save_state()\npci_bind_driver(driver=vfio)\n"
             "pci_pm_runtime_resume()\n")
KEY = "snapshot_bar_stale @ pci_save_state (driver) [config header]"


def test_diff_reports_a_regression_visible_on_one_actor_path_only(tmp_path):
    from fuzzcore.explore.diff import run_diff, to_json
    overlay = tmp_path / "planted.toml"
    overlay.write_text(PLANTED)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "host.fzs").write_text(HOST_PATH)
    (corpus / "vfio.fzs").write_text(VFIO_PATH)
    # the corpus alone (max_time=0): a random search may find a shorter program for the same bucket
    # whose root cause is another, so the table would not be a function of the corpus
    r = run_diff(I350, I350_TPH, "linux-7.1", f"linux-7.1+{overlay}", str(corpus), max_time=0, seed=3, tries=500)
    rows = {(x.key, x.actor): x for x in r.root_causes}
    assert rows[(KEY, "host")].verdict == "unchanged"
    intro = rows[(KEY, "vfio")]
    assert intro.verdict == "introduced" and intro.confirmed, intro.note
    assert "replayed under base" in intro.note and "neighbours" in intro.note
    assert intro.found_at is not None and intro.program
    # keyed by (invariant, op, register) the same symptom is in both: the old diff's blind spot
    bucket = ("snapshot_bar_stale", "pci_pm_runtime_resume", "BAR0")
    assert (bucket, "vfio") in r.seen_base and (bucket, "vfio") in r.seen_patched
    report = json.loads(to_json(r))
    assert any(x["root_cause"] == KEY and x["actor_path"] == "vfio" and x["confirmed"] for x in report["introduced"])
    assert report["inputs"]["corpus"] == 2 and report["engine"] in ("native", "reference")


def test_diff_marks_a_verdict_the_other_policy_refutes(tmp_path):
    """A 'fixed' verdict whose reproducer the patched side reaches from a neighbour is unconfirmed."""
    from fuzzcore.explore.diff import PairRunner, neighbourhood
    base, patched = load_policy("linux-7.1"), load_policy("linux-7.1")
    runner = PairRunner(I350, base, patched)
    calls = parse_program(TPH)
    p = next(p for p in derive_all(I350, base, calls) if p.invariant == "restore_unsaved_buffer")
    # under the same policy the neighbourhood search finds the root cause at once (the program itself
    # or a neighbour): a verdict that another policy run would refute is refuted
    hit = neighbourhood(runner, "patched", calls, {(p.bucket_tuple, "host")}, 200, 1, p.key, "host", patched)
    assert hit is not None


def test_diff_search_runs_on_the_native_engine():
    pytest.importorskip("fuzzcore.engine._restore")
    from fuzzcore.explore.diff import PairRunner
    runner = PairRunner(I350, BASE, load_policy("linux-7.1+vfio-reset-done-v18"))
    assert runner.engine == "native"
    b, p = runner.keys(parse_program("vfio_open()\nvfio_device_reset()\n"))
    assert all(actor in ("host", "vfio", "none") for _, actor in b | p)


# --- campaigns: known or new -------------------------------------------------------------------------

def _fuzz(out, *args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", str(out), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_campaign_with_only_known_root_causes_exits_0(tmp_path):
    """Review a campaign's root causes into a list (scripts/draft_known_findings.py), then resume it
    with that list: nothing new, exit 0. (Independent of how the models evolve: the shipped list
    is checked against the canonical programs above.)"""
    import os
    import subprocess
    import sys
    from pathlib import Path
    out = tmp_path / "c"
    first = _fuzz(out, "--max-time", 4, "--seed", 1)
    assert first.returncode == 0, first.stderr[-3000:]
    known = tmp_path / "known"
    known.mkdir()
    script = Path(__file__).resolve().parents[1] / "scripts" / "draft_known_findings.py"
    draft = subprocess.run([sys.executable, str(script), "--policy", "linux-7.1", str(out / "findings")],
                           capture_output=True, text=True, timeout=600)
    assert draft.returncode == 0, draft.stderr
    (known / "linux-7.1.toml").write_text(draft.stdout)
    assert tomllib.loads(draft.stdout)["root_cause"]
    env = dict(os.environ, FUZZCORE_KNOWN_DIR=str(known))
    r = subprocess.run([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", str(out), "--runs", "0",
                        "--max-time", "20"], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "no new root causes" in r.stderr and "known" in r.stderr


def test_campaign_with_a_new_root_cause_says_so_and_exits_1_with_fail_on_new(tmp_path):
    # v18's reset_done restores the open-time blob (H3): a root cause linux-7.1's list does not know
    r = _fuzz(tmp_path / "c", "--policy", "linux-7.1+vfio-reset-done-v18", "--max-time", 5, "--seed", 1,
              "--fail-on-new")
    assert r.returncode == 1, r.stderr[-3000:]
    assert "new root cause(s)" in r.stderr and "NEW" in r.stderr
    # the same campaign resumed without --fail-on-new names them and exits 0 (it ran)
    r = _fuzz(tmp_path / "c", "--policy", "linux-7.1+vfio-reset-done-v18", "--runs", 0, "--max-time", 5)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "new root cause(s)" in r.stderr and "NEW" in r.stderr
    assert "restore_older_snapshot @ vfio_pci_core_aer_reset_done [config header]" in r.stderr


def test_a_store_that_reaches_a_known_key_only_through_an_outside_event_shows_it_environmental(tmp_path):
    """The reviewed list has intent_mismatch @ reset_store [TPH] as a hazard (a driver's own D3cold,
    then a sysfs reset). A store whose only reproducer needs hw_link_down shows it environmental,
    with the reviewed tier under it; a store with a reviewed tier it cannot overrule keeps that."""
    text = ("pci_bind_driver(driver=host)\npci_enable_tph(mode=no_st)\nhw_link_down()\n"
            "pci_reset_function(method=auto)\n")
    store = FindingsStore(tmp_path, I350_TPH, "linux-7.1", "reference")
    calls = parse_program(text)
    for v in Model(I350, BASE).run(calls).violations:
        if v.invariant == "intent_mismatch" and v.register == "TPH":
            store.record(encode(calls), v)
    store.maybe_flush(force=True)
    (rc,) = [r for r in assess_findings(tmp_path) if r.key == "intent_mismatch @ reset_store [TPH]"]
    assert rc.known and rc.reviewed_tier == "hazard"
    assert rc.verdict.tier == "environmental" and rc.verdict.rule == "environmental"
    assert rc.reviewed is not None and rc.reviewed.tier == "hazard" and rc.computed is None
    from fuzzcore.triage.report import known_summary, lines
    assert any("reviewed list, not borne out by these reproducers: hazard" in x for x in lines([rc]))
    assert "1 shown with the tier these reproducers give" in known_summary([rc], "linux-7.1")[0]


def test_a_d3_the_kernel_read_off_a_silent_function_is_not_the_driver_d3_contract():
    """pci_power_up reads PMCSR as all-ones from a function that stopped answering and records
    D3cold: a host driver bound then (after the function answers again) acts on a 'D3' device,
    but no driver put it there; the root cause is environmental (hw_inaccessible), not the
    by-design D3 contract that covers a driver keeping its own device in D3."""
    fiji = resolve_device("fiji")
    text = "hw_inaccessible()\npci_bind_driver(driver=host)\nhw_accessible()\npci_restore_state()\n"
    calls = parse_program(text)
    p = next(p for p in derive_all(fiji, load_policy("linux-7.1"), calls) if p.bucket_tuple[1] == "pci_restore_state")
    # the driver's restore runs with current_state D3cold (read off the silent function) while the
    # function answers again: the D3 contract's facts, but the D3 is the event's
    assert any(f[0] == "pci_restore_state" and f[1] == "host" and f[2] != 0 and f[4] for f in p.op_facts)
    v = tiers.assess(fiji, "linux-7.1", p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                     [(calls, p.bucket_tuple)])
    assert v.tier == "environmental", v


def test_vfio_recovery_is_left_to_the_user_only_while_a_user_has_it_open():
    """vfio-recovery-left-to-user excuses a recovery only when vfio-pci's user holds the device
    (vfio_pci_core_aer_err_detected signals its eventfd); a closed device has nobody to restore it,
    so the stale BARs its next open saves are a hazard (the reviewed list's own reading)."""
    key = "snapshot_bar_stale @ pci_dev_save_and_disable [config header]"
    closed = "pcie_do_recovery(channel=frozen, vote=can_recover, source=aer)\nvfio_open()\nvfio_device_reset()\n"
    calls = parse_program(closed)
    p = next((p for p in derive_all(I350, load_policy("linux-7.1"), calls) if p.key == key), None)
    assert p is not None
    v = tiers.assess(I350, "linux-7.1", p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                     [(calls, p.bucket_tuple)])
    assert v.tier == "hazard", v


def test_vfio_recovery_is_not_left_to_a_user_whose_device_sleeps_in_low_power():
    """needs_active: with the user's low-power entry holding, the recovery's runtime put lets the
    reset device suspend, and the user's first access (here the close) resumes it: the PCI core
    restores the reset defaults before the user can act, and the close's vfio_msi_disable masks
    the vectors by MMIO at the BAR address the reset took away. A hazard; the same recovery of a
    runtime-active open device stays by design."""
    key = "mmio_decode_off @ vfio_msi_disable [MSI-X table, BAR moved]"
    tail = "vfio_set_irqs(index=msix, count=1)\npcie_do_recovery(channel=frozen, vote=disconnect, source=aer)\nvfio_close()\n"
    got = {}
    for name, head in (("low power", "vfio_open()\nvfio_low_power(action=entry)\n"), ("active", "vfio_open()\n")):
        calls = parse_program(head + tail)
        p = next((p for p in derive_all(I350, load_policy("linux-7.1"), calls) if p.key == key), None)
        got[name] = p and tiers.assess(I350, "linux-7.1", p.key, p.invariant, p.origin, p.register_class,
                                       {p.actor_path}, [(calls, p.bucket_tuple)]).tier
    assert got == {"low power": "hazard", "active": "by-design"}, got


def test_a_users_bar_access_tiers_by_what_vfio_guards():
    """vfio_pci_bar_rw blocks memory BARs while the user's Memory is off, never I/O BARs: a user's
    port I/O with I/O off is by design (vfio-io-bar-unguarded); a closed device recovered behind
    everyone's back, then opened and read, is a hazard with the user-BAR reason, not the MSI-X
    table's (audit T #6, #8)."""
    key_io = "mmio_decode_off @ vfio_pci_bar_rw [user BAR, I/O off]"
    key_moved = "mmio_decode_off @ vfio_pci_bar_rw [user BAR, BAR moved]"
    got = {}
    for dev, text, key in (
            ("fiji", "vfio_open()\nqemu_reset()\nvfio_bar_rw(bar=4, access=write)\n", key_io),
            ("dsa", "pcie_do_recovery(channel=frozen, vote=no_aer_driver, source=aer)\nvfio_open()\n"
                    "vfio_bar_rw(bar=0, access=read)\n", key_moved)):
        prof, calls = resolve_device(dev), parse_program(text)
        p = next(p for p in derive_all(prof, load_policy("linux-7.1"), calls) if p.key == key)
        got[key] = tiers.assess(prof, "linux-7.1", p.key, p.invariant, p.origin, p.register_class,
                                {p.actor_path}, [(calls, p.bucket_tuple)])
    assert got[key_io].tier == "by-design" and got[key_io].rule == "vfio-io-bar-unguarded", got[key_io]
    assert got[key_moved].tier == "hazard" and "user's BAR access" in got[key_moved].reason, got[key_moved]
    assert "MSI-X table" not in got[key_moved].reason
    assert tiers.known_root_causes("linux-7.1")[key_moved]["tier"] == "hazard"


def test_a_driver_that_saves_its_own_d3cold_function_is_outside_the_d3_contract():
    """driver-calls-in-d0: a host driver that put its function in D3cold itself and then saves it
    (an all-ones snapshot) is by design, though the function answers nothing then."""
    dsa = resolve_device("fiji")   # the platform can cut its power (platform_d3cold)
    calls = parse_program("pci_bind_driver(driver=host)\npci_set_power_state(state=d3cold)\npci_save_state()\n")
    p = next(p for p in derive_all(dsa, load_policy("linux-7.1"), calls) if p.invariant == "snapshot_all_ones")
    v = tiers.assess(dsa, "linux-7.1", p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                     [(calls, p.bucket_tuple)])
    assert v.tier == "by-design" and v.rule == "driver-calls-in-d0", v


def test_a_reviewed_environmental_gives_way_to_a_reproducer_with_no_outside_event(tmp_path, monkeypatch):
    """A reviewed "environmental" is a claim about other stores' reproducers. A store that
    reaches the key with none (a DPC recovery of a closed vfio-pci device: reset, nothing restores
    it, the next open snapshots the reset-default BARs and the close writes them back) shows the
    computed tier, with the reviewed one under it."""
    key = "snapshot_bar_stale @ vfio_pci_core_enable [config header]"
    known = tmp_path / "known"
    known.mkdir()
    (known / "linux-7.1.toml").write_text(f'[[root_cause]]\nkey = "{key}"\ntier = "environmental"\n'
                                          'reason = "needs hw_inaccessible"\n')
    monkeypatch.setenv(tiers.KNOWN_DIR_ENV, str(known))
    text = "pcie_do_recovery(channel=frozen, vote=can_recover, source=dpc)\nvfio_open()\nvfio_close()\n"
    store_dir = tmp_path / "store"
    store = FindingsStore(store_dir, I350_TPH, "linux-7.1", "reference")
    calls = parse_program(text)
    for v in Model(I350, BASE).run(calls).violations:
        if v.invariant == "snapshot_bar_stale":
            store.record(encode(calls), v)
    store.maybe_flush(force=True)
    (rc,) = [r for r in assess_findings(store_dir) if r.key == key]
    assert rc.known and rc.reviewed_tier == "environmental"
    assert rc.verdict.tier == "hazard" and rc.verdict.rule != "environmental"
    assert rc.reviewed is not None and rc.reviewed.tier == "environmental"
    from fuzzcore.triage.report import to_json
    (row,) = [x for x in to_json([rc])]
    assert row["member_tiers"] == {m: "hazard" for m in rc.members} and rc.members   # each member's own


def test_a_design_rule_that_only_shows_after_an_outside_event_is_environmental():
    """vfio-user-write-through (a user's config write reaching the device as vfio's tables let it)
    matches a raw MSI-X Control write, but the write is raw only because vfio opened the VF while
    it read all-ones (an empty map): every reproducer needs the outside event, so the root cause is
    environmental. The same rule without such an event stays by design (a user's MSI Enable write)."""
    vf = resolve_device("nic-82576-vf")
    calls = parse_program("hw_inaccessible()\nvfio_open()\nhw_accessible()\n"
                          "vfio_config_write(offset=0x72, width=2, value=0xcff9)\n")
    p = next(p for p in derive_all(vf, BASE, calls) if p.origin == "vfio_pci_config_rw")
    v = tiers.assess(vf, "linux-7.1", p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                     [(calls, p.bucket_tuple)])
    assert v.tier == "environmental" and "hw_inaccessible" in v.reason, v
    # the user's own MSI Message Control write (Enable off behind vfio's SET_IRQS) needs nothing
    calls = parse_program("vfio_open()\nvfio_set_irqs(index=msi, count=0)\n"
                          "vfio_config_write(offset=0x52, width=2, value=0x00)\n")
    found = [p for p in derive_all(I350, BASE, calls) if p.origin == "vfio_pci_config_rw"]
    for p in found:
        v = tiers.assess(I350, "linux-7.1", p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                         [(calls, p.bucket_tuple)])
        assert v.tier == "by-design" and v.rule == "vfio-user-write-through", v
    assert found


def test_a_driver_that_powers_its_device_down_unsaved_is_outside_the_contract():
    """driver-powers-down-unsaved: a host driver's own pci_set_power_state(D3) with no
    pci_save_state right before it (Documentation/power/pci.rst) excuses what needs it, and the
    dsa's stale TPH buffer does not happen at all after the documented sequence (save, then D3).
    A recovery of a device its driver keeps in D3hot restores in D0 either way: the driver's
    slot_reset re-enables it first (pci_enable_device powers it up, as igb_io_slot_reset does)."""
    msix = "pci_bind_driver(driver=host)\npci_enable_msix(nvec=1)\n"
    rec = "pci_set_power_state(state=d3hot)\npcie_do_recovery(channel=frozen, vote=need_reset, source=aer)\n"
    for text in (msix + rec, msix + "pci_save_state()\n" + rec):
        assert not [p for p in derive_all(I350, BASE, parse_program(text)) if p.invariant == "restore_outside_d0"]
    dsa = resolve_device("dsa")
    head = "pci_bind_driver(driver=host)\npci_enable_tph(mode=dev_spec)\n"
    tail = "pci_set_power_state(state=d3hot)\npci_pm_runtime_suspend()\npci_reset_function(method=auto)\n"
    calls = parse_program(head + tail)
    p = next(p for p in derive_all(dsa, BASE, calls) if p.invariant == "live_flag_mismatch")
    v = tiers.assess(dsa, "linux-7.1", p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
                     [(calls, p.bucket_tuple)])
    assert v.tier == "by-design" and v.rule == "driver-powers-down-unsaved"
    assert not derive_all(dsa, BASE, parse_program(head + "pci_save_state()\n" + tail))


def test_a_class_entry_reviews_every_op_an_environmental_mismatch_is_first_compared_at(tmp_path, monkeypatch):
    """[[root_cause_class]]: intent_mismatch names the op that first compared the wrong state. A
    host driver's MSI disable lost while config does not answer shows at whichever op compares
    first; a class entry (invariant, the outside events every reproducer needs) reviews them all,
    and a key the class does not cover (a mismatch reachable without the event) stays new."""
    known = tmp_path / "known"
    known.mkdir()
    (known / "linux-7.1.toml").write_text('[[root_cause_class]]\ninvariant = "intent_mismatch"\n'
                                          'needs = ["hw_inaccessible"]\ntier = "environmental"\n'
                                          'reason = "config writes lost while the function did not answer"\n')
    monkeypatch.setenv(tiers.KNOWN_DIR_ENV, str(known))
    i350 = resolve_device("i350")
    lost = ("pci_bind_driver(driver=host)\npci_enable_msi()\nhw_inaccessible()\npci_disable_msi()\n"
            "hw_accessible()\n")
    hazard = ("pm_system_sleep(transition=deep, power=lost)\npci_bind_driver(driver=host)\npci_pm_runtime_suspend()\n"
              "pcie_do_recovery(channel=frozen, vote=no_aer_driver, source=dpc)\n"
              "pcie_do_recovery(channel=frozen, vote=no_aer_driver, source=aer)\n"
              "pci_enable_sriov(num_vfs=0)\npci_pm_runtime_resume()\n"
              "pcie_do_recovery(channel=normal, vote=no_aer_driver, source=aer)\n")
    store_dir = tmp_path / "store"
    store = FindingsStore(store_dir, "i350", "linux-7.1", "reference")
    for text in (lost, hazard):
        calls = parse_program(text)
        for v in Model(i350, BASE).run(calls).violations:
            if v.invariant == "intent_mismatch":
                store.record(encode(calls), v)
    store.maybe_flush(force=True)
    rcs = {r.key: r for r in assess_findings(store_dir) if r.invariant == "intent_mismatch"}
    env = [r for r in rcs.values() if r.verdict.tier == "environmental"]
    haz = [r for r in rcs.values() if r.verdict.tier == "hazard"]
    assert env and haz, sorted((k, r.verdict.tier) for k, r in rcs.items())
    assert all(r.known for r in env) and not any(r.known for r in haz)


def test_provenance_names_the_reset_that_lost_the_bars_and_the_save_that_first_took_them():
    """An idle vfio-pci device's fatal recovery resets it with nothing restoring it (op 0); later
    resets and saves only carry the cleared BARs (audit R #1, #8). The access's cause names the
    op-0 reset, not the open's FLR of a function whose BARs were already 0; a stale snapshot names
    the save that first took the value as well as the one restored."""
    i350 = resolve_device("i350")
    rec = "pcie_do_recovery(channel=frozen, vote=can_recover, source=aer)\n"
    ps = derive_all(i350, BASE, parse_program(rec + "vfio_open()\nvfio_set_irqs(index=msix, count=3)\n"
                                              "vfio_low_power(action=entry)\nvfio_bar_rw(bar=3, access=write)\n"))
    moved = [p for p in ps if p.invariant == "mmio_decode_off" and "BAR moved" in p.register_class]
    assert moved and all("pci_bus_error_reset at op 0" in p.detail for p in moved), [p.detail for p in moved]
    ps = derive_all(i350, BASE, parse_program(rec + "pci_bind_driver(driver=host)\npci_restore_state()\n"))
    (p,) = {p.key: p for p in ps if p.invariant == "snapshot_bar_stale" and p.op_index == 2}.values()
    assert p.key == "snapshot_bar_stale @ host driver probe [config header]"
    assert "carried the BAR value save #3 took (pci_pm_runtime_suspend at op 0)" in p.detail, p.detail
