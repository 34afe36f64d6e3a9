"""`fuzzcore cmin` end to end through the CLI, including SIGKILL at any point and re-run."""

import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fuzzcore.triage.finding import executor_for
from fuzzcore.program.codec import decode, encode
from fuzzcore.program.fzs import load_fzs

ROOT = Path(__file__).parent.parent


def fz(*args):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True, text=True)


def make_corpus(d: Path, n: int, seed: int = 1) -> None:
    """n random binary inputs (1-12 ops), some duplicated under another name, plus the regression seeds."""
    rng = random.Random(seed)
    d.mkdir(parents=True)
    for i in range(n):
        data = bytes(rng.randrange(256) for _ in range(8 * rng.randrange(1, 13)))
        (d / f"in-{i:04d}").write_bytes(data)
        if i % 25 == 0:
            (d / f"dup-{i:04d}").write_bytes(data)
    for f in (ROOT / "corpora" / "regression").glob("*.fzs"):
        (d / f.name).write_bytes(f.read_bytes())


def features(data: bytes, name: str) -> set:
    prog = encode(load_fzs_bytes(data)) if name.endswith(".fzs") else data
    out = executor_for("i350", "linux-7.1", "auto").run(prog)
    return set(out.features) | {("bucket",) + v.bucket for v in out.violations}


def load_fzs_bytes(data: bytes):
    from fuzzcore.program.fzs import parse_program
    return parse_program(data.decode())


def snapshot(d: Path) -> dict:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def ops_of(p: Path) -> int:
    return len(load_fzs(p)) if p.suffix == ".fzs" else len(decode(p.read_bytes()))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmin") / "in"
    make_corpus(d, 600)
    return d


def test_cmin_keeps_a_smallest_first_subset_with_all_features(corpus, tmp_path):
    out = tmp_path / "out"
    r = fz("cmin", corpus, "-o", out)
    assert r.returncode == 0, r.stderr
    inputs = {p.name: p.read_bytes() for p in corpus.iterdir()}
    kept = {p.name: p.read_bytes() for p in out.iterdir()}
    assert kept and all(inputs[n] == data for n, data in kept.items())          # copied as they are
    feats = {n: features(data, n) for n, data in inputs.items()}
    union_all = set().union(*feats.values())
    assert set().union(*(feats[n] for n in kept)) == union_all
    assert f"{len(inputs)} inputs" in r.stdout and f"kept {len(kept)}" in r.stdout
    # smallest first: every dropped input is covered by the kept inputs no larger than it
    order = sorted(inputs, key=lambda n: (ops_of(corpus / n), len(inputs[n]), str(corpus / n)))
    covered = set()
    for n in order:
        if n in kept:
            assert feats[n] - covered, f"{n} kept but adds nothing"
            covered |= feats[n]
        else:
            assert feats[n] <= covered, f"{n} dropped but adds features"
    assert len(kept) < len(inputs)


def test_cmin_killed_at_any_point_completes_when_re_run(corpus, tmp_path):
    before = snapshot(corpus)
    ref = tmp_path / "ref"
    assert fz("cmin", corpus, "-o", ref).returncode == 0

    out = tmp_path / "out"
    journal = tmp_path / ".out.cmin.json"
    cmd = [sys.executable, "-m", "fuzzcore.cli", "cmin", str(corpus), "-o", str(out)]
    # 1: kill -9 while inputs run (after the first journal flush)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "inputs run" in line:
            p.send_signal(signal.SIGKILL)
            break
    p.wait()
    assert p.returncode == -signal.SIGKILL
    assert json.loads(journal.read_text())["phase"] == "running"
    assert not out.exists() or not any(out.iterdir())
    # 2: kill -9 while files are written (when the journal says so)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:
        try:
            if json.loads(journal.read_text()).get("phase") == "writing" and out.exists() and any(out.iterdir()):
                p.send_signal(signal.SIGKILL)
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    p.wait()
    # whatever was killed, OUT_DIR holds only whole copies of inputs, nothing temporary
    inputs = {p.name: p.read_bytes() for p in corpus.iterdir()}
    if out.exists():
        for f in out.iterdir():
            assert f.name in inputs and f.read_bytes() == inputs[f.name], f"partial or foreign file {f}"
    # 3: re-run completes with the same result as an uninterrupted run
    r = fz("cmin", corpus, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "from the journal" in r.stdout
    assert snapshot(out) == snapshot(ref)
    assert json.loads(journal.read_text())["phase"] == "done"
    assert not [f for f in tmp_path.iterdir() if "staging" in f.name]
    assert snapshot(corpus) == before                     # inputs never modified


def test_cmin_re_run_after_completion_rewrites_nothing(corpus, tmp_path):
    out = tmp_path / "out"
    assert fz("cmin", corpus, "-o", out).returncode == 0
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    r = fz("cmin", corpus, "-o", out)
    n = len(list(corpus.iterdir()))
    assert r.returncode == 0 and f"{n} inputs ({n} from the journal)" in r.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes


def test_cmin_refuses_an_out_dir_it_did_not_write(corpus, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine").write_bytes(b"keep me")
    r = fz("cmin", corpus, "-o", out)
    assert r.returncode == 2 and "not empty" in r.stderr
    assert (out / "mine").read_bytes() == b"keep me"
    r = fz("cmin", corpus, "-o", corpus / "sub")
    assert r.returncode == 2 and "inside" in r.stderr
