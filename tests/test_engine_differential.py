"""The native engine agrees with the reference model bit for bit: Hypothesis-generated and
seeded structured programs on every built-in device under every shipped policy and overlay (and
overlay combinations) give the same final hardware (device and port config space, MSI-X table),
the same kernel, vfio and oracle state, the same violations (every field), the same state
features and the same return values. Plus the engine's own API: reset between runs, run_batch,
state()/load_state()/state_hash(), counters."""

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzcore.device.builtin import builtin_names, resolve_device
from fuzzcore.engine import Engine, ExploreEngineBackend, first_difference, model_view
from fuzzcore.model.abstract_state import NUM_STATE_COUNTERS
from fuzzcore.model.machine import Model
from fuzzcore.policy import builtin_policies, load_policy
from fuzzcore.program.codec import decode, encode_call
from fuzzcore.program.fzs import format_program, parse_program
from fuzzcore.program.op_table import OPS, RECORD_SIZE
from fuzzcore.measure.program_gen import ProgramGenerator

BASE = "linux-7.1"
OVERLAYS = [p for p in builtin_policies() if p != BASE]
POLICIES = [BASE] + [f"{BASE}+{o}" for o in OVERLAYS] + [
    f"{BASE}+skip-save-if-inaccessible+msix-restore-enable-memory",
    f"{BASE}+vfio-reset-done-v18+fail-flr-if-inaccessible+no-bar-snapshot-update",
    f"{BASE}+pre-a2f1e22390ac+msix-restore-enable-memory+skip-save-if-inaccessible",
    f"{BASE}+" + "+".join(OVERLAYS),
]
DEVICES = builtin_names()

_pairs: dict = {}


def pair(device: str, policy: str):
    """(engine, reference model), made once per device and policy: both must reset between runs."""
    key = (device, policy)
    if key not in _pairs:
        prof, pol = resolve_device(device), load_policy(policy)
        _pairs[key] = (Engine(prof, pol), Model(prof, pol))
    return _pairs[key]


def check_program(device: str, policy: str, data: bytes) -> None:
    engine, model = pair(device, policy)
    calls = decode(data)
    got = engine.run(data)
    want = model.run(calls)
    where = f"{device} under {policy}:\n{format_program(calls)}"
    diff = first_difference(model_view(model), engine.view())
    assert diff is None, f"state differs at {diff[0]}: reference {diff[1]!r}, engine {diff[2]!r} ({where})"
    assert got.violations == want.violations, where
    assert got.state_features == want.state_features, where
    assert got.returns == want.returns, where
    assert got.refused == want.refused, where


# --- Hypothesis ------------------------------------------------------------------------------

def _record_strategy():
    raw = st.binary(min_size=RECORD_SIZE, max_size=RECORD_SIZE)

    @st.composite
    def structured(draw):
        i = draw(st.integers(0, len(OPS) - 1))
        out = bytearray(RECORD_SIZE)
        out[0] = i
        pos = 1
        for a in OPS[i].args:
            if a.name == "offset":
                v = draw(st.one_of(st.sampled_from([0x04, 0x0C, 0x10, 0x1C, 0x44, 0x48, 0xA8, 0xC8, 0xCC, 0xE8,
                                                    0x5C, 0x60, 0x104, 0x108, 0x110, 0x118]),
                                   st.integers(0, a.size - 1)))
            elif a.name == "value":
                v = draw(st.one_of(st.sampled_from([0, 2, 3, 4, 6, 7, 0x400, 0x406, 0x8000, 0x8003, 0xFFFF]),
                                   st.integers(0, a.size - 1)))
            else:
                v = draw(st.integers(0, a.size - 1))
            out[pos:pos + a.nbytes] = v.to_bytes(a.nbytes, "little")
            pos += a.nbytes
        return bytes(out)

    return st.one_of(raw, structured())


programs = st.lists(_record_strategy(), min_size=1, max_size=32).map(b"".join)


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(data=programs, policy=st.sampled_from(POLICIES))
def test_hypothesis_programs_agree(device, data, policy):
    check_program(device, policy, data)


# --- seeded structured programs: every device x every policy ----------------------------------

