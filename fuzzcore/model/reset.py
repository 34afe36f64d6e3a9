"""Resets and error recovery (drivers/pci/pci.c, drivers/pci/pcie/err.c; kernel.md §5.1–§5.4)."""

from __future__ import annotations

from . import power
from .paths import driver_callback, run_path
from .state import D0

ENOTTY, EINVAL, EAGAIN = -25, -22, -11
PCI_EXP_DEVCTL = 0x08
PCI_EXP_DEVCTL_BCR_FLR = 0x8000
PCI_BRIDGE_CONTROL = 0x3E
PCI_BRIDGE_CTL_BUS_RESET = 0x40
PCI_EXP_DEVSTA = 0x0A
PCI_EXP_LNKCAP_DLLLARC = 0x00100000       # Data Link Layer Link Active Reporting Capable
PCI_EXP_LNKSTA_DLLLA = 0x2000             # Data Link Layer Link Active
PCI_EXP_DEVSTA_ERRORS = 0x000F            # CED | NFED | FED | URD
PCI_EXP_TYPE_ROOT_PORT = 0x4
PCI_ERR_UNCOR_STATUS, PCI_ERR_UNCOR_SEVER = 0x04, 0x0C
PCI_ERR_ROOT_COMMAND, PCI_ERR_ROOT_STATUS = 0x2C, 0x30
ROOT_PORT_INTR_ON_MESG_MASK = 0x7         # Root Error Command: COR_EN | NONFATAL_EN | FATAL_EN
PCI_EXP_DPC_STATUS = 0x08
PCI_EXP_DPC_STATUS_TRIGGER = 0x0001
PCI_EXP_DPC_STATUS_TRIGGER_RSN_FE = 0x0004   # the trigger reason: ERR_FATAL received

# pci_ers_result_t (include/linux/pci.h)
ERS_NONE, ERS_CAN_RECOVER, ERS_NEED_RESET, ERS_DISCONNECT, ERS_RECOVERED, ERS_NO_AER_DRIVER = 1, 2, 3, 4, 5, 6
VOTE_VALUES = {"can_recover": ERS_CAN_RECOVER, "need_reset": ERS_NEED_RESET, "disconnect": ERS_DISCONNECT,
               "no_aer_driver": ERS_NO_AER_DRIVER}


def hardware_reset(m, kind: str) -> None:
    """What the function does when it is reset: registers to their defaults per kind (§7)."""
    st = m.state
    if not st.hw.powered:
        return  # a function without power sees no reset; the power-on resets it
    m.io.event(f"{kind} reset of the function")
    if kind in ("hot", "cold") and not m.io.contained():
        # the link retrains; a device that stopped answering answers again (not while the port's
        # DPC holds the link down: only dpc_reset_link lets it up)
        st.hw.accessible = True
    st.hw.reset(kind)
    st.needs_restore_after_reset = True
    m.oracle.reset_in_op = True


# --- reset methods (§5.2) -------------------------------------------------------------------

def pcie_flr(m) -> int:
    """pcie_reset_flr -> pcie_flr: the policy path pcie_flr (its DEVCAP check; ad05c16b290b's
    all-ones check is a step there)."""
    return run_path(m, "pcie_flr")


def initiate_flr(m) -> int:
    """pcie_flr: set Initiate FLR (read-modify-write of DEVCTL), wait, poll readiness
    (pci_dev_wait: all-ones until it answers); -ENOTTY when it never answers."""
    devctl = m.io.read(m.caps.exp + PCI_EXP_DEVCTL, 2)
    m.io.write(m.caps.exp + PCI_EXP_DEVCTL, 2, devctl | PCI_EXP_DEVCTL_BCR_FLR)   # the function resets (Access.write)
    if m.state.hw.accessible:
        return 0
    return ENOTTY  # pci_dev_wait timed out: the write never reached the function


def pci_pm_reset(m) -> int:
    """pci_pm_reset: the policy path of that name (the PM capability, NoSoftRst re-read, the D0
    check, D3hot then D0, pci_dev_wait)."""
    return run_path(m, "pci_pm_reset")


