"""Written intent (fuzzcore/model/intent.py WRITTEN) and config_write_lost: a register the kernel, a
driver or the vfio user last wrote on purpose keeps that value as its intent; a reset, a link event
or a context loss changes the hardware only, and is flagged at the first op after which the kernel
believes the device usable, once per kind of path: reset, power transition, recovery, vfio, driver.
Program-only scenarios run on both models; the ones where the device silently loses a register
poke the reference model's hardware between ops."""

import pytest

from fuzzcore.device.builtin import resolve_device
from fuzzcore.engine import Engine
from fuzzcore.model import intent
from fuzzcore.model.check_coverage import coverage, gaps
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.program.codec import encode as encode_program
from fuzzcore.program.fzs import parse_program


def _model(device="i350"):
    return Model(resolve_device(device), load_policy("linux-7.1"))


def _found(violations, invariant="intent_mismatch"):
    return [v for v in violations if v.invariant == invariant]


def _run_both(text, device="i350"):
    calls = parse_program(text)
    ref = _model(device).run(calls).violations
    eng = Engine(device, "linux-7.1").run(encode_program(calls)).violations
    assert [str(v) for v in eng] == [str(v) for v in ref]
    return ref


def _apply_poke_apply(text, n_before, poke, device="i350"):
    m = _model(device)
    m.start()
    calls = parse_program(text)
    for call in calls[:n_before]:
        m.apply(call)
    poke(m)
    before = len(m.oracle.violations)
    for call in calls[n_before:]:
        m.apply(call)
    return m, m.oracle.violations[before:]


def test_fields_and_layout_agree():
    assert len(intent.FIELDS) == intent.N_FIELDS == intent.F_WRITTEN1 + intent.N_WRITTEN - 1
    m = _model()
    layout = dict(zip((r[0] for r in intent.WRITTEN), m.written_layout))
    assert layout["Command"][2] == 0x7                      # Memory, IO, Bus Master writable on the I350
    assert layout["DEVCTL"][2] & 0x8000 == 0                # Initiate FLR is never compared
    assert layout["port LNKCTL"][3] == 1 and layout["Bus Numbers"][0] == -1   # an endpoint: no bridge rows


def test_reset_path_flags_a_port_register_lost_while_the_device_slept():
    # the device is in D3hot (not usable); the port loses what enumeration wrote to its LNKCTL;
    # pci_reset_function brings the device to D0, resets and restores it, and the port register,
    # which no step of that path writes, is flagged by the reset op
    def poke(m):
        m.state.port.hw.config[m.port_caps.exp + 0x10] = 0     # Common Clock Configuration lost
    m, vs = _apply_poke_apply("""
pci_bind_driver(driver=host)
pci_set_power_state(state=d3hot)
pci_reset_function(method=flr)
""", 2, poke)
    found = _found(vs)
    assert [(v.op_index, v.op, v.register) for v in found] == [(2, "pci_reset_function", "port LNKCTL")]
    assert found[0].expected == "0x40 (intent of the last deliberate write, at enumeration (firmware and the PCI core))"
    assert found[0].actual == "0x0 in hardware, last changed by op 2 (pci_reset_function)"


def test_restore_that_finds_the_value_equal_means_it():
    # pci_restore_config_dword skips a dword that already holds the snapshot: the snapshot is
    # still what the kernel means, so a recovery that restores the defaults a driver's save took
    # leaves no Command intent behind (snapshot_bar_stale says what is wrong)
    vs = _run_both("""
pci_bind_driver(driver=host)
hw_link_down()
pci_save_state()
pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)
""")
    assert not _found(vs)
    assert {v.register for v in vs if v.invariant == "snapshot_bar_stale"} == {"BAR0", "BAR3"}


