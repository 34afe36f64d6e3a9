"""The findings store: one directory per bucket, kept across runs and shared by workers.

    <findings>/<invariant>--<op>--<register>/
        first.bin first.fzs    the first input that hit the bucket (cut after the violating op)
        min.bin   min.fzs      the smallest input seen for it
        meta.json              bucket, meaning, device, policy, engine, first/last seen, hits
    <findings>/artifacts/      real crashes (Python exceptions, engine faults): libFuzzer's
                               crash-<sha1> plus <name>.traceback.txt

Every file is written atomically and a new bucket directory appears whole (built under a hidden
name, then renamed); concurrent workers serialise updates with a lock file, so a bucket's min is
only ever replaced by a smaller input and a SIGKILL leaves whole files only. A new bucket is on
disk before the run that found it returns; hit counts and shorter inputs for known buckets are
batched in memory and flushed every FLUSH_SECONDS (a kill loses at most those, never a bucket).

A campaign worker hands its writes to a writer thread (`start_writer`): a flush is a few hundred
fsync'd meta.json writes, and a new bucket a directory of five fsync'd files; done inline they
stalled the fuzzing loop (measured: 15 s of a 30 s campaign on a loaded disk; new buckets alone
took 15 % of a worker where creating a file costs most). The engine runs without the GIL, so the
thread's writes overlap the runs. There, a new bucket is written milliseconds after the run that
found it, ahead of any later update of it; a SIGKILL in that window loses the bucket (the next
run that reaches it writes it again), never leaves part of one. The worker also leaves the root-cause annotation (a reference-model run,
~20 ms per new or shorter reproducer) to the campaign driver (`annotate_root_causes=False`,
fuzzcore/campaign/annotator.py)."""

from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from .. import __version__
from ..util.atomic_write import atomic_write_bytes, atomic_write_text
from ..model.invariants import BY_NAME, Violation, bucket_name
from ..program.codec import decode, encode
from ..program.fzs import format_program
from ..program.op_table import RECORD_SIZE
from .state import CampaignStateError, meta_problem, read_json_checked, rebuild_meta

FLUSH_SECONDS = 5.0


