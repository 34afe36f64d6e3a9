"""The reference model: runs a program (a list of calls) on a device profile under a policy.

Model(profile, policy).run(calls) -> Result. The initial state is the device after enumeration
(buffers allocated per §1.2, current_state D0 since 4d4c10f763d7, the enumeration save of
a2f1e22390ac when the policy has it) with vfio-pci bound and closed (runtime-suspended unless the
policy sets vfio.disable_idle_d3).

Before an op acts, its preconditions (the op table's `pre` rules, compiled for the policy) are
checked; an op whose rule fails returns the kernel's error, changes nothing, runs no invariant and
is listed in Result.refused."""

from __future__ import annotations

import contextlib
import hashlib
import struct
from dataclasses import dataclass, field

from ..device.builtin import shared_device
from ..device.config_space import ConfigSpace
from .enumeration import aspm_link, iov_resources, ptm_info
from .invariants import Violation
from . import features, hw_events, power, qemu, reset, vfio, vfio_perm
from . import intent as _intent
from .access import PCI_COMMAND, Access, TraceEntry
from .paths import driver_callback, run_path
from ..program.op_table import ERRNO_NAMES, FACT_NAMES, FACTS, OP_INDEX as OP_KIND, OPS as OP_ROWS, TPH_MODES
from ..program.op_table import RETURNS_TO_USER_SPACE, compile_preconditions
from .abstract_state import counter_index
from .caps import CapOffsets, cap_offsets
from .enumeration import enumerate_function
from .oracle import Oracle
from .restore import pci_restore_state
from .save import pci_save_state
from .state import D0, D3COLD, D3HOT, CapBuffer, KernelDev, ModelState, PortState, VfioState

POWER_ARG = {"d0": D0, "d3hot": D3HOT, "d3cold": D3COLD}


@dataclass
class Result:
    violations: list[Violation]
    trace: list[TraceEntry] = field(default_factory=list)
    returns: list[int] = field(default_factory=list)
    state_digest: str = ""
    kernel_changes: list[tuple[int, str, object, object]] = field(default_factory=list)
    state_features: list[int] = field(default_factory=list)   # counter index after each op
    refused: list[int] = field(default_factory=list)          # indices of ops a precondition refused

    @property
    def buckets(self) -> list[tuple[str, str, str]]:
        return [v.bucket for v in self.violations]


def _allocate_buffers(caps: CapOffsets, profile, vc_count, tph_entries, is_port: bool) -> list[CapBuffer]:
    """pci_init_capabilities order: PCIe, PCI-X, LTR (pci_allocate_cap_save_buffers), VC, PTM,
    AER, TPH, then L1SS (ASPM) and DPC (portdrv, ports only)."""
    bufs: list[CapBuffer] = []

    def add(cap_id, ext, size):
        bufs.append(CapBuffer(cap_id, ext, bytearray(size)))

    if caps.exp:
        add(0x10, False, 14)
    if caps.pcix:
        add(0x07, False, 2)
    if caps.ltr:
        add(0x18, True, 4)
    for cap_id, off in caps.vc:
        add(cap_id, True, 4 + 4 * vc_count(off))
    if caps.ptm:
        add(0x1F, True, 4)
    if caps.aer:
        add(0x01, True, 20 if caps.exp_type in (0x4, 0xA) else 16)
    if caps.tph:
        add(0x17, True, 4 + 2 * tph_entries)
    if caps.l1ss:
        add(0x1E, True, 8)
    if caps.dpc and is_port:
        add(0x1D, True, 2)
    return bufs


