"""SIGKILL `minimize`, `cmin` and `fuzz` at random moments, then re-run each to completion: after
every kill each file the tool wrote is whole, and after the re-run no temp file (nor cmin's
staging directory) is left (issue #16). A killed atomic write's temp file is also planted before
the re-run, so the clearing is tested even when no random kill happened to land inside a write.

Kills per tool: KILLS (4) in the default suite; FUZZCORE_LONG_KILL_TESTS=1 adds the long variant
with 20 kills per tool (tests/test_campaign_kill.py kills `fuzz` 8 more times by default)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fuzzcore.program.codec import decode
from fuzzcore.program.fzs import load_fzs
from fuzzcore.program.op_table import RECORD_SIZE

from test_campaign_kill import _kill_group, check_campaign_files
from test_triage_cmin import make_corpus
from test_triage_minimize import long_h1a

KILLS = 4
# The long variant is collected only when asked for (not skipped: a skipped check reads as a gap).
LONG = bool(os.environ.get("FUZZCORE_LONG_KILL_TESTS"))
COUNTS = [KILLS] + ([pytest.param(20, id="20-kills")] if LONG else [])


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "fuzzcore.cli", *map(str, args)]


def kill_at_random(cmd: list[str], rng: random.Random, lo: float, hi: float) -> float:
    delay = rng.uniform(lo, hi)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    if p.poll() is None:
        _kill_group(p)
    else:
        p.wait()
    return delay


def temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or "staging" in p.name]


def plant(directory: Path, target: str) -> Path:
    """What a kill inside atomic_write_*(directory/target) leaves: its temp file, part-written."""
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / f".{target}.k1ll3d__.tmp"
    p.write_bytes(b"half a fi")
    return p


# --- minimize ------------------------------------------------------------------------------------

def check_minimize_output(out: Path) -> None:
    for f in out.iterdir() if out.is_dir() else []:
        if f.name.endswith(".tmp"):
            continue
        if f.suffix == ".fzs":
            assert load_fzs(f), f
        elif f.suffix == ".bin":
            data = f.read_bytes()
            assert data and len(data) % RECORD_SIZE == 0 and decode(data), f
        elif f.suffix == ".json":
            assert isinstance(json.loads(f.read_text()), dict), f


@pytest.mark.parametrize("kills", COUNTS)
def test_minimize_killed_at_random_leaves_whole_files_and_no_temp_file(kills, tmp_path):
    rng = random.Random(1600 + kills)
    src = tmp_path / "long.fzs"
    src.write_text(long_h1a())
    out = tmp_path / "min"
    cmd = cli("minimize", src, "-o", out)
    delays = []
    for _ in range(kills):
        delays.append(kill_at_random(cmd, rng, 0.3, 4.0))
        check_minimize_output(out)
    planted = [plant(out, "min.fzs"), plant(out, "meta.json"), plant(out, "minimize.json")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "1-minimal" in r.stdout, (delays, r.stderr)
    check_minimize_output(out)
    assert not any(p.exists() for p in planted)
    assert not temps(tmp_path), temps(tmp_path)


# --- cmin ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cmin_corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmin-kill") / "in"
    make_corpus(d, 300, seed=3)
    return d


@pytest.mark.parametrize("kills", COUNTS)
def test_cmin_killed_at_random_leaves_whole_files_and_no_temp_file(kills, cmin_corpus, tmp_path):
    rng = random.Random(2600 + kills)
    out = tmp_path / "out"
    journal = tmp_path / ".out.cmin.json"
    inputs = {p.name: p.read_bytes() for p in cmin_corpus.iterdir()}
    cmd = cli("cmin", cmin_corpus, "-o", out)
    for _ in range(kills):
        kill_at_random(cmd, rng, 0.3, 3.0)
        if journal.exists():
            assert isinstance(json.loads(journal.read_text()), dict)
        for f in out.iterdir() if out.exists() else []:
            assert f.name in inputs and f.read_bytes() == inputs[f.name], f"partial or foreign file {f}"
    planted = plant(tmp_path, journal.name)
    (tmp_path / ".out.cmin-staging").mkdir(exist_ok=True)
    (tmp_path / ".out.cmin-staging" / "in-0001").write_bytes(b"half")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert json.loads(journal.read_text())["phase"] == "done"
    assert not planted.exists() and not temps(tmp_path), temps(tmp_path)


# --- fuzz ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kills", [2] + ([pytest.param(20, id="20-kills")] if LONG else []))
def test_fuzz_killed_at_random_leaves_whole_files_and_no_temp_file(kills, tmp_path):
    rng = random.Random(3600 + kills)
    out = tmp_path / "k"
    cmd = cli("fuzz", "--out", out, "--max-time", "30", "--seed", "1")
    for _ in range(kills):
        kill_at_random(cmd, rng, 0.5, 3.0)
        check_campaign_files(out, rng)
    bucket = next((m.parent for m in (out / "findings").glob("*/meta.json")), out / "findings")
    planted = [plant(bucket, "meta.json"), plant(out, "stats.json"), plant(out / "corpus", "seed-x")]
    r = subprocess.run(cli("fuzz", "--out", out, "--max-time", "3", "--seed", "1"), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode in (0, 1), r.stderr      # 1: a root cause the reviewed list does not know
    check_campaign_files(out, rng)
    assert not any(p.exists() for p in planted)
    assert not temps(out), temps(out)


def test_an_atomic_write_clears_the_stale_temp_files_of_its_target(tmp_path):
    """Every tool, not only the three above: the next write of a file removes what a killed write
    of it left (a temp file older than STALE_SECONDS; a younger one may be a live write)."""
    from fuzzcore.util.atomic_write import STALE_SECONDS, atomic_write_text
    old = plant(tmp_path, "report.md")
    os.utime(old, (time.time() - STALE_SECONDS - 1,) * 2)
    live = tmp_path / ".report.md.l1ve____.tmp"
    live.write_bytes(b"being written")
    other = plant(tmp_path, "other.md")
    os.utime(other, (time.time() - STALE_SECONDS - 1,) * 2)
    atomic_write_text(tmp_path / "report.md", "# whole\n")
    assert (tmp_path / "report.md").read_text() == "# whole\n"
    assert not old.exists() and live.exists() and other.exists()
