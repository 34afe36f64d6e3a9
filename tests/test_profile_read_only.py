"""A profile's [[read_only]] entries: bits a function implements read-only where the specification
makes them writable (an emulated device's deviation). Both models read the masks from the profile,
so a write leaves those bits as the image has them, a reset too; bad entries are file:line errors."""

import dataclasses

import pytest

from both_models import both, model  # noqa: F401  (fixture `both`: a test on both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.device.profile import loads_profile, profile_to_toml
from fuzzcore.model.caps import cap_offsets
from fuzzcore.program.fzs import parse_program
from fuzzcore.util.text_input import InputError

E1000E = "corpora/validation/profiles/e1000e.toml"


def test_read_only_bits_keep_the_image_value_through_writes_and_resets(both):
    """The kit's e1000e: QEMU gives DEVCTL's error-reporting enables no write mask, so neither
    pci_aer_init's enable at enumeration nor a user's write through vfio reaches them."""
    prof = resolve_device(E1000E)
    exp = cap_offsets(prof).exp
    assert (exp + 8, 2, 0xF) == prof.read_only[0][:3]
    m = model("linux-7.1", E1000E)
    assert m.state.hw.read(exp + 8, 2) & 0xF == 0           # enumeration's enable did not stick
    for call in parse_program(f"vfio_open()\nvfio_config_write(offset={exp + 8:#x}, width=2, value=0x000f)\n"
                              "vfio_device_reset()\n"):
        m.apply(call)
    assert m.state.hw.read(exp + 8, 2) & 0xF == 0
    # without the entry the same function takes them (the register tables' RW)
    plain = dataclasses.replace(prof, read_only=())
    assert plain.semantics.wmask[exp + 8] & 0xF == 0xF
    assert prof.semantics.wmask[exp + 8] & 0xF == 0 and all(prof.semantics.keep[k][exp + 8] & 0xF == 0xF
                                                            for k in prof.semantics.keep)


def test_read_only_entries_round_trip_through_the_writer():
    prof = resolve_device(E1000E)
    again = loads_profile(profile_to_toml(prof), "again.toml")
    assert again.read_only == prof.read_only


@pytest.mark.parametrize("entry, says", [
    ("offset = 0xe9\nwidth = 2\nmask = 0xf\nreason = \"x\"", "expected an aligned"),
    ("offset = 0xe8\nwidth = 3\nmask = 0xf\nreason = \"x\"", "expected an aligned"),
    ("offset = 0xe8\nwidth = 2\nmask = 0x10000\nreason = \"x\"", "does not fit width 2"),
    ("offset = 0xe8\nwidth = 2\nmask = 0xf", "missing key 'reason'"),
    ("offset = 0xe8\nwidth = 2\nmask = 0xf\nreason = \"x\"\nwhy = \"y\"", "unknown key 'why'"),
])
def test_a_bad_read_only_entry_is_a_located_error(entry, says):
    text = profile_to_toml(resolve_device(E1000E))
    head, tail = text.split("[[read_only]]", 1)
    tail = tail.split("\n\n", 1)[1]
    bad = head + "[[read_only]]\n" + entry + "\n\n" + tail
    line = bad.splitlines().index("[[read_only]]") + 1
    with pytest.raises(InputError) as e:
        loads_profile(bad, "bad.toml")
    assert says in str(e.value) and str(e.value).startswith("bad.toml:"), str(e.value)
    assert int(str(e.value).split(":")[1]) >= line
