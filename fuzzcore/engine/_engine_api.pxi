# The Python-facing engine: Engine(device, policy) prepares the tables once, then runs programs
# with the GIL released. Python objects (Violation, lists) are made only after a run, from the
# integer records the run left.

import numpy as _np

from ..model.invariants import BY_NAME as _INVARIANTS_BY_NAME, Violation as _Violation
from ..model.abstract_state import NUM_STATE_COUNTERS as _NUM_STATE_COUNTERS
from ..program.op_table import OPS as _OP_TABLE, RECORD_SIZE as _RECORD_SIZE, RETURNS_TO_USER_SPACE as _RETURNS_TO_USER_SPACE
from ..policy.vocabulary import (RESET_METHOD_NAMES as _RESET_METHOD_NAMES,
                                RESTORE_STEP_NAMES as _RESTORE_STEP_NAMES, SAVE_STEP_NAMES as _SAVE_STEP_NAMES)

NUM_STATE_COUNTERS = _NUM_STATE_COUNTERS
assert NUM_STATE_COUNTERS == NUM_STATE_COUNTERS_
assert all(name in _INVARIANTS_BY_NAME for name in INVARIANT_NAMES)
assert len(FIXED_STEP_NAMES) == STEP_RESTORE_BASE - STEP_ENUMERATION
assert len(_RESTORE_STEP_NAMES) <= MAX_RESTORE_STEPS and len(_SAVE_STEP_NAMES) <= MAX_SAVE_STEPS
assert len(ENGINE_OP_NAMES) == N_ENGINE_OPS
assert _RECORD_SIZE == 8


def _step_names():
    names = ["?"] * N_STEPS
    names[:N_ENGINE_OPS] = ENGINE_OP_NAMES
    names[STEP_ENUMERATION:STEP_RESTORE_BASE] = FIXED_STEP_NAMES
    for i, n in enumerate(_RESTORE_STEP_NAMES):
        names[STEP_RESTORE_BASE + i] = f"pci_restore_state/{n}"
    for i, n in enumerate(_SAVE_STEP_NAMES):
        names[STEP_SAVE_BASE + i] = f"pci_save_state/{n}"
    for i, n in enumerate(_RESET_METHOD_NAMES):
        names[STEP_RESET_BASE + i] = f"reset/{n}"
    return tuple(names)


STEP_NAMES = _step_names()
OP_NAMES = tuple(op.name for op in _OP_TABLE)


def _op_decode_rows():
    """codec.decode_record as data: per op-table row, the engine op and each argument's bytes and
    modulus; enum arguments must list their values in the order the engine codes them."""
    rows = []
    for op in _OP_TABLE:
        if op.name not in ENGINE_OP_NAMES:
            raise ImportError(f"op {op.name!r} of the op table has no engine semantics")
        if len(op.args) > MAX_ARGS:
            raise ImportError(f"op {op.name!r}: more than {MAX_ARGS} arguments")
        args = []
        for a in op.args:
            if a.kind == "enum":
                want = ENGINE_ENUM_ARGS.get((op.name, a.name))
                if tuple(a.domain) != want:
                    raise ImportError(f"{op.name}({a.name}): op table values {a.domain} differ from the "
                                      f"engine's {want}")
            args.append((a.nbytes, a.size))
        names = [a.name for a in op.args]
        width = names.index("width") if op.name == "vfio_config_write" else -1
        align = names.index("offset") if op.name == "vfio_config_write" else -1
        rows.append((ENGINE_OP_NAMES.index(op.name), args, width, align))
    return rows


_OP_ROWS = _op_decode_rows()
for _op in _OP_TABLE:
    OP_RETURNS_TO_USER[ENGINE_OP_NAMES.index(_op.name)] = _op.actor in _RETURNS_TO_USER_SPACE
_INV_BY_CODE = tuple(_INVARIANTS_BY_NAME[n].name for n in INVARIANT_NAMES)
_ERROR_STATES = ("normal", "frozen", "perm_failure")
_DRIVERS = ("none", "host", "vfio")
_IRQS = ("none", "intx", "msi", "msix")
_STANDING = ((STAND_VCONFIG, ("vconfig_mismatch", "Command")), (STAND_LTR, ("upstream_feature_off", "LTR")),
             (STAND_PTM, ("upstream_feature_off", "PTM"))) + tuple(
    (STAND_INTENT0 << _f, ("intent_mismatch", _INTENT_FIELDS[_f][0])) for _f in range(N_INTENT))


cdef class EngineResult:
    """What one run of a program left: violations (fuzzcore.model.invariants.Violation, in report
    order), the state feature (counter index) after each op, each op's return value, and the
    canonical 64-bit hash of the final state; `refused` lists the indices of ops a precondition
    refused (they returned the kernel's error and changed nothing).

    Engine.run() fills these on first use, from the engine's own buffers: a caller that keeps
    the result gets every value (the engine fills a result still referenced before its state
    changes again), and one that drops it unread, as a campaign or a benchmark loop does, pays
    for neither the lists nor the 10 KB state hash (run() took 2.5x run_batch's time per program
    building them)."""

    cdef list _violations
    cdef list _state_features
    cdef list _returns
    cdef object _state_hash
    cdef list _refused
    cdef object _engine            # the Engine whose current run this is (values not filled yet)

    def __init__(self, violations, state_features, returns, state_hash, refused=None):
        self._violations = violations
        self._state_features = state_features
        self._returns = returns
        self._state_hash = state_hash
        self._refused = refused if refused is not None else []
        self._engine = None

    cdef inline void _need(self) except *:
        if self._engine is not None:
            self._engine._fill_last()

    @property
    def violations(self):
        self._need()
        return self._violations

    @property
    def state_features(self):
        self._need()
        return self._state_features

    @property
    def returns(self):
        self._need()
        return self._returns

    @property
    def state_hash(self):
        self._need()
        return self._state_hash

    @property
    def refused(self):
        self._need()
        return self._refused

    @property
    def buckets(self):
        return [v.bucket for v in self.violations]

    def __repr__(self):
        return (f"EngineResult({len(self.violations)} violations, {len(self.state_features)} ops, "
                f"state_hash=0x{self.state_hash:016x})")


