"""`fuzzcore plot`: a campaign's stats.jsonl as a PNG (runs/s, corpus size, buckets over time)."""

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
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    for ax, key, label in zip(axes, ("runs_per_s", "corpus", "buckets"),
                              ("runs/s", "corpus (inputs)", "buckets")):
        ax.plot(t, [r[key] for r in rows], marker=".")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("campaign time (s, all sessions)")
    fig.suptitle(f"fuzzcore campaign: {Path(stats_path).parent.name}")
    fig.tight_layout()
    from ..atomic_write import atomic_write_bytes
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(out_png, buf.getvalue())
    return len(rows)
