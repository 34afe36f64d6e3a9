"""Model errors a precision audit found, each checked against the kernel it mirrors (v7.1.3):
the BAR order check uses the decode bit of the BAR's own kind (pci_restore_config_space writes a
memory BAR harmlessly while only I/O decode is on); VFIO_DEVICE_SET_IRQS checks the vector count
against Message Control read now (vfio_pci_get_irq_count: MSI 1 << MMC); msix_capability_init
finds its table from the Table Offset/BIR read now (msix_map_region: a function that reads
all-ones names BIR 7, no resource, -ENOMEM); vfio_pci_core_enable has no D0 transition of its own;
a restore during DPC containment is not outside D0 (the port drops its writes); a vfio write
where no capability lives is raw (no read); a ReBAR restore computed from all-ones reads sets no
intent."""

from both_models import both, model  # noqa: F401  (fixture `both`: a test on both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program


def run(m, text):
    return [m.apply(c) for c in parse_program(text)]


def test_a_bar_counts_as_decoding_only_under_its_own_command_bit():
    """nic-82576: BAR0 is memory, BAR2 I/O. With only I/O decode on, rewriting BAR0 inside the
    config-space restore is no order violation; rewriting BAR2 is. (Reference model: the writes
    are made through its access path directly; the engine's oracle is held equal to it by the
    differential tests.)"""
    m = Model(resolve_device("nic-82576"), load_policy("linux-7.1"))
    m.start()
    assert m.profile.bar(0).kind.startswith("mem") and m.profile.bar(2).kind == "io"
    m.state.hw.write(0x04, 2, 0x0001)
    with m.in_step("pci_restore_state/config_space"):
        m.io.write(0x10, 4, 0x12340000)
        assert not [v for v in m.oracle.violations if v.invariant == "order_violation"]
        m.io.write(0x18, 4, 0x0000E001)
    assert [v.register for v in m.oracle.violations if v.invariant == "order_violation"] == ["BAR2"]


def test_set_irqs_msi_count_beyond_the_single_message_is_refused(both):
    """The 82576's MSI is single-message (MMC 0): SET_IRQS for two MSI vectors is -EINVAL and
    enables nothing; one vector is set up."""
    m = model(device="nic-82576")
    rc = run(m, "vfio_open()\nvfio_set_irqs(index=msi, count=1)")
    assert rc[-1] == -22 and not m.state.dev.msi_enabled
    assert run(m, "vfio_set_irqs(index=msi, count=0)")[-1] == 0 and m.state.dev.msi_enabled


def test_msix_enable_on_a_function_reading_all_ones_fails_enomem(both):
    """Message Control and the Table BIR read all-ones: BIR 7 names no resource the function has,
    msix_map_region returns NULL and msix_capability_init fails -ENOMEM with msix_enabled clear;
    the table is never touched."""
    m = model(device="i350")
    rc = run(m, "vfio_open()\nhw_inaccessible()\nvfio_set_irqs(index=msix, count=0)")
    assert rc[-1] == -12 and not m.state.dev.msix_enabled
    assert not [v for v in m.oracle.violations if v.register.startswith("MSI-X table")]
    m = model(device="i350")
    assert run(m, "vfio_open()\nvfio_set_irqs(index=msix, count=0)")[-1] == 0 and m.state.dev.msix_enabled


def test_the_open_does_not_load_a_stale_pm_save():
    """vfio_pci_core_enable calls no vfio_pci_set_power_state: a pm_save left from a user's D3hot
    that a system sleep ended behind vfio's back stays unused at the next open."""
    assert "vfio_set_power" not in [s.do for s in load_policy("linux-7.1").path("vfio_pci_core_enable")]


def test_ltr_save_looks_the_capability_up_again(both):
    """pci_save_ltr_state finds LTR with pci_find_ext_capability at each save: on a function that
    reads all-ones the walk fails and the old buffer stays. Restored later with the all-ones
    snapshot, that buffer is an older save's (its epoch), holding the first save's latencies,
    the intended ones. The restore's finding is the all-ones one (restore_all_ones), not a
    restore_unsaved_buffer of the LTR buffer (audit O)."""
    ref = Model(resolve_device("i350"), load_policy("linux-7.1"))     # the buffers: the reference model's
    ref.start()
    run(ref, "pci_bind_driver(driver=host)\npci_save_state()\nhw_inaccessible()\npci_save_state()")
    buf = ref.state.dev.buffer(0x18, True)
    assert buf is not None and buf.epoch == ref.state.dev.config_epoch - 1 and buf.u32(0) != 0xFFFFFFFF
    m = model(device="i350")
    run(m, "pci_bind_driver(driver=host)\npci_save_state()\nhw_inaccessible()\npci_save_state()\n"
           "hw_accessible()\npci_restore_state()")
    found = {(v.invariant, v.register) for v in m.oracle.violations}
    assert ("restore_all_ones", "Command") in found and ("restore_unsaved_buffer", "LTR") not in found


