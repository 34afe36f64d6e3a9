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
ENOENT, EIO, ENOMEM, EBUSY = -2, -5, -12, -16


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
    """sriov_numvfs_store: the same count again is a success that does nothing, another count
    -EBUSY while VFs are enabled; -EIO when InitialVFs reads all-ones (more than TotalVFs);
    -ENOENT on a function that is no PF (the sriov_numvfs attribute exists on PFs only)."""
    m = model()
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=1)\npci_enable_sriov(num_vfs=1)") == [0, 0, 0]
    assert run(m, "pci_enable_sriov(num_vfs=2)") == [EBUSY] and m.state.dev.sriov_num_vfs == 2
    m = model()
    assert run(m, "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_enable_sriov(num_vfs=1)") == [0, 0, EIO]
    assert m.state.dev.sriov_num_vfs == 0
    m = model(device="dsa")
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=1)\npci_disable_sriov()") == [0, ENOENT, ENOENT]


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


def _vf_bars(m):
    return [m.state.hw.read(SRIOV + 0x24 + 4 * i, 4) for i in range(6)]


def test_restore_writes_the_vf_bars_from_the_resources():
    """sriov_restore_state's pci_update_resource loop (pci_iov_update_resource): after an FLR the
    VF BARs hold the enumeration's assignment again; the I350's VF BAR0 and BAR3 are 64-bit, so
    their upper dwords (VF BAR1, VF BAR4) are written too, after the ARI write and before the page
    size (the reference model's write trace)."""
    m = model()
    before = _vf_bars(m)
    assert before[1] and before[4]                        # the upper dwords hold the address
    assert run(m, "pci_bind_driver(driver=host)\npci_reset_function(method=flr)") == [0, 0]
    assert _vf_bars(m) == before
    from fuzzcore.model.machine import Model
    res = Model(resolve_device("i350"), load_policy("linux-7.1")).run(
        parse_program("pci_bind_driver(driver=host)\npci_reset_function(method=flr)"), trace=True)
    offs = [t.offset - SRIOV for t in res.trace if t.target == "dev" and t.op_index == 1
            and SRIOV <= t.offset < SRIOV + 0x40 and t.step == "pci_restore_state/iov"]
    assert offs == [0x08, 0x24, 0x28, 0x30, 0x34, 0x20, 0x10, 0x08], [hex(o) for o in offs]


def test_without_the_vf_bar_loop_the_lost_upper_dword_is_an_intent_mismatch(tmp_path):
    """The loop removed (as before the VF BAR restore existed): the FLR leaves the 64-bit VF BAR's
    upper dword 0 and the device usable, which the VF BAR's written intent reports."""
    from both_models import overlay
    spec = overlay(tmp_path, '[path.pci_restore_iov_state]\nremove = ["bar0", "bar1", "bar2", "bar3", "bar4", "bar5"]\n')
    m = model(spec)
    rcs = run(m, "pci_bind_driver(driver=host)\npci_reset_function(method=flr)")
    assert rcs == [0, 0] and _vf_bars(m)[1] == 0
    found = [v for v in m.oracle.violations if v.invariant == "intent_mismatch"]
    assert any("SR-IOV VF BAR1" in str(v) for v in found), [str(v) for v in found]
    m = model()
    run(m, "pci_bind_driver(driver=host)\npci_reset_function(method=flr)")
    assert not [v for v in m.oracle.violations if "VF BAR" in str(v)]


def test_vf_bar_update_is_skipped_while_the_vfs_decode():
    """pci_iov_update_resource returns without a write when SR-IOV Control reads VF Enable and VF
    MSE ("can't update enabled VF BAR"). The 82576 (NoSoftRst clear, so pci_set_full_power_state
    calls pci_restore_bars) as a profile whose link-down reset keeps SR-IOV Control but not the VF
    BARs, and whose D3hot->D0 soft reset keeps the whole capability: after the link event the lost
    VF BAR stays lost while the VFs decode, and is rewritten when Control was lost too."""
    def run_82576(keep_control):
        p = resolve_device("nic-82576")
        sem = p.semantics
        if keep_control:
            for kind in sem.keep:
                sem.keep[kind][SRIOV + 0x08:SRIOV + 0x0A] = 0xFF
        sem.keep["soft"][SRIOV:SRIOV + 0x40] = 0xFF
        m = MODELS["current"](p, load_policy("linux-7.1"))
        m.start()
        assert run(m, "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=1)\nhw_link_down()") == [0, 0, 0]
        assert _vf_bars(m)[0] == 0x4                      # VF BAR0 at its reset value (the type bits)
        assert bool(m.state.hw.read(SRIOV + 0x08, 2) & 0x9 == 0x9) == keep_control
        assert run(m, "pci_set_power_state(state=d3hot)\npci_set_power_state(state=d0)") == [0, 0]
        assert m.state.dev.current_state == 0
        return _vf_bars(m)[0]
    assert run_82576(keep_control=True) == 0x4
    assert run_82576(keep_control=False) == 0xD2840004


