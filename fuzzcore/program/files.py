"""Which files under some paths are programs: the one tree walk `replay` and `cmin` share."""

from __future__ import annotations

import os
from pathlib import Path

from ..util.text_input import missing_file

# Files that sit beside programs (metadata, docs, logs, temp files of atomic writes).
NOT_PROGRAMS = {".json", ".md", ".txt", ".toml", ".py", ".log", ".tmp"}


def program_paths(paths: list[str], missing: type[Exception], skip_campaign_corpora: bool = False) -> list[Path]:
    """Each named file, and every file under each named directory (sorted, hidden files and
    directories left out, NOT_PROGRAMS suffixes left out). A path that does not exist raises
    `missing`. With skip_campaign_corpora, the walk passes by corpora/<device>-<policy>/
    (libFuzzer's git-ignored working sets, not regression programs); named, they are walked."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            out.append(p)
            continue
        if not p.is_dir():
            raise missing(missing_file(p))
        for root, dirs, names in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and not (skip_campaign_corpora and Path(root).name == "corpora" and "-" in d))
            out += [Path(root) / n for n in sorted(names)
                    if not n.startswith(".") and Path(n).suffix not in NOT_PROGRAMS]
    return out
