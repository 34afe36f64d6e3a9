"""What a campaign runs each input on: the native engine when it is built, else the reference
model. Both give the same answers (tests/test_engine_differential.py); the engine is faster."""

from __future__ import annotations

from dataclasses import dataclass

from ..invariants import Violation
from ..program.codec import decode


@dataclass
class Outcome:
    violations: list[Violation]
    features: list[int]


class ReferenceExecutor:
    name = "reference"

    def __init__(self, profile, policy):
        from ..model.machine import Model
        self.model = Model(profile, policy)

    def run(self, data: bytes) -> Outcome:
        r = self.model.run(decode(data))
        return Outcome(r.violations, r.state_features)


class NativeExecutor:
    name = "native"

    def __init__(self, profile, policy):
        from ..engine import Engine
        self.engine = Engine(profile, policy)

    def run(self, data: bytes) -> Outcome:
        r = self.engine.run(data)
        return Outcome(list(r.violations), list(r.state_features))


def make_executor(profile, policy, which: str = "auto"):
    """which: native | reference | auto (native if importable)."""
    if which in ("native", "auto"):
        try:
            return NativeExecutor(profile, policy)
        except (ImportError, AttributeError):
            if which == "native":
                raise
    return ReferenceExecutor(profile, policy)
