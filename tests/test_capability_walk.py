"""The walker reproduces INDEX.md's capability tables and reports each listed anomaly."""

import re

import pytest

from fuzzcore.device.capability_walk import walk_capabilities
from fuzzcore.device.dump_parser import parse_dump_file

from conftest import DATA, index_rows

ROWS = index_rows()


def _expected(cell: str, extended: bool):
    if cell in ("-", "") or cell.startswith("n/a"):
        return []
    out = []
    for item in cell.split(","):
        item = item.strip()
        if extended:
            m = re.match(r"0x([0-9a-f]+) \S+ v(\d+)@0x([0-9a-f]+)", item)
            out.append((int(m.group(1), 16), int(m.group(2)), int(m.group(3), 16)))
        else:
            m = re.match(r"0x([0-9a-f]+) \S+@0x([0-9a-f]+)", item)
            out.append((int(m.group(1), 16), int(m.group(2), 16)))
    return out


def test_index_covers_every_dump():
    assert len(ROWS) == 11
    assert {r["file"] for r in ROWS} == {p.name for p in DATA.glob("*.txt")}


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_capability_table_matches_index(row):
    dump = parse_dump_file(DATA / row["file"])
    assert dump.size == row["size"]
    walk = walk_capabilities(dump.image)
    assert [(c.cap_id, c.offset) for c in walk.standard] == _expected(row["standard"], False)
    assert [(c.cap_id, c.version, c.offset) for c in walk.extended] == _expected(row["extended"], True)


def _walk(name):
    return walk_capabilities(parse_dump_file(DATA / name).image)


def test_null_ext_header_with_next_pointer_warns_and_is_followed():
    w = _walk("pcitool-intel-cnvi-wifi-null-ecap.txt")
    assert [(x.offset, "ID 0" in x.message) for x in w.warnings] == [(0x100, True)]
    assert [c.offset for c in w.extended] == [0x100, 0x14C, 0x164]


def test_non_ascending_link_warns():
    w = _walk("pciutils-plx-8532-switch-vc-pat.txt")
    assert len(w.warnings) == 1
    assert w.warnings[0].offset == 0x138 and "non-ascending" in w.warnings[0].message
    assert "0xfb4 -> 0x138" in w.warnings[0].message


def test_truncated_pcie_dump_is_flagged():
    w = _walk("pciutils-plx-9716-dpc-256only.txt")
    assert w.truncated
    assert w.warnings[0].offset == 0x100 and "truncated" in w.warnings[0].message


def test_conventional_256_byte_dump_is_not_truncated():
    w = _walk("local-0000_00_02.0.txt")
    assert not w.truncated and not w.warnings


def test_clean_dumps_have_no_warnings():
    for name in ("pcitool-intel-i350-nic-sriov-tph.txt", "pciutils-intel-dsa-0b25-tph-ats-pasid-pri.txt",
                 "pcitool-intel-cnl-rootport-dpc-ptm-l1ss.txt"):
        assert _walk(name).warnings == []


def _image_with(**patches):
    img = bytearray(4096)
    img[0x06] = 0x10  # Status.CapList
    img[0x34] = 0x40
    for off, val in patches.items():
        o = int(off[1:], 16)
        img[o:o + len(val)] = val
    return img


def test_standard_list_loop_is_stopped_and_reported():
    img = _image_with(x40=bytes([0x01, 0x50]), x50=bytes([0x05, 0x40]))
    w = walk_capabilities(img)
    assert [c.offset for c in w.standard] == [0x40, 0x50]
    assert any(x.offset == 0x40 and "loops" in x.message for x in w.warnings)


def test_standard_list_ignored_without_caplist():
    img = _image_with(x40=bytes([0x01, 0x00]))
    img[0x06] = 0
    assert walk_capabilities(img).standard == []


def test_extended_loop_is_stopped_and_reported():
    # 0x100 -> 0x200 -> 0x100
    img = _image_with(x100=(0x2000_0001).to_bytes(4, "little"), x200=(0x1000_0002).to_bytes(4, "little"))
    w = walk_capabilities(img)
    assert [c.offset for c in w.extended] == [0x100, 0x200]
    assert any("loops" in x.message and x.offset == 0x100 for x in w.warnings)


def test_extended_all_ones_header_stops():
    img = _image_with(x100=(0x2000_0001).to_bytes(4, "little"), x200=b"\xff\xff\xff\xff")
    w = walk_capabilities(img)
    assert [c.offset for c in w.extended] == [0x100]
    assert any(x.offset == 0x200 and "all-ones" in x.message for x in w.warnings)


def test_extended_pointer_below_0x100_stops():
    img = _image_with(x100=(0x0800_0001).to_bytes(4, "little"))  # next = 0x080
    w = walk_capabilities(img)
    assert [c.offset for c in w.extended] == [0x100]
    assert any("below 0x100" in x.message for x in w.warnings)


def test_next_pointer_masked_to_dword():
    img = _image_with(x100=(0x2030_0001).to_bytes(4, "little"), x200=(0x0001_0002).to_bytes(4, "little"))
    # next field 0x203 & 0xffc = 0x200
    assert [c.offset for c in walk_capabilities(img).extended] == [0x100, 0x200]
