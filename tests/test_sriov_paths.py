"""SR-IOV enable and disable as policy paths ([path.pci_enable_sriov], [path.pci_disable_sriov]):
sriov_enable and sriov_disable (drivers/pci/iov.c, v7.1.3), on both models. sriov_init wrote ARI
Capable Hierarchy and the page size at enumeration; the enable writes NumVFs, then SR-IOV Control
from iov->ctrl with VF Enable and VF MSE, and only then records num_VFs."""

import dataclasses

from both_models import MODELS, model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.enumeration import iov_bars_assigned
from fuzzcore.model.caps import cap_offsets
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program

SRIOV = 0x160  # the i350's SR-IOV extended capability
EIO, ENOMEM, EINVAL, ENOSYS = -5, -12, -22, -38


def run(m, text):
    return [m.apply(call) for call in parse_program(text)]


def test_enable_writes_numvfs_then_control_and_nothing_of_enumeration():
    """NumVFs (nr_virtfn = num_vfs + 1), then Control = iov->ctrl | VFE | MSE: no ARI and no page
    size write (sriov_init's, at enumeration), so the dump's System Page Size stays."""
    m = model()
    pgsz = m.state.hw.read(SRIOV + 0x20, 4)
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=2)") == [0, 0]
    hw, dev = m.state.hw, m.state.dev
    assert hw.read(SRIOV + 0x10, 2) == 3 and dev.sriov_num_vfs == 3
    assert hw.read(SRIOV + 0x08, 2) == 0x9 and dev.sriov_ctrl == 0x9     # the dump's ARI bit is clear
    assert hw.read(SRIOV + 0x20, 4) == pgsz == dev.sriov_pgsz


def test_disable_clears_control_then_numvfs_and_is_silent_when_off():
    m = model()
    assert run(m, "pci_bind_driver(driver=host)\npci_disable_sriov()") == [0, 0]   # void; nothing enabled
    assert run(m, "pci_enable_sriov(num_vfs=1)\npci_disable_sriov()") == [0, 0]
    hw, dev = m.state.hw, m.state.dev
    assert hw.read(SRIOV + 0x08, 2) == 0 and hw.read(SRIOV + 0x10, 2) == 0
    assert dev.sriov_num_vfs == 0 and dev.sriov_ctrl == 0


def test_enable_refusals():
    """-EINVAL with VFs enabled, -EIO when InitialVFs reads all-ones (more than TotalVFs), -ENOSYS
    on a function that is no PF (pci_enable_sriov's is_physfn check)."""
    m = model()
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=1)\npci_enable_sriov(num_vfs=1)") == [0, 0, EINVAL]
    m = model()
    assert run(m, "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_enable_sriov(num_vfs=1)") == [0, 0, EIO]
    assert m.state.dev.sriov_num_vfs == 0
    m = model(device="dsa")
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=1)") == [0, ENOSYS]


def test_unassigned_vf_bar_is_enomem():
    """An I350 whose VF BAR0 reads as a 64-bit BAR at address 0 (the kernel could not assign it):
    sriov_enable's resource count differs from iov->nres, -ENOMEM, nothing written."""
    p = resolve_device("i350")
    image = bytearray(p.image)
    image[SRIOV + 0x28:SRIOV + 0x2C] = bytes(4)          # VF BAR0's upper dword: address 0
    q = dataclasses.replace(p, image=bytes(image))
    assert iov_bars_assigned(p, cap_offsets(p)) and not iov_bars_assigned(q, cap_offsets(q))
    m = MODELS["current"](q, load_policy("linux-7.1"))
    m.start()
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=1)") == [0, ENOMEM]
    assert m.state.hw.read(SRIOV + 0x08, 2) == 0 and m.state.hw.read(SRIOV + 0x10, 2) == 0


def test_612_enable_sets_memory_for_the_iov_resources():
    """6.12.118's sriov_enable calls pci_enable_resources for the VF BARs, which sets the PF's
    Memory Space Enable; 7.1.3 skips IOV resources there. After a frozen recovery that reset the
    function with no restore (the driver voted CAN_RECOVER: Command 0), only 6.12 turns Memory on."""
    prog = ("pci_bind_driver(driver=host)\npcie_do_recovery(channel=frozen, vote=can_recover, source=aer)\n"
            "pci_enable_sriov(num_vfs=1)")
    for policy, memory in (("linux-7.1", 0), ("linux-7.1+linux-6.12", 0x2)):
        m = model(policy)
        rcs = run(m, prog)
        assert rcs[-1] == 0, policy
        assert m.state.hw.read(0x04, 2) & 0x2 == memory, policy
