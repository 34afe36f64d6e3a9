"""`fuzzcore cmin`: keep a smallest-first subset of corpus inputs with the same features.

Every input (files under the IN_DIRs, recursively; hidden files and .json/.md/.txt skipped; a
`.fzs` is parsed, anything else decoded as binary) is run on one device and policy. Its features
are the state features the executor reports (the abstract-state counters the campaign feeds to
libFuzzer, fuzzcore/model/abstract_state.py) and the buckets of its violations. Inputs are then
taken smallest first (fewest ops, then fewest bytes, then path) and one is kept when it adds a
feature not yet covered, so the kept set covers exactly the union of all inputs' features.
(Native code coverage is not measured here: that is libFuzzer's `-merge=1` on an instrumented
build.)

Crash safety. The journal `.<OUT_DIR name>.cmin.json`, next to OUT_DIR, holds each input's
features by content hash (SHA-1), the selection and the files written; it is replaced atomically
every second or every 250 inputs while inputs run, and before files are written. Output files are written to
a staging directory next to OUT_DIR and renamed in (same filesystem, so atomic): OUT_DIR never
holds a partial file or a temporary one. Inputs are only read. Killed at any point and re-run, cmin
skips the inputs the journal already has and completes; a re-run after completion re-checks and
rewrites nothing. Files of OUT_DIR that an earlier run of cmin wrote and the new selection drops
are removed; OUT_DIR must otherwise be empty (cmin never deletes a file it did not write).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..util.atomic_write import atomic_write_text, clear_temps
from ..model.invariants import bucket_name
from ..program.codec import decode, encode
from ..program.files import program_paths
from ..program.fzs import FzsError, parse_program
from ..program.op_table import RECORD_SIZE

JOURNAL_VERSION = 1
FLUSH_SECONDS = 1.0
FLUSH_INPUTS = 250


class CminError(ValueError):
    pass


@dataclass
class Input:
    path: Path
    data: bytes          # the file's bytes, copied as they are
    program: bytes       # the binary encoding that is run
    sha1: str

    @property
    def ops(self) -> int:
        return len(self.program) // RECORD_SIZE


@dataclass
class CminSummary:
    inputs: int
    features: int
    kept: int
    cached: int
    seconds: float
    out_dir: Path
    removed: int


def journal_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.cmin.json"


def staging_dir(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.cmin-staging"


def collect_inputs(in_dirs: list[str], warn: Callable[[str], None]) -> list[Input]:
    files = program_paths(in_dirs, CminError)
    out = []
    for f in files:
        try:
            data = f.read_bytes()
            program = encode(parse_program(data.decode("utf-8"), str(f))) if f.suffix == ".fzs" else \
                encode(decode(data))
        except (OSError, UnicodeDecodeError, FzsError) as e:
            warn(f"cmin: skipping {f}: {e}")
            continue
        out.append(Input(f, data, program, hashlib.sha1(data).hexdigest()))
    return out


def _features(outcome) -> list:
    feats = {int(x) for x in outcome.features}
    return sorted(feats) + sorted({"bucket:" + bucket_name(v.bucket) for v in outcome.violations})


def _read_journal(path: Path, config: dict) -> dict:
    try:
        j = json.loads(path.read_text())
    except (OSError, ValueError):
        j = {}
    if j.get("version") != JOURNAL_VERSION or j.get("config") != config:
        # another device or policy: features start afresh, but the files cmin wrote stay known as its own
        j = {"version": JOURNAL_VERSION, "config": config, "features": {}, "written": j.get("written", []),
             "phase": "running"}
    return j


def _write_journal(path: Path, journal: dict) -> None:
    atomic_write_text(path, json.dumps(journal, separators=(",", ":")) + "\n")


def _output_names(kept: list[Input]) -> dict[str, Input]:
    names: dict[str, Input] = {}
    for inp in kept:
        name = inp.path.name
        if name in names:
            stem, suffix = inp.path.stem, inp.path.suffix
            name = f"{stem}-{inp.sha1[:12]}{suffix}"
        names[name] = inp
    return names


def _install(staging: Path, out_dir: Path, name: str, data: bytes) -> None:
    """Write `data` to OUT_DIR/name through the staging directory (fsync, then rename)."""
    tmp = staging / name
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out_dir / name)


def cmin(in_dirs: list[str], out_dir: str, device: str = "i350", policy: str = "linux-7.1", engine: str = "auto",
         echo: Callable[[str], None] = print) -> CminSummary:
    from .finding import executor_for

    out = Path(out_dir)
    out_abs = out.resolve()
    for d in in_dirs:
        p = Path(d).resolve()
        if p == out_abs or out_abs in p.parents or p in out_abs.parents:
            raise CminError(f"{d}: an input directory may not contain or be inside OUT_DIR {out_dir}")
    started = time.monotonic()
    jpath = journal_path(out)
    clear_temps(jpath.parent, (jpath.name,))      # a killed run's half-written journal update
    executor = executor_for(device, policy, engine)
    # features are the executor's: an input's features from another engine are not reused
    config = {"device": device, "policy": policy, "engine": executor.name}
    journal = _read_journal(jpath, config)
    ours = set(journal.get("written", []))
    if out.exists():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in ours)
        if foreign:
            raise CminError(f"{out}: not empty and not written by cmin ({foreign[0]}, ...); use a new OUT_DIR")

    inputs = collect_inputs(in_dirs, echo)
    feats: dict[str, list] = journal["features"]
    cached = sum(1 for i in inputs if i.sha1 in feats)
    last_flush, unflushed = time.monotonic(), 0
    done = 0
    for inp in inputs:
        done += 1
        if inp.sha1 in feats:
            continue
        feats[inp.sha1] = _features(executor.run(inp.program))
        unflushed += 1
        if unflushed >= FLUSH_INPUTS or time.monotonic() - last_flush >= FLUSH_SECONDS:
            _write_journal(jpath, journal)
            last_flush, unflushed = time.monotonic(), 0
            echo(f"cmin: {done}/{len(inputs)} inputs run ({cached} from the journal), "
                 f"{time.monotonic() - started:.1f}s")
    journal["phase"] = "selecting"
    _write_journal(jpath, journal)

    covered: set = set()
    kept: list[Input] = []
    seen: set[str] = set()
    for inp in sorted(inputs, key=lambda i: (i.ops, len(i.data), str(i.path))):
        if inp.sha1 in seen:
            continue
        seen.add(inp.sha1)
        new = set(map(_key, feats[inp.sha1])) - covered
        if new:
            covered |= new
            kept.append(inp)
    names = _output_names(kept)
    # Record what will be written before writing it: every file in OUT_DIR is then known as ours.
    journal["written"] = sorted(set(journal.get("written", [])) | set(names))
    journal["phase"] = "writing"
    _write_journal(jpath, journal)

    stage = staging_dir(out)
    shutil.rmtree(stage, ignore_errors=True)       # leftovers of a killed run
    stage.mkdir(parents=True)
    out.mkdir(parents=True, exist_ok=True)
    for name, inp in names.items():
        target = out / name
        if target.is_file() and target.read_bytes() == inp.data:
            continue
        _install(stage, out, name, inp.data)
    removed = 0
    for p in sorted(out.iterdir()):
        if p.name not in names and p.name in ours:
            p.unlink()
            removed += 1
    dir_fd = os.open(out, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    shutil.rmtree(stage, ignore_errors=True)
    journal["written"] = sorted(names)
    journal["phase"] = "done"
    journal["kept"] = len(names)
    _write_journal(jpath, journal)
    all_feats = set()
    for i in inputs:
        all_feats |= set(map(_key, feats[i.sha1]))
    return CminSummary(len(inputs), len(all_feats), len(names), cached, time.monotonic() - started, out, removed)


def _key(x):
    return x if isinstance(x, str) else int(x)
