"""`fuzzcore show` end to end through the CLI: the readable view, --trace, --as-pytest."""

import subprocess
import sys

from fuzzcore.program.codec import encode
from fuzzcore.program.fzs import parse_program

H1A = """# device: i350
# policy: linux-7.1
# expected-bucket: mmio_decode_off | vfio_device_reset | MSI-X table, Memory off
# fixed-by: linux-7.1+msix-restore-enable-memory
vfio_open()
vfio_set_irqs(index=msix, count=0)
vfio_config_write(offset=0x04, width=1, value=0x00)
vfio_device_reset()
"""


def fz(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_show_prints_one_kernel_call_per_line_then_the_violation(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A)
    r = fz("show", f)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    calls = [ln for ln in lines if ln[:3].strip().isdigit()]
    assert len(calls) == 4
    assert calls[0].split()[:3] == ["0", "vfio_open()", "vfio:"] and "vfio_pci_core_enable" in calls[0]
    assert "vfio_pci_config_rw; Command <- 0x00" in calls[2]
    assert calls[3].endswith("<-- mmio_decode_off") and "vfio_pci_ioctl_reset" in calls[3]
    text = r.stdout
    assert "violation at op 3 (vfio_device_reset), in the model step pci_restore_state/msi:" in text
    assert "  expected   decode on" in text and "  actual     Command=0x0400" in text
    assert "  register   MSI-X table, Memory off" in text
    assert "fixed by linux-7.1+msix-restore-enable-memory" in text


def test_show_trace_lists_registers_and_kernel_fields_changed_per_op(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A)
    r = fz("show", f, "--trace")
    assert r.returncode == 0
    after_write = r.stdout.split("vfio_config_write(offset=0x04")[1].split("\n  3 ")[0]
    assert "Command: 0x02 -> 0x00   [vfio_pci_config_rw]" in after_write   # a byte write, as the user made it
    assert "kernel vfio.vconfig_command: 0x2 -> 0x0" in after_write
    assert "MSI-X+0x02 (MsgCtl): 0x0009 -> 0xc009   [pci_restore_state/msi]" in r.stdout
    assert "-- reset/flr: flr reset of the function" in r.stdout


def test_show_binary_and_bucket_directory(tmp_path):
    b = tmp_path / "prog"
    b.write_bytes(encode(parse_program(H1A)))
    r = fz("show", b)
    # a binary input without claims: shown with its violation, and no claim to check
    assert r.returncode == 0 and "violation at op 3" in r.stdout and "expected bucket" not in r.stdout
    d = tmp_path / "bucket"
    assert fz("minimize", tmp_path / "prog", "--bucket", "mmio_decode_off | vfio_device_reset | MSI-X table, Memory off",
              "-o", d).returncode == 0
    r = fz("show", d)
    assert r.returncode == 0 and "expected bucket mmio_decode_off | vfio_device_reset" in r.stdout


def test_show_exits_1_when_the_claimed_bucket_is_not_reported(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A.replace("# policy: linux-7.1\n", "# policy: linux-7.1+msix-restore-enable-memory\n"))
    r = fz("show", f)
    assert r.returncode == 1
    assert "no violations" in r.stdout and "NOT REPRODUCED" in r.stdout


def test_show_as_pytest_writes_a_test_that_passes(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A)
    test = tmp_path / "gen" / "test_h1a_regression.py"
    test.parent.mkdir()
    r = fz("show", f, "--as-pytest", "-o", test)
    assert r.returncode == 0, r.stderr
    src = test.read_text()
    assert "BUCKET = ('mmio_decode_off', 'vfio_device_reset', 'MSI-X table, Memory off')" in src
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout                          # the bucket, and its absence under the fix


def test_show_as_pytest_to_stdout_fails_when_the_bug_is_fixed(tmp_path):
    """The generated test really asserts the bucket: run under the fixing policy it fails."""
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A)
    src = fz("show", f, "--as-pytest").stdout
    test = tmp_path / "test_fixed.py"
    test.write_text(src.replace("POLICY = 'linux-7.1'", "POLICY = 'linux-7.1+msix-restore-enable-memory'"))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1 and "1 failed, 1 passed" in run.stdout


