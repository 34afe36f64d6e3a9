"""Bad input is a located error (exit 2), never a traceback (issue #16, the nine exceptions).

Profiles here are built from the shipped ones with one capability moved to the end of config
space; `profile_text` writes them through profile_to_toml, so the loader sees an ordinary file.
"""

import random
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from fuzzcore.device.builtin import resolve_device
from fuzzcore.device.capability_walk import walk_capabilities
from fuzzcore.device.dump_parser import parse_dump_bytes
from fuzzcore.device.profile import ProfileError, loads_profile, profile_from_dump
from fuzzcore.device.profile_check import capability_extent, _ctx
from fuzzcore.device.register_semantics import BarInfo
from fuzzcore.policy import load_policy
from fuzzcore.program.codec import decode
from fuzzcore.program.fzs import FzsError, parse_program
from fuzzcore.util.toml_source import TomlError, parse_toml

ROOT = Path(__file__).parent.parent
BUILTINS = ("i350", "fiji", "dsa", "cnl-rootport", "plx-8532", "wifi-7265", "cnvi-wifi", "nic-82576")


def fz(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def _template(cap_id: int, extended: bool):
    """(profile, capability) of the first built-in device that has this capability."""
    for name in BUILTINS:
        prof = resolve_device(name)
        cap = prof.walk.find(cap_id, extended)
        if cap is not None:
            return prof, cap
    raise LookupError(cap_id)


def with_ext_cap(cap_id: int, at: int, body_from: int | None = None, base: str = "i350") -> bytes:
    """`base`'s image with the extended list replaced by [a null header at 0x100 -> cap_id at `at`];
    the capability's body is copied from a built-in device that has capability `body_from`."""
    src_prof, src = _template(body_from if body_from is not None else cap_id, True)
    img = bytearray(resolve_device(base).image)
    img[0x100:0x104] = struct.pack("<I", at << 20)
    length = min(capability_extent(_ctx(src_prof), src), 4096 - at)
    body = bytearray(src_prof.image[src.offset:src.offset + length])
    body[0:4] = struct.pack("<I", cap_id | (src.version << 16))      # next = 0: the last one
    img[at:at + len(body)] = body
    return bytes(img)


def with_std_cap(cap_id: int, at: int, size: int = 256, base: str = "i350") -> bytes:
    """`base`'s first `size` bytes with the standard list replaced by [cap_id at `at`]."""
    src_prof, src = _template(cap_id, False)
    img = bytearray(resolve_device(base).image[:size])
    img[0x34] = at
    body = bytearray(src_prof.image[src.offset:src.offset + min(64, size - at)])
    body[1] = 0
    img[at:at + len(body)] = body
    return bytes(img)


def profile_text(image: bytes, bars=None, upstream="") -> str:
    """A profile file for `image` (BAR0 1 MiB and BAR3 16 KiB, i350's, unless `bars` says)."""
    bars = bars if bars is not None else [BarInfo(0, "mem32", 0x100000), BarInfo(3, "mem32", 0x4000)]
    out = ["[device]", 'name = "t"', 'description = "test"', f'upstream_port = "{upstream}"']
    for b in bars:
        out += ["", "[[bars]]", f"index = {b.index}", f'kind = "{b.kind}"', f"size = {b.size:#x}"]
    width = 3 if len(image) > 256 else 2
    out += ["", "[config]", f"size = {len(image)}", 'hexdump = """']
    out += [f"{off:0{width}x}: " + " ".join(f"{x:02x}" for x in image[off:off + 16]) for off in range(0, len(image), 16)]
    return "\n".join(out) + '"""\n'


def load_error(text: str, path="p.toml") -> TomlError:
    with pytest.raises(TomlError) as e:
        loads_profile(text, path)
    return e.value


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.split("\n"), 1) if ln.startswith(needle))


# --- 1. RecursionError on deep nesting ----------------------------------------------------------