cdef class Engine:
    """The native engine for one device under one policy.

        engine = Engine("i350", "linux-7.1+vfio-reset-done-v18")   # or a DeviceProfile / Policy
        result = engine.run(program_bytes)                          # EngineResult
        counts = engine.run_batch([p1, p2, ...])                    # violations per program
    """

    cdef Machine m
    cdef State init_state
    cdef uint64_t init_intent_prev[N_INTENT]    # intent_init of the initial state, computed once
    cdef uint32_t init_written[N_WRITTEN]
    cdef int n_viol_init
    cdef OpDecode ops[256]
    cdef int n_ops
    cdef object _arena, _init_arena, _keep_alive
    cdef uint8_t *arena
    cdef uint8_t *init_arena
    cdef Py_ssize_t arena_size
    cdef ViolationRec *viol_buf
    cdef int64_t *rets_buf
    cdef int32_t *feat_buf
    cdef uint8_t *refused_buf
    cdef Py_ssize_t ops_cap
    cdef Py_ssize_t n_run              # ops applied since start()
    cdef readonly object profile
    cdef readonly object policy
    cdef readonly object compiled
    cdef readonly object tables
    cdef readonly object counters      # uint8[NUM_STATE_COUNTERS], bumped once per op (saturating)
    cdef object _seen                  # uint8[NUM_STATE_COUNTERS]: which counters any run has bumped
    cdef dict _violation_cache
    cdef EngineResult _last            # run()'s result, its values filled on demand (EngineResult)
    # The campaign target's last input and the run it was (run_serial counts _reset calls): the
    # mutator's next call usually gets that very input back (libFuzzer stacks its mutations and
    # runs each), and without_refused then reads its refused flags instead of running it again.
    cdef uint64_t run_serial
    cdef uint64_t last_input_serial
    cdef uint8_t *last_buf             # a copy of that input (C: the C driver hands no bytes)
    cdef uint8_t *facts_buf            # per op of the last run: pack_facts after it
    cdef uint8_t init_facts            # pack_facts of the initial state
    cdef Py_ssize_t last_len, last_cap

    def __cinit__(self):
        self.viol_buf = NULL
        self.rets_buf = NULL
        self.feat_buf = NULL
        self.refused_buf = NULL
        self.last_buf = NULL
        self.facts_buf = NULL
        self.last_len = -1
        self.last_cap = 0
        self._violation_cache = {}

    def __dealloc__(self):
        PyMem_Free(self.viol_buf)
        PyMem_Free(self.rets_buf)
        PyMem_Free(self.feat_buf)
        PyMem_Free(self.refused_buf)
        PyMem_Free(self.last_buf)
        PyMem_Free(self.facts_buf)

    def __init__(self, device, policy, counters=None, int max_violations=4096):
        from ..device.builtin import resolve_device
        from .tables import device_tables, policy_tables
        from ..policy import load_policy
        if isinstance(device, str):
            device = resolve_device(device)
        if isinstance(policy, str):
            policy = load_policy(policy)
        compiled = policy.compile() if hasattr(policy, "compile") else policy
        self.profile, self.policy, self.compiled = device, policy, compiled
        dt = device_tables(device, compiled.vfio_regions)
        pt = policy_tables(compiled)
        self.tables = (dt, pt)
        if counters is None:
            counters = _np.zeros(NUM_STATE_COUNTERS, dtype=_np.uint8)
        if counters.dtype != _np.uint8 or counters.shape != (NUM_STATE_COUNTERS,) or not counters.flags.c_contiguous:
            raise ValueError(f"counters must be a contiguous uint8[{NUM_STATE_COUNTERS}] array")
        self.counters = counters
        memset(&self.m, 0, sizeof(Machine))
        self._load_device(dt)
        self._load_policy(pt)
        self._load_ops()
        self.viol_buf = <ViolationRec *>PyMem_Malloc(max_violations * sizeof(ViolationRec))
        if self.viol_buf == NULL:
            raise MemoryError()
        self.m.viol = self.viol_buf
        self.m.viol_cap = max_violations
        self._grow(64)
        cdef uint8_t[::1] cview = self.counters
        self.m.counters = &cview[0]
        self._seen = _np.zeros(NUM_STATE_COUNTERS, dtype=_np.uint8)
        cdef uint8_t[::1] sview = self._seen
        self.m.seen = &sview[0]
        self.m.n_counters = NUM_STATE_COUNTERS
        # the initial state, built once; every run starts from a copy of it
        self.m.n_viol = 0
        with nogil:
            initial_state(&self.m)
        self.n_viol_init = self.m.n_viol
        memcpy(&self.init_state, &self.m.st, sizeof(State))
        self.init_facts = pack_facts(&self.m)
        intent_init(&self.m)
        memcpy(self.init_intent_prev, self.m.intent_prev, sizeof(self.init_intent_prev))
        memcpy(self.init_written, self.m.written, sizeof(self.init_written))
        self._init_arena = self._arena.copy()
        cdef uint8_t[::1] iview = self._init_arena
        self.init_arena = &iview[0]
        self.n_run = 0

    # --- table loading (once) ---------------------------------------------------------------
    cdef void _load_function(self, Function *fn, ft, list keep_alive) except *:
        cdef uint8_t[::1] wm = ft.wmask
        cdef uint8_t[::1] w1c = ft.w1cmask
        cdef uint64_t[:, ::1] keep = ft.keep
        cdef uint64_t[:, ::1] dflt = ft.default
        cdef int32_t[::1] words
        cdef int k
        keep_alive.extend([ft.wmask, ft.w1cmask, ft.keep, ft.default])
        fn.wmask = &wm[0]
        fn.w1cmask = &w1c[0]
        fn.keep = &keep[0, 0]
        fn.deflt = &dflt[0, 0]
        for k in range(N_RESET_KINDS):
            arr = _np.ascontiguousarray(ft.reset_words[k], dtype=_np.int32)
            if arr.size == 0:
                arr = _np.zeros(1, dtype=_np.int32)
                fn.n_reset_words[k] = 0
            else:
                fn.n_reset_words[k] = arr.size
            keep_alive.append(arr)
            words = arr
            fn.reset_words[k] = &words[0]
        c = ft.caps
        fn.caps.pm, fn.caps.msi, fn.caps.msix, fn.caps.exp = c["pm"], c["msi"], c["msix"], c["exp"]
        fn.caps.pcix, fn.caps.aer, fn.caps.acs, fn.caps.ari = c["pcix"], c["aer"], c["acs"], c["ari"]
        fn.caps.ats, fn.caps.sriov, fn.caps.pri, fn.caps.rebar = c["ats"], c["sriov"], c["pri"], c["rebar"]
        fn.caps.tph, fn.caps.ltr, fn.caps.pasid, fn.caps.dpc = c["tph"], c["ltr"], c["pasid"], c["dpc"]
        fn.caps.l1ss, fn.caps.ptm = c["l1ss"], c["ptm"]
        fn.caps.exp_type, fn.caps.exp_flags = c["exp_type"], c["exp_flags"]
        if len(ft.vc) > MAX_VC or len(ft.bufs) > MAX_BUFS:
            raise ValueError("too many VC capabilities or save buffers for the engine")
        fn.caps.n_vc = len(ft.vc)
        for k, (cap_id, off, count) in enumerate(ft.vc):
            fn.caps.vc_id[k], fn.caps.vc_off[k], fn.caps.vc_count[k] = cap_id, off, count
        fn.n_bufs = len(ft.bufs)
        pos = 0
        for k, (cap_id, ext, size) in enumerate(ft.bufs):
            fn.bufs[k].cap_id, fn.bufs[k].extended, fn.bufs[k].size, fn.bufs[k].offset = cap_id, ext, size, pos
            pos += size

    cdef void _load_device(self, dt) except *:
        cdef Device *d = &self.m.d
        cdef list keep_alive = []
        cdef int k
        self._load_function(&d.fn, dt.fn, keep_alive)
        d.header_type = dt.header_type
        d.multifunction = dt.multifunction
        d.flr, d.no_soft_reset, d.has_rom = dt.flr, dt.no_soft_reset, dt.has_rom
        d.rom_base_reg, d.rom_new = dt.rom_base_reg, dt.rom_new
        d.n_bars = len(dt.bars)
        for k in range(6):
            d.bar_pos[k] = -1
        for k, (index, kind, size, addr, flags) in enumerate(dt.bars):
            d.bars[k].index, d.bars[k].kind, d.bars[k].size, d.bars[k].image_addr = index, kind, size, addr
            d.bars[k].flags = flags
            d.bar_pos[index] = k
        d.msix_entries, d.msix_table_bir, d.msix_table_offset = \
            dt.msix_entries, dt.msix_table_bir, dt.msix_table_offset
        d.tph_entries = dt.tph_entries
        d.virtfn = dt.virtfn
        d.virtual_bus = dt.virtual_bus
        d.platform_d3cold = dt.platform_d3cold
        d.eetlp_prefix, d.acs_check, d.port_acs_check = dt.eetlp_prefix, dt.acs_check, dt.port_acs_check
        d.bridge_d3 = dt.bridge_d3
        d.sriov_total_vfs, d.sriov_vfm, d.iov_bars_assigned = dt.sriov_total_vfs, dt.sriov_vfm, dt.iov_bars_assigned
        for k in range(6):
            d.iov_kind[k], d.iov_addr[k], d.iov_flags[k] = dt.iov_resources[k]
        d.vfs_share_bus = dt.vfs_share_bus
        d.aspm_link = 1 if dt.aspm else 0
        d.aspm_capable, d.aspm_enabled0, d.clkpm_capable, d.clkpm_enabled0, d.aspm_support, d.aspm_default = \
            dt.aspm if dt.aspm else (0, 0, 0, 0, 0, 0)
        d.ptm_root, d.ptm_gran, d.ptm_type_ok = dt.ptm[0] if dt.ptm[0] else (0, 0, 0)
        d.upstream_ptm = 1 if dt.ptm[1] else 0
        d.port_ptm_root, d.port_ptm_gran, d.port_ptm_type_ok = dt.ptm[1] if dt.ptm[1] else (0, 0, 0)
        d.n_aer_regs = len(dt.aer_regs)
        for k, r in enumerate(dt.aer_regs):
            d.aer_regs[k] = r
        for k, impl in enumerate(dt.pcie_impl):
            d.pcie_impl[k] = impl
        for k, impl in enumerate(dt.pcie_reg_impl):
            d.pcie_reg_impl[k] = impl
        d.rebar_first_bar = dt.rebar_first_bar
        d.d1d2 = dt.d1d2
        d.buf_exp = d.buf_pcix = d.buf_ltr = d.buf_ptm = d.buf_aer = d.buf_tph = d.buf_l1ss = d.buf_dpc = -1
        for k in range(MAX_VC):
            d.buf_vc[k] = -1
        for k, (cap_id, ext, size) in enumerate(dt.fn.bufs):       # pci_find_saved_(ext_)cap: first match
            key = (cap_id, bool(ext))
            if key == (0x10, False) and d.buf_exp < 0: d.buf_exp = k
            elif key == (0x07, False) and d.buf_pcix < 0: d.buf_pcix = k
            elif key == (0x18, True) and d.buf_ltr < 0: d.buf_ltr = k
            elif key == (0x1F, True) and d.buf_ptm < 0: d.buf_ptm = k
            elif key == (0x01, True) and d.buf_aer < 0: d.buf_aer = k
            elif key == (0x17, True) and d.buf_tph < 0: d.buf_tph = k
            elif key == (0x1E, True) and d.buf_l1ss < 0: d.buf_l1ss = k
            elif key == (0x1D, True) and d.buf_dpc < 0: d.buf_dpc = k
        for j, (vc_id, off, count) in enumerate(dt.fn.vc):
            for k, (cap_id, ext, size) in enumerate(dt.fn.bufs):
                if cap_id == vc_id and ext:
                    d.buf_vc[j] = k
                    break
        cdef int16_t[::1] vmap
        cdef int16_t[::1] vstart
        cdef uint8_t[::1] vkind
        cdef uint8_t[::1] vwrite
        cdef uint8_t[::1] vvirt
        for k, vm in enumerate(dt.vfio_maps):
            vmap, vstart, vkind, vwrite, vvirt = vm.map_id, vm.start, vm.kind, vm.write, vm.virt
            keep_alive.extend([vm.map_id, vm.start, vm.kind, vm.write, vm.virt])
            d.vf_map[k], d.vf_start[k], d.vf_kind[k] = &vmap[0], &vstart[0], &vkind[0]
            d.vf_write[k], d.vf_virt[k], d.vf_cfg_size = &vwrite[0], &vvirt[0], vm.cfg_size
        if len(dt.written_layout) != N_WRITTEN or len(_INTENT_FIELDS) != N_INTENT:
            raise ValueError("intent.WRITTEN / FIELDS and the engine's N_WRITTEN / N_INTENT differ: rebuild")
        from ..model.intent import CORE_RESTORED as _core, WRITTEN as _written
        if _core != tuple(IF_BAR0 + i for i in range(6)) + tuple(IF_WRITTEN1 + W_VF_BAR0 + i - 1 for i in range(6)) \
                or _written[W_VF_BAR0][0] != "SR-IOV VF BAR0":
            raise ValueError("intent.CORE_RESTORED and the engine's W_VF_BAR0 differ: rebuild")
        d.n_wr = 0
        for k, (off, width, cmp, port) in enumerate(dt.written_layout):
            d.wr_off[k], d.wr_width[k], d.wr_cmp[k], d.wr_port[k] = off, width, cmp, port
            if k > 0 and off >= 0 and (not port or dt.port is not None):
                d.wr_rows[d.n_wr] = k          # the rows this function has (Command is separate)
                d.n_wr += 1
        cdef uint8_t[::1] wm0 = dt.written_maps[0]
        cdef uint8_t[::1] wm1 = dt.written_maps[1]
        dw = [_np.ascontiguousarray((_np.asarray(a).reshape(-1, 4) != 255).any(axis=1).astype(_np.uint8))
              for a in dt.written_maps]
        cdef uint8_t[::1] dw0 = dw[0]
        cdef uint8_t[::1] dw1 = dw[1]
        keep_alive.extend(dt.written_maps)
        keep_alive.extend(dw)
        d.wr_map[0], d.wr_map[1] = &wm0[0], &wm1[0]
        d.wr_dword[0], d.wr_dword[1] = &dw0[0], &dw1[0]
        d.has_port = dt.port is not None
        if d.has_port:
            self._load_function(&d.port, dt.port, keep_alive)
            d.port_buf_l1ss = any(b[0] == 0x1E and b[1] for b in dt.port.bufs)
        # the arena: device config, port config, MSI-X table, save buffers, the two blobs' buffers
        pool = sum(size for _, _, size in dt.fn.bufs)
        pool8 = max(8, (pool + 7) // 8 * 8)
        msix = max(8, (dt.msix_entries * 16 + 7) // 8 * 8)
        cdef Py_ssize_t pool_off = 2 * CFG_ALLOC + msix
        cdef Py_ssize_t p8 = pool8
        size = pool_off + 3 * pool8
        self._arena = _np.zeros(size, dtype=_np.uint8)
        self._arena[:CFG_ALLOC] = dt.fn.config
        if dt.port is not None:
            self._arena[CFG_ALLOC:2 * CFG_ALLOC] = dt.port.config
        cdef uint8_t[::1] av = self._arena
        self.arena = &av[0]
        self.arena_size = size
        self.m.cfg = self.arena
        self.m.pcfg = self.arena + CFG_ALLOC
        self.m.msix = self.arena + 2 * CFG_ALLOC
        self.m.pool = self.arena + pool_off
        self.m.blob_pool = self.m.pool + p8
        self.m.pm_save_pool = self.m.pool + 2 * p8
        self.m.pool_size = pool
        self._keep_alive = keep_alive

    cdef void _load_policy(self, pt) except *:
        cdef Policy *p = &self.m.pol
        cdef int k
        if len(pt.restore) > MAX_RESTORE_STEPS or len(pt.save) > MAX_SAVE_STEPS or len(pt.reset) > MAX_RESET_METHODS:
            raise ValueError("policy has more steps than the engine's tables hold")
        p.n_restore = len(pt.restore)
        for k, (sid, name, source, gate) in enumerate(pt.restore):
            if name not in RESTORE_KIND_NAMES:
                raise ValueError(f"restore step {name!r} has no engine semantics")
            p.restore_step[k] = sid
            p.restore_kind[k] = RESTORE_KIND_NAMES.index(name)
            p.restore_source[k] = {"snapshot": SRC_SNAPSHOT, "live": SRC_LIVE, "hardware": SRC_HARDWARE}[source]
            p.restore_gate[k] = {"always": GATE_ALWAYS, "live_flag": GATE_LIVE_FLAG, "never": GATE_NEVER}[gate]
        p.n_save = len(pt.save)
        for k, (sid, name, gate) in enumerate(pt.save):
            if name not in SAVE_KIND_NAMES:
                raise ValueError(f"save step {name!r} has no engine semantics")
            p.save_step[k] = sid
            p.save_kind[k] = SAVE_KIND_NAMES.index(name)
            p.save_gate[k] = {"always": GATE_ALWAYS, "live_flag": GATE_LIVE_FLAG, "never": GATE_NEVER}[gate]
        p.n_reset = len(pt.reset)
        for k, (mid, name) in enumerate(pt.reset):
            p.reset_method[k] = {"flr": METHOD_FLR, "pm": METHOD_PM, "bus": METHOD_BUS}[name]
            p.reset_step[k] = mid
        s = pt.switches
        p.gate_on_state_saved = s["gate_on_state_saved"]
        p.clear_state_saved = s["clear_state_saved"]
        p.enumeration_save = s["enumeration_save"]
        p.save_and_disable_skip = s["save_and_disable_skip"]
        p.restore_after_failed_reset = s["restore_after_failed_reset"]
        p.bar_assignment_updates_snapshot = s["bar_assignment_updates_snapshot"]
        p.close_resave = s["close_resave"]
        p.aer_native = s["aer_native"]
        p.disable_idle_d3 = s["disable_idle_d3"]
        # paths: the engine's codes are the vocabulary's positions (checked, not assumed)
        if tuple(n for n, _, _, _ in pt.paths) != ENGINE_PATH_NAMES or tuple(pt.primitive_names) != \
                ENGINE_PRIMITIVE_NAMES or tuple(pt.condition_names) != ENGINE_CONDITION_NAMES:
            raise ValueError("the policy's path vocabulary does not match the engine's (rebuild the extension)")
        if len(pt.paths) > MAX_PATHS or len(pt.path_steps) > MAX_PATH_STEPS:
            raise ValueError("policy has more path steps than the engine's tables hold")
        p.n_paths = len(pt.paths)
        for k, (name, start, length, label) in enumerate(pt.paths):
            p.path_start[k], p.path_len[k] = start, length
            p.path_label[k] = STEP_ENUMERATION + FIXED_STEP_NAMES.index(label) if label else -1
        for k, (prim, arg, when) in enumerate(pt.path_steps):
            p.ps_prim[k], p.ps_arg[k], p.ps_when[k] = prim, arg, when
        p.legacy_pm = p.path_len[PATH_DRIVER_LEGACY_SUSPEND] > 0 or p.path_len[PATH_DRIVER_LEGACY_RESUME] > 0
        specialize_paths(&self.m)                       # the device is loaded: fold its constants
        if len(pt.pre) > MAX_TABLE_OPS:
            raise ValueError("more op-table rows than the engine's precondition table holds")
        for k, rules in enumerate(pt.pre):
            if len(rules) > MAX_RULES:
                raise ValueError("more preconditions per op than the engine holds")
            p.pre_n[k] = len(rules)
            for j, (fact, mask, errno) in enumerate(rules):
                p.pre_fact[k][j], p.pre_mask[k][j], p.pre_errno[k][j] = fact, mask, errno

    cdef void _load_ops(self) except *:
        cdef int i, k
        self.n_ops = len(_OP_ROWS)
        for i, (code, args, width, align) in enumerate(_OP_ROWS):
            self.ops[i].code = code
            self.ops[i].n_args = len(args)
            for k, (nbytes, modulo) in enumerate(args):
                self.ops[i].nbytes[k] = nbytes
                self.ops[i].modulo[k] = modulo
            self.ops[i].width_arg = width
            self.ops[i].align_arg = align

    cdef void _grow(self, Py_ssize_t n) except *:
        """Room for the per-op outputs of an n-op program (grows only; never in the hot loop)."""
        cdef int64_t *r
        cdef int32_t *f
        cdef uint8_t *u
        if n <= self.ops_cap:
            return
        n = max(n, 2 * self.ops_cap)
        r = <int64_t *>PyMem_Realloc(self.rets_buf, n * sizeof(int64_t))
        if r == NULL:
            raise MemoryError()
        self.rets_buf = r
        f = <int32_t *>PyMem_Realloc(self.feat_buf, n * sizeof(int32_t))
        if f == NULL:
            raise MemoryError()
        self.feat_buf = f
        u = <uint8_t *>PyMem_Realloc(self.refused_buf, n * sizeof(uint8_t))
        if u == NULL:
            raise MemoryError()
        self.refused_buf = u
        u = <uint8_t *>PyMem_Realloc(self.facts_buf, n * sizeof(uint8_t))
        if u == NULL:
            raise MemoryError()
        self.facts_buf = u
        self.m.facts = self.facts_buf
        self.ops_cap = n
        self.m.rets = self.rets_buf
        self.m.features = self.feat_buf
        self.m.refused = self.refused_buf

    # --- running ------------------------------------------------------------------------------
    cdef inline void _reset(self) noexcept nogil:
        """Back to the initial state: O(state size), no allocation."""
        self.run_serial += 1
        memcpy(&self.m.st, &self.init_state, sizeof(State))
        memcpy(self.arena, self.init_arena, self.arena_size)
        self.m.n_viol = self.n_viol_init
        self.m.viol_dropped = 0
        machine_transients(&self.m)
        self.n_run = 0
        intent_reset(&self.m, self.init_intent_prev, self.init_written)   # intent_init, from the cache

    cdef void _run_nogil(self, const uint8_t *data, Py_ssize_t n_rec) noexcept nogil:
        cdef Py_ssize_t i
        for i in range(n_rec):
            apply_record(&self.m, self.ops, self.n_ops, data + 8 * i, <int>i)

    cdef void _keep_last_input(self, const uint8_t *p, Py_ssize_t size) except *:
        """Remember the campaign target's input of the run just made (without_refused)."""
        cdef uint8_t *b
        if size > self.last_cap:
            b = <uint8_t *>PyMem_Realloc(self.last_buf, size)
            if b == NULL:
                raise MemoryError()
            self.last_buf = b
            self.last_cap = size
        if size:
            memcpy(self.last_buf, p, size)
        self.last_len = size
        self.last_input_serial = self.run_serial

    cdef inline void _settle(self) except *:
        """Before the state or the output buffers change: the last run()'s result gets its values
        now if anyone still holds it (its reference count is above the engine's own)."""
        if self._last is not None:
            if _Py_REFCNT(<PyObject *>self._last) > 1:
                self._fill(self._last)
            self._last = None

    cdef void _fill(self, EngineResult r) except *:
        cdef Py_ssize_t i
        cdef uint64_t h
        with nogil:
            h = state_hash_of(&self.m, self.arena, self.arena_size)
        r._violations = self.violations()
        r._state_features = [self.feat_buf[i] for i in range(self.n_run)]
        r._returns = [self.rets_buf[i] for i in range(self.n_run)]
        r._refused = [i for i in range(self.n_run) if self.refused_buf[i]]
        r._state_hash = h
        r._engine = None

    def _fill_last(self):
        """EngineResult's accessors: fill the pending result (the engine's current run)."""
        if self._last is not None:
            self._fill(self._last)
            self._last = None

    def run(self, data) -> EngineResult:
        """Run one program (RECORD_SIZE-byte records; a short tail is ignored) from the initial
        state; return its EngineResult."""
        cdef const uint8_t[::1] buf
        cdef const uint8_t *p
        cdef Py_ssize_t n
        if type(data) is bytes:             # the usual case: no buffer acquisition (~1 us)
            p = <const uint8_t *>PyBytes_AS_STRING(data)
            n = PyBytes_GET_SIZE(data) // 8
        else:
            buf = data if len(data) else b"\0"
            p = &buf[0]
            n = len(data) // 8
        self._settle()
        self._grow(n)
        with nogil:
            self._reset()
            self._run_nogil(p, n)
            self.n_run = n
        return self._result()

    def op_mask(self, bytes prefix not None) -> bytes:
        """One byte per op-table row: 1 when the row's preconditions (op table `pre` under this
        policy: owner, power, runtime PM) hold in the state `prefix` reaches, else 0 (the op
        would be refused: Model.refusal). The campaign's mutator draws new ops from it
        (fuzzcore.engine._mutate.MutationMix). It runs the prefix without counting: the
        campaign's op statistics and the libFuzzer counters are left as they were."""
        cdef Py_ssize_t n = len(prefix) // 8
        cdef const uint8_t *p = <const uint8_t *>(<char *>prefix)
        cdef uint8_t *counters = self.m.counters
        cdef int64_t ops_run = self.m.n_ops_run, refused = self.m.n_refused
        cdef int op
        out = bytearray(self.n_ops)
        cdef unsigned char[::1] view = out
        self._settle()
        self._grow(n if n > 0 else 1)
        self.m.counters = NULL
        with nogil:
            self._reset()
            self._run_nogil(p, n)
            for op in range(self.n_ops):
                view[op] = 1 if refusal(&self.m, op) == 0 else 0
        self.m.counters = counters
        self.m.n_ops_run, self.m.n_refused = ops_run, refused
        self.n_run = n
        return bytes(out)

    def facts_masks(self) -> bytes:
        """op_mask by packed facts: 256 rows (pack_facts values) of one byte per op-table row,
        1 when the row's preconditions hold for those facts. op_mask(prefix) is the row of the
        facts the prefix leaves (tests/test_mutator.py checks the two agree)."""
        cdef int f, op
        out = bytearray(256 * self.n_ops)
        cdef unsigned char[::1] view = out
        for f in range(256):
            for op in range(self.n_ops):
                view[f * self.n_ops + op] = 1 if refusal_by_facts(&self.m.pol, op, <uint8_t>f) == 0 else 0
        return bytes(out)

    def run_facts(self) -> bytes:
        """The packed precondition facts of the last run: the initial state's, then those
        after each op."""
        return bytes([self.init_facts]) + bytes([self.facts_buf[i] for i in range(self.n_run)])

    def last_run_entry(self) -> int:
        """The address of engine_last_run_view (the campaign mutator's C view of this engine's
        last run), with this object as its context."""
        return <uintptr_t>&engine_last_run_view

    def states_seen(self) -> int:
        """How many distinct state features (counters) the runs of this engine have bumped: what
        libFuzzer counts as `ft:` from them, kept here so a campaign can report it while
        libFuzzer prints nothing per new input."""
        return int(_np.count_nonzero(self._seen))

    def without_refused(self, bytes data not None) -> bytes:
        """`data` (whole records) without the records a precondition refuses when it runs: an
        equivalent program (a refused op changed nothing; the codec is deletion-stable), as
        the campaign keeps its reproducers (harness.without_refused). `data` itself when none is
        refused. Like op_mask, it counts nothing."""
        cdef Py_ssize_t n = len(data) // 8, i, k = 0
        cdef const uint8_t *p = <const uint8_t *>(<char *>data)
        cdef uint8_t *counters = self.m.counters
        cdef int64_t ops_run = self.m.n_ops_run, refused = self.m.n_refused
        cdef int64_t n_ref = 0
        if (self.last_len == len(data) and self.last_input_serial == self.run_serial
                and self.n_run == n and memcmp(self.last_buf, p, self.last_len) == 0):
            for i in range(n):          # the target's last run: its flags are still here
                n_ref += self.refused_buf[i]
        else:
            self._settle()
            self._grow(n if n > 0 else 1)
            self.m.counters = NULL
            with nogil:
                self._reset()
                self._run_nogil(p, n)
            n_ref = self.m.n_refused - refused
            self.m.counters = counters
            self.m.n_ops_run, self.m.n_refused = ops_run, refused
            self.n_run = n
        if n_ref == 0:
            return data
        out = bytearray((n - n_ref) * 8)
        cdef unsigned char[::1] view = out
        for i in range(n):
            if not self.refused_buf[i]:
                memcpy(&view[k * 8], p + i * 8, 8)
                k += 1
        return bytes(out)

    def run_batch(self, programs) -> _np.ndarray:
        """Run many programs (a list of bytes, or a 2-D uint8 array with one program per row);
        return the number of violations of each (int32 array). State features are counted in
        `counters` as they are by run()."""
        cdef Py_ssize_t i, n_prog, n_rec
        cdef const uint8_t[:, ::1] rows
        cdef const uint8_t[::1] one
        cdef int32_t[::1] out_view
        out = None
        self._settle()
        if isinstance(programs, _np.ndarray):
            rows = _np.ascontiguousarray(programs, dtype=_np.uint8)
            n_prog = rows.shape[0]
            n_rec = rows.shape[1] // 8
            out = _np.zeros(n_prog, dtype=_np.int32)
            out_view = out
            self._grow(n_rec)
            with nogil:
                for i in range(n_prog):
                    self._reset()
                    self._run_nogil(&rows[i, 0], n_rec)
                    out_view[i] = self.m.n_viol
                self.n_run = n_rec
            return out
        n_prog = len(programs)
        out = _np.zeros(n_prog, dtype=_np.int32)
        out_view = out
        for i in range(n_prog):
            p = programs[i]
            n_rec = len(p) // 8
            if n_rec == 0:
                with nogil:
                    self._reset()
                continue
            one = p
            self._grow(n_rec)
            with nogil:
                self._reset()
                self._run_nogil(&one[0], n_rec)
                self.n_run = n_rec
                out_view[i] = self.m.n_viol
        return out

    cdef EngineResult _result(self):
        cdef EngineResult r = EngineResult.__new__(EngineResult)
        r._engine = self
        self._last = r
        return r

    # --- stepping (run --engine both, explore) -------------------------------------------------
    def start(self):
        """Back to the initial state, ready for apply()."""
        self._settle()
        with nogil:
            self._reset()

    def apply(self, record) -> int:
        """Run one op (one RECORD_SIZE-byte record, or a fuzzcore.program.codec.Call); return its
        return value."""
        cdef const uint8_t[::1] rec
        cdef Py_ssize_t i = self.n_run
        if not isinstance(record, (bytes, bytearray, memoryview)):
            from ..program.codec import encode_call
            record = encode_call(record)
        if len(record) < 8:
            record = bytes(record) + bytes(8 - len(record))
        rec = record
        self._settle()
        self._grow(i + 1)
        with nogil:
            apply_record(&self.m, self.ops, self.n_ops, &rec[0], <int>i)
        self.n_run = i + 1
        return self.rets_buf[i]

    def violations(self) -> list:
        """The violations reported since start(), as fuzzcore.model.invariants.Violation."""
        cdef Py_ssize_t i
        cdef ViolationRec *v
        out = []
        cache = self._violation_cache
        for i in range(self.m.n_viol):
            v = &self.viol_buf[i]
            key = (v.invariant, v.op_index, v.op_kind, v.reg, v.step, v.msg, v.a, v.b, v.c)
            obj = cache.get(key)
            if obj is None:
                # Violations are immutable, so equal records share one object (a campaign sees
                # the same few thousand over and over); the cache is bounded.
                if len(cache) >= 65536:
                    cache.clear()
                expected, actual = _message(v.msg, v.a, v.b, v.c)
                obj = _Violation(_INV_BY_CODE[v.invariant], v.op_index,
                                 OP_NAMES[v.op_kind] if v.op_kind >= 0 else "init",
                                 REGISTER_NAMES[v.reg], STEP_NAMES[v.step], expected, actual)
                cache[key] = obj
            out.append(obj)
        return out

    def features(self) -> list:
        """The state feature (counter index) after each op since start()."""
        cdef Py_ssize_t i
        return [self.feat_buf[i] for i in range(self.n_run)]

    def returns(self) -> list:
        """Each op's return value since start()."""
        cdef Py_ssize_t i
        return [self.rets_buf[i] for i in range(self.n_run)]

    def refused(self) -> list:
        """The indices of the ops since start() that a precondition refused."""
        cdef Py_ssize_t i
        return [i for i in range(self.n_run) if self.refused_buf[i]]

    @property
    def n_refused(self) -> int:
        """Ops refused by a precondition, over every run of this engine (campaign stats)."""
        return self.m.n_refused

    @property
    def n_ops_run(self) -> int:
        """Ops applied (refused or not), over every run of this engine."""
        return self.m.n_ops_run

    def clear_violations(self):
        """Forget the violations reported so far (and their buckets) and number ops from 0 again."""
        self._settle()
        self.m.n_viol = 0
        self.n_run = 0

    @property
    def dropped_violations(self) -> int:
        return self.m.viol_dropped

    # --- state snapshots --------------------------------------------------------------------------
    def state(self) -> bytes:
        """The whole model state (hardware, kernel, vfio, port, oracle standing set), as bytes."""
        return (<char *>&self.m.st)[:sizeof(State)] + (<char *>self.arena)[:self.arena_size]

    def load_state(self, bytes s):
        """Continue from a state() of this engine; the violation log starts empty."""
        if len(s) != sizeof(State) + self.arena_size:
            raise ValueError("not a state of this engine (size differs)")
        self._settle()
        memcpy(&self.m.st, <const char *>s, sizeof(State))
        memcpy(self.arena, (<const char *>s) + sizeof(State), self.arena_size)
        self.m.n_viol = 0
        self.n_run = 0
        intent_init(&self.m)

    def state_hash(self) -> int:
        """The canonical 64-bit hash of the current state (epochs renumbered by order)."""
        cdef uint64_t h
        with nogil:
            h = state_hash_of(&self.m, self.arena, self.arena_size)
        return h

    # --- a readable view, for comparison with the reference model ----------------------------------
    cdef list _buffers(self, const uint8_t *p, const int64_t *epochs):
        cdef Device *d = &self.m.d
        cdef int i, off, size
        out = []
        for i in range(d.fn.n_bufs):
            off = d.fn.bufs[i].offset
            size = d.fn.bufs[i].size
            out.append((d.fn.bufs[i].cap_id, bool(d.fn.bufs[i].extended), (<const char *>p)[off:off + size],
                        epochs[i]))
        return out

    cdef object _blob(self, Blob *b, const uint8_t *p):
        cdef int i
        if not b.present:
            return None
        return {"config": [b.config[i] for i in range(16)], "config_epoch": b.config_epoch,
                "records": list(reversed(self._buffers(p, b.epochs)))}

    def reset_probe(self) -> dict:
        """Model.reset_probe: each reset method and whether its probe at enumeration returned 0."""
        return {name: bool(self.m.reset_probe >> k & 1) for k, name in enumerate(("flr", "pm", "bus"))}

    def view(self) -> dict:
        """The state as plain Python values, in the layout of fuzzcore.engine.model_view()."""
        cdef KernelDev *dev = &self.m.st.dev
        cdef VfioDev *v = &self.m.st.vfio
        cdef Device *d = &self.m.d
        cdef PortDev *pd = &self.m.st.port
        cdef int i
        arena = self._arena
        port = None
        if d.has_port:
            port = {"config": bytes(arena[CFG_ALLOC:CFG_ALLOC + CFG_SIZE]),
                    "ptm_enable_cnt": pd.ptm_enable_cnt, "ltr_path": bool(pd.ltr_path),
                    "current_state": pd.current_state, "is_busmaster": bool(pd.is_busmaster),
                    "aspm_enabled": pd.aspm_enabled, "clkpm_enabled": bool(pd.clkpm_enabled),
                    "aspm_supersave": bool(pd.aspm_supersave),
                    "l1ss": ((pd.l1ss[0] | (<uint64_t>pd.l1ss[1] << 32)), pd.l1ss_epoch) if d.port_buf_l1ss else None}
        return {
            "config": bytes(arena[:CFG_SIZE]),
            "msix_table": bytes(arena[2 * CFG_ALLOC:2 * CFG_ALLOC + 16 * d.msix_entries]),
            "accessible": bool(self.m.st.accessible), "powered": bool(self.m.st.powered),
            "saved_config": [dev.saved_config[i] for i in range(16)],
            "config_epoch": dev.config_epoch,
            "buffers": self._buffers(self.m.pool, dev.buf_epoch),
            "state_saved": bool(dev.state_saved), "save_count": dev.save_count,
            "current_state": dev.current_state,
            "resources": [dev.resources[i] for i in range(6)],
            "resource_sizes": [dev.resource_sizes[i] for i in range(6)],
            "enable_cnt": dev.enable_cnt, "is_busmaster": bool(dev.is_busmaster),
            "msi_enabled": bool(dev.msi_enabled), "msix_enabled": bool(dev.msix_enabled),
            "msix_descs": [(dev.msix_descs[i].addr_lo, dev.msix_descs[i].addr_hi, dev.msix_descs[i].data,
                            dev.msix_descs[i].ctrl) for i in range(dev.n_msix_descs)],
            "msi_msg": (dev.msi_msg[0], dev.msi_msg[1], dev.msi_msg[2]), "msi_mask": dev.msi_mask,
            "tph": (bool(dev.tph_enabled), dev.tph_mode, dev.tph_req_type),
            "ats": (bool(dev.ats_enabled), dev.ats_stu), "pasid": (bool(dev.pasid_enabled), dev.pasid_features),
            "pri": (bool(dev.pri_enabled), dev.pri_reqs_alloc), "ptm_enable_cnt": dev.ptm_enable_cnt,
            "ptm_suspended": bool(dev.ptm_suspended), "sriov": (dev.sriov_ctrl, dev.sriov_num_vfs, dev.sriov_pgsz),
            "error_state": _ERROR_STATES[dev.error_state], "driver": _DRIVERS[dev.driver],
            "partial_load": bool(dev.partial_load), "ltr_path": bool(dev.ltr_path),
            "rpm_suspended": bool(dev.rpm_suspended), "rpm_auto": bool(dev.rpm_auto),
            "err_handler": dev.err_handler, "driver_failed": bool(dev.driver_failed),
            "vfio": {"registered": bool(v.registered), "open": bool(v.open),
                     "blob": self._blob(&v.blob, self.m.blob_pool),
                     "pm_save": self._blob(&v.pm_save, self.m.pm_save_pool),
                     "vconfig_command": v.vconfig_command, "vconfig_devctl": v.vconfig_devctl,
                     "vconfig_msi_flags": v.vconfig_msi_flags, "msi_qmax": v.msi_qmax,
                     "map_silent": bool(v.map_silent),
                     "vconfig_bars": [v.vconfig_bars[i] for i in range(6)],
                     "rbar": [v.rbar[i] for i in range(7)], "reset_works": bool(v.reset_works),
                     "needs_reset": bool(v.needs_reset), "needs_pm_restore": bool(v.needs_pm_restore),
                     "irq": _IRQS[v.irq], "virq_disabled": bool(v.virq_disabled),
                     "intx_masked": bool(v.intx_masked), "qemu_resetting": bool(v.qemu_resetting),
                     "pm_engaged": bool(v.pm_engaged), "pm_wakeup": bool(v.pm_wakeup),
                     "pm_intx_masked": bool(v.pm_intx_masked)},
            "port": port,
            "needs_restore_after_reset": bool(self.m.st.needs_restore_after_reset),
            "latest_save_epoch": self.m.st.latest_save_epoch,
            "standing": sorted(key for bit, key in _STANDING if self.m.st.standing & bit),
        }


cdef Py_ssize_t engine_last_run_view(void *ctx, const uint8_t *data, size_t size, uint8_t *out,
                                     uint8_t *facts) noexcept:
    """When `data` is the input of the engine's last campaign run (CampaignTarget.run_raw): its
    records without the refused ones into `out` (without_refused), facts[0] the initial state's
    packed facts and facts[k] those after the k-th kept record (what op_mask of the first k
    kept records reads); returns the kept count. -1 when `data` is not that run's input."""
    cdef Engine e = <Engine>ctx
    cdef Py_ssize_t n = <Py_ssize_t>size // 8, i, k = 0
    if not (e.last_len == <Py_ssize_t>size and e.last_input_serial == e.run_serial and e.n_run == n
            and memcmp(e.last_buf, data, size) == 0):
        return -1
    facts[0] = e.init_facts
    for i in range(n):
        if not e.refused_buf[i]:
            memcpy(out + 8 * k, data + 8 * i, 8)
            k += 1
            facts[k] = e.facts_buf[i]
    return k
