"""Preconditions (issue 17): an op runs only in a state where the kernel performs it; otherwise it
returns the kernel's error and changes nothing. One test per rule, each naming the upstream
function that decides it, on both models (the reference and the native engine through
ModelFacade), plus the table's own consistency, the trace, and the behaviour changes the issue
lists (reset methods as pci_init_reset_methods probes them, power on an unreachable device, the
runtime-suspended idle vfio device, vfio's PMCSR handler, the enumeration snapshot, BAR order
checks only on implemented BARs)."""

import pytest

from both_models import MODELS, model, which_model  # noqa: F401  (autouse fixture: both models)
from fuzzcore.device.builtin import resolve_device
from fuzzcore.model.machine import Model
from fuzzcore.policy import load_policy
from fuzzcore.program.codec import Call, encode
from fuzzcore.program.fzs import parse_program
from fuzzcore.program.op_table import (EAGAIN, EBUSY, EINVAL, ENODEV, ENOENT, EPERM, FACTS, OP_INDEX, OPS,
                                       compile_preconditions)
from fuzzcore.model.state import D0, D3COLD, D3HOT


def run(m, text):
    return [m.apply(c) for c in parse_program(text)]


def refused_unchanged(m, text):
    """Apply the last op of `text` after the others; assert it changed nothing; return its rc."""
    calls = parse_program(text)
    for c in calls[:-1]:
        m.apply(c)
    before = m.state_digest() if hasattr(m, "state_digest") else None
    view = _view(m)
    rc = m.apply(calls[-1])
    assert _view(m) == view, f"{calls[-1].name} was refused ({rc}) but changed the state"
    if before is not None:
        assert m.state_digest() == before
    return rc


def _view(m):
    st = m.state
    return (bytes(st.hw.config), st.dev.current_state, st.dev.driver, st.vfio.open, st.dev.rpm_suspended,
            st.dev.msix_enabled, st.dev.msi_enabled, st.dev.tph_enabled, st.dev.state_saved,
            tuple(st.dev.saved_config), tuple(st.dev.resources), len(m.oracle.violations))


def result_refused(policy, device, text):
    """Both models' Result.refused for a whole program (the engine through Engine.run)."""
    from fuzzcore.engine import Engine
    calls = parse_program(text)
    ref = Model(resolve_device(device), load_policy(policy)).run(calls)
    eng = Engine(resolve_device(device), load_policy(policy)).run(encode(calls))
    assert ref.refused == eng.refused and ref.returns == eng.returns
    return ref.refused, ref.returns


# --- the table -------------------------------------------------------------------------------

def test_every_rule_names_a_fact_value_an_errno_and_its_upstream_function():
    for op in OPS:
        for r in op.pre:
            assert r.fact in FACTS and r.allowed and set(r.allowed) <= set(FACTS[r.fact])
            assert r.errno != 0
            first = r.cite.split(":")[0].split(" ")[0]     # the upstream function comes first
            assert "_" in first and first.replace("_", "").isalnum(), (op.name, r.cite)


def test_ops_that_exist_only_inside_kernel_paths_are_not_ops():
    # pci_bus_error_reset: its only caller is aer_root_reset (drivers/pci/pcie/aer.c), inside
    # pcie_do_recovery. pci_configure_ltr: static, called from pci_configure_device at
    # enumeration only (drivers/pci/probe.c).
    assert "pci_bus_error_reset" not in OP_INDEX
    assert "pci_configure_ltr" not in OP_INDEX


def test_the_policy_widens_a_rule_vfio_tph():
    base = compile_preconditions(load_policy("linux-7.1"))[OP_INDEX["pci_enable_tph"]]
    tph = compile_preconditions(load_policy("linux-7.1+vfio-tph"))[OP_INDEX["pci_enable_tph"]]
    owners = FACTS["owner"]
    assert base[0][1] == 1 << owners.index("host")
    assert tph[0][1] == (1 << owners.index("host")) | (1 << owners.index("vfio_open"))


# --- one test per rule: the refusal ------------------------------------------------------------

