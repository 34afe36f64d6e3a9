"""What the file-parser harnesses share: the parsers under test read files, so each input is
written to a per-process scratch file (in /dev/shm where there is one: no disk traffic per input),
and the libFuzzer loop removes that file however it ends."""

import os
import sys
import tempfile


def scratch_path(name: str, suffix: str) -> str:
    base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    return os.path.join(base, f"fuzz-{name}-{os.getpid()}{suffix}")


def fuzz(test_one_input, path: str) -> None:
    """atheris's main loop on `test_one_input`, then remove the scratch file."""
    import atheris
    atheris.Setup(sys.argv, test_one_input)
    try:
        atheris.Fuzz()
    finally:
        if os.path.exists(path):
            os.unlink(path)
