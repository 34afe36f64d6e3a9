#!/usr/bin/env python3
"""Time to find each acceptance hazard from an empty corpus, one worker, with and without state
feedback: `python scripts/time_to_find.py [--seeds 1 2 3] [--cap 600]`.

Each run is `fuzzcore fuzz --no-seeds --seed S --out TMP` under the hazard's policy and device,
stopped as soon as the hazard's bucket directory has its meta.json (polled every 0.1 s); the time
is from the campaign's start, process start-up included. Prints a Markdown table of the median
over the seeds (">CAP" when not found within the cap)."""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HAZARDS = [  # (name, device, policy, bucket directory)
    ("MSI-X restored with Memory off (H1a)", "i350", "linux-7.1",
     "mmio_decode_off--vfio_device_reset--MSI-X_table,_Memory_off"),
    ("TPH restored from the open blob", "dsa", "linux-7.1+vfio-tph+vfio-reset-done-v18",
     "restore_unsaved_buffer--vfio_device_reset--TPH"),
    ("all-ones snapshot", "i350", "linux-7.1", "snapshot_all_ones--vfio_device_reset--config"),
    ("restore skipped (one-shot snapshot)", "i350", "linux-7.1+pre-a2f1e22390ac",
     "used_without_restore--pcie_do_recovery--config"),
    ("stale BAR", "wifi-7265", "linux-7.1+no-bar-snapshot-update", "snapshot_bar_stale--pci_bind_driver--BAR0"),
]


def time_to_find(device: str, policy: str, bucket: str, seed: int, cap: float, feedback: bool) -> float | None:
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as d:
        out = Path(d) / "c"
        args = [sys.executable, "-P", "-m", "fuzzcore.cli", "fuzz", "--out", str(out), "--device", device,
                "--policy", policy, "--no-seeds", "--seed", str(seed), "--max-time", str(int(cap) + 5)]
        if not feedback:
            args.append("--no-state-feedback")
        start = time.monotonic()
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        found = None
        meta = out / "findings" / bucket / "meta.json"
        while p.poll() is None and time.monotonic() - start < cap:
            if meta.exists():
                found = time.monotonic() - start
                break
            time.sleep(0.1)
        # Stop the campaign, workers included (they are in its process group).
        for sig in (signal.SIGINT, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                continue
            time.sleep(0.5)
        return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--cap", type=float, default=600.0, help="seconds per run before giving up")
    ap.add_argument("--only", default="", help="only the hazards whose name contains this text")
    opts = ap.parse_args()
    print("| hazard | policy | device | with state feedback: median (seeds) | without: median (seeds) |")
    print("|---|---|---|---|---|")
    for name, device, policy, bucket in HAZARDS:
        if opts.only not in name:
            continue
        cells = []
        for feedback in (True, False):
            times = [time_to_find(device, policy, bucket, s, opts.cap, feedback) for s in opts.seeds]
            shown = [f"{t:.1f}" if t is not None else f">{opts.cap:.0f}" for t in times]
            vals = [t if t is not None else float("inf") for t in times]
            med = statistics.median(vals)
            cells.append(f"{med:.1f} s ({', '.join(shown)})" if med != float("inf") else f">{opts.cap:.0f} s ({', '.join(shown)})")
        print(f"| {name} | `{policy}` | {device} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