def test_pcie_enable_tph_has_no_vfio_caller_in_v7_1_3():
    """pcie_enable_tph: only host drivers call it; vfio-pci has no caller in v7.1.3."""
    m = model()
    assert refused_unchanged(m, "vfio_open()\npci_enable_tph(mode=no_st)") == EPERM
    m = model("linux-7.1+vfio-tph", device="dsa")      # the I350's root port is no TPH completer
    run(m, "vfio_open()")
    assert m.apply(Call.of("pci_enable_tph", mode="no_st")) == 0 and m.state.dev.tph_enabled


@pytest.mark.parametrize("op", ["pci_enable_msix(nvec=0)", "pci_enable_msi()", "pci_enable_ats(stu=0)",
                                "pci_enable_ptm()", "pci_save_state()", "pci_restore_state()",
                                "pci_set_power_state(state=d3hot)", "pci_resize_bar(size=1)"])
def test_driver_and_iommu_calls_need_a_bound_host_driver(op):
    """pci_alloc_irq_vectors, pci_enable_ats, pci_enable_ptm, pci_save_state, pci_restore_state,
    pci_set_power_state, pci_resize_resource: the bound driver's (or the IOMMU code acting for
    it) calls; vfio-pci never makes them for its user, an unbound device has no caller."""
    m = model()
    assert refused_unchanged(m, f"vfio_open()\n{op}") == EPERM
    m = model()
    assert refused_unchanged(m, f"pci_bind_driver(driver=none)\n{op}") == EPERM


@pytest.mark.parametrize("op", ["pci_enable_msix(nvec=1)", "pci_save_state()", "pci_restore_state()",
                                "pci_set_power_state(state=d3hot)", "pci_enable_ats(stu=0)"])
def test_a_driver_told_the_device_failed_makes_no_new_calls_until_it_recovers_or_is_rebound(op):
    """report_perm_failure_detected (7.1.3) tells the bound driver error_detected(perm_failure):
    Documentation/PCI/pci-error-recovery.rst, "the driver shouldn't do any new IOs" (owner
    host_failed). A later recovery's report_resume, or a new binding, ends it; a driver with no
    error_detected (its recovery voted no_aer_driver) is never told and goes on."""
    failed = "pci_bind_driver(driver=host)\npcie_do_recovery(channel=frozen, vote=disconnect, source=aer)\n"
    m = model()
    assert refused_unchanged(m, failed + op) == EPERM
    assert m.state.dev.driver_failed
    m = model()
    run(m, failed + "pcie_do_recovery(channel=normal, vote=can_recover, source=aer)")
    assert not m.state.dev.driver_failed                            # resumed: its calls happen again
    m = model()
    run(m, failed + "pci_bind_driver(driver=host)")
    assert not m.state.dev.driver_failed                            # a new binding
    m = model()
    run(m, "pci_bind_driver(driver=host)\npcie_do_recovery(channel=frozen, vote=no_aer_driver, source=aer)")
    assert not m.state.dev.driver_failed                            # never told: no error_detected
    # kernel paths and the administrator's ops still run on it
    m = model()
    run(m, failed)
    assert m.apply(parse_program("pci_bind_driver(driver=none)")[0]) == 0
    assert "host_failed" in FACTS["owner"]


def test_sriov_numvfs_needs_a_pf_driver():
    """sriov_numvfs_store: -ENOENT without a bound driver's sriov_configure."""
    m = model()
    assert refused_unchanged(m, "vfio_open()\npci_enable_sriov(num_vfs=0)") == ENOENT


def test_msix_enable_outside_d0_is_einval():
    """__pci_enable_msix_range: -EINVAL if dev->current_state != PCI_D0."""
    m = model()
    text = "pci_bind_driver(driver=host)\npci_set_power_state(state=d3hot)\npci_enable_msix(nvec=1)"
    assert refused_unchanged(m, text) == EINVAL
    assert not m.state.dev.msix_enabled and m.state.dev.current_state == D3HOT


def test_msi_enable_outside_d0_is_einval():
    """__pci_enable_msi_range: -EINVAL if dev->current_state != PCI_D0."""
    m = model()
    text = "pci_bind_driver(driver=host)\npci_set_power_state(state=d3hot)\npci_enable_msi()"
    assert refused_unchanged(m, text) == EINVAL


def test_bar_reassignment_needs_no_driver():
    """__resource_resize_store / pci_reassign_resource: -EBUSY while a driver is bound."""
    m = model()
    assert refused_unchanged(m, "pci_assign_bar(bar=0, slot=1)") == EBUSY
    m = model()
    run(m, "pci_bind_driver(driver=none)")
    assert m.apply(Call.of("pci_assign_bar", bar=0, slot=1)) == 0


