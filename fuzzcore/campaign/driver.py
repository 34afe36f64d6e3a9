"""`fuzzcore fuzz`: start the workers, show a live status line, keep cumulative statistics, and
resume where a killed campaign stopped (corpus, findings and statistics all live under --out).

    <out>/corpus/        libFuzzer's corpus (seeded from corpora/regression/ on first use)
    <out>/findings/      the findings store (see findings_store.py)
    <out>/stats.json     cumulative runs, seconds and sessions, written atomically
    <out>/stats.jsonl    one JSON line every few seconds: time, runs, runs/s, corpus, buckets
    <out>/workers/       per-worker stats and configs; <out>/logs/ libFuzzer's output per worker
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic_write import atomic_write_bytes, atomic_write_text
from ..program.codec import encode
from ..program.fzs import load_fzs
from ..program.op_table import RECORD_SIZE

STATUS_SECONDS = 5.0
MAX_OPS = 64


@dataclass
class CampaignOptions:
    device: str = "i350"
    policy: str = "linux-7.1"
    out: str = "fuzzcore-out"
    corpus: str | None = None
    findings: str | None = None
    max_time: int = 60
    runs: int = -1
    seed: int = 0
    workers: int = 1
    engine: str = "auto"
    stop_on_first: bool = False
    structure_pct: int = 80
    seeds_dir: str | None = None
    state_features: bool = True
    libfuzzer_args: list[str] = field(default_factory=list)
    quiet: bool = False


@dataclass
class CampaignSummary:
    runs_this_session: int
    seconds: float
    buckets: list[str]
    new_buckets: list[str]
    crashed: list[int]
    exit_code: int
    totals: dict


def _seed_corpus(corpus: Path, seeds_dir: Path | None) -> int:
    """A new corpus starts from the regression seeds (.fzs), written atomically as binary."""
    if any(corpus.iterdir()) or seeds_dir is None or not seeds_dir.is_dir():
        return 0
    n = 0
    for fzs in sorted(seeds_dir.glob("*.fzs")):
        data = encode(load_fzs(fzs))
        atomic_write_bytes(corpus / f"seed-{fzs.stem}", data)
        n += 1
    return n


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _runs_from_log(log: Path) -> int | None:
    """libFuzzer's closing line: 'Done N runs in T second(s)'."""
    try:
        m = re.findall(r"Done (\d+) runs in", log.read_text(errors="replace"))
    except OSError:
        return None
    return int(m[-1]) if m else None


def default_seeds_dir() -> Path | None:
    here = Path(__file__).resolve().parents[2] / "corpora" / "regression"
    return here if here.is_dir() else None


