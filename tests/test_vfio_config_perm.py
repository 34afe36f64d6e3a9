"""vfio-pci's config permission table (model/vfio_perm.py, drivers/vfio/pci/vfio_pci_config.c):
which region each config byte is in, what a user's write to it does, and how an access is cut
into pieces. Behaviour tests run on both models; the map itself is one table both read."""

from pathlib import Path

from both_models import both, model  # noqa: F401  (fixture `both`: a test on both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.device.dump_parser import parse_text
from fuzzcore.device.profile import profile_from_dump
from fuzzcore.model import vfio_perm
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program

DATA = Path(__file__).parent / "data"
REGIONS = load_policy("linux-7.1").vfio_regions


def run(m, text):
    return [m.apply(c) for c in parse_program(text)]


def test_the_map_follows_vfio_cap_len_and_the_perm_tables():
    """i350: PM (8), MSI with 64-bit and per-vector masking (24), MSI-X (12, no write function),
    the v2 endpoint PCIe capability (0x34: the bytes after it are unassigned), VPD (8); AER is
    PCI_ERR_ROOT_COMMAND (0x2c) long with init_pci_ext_cap_err_perm's write masks; the other
    extended capabilities vfio knows are read-only."""
    cmap = vfio_perm.build(resolve_device("i350"), REGIONS)
    runs = {}
    pos = 0x40
    while pos < 0x1e0:
        mid, end = int(cmap.map_id[pos]), pos
        while end < 0x1e0 and cmap.map_id[end] == mid:
            end += 1
        if mid != vfio_perm.UNASSIGNED:
            runs[pos] = (mid, end - pos, vfio_perm.fn_name(int(cmap.kind[pos])))
        pos = end
    assert runs[0x40] == (0x01, 8, "vfio_pm_config_write") and runs[0x50] == (0x05, 24, "vfio_msi_config_write")
    assert runs[0x70] == (0x11, 12, "none") and runs[0xA0] == (0x10, 0x34, "vfio_exp_config_write")
    assert cmap.map_id[0xA0 + 0x34] == vfio_perm.UNASSIGNED and cmap.kind[0xA0 + 0x34] == vfio_perm.RAW
    assert runs[0x100] == (0x101, 0x2C, "vfio_default_config_write") and runs[0x160] == (0x110, 0x40, "none")
    aer_mask = int.from_bytes(bytes(cmap.write[0x108:0x10C]), "little")
    assert aer_mask == 0x03FFF031                      # the defined uncorrectable bits
    assert int.from_bytes(bytes(cmap.virt[0x100:0x104]), "little") == 0xFFFFFFFF   # the header dword


def test_hidden_capabilities_are_unassigned_and_a_null_first_one_keeps_a_placeholder():
    """A capability with no vfio length is hidden: PASID on the Fiji GPU is raw; the CNVi
    function's first extended header (id 0) stays as a read-only 4-byte placeholder."""
    fiji = resolve_device("fiji")
    cmap = vfio_perm.build(fiji, REGIONS)
    pasid = next(c.offset for c in fiji.walk.extended if c.cap_id == 0x1B)
    assert cmap.map_id[pasid + 6] == vfio_perm.UNASSIGNED and cmap.kind[pasid + 6] == vfio_perm.RAW
    cnvi = vfio_perm.build(resolve_device("cnvi-wifi"), REGIONS)
    assert cnvi.map_id[0x100] == vfio_perm.EXT and cnvi.kind[0x100] == vfio_perm.NONE
    assert cnvi.map_id[0x104] != vfio_perm.EXT


def test_a_256_byte_function_has_no_extended_space():
    """pdev->cfg_size 256: every byte past 0xff is out of range (vfio_pci_config_rw_single's
    -EFAULT); a hidden standard capability (the port's SSVID) is unassigned."""
    dump = parse_text((DATA / "pciutils-plx-9716-dpc-256only.txt").read_text())[0]
    cmap = vfio_perm.build(profile_from_dump("plx-9716", dump), REGIONS)
    assert cmap.cfg_size == 256
    assert cmap.map_id[0xA4] == vfio_perm.UNASSIGNED


def test_pieces_stop_at_a_region_end_inside_a_dword():
    """The Fiji GPU's MSI is 64-bit without masking: 14 bytes from 0xa0. A dword write at 0xac
    is two pieces: the Message Data word (MSI) and the two unassigned bytes after it."""
    cmap = vfio_perm.build(resolve_device("fiji"), REGIONS)
    assert list(vfio_perm.pieces(cmap, 0xAC, 4)) == [(0xAC, 2), (0xAE, 2)]
    assert list(vfio_perm.pieces(cmap, 0xA0, 4)) == [(0xA0, 4)]
    assert list(vfio_perm.pieces(cmap, 0xA1, 2)) == [(0xA1, 1), (0xA2, 1)]