def test_unbind_waits_for_the_vfio_user():
    """vfio_pci_core_unregister_device -> vfio_unregister_group_dev: no unbind while open."""
    m = model()
    assert refused_unchanged(m, "vfio_open()\npci_bind_driver(driver=host)") == EBUSY


@pytest.mark.parametrize("op", ["vfio_close()", "vfio_set_irqs(index=msix, count=0)", "vfio_device_reset()",
                                "vfio_hot_reset()", "vfio_config_write(offset=0x04, width=2, value=0x6)",
                                "qemu_reset()", "qemu_pre_reset()", "qemu_post_reset()"])
def test_vfio_and_qemu_ops_need_the_open_device_fd(op):
    """vfio_pci_core_ioctl / vfio_pci_core_read/write: only through the open device fd."""
    m = model()
    assert refused_unchanged(m, op) == ENODEV


def test_qemu_post_reset_only_closes_a_reset_qemu_opened():
    """vfio_pci_reset / vfio_pci_hot_reset (QEMU hw/vfio/pci.c): vfio_pci_post_reset runs only
    after the same reset's vfio_pci_pre_reset."""
    m = model()
    assert refused_unchanged(m, "vfio_open()\nqemu_post_reset()") == EPERM
    m = model()
    assert refused_unchanged(m, "vfio_open()\nqemu_pre_reset()\nqemu_post_reset()\nqemu_post_reset()") == EPERM


@pytest.mark.parametrize("op", ["vfio_config_write(offset=0x04, width=2, value=0x6)",
                                "vfio_set_irqs(index=msix, count=1)", "vfio_close()", "qemu_pre_reset()",
                                "qemu_reset()"])
def test_qemu_issues_nothing_but_the_reset_between_pre_and_post_reset(op):
    """vfio_pci_reset: between vfio_pci_pre_reset and vfio_pci_post_reset QEMU issues only the reset
    ioctls, under the BQL: no guest config access, SET_IRQS, close or second reset."""
    m = model()
    assert refused_unchanged(m, f"vfio_open()\nqemu_pre_reset()\n{op}") == EPERM
    assert m.state.vfio.qemu_resetting


def test_the_reset_ioctls_and_kernel_paths_run_between_pre_and_post_reset():
    """vfio_pci_reset tries VFIO_DEVICE_RESET, then a hot reset (vfio_pci_hot_reset_one); the
    kernel's own paths are not QEMU's and run meanwhile; after post-reset the guest goes on."""
    m = model()
    rcs = run(m, "vfio_open()\nqemu_pre_reset()\nvfio_device_reset()\nvfio_hot_reset()\n"
                 "pcie_do_recovery(channel=normal, vote=can_recover, source=aer)\nqemu_post_reset()\n"
                 "vfio_config_write(offset=0x04, width=2, value=0x6)\nqemu_reset()\nvfio_close()")
    assert EPERM not in rcs and not m.state.vfio.qemu_resetting and not m.state.vfio.open


def test_one_vfio_open_at_a_time():
    """vfio_df_open: the device is open already (and only vfio-pci's devices open)."""
    m = model()
    assert refused_unchanged(m, "vfio_open()\nvfio_open()") == EBUSY
    m = model()
    assert refused_unchanged(m, "pci_bind_driver(driver=host)\nvfio_open()") == EBUSY


def test_runtime_suspend_refused_while_vfio_holds_its_reference():
    """rpm_check_suspend_allowed: -EAGAIN while vfio_pci_core_enable's pm_runtime_resume_and_get
    reference is held."""
    m = model()
    assert refused_unchanged(m, "vfio_open()\npci_pm_runtime_suspend()") == EAGAIN


def test_runtime_suspend_refused_with_disable_idle_d3():
    """disable_idle_d3: vfio_pci_core_register_device keeps its runtime-PM reference."""
    m = MODELS["current"](resolve_device("i350"), _idle_d3_policy())
    m.start()
    assert m.state.dev.current_state == D0 and not m.state.dev.rpm_suspended
    assert refused_unchanged(m, "pci_pm_runtime_suspend()") == EAGAIN


