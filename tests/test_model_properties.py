"""Random programs never crash the model, and the result depends only on program, device and
policy."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzcore.device.builtin import builtin_names, resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.policy import builtin_policies, load_policy
from fuzzcore.program.codec import decode
from fuzzcore.program.op_table import RECORD_SIZE

OVERLAYS = [p for p in builtin_policies() if p != "linux-7.1"]
POLICIES = ["linux-7.1"] + [f"linux-7.1+{o}" for o in OVERLAYS]
DEVICES = [d for d in builtin_names() if d != "cnl-rootport"] + ["cnl-rootport"]

programs = st.binary(min_size=0, max_size=24 * RECORD_SIZE)


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=programs, policy=st.sampled_from(POLICIES))
def test_random_programs_never_crash_and_are_deterministic(device, data, policy):
    calls = decode(data)
    prof = resolve_device(device)
    a = Model(prof, load_policy(policy)).run(calls)
    b = Model(prof, load_policy(policy)).run(calls)
    assert len(a.returns) == len(calls)
    assert a.violations == b.violations and a.state_digest == b.state_digest


def test_one_model_reused_gives_the_same_result():
    prof = resolve_device("i350")
    m = Model(prof, load_policy("linux-7.1"))
    data = bytes(range(256)) * 2
    first = m.run(decode(data))
    m.run(decode(bytes(64)))
    again = m.run(decode(data))
    assert first.violations == again.violations and first.state_digest == again.state_digest


def test_seeded_random_programs_on_every_device_and_policy():
    """A broad deterministic sweep (found the MSI-X table-offset and ReBAR index crashes)."""
    import random
    rng = random.Random(20261124)
    for _ in range(1500):
        device, policy = rng.choice(DEVICES), rng.choice(POLICIES)
        data = bytes(rng.randrange(256) for _ in range(RECORD_SIZE * rng.randrange(1, 24)))
        result = Model(resolve_device(device), load_policy(policy)).run(decode(data))
        assert all(v.op_index < len(decode(data)) for v in result.violations)