def test_a_write_into_a_hidden_extended_capability_reaches_hardware(both):
    """The 7265's L1 PM Substates capability has no length in pci_ext_cap_length: hidden, so a
    user's write to L1SS Control 1 is vfio_raw_config_write and reaches the register."""
    m = model(device="wifi-7265")
    run(m, "pci_bind_driver(driver=vfio)\nvfio_open()")
    l1ss = next(c.offset for c in m.profile.walk.extended if c.cap_id == 0x1E)
    before = m.state.hw.read(l1ss + 8, 4)
    assert before & 0xF
    run(m, f"vfio_config_write(offset={l1ss + 8:#x}, width=4, value=0x00000000)")
    assert m.state.hw.read(l1ss + 8, 4) & 0xF == 0


def test_a_write_into_a_read_only_extended_capability_is_dropped(both):
    """LTR has a vfio length but no write function: the user's write changes nothing."""
    m = model(device="wifi-7265")
    run(m, "pci_bind_driver(driver=vfio)\nvfio_open()")
    ltr = next(c.offset for c in m.profile.walk.extended if c.cap_id == 0x18)
    before = m.state.hw.read(ltr + 4, 4)
    run(m, f"vfio_config_write(offset={ltr + 4:#x}, width=4, value={before ^ 0x03FF03FF:#x})")
    assert m.state.hw.read(ltr + 4, 4) == before


def test_msi_message_registers_are_virtual_and_the_mask_is_written(both):
    """init_pci_cap_msi_perm: Message Address and Data are virtual (the hardware keeps what the
    kernel wrote); the Mask Bits register is written through."""
    m = model(device="i350")
    run(m, "pci_bind_driver(driver=vfio)\nvfio_open()\nvfio_set_irqs(index=msi, count=1)")
    msi = m.caps.msi
    addr = m.state.hw.read(msi + 4, 4)
    run(m, f"vfio_config_write(offset={msi + 4:#x}, width=4, value=0x12345678)\n"
           f"vfio_config_write(offset={msi + 0x10:#x}, width=4, value=0x00000001)")
    assert m.state.hw.read(msi + 4, 4) == addr
    assert m.state.hw.read(msi + 0x10, 4) & 0x1


def test_a_user_write_of_msi_flags_reaches_hardware_through_vfio_msi_config_write(both):
    """vfio_msi_config_write: Message Control's low byte is virtual, and the result goes to
    hardware. With the user's interrupts on MSI, clearing MSI Enable there turns MSI off under the
    kernel's msi_enabled; with them off, vfio clears Enable whatever the user wrote."""
    m = model(device="i350")
    flags = m.caps.msi + 2
    run(m, f"pci_bind_driver(driver=vfio)\nvfio_open()\nvfio_set_irqs(index=msi, count=0)\n"
           f"vfio_config_write(offset={flags:#x}, width=2, value=0x0000)")
    assert m.state.hw.read(flags, 2) & 0x1 == 0 and m.state.dev.msi_enabled
    assert [v.register for v in m.oracle.violations if v.invariant == "intent_mismatch"] == ["MSI"]
    run(m, f"vfio_config_write(offset={m.caps.msi:#x}, width=4, value=0x00710000)")   # Enable, QSIZE 7
    assert m.state.hw.read(flags, 2) & 0x71 == 0x01     # QSIZE held to msi_qmax (one vector: 0)
    run(m, f"vfio_set_irqs(index=none, count=0)\nvfio_config_write(offset={flags:#x}, width=2, value=0x0001)")
    assert m.state.hw.read(flags, 2) & 0x1 == 0 and not m.state.dev.msi_enabled


def test_a_function_silent_at_open_leaves_every_capability_unassigned(both):
    """vfio_config_init on a function that reads all-ones maps no capability (Status reads
    0xffff, the chain is 0xff ids, hidden), so a later PMCSR write is raw: the hardware's
    PowerState changes, vfio_pci_set_power_state does not run and current_state stays D3cold;
    the kernel does not believe the device usable, so no intent is compared. QEMU, whose realize
    saw no PM capability, makes no D0 write."""
    m = model(device="fiji")
    pm = m.caps.pm
    run(m, "hw_inaccessible()\npci_bind_driver(driver=host)\npci_enable_ats(stu=0)\npci_restore_state()\n"
           "pci_bind_driver(driver=vfio)\nvfio_open()\nhw_accessible()")
    assert m.state.vfio.map_silent and m.state.hw.read(pm + 4, 2) & 0x3 == 0x3
    run(m, f"vfio_config_write(offset={pm + 4:#x}, width=2, value=0xe344)")
    assert m.state.hw.read(pm + 4, 2) & 0x3 == 0x0 and m.state.dev.current_state == 4
    assert not [v for v in m.oracle.violations if v.invariant == "intent_mismatch" and v.op_index == 7]
    m = model(device="i350")
    run(m, "hw_inaccessible()\nvfio_open()\nhw_accessible()\nqemu_pre_reset()")
    assert m.state.dev.current_state == 4


