"""D3cold as the platform makes it: a function whose power the platform removed answers nothing
(config reads all-ones, writes dropped) until pci_power_up's platform_pci_set_power_state(D0)
brings power back, and then starts from its power-on values (drivers/pci/pci.c,
__pci_set_power_state and pci_power_up). Both models."""

from both_models import model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.model.state import D0, D3COLD
from fuzzcore.program.fzs import parse_program

MSI_FLAGS = 0x50 + 2   # i350: MSI capability at 0x50


def run(m, text):
    return [m.apply(c) for c in parse_program(text)]


def test_a_function_in_d3cold_answers_nothing_until_the_platform_powers_it():
    m = model()
    run(m, "pci_bind_driver(driver=host)\npci_set_power_state(state=d3cold)")
    assert m.state.dev.current_state == D3COLD and not m.state.hw.powered
    assert m.state.hw.read(0x00, 4) == 0xFFFFFFFF
    # neither a link event nor containment clearing gives an unpowered function power
    run(m, "hw_link_down()\nhw_accessible()")
    assert m.state.hw.read(0x00, 4) == 0xFFFFFFFF and not m.state.hw.powered
    assert run(m, "pci_set_power_state(state=d0)") == [0]
    assert m.state.hw.powered and m.state.dev.current_state == D0
    assert m.state.hw.read(0x00, 4) == 0x15218086


def test_the_power_on_not_the_power_off_resets_the_function():
    # MSI was enabled before D3cold: the register keeps it while unpowered (nobody can read it)
    # and loses it when power returns; the old model reset at power-off and let later writes land
    m = model()
    run(m, "pci_bind_driver(driver=host)\npci_enable_msi()")
    assert m.state.hw.read(MSI_FLAGS, 2) & 0x1
    run(m, "pci_set_power_state(state=d3cold)")
    assert m.state.hw.read(MSI_FLAGS, 2) == 0xFFFF
    run(m, "pci_set_power_state(state=d0)")
    assert not m.state.hw.read(MSI_FLAGS, 2) & 0x1 and m.state.dev.msi_enabled


def test_a_kernel_write_while_in_d3cold_is_lost_at_power_on():
    # pci_restore_state of a device the kernel left in D3cold: every write is dropped; after the
    # power-on the function holds its power-on values, not the restored ones
    m = model()
    run(m, "pci_bind_driver(driver=host)\npci_enable_msi()\npci_save_state()\npci_set_power_state(state=d3cold)\n"
           "pci_restore_state()\npci_set_power_state(state=d0)")
    assert not m.state.hw.read(MSI_FLAGS, 2) & 0x1
    assert m.state.hw.read(0x10, 4) == 0   # BAR0 at its power-on value; NoSoftRst: no pci_restore_bars


def test_a_power_cycle_brings_back_a_function_that_had_stopped_answering():
    # __pci_set_power_state(D3cold): pci_set_low_power_state fails (PMCSR all-ones, -EIO) but the
    # platform still removes power and the call returns 0; pci_power_up's power-on is a cold
    # reset, after which the function answers
    m = model()
    assert run(m, "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_set_power_state(state=d3cold)") == [0, 0, 0]
    assert not m.state.hw.powered and m.state.hw.read(0x00, 4) == 0xFFFFFFFF
    assert run(m, "pci_set_power_state(state=d0)") == [0]
    assert m.state.hw.read(0x00, 4) == 0x15218086 and m.state.dev.current_state == D0