@pytest.mark.parametrize("kind", ["profile", "policy"])
def test_deeply_nested_arrays_are_a_located_error(tmp_path, kind):
    deep = "x = " + "[" * 5000 + "]" * 5000 + "\n"
    f = tmp_path / "deep.toml"
    f.write_text("# a comment\n" + deep)
    cmd = ("device", "show", f) if kind == "profile" else ("run", "--policy", f"linux-7.1+{f}", tmp_path / "p.fzs")
    (tmp_path / "p.fzs").write_text("pci_save_state()\n")
    r = fz(*cmd)
    assert r.returncode == 2, r.stderr
    assert f"{f}:2: arrays or inline tables nested more than 32 deep" in r.stderr
    assert "Traceback" not in r.stderr
    assert parse_toml("x = " + "[" * 32 + "]" * 32, "ok.toml").data   # the limit itself is fine


# --- 2. a capability at 0xFC of a 256-byte config ---------------------------------------------

def test_capability_at_0xfc_of_a_256_byte_config(tmp_path):
    img = with_std_cap(0x11, 0xFC)                       # MSI-X: 12 bytes from 0xFC
    text = profile_text(img)
    e = load_error(text)
    assert e.line == line_of(text, "f0:") and "capability MSI-X at 0x0fc" in e.message
    assert "past the end of the 256-byte config image" in e.message
    f = tmp_path / "p.toml"
    f.write_text(text)
    r = fz("device", "show", f)
    assert r.returncode == 2 and f"{f}:{e.line}: [config] hexdump: " in r.stderr, r.stderr
    dump = tmp_path / "d.bin"
    dump.write_bytes(img)
    r = fz("device", "import", dump)
    assert r.returncode == 2 and f"{dump}: offset 0xfc: " in r.stderr and "MSI-X" in r.stderr, r.stderr


# --- 3. an extended capability at 0xFFC (ReBAR) ------------------------------------------------

def test_rebar_at_0xffc_is_refused_by_loader_and_importer(tmp_path):
    img = with_ext_cap(0x15, 0xFFC)
    text = profile_text(img)
    e = load_error(text)
    assert e.line == line_of(text, "ff0:") and "ReBAR at 0xffc" in e.message
    dump = tmp_path / "d.txt"
    dump.write_text("# source: test\n" + text.split('hexdump = """\n')[1].split('"""')[0])
    with pytest.raises(ProfileError) as pe:
        profile_from_dump("d", parse_dump_bytes(dump.read_bytes(), str(dump)))
    assert str(pe.value).startswith(f"{dump}:257: ") and "ReBAR" in str(pe.value)
    f = tmp_path / "p.toml"
    f.write_text(text)
    (tmp_path / "x.fzs").write_text("pci_save_state()\n")
    r = fz("run", "--device", f, tmp_path / "x.fzs")
    assert r.returncode == 2 and f"{f}:{e.line}:" in r.stderr and "Traceback" not in r.stderr


# --- 4. sizes that overflow the engine ---------------------------------------------------------

def test_bar_size_2_160_and_msix_offset_2_31_are_refused():
    i350 = resolve_device("i350")
    text = profile_text(i350.image).replace("size = 0x100000", f"size = {2 ** 160:#x}")
    e = load_error(text)
    assert "integer out of the 64-bit range" in e.message and e.line == line_of(text, "size = 0x1" + "0" * 40)
    text = profile_text(i350.image).replace("size = 0x100000", f"size = {2 ** 40:#x}")
    e = load_error(text)
    assert "larger than a mem32 BAR" in e.message and text.split("\n")[e.line - 1].startswith("size = 0x1")
    # MSI-X table at BAR3 + 2 GiB, in a 64-bit BAR big enough to hold it
    img = bytearray(i350.image)
    msix = i350.walk.find(0x11, False).offset
    struct.pack_into("<I", img, msix + 4, (1 << 31) | 3)
    bars = [BarInfo(0, "mem32", 0x100000), BarInfo(2, "mem64", 1 << 33)]
    struct.pack_into("<I", img, msix + 4, (1 << 31) | 2)
    struct.pack_into("<I", img, msix + 8, 2)
    e = load_error(profile_text(bytes(img), bars=bars))
    assert "past 2 GiB" in e.message


# --- 5. an upstream port that does not exist, or is not a port ----------------------------------