def test_the_worked_overlay_before_mrrs_virtualization(both):
    """docs/examples/pre-cf0d53ba4947.toml: with MRRS not virtual a user's 128-byte MRRS reaches
    DEVCTL as written; under v7.1.3 vfio raises it to the function's MPS (pcie_set_readrq)."""
    overlay = Path(__file__).parents[1] / "docs" / "examples" / "pre-cf0d53ba4947.toml"
    got = {}
    for spec in ("linux-7.1", f"linux-7.1+{overlay}"):
        m = model(spec, "i350")
        devctl = m.caps.exp + 0x08
        run(m, "pci_bind_driver(driver=vfio)\nvfio_open()")
        cur = m.state.hw.read(devctl, 2)
        assert (cur >> 5) & 0x7, "the test needs an MPS above 128 bytes"
        run(m, f"vfio_config_write(offset={devctl:#x}, width=2, value={cur & ~0x7000:#x})")
        got[spec] = (m.state.hw.read(devctl, 2) >> 12) & 0x7
    assert got["linux-7.1"] == (cur >> 5) & 0x7 and got[f"linux-7.1+{overlay}"] == 0


def _overlay(tmp_path, body: str) -> str:
    p = tmp_path / "wf.toml"
    p.write_text('[overlay]\nname = "wf"\ndescription = "a write function edited"\ncommit = "none"\n'
                 'reference = "§6.3"\n\n' + body)
    return f"linux-7.1+{p}"


def test_write_functions_are_paths_an_overlay_edits(both, tmp_path):
    """Each region's write function is a path: removing a step removes that action in both
    models. Without exp's readrq a user's virtual MRRS stays in vconfig; without basic's intx a
    user's INTx Disable no longer masks; without pm's power a PMCSR D3hot write changes nothing."""
    m = model(_overlay(tmp_path, '[path.vfio_exp_config_write]\nremove = ["readrq"]\n'), "i350")
    devctl = m.caps.exp + 0x08
    run(m, "pci_bind_driver(driver=vfio)\nvfio_open()")
    cur = m.state.hw.read(devctl, 2)
    run(m, f"vfio_config_write(offset={devctl:#x}, width=2, value={(cur & ~0x7000) | 0x5000:#x})")
    assert m.state.hw.read(devctl, 2) & 0x7000 == cur & 0x7000            # hardware untouched
    assert m.state.vfio.vconfig_devctl & 0x7000 == 0x5000                 # the user's, virtual

    prog = "pci_bind_driver(driver=vfio)\nvfio_open()\nvfio_config_write(offset=0x4, width=2, value=0x0406)"
    for spec, masked in (("linux-7.1", True), (_overlay(tmp_path, '[path.vfio_basic_config_write]\n'
                                                                   'remove = ["intx"]\n'), False)):
        m = model(spec, "i350")
        run(m, prog)
        assert m.state.vfio.virq_disabled == masked
        assert bool(m.state.hw.read(0x04, 2) & 0x0400) == masked         # pci_intx(pdev, 0) only when emulated

    never = _overlay(tmp_path, '[path.vfio_pm_config_write.step]\npower = { do = "vfio_power_state", gate = "never" }\n')
    for spec, state in (("linux-7.1", 3), (never, 0)):
        m = model(spec, "i350")
        pm = m.caps.pm
        run(m, "pci_bind_driver(driver=vfio)\nvfio_open()\n"
               f"vfio_config_write(offset={pm + 4:#x}, width=2, value=0x0003)")
        assert m.state.dev.current_state == state and m.state.hw.read(pm + 4, 2) & 0x3 == state


def test_a_write_function_step_runs_only_for_its_offset(both, tmp_path):
    """The piece_* conditions are the functions' offset tests: a byte write to Status (offset 6)
    runs basic's default write but neither the BAR check nor the Command tracking."""
    m = model("linux-7.1", "i350")
    run(m, "pci_bind_driver(driver=vfio)\nvfio_open()\nvfio_config_write(offset=0x4, width=2, value=0x0002)")
    assert m.state.vfio.vconfig_command & 0x2
    run(m, "vfio_config_write(offset=0x6, width=2, value=0x0000)")
    assert m.state.vfio.vconfig_command & 0x2                                 # not tracked from Status