def pci_dev_wait(m) -> int:
    """pci_dev_wait after a reset: the function answers unless its config reads all-ones, which
    in the model never ends (-ENOTTY: "not ready after ..., giving up")."""
    return 0 if m.state.hw.accessible else ENOTTY


def secondary_bus_reset(m) -> int:
    """pci_reset_secondary_bus on the upstream port: Bridge Control SBR set, 2 ms, cleared; the
    link goes down, so the port's LTR Enable is cleared too (§3.1)."""
    port = m.state.port
    if port is None:
        return ENOTTY
    ctl = m.io.read(PCI_BRIDGE_CONTROL, 2, "port")
    m.io.write(PCI_BRIDGE_CONTROL, 2, ctl | PCI_BRIDGE_CTL_BUS_RESET, "port")
    m.io.write(PCI_BRIDGE_CONTROL, 2, ctl & ~PCI_BRIDGE_CTL_BUS_RESET, "port")
    power.link_down_effects(m)
    hardware_reset(m, "hot")
    return pci_bridge_wait_for_secondary_bus(m)


def pcie_supported_speeds(read, exp: int) -> int:
    """pcie_get_supported_speeds (drivers/pci/pci.c): Link Capabilities 2's Supported Link Speeds
    Vector (version 2 capability) up to Link Capabilities' Max Link Speed, else synthesized from
    the Max Link Speed (2.5 or 5.0 GT/s only)."""
    lnkcap = read(exp + 0x0C, 4)
    lnkcap2 = read(exp + 0x2C, 4) if read(exp + 0x02, 2) & 0xF > 1 else 0   # pcie_cap_version > 1
    sls = lnkcap & 0xF
    speeds = lnkcap2 & 0xFE & ((1 << (sls + 1)) - 1)
    if speeds:
        return speeds
    return {2: 0x06, 1: 0x02}.get(sls, 0)


def pci_bridge_wait_for_secondary_bus(m) -> int:
    """pci_bridge_wait_for_secondary_bus (drivers/pci/pci.c) after the bus reset. Below a PCIe
    downstream port whose fastest speed is above 5 GT/s (or unknown) and that reports Data Link
    Layer Link Active (DLLLARC), the link must come back (pcie_wait_for_link_delay): -ENOTTY when the
    port's Link Status has DLLLA clear (pcie_failed_link_retrain writes nothing without Link
    Bandwidth Management Status). A slower port waits and polls the device (pci_dev_wait), which
    answers after a hot reset; a port without DLLLARC just waits."""
    exp = m.port_caps.exp
    if not exp or m.port_caps.exp_type not in (0x4, 0x6, 0x8):   # pcie_downstream_port
        return 0
    read = lambda off, w: m.io.read(off, w, "port")
    speeds = pcie_supported_speeds(read, exp)
    if speeds and not speeds & ~0x06:          # pcie_get_speed_cap <= PCIE_SPEED_5_0GT
        return 0
    if not read(exp + 0x0C, 4) & PCI_EXP_LNKCAP_DLLLARC:   # !link_active_reporting
        return 0
    return 0 if read(exp + 0x12, 2) & PCI_EXP_LNKSTA_DLLLA else ENOTTY


def pci_bus_reset_method(m) -> int:
    """pci_reset_bus_function: the policy path of that name (pci_dev_reset_slot_function's and
    pci_parent_bus_reset's checks, then the bus reset)."""
    return run_path(m, "pci_reset_bus_function")


RESET_METHODS = {"flr": pcie_flr, "pm": pci_pm_reset, "bus": pci_bus_reset_method}


def method_available(m, name: str) -> bool:
    """Whether `name` is in dev->reset_methods: the answer of its probe at enumeration
    (probe_reset_methods)."""
    return bool(m.reset_probe.get(name))


RESET_METHOD_PATHS = {"flr": "pcie_flr", "pm": "pci_pm_reset", "bus": "pci_reset_bus_function"}


