"""The bound host driver's probe and remove are [driver.probe] (local_pci_probe -> drv->probe:
enable, Bus Master, pci_save_state as igb_probe does) and [driver.remove] (pci_device_remove ->
drv->remove: at unbind it frees its vectors, turns TPH off as bnxt_free_irq and mlx5's lib/st.c
do, and disables the device). A driver that differs is a one-line overlay; on both models."""

from both_models import model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.program.fzs import parse_program
from profiles import I350_TPH

PROGRAM = """
    pci_bind_driver(driver=host)
    pci_enable_tph(mode=no_st)
    pci_enable_msix(nvec=2)
    pci_bind_driver(driver=vfio)
"""

LEAKY = """\
[overlay]
name = "driver-keeps-tph"
description = "the host driver's remove leaves TPH enabled"
commit = "none"
reference = "§1.5"

[driver.remove]
remove = ["disable_tph"]
"""


def run(m, text):
    for call in parse_program(text):
        m.apply(call)


def test_remove_undoes_what_the_driver_enabled():
    m = model(device=I350_TPH)
    run(m, PROGRAM[:PROGRAM.index("pci_bind_driver(driver=vfio)")])
    assert m.state.dev.tph_enabled and m.state.dev.msix_enabled
    run(m, "pci_bind_driver(driver=vfio)")
    d = m.state.dev
    assert d.driver == "vfio" and not d.tph_enabled and not d.msix_enabled
    assert m.state.hw.read(m.caps.tph + 8, 4) & 0x300 == 0          # TPH Requester Enable off
    assert m.state.hw.read(m.caps.msix + 2, 2) & 0x8000 == 0        # MSI-X Enable off


def test_a_driver_that_forgets_tph_is_an_overlay(tmp_path):
    overlay = tmp_path / "leaky.toml"
    overlay.write_text(LEAKY)
    m = model(f"linux-7.1+{overlay}", device=I350_TPH)
    run(m, PROGRAM)
    d = m.state.dev
    assert d.driver == "vfio" and d.tph_enabled and not d.msix_enabled
    assert m.state.hw.read(m.caps.tph + 8, 4) & 0x300


def test_probe_saves_after_bus_master_and_an_overlay_can_drop_it(tmp_path):
    m = model()
    run(m, "pci_bind_driver(driver=host)")
    d = m.state.dev
    assert d.driver == "host" and d.is_busmaster and d.state_saved
    assert d.saved_config[1] & 0x4                      # the probe's snapshot has Bus Master on
    overlay = tmp_path / "no-save.toml"
    overlay.write_text(LEAKY.replace("driver-keeps-tph", "driver-no-probe-save").split("[driver.remove]")[0]
                       + '[driver.probe]\nremove = ["save"]\n')
    m = model(f"linux-7.1+{overlay}")
    run(m, "pci_bind_driver(driver=host)")
    assert m.state.dev.is_busmaster and not m.state.dev.saved_config[1] & 0x4


def test_the_bind_is_a_path_an_overlay_edits(tmp_path):
    """pci_bind_driver is [path.device_bind_driver]. With power/control auto (the op
    pci_pm_runtime_suspend: pm_runtime_allow), an unbind resumes the host driver's suspended I350,
    runs its remove, and the idle check after it (pci_device_remove's pm_runtime_put_sync)
    runtime-suspends the unbound device again; an overlay without that step leaves it active."""
    prog = "pci_bind_driver(driver=host)\npci_pm_runtime_suspend()\npci_bind_driver(driver=none)\n"
    m = model()
    run(m, prog)
    assert m.state.dev.driver == "none" and m.state.dev.rpm_suspended
    overlay = tmp_path / "no-idle.toml"
    overlay.write_text(LEAKY.replace("driver-keeps-tph", "no-idle-after-unbind").split("[driver.remove]")[0]
                       + '[path.device_bind_driver]\nremove = ["idle"]\n')
    m = model(f"linux-7.1+{overlay}")
    run(m, prog)
    assert m.state.dev.driver == "none" and not m.state.dev.rpm_suspended