def test_restoring_an_all_ones_devctl_starts_an_flr(both):
    """pci_restore_pcie_state writes DEVCTL from the buffer; saved as all-ones, that write sets
    Initiate FLR and an FLR-capable function resets in the middle of the restore: DEVCTL ends at
    its power-on value, not at the all-ones value masked to its writable bits."""
    m = model(device="i350")
    exp = m.caps.exp
    before = m.profile.config.copy()
    before[exp + 8], before[exp + 9] = 0xFF, 0x7C        # the all-ones write, masked to the writable bits
    after_flr = m.profile.semantics.reset_image("flr", before)
    power_on = int(after_flr[exp + 8]) | int(after_flr[exp + 9]) << 8
    run(m, "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_save_state()\nhw_accessible()\npci_restore_state()")
    assert m.state.hw.read(exp + 8, 2) == power_on != 0x7CFF


def test_a_restore_under_dpc_containment_is_not_outside_d0(both):
    """pcie_do_recovery's runtime resume during DPC containment: pci_power_up reads all-ones and
    sets D3cold, pci_restore_state still restores MSI-X, but the port drops every write, so no
    table write reaches a function outside D0. Without containment (the AER source leaves the
    link up and the function answers) nothing is restored outside D0 either; a driver's own
    restore after putting its function in D3hot is."""
    prog = ("pci_bind_driver(driver=host)\npci_enable_msix(nvec=5)\npci_pm_runtime_suspend()\n"
            "pcie_do_recovery(channel=frozen, vote=no_aer_driver, source={})")
    for source in ("dpc", "aer"):
        m = model(device="i350")
        assert run(m, prog.format(source)) == [0, 0, 0, 6]
        assert not [v for v in m.oracle.violations if v.invariant == "restore_outside_d0"]
    m = model(device="i350")
    run(m, "pci_bind_driver(driver=host)\npci_enable_msix(nvec=5)\npci_set_power_state(state=d3hot)\n"
           "pci_restore_state()")
    assert [v.register for v in m.oracle.violations if v.invariant == "restore_outside_d0"] == ["MSI-X"]


def test_a_vfio_write_to_a_gap_is_raw(both):
    """A user's config write where no capability lives (unassigned_perms) or into a vendor-specific
    capability is vfio_raw_config_write: one write, no read first. To a function that does not
    answer that write is lost (config_write_lost); nothing was read (no config_read_lost)."""
    m = model(device="wifi-7265")
    run(m, "vfio_open()\nhw_inaccessible()\nvfio_config_write(offset=0xa8, width=2, value=0x8000)")
    found = {v.invariant for v in m.oracle.violations}
    assert "config_write_lost" in found and "config_read_lost" not in found


def test_a_rebar_restore_of_a_silent_function_sets_no_intent(both):
    """pci_restore_rebar_state reads each ReBAR Control and writes it back with BAR Size from the
    resource its BAR index names: from a function that does not answer it reads BAR index 7 (no
    resource, size 0) and the write is lost. That value is no intent: once the function answers
    again its ReBAR Control (the size enumeration found) is not reported."""
    m = model(device="fiji")
    run(m, "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_restore_state()\nhw_accessible()")
    assert not [v for v in m.oracle.violations if v.invariant == "intent_mismatch" and "ReBAR" in v.register]