@pytest.mark.parametrize("device", DEVICES)
def test_structured_programs_agree_on_every_policy(device):
    gen = ProgramGenerator(resolve_device(device), seed=hash(device) & 0xFFFF)
    rng = random.Random(device)
    for policy in POLICIES:
        for _ in range(16):
            check_program(device, policy, gen.program(rng.randrange(1, 48)))


# --- the engine's own API --------------------------------------------------------------------

def test_runs_are_independent_of_what_ran_before():
    engine = Engine("i350", BASE)
    gen = ProgramGenerator(resolve_device("i350"), seed=5)
    progs = [gen.program(24) for _ in range(20)]
    first = [engine.run(p) for p in progs]
    again = [engine.run(p) for p in reversed(progs)][::-1]
    for a, b in zip(first, again):
        assert (a.violations, a.state_features, a.returns, a.state_hash) == \
               (b.violations, b.state_features, b.returns, b.state_hash)
    fresh = Engine("i350", BASE).run(progs[7])
    assert fresh.state_hash == first[7].state_hash and fresh.violations == first[7].violations


def test_a_kept_result_holds_its_run_whatever_the_engine_does_next():
    """run()'s result fills its values on first use; one still held when the engine moves on
    (run, run_batch, start/apply, load_state, clear_violations, a campaign input) keeps those of
    its own run."""
    from fuzzcore.engine._restore import CampaignTarget
    gen = ProgramGenerator(resolve_device("i350"), seed=13)
    progs = [gen.program(20) for _ in range(8)]
    fresh = [Engine("i350", BASE).run(p) for p in progs]
    want = [(r.violations, r.state_features, r.returns, r.state_hash, r.refused) for r in fresh]
    engine = Engine("i350", BASE)
    target = CampaignTarget(engine, lambda data, violations: None)
    nexts = (lambda: engine.run(progs[-1]), lambda: engine.run_batch(progs[:2]),
             lambda: (engine.start(), engine.apply(progs[0][:RECORD_SIZE])),
             lambda: engine.load_state(engine.state()), engine.clear_violations,
             lambda: target.test_one_input(progs[1]), lambda: None, lambda: engine.run(b""))
    for prog, w, then in zip(progs, want, nexts):
        r = engine.run(prog)
        then()
        assert (r.violations, r.state_features, r.returns, r.state_hash, r.refused) == w
        assert r.buckets == [v.bucket for v in w[0]]


def test_run_batch_counts_violations_and_bumps_counters():
    engine = Engine("i350", BASE)
    gen = ProgramGenerator(resolve_device("i350"), seed=9)
    progs = [gen.program(16) for _ in range(50)]
    counts = engine.run_batch(progs)
    assert list(counts) == [len(engine.run(p).violations) for p in progs]
    rows = np.frombuffer(b"".join(progs), dtype=np.uint8).reshape(50, 16 * RECORD_SIZE)
    assert list(engine.run_batch(rows)) == list(counts)
    engine.counters[:] = 0
    r = engine.run(progs[0])
    assert engine.counters.shape == (NUM_STATE_COUNTERS,) and engine.counters.sum() == len(r.state_features)
    for idx in r.state_features:
        assert engine.counters[idx] >= 1


def test_state_round_trip_and_canonical_hash():
    engine = Engine("wifi-7265", BASE)
    gen = ProgramGenerator(resolve_device("wifi-7265"), seed=3)
    data = gen.program(20)
    engine.run(data)
    s, h, view = engine.state(), engine.state_hash(), engine.view()
    engine.run(gen.program(20))
    engine.load_state(s)
    assert engine.state_hash() == h and engine.view() == view and engine.violations() == []
    # epochs only matter by order: one more save that refills the same buffers hashes alike
    prog = lambda text: b"".join(encode_call(c) for c in parse_program(text))
    a, b = Engine("i350", BASE), Engine("i350", BASE)
    ra = a.run(prog("pci_bind_driver(driver=host)\npci_save_state()"))
    rb = b.run(prog("pci_bind_driver(driver=host)\npci_save_state()\npci_save_state()"))
    assert a.view()["config_epoch"] != b.view()["config_epoch"]
    assert ra.state_hash == rb.state_hash == a.state_hash() == b.state_hash()
    rc = b.run(prog("pci_bind_driver(driver=host)\npci_save_state()\npci_enable_msi()"))
    assert rc.state_hash != ra.state_hash


