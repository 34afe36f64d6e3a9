"""Campaign-level throughput for `fuzzcore bench --campaign S`: the per-input ceiling of bare
atheris on a trivial Python target, and real `fuzzcore fuzz` campaigns on the default device and
policy from an empty corpus, measured in the same run (libFuzzer's final stats: average exec/s,
peak RSS; the campaign's stats.jsonl: the rate over the last third, once the corpus has settled),
and the same campaigns with --no-prefix-resume as the baseline of the prefix resume (the share of
ops it spared from the worker's stats). Each figure is the median of `repeat` runs."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..campaign.findings_store import bucket_metas

TRIVIAL_TARGET = """
import sys, atheris
def TestOneInput(data):
    pass
atheris.Setup(sys.argv, TestOneInput)
atheris.Fuzz()
"""


def _final_stats(text: str) -> dict:
    return {k: int(v) for k, v in re.findall(r"stat::(\w+):\s+(\d+)", text)}


def atheris_ceiling(runs: int = 10_000_000) -> dict:
    with tempfile.TemporaryDirectory() as d:
        script = Path(d) / "trivial.py"
        script.write_text(TRIVIAL_TARGET)
        r = subprocess.run([sys.executable, str(script), f"-runs={runs}", "-print_final_stats=1"],
                           capture_output=True, text=True)
    return _final_stats(r.stderr)


def _last_third_rate(stats_jsonl: Path) -> int:
    """Runs per second between the line nearest 2/3 of the campaign and the last line."""
    rows = []
    for line in stats_jsonl.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    if len(rows) < 2:
        return 0
    end = rows[-1]
    start = min(rows[:-1], key=lambda r: abs(r["time"] - 2 * end["time"] / 3))
    dt = end["time"] - start["time"]
    return round((end["runs"] - start["runs"]) / dt) if dt > 0 else 0


def default_scratch() -> Path:
    """Where the campaigns run: the current directory, as `fuzzcore fuzz` writes its corpus and
    findings there by default (a hidden directory, removed after); the system temp directory when
    the current one is not writable."""
    here = Path.cwd()
    return here if os.access(here, os.W_OK) else Path(tempfile.gettempdir())


def file_create_us(directory: Path, files: int = 500) -> float:
    """The mean cost of creating a small file in `directory`, in microseconds: a campaign
    writes one per new corpus unit and new bucket, and on a file system whose inode allocator is
    busy (one where many files were created and deleted) a create can cost a millisecond, which
    then dominates a campaign; the report prints it so the figures can be read."""
    with tempfile.TemporaryDirectory(dir=directory, prefix=".fuzzcore-bench-") as d:
        t = time.perf_counter()
        for i in range(files):
            with open(os.path.join(d, str(i)), "wb") as f:
                f.write(b"x" * 40)
        return (time.perf_counter() - t) / files * 1e6


def fuzz_throughput(seconds: int, device: str = "i350", policy: str = "linux-7.1", seed: int = 1,
                    scratch: Path | None = None, prefix_resume: bool = True) -> dict:
    with tempfile.TemporaryDirectory(dir=scratch or default_scratch(), prefix=".fuzzcore-bench-") as d:
        subprocess.run([sys.executable, "-P", "-m", "fuzzcore.cli", "fuzz", "--out", d, "--max-time", str(seconds),
                        "--device", device, "--policy", policy, "--no-seeds", "--seed", str(seed)]
                       + ([] if prefix_resume else ["--no-prefix-resume"]),
                       capture_output=True, text=True)
        stats = _final_stats((Path(d) / "logs" / "worker-0.log").read_text(errors="replace"))
        stats["last_third_exec_per_s"] = _last_third_rate(Path(d) / "stats.jsonl")
        stats["buckets"] = len(bucket_metas(Path(d) / "findings"))
        worker = json.loads((Path(d) / "workers" / "0.json").read_text())
        stats["resumed_pct"] = 100 * worker.get("ops_resumed", 0) / max(1, worker.get("ops", 0))
    return stats


def campaign_bench(seconds: int = 30, repeat: int = 3, scratch: Path | None = None) -> dict:
    scratch = Path(scratch) if scratch else default_scratch()
    ceilings = [atheris_ceiling() for _ in range(repeat)]
    runs, plain = [], []
    for i in range(repeat):        # interleaved: a slow spell of the machine hits both alike
        runs.append(fuzz_throughput(seconds, seed=1 + i, scratch=scratch))
        plain.append(fuzz_throughput(seconds, seed=1 + i, scratch=scratch, prefix_resume=False))

    def med(rows, key):
        return round(statistics.median(r.get(key, 0) for r in rows))

    return {"repeat": repeat,
            "atheris_trivial_exec_per_s": med(ceilings, "average_exec_per_sec"),
            "fuzz_exec_per_s": med(runs, "average_exec_per_sec"),
            "fuzz_exec_per_s_all": [r.get("average_exec_per_sec", 0) for r in runs],
            "fuzz_last_third_exec_per_s": med(runs, "last_third_exec_per_s"),
            "fuzz_seconds": seconds, "fuzz_runs": med(runs, "number_of_executed_units"),
            "fuzz_peak_rss_mb": med(runs, "peak_rss_mb"), "fuzz_buckets": med(runs, "buckets"),
            "fuzz_resumed_pct": med(runs, "resumed_pct"),
            "plain_exec_per_s": med(plain, "average_exec_per_sec"),
            "plain_exec_per_s_all": [r.get("average_exec_per_sec", 0) for r in plain],
            "plain_buckets": med(plain, "buckets"),
            "scratch": str(scratch), "scratch_file_create_us": round(file_create_us(scratch)),
            "tmp_file_create_us": round(file_create_us(Path(tempfile.gettempdir())))}


def table(r: dict) -> str:
    return "\n".join([
        f"  medians of {r['repeat']} runs, one worker, i350 / linux-7.1, empty corpus, state feedback on",
        f"  bare atheris (trivial target)     {r['atheris_trivial_exec_per_s']:>12,} exec/s   (per-input ceiling)",
        f"  fuzzcore fuzz, {r['fuzz_seconds']} s, average    {r['fuzz_exec_per_s']:>12,} exec/s   "
        f"(each: {', '.join(f'{x:,}' for x in r['fuzz_exec_per_s_all'])}; {r['fuzz_runs']:,} runs, "
        f"peak RSS {r['fuzz_peak_rss_mb']} MB, {r['fuzz_buckets']} buckets)",
        f"  fuzzcore fuzz, last third         {r['fuzz_last_third_exec_per_s']:>12,} exec/s   (corpus settled)",
        f"  ... --no-prefix-resume, average   {r['plain_exec_per_s']:>12,} exec/s   "
        f"(each: {', '.join(f'{x:,}' for x in r['plain_exec_per_s_all'])}; {r['plain_buckets']} buckets)",
        f"  ratio prefix resume/none          {r['fuzz_exec_per_s'] / max(1, r['plain_exec_per_s']):>12.2f}   "
        f"({r['fuzz_resumed_pct']}% of ops resumed, not run)",
        f"  ratio fuzz/ceiling                {r['fuzz_exec_per_s'] / max(1, r['atheris_trivial_exec_per_s']):>12.3f}",
        f"  campaigns ran in {r['scratch']} (a file create: {r['scratch_file_create_us']:,} us; "
        f"in {tempfile.gettempdir()}: {r['tmp_file_create_us']:,} us)"])
