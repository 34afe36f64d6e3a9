"""`fuzzcore minimize`: shrink a finding to a 1-minimal program that reports the *same bucket*.

Every candidate is run on the finding's device and policy; it is kept only if it reports the
finding's bucket (invariant, op kind, register) — never merely some violation — and, when the
finding names fixing policies (`fixed-by`), does not report it under any of them: the minimised
program still shows what the fix fixes (and an overlay-introduced finding keeps the path the
overlay introduced, rather than drifting to one the baseline has as well). A candidate in which
the finding's policy refuses an op before the reporting one (a precondition of the op table:
an op the kernel would refuse or never perform in that state) is kept without those ops (they
changed nothing, so it reports the same), so minimisation never leaves the programs the real
system can run. A kept candidate is cut after the op that reports
the bucket (later ops cannot have caused it).

Rounds of four passes, repeated until a whole round changes nothing:

1. ddmin: remove chunks of ops (halves, quarters, ... as delta debugging does);
2. single ops: remove each op in turn;
3. arguments: move each argument towards its smallest value (enums towards their first name,
   small integers towards 0, hex values to 0 or by clearing one set bit at a time, high first);
4. substitution: replace an op by a simpler one *of the same actor* (the op table's actor column:
   kernel, driver, iommu, vfio, qemu, hw) with its smallest arguments. "Simpler" is the order of
   SIMPLICITY_ORDER: fewer arguments first, then op-table order. Keeping the actor keeps the
   reproducer's story: a guest's config write is never replaced by, say, a kernel error reset
   that happens to clear the same bit.

The last round removed no single op, so the result is 1-minimal: removing any one op loses the
bucket (or makes a fixing policy report it too).

Resumable: the state file (`minimize.json` in an output bucket directory, else `OUT.minimize.json`)
holds the best program so far, the pass and position, the candidates tried and the time spent; it
is written atomically before the output files are, so after a SIGKILL a re-run continues from the
best so far and rewrites the outputs from it. Each output file is itself written atomically, so
the best-so-far program on disk is always whole.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..util.atomic_write import atomic_write_bytes, atomic_write_text, clear_temps
from .finding import (Bucket, Finding, FindingError, check_config, executor_for,
                      finding_fzs, format_bucket)
from ..model.invariants import BY_NAME
from ..program.codec import Call, decode, encode
from ..program.op_table import OP_INDEX, OPS

STATE_VERSION = 1
PASSES = ("ddmin", "single", "args", "subst")
PROGRESS_SECONDS = 1.0

# Simplest first: fewer arguments, then op-table order. Substitution stays within an actor.
SIMPLICITY_ORDER: tuple[str, ...] = tuple(
    op.name for op in sorted(OPS, key=lambda op: (len(op.args), OP_INDEX[op.name])))
SIMPLICITY = {name: rank for rank, name in enumerate(SIMPLICITY_ORDER)}


def simpler_ops(name: str) -> list[str]:
    """The ops that may replace `name`: same actor, earlier in SIMPLICITY_ORDER, simplest first."""
    actor = OPS[OP_INDEX[name]].actor
    return [n for n in SIMPLICITY_ORDER[: SIMPLICITY[name]] if OPS[OP_INDEX[n]].actor == actor]


def simplest_call(name: str) -> Call:
    """`name` with every argument at its smallest value."""
    args = {a.name: (a.domain[0] if a.kind == "enum" else 0) for a in OPS[OP_INDEX[name]].args}
    return Call.of(name, **args)


def _sha(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# --- the interestingness test ----------------------------------------------------------------------

class Target:
    """Does a program still show the finding? Results are cached by the program's bytes."""

    def __init__(self, device: str, policy: str, bucket: Bucket, fixed_by=(), engine: str = "auto"):
        self.device, self.policy, self.bucket = device, policy, tuple(bucket)
        self.fixed_by = list(fixed_by)
        self.engine = engine
        self.cache: dict[bytes, list[Call] | None] = {}
        self.runs = 0            # model runs (a candidate takes 1 + one per fixed-by policy)
        self.runs_counted = 0    # candidates tried this session

    def _run(self, policy: str, data: bytes):
        self.runs += 1
        return executor_for(self.device, policy, self.engine).run(data).violations

    def _run_checked(self, data: bytes):
        """(violations, refused op indices) under the finding's policy."""
        self.runs += 1
        out = executor_for(self.device, self.policy, self.engine).run(data)
        return out.violations, out.refused

    def feasible(self, calls: list[Call]) -> list[Call]:
        """`calls` without the ops a precondition refuses under the finding's policy. A refused op
        changes nothing and runs no check, so this program reports exactly what `calls` does, and
        every op of it is one the kernel performs in that state."""
        if not calls:
            return calls
        _, refused = self._run_checked(encode(calls))
        gone = set(refused)
        return [c for i, c in enumerate(calls) if i not in gone] if gone else calls

    def why_not(self, calls: list[Call]) -> str | None:
        """None when `calls` shows the finding, else why not (for error messages)."""
        calls = self.feasible(calls)
        if not calls:
            return "an empty program reports nothing (every op was refused by a precondition)"
        data = encode(calls)
        found = [v for v in self._run(self.policy, data) if v.bucket == self.bucket]
        if not found:
            return f"it does not report {format_bucket(self.bucket)} under {self.policy}"
        cut = encode(calls[: found[0].op_index + 1])
        for p in self.fixed_by:
            if any(v.bucket == self.bucket for v in self._run(p, cut)):
                return f"it reports the bucket under its fixing policy {p} too"
        return None

    def check(self, calls: list[Call]) -> list[Call] | None:
        """The program cut after the op reporting the bucket, if it keeps the finding; else None."""
        if not calls:
            return None
        key = encode(calls)
        if key in self.cache:
            return self.cache[key]
        result = None
        violations, refused = self._run_checked(key)
        # A candidate with an op the kernel would refuse is not a program the system can run:
        # minimisation stays inside the preconditions (issue 17). The refused ops changed
        # nothing, so the candidate without them reports the same; that is what is kept.
        if refused:
            gone = set(refused)
            calls = [c for i, c in enumerate(calls) if i not in gone]
            if not calls:
                self.cache[key] = None
                return None
            violations = self._run(self.policy, encode(calls))
        found = [v for v in violations if v.bucket == self.bucket]
        if found:
            cut = calls[: found[0].op_index + 1]
            data = encode(cut)
            if not any(v.bucket == self.bucket for p in self.fixed_by for v in self._run(p, data)):
                result = cut
        self.cache[key] = result
        return result


