"""The workers' new corpus inputs go first to a staging directory in memory (/dev/shm), and the
campaign driver copies them into the corpus directory beside the fuzzing.

Why: libFuzzer writes one file per new corpus input from inside its loop, and state feedback adds
inputs hundreds of times a second early in a campaign. On a disk file system whose inode allocator
is busy (one where many files were created and deleted), a create costs up to a millisecond, and
those writes took a quarter of a worker's time (perf, 10 s of a worker). In memory a create costs
tens of microseconds; the driver's copies run in another process.

How: each worker's libFuzzer gets [staging, corpus] as its corpus directories. libFuzzer loads
both at start and writes new inputs (and deletes the ones it replaces by a shorter input) in the
first. `sync()` mirrors the staging directory into the corpus: a file whose name is not yet there
is copied (temp file, then rename: the corpus never holds a part of one), and a file this session
copied that libFuzzer has since deleted is deleted. libFuzzer names a file by the SHA-1 of its
content, so a file it is still writing does not match its name and waits for the next sync.
Workers share finds through the staging directory (-reload), as they did through the corpus.

Kill safety: a staging directory belongs to one driver process (its name ends in the pid). A
campaign that starts on the same corpus first copies in what a dead driver's staging directory
holds and removes it, so a SIGKILL loses nothing that had reached memory. Without a writable
/dev/shm the workers write to the corpus directly, as before."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

SHM = Path("/dev/shm")
PREFIX = "fuzzcore-staging-"


def _key(corpus: Path) -> str:
    return hashlib.sha1(str(corpus.resolve()).encode()).hexdigest()[:16]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CorpusStaging:
    def __init__(self, corpus: Path, shm: Path = SHM):
        self.corpus = Path(corpus)
        self.shm = Path(shm)
        self.dir: Path | None = None
        self._copied: set[str] = set()     # names this session copied from staging into the corpus
        self._present: set[str] = set()    # staged names the corpus already held: nothing to do

    def open(self) -> Path | None:
        """Recover dead drivers' staging directories of this corpus, then make this one; None
        when there is no writable memory file system (the workers then write to the corpus)."""
        if not (self.shm.is_dir() and os.access(self.shm, os.W_OK)):
            return None
        key = _key(self.corpus)
        for old in self.shm.glob(f"{PREFIX}{key}-*"):
            pid = old.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _alive(int(pid)):
                self._copy_in(old)
                shutil.rmtree(old, ignore_errors=True)
        self.dir = self.shm / f"{PREFIX}{key}-{os.getpid()}"
        self.dir.mkdir(exist_ok=True)
        return self.dir

    def sync(self) -> int:
        """Mirror the staging directory into the corpus; returns the files copied."""
        if self.dir is None:
            return 0
        try:
            names = set(os.listdir(self.dir))
        except OSError:
            return 0
        for gone in self._copied - names:      # libFuzzer replaced it by a shorter input
            try:
                (self.corpus / gone).unlink()
            except FileNotFoundError:
                pass
            self._copied.discard(gone)
        return self._copy_in(self.dir, names)

    def close(self) -> None:
        """The last sync, then the staging directory goes."""
        if self.dir is None:
            return
        self.sync()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def _copy_in(self, src: Path, names: set[str] | None = None) -> int:
        n = 0
        for name in sorted(names if names is not None else os.listdir(src)):
            if name in self._copied or name in self._present or name.startswith("."):
                continue
            try:
                data = (src / name).read_bytes()
            except OSError:
                continue
            if hashlib.sha1(data).hexdigest() != name:   # still being written (or not libFuzzer's)
                continue
            target = self.corpus / name
            if target.exists():
                self._present.add(name)
                continue
            tmp = self.corpus / f".{name}.staging.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, target)
            n += 1
            if src == self.dir:
                self._copied.add(name)
        return n
