"""Read PCI config-space dumps in the three forms users have at hand.

1. Annotated hexdump: `# source: ...` (and other `#` lines), then `OO: xx xx ...` lines.
2. Plain `lspci -x/-xxx/-xxxx` output: a `[DDDD:]BB:DD.F description` line per device, then its
   hexdump; many devices may share one file (select one with `slot`).
3. A raw binary sysfs `config` file of 64, 256 or 4096 bytes.

Every error names the file, line and column (or byte offset for binary input) and is raised
before anything is returned, so callers never see half a device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..util.text_input import InputError, read_bytes, split_lines

VALID_SIZES = (64, 256, 4096)
_SLOT_RE = re.compile(r"^((?:[0-9a-fA-F]{4,8}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+(.*)$")
_OFFSET_RE = re.compile(r"^([0-9a-fA-F]{2,3}):")


class DumpError(InputError):
    """Bad input, located: `file:line:col: message` (col 0 when the whole line is meant, line 0
    when the whole file is)."""


class BinaryDumpError(DumpError):
    def __init__(self, path: str, offset: int, message: str):
        self.offset = offset
        ValueError.__init__(self, f"{path}: offset 0x{offset:x}: {message}")
        self.path, self.line, self.col, self.message = path, 0, 0, message


class AmbiguousSlotError(ValueError):
    """A multi-device lspci file and no (or an unknown) slot: lists what is there."""

    def __init__(self, path: str, slots: list[tuple[str, str]], wanted: str | None):
        self.path, self.slots = path, slots
        listing = "\n".join(f"  {s}  {d}" for s, d in slots)
        head = (f"{path}: no device at slot {wanted}" if wanted
                else f"{path}: holds {len(slots)} devices; choose one with --slot")
        super().__init__(f"{head}:\n{listing}")


@dataclass(frozen=True)
class ParsedDump:
    image: bytes          # as many bytes as the dump holds: 64, 256 or 4096
    path: str
    source: str = ""      # the `# source:` text, or the lspci description line
    slot: str = ""
    notes: tuple[str, ...] = ()
    row_lines: tuple[int, ...] = ()   # text dumps: the line of each 16-byte row (empty for binary)

    @property
    def size(self) -> int:
        return len(self.image)

    def where(self, offset: int) -> str:
        """`path:line` of config offset `offset` in a text dump, `path: offset 0x...` in a binary one."""
        if 0 <= offset // 16 < len(self.row_lines):
            return f"{self.path}:{self.row_lines[offset // 16]}"
        return f"{self.path}: offset 0x{offset:x}"


@dataclass
class _Block:
    """One device's hexdump while it is being read."""
    first_line: int
    slot: str = ""
    description: str = ""
    source: str = ""
    notes: list | None = None
    data: bytearray | None = None
    last_line: int = 0
    row_lines: list | None = None


_WELL_FORMED_RE = re.compile(r"([0-9a-fA-F]{2,3}):((?:[ \t]+[0-9a-fA-F]{2}){16})[ \t]*")


def _parse_hex_line(path: str, lineno: int, text: str, expected_offset: int, out: bytearray) -> None:
    fast = _WELL_FORMED_RE.fullmatch(text)
    if fast and int(fast.group(1), 16) == expected_offset:   # the common case, without the walk below
        out += bytes.fromhex(fast.group(2).replace("\t", " "))
        return
    m = _OFFSET_RE.match(text)
    if not m:
        raise DumpError(path, lineno, 1, f"expected a hex offset like '{expected_offset:02x}:', got {text[:12]!r}")
    offset = int(m.group(1), 16)
    if offset != expected_offset:
        raise DumpError(path, lineno, 1,
                        f"offset 0x{offset:x} out of order: expected 0x{expected_offset:x} (lines must be contiguous, ascending, 16 bytes each)")
    col = m.end() + 1  # 1-based column just after the colon
    rest = text[m.end():]
    count = 0
    i = 0
    while i < len(rest):
        ch = rest[i]
        if ch in " \t":
            i += 1
            continue
        token_start = i
        while i < len(rest) and rest[i] not in " \t":
            i += 1
        token = rest[token_start:i]
        column = col + token_start
        if count == 16:
            raise DumpError(path, lineno, column, f"more than 16 bytes on the line at offset 0x{offset:x}")
        if len(token) != 2 or any(c not in "0123456789abcdefABCDEF" for c in token):
            bad = next((k for k, c in enumerate(token) if c not in "0123456789abcdefABCDEF"), 0)
            raise DumpError(path, lineno, column + bad, f"not a hex byte: {token!r}")
        out.append(int(token, 16))
        count += 1
    if count != 16:
        raise DumpError(path, lineno, len(text) + 1,
                        f"short line: {count} bytes at offset 0x{offset:x}, expected 16")


def _finish(path: str, block: _Block) -> ParsedDump:
    data = block.data or bytearray()
    if len(data) not in VALID_SIZES:
        raise DumpError(path, block.last_line or block.first_line, 0,
                        f"dump of {len(data)} bytes: a config dump holds 64, 256 or 4096 bytes")
    return ParsedDump(bytes(data), path, block.source or block.description, block.slot,
                      tuple(block.notes or ()), tuple(block.row_lines or ()))


_ROW = r"[0-9a-fA-F]{2,3}:(?:[ \t]+[0-9a-fA-F]{2}){16}[ \t]*"
_BLOCK_RE = re.compile(rf"(\n?)((?:{_ROW}\n)*{_ROW})\n?")
_ROW_OFFSET_RE = re.compile(r"^([0-9a-fA-F]{2,3}):", re.M)


