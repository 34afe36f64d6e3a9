"""The Cython ConfigBuffer and the pure-Python ConfigSpace apply the same writes and resets to
the same bytes, for every built-in device."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzcore.engine import _restore
from fuzzcore.device.builtin import builtin_names, resolve_device
from fuzzcore.device.config_space import ConfigSpace

DEVICES = builtin_names()


def _pair(name):
    prof = resolve_device(name)
    n = prof.msix.entries if prof.msix else 0
    return ConfigSpace(prof.config, prof.semantics, n), _restore.from_semantics(prof.config, prof.semantics, n)


access = st.one_of(
    st.tuples(st.just("w"), st.integers(0, 4095), st.sampled_from([1, 2, 4]), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("r"), st.sampled_from(["flr", "hot", "soft", "cold"]), st.just(0), st.just(0)),
    st.tuples(st.just("a"), st.booleans(), st.just(0), st.just(0)),
)


@pytest.mark.parametrize("name", DEVICES)
@settings(max_examples=60, deadline=None)
@given(ops=st.lists(access, max_size=40))
def test_python_and_cython_agree(name, ops):
    py, cy = _pair(name)
    for kind, a, b, c in ops:
        if kind == "w":
            off = a - a % b
            py.write(off, b, c)
            cy.write(off, b, c)
            assert py.read(off, b) == cy.read(off, b)
        elif kind == "r":
            py.reset(a)
            cy.reset(a)
        else:
            py.accessible = cy.accessible = a
    assert np.array_equal(py.config, cy.config_array)
    assert py.msix_table.tobytes() == cy.msix_table_array[:len(py.msix_table)].tobytes()


def test_inaccessible_reads_all_ones_and_drops_writes():
    py, cy = _pair("i350")
    for buf in (py, cy):
        buf.accessible = False
        assert buf.read(0x04, 2) == 0xFFFF and buf.read(0x00, 4) == 0xFFFFFFFF
        buf.write(0x04, 2, 0x0007)
        buf.accessible = True
        assert buf.read(0x04, 2) == 0x0406  # the dump's Command, unchanged


def test_every_msix_vector_control_reads_masked_after_any_reset():
    py, cy = _pair("i350")
    for kind in ("flr", "hot", "soft", "cold"):
        for i in range(10):
            py.msix_write(16 * i + 12, 4, 0)
        py.reset(kind)
        cy.reset(kind)
        assert [py.msix_read(16 * i + 12) & 1 for i in range(10)] == [1] * 10
        assert [cy.msix_read(16 * i + 12) & 1 for i in range(10)] == [1] * 10


def test_command_and_bars_read_zero_after_flr():
    py, cy = _pair("i350")
    for buf in (py, cy):
        buf.write(0x04, 2, 0x0007)
        buf.reset("flr")
        assert buf.read(0x04, 2) == 0
        assert [buf.read(0x10 + 4 * i, 4) for i in range(6)] == [0] * 6


@pytest.mark.parametrize("width,offset", [(3, 0), (2, 1), (4, 4094), (1, -1), (4, 4096)])
def test_bad_access_is_a_clear_error(width, offset):
    py, cy = _pair("i350")
    for buf in (py, cy):
        with pytest.raises(ValueError):
            buf.write(offset, width, 0)
