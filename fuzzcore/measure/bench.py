"""`fuzzcore bench`: how fast the engine, the reference model and the mutator run, measured in one
process on one core, on one seeded set of programs (fuzzcore.measure.program_gen: half raw records, half
biased towards deep states) on one device under one policy. Every figure is the median of
`repeat` timed repetitions, all taken in the same run.

- engine (run_batch): programs/s and ops/s through Engine.run_batch, the throughput API;
- engine (run):       programs/s through Engine.run, one call per program, its result dropped
                      unread (EngineResult fills its lists and state hash on first use);
- engine (run, read): the same with the result's violations, features, returns and state hash
                      read each time (what a caller that looks at every result pays);
- reference:          programs/s of fuzzcore.model.machine.Model.run on the first
                      `reference_programs` programs of the same set;
- ratio:              engine (run_batch) programs/s over reference programs/s;
- mutator:            fuzzcore.engine._mutate.mutate(data, max_size, seed) calls/s, when it exists.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field


@dataclass
class BenchResult:
    device: str
    policy: str
    programs: int
    ops_per_program: int
    repeat: int
    seed: int
    engine_programs_per_s: float
    engine_ops_per_s: float
    engine_run_programs_per_s: float
    engine_run_read_programs_per_s: float
    reference_programs: int
    reference_programs_per_s: float
    ratio: float
    mutator_calls_per_s: float | None
    samples: dict = field(default_factory=dict)
    machine: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        rows = [
            ("engine (run_batch)", f"{self.engine_programs_per_s:,.0f} programs/s",
             f"{self.engine_ops_per_s:,.0f} ops/s"),
            ("engine (run)", f"{self.engine_run_programs_per_s:,.0f} programs/s",
             f"{self.engine_run_programs_per_s * self.ops_per_program:,.0f} ops/s"),
            ("engine (run, read)", f"{self.engine_run_read_programs_per_s:,.0f} programs/s",
             f"{self.engine_run_read_programs_per_s * self.ops_per_program:,.0f} ops/s"),
            ("reference model", f"{self.reference_programs_per_s:,.0f} programs/s",
             f"{self.reference_programs_per_s * self.ops_per_program:,.0f} ops/s"),
            ("ratio engine/reference", f"{self.ratio:,.0f}x", ""),
            ("mutator", "not built (fuzzcore.engine._mutate has no mutate())" if self.mutator_calls_per_s is None
             else f"{self.mutator_calls_per_s:,.0f} calls/s", ""),
        ]
        w = max(len(r[0]) for r in rows)
        head = (f"fuzzcore bench: {self.programs} programs of {self.ops_per_program} ops (seed {self.seed}), "
                f"device {self.device}, policy {self.policy}; median of {self.repeat} runs; "
                f"reference on the first {self.reference_programs}\n"
                f"machine: {self.machine.get('cpu', '?')}, {self.machine.get('cores', '?')} cores, "
                f"Python {self.machine.get('python', '?')}, {self.machine.get('date', '')}")
        return head + "\n" + "\n".join(f"  {a:<{w}}  {b:>26}  {c:>22}".rstrip() for a, b, c in rows)


def _machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "date": datetime.date.today().isoformat()}


def _median_rate(fn, count: int, repeat: int) -> tuple[float, list]:
    rates = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        rates.append(count / (time.perf_counter() - t))
    return statistics.median(rates), rates


def bench(device: str = "i350", policy: str = "linux-7.1", programs: int = 20000, ops: int = 16,
          repeat: int = 5, seed: int = 0, reference_programs: int = 500, mutator_calls: int = 50000) -> BenchResult:
    import numpy as np

    from ..device.builtin import resolve_device
    from ..engine import Engine
    from ..model.machine import Model
    from ..policy import load_policy
    from ..program.codec import decode
    from .program_gen import ProgramGenerator

    if repeat < 1 or programs < 1 or ops < 1:
        raise ValueError("repeat, programs and ops must be at least 1")
    prof, pol = resolve_device(device), load_policy(policy)
    gen = ProgramGenerator(prof, seed)
    progs = [gen.program(ops) for _ in range(programs)]
    rows = np.frombuffer(b"".join(progs), dtype=np.uint8).reshape(programs, ops * 8)
    engine = Engine(prof, pol)
    engine.run_batch(rows[:100])                         # warm up
    eng_rate, eng_samples = _median_rate(lambda: engine.run_batch(rows), programs, repeat)

    def run_each():
        run = engine.run
        for p in progs:
            run(p)
    run_rate, run_samples = _median_rate(run_each, programs, repeat)

    def run_read():
        run = engine.run
        for p in progs:
            r = run(p)
            r.violations, r.state_features, r.returns, r.state_hash
    read_rate, read_samples = _median_rate(run_read, programs, repeat)

    n_ref = min(reference_programs, programs)
    model = Model(prof, pol)
    ref_calls = [decode(p) for p in progs[:n_ref]]

    def run_ref():
        for c in ref_calls:
            model.run(c)
    ref_rate, ref_samples = _median_rate(run_ref, n_ref, repeat)

    mut_rate = None
    mut_samples: list = []
    try:
        from ..engine import _mutate
        mutate = getattr(_mutate, "mutate", None)
    except ImportError:
        mutate = None
    if mutate is not None:
        max_size = 64 * 8
        inputs = progs[:1000]

        def run_mut():
            n = len(inputs)
            for k in range(mutator_calls):
                mutate(inputs[k % n], max_size, k)
        mut_rate, mut_samples = _median_rate(run_mut, mutator_calls, repeat)

    return BenchResult(
        device=prof.name, policy=pol.name, programs=programs, ops_per_program=ops, repeat=repeat, seed=seed,
        engine_programs_per_s=eng_rate, engine_ops_per_s=eng_rate * ops, engine_run_programs_per_s=run_rate,
        engine_run_read_programs_per_s=read_rate,
        reference_programs=n_ref, reference_programs_per_s=ref_rate, ratio=eng_rate / ref_rate,
        mutator_calls_per_s=mut_rate,
        samples={"engine_run_batch": eng_samples, "engine_run": run_samples, "engine_run_read": read_samples,
                 "reference": ref_samples,
                 "mutator": mut_samples},
        machine=_machine())
