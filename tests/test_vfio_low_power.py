"""A vfio user's low-power feature (op vfio_low_power, docs/kernel.md §6.11) on both models:
VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY drops the open's runtime-PM reference, so the ioctl's own put
runtime-suspends the open device; every later ioctl and region access resumes it and lets it
suspend again; a wake-up eventfd, LOW_POWER_EXIT or the close ends the low-power state."""

from both_models import both, model  # noqa: F401  (fixture `both`: a test on both models)
from fuzzcore.program.fzs import parse_program

D0, D3HOT = 0, 3


def run(text, policy="linux-7.1", device="i350"):
    m = model(policy, device)
    rcs = [m.apply(c) for c in parse_program(text)]
    return m, rcs


def pmcsr_state(m):
    return m.state.hw.read(m.caps.pm + 4, 2) & 0x3


def test_entry_suspends_the_open_device_and_a_second_entry_is_einval(both):
    m, rcs = run("vfio_open()\nvfio_low_power(action=entry)")
    assert rcs == [0, 0]
    assert m.state.vfio.pm_engaged and not m.state.vfio.pm_wakeup
    assert m.state.dev.rpm_suspended and m.state.dev.current_state == D3HOT and pmcsr_state(m) == D3HOT
    m, rcs = run("vfio_open()\nvfio_low_power(action=entry)\nvfio_low_power(action=entry)")
    assert rcs[-1] == -22                                  # pm_runtime_engaged already: -EINVAL
    assert m.state.dev.rpm_suspended                       # the ioctl's get and put: suspended again


def test_an_access_resumes_the_device_for_itself_and_it_suspends_again(both):
    """vfio_pci_rw's pm_runtime_resume_and_get: the BAR read finds the device in D0 (no -EIO for
    D3hot), then the put suspends it again; without the entry an open device stays active."""
    m, rcs = run("vfio_open()\nvfio_low_power(action=entry)\nvfio_bar_rw(bar=0, access=read)")
    assert rcs[-1] == 0
    assert not [v for v in m.oracle.violations if v.invariant == "mmio_decode_off"]
    assert m.state.dev.rpm_suspended and m.state.vfio.pm_engaged
    m, _ = run("vfio_open()\nvfio_bar_rw(bar=0, access=read)")
    assert not m.state.dev.rpm_suspended and m.state.dev.current_state == D0


def test_exit_and_wakeup_end_the_low_power_state(both):
    m, rcs = run("vfio_open()\nvfio_low_power(action=entry)\nvfio_low_power(action=exit)")
    assert rcs[-1] == 0 and not m.state.vfio.pm_engaged
    assert not m.state.dev.rpm_suspended and m.state.dev.current_state == D0
    # with a wake-up eventfd the next resume (here the reset ioctl's get) ends it by itself
    m, _ = run("vfio_open()\nvfio_low_power(action=entry_wakeup)\nvfio_device_reset()")
    assert not m.state.vfio.pm_engaged and not m.state.vfio.pm_wakeup
    assert not m.state.dev.rpm_suspended
    # without one, the device suspends again after the reset
    m, _ = run("vfio_open()\nvfio_low_power(action=entry)\nvfio_device_reset()")
    assert m.state.vfio.pm_engaged and m.state.dev.rpm_suspended


def test_close_ends_it_and_the_closed_device_suspends_as_usual(both):
    m, rcs = run("vfio_open()\nvfio_low_power(action=entry)\nvfio_close()")
    assert rcs[-1] == 0
    assert not m.state.vfio.open and not m.state.vfio.pm_engaged
    assert m.state.dev.rpm_suspended                       # the idle closed device, as after any close
    assert not m.oracle.violations


def test_with_disable_idle_d3_the_entry_drops_the_probes_reference(both, tmp_path):
    """With vfio.disable_idle_d3 neither the bind's put nor the open's get happens, so the entry's
    put_noidle drops the reference local_pci_probe took: the open device suspends all the same,
    and after the close (whose exit takes it back) the closed device stays active."""
    f = tmp_path / "noidle.toml"
    f.write_text('[overlay]\nname = "noidle"\ndescription = "d"\ncommit = ""\nreference = ""\n'
                 '[vfio]\ndisable_idle_d3 = true\n')
    m, rcs = run("vfio_open()\nvfio_low_power(action=entry)", policy=f"linux-7.1+{f}")
    assert rcs[-1] == 0 and m.state.vfio.pm_engaged and m.state.dev.rpm_suspended
    m, _ = run("vfio_open()\nvfio_low_power(action=entry)\nvfio_close()", policy=f"linux-7.1+{f}")
    assert not m.state.dev.rpm_suspended