def test_a_merge_cap_write_in_a_restore_of_a_silent_function_sets_no_intent(both, tmp_path):
    """The rule above lives in the cap_write primitive, not in one step: any `merge = true` write
    inside pci_restore_state computed from an all-ones read means nothing. An overlay step that
    read-modify-writes DEVCTL's bit 0 (ptm_enable, 0) after the PCIe restore writes 0xfffe to a
    silent I350; once it answers again DEVCTL holds the snapshot's value and no intent_mismatch is
    reported."""
    spec = tmp_path / "poke.toml"
    spec.write_text('[overlay]\nname = "poke"\ndescription = "a merge write in the PCIe restore"\n'
                    'commit = ""\nreference = ""\n'
                    '[path.pci_restore_pcie_state]\ninsert = [{ step = "poke", after = "registers" }]\n'
                    '[path.pci_restore_pcie_state.step]\n'
                    'poke = { do = "cap_write", cap = "pcie", reg = 0x08, width = "word", value = "ptm_enable", '
                    'merge = true }\n')
    m = model(f"linux-7.1+{spec}", device="i350")
    run(m, "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_restore_state()\nhw_accessible()")
    assert not [v for v in m.oracle.violations if v.invariant == "intent_mismatch"]


def test_binding_no_driver_to_an_unbound_device_changes_nothing(both):
    """pci_bind_driver(none) on a device no driver holds is a no-op in the kernel (__device_attach:
    pm_request_idle only; power/control changes only by pm_runtime_allow/forbid): the runtime-PM
    setting the user chose survives it, so a later sysfs reset's pm_runtime_put suspends the
    device again exactly as without that bind (audit F: a plx-8532 finding reported at
    pci_reset_function only because the no-op bind cleared runtime_auto)."""
    tail = "hw_link_down()\npci_reset_function(method=auto)"
    head = "hw_inaccessible()\npm_system_sleep(transition=hibernate_restore, power=lost)\npci_bind_driver(driver=none)\n"
    found = []
    for extra in ("", "pci_bind_driver(driver=none)\n"):
        m = model("linux-7.1+linux-6.12", device="plx-8532")
        run(m, head + "pci_pm_runtime_suspend()\n" + extra + tail)
        found.append(sorted(v.bucket for v in m.oracle.violations))
    assert found[0] == found[1]
    m = model(device="i350")
    run(m, "pci_bind_driver(driver=none)\npci_pm_runtime_suspend()\npci_bind_driver(driver=none)")
    assert m.state.dev.rpm_auto and m.state.dev.driver == "none"


def test_vfio_devctl_mrrs_is_virtual_and_set_by_the_kernel(both):
    """vfio_exp_config_write: DEVCTL's MPS and MRRS are virtual; a changed virtual MRRS reaches
    hardware as the kernel's pcie_set_readrq(max(MRRS, MPS)). The I350's DEVCTL 0x283f (MPS 256,
    MRRS 512): a user write of 0x083f (MRRS 128) sets MRRS 256 (0x183f); a write of another MPS
    and the same virtual MRRS changes nothing in hardware."""
    m = model(device="i350")
    exp = m.caps.exp
    run(m, f"vfio_open()\nvfio_config_write(offset={exp + 8:#x}, width=2, value=0x083f)")
    assert m.state.hw.read(exp + 8, 2) == 0x183f
    run(m, f"vfio_config_write(offset={exp + 8:#x}, width=2, value=0x081f)")   # MPS virtual, MRRS still 128
    assert m.state.hw.read(exp + 8, 2) == 0x183f
    assert not [v for v in m.oracle.violations if v.invariant == "intent_mismatch"]


def test_a_vfio_write_means_only_the_bits_vfio_lets_through(both):
    """vfio_default_config_write echoes the bits a user may not write from its read: they are not the
    user's intent (audit F). A user's DEVCTL write to an I350 that reads all-ones is lost, and its
    echo of the all-ones read (MPS 7, Phantom, the virtual bits) is no intent: once the function
    answers again DEVCTL (0x283f, unchanged) is not reported against 0x78ff."""
    m = model(device="i350")
    exp = m.caps.exp
    run(m, f"vfio_open()\nhw_inaccessible()\nvfio_config_write(offset={exp + 8:#x}, width=2, value=0x083f)\n"
           "hw_accessible()")
    assert m.state.hw.read(exp + 8, 2) == 0x283f
    assert not [v for v in m.oracle.violations if v.invariant == "intent_mismatch"]


