"""atheris harness for the device-profile loader. Contract (fuzzcore/device/profile.py,
fuzzcore/device/profile_check.py): a profile file with any bytes either loads, as a profile that
passes the profile check, or raises TomlError naming the file and a line of it. A profile that
loads passes the check again; one in 32 of them (chosen by the input's hash, so a crash
reproduces) builds its register semantics and is built into the native engine and the
reference model and runs a few programs that save, reset and restore everything, without an
exception.

Seeds (tests/fuzz/run.py): the built-in profiles, the profiles the importer makes from the
shipped dumps, and 256-byte variants of both.
Run: python tests/fuzz/fuzz_profile.py -max_total_time=600 CORPUS_DIR
"""

import zlib

import atheris
from scratch_file import fuzz, scratch_path
import numpy  # noqa: F401  (not instrumented: not ours)
import tomllib  # noqa: F401

with atheris.instrument_imports(include=["fuzzcore"]):
    from fuzzcore.device.profile import load_profile
    from fuzzcore.device.profile_check import profile_problem
    from fuzzcore.util.toml_source import TomlError

PATH = scratch_path("profile", ".toml")
PROGRAMS = None


def _programs():
    global PROGRAMS
    if PROGRAMS is None:
        import random
        from fuzzcore.program.codec import decode
        from fuzzcore.program.fzs import parse_program
        everything = parse_program("vfio_open()\npci_save_state()\npci_enable_msix(nvec=4)\n"
                                   "vfio_device_reset()\npci_reset_function(method=flr)\npci_restore_state()\n"
                                   "hw_inaccessible()\npci_restore_state()\n")
        PROGRAMS = [everything] + [decode(random.Random(s).randbytes(8 * 24)) for s in range(4)]
    return PROGRAMS


def TestOneInput(data: bytes) -> None:
    with open(PATH, "wb") as f:
        f.write(data)
    try:
        prof = load_profile(PATH)
    except TomlError as e:
        assert e.path == PATH and str(e).startswith(f"{PATH}:{e.line}: "), e
        assert 1 <= e.line <= data.count(b"\n") + 1, e
        return
    assert profile_problem(prof) is None
    if zlib.crc32(data) % 32 == 0:
        prof.semantics
        from fuzzcore.engine import Engine
        from fuzzcore.model.machine import Model
        from fuzzcore.policy import load_policy
        from fuzzcore.program.codec import encode
        pol = load_policy("linux-7.1")
        engine, model = Engine(prof, pol), Model(prof, pol)
        for calls in _programs():
            engine.run(encode(calls))
            model.run(calls)


def main() -> None:
    fuzz(TestOneInput, PATH)


if __name__ == "__main__":
    main()