def test_the_entry_is_a_policy_path(both, tmp_path):
    """A kernel without the -EINVAL check is one removed step: the second entry then succeeds."""
    f = tmp_path / "nobusy.toml"
    f.write_text('[overlay]\nname = "nobusy"\ndescription = "d"\ncommit = ""\nreference = ""\n'
                 '[path.vfio_pci_core_pm_entry]\nremove = ["busy"]\n')
    _, rcs = run("vfio_open()\nvfio_low_power(action=entry)\nvfio_low_power(action=entry)",
                 policy=f"linux-7.1+{f}")
    assert rcs[-1] == 0


def test_the_op_needs_the_open_device(both):
    _, rcs = run("vfio_low_power(action=entry)")
    assert rcs == [-19]                                    # -ENODEV: only through the open device fd


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "docs" / "examples"
INTX_DISABLE = 0x400


def test_the_runtime_suspend_masks_the_users_intx_and_the_resume_unmasks_it(both):
    """4813724c4b76 (docs/examples/pre-4813724c4b76.toml): with the user's INTx on, the device
    sleeps with INTx Disable set and wakes with it clear; before the fix it is never set."""
    prog = "vfio_open()\nvfio_set_irqs(index=intx, count=0)\nvfio_low_power(action=entry)"
    m, _ = run(prog)
    assert m.state.hw.read(0x04, 2) & INTX_DISABLE and m.state.vfio.pm_intx_masked
    m, _ = run(prog + "\nvfio_low_power(action=exit)")
    assert not m.state.hw.read(0x04, 2) & INTX_DISABLE
    m, _ = run(prog, policy=f"linux-7.1+{EXAMPLES / 'pre-4813724c4b76.toml'}")
    assert not m.state.hw.read(0x04, 2) & INTX_DISABLE and not m.state.vfio.pm_intx_masked


def test_intx_enable_follows_the_users_intx_disable(both):
    """899649b7d4ea (docs/examples/pre-899649b7d4ea.toml): INTx Disable set by the user in MSI mode
    reaches the hardware; back in INTx mode the fix starts the context masked, so the user's clear
    unmasks it; before the fix the context starts unmasked and the hardware keeps INTx Disable."""
    prog = ("vfio_open()\nvfio_set_irqs(index=msi, count=0)\n"
            "vfio_config_write(offset=0x4, width=2, value=0x0402)\n"
            "vfio_set_irqs(index=intx, count=0)\nvfio_config_write(offset=0x4, width=2, value=0x0002)")
    m, _ = run(prog)
    assert not m.state.hw.read(0x04, 2) & INTX_DISABLE
    m, _ = run(prog, policy=f"linux-7.1+{EXAMPLES / 'pre-899649b7d4ea.toml'}")
    assert m.state.hw.read(0x04, 2) & INTX_DISABLE


def test_a_step_can_read_the_disable_idle_d3_parameter_alone(both, tmp_path):
    """Condition disable_idle_d3 (the module parameter, whatever vfio_idle says): a step under
    `not disable_idle_d3` runs in the baseline and not with the parameter set."""
    body = ('[overlay]\nname = "t"\ndescription = "d"\ncommit = ""\nreference = ""\n'
            '[path.vfio_pci_core_pm_entry]\ninsert = [{ step = "refuse", before = "busy" }]\n'
            '[path.vfio_pci_core_pm_entry.step]\nrefuse = { do = "fail", errno = "enotty", when = "not disable_idle_d3" }\n')
    f = tmp_path / "t.toml"
    f.write_text(body)
    g = tmp_path / "u.toml"
    g.write_text(body.replace('name = "t"', 'name = "u"') + '[vfio]\ndisable_idle_d3 = true\n')
    _, rcs = run("vfio_open()\nvfio_low_power(action=entry)", policy=f"linux-7.1+{f}")
    assert rcs[-1] == -25
    _, rcs = run("vfio_open()\nvfio_low_power(action=entry)", policy=f"linux-7.1+{g}")
    assert rcs[-1] == 0


def test_vconfig_is_not_compared_while_the_open_device_is_runtime_suspended(both):
    """A power loss while the user's low-power entry holds the device runtime-suspended: the
    hardware's Command is 0, vconfig's has Memory, but nothing reaches the device without
    resuming it first, and the resume restores Command (audit N, A3): nothing is reported, not
    at the exit's resume either. A silent reset while it is active is reported."""
    prog = ("vfio_open()\nvfio_config_write(offset=0x4, width=2, value=0x0003)\nvfio_low_power(action=entry)\n"
            "pm_system_sleep(transition=s2idle, power=lost)\nvfio_low_power(action=exit)")
    m, rcs = run(prog, device="fiji")
    assert rcs[-1] == 0 and m.state.hw.read(0x04, 2) & 0x3 == 0x3
    assert not [v for v in m.oracle.violations if v.invariant == "vconfig_mismatch"], \
        [str(v) for v in m.oracle.violations]
    m, _ = run("vfio_open()\nvfio_config_write(offset=0x4, width=2, value=0x0003)\nhw_link_down()", device="fiji")
    assert [v for v in m.oracle.violations if v.invariant == "vconfig_mismatch"]
