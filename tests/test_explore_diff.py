"""`fuzzcore explore` and `fuzzcore diff` end to end."""

import json
import subprocess
import sys

from fuzzcore.device.builtin import resolve_device
from fuzzcore.explore import explore, vocabulary
from fuzzcore.explore.backend import ReferenceBackend
from fuzzcore.policy import load_policy
from fuzzcore.program.codec import Call


def fz(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_explore_reports_depths_buckets_and_completeness(tmp_path):
    r = fz("explore", "--depth", 3, "--out", tmp_path / "cx")
    assert r.returncode == 0, r.stderr
    assert "every program of <= 3 ops over these" in r.stdout and "distinct states" in r.stdout
    assert "used_without_restore | pcie_do_recovery | config   (shortest: 1 ops)" in r.stdout
    assert "depth 3:" in r.stderr and "next depth" in r.stderr
    mins = list((tmp_path / "cx").glob("*/min.fzs"))
    assert mins
    # a counterexample replays to its bucket
    one = next(p for p in mins if p.parent.name.startswith("used_without_restore"))
    run = fz("run", one)
    assert run.returncode == 1 and "used_without_restore [config] at op 0" in run.stdout


def test_explore_counterexamples_are_shortest():
    res = explore(resolve_device("i350"), load_policy("linux-7.1"), 3, backend="reference")
    by_len = {b: len(p) for b, (p, _) in res.buckets.items()}
    assert by_len[("used_without_restore", "pcie_do_recovery", "config")] == 1
    assert by_len[("snapshot_all_ones", "vfio_open", "config")] == 2   # hw_inaccessible; vfio_open
    # nothing is found at a depth shorter than its counterexample: depth 1 finds only length-1 ones
    res1 = explore(resolve_device("i350"), load_policy("linux-7.1"), 1, backend="reference")
    assert set(res1.buckets) == {b for b, n in by_len.items() if n == 1}


def test_state_hash_ignores_how_many_saves_happened():
    be = ReferenceBackend(resolve_device("i350"), load_policy("linux-7.1"))
    start = be.state_hash()
    be.apply(Call.of("pci_bind_driver", driver="host"))
    be.apply(Call.of("pci_save_state"))
    once = be.state_hash()
    be.apply(Call.of("pci_save_state"))
    assert be.state_hash() == once != start


def test_explore_max_states_is_a_clear_incomplete_exit():
    r = fz("explore", "--depth", 4, "--max-states", 50)
    assert r.returncode == 4 and "INCOMPLETE" in r.stdout and "--max-states" in r.stdout


def test_explore_ops_restrict_the_vocabulary():
    r = fz("explore", "--depth", 2, "--ops", "vfio_open,hw_inaccessible")
    assert r.returncode == 0 and "over these 2 calls (2 ops)" in r.stdout
    assert fz("explore", "--ops", "nonesuch").returncode == 2


def test_vocabulary_is_finite_and_documented():
    calls = vocabulary(resolve_device("i350"), ("vfio_config_write", "pci_set_power_state"))
    assert len(calls) == 7 + 3  # 4 Command values, D3hot/D0, FLR; three power states


def test_diff_v18_introduces_the_open_blob_root_causes(tmp_path):
    j = tmp_path / "d.json"
    r = fz("diff", "--base", "linux-7.1", "--policy", "linux-7.1+vfio-reset-done-v18", "--max-time", 5,
           "--depth", 3, "--neighbours", 500, "--json", j)
    assert r.returncode == 1, r.stderr
    report = json.loads(j.read_text())
    introduced = {(x["root_cause"], x["actor_path"]): x for x in report["introduced"]}
    # H3: reset_done puts back the open-time blob; H4: that blob has Bus Master off (kernel.md §9)
    h3 = introduced[("restore_older_snapshot @ vfio_pci_core_aer_reset_done [config header]", "vfio")]
    h4 = introduced[("msi_without_bus_master @ vfio_pci_core_enable [config header]", "vfio")]
    for x in (h3, h4):
        assert x["confirmed"] and x["time_to_first_find_s"] is not None, x
        assert any(m["bucket"][1] == "vfio_device_reset" for m in x["members"]) or x["members"]
    assert report["search"]["inputs_per_s"] > 0 and report["engine"] == "native"
    assert "## Introduced by the patch" in r.stdout and "First divergence" in r.stdout


def test_diff_msix_fix_fixes_memory_off(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "h1a.fzs").write_text("vfio_open()\nvfio_config_write(offset=0x04, width=2, value=0x06)\n"
                                    "vfio_set_irqs(index=msix, count=2)\n"
                                    "vfio_config_write(offset=0x04, width=2, value=0x04)\nvfio_device_reset()\n")
    j = tmp_path / "d.json"
    r = fz("diff", "--base", "linux-7.1", "--policy", "linux-7.1+msix-restore-enable-memory", "--max-time", 5,
           "--depth", 2, "--corpus", corpus, "--neighbours", 500, "--json", j)
    report = json.loads(j.read_text())
    assert report["inputs"]["corpus"] == 1
    fixed = {(x["root_cause"], x["actor_path"]): x for x in report["fixed"]}
    h1 = fixed[("mmio_decode_off @ __pci_restore_msix_state [MSI-X table, Memory off]", "vfio")]
    assert h1["confirmed"], h1
    assert r.returncode == (1 if any(x["confirmed"] for x in report["introduced"]) else 0)
    assert "None found within the bound." in r.stdout or report["introduced"]


def test_workers_split_the_frontier_and_agree():
    one = explore(resolve_device("i350"), load_policy("linux-7.1"), 3, backend="reference")
    two = explore(resolve_device("i350"), load_policy("linux-7.1"), 3, backend="reference", workers=2)
    assert [(d.states, d.transitions) for d in one.depths] == [(d.states, d.transitions) for d in two.depths]
    assert set(one.buckets) == set(two.buckets)
    assert {b: len(p) for b, (p, _) in one.buckets.items()} == {b: len(p) for b, (p, _) in two.buckets.items()}


def test_native_and_reference_explore_the_same_state_space():
    ref = explore(resolve_device("i350"), load_policy("linux-7.1"), 4, backend="reference")
    nat = explore(resolve_device("i350"), load_policy("linux-7.1"), 4, backend="native")
    assert [d.states for d in ref.depths] == [d.states for d in nat.depths]
    assert {b: len(p) for b, (p, _) in ref.buckets.items()} == {b: len(p) for b, (p, _) in nat.buckets.items()}


def test_fuzz_from_an_empty_corpus_finds_every_bucket_explore_finds_at_depth_4(tmp_path):
    """The cross-check of the two search methods (issue: explore vs fuzz). Measured first: all 96
    depth-4 buckets within 300,000 runs (51 s). With DPC containment and the runtime-PM puts the
    last depth-4 bucket (order_violation--vfio_close--LTR) came at about 330,000 runs in one
    seed-4 campaign and was missing at 400,000 in another (a campaign is not bit-for-bit
    repeatable: corpus staging runs beside it). With reset_store's runtime-PM put, depth 4 has
    108 buckets; the last three (order_violation--vfio_open--BAR0/BAR3/LTR: hw_inaccessible, a
    sysfs reset whose put re-suspends and saves all-ones, hw_accessible, vfio_open) were missing
    at 800,000 runs and came at about 650,000 of a 3,000,000-run campaign (24 s), which is the
    budget."""
    from fuzzcore.model.invariants import bucket_name
    res = explore(resolve_device("i350"), load_policy("linux-7.1"), 4)
    out = tmp_path / "c"
    r = subprocess.run([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", str(out), "--no-seeds",
                        "--runs", "3000000", "--max-time", "600", "--seed", "4"], capture_output=True, text=True,
                       timeout=900)
    # exit 1 is a campaign that ran and reports root causes the reviewed list lacks (docs/triage.md)
    assert r.returncode == 0, r.stderr[-2000:]
    found = {p.parent.name for p in (out / "findings").glob("*/meta.json")}
    expected = {bucket_name(b) for b in res.buckets}
    assert len(expected) > 50
    assert expected <= found, sorted(expected - found)
