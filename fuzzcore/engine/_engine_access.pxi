# Every hardware access the engine makes (fuzzcore/model/access.py): config reads and writes of
# the device and of its upstream port through the QEMU-style masks, and MMIO to the MSI-X table.
# Checks that must hold *at the access* run here: write order (oracle), MMIO decode (H1), reads
# and writes a function that does not answer loses (config_read_lost, config_write_lost).

cdef enum:
    PCI_COMMAND = 0x04
    PCI_COMMAND_IO = 0x1
    PCI_COMMAND_MEMORY = 0x2
    PCI_COMMAND_MASTER = 0x4
    PCI_COMMAND_INTX_DISABLE = 0x400
    PCI_INTERRUPT_PIN = 0x3D
    PCI_ERR_UNCOR_STATUS = 0x04
    PCI_EXP_DEVSTA = 0x0A
    PCI_EXP_DEVSTA_URD = 0x08


cdef inline uint32_t width_mask(int width) noexcept nogil:
    if width == 4:
        return 0xFFFFFFFFU
    return (1u << (8 * width)) - 1


cdef inline uint32_t raw_read(const uint8_t *c, int off, int width) noexcept nogil:
    """Little-endian read of 1, 2 or 4 bytes (no accessibility check)."""
    if width == 1:
        return c[off]
    if width == 2:
        return c[off] | (<uint32_t>c[off + 1] << 8)
    return (c[off] | (<uint32_t>c[off + 1] << 8) | (<uint32_t>c[off + 2] << 16)
            | (<uint32_t>c[off + 3] << 24))


cdef inline void raw_write(uint8_t *c, const uint8_t *wmask, const uint8_t *w1cmask, int off, int width,
                           uint32_t value) noexcept nogil:
    """pci_default_write_config: bits change only where wmask allows; a 1 clears a w1cmask bit."""
    cdef int i, o
    cdef uint8_t b, wm
    for i in range(width):
        o = off + i
        b = <uint8_t>(value >> (8 * i))
        wm = wmask[o]
        c[o] = ((c[o] & ~wm) | (b & wm)) & ~(b & w1cmask[o])


