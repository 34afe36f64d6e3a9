"""atheris harness for the device importer. Contract (fuzzcore/device/dump_parser.py, profile.py):
any bytes, in any of the three forms (annotated hexdump, lspci text, raw config), either import
(parse, walk, build a profile that passes the profile check, its TOML loads back to the same
image and capabilities; for one input in 8, by hash, its register semantics build) or raise the importer's own error naming
the input: DumpError / AmbiguousSlotError / ProfileError. Anything else is a crash (libFuzzer
keeps the input as crash-*).

Seeds (tests/fuzz/run.py): the shipped dumps and the built-in devices' raw images.
Run: python tests/fuzz/fuzz_importer.py -max_total_time=600 CORPUS_DIR
"""

import sys
import zlib

import atheris
import numpy  # noqa: F401  (not instrumented: not ours)
import tomllib  # noqa: F401

with atheris.instrument_imports(include=["fuzzcore"]):
    from fuzzcore.device.dump_parser import AmbiguousSlotError, DumpError, parse_dump_bytes
    from fuzzcore.device.profile import ProfileError, loads_profile, profile_from_dump, profile_to_toml
    from fuzzcore.device.profile_check import profile_problem

NAME = "fuzz-input"


def TestOneInput(data: bytes) -> None:
    try:
        dump = parse_dump_bytes(data, NAME)
    except (DumpError, AmbiguousSlotError) as e:
        assert str(e).startswith(NAME), e
        return
    try:
        prof = profile_from_dump("fuzz", dump)
    except ProfileError as e:
        assert str(e).startswith(NAME), e
        return
    assert profile_problem(prof) is None
    back = loads_profile(profile_to_toml(prof), "fuzz.toml")
    assert back.image == prof.image and back.bars == prof.bars
    assert [c.offset for c in back.walk.all] == [c.offset for c in prof.walk.all]
    if zlib.crc32(data) % 8 == 0:
        back.semantics  # masks build for whatever capabilities the walk found (one input in 8)


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
