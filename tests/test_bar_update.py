"""pci_std_update_resource (drivers/pci/setup-res.c, 6.12 and 7.1) on both models: the value it
writes and stores in saved_config_space is `region.start | (res->flags & ~PCI_BASE_ADDRESS_*_MASK)`,
the type bits coming from the resource enumeration decoded (decode_bar), never from the BAR as it
reads now."""

import struct

from fuzzcore.device.builtin import builtin_dir, resolve_device
from fuzzcore.program.fzs import parse_program
from tests.both_models import model, which_model  # noqa: F401  (autouse: every test twice)


def _kernel_value(m, device, bar):
    """The low dword pci_std_update_resource computes for `bar`: the resource's address with the
    enumeration-time type bits (IO: bits 1:0, memory: bits 3:0) of the BAR in the device's dump."""
    prof = resolve_device(device)
    info = prof.bar(bar)
    mask = 0x3 if info.kind == "io" else 0xF
    flags = struct.unpack_from("<I", prof.image, 0x10 + 4 * bar)[0] & mask
    return (m.state.dev.resources[bar] & 0xFFFFFFFF & ~mask) | flags


def _run(device, text):
    m = model(device=device)
    for call in parse_program(text):
        m.apply(call)
    return m


def test_dead_function_gets_the_kernels_bar_value_saved():
    # the function stopped answering: the BAR reads all-ones, yet the kernel's `new` (and so
    # saved_config_space) carries the resource's type bits: 64-bit prefetchable memory (0xc),
    # IO (0x1), 32-bit memory (0x0), not 0xf / 0x3 from the all-ones read
    for bar in (0, 4, 5):
        m = _run("fiji", f"pci_bind_driver(driver=none)\nhw_inaccessible()\npci_assign_bar(bar={bar}, slot=2)\n")
        want = _kernel_value(m, "fiji", bar)
        assert m.state.dev.saved_config[4 + bar] == want, (bar, hex(m.state.dev.saved_config[4 + bar]), hex(want))
        assert want & (0x3 if bar == 4 else 0xF) == {0: 0xC, 4: 0x1, 5: 0x0}[bar]
        if bar == 0:
            assert m.state.dev.saved_config[5] == m.state.dev.resources[0] >> 32


def test_io_bar_type_bits_from_the_resource():
    # nic-82576 BAR2 is IO (0x1021 at enumeration): bit 0 set, reserved bit 1 clear
    m = _run("nic-82576", "pci_bind_driver(driver=none)\nhw_inaccessible()\npci_assign_bar(bar=2, slot=1)\n")
    assert m.state.dev.saved_config[4 + 2] == _kernel_value(m, "nic-82576", 2)
    assert m.state.dev.saved_config[4 + 2] & 0x3 == 0x1


def test_answering_function_holds_the_kernels_value():
    # control: while the function answers, the BAR holds what was written and saved, and the
    # hardware's own type bits equal the resource's
    for bar in (0, 2, 4, 5):
        m = _run("fiji", f"pci_bind_driver(driver=none)\npci_assign_bar(bar={bar}, slot=3)\n")
        want = _kernel_value(m, "fiji", bar)
        hw = int.from_bytes(bytes(int(b) for b in m.state.hw.config[0x10 + 4 * bar:0x14 + 4 * bar]), "little")
        assert m.state.dev.saved_config[4 + bar] == want == hw, (bar, hex(want), hex(hw))


# --- the ROM resource -----------------------------------------------------------------------------

def _rom_enabled_device(tmp_path):
    """nic-82576 (NoSoftRst clear: D3hot->D0 is a soft reset, then pci_restore_bars) with its
    Expansion ROM found enabled at enumeration (IORESOURCE_ROM_ENABLE)."""
    text = (builtin_dir() / "nic-82576.toml").read_text()
    assert "030: 00 00 80 c7" in text
    path = tmp_path / "nic-82576-rom-on.toml"
    path.write_text(text.replace("030: 00 00 80 c7", "030: 01 00 80 c7").replace('name = "nic-82576"', 'name = "nic-82576-rom-on"'))
    return str(path)


SOFT_RESET = "pci_bind_driver(driver=host)\npci_save_state()\npci_set_power_state(state=d3hot)\npci_set_power_state(state=d0)\n"


def test_enabled_rom_is_rewritten_after_a_soft_reset(tmp_path):
    # pci_restore_bars -> pci_update_resource(PCI_ROM_RESOURCE): region.start | ENABLE, into the
    # ROM BAR and saved_config_space
    m = _run(_rom_enabled_device(tmp_path), SOFT_RESET)
    assert m.state.dev.saved_config[0x30 // 4] == 0xC7800001
    assert int.from_bytes(bytes(int(b) for b in m.state.hw.config[0x30:0x34]), "little") == 0xC7800001


def test_disabled_rom_is_left_alone():
    # no IORESOURCE_ROM_ENABLE (the stock nic-82576): pci_std_update_resource skips the ROM, so
    # saved_config_space keeps what pci_save_state read
    m = _run("nic-82576", SOFT_RESET)
    assert m.state.dev.saved_config[0x30 // 4] == 0xC7800000
