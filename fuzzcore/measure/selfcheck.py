"""The engine against the reference model, outside CI: `fuzzcore selfcheck` and
`fuzzcore run --engine both`.

A program agrees when both give the same violations (every field), state features, return
values and final state (model_view / Engine.view: hardware, kernel, vfio, port, oracle). The
first program that does not is replayed op by op to find the first op after which the two
differ, and what differs there (a config register, a kernel field, a violation)."""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field

from ..program.codec import decode, encode

DIVERGENCE_EXIT = 3   # exit code of `run --engine both` when the two models disagree


@dataclass
class Divergence:
    device: str
    policy: str
    calls: list                  # the program, up to and including the op that diverged
    op_index: int
    what: str                    # the field (a config register by name, a kernel field, "violations", ...)
    reference: object
    engine: object

    def describe(self) -> str:
        from ..program.fzs import format_call
        call = format_call(self.calls[self.op_index]) if 0 <= self.op_index < len(self.calls) else "(end)"
        return (f"first divergence at op {self.op_index} ({call}): {self.what}: "
                f"reference {_show(self.reference)}, engine {_show(self.engine)}")

    def fzs(self) -> str:
        from ..program.fzs import format_program
        return (f"# engine/reference divergence: {self.describe()}\n# device: {self.device}\n"
                f"# policy: {self.policy}\n" + format_program(self.calls))


def _show(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"0x{v:x}" if v > 9 else str(v)
    return repr(v)


def _name_field(profile, path: str) -> str:
    """config[0x004] -> config 0x004 (Command); port.config[...] likewise for the port."""
    from ..device.builtin import resolve_device
    from ..model.register_names import register_name
    for prefix, who in (("config[", profile), ("port.config[", None)):
        if path.startswith(prefix):
            off = int(path[len(prefix):-1], 16)
            prof = who if who is not None else resolve_device(profile.upstream_port)
            where = "port config" if who is None else "config"
            return f"{where} 0x{off:03x} ({register_name(prof, off)})"
    return path


def first_divergence(engine, model, calls, device: str = "", policy: str = "") -> Divergence | None:
    """Step both from the initial state through `calls`; the first op after which they differ."""
    from ..engine import first_difference, model_view
    engine.start()
    model.start()
    for i, call in enumerate(calls):
        rc_ref = model.apply(call)
        rc_eng = engine.apply(call)
        prefix = calls[:i + 1]
        if rc_ref != rc_eng:
            return Divergence(device, policy, prefix, i, "return value", rc_ref, rc_eng)
        d = first_difference(model_view(model), engine.view())
        if d is not None:
            return Divergence(device, policy, prefix, i, _name_field(model.profile, d[0]), d[1], d[2])
        vr, ve = model.oracle.violations, engine.violations()
        if vr != ve:
            return Divergence(device, policy, prefix, i, "violations", [str(v) for v in vr], [str(v) for v in ve])
        fr, fe = model._features[-1], engine.features()[-1]
        if fr != fe:
            return Divergence(device, policy, prefix, i, "state feature", fr, fe)
    return None


def compare_program(engine, model, data: bytes, device: str = "", policy: str = "") -> Divergence | None:
    """Run one program on both; None when they agree, else where they first differ."""
    from ..engine import first_difference, model_view
    calls = decode(data)
    got = engine.run(data)
    want = model.run(calls)
    if (got.violations == want.violations and got.state_features == want.state_features
            and got.returns == want.returns and got.refused == want.refused
            and first_difference(model_view(model), engine.view()) is None):
        return None
    d = first_divergence(engine, model, calls, device, policy)
    if d is None:   # only the per-op state features differ
        for i, (a, b) in enumerate(zip(want.state_features, got.state_features)):
            if a != b:
                return Divergence(device, policy, calls[:i + 1], i, "state feature", a, b)
        d = Divergence(device, policy, calls, len(calls) - 1, "result", want, got)
    return d


# --- fuzzcore selfcheck ----------------------------------------------------------------------

@dataclass
class SelfcheckSummary:
    programs: int = 0
    ops: int = 0
    violations: int = 0
    seconds: float = 0.0
    divergence: Divergence | None = None
    per_pair: dict = field(default_factory=dict)


def _pairs(devices, policies):
    return [(d, p) for d in devices for p in policies]


def _worker(args):
    """Programs [start, stop) of the run; returns (programs, ops, violations, divergence)."""
    seed, start, stop, pairs, max_ops = args
    import random
    from ..device.builtin import resolve_device
    from ..engine import Engine
    from ..model.machine import Model
    from ..policy import load_policy
    from .program_gen import ProgramGenerator
    built: dict = {}
    n_ops = n_viol = 0
    for k in range(start, stop):
        rng = random.Random(f"{seed}:{k}")
        device, policy = pairs[k % len(pairs)]
        if (device, policy) not in built:
            prof, pol = resolve_device(device), load_policy(policy)
            built[(device, policy)] = (Engine(prof, pol), Model(prof, pol), ProgramGenerator(prof))
        engine, model, gen = built[(device, policy)]
        gen.rng = rng
        data = gen.program(rng.randrange(1, max_ops + 1))
        d = compare_program(engine, model, data, device, policy)
        n_ops += len(data) // 8
        if d is not None:
            return k - start + 1, n_ops, n_viol, d
        n_viol += len(model.oracle.violations)
    return stop - start, n_ops, n_viol, None


def selfcheck(n_programs: int, seed: int = 0, devices=None, policies=None, max_ops: int = 32,
              workers: int = 1, chunk: int = 2000, progress=None) -> SelfcheckSummary:
    """Run n_programs random programs (program k is a function of seed and k alone) through both
    models, spread over the device x policy pairs; stop at the first divergence."""
    from ..device.builtin import builtin_names
    from ..policy import builtin_policies
    if devices is None:
        devices = builtin_names()
    if policies is None:
        overlays = [p for p in builtin_policies() if p != "linux-7.1"]
        policies = ["linux-7.1"] + [f"linux-7.1+{o}" for o in overlays] + ["linux-7.1+" + "+".join(overlays)]
    pairs = _pairs(devices, policies)
    jobs = [(seed, s, min(s + chunk, n_programs), pairs, max_ops) for s in range(0, n_programs, chunk)]
    out = SelfcheckSummary()
    t0 = time.perf_counter()
    if workers <= 1:
        results = map(_worker, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("fork").Pool(workers)
        results = pool.imap(_worker, jobs)
    try:
        for n, ops, viol, d in results:
            out.programs += n
            out.ops += ops
            out.violations += viol
            if progress is not None:
                progress(out, time.perf_counter() - t0)
            if d is not None:
                out.divergence = d
                break
    finally:
        if pool is not None:
            pool.terminate()
    out.seconds = time.perf_counter() - t0
    return out