def test_unknown_or_non_port_upstream_is_refused(tmp_path):
    i350 = resolve_device("i350")
    for port, why in (("no-such-port", "neither a built-in device"), ("dsa", "is not a port: its PCIe Device/Port Type is rc-endpoint")):
        text = profile_text(i350.image, upstream=port)
        e = load_error(text)
        assert why in e.message and e.line == line_of(text, "upstream_port")
    assert loads_profile(profile_text(i350.image, upstream="cnl-rootport"))
    dump = ROOT / "tests" / "data" / "pciutils-intel-82576-10c9-nic-sriov.txt"
    r = fz("device", "import", dump, "--upstream-port", "nope")
    assert r.returncode == 2 and "upstream port 'nope'" in r.stderr and "--upstream-port" in r.stderr, r.stderr


# --- 6. and 7. capabilities running past the end of config space --------------------------------

EXT_EDGE = [("PTM", 0x1F, None), ("ATS", 0x0F, None), ("PASID", 0x1B, None), ("PRI", 0x13, None),
            ("L1SS", 0x1E, None), ("VC", 0x02, None), ("VC9", 0x09, 0x02), ("MFVC", 0x08, 0x02),
            ("ReBAR", 0x15, None), ("AER", 0x01, None), ("LTR", 0x18, None), ("TPH", 0x17, None),
            ("DPC", 0x1D, None), ("ACS", 0x0D, None), ("ARI", 0x0E, None), ("SR-IOV", 0x10, None)]


@pytest.mark.parametrize("name,cap_id,body", EXT_EDGE, ids=[n for n, _, _ in EXT_EDGE])
def test_extended_capability_past_the_end_is_refused(name, cap_id, body):
    text = profile_text(with_ext_cap(cap_id, 0xFFC, body))
    e = load_error(text)
    assert "past the end of the 4096-byte config image" in e.message and "at 0xffc" in e.message
    assert e.line == line_of(text, "ff0:")


def _last_fitting(cap_id, body):
    for at in range(0xFFC, 0x100, -4):
        img = with_ext_cap(cap_id, at, body)
        try:
            return at, loads_profile(profile_text(img), "edge.toml")
        except TomlError:
            continue
    raise AssertionError("never fits")


PROGRAMS = [decode(random.Random(s).randbytes(8 * 40)) for s in range(25)]


def _run_both_models_without_warnings(prof):
    """Both models run PROGRAMS on `prof` under linux-7.1; a numpy overflow warning is an error."""
    from fuzzcore.engine import Engine
    from fuzzcore.model.machine import Model
    from fuzzcore.program.codec import encode
    pol = load_policy("linux-7.1")
    engine, model = Engine(prof, pol), Model(prof, pol)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for calls in PROGRAMS:
            engine.run(encode(calls))
            model.run(calls)


@pytest.mark.parametrize("name,cap_id,body", EXT_EDGE, ids=[n for n, _, _ in EXT_EDGE])
def test_extended_capability_at_the_last_offset_that_fits_runs_in_both_models(name, cap_id, body):
    """What the check accepts, the models run: the boundary is where the registers end."""
    at, prof = _last_fitting(cap_id, body)
    assert at < 0xFFC
    _run_both_models_without_warnings(prof)