def test_power_transition_flags_bus_master_lost_in_d3hot():
    # the host driver set Bus Master at bind; a NoSoftRst+ device that loses it in D3hot anyway
    # is flagged by the D0 transition, naming the op that wrote it
    def poke(m):
        m.state.hw.config[0x04] = m.state.hw.config[0x04] & 0xFB
    m, vs = _apply_poke_apply("""
pci_bind_driver(driver=host)
pci_set_power_state(state=d3hot)
pci_set_power_state(state=d0)
""", 2, poke)
    found = _found(vs)
    assert [(v.op_index, v.op, v.register) for v in found] == [(2, "pci_set_power_state", "Command.BusMaster")]
    assert found[0].expected == "on (intent of the last deliberate write, op 0 (pci_bind_driver) in host driver probe)"
    assert found[0].actual == "off in hardware, last changed by op 2 (pci_set_power_state)"


def test_recovery_flags_a_port_register_lost_while_the_device_did_not_answer():
    def poke(m):
        m.state.port.hw.config[m.port_caps.exp + 0x10] = 0     # Common Clock Configuration lost
    m, vs = _apply_poke_apply("""
pci_bind_driver(driver=host)
hw_inaccessible()
pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)
""", 2, poke)
    found = _found(vs)
    assert [(v.op_index, v.op, v.register) for v in found] == [(2, "pcie_do_recovery", "port LNKCTL")]
    assert found[0].expected.startswith("0x40 (intent of the last deliberate write")


def test_vfio_path_flags_what_the_user_wrote():
    m = _model()
    pmcsr = m.caps.pm + 4

    def poke(m):
        m.state.hw.config[0x0C] = 0                             # lost in D3hot
    m, vs = _apply_poke_apply(f"""
vfio_open()
vfio_config_write(offset=0x0c, width=1, value=0x10)
vfio_config_write(offset=0x{pmcsr:x}, width=2, value=0x0003)
vfio_config_write(offset=0x{pmcsr:x}, width=2, value=0x0000)
""", 3, poke)
    found = _found(vs)
    assert [(v.op_index, v.register) for v in found] == [(3, "CacheLine/Lat")]
    assert found[0].expected == "0x10 (intent of the last deliberate write, op 1 (vfio_config_write))"


def test_driver_path_flags_msi_mask_bits_once_msi_is_on():
    # the Mask Bits count while dev->msi_enabled; the driver's pci_enable_msi wrote them
    # (msi_capability_init); a device that flips one on its own is flagged by the driver's next op
    def poke(m):
        off = m.written_layout[intent.W_MSI_MASK][0]
        m.state.hw.config[off] = m.state.hw.config[off] ^ 0x1
    m, vs = _apply_poke_apply("""
pci_bind_driver(driver=host)
pci_enable_msi()
pci_save_state()
""", 2, poke)
    found = _found(vs)
    assert [(v.op_index, v.register) for v in found] == [(2, "MSI mask")]
    assert found[0].expected.endswith("(intent of the last deliberate write, op 1 (pci_enable_msi))")
    assert found[0].actual.endswith("in hardware, last changed by op 2 (pci_save_state)")


def test_deliberate_writes_and_restored_resets_raise_nothing():
    vs = _run_both("""
pci_bind_driver(driver=host)
pci_reset_function(method=flr)
pci_enable_msi()
pci_reset_bus()
vfio_config_write(offset=0x0c, width=1, value=0x10)
pci_set_power_state(state=d3hot)
pci_set_power_state(state=d0)
""")
    assert not _found(vs) and not _found(vs, "config_write_lost")


def test_config_write_lost_at_the_write():
    vs = _run_both("""
pci_bind_driver(driver=host)
hw_inaccessible()
pci_enable_msi()
hw_accessible()
""")
    # pci_enable_msi reads MsgCtl first: that lost read is the op's finding, and the writes
    # that follow in the op (the value came from it) add no config_write_lost
    assert not _found(vs, "config_write_lost")
    assert [(v.op_index, v.op) for v in _found(vs, "config_read_lost")] == [(2, "pci_enable_msi")]
    # a write with no lost read before it in its op is reported at the write
    vs2 = _run_both("""
pci_bind_driver(driver=none)
hw_inaccessible()
pci_assign_bar(bar=0, slot=1)
""")
    lost = _found(vs2, "config_write_lost")
    assert [(v.op_index, v.op, v.register) for v in lost] == [(2, "pci_assign_bar", "config")]
    assert lost[0].expected == "the function answers"
    assert lost[0].actual.endswith("dropped: config space reads all-ones")
    # the lost MSI set-up then stands against the kernel's flags once config answers again
    assert {v.register for v in _found(vs) if v.op_index == 3} >= {"MSI", "MSI message"}


