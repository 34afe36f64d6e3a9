"""Importer consistency: an upstream port that cannot sit above the device, and a BAR size that
contradicts the device's own Resizable BAR Control, are warned about (errors with --strict)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fuzzcore.cli import main
from fuzzcore.device.builtin import resolve_device
from fuzzcore.device.consistency import consistency_warnings, rebar_sizes

DATA = Path(__file__).resolve().parent / "data"
FIJI = str(DATA / "pciutils-amd-fiji-gpu-rebar-ats-pri-pasid.txt")
FIJI_SIZES = ["--bar", "2=2M", "--bar", "4=256", "--bar", "5=256K", "--rom-size", "128K"]


def _import(*args):
    return CliRunner().invoke(main, ["device", "import", *args])


def test_builtin_profiles_are_consistent():
    for name in ("i350", "fiji", "wifi-7265", "nic-82576", "plx-8532", "dsa", "cnvi-wifi"):
        prof = resolve_device(name)
        up = resolve_device(prof.upstream_port) if prof.upstream_port else None
        assert consistency_warnings(prof, up) == [], name


def test_rebar_control_is_read_as_the_kernel_reads_it():
    # Fiji's first resizable BAR is BAR0, its control register selects 256 MB (bits 13:8 = 8)
    sizes = rebar_sizes(resolve_device("fiji"))
    assert sizes[0][0] == 256 << 20


def test_bar_size_against_rebar_control_warns_and_strict_refuses(tmp_path):
    out = tmp_path / "f.toml"
    r = _import(FIJI, "--bar", "0=1M", *FIJI_SIZES, "-o", str(out))
    assert r.exit_code == 0 and out.exists()
    assert "BAR0: size 1M in the profile, but Resizable BAR Control (0x208) selects 256M" in r.output
    out.unlink()
    r = _import(FIJI, "--bar", "0=1M", *FIJI_SIZES, "-o", str(out), "--strict")
    assert r.exit_code == 2 and not out.exists()
    r = _import(FIJI, "--bar", "0=256M", *FIJI_SIZES, "-o", str(out), "--strict")
    assert r.exit_code == 0 and out.exists(), r.output


def test_upstream_port_must_be_a_port_above():
    r = _import(str(DATA / "pcitool-intel-cnl-rootport-dpc-ptm-l1ss.txt"), "--upstream-port", "cnl-rootport")
    assert "a root-port sits on a root bus and has no port above it" in r.output
    # not a port at all: an error even without --strict (the profile validation layer)
    r = _import(str(DATA / "pciutils-intel-7265-wifi-l1ss-ltr.txt"), "--bar", "0=8K", "--upstream-port", "i350")
    assert r.exit_code == 2 and "'i350'" in r.output and "endpoint" in r.output


def test_a_switch_upstream_port_cannot_be_a_device_s_parent():
    class _Port:                 # the type is all the check reads
        name, pcie_type = "usp", "upstream-port"
    prof = resolve_device("wifi-7265")
    assert consistency_warnings(prof, _Port()) == [
        "upstream_port 'usp': PCIe Device/Port Type is upstream-port, but a device sits under a root-port "
        "or downstream-port"]
