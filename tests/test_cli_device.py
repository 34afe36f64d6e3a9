"""`fuzzcore device ...` end to end through the console script."""

import subprocess
import sys

import pytest

from conftest import DATA

I350 = DATA / "pcitool-intel-i350-nic-sriov-tph.txt"


def fz(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


@pytest.mark.parametrize("cmd", [[], ["device"], ["device", "import"], ["device", "list"], ["device", "show"]])
def test_help_on_every_command(cmd):
    r = fz(*cmd, "--help")
    assert r.returncode == 0 and "Usage:" in r.stdout


def test_import_writes_a_profile_that_show_reads(tmp_path):
    out = tmp_path / "nic.toml"
    r = fz("device", "import", I350, "--bar", "0=1M", "--bar", "3=16K", "--rom-size", "512K",
           "--upstream-port", "cnl-rootport", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "guessed" not in r.stderr
    r = fz("device", "show", out)
    assert r.returncode == 0
    assert "0x1a0   TPH v1" in r.stdout and "pci_save_tph_state" in r.stdout
    assert "MSI-X: 10 entries, table BAR3+0x0" in r.stdout


def test_import_without_sizes_warns_that_it_guessed(tmp_path):
    r = fz("device", "import", I350, "-o", tmp_path / "g.toml")
    assert r.returncode == 0 and "guessed" in r.stderr


def test_import_prints_walk_warnings(tmp_path):
    r = fz("device", "import", DATA / "pciutils-plx-9716-dpc-256only.txt", "-o", tmp_path / "p.toml")
    assert r.returncode == 0 and "truncated" in r.stderr


def test_bad_dump_exits_2_names_the_place_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.txt"
    lines = I350.read_text().splitlines()
    lines[2] = lines[2][:10] + "zz" + lines[2][12:]
    bad.write_text("\n".join(lines))
    out = tmp_path / "out.toml"
    r = fz("device", "import", bad, "-o", out)
    assert r.returncode == 2
    assert f"{bad}:3:11: not a hex byte" in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_multi_device_file_lists_slots(tmp_path):
    hexdump = "\n".join(ln for ln in I350.read_text().splitlines() if not ln.startswith("#"))
    f = tmp_path / "lspci.txt"
    f.write_text(f"01:00.0 Ethernet: I350 PF0\n{hexdump}\n\n01:00.1 Ethernet: I350 PF1\n{hexdump}\n")
    r = fz("device", "import", f)
    assert r.returncode == 2 and "01:00.0" in r.stderr and "01:00.1" in r.stderr
    r = fz("device", "import", f, "--slot", "01:00.1", "-o", tmp_path / "pf1.toml")
    assert r.returncode == 0


def test_list_marks_the_default():
    r = fz("device", "list")
    assert r.returncode == 0 and "* i350" in r.stdout


def test_show_unknown_device_exits_2():
    r = fz("device", "show", "nonesuch")
    assert r.returncode == 2 and "built-in devices" in r.stderr


def test_import_of_a_pf_emits_a_vf_profile(tmp_path):
    """--vf-output derives a VF from the PF's SR-IOV capability: a VF profile (virtfn, BARs at
    the PF's VF BARs, Memory and BARs read-only zero) that `device show` and the models load."""
    vf = tmp_path / "vf.toml"
    r = fz("device", "import", DATA / "pciutils-intel-82576-10c9-nic-sriov.txt", "--upstream-port", "cnl-rootport",
           "--bar", "0=128K", "--bar", "1=4M", "--bar", "2=32", "--bar", "3=16K", "-o", tmp_path / "pf.toml",
           "--vf-output", vf, "--vf-bar", "0=16K", "--vf-bar", "3=16K")
    assert r.returncode == 0, r.stderr
    text = vf.read_text()
    assert "virtfn = true" in text and "address = 0xd2840000" in text and "address = 0xd2860000" in text
    from fuzzcore.device.profile import load_profile
    p = load_profile(vf)
    assert p.virtfn and [c.name for c in p.walk.all] == ["MSI-X", "PCIe", "AER", "ARI"]
    assert p.virtual_bus and "virtual_bus = true" in text   # First VF Offset 384: bus 02, virtfn_add_bus's
    assert p.semantics.wmask[0x04] & 0x3 == 0 and not p.semantics.wmask[0x10:0x28].any()
    assert fz("device", "show", vf).returncode == 0


def test_a_pf_without_enabled_vfs_gives_no_vf_profile(tmp_path):
    r = fz("device", "import", I350, "-o", tmp_path / "pf.toml", "--vf-output", tmp_path / "vf.toml")
    assert r.returncode == 2 and "VF Enable clear or NumVFs 0" in r.stderr
    assert not (tmp_path / "vf.toml").exists()


def test_a_vf_profile_that_breaks_the_spec_names_the_line(tmp_path):
    from fuzzcore.device.builtin import builtin_dir
    text = (builtin_dir() / "nic-82576-vf.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("address = 0xd2860000", "address = 0xd2860010"))
    r = fz("device", "show", bad)
    assert r.returncode == 2 and "bad.toml:" in r.stderr and "not aligned" in r.stderr
    bad.write_text(text.replace("virtfn = true", "virtfn = false"))
    r = fz("device", "show", bad)
    assert r.returncode == 2 and "only a VF's BARs" in r.stderr
    i350 = (builtin_dir() / "i350.toml").read_text()
    bad.write_text(i350.replace('upstream_port = "cnl-rootport"', 'upstream_port = "cnl-rootport"\nvirtual_bus = true', 1))
    r = fz("device", "show", bad)
    assert r.returncode == 2 and "bad.toml:" in r.stderr and "virtual_bus = true" in r.stderr, r.stderr
