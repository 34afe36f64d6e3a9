"""atheris harness for the device importer: any bytes, in any of the three forms, must either
import (parse, walk, build a profile, its TOML loads back) or raise the importer's own clear error.

Run: python tests/fuzz/fuzz_importer.py -max_total_time=600 tests/fuzz/importer_corpus
Any other exception is a crash (libFuzzer keeps the input as crash-*)."""

import sys

import atheris

with atheris.instrument_imports():
    from fuzzcore.device.dump_parser import AmbiguousSlotError, DumpError, parse_dump_bytes
    from fuzzcore.device.profile import ProfileError, loads_profile, profile_from_dump, profile_to_toml


def TestOneInput(data: bytes) -> None:
    try:
        dump = parse_dump_bytes(data, "fuzz-input")
    except (DumpError, AmbiguousSlotError):
        return
    try:
        prof = profile_from_dump("fuzz", dump)
    except ProfileError:
        return
    prof.walk  # the capability walk must terminate and not raise
    back = loads_profile(profile_to_toml(prof), "fuzz.toml")
    assert back.image == prof.image
    back.semantics  # masks build for whatever capabilities the walk found


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