def test_vendor_capability_ending_at_0x100_runs_without_overflow_warnings():
    from fuzzcore.engine import Engine
    from fuzzcore.model.machine import Model
    from fuzzcore.program.codec import encode
    img = bytearray(resolve_device("i350").image)
    # i350's standard list ends at the PCIe capability (0xa0); append a vendor capability at 0xe0
    # with 0x20 bytes, ending exactly at 0x100
    last = resolve_device("i350").walk.standard[-1].offset
    img[last + 1] = 0xE0
    img[0xE0:0xE3] = bytes([0x09, 0x00, 0x20])
    prof = loads_profile(profile_text(bytes(img)), "vndr.toml")
    assert prof.walk.standard[-1].cap_id == 0x09
    img[0xE2] = 0x21
    assert "past the end" in load_error(profile_text(bytes(img[:256]))).message
    pol = load_policy("linux-7.1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = Model(prof, pol)
        engine = Engine(prof, pol)
        for calls in PROGRAMS[:10]:
            calls = parse_program("vfio_open()\nvfio_config_write(offset=0xe4, width=4, value=0x1)\n") + calls
            model.run(calls)
            engine.run(encode(calls))


def test_vc_at_0xffc_is_refused(tmp_path):
    text = profile_text(with_ext_cap(0x02, 0xFFC))
    f = tmp_path / "vc.toml"
    f.write_text(text)
    (tmp_path / "x.fzs").write_text("pci_save_state()\npci_restore_state()\n")
    r = fz("run", "--engine", "reference", "--device", f, tmp_path / "x.fzs")
    assert r.returncode == 2 and f"{f}:{line_of(text, 'ff0:')}: [config] hexdump: extended capability VC at 0xffc" \
        in r.stderr, r.stderr


# --- 8. an MSI-X BIR of 7 ------------------------------------------------------------------------

def test_msix_bir_7_is_refused_by_the_loader():
    i350 = resolve_device("i350")
    img = bytearray(i350.image)
    msix = i350.walk.find(0x11, False).offset
    struct.pack_into("<I", img, msix + 4, 7)
    text = profile_text(bytes(img))
    e = load_error(text)
    assert "BAR indicator 7, which is reserved" in e.message
    assert text.split("\n")[e.line - 1].startswith(f"{msix & ~0xF:03x}:")


# --- 9. 5,000-digit values -----------------------------------------------------------------------

def test_5000_digit_values_are_located_errors(tmp_path):
    (tmp_path / "in").mkdir()
    prog = tmp_path / "in" / "big.fzs"
    prog.write_text("pci_save_state()\nvfio_config_write(offset=0x04, width=2, value=" + "9" * 5000 + ")\n")
    with pytest.raises(FzsError) as e:
        parse_program(prog.read_text(), str(prog))
    assert (e.value.line, e.value.col) == (2, 47)
    r = fz("run", prog)
    assert r.returncode == 2 and f"{prog}:2:47: value: a value of 5000 characters" in r.stderr, r.stderr
    r = fz("cmin", tmp_path / "in", "-o", tmp_path / "out")      # cmin skips an input it cannot read, and says why
    assert r.returncode == 0 and f"skipping {prog}: {prog}:2:47: value: a value of 5000 characters" in r.stderr
    pol = tmp_path / "big.toml"
    pol.write_text((ROOT / "fuzzcore" / "policies" / "no-bar-snapshot-update.toml").read_text()
                   + "\n[reset]\nx = " + "1" * 5000 + "\n")
    (tmp_path / "ok.fzs").write_text("pci_save_state()\n")
    r = fz("run", "--policy", f"linux-7.1+{pol}", tmp_path / "ok.fzs")
    assert r.returncode == 2 and f"{pol}:" in r.stderr and "at most 64 bits" in r.stderr, r.stderr


STD_EDGE = [("PM", 0x01), ("MSI", 0x05), ("MSI-X", 0x11), ("PCIe", 0x10)]


@pytest.mark.parametrize("name,cap_id", STD_EDGE, ids=[n for n, _ in STD_EDGE])
def test_standard_capability_at_the_last_offset_that_fits_runs_in_both_models(name, cap_id):
    """The same for a 256-byte config: the last dword-aligned offset the check accepts runs."""
    for at in range(0xFC, 0x40, -4):
        text = profile_text(with_std_cap(cap_id, at))
        try:
            prof = loads_profile(text, "edge.toml")
            break
        except TomlError as e:
            assert "past the end of the 256-byte config image" in e.message or "MSI-X" in e.message, e
    else:
        raise AssertionError("never fits")
    assert at < 0xFC
    _run_both_models_without_warnings(prof)


def test_hexdump_lines_are_found_whatever_the_strings_around_them_hold():
    """Found by fuzz_profile.py: a key's string holding ''' made the key index take the rest of
    the file for a multi-line string, and an error in the hexdump pointed past the end of it."""
    i350 = resolve_device("i350")
    text = profile_text(i350.image).replace('name = "t"', "name = \"a'''b\"")
    text = text.replace("\n090: ", "\n090: zz ", 1)
    e = load_error(text)
    assert e.line == line_of(text, "090:") and "not a hex byte: 'zz'" in e.message
    same_line = text.replace('hexdump = """\n', 'hexdump = """', 1)        # the first row on the key's line
    assert same_line != text
    e = load_error(same_line)
    assert e.line == line_of(same_line, "090:")
    assert loads_profile(profile_text(i350.image).replace('name = "t"', "name = \"a'''b\"")).name == "a'''b"