def test_config_write_lost_not_while_the_kernel_knows():
    # in D3cold the kernel knows config space does not answer (current_state PCI_D3cold)
    vs = _run_both("""
pci_bind_driver(driver=host)
pci_set_power_state(state=d3cold)
pci_restore_state()
""")
    assert not _found(vs, "config_write_lost")


@pytest.mark.parametrize("device", ["cnl-rootport", "cnvi-wifi", "dsa", "fiji", "i350", "nic-82576",
                                    "plx-8532", "wifi-7265"])
def test_no_coverage_gaps(device):
    rows = coverage(device, n_random=100)
    assert rows and not gaps(rows), [r.register for r in gaps(rows)]


# --- all-ones written back is not intent (intent.is_error_echo) ----------------------------------

def test_vfio_unlock_writing_back_an_all_ones_command_read_is_not_intent():
    # vfio_pci_memory_lock_and_enable reads Command 0xffff from a function that does not answer;
    # vfio_pci_memory_unlock_and_restore writes it back. Nobody meant Bus Master on; MSI itself is
    # enabled on purpose (msi_enabled) and its lost enable is a real mismatch.
    vs = _run_both("vfio_open()\nhw_inaccessible()\nvfio_set_irqs(index=msi, count=0)\nhw_accessible()\n")
    regs = {v.register for v in _found(vs)}
    assert "MSI" in regs and "Command.BusMaster" not in regs


def test_a_skipped_restore_of_an_all_ones_snapshot_sets_no_intent():
    # A frozen-channel recovery of a vfio device leaves Interrupt Line at its default (by design,
    # used_without_restore); vfio_open's snapshot then holds that default. The later reset of a
    # function that does not answer skips every dword (read all-ones == saved): the intent stays.
    vs = _run_both("pcie_do_recovery(channel=frozen, vote=disconnect, source=aer)\nvfio_open()\n"
                   "hw_inaccessible()\nvfio_device_reset()\nhw_accessible()\n")
    assert not [v for v in _found(vs) if v.register == "Interrupt Line"]


def test_restore_all_ones_is_reported_where_the_write_lands():
    # Thaw restores the all-ones snapshot to a function that still reads all-ones: every dword is
    # skipped, nothing is written (pci_restore_config_dword). Written only once it answers again.
    vs = _run_both("hw_inaccessible()\npm_system_sleep(transition=hibernate_thaw, power=lost)\n")
    assert _found(vs, "snapshot_all_ones") and not _found(vs, "restore_all_ones")
    vs = _run_both("hw_inaccessible()\npm_system_sleep(transition=hibernate_thaw, power=kept)\n"
                   "hw_accessible()\nvfio_open()\n")
    assert {(v.op, v.register) for v in _found(vs, "restore_all_ones")} >= {("vfio_open", "Command"),
                                                                                ("vfio_open", "BAR0")}
    # the header and PCIe registers written from that snapshot are the same finding, not intent
    # mismatches of their own, nor order violations (an all-ones BAR or LTR write is the harm)
    assert not _found(vs)
    assert not _found(vs, "order_violation")


def test_a_vfio_users_all_ones_write_is_its_intent():
    # The user writes Cache Line Size/Latency Timer as 0xffff through the config region: the
    # hardware takes the writable bits, and that is what the user meant (no mismatch).
    vs = _run_both("vfio_open()\nvfio_config_write(offset=0x0c, width=2, value=0xffff)\n")
    assert not [v for v in _found(vs) if v.register == "CacheLine/Lat"]


def test_a_kernel_path_a_users_write_triggers_writes_as_the_kernel():
    # vfio_exp_config_write traps Initiate FLR and calls pci_try_reset_function: its save of a
    # function that does not answer is all-ones, and the restore writes that back (lost). Those
    # are the kernel's echoes, not the user's value: no intent for ROM BAR, Cache Line, Bus
    # Master, LNKCTL or DEVCTL2 once the function answers again (only DEVCTL, which the user wrote).
    vs = _run_both("vfio_open()\nhw_inaccessible()\nvfio_config_write(offset=0xa8, width=4, value=0x8000)\n"
                   "hw_accessible()\n")
    assert _found(vs, "snapshot_all_ones")
    assert {v.register for v in _found(vs)} <= {"DEVCTL"}