def probe_reset_methods(m) -> dict:
    """pci_init_reset_methods (drivers/pci/pci.c) at enumeration: each method's path run as its
    probe (PCI_RESET_PROBE; its checks, then `return 0` under the `probe` condition); 0 means the
    method is available. The reads are the enumeration-time ones."""
    return {name: run_path(m, path, "probe") == 0 for name, path in RESET_METHOD_PATHS.items()}


def reset_method_probe(m, method) -> int:
    """The primitive reset_probe: reset_method_store's probe of the named method now
    (pci_reset_fn_methods[m].reset_fn(pdev, PCI_RESET_PROBE)): its path run as the probe; auto: 0."""
    return 0 if method == "auto" else run_path(m, RESET_METHOD_PATHS[method], "probe")


def reset_methods(m, only: str = "auto") -> list[str]:
    methods = [n for n in m.policy.reset_methods if method_available(m, n)]
    return methods if only == "auto" else [n for n in methods if n == only]


def __pci_reset_function_locked(m, only: str = "auto") -> int:
    """Try reset_methods[] in order; -ENOTTY moves on, anything else stops."""
    rc = ENOTTY
    for name in reset_methods(m, only):
        with m.in_step(f"reset/{name}"):
            rc = RESET_METHODS[name](m)
        if rc != ENOTTY:
            return rc
    return rc


# --- function and bus reset (§5.1, §5.3): the policy paths of fuzzcore/policy/paths.py ---------

def pci_reset_function(m, method: str = "auto") -> int:
    """pci_reset_function / pci_try_reset_function: -ENOTTY without a reset method, else the
    policy path (save+disable, reset, restore regardless)."""
    if not reset_methods(m, method):
        return ENOTTY  # pci_reset_function: !pci_reset_supported(dev)
    return run_path(m, "pci_reset_function", method)


def reset_store(m, method: str) -> int:
    """The sysfs reset of the op `pci_reset_function`: a named method is first written to
    reset_method (reset_method_store: -EINVAL, nothing changes, for a method enumeration's probe
    refused); then the policy path [path.reset_store]: a runtime-PM reference taken
    (pm_runtime_get_sync resumes a suspended device), the named method probed again as the device
    is now (-EINVAL), pci_reset_function, the reference dropped (pm_runtime_put: an idle vfio-pci
    device runtime-suspends again)."""
    if not reset_methods(m):
        # pci_dev_reset_attr_is_visible (drivers/pci/pci-sysfs.c): no reset method at enumeration,
        # so the device has no reset (and reset_method) file for user space to write
        return m.refuse(-2, "pci_dev_reset_attr_is_visible: no reset method, so no sysfs reset file")
    if method != "auto" and not method_available(m, method):
        return m.refuse(EINVAL, "reset_method_store: the method is not among those pci_init_reset_methods found")
    return run_path(m, "reset_store", method)


def pci_reset_bus(m) -> int:
    """pci_reset_bus (§5.3): -ENOTTY without an upstream port, else the policy path (save+disable
    every device below the port, SBR, restore each). A VF: -ENOTTY (on a virtual bus nothing
    bridges, bus->self is NULL: pci_bus_resettable fails; on its PF's bus the reset would take the
    PF and every VF with it, which the model does not hold)."""
    if m.state.port is None or m.profile.virtfn:
        return ENOTTY
    return run_path(m, "pci_reset_bus")


def pci_bus_error_reset(m) -> int:
    """pci_bus_error_reset: the bus reset alone; no save, no restore, no callbacks. Its only
    caller is aer_root_reset, inside recovery (not an op of its own)."""
    with m.in_step("pci_bus_error_reset"):
        return secondary_bus_reset(m)


# --- AER / DPC recovery (§5.4) ---------------------------------------------------------------

def merge_result(orig: int, new: int) -> int:
    """merge_result (drivers/pci/pcie/err.c)."""
    if new == ERS_NO_AER_DRIVER:
        return ERS_NO_AER_DRIVER
    if new == ERS_NONE:
        return orig
    if orig in (ERS_CAN_RECOVER, ERS_RECOVERED):
        return new
    if orig == ERS_DISCONNECT and new == ERS_NEED_RESET:
        return ERS_NEED_RESET
    return orig