def _well_formed_block(text: str, path: str) -> list[ParsedDump] | None:
    """A text that is nothing but one device's well-formed hexdump lines (a profile's [config]
    hexdump): read in a few C-level passes. None for anything else (the line-by-line reader
    below then reads it, and reports whatever is wrong)."""
    m = _BLOCK_RE.fullmatch(text)
    if m is None:
        return None
    body = m.group(2)
    offsets = _ROW_OFFSET_RE.findall(body)
    if len(offsets) * 16 not in VALID_SIZES or [int(o, 16) for o in offsets] != list(range(0, 16 * len(offsets), 16)):
        return None
    first = 2 if m.group(1) else 1
    data = bytes.fromhex(_ROW_OFFSET_RE.sub("", body))
    return [ParsedDump(data, path, "", "", (), tuple(range(first, first + len(offsets))))]


def parse_text(text: str, path: str = "<text>") -> list[ParsedDump]:
    """Parse annotated or lspci text; returns one ParsedDump per device found."""
    fast = _well_formed_block(text, path)
    if fast is not None:
        return fast
    blocks: list[_Block] = []
    current: _Block | None = None
    pending_comments: list[tuple[int, str]] = []
    for lineno, raw in enumerate(split_lines(text), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.startswith("#"):
            pending_comments.append((lineno, line[1:].strip()))
            continue
        slot_m = _SLOT_RE.match(line)
        if slot_m:
            current = _Block(first_line=lineno, slot=slot_m.group(1), description=slot_m.group(2).strip())
            blocks.append(current)
            continue
        off_m = _OFFSET_RE.match(line)
        # A hexdump restarting at offset 0 without a slot line begins the next device.
        if current is None or (off_m and int(off_m.group(1), 16) == 0 and current.data):
            current = _Block(first_line=lineno)
            blocks.append(current)
        if pending_comments and current.data is None:
            for _, c in pending_comments:
                if c.lower().startswith("source:"):
                    current.source = c.split(":", 1)[1].strip()
                else:
                    current.notes = (current.notes or []) + [c]
        pending_comments = []
        if current.data is None:
            current.data = bytearray()
            current.row_lines = []
        _parse_hex_line(path, lineno, line.strip(), len(current.data), current.data)
        current.row_lines.append(lineno)
        current.last_line = lineno
    if not blocks:
        raise DumpError(path, 1, 0, "no hexdump found (expected 'OO: xx xx ...' lines)")
    for b in blocks:
        if not b.data:
            raise DumpError(path, b.first_line, 0, f"device {b.slot or '?'} has no hexdump lines")
    return [_finish(path, b) for b in blocks]


def parse_binary(data: bytes, path: str = "<binary>") -> ParsedDump:
    if len(data) not in VALID_SIZES:
        raise BinaryDumpError(path, len(data),
                              f"raw config file of {len(data)} bytes: expected 64, 256 or 4096")
    return ParsedDump(bytes(data), path, "raw sysfs config", "")


def _first_line(data: bytes) -> str:
    for raw in data.split(b"\n"):
        line = raw.decode("latin-1").strip()
        if line:
            return line
    return ""


def _looks_binary(data: bytes) -> bool:
    """Text or binary, by content: a text dump's first non-blank line is a `#` comment, an offset
    (`00:`) or an lspci slot line, whatever bytes its descriptions hold (`Intel®`). A raw config
    file of a valid size is binary when it holds a NUL byte (a text dump never does) or does not
    start like text."""
    first = _first_line(data)
    textual = bool(first.startswith("#") or _OFFSET_RE.match(first) or _SLOT_RE.match(first))
    if len(data) in VALID_SIZES and (b"\x00" in data or not textual):
        return True
    return not textual


def _decode_text(data: bytes) -> str:
    """Text dumps are ASCII but for descriptions; a byte that is not UTF-8 there reads as U+FFFD."""
    return data.decode("utf-8", errors="replace")


def select_slot(dumps: list[ParsedDump], path: str, slot: str | None) -> ParsedDump:
    if slot is None:
        if len(dumps) == 1:
            return dumps[0]
        raise AmbiguousSlotError(path, [(d.slot or "?", d.source) for d in dumps], None)
    want = slot.lower()
    for d in dumps:
        s = d.slot.lower()
        if s == want or s.endswith(":" + want) or want.endswith(":" + s):
            return d
    raise AmbiguousSlotError(path, [(d.slot or "?", d.source) for d in dumps], slot)


def parse_dump_bytes(data: bytes, path: str = "<input>", slot: str | None = None) -> ParsedDump:
    """Parse any of the three forms from bytes."""
    if _looks_binary(data):
        if len(data) not in VALID_SIZES and b"\x00" not in data:
            raise BinaryDumpError(path, len(data), f"neither a text dump (its first line is not a '#' comment, an "
                                           f"'OO:' offset or an lspci slot line) nor a raw config file "
                                           f"({len(data)} bytes; a raw config holds 64, 256 or 4096)")
        return parse_binary(data, path)
    return select_slot(parse_text(_decode_text(data), path), path, slot)


def parse_dump_file(path: str | Path, slot: str | None = None) -> ParsedDump:
    return parse_dump_bytes(_read(path), str(path), slot)


def _read(path: str | Path) -> bytes:
    try:
        return read_bytes(path)
    except InputError as e:
        raise DumpError(e.path, 0, 0, e.message) from None


def list_slots(path: str | Path) -> list[tuple[str, str]]:
    data = _read(path)
    if _looks_binary(data):
        return [("", "raw sysfs config")]
    return [(d.slot, d.source) for d in parse_text(_decode_text(data), str(path))]
