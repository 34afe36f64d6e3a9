"""The atheris target: each input is a program; violations go to the findings store (they are
findings, not crashes), state features go to libFuzzer through fuzzcore._feedback, and a Python
exception is a real crash: its traceback is kept next to libFuzzer's artifact, then re-raised."""

from __future__ import annotations

import hashlib
import os
import time
import traceback

from .. import _feedback


def register_state_counters() -> bool:
    """Register fuzzcore._feedback's counters with the libFuzzer inside atheris (call it from the
    first TestOneInput, when that libFuzzer is loaded)."""
    import atheris
    here = os.path.dirname(atheris.__file__)
    core = os.path.join(here, next(f for f in os.listdir(here) if f.startswith("core_with_libfuzzer")))
    return _feedback.register(core)


class Harness:
    def __init__(self, executor, store, stop_on_first: bool = False, structure_pct: int = 80,
                 state_features: bool = True):
        self.executor = executor
        self.store = store
        self.stop_on_first = stop_on_first
        self.structure_pct = structure_pct
        self.state_features = state_features
        self.runs = 0
        self.new_buckets: list[str] = []
        self.registered = False
        self.mutations: dict[str, int] = {}
        self.on_tick = None   # called every 256 runs (the worker writes its stats from it)
        try:
            from .. import _mutate
            self._mutate = _mutate if hasattr(_mutate, "mutate") else None
        except ImportError:
            self._mutate = None

    def favour_device_registers(self, profile) -> None:
        """Point the mutator's vfio_config_write bias at this device's registers."""
        if self._mutate is None or not hasattr(self._mutate, "set_config_offsets"):
            return
        from ..model.caps import cap_offsets
        c = cap_offsets(profile)
        regs = [(0x04, 2)] + [(0x10 + 4 * i, 4) for i in range(6)]
        regs += [(off, 2) for off in (c.pm + 4 if c.pm else 0, c.msix + 2 if c.msix else 0,
                                      c.exp + 0x08 if c.exp else 0, c.exp + 0x28 if c.exp else 0) if off]
        self._mutate.set_config_offsets(regs)

    def test_one_input(self, data: bytes) -> None:
        if not self.registered and self.state_features:
            self._register_counters()
        self.runs += 1
        if self.on_tick is not None and self.runs % 256 == 0:
            self.on_tick()
        try:
            outcome = self.executor.run(data)
        except Exception:
            self._keep_traceback(data)
            raise
        if self.state_features and outcome.features:
            _feedback.bump(outcome.features)
        for v in outcome.violations:
            if self.store.record(data, v):
                self.new_buckets.append("--".join(v.bucket))
                if self.stop_on_first:
                    self.store.maybe_flush(force=True)
                    print(f"fuzzcore: first finding: {v}", flush=True)
                    os._exit(1)

    def _register_counters(self) -> None:
        self.registered = register_state_counters()

    def _keep_traceback(self, data: bytes) -> None:
        name = "crash-" + hashlib.sha1(data).hexdigest()
        self.store.crash_traceback(name, traceback.format_exc())

    # --- mutators (atheris custom_mutator / custom_crossover) -------------------------------
    def mutate(self, data: bytes, max_size: int, seed: int) -> bytes:
        import atheris
        if self._mutate is not None and seed % 100 < self.structure_pct:
            out = self._mutate.mutate(data, max_size, seed)
            name = self._mutate.last_strategy()
        else:
            out = atheris.Mutate(data, max_size)
            name = "libfuzzer"
        self.mutations[name] = self.mutations.get(name, 0) + 1
        return out

    def crossover(self, data1: bytes, data2: bytes, max_out_size: int, seed: int) -> bytes:
        if self._mutate is not None:
            return self._mutate.crossover(data1, data2, max_out_size, seed)
        return (data1[: len(data1) // 2] + data2[len(data2) // 2:])[:max_out_size]
