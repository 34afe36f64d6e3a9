"""Write a file so that readers see either the old file or the whole new one, never a part.

Temp file in the same directory, fsync, rename over the target (POSIX rename is atomic), fsync
the directory so the rename itself survives a crash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
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


def clear_temps(directory: str | Path, names) -> int:
    """Remove what `temp_files` finds: a tool calls this for its own targets when it starts, so a
    killed run's temp files go with the next run. Returns how many were removed."""
    n = 0
    for p in temp_files(directory, names):
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n
