"""The atheris target: each input is a program; violations go to the findings store (they are
findings, not crashes), state features go to libFuzzer through fuzzcore.engine._feedback, and a Python
exception is a real crash: its traceback is kept next to libFuzzer's artifact, then re-raised.

On the native engine the per-input work is fuzzcore.engine._restore.CampaignTarget (C: run, count hits
per bucket, bump the counters libFuzzer reads); Python runs only for a bucket that is new to this
worker or reached by a shorter input, and every few hundred runs for stats. On the reference
model (`--engine reference`) the same bookkeeping is done here in Python."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import traceback

from ..engine import _feedback
from ..program.op_table import RECORD_SIZE

TICK_RUNS = 256   # runs between on_tick calls (stats, flushes)


def without_refused(data: bytes, violations, refused) -> tuple[bytes, list]:
    """The input without the records a precondition refused, and the violations re-indexed.
    A refused op changed nothing and ran no check, so the shorter program reaches the same
    states and reports the same buckets: every reproducer the store keeps is one whose every op
    the kernel performs in that state (issue 17)."""
    if not refused:
        return data, list(violations)
    gone = set(refused)
    n = len(data) // RECORD_SIZE
    kept = b"".join(data[i * RECORD_SIZE:(i + 1) * RECORD_SIZE] for i in range(n) if i not in gone)
    out = []
    for v in violations:
        shift = sum(1 for i in refused if i < v.op_index)
        out.append(dataclasses.replace(v, op_index=v.op_index - shift) if shift else v)
    return kept, out


def register_state_counters() -> bool:
    """Register fuzzcore.engine._feedback's counters with the libFuzzer inside atheris (call it from the
    first TestOneInput, when that libFuzzer is loaded)."""
    import atheris
    here = os.path.dirname(atheris.__file__)
    core = os.path.join(here, next(f for f in os.listdir(here) if f.startswith("core_with_libfuzzer")))
    return _feedback.register(core)


class Harness:
    def __init__(self, executor, store, stop_on_first: bool = False, structure_pct: int = 80,
                 state_features: bool = True, prefix_resume: bool = True):
        self.executor = executor
        self.store = store
        self.stop_on_first = stop_on_first
        self.structure_pct = structure_pct
        self.state_features = state_features
        self._runs = 0
        self.new_buckets: list[str] = []
        self.registered = False
        self.on_tick = None   # called every TICK_RUNS runs (the worker writes its stats from it)
        from ..engine import _mutate
        self._mutate = _mutate
        self._mix = None
        self.target = None
        if executor.name == "native":
            from ..engine._restore import CampaignTarget
            self.target = CampaignTarget(executor.engine, self._on_finding, self._tick, TICK_RUNS)
            self.target.resume = prefix_resume
            # libFuzzer calls the C method directly: no Python frame per input.
            self.test_one_input = self.target.test_one_input

    @property
    def runs(self) -> int:
        return self.target.runs if self.target is not None else self._runs

    @property
    def mutations(self) -> dict:
        out = dict(self._mutate.strategy_counts())
        if self._mix is not None and self._mix.fallback_calls:
            out["libfuzzer"] = self._mix.fallback_calls
        return out

    def flush_hits(self) -> None:
        """Hand the native hit counts to the findings store (which batches them to disk)."""
        if self.target is not None:
            self.store.add_hits(self.target.hits())

    def favour_device_registers(self, profile) -> None:
        """Point the mutator's vfio_config_write bias at this device's registers."""
        from ..model.caps import cap_offsets
        c = cap_offsets(profile)
        regs = [(0x04, 2)] + [(0x10 + 4 * i, 4) for i in range(6)]
        regs += [(off, 2) for off in (c.pm + 4 if c.pm else 0, c.msix + 2 if c.msix else 0,
                                      c.exp + 0x08 if c.exp else 0, c.exp + 0x28 if c.exp else 0) if off]
        self._mutate.set_config_offsets(regs)

    # --- TestOneInput -------------------------------------------------------------------------
    def test_one_input(self, data: bytes) -> None:
        """The reference-model path (the native one is CampaignTarget.test_one_input)."""
        self._runs += 1
        if self._runs == 1 or self._runs % TICK_RUNS == 0:
            self._tick()
        try:
            outcome = self.executor.run(data)
        except Exception:
            self._keep_traceback(data)
            raise
        if self.state_features and outcome.features:
            _feedback.bump(outcome.features)
        data, violations = without_refused(data, outcome.violations, outcome.refused)
        for v in violations:
            self._record(data, v, count_hit=True)

    def _tick(self) -> None:
        if not self.registered and self.state_features:
            self.registered = register_state_counters()
        if self.on_tick is not None:
            self.on_tick()

    def _on_finding(self, data: bytes, violations) -> None:
        """The native slow path: some bucket of this run is new here or has a shorter input."""
        try:
            data, violations = without_refused(data, violations, self.executor.engine.refused())
            for v in violations:
                self._record(data, v, count_hit=False)
        except Exception:
            self._keep_traceback(data)
            raise

    def _record(self, data: bytes, v, count_hit: bool) -> None:
        if self.store.record(data, v, count_hit=count_hit):
            self.new_buckets.append("--".join(v.bucket))
            if self.stop_on_first:
                self.flush_hits()
                self.store.maybe_flush(force=True)
                print(f"fuzzcore: first finding: {v}", flush=True)
                os._exit(1)

    def _keep_traceback(self, data: bytes) -> None:
        name = "crash-" + hashlib.sha1(data).hexdigest()
        self.store.crash_traceback(name, traceback.format_exc())

    # --- mutators (atheris custom_mutator / custom_crossover, or the C driver's) -------------
    def c_mutator(self, libfuzzer_mutate_address: int):
        """The MutationMix the C driver calls (native engine only): as mutators(), with
        libFuzzer's own LLVMFuzzerMutate (at that address) as the byte-level fallback."""
        e = self.executor.engine
        self._mix = self._mutate.MutationMix(self.structure_pct, None, e.op_mask, e.without_refused)
        self._mix.use_libfuzzer_mutate(libfuzzer_mutate_address)
        self._mix.use_engine_last_run(e)
        return self._mix

    def mutators(self):
        """(custom_mutator, custom_crossover) for atheris.Setup, both C callables (no Python
        frame per call)."""
        # atheris.Mutate is a stub until Fuzz() swaps in the core's; the worker runs atheris's
        # internal libFuzzer (core_with_libfuzzer), whose Mutate is the real one from the start.
        from atheris.core_with_libfuzzer import Mutate as libfuzzer_mutate
        # On the native engine, a structure-aware mutation starts from the input without its
        # refused ops (Engine.without_refused) and draws new ops among those whose
        # preconditions hold where they go (Engine.op_mask); the reference model has no fast
        # equivalent.
        e = self.executor.engine if self.target is not None else None
        self._mix = self._mutate.MutationMix(self.structure_pct, libfuzzer_mutate,
                                             e.op_mask if e else None, e.without_refused if e else None)
        return self._mix.mutate, self._mutate.crossover
