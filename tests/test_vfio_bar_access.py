"""A vfio user's BAR access (op vfio_bar_rw, [path.vfio_pci_bar_rw], docs/kernel.md §6.10) on both
models: vfio-pci's -EINVAL and -EIO steps, what reaches the device, and the kernel before
abafbc551fdd (docs/examples/pre-abafbc551fdd.toml), which had no -EIO steps."""

from pathlib import Path

from both_models import both, model  # noqa: F401  (fixture `both`: a test on both models)
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
PRE_FIX = f"linux-7.1+{EXAMPLES / 'pre-abafbc551fdd.toml'}"


def run(policy, text, device="i350"):
    m = model(policy, device)
    rcs = [m.apply(c) for c in parse_program(text)]
    return m, rcs


def bar_findings(m):
    return {v.register for v in m.oracle.violations if v.invariant == "mmio_decode_off"}


def test_the_path_is_the_kernel_order():
    assert [s.name for s in load_policy("linux-7.1").path("vfio_pci_bar_rw")] == [
        "einval", "eio_d3", "eio_memory", "access"]
    assert [s.name for s in load_policy(PRE_FIX).path("vfio_pci_bar_rw")] == ["einval", "access"]


def test_access_with_decode_on_reaches_the_device_and_is_clean(both):
    m, rcs = run("linux-7.1", "vfio_open()\nvfio_bar_rw(bar=0, access=read)\nvfio_bar_rw(bar=3, access=write)")
    assert rcs[1:] == [0, 0]
    assert not bar_findings(m)


def test_memory_off_in_vconfig_fails_eio_before_the_fix_reaches_the_device(both):
    prog = "vfio_open()\nvfio_config_write(offset=0x4, width=2, value=0x0)\nvfio_bar_rw(bar=0, access=read)"
    m, rcs = run("linux-7.1", prog)
    assert rcs[-1] == -5 and not bar_findings(m)
    ur = m.state.hw.read(m.caps.exp + 0x0A, 2) & 0x8          # DEVSTA.URD untouched
    assert not ur
    m, rcs = run(PRE_FIX, prog)
    assert rcs[-1] == 0
    assert bar_findings(m) == {"user BAR, Memory off"}
    assert m.state.hw.read(m.caps.exp + 0x0A, 2) & 0x8       # the UR is logged


def test_d3hot_fails_eio_whatever_vconfig_says(both):
    """__vfio_pci_memory_enabled's power half: after the user's PMCSR D3hot write vconfig still has
    Memory on, the access fails -EIO; without the check it reaches a function in D3hot."""
    m0 = model("linux-7.1", "i350")
    prog = (f"vfio_open()\nvfio_config_write(offset=0x{m0.caps.pm + 4:x}, width=2, value=0x3)\n"
            "vfio_bar_rw(bar=0, access=write)")
    m, rcs = run("linux-7.1", prog)
    assert m.state.vfio.vconfig_command & 0x2 and rcs[-1] == -5 and not bar_findings(m)
    m, rcs = run(PRE_FIX, prog)
    assert rcs[-1] == 0 and bar_findings(m) == {"user BAR, not in D0"}


def test_no_resource_is_einval(both):
    """No BAR 1 on the I350; BAR 1 of the 7265 is the upper half of its 64-bit BAR 0."""
    m, rcs = run("linux-7.1", "vfio_open()\nvfio_bar_rw(bar=1, access=read)")
    assert rcs[-1] == -22
    m, rcs = run("linux-7.1", "vfio_open()\nvfio_bar_rw(bar=1, access=read)\nvfio_bar_rw(bar=0, access=read)",
                 "wifi-7265")
    assert rcs[1:] == [-22, 0]


def test_an_io_bar_is_not_tested_and_needs_io_decode(both):
    """test_mem is false for an I/O BAR: with the user's I/O Space off the access goes through
    (the 82576's BAR 2) and is not claimed; its memory BARs fail -EIO as usual."""
    prog = "vfio_open()\nvfio_config_write(offset=0x4, width=2, value=0x0)\n" \
           "vfio_bar_rw(bar=2, access=read)\nvfio_bar_rw(bar=0, access=read)"
    m, rcs = run("linux-7.1", prog, "nic-82576")
    assert rcs[2:] == [0, -5]
    assert bar_findings(m) == {"user BAR, I/O off"}


def test_a_reset_vfio_was_not_told_of_lets_the_access_through(both):
    """The check reads vfio's belief: an AER recovery of the open device resets it (vfio-pci has no
    slot_reset), vconfig keeps Memory on, and the access reaches a function whose Command is 0."""
    m, rcs = run("linux-7.1", "vfio_open()\npcie_do_recovery(channel=frozen, vote=can_recover, source=aer)\n"
                              "vfio_bar_rw(bar=3, access=write)")
    assert rcs[-1] == 0
    assert m.state.vfio.vconfig_command & 0x2 and not m.state.hw.read(0x04, 2) & 0x2
    assert "user BAR, Memory off" in bar_findings(m)


