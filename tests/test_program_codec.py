"""The program byte codec and the .fzs text format: totality, deletion stability, round trips, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzcore.program.codec import Call, decode, decode_record, encode, encode_call, op_index_array
from fuzzcore.program.fzs import FzsError, dump_fzs, format_call, format_program, load_fzs, parse_program
from fuzzcore.program.op_table import ARG_BYTES, OP_INDEX, OPS, RECORD_SIZE

R = RECORD_SIZE


# ---- strategies -------------------------------------------------------------------------------

@st.composite
def canonical_calls(draw):
    """Any canonical Call, drawn from the table's domains (not via decode, to test it independently)."""
    op = draw(st.sampled_from(OPS))
    values = {}
    for arg in op.args:
        if arg.kind == "enum":
            values[arg.name] = draw(st.sampled_from(arg.domain))
        else:
            values[arg.name] = draw(st.integers(0, arg.domain - 1))
    if op.name == "vfio_config_write":
        values["offset"] -= values["offset"] % int(values["width"])
    return Call.of(op.name, **values)


programs = st.lists(canonical_calls(), max_size=20)
fuzz_bytes = st.binary(max_size=40 * R)


def records(data: bytes) -> list[bytes]:
    return [data[i:i + R] for i in range(0, len(data) // R * R, R)]


# ---- the table --------------------------------------------------------------------------------

def test_table_is_consistent():
    assert 0 < len(OPS) <= 256                      # one selector byte reaches every op
    assert len({op.name for op in OPS}) == len(OPS)
    assert OP_INDEX == {op.name: i for i, op in enumerate(OPS)}
    for op in OPS:
        assert sum(a.nbytes for a in op.args) <= ARG_BYTES == R - 1, op.name
        assert len({a.name for a in op.args}) == len(op.args), op.name
        for a in op.args:
            assert a.kind in ("enum", "int", "hex"), (op.name, a.name)
            assert a.nbytes >= 1
            # every domain value must be reachable from the arg's bytes
            assert 1 <= a.size <= 256 ** a.nbytes, (op.name, a.name)
            if a.kind == "enum":
                assert len(set(a.domain)) == len(a.domain)
                assert all(isinstance(n, str) and n and "," not in n for n in a.domain)


# ---- the byte codec ---------------------------------------------------------------------------

@given(fuzz_bytes)
def test_decode_is_total(data):
    calls = decode(data)
    assert len(calls) == len(data) // R            # trailing partial record ignored
    assert all(isinstance(c, Call) for c in calls)
    assert len(encode(calls)) == len(calls) * R


@given(fuzz_bytes, st.data())
def test_deleting_a_record_leaves_the_others_unchanged(data, d):
    calls = decode(data)
    recs = records(data)
    if not recs:
        return
    i = d.draw(st.integers(0, len(recs) - 1))
    shorter = b"".join(recs[:i] + recs[i + 1:]) + data[len(recs) * R:]
    assert decode(shorter) == calls[:i] + calls[i + 1:]


@given(fuzz_bytes, st.binary(min_size=R, max_size=R), st.data())
def test_inserting_a_record_leaves_the_others_unchanged(data, rec, d):
    recs = records(data)
    i = d.draw(st.integers(0, len(recs)))
    calls = decode(data)
    longer = b"".join(recs[:i] + [rec] + recs[i:])
    assert decode(longer) == calls[:i] + [decode_record(rec)] + calls[i:]


@given(fuzz_bytes)
def test_encode_is_canonical(data):
    canon = encode(decode(data))
    assert encode(decode(canon)) == canon
    assert decode(canon) == decode(data)


@given(programs)
def test_canonical_calls_round_trip_through_bytes(calls):
    assert decode(encode(calls)) == calls


def test_decode_known_record():
    idx = OP_INDEX["vfio_config_write"]
    # offset 0x1007 -> mod 4096 = 0x007 -> aligned to width 4 -> 0x004; width byte 2 -> "4"
    rec = bytes([idx, 0x07, 0x10, 0x02, 0x78, 0x56, 0x34, 0x12])
    assert decode(rec) == [Call.of("vfio_config_write", offset=0x004, width="4", value=0x12345678)]
    # width byte 4 -> 4 % 3 = 1 -> "2"; offset 0x0ff -> aligned to 0x0fe; selector wraps modulo len(OPS)
    rec = bytes([idx + len(OPS), 0xFF, 0x00, 0x04, 1, 0, 0, 0])
    assert decode(rec) == [Call.of("vfio_config_write", offset=0x0FE, width="2", value=1)]
    assert encode(decode(rec)) == bytes([idx, 0xFE, 0x00, 0x01, 1, 0, 0, 0])


def test_decode_enum_and_int_modulo_and_unused_bytes():
    rec = bytes([OP_INDEX["vfio_set_irqs"], 4 + 3, 8 + 5, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE])
    (call,) = decode(rec)
    assert call == Call.of("vfio_set_irqs", index="msix", count=5)
    assert call["index"] == "msix" and call["count"] == 5
    assert encode([call]) == bytes([OP_INDEX["vfio_set_irqs"], 3, 5, 0, 0, 0, 0, 0])


def test_every_op_is_reachable_from_bytes():
    for i, op in enumerate(OPS):
        assert decode(bytes([i]) + bytes(R - 1))[0].name == op.name
        if i + len(OPS) < 256:                      # the selector is taken modulo len(OPS)
            assert decode(bytes([i + len(OPS)]) + bytes(R - 1))[0].name == op.name


def test_partial_record_is_ignored():
    assert decode(b"") == []
    assert decode(bytes(R - 1)) == []
    assert len(decode(bytes(2 * R + 3))) == 2


@given(fuzz_bytes)
def test_op_index_array_matches_decode(data):
    arr = op_index_array(data)
    assert isinstance(arr, np.ndarray) and arr.dtype.kind == "i"
    assert arr.tolist() == [c.index for c in decode(data)]


def test_call_rejects_non_canonical_values():
    with pytest.raises(ValueError, match="multiple of 4"):
        Call.of("vfio_config_write", offset=2, width="4", value=0)
    with pytest.raises(ValueError, match="width"):
        Call.of("vfio_config_write", offset=0, width="3", value=0)
    with pytest.raises(ValueError, match="0..7"):
        Call.of("pci_enable_msix", nvec=8)
    with pytest.raises(ValueError, match="integer"):
        Call.of("pci_enable_msix", nvec=True)
    with pytest.raises(ValueError, match="missing"):
        Call.of("vfio_set_irqs", index="msi")
    with pytest.raises(ValueError, match="unknown op"):
        Call.of("pci_frobnicate")
    with pytest.raises(ValueError, match="order"):
        Call("vfio_set_irqs", (("count", 1), ("index", "msi")))
    with pytest.raises(ValueError, match="unknown"):
        Call.of("pci_save_state", method="flr")


# ---- the .fzs text format ---------------------------------------------------------------------

@given(fuzz_bytes)
def test_text_round_trip_from_bytes(data):
    text = format_program(decode(data))
    assert encode(parse_program(text)) == encode(decode(data))
    assert format_program(parse_program(text)) == text


@given(programs)
def test_text_round_trip_from_calls(calls):
    text = format_program(calls)
    assert parse_program(text) == calls
    assert format_program(parse_program(text)) == text
    assert len(text.splitlines()) == len(calls)


def _sample_call(op):
    """A call with non-default values, so formatting/parsing of each arg is actually exercised."""
    values = {}
    for a in op.args:
        values[a.name] = a.domain[-1] if a.kind == "enum" else a.domain - 1
    if op.name == "vfio_config_write":
        values["offset"] -= values["offset"] % int(values["width"])
    return Call.of(op.name, **values)


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_every_op_formats_and_parses(op):
    call = _sample_call(op)
    line = format_call(call)
    assert line.startswith(op.name + "(") and line.endswith(")")
    for a in op.args:
        assert f"{a.name}=" in line
    assert parse_program(line) == [call]
    assert decode(encode_call(call)) == [call]


def test_format_examples():
    calls = [
        Call.of("pci_save_state"),
        Call.of("pci_reset_function", method="flr"),
        Call.of("vfio_config_write", offset=4, width="2", value=6),
        Call.of("pci_assign_bar", bar=5, slot=3),
        Call.of("vfio_config_write", offset=0xFFC, width="4", value=0xDEADBEEF),
    ]
    assert format_program(calls) == (
        "pci_save_state()\n"
        "pci_reset_function(method=flr)\n"
        "vfio_config_write(offset=0x04, width=2, value=0x06)\n"
        "pci_assign_bar(bar=5, slot=3)\n"
        "vfio_config_write(offset=0xffc, width=4, value=0xdeadbeef)\n"
    )
    assert format_program([]) == ""


def test_parse_is_liberal_in_layout_and_number_syntax():
    text = (
        "# a reproducer\r\n"
        "\n"
        "   pci_save_state( )   # trailing comment\r\n"
        "\tvfio_config_write(value=6,width=2 ,  offset = 0X4)\n"
        "pci_assign_bar(slot=0x3, bar=05)\n"
        "   # indented comment\n"
    )
    assert parse_program(text) == [
        Call.of("pci_save_state"),
        Call.of("vfio_config_write", offset=4, width="2", value=6),
        Call.of("pci_assign_bar", bar=5, slot=3),
    ]
    assert parse_program("vfio_config_write(offset=0x04, width=2, value=0x0006)") == [
        Call.of("vfio_config_write", offset=4, width="2", value=6)]


ERRORS = [
    # (text, line, col, message fragment)
    ("pci_save_stat()", 1, 1, "unknown op 'pci_save_stat'"),
    ("pci_reset_function(mode=flr)", 1, 20, "no argument 'mode'"),
    ("pci_reset_function(method=flr", 1, 30, "expected ',' or ')', found end of line"),
    ("pci_save_state() x", 1, 18, "unexpected 'x'"),
    ("pci_reset_function(method=flr, method=pm)", 1, 32, "duplicated argument 'method'"),
    ("vfio_config_write(offset=0x04, width=2)", 1, 39, "missing argument 'value'"),
    ("vfio_config_write(offset=0x04, width=3, value=0)", 1, 38, "width must be one of 1, 2, 4"),
    ("pci_enable_msix(nvec=8)", 1, 22, "nvec must be in 0..7, not 8"),
    ("vfio_config_write(offset=0x05, width=2, value=0)", 1, 26, "not a multiple of 2"),
    ("pci_assign_bar(bar=1x, slot=0)", 1, 20, "'1x' is not a decimal or 0x-hex integer"),
    ("pci_save_state", 1, 15, "expected '('"),
    ("pci_save_state()\n\n  # c\n   pci_set_power_state(state=d4)", 4, 30, "state must be one of"),
    ("pci_assign_bar(bar=1 slot=0)", 1, 22, "expected ',' or ')', found 's'"),
    ("pci_enable_msix(nvec=)", 1, 22, "expected a value for nvec"),
    ("pci_enable_ats(stu=-1)", 1, 20, "'-1' is not a decimal"),
    ("vfio_config_write(offset=0x1000, width=1, value=0)", 1, 26, "offset must be in 0..4095"),
    ("vfio_config_write(offset=0, width=1, value=0x100000000)", 1, 44, "value must be in"),
    ("pci_reset_function(method)", 1, 26, "expected '='"),
    ("pci_reset_function(method=flr,)", 1, 31, "expected an argument name"),
    ("pci_save_state(x=1)", 1, 16, "no argument 'x'"),
    ("pci_save_state()\n(", 2, 1, "expected an op name"),
]


@pytest.mark.parametrize("text,line,col,fragment", ERRORS, ids=[e[0][:40] for e in ERRORS])
def test_parse_errors_name_line_and_column(text, line, col, fragment):
    with pytest.raises(FzsError) as info:
        parse_program(text, path="repro.fzs")
    err = info.value
    assert (err.path, err.line, err.col) == ("repro.fzs", line, col), str(err)
    assert fragment in err.message
    assert str(err) == f"repro.fzs:{line}:{col}: {err.message}"
    assert isinstance(err, ValueError)


def test_dump_and_load(tmp_path):
    calls = decode(bytes(range(256)))
    path = tmp_path / "sub" / "p.fzs"
    dump_fzs(path, calls)
    assert load_fzs(path) == calls
    assert path.read_text() == format_program(calls)
    assert [p.name for p in path.parent.iterdir()] == ["p.fzs"]   # no temp file left behind


def test_load_error_names_the_file(tmp_path):
    path = tmp_path / "bad.fzs"
    path.write_text("pci_save_state()\npci_reset_function(method=warm)\n")
    with pytest.raises(FzsError) as info:
        load_fzs(path)
    assert str(info.value).startswith(f"{path}:2:27: ")