def root_aer_irq(m, enable: bool) -> None:
    """aer_disable_irq / aer_enable_irq on the root port above the function (path primitive)."""
    aer = _root_aer(m)
    if aer:
        cmd = m.io.read(aer + PCI_ERR_ROOT_COMMAND, 4, "port")
        value = cmd | ROOT_PORT_INTR_ON_MESG_MASK if enable else cmd & ~ROOT_PORT_INTR_ON_MESG_MASK
        m.io.write(aer + PCI_ERR_ROOT_COMMAND, 4, value, "port")


def root_error_status_clear(m) -> None:
    """aer_root_reset's "Clear Root Error Status": read and written back (path primitive)."""
    aer = _root_aer(m)
    if aer:
        m.io.write(aer + PCI_ERR_ROOT_STATUS, 4, m.io.read(aer + PCI_ERR_ROOT_STATUS, 4, "port"), "port")


def _root_aer(m) -> int:
    """root->aer_cap of pcie_find_root_port(): the model has the root port only when it is the port
    above the device (a root port further up is not modelled)."""
    return m.port_caps.aer if m.port_caps.exp_type == PCI_EXP_TYPE_ROOT_PORT else 0


def bus_error_reset(m) -> int:
    """Path primitive bus_error_reset: pci_bus_error_reset, -ENOTTY without a port above."""
    return pci_bus_error_reset(m) if m.state.port is not None else ENOTTY


def _dpc_containment(m) -> None:
    """What the hardware has done before dpc_handler runs (PCIe r6.0 §6.2.10): the port's DPC
    trigger (on ERR_FATAL, as dpc_enable configures it) takes its link down, so the function below
    goes through a link-down (hot) reset and answers nothing until software clears DPC Trigger
    Status; the port latches Trigger Status with the reason. Every step of the recovery before
    dpc_reset_link (the runtime resume, error_detected, mmio_enabled) meets a contained device."""
    with m.in_step("DPC containment"):
        power.link_down_effects(m)
        hardware_reset(m, "hot")
        m.state.hw.accessible = False
        cfg = m.state.port.hw.config
        cfg[m.port_caps.dpc + PCI_EXP_DPC_STATUS] |= PCI_EXP_DPC_STATUS_TRIGGER | PCI_EXP_DPC_STATUS_TRIGGER_RSN_FE


def dpc_clear_trigger(m) -> None:
    """dpc_reset_link's Trigger Status clear (path primitive dpc_clear_trigger): RW1CS, so the port
    leaves containment, the link retrains and the function answers again. dpc_reset_link never
    touches Bridge Control (no secondary bus reset)."""
    m.io.write(m.port_caps.dpc + PCI_EXP_DPC_STATUS, 2, PCI_EXP_DPC_STATUS_TRIGGER, "port")
    m.state.hw.accessible = m.state.hw.powered


def _clear_error_status(m, target: str) -> None:
    """The end of a successful pcie_do_recovery with native AER: pcie_clear_device_status (DEVSTA
    <- CED|NFED|FED|URD, drivers/pci/pci.c) and pci_aer_clear_nonfatal_status (Uncorrectable
    Status & ~Severity written back when non-zero, drivers/pci/pcie/aer.c) on the device that
    detected the error: the function for AER, the port itself for DPC (dpc_handler passes the
    port to pcie_do_recovery)."""
    caps = m.port_caps if target == "port" else m.caps
    if caps.exp:
        m.io.write(caps.exp + PCI_EXP_DEVSTA, 2, PCI_EXP_DEVSTA_ERRORS, target)
    aer = caps.aer
    if aer:
        status = m.io.read(aer + PCI_ERR_UNCOR_STATUS, 4, target) & ~m.io.read(aer + PCI_ERR_UNCOR_SEVER, 4, target)
        if status:
            m.io.write(aer + PCI_ERR_UNCOR_STATUS, 4, status, target)


