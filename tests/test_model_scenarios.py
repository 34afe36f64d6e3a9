"""Acceptance scenarios of the model (kernel.md §6.9 A-C, the seed thread's two hazards, and the
patch-specific hazards), asserting register values and live flags after each op.

Every scenario runs twice: on the reference model and on the native engine (through
fuzzcore.engine.ModelFacade, which gives the engine the Model's stepping API)."""

import pytest

from both_models import MODELS, model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program

I350_BAR0, I350_BAR3 = 0x92E00000, 0x92F0C000
MSIX_CTRL = 0x70 + 2


def run(m, text):
    for call in parse_program(text):
        m.apply(call)
    return m


def cmd(m):
    return m.state.hw.read(0x04, 2)


def buckets(m):
    return {(v.invariant, v.register) for v in m.oracle.violations}


def guest_with_msix(m):
    """The guest has Memory + Bus Master and MSI-X with two vectors."""
    run(m, """
        vfio_open()
        vfio_config_write(offset=0x04, width=2, value=0x0006)
        vfio_set_irqs(index=msix, count=1)
    """)
    assert m.state.dev.msix_enabled and m.state.hw.read(MSIX_CTRL, 2) & 0x8000
    assert cmd(m) & 0x6 == 0x6


# --- §6.9 A: QEMU guest reset, mainline ----------------------------------------------------------

def test_sequence_a_qemu_reset_mainline():
    m = model()
    guest_with_msix(m)
    run(m, "qemu_pre_reset()")
    assert not m.state.dev.msix_enabled                     # SET_IRQS NONE before the reset
    assert cmd(m) & 0x7 == 0                                 # I/O, Memory, Bus Master cleared in hardware
    assert m.state.vfio.vconfig_command & 0x403 == 0         # Memory, I/O, INTx Disable cleared in vconfig
    run(m, "vfio_device_reset()")
    assert m.state.dev.saved_config[1] & 0x7 == 0            # the snapshot has Memory/IO/BM off
    assert cmd(m) == 0x0000                                  # restored with Memory off
    assert m.state.hw.read(0x10, 4) == I350_BAR0 and m.state.hw.read(0x1C, 4) == I350_BAR3
    assert m.state.hw.read(MSIX_CTRL, 2) & 0x8000 == 0      # MSI-X restore skipped
    run(m, "qemu_post_reset()")
    assert m.state.vfio.vconfig_bars == [0] * 6              # BARs zeroed in vconfig only
    assert m.state.hw.read(0x10, 4) == I350_BAR0
    run(m, """
        vfio_config_write(offset=0x10, width=4, value=0x92e00000)
        vfio_config_write(offset=0x04, width=2, value=0x0006)
        vfio_set_irqs(index=msix, count=1)
    """)
    assert m.state.vfio.vconfig_bars[0] == I350_BAR0 and cmd(m) & 0x6 == 0x6
    assert m.state.dev.msix_enabled
    assert m.oracle.violations == []


# --- §6.9 B: the same with the v18 reset_done ------------------------------------------------

def test_sequence_b_reset_done_pushes_the_open_blob():
    m = model("linux-7.1+vfio-reset-done-v18")
    guest_with_msix(m)
    open_cmd = m.state.vfio.blob.config[1] & 0xFFFF
    assert open_cmd & 0x7 == 0x2                             # blob: Memory on, Bus Master off
    run(m, "qemu_pre_reset()\nvfio_device_reset()")
    assert cmd(m) == open_cmd                                # second restore: open-time Command
    assert m.state.vfio.vconfig_command & 0x2 == 0           # vconfig still says Memory off (H3b)
    assert m.state.dev.config_epoch == m.state.vfio.blob.config_epoch   # the blob replaced the snapshot
    assert {("restore_older_snapshot", "config"), ("vconfig_mismatch", "Command")} <= buckets(m)


def test_sequence_b_not_reported_under_mainline():
    m = model()
    guest_with_msix(m)
    run(m, "qemu_pre_reset()\nvfio_device_reset()")
    assert m.oracle.violations == []


# --- §6.9 C: an inaccessible device with e18d1abc3bff (Farhan's path, H1(b)) ------------------------

# The I350 is multi-function: pci_init_reset_methods finds FLR only (pci_dev_reset_slot_function
# refuses dev->multifunction, pci_parent_bus_reset the sibling functions), so VFIO_DEVICE_RESET
# of an unreachable I350 cannot bring it back; the hot reset (a bus reset of the whole slot) can.
FARHAN = """
    vfio_open()
    vfio_config_write(offset=0x04, width=2, value=0x0006)
    vfio_set_irqs(index=msix, count=1)
    qemu_reset()
    vfio_config_write(offset=0x04, width=2, value=0x0006)
    vfio_set_irqs(index=msix, count=1)
    hw_inaccessible()
    vfio_hot_reset()
"""


