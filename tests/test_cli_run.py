"""`fuzzcore run` end to end, and the docs' worked overlay run on the model."""

import subprocess
import sys
from pathlib import Path

from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program

ROOT = Path(__file__).parent.parent
H1A = """vfio_open()
vfio_config_write(offset=0x04, width=2, value=0x0006)
vfio_set_irqs(index=msix, count=2)
vfio_config_write(offset=0x04, width=2, value=0x0004)
vfio_device_reset()
"""


def fz(*args):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True, text=True)


def test_run_reports_violation_and_exits_1(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A)
    r = fz("run", f)
    assert r.returncode == 1
    assert "mmio_decode_off [MSI-X table, Memory off] at op 4 (vfio_device_reset), in pci_restore_state/msi" in r.stdout


def test_run_clean_program_exits_0(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A)
    r = fz("run", f, "--policy", "linux-7.1+msix-restore-enable-memory")
    assert r.returncode == 0 and "no violations" in r.stdout


def test_run_trace_shows_registers_steps_and_kernel_fields(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A)
    out = fz("run", f, "--trace").stdout
    assert "Command: 0x0004 -> 0x0400   [pci_dev_save_and_disable]" in out
    assert "-- reset/flr: flr reset of the function" in out
    assert "BAR3: 0x00000000 -> 0x92f0c000   [pci_restore_state/config_space]" in out
    assert "kernel msix_enabled: False -> True" in out


def test_run_binary_program(tmp_path):
    from fuzzcore.program.codec import encode
    f = tmp_path / "h1a.bin"
    f.write_bytes(encode(parse_program(H1A)))
    assert fz("run", f).returncode == 1


def test_bad_program_exits_2_with_location(tmp_path):
    f = tmp_path / "bad.fzs"
    f.write_text("vfio_open()\nvfio_config_write(offset=0x04, width=3, value=0x6)\n")
    r = fz("run", f)
    assert r.returncode == 2 and f"{f}:2:" in r.stderr


def test_bad_policy_exits_2(tmp_path):
    f = tmp_path / "p.fzs"
    f.write_text("pci_save_state()\n")
    r = fz("run", f, "--policy", "linux-7.1+nonesuch")
    assert r.returncode == 2 and "nonesuch" in r.stderr


def ptm_endpoint():
    """The I350 with a PTM Requester capability where its Device Serial Number is (0x140, 12
    bytes either way): no built-in endpoint has PTM, and on the root port that has it the
    driver calls are portdrv's, which makes none."""
    import dataclasses
    import struct
    p = resolve_device("i350")
    img = bytearray(p.image)
    nxt = struct.unpack_from("<I", img, 0x140)[0] >> 20
    struct.pack_into("<III", img, 0x140, 0x1F | (1 << 16) | (nxt << 20), 0x0001 | (0x10 << 8), 0)
    return dataclasses.replace(p, name="ptm-endpoint", image=bytes(img))


def test_docs_example_overlay_changes_the_outcome():
    """docs/policies.md's new overlay (PTM save/restore gated on ptm_enable_cnt) removes the
    re-enabled-PTM mismatch the baseline reports."""
    prog = parse_program("pci_bind_driver(driver=host)\npci_enable_ptm()\npci_save_state()\npci_disable_ptm()\npci_restore_state()\n")
    port = ptm_endpoint()
    assert Model(port, load_policy("linux-7.1")).caps.ptm == 0x140
    base = Model(port, load_policy("linux-7.1")).run(prog)
    assert ("live_flag_mismatch", "pci_restore_state", "PTM") in base.buckets
    example = str(ROOT / "docs" / "examples" / "ptm-restore-gated.toml")
    patched = Model(port, load_policy(f"linux-7.1+{example}")).run(prog)
    assert not [b for b in patched.buckets if b[2] == "PTM"]