REPORT_PATHS = {"error_detected": "report_error_detected", "mmio_enabled": "report_mmio_enabled",
                "slot_reset": "report_slot_reset", "resume": "report_resume",
                "perm_failure": "report_perm_failure_detected"}


def ers_report(m, callback: str, vote: str) -> None:
    """pci_walk_bridge(bridge, report_*, &status) on the one function below the bridge (path
    primitive ers_report): the report_* path, its vote (0: none) merged into the recovery status;
    resume and perm_failure merge nothing."""
    from .paths import run_path
    rc = run_path(m, REPORT_PATHS[callback], vote)
    if rc and callback not in ("resume", "perm_failure"):
        m.ers_status = merge_result(m.ers_status, rc)


def set_io_state(m, state: str) -> None:
    """pci_dev_set_io_state: a disconnected (perm_failure) device stays so; otherwise the state."""
    dev = m.state.dev
    if dev.error_state != "perm_failure":
        dev.error_state = m.recovery_channel if state == "channel" else state


def reset_subordinates(m) -> int:
    """The caller's reset_subordinates (path primitive): dpc_handler passes dpc_reset_link, aer_isr
    aer_root_reset, each a policy path whose result 0 is RECOVERED; 0 when it returned RECOVERED."""
    from .paths import run_path
    rc = run_path(m, "dpc_reset_link" if m.recovery_source == "dpc" else "aer_root_reset")
    return 0 if rc == 0 else ERS_DISCONNECT


def clear_error_status(m) -> None:
    """Path primitive clear_error_status: on the device that detected the error."""
    _clear_error_status(m, "port" if m.recovery_source == "dpc" else "dev")


def pcie_do_recovery(m, channel: str, vote: str, source: str) -> int:
    """pcie_do_recovery as the policy path of that name, after what the op checks first: a
    DPC-triggered recovery needs a DPC-capable port above the device (dpc_probe binds the DPC
    service only to one) and a frozen channel, and starts with the port's containment. The op's
    result is the recovery status. The oracle's check at the end: a recovery the kernel called
    successful must not leave a bound device at reset defaults."""
    if m.profile.header_type == 1:
        return m.refuse(-19, "pcie_do_recovery on a port walks only the devices below it "
                             "(pci_walk_bridge: bridge->subordinate) and resets its secondary bus; the "
                             "model holds no device below a bridge")
    if source == "dpc" and not (m.state.port is not None and m.port_caps.dpc):
        return m.refuse(-19, "dpc_handler -> pcie_do_recovery: the port above has no DPC capability "
                             "(dpc_probe never bound the DPC service)")
    if source == "dpc" and channel != "frozen":
        return m.refuse(-22, "dpc_handler and edr_handle_event call pcie_do_recovery with "
                             "pci_channel_io_frozen only: a DPC event on a normal channel never happens")
    d = m.state.dev
    if d.driver == "host":
        # the op's vote is what the bound driver's error_detected returns; no_aer_driver stands
        # for a driver without one (report_error_detected). A driver has its err_handler or lacks
        # it for the whole binding: the first recovery decides which.
        has = 2 if vote == "no_aer_driver" else 1
        if d.err_handler not in (0, has):
            return m.refuse(-22, "report_error_detected: the bound driver has an error_detected callback "
                                 "or lacks one for as long as it is bound; a recovery voting no_aer_driver "
                                 "and one voting otherwise never meet one binding")
        d.err_handler = has
    if source == "dpc":
        _dpc_containment(m)
    m.recovery_channel, m.recovery_source = channel, source
    m.ers_status, m.recovery_said = ERS_CAN_RECOVER, ""
    run_path(m, "pcie_do_recovery", vote)
    with m.in_step("pcie_do_recovery"):
        if m.recovery_said == "successful" and m.state.needs_restore_after_reset \
                and m.state.dev.driver != "none":
            m.oracle.report("used_without_restore", "config", "restored after the reset",
                            "recovery reported success with the device at reset defaults")
    return m.ers_status