def test_show_as_pytest_for_a_seed_asserts_its_exact_buckets(tmp_path):
    f = tmp_path / "seed.fzs"
    f.write_text("# device: i350\n# expect-bucket: mmio_decode_off | vfio_device_reset | MSI-X table, Memory off\n"
                 "vfio_open()\nvfio_set_irqs(index=msix, count=0)\nvfio_config_write(offset=0x04, width=1, value=0x00)\n"
                 "vfio_device_reset()\n")
    test = tmp_path / "test_seed.py"
    assert fz("show", f, "--as-pytest", "-o", test).returncode == 0
    assert ("EXPECTED_BUCKETS = [('mmio_decode_off', 'vfio_device_reset', 'MSI-X table, Memory off')]"
            in test.read_text())
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stdout


def test_show_sample_picks_buckets_of_a_store_at_random_and_shows_each(tmp_path):
    import random
    import shutil
    from pathlib import Path
    store = tmp_path / "store"
    shipped = Path(__file__).resolve().parents[1] / "crashes"
    buckets = sorted(p for p in shipped.glob("*/*") if (p / "meta.json").is_file())[:3]
    assert len(buckets) == 3
    for i, b in enumerate(buckets):           # names stay unique across the policies they came from
        shutil.copytree(b, store / f"{i}-{b.name}")
    names = sorted(p.name for p in store.iterdir())
    r = fz("show", store, "--sample", 2, "--seed", 7)
    assert r.returncode == 0, r.stderr
    picked = random.Random(7).sample(names, 2)
    assert [line.split(" ", 2)[2] for line in r.stdout.splitlines() if line.startswith("=== ")] == picked
    assert r.stdout.count("root cause:") == 2 and r.stdout.count("violation at op") == 2
    assert fz("show", store, "--sample", 2, "--seed", 7).stdout == r.stdout       # a seed is a sample
    r = fz("show", store, "--sample", 10)                                          # no more than there are
    assert r.returncode == 0 and "=== 3/3" in r.stdout and "=== 4/" not in r.stdout


def test_show_sample_needs_a_findings_store(tmp_path):
    p = tmp_path / "h1a.fzs"
    p.write_text(H1A)
    r = fz("show", p, "--sample", 1)
    assert r.returncode == 2 and "--sample needs a findings store" in r.stderr
    r = fz("show", tmp_path, "--sample", 0)
    assert r.returncode == 2


def test_show_bucket_prints_a_differing_reviewed_tier_under_its_own(tmp_path):
    """A bucket's view gives this program's own tier; when the reviewed list (FUZZCORE_KNOWN_DIR)
    files the key under another tier, that one is printed under it, marked as the list's."""
    import os
    import re
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A)
    r = fz("show", f)
    key = re.search(r"^root cause: (.*?)   \[(.*?)\]$", r.stdout, re.M)
    assert key and key.group(2) != "by-design"
    known = tmp_path / "known"
    known.mkdir()
    (known / "linux-7.1.toml").write_text(
        f'[[root_cause]]\nkey = "{key.group(1)}"\ntier = "by-design"\nreason = "a reason for the test"\n')
    r2 = subprocess.run([sys.executable, "-m", "fuzzcore.cli", "show", str(f)], capture_output=True, text=True,
                        env={**os.environ, "FUZZCORE_KNOWN_DIR": str(known)})
    assert r2.returncode == 0, r2.stderr
    assert f"[{key.group(2)}]" in r2.stdout
    assert "  reviewed   by-design: a reason for the test (the reviewed list's tier for the key, from every reproducer reviewed; this program alone gives the one above)" in r2.stdout
    assert "reviewed   " not in r.stdout or "(the reviewed list's tier for the key" in r.stdout
