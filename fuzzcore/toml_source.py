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

    def line_of(self, table: str = "", key: str | None = None, index: int = 0) -> int:
        if key is not None:
            line = self.key_lines.get((table, index), {}).get(key)
            if line:
                return line
        return self.table_lines.get((table, index), 1)

    def error(self, message: str, table: str = "", key: str | None = None, index: int = 0) -> TomlError:
        return TomlError(self.path, self.line_of(table, key, index), message)


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
    return TomlSource(path, data, key_lines, table_lines)


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