class Model:
    def __init__(self, profile, policy):
        self.profile = profile
        self.policy = policy
        self.caps = cap_offsets(profile)
        # vfio_config_init's pci_config_map and permissions: the function answering at open, or not
        regions = policy.compile().vfio_regions
        self.vfio_maps = (vfio_perm.build(profile, regions), vfio_perm.build(profile, regions, answering=False))
        self.oracle = Oracle(self)
        self.io = Access(self)
        self.op_index = -1
        self.op_name = "init"
        self.step = "enumeration"
        self.user_access = False
        self.user_wmask = 0xFFFFFFFF    # the bits of a user's write that are the user's (vfio_default_config_write)
        # what the last pcie_do_recovery logged ("device recovery successful" / "failed"): not
        # kernel state, the line `fuzzcore validate` compares with the guest's (its status return
        # does not say it: v7.1.3 returns RECOVERED after a failed reset)
        self.recovery_said = ""
        # pcie_do_recovery's `status` and the op's channel and source, which its path's steps read
        self.ers_status = 0
        self.recovery_channel = "normal"
        self.recovery_source = "aer"
        self.latest_save_epoch = 0
        self.cmd_at_op_start = 0
        self.mismatch_at_op_start: set = set()
        port_profile = shared_device(profile.upstream_port) if profile.upstream_port else None
        self.port_caps = cap_offsets(port_profile) if port_profile else CapOffsets()
        self._port_profile = port_profile
        # the link the port above heads, as enumeration left it (pcie_aspm_init_link_state)
        self.aspm = aspm_link(profile, self.caps, port_profile, self.port_caps)
        self.ptm, self.port_ptm = ptm_info(profile, self.caps, port_profile, self.port_caps)   # pci_ptm_init
        self.iov_resources = iov_resources(profile, self.caps)   # a PF's VF BAR resources (sriov_init)
        # intent.WRITTEN: where each register is and which bits are compared; byte maps per target
        self.written_layout = _intent.written_layout(profile, self.caps, port_profile, self.port_caps)
        self.written_map = (_intent.written_byte_map(self.written_layout, 0),
                            _intent.written_byte_map(self.written_layout, 1))
        self._pre = compile_preconditions(policy)
        self._reset_state()

    # --- initial state -----------------------------------------------------------------------
    def _reset_state(self) -> None:
        p = self.profile
        hw = ConfigSpace(p.config, p.semantics, p.msix.entries if p.msix else 0)
        dev = KernelDev()
        dev.buffers = _allocate_buffers(self.caps, p, self.vc_count, self.tph_st_entries(), p.header_type == 1)
        for b in p.bars:
            dev.resources[b.index] = p.bar_resource(b)
            dev.resource_sizes[b.index] = b.size
            dev.resource_flags[b.index] = p.bar_res_flags(b)
        if p.rom_size:
            rom = struct.unpack_from("<I", p.image, 0x38 if p.header_type == 1 else 0x30)[0]
            dev.rom_resource, dev.rom_enable = rom & 0xFFFFF800, bool(rom & 0x1)
        port = None
        if self._port_profile is not None:
            pp = self._port_profile
            phw = ConfigSpace(pp.config, pp.semantics, 0)
            pdev = KernelDev(current_state=D0)
            pdev.buffers = _allocate_buffers(self.port_caps, pp, lambda off: 0, 0, True)
            enumerate_function(phw, self.port_caps, pdev, endpoint=False)
            # portdrv is bound (pcie_port_device_register: pci_enable_device, pci_set_master when
            # the port has services); the port's is_busmaster is taken from its Bus Master bit.
            pdev.enable_cnt = 1
            pdev.is_busmaster = bool(phw.read(0x04, 2) & 0x4)
            port = PortState(phw, pdev, pp.name)
            if self.aspm is not None:
                pdev.aspm_enabled, pdev.clkpm_enabled = self.aspm.enabled, self.aspm.clkpm_enabled
        enumerate_function(hw, self.caps, dev)
        if self.caps.sriov:     # sriov_init wrote iov->ctrl (ARI Capable Hierarchy) and iov->pgsz: the dump holds them
            dev.sriov_ctrl = hw.read(self.caps.sriov + 0x08, 2) & 0x10
            dev.sriov_pgsz = hw.read(self.caps.sriov + 0x20, 4)
        self.state = ModelState(hw, dev, VfioState(), port)
        self.sleep = power.SystemSleep()             # no system sleep in progress
        self.vfio_piece = vfio.VfioPiece()           # the piece a vfio write function's path works on
        self.l1ss_lnkctl = None    # pci_restore_aspm_l1ss_state's LNKCTLs while it has ASPM off
        self.msix_saved_cmd = None  # Command read by the MSI-X restore's Memory bracket (msi.msix_memory)
        self.bracket_cmds = []      # Commands read by open command_bracket steps (power.command_bracket)
        self.path_locals = [0, 0]   # the running path's locals a and b (read_local), a call's own
        self.restore_rmw = False    # inside a capability register's read-modify-write (Oracle.note_write)
        self.aspm_target = 0        # pcie_config_aspm_link's state (kernel_set aspm_target)
        self.oracle = Oracle(self)
        self.latest_save_epoch = 0
        self.reset_probe = reset.probe_reset_methods(self)   # dev->reset_methods (pci_init_reset_methods)
        # pci_device_add -> pci_init_capabilities: pci_pm_init's power-up (4d4c10f763d7), pci_ptm_init
        with self.in_step("enumeration"):
            run_path(self, "pci_init_capabilities")
        if self.policy.switch("save.enumeration_save"):
            with self.in_step("pci_bus_add_device"):
                pci_save_state(self)
        if p.header_type == 1:
            # vfio_pci_core_register_device refuses a bridge (hdr_type != PCI_HEADER_TYPE_NORMAL:
            # -EINVAL); portdrv binds it: pcie_portdrv_probe enables it, sets Bus Master and saves,
            # which the host driver's [driver.probe] states
            dev.driver = "host"
            with self.in_step("host driver probe"):
                driver_callback(self, "probe")
        else:
            dev.driver = "vfio"
            with self.in_step("vfio_pci_core_register_device"):
                vfio.vfio_register(self)
        self.oracle.init_intent()

    # --- helpers the area modules use ----------------------------------------------------------
    @contextlib.contextmanager
    def in_step(self, name: str):
        prev, self.step = self.step, name
        try:
            yield
        finally:
            self.step = prev

    @contextlib.contextmanager
    def as_user(self):
        prev, self.user_access = self.user_access, True
        try:
            yield
        finally:
            self.user_access = prev

    @contextlib.contextmanager
    def as_kernel(self):
        """A kernel path a user's access triggers (vfio's FLR emulation, its PMCSR handler): its
        writes are the kernel's, not the user's value."""
        prev, self.user_access = self.user_access, False
        try:
            yield
        finally:
            self.user_access = prev

    def bar_register_value(self, bar: int) -> int:
        """The address the function decodes BAR `bar` at: what the BAR holds, or for a VF (whose
        BARs read zero) its share of the PF's VF BAR, which nothing here moves."""
        info = self.profile.bar(bar)
        hw = self.state.hw
        if self.profile.virtfn and info is not None:
            return info.address
        lo = hw.read(0x10 + 4 * bar, 4)
        if info is None:
            return lo
        if info.kind == "io":
            return lo & ~0x3
        addr = lo & ~0xF
        if info.kind == "mem64":
            addr |= hw.read(0x14 + 4 * bar, 4) << 32
        return addr

    def bar_slot_address(self, bar: int, slot: int) -> int:
        info = self.profile.bar(bar)
        base = self.profile.bar_resource(info) or 0x80000000
        return base + slot * max(info.size, 16) * 2 if slot else base

    def tph_st_entries(self) -> int:
        """pcie_tph_get_st_table_size: ST Table Size + 1 when the table is in the capability."""
        tph = self.caps.tph
        if not tph:
            return 0
        cap = struct.unpack_from("<I", self.profile.image, tph + 4)[0]
        if (cap >> 9) & 0x3 != 0x1:
            return 0
        return ((cap >> 16) & 0x7FF) + 1

    def vc_count(self, off: int) -> int:
        """Port VC Capability 1: Extended VC Count + 1 VC resources."""
        return (struct.unpack_from("<I", self.profile.image, off + 4)[0] & 0x7) + 1

    def has_root_error_regs(self) -> bool:
        return self.caps.exp_type in (0x4, 0xA)

    def aer_saved_regs(self) -> tuple[int, ...]:
        regs = (0x08, 0x0C, 0x14, 0x18)
        return regs + ((0x2C,) if self.has_root_error_regs() else ())

    @property
    def vfio_map(self):
        """The pci_config_map vfio built at the open in force (vfio_perm)."""
        return self.vfio_maps[self.state.vfio.map_silent]

    # --- running programs ----------------------------------------------------------------------
    def start(self, trace: bool = False) -> None:
        """Back to the initial state, ready for apply()."""
        self._reset_state()
        self.io.trace_on = trace
        self.io.trace = []
        self._returns: list[int] = []
        self._changes: list = []
        self._features: list[int] = []
        self._refused: list[int] = []
        self._n = 0

    def facts(self) -> tuple[int, int, int, int]:
        """The state facts preconditions test, as indices into op_table.FACTS[...]: owner
        (none, host, vfio_closed, vfio_open, portdrv, host_failed), power (dev->current_state), runtime (active,
        suspended), qemu (idle, resetting)."""
        d = self.state.dev
        if d.driver == "vfio":
            owner = 3 if self.state.vfio.open else 2
        elif d.driver == "host":
            # a bridge's host driver is portdrv; a driver told of a permanent failure, host_failed
            owner = 4 if self.profile.header_type == 1 else (5 if d.driver_failed else 1)
        else:
            owner = 0
        return owner, d.current_state, 1 if d.rpm_suspended else 0, 1 if self.state.vfio.qemu_resetting else 0

    def refuse(self, rc: int, why: str) -> int:
        """An op's own argument check refused it before it changed anything (e.g.
        reset_method_store): counted as a refusal like a failed precondition."""
        self._refused_now = True
        if self.io.trace_on:
            self.io.event(f"refused: {why} -> {ERRNO_NAMES.get(rc, rc)}")
        return rc

    def refusal(self, op_kind: int):
        """The first precondition of op `op_kind` the state fails, as (fact id, value, errno), or
        None when the op may run."""
        facts = None
        for fact, mask, errno in self._pre[op_kind]:
            if facts is None:
                facts = self.facts()
            if not mask >> facts[fact] & 1:
                return fact, facts[fact], errno
        return None

    def apply(self, call) -> int:
        """Run one call (one op) and check the end-of-op invariants."""
        i = self._n
        self._n += 1
        before = self.kernel_view() if self.io.trace_on else None
        self.op_index, self.op_name = i, call.name
        self.step = call.name
        kind = OP_KIND[call.name]
        refused = self.refusal(kind)
        if refused is not None:
            fact, value, rc = refused
            if self.io.trace_on:
                rule = next(r for r in OP_ROWS[kind].pre if FACT_NAMES.index(r.fact) == fact
                            and FACTS[r.fact][value] not in r.allowed_under(self.policy))
                self.io.event(f"refused ({FACT_NAMES[fact]} is {FACTS[FACT_NAMES[fact]][value]}): "
                              f"{rule.cite} -> {ERRNO_NAMES[rc]}")
            self._refused.append(i)
            self._returns.append(rc)
            self._features.append(counter_index(self, kind))
            return rc
        self.cmd_at_op_start = self.state.hw.read(PCI_COMMAND, 2) if self.state.hw.accessible else 0
        self.mismatch_at_op_start = self.oracle.live_flag_mismatches()
        self.oracle._refined_now = set()
        self.oracle.begin_op()
        self.oracle.read_lost_op = -2      # no config_read_lost in this op yet (explore rewinds states)
        self.oracle.write_lost_op = -2     # nor config_write_lost
        self._refused_now = False
        rc = OPS[call.name](self, **dict(call.args))
        self.step = call.name
        if self._refused_now:
            self._refused.append(i)
            self._returns.append(rc)
            self._features.append(counter_index(self, kind))
            return rc
        if OP_ROWS[kind].actor in RETURNS_TO_USER_SPACE:
            self.oracle.returned_to_user()
        self.oracle.end_of_op()
        if before is not None:
            after = self.kernel_view()
            self._changes += [(i, k, before[k], after[k]) for k in after if after[k] != before[k]]
        self._returns.append(rc)
        self._features.append(counter_index(self, OP_KIND[call.name]))
        return rc

    def result(self) -> Result:
        return Result(list(self.oracle.violations), list(self.io.trace), list(self._returns),
                      self.state_digest(), list(self._changes), list(self._features), list(self._refused))

    def run(self, calls, trace: bool = False) -> Result:
        self.start(trace)
        for call in calls:
            self.apply(call)
        return self.result()

    def kernel_view(self) -> dict:
        """The kernel and vfio fields a trace shows (old -> new per op)."""
        d, v = self.state.dev, self.state.vfio
        return {
            "state_saved": d.state_saved, "snapshot": f"save #{d.config_epoch}", "current_state": d.current_state,
            "msix_enabled": d.msix_enabled, "msi_enabled": d.msi_enabled, "tph_enabled": d.tph_enabled,
            "ats_enabled": d.ats_enabled, "pasid_enabled": d.pasid_enabled, "pri_enabled": d.pri_enabled,
            "ptm_enable_cnt": d.ptm_enable_cnt, "sriov.num_VFs": d.sriov_num_vfs, "error_state": d.error_state,
            "driver": d.driver, "runtime_suspended": d.rpm_suspended, "runtime_auto": d.rpm_auto,
            "resources": tuple(hex(r) for r in d.resources),
            "vfio.open": v.open, "vfio.blob": f"save #{v.blob.config_epoch}" if v.blob else None,
            "vfio.pm_save": f"save #{v.pm_save.config_epoch}" if v.pm_save else None,
            "vfio.vconfig_command": hex(v.vconfig_command), "vfio.reset_works": v.reset_works,
            "vfio.qemu_resetting": v.qemu_resetting, "hw.accessible": self.state.hw.accessible,
            "hw.powered": self.state.hw.powered,
        }

    def state_digest(self) -> str:
        """A hash of the final hardware and kernel state (determinism checks, engine comparison)."""
        st = self.state
        h = hashlib.sha256()
        h.update(st.hw.config.tobytes())
        h.update(st.hw.msix_table.tobytes())
        d = st.dev
        h.update(repr((d.saved_config, d.config_epoch, [(b.cap_id, bytes(b.data), b.epoch) for b in d.buffers],
                       d.state_saved, d.current_state, d.resources, d.msi_enabled, d.msix_enabled,
                       d.tph_enabled, d.ats_enabled, d.pasid_enabled, d.pri_enabled, d.ptm_enable_cnt,
                       d.sriov_num_vfs, d.error_state, d.driver, st.vfio.open, st.vfio.vconfig_command,
                       st.hw.accessible, st.hw.powered, d.rpm_suspended, d.rpm_auto)).encode())
        if st.port:
            h.update(st.port.hw.config.tobytes())
        return h.hexdigest()[:16]


