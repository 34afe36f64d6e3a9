"""What `explore` needs from a model: snapshot a state, restore it, apply one call, and a
canonical state hash. The reference model implements it here; the native engine offers the same
through Engine.state()/load_state()/state_hash() and is used when it is built."""

from __future__ import annotations

import copy
import hashlib
import pickle

from ..model.machine import Model


def _canonical_epochs(model) -> dict[int, int]:
    """Epochs matter only by equality and order; renumber them so that states differing only in
    how many saves happened before hash alike (otherwise every save makes a new state)."""
    st = model.state
    seen = sorted({0, st.dev.config_epoch, model.latest_save_epoch,
                   *(b.epoch for b in st.dev.buffers),
                   *(b.epoch for b in (st.port.dev.buffers if st.port else [])),
                   *((st.vfio.blob.config_epoch,) + tuple(r[3] for r in st.vfio.blob.records)
                     if st.vfio.blob else ()),
                   *((st.vfio.pm_save.config_epoch,) + tuple(r[3] for r in st.vfio.pm_save.records)
                     if st.vfio.pm_save else ())})
    return {e: i for i, e in enumerate(seen)}


class ReferenceBackend:
    name = "reference"

    def __init__(self, profile, policy):
        self.model = Model(profile, policy)
        self.model.start()

    def state(self):
        m = self.model
        return copy.deepcopy((m.state, m.latest_save_epoch, m.oracle._standing))

    def load_state(self, s) -> None:
        m = self.model
        st, m.latest_save_epoch, standing = copy.deepcopy(s)
        m.state = st
        m.oracle.violations = []
        m.oracle._seen = set()
        m.oracle._standing = set(standing)
        m.oracle.init_intent()

    def apply(self, call):
        """Apply one call; return the violations it caused."""
        m = self.model
        m.oracle.violations = []
        m.oracle._seen = set()
        m._n = 0
        m._refused = []
        m.apply(call)
        return list(m.oracle.violations)

    def refused(self) -> bool:
        """The last apply() was refused by a precondition (it changed nothing)."""
        return bool(self.model._refused)

    def state_hash(self) -> bytes:
        m = self.model
        st = m.state
        ren = _canonical_epochs(m)
        d = st.dev
        h = hashlib.blake2b(digest_size=16)
        h.update(st.hw.config.tobytes())
        h.update(st.hw.msix_table.tobytes())
        if st.port:
            pd = st.port.dev
            h.update(st.port.hw.config.tobytes())
            h.update(repr([(b.cap_id, bytes(b.data), ren[b.epoch]) for b in pd.buffers]).encode())
            h.update(repr((pd.ptm_enable_cnt, pd.aspm_enabled, pd.clkpm_enabled, pd.aspm_supersave,
                           pd.is_busmaster, pd.current_state)).encode())
        v = st.vfio
        blob = lambda b: None if b is None else (b.config, ren[b.config_epoch], [(r[0], r[2], ren[r[3]]) for r in b.records])
        fields = (d.saved_config, ren[d.config_epoch], ren[m.latest_save_epoch],
                  [(b.cap_id, bytes(b.data), ren[b.epoch]) for b in d.buffers],
                  d.state_saved, d.current_state, d.resources, d.resource_sizes, d.enable_cnt, d.is_busmaster,
                  d.msi_enabled, d.msix_enabled, [(x.addr_lo, x.addr_hi, x.data, x.ctrl) for x in d.msix_descs],
                  d.msi_msg, d.msi_mask, d.tph_enabled, d.tph_mode, d.tph_req_type, d.ats_enabled, d.ats_stu,
                  d.pasid_enabled, d.pasid_features, d.pri_enabled, d.pri_reqs_alloc, d.ptm_enable_cnt,
                  d.sriov_ctrl, d.sriov_num_vfs, d.sriov_pgsz, d.error_state, d.driver, d.partial_load,
                  d.ltr_path, d.rpm_suspended, d.rpm_auto, d.err_handler, d.driver_failed, d.ptm_suspended, v.registered, v.open, blob(v.blob),
                  blob(v.pm_save), v.vconfig_command, v.vconfig_devctl, v.vconfig_msi_flags, v.msi_qmax, v.map_silent,
                  v.vconfig_bars, v.rbar, v.reset_works, v.needs_reset, v.needs_pm_restore, v.irq,
                  v.virq_disabled, v.intx_masked, v.qemu_resetting,
                  st.hw.accessible, st.needs_restore_after_reset,
                  sorted(m.oracle._standing))
        h.update(pickle.dumps(fields, protocol=4))
        return h.digest()


def make_backend(profile, policy, which: str = "auto"):
    if which in ("auto", "native"):
        try:
            from ..engine import ExploreEngineBackend  # provided by the native engine when built
            return ExploreEngineBackend(profile, policy)
        except (ImportError, AttributeError):
            if which == "native":
                raise
    return ReferenceBackend(profile, policy)
