"""SIGKILL a whole campaign (driver and workers) at random moments, again and again: after every
kill each file it wrote is whole and readable, the cumulative statistics never go back, no bucket
is lost, and a normal run then resumes and exits 0 (docs/design.md §8)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from fuzzcore.model.invariants import bucket_name
from fuzzcore.program.codec import decode
from fuzzcore.program.fzs import load_fzs
from fuzzcore.program.op_table import RECORD_SIZE
from fuzzcore.triage.replay import program_files

ROUNDS = 8
META_KEYS = {"bucket", "invariant", "meaning", "device", "policy", "engine", "first_seen", "last_seen",
             "hits", "first_ops", "min_ops"}


def _group_alive(pgid: int) -> bool:
    """Is any process of the group still running (zombies do not count: they write nothing)?"""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _kill_group(p: subprocess.Popen) -> None:
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 5
    while _group_alive(p.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _group_alive(p.pid), "a worker outlived SIGKILL of its process group"


def _is_temp(p: Path) -> bool:
    return p.name.startswith(".") and p.name.endswith(".tmp")


def check_campaign_files(out: Path, rng: random.Random) -> dict:
    """Every file under a --out campaign parses; returns what later rounds compare."""
    files = [p for p in out.rglob("*") if p.is_file()]
    temps = [p for p in files if _is_temp(p)]
    # A temp file is never taken for a target: not by the findings store's reload (*/meta.json),
    # not by replay, and never under a target's own name.
    assert not [p for p in program_files([str(out / "findings")]) if _is_temp(p)]
    assert all(p.name.endswith(".tmp") for p in temps)

    stats = json.loads((out / "stats.json").read_text()) if (out / "stats.json").exists() else \
        {"runs": 0, "seconds": 0.0, "sessions": 0}
    assert isinstance(stats["runs"], int) and isinstance(stats["sessions"], int) and stats["seconds"] >= 0

    if (out / "stats.jsonl").exists():
        lines = (out / "stats.jsonl").read_text().split("\n")
        assert lines[-1] == "" or lines[-1].startswith("{"), "only the last line may be torn"
        for line in lines[:-1]:
            row = json.loads(line)
            assert {"time", "runs", "runs_per_s", "corpus", "buckets", "features"} <= set(row)

    for p in (out / "workers").glob("*.json"):
        json.loads(p.read_text())

    buckets, orphans = set(), 0
    findings = out / "findings"
    for d in (findings.iterdir() if findings.is_dir() else []):
        if not d.is_dir() or d.name == "artifacts" or _is_temp(d):
            continue        # a new bucket still under its hidden .new-NAME.PID.tmp name is not one yet
        for f in d.iterdir():
            if _is_temp(f):
                continue
            if f.suffix == ".fzs":
                assert load_fzs(f), f
                assert f.read_text().startswith("# fuzzcore finding:"), f
            elif f.suffix == ".bin":
                data = f.read_bytes()
                assert data and len(data) % RECORD_SIZE == 0 and decode(data), f
        meta_path = d / "meta.json"
        if not meta_path.exists():
            orphans += 1   # killed before the bucket's meta.json: not a bucket yet, re-found later
            continue
        meta = json.loads(meta_path.read_text())
        assert META_KEYS <= set(meta), (d, META_KEYS - set(meta))
        assert bucket_name(tuple(meta["bucket"])) == d.name and meta["device"] == "i350"
        # meta.json is written last: once it exists the bucket's four programs do too.
        for name in ("first.bin", "first.fzs", "min.bin", "min.fzs"):
            assert (d / name).exists(), d / name
        assert len(decode((d / "min.bin").read_bytes())) <= meta["min_ops"] <= meta["first_ops"]
        assert len(load_fzs(d / "min.fzs")) <= meta["min_ops"]
        buckets.add(d.name)

    corpus = [p for p in (out / "corpus").iterdir() if not _is_temp(p)] if (out / "corpus").is_dir() else []
    for p in corpus:
        p.read_bytes()
    for p in rng.sample(corpus, min(100, len(corpus))):
        decode(p.read_bytes())   # any bytes are a program (a libFuzzer-torn file too)
    return {"runs": stats["runs"], "sessions": stats["sessions"], "buckets": buckets,
            "orphans": orphans, "temps": len(temps), "corpus": len(corpus)}


def ran(r) -> bool:
    """The campaign ran: exit 0 (new root causes exit 1 only with --fail-on-new)."""
    return r.returncode == 0


def test_sigkill_at_random_moments(tmp_path):
    out = tmp_path / "k"
    rng = random.Random(20261124)
    cmd = [sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", str(out), "--max-time", "30", "--seed", "1"]
    prev = {"runs": 0, "sessions": 0, "buckets": set()}
    log = []
    for r in range(ROUNDS):
        delay = rng.uniform(0.5, 3.0)
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        _kill_group(p)
        now = check_campaign_files(out, rng)
        where = (f"round {r}, killed after {delay:.2f}s: runs {now['runs']}, sessions {now['sessions']}, "
                 f"{len(now['buckets'])} buckets ({now['orphans']} without meta.json yet), "
                 f"{now['temps']} temp files, corpus {now['corpus']}")
        log.append(where)
        assert now["runs"] >= prev["runs"], where
        assert now["sessions"] >= prev["sessions"], where
        assert prev["buckets"] <= now["buckets"], (where, prev["buckets"] - now["buckets"])
        prev = now
    print("\n".join(log))
    assert prev["sessions"] >= 1 and prev["buckets"], "the rounds got far enough to matter"

    r = subprocess.run(cmd[:-4] + ["--max-time", "3", "--seed", "1"], capture_output=True, text=True, timeout=60)
    assert ran(r), r.stderr
    assert f"previous sessions: {prev['sessions']}" in r.stderr
    end = check_campaign_files(out, rng)
    assert end["sessions"] == prev["sessions"] + 1 and end["runs"] > prev["runs"]
    assert prev["buckets"] <= end["buckets"]
    assert not [p for p in out.rglob("*.tmp")], "the resumed run clears what the kills left"
