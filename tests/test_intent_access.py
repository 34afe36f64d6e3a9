"""Checks at the access (fuzzcore/model/access.py), on both models: config_read_lost (a read the
kernel uses returns all-ones from a function that does not answer while the kernel believes it
does), and what the intent becomes when the hardware drops bits of a deliberate write or a restore
writes an old snapshot (fuzzcore/model/intent.py)."""

from fuzzcore.model import intent
from fuzzcore.program.fzs import parse_program
from tests.test_intent_written import _apply_poke_apply, _found, _model, _run_both


def _lost_reads(vs):
    return [(v.op_index, v.op, v.step) for v in _found(vs, "config_read_lost")]


# --- config_read_lost -----------------------------------------------------------------------------

def test_read_modify_write_of_a_function_that_stopped_answering():
    # pci_msi_set_enable (msi_capability_init) reads MsgCtl to modify it: all-ones, used
    vs = _run_both("""
pci_bind_driver(driver=host)
hw_inaccessible()
pci_enable_msi()
""")
    assert _lost_reads(vs) == [(2, "pci_enable_msi", "pci_enable_msi")]
    v = _found(vs, "config_read_lost")[0]
    assert v.expected == "the function answers"
    assert v.actual == "read of 0x052 returned 0xffff: config space reads all-ones"
    # the write back of that value is the same loss: one finding for the op, not two
    assert not _found(vs, "config_write_lost")


def test_vfio_read_modify_write_reads_the_hardware():
    # vfio_default_config_write: the bits the user may not write come from a hardware read
    vs = _run_both("""
vfio_open()
hw_inaccessible()
vfio_config_write(offset=0x0c, width=1, value=0x10)
""")
    assert _lost_reads(vs) == [(2, "vfio_config_write", "vfio_pci_config_rw")]
    assert not _found(vs, "config_write_lost")


def test_no_read_lost_while_the_function_answers():
    vs = _run_both("""
pci_bind_driver(driver=host)
pci_enable_msi()
pci_save_state()
pci_set_power_state(state=d3hot)
pci_set_power_state(state=d0)
pci_restore_state()
pci_reset_function(method=flr)
vfio_open()
vfio_config_write(offset=0x0c, width=1, value=0x10)
""")
    assert not _lost_reads(vs)


def test_no_read_lost_where_the_kernel_checks_for_all_ones():
    # pci_set_low_power_state: PCI_POSSIBLE_ERROR(pmcsr) -> D3cold, -EIO; nothing used
    vs = _run_both("""
pci_bind_driver(driver=host)
hw_inaccessible()
pci_set_power_state(state=d3hot)
""")
    assert not _lost_reads(vs)


def test_no_read_lost_while_the_kernel_knows():
    # in D3cold the kernel knows config space does not answer (current_state PCI_D3cold)
    vs = _run_both("""
pci_bind_driver(driver=host)
pci_set_power_state(state=d3cold)
pci_restore_state()
""")
    assert not _lost_reads(vs)


def test_snapshot_all_ones_refines_the_reads_of_its_save():
    # pci_save_state reads all-ones: snapshot_all_ones is that finding; the save's capability
    # reads and the rest of the op (pci_reset_function's restore) add no config_read_lost
    for text in ("pci_bind_driver(driver=host)\nhw_inaccessible()\npci_save_state()\n",
                 "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_reset_function(method=flr)\n"):
        vs = _run_both(text)
        assert _found(vs, "snapshot_all_ones") and not _lost_reads(vs)


def _lost_writes(vs):
    return [(v.op_index, v.op) for v in _found(vs, "config_write_lost")]


def test_write_lost_without_a_lost_read_still_reported():
    # pci_std_update_resource computes the BAR value from the resource and writes it with no
    # read first (a 32-bit BAR: no Command read-modify-write): the dropped write is the finding
    vs = _run_both("""
pci_bind_driver(driver=none)
hw_inaccessible()
pci_assign_bar(bar=0, slot=1)
""")
    assert not _lost_reads(vs)
    assert _lost_writes(vs) == [(2, "pci_assign_bar")]


