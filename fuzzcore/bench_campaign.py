"""Campaign-level throughput for `fuzzcore bench --campaign S`: the per-input ceiling of bare
atheris on a trivial Python target, and a real `fuzzcore fuzz` on the default device and policy,
both measured in the same run (libFuzzer's own final stats: average exec/s, peak RSS)."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

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


def fuzz_throughput(seconds: int, device: str = "i350", policy: str = "linux-7.1") -> dict:
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", d, "--max-time", str(seconds),
                        "--device", device, "--policy", policy, "--no-seeds"], capture_output=True, text=True)
        log = (Path(d) / "logs" / "worker-0.log").read_text(errors="replace")
    return _final_stats(log)


def campaign_bench(seconds: int = 30) -> dict:
    ceiling = atheris_ceiling()
    fuzz = fuzz_throughput(seconds)
    return {"atheris_trivial_exec_per_s": ceiling.get("average_exec_per_sec", 0),
            "fuzz_exec_per_s": fuzz.get("average_exec_per_sec", 0),
            "fuzz_seconds": seconds, "fuzz_runs": fuzz.get("number_of_executed_units", 0),
            "fuzz_peak_rss_mb": fuzz.get("peak_rss_mb", 0)}


def table(r: dict) -> str:
    return "\n".join([
        f"  bare atheris (trivial target)   {r['atheris_trivial_exec_per_s']:>12,} exec/s   (per-input ceiling)",
        f"  fuzzcore fuzz, {r['fuzz_seconds']} s, state feedback on {r['fuzz_exec_per_s']:>9,} exec/s   "
        f"({r['fuzz_runs']:,} runs, peak RSS {r['fuzz_peak_rss_mb']} MB)",
        f"  ratio fuzz/ceiling              {r['fuzz_exec_per_s'] / max(1, r['atheris_trivial_exec_per_s']):>12.3f}"])
