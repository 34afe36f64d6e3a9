"""fuzzcore validate against the real Linux 6.12 kernel in QEMU (one boot per test, ~10-20 s).

These need the validation kit (`fuzzcore validate --setup`; CI's .ci/run sets it up). Without it
they are skipped, and the skip reason says so and how to get it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fuzzcore.cli import main
from fuzzcore.validate.kit import kit_ready

READY, WHY = kit_ready()
pytestmark = pytest.mark.skipif(not READY, reason=f"validation kit not set up ({WHY}); "
                                                   "`fuzzcore validate --setup` installs it")

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "validation"


def test_agreeing_programs_on_both_devices(tmp_path):
    """A handful of corpus programs, e1000e behind the switch and nvme behind a root port."""
    picks = sorted(CORPUS.glob("e1000e-*.fzs"))[:3] + sorted(CORPUS.glob("nvme-*.fzs"))[:3]
    assert len(picks) == 6, "corpora/validation/ needs e1000e-* and nvme-* programs"
    r = CliRunner().invoke(main, ["validate", *map(str, picks), "--keep", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "6/6 programs agree op by op" in r.output
    assert "programs/min" in r.output


def test_a_model_gap_is_reported_side_by_side_with_exit_1(tmp_path):
    """pci_enable_msi: 6.12's msi_capability_init clears MSI Enable first and __pci_write_msi_msg
    writes Message Control before the address; the model does neither (docs/validation.md)."""
    p = tmp_path / "msi.fzs"
    p.write_text("# guest-device: e1000e\npci_bind_driver(driver=host)\npci_enable_msi()\n")
    r = CliRunner().invoke(main, ["validate", str(p), "--keep", str(tmp_path / "run")])
    assert r.exit_code == 1, r.output
    assert "first divergence at op 1: pci_enable_msi()" in r.output
    assert "model (step)" in r.output and "kernel 6.12 (QEMU trace)" in r.output
    assert ">>dev @0x0d4 w4" in r.output and "| dev @0x0d2 w2 <- 0x0080" in r.output
    assert "known: msi_capability_init" in r.output
    # one program: the guest records which kernel function made each write (kprobes)
    assert "| dev @0x0d2 w2 <- 0x0080 [msi_capability_init < __pci_enable_msi_range" in r.output
