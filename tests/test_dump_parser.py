"""The three dump forms parse to the same bytes; bad input names file, line and column."""

import pytest

from fuzzcore.device.dump_parser import (AmbiguousSlotError, BinaryDumpError, DumpError, parse_dump_bytes,
                                         parse_dump_file)

from conftest import DATA, DUMPS

I350 = DATA / "pcitool-intel-i350-nic-sriov-tph.txt"


def _hex_lines(text):
    return [ln for ln in text.splitlines() if ln and not ln.startswith("#")]


@pytest.mark.parametrize("path", DUMPS, ids=[p.name for p in DUMPS])
def test_every_dump_parses_in_all_three_forms(path):
    annotated = parse_dump_file(path)
    assert annotated.size in (256, 4096)
    assert annotated.source  # the '# source:' line is kept
    lspci = "01:00.0 Some device: Vendor Thing (rev 01)\n" + "\n".join(_hex_lines(path.read_text())) + "\n"
    assert parse_dump_bytes(lspci.encode(), "x.txt").image == annotated.image
    assert parse_dump_bytes(annotated.image, "config").image == annotated.image


def test_lspci_multi_device_needs_slot_and_lists_devices(tmp_path):
    a = _hex_lines(I350.read_text())
    b = _hex_lines((DATA / "pciutils-intel-dsa-0b25-tph-ats-pasid-pri.txt").read_text())
    text = ("01:00.0 Ethernet controller: Intel I350\n" + "\n".join(a) + "\n\n"
            "0000:6a:01.0 System peripheral: Intel DSA\n" + "\n".join(b) + "\n")
    f = tmp_path / "many.txt"
    f.write_text(text)
    with pytest.raises(AmbiguousSlotError) as e:
        parse_dump_file(f)
    assert "01:00.0" in str(e.value) and "0000:6a:01.0" in str(e.value)
    assert parse_dump_file(f, slot="6a:01.0").image[:4] == bytes([0x86, 0x80, 0x25, 0x0B])
    assert parse_dump_file(f, slot="01:00.0").image[:4] == bytes([0x86, 0x80, 0x21, 0x15])
    with pytest.raises(AmbiguousSlotError, match="no device at slot 02:00.0"):
        parse_dump_file(f, slot="02:00.0")


def _corrupt(tmp_path, lineno, transform):
    lines = I350.read_text().splitlines()
    lines[lineno - 1] = transform(lines[lineno - 1])
    f = tmp_path / "bad.txt"
    f.write_text("\n".join(lines) + "\n")
    return f


def test_non_hex_byte_names_line_and_column(tmp_path):
    # line 3 is '10: 00 00 e0 92 ...'; the third byte starts at column 11
    f = _corrupt(tmp_path, 3, lambda s: s[:10] + "zz" + s[12:])
    with pytest.raises(DumpError) as e:
        parse_dump_file(f)
    assert (e.value.path, e.value.line, e.value.col) == (str(f), 3, 11)
    assert str(e.value).startswith(f"{f}:3:11: not a hex byte")


def test_short_line_names_line_and_end_column(tmp_path):
    f = _corrupt(tmp_path, 5, lambda s: s[:-3])
    with pytest.raises(DumpError) as e:
        parse_dump_file(f)
    assert e.value.line == 5 and "short line: 15 bytes" in e.value.message
    assert e.value.col == len(I350.read_text().splitlines()[4]) - 3 + 1


def test_offset_out_of_order(tmp_path):
    f = _corrupt(tmp_path, 4, lambda s: "30" + s[2:])
    with pytest.raises(DumpError) as e:
        parse_dump_file(f)
    assert (e.value.line, e.value.col) == (4, 1) and "out of order" in e.value.message


def test_size_that_is_no_dump_size(tmp_path):
    lines = I350.read_text().splitlines()[:20]  # 19 hex lines = 304 bytes
    f = tmp_path / "cut.txt"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DumpError) as e:
        parse_dump_file(f)
    assert e.value.line == 20 and "304 bytes" in e.value.message


@pytest.mark.parametrize("size", [0, 63, 100, 255, 257, 4095, 8192])
def test_binary_of_wrong_size(tmp_path, size):
    f = tmp_path / "config"
    f.write_bytes(b"\x00" * size if size else b"")
    with pytest.raises(DumpError) as e:
        parse_dump_file(f)
    assert str(f) in str(e.value)


@pytest.mark.parametrize("size", [64, 256, 4096])
def test_binary_of_valid_size(tmp_path, size):
    img = parse_dump_file(I350).image[:size]
    f = tmp_path / "config"
    f.write_bytes(img)
    assert parse_dump_file(f).image == img


def test_binary_error_names_offset(tmp_path):
    f = tmp_path / "config"
    f.write_bytes(b"\x00" * 300)
    with pytest.raises(BinaryDumpError) as e:
        parse_dump_file(f)
    assert "offset 0x12c" in str(e.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DumpError, match="nope.txt: no such file or directory"):
        parse_dump_file(tmp_path / "nope.txt")


def test_text_without_hexdump():
    with pytest.raises(DumpError, match="no hexdump"):
        parse_dump_bytes(b"# source: nothing\n", "empty.txt")


def test_corrupted_plain_lspci_output_names_line_and_column(tmp_path):
    hexdump = [ln for ln in I350.read_text().splitlines() if not ln.startswith("#")]
    hexdump[4] = hexdump[4][:7] + "g0" + hexdump[4][9:]      # offset 0x40, second byte
    f = tmp_path / "lspci.txt"
    f.write_text("01:00.0 Ethernet controller: Intel Corporation I350\n" + "\n".join(hexdump) + "\n")
    with pytest.raises(DumpError) as e:
        parse_dump_file(f)
    assert (e.value.line, e.value.col) == (6, 8) and "not a hex byte: 'g0'" in str(e.value)


def test_every_dump_corrupted_in_every_form_gives_a_located_error(tmp_path):
    for path in DUMPS:
        lines = path.read_text().splitlines()
        k = next(i for i, ln in enumerate(lines) if not ln.startswith("#")) + 1
        bad = lines[:k] + [lines[k][:4] + "x" + lines[k][5:]] + lines[k + 1:]
        f = tmp_path / f"bad-{path.name}"
        f.write_text("\n".join(bad))
        with pytest.raises(DumpError) as e:
            parse_dump_file(f)
        assert e.value.line == k + 1 and e.value.col == 5
        raw = tmp_path / f"{path.stem}.bin"
        raw.write_bytes(parse_dump_file(path).image[:-1])
        with pytest.raises(DumpError, match="expected 64, 256 or 4096"):
            parse_dump_file(raw)