def test_a_kernel_write_to_a_function_that_does_not_answer_means_only_the_bits_it_clears():
    # The host driver's probe on a function that does not answer: pci_enable_device reads Command
    # as 0xffff and clears INTx Disable (writes 0xfbff), which does not mean I/O on (the I350 has
    # no I/O BAR). pci_set_master sees Bus Master set and writes nothing, but it means it on
    # (dev->is_busmaster): once the function answers again with Bus Master off, that is the one
    # mismatch.
    vs = _run_both("hw_inaccessible()\npci_bind_driver(driver=host)\nhw_accessible()\n"
                   "pci_set_power_state(state=d0)\n")
    assert {v.register for v in _found(vs) if v.register.startswith("Command")} == {"Command.BusMaster"}
    # ... while a bit such a write clears is meant: the kernel's Bus Master off stands.
    m = _model()
    m.start()
    for call in parse_program("vfio_open()\nhw_inaccessible()"):
        m.apply(call)
    m.io.write(0x04, 2, 0xfffb)
    assert not m.oracle.written[intent.W_COMMAND] & 0x4
    assert m.oracle.written[intent.W_COMMAND] & 0x2      # Memory on, as vfio_open left it


def test_an_all_ones_restore_puts_back_the_intent_the_op_started_with():
    # pci_reset_function on a function that stopped answering: pci_dev_save_and_disable saves
    # all-ones and writes Command = INTx Disable (lost), the FLR times out, and pci_dev_restore
    # writes the all-ones snapshot back (lost). The disable was provisional and the restore's data
    # says nothing: the kernel still means the Command the probe left (Memory, Bus Master on), which
    # the function holds when it answers again. No mismatch.
    vs = _run_both("pci_bind_driver(driver=host)\nhw_inaccessible()\npci_reset_function(method=flr)\n"
                   "hw_accessible()\n")
    assert _found(vs, "snapshot_all_ones")
    assert not [v for v in _found(vs) if v.register.startswith("Command")]


def test_a_skipped_set_master_still_means_bus_master_on():
    # A second probe while the function does not answer: the remove's pci_disable_device clears
    # Bus Master (a bit it clears: meant), then pci_set_master reads it as set and skips its
    # write. The kernel believes Bus Master on (dev->is_busmaster) and the function, answering
    # again, has it on from the first probe: no mismatch.
    vs = _run_both("pci_bind_driver(driver=host)\nhw_inaccessible()\npci_bind_driver(driver=host)\n"
                   "hw_accessible()\npci_set_power_state(state=d0)\n")
    assert not [v for v in _found(vs) if v.register == "Command.BusMaster"]


def test_vfio_bar_restore_writes_as_the_kernel_not_the_user():
    # vfio_pci_core_enable saved rbar[] from a function that did not answer (all-ones). QEMU's
    # pre-reset Command write makes vfio_basic_config_write see BARs that differ from rbar[] and
    # vfio_bar_restore writes the all-ones back: the ROM BAR comes out enabled. That write is
    # vfio's own echo of a failed read, not the user's choice, so the ROM BAR keeps the intent the
    # open's restore gave it. (The kernel believes the function in D3cold after that open, so no
    # mismatch is compared: the intent itself is the check.)
    rom = [w[0] for w in intent.WRITTEN].index("ROM BAR")
    m = _model()
    m.start()
    calls = parse_program("hw_inaccessible()\nvfio_open()\nhw_accessible()\nqemu_pre_reset()\n")
    for call in calls[:3]:
        m.apply(call)
    meant = m.oracle.written[rom]
    m.apply(calls[3])
    assert m.state.hw.read(0x30, 4) & 0x1 and m.state.hw.read(0x30, 4) != meant
    assert m.oracle.written[rom] == meant
    _run_both("hw_inaccessible()\nvfio_open()\nhw_accessible()\nqemu_pre_reset()\n")
