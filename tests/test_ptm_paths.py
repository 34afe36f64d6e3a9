"""PTM enable, disable, suspend and resume as policy paths ([path.pci_enable_ptm] and the rest;
drivers/pci/pcie/ptm.c, v7.1.3), on both models. No built-in endpoint has PTM:
tests/data/wifi-7265-ptm.toml adds a PTM Requester to the Wi-Fi below the built-in root port (a
PTM Root), whose own pci_enable_ptm runs first and whose count follows each enable and disable."""

from pathlib import Path

from both_models import MODELS, model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.engine import model_view
from fuzzcore.model.caps import cap_offsets
from fuzzcore.model.enumeration import ptm_info
from fuzzcore.program.fzs import parse_program

WIFI_PTM = str(Path(__file__).parent / "data" / "wifi-7265-ptm.toml")
EINVAL = -22
CTRL = 0x08


def run(m, text):
    return [m.apply(call) for call in parse_program(text)]


def ctrls(m):
    """(the function's PTM Control, the port's PTM Control)."""
    dev = resolve_device(WIFI_PTM)
    port = resolve_device(dev.upstream_port)
    return (m.state.hw.read(cap_offsets(dev).ptm + CTRL, 4), m.state.port.hw.read(cap_offsets(port).ptm + CTRL, 4))


def port_count(m):
    view = m.engine.view() if hasattr(m, "engine") else model_view(m)
    return view["port"]["ptm_enable_cnt"]


def test_enumeration():
    dev = resolve_device(WIFI_PTM)
    port = resolve_device(dev.upstream_port)
    mine, above = ptm_info(dev, cap_offsets(dev), port, cap_offsets(port))
    assert above.root and above.type_ok and above.granularity == 4
    assert not mine.root and mine.type_ok and mine.granularity == 4     # the PTM Root's granularity, the larger


def test_enable_enables_the_port_first_and_counts_both():
    m = model(device=WIFI_PTM)
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_ptm()") == [0, 0]
    assert ctrls(m) == (0x401, 0x403)             # Enable | granularity 4; the port: | Root Select
    assert m.state.dev.ptm_enable_cnt == 1 and port_count(m) == 1
    assert run(m, "pci_enable_ptm()") == [0]      # "Already enabled?": both counts go up, nothing written
    assert m.state.dev.ptm_enable_cnt == 2 and port_count(m) == 2
    assert run(m, "pci_disable_ptm()") == [0]
    assert ctrls(m) == (0x401, 0x403) and port_count(m) == 1
    assert run(m, "pci_disable_ptm()") == [0]     # the last one: Enable and Root Select off at both ends
    assert ctrls(m) == (0x400, 0x400) and m.state.dev.ptm_enable_cnt == 0 and port_count(m) == 0
    assert run(m, "pci_disable_ptm()") == [EINVAL]   # the caller's contract: nothing to drop


def test_refused_without_ptm():
    m = model(device="i350")
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_ptm()") == [0, EINVAL]
    assert m.state.dev.ptm_enable_cnt == 0


def test_a_root_port_is_its_own_ptm_root():
    """On the root port itself (portdrv bound): no parent to enable; Root Select set."""
    m = model(device="cnl-rootport")
    ptm = m.caps.ptm
    assert run(m, "pci_enable_ptm()") == [0]
    assert m.state.hw.read(ptm + CTRL, 4) & 0xFF03 == 0x403 and m.state.dev.ptm_enable_cnt == 1


def test_runtime_suspend_turns_ptm_off_and_resume_back_on():
    m = model(device=WIFI_PTM)
    run(m, "pci_bind_driver(driver=host)\npci_enable_ptm()\npci_pm_runtime_suspend()")
    assert m.state.dev.rpm_suspended
    assert ctrls(m)[0] & 0x1 == 0 and m.state.dev.ptm_enable_cnt == 1   # pci_suspend_ptm: the count stays
    run(m, "pci_pm_runtime_resume()")
    view = m.engine.view() if hasattr(m, "engine") else model_view(m)
    assert ctrls(m)[0] & 0xFF01 == 0x401 and not view["ptm_suspended"]
    assert not [v for v in m.oracle.violations if v.register == "PTM"]


def test_linux_612_ptm_is_a_flag_the_port_enabled_at_enumeration():
    """linux-6.12 (drivers/pci/pcie/ptm.c in 6.12.118): pci_ptm_init enables the Root Port above
    at enumeration; pci_enable_ptm on a function without PTM (the I350) fails -EINVAL writing
    nothing, where v7.1.3 first enables the port (its recursion) and leaves it enabled; a function
    with PTM enables only itself and one disable turns it off, the port staying on."""
    i350 = resolve_device("i350")
    pptm = cap_offsets(resolve_device(i350.upstream_port)).ptm
    base, old = model("linux-7.1", "i350"), model("linux-7.1+linux-6.12", "i350")
    assert old.state.port.hw.read(pptm + CTRL, 4) & 0x3 == 0x3 and port_count(old) == 1   # at enumeration
    before = base.state.port.hw.read(pptm + CTRL, 4)
    assert run(base, "pci_bind_driver(driver=host)\npci_enable_ptm()") == [0, EINVAL]
    assert port_count(base) == 1 and base.state.port.hw.read(pptm + CTRL, 4) != before   # v7.1.3: the port enabled
    port_before = old.state.port.hw.read(pptm + CTRL, 4)
    assert run(old, "pci_bind_driver(driver=host)\npci_enable_ptm()") == [0, EINVAL]
    assert old.state.port.hw.read(pptm + CTRL, 4) == port_before and port_count(old) == 1
    m = model("linux-7.1+linux-6.12", WIFI_PTM)
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_ptm()\npci_enable_ptm()") == [0, 0, 0]
    assert ctrls(m)[0] & 0x1 and port_count(m) == 1
    assert run(m, "pci_disable_ptm()") == [0]
    assert not ctrls(m)[0] & 0x1 and ctrls(m)[1] & 0x1 and port_count(m) == 1
