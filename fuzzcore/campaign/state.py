"""A campaign's own state files are checked when read, not trusted.

`stats.json` (cumulative runs, seconds, sessions) and each bucket's `meta.json` are written
atomically, so a kill never tears them; a disk error, a full disk or a hand edit can. When one does
not parse (or has the wrong shape), the campaign either

- rebuilds it from what is on disk and warns, saying what could not be recovered:
  stats.json from the last whole line of stats.jsonl (cumulative runs, time and session; the runs
  after that line, at most one status interval of one session, are lost); a bucket's meta.json
  from the bucket's own programs (bucket, device and policy from the `.fzs` headers, sizes from
  the programs, first/last seen from the files' times; the hit count, the engine and the
  violation details are lost); or
- stops before it changes anything, with `CampaignStateError`: the file, the line and column
  where it stops parsing, and the way to recover (exit 2 from `fuzzcore fuzz`).

Never a silent reset: a count is carried over, rebuilt with a warning, or the campaign stops.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

STATS_KEYS = {"runs": int, "seconds": (int, float), "sessions": int}
OPTIONAL_COUNTS = ("ops", "ops_refused")   # stats.json since the precondition counts
META_INTS = ("hits", "first_ops", "min_ops")


class CampaignStateError(ValueError):
    """A campaign file that neither parses nor can be rebuilt: names it and how to recover."""


def read_json_checked(path: Path) -> tuple[object, str | None]:
    """(value, None), or (None, why) with why located: `path:line:col: not valid JSON (...)`."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        return None, f"{path}: not UTF-8 text (byte offset {e.start})"
    except OSError as e:
        return None, f"{path}: {(e.strerror or str(e)).lower()}"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        return None, f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})"
    except ValueError as e:         # e.g. an integer beyond the digit limit
        return None, f"{path}: not valid JSON ({e})"


def _stats_shape_problem(value) -> str | None:
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}, not an object"
    for key, want in STATS_KEYS.items():
        v = value.get(key)
        if isinstance(v, bool) or not isinstance(v, want) or v < 0:
            return f"'{key}' is {v!r}, not a non-negative number"
    return None


def _last_jsonl_totals(jsonl: Path) -> dict | None:
    """Cumulative totals from the last whole, well-formed line of stats.jsonl (None: none)."""
    try:
        lines = jsonl.read_text(encoding="utf-8", errors="replace").split("\n")
    except OSError:
        return None
    best = None
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict):
            continue
        try:
            runs, secs, session = int(row["runs"]), float(row["time"]), int(row["session"])
        except (KeyError, TypeError, ValueError):
            continue
        if best is None or (session, runs) >= (best["sessions"], best["runs"]):
            best = {"runs": runs, "seconds": secs, "sessions": session}
            best.update({k: row[k] for k in OPTIONAL_COUNTS
                         if isinstance(row.get(k), int) and not isinstance(row.get(k), bool) and row[k] >= 0})
    return best


def load_totals(stats: Path, jsonl: Path, warn) -> dict:
    """The campaign's cumulative totals {runs, seconds, sessions}: from stats.json, else rebuilt
    from stats.jsonl with a warning; a stats.json that is bad and cannot be rebuilt raises
    CampaignStateError (nothing has been written)."""
    totals = {"runs": 0, "seconds": 0.0, "sessions": 0}
    if not stats.exists():
        return totals
    value, why = read_json_checked(stats)
    if why is None:
        shape = _stats_shape_problem(value)
        if shape is None:
            totals.update({k: value[k] for k in STATS_KEYS})
            # Op counts (newer files): carried on when well-formed, else counted from zero again.
            for k in OPTIONAL_COUNTS:
                v = value.get(k)
                if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                    totals[k] = v
            return totals
        why = f"{stats}: {shape}"
    rebuilt = _last_jsonl_totals(jsonl)
    if rebuilt is None:
        raise CampaignStateError(
            f"{why}; the run counts cannot be rebuilt ({jsonl.name} has no whole line). Nothing was "
            f"changed. To recover: restore {stats.name} from a backup, or write "
            f'{{"runs": 0, "seconds": 0, "sessions": 0}} to it to count from zero (the corpus and the '
            f"findings are kept either way)")
    warn(f"fuzzcore: warning: {why}; rebuilt from {jsonl.name}: {rebuilt['runs']} runs, "
         f"{rebuilt['seconds']:.0f}s, {rebuilt['sessions']} sessions (what ran after its last line, at most "
         f"one status interval, is not counted)")
    totals.update(rebuilt)
    return totals


