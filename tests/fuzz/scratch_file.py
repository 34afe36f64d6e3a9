"""What the file-parser harnesses share: the parsers under test read files, so each input is
written to a per-process scratch file (in /dev/shm where there is one: no disk traffic per input).
libFuzzer ends the process with exit() from C, which skips Python's `finally` blocks, so the file
is removed after every input rather than when the loop ends."""

import os
import sys
import tempfile


def scratch_path(name: str, suffix: str) -> str:
    base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    return os.path.join(base, f"fuzz-{name}-{os.getpid()}{suffix}")


def fuzz(test_one_input, path: str) -> None:
    """atheris's main loop on `test_one_input`, removing the scratch file after each input."""
    import atheris

    def one_input(data: bytes) -> None:
        try:
            test_one_input(data)
        finally:
            if os.path.exists(path):
                os.unlink(path)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
