"""`fuzzcore replay`: run findings and seeds again and check every expectation they carry.

PATHs are files or directories (walked recursively, in sorted order; hidden entries skipped).
A program file is a `.fzs`, a `.bin`, or a file without a suffix (libFuzzer's corpus names);
other files (meta.json, README.md, state files) are not programs. Each program's device, policy
and claims come from its header comments or its directory's meta.json (fuzzcore/triage/finding.py).

The expectations checked, one table row each:

- a finding (`# expected-bucket:` / a bucket directory's meta.json) reports exactly its bucket
  (invariant, op kind and register all equal; it may report other buckets too);
- each `fixed-by` policy (a fix): the program does not report its bucket there;
- a seed (`# expect: none`, `# expect-bucket:` lines) reports exactly its set of buckets; a program
  that claims nothing is a seed expected to report nothing ("no unexpected violation");
- every run is deterministic: the same program run twice gives the same violations;
- every op of the program runs: none is refused by a precondition of the op table (an op the
  kernel would refuse, or never perform, in that state under that policy).

In a bucket directory, `fixed-by` is a claim about the minimised program (min.*);
the campaign's first input (first.*) is only checked to report the bucket.

Exit 0 when every expectation holds; 1 with a table of the mismatches otherwise; 2 when a
program cannot be read (also listed in the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .finding import Finding, FindingError, check_config, executor_for, format_bucket, load_finding
from ..program.codec import encode
from ..program.files import program_paths



@dataclass
class Row:
    path: str
    device: str
    policy: str
    expectation: str
    actual: str
    ok: bool
    error: bool = False


def program_files(paths: list[str]) -> list[Path]:
    """The program files (.fzs, .bin, no suffix) under PATHs, in a stable order; campaign corpora
    are replayed only when named."""
    return [f for f in program_paths(paths, FindingError, skip_campaign_corpora=True)
            if f.suffix in ("", ".fzs", ".bin")]


def _buckets(violations) -> list[tuple]:
    return sorted({v.bucket for v in violations})


def _fmt(buckets) -> str:
    return "; ".join(format_bucket(b) for b in buckets) or "no violation"


def check_program(f: Finding, engine: str = "auto") -> list[Row]:
    rows: list[Row] = []
    data = encode(f.calls)
    where = str(f.path)
    out = executor_for(f.device, f.policy, engine).run(data)
    first = out.violations
    again = executor_for(f.device, f.policy, engine).run(data).violations
    got = _buckets(first)
    if [str(v) for v in first] != [str(v) for v in again]:
        rows.append(Row(where, f.device, f.policy, "deterministic", "two runs differ", False))
    refused = [f"op {i + 1} {f.calls[i].name}" for i in out.refused]
    rows.append(Row(where, f.device, f.policy, "every op runs (preconditions)",
                    "refused: " + ", ".join(refused) if refused else "all ran", not refused))
    if f.bucket is not None:
        rows.append(Row(where, f.device, f.policy, f"bucket {format_bucket(f.bucket)}", _fmt(got),
                        tuple(f.bucket) in got))
        campaign_first = f.path.name.startswith("first.") and bool(f.meta)
        if not campaign_first:
            for p in f.fixed_by:
                vs = _buckets(executor_for(f.device, p, engine).run(data).violations)
                rows.append(Row(where, f.device, p, f"fixed-by: not {format_bucket(f.bucket)}", _fmt(vs),
                                tuple(f.bucket) not in vs))
    else:
        want = sorted(tuple(b) for b in (f.expect or []))
        rows.append(Row(where, f.device, f.policy, "exactly: " + _fmt(want) if want else "no violation",
                        _fmt(got), got == want))
    return rows


def replay(paths: list[str], device: str | None = None, policy: str | None = None,
           engine: str = "auto") -> list[Row]:
    rows: list[Row] = []
    for path in program_files(paths):
        try:
            f = load_finding(path, default_device=device, default_policy=policy)
            check_config(f.device, [f.policy, *f.fixed_by])
        except (FindingError, ValueError, OSError) as e:
            rows.append(Row(str(path), device or "-", policy or "-", "readable", f"error: {e}", False, True))
            continue
        rows.extend(check_program(f, engine))
    return rows


def format_table(rows: list[Row]) -> str:
    head = ("program", "device", "policy", "expected", "actual")
    cells = [head] + [(r.path, r.device, r.policy, r.expectation, r.actual) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = []
    for k, c in enumerate(cells):
        lines.append("  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 20)
    return "\n".join(lines) + "\n"
