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

from .text_input import InputError, read_text, split_lines

MAX_NESTING = 32        # arrays / inline tables inside each other (tomllib recurses per level)
MAX_NUMBER_CHARS = 100  # a TOML integer is 64-bit: 20 decimal digits, 64 binary ones
INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


class TomlError(InputError):
    """`file:line: message` (`file: message` when the whole file is meant)."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(path, line, 0, message)


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

    def value_line(self, table: str, key: str, n: int) -> int:
        """The file line of line `n` (1-based) of a string value: a multi-line string starts on
        the key's line, or on the next one when its opening delimiter ends the line (TOML drops
        that newline); a one-line string is all on the key's line."""
        start = self.line_of(table, key)
        raw = self.lines[start - 1] if 0 < start <= len(self.lines) else ""
        value = raw.split("=", 1)[1].lstrip() if "=" in raw else ""
        if value[:3] in ('"""', "'''"):
            first = start + 1 if not value[3:].strip() else start
            return min(first + n - 1, max(len(self.lines), 1))
        return start


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


def _index_lines(text: str, inside: set) -> tuple[dict, dict]:
    """Key and table header lines; `inside` holds the lines that start inside a multi-line string
    (from _check_shape, which reads strings as TOML does), whose text is never a key."""
    key_lines: dict = {}
    table_lines: dict = {("", 0): 1}
    counts: dict[str, int] = {}
    current = ("", 0)
    for lineno, line in enumerate(split_lines(text), start=1):
        if lineno in inside:
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
    return key_lines, table_lines


_LEX_RE = re.compile(r'"""|' + r"'''" + r'''|"|'|#|[\[\]{}\n]|[0-9A-Fa-f_xXoObB+.\-]{%d,}''' % (MAX_NUMBER_CHARS + 1))
_CLOSE_RE = {
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""', re.S),
    "'''": re.compile(r"(?:[^']|'(?!''))*'''", re.S),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"'),
    "'": re.compile(r"[^'\n]*'"),
}


def _check_shape(text: str, path: str) -> set:
    """What tomllib cannot report with a line: nesting deeper than MAX_NESTING (it recurses once
    per level, so a deep enough file is a RecursionError) and numbers too long to be TOML integers
    (Python's int-conversion digit limit, a ValueError). Strings and comments are skipped; an
    unterminated one is left for tomllib to report. Returns the lines that start inside a
    multi-line string."""
    depth, line, pos = 0, 1, 0
    inside: set = set()
    while True:
        m = _LEX_RE.search(text, pos)
        if m is None:
            return inside
        tok = m.group()
        line += text.count("\n", pos, m.start())
        pos = m.end()
        if tok == "\n":
            line += 1
        elif tok in _CLOSE_RE:
            end = _CLOSE_RE[tok].match(text, pos)
            if end is None:
                return inside
            spanned = text.count("\n", pos, end.end())
            inside.update(range(line + 1, line + spanned + 1))
            line += spanned
            pos = end.end()
        elif tok == "#":
            nl = text.find("\n", pos)
            if nl < 0:
                return inside
            pos = nl
        elif tok in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise TomlError(path, line, f"arrays or inline tables nested more than {MAX_NESTING} deep")
        elif tok in "]}":
            depth = max(depth - 1, 0)
        else:
            raise TomlError(path, line, f"a number of {len(tok)} characters: TOML integers are at most 64 bits")


def _int_out_of_range(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and not INT_MIN <= v <= INT_MAX


def _check_ints(src: "TomlSource", table: str, value: dict, index: int = 0) -> None:
    """TOML integers are 64-bit signed (tomllib accepts any size): one that is not is an error at
    its key's line."""
    for key, v in value.items():
        sub = f"{table}.{key}" if table else key
        if _int_out_of_range(v):
            raise src.error(f"'{key}': integer out of the 64-bit range", table, key, index)
        if isinstance(v, dict):
            _check_ints(src, sub, v)
        elif isinstance(v, list):
            stack = list(v)
            while stack:
                item = stack.pop()
                if _int_out_of_range(item):
                    raise src.error(f"'{key}': integer out of the 64-bit range", table, key, index)
                if isinstance(item, list):
                    stack.extend(item)
            for i, item in enumerate(v):
                if isinstance(item, dict):
                    _check_ints(src, sub, item, i)


def parse_toml(text: str, path: str) -> TomlSource:
    inside = _check_shape(text, path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        line = int(m.group(1)) if m else max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
        raise TomlError(path, line, f"not valid TOML: {e}") from None
    except (ValueError, RecursionError) as e:   # what _check_shape is there to catch first
        raise TomlError(path, 1, f"not valid TOML: {e}") from None
    key_lines, table_lines = _index_lines(text, inside)
    src = TomlSource(path, data, key_lines, table_lines, split_lines(text))
    _check_ints(src, "", data)
    return src


def load_toml(path: str | Path) -> TomlSource:
    try:
        text = read_text(path)
    except InputError as e:
        raise TomlError(e.path, e.line, e.message) from None
    return parse_toml(text, str(path))


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
