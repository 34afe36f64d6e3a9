"""The byte codec: fuzzer bytes <-> a program (a list of `Call`s).

Total: every byte string decodes. A program is a run of RECORD_SIZE-byte records; byte 0 picks
the op (modulo len(OPS)), then each argument reads its `nbytes` little-endian bytes, reduced modulo
its domain size, in table order. A trailing partial record is ignored, as are unused bytes.

Deletion-stable: a record decodes from its own bytes alone, so removing record i changes no other
call. This is what lets a mutator delete, insert and splice records without side effects.

Canonicalisation (why encode(decode(b)) may differ from b):
- unused argument bytes, and any high bits beyond an argument's domain, become 0;
- vfio_config_write: the offset is aligned down to a multiple of the width, since the kernel
  only accepts naturally aligned config accesses; one canonical form per accepted access keeps
  the corpus free of duplicates the model would treat identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .op_table import OP_INDEX, OPS, RECORD_SIZE, Arg, Op

Value = int | str

__all__ = ["Call", "decode", "decode_record", "encode", "encode_call", "op_index_array",
           "check_value", "arg_alignment", "RECORD_SIZE"]


def arg_alignment(op_name: str, values: dict[str, Value]) -> tuple[str, int] | None:
    """(arg name, required alignment) for ops whose args constrain each other, else None."""
    if op_name == "vfio_config_write":
        return "offset", int(values["width"])
    return None


def check_value(arg: Arg, value: Value) -> str | None:
    """Why `value` is not in `arg`'s domain, or None if it is."""
    if arg.kind == "enum":
        if not isinstance(value, str) or value not in arg.domain:
            return f"{arg.name} must be one of {', '.join(arg.domain)}, not {value!r}"
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{arg.name} must be an integer, not {value!r}"
    if not 0 <= value < arg.domain:
        return f"{arg.name} must be in 0..{arg.domain - 1}, not {value}"
    return None


@dataclass(frozen=True)
class Call:
    """One op call: the op name and its (arg name, value) pairs in table order.

    Enum values are their name (str); int and hex values are int. Construction validates, so every
    Call is canonical and encode/decode round-trip it exactly. Build one with `Call.of(name, **args)`.
    """

    name: str
    args: tuple[tuple[str, Value], ...] = ()

    def __post_init__(self) -> None:
        if self.name not in OP_INDEX:
            raise ValueError(f"unknown op {self.name!r}")
        spec = OPS[OP_INDEX[self.name]].args
        names = tuple(a.name for a in spec)
        if tuple(n for n, _ in self.args) != names:
            raise ValueError(f"{self.name}: args must be exactly {names} in that order")
        for arg, (_, value) in zip(spec, self.args):
            why = check_value(arg, value)
            if why:
                raise ValueError(f"{self.name}: {why}")
        align = arg_alignment(self.name, dict(self.args))
        if align and dict(self.args)[align[0]] % align[1]:
            raise ValueError(f"{self.name}: {align[0]} must be a multiple of {align[1]}")

    @classmethod
    def of(cls, name: str, **args: Value) -> "Call":
        """Build a call from keyword args in any order (all are required)."""
        if name not in OP_INDEX:
            raise ValueError(f"unknown op {name!r}")
        spec = OPS[OP_INDEX[name]].args
        unknown = set(args) - {a.name for a in spec}
        missing = [a.name for a in spec if a.name not in args]
        if unknown or missing:
            raise ValueError(f"{name}: unknown args {sorted(unknown)}, missing args {missing}")
        return cls(name, tuple((a.name, args[a.name]) for a in spec))

    @property
    def op(self) -> Op:
        return OPS[OP_INDEX[self.name]]

    @property
    def index(self) -> int:
        return OP_INDEX[self.name]

    def __getitem__(self, arg_name: str) -> Value:
        for n, v in self.args:
            if n == arg_name:
                return v
        raise KeyError(arg_name)


def decode_record(rec: bytes) -> Call:
    """Decode one record (the first RECORD_SIZE bytes of `rec`; missing bytes read as 0)."""
    rec = bytes(rec[:RECORD_SIZE]).ljust(RECORD_SIZE, b"\0")
    op = OPS[rec[0] % len(OPS)]
    pos = 1
    values: dict[str, Value] = {}
    for arg in op.args:
        raw = int.from_bytes(rec[pos:pos + arg.nbytes], "little") % arg.size
        values[arg.name] = arg.domain[raw] if arg.kind == "enum" else raw
        pos += arg.nbytes
    align = arg_alignment(op.name, values)
    if align:
        name, step = align
        values[name] -= values[name] % step
    return Call(op.name, tuple(values.items()))


def decode(data: bytes) -> list[Call]:
    """Decode every whole record of `data`; never raises for any bytes."""
    n = len(data) // RECORD_SIZE
    return [decode_record(data[i * RECORD_SIZE:(i + 1) * RECORD_SIZE]) for i in range(n)]


def encode_call(call: Call) -> bytes:
    """The canonical RECORD_SIZE bytes of one call (unused bytes are 0)."""
    out = bytearray(RECORD_SIZE)
    out[0] = call.index
    pos = 1
    for arg, (_, value) in zip(call.op.args, call.args):
        raw = arg.domain.index(value) if arg.kind == "enum" else value
        out[pos:pos + arg.nbytes] = raw.to_bytes(arg.nbytes, "little")
        pos += arg.nbytes
    return bytes(out)


def encode(calls: Iterable[Call]) -> bytes:
    return b"".join(encode_call(c) for c in calls)


def op_index_array(data: bytes) -> np.ndarray:
    """Op index (into OPS) of every whole record, as an int64 array; for the compiled engine."""
    n = len(data) // RECORD_SIZE
    sel = np.frombuffer(data, dtype=np.uint8, count=n * RECORD_SIZE)[::RECORD_SIZE]
    return (sel % len(OPS)).astype(np.int64)