def test_power_control_survives_a_host_driver_and_its_unbind_idles_the_device(both):
    """power/control changes only by pm_runtime_allow/forbid (vfio-pci's unregister forbids): set to
    auto under a host driver it stays auto across the unbind, and pci_device_remove's
    pm_runtime_put_sync lets the now unbound device runtime-suspend (save only, no D3hot). After vfio-pci
    was bound and unbound it is on again, and the device stays active."""
    m = model(device="i350")
    run(m, "pci_bind_driver(driver=host)\npci_pm_runtime_suspend()\npci_bind_driver(driver=none)")
    d = m.state.dev
    assert d.driver == "none" and d.rpm_auto and d.rpm_suspended
    assert d.current_state == 5          # PCI_UNKNOWN (pci_device_remove); an unbound suspend stays powered
    m = model(device="i350")
    run(m, "pci_bind_driver(driver=none)\npci_pm_runtime_suspend()\npci_bind_driver(driver=vfio)\n"
           "pci_bind_driver(driver=none)")
    d = m.state.dev
    assert d.driver == "none" and not d.rpm_auto and not d.rpm_suspended


def test_vfio_byte_writes_to_the_pcie_capability_are_pieces_of_its_perm(both):
    """vfio_config_do_rw cuts a user's access into aligned pieces and runs vfio_exp_config_write on
    each (audit G): a byte write of DEVCTL's high byte with Initiate FLR resets the I350 (DEVCAP has
    FLR) and, its virtual MRRS now 128, sets MRRS max(128, MPS 256); a byte write of 0 to DEVCTL's
    low byte clears the error-reporting enables but not MPS (virtual); one to DEVCTL2's high byte
    clears LTR Enable."""
    m = model(device="i350")
    exp = m.caps.exp
    run(m, f"vfio_open()\nvfio_config_write(offset={exp + 9:#x}, width=1, value=0x80)")
    assert m.state.hw.read(exp + 8, 2) == 0x103f                     # restored, then MRRS 256
    run(m, f"vfio_config_write(offset={exp + 8:#x}, width=1, value=0)")
    assert m.state.hw.read(exp + 8, 2) == 0x1020
    assert m.state.hw.read(exp + 0x28, 2) & 0x400
    run(m, f"vfio_config_write(offset={exp + 0x29:#x}, width=1, value=0)")
    assert not m.state.hw.read(exp + 0x28, 2) & 0x400


def test_no_stale_snapshot_bar_under_dpc_containment(both):
    """Audit P #20: a restore that runs while the port above holds the link in DPC containment
    writes nothing (the port drops it; pci_restore_bars then brings the snapshot up to date), so
    its stale snapshot BAR is no finding; the same restore after an AER recovery is."""
    rec = "pcie_do_recovery(channel=frozen, vote=can_recover, source=aer)\n"
    for second, stale in (("dpc", False), ("aer", True)):
        m = model("linux-7.1", "wifi-7265")
        for c in parse_program(rec + rec.replace("aer)", f"{second})")):
            m.apply(c)
        got = [v.register for v in m.oracle.violations if v.invariant == "snapshot_bar_stale"]
        assert got == (["BAR0"] if stale else [])


def test_hot_reset_without_a_bus_reset_is_enodev(both):
    """Audit P: vfio_pci_ioctl_pci_hot_reset returns -ENODEV when neither pci_probe_reset_slot nor
    pci_probe_reset_bus succeeds (the DSA is integrated in the root complex: no bridge above)."""
    m = model("linux-7.1", "dsa")
    assert [m.apply(c) for c in parse_program("vfio_open()\nvfio_hot_reset()")] == [0, -19]


def test_an_unimplemented_vf_bar_is_read_only_zero():
    """Audit Q: the I350's VF BAR2 and BAR5 read 0 whole (not implemented), so nothing can write
    them, and they have no written intent a user's write could set; VF BAR0 (64-bit) still can."""
    m = Model(resolve_device("i350"), load_policy("linux-7.1"))
    vf_bar = m.caps.sriov + 0x24
    m.state.hw.write(vf_bar + 8, 4, 0xFFFFFFFF)
    assert m.state.hw.read(vf_bar + 8, 4) == 0
    m.state.hw.write(vf_bar, 4, 0xFFFFFFFF)
    assert m.state.hw.read(vf_bar, 4) != 0
    from fuzzcore.model.intent import WRITTEN
    row = [w[0] for w in WRITTEN].index("SR-IOV VF BAR2")
    assert m.written_layout[row][2] == 0                        # no bits compared: no intent