def run_campaign(opts: CampaignOptions, echo=print) -> CampaignSummary:
    out = Path(opts.out)
    corpus = Path(opts.corpus) if opts.corpus else out / "corpus"
    findings = Path(opts.findings) if opts.findings else out / "findings"
    for d in (out, corpus, findings, out / "workers", out / "logs"):
        d.mkdir(parents=True, exist_ok=True)
    # A worker killed inside an atomic write leaves its temp file (never a torn target): clear them
    # before any worker starts.
    for stale in out.rglob(".*.tmp"):
        stale.unlink(missing_ok=True)
    seeds = None if opts.seeds_dir == "none" else Path(opts.seeds_dir) if opts.seeds_dir else default_seeds_dir()
    seeded = _seed_corpus(corpus, seeds)
    stats_path = out / "stats.json"
    totals = _read_json(stats_path) or {"runs": 0, "seconds": 0.0, "sessions": 0}
    totals["sessions"] += 1
    before = {p.parent.name for p in findings.glob("*/meta.json")}

    procs = []
    for w in range(opts.workers):
        args = [str(corpus), f"-max_len={MAX_OPS * RECORD_SIZE}", f"-seed={opts.seed + w if opts.seed else 0}",
                f"-max_total_time={opts.max_time}", f"-artifact_prefix={findings / 'artifacts'}/",
                "-print_final_stats=1", "-reload=1"]
        if opts.runs >= 0:
            args.append(f"-runs={opts.runs}")
        args += opts.libfuzzer_args
        cfg = {"worker": w, "device": opts.device, "policy": opts.policy, "engine": opts.engine,
               "findings": str(findings), "out": str(out), "stop_on_first": opts.stop_on_first,
               "structure_pct": opts.structure_pct, "state_features": opts.state_features,
               "libfuzzer_args": args}
        cfg_path = out / "workers" / f"{w}.config.json"
        atomic_write_text(cfg_path, json.dumps(cfg, indent=2))
        (out / "workers" / f"{w}.json").unlink(missing_ok=True)
        log = open(out / "logs" / f"worker-{w}.log", "w")
        procs.append((subprocess.Popen([sys.executable, "-m", "fuzzcore.campaign.worker", str(cfg_path)],
                                       stdout=log, stderr=subprocess.STDOUT), log))
    if not opts.quiet:
        echo(f"fuzzcore: {opts.workers} worker(s), device {opts.device}, policy {opts.policy}, "
             f"{opts.max_time}s; corpus {corpus} ({seeded} seeds added), findings {findings}; "
             f"previous sessions: {totals['sessions'] - 1}, {totals['runs']} runs")

    started = time.monotonic()
    crashed: list[int] = []
    stop_code = 0

    def status():
        runs = sum(_read_json(out / "workers" / f"{w}.json").get("runs", 0) for w in range(opts.workers))
        now = {p.parent.name for p in findings.glob("*/meta.json")}
        el = time.monotonic() - started
        rate = runs / el if el > 0 else 0
        return runs, now, (f"[{int(el) // 60:02d}:{int(el) % 60:02d}] runs {runs} ({rate:,.0f}/s) "
                           f"buckets {len(now)} (+{len(now - before)} new) corpus {sum(1 for _ in corpus.iterdir())}")

    def append_stats_line(runs: int, buckets: int):
        # JSON lines, appended: a torn last line (SIGKILL mid-write) is skipped by readers.
        el = time.monotonic() - started
        line = {"time": round(totals["seconds"] + el, 1), "session": totals["sessions"],
                "runs": totals["runs"] + runs, "runs_per_s": round(runs / el) if el else 0,
                "corpus": sum(1 for _ in corpus.iterdir()), "buckets": buckets}
        with open(out / "stats.jsonl", "a") as f:
            f.write(json.dumps(line) + "\n")

    def save_totals(runs: int, seconds: float):
        t = dict(totals)
        t["runs"] = totals["runs"] + runs
        t["seconds"] = totals["seconds"] + seconds
        atomic_write_text(stats_path, json.dumps(t, indent=2) + "\n")
        return t

    try:
        last = 0.0
        while any(p.poll() is None for p, _ in procs):
            time.sleep(0.2)
            if time.monotonic() - last >= STATUS_SECONDS:
                last = time.monotonic()
                runs, now_buckets, line = status()
                save_totals(runs, time.monotonic() - started)
                append_stats_line(runs, len(now_buckets))
                if not opts.quiet:
                    echo(line)
            if opts.stop_on_first and any(p.poll() == 1 for p, _ in procs):
                stop_code = 1
                break
    except KeyboardInterrupt:
        stop_code = 130
    finally:
        for p, log in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p, log in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
            log.close()

    for w, (p, _) in enumerate(procs):
        if p.returncode not in (0, -signal.SIGINT, 130) and not (opts.stop_on_first and p.returncode == 1):
            crashed.append(w)
    runs = 0
    for w in range(opts.workers):
        logged = _runs_from_log(out / "logs" / f"worker-{w}.log")
        runs += logged if logged is not None else _read_json(out / "workers" / f"{w}.json").get("runs", 0)
    seconds = time.monotonic() - started
    t = save_totals(runs, seconds)
    now = sorted(p.parent.name for p in findings.glob("*/meta.json"))
    new = sorted(set(now) - before)
    code = stop_code or (3 if crashed else 0)
    if not opts.quiet:
        echo(f"fuzzcore: done: {runs} runs in {seconds:.0f}s this session ({t['runs']} in all); "
             f"{len(now)} buckets, {len(new)} new")
        if new:
            echo(f"  {'bucket':70} {'hits':>7} {'ops':>4}  smallest input")
        for b in new:
            meta = _read_json(findings / b / "meta.json")
            echo(f"  {b[:70]:70} {meta.get('hits', 0):>7} {meta.get('min_ops', 0):>4}  {findings / b / 'min.fzs'}")
        if new:
            echo(f"next: fuzzcore show {findings / new[0]} --trace")
        for w in crashed:
            echo(f"  worker {w} crashed: see {out / 'logs' / f'worker-{w}.log'} and {findings / 'artifacts'}")
    return CampaignSummary(runs, seconds, now, new, crashed, code, t)
