"""A finding or a seed on disk, with what it claims: the program, the device and policy it runs on,
and its expectations. Shared by `minimize`, `show` and `replay`.

Where the claims come from (the first that says wins):

1. command-line options (`--device`, `--policy`, `--bucket`, `--fixed-by`);
2. the header comments of a `.fzs` file (anywhere in the file; unknown keys are ignored):

       # device: i350                     device (built-in name or profile TOML); default i350
       # policy: linux-7.1                policy spec; default linux-7.1
       # expected-bucket: inv | op | reg  a finding: this bucket must be reported (others may be too)
       # fixed-by: POLICY                 under POLICY (the fix) the program does not report
                                          its bucket (it may report an unrelated one: the baseline
                                          under an overlay-introduced finding may have its own bug)
       # expect: none                     a seed: no violation at all
       # expect-bucket: inv | op | reg    a seed: exactly these buckets (repeat the line for several)

   `fixed-by` and `expect-bucket` may be repeated;
3. `meta.json` in the same directory (a findings-store bucket directory: `bucket`, `device`,
   `policy`, and the optional `fixed_by` list);
4. defaults: device i350, policy linux-7.1, and, for a program that claims nothing, `expect: none`.

A *bucket directory* (`<invariant>--<op>--<register>/` with meta.json, as the campaign's findings
store and `crashes/` hold them) stands for its minimised program: min.bin, else min.fzs, else
first.bin, else first.fzs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..program.codec import Call, decode
from ..program.fzs import FzsError, format_program, parse_program
from ..util.text_input import InputError, missing_file, read_bytes, read_text, split_lines

DEFAULT_DEVICE = "i350"
DEFAULT_POLICY = "linux-7.1"
BUCKET_PROGRAMS = ("min.bin", "min.fzs", "first.bin", "first.fzs")

Bucket = tuple[str, str, str]

_HEADER = re.compile(r"^\s*#\s*([a-z][a-z-]*)\s*:\s*(.*?)\s*$")


class FindingError(ValueError):
    """A finding that cannot be read or that claims something malformed (exit code 2)."""


def parse_bucket(text: str, where: str = "bucket") -> Bucket:
    """'invariant | op | register' -> a bucket tuple."""
    parts = [p.strip() for p in text.split("|")]
    if len(parts) != 3 or not all(parts):
        raise FindingError(f"{where}: a bucket is 'invariant | op | register', not {text!r}")
    return parts[0], parts[1], parts[2]


def format_bucket(bucket: Bucket) -> str:
    return " | ".join(bucket)


@dataclass
class Finding:
    path: Path                                   # the file the program came from
    calls: list[Call]
    device: str = DEFAULT_DEVICE
    policy: str = DEFAULT_POLICY
    bucket: Bucket | None = None                 # a finding's bucket (must be reported)
    expect: list[Bucket] | None = None           # a seed's exact bucket set ([] = none; None: not said)
    fixed_by: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)     # meta.json of its bucket directory, if any
    bucket_dir: Path | None = None               # set when the path named a bucket directory
    headers: dict = field(default_factory=dict)  # the .fzs header comments as read

    @property
    def is_finding(self) -> bool:
        return self.bucket is not None

    def expectations(self) -> list[Bucket]:
        """What this program claims to report under its own policy (for a seed: exactly)."""
        if self.bucket is not None:
            return [self.bucket]
        return list(self.expect or [])


def read_headers(text: str) -> dict:
    """Header comments of a .fzs text: key -> list of values, in file order."""
    out: dict[str, list[str]] = {}
    for line in split_lines(text):
        m = _HEADER.match(line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2))
    return out


def _read_meta(directory: Path) -> dict:
    meta = directory / "meta.json"
    if not meta.is_file():
        return {}
    from ..campaign.state import read_json_checked
    value, why = read_json_checked(meta)
    if why is not None:
        raise FindingError(why)          # `meta.json:LINE:COL: not valid JSON (...)`, as a campaign says it
    if not isinstance(value, dict):
        raise FindingError(f"{meta}: a JSON {type(value).__name__}, not an object")
    return value


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def is_bucket_dir(path: Path) -> bool:
    return path.is_dir() and (path / "meta.json").is_file()


def program_of_bucket_dir(directory: Path) -> Path:
    for name in BUCKET_PROGRAMS:
        if (directory / name).is_file():
            return directory / name
    raise FindingError(f"{directory}: a bucket directory with none of {', '.join(BUCKET_PROGRAMS)}")


def load_finding(path: str | Path, device: str | None = None, policy: str | None = None,
                 bucket: str | Bucket | None = None, fixed_by: list[str] | None = None,
                 default_device: str | None = None,
                 default_policy: str | None = None) -> Finding:
    """Read a program and its claims (see the module docstring for where each comes from);
    `device`/`policy` override what the file says, `default_*` apply where it says nothing."""
    p = Path(path)
    bucket_dir = None
    if p.is_dir():
        if not is_bucket_dir(p):
            raise FindingError(f"{p}: a directory without meta.json is not a finding")
        bucket_dir = p
        p = program_of_bucket_dir(p)
    if not p.exists():
        raise FindingError(missing_file(p))
    meta = _read_meta(p.parent)
    headers: dict = {}
    try:
        if p.suffix == ".fzs":
            text = read_text(p)
            headers = read_headers(text)
            calls = parse_program(text, str(p))
        else:
            calls = decode(read_bytes(p))
    except InputError as e:
        if isinstance(e, FzsError):
            raise
        raise FindingError(str(e)) from None

    def pick(key_cli, header_key, meta_key, default):
        if key_cli:
            return key_cli
        if headers.get(header_key):
            return headers[header_key][-1]
        if meta.get(meta_key):
            return meta[meta_key]
        return default

    f = Finding(path=p, calls=calls, meta=meta, bucket_dir=bucket_dir, headers=headers)
    f.device = pick(device, "device", "device", default_device or DEFAULT_DEVICE)
    f.policy = pick(policy, "policy", "policy", default_policy or DEFAULT_POLICY)
    if bucket is not None:
        f.bucket = parse_bucket(bucket, "--bucket") if isinstance(bucket, str) else tuple(bucket)
    elif headers.get("expected-bucket"):
        f.bucket = parse_bucket(headers["expected-bucket"][-1], f"{p}: expected-bucket")
    elif meta.get("bucket") and not headers.get("expect-bucket") and not headers.get("expect"):
        b = meta["bucket"]
        if not (isinstance(b, list) and len(b) == 3):
            raise FindingError(f"{p.parent / 'meta.json'}: bucket must be [invariant, op, register]")
        f.bucket = (str(b[0]), str(b[1]), str(b[2]))
    if f.bucket is None:
        expects = headers.get("expect-bucket", [])
        nones = headers.get("expect", [])
        for n in nones:
            if n != "none":
                raise FindingError(f"{p}: '# expect:' takes 'none' (use '# expect-bucket:' for a bucket), not {n!r}")
        if nones and expects:
            raise FindingError(f"{p}: '# expect: none' and '# expect-bucket:' contradict each other")
        if nones or expects:
            f.expect = sorted({parse_bucket(e, f"{p}: expect-bucket") for e in expects})
    f.fixed_by = list(fixed_by) if fixed_by else (headers.get("fixed-by") or _as_list(meta.get("fixed_by")))
    return f


def finding_header(device: str, policy: str, bucket: Bucket, fixed_by=(),
                   first_line: str | None = None, extra: list[str] = ()) -> str:
    """The header comments of a finding's .fzs (what load_finding reads back)."""
    lines = [first_line] if first_line else []
    lines += [f"device: {device}", f"policy: {policy}", f"expected-bucket: {format_bucket(bucket)}"]
    lines += [f"fixed-by: {p}" for p in fixed_by]
    lines += list(extra)
    return "".join(f"# {line}\n" for line in lines)