def test_farhans_device_reset_on_a_multifunction_device_leaves_it_unreachable():
    """pcie_flr's pci_dev_wait times out (-ENOTTY) and the I350 has no other method: the restore
    writes to a device that does not answer."""
    m = model("linux-7.1+skip-save-if-inaccessible")
    run(m, FARHAN.replace("vfio_hot_reset()", "vfio_device_reset()"))
    assert not m.state.hw.accessible
    assert ("mmio_decode_off", "MSI-X table, not answering") in buckets(m)
    assert ("mmio_decode_off", "MSI-X table, Memory off") not in buckets(m)


def test_sequence_c_stale_memory_off_snapshot_gives_ur():
    m = model("linux-7.1+skip-save-if-inaccessible")
    calls = parse_program(FARHAN)
    for c in calls[:-1]:
        m.apply(c)
    epoch = m.state.dev.config_epoch
    assert m.state.dev.msix_enabled and m.state.dev.saved_config[1] & 0x2 == 0
    m.apply(calls[-1])
    assert m.state.dev.config_epoch == epoch                 # save skipped: the old snapshot is used
    assert m.state.hw.accessible                             # the bus reset brought it back
    assert cmd(m) & 0x2 == 0                                 # Command restored with Memory off
    v = [x for x in m.oracle.violations if x.invariant == "mmio_decode_off"]
    assert len(v) == 1 and v[0].register == "MSI-X table, Memory off" and v[0].op_index == 7
    assert v[0].step == "pci_restore_state/msi" and v[0].op == "vfio_hot_reset"
    aer = m.caps.aer
    assert m.state.hw.read(aer + 4, 4) & 0x00100000           # the UR stays logged (H9)


def test_sequence_c_with_the_memory_fix():
    m = model("linux-7.1+skip-save-if-inaccessible+msix-restore-enable-memory")
    run(m, FARHAN)
    assert "mmio_decode_off" not in {v.invariant for v in m.oracle.violations}
    assert cmd(m) & 0x2 == 0                                 # Memory turned off again after the loop
    table = m.state.hw.msix_table
    assert int.from_bytes(table[0:4].tobytes(), "little") == 0xFEE00000   # entry 0 rewritten
    assert int.from_bytes(table[12:16].tobytes(), "little") == 0          # and unmasked as cached


# --- the seed thread's hazards -----------------------------------------------------------------

VFIO_USER_H1A = """
    vfio_open()
    vfio_config_write(offset=0x04, width=2, value=0x0006)
    vfio_set_irqs(index=msix, count=2)
    vfio_config_write(offset=0x04, width=2, value=0x0004)
    vfio_device_reset()
"""


@pytest.mark.parametrize("policy,reported", [
    ("linux-7.1", True),
    ("linux-7.1+msix-restore-enable-memory", False),
])
def test_h1a_vfio_user_clears_memory_then_resets(policy, reported):
    m = run(model(policy), VFIO_USER_H1A)
    assert (("mmio_decode_off", "MSI-X table, Memory off") in buckets(m)) == reported
    assert m.state.dev.msix_enabled and m.state.hw.read(MSIX_CTRL, 2) & 0x8000


@pytest.mark.parametrize("policy,reported", [
    ("linux-7.1+skip-save-if-inaccessible", True),
    ("linux-7.1+skip-save-if-inaccessible+msix-restore-enable-memory", False),
])
def test_h1b_farhans_path(policy, reported):
    m = run(model(policy), FARHAN)
    assert (("mmio_decode_off", "MSI-X table, Memory off") in buckets(m)) == reported


TPH_AFTER_OPEN = """
    vfio_open()
    pci_enable_tph(mode=dev_spec)
    vfio_device_reset()
"""


def test_tph_enabled_after_open_is_restored_from_the_open_blob_under_v18():
    # v7.1.3 has no vfio path to pcie_enable_tph: the vfio-tph overlay states the proposed one.
    # The DSA (an RCiEP): the I350's root port has no TPH Completer, so pcie_enable_tph refuses it.
    m = model("linux-7.1+vfio-tph+vfio-reset-done-v18", device="dsa")
    run(m, "vfio_open()\npci_enable_tph(mode=dev_spec)")
    tph = m.caps.tph
    assert m.state.dev.tph_enabled and m.state.hw.read(tph + 8, 4) == 0x102
    run(m, "vfio_device_reset()")
    assert m.state.dev.tph_enabled
    assert m.state.hw.read(tph + 8, 4) == 0                  # the open blob's zeros
    assert {("restore_unsaved_buffer", "TPH"), ("live_flag_mismatch", "TPH")} <= buckets(m)


