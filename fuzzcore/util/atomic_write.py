"""Write a file so that readers see either the old file or the whole new one, never a part.

Temp file in the same directory, fsync, rename over the target (POSIX rename is atomic), fsync
the directory so the rename itself survives a crash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


STALE_SECONDS = 60.0   # an older temp file of the same target is a killed write's, not a live one


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Whole or not at all. A temp file that a killed earlier write of the same target left (older
    than STALE_SECONDS: a live concurrent write takes milliseconds) is removed first, so every
    tool's leftovers go the next time it writes that file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clear_temps(target.parent, (target.name,), STALE_SECONDS)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def temp_files(directory: str | Path, names) -> list[Path]:
    """The temp files an atomic write of `directory/NAME` leaves when killed between creating
    its temp file and the rename (`.NAME.XXXXXXXX.tmp`), for each NAME in `names`."""
    import glob
    d = Path(directory)
    out: list[Path] = []
    for name in names:
        out += sorted(d.glob(f".{glob.escape(name)}.*.tmp"))
    return out


def clear_temps(directory: str | Path, names, min_age: float = 0.0) -> int:
    """Remove what `temp_files` finds (those at least `min_age` seconds old): a tool calls this
    for its own targets when it starts, so a killed run's temp files go with the next run.
    Returns how many were removed."""
    import time
    n, now = 0, time.time()
    for p in temp_files(directory, names):
        try:
            if min_age <= 0 or now - p.stat().st_mtime >= min_age:
                p.unlink()
                n += 1
        except OSError:
            pass
    return n
