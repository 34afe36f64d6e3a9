"""What a loaded file is, for caches of things built from files: its resolved path and a digest
of its bytes (a file rewritten within the file system's timestamp granularity still differs)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_identity(path: Path) -> tuple[str, bytes]:
    return str(path.resolve()), hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
