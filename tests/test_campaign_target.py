"""The campaign's native hot path (fuzzcore.engine._restore.CampaignTarget) against the plain engine API:
the same hit counts, the slow path only for new or shorter buckets, and the counters libFuzzer
reads bumped exactly as Engine.run bumps them."""

import random
from collections import Counter

import numpy as np

from fuzzcore.engine import _mutate
from fuzzcore.engine._restore import CampaignTarget
from fuzzcore.engine import NUM_STATE_COUNTERS, Engine


def _programs(n, seed):
    rnd = random.Random(seed)
    corpus, out = [b""], []
    for _ in range(n):
        x = _mutate.mutate(rnd.choice(corpus), 256, rnd.randrange(1 << 32))
        corpus.append(x)
        out.append(x)
    return out


def test_hits_and_best_match_the_engine_api():
    programs = _programs(3000, 7)
    reference = Engine("i350", "linux-7.1")
    want_hits, want_best = Counter(), {}
    for p in programs:
        for v in reference.run(p).violations:
            want_hits[v.bucket] += 1
            want_best[v.bucket] = min(want_best.get(v.bucket, 1 << 30), v.op_index + 1)

    calls = []
    target = CampaignTarget(Engine("i350", "linux-7.1"), lambda data, vs: calls.append((data, vs)))
    for p in programs:
        target.test_one_input(p)
    assert target.runs == len(programs)
    assert target.hits() == dict(want_hits)
    assert target.hits() == {}                      # hits() hands counts on once
    assert target.best_ops() == want_best
    assert len(want_hits) > 20                      # the programs reach many buckets
    # The slow path ran once per improvement, never for a run that brought nothing new or shorter.
    assert target.slow_calls == len(calls) < len(programs) // 4
    best = {}
    for data, vs in calls:
        assert vs == reference.run(data).violations
        improved = [v for v in vs if v.op_index + 1 < best.get(v.bucket, 1 << 30)]
        assert improved, f"slow path without a new or shorter bucket: {vs}"
        for v in vs:
            best[v.bucket] = min(best.get(v.bucket, 1 << 30), v.op_index + 1)


def test_target_bumps_the_engine_counters_like_run():
    programs = _programs(500, 3)
    a = np.zeros(NUM_STATE_COUNTERS, dtype=np.uint8)
    b = np.zeros(NUM_STATE_COUNTERS, dtype=np.uint8)
    plain = Engine("wifi-7265", "linux-7.1", counters=a)
    target = CampaignTarget(Engine("wifi-7265", "linux-7.1", counters=b), lambda d, v: None)
    for p in programs:
        plain.run(p)
        target.test_one_input(p)
        assert np.array_equal(a, b)
    assert a.any()


def test_without_refused_after_the_target_equals_a_fresh_run():
    """The mutator's strip reuses the target's last run when it gets that input back; the answer
    is the one a fresh engine computes, for that input and for any other."""
    programs = _programs(1500, 11)
    e = Engine("i350", "linux-7.1")
    fresh = Engine("i350", "linux-7.1")
    target = CampaignTarget(e, lambda data, vs: None)
    stripped = 0
    for i, p in enumerate(programs):
        target.test_one_input(p)
        want = fresh.without_refused(p)
        stripped += want != p
        assert e.without_refused(p) == want
        other = programs[i - 1]
        assert e.without_refused(other) == fresh.without_refused(other)
    assert stripped > 50        # the reuse was exercised on inputs that have refused ops


def test_states_seen_counts_the_distinct_counters_bumped():
    counters = np.zeros(NUM_STATE_COUNTERS, dtype=np.uint8)
    e = Engine("i350", "linux-7.1", counters=counters)
    target = CampaignTarget(e, lambda data, vs: None)
    union = np.zeros(NUM_STATE_COUNTERS, dtype=bool)
    assert e.states_seen() == 0
    for p in _programs(400, 5):
        counters[:] = 0                 # libFuzzer clears them before each input
        target.test_one_input(p)
        union |= counters > 0
    assert e.states_seen() == int(union.sum()) > 10
    e.op_mask(_programs(1, 5)[0])       # the mutator's runs count nothing
    assert e.states_seen() == int(union.sum())


def test_tick_runs_first_and_every_n():
    ticks = []
    target = CampaignTarget(Engine("i350", "linux-7.1"), lambda d, v: None,
                            lambda: ticks.append(target.runs), 10)
    for _ in range(35):
        target.test_one_input(b"")
    assert ticks == [1, 10, 20, 30]


def test_an_exception_on_the_slow_path_propagates_once_per_bucket():
    def boom(data, vs):
        raise OSError("disk full")

    target = CampaignTarget(Engine("i350", "linux-7.1"), boom)
    p = next(p for p in _programs(500, 1) if Engine("i350", "linux-7.1").run(p).violations)
    try:
        target.test_one_input(p)
    except OSError as e:
        assert "disk full" in str(e)
    else:
        raise AssertionError("the slow path's exception was swallowed")
    target.test_one_input(p)      # the same buckets again: not a new finding, no slow path


def test_mutation_mix_splits_by_seed():
    fallback_inputs = []

    def fallback(data, max_size):
        fallback_inputs.append(data)
        return b"F" * 8

    mix = _mutate.MutationMix(30, fallback)
    seed_data = bytes(range(16))
    outs = [mix.mutate(seed_data, 512, s) for s in range(1000)]
    assert mix.fallback_calls == 700 == len(fallback_inputs)
    assert sum(o == b"F" * 8 for o in outs) == 700
    for s in range(30):      # seed % 100 < 30: the structure-aware mutator, deterministic by seed
        assert outs[s] == _mutate.mutate(seed_data, 512, s)