# --- op dispatch: one entry per row of fuzzcore/program/op_table.py ------------------------------

def _bind(m, driver: str) -> int:
    """The policy path device_bind_driver: sysfs unbind, then bind (a vfio device must be closed:
    the op table's rule); the argument is the driver asked for."""
    from .paths import DRIVERS
    m.state.dev.err_handler = 0           # a new binding: its driver's error handling not yet seen
    m.state.dev.driver_failed = False     # and no failure told to it
    return run_path(m, "device_bind_driver", DRIVERS.index(driver))


def _host_driver_call(m, fn) -> int:
    """A bare pci_save_state/pci_restore_state is something a bound host driver does (probe,
    resume, slot_reset): the op table's owner rule refuses it otherwise."""
    return fn(m) or 0


OPS = {
    "pci_save_state": lambda m: _host_driver_call(m, pci_save_state),
    "pci_restore_state": lambda m: _host_driver_call(m, pci_restore_state),
    "pci_reset_function": lambda m, method: reset.reset_store(m, method),
    "pci_reset_bus": lambda m: reset.pci_reset_bus(m),
    "pcie_do_recovery": lambda m, channel, vote, source: reset.pcie_do_recovery(m, channel, vote, source),
    "pci_set_power_state": lambda m, state: power.pci_set_power_state(m, POWER_ARG[state]),
    "pci_pm_runtime_suspend": lambda m: power.runtime_allow(m),
    "pci_pm_runtime_resume": lambda m: power.runtime_forbid(m),
    "pm_system_sleep": lambda m, **a: power.pm_system_sleep(m, a["transition"], a["power"]),
    "pci_assign_bar": lambda m, bar, slot: features.pci_assign_bar(m, bar, slot),
    "pci_enable_msix": lambda m, nvec: features.pci_enable_msix(m, nvec),
    "pci_disable_msix": lambda m: features.pci_disable_msix(m),
    "pci_enable_msi": lambda m: features.pci_enable_msi(m),
    "pci_disable_msi": lambda m: features.pci_disable_msi(m),
    "pci_enable_tph": lambda m, mode: run_path(m, "pcie_enable_tph", TPH_MODES.index(mode)),
    "pci_disable_tph": lambda m: run_path(m, "pcie_disable_tph"),
    "pci_enable_ats": lambda m, stu: run_path(m, "pci_enable_ats", stu),
    "pci_disable_ats": lambda m: run_path(m, "pci_disable_ats"),
    "pci_enable_pasid": lambda m, features: run_path(m, "pci_enable_pasid", features),
    "pci_disable_pasid": lambda m: run_path(m, "pci_disable_pasid"),
    "pci_enable_pri": lambda m, reqs: run_path(m, "iommu_enable_pri", reqs),
    "pci_disable_pri": lambda m: run_path(m, "pci_disable_pri"),
    "pci_enable_ptm": lambda m: run_path(m, "pci_enable_ptm"),
    "pci_disable_ptm": lambda m: run_path(m, "pci_disable_ptm"),
    "pci_enable_l1ss": lambda m: run_path(m, "pcie_aspm_set_policy"),
    "pci_enable_sriov": lambda m, num_vfs: run_path(m, "sriov_configure", num_vfs + 1),
    "pci_disable_sriov": lambda m: run_path(m, "sriov_deconfigure"),
    "pci_resize_bar": lambda m, size: features.pci_resize_bar(m, size),
    "pci_bind_driver": _bind,
    "vfio_open": lambda m: vfio.vfio_open(m),
    "vfio_close": lambda m: vfio.vfio_close(m),
    "vfio_config_write": lambda m, offset, width, value: vfio.vfio_config_write(m, offset, int(width), value),
    "vfio_set_irqs": lambda m, index, count: vfio.vfio_ioctl(m, vfio.vfio_set_irqs, index, count),
    "vfio_bar_rw": lambda m, bar, access: vfio.vfio_bar_rw(m, bar, access),
    "vfio_device_reset": lambda m: vfio.vfio_ioctl(m, vfio.vfio_device_reset),
    "vfio_hot_reset": lambda m: vfio.vfio_user_hot_reset(m),
    "vfio_low_power": lambda m, action: vfio.vfio_ioctl(m, vfio.vfio_low_power, action),
    "qemu_pre_reset": lambda m: qemu.qemu_pre_reset(m),
    "qemu_post_reset": lambda m: qemu.qemu_post_reset(m),
    "qemu_reset": lambda m: qemu.qemu_reset(m),
    "hw_link_down": lambda m: hw_events.hw_link_down(m),
    "hw_inaccessible": lambda m: hw_events.hw_inaccessible(m),
    "hw_accessible": lambda m: hw_events.hw_accessible(m),
}
