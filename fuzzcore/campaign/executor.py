"""What a campaign runs each input on: the native engine when it is built, else the reference
model. Both give the same answers (tests/test_engine_differential.py); the engine is faster."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.invariants import Violation
from ..program.codec import decode


@dataclass
class Outcome:
    violations: list[Violation]
    features: list[int]
    refused: list[int] = field(default_factory=list)   # ops a precondition refused (op_table `pre`)


class ReferenceExecutor:
    name = "reference"

    def __init__(self, profile, policy):
        from ..model.machine import Model
        self.model = Model(profile, policy)

    def run(self, data: bytes) -> Outcome:
        r = self.model.run(decode(data))
        return Outcome(r.violations, r.state_features, r.refused)


class NativeExecutor:
    name = "native"

    def __init__(self, profile, policy, counters=None):
        from ..engine import Engine
        # counters: the uint8 array the engine bumps once per op (a campaign passes the memory
        # registered with libFuzzer, fuzzcore.engine._feedback.counters_array()).
        self.engine = Engine(profile, policy, counters=counters)

    def run(self, data: bytes) -> Outcome:
        r = self.engine.run(data)
        return Outcome(list(r.violations), list(r.state_features), list(r.refused))


def make_executor(profile, policy, which: str = "auto", counters=None):
    """which: native | reference | auto (native if importable)."""
    if which in ("native", "auto"):
        try:
            return NativeExecutor(profile, policy, counters)
        except (ImportError, AttributeError):
            if which == "native":
                raise
    return ReferenceExecutor(profile, policy)
