"""`fuzzcore fuzz`: start the workers, show a live status, keep cumulative statistics, and resume
where a killed campaign stopped.

Where a campaign keeps its files. Without --out (the default layout, per device and policy):

    corpora/<device>-<policy>/       libFuzzer's corpus (new ones seeded from corpora/seeds/ and
                                     corpora/regression/); git-ignored
    fuzzcore-out/<device>-<policy>/  findings/ (the working findings store, findings_store.py),
                                     stats.json, stats.jsonl, workers/, logs/ (not inside the
                                     corpus: libFuzzer reads every file under its corpus dir as an
                                     input); git-ignored

The workers' new corpus inputs are written to a staging directory in /dev/shm first and copied
into the corpus by this process every second and at the end (corpus_staging.py).

Nothing a default campaign writes is tracked by git: crashes/<policy>/ is the reviewed store that
CI replays, and a finding enters it only minimised, through `fuzzcore promote`.

With --out DIR, a self-contained (scratch) campaign: DIR/corpus/, DIR/findings/, DIR/stats.json,
DIR/stats.jsonl, DIR/workers/, DIR/logs/. --corpus and --findings override either layout.

    stats.json     cumulative runs, seconds and sessions, ops and ops refused by a precondition
                   (refused_share; session_refused_share for the last session), written atomically
    stats.jsonl    one JSON line every STATUS_SECONDS: time, session, runs, runs/s, corpus,
                   features, cov, buckets, ops, ops_refused (cumulative; a torn last line, from a
                   kill, is cut at the next start)
    workers/       per-worker stats (<w>.json, written by the worker) and configs
    logs/          libFuzzer's output per worker (quiet by default; with -verbosity=1 the status reads
                   its `cov:`/`ft:` lines from the tail)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..util.atomic_write import atomic_write_bytes, atomic_write_text
from ..program.codec import encode
from ..program.fzs import load_fzs
from ..program.op_table import RECORD_SIZE
from .annotator import RootCauseAnnotator
from .corpus_staging import CorpusStaging
from .findings_store import bucket_metas, check_store
from .state import load_totals
from .status_display import STATUS_SECONDS, RootCauseRow, Status, make_display, refused_text

MAX_OPS = 64
TICK_SECONDS = 0.25          # the supervisor's loop; the display decides how often it redraws
TOTALS_SECONDS = 1.0         # stats.json: a kill loses at most this much (plus a worker's 2 s) of runs
CORPUS_COUNT_SECONDS = 1.0   # listing a large corpus dir costs milliseconds: at most once a second
ANNOTATE_BUDGET = 0.3        # seconds of root-cause derivation per TOTALS_SECONDS tick (annotator.py)
STALE_TEMP_SECONDS = 60.0    # temp files outside --out may belong to another campaign's live write
REPO = Path(__file__).resolve().parents[2]


@dataclass
class CampaignOptions:
    device: str = "i350"
    policy: str = "linux-7.1"
    out: str | None = None          # None: the default layout (see the module docstring)
    corpus: str | None = None
    findings: str | None = None
    max_time: int = 60
    runs: int = -1
    seed: int = 0
    workers: int = 1
    engine: str = "auto"
    stop_on_first: bool = False
    structure_pct: int = 80
    seeds_dir: str | None = None    # "none": no seeds; None: default_seeds_dirs()
    state_features: bool = True
    prefix_resume: bool = True      # the native target resumes inputs from the last run's checkpoints
    libfuzzer_args: list[str] = field(default_factory=list)
    quiet: bool = False
    live: bool | None = None        # the rich live status; None: when stderr is a terminal
    all_tiers: bool = False         # exit summary: also by-design and fixed-by root causes
    fail_on_new: bool = False       # exit 1 when a root cause is not in the baseline's reviewed list


@dataclass
class CampaignSummary:
    runs_this_session: int
    seconds: float
    buckets: list[str]
    new_buckets: list[str]
    crashed: list[int]
    exit_code: int
    totals: dict
    root_causes: list = field(default_factory=list)   # fuzzcore.triage.root_cause.RootCause, assessed
    new_root_causes: int = 0                          # not in the baseline's reviewed list


# --- paths ---------------------------------------------------------------------------------

def _part_name(part: str) -> str:
    """A policy spec part or a device as a file name: a TOML path by its stem, a built-in name as is."""
    return Path(part).stem if "/" in part or part.endswith(".toml") else part


def policy_dir_name(policy: str) -> str:
    """`linux-7.1+vfio-reset-done-v18` as is ('+' is fine in a file name); path parts by their stem."""
    return "+".join(_part_name(p) for p in policy.split("+"))


def campaign_name(device: str, policy: str) -> str:
    return f"{_part_name(device)}-{policy_dir_name(policy)}"


def campaign_paths(opts: CampaignOptions) -> tuple[Path, Path, Path]:
    """(out, corpus, findings) for the options: --out's self-contained layout, or the default one."""
    if opts.out:
        out = Path(opts.out)
        corpus, findings = out / "corpus", out / "findings"
    else:
        name = campaign_name(opts.device, opts.policy)
        out = Path("fuzzcore-out") / name
        # A default campaign writes only git-ignored paths: its raw findings are a working store;
        # crashes/ is the reviewed store and a finding enters it only through `fuzzcore promote`.
        corpus, findings = Path("corpora") / name, out / "findings"
    return (out, Path(opts.corpus) if opts.corpus else corpus,
            Path(opts.findings) if opts.findings else findings)


