"""The structure-aware mutator (fuzzcore.engine._mutate): whole records, size limits, determinism, every
strategy reached, each strategy's exact effect, in-domain records, crossover splices, edge sizes."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from fuzzcore.engine import _mutate
from fuzzcore.engine._mutate import MAX_RECORDS, SNIPPETS, STRATEGIES, crossover, last_strategy, mutate
from fuzzcore.program.codec import Call, decode, decode_record, encode, encode_call
from fuzzcore.program.op_table import OP_INDEX, OPS, RECORD_SIZE

R = RECORD_SIZE
CW = OP_INDEX["vfio_config_write"]
EXPECTED_STRATEGIES = ("insert", "delete", "duplicate", "swap", "re_argument", "replace_op", "snippet")


def records(data: bytes) -> list[bytes]:
    return [data[i:i + R] for i in range(0, len(data) // R * R, R)]


def canonical(rec: bytes) -> bool:
    return encode(decode(rec)) == rec


def normalised(data: bytes, max_size: int) -> list[bytes]:
    """The records the mutator works on: whole records, at most cap of them."""
    cap = min(MAX_RECORDS, max_size // R) if max_size >= R else 0
    return records(data)[:cap]


def removal_points(longer: list[bytes], shorter: list[bytes], k: int = 1) -> list[int]:
    """Positions p with longer[:p] + longer[p + k:] == shorter."""
    if len(longer) != len(shorter) + k:
        return []
    return [p for p in range(len(shorter) + 1) if longer[:p] + longer[p + k:] == shorter]


def arg_diff(a: Call, b: Call) -> set[str]:
    return {n for (n, x), (_, y) in zip(a.args, b.args) if x != y}


def check_mutation(strategy: str, data: bytes, max_size: int, out: bytes) -> None:
    """Assert that `out` is exactly what `strategy` may produce from `data`."""
    cap = min(MAX_RECORDS, max_size // R) if max_size >= R else 0
    assert len(out) % R == 0, "partial record in output"
    assert len(out) <= max_size and len(out) // R <= MAX_RECORDS
    if cap == 0:
        assert out == b"" and strategy is None
        return
    assert strategy in STRATEGIES
    before, after = normalised(data, max_size), records(out)
    if not before:
        assert strategy == "insert", "an empty input must get an insert"
    if strategy == "insert":
        pts = removal_points(after, before)
        assert pts, "insert must add exactly one record and keep the others in order"
        assert canonical(after[pts[0]]), f"inserted record {after[pts[0]].hex()} is not in-domain"
    elif strategy == "delete":
        assert len(before) >= 2
        assert removal_points(before, after), "delete must remove exactly one record, nothing else"
    elif strategy == "duplicate":
        pts = removal_points(after, before)
        assert pts and after[pts[0]] in before, "duplicate must add a copy of an existing record"
    elif strategy == "swap":
        assert len(after) == len(before) >= 2
        assert sorted(after) == sorted(before), "swap must preserve the multiset of records"
        diff = [i for i in range(len(before)) if before[i] != after[i]]
        assert len(diff) in (0, 2)
        if diff:
            i, j = diff
            assert (after[i], after[j]) == (before[j], before[i])
    elif strategy in ("re_argument", "replace_op"):
        assert len(after) == len(before)
        diff = [i for i in range(len(before)) if before[i] != after[i]]
        assert len(diff) <= 1
        # the record changed in meaning, so it differs in bytes
        assert len(diff) == 1, f"{strategy} changed nothing"
        i = diff[0]
        assert canonical(after[i]), f"{strategy} wrote {after[i].hex()}, not in-domain"
        old, new = decode_record(before[i]), decode_record(after[i])
        if strategy == "replace_op":
            assert new.name != old.name
        else:
            assert new.name == old.name and old.args
            changed = arg_diff(old, new)
            if new.name == "vfio_config_write" and "width" in changed:
                # a new width re-aligns the offset down, as the codec does
                assert changed <= {"width", "offset"}
                assert new["offset"] == old["offset"] - old["offset"] % int(new["width"])
            else:
                assert len(changed) == 1, f"re_argument changed {changed}"
    elif strategy == "snippet":
        blobs = {blob for _, blob in SNIPPETS}
        ok = False
        for blob in blobs:
            k = len(blob) // R
            if len(after) != len(before) + k:
                continue
            for p in range(len(before) + 1):
                if after[:p] + after[p + k:] == before and b"".join(after[p:p + k]) == blob:
                    ok = True
        assert ok, "snippet must insert one known snippet intact and keep the rest"
    else:
        raise AssertionError(f"unknown strategy {strategy!r}")


# ---- hypothesis strategies --------------------------------------------------------------------

@st.composite
def canonical_records(draw):
    op = draw(st.sampled_from(OPS))
    values = {}
    for arg in op.args:
        values[arg.name] = (draw(st.sampled_from(arg.domain)) if arg.kind == "enum"
                            else draw(st.integers(0, arg.domain - 1)))
    if op.name == "vfio_config_write":
        values["offset"] -= values["offset"] % int(values["width"])
    return encode_call(Call.of(op.name, **values))


any_record = st.one_of(canonical_records(), st.binary(min_size=R, max_size=R))
programs = st.lists(any_record, max_size=MAX_RECORDS + 4).map(b"".join)
raw_inputs = st.one_of(programs, st.binary(max_size=(MAX_RECORDS + 4) * R))
tails = st.binary(max_size=R - 1)
sizes = st.integers(0, (MAX_RECORDS + 8) * R)
seeds = st.integers(0, 2**32 - 1)


# ---- API --------------------------------------------------------------------------------------

def test_api():
    assert STRATEGIES == EXPECTED_STRATEGIES
    assert MAX_RECORDS == 64 and _mutate.RECORD_SIZE == R
    assert len(_mutate.WEIGHTS) == len(STRATEGIES) and all(w > 0 for w in _mutate.WEIGHTS)
    mutate(b"", 0, 0)
    assert last_strategy() is None
    mutate(b"", 64, 0)
    assert last_strategy() == "insert"
    with pytest.raises(TypeError):
        mutate(None, 64, 0)
    with pytest.raises(OverflowError):
        mutate(b"", 64, 2**32)


# ---- output shape -----------------------------------------------------------------------------

@given(raw_inputs, tails, sizes, seeds)
def test_output_is_whole_records_within_max_size(data, tail, max_size, seed):
    out = mutate(data + tail, max_size, seed)
    assert len(out) % R == 0
    assert len(out) <= max_size
    assert len(out) <= MAX_RECORDS * R
    if max_size >= R:
        assert out, "with room for a record the output is never empty"


@given(raw_inputs, tails, sizes, seeds)
def test_every_mutation_is_exactly_its_strategy(data, tail, max_size, seed):
    out = mutate(data + tail, max_size, seed)
    strategy = last_strategy()
    note(f"strategy={strategy} in={records(data)} out={records(out)}")
    check_mutation(strategy, data + tail, max_size, out)


@settings(max_examples=60)
@given(programs, st.integers(R, MAX_RECORDS * R), st.integers(0, 2**32 - 1000))
def test_many_seeds_on_one_input(data, max_size, base):
    """Each input under a run of seeds: many strategies per input, each checked exactly."""
    for seed in range(base, base + 100):
        out = mutate(data, max_size, seed)
        check_mutation(last_strategy(), data, max_size, out)


@given(raw_inputs, sizes, seeds)
def test_deterministic_for_a_seed(data, max_size, seed):
    first = mutate(data, max_size, seed), last_strategy()
    mutate(data[::-1], max_size, seed ^ 0x5A5A)           # unrelated call in between
    copy = bytearray(data) + b"x"                       # equal bytes in a different object
    assert (mutate(bytes(copy[:-1]), max_size, seed), last_strategy()) == first


def test_seeds_matter():
    data = bytes(range(5 * R))
    outs = {mutate(data, 512, s) for s in range(500)}
    # (insert and replace_op favour the ops the device's owner allows, which narrows their choice)
    assert len(outs) > 150


# ---- strategy coverage and weights ------------------------------------------------------------

PROGRAM = encode([
    Call.of("vfio_open"),
    Call.of("vfio_config_write", offset=0x04, width="2", value=0x06),
    Call.of("vfio_set_irqs", index="msix", count=1),
    Call.of("pci_reset_function", method="flr"),
    Call.of("qemu_reset"),
])


def test_every_strategy_is_reached():
    counts = Counter()
    for seed in range(20_000):
        out = mutate(PROGRAM, 64 * R, seed)
        counts[last_strategy()] += 1
        if seed < 3000:
            check_mutation(last_strategy(), PROGRAM, 64 * R, out)
    assert set(counts) == set(STRATEGIES)
    total = sum(_mutate.WEIGHTS)
    for name, w in zip(STRATEGIES, _mutate.WEIGHTS):
        expected = 20_000 * w / total
        assert 0.8 * expected < counts[name] < 1.2 * expected, (name, counts)


def test_inapplicable_strategies_are_not_chosen():
    one_noarg = encode([Call.of("vfio_open")])
    seen = Counter()
    for seed in range(2000):
        mutate(one_noarg, R, seed)                # cap 1, one record, no args
        seen[last_strategy()] += 1
    assert set(seen) == {"replace_op"}
    full = PROGRAM * 13                           # 65 records: truncated to 64 = cap
    seen.clear()
    for seed in range(2000):
        out = mutate(full, 10_000, seed)
        seen[last_strategy()] += 1
        assert len(out) <= MAX_RECORDS * R
    assert not seen.keys() & {"insert", "duplicate", "snippet"}
    assert seen.keys() >= {"delete", "swap", "re_argument", "replace_op"}


# ---- in-domain records ------------------------------------------------------------------------

def test_inserts_reach_every_op_and_every_small_domain_value():
    """Inserted records are canonical, and the table drives them: every op, every enum value
    and every value of a small int domain shows up."""
    seen_ops = Counter()
    seen_vals: dict[tuple[str, str], set] = {}
    for seed in range(30_000):
        out = mutate(b"", R, seed)
        assert last_strategy() == "insert" and len(out) == R
        assert canonical(out), out.hex()
        call = decode_record(out)
        seen_ops[call.name] += 1
        for name, value in call.args:
            seen_vals.setdefault((call.name, name), set()).add(value)
    assert set(seen_ops) == {op.name for op in OPS}
    for op in OPS:
        for arg in op.args:
            if arg.size <= 16:
                want = set(arg.domain) if arg.kind == "enum" else set(range(arg.domain))
                assert seen_vals[(op.name, arg.name)] == want, (op.name, arg.name)


def test_config_write_bias():
    """Re-arguments of a vfio_config_write favour the interesting registers and values."""
    assert {0x04, 0x10, 0x24, 0x44, 0x72, 0xA8, 0xC8} <= {o for o, _ in _mutate.config_offsets()}
    interesting = {o - o % 4 for o, _ in _mutate.config_offsets()}      # at width 4
    rec = encode_call(Call.of("vfio_config_write", offset=0x300, width="4", value=0x12345678))
    offsets = Counter()
    values = Counter()
    for seed in range(6000):
        out = mutate(rec, R, seed)
        if last_strategy() != "re_argument":
            continue
        assert canonical(out)
        new = decode_record(out)
        if new["offset"] != 0x300 and new["width"] == "4":
            offsets["interesting" if new["offset"] in interesting else "other"] += 1
        if new["value"] != 0x12345678:
            v = new["value"]
            values["zero" if v == 0 else "ones" if v == 0xFFFFFFFF else "bit" if v & (v - 1) == 0
                   else "other"] += 1
    assert offsets["interesting"] > offsets["other"] * 0.7, offsets
    n = sum(values.values())
    assert values["zero"] + values["ones"] + values["bit"] > 0.6 * n, values
    assert min(values["zero"], values["ones"], values["bit"]) > 0.08 * n, values


def test_set_config_offsets():
    try:
        _mutate.set_config_offsets([(0x52, 2)])
        assert _mutate.config_offsets() == ((0x52, 2),)
        rec = encode_call(Call.of("vfio_config_write", offset=0x800, width="2", value=0))
        hit = 0
        for s in range(3000):
            new = decode_record(mutate(rec, R, s))
            hit += new.name == "vfio_config_write" and new["offset"] == 0x52
        assert hit > 200
        with pytest.raises(ValueError):
            _mutate.set_config_offsets([(0x10, 3)])
        with pytest.raises(ValueError):
            _mutate.set_config_offsets([(0x1000, 4)])
    finally:
        _mutate.set_config_offsets()
    assert _mutate.config_offsets() == _mutate.DEFAULT_CONFIG_OFFSETS


def test_non_canonical_records_are_canonicalised_by_re_argument():
    # width raw 0xFE (-> "4" after %3? 254 % 3 == 2 -> "4"), offset 0x1FFF (% 4096 -> 0xFFF), high junk
    rec = bytes([CW + len(OPS), 0xFF, 0x1F, 0xFE, 0x78, 0x56, 0x34, 0x12])
    n = 0
    for seed in range(500):
        out = mutate(rec, R, seed)
        if last_strategy() == "re_argument":
            n += 1
            check_mutation("re_argument", rec, R, out)
    assert n > 50


def test_snippets_are_known_good():
    names = [n for n, _ in SNIPPETS]
    assert len(set(names)) == len(names) >= 4
    first = dict(SNIPPETS)["guest_setup_reset"]
    assert [c.name for c in decode(first)] == ["vfio_open", "vfio_config_write", "vfio_set_irqs",
                                               "qemu_pre_reset"]
    assert decode(first)[1] == Call.of("vfio_config_write", offset=0x04, width="2", value=0x0006)
    for name, blob in SNIPPETS:
        assert blob and len(blob) % R == 0 and canonical(blob), name


# ---- edges ------------------------------------------------------------------------------------

@given(st.binary(max_size=3 * R), st.integers(-5, R - 1), seeds)
def test_max_size_below_one_record_gives_empty(data, max_size, seed):
    assert mutate(data, max_size, seed) == b""
    assert last_strategy() is None
    assert crossover(data, data, max_size, seed) == b""


@given(st.binary(max_size=R - 1), st.integers(R, 4 * R), seeds)
def test_empty_input_gets_one_inserted_record(data, max_size, seed):
    out = mutate(data, max_size, seed)                 # data has no whole record
    assert last_strategy() == "insert"
    assert len(out) == R and canonical(out)


@given(programs, st.integers(R, 2 * R - 1), seeds)
def test_room_for_one_record(data, max_size, seed):
    out = mutate(data, max_size, seed)
    assert len(out) == R
    if records(data):
        assert last_strategy() in ("re_argument", "replace_op")


def test_long_input_is_truncated_to_cap():
    data = b"".join(encode_call(Call.of("pci_enable_msix", nvec=i % 8)) for i in range(100))
    for seed in range(300):
        out = mutate(data, 10 * R, seed)
        check_mutation(last_strategy(), data, 10 * R, out)
        assert len(out) <= 10 * R


# ---- crossover --------------------------------------------------------------------------------

@given(raw_inputs, tails, raw_inputs, tails, sizes, seeds)
def test_crossover_is_prefix_plus_suffix(a, ta, b, tb, max_size, seed):
    out = crossover(a + ta, b + tb, max_size, seed)
    assert len(out) % R == 0 and len(out) <= max_size and len(out) <= MAX_RECORDS * R
    assert crossover(a + ta, b + tb, max_size, seed) == out
    ra, rb, ro = records(a + ta), records(b + tb), records(out)
    splits = [k for k in range(len(ro) + 1)
              if ro[:k] == ra[:k] and (k == len(ro) or rb[len(rb) - (len(ro) - k):] == ro[k:])]
    assert splits, "crossover output is not a prefix of a + a suffix of b"
    cap = min(MAX_RECORDS, max_size // R) if max_size >= R else 0
    if cap and (ra or rb):
        assert ro, "crossover of non-empty inputs with room is non-empty"


def test_crossover_mixes_both_sides():
    a = b"".join(encode_call(Call.of("pci_enable_msix", nvec=i % 8)) for i in range(10))
    b = b"".join(encode_call(Call.of("vfio_set_irqs", index="msi", count=i % 8)) for i in range(10))
    lengths = set()
    for seed in range(500):
        ro = [decode_record(r).name for r in records(crossover(a, b, 64 * R, seed))]
        k = ro.count("pci_enable_msix")
        assert k >= 1 and len(ro) - k >= 1, "both sides contribute when both are non-empty"
        assert ro == ["pci_enable_msix"] * k + ["vfio_set_irqs"] * (len(ro) - k)
        lengths.add(len(ro))
    assert len(lengths) > 10
    # cap 1: one record from either side
    picks = {crossover(a, b, R, s) for s in range(100)}
    assert picks == {a[:R], b[-R:]}


# ---- the checker itself can fail --------------------------------------------------------------

@pytest.mark.parametrize("strategy,out", [
    ("delete", PROGRAM[R:2 * R] + PROGRAM[:R] + PROGRAM[3 * R:]),       # removes one but reorders
    ("delete", PROGRAM[:3 * R]),                                         # removes two
    ("insert", PROGRAM + bytes([CW, 0, 0x20, 0, 0, 0, 0, 0])),          # offset 0x2000: not canonical
    ("insert", PROGRAM + bytes([0, 0, 0, 0, 0, 0, 0, 1])),              # junk in an unused byte
    ("swap", PROGRAM[:4 * R] + PROGRAM[:R]),                             # multiset changed
    ("duplicate", PROGRAM + bytes(R - 1) + b"\x01"),                     # not a copy
    ("re_argument", PROGRAM),                                            # no change
    ("re_argument", PROGRAM[:R] + encode_call(Call.of("vfio_config_write", offset=0x10, width="2",
                                                      value=0x07)) + PROGRAM[2 * R:]),  # two args
    ("replace_op", PROGRAM[:3 * R] + encode_call(Call.of("pci_reset_function", method="pm"))
     + PROGRAM[4 * R:]),                                                 # same op
    ("snippet", PROGRAM + SNIPPETS[0][1][:R]),                           # a partial snippet
    ("insert", PROGRAM + b"\x00"),                                       # partial record
])
def test_checker_rejects_wrong_outputs(strategy, out):
    with pytest.raises(AssertionError):
        check_mutation(strategy, PROGRAM, 64 * R, out)


# --- the campaign's state-aware draw (MutationMix with Engine.op_mask) ---------------------------

def test_op_mask_is_the_models_refusal_and_counts_nothing():
    """Engine.op_mask(prefix) marks exactly the ops Model.refusal lets run in the state the prefix
    reaches (every precondition of the op table under the policy), and leaves the engine's op
    statistics and the libFuzzer counters as they were."""
    from fuzzcore.device.builtin import resolve_device
    from fuzzcore.engine import Engine
    from fuzzcore.measure.program_gen import ProgramGenerator
    from fuzzcore.model.machine import Model
    from fuzzcore.policy import load_policy
    for name in ("linux-7.1", "linux-7.1+vfio-reset-done-v18"):
        policy = load_policy(name)
        engine = Engine("i350", policy)
        gen = ProgramGenerator(resolve_device("i350"), seed=4)
        seen = set()
        for _ in range(40):
            prog = gen.program(12)
            engine.run(prog)
            before = (engine.n_ops_run, engine.n_refused, engine.counters.sum())
            for cut in (0, 3, 12):
                prefix = prog[:cut * R]
                model = Model(resolve_device("i350"), policy)
                model.start()
                for c in decode(prefix):
                    model.apply(c)
                want = bytes(0 if model.refusal(k) else 1 for k in range(len(OPS)))
                assert engine.op_mask(prefix) == want, (policy, decode(prefix))
                seen.add(want)
            assert (engine.n_ops_run, engine.n_refused, engine.counters.sum()) == before
        assert len(seen) >= 4      # the prefixes reach states that allow different ops


def test_mutation_mix_draws_new_ops_the_state_allows():
    from fuzzcore.engine import Engine
    engine = Engine("i350", "linux-7.1")
    host = encode([Call.of("pci_bind_driver", driver="host"), Call.of("pci_pm_runtime_suspend")])
    allowed = engine.op_mask(host)
    assert not allowed[OP_INDEX["pci_save_state"]] and allowed[OP_INDEX["pci_pm_runtime_resume"]]
    calls = []
    mix = _mutate.MutationMix(100, lambda data, size: data,
                              lambda prefix: calls.append(prefix) or engine.op_mask(prefix))
    new_ops = Counter()
    for seed in range(4000):
        out = mix.mutate(host, 64 * R, seed)
        assert len(out) % R == 0 and all(canonical(r) or r in records(host) for r in records(out))
        strat = last_strategy()
        if strat == "insert":
            added = [r for p in range(len(out) // R) for r in [records(out)[p]]
                     if records(out)[:p] + records(out)[p + 1:] == records(host)]
            assert added
            if records(out)[-1] == added[-1] and records(out)[:2] == records(host):   # appended
                new_ops[decode_record(added[-1]).op.name] += 1
    assert mix.in_state_calls > 0 and calls and all(len(c) % R == 0 for c in calls)
    n = sum(new_ops.values())
    ok = sum(v for k, v in new_ops.items() if allowed[OP_INDEX[k]])
    # 7/8 re-drawn among the allowed ops, and a uniform draw is allowed by chance too
    assert n > 100 and ok / n > 0.85, new_ops
    assert len(new_ops) > 8            # still more than one op: the draw stays total


def test_structure_aware_mutations_start_from_the_input_without_its_refused_ops():
    """Engine.without_refused drops the records a precondition refuses (an equivalent program:
    same violations, same state); MutationMix(strip=...) mutates that program."""
    from fuzzcore.engine import Engine
    engine = Engine("i350", "linux-7.1")
    prog = encode([Call.of("pci_save_state"), Call.of("pci_bind_driver", driver="host"),
                   Call.of("pci_save_state"), Call.of("vfio_close"), Call.of("pci_reset_function", method="auto")])
    full = engine.run(prog)
    assert full.refused == [0, 3]
    kept = engine.without_refused(prog)
    assert records(kept) == [records(prog)[i] for i in (1, 2, 4)]
    short = engine.run(kept)
    assert short.refused == [] and short.state_hash == full.state_hash
    assert [v.bucket for v in short.violations] == [v.bucket for v in full.violations]
    assert engine.without_refused(kept) is kept
    before = (engine.n_ops_run, engine.n_refused)
    engine.without_refused(prog)
    assert (engine.n_ops_run, engine.n_refused) == before
    mix = _mutate.MutationMix(100, lambda data, size: data, None, engine.without_refused)
    for seed in range(300):
        out = records(mix.mutate(prog, 64 * R, seed))
        # whatever the strategy, the refused records are gone unless the mutation put one back
        assert len(out) <= len(records(kept)) + MAX_RECORDS
        if last_strategy() in ("swap", "re_argument"):
            assert len(out) == 3
        if last_strategy() == "delete":
            assert len(out) == 2 and all(r in records(kept) for r in out)


def test_the_c_drivers_mutation_of_the_last_run_is_the_strip_and_feasible_one():
    """Under the C driver the mutator reads the engine's last run (its refused flags and the
    precondition facts after each op) instead of running the input or its prefix again; the
    output must be exactly what the strip/op_mask path gives for the same seed, and op_mask of
    a prefix is the facts_masks row of the facts the prefix leaves."""
    from fuzzcore.device.builtin import resolve_device
    from fuzzcore.engine import Engine
    from fuzzcore.engine._restore import CampaignTarget
    from fuzzcore.measure.program_gen import ProgramGenerator
    engine = Engine("i350", "linux-7.1")
    target = CampaignTarget(engine, lambda data, violations: None, None)
    c_mix = _mutate.MutationMix(100, None, engine.op_mask, engine.without_refused)
    c_mix.use_engine_last_run(engine)
    py_mix = _mutate.MutationMix(100, None, engine.op_mask, engine.without_refused)
    gen = ProgramGenerator(resolve_device("i350"), 5)
    masks = engine.facts_masks()
    n_ops = len(masks) // 256
    strategies = Counter()
    for i in range(1500):
        prog = gen.program(1 + i % 12)
        target.test_one_input(prog)
        before = c_mix.last_run_calls
        got = c_mix.mutate_buffer(prog, 64 * R, i)
        assert c_mix.last_run_calls == before + 1          # the C path, not the fallback
        strategies[last_strategy()] += 1
        assert got == py_mix.mutate(prog, 64 * R, i), (i, last_strategy())
    assert strategies["insert"] > 100 and strategies["replace_op"] > 50
    # a mutation of an input the engine did not run last takes the strip/feasible path
    target.test_one_input(gen.program(3))
    before = c_mix.last_run_calls
    other = gen.program(4)
    assert c_mix.mutate_buffer(other, 64 * R, 7) == py_mix.mutate(other, 64 * R, 7)
    assert c_mix.last_run_calls == before
    # op_mask(prefix) is the facts_masks row of the state the prefix leaves
    for i in range(300):
        prog = gen.program(6)
        engine.run(prog)
        facts = engine.run_facts()
        assert len(facts) == 7
        for k in range(7):
            assert engine.op_mask(prog[:k * R]) == masks[facts[k] * n_ops:(facts[k] + 1) * n_ops]