# --- bucket meta.json ------------------------------------------------------------------------

def meta_problem(value) -> str | None:
    """Why a parsed meta.json cannot be used (None: it can)."""
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}, not an object"
    b = value.get("bucket")
    if not (isinstance(b, list) and len(b) == 3 and all(isinstance(x, str) for x in b)):
        return "'bucket' is not [invariant, op, register]"
    for key in META_INTS:
        v = value.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            return f"'{key}' is {v!r}, not a non-negative integer"
    return None


def _program_ops(d: Path, stem: str) -> tuple[int | None, Path | None]:
    from ..program.codec import decode
    from ..program.fzs import load_fzs
    from ..program.op_table import RECORD_SIZE
    b, f = d / f"{stem}.bin", d / f"{stem}.fzs"
    try:
        if b.is_file():
            data = b.read_bytes()
            if data and len(data) % RECORD_SIZE == 0:
                return len(decode(data)), b
        if f.is_file():
            return len(load_fzs(f)), f
    except (OSError, ValueError):
        pass
    return None, None


def rebuild_meta(d: Path, engine: str = "") -> tuple[dict, str]:
    """A meta.json for bucket directory `d` from its own files, and what it could not recover;
    raises CampaignStateError when the directory does not say which bucket it is."""
    from ..model.invariants import BY_NAME, bucket_name
    from ..triage.finding import read_headers
    headers: dict = {}
    source = None
    for name in ("min.fzs", "first.fzs"):
        try:
            headers = read_headers((d / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if headers.get("expected-bucket"):
            source = d / name
            break
    parts = [p.strip() for p in (headers.get("expected-bucket") or [""])[-1].split("|")]
    if source is None or len(parts) != 3 or bucket_name(tuple(parts)) != d.name or parts[0] not in BY_NAME:
        raise CampaignStateError(
            f"{d / 'meta.json'} cannot be rebuilt: neither min.fzs nor first.fzs names this bucket "
            f"('# expected-bucket:'). Nothing was changed. To recover: restore meta.json from a backup, or "
            f"move {d} out of the findings store (its programs stay readable by `fuzzcore show`)")
    min_ops, _ = _program_ops(d, "min")
    first_ops, first_file = _program_ops(d, "first")
    if min_ops is None and first_ops is None:
        raise CampaignStateError(f"{d / 'meta.json'} cannot be rebuilt: the bucket holds no readable program. "
                                 f"Nothing was changed. To recover: restore it from a backup, or remove {d}")
    min_ops = min_ops if min_ops is not None else first_ops
    first_ops = first_ops if first_ops is not None else min_ops
    times = [p.stat().st_mtime for p in d.iterdir() if p.is_file() and not p.name.startswith(".")]
    stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))  # noqa: E731
    inv = BY_NAME[parts[0]]
    meta = {"bucket": parts, "invariant": parts[0], "meaning": inv.meaning, "hazard": inv.hazard,
            "device": (headers.get("device") or ["i350"])[-1], "policy": (headers.get("policy") or ["linux-7.1"])[-1],
            "engine": engine or "unknown", "first_seen": stamp((first_file or source).stat().st_mtime),
            "last_seen": stamp(max(times)), "hits": 0, "first_ops": first_ops, "min_ops": min_ops,
            "min_device": (headers.get("device") or ["i350"])[-1],
            "rebuilt": {"at": stamp(time.time()), "from": source.name,
                        "lost": ["hits", "engine", "violation", "first_seen (file time used)"]}}
    if headers.get("fixed-by"):
        meta["fixed_by"] = headers["fixed-by"]
    if any("minimised by fuzzcore minimize" in line for line in source.read_text(encoding="utf-8").split("\n")[:1]):
        meta["minimized"] = {"rebuilt": True}
    return meta, "its hit count, engine and violation details (first_seen is the file time)"
