"""`fuzzcore plot`: a campaign's stats.jsonl as a PNG: exec/s, features, corpus size and buckets
over time."""

from __future__ import annotations

import json
from pathlib import Path


def read_stats(path: str | Path) -> list[dict]:
    """The JSON lines; a torn last line (a campaign killed mid-write) is skipped."""
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def plot_stats(stats_path: str | Path, out_png: str | Path) -> int:
    import matplotlib
    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt

    rows = read_stats(stats_path)
    if not rows:
        raise ValueError(f"{stats_path}: no stats lines")
    t = [r["time"] for r in rows]
    fig, axes = plt.subplots(4, 1, figsize=(8, 9), sharex=True)
    # exec/s over ~20 s windows of one session (the lines' own runs_per_s is the session's running
    # average, shown dashed).
    rate_t, rate = interval_rates(rows)
    axes[0].plot(rate_t, rate, marker=".", label="over 20 s")
    axes[0].plot(t, [r["runs_per_s"] for r in rows], linestyle="--", label="session average")
    axes[0].set_ylabel("exec/s")
    axes[0].legend(loc="lower right")
    for key, label in (("features", "features (ft)"), ("cov", "cov")):
        have = [r for r in rows if key in r]
        if have:
            axes[1].plot([r["time"] for r in have], [r[key] for r in have], marker=".", label=label)
    axes[1].set_ylabel("libFuzzer features")
    if axes[1].lines:
        axes[1].legend(loc="lower right")
    for ax, key, label in zip(axes[2:], ("corpus", "buckets"), ("corpus (inputs)", "buckets")):
        ax.plot(t, [r[key] for r in rows], marker=".")
        ax.set_ylabel(label)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("campaign time (s, all sessions)")
    fig.suptitle(f"fuzzcore campaign: {Path(stats_path).parent.name}")
    fig.tight_layout()
    from ..util.atomic_write import atomic_write_bytes
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(out_png, buf.getvalue())
    return len(rows)


def interval_rates(rows: list[dict], window: int = 4) -> tuple[list[float], list[float]]:
    """(time, exec/s) over `window` consecutive intervals of the same session (workers report
    their run counts every 2 s, the driver writes a line every 5 s: one interval alone zigzags)."""
    ts, rates = [], []
    for a, b in zip(rows, rows[window:]):
        dt = b["time"] - a["time"]
        if b.get("session") == a.get("session") and dt > 0 and b["runs"] >= a["runs"]:
            ts.append(b["time"])
            rates.append((b["runs"] - a["runs"]) / dt)
    return ts, rates