def test_one_op_one_finding_per_op():
    # op 2 only writes (config_write_lost); op 3, the host probe: pci_enable_device_flags first
    # refreshes current_state (pci_update_current_state: a checked PMCSR read, all-ones, so
    # PCI_D3cold), so its Command read-modify-write is not a lost read the kernel is blind to;
    # the probe's pci_save_state snapshots all-ones (snapshot_all_ones owns it)
    vs = _run_both("""
pci_bind_driver(driver=none)
hw_inaccessible()
pci_assign_bar(bar=3, slot=2)
pci_bind_driver(driver=host)
""")
    assert _lost_writes(vs) == [(2, "pci_assign_bar")]
    assert _lost_reads(vs) == []
    assert [(v.invariant, v.op_index) for v in vs if v.invariant == "snapshot_all_ones"] == [("snapshot_all_ones", 3)]


# --- a deliberate write into bits the hardware does not hold --------------------------------------

def test_dropped_bits_of_a_write_are_no_intent():
    # a vfio user writes Cache Line Size and Latency Timer as one word; the Latency Timer is
    # read-only on a PCIe function (0 on the I350), so the hardware keeps 0 where the write meant
    # 0x40: only the bits the device lets software write are intent (written_layout)
    text = """
vfio_open()
vfio_config_write(offset=0x0c, width=2, value=0x4010)
vfio_config_write(offset=0x3c, width=1, value=0x0b)
"""
    vs = _run_both(text)
    assert not _found(vs)
    m = _model()
    m.run(parse_program(text))
    k = [row[0] for row in intent.WRITTEN].index("CacheLine/Lat")
    off, width, cmp, _port = m.written_layout[k]
    assert (off, cmp) == (0x0C, 0x00FF)
    assert m.oracle.written[k] == 0x4010 and int(m.state.hw.config[0x0D]) == 0


def test_dropped_writable_bits_are_flagged():
    # control: the writable Cache Line Size of the same write, lost by the hardware afterwards,
    # stands against the user's intent at the next op
    def poke(m):
        m.state.hw.config[0x0C] = 0x00
    _, vs = _apply_poke_apply("""
vfio_open()
vfio_config_write(offset=0x0c, width=2, value=0x4010)
vfio_config_write(offset=0x3c, width=1, value=0x0b)
""", 2, poke)
    hits = [v for v in _found(vs) if v.register == "CacheLine/Lat"]
    assert hits and hits[0].expected.startswith("0x10 (intent of the last deliberate write, op 1 (vfio_config_write))"), hits


# --- a stale restore becomes the kernel's intent --------------------------------------------------

def test_stale_restore_becomes_the_intent():
    # vfio_pci_core_disable loads the open-time snapshot (pci_load_saved_state) and restores it
    # over the user's later DEVCTL write: after pci_restore_state the saved state is what the
    # kernel means, so nothing stands against the restored value once a host driver binds
    vs = _run_both("""
vfio_open()
vfio_config_write(offset=0xa8, width=2, value=0x2010)
vfio_close()
pci_bind_driver(driver=host)
pci_enable_msi()
""")
    assert not _found(vs)


def test_intent_mismatch_names_the_restore_that_set_it():
    # the restored value is lost afterwards: the intent is the snapshot's value, set by the last
    # restore (pci_pm_runtime_resume's pci_restore_state at the bind), not the user's write, and
    # the message names the step that set it
    def poke(m):
        exp = m.caps.exp
        m.state.hw.config[exp + 0x08] = 0x00
        m.state.hw.config[exp + 0x09] = 0x00
    m, vs = _apply_poke_apply("""
vfio_open()
vfio_config_write(offset=0xa8, width=2, value=0x2010)
vfio_close()
pci_bind_driver(driver=host)
pci_enable_msi()
""", 4, poke)
    hits = [v for v in _found(vs) if v.register == "DEVCTL"]
    assert [v.op_index for v in hits] == [4]
    assert hits[0].expected == ("0x283f (intent of the last deliberate write, op 3 (pci_bind_driver) in "
                                "pci_restore_state/pcie)"), hits


def test_bar_update_snapshot_is_the_value_written():
    # pci_std_update_resource stores `new` in saved_config_space; its read-back only feeds pci_err,
    # so a function that stopped answering neither poisons the snapshot nor raises config_read_lost
    text = "pci_bind_driver(driver=none)\nhw_inaccessible()\npci_assign_bar(bar=3, slot=2)\n"
    vs = _run_both(text)
    assert not _lost_reads(vs) and [v.invariant for v in vs] == ["config_write_lost"]
    m = _model()
    m.run(parse_program(text))
    saved = m.state.dev.saved_config[4 + 3]
    # exactly `new`: the resource's address with its enumeration type bits (32-bit memory: 0)
    assert saved == m.state.dev.resources[3] & 0xFFFFFFFF
