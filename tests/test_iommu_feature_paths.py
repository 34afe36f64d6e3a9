"""The IOMMU features' enable and disable functions as policy paths (drivers/pci/ats.c, v7.1.3):
pci_enable_ats/pci_disable_ats, pci_enable_pasid/pci_disable_pasid, pci_enable_pri/pci_disable_pri.
Their checks are steps an overlay can edit, on both models."""

from both_models import model, which_model  # noqa: F401  (every test on both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program


def run(m, text):
    return [m.apply(c) for c in parse_program(text)]


def overlay(tmp_path, body):
    f = tmp_path / "o.toml"
    f.write_text('[overlay]\nname = "o"\ndescription = "d"\ncommit = ""\nreference = ""\n' + body)
    return f"linux-7.1+{f}"


def test_ats_enable_twice_is_ebusy_and_disable_clears_only_enable():
    """WARN_ON(dev->ats_enabled) returns -EBUSY; the STU is the op's (12 + stu); the disable reads
    ATS Control and clears Enable only, so the STU field stays; a second disable is the WARN_ON
    return (-EINVAL in the op)."""
    m = model(device="dsa")
    ats = m.caps.ats
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_ats(stu=2)") == [0, 0]
    assert m.state.dev.ats_enabled and m.state.dev.ats_stu == 14
    assert m.state.hw.read(ats + 6, 2) == 0x8002
    assert run(m, "pci_enable_ats(stu=1)\npci_disable_ats()\npci_disable_ats()") == [-16, 0, -22]
    assert not m.state.dev.ats_enabled and m.state.hw.read(ats + 6, 2) == 0x0002


def test_pasid_needs_a_tlp_prefix_path_and_acs():
    """The Fiji sits below a root port without End-End TLP Prefix support and is a multi-function
    endpoint without ACS: pci_enable_pasid fails on eetlp_prefix_max, and with that check removed
    on the ACS path; with both removed PASID is enabled. The RCiEP DSA passes both."""
    m = model(device="fiji")
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_pasid(features=0)") == [0, -22]
    assert not m.state.dev.pasid_enabled
    m = model(device="dsa")
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_pasid(features=0)") == [0, 0]
    assert m.state.dev.pasid_enabled


def test_pasid_checks_are_steps_an_overlay_removes(tmp_path):
    m = model(overlay(tmp_path, '[path.pci_enable_pasid]\nremove = ["no_prefix"]\n'), device="fiji")
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_pasid(features=0)") == [0, -22]
    m = model(overlay(tmp_path, '[path.pci_enable_pasid]\nremove = ["no_prefix", "acs"]\n'), device="fiji")
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_pasid(features=0)") == [0, 0]
    assert m.state.dev.pasid_enabled and m.state.hw.read(m.caps.pasid + 6, 2) & 0x1


def test_pri_allocation_is_capped_by_the_capacity_and_disable_keeps_the_rest():
    """The IOMMU drivers enable PRI only with ATS on (iommu_enable_pci_pri, pdev_enable_cap_pri):
    before ATS the op leaves PRI off. Then pci_reset_pri, and pri_reqs_alloc = min(Outstanding Page
    Request Capacity, reqs); the disable is a read-modify-write of Control; a second enable is
    pci_reset_pri's -EBUSY."""
    m = model(device="dsa")
    pri = m.caps.pri
    cap = m.state.hw.read(pri + 8, 4)
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_pri(reqs=3)") == [0, 0]
    assert not m.state.dev.pri_enabled and not m.state.hw.read(pri + 4, 2) & 0x1
    assert run(m, "pci_enable_ats(stu=0)\npci_enable_pri(reqs=3)\npci_enable_pri(reqs=0)") == [0, 0, -16]
    assert m.state.dev.pri_enabled and m.state.hw.read(pri + 4, 2) & 0x1
    assert m.state.dev.pri_reqs_alloc == min(cap, 256) == m.state.hw.read(pri + 0x0C, 4)
    assert run(m, "pci_disable_pri()\npci_disable_pri()") == [0, -22]
    assert not m.state.dev.pri_enabled and not m.state.hw.read(pri + 4, 2) & 0x1


def test_pri_written_with_ats_on_is_no_order_violation():
    """Both IOMMU drivers enable PRI after ATS, so a restore that rewrites PRI while ATS is on
    breaks no order rule; PASID's does (H7). (Reference model: the writes go through its access
    path directly; the engine's oracle is held equal to it by the differential tests.)"""
    m = Model(resolve_device("dsa"), load_policy("linux-7.1"))
    m.start()
    m.state.hw.write(m.caps.ats + 6, 2, 0x8000)
    with m.in_step("pci_restore_state/pri"):
        m.io.write(m.caps.pri + 0x0C, 4, 0x20)
        m.io.write(m.caps.pri + 4, 2, 0x1)
    assert not [v for v in m.oracle.violations if v.invariant == "order_violation"]
    with m.in_step("pci_restore_state/pasid"):
        m.io.write(m.caps.pasid + 6, 2, 0x1)
    assert [v.register for v in m.oracle.violations if v.invariant == "order_violation"] == ["PASID"]