class FindingsStore:
    def __init__(self, root: str | Path, device: str, policy: str, engine: str, warn=None,
                 annotate_root_causes: bool = True):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "artifacts").mkdir(exist_ok=True)
        self.device, self.policy, self.engine = device, policy, engine
        self.known: dict[str, int] = {}          # bucket dir -> size of its min input in records
        self._pending_hits: dict[str, int] = {}
        self._names: dict[tuple, str] = {}
        self._pending_min: dict[str, tuple[bytes, Violation]] = {}   # shorter inputs not yet written
        self._last_flush = time.monotonic()
        self.writes = 0                          # bucket directory updates (stats)
        self.warn = warn or (lambda m: print(m, file=sys.stderr, flush=True))
        self._unrepairable: set[str] = set()
        self.annotate_root_causes = annotate_root_causes
        self._writer: threading.Thread | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._writer_error: BaseException | None = None
        self.reload()

    def reload(self) -> None:
        """Buckets already on disk (earlier runs, other workers); a meta.json that does not parse
        is rebuilt from its bucket's files, with a warning (fuzzcore/campaign/state.py)."""
        for meta in bucket_metas(self.root):
            info = self._meta_of(meta.parent.name, lock=True)
            if info:
                self.known[meta.parent.name] = int(info.get("min_ops", 1 << 30))

    def _meta_of(self, name: str, lock: bool = False) -> dict:
        """The bucket's meta.json, repaired first when it does not parse; {} (and a warning, once)
        when it cannot be. `lock`: take the store's lock for a repair (callers inside it pass False)."""
        meta_path = self.root / name / "meta.json"
        value, why = read_json_checked(meta_path)
        if why is None and meta_problem(value) is None:
            return value
        if lock:
            with self._locked():
                return self._meta_of(name)
        try:
            return repair_meta(self.root / name, self.engine, self.warn)
        except CampaignStateError as e:
            if name not in self._unrepairable:
                self._unrepairable.add(name)
                self.warn(f"fuzzcore: warning: {e}; this bucket's hits are not recorded until then")
            return {}

    @contextmanager
    def _locked(self):
        with open(self.root / ".lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def add_hits(self, hits: dict) -> None:
        """Hits counted elsewhere ({bucket tuple: n}, the native campaign target), batched."""
        for bucket, n in hits.items():
            name = self._names.get(bucket)
            if name is None:
                name = self._names[bucket] = bucket_name(bucket)
            self._pending_hits[name] = self._pending_hits.get(name, 0) + n

    def record(self, data: bytes, violation: Violation, count_hit: bool = True) -> bool:
        """Note a hit (unless counted elsewhere); returns True when the bucket is new to this
        store. A new bucket is written at once, whole (by the writer thread when there is one); a shorter input for a known one waits for
        the next flush (a campaign improves many mins in its first seconds, and each write is a
        few fsyncs)."""
        name = self._names.get(violation.bucket)
        if name is None:
            name = self._names[violation.bucket] = bucket_name(violation.bucket)
        n_ops = violation.op_index + 1   # the canonical prefix's length, without decoding (hot path)
        if count_hit:
            self._pending_hits[name] = self._pending_hits.get(name, 0) + 1
        known = self.known.get(name)
        if known is None:
            if self._writer is None:
                self._first_write(name, data, violation)
            else:
                # Queued ahead of any later update of the same bucket (the queue is FIFO).
                self._check_writer()
                self._jobs.put(lambda: self._first_write(name, data, violation))
            self.known[name] = n_ops
            self._timed_flush()
            return True
        if n_ops < known:
            self._pending_min[name] = (data, violation)
            self.known[name] = n_ops
        self._timed_flush()
        return False

    def _first_write(self, name: str, data: bytes, violation: Violation) -> None:
        """A bucket new to this store: create its directory, or, when another worker was first,
        offer this input as a shorter one."""
        with self._locked():
            if (self.root / name / "meta.json").exists():
                self._update_min(name, canonical_prefix(data, violation.op_index), violation)
            else:
                self._create_bucket(name, canonical_prefix(data, violation.op_index), violation)

    def _timed_flush(self) -> None:
        if self._writer is not None:
            self.flush_in_background()
        else:
            self.maybe_flush()

    def _meta(self, v: Violation, n_ops: int, now: str) -> dict:
        return {"bucket": list(v.bucket), "invariant": v.invariant,
                "meaning": BY_NAME[v.invariant].meaning, "hazard": BY_NAME[v.invariant].hazard,
                "device": self.device, "policy": self.policy, "engine": self.engine,
                "fuzzcore_version": __version__, "first_seen": now, "last_seen": now, "hits": 0,
                "first_ops": n_ops, "min_ops": n_ops, "min_device": self.device, "violation": asdict(v)}

    def _create_bucket(self, name: str, prefix: bytes, v: Violation) -> None:
        """A new bucket directory appears whole: built under a hidden name, then renamed."""
        self.writes += 1
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        fzs = _fzs_header(self, v) + format_program(decode(prefix))
        tmp = self.root / f".new-{name}.{os.getpid()}.tmp"
        if tmp.exists():                 # a killed earlier attempt of this process id
            shutil.rmtree(tmp)
        tmp.mkdir()
        meta = self._meta(v, len(prefix) // RECORD_SIZE, now)
        self._root_cause(meta, prefix, v)
        # Nobody reads the hidden directory, so its files need no rename of their own: each is
        # written and fsync'd, then the directory is, then it is renamed into place and the store
        # fsync'd (7 fsyncs; an atomic write per file took 10).
        fzs_b = fzs.encode("utf-8")
        for fname, body in (("first.bin", prefix), ("first.fzs", fzs_b), ("min.bin", prefix),
                            ("min.fzs", fzs_b),
                            ("meta.json", (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())):
            _write_synced(tmp / fname, body)
        _fsync_dir(tmp)
        os.rename(tmp, self.root / name)
        _fsync_dir(self.root)

    def _update_min(self, name: str, prefix: bytes, v: Violation) -> None:
        """Replace min.* if this input is shorter than the one on disk (under the lock). A min
        that `fuzzcore minimize` wrote (meta "minimized") is kept: it carries the reviewed
        fixed-by expectations that replay checks."""
        d = self.root / name
        meta_path = d / "meta.json"
        meta = self._meta_of(name)
        if not meta:
            return
        n_ops = len(prefix) // RECORD_SIZE
        if meta.get("minimized") or n_ops >= meta.get("min_ops", 1 << 30):
            return
        self.writes += 1
        atomic_write_bytes(d / "min.bin", prefix)
        atomic_write_text(d / "min.fzs", _fzs_header(self, v) + format_program(decode(prefix)))
        meta.update(min_ops=n_ops, min_device=self.device, violation=asdict(v),
                    last_seen=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self._root_cause(meta, prefix, v)
        atomic_write_text(meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")

    def _root_cause(self, meta: dict, prefix: bytes, v: Violation) -> None:
        """The provenance and root-cause key of the bucket's (new or shorter) reproducer, derived
        once on the reference model (fuzzcore/triage/root_cause.py); a reproducer it cannot
        derive gets none (`fuzzcore show` derives it again). A campaign worker's store leaves it
        to the driver (fuzzcore/campaign/annotator.py), which runs beside the fuzzing loop."""
        if not self.annotate_root_causes:
            meta.pop("root_cause", None)
            return
        try:
            from ..triage.root_cause import annotate
            meta["root_cause"] = annotate(self.device, self.policy, decode(prefix), v.bucket)
        except Exception:       # triage must never stop a campaign
            meta.pop("root_cause", None)

    def maybe_flush(self, force: bool = False) -> None:
        """Write pending shorter inputs and hit counts (every FLUSH_SECONDS, or now). With a
        writer thread, `force` first waits for the writes it was handed."""
        if force and self._writer is not None:
            self.drain()
        if not (self._pending_hits or self._pending_min) or (
                not force and time.monotonic() - self._last_flush < FLUSH_SECONDS):
            return
        hits, mins = self._take_pending()
        self._write_pending(hits, mins)

    def _take_pending(self) -> tuple[dict, dict]:
        hits, mins = self._pending_hits, self._pending_min
        self._pending_hits, self._pending_min = {}, {}
        self._last_flush = time.monotonic()
        return hits, mins

    def _write_pending(self, hits: dict, mins: dict) -> None:
        if not (hits or mins):
            return
        with self._locked():
            for name, (data, v) in mins.items():
                self._update_min(name, canonical_prefix(data, v.op_index), v)
            now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            for name, n in hits.items():
                meta_path = self.root / name / "meta.json"
                meta = self._meta_of(name) if meta_path.exists() else {}
                if meta:
                    meta["hits"] = meta.get("hits", 0) + n
                    meta["last_seen"] = now
                    atomic_write_text(meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")

    # --- the writer thread (campaign workers) ------------------------------------------------
    def start_writer(self) -> None:
        """From now on timed flushes are written by a thread of this process: `flush_in_background`
        hands it the pending counts, `drain` waits for it (call before the process ends)."""
        if self._writer is None:
            self._writer = threading.Thread(target=self._writer_loop, name="findings-writer", daemon=True)
            self._writer.start()

    def _writer_loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if self._writer_error is None:
                    job()
            except BaseException as e:          # surfaced on the fuzzing thread by drain()
                self._writer_error = e
            finally:
                self._jobs.task_done()

    def flush_in_background(self, force: bool = False, then=None) -> None:
        """Hand the pending hits and shorter inputs (when FLUSH_SECONDS have passed, or `force`)
        and `then` (another write, e.g. the worker's stats file) to the writer thread; re-raise
        here what an earlier background write raised (disk full: the campaign stops, visibly)."""
        self._check_writer()
        due = (self._pending_hits or self._pending_min) and (
            force or time.monotonic() - self._last_flush >= FLUSH_SECONDS)
        if not due and then is None:
            return
        hits, mins = self._take_pending() if due else ({}, {})

        def job():
            self._write_pending(hits, mins)
            if then is not None:
                then()
        if self._writer is None:
            job()
        else:
            self._jobs.put(job)

    def _check_writer(self) -> None:
        """Re-raise here what an earlier background write raised."""
        if self._writer_error is not None:
            raise self._writer_error

    def drain(self) -> None:
        """Wait until the writer thread has written what it was handed (re-raise its error)."""
        if self._writer is not None:
            self._jobs.join()
        if self._writer_error is not None:
            raise self._writer_error

    def buckets(self) -> list[str]:
        return sorted(self.known)

    def crash_traceback(self, artifact_name: str, text: str) -> Path:
        path = self.root / "artifacts" / f"{artifact_name}.traceback.txt"
        atomic_write_text(path, text)
        return path


def repair_meta(d: Path, engine: str, warn) -> dict:
    """Rebuild bucket directory `d`'s meta.json from its files (the caller holds the store's lock
    or nothing else runs), write it, warn what was lost; CampaignStateError when it cannot be."""
    value, why = read_json_checked(d / "meta.json")
    if why is None:
        shape = meta_problem(value)
        if shape is None:
            return value                     # repaired meanwhile (another worker)
        why = f"{d / 'meta.json'}: {shape}"
    meta, lost = rebuild_meta(d, engine)
    atomic_write_text(d / "meta.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    warn(f"fuzzcore: warning: {why}; rebuilt from {meta['rebuilt']['from']}; lost: {lost}")
    return meta


def check_store(root: str | Path, engine: str, warn) -> int:
    """Before a campaign starts: every bucket's meta.json parses, or is rebuilt (with a warning),
    or CampaignStateError says which one and how to recover. Returns how many were rebuilt."""
    root = Path(root)
    if not root.is_dir():
        return 0
    n = 0
    with open(root / ".lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            for meta in bucket_metas(root):
                value, why = read_json_checked(meta)
                if why is None and meta_problem(value) is None:
                    continue
                repair_meta(meta.parent, engine, warn)
                n += 1
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
    return n


def bucket_metas(root: str | Path) -> list[Path]:
    """meta.json of every bucket directory under root (not a new one still under its hidden name)."""
    return [m for m in Path(root).glob("*/meta.json") if not m.parent.name.startswith(".")]


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def canonical_prefix(data: bytes, op_index: int) -> bytes:
    """The input up to and including the violating op, canonically re-encoded: later ops cannot
    have caused it (the models run ops in order)."""
    return encode(decode(data)[: op_index + 1])


def _fzs_header(store: FindingsStore, v: Violation) -> str:
    return (f"# fuzzcore finding: {v.invariant} [{v.register}] at op {v.op_index} ({v.op}) in {v.step}\n"
            f"# device: {store.device}\n# policy: {store.policy}\n"
            f"# expected-bucket: {' | '.join(v.bucket)}\n")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
