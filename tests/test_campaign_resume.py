"""The campaign target's prefix resume (CampaignTarget.resume): a run started from a checkpoint of
the last run gives what a run from the initial state gives (violations, per-op outputs, final
state, the counters libFuzzer reads, the campaign's op counts, the findings handed on), for input
sequences shaped as libFuzzer makes them: a corpus input mutated several times in a row, each
mutation run, with the mutator's engine calls and plain Engine.run calls in between."""

import random

import numpy as np
import pytest

from fuzzcore.device.builtin import builtin_names
from fuzzcore.engine import NUM_STATE_COUNTERS, Engine, _mutate
from fuzzcore.engine._restore import CampaignTarget

CASES = [(d, "linux-7.1") for d in builtin_names()] + [
    ("i350", "linux-7.1+linux-6.12"), ("wifi-7265", "linux-7.1+no-bar-snapshot-update"),
    ("i350", "linux-7.1+pre-a2f1e22390ac"), ("dsa", "linux-7.1+vfio-tph"),
]


class Side:
    """One engine and its campaign target; `found` what the target handed on."""

    def __init__(self, device, policy, resume):
        self.counters = np.zeros(NUM_STATE_COUNTERS, dtype=np.uint8)
        self.engine = Engine(device, policy, counters=self.counters)
        self.found = []
        self.target = CampaignTarget(self.engine, lambda data, vs: self.found.append(
            (data, [v.bucket for v in vs])))
        self.target.resume = resume

    def run(self, data):
        self.counters[:] = 0          # libFuzzer clears its counters before each run
        self.target.test_one_input(data)
        e = self.engine
        return (e.violations(), e.features(), e.returns(), e.refused(), e.run_facts(),
                e.state(), e.state_hash(), e.n_ops_run, e.n_refused, self.counters.tobytes(),
                e.states_seen())


def _inputs(rnd, n):
    """libFuzzer's loop, roughly: pick a corpus input, mutate it up to five times in a row (each
    mutation stacked on the last and run), keep some results; now and then an input repeated,
    truncated or extended."""
    corpus = [b""]
    while n > 0:
        x = rnd.choice(corpus)
        for _ in range(rnd.randint(1, 5)):
            r = rnd.random()
            if r < 0.1:
                pass                                       # the same input again
            elif r < 0.2:
                x = x[:8 * rnd.randint(0, len(x) // 8)]    # a shorter one
            elif r < 0.25:
                x = x + bytes([rnd.randrange(256)]) * rnd.randint(1, 11)   # a ragged tail
            else:
                x = _mutate.mutate(x, 512, rnd.randrange(1 << 32))
            yield x
            n -= 1
            if rnd.random() < 0.3:
                corpus.append(x)


@pytest.mark.parametrize("device,policy", CASES)
def test_resumed_runs_equal_fresh_runs(device, policy):
    rnd = random.Random(f"{device}/{policy}")
    resumed, fresh = Side(device, policy, True), Side(device, policy, False)
    for i, data in enumerate(_inputs(rnd, 4000)):
        assert resumed.run(data) == fresh.run(data), f"input {i}: {data.hex()}"
        if i % 97 == 0:             # the mutator's own engine runs drop the checkpoints
            resumed.engine.without_refused(data + data[:8])
            fresh.engine.without_refused(data + data[:8])
        if i % 131 == 0:
            resumed.engine.run(data[:-8])
            fresh.engine.run(data[:-8])
    assert resumed.found == fresh.found
    assert resumed.target.hits() == fresh.target.hits()
    stats = resumed.target.prefix_stats()
    assert 0 < stats["resumed"] < stats["ops"], stats          # the resume did happen
    assert fresh.target.prefix_stats()["resumed"] == 0


@pytest.mark.parametrize("spacing", [1, 200])
def test_any_checkpoint_spacing_gives_the_same_runs(spacing):
    """A checkpoint after every op (the stack fills: 16 of them) or after long stretches only."""
    rnd = random.Random(spacing)
    resumed, fresh = Side("nic-82576", "linux-7.1", True), Side("nic-82576", "linux-7.1", False)
    resumed.target.checkpoint_work = spacing
    for i, data in enumerate(_inputs(rnd, 3000)):
        assert resumed.run(data) == fresh.run(data), f"input {i}: {data.hex()}"
    assert resumed.found == fresh.found
    assert resumed.target.prefix_stats()["resumed"] > 0


def test_a_resume_leaves_the_mutators_view_of_the_last_run_intact():
    """without_refused and the C mutator read the target's last run (refused flags, facts): after a
    resumed run they are those of the whole input."""
    rnd = random.Random(5)
    resumed, fresh = Side("i350", "linux-7.1", True), Side("i350", "linux-7.1", False)
    for data in _inputs(rnd, 600):
        resumed.run(data)
        assert resumed.engine.without_refused(data) == fresh.engine.without_refused(data)
    assert resumed.target.prefix_stats()["resumed"] > 0
