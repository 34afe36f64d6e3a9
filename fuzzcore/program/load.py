"""Load a program from a file: `.fzs` text, or the binary encoding (anything else)."""

from __future__ import annotations

from pathlib import Path

from .codec import Call, decode
from .fzs import load_fzs


def load_program(path: str | Path) -> list[Call]:
    p = Path(path)
    if p.suffix == ".fzs":
        return load_fzs(p)
    return decode(p.read_bytes())