def test_runtime_resume_only_after_a_runtime_suspend():
    """rpm_resume returns 1 when the device is already active: pci_pm_runtime_resume runs only
    after a runtime suspend (and never while vfio holds its reference)."""
    m = model()
    assert refused_unchanged(m, "vfio_open()\npci_pm_runtime_resume()") == 1
    m = model()
    assert refused_unchanged(m, "pci_bind_driver(driver=host)\npci_pm_runtime_resume()") == 1


def test_runtime_suspend_twice_is_refused():
    """rpm_suspend returns 1 when already suspended (the idle vfio device is, at start)."""
    m = model()
    assert refused_unchanged(m, "pci_pm_runtime_suspend()") == 1


def test_power_state_change_needs_an_active_device():
    """A driver calls pci_set_power_state only while it holds the device active."""
    m = model()
    text = "pci_bind_driver(driver=host)\npci_pm_runtime_suspend()\npci_set_power_state(state=d0)"
    assert refused_unchanged(m, text) == EPERM


def test_reset_method_the_device_lacks_is_einval():
    """reset_method_store: -EINVAL for a method whose probe fails (the I350: no bus method,
    pci_dev_reset_slot_function refuses dev->multifunction; no pm method, NoSoftRst+)."""
    m = model()
    assert refused_unchanged(m, "pci_reset_function(method=bus)") == EINVAL
    m = model()
    assert refused_unchanged(m, "pci_reset_function(method=pm)") == EINVAL


def test_refusals_are_reported_and_agree_between_models():
    text = ("pci_enable_tph(mode=no_st)\nvfio_open()\npci_enable_msix(nvec=1)\npci_reset_function(method=bus)\n"
            "vfio_close()\npci_pm_runtime_resume()")
    refused, returns = result_refused("linux-7.1", "i350", text)
    assert refused == [0, 2, 3]
    assert returns[0] == EPERM and returns[2] == EPERM and returns[3] == EINVAL


def test_a_refusal_is_visible_in_the_trace():
    r = Model(resolve_device("i350"), load_policy("linux-7.1")).run(
        parse_program("vfio_open()\npci_enable_msix(nvec=0)"), trace=True)
    events = [t.step for t in r.trace if t.target == "event" and t.op_index == 1]
    assert events and "refused (owner is vfio_open)" in events[0] and "pci_alloc_irq_vectors" in events[0]
    assert "-EPERM" in events[0]


# --- behaviour the issue names ---------------------------------------------------------------------

def test_reset_methods_as_pci_init_reset_methods_probes_them():
    """pcie_reset_flr (DEVCAP FLR), pci_pm_reset (PM, NoSoftRst clear), pci_reset_bus_function
    (pci_dev_reset_slot_function refuses multifunction; pci_parent_bus_reset a root bus, a bridge,
    siblings)."""
    from fuzzcore.model.reset import method_available
    cases = {
        "i350": {"flr"},                 # multi-function, NoSoftRst+
        "nic-82576": {"flr", "pm"},      # multi-function, NoSoftRst-
        "wifi-7265": {"flr", "pm", "bus"},   # single function below a root port
        "fiji": set(),                   # multi-function GPU, no FLR, NoSoftRst+
        "dsa": {"flr"},                  # root-complex integrated: no parent bridge
        "plx-8532": {"pm"},              # a bridge (dev->subordinate): no bus method
    }
    for device, want in cases.items():
        m = Model(resolve_device(device), load_policy("linux-7.1"))
        m.start()
        assert {n for n in ("flr", "pm", "bus") if method_available(m, n)} == want, device


def test_no_method_means_no_sysfs_reset_file():
    """pci_dev_reset_attr_is_visible (drivers/pci/pci-sysfs.c) hides `reset` when
    !pci_reset_supported(dev) (fiji: none of the methods): user space cannot write it (-ENOENT),
    and nothing runs: no runtime resume, no restore."""
    m = model(device="fiji")
    before = m.state.hw.config.tobytes()
    assert m.apply(Call.of("pci_reset_function", method="auto")) == -2
    assert m.state.hw.config.tobytes() == before


