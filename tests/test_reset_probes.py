"""The reset methods' probes are their paths run with the `probe` condition (pci_init_reset_methods:
each reset function called with PCI_RESET_PROBE returns 0 after its checks), so dev->reset_methods
follows the policy: a quirk or a changed check is an overlay on the method's path. Both models."""

from both_models import model, which_model  # noqa: F401  (every test on both models)
from fuzzcore.program.fzs import parse_program

NO_FLR = """
[path.pcie_flr]
insert = [{ step = "quirk", before = "probe" }]
[path.pcie_flr.step]
quirk = { do = "fail", errno = "enotty" }
"""


def overlay(tmp_path, body):
    f = tmp_path / "o.toml"
    f.write_text('[overlay]\nname = "o"\ndescription = "d"\ncommit = ""\nreference = ""\n' + body)
    return f"linux-7.1+{f}"


def run(m, text):
    return [m.apply(c) for c in parse_program(text)]


def test_the_probes_decide_the_reset_methods():
    """The I350 has FLR, no PM reset (NoSoftRst+) and shares its bus with its other function; the
    7265 is single-function below a root port; the DSA, an RCiEP, has no port to reset its bus."""
    m = model(device="i350")
    assert m.reset_probe == {"flr": True, "pm": False, "bus": False}
    m = model(device="wifi-7265")
    assert m.reset_probe["bus"]
    m = model(device="dsa")
    assert not m.reset_probe["bus"]


def test_a_no_flr_quirk_is_an_overlay_on_the_probe(tmp_path):
    """PCI_DEV_FLAGS_NO_FLR_RESET as a step before the probe's return: FLR leaves reset_methods,
    so a write of "flr" to reset_method is refused (-EINVAL) and the device has no reset at all."""
    m = model(device="i350")
    assert run(m, "pci_reset_function(method=flr)") == [0]
    m = model(overlay(tmp_path, NO_FLR), device="i350")
    assert not m.reset_probe["flr"]
    assert run(m, "pci_reset_function(method=flr)") == [-2]     # no reset file: no method left