def finding_fzs(calls: list[Call], device: str, policy: str, bucket: Bucket, fixed_by=(),
                first_line: str | None = None, extra: list[str] = ()) -> str:
    return finding_header(device, policy, bucket, fixed_by, first_line, extra) + format_program(calls)



_EXECUTORS: dict = {}


def executor_for(device: str, policy: str, engine: str = "auto"):
    """One executor per (device, policy, engine), made on first use (the native engine when built)."""
    key = (device, policy, engine)
    if key not in _EXECUTORS:
        from ..campaign.executor import make_executor
        from ..device.builtin import resolve_device
        from ..policy import load_policy
        _EXECUTORS[key] = make_executor(resolve_device(device), load_policy(policy), engine)
    return _EXECUTORS[key]


def check_config(device: str, policies: list[str]) -> None:
    """Raise FindingError when the device or a policy spec does not load."""
    from ..device.builtin import resolve_device
    from ..policy import load_policy
    from ..util.toml_source import TomlError
    try:
        resolve_device(device)
    except (LookupError, ValueError, TomlError, OSError) as e:
        raise FindingError(f"device {device!r}: {e}") from None
    for p in policies:
        try:
            load_policy(p)
        except (LookupError, ValueError, OSError) as e:
            raise FindingError(f"policy {p!r}: {e}") from None
