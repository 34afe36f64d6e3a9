"""`fuzzcore replay` end to end through the CLI: pass/fail tables and exit codes."""

import json
import subprocess
import sys
from pathlib import Path

from fuzzcore.program.codec import encode
from fuzzcore.program.fzs import parse_program

ROOT = Path(__file__).parent.parent
BUCKET = "mmio_decode_off | vfio_device_reset | MSI-X table, Memory off"
PROGRAM = """vfio_open()
vfio_set_irqs(index=msix, count=0)
vfio_config_write(offset=0x04, width=1, value=0x00)
vfio_device_reset()
"""
FINDING = f"""# device: i350
# policy: linux-7.1
# expected-bucket: {BUCKET}
# fixed-by: linux-7.1+msix-restore-enable-memory
""" + PROGRAM


def fz(*args):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def test_replay_shipped_corpora_and_crashes_hold():
    """What .ci/run runs: every seed and every shipped finding is as it claims."""
    r = fz("replay", "corpora/", "crashes/")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("replay: ") and r.stdout.rstrip().endswith("all hold")


def test_replay_finding_that_reproduces_its_bucket_and_not_under_the_fix(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(FINDING)
    r = fz("replay", f, "-v")
    assert r.returncode == 0
    rows = r.stdout.splitlines()
    assert rows[0].split() == ["program", "device", "policy", "expected", "actual"]
    assert any("linux-7.1+msix-restore-enable-memory" in ln and f"fixed-by: not {BUCKET}" in ln for ln in rows)
    assert "replay: 1 programs, 3 expectations, all hold" in r.stdout   # bucket, fixed-by, every op runs


def test_replay_finding_with_another_bucket_is_a_mismatch(tmp_path):
    """Same invariant and op, another register: not the same bug."""
    f = tmp_path / "drifted.fzs"
    f.write_text(FINDING.replace("MSI-X table, Memory off", "MSI-X table, BAR moved"))
    r = fz("replay", f)
    assert r.returncode == 1
    assert f"bucket mmio_decode_off | vfio_device_reset | MSI-X table, BAR moved  {BUCKET}" in r.stdout
    assert "1 mismatch(es)" in r.stdout


def test_replay_fixed_by_policy_that_still_reports_the_bucket_is_a_mismatch(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(FINDING.replace("# fixed-by: linux-7.1+msix-restore-enable-memory",
                                 "# fixed-by: linux-7.1+pre-a2f1e22390ac"))
    r = fz("replay", f)
    assert r.returncode == 1
    row = [ln for ln in r.stdout.splitlines() if "pre-a2f1e22390ac" in ln]
    assert len(row) == 1 and f"fixed-by: not {BUCKET}" in row[0] and row[0].rstrip().endswith(BUCKET)


def test_replay_corpus_dir_with_an_unexpected_violation_fails(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "clean.fzs").write_text("# expect: none\nvfio_open()\nvfio_close()\n")
    (corpus / "annotated.fzs").write_text(f"# expect-bucket: {BUCKET}\n" + PROGRAM)
    (corpus / "README.md").write_text("not a program\n")
    assert fz("replay", corpus).returncode == 0
    (corpus / "unannotated").write_bytes(encode(parse_program(PROGRAM)))   # claims nothing: must be clean
    r = fz("replay", corpus)
    assert r.returncode == 1
    assert "unannotated" in r.stdout and "no violation" in r.stdout and "3 programs" in r.stdout


def test_replay_seed_must_report_exactly_its_expected_buckets(tmp_path):
    f = tmp_path / "seed.fzs"
    f.write_text(f"# expect-bucket: {BUCKET}\n# expect-bucket: vconfig_mismatch | vfio_device_reset | Command\n"
                 + PROGRAM)
    r = fz("replay", f)
    assert r.returncode == 1 and "exactly: " in r.stdout


def test_replay_binary_in_a_bucket_directory_takes_meta_json(tmp_path):
    d = tmp_path / "findings" / "mmio_decode_off--vfio_device_reset--MSI-X_table,_Memory_off"
    d.mkdir(parents=True)
    (d / "min.bin").write_bytes(encode(parse_program(PROGRAM)))
    (d / "meta.json").write_text(json.dumps({"bucket": BUCKET.split(" | "), "device": "i350",
                                             "policy": "linux-7.1", "fixed_by": ["linux-7.1+msix-restore-enable-memory"]}))
    r = fz("replay", tmp_path / "findings", "-v")
    assert r.returncode == 0 and "3 expectations, all hold" in r.stdout
    (d / "meta.json").write_text(json.dumps({"bucket": BUCKET.split(" | "), "device": "i350",
                                             "policy": "linux-7.1+msix-restore-enable-memory"}))
    assert fz("replay", tmp_path / "findings").returncode == 1


def test_replay_unreadable_program_exits_2_and_is_listed(tmp_path):
    (tmp_path / "ok.fzs").write_text(FINDING)
    (tmp_path / "bad.fzs").write_text("vfio_open(\n")
    r = fz("replay", tmp_path)
    assert r.returncode == 2
    assert "bad.fzs" in r.stdout and "error:" in r.stdout and f"{tmp_path / 'bad.fzs'}:1:" in r.stdout


def test_ci_script_replays_corpora_and_crashes_after_the_tests():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "python3 -m pytest -q tests" in lines
    assert lines.index("fuzzcore replay corpora/ crashes/") > lines.index("python3 -m pytest -q tests")
