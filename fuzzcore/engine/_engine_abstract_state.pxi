# The abstract state behind the state features (docs/design.md §7, IJON-style); the same abstraction
# and hash as fuzzcore/model/abstract_state.py, where the fields are documented.

cdef enum:
    NUM_STATE_COUNTERS_ = 8192


cdef uint32_t feature_bits(Machine *m) noexcept nogil:
    """2 bits per feature: (live flag, hardware enable) for the features the device has, in the
    order msi, msix, tph, ats, pasid, pri, ptm, sriov."""
    cdef CapOffsets *c = &m.d.fn.caps
    cdef KernelDev *dev = &m.st.dev
    cdef uint32_t bits = 0
    if not m.st.accessible:
        return 0
    if c.msi:
        bits |= ((dev.msi_enabled != 0) | (((raw_read(m.cfg, c.msi + 2, 2) & 0x1) != 0) << 1)) << 0
    if c.msix:
        bits |= ((dev.msix_enabled != 0) | (((raw_read(m.cfg, c.msix + 2, 2) & 0x8000) != 0) << 1)) << 2
    if c.tph:
        bits |= ((dev.tph_enabled != 0) | (((raw_read(m.cfg, c.tph + 8, 4) & 0x300) != 0) << 1)) << 4
    if c.ats:
        bits |= ((dev.ats_enabled != 0) | (((raw_read(m.cfg, c.ats + 6, 2) & 0x8000) != 0) << 1)) << 6
    if c.pasid:
        bits |= ((dev.pasid_enabled != 0) | (((raw_read(m.cfg, c.pasid + 6, 2) & 0x1) != 0) << 1)) << 8
    if c.pri:
        bits |= ((dev.pri_enabled != 0) | (((raw_read(m.cfg, c.pri + 4, 2) & 0x1) != 0) << 1)) << 10
    if c.ptm:
        bits |= ((dev.ptm_enable_cnt > 0 and not dev.ptm_suspended) | (((raw_read(m.cfg, c.ptm + 8, 4) & 0x1) != 0) << 1)) << 12
    if c.sriov:
        bits |= ((dev.sriov_num_vfs > 0) | (((raw_read(m.cfg, c.sriov + 8, 2) & 0x1) != 0) << 1)) << 14
    return bits


cdef inline uint64_t fnv1a_u32(uint64_t h, uint32_t v) noexcept nogil:
    """64-bit FNV-1a over one field as 4 little-endian bytes."""
    cdef int k
    for k in range(4):
        h ^= (v >> (8 * k)) & 0xFF
        h *= 0x100000001B3ULL
    return h


cdef uint32_t counter_index(Machine *m, int op_kind) noexcept nogil:
    """abstract_state -> fnv1a -> counter index."""
    cdef KernelDev *dev = &m.st.dev
    cdef VfioDev *v = &m.st.vfio
    cdef uint32_t power, decode, snapshot, vcfg, pending
    cdef bint stale = False
    cdef bint ur
    cdef int i
    cdef uint64_t h
    power = <uint32_t>hw_power_state(m) if m.st.accessible else 4
    decode = (raw_read(m.cfg, PCI_COMMAND, 2) & 0x7) if m.st.accessible else 0
    for i in range(m.d.fn.n_bufs):
        if m.d.fn.bufs[i].cap_id == 0x1E and not m.d.has_port:
            continue
        if dev.buf_epoch[i] != dev.config_epoch:
            stale = True
            break
    snapshot = ((dev.state_saved != 0) | ((dev.config_epoch < m.st.latest_save_epoch) << 1)
                | (stale << 2))
    vcfg = (v.open != 0) | ((v.blob.present != 0) << 1) | ((v.pm_save.present != 0) << 2)
    if v.open and m.st.accessible and (raw_read(m.cfg, PCI_COMMAND, 2) ^ <uint32_t>v.vconfig_command) & 0x2:
        vcfg |= 1 << 3
    vcfg |= (v.pm_engaged != 0) << 4
    # abstract_state.ur_logged: DEVSTA URD or AER Unsupported Request Error Status, read raw
    ur = ((m.d.fn.caps.exp != 0 and (raw_read(m.cfg, m.d.fn.caps.exp + 0x0A, 2) & 0x0008) != 0)
          or (m.d.fn.caps.aer != 0 and (raw_read(m.cfg, m.d.fn.caps.aer + 0x04, 4) & 0x00100000) != 0))
    pending = (m.st.needs_restore_after_reset != 0) | (ur << 1)
    h = 0xCBF29CE484222325ULL
    h = fnv1a_u32(h, power)
    h = fnv1a_u32(h, decode)
    h = fnv1a_u32(h, feature_bits(m))
    h = fnv1a_u32(h, snapshot)
    h = fnv1a_u32(h, vcfg)
    h = fnv1a_u32(h, pending)
    h = fnv1a_u32(h, <uint32_t>op_kind)
    return <uint32_t>(h % NUM_STATE_COUNTERS_)