# --- candidates ------------------------------------------------------------------------------------

def smaller_values(arg, value) -> Iterator:
    """Values of `arg` smaller than `value`, the most promising (smallest) first."""
    if arg.kind == "enum":
        yield from arg.domain[: arg.domain.index(value)]
    elif arg.kind == "int" or arg.domain <= 16:
        yield from range(0, value)
    elif value:
        yield 0
        for bit in reversed(range(value.bit_length())):
            if value >> bit & 1 and value & ~(1 << bit):
                yield value & ~(1 << bit)


def with_arg(call: Call, arg_pos: int, value) -> Call | None:
    args = list(call.args)
    args[arg_pos] = (args[arg_pos][0], value)
    try:
        return Call(call.name, tuple(args))
    except ValueError:        # e.g. an offset no longer aligned to the width
        return None


# --- outputs ---------------------------------------------------------------------------------------

class Output:
    """Where the best program goes: a bucket directory (min.bin + min.fzs + meta.json) or one file
    (.fzs text with the finding's header comments, else the binary encoding)."""

    def __init__(self, finding: Finding, path: Path, is_dir: bool):
        self.finding, self.path, self.is_dir = finding, path, is_dir
        self.state_path = path / "minimize.json" if is_dir else path.with_name(path.name + ".minimize.json")

    def _fzs(self, calls: list[Call], first_line: str) -> str:
        f = self.finding
        return finding_fzs(calls, f.device, f.policy, f.bucket, f.fixed_by, first_line=first_line)

    def prepare(self) -> None:
        """A new output bucket directory starts with the source's first.* (meta.json follows as soon
        as there is a state: the directory is a bucket directory from the start). The temp files a
        killed run left in the middle of an atomic write of an output go first."""
        if self.is_dir:
            clear_temps(self.path, ("min.bin", "min.fzs", "first.bin", "first.fzs", "meta.json",
                                    self.state_path.name))
        else:
            clear_temps(self.path.parent, (self.path.name, self.state_path.name))
        if not self.is_dir:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        src = self.finding.path.parent if self.finding.meta else None
        if src is not None and src.resolve() != self.path.resolve():
            for name in ("first.bin", "first.fzs"):
                if (src / name).is_file() and not (self.path / name).exists():
                    atomic_write_bytes(self.path / name, (src / name).read_bytes())
        if not (self.path / "first.bin").exists():
            atomic_write_bytes(self.path / "first.bin", encode(self.finding.calls))
        if not (self.path / "first.fzs").exists():
            atomic_write_text(self.path / "first.fzs",
                              self._fzs(self.finding.calls, "fuzzcore finding, as given to fuzzcore minimize"))

    def write(self, calls: list[Call], note: str) -> None:
        note = f"fuzzcore finding, minimised by fuzzcore minimize ({note})"
        if self.is_dir:
            atomic_write_bytes(self.path / "min.bin", encode(calls))
            atomic_write_text(self.path / "min.fzs", self._fzs(calls, note))
        elif self.path.suffix == ".fzs":
            atomic_write_text(self.path, self._fzs(calls, note))
        else:
            atomic_write_bytes(self.path, encode(calls))

    def write_meta(self, state: dict) -> None:
        if not self.is_dir:
            return
        f = self.finding
        meta_path = self.path / "meta.json"
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            meta = dict(f.meta)
        inv = BY_NAME.get(f.bucket[0])
        if inv is not None:
            meta.setdefault("invariant", inv.name)
            meta.setdefault("meaning", inv.meaning)
            meta.setdefault("hazard", inv.hazard)
        meta.update({"bucket": list(f.bucket), "device": f.device, "policy": f.policy,
                     "min_ops": len(state["best"]) // 16, "fixed_by": f.fixed_by})
        meta.setdefault("first_ops", state["original_ops"])
        meta["minimized"] = {"from_ops": state["original_ops"], "to_ops": len(state["best"]) // 16,
                             "one_minimal": state["pass"] == "done", "candidates": state["candidates"],
                             "seconds": round(state["elapsed"], 2), "sessions": state["sessions"]}
        atomic_write_text(meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")


# --- the minimiser ---------------------------------------------------------------------------------

@dataclass
class Summary:
    original_ops: int
    ops: int
    one_minimal: bool
    candidates: int
    seconds: float
    sessions: int
    output: Path
    resumed: bool


class _TimeUp(Exception):
    pass


class Minimizer:
    def __init__(self, finding: Finding, output: Output, max_time: float = 0, engine: str = "auto",
                 echo: Callable[[str], None] = print):
        self.finding, self.output, self.echo = finding, output, echo
        self.max_time = max_time
        self.target = Target(finding.device, finding.policy, finding.bucket, finding.fixed_by, engine)
        self.started = time.monotonic()
        self.last_progress = 0.0
        self.state: dict = {}

    # -- state --------------------------------------------------------------------------------
    def _identity(self) -> dict:
        f = self.finding
        return {"device": f.device, "policy": f.policy, "bucket": list(f.bucket), "fixed_by": f.fixed_by}

    def _load_state(self, source: bytes) -> bool:
        try:
            st = json.loads(self.output.state_path.read_text())
        except (OSError, ValueError):
            return False
        if st.get("version") != STATE_VERSION or st.get("identity") != self._identity():
            return False
        if _sha(source) not in set(st.get("known", [])):
            return False   # a different program (e.g. the campaign found a smaller one): start afresh
        self.state = st
        return True

    def _save(self) -> None:
        st = self.state
        st["elapsed"] = st["elapsed_before"] + (time.monotonic() - self.started)
        st["candidates"] = st["candidates_before"] + self.target.runs_counted
        atomic_write_text(self.output.state_path, json.dumps(st, indent=1) + "\n")

    @property
    def best(self) -> list[Call]:
        return decode(bytes.fromhex(self.state["best"]))

    def _set_best(self, calls: list[Call]) -> None:
        data = encode(calls)
        self.state["best"] = data.hex()
        self.state["known"].append(_sha(data))
        self.state["round_changed"] = True
        self._save()                                   # state first: it is the source of truth
        self.output.write(calls, f"{self.state['original_ops']} -> {len(calls)} ops so far")
        self._progress(force=True)

    # -- progress -----------------------------------------------------------------------------
    def _progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_progress < PROGRESS_SECONDS:
            return
        self.last_progress = now
        st = self.state
        elapsed = st["elapsed_before"] + now - self.started
        self.echo(f"minimize: [{st['pass']}] {len(st['best']) // 16} ops left (from {st['original_ops']}), "
                  f"{st['candidates_before'] + self.target.runs_counted} candidates, {elapsed:.1f}s")

    def _try(self, calls: list[Call]) -> list[Call] | None:
        if self.max_time and time.monotonic() - self.started >= self.max_time:
            raise _TimeUp
        self.target.runs_counted += 1
        self._progress()
        return self.target.check(calls)

    # -- passes -------------------------------------------------------------------------------
    def _pass_ddmin(self) -> None:
        pos = self.state["pos"]
        n = pos.get("n", 2)
        i = pos.get("i", 0)
        while True:
            best = self.best
            size = len(best)
            if size <= 1:
                return
            n = min(n, size)
            bounds = [size * k // n for k in range(n + 1)]
            improved = False
            while i < n:
                cand = best[: bounds[i]] + best[bounds[i + 1]:]
                kept = self._try(cand)
                if kept is not None and len(kept) < size:
                    n, i = max(n - 1, 2), 0
                    self.state["pos"] = {"n": n, "i": i}
                    self._set_best(kept)
                    improved = True
                    break
                i += 1
                self.state["pos"] = {"n": n, "i": i}
            if improved:
                continue
            if n >= size:
                return
            n, i = min(2 * n, size), 0
            self.state["pos"] = {"n": n, "i": i}

    def _pass_single(self) -> None:
        i = self.state["pos"].get("i", 0)
        while i < len(self.best):
            best = self.best
            kept = self._try(best[:i] + best[i + 1:])
            if kept is not None:
                self.state["pos"] = {"i": i}
                self._set_best(kept)         # the next op moved into position i
                continue
            i += 1
            self.state["pos"] = {"i": i}

    def _pass_args(self) -> None:
        i, a = self.state["pos"].get("i", 0), self.state["pos"].get("a", 0)
        while i < len(self.best):
            call = self.best[i]
            if a >= len(call.args):
                i, a = i + 1, 0
                self.state["pos"] = {"i": i, "a": a}
                continue
            arg = call.op.args[a]
            for value in smaller_values(arg, call.args[a][1]):
                new = with_arg(call, a, value)
                if new is None:
                    continue
                best = self.best
                kept = self._try(best[:i] + [new] + best[i + 1:])
                if kept is not None:
                    self._set_best(kept)
                    break                      # again from the new, smaller value
            else:
                a += 1
                self.state["pos"] = {"i": i, "a": a}

    def _pass_subst(self) -> None:
        i = self.state["pos"].get("i", 0)
        while i < len(self.best):
            call = self.best[i]
            for name in simpler_ops(call.name):
                best = self.best
                kept = self._try(best[:i] + [simplest_call(name)] + best[i + 1:])
                if kept is not None:
                    self._set_best(kept)
                    break
            else:
                i += 1
                self.state["pos"] = {"i": i}

    # -- driver -------------------------------------------------------------------------------
    def run(self) -> Summary:
        f = self.finding
        source = encode(f.calls)
        self.target.runs_counted = 0
        resumed = self._load_state(source)
        if resumed:
            self.state["sessions"] += 1
            self.state["elapsed_before"] = self.state["elapsed"]
            self.state["candidates_before"] = self.state["candidates"]
            self.echo(f"minimize: resuming from {self.output.state_path}: {len(self.state['best']) // 16} ops "
                      f"(from {self.state['original_ops']}), pass {self.state['pass']}, "
                      f"{self.state['candidates']} candidates, {self.state['elapsed']:.1f}s so far")
            self.output.prepare()
            self.output.write(self.best, "resumed")
        else:
            why = self.target.why_not(f.calls)
            if why:
                raise FindingError(f"{f.path}: not a reproducer of its finding: {why}")
            kept = self.target.check(f.calls)
            self.state = {"version": STATE_VERSION, "identity": self._identity(), "original_ops": len(f.calls),
                          "original": source.hex(), "best": encode(kept).hex(), "known": [_sha(source)],
                          "pass": PASSES[0], "pos": {}, "round_changed": False, "candidates": 0,
                          "candidates_before": 0, "elapsed": 0.0, "elapsed_before": 0.0, "sessions": 1}
            self.state["known"].append(_sha(encode(kept)))
            self.output.prepare()
            self._save()
            self.output.write(kept, "started")
            self.output.write_meta(self.state)
            self.echo(f"minimize: {f.path}: {len(f.calls)} ops, bucket {format_bucket(f.bucket)}, "
                      f"device {f.device}, policy {f.policy}"
                      + "".join(f", fixed-by {p}" for p in f.fixed_by))
        passes = {"ddmin": self._pass_ddmin, "single": self._pass_single, "args": self._pass_args,
                  "subst": self._pass_subst}
        try:
            while self.state["pass"] != "done":
                passes[self.state["pass"]]()
                k = PASSES.index(self.state["pass"])
                if k + 1 < len(PASSES):
                    self.state["pass"] = PASSES[k + 1]
                elif self.state["round_changed"]:
                    self.state["pass"], self.state["round_changed"] = PASSES[0], False
                else:
                    self.state["pass"] = "done"
                self.state["pos"] = {}
                self._save()
                self._progress(force=True)
        except _TimeUp:
            self._save()
        best = self.best
        done = self.state["pass"] == "done"
        self.output.write(best, f"{self.state['original_ops']} -> {len(best)} ops"
                          + (", 1-minimal" if done else ", not yet 1-minimal"))
        self.output.write_meta(self.state)
        return Summary(self.state["original_ops"], len(best), done, self.state["candidates"],
                       self.state["elapsed"], self.state["sessions"], self.output.path, resumed)


def default_output(finding: Finding) -> tuple[Path, bool]:
    """In place for a bucket directory; NAME.min.fzs (or NAME.min) next to a file."""
    if finding.bucket_dir is not None:
        return finding.bucket_dir, True
    p = finding.path
    if p.suffix == ".fzs":
        return p.with_name(p.stem + ".min.fzs"), False
    return p.with_name(p.name + ".min"), False


def resolve_output(finding: Finding, out: str | None) -> Output:
    if out is None:
        path, is_dir = default_output(finding)
    else:
        path = Path(out)
        is_dir = path.is_dir() or out.endswith("/") or (not path.exists() and path.suffix not in (".fzs", ".bin"))
    if path.resolve() == finding.path.resolve():
        raise FindingError(f"{path}: the output would overwrite the input; use -o")
    return Output(finding, path, is_dir)


def minimize_finding(finding: Finding, out: str | None = None, max_time: float = 0, engine: str = "auto",
                     echo: Callable[[str], None] = print) -> Summary:
    if finding.bucket is None:
        raise FindingError(f"{finding.path}: names no bucket; pass --bucket 'invariant | op | register' "
                           "or add a '# expected-bucket:' header")
    check_config(finding.device, [finding.policy, *finding.fixed_by])
    output = resolve_output(finding, out)
    return Minimizer(finding, output, max_time, engine, echo).run()


__all__ = ["minimize_finding", "Minimizer", "Target", "SIMPLICITY_ORDER", "Summary"]