def test_stepping_matches_run():
    engine = Engine("dsa", f"{BASE}+vfio-reset-done-v18")
    data = ProgramGenerator(resolve_device("dsa"), seed=1).program(30)
    r = engine.run(data)
    engine.start()
    rets = [engine.apply(data[i:i + RECORD_SIZE]) for i in range(0, len(data), RECORD_SIZE)]
    assert rets == r.returns and engine.violations() == r.violations and engine.state_hash() == r.state_hash


def test_explore_backend_matches_reference_backend():
    from fuzzcore.explore.backend import ReferenceBackend
    prof, pol = resolve_device("i350"), load_policy(f"{BASE}+vfio-reset-done-v18")
    ref, nat = ReferenceBackend(prof, pol), ExploreEngineBackend(prof, pol)
    calls = decode(ProgramGenerator(prof, seed=4).program(12))
    s_ref, s_nat = ref.state(), nat.state()
    for c in calls:
        assert ref.apply(c) == nat.apply(c)
    ref.load_state(s_ref)
    nat.load_state(s_nat)
    assert first_difference(model_view(ref.model), nat.engine.view()) is None


# --- run --engine, selfcheck, bench -----------------------------------------------------------

def fz(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True, text=True)


H1A = """vfio_open()
vfio_config_write(offset=0x04, width=2, value=0x0006)
vfio_set_irqs(index=msix, count=2)
vfio_config_write(offset=0x04, width=2, value=0x0004)
vfio_device_reset()
"""


def test_run_with_each_engine(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(H1A)
    outs = {}
    for engine in ("native", "reference", "both"):
        r = fz("run", f, "--engine", engine)
        assert r.returncode == 1, r.stderr
        outs[engine] = r.stdout
    assert outs["native"] == outs["reference"]
    assert outs["both"].startswith("# engine and reference model agree on all 5 ops\n")
    assert outs["both"].endswith(outs["native"])
    assert fz("run", f, "--engine", "native", "--trace").returncode == 2


class _SkewedEngine:
    """An engine whose Command register reads differently from op 3 on (to test the reporting)."""

    def __init__(self, engine):
        self.e = engine

    def __getattr__(self, name):
        return getattr(self.e, name)

    def view(self):
        v = self.e.view()
        if len(self.e.features()) > 3:
            cfg = bytearray(v["config"])
            cfg[4] ^= 0x02
            v["config"] = bytes(cfg)
        return v


def test_first_divergence_names_the_op_the_register_and_both_values():
    from fuzzcore.measure.selfcheck import first_divergence
    prof, pol = resolve_device("i350"), load_policy(BASE)
    calls = parse_program(H1A)
    assert first_divergence(Engine(prof, pol), Model(prof, pol), calls) is None
    d = first_divergence(_SkewedEngine(Engine(prof, pol)), Model(prof, pol), calls, "i350", BASE)
    assert d.op_index == 3 and d.what == "config 0x004 (Command)"
    assert d.reference ^ d.engine == 0x02
    text = d.fzs()
    assert "first divergence at op 3 (vfio_config_write(offset=0x04, width=2, value=0x04))" in text
    assert parse_program(text) == calls[:4]


def test_selfcheck_command_agrees():
    r = fz("selfcheck", "--programs", "300", "--seed", "7", "--max-ops", "12")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "selfcheck: 300 programs" in r.stdout and "agree" in r.stdout


def test_bench_json_has_every_figure():
    import json
    r = fz("bench", "--json", "--programs", "300", "--repeat", "5", "--reference-programs", "20")
    assert r.returncode == 0, r.stderr
    b = json.loads(r.stdout)
    for key in ("engine_programs_per_s", "engine_ops_per_s", "engine_run_programs_per_s", "engine_run_read_programs_per_s",
                "reference_programs_per_s", "ratio", "mutator_calls_per_s", "machine"):
        assert key in b
    assert b["ops_per_program"] == 16 and b["repeat"] == 5 and len(b["samples"]["engine_run_batch"]) == 5
    assert b["engine_programs_per_s"] > b["reference_programs_per_s"]