def default_seeds_dirs() -> list[Path]:
    """The repository's corpora/seeds/ (starting programs) and corpora/regression/ (the CI seeds):
    next to the package in a checkout (editable install), else in the current directory's checkout
    (a regular install run from the checkout root)."""
    for root in (REPO, Path.cwd()):
        dirs = [d for d in (root / "corpora" / "seeds", root / "corpora" / "regression") if d.is_dir()]
        if dirs:
            return dirs
    return []


# --- files ---------------------------------------------------------------------------------

def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _clear_stale_temps(root: Path, min_age: float) -> int:
    """Remove the temp files (.NAME.XXXX.tmp) that a kill left inside an atomic write (never a torn
    target). Under --out nothing else writes, so all go (min_age 0); a shared corpus or findings
    store outside it may be another campaign's, mid-write, so only old ones go there."""
    n, now = 0, time.time()
    for stale in root.rglob(".*.tmp"):
        try:
            if min_age <= 0 or now - stale.stat().st_mtime >= min_age:
                if stale.is_dir():          # a new bucket the findings store had not renamed yet
                    shutil.rmtree(stale)
                else:
                    stale.unlink()
                n += 1
        except OSError:
            continue
    return n


def _seed_corpus(corpus: Path, seed_dirs: list[Path], warn=None) -> int:
    """A corpus that holds nothing but seeds (new, or seeding was killed part-way) gets every seed
    it lacks, each written atomically as binary; a corpus libFuzzer has written to is left alone."""
    if not seed_dirs or any(not p.name.startswith(("seed-", ".")) for p in corpus.iterdir()):
        return 0
    n, taken = 0, set()
    for d in seed_dirs:
        for fzs in sorted(d.glob("*.fzs")):
            name = f"seed-{fzs.stem}" if f"seed-{fzs.stem}" not in taken else f"seed-{d.name}-{fzs.stem}"
            taken.add(name)
            if (corpus / name).exists():
                continue
            try:
                data = encode(load_fzs(fzs))
            except (ValueError, OSError) as e:
                if warn:
                    warn(f"fuzzcore: warning: seed not used: {e}")
                continue
            atomic_write_bytes(corpus / name, data)
            n += 1
    return n


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _cut_torn_line(path: Path) -> None:
    """A kill mid-append can leave a last line without its newline; cut it before appending, so
    that every line but possibly the last one always parses."""
    try:
        with open(path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            start = max(0, size - 65536)
            f.seek(start)
            tail = f.read()
            nl = tail.rfind(b"\n")
            f.truncate(start + nl + 1 if nl >= 0 else (0 if start == 0 else size))
    except FileNotFoundError:
        return


_STATUS_LINE = re.compile(rb"^#(\d+)\s+[A-Za-z]+\s[^\n]*", re.M)
_COV = re.compile(rb"\bcov: (\d+)")
_FT = re.compile(rb"\bft: (\d+)")
_DONE = re.compile(rb"^(?:Done (\d+) runs in|stat::number_of_executed_units:\s*(\d+))", re.M)


class LogTail:
    """The latest libFuzzer status line (`#N NEW cov: C ft: F corp: K/...`) of one worker's log,
    read from the end: each poll reads what was appended since the last one, at most TAIL_BYTES,
    never the whole log."""
    TAIL_BYTES = 16384

    def __init__(self, path: Path):
        self.path, self.pos = path, 0
        self.execs = 0
        self.cov: int | None = None
        self.ft: int | None = None
        self.done: int | None = None      # libFuzzer's closing 'Done N runs'

    def poll(self, tail_bytes: int | None = None) -> None:
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.pos:        # truncated: a new session's log
                    self.pos = 0
                if size == self.pos:
                    return
                start = max(self.pos, size - (tail_bytes or self.TAIL_BYTES))
                f.seek(start)
                chunk = f.read(size - start)
        except OSError:
            return
        # Skipped ahead (more was appended than we read): the first line is a fragment.
        first = chunk.find(b"\n") + 1 if start > self.pos else 0
        end = chunk.rfind(b"\n") + 1        # up to the last whole line; the rest is read next time
        if end <= first:
            if start > self.pos:
                self.pos = start
            return
        self.pos = start + end
        lines = chunk[first:end]
        last = None
        for last in _STATUS_LINE.finditer(lines):
            pass
        if last is not None:
            self.execs = max(self.execs, int(last.group(1)))
            cov, ft = _COV.search(last.group(0)), _FT.search(last.group(0))
            if cov:
                self.cov = int(cov.group(1))
            if ft:
                self.ft = int(ft.group(1))
        done = _DONE.findall(lines)
        if done:
            self.done = int(done[-1][0] or done[-1][1])


# --- the campaign --------------------------------------------------------------------------

def run_campaign(opts: CampaignOptions, echo=print) -> CampaignSummary:
    out, corpus, findings = campaign_paths(opts)
    for d in (out, corpus, findings, out / "workers", out / "logs"):
        d.mkdir(parents=True, exist_ok=True)
    # Checked, not trusted (campaign/state.py): a stats.json or meta.json that does not parse is
    # rebuilt from what is on disk with a warning, or stops the campaign here, before any write.
    stats_path = out / "stats.json"
    jsonl_path = out / "stats.jsonl"
    totals = load_totals(stats_path, jsonl_path, echo)
    check_store(findings, opts.engine, echo)
    # A process killed inside an atomic write leaves its temp file: clear them before any worker
    # starts (see _clear_stale_temps for which).
    _clear_stale_temps(out, 0)
    for d in (corpus, findings):
        if not _within(d, out):
            _clear_stale_temps(d, STALE_TEMP_SECONDS)
    display = make_display(echo, opts.quiet, opts.live)
    seeds = [] if opts.seeds_dir == "none" else [Path(opts.seeds_dir)] if opts.seeds_dir else default_seeds_dirs()
    seeded = _seed_corpus(corpus, seeds, display.message)
    # New inputs land in memory first; this process copies them in (corpus_staging.py).
    staging = CorpusStaging(corpus)
    staged = staging.open()
    _cut_torn_line(jsonl_path)
    totals["sessions"] += 1
    before = {p.parent.name for p in bucket_metas(findings)}

    def save_totals(runs: int, seconds: float, ops: int | None = None, refused: int | None = None):
        t = dict(totals)
        t["runs"] = totals["runs"] + runs
        t["seconds"] = round(totals["seconds"] + seconds, 3)
        # Ops and refused ops (op table `pre`), cumulative like runs; the share of this session.
        t["ops"] = totals.get("ops", 0) + (ops or 0)
        t["ops_refused"] = totals.get("ops_refused", 0) + (refused or 0)
        t["refused_share"] = round(t["ops_refused"] / t["ops"], 4) if t["ops"] else None
        if ops:
            t["session_refused_share"] = round(refused / ops, 4)
        atomic_write_text(stats_path, json.dumps(t, indent=2) + "\n")
        return t

    save_totals(0, 0.0)    # the session counts from its start, even if killed before a status tick

    procs = []
    for w in range(opts.workers):
        dirs = [str(staged), str(corpus)] if staged else [str(corpus)]
        args = dirs + [f"-max_len={MAX_OPS * RECORD_SIZE}", f"-seed={opts.seed + w if opts.seed else 0}",
                f"-max_total_time={opts.max_time}", f"-artifact_prefix={findings / 'artifacts'}/",
                "-print_final_stats=1",
                # Workers share finds through their output directory (the staging one), which
                # libFuzzer re-reads every second (a stat() per file); one worker has nothing to pick up.
                f"-reload={1 if opts.workers > 1 else 0}"]
        if opts.runs >= 0:
            args.append(f"-runs={opts.runs}")
        args += opts.libfuzzer_args
        cfg = {"worker": w, "device": opts.device, "policy": opts.policy, "engine": opts.engine,
               "findings": str(findings), "out": str(out), "stop_on_first": opts.stop_on_first,
               "structure_pct": opts.structure_pct, "state_features": opts.state_features,
               "prefix_resume": opts.prefix_resume, "libfuzzer_args": args}
        cfg_path = out / "workers" / f"{w}.config.json"
        atomic_write_text(cfg_path, json.dumps(cfg, indent=2))
        (out / "workers" / f"{w}.json").unlink(missing_ok=True)
        log = open(out / "logs" / f"worker-{w}.log", "w")
        # -P (safe path): the worker never imports a source tree that happens to be the current
        # directory (a regular install run from the checkout root); PYTHONPATH names the package
        # this process imported, so the worker runs the same code (a clone run in place).
        procs.append((subprocess.Popen([sys.executable, "-P", "-m", "fuzzcore.campaign.worker", str(cfg_path)],
                                       stdout=log, stderr=subprocess.STDOUT, env=_worker_env()), log))
    tails = [LogTail(out / "logs" / f"worker-{w}.log") for w in range(opts.workers)]
    where = f"corpus {corpus} ({seeded} seeds added), findings {findings}"
    if not _within(corpus, out):
        where += f", stats {out}"
    display.message(f"fuzzcore: {opts.workers} worker(s), device {opts.device}, policy {opts.policy}, "
                    f"{opts.max_time}s; {where}; previous sessions: {totals['sessions'] - 1}, "
                    f"{totals['runs']} runs")

    started = time.monotonic()
    crashed: list[int] = []
    stop_code = 0
    seen = set(before)
    newest: list[str] = []
    high = [0] * opts.workers           # per-worker runs: never goes back within the session
    ops_high = [[0, 0] for _ in range(opts.workers)]   # per-worker [ops, ops_refused], likewise
    ops_seen = [False]                   # some worker has reported its op counts
    states = [0] * opts.workers         # per-worker state features hit (worker stats "states")
    corpus_count = [0, -1e9]            # (count, when)

    def worker_runs() -> int:
        for w, tail in enumerate(tails):
            tail.poll()
            stats = _read_json(out / "workers" / f"{w}.json")
            high[w] = max(high[w], tail.execs, int(stats.get("runs", 0) or 0))
            if isinstance(stats.get("ops"), int) and isinstance(stats.get("ops_refused"), int):
                ops_seen[0] = True
                ops_high[w][0] = max(ops_high[w][0], stats["ops"])
                ops_high[w][1] = max(ops_high[w][1], stats["ops_refused"])
            if isinstance(stats.get("states"), int):
                states[w] = max(states[w], stats["states"])
        return sum(high)

    def op_counts() -> tuple[int | None, int | None]:
        """(ops, ops refused) this session, summed over the workers (None: none reported yet;
        the reference engine counts none)."""
        if not ops_seen[0]:
            return None, None
        return sum(o for o, _ in ops_high), sum(r for _, r in ops_high)

    def count_corpus(force: bool = False) -> int:
        if force or time.monotonic() - corpus_count[1] >= CORPUS_COUNT_SECONDS:
            try:
                corpus_count[0] = sum(1 for n in os.listdir(corpus) if not n.startswith("."))
            except OSError:
                pass
            corpus_count[1] = time.monotonic()
        return corpus_count[0]

    from ..triage.tiers import known_classes, known_root_causes
    known = known_root_causes(opts.policy)
    # The workers leave root causes to the driver (annotator.py): derived here, beside them.
    annotator = RootCauseAnnotator(findings, opts.device, opts.policy)

    # A key the list does not name may still be reviewed as a class ([[root_cause_class]]): that
    # needs its computed tier, which the end-of-campaign summary assesses. Live, such keys are
    # counted apart rather than as new.
    class_invariants = {e["invariant"] for e in known_classes(opts.policy)} if known is not None else set()

    def root_causes_now(now: set[str]) -> tuple[int, int, int]:
        keys = {annotator.keys[b] for b in now if b in annotator.keys}
        if known is None:
            return len(keys), 0, 0
        unlisted = keys - set(known)
        maybe = {k for k in unlisted if k.split(" @ ", 1)[0] in class_invariants}
        return len(keys), len(unlisted - maybe), len(maybe)

    def buckets_now() -> set[str]:
        now = {p.parent.name for p in bucket_metas(findings)}
        fresh = now - seen
        if fresh:
            # Several new in one tick: the newest by first_seen, then by name.
            newest.append(max(fresh, key=lambda b: (_read_json(findings / b / "meta.json").get("first_seen", ""), b)))
            seen.update(fresh)
        return now

    def status(force_corpus: bool = False) -> Status:
        runs = worker_runs()
        now = buckets_now()
        el = time.monotonic() - started
        # libFuzzer's `ft:` when it prints status lines (-verbosity=1), else the workers' own
        # count of state features hit (the same figure, from the engine).
        fts = [t.ft for t in tails if t.ft is not None] or [n for n in states if n]
        covs = [t.cov for t in tails if t.cov is not None]
        n_rc, new_rc, class_rc = root_causes_now(now)
        ops, refused = op_counts()
        return Status(ops=ops, ops_refused=refused, elapsed=el, execs=runs, exec_per_s=runs / el if el > 0 else 0.0,
                      corpus=count_corpus(force_corpus), features=max(fts) if fts else None,
                      cov=max(covs) if covs else None, buckets=len(now), new_buckets=len(now - before),
                      newest=newest[-1] if newest else None, root_causes=n_rc,
                      new_root_causes=new_rc if known is not None else None, class_root_causes=class_rc)

    def append_stats_line(s: Status):
        # JSON lines, appended in one write: a torn last line (SIGKILL mid-write) is cut at the next start.
        line = {"time": round(totals["seconds"] + s.elapsed, 1), "session": totals["sessions"],
                "runs": totals["runs"] + s.execs, "runs_per_s": round(s.exec_per_s),
                "corpus": s.corpus, "features": s.features, "cov": s.cov, "buckets": s.buckets,
                "ops": totals.get("ops", 0) + (s.ops or 0),
                "ops_refused": totals.get("ops_refused", 0) + (s.ops_refused or 0)}
        with open(jsonl_path, "a") as f:
            f.write(json.dumps(line) + "\n")

    final = None
    display.start()
    try:
        try:
            last_line = last_totals = last_show = -1e9
            while any(p.poll() is None for p, _ in procs):
                time.sleep(TICK_SECONDS)
                t = time.monotonic()
                due_line = t - last_line >= STATUS_SECONDS
                due_totals = due_line or t - last_totals >= TOTALS_SECONDS
                due_show = t - last_show >= display.interval
                if due_totals:
                    staging.sync()
                    annotator.step(ANNOTATE_BUDGET)
                if due_totals or due_show:
                    s = status(force_corpus=due_line)
                    if due_totals:
                        last_totals = t
                        save_totals(s.execs, s.elapsed, s.ops, s.ops_refused)
                    if due_line:
                        last_line = t
                        append_stats_line(s)
                    if due_show:
                        last_show = t
                        display.update(s)
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
                    p.wait()
                log.close()
            staging.close()                 # every input the workers kept is in the corpus now
        for tail in tails:
            tail.poll(tail_bytes=65536)     # the closing lines: the last status, 'Done N runs'
        for w, tail in enumerate(tails):
            if tail.done is not None:
                high[w] = max(high[w], tail.done)
        annotator.step(None)                # what the workers found last, before the summary
        final = status(force_corpus=True)
    finally:
        display.stop(final)

    for w, (p, _) in enumerate(procs):
        if p.returncode not in (0, -signal.SIGINT, 130) and not (opts.stop_on_first and p.returncode == 1):
            crashed.append(w)
    runs, seconds = final.execs, final.elapsed
    t = save_totals(runs, seconds, final.ops, final.ops_refused)
    append_stats_line(final)
    now = sorted(p.parent.name for p in bucket_metas(findings))
    new = sorted(set(now) - before)
    # The summary leads with root causes (fuzzcore/triage/root_cause.py): every bucket of the
    # store grouped by provenance, each with its tier, and whether the baseline's reviewed list
    # knows it. A new root cause is what a CI run on a patch wants to hear about: exit 1 with
    # --fail-on-new. Without it a campaign that ran exits 0 (the summary still says NEW): whether a
    # short campaign happens to reach something outside the list is search luck, not an error.
    from ..triage.report import counts_line, known_summary
    from ..triage.root_cause import assess_findings
    try:
        rcs = assess_findings(findings, opts.device, opts.policy)
    except Exception as e:           # triage must not hide the campaign's own result
        rcs = []
        display.message(f"fuzzcore: warning: root causes not derived: {e}")
    closing, n_new = known_summary(rcs, opts.policy)
    code = stop_code or (3 if crashed else (1 if n_new and opts.fail_on_new else 0))
    rows = [RootCauseRow(r.verdict.label, r.key, r.paths, r.hits, r.shortest_ops, r.shortest,
                         "" if r.known is None else ("known" if r.known else "NEW"))
            for r in rcs if opts.all_tiers or r.verdict.tier in ("hazard", "environmental", "unconfirmed")]
    notes = []
    hidden = len(rcs) - len(rows)
    if hidden:
        notes.append(f"{hidden} by-design, fixed-by or model-gap root cause(s) not listed "
                     f"(fuzzcore show {findings} --all)")
    if rcs:
        notes.append(f"next: fuzzcore show {findings}   (root causes with provenance and reasons)")
    for w in crashed:
        notes.append(f"  worker {w} crashed: see {out / 'logs' / f'worker-{w}.log'} and {findings / 'artifacts'}")
    notes.append(closing)
    ops_part = refused_text(final.ops, final.ops_refused)
    display.summary(f"fuzzcore: done: {runs} runs in {seconds:.0f}s this session ({t['runs']} in all); "
                    f"{ops_part + '; ' if ops_part else ''}"
                    f"{len(now)} buckets, {len(new)} new; {counts_line(rcs)}", rows, notes)
    return CampaignSummary(runs, seconds, now, new, crashed, code, t, rcs, n_new)


def _worker_env() -> dict:
    """The environment of a worker: this one, with the directory holding the fuzzcore package this
    process runs first on PYTHONPATH when that package has its engine built (a clone built in
    place). A source tree without it (a checkout this process merely started in, with fuzzcore
    installed elsewhere) is left out: the worker imports the installed package, as -P intends."""
    import os
    from pathlib import Path
    import fuzzcore
    pkg = Path(fuzzcore.__file__).resolve().parent
    env = dict(os.environ)
    if any((pkg / "engine").glob("_restore*.so")) or any((pkg / "engine").glob("_restore*.pyd")):
        root = str(pkg.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