cdef inline void put_u32(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>v
    p[1] = <uint8_t>(v >> 8)
    p[2] = <uint8_t>(v >> 16)
    p[3] = <uint8_t>(v >> 24)


cdef inline void put_u16(uint8_t *p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>v
    p[1] = <uint8_t>(v >> 8)


# --- the device's config space (m->cfg), ConfigSpace.read/write ------------------------------

cdef inline uint32_t hw_read(Machine *m, int off, int width) noexcept nogil:
    """A config read of the device; all-ones while it does not answer."""
    if not m.st.accessible:
        return width_mask(width)
    return raw_read(m.cfg, off, width)


cdef inline void hw_write(Machine *m, int off, int width, uint32_t value) noexcept nogil:
    """A config write of the device with no oracle check (st.hw.write); dropped while inaccessible."""
    if not m.st.accessible:
        return
    raw_write(m.cfg, m.d.fn.wmask, m.d.fn.w1cmask, off, width, value)


cdef void read_lost(Machine *m, int off, int width) noexcept nogil:
    """Access._read_lost: config_read_lost while the kernel believes the function answers, once
    per op and not after snapshot_all_ones in the same op (pci_read_config_*, access.c)."""
    if m.read_lost_op == m.op_index:
        return
    if m.st.dev.error_state == ERR_NORMAL and m.st.dev.current_state != D3COLD:
        m.read_lost_op = m.op_index
        m.lost_op = m.op_index          # the op's later dropped writes are this finding
        report(m, INV_CONFIG_READ_LOST, REG_CONFIG, MSG_READ_LOST, <uint64_t>off, 0, <uint64_t>width)


cdef inline uint32_t io_read(Machine *m, int off, int width) noexcept nogil:
    """Access.read(target="dev"): a read whose value the kernel uses; config_read_lost while the
    function does not answer (the check costs nothing while it answers)."""
    if not m.st.accessible:
        read_lost(m, off, width)
        return width_mask(width)
    return raw_read(m.cfg, off, width)


cdef inline uint32_t io_read_checked(Machine *m, int off, int width) noexcept nogil:
    """Access.read_checked: a read whose all-ones the caller tests, discards or hands to a vfio
    user, or that snapshot_all_ones owns."""
    return hw_read(m, off, width)


cdef inline void wr_start_row(Machine *m, int k) noexcept nogil:
    """Oracle._start_row: keep row k's intent as the op found it, before the op first changes it."""
    if not (m.wr_started >> k) & 1:
        m.wr_started |= (<uint64_t>1) << k
        m.written_start[k] = m.written[k]
        m.written_op_start[k] = m.written_op[k]
        m.written_kind_start[k] = m.written_kind[k]
        m.written_step_start[k] = m.written_step[k]


cdef void note_write_rows(Machine *m, int port, int off, int width, uint32_t value) noexcept nogil:
    """note_write's slow path: the bytes of a dword that holds a written-intent row."""
    cdef const uint8_t *mp = m.d.wr_map[port]
    cdef int i, k, b
    cdef uint8_t hit
    # Oracle.note_write: a restore step's all-ones write puts back the intent the op started with;
    # any other kernel all-ones write, or a non-restore kernel write to a function that does not
    # answer, sets only the bits it clears (intent.echo_bits); a vfio user's write counts whole.
    cdef bint kernel = not m.user_access
    cdef bint restoring = step_in_restore(m.step)
    cdef bint all_ones = kernel and value == width_mask(width)
    cdef bint lost = kernel and not restoring and (all_ones or (port == 0 and not m.st.accessible))
    cdef uint32_t byte, old, ub
    cdef int32_t w_op, w_kind, w_step
    if m.restore_rmw and restoring and port == 0 and not m.st.accessible:
        return      # a restore step's write computed from an all-ones read means nothing
    for i in range(width):
        hit = mp[off + i]
        if hit != 255:
            k = hit >> 2
            b = hit & 3
            m.wr_dirty |= (<uint64_t>1) << k     # intent and hardware both may have changed
            wr_start_row(m, k)
            byte = (value >> (8 * i)) & 0xFFU
            old = (m.written[k] >> (8 * b)) & 0xFFU
            w_op, w_kind, w_step = m.op_index, m.op_kind, m.step
            if not kernel:       # a vfio user means only the bits vfio let through (Oracle.note_write)
                ub = (m.user_wmask >> (8 * i)) & 0xFFU
                byte = (old & ~ub) | (byte & ub)
            if k != W_MSI_MASK and (all_ones or lost):
                if all_ones and restoring:
                    byte = (m.written_start[k] >> (8 * b)) & 0xFFU
                    w_op, w_kind, w_step = m.written_op_start[k], m.written_kind_start[k], m.written_step_start[k]
                else:
                    byte &= old
                if byte == old:
                    continue
            m.written[k] = (m.written[k] & ~(0xFFU << (8 * b))) | (byte << (8 * b))
            m.written_op[k] = w_op
            m.written_kind[k] = w_kind
            m.written_step[k] = w_step


cdef void note_meant(Machine *m, int k, uint32_t mask, bint on) noexcept nogil:
    """Oracle.note_meant: a kernel helper that writes bits only when they read otherwise means
    them either way (pci_set_master, pci_clear_master, pci_enable_device)."""
    cdef uint32_t new
    wr_start_row(m, k)
    new = (m.written[k] | mask) if on else (m.written[k] & ~mask)
    if new != m.written[k]:
        m.written[k] = new
        m.written_op[k] = m.op_index
        m.written_kind[k] = m.op_kind
        m.written_step[k] = m.step
        m.wr_dirty |= (<uint64_t>1) << k


cdef inline void note_write(Machine *m, int port, int off, int width, uint32_t value) noexcept nogil:
    """Oracle.note_write: a software config write sets the written intent of the bytes it covers
    (intent.WRITTEN), whether or not the hardware takes it, unless the kernel writes all-ones. One load for a dword with no row
    (config accesses are naturally aligned: a write never spans two dwords)."""
    if m.d.wr_dword[port][off >> 2]:
        note_write_rows(m, port, off, width, value)


cdef void write_lost(Machine *m, int off, int width, uint32_t value) noexcept nogil:
    """Access._write_lost: config_write_lost while the kernel believes the function answers. Its
    bucket (invariant, op kind, "config") is reported once per op: later writes of the same op
    are skipped here rather than deduplicated by report(). Not after config_read_lost in the same
    op (read_lost sets lost_op): pci_read_config_*/pci_write_config_* (drivers/pci/access.c) go
    out alike, the lost read is the first access that went wrong, and a read-modify-write writes
    back the value it lost. One op's loss of the function is one finding."""
    if m.lost_op == m.op_index:
        return
    if m.st.dev.error_state == ERR_NORMAL and m.st.dev.current_state != D3COLD:
        m.lost_op = m.op_index
        report(m, INV_CONFIG_WRITE_LOST, REG_CONFIG, MSG_WRITE_LOST, <uint64_t>off, value, <uint64_t>width)


cdef inline void io_write(Machine *m, int off, int width, uint32_t value) noexcept nogil:
    """Access.write(target="dev"): the write-order check, the written intent, then the write."""
    cdef bint d3hot_before = d3hot_pmcsr(m, off, width)
    check_write_order(m, off, width, value)
    if not m.st.accessible:
        write_lost(m, off, width, value)
    note_write(m, 0, off, width, value)
    hw_write(m, off, width, value)
    if m.st.accessible:
        if initiates_flr(m, off, width, value):
            hardware_reset(m, RESET_FLR)       # Access._initiates_flr: DEVCTL's Initiate FLR set
        elif d3hot_before and pmcsr_power(m) == D0 and not m.d.no_soft_reset:
            hardware_reset(m, RESET_SOFT)      # Access.write: D3hot->D0 with No_Soft_Reset clear


cdef inline int pmcsr_power(Machine *m) noexcept nogil:
    return raw_read(m.cfg, m.d.fn.caps.pm + 0x04, 2) & 0x3      # PMCSR PowerState


cdef inline bint d3hot_pmcsr(Machine *m, int off, int width) noexcept nogil:
    """Access._d3hot_pmcsr: the write covers PowerState and the answering function is in D3hot."""
    cdef int pm = m.d.fn.caps.pm
    return pm != 0 and off <= pm + 0x04 < off + width and m.st.accessible and pmcsr_power(m) == D3HOT


cdef inline bint initiates_flr(Machine *m, int off, int width, uint32_t value) noexcept nogil:
    """Access._initiates_flr: the write sets DEVCTL bit 15 on a function with FLR capability."""
    cdef int exp = m.d.fn.caps.exp
    cdef int byte = exp + 0x09
    return (exp != 0 and m.d.flr and off <= byte < off + width
            and ((value >> (8 * (byte - off))) & 0x80) != 0)


# --- the upstream port's config space (always answers) ---------------------------------------

cdef inline uint32_t port_read(Machine *m, int off, int width) noexcept nogil:
    return raw_read(m.pcfg, off, width)


cdef inline void port_write(Machine *m, int off, int width, uint32_t value) noexcept nogil:
    """Access.write(target="port"): the L1SS order rules, the written intent, then the write."""
    check_port_write_order(m, off, width, value)
    note_write(m, 1, off, width, value)
    raw_write(m.pcfg, m.d.port.wmask, m.d.port.w1cmask, off, width, value)


cdef inline void port_hw_write(Machine *m, int off, int width, uint32_t value) noexcept nogil:
    """port.hw.write: a hardware side effect on the port's registers (no software write)."""
    cdef int i
    for i in range(width):
        if m.d.wr_map[1][off + i] != 255:
            m.wr_dirty |= (<uint64_t>1) << (m.d.wr_map[1][off + i] >> 2)
    raw_write(m.pcfg, m.d.port.wmask, m.d.port.w1cmask, off, width, value)


# --- BARs as the device decodes them ------------------------------------------------------------

cdef uint64_t bar_register_value(Machine *m, int bar) noexcept nogil:
    """Model.bar_register_value: the address BAR `bar` holds (64-bit BARs: both halves)."""
    cdef int pos = m.d.bar_pos[bar]
    cdef uint64_t lo = hw_read(m, 0x10 + 4 * bar, 4)
    cdef int kind
    if pos >= 0 and m.d.virtfn:
        return m.d.bars[pos].image_addr        # a VF's share of its PF's VF BAR
    if pos < 0:
        return lo
    kind = m.d.bars[pos].kind
    if kind == BAR_IO:
        return lo & ~(<uint64_t>0x3)
    lo &= ~(<uint64_t>0xF)
    if kind == BAR_MEM64:
        lo |= (<uint64_t>hw_read(m, 0x14 + 4 * bar, 4)) << 32
    return lo


# --- MMIO to the MSI-X table and a user's BAR access --------------------------------------------

cdef enum:
    # Access.decodes' causes, in REGISTER_NAMES order after each access's first register
    DEC_NOT_ANSWERING = 0
    DEC_NOT_D0
    DEC_MEMORY_OFF
    DEC_BAR_MOVED
    DEC_IO_OFF


cdef int decodes(Machine *m, int bar, uint64_t *a, uint64_t *b, uint64_t *c) noexcept nogil:
    """Access.decodes: -1 when the function claims a request (memory, or I/O for an I/O BAR) to
    the kernel's address of `bar`, else the cause (DEC_*, part of the bucket key) with its details."""
    cdef uint32_t cmd
    cdef uint64_t val
    cdef int pos = m.d.bar_pos[bar]
    if not m.st.accessible:
        return DEC_NOT_ANSWERING
    if hw_power_state(m) != D0:
        a[0] = hw_power_state(m)
        return DEC_NOT_D0
    cmd = hw_read(m, PCI_COMMAND, 2)
    if pos >= 0 and m.d.bars[pos].kind == BAR_IO:
        if not cmd & PCI_COMMAND_IO:
            a[0] = cmd
            return DEC_IO_OFF
    elif not cmd & PCI_COMMAND_MEMORY and not m.d.virtfn:
        a[0] = cmd
        return DEC_MEMORY_OFF
    val = bar_register_value(m, bar)
    if val != m.st.dev.resources[bar]:
        a[0] = bar
        b[0] = val
        c[0] = m.st.dev.resources[bar]
        return DEC_BAR_MOVED
    return -1


cdef void unsupported_request(Machine *m, int reg, int msg, uint64_t a, uint64_t b, uint64_t c) noexcept nogil:
    """Access._unsupported_request: a memory request the function does not claim: UR, logged in
    DEVSTA and AER (§7.4), bypassing the write masks as the hardware does."""
    report(m, INV_MMIO_DECODE_OFF, reg, msg, a, b, c)
    if m.st.accessible:
        if m.d.fn.caps.exp:
            m.cfg[m.d.fn.caps.exp + PCI_EXP_DEVSTA] |= PCI_EXP_DEVSTA_URD
        if m.d.fn.caps.aer:
            m.cfg[m.d.fn.caps.aer + PCI_ERR_UNCOR_STATUS + 2] |= 0x10   # PCI_ERR_UNC_UNSUP >> 16


cdef inline void msix_unsupported(Machine *m, int why, uint64_t a, uint64_t b, uint64_t c) noexcept nogil:
    unsupported_request(m, REG_MSIX_NOT_ANSWERING + why, MSG_NOT_ANSWERING + why, a, b, c)


cdef inline bint dpc_contained(Machine *m) noexcept nogil:
    """Access.contained: the port above holds the link down (DPC Trigger Status): no request
    reaches the function."""
    return m.d.has_port and m.d.port.caps.dpc != 0 and (m.pcfg[m.d.port.caps.dpc + 0x08] & 0x1) != 0


cdef void bar_access(Machine *m, int bar) noexcept nogil:
    """Access.bar_access: a user's dword access to BAR `bar` at the kernel's address."""
    cdef uint64_t a = 0, b = 0, c = 0
    if dpc_contained(m):
        return
    cdef int why = decodes(m, bar, &a, &b, &c)
    if why < 0:
        return
    unsupported_request(m, REG_BAR_ACCESS_NOT_ANSWERING + why,
                        MSG_USER_BAR_MOVED if why == DEC_BAR_MOVED else
                        MSG_MEMORY_OFF if why == DEC_IO_OFF else MSG_NOT_ANSWERING + why, a, b, c)


cdef void msix_write(Machine *m, int offset, uint32_t value) noexcept nogil:
    """Access.msix_write: a 32-bit MMIO write at `offset` into the table's BAR."""
    cdef uint64_t a = 0, b = 0, c = 0
    if dpc_contained(m):
        return
    cdef int why = decodes(m, m.d.msix_table_bir, &a, &b, &c)
    if why >= 0:
        msix_unsupported(m, why, a, b, c)
        return
    put_u32(m.msix + (offset - m.d.msix_table_offset), value)


cdef uint32_t msix_read(Machine *m, int offset) noexcept nogil:
    """Access.msix_read."""
    cdef uint64_t a = 0, b = 0, c = 0
    if dpc_contained(m):
        return 0xFFFFFFFFU
    cdef int why = decodes(m, m.d.msix_table_bir, &a, &b, &c)
    if why >= 0:
        msix_unsupported(m, why, a, b, c)
        return 0xFFFFFFFFU
    return raw_read(m.msix, offset - m.d.msix_table_offset, 4)
