"""Device profiles: every dump imports, the TOML round-trips, and bad profiles name file and line."""

import numpy as np
import pytest

from fuzzcore.device.builtin import builtin_names, resolve_device
from fuzzcore.device.dump_parser import parse_dump_bytes, parse_dump_file
from fuzzcore.device.profile import (ProfileError, load_profile, loads_profile, profile_from_dump,
                                     profile_to_toml)
from fuzzcore.util.toml_source import TomlError

from conftest import DATA, DUMPS


@pytest.mark.parametrize("path", DUMPS, ids=[p.name for p in DUMPS])
def test_every_dump_becomes_a_profile_that_loads_back(path):
    prof = profile_from_dump(path.stem, parse_dump_file(path))
    back = loads_profile(profile_to_toml(prof), "x.toml")
    assert back.image == prof.image and back.bars == prof.bars and back.rom_size == prof.rom_size
    assert [c.offset for c in back.walk.all] == [c.offset for c in prof.walk.all]


def test_builtin_devices_exist_with_the_facts_the_dumps_imply():
    names = set(builtin_names())
    assert {"i350", "dsa", "cnl-rootport", "wifi-7265", "fiji"} <= names
    i350 = resolve_device("i350")
    assert i350.upstream_port == "cnl-rootport" and i350.flr and i350.no_soft_reset
    assert i350.msix.entries == 10 and i350.msix.table_bir == 3 and i350.msix.pba_offset == 0x2000
    assert [(b.index, b.kind, b.size) for b in i350.bars] == [(0, "mem32", 0x100000), (3, "mem32", 0x4000)]
    assert resolve_device("dsa").pcie_type == "rc-endpoint"
    assert resolve_device("cnl-rootport").header_type == 1
    assert not resolve_device("wifi-7265").no_soft_reset
    assert [b.kind for b in resolve_device("fiji").bars] == ["mem64", "mem64", "io", "mem32"]


def test_config_is_padded_to_4k():
    prof = resolve_device("i350")
    assert prof.config.shape == (4096,) and prof.config.dtype == np.uint8


def _profile_text():
    return profile_to_toml(resolve_device("i350"))


def _line_of(text, needle):
    return next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith(needle))


def test_unknown_key_names_its_line():
    text = _profile_text().replace("upstream_port = ", "upstream_prot = ")
    with pytest.raises(TomlError) as e:
        loads_profile(text, "p.toml")
    assert e.value.line == _line_of(text, "upstream_prot") and "unknown key 'upstream_prot'" in str(e.value)


def test_wrong_type_names_its_line():
    text = _profile_text().replace("size = 0x100000", 'size = "1M"')
    with pytest.raises(TomlError) as e:
        loads_profile(text, "p.toml")
    assert e.value.line == _line_of(text, 'size = "1M"') and "must be int" in str(e.value)


def test_recorded_msix_must_match_the_capability():
    text = _profile_text().replace("entries = 10", "entries = 11")
    with pytest.raises(TomlError) as e:
        loads_profile(text, "p.toml")
    assert e.value.line == _line_of(text, "entries = 11")


def test_bad_byte_inside_the_hexdump_names_the_file_line():
    text = _profile_text()
    lines = text.splitlines()
    idx = _line_of(text, "010: ") - 1
    lines[idx] = lines[idx][:5] + "qq" + lines[idx][7:]
    with pytest.raises(TomlError) as e:
        loads_profile("\n".join(lines), "p.toml")
    assert e.value.line == idx + 1 and "not a hex byte" in str(e.value)


def test_non_power_of_two_bar_size():
    text = _profile_text().replace("size = 0x4000", "size = 0x3000")
    with pytest.raises(TomlError, match="not a power of two"):
        loads_profile(text, "p.toml")


def test_control_characters_in_the_source_line_survive_the_round_trip():
    # found by tests/fuzz/fuzz_importer.py: a description with a control character broke the TOML
    img = parse_dump_file(DATA / "pcitool-intel-i350-nic-sriov-tph.txt").image
    text = "# source: a\x0eb \"q\" \\, device: d\x01\n" + "\n".join(
        f"{o:03x}: " + " ".join(f"{b:02x}" for b in img[o:o + 16]) for o in range(0, 4096, 16))
    prof = profile_from_dump("x", parse_dump_bytes(text.encode(), "t.txt"))
    assert loads_profile(profile_to_toml(prof)).description == "d\x01"


def test_msix_in_a_bar_the_dump_does_not_show_is_a_clear_import_error():
    # found by the importer fuzzer: the MSI-X BIR named a BAR that reads 0 in the dump
    img = bytearray(parse_dump_file(DATA / "pcitool-intel-i350-nic-sriov-tph.txt").image)
    img[0x1C:0x20] = b"\x00\x00\x00\x00"  # BAR3, which holds the MSI-X table, reads 0
    with pytest.raises(ProfileError, match="BAR3"):
        profile_from_dump("x", parse_dump_bytes(bytes(img), "config"))


def test_guessed_bar_grows_to_hold_the_msix_table():
    img = parse_dump_file(DATA / "pcitool-intel-i350-nic-sriov-tph.txt").image
    prof = profile_from_dump("x", parse_dump_bytes(img, "config"), bar_sizes={0: 1 << 20})
    assert prof.bar(3).size >= 0x2008 and prof.bar_sizes_guessed


def test_load_profile_from_file(tmp_path):
    f = tmp_path / "d.toml"
    f.write_text(_profile_text())
    assert load_profile(f).image == resolve_device("i350").image


def test_unknown_device_lists_builtins():
    with pytest.raises(LookupError, match="i350"):
        resolve_device("nonesuch")
