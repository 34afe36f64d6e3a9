"""ASPM link configuration as policy paths ([path.pcie_aspm_set_policy], [path.pcie_config_aspm_link],
[path.pcie_config_aspm_l1ss], [path.pcie_set_clkpm]; drivers/pci/pcie/aspm.c, v7.1.3): the op
pci_enable_l1ss sets the powersupersave policy. The link is what enumeration found
(model/enumeration.aspm_link); the configuration updates the saved state in place, so a later
restore writes it back. On the built-in Wi-Fi's root port (no ASPM in its LNKCAP) nothing happens;
tests/data/wifi-7265-aspm.toml puts the same function below a root port with L0s and L1."""

from pathlib import Path

from both_models import model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.engine import model_view
from fuzzcore.model.caps import cap_offsets
from fuzzcore.model.enumeration import LINK_L1, LINK_L1SS, aspm_link
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.program.fzs import parse_program

WIFI_ASPM = str(Path(__file__).parent / "data" / "wifi-7265-aspm.toml")
LNKCTL = 0x10


def run(m, text):
    return [m.apply(call) for call in parse_program(text)]


def saved(m, cap_id, extended, offset, width):
    """A saved-state buffer's bytes at `offset`, on either model (Engine.view / model_view)."""
    view = m.engine.view() if hasattr(m, "engine") else model_view(m)
    data = next(d for c, e, d, _ in view["buffers"] if c == cap_id and e == extended)
    return int.from_bytes(data[offset:offset + width], "little")


def regs(m):
    """(child LNKCTL, parent LNKCTL, child L1SS CTL1, parent L1SS CTL1) as the hardware holds them."""
    hw, port = m.state.hw, m.state.port.hw
    return (hw.read(m.caps.exp + LNKCTL, 2), port.read(m.port_caps.exp + LNKCTL, 2),
            hw.read(m.caps.l1ss + 0x08, 4), port.read(m.port_caps.l1ss + 0x08, 4))


def test_enumeration_finds_the_link():
    wifi = resolve_device("wifi-7265")
    port = resolve_device("cnl-rootport")
    link = aspm_link(wifi, cap_offsets(wifi), port, cap_offsets(port))
    assert link.capable == 0 and link.enabled == 0          # the port's LNKCAP: no L0s, no L1
    wifi = resolve_device(WIFI_ASPM)
    port = resolve_device(wifi.upstream_port)
    link = aspm_link(wifi, cap_offsets(wifi), port, cap_offsets(port))
    assert link.capable == LINK_L1 | LINK_L1SS               # the Wi-Fi has no L0s; all four substates
    assert link.enabled == 0                                  # the port's LNKCTL has L1 off
    i350 = resolve_device("i350")
    assert aspm_link(i350, cap_offsets(i350), None, None) is None


def test_no_aspm_on_the_builtin_link():
    m = model(device="wifi-7265")
    run(m, "pci_bind_driver(driver=host)")
    before = regs(m)
    assert run(m, "pci_enable_l1ss()") == [0]
    assert regs(m) == before


def test_powersupersave_configures_the_link_and_updates_the_saved_state():
    """L1 on at both ends, the four substates set again and CLKREQ# on, in the kernel's order
    (reference trace); the link's aspm_enabled records it; the L1SS buffers and the PCIe buffer's LNKCTL hold
    the new values, so the driver's restore after a frozen recovery's bus reset (no save of its
    own) puts L1 back, with no report."""
    m = model(device=WIFI_ASPM)
    run(m, "pci_bind_driver(driver=host)\npci_save_state()")
    clnk, plnk, cctl1, pctl1 = regs(m)
    assert run(m, "pci_enable_l1ss()") == [0]
    assert (clnk, cctl1 & 0xF) == (0x040, 0)
    assert regs(m) == (clnk | 0x102, plnk | 0x2, cctl1 | 0xF, pctl1)   # L1, CLKREQ# (pcie_set_clkpm)
    assert m.state.port.dev.aspm_enabled == LINK_L1 | LINK_L1SS
    assert saved(m, 0x10, False, 2, 2) == clnk | 0x102       # pci_update_aspm_saved_state: LNKCTL
    assert m.state.port.dev.clkpm_enabled
    assert run(m, "pci_enable_l1ss()") == [0]                 # the link has that state: nothing
    run(m, "pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)")
    assert saved(m, 0x1E, True, 0, 4) == cctl1 | 0xF          # pci_save_aspm_l1ss_state
    assert regs(m)[0] == clnk | 0x102 and regs(m)[2] == cctl1 | 0xF
    assert not [v for v in m.oracle.violations if v.register in ("L1SS", "PCIe")]


def test_write_order():
    """Child then parent ASPM off; L1SS enables off child then parent, on parent then child;
    LNKCTL's ASPM parent then child; then Clock PM (reference trace)."""
    ref = Model(resolve_device(WIFI_ASPM), load_policy("linux-7.1"))
    res = ref.run(parse_program("pci_bind_driver(driver=host)\npci_enable_l1ss()"), trace=True)
    caps, pcaps = ref.caps, ref.port_caps
    names = {("dev", caps.exp + LNKCTL): "child LNKCTL", ("port", pcaps.exp + LNKCTL): "parent LNKCTL",
             ("dev", caps.l1ss + 0x08): "child CTL1", ("port", pcaps.l1ss + 0x08): "parent CTL1"}
    order = [names[(t.target, t.offset)] for t in res.trace if t.op_index == 1 and (t.target, t.offset) in names]
    assert order == ["child LNKCTL", "parent LNKCTL", "child CTL1", "parent CTL1", "parent CTL1", "child CTL1",
                     "parent LNKCTL", "child LNKCTL", "child LNKCTL"]      # the last: pcie_set_clkpm's CLKREQ#


