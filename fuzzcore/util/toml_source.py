"""TOML files whose errors point at a line.

`tomllib` (stdlib) parses; it does not say where a key came from. `TomlSource` keeps a map from
(table path, occurrence, key) to the line the key stands on, so a loader that rejects a key or a
value can name the file and line. Used by device profiles and policies.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


class TomlError(ValueError):
    def __init__(self, path: str, line: int, message: str):
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}:{line}: {message}")


@dataclass
class TomlSource:
    path: str
    data: dict
    # (table, occurrence index for [[arrays]] else 0) -> {key: line}; table "" is the root
    key_lines: dict = field(default_factory=dict)
    table_lines: dict = field(default_factory=dict)
    lines: list = field(default_factory=list)   # the text, one entry per line (empty if not kept)

    def line_of(self, table: str = "", key: str | None = None, index: int = 0) -> int:
        """The line `key` of `table` stands on, else the table's header line, else 1.

        Keys written in dotted form (`step.tph.gate = ...` under `[restore]`) or as inline tables
        (`tph = { gate = ... }` under `[restore.step]`) are found too: for the former the whole
        dotted key, for the latter the line of the nearest enclosing key.
        """
        parts = table.split(".") if table else []
        tail = [key] if key is not None else []
        if key is not None:
            line = self.key_lines.get((table, index), {}).get(key)
            if line:
                return line
            for cut in range(len(parts) - 1, -1, -1):          # dotted key in an enclosing table
                line = self.key_lines.get((".".join(parts[:cut]), 0), {}).get(".".join(parts[cut:] + tail))
                if line:
                    return line
            line = self.table_lines.get((".".join(parts + tail), 0))   # the key is a [sub.table]
            if line:
                return line
        line = self.table_lines.get((table, index))
        if line:
            return line
        for cut in range(len(parts) - 1, -1, -1):              # inline table / dotted prefix
            keys = self.key_lines.get((".".join(parts[:cut]), 0), {})
            for end in range(len(parts), cut, -1):
                line = keys.get(".".join(parts[cut:end]))
                if line:
                    return line
            line = self.table_lines.get((".".join(parts[:cut]), 0)) if cut else None
            if line:
                return line
        return 1

    def line_of_value(self, table: str, key: str, text: str, index: int = 0, occurrence: int = 1) -> int:
        """The line, within the value of `key`, where the string `text` appears for the
        `occurrence`-th time (quoted either way): for an item of a multi-line array.
        Falls back to the key's line."""
        start = self.line_of(table, key, index)
        if not self.lines or start < 1:
            return start
        later = [n for kl in self.key_lines.values() for n in kl.values() if n > start]
        later += [n for n in self.table_lines.values() if n > start]
        end = min(later, default=len(self.lines) + 1)
        seen = 0
        for lineno in range(start, end):
            body = self.lines[lineno - 1]
            if lineno == start and "=" in body:
                body = body.split("=", 1)[1]
            body = _strip_comment(body)
            seen += body.count(f'"{text}"') + body.count(f"'{text}'")
            if seen >= occurrence:
                return lineno
        return start

    def error(self, message: str, table: str = "", key: str | None = None, index: int = 0) -> TomlError:
        return TomlError(self.path, self.line_of(table, key, index), message)


def _strip_comment(line: str) -> str:
    """`line` without a trailing # comment (a # inside a quoted string is kept)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def _index_lines(text: str) -> tuple[dict, dict]:
    key_lines: dict = {}
    table_lines: dict = {("", 0): 1}
    counts: dict[str, int] = {}
    current = ("", 0)
    in_multiline: str | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        m = _HEADER_RE.match(line)
        if m and not _KEY_RE.match(line):
            name = m.group(2).strip()
            if m.group(1) == "[[":
                idx = counts.get(name, -1) + 1
                counts[name] = idx
            else:
                idx = 0
            current = (name, idx)
            table_lines[current] = lineno
            continue
        k = _KEY_RE.match(line)
        if k:
            key_lines.setdefault(current, {})[k.group(1).strip("\"'")] = lineno
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
    return key_lines, table_lines


def parse_toml(text: str, path: str) -> TomlSource:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise TomlError(path, int(m.group(1)) if m else 1, f"not valid TOML: {e}") from None
    key_lines, table_lines = _index_lines(text)
    return TomlSource(path, data, key_lines, table_lines, text.splitlines())


def load_toml(path: str | Path) -> TomlSource:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TomlError(str(p), 0, f"cannot read: {e}") from None
    return parse_toml(text, str(p))


def check_keys(src: TomlSource, table: str, value: dict, schema: dict, index: int = 0,
               required: tuple = ()) -> None:
    """Reject unknown keys and wrong types; schema maps key -> type or tuple of types."""
    for key, v in value.items():
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise src.error(f"unknown key '{key}' in [{table or 'root'}] (known: {known})", table, key, index)
        want = schema[key]
        ok = isinstance(v, want) and not (isinstance(v, bool) and want in (int, (int,)))
        if not ok:
            names = want.__name__ if isinstance(want, type) else "/".join(t.__name__ for t in want)
            raise src.error(f"key '{key}' in [{table or 'root'}] must be {names}, got {type(v).__name__} {v!r}",
                            table, key, index)
    for key in required:
        if key not in value:
            raise src.error(f"missing key '{key}' in [{table or 'root'}]", table, None, index)