def test_set_power_state_on_an_unreachable_device_is_eio_and_d3cold():
    """pci_set_low_power_state: PMCSR reads all-ones -> current_state = PCI_D3cold, -EIO;
    pci_power_up the same on the way to D0."""
    m = model()
    rc = run(m, "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_set_power_state(state=d3hot)")
    assert rc[-1] == -5 and m.state.dev.current_state == D3COLD
    m = model()
    rc = run(m, "pci_bind_driver(driver=host)\npci_set_power_state(state=d3hot)\nhw_inaccessible()\n"
                "pci_set_power_state(state=d0)")
    assert rc[-1] == -5 and m.state.dev.current_state == D3COLD


def test_d3cold_to_d3hot_is_einval():
    """pci_set_low_power_state: from a low-power state only deeper (-EINVAL)."""
    m = model()
    rc = run(m, "pci_bind_driver(driver=host)\npci_set_power_state(state=d3cold)\npci_set_power_state(state=d3hot)")
    assert rc[-1] == EINVAL


def _idle_d3_policy():
    import tempfile
    from pathlib import Path
    d = Path(tempfile.mkdtemp())
    f = d / "idle-d3.toml"
    f.write_text('[overlay]\nname = "idle-d3"\ndescription = "x"\ncommit = ""\nreference = ""\n'
                 '[vfio]\ndisable_idle_d3 = true\n')
    return load_policy(f"linux-7.1+{f}")


def test_the_idle_vfio_device_is_runtime_suspended_by_default():
    """vfio_pci_core_register_device: pm_runtime_allow, then (disable_idle_d3 unset)
    pm_runtime_put: the idle device runtime-suspends to D3hot with its state saved; vfio_open
    resumes it (pm_runtime_resume_and_get) and vfio_close suspends it again."""
    m = model()
    assert m.state.dev.rpm_suspended and m.state.dev.current_state == D3HOT and m.state.dev.state_saved
    run(m, "vfio_open()")
    assert not m.state.dev.rpm_suspended and m.state.dev.current_state == D0
    run(m, "vfio_close()")
    assert m.state.dev.rpm_suspended and m.state.dev.current_state == D3HOT
    m = MODELS["current"](resolve_device("i350"), _idle_d3_policy())
    m.start()
    assert not m.state.dev.rpm_suspended and m.state.dev.current_state == D0


def test_vfio_pmcsr_write_calls_the_power_transition_on_every_write():
    """vfio_pm_config_write calls vfio_lock_and_set_power_state on every PCI_PM_CTRL write; the
    transition itself is a no-op when the state does not change (__pci_set_power_state)."""
    m = model()
    pm = m.caps.pm
    run(m, "vfio_open()")
    run(m, f"vfio_config_write(offset=0x{pm + 4:x}, width=2, value=0x3)")
    assert m.state.dev.current_state == D3HOT
    view = _view(m)
    run(m, f"vfio_config_write(offset=0x{pm + 4:x}, width=2, value=0x3)")   # D3hot again: nothing
    assert _view(m) == view
    run(m, f"vfio_config_write(offset=0x{pm + 4:x}, width=2, value=0x0)")
    assert m.state.dev.current_state == D0
    # The hardware went back to D0 behind the kernel's back (a link down resets it) while
    # current_state is D3hot: the user's D0 write still reaches vfio_pci_set_power_state, which
    # moves current_state to D0 (a handler that compared with the hardware's PowerState did not).
    m = model()
    run(m, f"vfio_open()\nvfio_config_write(offset=0x{pm + 4:x}, width=2, value=0x3)\nhw_link_down()")
    assert m.state.dev.current_state == D3HOT and m.state.hw.read(pm + 4, 2) & 0x3 == 0
    run(m, f"vfio_config_write(offset=0x{pm + 4:x}, width=2, value=0x0)")
    assert m.state.dev.current_state == D0


def test_enumeration_snapshot_is_taken_before_a_driver_sets_bus_master():
    """pci_bus_add_device saves before any driver probes: Bus Master (pci_set_master) is clear in
    the enumeration snapshot even though the dump shows the driver's setting."""
    prof = resolve_device("i350")
    assert int.from_bytes(bytes(prof.config[4:6]), "little") & 0x4     # the dump: a driver's Bus Master
    m = model()
    assert m.state.dev.saved_config[1] & 0x4 == 0 and m.state.hw.read(0x04, 2) & 0x4 == 0