def test_qemu_resetting_refuses_the_op(both):
    """Between QEMU's pre- and post-reset halves QEMU issues nothing but its reset ioctls."""
    m, rcs = run("linux-7.1", "vfio_open()\nqemu_pre_reset()\nvfio_bar_rw(bar=0, access=read)")
    assert rcs[-1] == -1
    m, rcs = run("linux-7.1", "vfio_bar_rw(bar=0, access=read)")
    assert rcs[-1] == -19


# --- an SR-IOV VF (virtfn = true): no Memory bit; the PF's VF MSE decides decode -------------------

PRE_VF_FIX = f"linux-7.1+{EXAMPLES / 'pre-ebfa440ce38b.toml'}"


def test_a_vf_is_handed_over_with_virtual_memory_on_and_its_bars_work(both):
    """vfio_config_init sets a VF's virtual Memory bit (no_command_memory) and the -EIO test
    leaves VFs out: a BAR read right after open works, even after the user clears Command; the
    hardware's Command Memory bit stays zero throughout and nothing is flagged."""
    m, rcs = run("linux-7.1", "vfio_open()\nvfio_bar_rw(bar=0, access=read)\n"
                              "vfio_config_write(offset=0x4, width=2, value=0x0)\nvfio_bar_rw(bar=3, access=read)",
                 "nic-82576-vf")
    assert rcs[1:] == [0, 0, 0]
    assert m.state.vfio.vconfig_command & 0x2 == 0 and m.state.hw.read(0x04, 2) & 0x2 == 0
    assert not m.oracle.violations


def test_before_the_vf_fix_a_vf_bar_fails_eio_until_the_user_writes_memory(both):
    """docs/examples/pre-ebfa440ce38b.toml: the VF is handed over with virtual Memory off (copied
    from the VF), so the same read fails -EIO until the user writes Memory; a PF is unaffected."""
    prog = ("vfio_open()\nvfio_bar_rw(bar=0, access=read)\nvfio_config_write(offset=0x4, width=2, value=0x2)\n"
            "vfio_bar_rw(bar=0, access=read)")
    m, rcs = run(PRE_VF_FIX, prog, "nic-82576-vf")
    assert rcs[1:] == [-5, 0, 0]
    m, rcs = run("linux-7.1", prog, "nic-82576-vf")
    assert rcs[1:] == [0, 0, 0]
    m, rcs = run(PRE_VF_FIX, prog, "nic-82576")
    assert rcs[1:] == [0, 0, 0]


def test_vf_semantics_in_the_models(both):
    """Command's Memory bit reads zero whatever is written; the BARs read zero and the function
    decodes at its share of the PF's VF BAR; there is no bus reset (the PF shares the bus), no
    hot reset through vfio (the PF is not the user's) and nothing moves a VF's BAR."""
    m, rcs = run("linux-7.1", "pci_bind_driver(driver=host)\npci_reset_function(method=bus)\n"
                              "pci_reset_function(method=flr)\npci_enable_msix(nvec=1)", "nic-82576-vf")
    assert rcs[1:] == [-22, 0, 0]
    assert m.state.hw.read(0x04, 2) & 0x3 == 0 and m.state.hw.read(0x10, 4) == 0
    assert m.state.dev.resources[0] == 0xD2840000
    assert m.state.dev.msix_enabled and not m.oracle.violations       # the table decodes: no UR
    m, rcs = run("linux-7.1", "vfio_open()\nvfio_hot_reset()", "nic-82576-vf")
    assert rcs[-1] == -22
    m, rcs = run("linux-7.1", "pci_bind_driver(driver=none)\npci_assign_bar(bar=0, slot=1)", "nic-82576-vf")
    assert rcs[-1] == -22 and m.state.dev.resources[0] == 0xD2840000


def test_the_82576_vf_has_no_pm_and_stays_in_d0(both):
    """The 82576's VF has MSI-X (3 entries), PCIe, AER and ARI, no PCI PM and no MSI (its
    datasheet; QEMU's igbvf_pci_realize builds the same). Without a PM capability the kernel
    keeps it in D0 (pci_target_state: !dev->pm_cap -> PCI_D0), and a user's write where a PM
    capability would be is raw config space to vfio-pci, not a power transition."""
    m = model("linux-7.1", "nic-82576-vf")
    assert not m.caps.pm and not m.caps.msi and m.caps.msix
    m, rcs = run("linux-7.1", "vfio_open()\nvfio_config_write(offset=0x44, width=2, value=0x3)", "nic-82576-vf")
    assert rcs[-1] == 0 and m.state.dev.current_state == 0
    m, rcs = run("linux-7.1", "pci_bind_driver(driver=host)\npci_enable_msix(nvec=7)", "nic-82576-vf")
    assert m.state.dev.current_state == 0
