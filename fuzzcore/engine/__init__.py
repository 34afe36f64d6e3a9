"""The native engine (fuzzcore/engine/_restore.pyx) and what compares it with the reference model.

    from fuzzcore.engine import Engine
    engine = Engine("i350", "linux-7.1")        # a DeviceProfile / Policy works too
    result = engine.run(program_bytes)          # .violations .state_features .returns .state_hash
    engine.run_batch(list_of_programs)          # number of violations per program (int32 array)
    engine.counters                             # uint8[NUM_STATE_COUNTERS], bumped once per op
    s = engine.state(); engine.load_state(s); engine.state_hash()

`model_view(model)` gives the reference model's state in the layout of `Engine.view()`, and
`first_difference(a, b)` names the first field (or config byte) where two views differ: the
differential test, `fuzzcore selfcheck` and `fuzzcore run --engine both` all compare with them.
"""

from __future__ import annotations

from ._restore import NUM_STATE_COUNTERS, OP_NAMES, REGISTER_NAMES, STEP_NAMES, Engine, EngineResult

__all__ = ["Engine", "EngineResult", "NUM_STATE_COUNTERS", "OP_NAMES", "REGISTER_NAMES", "STEP_NAMES",
           "ExploreEngineBackend", "ModelFacade", "first_difference", "model_view"]


def model_view(m) -> dict:
    """The reference Model's state (hardware, struct pci_dev, vfio, port, oracle standing set) as
    plain values, in the layout of Engine.view()."""
    st = m.state
    d, v = st.dev, st.vfio

    def blob(b):
        if b is None:
            return None
        return {"config": list(b.config), "config_epoch": b.config_epoch,
                "records": [(c, bool(e), bytes(data), ep) for c, e, data, ep in b.records]}

    port = None
    if st.port is not None:
        pb = st.port.dev.buffer(0x1E, True)
        port = {"config": st.port.hw.config.tobytes(), "ptm_enable_cnt": st.port.dev.ptm_enable_cnt,
                "ltr_path": bool(st.port.dev.ltr_path), "current_state": st.port.dev.current_state,
                "is_busmaster": bool(st.port.dev.is_busmaster),
                "aspm_enabled": st.port.dev.aspm_enabled, "clkpm_enabled": bool(st.port.dev.clkpm_enabled),
                "aspm_supersave": bool(st.port.dev.aspm_supersave),
                "l1ss": (pb.u32(0) | (pb.u32(1) << 32), pb.epoch) if pb is not None else None}
    return {
        "config": st.hw.config.tobytes(), "msix_table": st.hw.msix_table.tobytes(),
        "accessible": bool(st.hw.accessible), "powered": bool(st.hw.powered), "saved_config": list(d.saved_config),
        "config_epoch": d.config_epoch,
        "buffers": [(b.cap_id, bool(b.extended), bytes(b.data), b.epoch) for b in d.buffers],
        "state_saved": bool(d.state_saved), "save_count": d.save_count, "current_state": d.current_state,
        "resources": list(d.resources), "resource_sizes": list(d.resource_sizes),
        "enable_cnt": d.enable_cnt, "is_busmaster": bool(d.is_busmaster),
        "msi_enabled": bool(d.msi_enabled), "msix_enabled": bool(d.msix_enabled),
        "msix_descs": [(x.addr_lo, x.addr_hi, x.data, x.ctrl) for x in d.msix_descs],
        "msi_msg": tuple(d.msi_msg), "msi_mask": d.msi_mask,
        "tph": (bool(d.tph_enabled), d.tph_mode, d.tph_req_type), "ats": (bool(d.ats_enabled), d.ats_stu),
        "pasid": (bool(d.pasid_enabled), d.pasid_features), "pri": (bool(d.pri_enabled), d.pri_reqs_alloc),
        "ptm_enable_cnt": d.ptm_enable_cnt, "ptm_suspended": bool(d.ptm_suspended), "sriov": (d.sriov_ctrl, d.sriov_num_vfs, d.sriov_pgsz),
        "error_state": d.error_state, "driver": d.driver, "partial_load": bool(d.partial_load),
        "ltr_path": bool(d.ltr_path), "rpm_suspended": bool(d.rpm_suspended), "rpm_auto": bool(d.rpm_auto),
        "err_handler": d.err_handler, "driver_failed": bool(d.driver_failed),
        "vfio": {"registered": bool(v.registered), "open": bool(v.open), "blob": blob(v.blob),
                 "pm_save": blob(v.pm_save), "vconfig_command": v.vconfig_command,
                 "vconfig_devctl": v.vconfig_devctl, "vconfig_msi_flags": v.vconfig_msi_flags,
                 "msi_qmax": v.msi_qmax, "map_silent": bool(v.map_silent),
                 "vconfig_bars": list(v.vconfig_bars), "rbar": list(v.rbar), "reset_works": bool(v.reset_works),
                 "needs_reset": bool(v.needs_reset), "needs_pm_restore": bool(v.needs_pm_restore), "irq": v.irq,
                 "virq_disabled": bool(v.virq_disabled), "intx_masked": bool(v.intx_masked),
                 "qemu_resetting": bool(v.qemu_resetting), "pm_engaged": bool(v.pm_engaged),
                 "pm_wakeup": bool(v.pm_wakeup), "pm_intx_masked": bool(v.pm_intx_masked)},
        "port": port,
        "needs_restore_after_reset": bool(st.needs_restore_after_reset),
        "latest_save_epoch": m.latest_save_epoch, "standing": sorted(m.oracle._standing),
    }