def test_an_all_ones_restore_is_restore_all_ones_not_an_order_violation():
    """An all-ones snapshot (a save while the function did not answer) restored over the live BARs
    with decode on: the harm is the all-ones written (restore_all_ones on the BARs the I350
    implements, BAR0 and BAR3), not the order, so no order_violation on any BAR or on LTR."""
    m = model()
    run(m, "pci_bind_driver(driver=host)\nhw_inaccessible()\npci_save_state()\nhw_accessible()\n"
           "pci_restore_state()")
    assert {"BAR0", "BAR3"} <= {v.register for v in m.oracle.violations if v.invariant == "restore_all_ones"}
    assert not [v for v in m.oracle.violations if v.invariant == "order_violation"]


def test_order_check_counts_only_bits_the_register_implements():
    """A stale (not all-ones) snapshot rewrites a moved BAR while decode is on: an order violation
    on the BAR that changes. Restoring again writes the value the BAR now holds: nothing moves, so
    no order violation, though the snapshot is still stale against the resource."""
    m = model("linux-7.1+no-bar-snapshot-update", device="wifi-7265")
    # the runtime resume (power/control on) restores the stale BAR; the host driver's probe saves
    # it again as the hardware now holds it; its bare restore rewrites that same value
    run(m, "pci_bind_driver(driver=none)\npci_pm_runtime_suspend()\npci_assign_bar(bar=0, slot=1)\n"
           "pci_pm_runtime_resume()\npci_bind_driver(driver=host)\npci_restore_state()")
    first = {v.register for v in m.oracle.violations if v.invariant == "order_violation" and v.op_index == 3}
    again = {v.register for v in m.oracle.violations if v.invariant == "order_violation" and v.op_index == 5}
    assert first == {"BAR0"} and again == set()
    assert ("snapshot_bar_stale", 5) in {(v.invariant, v.op_index) for v in m.oracle.violations}


# --- a campaign's reproducers ---------------------------------------------------------------------