def test_tph_enabled_after_open_is_kept_under_mainline():
    m = run(model("linux-7.1+vfio-tph", device="dsa"), TPH_AFTER_OPEN)
    assert m.state.hw.read(m.caps.tph + 8, 4) == 0x102
    assert m.oracle.violations == []


# --- the patch-specific hazards ------------------------------------------------------------------

ALL_ONES = """
    vfio_open()
    hw_inaccessible()
    vfio_device_reset()
"""


def test_inaccessible_reset_saves_all_ones_and_restores_nothing_while_it_does_not_answer():
    # pci_restore_config_dword reads the register first and skips it when it equals the saved
    # value: a function that still reads all-ones gets no write from an all-ones snapshot.
    m = run(model(), ALL_ONES)
    assert m.state.dev.saved_config[1] == 0xFFFFFFFF
    assert ("snapshot_all_ones", "config") in buckets(m)
    assert not {b for b in buckets(m) if b[0] == "restore_all_ones"}


def test_all_ones_snapshot_is_written_once_the_function_answers_under_mainline():
    # The bus reset brings the function back, so pci_dev_restore writes the all-ones it saved.
    m = run(model(), "vfio_open()\nhw_inaccessible()\nvfio_hot_reset()")
    assert m.state.dev.saved_config[1] == 0xFFFFFFFF
    assert {("snapshot_all_ones", "config"), ("restore_all_ones", "Command"),
            ("restore_all_ones", "BAR0")} <= buckets(m)
    assert m.state.hw.read(0x10, 4) & 0xFFFFFFF0 == 0xFFFFFFF0 & ~(m.profile.bar(0).size - 1)


def test_inaccessible_reset_uses_the_old_snapshot_with_skip_save():
    m = model("linux-7.1+skip-save-if-inaccessible")
    run(m, "vfio_open()")
    epoch, saved = m.state.dev.config_epoch, list(m.state.dev.saved_config)
    run(m, "hw_inaccessible()\nvfio_hot_reset()")     # the bus reset brings it back (the I350 has no bus method)
    assert m.state.dev.config_epoch == epoch and m.state.dev.saved_config == saved
    assert m.state.hw.read(0x10, 4) == I350_BAR0
    assert not {b for b in buckets(m) if b[0] in ("snapshot_all_ones", "restore_all_ones")}


RUNTIME_PM_THEN_AER = """
    pci_bind_driver(driver=host)
    pci_pm_runtime_suspend()
    pci_pm_runtime_resume()
    pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)
"""


@pytest.mark.parametrize("policy,reported", [("linux-7.1", False), ("linux-7.1+pre-a2f1e22390ac", True)])
def test_one_shot_snapshot_leaves_recovered_device_at_defaults(policy, reported):
    m = run(model(policy), RUNTIME_PM_THEN_AER)
    assert (("used_without_restore", "config") in buckets(m)) == reported
    assert (m.state.hw.read(0x10, 4) == 0) == reported       # BAR0 at its reset default


# The unbound device's runtime suspend saves; the BAR moves; the host driver's probe runtime-resumes
# it (local_pci_probe: pm_runtime_get_sync), restoring the snapshot taken before the move.
STALE_BAR = """
    pci_bind_driver(driver=none)
    pci_pm_runtime_suspend()
    pci_assign_bar(bar=0, slot=1)
    pci_bind_driver(driver=host)
"""


@pytest.mark.parametrize("policy,reported", [("linux-7.1", False), ("linux-7.1+no-bar-snapshot-update", True)])
def test_reassigned_bar_overwritten_by_stale_snapshot_at_probe(policy, reported):
    m = run(model(policy, device="wifi-7265"), STALE_BAR)
    new = m.state.dev.resources[0]
    assert new != 0xD1000000                                 # the BAR really moved
    assert (("snapshot_bar_stale", "BAR0") in buckets(m)) == reported
    assert (m.state.hw.read(0x10, 4) & ~0xF == new & 0xFFFFFFFF) != reported


def test_same_input_same_result():
    text = VFIO_USER_H1A + TPH_AFTER_OPEN
    make = MODELS["current"]
    a = make(resolve_device("i350"), load_policy("linux-7.1+vfio-reset-done-v18")).run(parse_program(text))
    b = make(resolve_device("i350"), load_policy("linux-7.1+vfio-reset-done-v18")).run(parse_program(text))
    key = "state_digest" if hasattr(a, "state_digest") else "state_hash"   # reference / engine result
    assert a.violations == b.violations and getattr(a, key) == getattr(b, key)