def first_difference(a, b, path: str = "") -> tuple[str, object, object] | None:
    """(field, value in a, value in b) of the first place two views differ, else None. For byte
    fields (config spaces, the MSI-X table, buffers) the field names the byte offset."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            r = first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
            if r:
                return r
        return None
    if isinstance(a, (bytes, bytearray)) and isinstance(b, (bytes, bytearray)) and len(a) == len(b):
        if a != b:
            i = next(i for i in range(len(a)) if a[i] != b[i])
            return f"{path}[0x{i:03x}]", a[i], b[i]
        return None
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            r = first_difference(x, y, f"{path}[{i}]")
            if r:
                return r
        return None
    if a != b:
        return path, a, b
    return None


class ExploreEngineBackend:
    """What `fuzzcore explore` needs (see fuzzcore/explore/backend.py), on the native engine."""

    name = "native"

    def __init__(self, profile, policy):
        self.engine = Engine(profile, policy)
        self.engine.start()

    def state(self) -> bytes:
        return self.engine.state()

    def load_state(self, s: bytes) -> None:
        self.engine.load_state(s)

    def apply(self, call) -> list:
        """Apply one call (op index 0, a fresh violation log); return the violations it caused."""
        self.engine.clear_violations()
        self.engine.apply(call)
        return self.engine.violations()

    def refused(self) -> bool:
        """The last apply() was refused by a precondition (it changed nothing)."""
        return bool(self.engine.refused())

    def state_hash(self) -> bytes:
        return self.engine.state_hash().to_bytes(8, "little")


class _NS:
    """Attribute access over a dict (the facade's state objects)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return f"{type(self).__name__}({self.__dict__})"


class _Hw(_NS):
    def read(self, offset: int, width: int) -> int:
        if not self.accessible:
            return (1 << (8 * width)) - 1
        return int.from_bytes(self.config[offset:offset + width].tobytes(), "little")


class ModelFacade:
    """The engine behind the reference model's stepping API (start/apply/run, `.state.hw.read`,
    `.state.dev.<field>`, `.state.vfio.<field>`, `.state.port.hw.read`, `.oracle.violations`,
    `.caps`), so tests and tools written against fuzzcore.model.machine.Model run on the engine
    unchanged. The state objects are read-only snapshots taken when `.state` is read."""

    def __init__(self, profile, policy):
        from ..device.builtin import resolve_device
        from ..model.caps import cap_offsets
        self.engine = Engine(profile, policy)
        self.profile = self.engine.profile
        self.policy = self.engine.policy
        self.caps = cap_offsets(self.profile)
        up = self.profile.upstream_port
        self.port_caps = cap_offsets(resolve_device(up)) if up else None
        self.engine.start()

    def start(self, trace: bool = False) -> None:
        if trace:
            raise ValueError("the native engine does not trace; use the reference model")
        self.engine.start()

    def apply(self, call) -> int:
        return self.engine.apply(call)

    def run(self, calls, trace: bool = False):
        from ..program.codec import encode
        return self.engine.run(encode(calls))

    @property
    def oracle(self):
        return _NS(violations=self.engine.violations())

    @property
    def reset_probe(self) -> dict:
        return self.engine.reset_probe()

    @property
    def latest_save_epoch(self) -> int:
        return self.engine.view()["latest_save_epoch"]

    @property
    def state(self):
        import numpy as np
        v = self.engine.view()

        def blob(b):
            return None if b is None else _NS(config=b["config"], config_epoch=b["config_epoch"],
                                              records=b["records"])

        hw = _Hw(config=np.frombuffer(v["config"], dtype=np.uint8), accessible=v["accessible"], powered=v["powered"],
                 msix_table=np.frombuffer(v["msix_table"], dtype=np.uint8))
        tph, ats, pasid, pri, sriov = v["tph"], v["ats"], v["pasid"], v["pri"], v["sriov"]
        dev = _NS(saved_config=v["saved_config"], config_epoch=v["config_epoch"], state_saved=v["state_saved"],
                  save_count=v["save_count"], current_state=v["current_state"], resources=v["resources"],
                  resource_sizes=v["resource_sizes"], enable_cnt=v["enable_cnt"], is_busmaster=v["is_busmaster"],
                  msi_enabled=v["msi_enabled"], msix_enabled=v["msix_enabled"], msi_msg=v["msi_msg"],
                  msi_mask=v["msi_mask"], tph_enabled=tph[0], tph_mode=tph[1], tph_req_type=tph[2],
                  ats_enabled=ats[0], ats_stu=ats[1], pasid_enabled=pasid[0], pasid_features=pasid[1],
                  pri_enabled=pri[0], pri_reqs_alloc=pri[1], ptm_enable_cnt=v["ptm_enable_cnt"],
                  sriov_ctrl=sriov[0], sriov_num_vfs=sriov[1], sriov_pgsz=sriov[2], error_state=v["error_state"],
                  driver=v["driver"], partial_load=v["partial_load"], ltr_path=v["ltr_path"],
                  rpm_suspended=v["rpm_suspended"], rpm_auto=v["rpm_auto"], err_handler=v["err_handler"],
                  driver_failed=v["driver_failed"])
        f = v["vfio"]
        vfio = _NS(registered=f["registered"], open=f["open"], blob=blob(f["blob"]), pm_save=blob(f["pm_save"]),
                   vconfig_command=f["vconfig_command"], vconfig_devctl=f["vconfig_devctl"],
                   vconfig_msi_flags=f["vconfig_msi_flags"], msi_qmax=f["msi_qmax"], map_silent=f["map_silent"],
                   vconfig_bars=f["vconfig_bars"], rbar=f["rbar"],
                   reset_works=f["reset_works"], needs_reset=f["needs_reset"],
                   needs_pm_restore=f["needs_pm_restore"], irq=f["irq"],
                   virq_disabled=f["virq_disabled"], intx_masked=f["intx_masked"],
                   qemu_resetting=f["qemu_resetting"], pm_engaged=f["pm_engaged"],
                   pm_wakeup=f["pm_wakeup"], pm_intx_masked=f["pm_intx_masked"])
        port = None
        if v.get("port") is not None:    # the upstream port's config space (read-only, as `.state.port.hw.read`)
            pc = np.frombuffer(v["port"]["config"], dtype=np.uint8)
            port = _NS(hw=_Hw(config=pc, accessible=True, powered=True, msix_table=np.zeros(0, dtype=np.uint8)),
                       dev=_NS(**{k: x for k, x in v["port"].items() if k not in ("config", "l1ss")}))
        return _NS(hw=hw, dev=dev, vfio=vfio, port=port,
                   needs_restore_after_reset=v["needs_restore_after_reset"])