def test_every_reproducer_of_a_campaign_satisfies_every_precondition(tmp_path):
    """A short default campaign (i350, linux-7.1) from an empty corpus: every program the findings
    store keeps runs every one of its ops (none is refused by the op table's rules, checked
    here on the reference model against the table), and still reports its bucket."""
    import subprocess
    import sys
    from fuzzcore.triage.finding import load_finding
    out = tmp_path / "camp"
    r = subprocess.run([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", str(out), "--no-seeds",
                        "--max-time", "15", "--seed", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    programs = sorted(p for p in (out / "findings").glob("*/*.fzs"))
    assert len({p.parent for p in programs}) >= 10, "the campaign found too little to check"
    model = Model(resolve_device("i350"), load_policy("linux-7.1"))
    for p in programs:
        f = load_finding(p)
        res = model.run(f.calls)
        assert res.refused == [], f"{p}: refused ops {[(i, f.calls[i].name) for i in res.refused]}"
        assert tuple(f.bucket) in {v.bucket for v in res.violations}, p


def test_driver_calls_need_the_device_active():
    """pm_runtime_get_sync: a driver calls into the PCI core for its device only while it holds it
    active; a host-bound device its user let runtime-suspend gets no pci_restore_state,
    pci_alloc_irq_vectors, ... until something resumes it."""
    m = model()
    assert refused_unchanged(m, "pci_bind_driver(driver=host)\npci_pm_runtime_suspend()\npci_restore_state()") == EPERM
    m = model()
    assert refused_unchanged(m, "pci_bind_driver(driver=host)\npci_pm_runtime_suspend()\npci_enable_msix(nvec=0)") == EPERM


def test_dpc_recovery_needs_a_dpc_port():
    """dpc_handler -> pcie_do_recovery: only below a port with the DPC capability (dpc_probe binds
    the service to no other). The DSA is root-complex integrated (no port above it); the I350's
    root port (cnl-rootport) has DPC."""
    m = model(device="dsa")
    assert refused_unchanged(m, "pcie_do_recovery(channel=frozen, vote=need_reset, source=dpc)") == ENODEV
    m = model()
    assert m.apply(Call.of("pcie_do_recovery", channel="frozen", vote="need_reset", source="dpc")) != ENODEV


def test_dpc_recovery_is_always_frozen():
    """dpc_handler and edr_handle_event (drivers/pci/pcie/dpc.c, edr.c) call pcie_do_recovery with
    pci_channel_io_frozen and nothing else: a DPC-sourced recovery on a normal channel is refused
    (-EINVAL) and changes nothing; the same call on a frozen channel runs."""
    m = model()
    assert refused_unchanged(m, "vfio_open()\npcie_do_recovery(channel=normal, vote=can_recover, source=dpc)") == EINVAL
    m = model()
    run(m, "vfio_open()")
    assert m.apply(Call.of("pcie_do_recovery", channel="frozen", vote="can_recover", source="dpc")) != EINVAL


def test_vfio_device_reset_without_a_working_reset_is_einval():
    """vfio_pci_ioctl_reset: -EINVAL when !vdev->reset_works (fiji: no reset method at all)."""
    m = model(device="fiji")
    rc = run(m, "vfio_open()\nvfio_device_reset()")
    assert rc[-1] == EINVAL and not m.state.vfio.reset_works


@pytest.mark.parametrize("device", ["cnl-rootport", "dsa", "cnvi-wifi"])
def test_link_events_are_refused_on_a_function_with_no_link_above(device):
    """A Root Port or a Root Complex integrated endpoint has no upstream port: no link it can lose
    and no containment that would make its config space stop answering (hw_events.NO_LINK). Both
    models refuse hw_link_down and hw_inaccessible there (-ENODEV, nothing changed); below a port
    (the I350) both run."""
    m = model(device=device)
    assert refused_unchanged(m, "pci_bind_driver(driver=host)\nhw_link_down()") == ENODEV
    assert refused_unchanged(m, "hw_inaccessible()") == ENODEV
    assert result_refused("linux-7.1", device, "hw_inaccessible()\nhw_link_down()") == ([0, 1], [ENODEV, ENODEV])
    assert result_refused("linux-7.1", "i350", "hw_inaccessible()\nhw_link_down()") == ([], [0, 0])


@pytest.mark.parametrize("device", ["plx-8532", "cnl-rootport"])
def test_vfio_pci_refuses_a_bridge_which_starts_with_portdrv(device):
    """vfio_pci_core_register_device: `if (pdev->hdr_type != PCI_HEADER_TYPE_NORMAL) return
    -EINVAL;`. A bridge starts bound to portdrv (the host driver: pcie_portdrv_probe enables it,
    sets Bus Master and saves), so no vfio or QEMU op reaches it; binding vfio-pci unbinds portdrv
    and fails, leaving the bridge with no driver."""
    m = model(device=device)
    assert m.state.dev.driver == "host" and m.state.dev.state_saved and m.state.hw.read(0x04, 2) & 0x4
    assert run(m, "vfio_open()") == [EBUSY]
    assert run(m, "pci_bind_driver(driver=vfio)") == [EINVAL]
    assert m.state.dev.driver == "none"
    assert run(m, "pci_bind_driver(driver=host)\npci_bind_driver(driver=vfio)\nvfio_open()") == [0, EINVAL, EBUSY]
    assert model(device="i350").state.dev.driver == "vfio"


def test_a_host_drivers_error_handling_holds_for_its_binding():
    """The vote `no_aer_driver` stands for a driver without err_handler->error_detected
    (report_error_detected); a bound driver has the callback or lacks it until it is unbound, so a
    later recovery of the same binding that votes otherwise (or the reverse) is refused and changes
    nothing. A new binding decides afresh; vfio-pci and an unbound device ignore the vote."""
    m = model()
    assert run(m, "pci_bind_driver(driver=host)\npcie_do_recovery(channel=normal, vote=no_aer_driver, source=aer)") == [0, 6]
    assert refused_unchanged(m, "pcie_do_recovery(channel=normal, vote=disconnect, source=aer)") == EINVAL
    assert run(m, "pcie_do_recovery(channel=normal, vote=no_aer_driver, source=aer)") == [6]
    assert run(m, "pci_bind_driver(driver=host)\npcie_do_recovery(channel=normal, vote=can_recover, source=aer)") == [0, 5]
    assert refused_unchanged(m, "pcie_do_recovery(channel=normal, vote=no_aer_driver, source=aer)") == EINVAL
    v = model()
    assert run(v, "pcie_do_recovery(channel=normal, vote=no_aer_driver, source=aer)\n"
                  "pcie_do_recovery(channel=normal, vote=disconnect, source=aer)")[1] != EINVAL
