"""Run the atheris harnesses of the input parsers, one after the other, each on its own corpus.

    python tests/fuzz/run.py --seconds 3600              # an hour each (the scheduled, long run)
    python tests/fuzz/run.py --seconds 10                # what CI does (tests/test_fuzz_harnesses.py)
    python tests/fuzz/run.py --runs 1000000 fzs policy   # a fixed number of inputs, some harnesses

Harnesses (tests/fuzz/fuzz_NAME.py): importer (dump bytes -> profile), profile (profile TOML ->
validated profile), policy (policy TOML -> policy), fzs (.fzs text -> program). Each target
asserts its parser's documented contract: success, or the documented error type naming the file
and a line. A corpus lives in WORK/NAME (default fuzz-work/, created and seeded from the
repository's own files on first use: shipped dumps, profiles, policies, reproducers) and grows
run after run; a crash is written to WORK/NAME-crashes/. Exit 0 when every harness finished
clean, 1 otherwise.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
HARNESSES = ("importer", "profile", "policy", "fzs")


def _write(corpus: Path, name: str, data: bytes) -> None:
    (corpus / name).write_bytes(data)


def seed(name: str, corpus: Path) -> int:
    """Fill `corpus` with the repository's own inputs for harness `name`; returns how many."""
    corpus.mkdir(parents=True, exist_ok=True)
    dumps = sorted((ROOT / "tests" / "data").glob("*.txt"))
    devices = sorted((ROOT / "fuzzcore" / "devices").glob("*.toml"))
    n = 0
    if name == "importer":
        from fuzzcore.device.profile import load_profile
        for p in dumps:
            _write(corpus, p.name, p.read_bytes()); n += 1
        for p in devices:
            _write(corpus, p.stem + ".bin", load_profile(p).image); n += 1
    elif name == "profile":
        from fuzzcore.device.dump_parser import ParsedDump, parse_dump_file
        from fuzzcore.device.profile import load_profile, profile_from_dump, profile_to_toml
        for p in devices:
            _write(corpus, p.name, p.read_bytes()); n += 1
            short = ParsedDump(load_profile(p).image[:256], str(p))   # the same device, 256 bytes dumped
            try:
                _write(corpus, p.stem + "-256.toml", profile_to_toml(profile_from_dump(p.stem, short)).encode()); n += 1
            except ValueError:
                pass
        for p in dumps:
            try:
                prof = profile_from_dump(p.stem, parse_dump_file(p))
            except ValueError:
                continue
            _write(corpus, p.stem + ".toml", profile_to_toml(prof).encode()); n += 1
    elif name == "policy":
        for p in sorted((ROOT / "fuzzcore" / "policies").glob("*.toml")):
            overlay = b"[overlay]" in p.read_bytes()
            _write(corpus, p.name, (b"\x01" if overlay else b"\x00") + p.read_bytes()); n += 1
    elif name == "fzs":
        seen = set()
        for top in ("corpora", "crashes"):
            for p in sorted((ROOT / top).rglob("*.fzs")):
                data = p.read_bytes()
                if data not in seen:
                    seen.add(data)
                    _write(corpus, f"{len(seen):04d}.fzs", data); n += 1
    else:
        raise SystemExit(f"unknown harness {name!r} (known: {', '.join(HARNESSES)})")
    return n


def run(name: str, work: Path, seconds: int | None, runs: int | None) -> tuple[int, float]:
    corpus = work / name
    if not corpus.is_dir() or not any(corpus.iterdir()):
        seed(name, corpus)
    crashes = work / f"{name}-crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(HERE / f"fuzz_{name}.py"), f"-artifact_prefix={crashes}/", "-print_final_stats=1"]
    if seconds:
        cmd.append(f"-max_total_time={seconds}")
    if runs:
        cmd.append(f"-runs={runs}")
    cmd.append(str(corpus))
    t0 = time.monotonic()
    rc = subprocess.call(cmd, cwd=ROOT)
    return rc, time.monotonic() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("harnesses", nargs="*", default=list(HARNESSES), help=f"any of {', '.join(HARNESSES)}")
    ap.add_argument("--seconds", type=int, help="budget per harness (libFuzzer -max_total_time)")
    ap.add_argument("--runs", type=int, help="inputs per harness (libFuzzer -runs)")
    ap.add_argument("--work", type=Path, default=ROOT / "fuzz-work", help="corpora and crashes (default fuzz-work/)")
    args = ap.parse_args(argv)
    if not args.seconds and not args.runs:
        ap.error("give --seconds and/or --runs")
    bad = [h for h in args.harnesses if h not in HARNESSES]
    if bad:
        ap.error(f"unknown harness {bad[0]!r} (known: {', '.join(HARNESSES)})")
    failed = []
    for name in args.harnesses:
        rc, secs = run(name, args.work, args.seconds, args.runs)
        print(f"fuzz_{name}: exit {rc} after {secs:.0f}s", file=sys.stderr)
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)} (inputs in {args.work}/NAME-crashes/)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
