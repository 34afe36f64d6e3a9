"""Run a test module on both models: the reference Model and the native engine (through
fuzzcore.engine.ModelFacade, which gives the engine the Model's stepping API).

A module imports `which_model` (an autouse fixture, so every test runs twice), or `both` (for
the tests that name it), and `model`."""

import pytest

from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy

MODELS = {"current": Model}   # set per test by which_model


def _select(kind: str) -> str:
    if kind == "native":
        from fuzzcore.engine import ModelFacade
        MODELS["current"] = ModelFacade
    else:
        MODELS["current"] = Model
    return kind


@pytest.fixture(params=["reference", "native"], autouse=True)
def which_model(request):
    """`model()` builds the model this parameter names (every test of the module, twice)."""
    yield _select(request.param)


@pytest.fixture(params=["reference", "native"])
def both(request):
    """The same for the tests that ask for it by name."""
    yield _select(request.param)


def overlay(tmp_path, body: str, reference: str = "") -> str:
    """A policy spec: linux-7.1 plus a one-off overlay holding `body`."""
    p = tmp_path / "o.toml"
    p.write_text(f'[overlay]\nname = "o"\ndescription = "o"\ncommit = "none"\nreference = "{reference}"\n\n' + body)
    return f"linux-7.1+{p}"


def model(policy="linux-7.1", device="i350"):
    """A started model of the current kind on a built-in device under a policy spec."""
    m = MODELS["current"](resolve_device(device), load_policy(policy))
    m.start()
    return m