def test_an_overlay_that_gives_a_hidden_capability_a_region_takes_its_bytes_out_of_raw(both, tmp_path):
    """PASID has no vfio length in v7.1.3: a user's PASID Control write reaches the Fiji GPU raw.
    An overlay region for it (virtual Control) keeps the write in vconfig."""
    overlay = tmp_path / "pasid-virtual.toml"
    overlay.write_text('[overlay]\nname = "pasid-virtual"\ndescription = "PASID Control virtual"\n'
                       'commit = "none"\nreference = "§6.3"\n\n[vfio_config.pasid]\next = 0x1B\nlength = 8\n'
                       'write_fn = "vfio_default_config_write"\n[vfio_config.pasid.row]\n'
                       'ctrl = { at = 0x06, width = 2, virt = 0xFFFF, write = 0xFFFF }\n')
    seen = {}
    for spec in ("linux-7.1", f"linux-7.1+{overlay}"):
        m = model(spec, "fiji")
        pasid = next(c.offset for c in m.profile.walk.extended if c.cap_id == 0x1B)
        run(m, f"pci_bind_driver(driver=vfio)\nvfio_open()\nvfio_config_write(offset={pasid + 6:#x}, width=2, value=0x0001)")
        seen[spec] = m.state.hw.read(pasid + 6, 2) & 0x1
    assert seen == {"linux-7.1": 1, f"linux-7.1+{overlay}": 0}


def test_docs_embed_the_vfio_config_vocabulary():
    from fuzzcore.policy import vfio_config
    assert vfio_config.markdown_tables() in (Path(__file__).parents[1] / "docs" / "policies.md").read_text()


def test_region_errors_name_file_and_line(tmp_path):
    import pytest
    head = '[overlay]\nname = "t"\ndescription = "t"\ncommit = "none"\nreference = "§6.3"\n\n'
    cases = [
        ('[vfio_config.exp.row]\ndevctl = { at = 0x08, width = 3, virt = 0, write = 0 }\n', 8, "width = 3"),
        ('[vfio_config.pasid]\next = 0x1B\n', 7, "needs length"),
        ('[vfio_config.exp]\nremove = ["nope"]\n', 8, "'nope' is not a row"),
        ('[vfio_config.exp.row]\ndevctl = { at = 0x08, width = 2, virt = 0, write = 0x1FFFF }\n', 8, "does not fit"),
        ('[vfio_config.msi.row]\nflags = { at = 2, width = 1, virt = 0, write = 0, when = "msi_wide" }\n', 8,
         '"msi_wide" is not one of'),
        ('[vfio_config.exp]\nwrite_fn = "fast"\n', 8, 'write_fn = "fast"'),
    ]
    for body, line, message in cases:
        p = tmp_path / "t.toml"
        p.write_text(head + body)
        with pytest.raises(ValueError) as e:
            load_policy(f"linux-7.1+{p}")
        assert f"t.toml:{line}:" in str(e.value) and message in str(e.value), (body, str(e.value))


def test_a_user_pmcsr_write_of_d1_or_d2_follows_the_functions_support(both):
    """vfio_pm_config_write passes any PowerState to vfio_pci_set_power_state; pci_set_low_power_state
    enters D1/D2 only with the PMC's support (-EIO otherwise) and only deeper (-EINVAL back up).
    The Fiji GPU supports both: in D1 the kernel refuses MSI set-up (not D0); the I350 supports
    neither and stays in D0."""
    m = model(device="fiji")
    pm = m.caps.pm
    rets = run(m, f"vfio_open()\nvfio_config_write(offset={pm + 4:#x}, width=2, value=0x01)\n"
                  "vfio_set_irqs(index=msi, count=0)")
    assert m.state.dev.current_state == 1 and m.state.hw.read(pm + 4, 2) & 0x3 == 1 and rets[-1] == -22
    run(m, f"vfio_config_write(offset={pm + 4:#x}, width=2, value=0x02)")
    assert m.state.dev.current_state == 2
    run(m, f"vfio_config_write(offset={pm + 4:#x}, width=2, value=0x01)")      # not deeper: -EINVAL
    assert m.state.dev.current_state == 2 and m.state.hw.read(pm + 4, 2) & 0x3 == 2
    run(m, f"vfio_config_write(offset={pm + 4:#x}, width=2, value=0x00)")
    assert m.state.dev.current_state == 0
    m = model(device="i350")
    run(m, f"vfio_open()\nvfio_config_write(offset={m.caps.pm + 4:#x}, width=2, value=0x01)")
    assert m.state.dev.current_state == 0 and m.state.hw.read(m.caps.pm + 4, 2) & 0x3 == 0
