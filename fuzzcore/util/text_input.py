"""Reading user files the same way everywhere: one wording per kind of error, lines counted
only at `\\n`.

Every reader of a user file (profiles, policies, dumps, `.fzs` programs, findings) goes through
`read_bytes` / `read_text`, so a missing file, a directory, or bytes that are not UTF-8 read the
same under every command:

    PATH: no such file or directory
    PATH: is a directory
    PATH:LINE:COL: not UTF-8 text (byte 0xae)

Line numbers count `\\n` only (a `\\r` before it is part of the line break); `\\v`, `\\f`,
U+2028 and the other characters `str.splitlines` breaks at are ordinary characters, so a line
number printed by fuzzcore is the one an editor or `sed -n Np` shows.
"""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input, located: `path:line:col: message`, `path:line: message` or `path: message`
    (line/col 0 when not known or not meaningful)."""

    def __init__(self, path: str, line: int, col: int, message: str):
        self.path, self.line, self.col, self.message = str(path), line, col, message
        super().__init__(located(self.path, line, col, message))


def located(path: str, line: int, col: int, message: str) -> str:
    where = str(path)
    if line:
        where += f":{line}"
        if col:
            where += f":{col}"
    return f"{where}: {message}"


def cannot_read(path, exc: OSError) -> InputError:
    """`PATH: no such file or directory` (the OS's reason, lower case)."""
    why = exc.strerror or str(exc)
    return InputError(str(path), 0, 0, why[:1].lower() + why[1:])


def missing_file(path) -> str:
    """The one wording for a path that is not there."""
    return f"{path}: no such file or directory"


def read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise cannot_read(path, e) from None


def decode_utf8(data: bytes, path: str) -> str:
    """`data` as UTF-8 text, or an InputError at the line and column of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise InputError(path, line, col, f"not UTF-8 text (byte 0x{data[e.start]:02x})") from None


def read_text(path: str | Path) -> str:
    return decode_utf8(read_bytes(path), str(path))


def split_lines(text: str) -> list[str]:
    """The lines of `text`, broken at `\\n` only (a trailing `\\r` is dropped with it); like
    str.splitlines, a final line break does not start another line."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
