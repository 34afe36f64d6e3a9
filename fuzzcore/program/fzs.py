"""The `.fzs` text form of a program: one call per line, for humans and for checked-in reproducers.

    # comments and blank lines are ignored (and not preserved)
    pci_save_state()
    pci_reset_function(method=flr)
    vfio_config_write(offset=0x04, width=2, value=0x06)

Args may come in any order but all are required (a silent default would hide typos). Values:
enum args by name; int/hex args in decimal or 0x-hex. The formatter prints table order, ints in
decimal, hex args as 0x with at least two digits, so format(parse(t)) is a fixed point and
parse(format(calls)) == calls. Every parse error is an FzsError naming path:line:col (1-based),
the column pointing at the offending token.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Iterable

from ..util.atomic_write import atomic_write_text
from ..util.text_input import InputError, read_text, split_lines
from .codec import Call, Value, arg_alignment, check_value
from .op_table import OP_INDEX, OPS, Arg

__all__ = ["FzsError", "format_call", "format_program", "parse_program", "load_fzs", "dump_fzs"]


class FzsError(InputError):
    """`path:line:col: message` (line and col 1-based; 0 when not meaningful, e.g. a missing file)."""


# ---- formatting -------------------------------------------------------------------------------

def _format_value(arg: Arg, value: Value) -> str:
    if arg.kind == "enum":
        return str(value)
    if arg.kind == "hex":
        return f"0x{value:02x}"
    return str(value)


def format_call(call: Call) -> str:
    inner = ", ".join(f"{n}={_format_value(a, v)}" for a, (n, v) in zip(call.op.args, call.args))
    return f"{call.name}({inner})"


def format_program(calls: Iterable[Call]) -> str:
    return "".join(format_call(c) + "\n" for c in calls)


# ---- parsing ----------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VALUE = re.compile(r"[^\s,()#=]+")          # a value token runs to the next delimiter
_INT = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")
_WS = re.compile(r"[ \t]*")
MAX_INT_CHARS = 24       # every argument fits 64 bits: 20 decimal digits, 0x + 16 hex digits


class _Line:
    """A cursor over one line that raises FzsError at its position."""

    def __init__(self, text: str, path: str, lineno: int):
        self.text, self.path, self.lineno, self.pos = text, path, lineno, 0

    def error(self, message: str, pos: int | None = None) -> FzsError:
        return FzsError(self.path, self.lineno, (self.pos if pos is None else pos) + 1, message)

    def skip_ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()

    def at_end(self) -> bool:
        """True at end of line or at a trailing comment."""
        return self.pos >= len(self.text) or self.text[self.pos] == "#"

    def peek(self) -> str:
        return "" if self.at_end() else self.text[self.pos]

    def expect(self, ch: str, what: str) -> int:
        self.skip_ws()
        if self.peek() != ch:
            found = "end of line" if self.at_end() else repr(self.text[self.pos])
            raise self.error(f"expected {what}, found {found}")
        self.pos += 1
        return self.pos - 1

    def token(self, pattern: re.Pattern, what: str) -> tuple[str, int]:
        self.skip_ws()
        m = pattern.match(self.text, self.pos)
        if self.at_end() or not m:
            found = "end of line" if self.at_end() else repr(self.text[self.pos])
            raise self.error(f"expected {what}, found {found}")
        self.pos = m.end()
        return m.group(), m.start()


def _parse_value(ln: _Line, op_name: str, arg: Arg) -> Value:
    text, start = ln.token(_VALUE, f"a value for {arg.name}")
    if arg.kind == "enum":
        value: Value = text
    elif len(text) > MAX_INT_CHARS:
        raise ln.error(f"{arg.name}: a value of {len(text)} characters (at most {MAX_INT_CHARS})", start)
    elif _INT.fullmatch(text):
        value = int(text, 0) if text[:2].lower() == "0x" else int(text, 10)
    else:
        raise ln.error(f"{arg.name}: {text!r} is not a decimal or 0x-hex integer", start)
    why = check_value(arg, value)
    if why:
        raise ln.error(f"{op_name}: {why}", start)
    return value


def _did_you_mean(name: str, names) -> str:
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _parse_call(ln: _Line) -> Call:
    name, name_pos = ln.token(_IDENT, "an op name")
    if name not in OP_INDEX:
        raise ln.error(f"unknown op {name!r}{_did_you_mean(name, OP_INDEX)}", name_pos)
    spec = {a.name: a for a in OPS[OP_INDEX[name]].args}
    values: dict[str, Value] = {}
    value_pos: dict[str, int] = {}
    ln.expect("(", "'('")
    ln.skip_ws()
    if ln.peek() != ")":
        while True:
            arg_name, arg_pos = ln.token(_IDENT, "an argument name")
            if arg_name not in spec:
                known = ", ".join(spec) or "none"
                raise ln.error(f"{name} has no argument {arg_name!r}{_did_you_mean(arg_name, spec)} "
                               f"(arguments: {known})", arg_pos)
            if arg_name in values:
                raise ln.error(f"duplicated argument {arg_name!r}", arg_pos)
            ln.expect("=", "'='")
            ln.skip_ws()
            value_pos[arg_name] = ln.pos
            values[arg_name] = _parse_value(ln, name, spec[arg_name])
            ln.skip_ws()
            if ln.peek() != ",":
                break
            ln.pos += 1
    close = ln.expect(")", "',' or ')'")
    missing = [a for a in spec if a not in values]
    if missing:
        raise ln.error(f"{name}: missing argument {missing[0]!r}", close)
    align = arg_alignment(name, values)
    if align and values[align[0]] % align[1]:
        arg_name, step = align
        raise ln.error(f"{name}: {arg_name} 0x{values[arg_name]:02x} is not a multiple of {step}",
                       value_pos[arg_name])
    ln.skip_ws()
    if not ln.at_end():
        raise ln.error(f"unexpected {ln.text[ln.pos]!r} after the call")
    return Call.of(name, **values)


def parse_program(text: str, path: str = "<fzs>") -> list[Call]:
    calls = []
    for lineno, line in enumerate(split_lines(text), start=1):
        ln = _Line(line, str(path), lineno)
        ln.skip_ws()
        if not ln.at_end():
            calls.append(_parse_call(ln))
    return calls


def load_fzs(path: str | Path) -> list[Call]:
    """Raises FzsError for anything wrong with the file, reading and decoding included."""
    try:
        text = read_text(path)
    except InputError as e:
        raise FzsError(e.path, e.line, e.col, e.message) from None
    return parse_program(text, str(path))


def dump_fzs(path: str | Path, calls: Iterable[Call]) -> None:
    atomic_write_text(path, format_program(calls))
