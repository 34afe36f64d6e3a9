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


def test_a_divergence_is_reported_side_by_side_with_exit_1(tmp_path):
    """The model under the 7.1 baseline alone (no linux-6.12 overlay): 6.12.118's
    __pci_restore_msix_state writes Command | Memory around the table (the stable backport of
    231c7a57d193, row 1 of docs/validation.md), the baseline does not. One program: the guest
    records which kernel function made each write (kprobes)."""
    prog = CORPUS / "e1000e-host-driver-msix.fzs"
    r = CliRunner().invoke(main, ["validate", str(prog), "--policy", "linux-7.1",
                                  "--keep", str(tmp_path / "run")])
    assert r.exit_code == 1, r.output
    assert "first divergence at op 3: pci_reset_function(method=auto)" in r.output
    assert "model (step)" in r.output and "kernel 6.12 (QEMU trace)" in r.output
    assert ">>dev @0x0a2 w2 <- 0x8004 [pci_restore_state/msi]" in r.output
    assert "| dev @0x004 w2 <- 0x0407 [__pci_restore_msix_state < pci_restore_state" in r.output
    assert "known:" not in r.output   # a policy difference, not a listed model gap


def test_msi_enable_and_free_agree_with_the_kernel(tmp_path):
    """Model gap 8, fixed: msi_capability_init clears MSI Enable first, __pci_write_msi_msg
    writes Message Control before the address, and free_irq's deactivation writes a zeroed
    message before pci_msi_shutdown (docs/validation.md)."""
    p = tmp_path / "msi.fzs"
    p.write_text("# guest-device: e1000e\npci_bind_driver(driver=host)\npci_enable_msi()\n"
                 "pci_disable_msi()\n")
    r = CliRunner().invoke(main, ["validate", str(p), "--keep", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    assert "1/1 programs agree op by op" in r.output
    assert "pci_enable_msi               1/1" in r.output
    assert "pci_disable_msi              1/1" in r.output


def test_aer_recovery_agrees_on_both_devices_with_aer(tmp_path):
    """aer_inject in the guest (the struct fzguest writes, the severity it picks, the wait for the
    AER driver's last word) and fzhost's votes: the corpus's recovery programs agree op by op,
    e1000e behind the switch and virtio-rng below its root port."""
    picks = sorted(CORPUS.glob("e1000e-recovery-*.fzs"))[:3] + sorted(CORPUS.glob("virtio-rng-recovery-*.fzs"))
    assert len(picks) >= 5
    r = CliRunner().invoke(main, ["validate", *map(str, picks), "--keep", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert f"{len(picks)}/{len(picks)} programs agree op by op" in r.output
    console = "\n".join(p.read_text() for p in tmp_path.glob("*/console.log"))
    assert "AERINJ 00004000 successful" in console        # a non-fatal Completion Timeout
    assert "AERINJ 00000010 failed" in console            # a fatal DLP below the root port


def test_the_71_recovery_order_diverges_from_612(tmp_path):
    """Without the linux-6.12 overlay the model resets the bus for a NEED_RESET vote on a normal
    channel (d0a2dee7d458, in 7.1.3); 6.12.118 goes to slot_reset's restore directly."""
    prog = CORPUS / "e1000e-recovery-normal-need-reset.fzs"
    r = CliRunner().invoke(main, ["validate", str(prog), "--policy", "linux-7.1", "--no-why",
                                  "--keep", str(tmp_path / "run")])
    assert r.exit_code == 1, r.output
    assert "first divergence at op 2: pcie_do_recovery(channel=normal, vote=need_reset, source=aer)" in r.output
    assert ">>port @0x03e w2 <- 0x0042 [pci_bus_error_reset]" in r.output


def test_system_sleep_runs_and_wakes_and_the_device_agrees_with_the_port_set_aside(tmp_path):
    """pm_system_sleep in the guest: suspend-to-idle (the host wakes the guest with a key press
    through QMP) and hibernation's freeze/thaw (the image write fails: no swap). The port's own
    phases (row 27 of docs/validation.md, open) are set aside and said so; the device's writes
    (D3hot, D0, the restore in suspend-to-idle; the thaw's restore) agree, and a bus reset after
    the sleep compares the port again. The thaw of a runtime-suspended host device, runtime-suspended
    again by device_complete's pm_runtime_put (row 28, fixed), agrees too."""
    progs = []
    for t in ("s2idle", "hibernate_thaw"):
        p = tmp_path / f"{t}.fzs"
        p.write_text("# guest-device: e1000e\npci_bind_driver(driver=host)\n"
                     f"pm_system_sleep(transition={t}, power=kept)\npci_reset_bus()\n")
        progs.append(str(p))
    p = tmp_path / "row28.fzs"
    p.write_text("# guest-device: e1000e\npci_bind_driver(driver=host)\npci_pm_runtime_suspend()\n"
                 "pm_system_sleep(transition=hibernate_thaw, power=kept)\npci_pm_runtime_resume()\n")
    progs.append(str(p))
    r = CliRunner().invoke(main, ["validate", *progs, "--no-why", "--keep", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    for t in ("s2idle", "hibernate_thaw"):
        assert (f"{t}: agrees op by op (3 ops; upstream port not compared in op 1 (known: row 27))"
                in r.output), r.output
    assert "row28: agrees op by op (4 ops; upstream port not compared in op 2 (known: row 27))" in r.output
    assert "pci_reset_bus                2/2" in r.output
    assert "pm_system_sleep              3/3" in r.output and "(the device; the upstream port not compared)" in r.output
    assert "known: row 27 (docs/validation.md): the PM core suspends every device" in r.output
    console = "\n".join(p.read_text(errors="replace") for p in (tmp_path / "run").glob("*/console.log"))
    assert "PM: resume from suspend-to-idle" in console
    assert "HIBERNATE thawed=1 noswap=1 rc=-19" in console