def test_worked_overlay_pre_6d4266675279():
    """docs/examples/pre-6d4266675279.toml: without the in-place update the driver's restore after
    the recovery writes the probe-time LNKCTL and L1SS back (L1, CLKREQ# and the substates off)."""
    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    prog = ("pci_bind_driver(driver=host)\npci_save_state()\npci_enable_l1ss()\n"
            "pcie_do_recovery(channel=frozen, vote=need_reset, source=aer)")
    out = {}
    for spec in ("linux-7.1", f"linux-7.1+{examples / 'pre-6d4266675279.toml'}"):
        m = model(spec, WIFI_ASPM)
        run(m, prog)
        out[spec] = regs(m)
    base, old = out.values()
    assert base[0] == 0x142 and base[2] & 0xF == 0xF
    assert old[0] == 0x040 and old[2] & 0xF == 0


def test_the_policy_persists_and_power_transitions_reapply_it():
    """The policy is kernel state: set while the function is in D3hot, the PCI-PM substates stay
    off (both ends must be in D0); the function's return to D0 runs pcie_aspm_pm_state_change,
    which configures the link again for the policy and turns them on. Setting the same policy
    again returns at once (pcie_aspm_set_policy: i == aspm_policy)."""
    m = model(device=WIFI_ASPM)
    run(m, "pci_bind_driver(driver=host)\npci_set_power_state(state=d3hot)\npci_enable_l1ss()")
    assert regs(m)[2] & 0xF == 0xC                  # ASPM L1.1 and L1.2 only
    assert m.state.port.dev.aspm_supersave
    run(m, "pci_set_power_state(state=d0)")
    assert regs(m)[2] & 0xF == 0xF                  # PCI-PM L1.1 and L1.2 too
    before = regs(m)
    assert run(m, "pci_enable_l1ss()") == [0] and regs(m) == before


WIFI_L1ON = str(Path(__file__).parent / "data" / "wifi-7265-aspm-l1on.toml")


def _l1ss_order(spec, profile, text):
    m = model(spec, profile)
    run(m, text)
    return [v for v in m.oracle.violations if v.invariant == "order_violation" and v.register == "L1SS"]


def test_l1ss_changes_need_l1_off_at_both_ends_wherever_the_kernel_writes_them():
    """The L1SS order rule (PCIe r6.2 §5.5.4, as aspm.c's comments give it) holds at either end of
    the link and on every kernel write, not only inside a restore. Two fixes as overlays from the
    docs: before 7447990137bf pcie_config_aspm_link cleared the L1SS enables while L1 was still on
    (the link as firmware left it, L1 on at both ends); before 64dbb2d70744 the L1SS restore ran
    with only the child's ASPM cleared, the port's L1 on. Both are order violations on L1SS, on
    both models; the baseline raises none."""
    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    enable = "pci_bind_driver(driver=host)\npci_enable_l1ss()\n"
    restore = enable + "pci_save_state()\npci_restore_state()\n"
    assert not _l1ss_order("linux-7.1", WIFI_L1ON, enable)
    assert not _l1ss_order("linux-7.1", WIFI_ASPM, restore)
    found = _l1ss_order(f"linux-7.1+{examples / 'pre-7447990137bf.toml'}", WIFI_L1ON, enable)
    assert {v.expected for v in found} == {"ASPM L0s/L1 off at both ends while L1SS changes"}
    found = _l1ss_order(f"linux-7.1+{examples / 'pre-64dbb2d70744.toml'}", WIFI_ASPM, restore)
    assert {v.expected for v in found} == {"ASPM L0s/L1 off at both ends while L1SS changes"}


def test_a_value_read_earlier_in_the_path_is_data_f3d049b35b01():
    """docs/examples/pre-f3d049b35b01.toml restates the L1SS restore's LNKCTL bracket with the
    generic locals (read_local, test_local, cap_write of local_a/local_b) and swaps the write-back,
    as the kernel before the fix did: the child's LNKCTL (CLKREQ# on) is written to the port. The
    baseline writes each end its own value; both models agree on the overlay."""
    from fuzzcore.measure.selfcheck import first_divergence
    from fuzzcore.engine import Engine
    from fuzzcore.validate.compare import run_model
    examples = Path(__file__).resolve().parent.parent / "docs" / "examples"
    spec = f"linux-7.1+{examples / 'pre-f3d049b35b01.toml'}"
    calls = parse_program("pci_bind_driver(driver=host)\npci_enable_l1ss()\npci_save_state()\npci_restore_state()")
    prof = resolve_device(WIFI_ASPM)
    port_lnkctl = cap_offsets(resolve_device(prof.upstream_port)).exp + LNKCTL
    written = {}
    for name, policy in (("base", "linux-7.1"), ("pre", spec)):
        _, writes, _, _ = run_model(prof, load_policy(policy), calls)
        written[name] = [w.value for w in writes if w.op_index == 3 and w.target == "port" and w.offset == port_lnkctl]
        assert first_divergence(Engine(prof, load_policy(policy)), Model(prof, load_policy(policy)), calls,
                                prof.name, policy) is None
    assert written["base"] == [0x0040, 0x0042]        # ASPM off, then the port's own value back
    assert written["pre"] == [0x0040, 0x0142]         # the child's value (CLKREQ# on) on the port