NVME_SRIOV = "corpora/validation/profiles/nvme-sriov.toml"   # QEMU's SR-IOV nvme: alone on its bus


def _sriov_nvme(policy="linux-7.1"):
    from pathlib import Path
    p = resolve_device(str(Path(__file__).resolve().parents[1] / NVME_SRIOV))
    m = MODELS["current"](p, load_policy(policy))
    m.start()
    return m


def test_enabled_vfs_share_the_bus_so_no_bus_reset():
    """A PF alone on its bus can be bus-reset; with its VFs enabled they sit on that bus:
    pci_parent_bus_reset's probe fails, so reset_method_store refuses `bus` (-EINVAL) with nothing
    written (the kernel's probe runs as the device is now, not as at enumeration)."""
    m = _sriov_nvme()
    assert m.reset_probe["bus"]
    assert run(m, "pci_bind_driver(driver=host)\npci_enable_sriov(num_vfs=1)") == [0, 0]
    cmd = m.state.hw.read(0x04, 2)
    assert run(m, "pci_reset_function(method=bus)") == [-22]
    assert m.state.hw.read(0x04, 2) == cmd and m.state.dev.sriov_num_vfs == 2
    # VFs off: the bus reset runs (-ENOTTY after it: QEMU's root port never shows Link Active)
    assert run(m, "pci_disable_sriov()\npci_reset_function(method=bus)") == [0, -25]


def test_hot_reset_of_a_pf_with_vfs_is_einval(tmp_path):
    """vfio_pci_dev_set_hot_reset: the VFs vfio-pci's bus notifier bound into the PF's dev_set are
    not in the user's groups: -EINVAL before any reset (vfio-pci with enable_sriov=1)."""
    from pathlib import Path
    spec = "linux-7.1+" + str(Path(__file__).resolve().parents[1] / "docs" / "examples" / "vfio-enable-sriov.toml")
    m = _sriov_nvme(spec)
    assert run(m, "pci_enable_sriov(num_vfs=0)\nvfio_open()") == [0, 0]
    ctrl = m.state.hw.read(0x120 + 0x08, 2)
    assert run(m, "vfio_hot_reset()") == [-22]
    assert m.state.hw.read(0x120 + 0x08, 2) == ctrl == 0x19
    assert run(m, "vfio_close()\npci_disable_sriov()\nvfio_open()\nvfio_hot_reset()")[-1] != -22


def test_vfs_on_a_bus_of_their_own_block_neither_reset(tmp_path):
    """The I350's First VF Offset is 0x180: its VFs are on a bus of their own (virtfn_add_bus),
    which pci_walk_bus does not reach, so a vfio hot reset of the PF goes as with no VFs; the SR-IOV
    nvme's VFs (offset 1) are on its bus."""
    from pathlib import Path
    from fuzzcore.model.enumeration import vfs_share_bus
    i350 = resolve_device("i350")
    nvme = resolve_device(str(Path(__file__).resolve().parents[1] / NVME_SRIOV))
    assert not vfs_share_bus(i350, cap_offsets(i350)) and vfs_share_bus(nvme, cap_offsets(nvme))
    spec = "linux-7.1+" + str(Path(__file__).resolve().parents[1] / "docs" / "examples" / "vfio-enable-sriov.toml")
    rcs = [run(model(spec), f"{pre}vfio_open()\nvfio_hot_reset()")[-1] for pre in ("", "pci_enable_sriov(num_vfs=1)\n")]
    assert rcs[0] == rcs[1] != -22


def test_disabling_no_vfs_needs_no_driver():
    """sriov_numvfs_store compares the count before it looks for a driver: writing 0 with no VFs
    is a success that does nothing, bound or not; a count with no driver bound is -ENOENT."""
    m = model()
    assert run(m, "pci_bind_driver(driver=none)\npci_disable_sriov()\npci_enable_sriov(num_vfs=1)") == [0, 0, ENOENT]
