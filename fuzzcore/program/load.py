"""Load a program from a file: `.fzs` text, or the binary encoding (anything else)."""

from __future__ import annotations

from pathlib import Path

from ..util.text_input import read_bytes
from .codec import Call, decode
from .fzs import load_fzs


def load_program(path: str | Path) -> list[Call]:
    """Raises InputError (a ValueError: FzsError for `.fzs`) naming the file for anything wrong
    with it; any bytes decode as a binary program."""
    p = Path(path)
    if p.suffix == ".fzs":
        return load_fzs(p)
    return decode(read_bytes(p))
