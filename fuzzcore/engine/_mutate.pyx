# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Structure-aware mutator over fixed-size op records (the atheris custom_mutator/custom_crossover).

A program is a run of RECORD_SIZE-byte records (fuzzcore/program/op_table.py, codec.py). This module
mutates whole records, so every output is whole records and every record it writes itself decodes
to exactly the call it meant (in-domain, canonical: `encode(decode(rec)) == rec`).

API
- `mutate(data, max_size, seed) -> bytes`: one strategy from STRATEGIES, chosen by a splitmix64
  PRNG seeded from `seed` only (same data + max_size + seed -> same bytes and same strategy).
- `crossover(a, b, max_size, seed) -> bytes`: a prefix of a's records + a suffix of b's records.
- `last_strategy()`: the STRATEGIES name the last `mutate` used; None before the first call and
  after a call that could apply none (max_size < RECORD_SIZE).
- `STRATEGIES`, `MAX_RECORDS`, `RECORD_SIZE`, `SNIPPETS`, `set_config_offsets()`, `config_offsets()`.

Normalisation (both entry points): the input is cut to whole records and then to
`cap = min(MAX_RECORDS, max_size // RECORD_SIZE)` records (the tail is dropped); the output has at
most `cap` records. If `max_size < RECORD_SIZE` (cap 0) the output is b"". An empty input (after
normalisation) always gets an `insert`, so `mutate(b"", max_size >= RECORD_SIZE, s)` is one record.

Strategies
- insert:      a new record at a random position, args in-domain. The op is biased towards ones
               the kernel performs there (issue 17): the owner of the device at that position
               (no driver, host driver, vfio closed or open) follows from the bind/open/close
               records before it exactly as the models' owner precondition sees it, and an op
               whose owner rule (op_table `pre`, baseline policy) refuses that owner is re-drawn,
               with probability 7/8, among those it allows; otherwise uniform over the table.
- delete:      remove one record (only when there are at least two; an empty program is useless).
- duplicate:   copy one record to a random position (only below cap).
- swap:        exchange two records at distinct positions.
- re_argument: one record that has arguments is re-encoded canonically and one argument is
               re-drawn to a different in-domain value. vfio_config_write is biased: offsets
               towards interesting registers (Command, BARs, the i350's PMCSR, MSI-X control,
               DEVCTL, DEVCTL2; see set_config_offsets) and values towards 0, all-ones, single
               bits and single-bit flips of the current value (masked to the access width).
               Re-drawing the width re-aligns the offset down, as the codec does.
- replace_op:  the record at a position becomes a different op with fresh in-domain args (the
               op biased as for insert).
- snippet:     a known-good short sequence (SNIPPETS) inserted at a random position.
Records the mutator copies (delete, duplicate, swap, crossover) keep their bytes as they were,
canonical or not: the codec is deletion-stable, so their meaning does not change.
A campaign's MutationMix can also ask the engine (below): insert and replace_op then draw among
the ops every precondition allows at the position, and a mutation starts from the input without
its refused records.

The hot path uses a stack buffer and C tables built once at import from op_table.OPS; the only
Python object a call creates is the returned bytes.
"""

from libc.stdint cimport uint8_t, uint32_t, uint64_t, uintptr_t
from libc.string cimport memcpy, memmove, memset
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE

from ..program.codec import Call, encode_call
from ..program.op_table import FACTS, OP_INDEX, OPS, compile_preconditions
from ..program.op_table import RECORD_SIZE as _TABLE_RECORD_SIZE

cdef enum:
    R = 8                      # RECORD_SIZE (checked against op_table below)
    MAX_REC = 64               # default and maximum number of records in an output
    MAX_OPS = 256              # a selector byte reaches at most 256 ops
    MAX_ARGS = 7               # RECORD_SIZE - 1 argument bytes, each arg at least one byte
    MAX_SNIPPETS = 16
    MAX_SNIPPET_REC = 8
    MAX_CFG_OFFSETS = 64
    MAX_WIDTHS = 8
    BUF_REC = MAX_REC + MAX_SNIPPET_REC + 1

    S_INSERT = 0
    S_DELETE = 1
    S_DUPLICATE = 2
    S_SWAP = 3
    S_REARG = 4
    S_REPLACE = 5
    S_SNIPPET = 6
    N_STRATEGIES = 7

if _TABLE_RECORD_SIZE != R:
    raise ImportError(f"fuzzcore.engine._mutate is built for RECORD_SIZE {R}, op_table says {_TABLE_RECORD_SIZE}")

RECORD_SIZE = R
MAX_RECORDS = MAX_REC
STRATEGIES = ("insert", "delete", "duplicate", "swap", "re_argument", "replace_op", "snippet")
# Relative weights, in STRATEGIES order, among the strategies that apply to an input.
WEIGHTS = (4, 2, 2, 2, 5, 2, 1)

# ---- tables built from op_table.OPS at import -------------------------------------------------

cdef int n_ops = 0
cdef int op_nargs[MAX_OPS]
cdef int arg_pos[MAX_OPS][MAX_ARGS]
cdef int arg_nbytes[MAX_OPS][MAX_ARGS]
cdef uint64_t arg_mod[MAX_OPS][MAX_ARGS]      # the codec's modulus (domain size)
cdef uint64_t arg_dom[MAX_OPS][MAX_ARGS]      # values reachable from nbytes: min(mod, 256**nbytes)

# vfio_config_write: offset aligned down to the width (the codec's only cross-argument rule)
cdef int cw_op = -1
cdef int cw_off = -1, cw_wid = -1, cw_val = -1
cdef int cw_nwidths = 0
cdef uint32_t cw_width_of[MAX_WIDTHS]         # width in bytes by the width arg's raw (enum) value
cdef int cw_n_interesting = 0
cdef uint32_t cw_int_off[MAX_CFG_OFFSETS]
cdef int cw_int_widx[MAX_CFG_OFFSETS]         # raw width value of the register's natural width

cdef int n_snippets = 0
cdef int snip_len[MAX_SNIPPETS]
cdef uint8_t snip_data[MAX_SNIPPETS][MAX_SNIPPET_REC * R]
cdef int snip_min_len = MAX_SNIPPET_REC + 1

# owner-feasibility bias (issue 17): per op, the owners its owner rule allows (bit per
# op_table.FACTS["owner"] value; all of them when it has none); per owner, the ops it allows
cdef enum:
    N_OWNERS = 6                                # none, host, vfio_closed, vfio_open, portdrv, host_failed
    OWNER_VFIO_CLOSED = 2
    OWNER_VFIO_OPEN = 3
cdef int op_owner_mask[MAX_OPS]
cdef int owner_ops[N_OWNERS][MAX_OPS]
cdef int n_owner_ops[N_OWNERS]
cdef int op_bind = -1, op_vfio_open = -1, op_vfio_close = -1
cdef int bind_owner[8]                        # pci_bind_driver's driver arg (raw) -> owner

cdef int strat_weight[N_STRATEGIES]
cdef int g_last = -1
cdef unsigned long long strat_count[N_STRATEGIES]   # mutate() calls per strategy (campaign stats)


def _build_tables():
    global n_ops, cw_op, cw_off, cw_wid, cw_val, cw_nwidths
    if not 0 < len(OPS) <= MAX_OPS:
        raise ImportError(f"fuzzcore.engine._mutate: {len(OPS)} ops, at most {MAX_OPS}")
    n_ops = len(OPS)
    for i, op in enumerate(OPS):
        if len(op.args) > MAX_ARGS:
            raise ImportError(f"fuzzcore.engine._mutate: {op.name} has more than {MAX_ARGS} args")
        op_nargs[i] = len(op.args)
        pos = 1
        for k, a in enumerate(op.args):
            if pos + a.nbytes > R or a.nbytes > 8:
                raise ImportError(f"fuzzcore.engine._mutate: {op.name}.{a.name} does not fit the record")
            arg_pos[i][k] = pos
            arg_nbytes[i][k] = a.nbytes
            arg_mod[i][k] = a.size
            arg_dom[i][k] = min(a.size, 256 ** a.nbytes)
            if a.size < 1:
                raise ImportError(f"fuzzcore.engine._mutate: {op.name}.{a.name} has an empty domain")
            pos += a.nbytes
    cw = OP_INDEX.get("vfio_config_write")
    if cw is not None:
        names = [a.name for a in OPS[cw].args]
        cw_op = cw
        cw_off, cw_wid, cw_val = names.index("offset"), names.index("width"), names.index("value")
        widths = OPS[cw].args[cw_wid].domain
        if len(widths) > MAX_WIDTHS:
            raise ImportError("fuzzcore.engine._mutate: too many config access widths")
        cw_nwidths = len(widths)
        for j, w in enumerate(widths):
            cw_width_of[j] = int(w)
    for j, w in enumerate(WEIGHTS):
        strat_weight[j] = w
    _build_owner_tables()


def _build_owner_tables():
    global op_bind, op_vfio_open, op_vfio_close
    owners = FACTS["owner"]
    if len(owners) != N_OWNERS:
        raise ImportError("fuzzcore.engine._mutate: the owner fact has changed")
    pre = compile_preconditions(None)
    for o in range(N_OWNERS):
        n_owner_ops[o] = 0
    for i in range(n_ops):
        mask = (1 << N_OWNERS) - 1
        for fact, allowed, _ in pre[i]:
            if fact == 0:
                mask &= allowed
        op_owner_mask[i] = mask
        for o in range(N_OWNERS):
            if mask >> o & 1:
                owner_ops[o][n_owner_ops[o]] = i
                n_owner_ops[o] += 1
    op_bind = OP_INDEX.get("pci_bind_driver", -1)
    op_vfio_open = OP_INDEX.get("vfio_open", -1)
    op_vfio_close = OP_INDEX.get("vfio_close", -1)
    if op_bind >= 0:
        drivers = OPS[op_bind].args[0].domain
        if len(drivers) > 8:
            raise ImportError("fuzzcore.engine._mutate: too many drivers")
        for j, d in enumerate(drivers):
            bind_owner[j] = {"none": 0, "host": 1, "vfio": OWNER_VFIO_CLOSED}[d]


_build_tables()

# Interesting config registers as (offset, natural width): Command, the six BARs, and the
# capability registers of the default device (i350): PMCSR, MSI-X Message Control, PCIe Device
# Control and Device Control 2. A campaign on another device can call set_config_offsets().
DEFAULT_CONFIG_OFFSETS = (
    (0x04, 2),
    (0x10, 4), (0x14, 4), (0x18, 4), (0x1C, 4), (0x20, 4), (0x24, 4),
    (0x44, 2),
    (0x72, 2),
    (0xA8, 2),
    (0xC8, 2),
)
_config_offsets = ()


def set_config_offsets(offsets=DEFAULT_CONFIG_OFFSETS):
    """Set the vfio_config_write offsets re-argument and insert favour: (offset, width) pairs,
    width one of the op's widths; the offset is aligned down to the width. No effect if the op
    table has no vfio_config_write."""
    global cw_n_interesting, _config_offsets
    pairs = tuple((int(o), int(w)) for o, w in offsets)
    if len(pairs) > MAX_CFG_OFFSETS:
        raise ValueError(f"at most {MAX_CFG_OFFSETS} offsets")
    widths = [cw_width_of[j] for j in range(cw_nwidths)]
    domain = OPS[cw_op].args[cw_off].size if cw_op >= 0 else 0
    for o, w in pairs:
        if w not in widths:
            raise ValueError(f"width {w} is not one of {widths}")
        if not 0 <= o < domain:
            raise ValueError(f"offset {o:#x} is outside 0..{domain - 1:#x}")
    for j, (o, w) in enumerate(pairs):
        cw_int_widx[j] = widths.index(w)
        cw_int_off[j] = o - o % w
    cw_n_interesting = len(pairs)
    _config_offsets = pairs


def config_offsets():
    """The (offset, width) pairs currently favoured for vfio_config_write."""
    return _config_offsets


if cw_op >= 0:
    set_config_offsets(DEFAULT_CONFIG_OFFSETS)


def _snippet_defs():
    """Known-good short sequences (the regression corpus's idioms), as (name, calls)."""
    C = Call.of
    return (
        ("guest_setup_reset", (C("vfio_open"), C("vfio_config_write", offset=0x04, width="2", value=0x0006),
                               C("vfio_set_irqs", index="msix", count=1), C("qemu_pre_reset"))),
        ("guest_setup_msi", (C("vfio_open"), C("vfio_config_write", offset=0x04, width="2", value=0x0006),
                             C("vfio_set_irqs", index="msi", count=1))),
        ("qemu_split_reset", (C("vfio_open"), C("qemu_pre_reset"), C("vfio_device_reset"),
                              C("qemu_post_reset"))),
        ("guest_reprogram", (C("vfio_open"), C("vfio_config_write", offset=0x10, width="4", value=0x92E00000),
                             C("vfio_config_write", offset=0x04, width="2", value=0x0006))),
        ("host_msix_save_reset", (C("pci_bind_driver", driver="host"), C("pci_enable_msix", nvec=1),
                                  C("pci_save_state"), C("pci_reset_function", method="auto"))),
        # the idle vfio device starts runtime-suspended: resume (a config access), then idle again
        ("runtime_pm", (C("pci_pm_runtime_resume"), C("pci_pm_runtime_suspend"))),
        ("d3hot_cycle", (C("pci_bind_driver", driver="host"), C("pci_set_power_state", state="d3hot"),
                         C("pci_set_power_state", state="d0"))),
        ("iommu_enable", (C("pci_bind_driver", driver="host"), C("pci_enable_pasid", features=3),
                          C("pci_enable_pri", reqs=2), C("pci_enable_ats", stu=1))),
        # vfio's trapped writes (default device's PCIe and PM offsets): the emulated FLR and a
        # PowerState D3hot -> D0 round trip, which reach resets no op calls directly.
        ("guest_flr", (C("vfio_open"), C("vfio_config_write", offset=0xA8, width="2", value=0x8000),)),
        ("guest_d3_d0", (C("vfio_open"), C("vfio_config_write", offset=0x44, width="2", value=0x0003),
                         C("vfio_config_write", offset=0x44, width="2", value=0x0000))),
        ("inaccessible_reset", (C("vfio_open"), C("hw_inaccessible"), C("vfio_device_reset"))),
    )


def _build_snippets():
    global n_snippets, snip_min_len
    out = []
    try:
        defs = _snippet_defs()
    except (ValueError, KeyError):       # an op table without these ops: no snippets
        defs = ()
    for name, calls in defs[:MAX_SNIPPETS]:
        blob = b"".join(encode_call(c) for c in calls)
        n = len(blob) // R
        if not 1 <= n <= MAX_SNIPPET_REC:
            raise ImportError(f"fuzzcore.engine._mutate: snippet {name} has {n} records")
        snip_len[n_snippets] = n
        memcpy(snip_data[n_snippets], <const char *>blob, len(blob))
        snip_min_len = min(snip_min_len, n)
        n_snippets += 1
        out.append((name, blob))
    return tuple(out)


SNIPPETS = _build_snippets()    # ((name, canonical record bytes), ...)

# ---- PRNG: splitmix64 -------------------------------------------------------------------------

cdef inline uint64_t rnd(uint64_t *s) noexcept nogil:
    s[0] += <uint64_t>0x9E3779B97F4A7C15ULL
    cdef uint64_t z = s[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t below(uint64_t *s, uint64_t n) noexcept nogil:
    """Uniform-ish in [0, n), n >= 1 (modulo bias is below 2**-32 for the domains here)."""
    return rnd(s) % n


cdef inline uint64_t below_except(uint64_t *s, uint64_t n, uint64_t cur) noexcept nogil:
    """Uniform in [0, n) minus {cur} (cur < n); cur itself when n == 1."""
    if n <= 1:
        return cur
    cdef uint64_t v = below(s, n - 1)
    return v + 1 if v >= cur else v

# ---- record codec in C ------------------------------------------------------------------------

cdef inline uint64_t get_le(const uint8_t *p, int n) noexcept nogil:
    cdef uint64_t v = 0
    cdef int i
    for i in range(n - 1, -1, -1):
        v = (v << 8) | p[i]
    return v


cdef inline void put_le(uint8_t *p, int n, uint64_t v) noexcept nogil:
    cdef int i
    for i in range(n):
        p[i] = <uint8_t>(v & 0xFF)
        v >>= 8


cdef inline int rec_op(const uint8_t *rec) noexcept nogil:
    return rec[0] % n_ops


cdef void decode_vals(const uint8_t *rec, int op, uint64_t *vals) noexcept nogil:
    """The decoded (canonical) value of every arg, as the codec computes it."""
    cdef int k
    for k in range(op_nargs[op]):
        vals[k] = get_le(rec + arg_pos[op][k], arg_nbytes[op][k]) % arg_mod[op][k]
    if op == cw_op:
        vals[cw_off] -= vals[cw_off] % cw_width_of[vals[cw_wid]]


cdef void encode_vals(uint8_t *rec, int op, const uint64_t *vals) noexcept nogil:
    cdef int k
    memset(rec, 0, R)
    rec[0] = <uint8_t>op
    for k in range(op_nargs[op]):
        put_le(rec + arg_pos[op][k], arg_nbytes[op][k], vals[k])


cdef inline uint32_t width_mask(uint32_t w) noexcept nogil:
    return 0xFFFFFFFFu if w >= 4 else ((<uint32_t>1 << (8 * w)) - 1)


cdef uint64_t cw_value(uint64_t *s, uint32_t w, uint64_t cur, bint have_cur) noexcept nogil:
    """A config-write value: 0, all-ones, a single bit, a bit flip of cur, or uniform."""
    cdef uint32_t mask = width_mask(w)
    cdef uint64_t dom = arg_dom[cw_op][cw_val]
    cdef uint64_t r = below(s, 8)
    cdef uint64_t v
    if r < 2:
        v = 0
    elif r == 2:
        v = mask
    elif r < 5 or (r == 5 and not have_cur):
        v = (<uint64_t>1) << below(s, 8 * w)
    elif r == 5:
        v = cur ^ ((<uint64_t>1) << below(s, 8 * w))
    else:
        v = below(s, dom)
    v %= dom
    if have_cur and v == cur:
        v = (cur ^ ((<uint64_t>1) << below(s, 8 * w))) % dom
        if v == cur:
            v = below_except(s, dom, cur)
    return v


cdef void fresh_vals(uint64_t *s, int op, uint64_t *vals) noexcept nogil:
    """In-domain args for a new record of `op` (canonical after encode_vals)."""
    cdef int k, j
    cdef uint32_t w
    for k in range(op_nargs[op]):
        vals[k] = below(s, arg_dom[op][k])
    if op == cw_op:
        if cw_n_interesting > 0 and below(s, 4) != 0:
            j = <int>below(s, cw_n_interesting)
            vals[cw_wid] = cw_int_widx[j]
            vals[cw_off] = cw_int_off[j]
        w = cw_width_of[vals[cw_wid]]
        vals[cw_off] -= vals[cw_off] % w
        vals[cw_val] = cw_value(s, w, 0, False)


cdef void fresh_record(uint64_t *s, uint8_t *rec, int op) noexcept nogil:
    cdef uint64_t vals[MAX_ARGS]
    fresh_vals(s, op, vals)
    encode_vals(rec, op, vals)


cdef void reargument(uint64_t *s, uint8_t *rec) noexcept nogil:
    """Canonicalise `rec` (an op with args) and re-draw one arg to a different in-domain value."""
    cdef int op = rec_op(rec)
    cdef uint64_t vals[MAX_ARGS]
    cdef int k = <int>below(s, op_nargs[op])
    cdef uint32_t w
    cdef uint64_t slots, target
    cdef int j
    decode_vals(rec, op, vals)
    if op != cw_op:
        vals[k] = below_except(s, arg_dom[op][k], vals[k])
    else:
        w = cw_width_of[vals[cw_wid]]
        if k == cw_off:
            slots = (arg_dom[op][k] + w - 1) // w
            target = vals[k]
            if cw_n_interesting > 0 and below(s, 2) == 0:
                j = <int>below(s, cw_n_interesting)
                target = cw_int_off[j] - cw_int_off[j] % w
            if target == vals[k]:
                target = below_except(s, slots, vals[k] // w) * w
            vals[k] = target
        elif k == cw_wid:
            vals[k] = below_except(s, cw_nwidths, vals[k])
            w = cw_width_of[vals[k]]
            vals[cw_off] -= vals[cw_off] % w
        elif k == cw_val:
            vals[k] = cw_value(s, w, vals[k], True)
        else:
            vals[k] = below_except(s, arg_dom[op][k], vals[k])
    encode_vals(rec, op, vals)

# ---- strategies -------------------------------------------------------------------------------

cdef inline void open_gap(uint8_t *buf, int n, int pos, int k) noexcept nogil:
    """Make room for k records at position pos (of n)."""
    memmove(buf + (pos + k) * R, buf + pos * R, (n - pos) * R)


cdef int n_with_args(const uint8_t *buf, int n) noexcept nogil:
    cdef int i, c = 0
    for i in range(n):
        if op_nargs[rec_op(buf + i * R)] > 0:
            c += 1
    return c


cdef int choose_strategy(uint64_t *s, const uint8_t *buf, int n, int cap) noexcept nogil:
    cdef bint ok[N_STRATEGIES]
    cdef int i, total = 0
    cdef uint64_t r
    if n == 0:
        return S_INSERT
    ok[S_INSERT] = n < cap
    ok[S_DELETE] = n >= 2
    ok[S_DUPLICATE] = n < cap
    ok[S_SWAP] = n >= 2
    ok[S_REARG] = n_with_args(buf, n) > 0
    ok[S_REPLACE] = n_ops > 1
    ok[S_SNIPPET] = n_snippets > 0 and snip_min_len <= cap - n
    for i in range(N_STRATEGIES):
        if ok[i]:
            total += strat_weight[i]
    if total == 0:
        return S_REPLACE if n_ops > 1 else S_REARG      # unreachable with the default weights
    r = below(s, total)
    for i in range(N_STRATEGIES):
        if ok[i]:
            if r < <uint64_t>strat_weight[i]:
                return i
            r -= strat_weight[i]
    return S_REPLACE


cdef int owner_at(const uint8_t *buf, int pos) noexcept nogil:
    """The device's owner before record `pos`: vfio-pci bound and closed at start (a bridge starts
    with portdrv, which this bias does not know: the engine's facts_masks do, for a mutation of
    the input just run); only
    pci_bind_driver (refused while open), vfio_open (only when closed) and vfio_close (only when
    open) change it, exactly as the models' owner preconditions let them."""
    cdef int i, op, owner = OWNER_VFIO_CLOSED
    cdef const uint8_t *rec
    for i in range(pos):
        rec = buf + i * R
        op = rec_op(rec)
        if op == op_bind and owner != OWNER_VFIO_OPEN:
            owner = bind_owner[<int>(get_le(rec + arg_pos[op][0], arg_nbytes[op][0]) % arg_mod[op][0])]
        elif op == op_vfio_open and owner == OWNER_VFIO_CLOSED:
            owner = OWNER_VFIO_OPEN
        elif op == op_vfio_close and owner == OWNER_VFIO_OPEN:
            owner = OWNER_VFIO_CLOSED
    return owner


cdef int allowed_op(uint64_t *s, const uint8_t *allowed, int avoid) noexcept nogil:
    """An op for a new record (not `avoid`, unless it is the only choice): uniform, then with
    probability 7/8 re-drawn among those `allowed` marks (allowed[op] != 0: the op's
    preconditions hold in the state the program reaches there, as the engine says)."""
    cdef int op, k, i, cnt = 0
    op = <int>below_except(s, n_ops, avoid) if avoid >= 0 else <int>below(s, n_ops)
    if allowed[op] or below(s, 8) == 0:
        return op
    for i in range(n_ops):
        if allowed[i] and i != avoid:
            cnt += 1
    if cnt == 0:
        return op
    k = <int>below(s, cnt)
    for i in range(n_ops):
        if allowed[i] and i != avoid:
            if k == 0:
                return i
            k -= 1
    return op


cdef int feasible_op(uint64_t *s, const uint8_t *buf, int pos, int avoid) noexcept nogil:
    """An op for a new record at `pos` (not `avoid`, unless it is the only choice): uniform,
    then with probability 7/8 re-drawn among the ops the owner at `pos` allows."""
    cdef int op, owner, k
    op = <int>below_except(s, n_ops, avoid) if avoid >= 0 else <int>below(s, n_ops)
    owner = owner_at(buf, pos)
    if op_owner_mask[op] >> owner & 1 or below(s, 8) == 0 or n_owner_ops[owner] == 0:
        return op
    k = <int>below(s, n_owner_ops[owner])
    op = owner_ops[owner][k]
    if op == avoid:
        op = owner_ops[owner][(k + 1) % n_owner_ops[owner]]
    return op


cdef int apply_strategy(uint64_t *s, uint8_t *buf, int n, int cap, int strat) noexcept nogil:
    """Apply `strat` to the n records in buf (room for BUF_REC); return the new record count."""
    cdef int i, j, pos, op, k, cnt, fits
    cdef uint8_t tmp[R]
    if strat == S_INSERT:
        pos = <int>below(s, n + 1)
        op = feasible_op(s, buf, pos, -1)
        open_gap(buf, n, pos, 1)
        fresh_record(s, buf + pos * R, op)
        return n + 1
    if strat == S_DELETE:
        i = <int>below(s, n)
        memmove(buf + i * R, buf + (i + 1) * R, (n - i - 1) * R)
        return n - 1
    if strat == S_DUPLICATE:
        i = <int>below(s, n)
        pos = <int>below(s, n + 1)
        memcpy(tmp, buf + i * R, R)
        open_gap(buf, n, pos, 1)
        memcpy(buf + pos * R, tmp, R)
        return n + 1
    if strat == S_SWAP:
        i = <int>below(s, n)
        j = <int>below_except(s, n, i)
        memcpy(tmp, buf + i * R, R)
        memcpy(buf + i * R, buf + j * R, R)
        memcpy(buf + j * R, tmp, R)
        return n
    if strat == S_REARG:
        cnt = n_with_args(buf, n)
        k = <int>below(s, cnt)
        for i in range(n):
            if op_nargs[rec_op(buf + i * R)] > 0:
                if k == 0:
                    reargument(s, buf + i * R)
                    break
                k -= 1
        return n
    if strat == S_REPLACE:
        i = <int>below(s, n)
        op = feasible_op(s, buf, i, rec_op(buf + i * R))
        fresh_record(s, buf + i * R, op)
        return n
    if strat == S_SNIPPET:
        fits = 0
        for j in range(n_snippets):
            if snip_len[j] <= cap - n:
                fits += 1
        k = <int>below(s, fits)
        op = 0                        # the chosen snippet
        for j in range(n_snippets):
            if snip_len[j] <= cap - n:
                if k == 0:
                    op = j
                    break
                k -= 1
        pos = <int>below(s, n + 1)
        open_gap(buf, n, pos, snip_len[op])
        memcpy(buf + pos * R, snip_data[op], snip_len[op] * R)
        return n + snip_len[op]
    return n


cdef inline int cap_records(Py_ssize_t max_size) noexcept nogil:
    if max_size < R:
        return 0
    if max_size // R >= MAX_REC:
        return MAX_REC
    return <int>(max_size // R)

# ---- entry points -----------------------------------------------------------------------------

def mutate(bytes data not None, Py_ssize_t max_size, unsigned int seed):
    """One structure-aware mutation of `data` (see the module docstring); ≤ max_size bytes."""
    global g_last
    cdef uint8_t buf[BUF_REC * R]
    cdef int cap = cap_records(max_size)
    cdef int n, strat
    cdef uint64_t s = seed
    if cap == 0:
        g_last = -1
        return b""
    n = <int>(PyBytes_GET_SIZE(data) // R) if PyBytes_GET_SIZE(data) // R < cap else cap
    memcpy(buf, PyBytes_AS_STRING(data), n * R)
    strat = choose_strategy(&s, buf, n, cap)
    n = apply_strategy(&s, buf, n, cap, strat)
    g_last = strat
    strat_count[strat] += 1
    return PyBytes_FromStringAndSize(<char *>buf, n * R)


cdef Py_ssize_t crossover_into(const uint8_t *a, Py_ssize_t na, const uint8_t *b, Py_ssize_t nb,
                               uint8_t *out, Py_ssize_t max_size, unsigned int seed) noexcept nogil:
    """crossover() into `out` (max_size bytes); na, nb in records. Returns the output's size."""
    cdef int cap = cap_records(max_size)
    cdef int k = 0, m = 0, ka, mb
    cdef uint64_t s = <uint64_t>seed ^ <uint64_t>0xC2B2AE3D27D4EB4FULL
    if cap == 0:
        return 0
    ka = <int>na if na < cap else cap
    mb = <int>nb if nb < cap else cap
    if ka == 0 and mb == 0:
        return 0
    if ka == 0:
        m = 1 + <int>below(&s, mb)
    elif mb == 0:
        k = 1 + <int>below(&s, ka)
    elif cap == 1:
        if below(&s, 2) == 0:
            k = 1
        else:
            m = 1
    else:
        if ka > cap - 1:
            ka = cap - 1
        k = 1 + <int>below(&s, ka)
        if mb > cap - k:
            mb = cap - k
        m = 1 + <int>below(&s, mb)
    # a and b may be out itself (libFuzzer passes distinct buffers; stay safe anyway)
    memmove(out, a, k * R)
    memmove(out + k * R, b + (nb - m) * R, m * R)
    return (k + m) * R


def crossover(bytes a not None, bytes b not None, Py_ssize_t max_size, unsigned int seed):
    """Splice at record boundaries: a's first k records + b's last m records, k + m ≤ cap.

    When both inputs have records and cap ≥ 2, k ≥ 1 and m ≥ 1 (a real mix); with cap 1 the
    output is a's first record or b's last one; with one side empty it is a prefix of the other
    side (k ≥ 1) or a suffix of it (m ≥ 1); with cap 0 or both empty it is b""."""
    cdef uint8_t buf[MAX_REC * R]
    cdef Py_ssize_t n = crossover_into(<const uint8_t *>PyBytes_AS_STRING(a), PyBytes_GET_SIZE(a) // R,
                                       <const uint8_t *>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b) // R,
                                       buf, max_size if max_size < MAX_REC * R else MAX_REC * R, seed)
    return PyBytes_FromStringAndSize(<char *>buf, n)


cdef size_t crossover_entry(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
                            uint8_t *out, size_t max_out, unsigned int seed) noexcept nogil:
    """The C driver's LLVMFuzzerCustomCrossOver (fuzzcore/engine/_driver.pyx)."""
    return <size_t>crossover_into(d1, <Py_ssize_t>(s1 // R), d2, <Py_ssize_t>(s2 // R), out,
                                  <Py_ssize_t>max_out, seed)


def crossover_c_entry() -> int:
    """The address of crossover_entry (a C function; the C driver calls it)."""
    return <uintptr_t>&crossover_entry


def last_strategy():
    """The STRATEGIES name the last mutate() used, or None (no call yet, or cap was 0)."""
    return STRATEGIES[g_last] if g_last >= 0 else None


def strategy_counts() -> dict:
    """{strategy name: mutate() calls that used it} since the module was loaded."""
    return {STRATEGIES[i]: strat_count[i] for i in range(N_STRATEGIES) if strat_count[i]}


# Entries each of MutationMix's caches keeps before it starts again (a settled corpus holds
# about 8,000 inputs; a few MB at most).
CACHE_ENTRIES = 1 << 16


cdef object _cached(dict cache, object fn, bytes key):
    """fn(key), kept in `cache` (cleared when it holds CACHE_ENTRIES)."""
    value = cache.get(key)
    if value is None:
        if len(cache) >= CACHE_ENTRIES:
            cache.clear()
        value = fn(key)
        cache[key] = value
    return value


cdef int new_op_at(uint64_t *s, uint8_t *buf, int n, int pos, int strat,
                   const uint8_t *allowed) noexcept nogil:
    """insert (at pos) or replace_op (of the record at pos) with an op drawn among `allowed`
    (allowed_op); the new record count."""
    cdef int op
    if strat == S_INSERT:
        op = allowed_op(s, allowed, -1)
        open_gap(buf, n, pos, 1)
        fresh_record(s, buf + pos * R, op)
        return n + 1
    op = allowed_op(s, allowed, rec_op(buf + pos * R))
    fresh_record(s, buf + pos * R, op)
    return n


ctypedef size_t (*raw_mutate_fn)(uint8_t *data, size_t size, size_t max_size) noexcept nogil
ctypedef Py_ssize_t (*last_run_fn)(void *ctx, const uint8_t *data, size_t size, uint8_t *out,
                                   uint8_t *facts) noexcept


cdef Py_ssize_t mutation_mix_entry(void *ctx, uint8_t *data, size_t size, size_t max_size,
                                   unsigned int seed) except -1:
    """The C driver's LLVMFuzzerCustomMutator (GIL held): MutationMix `ctx` on libFuzzer's buffer."""
    return (<MutationMix>ctx).mutate_raw(data, <Py_ssize_t>size, <Py_ssize_t>max_size, seed)


cdef class MutationMix:
    """MutationMix(structure_pct, fallback, feasible=None, strip=None): the campaign's custom mutator.
    `mutate(data, max_size, seed)` uses this module's structure-aware mutate() for
    `structure_pct` percent of seeds and `fallback(data, max_size)` (atheris.Mutate: libFuzzer's
    byte mutators and dictionaries) for the rest; in C, so libFuzzer's call costs no Python frame.

    With `feasible` (Engine.op_mask: prefix bytes -> one byte per op-table row, non-zero when
    the row's preconditions hold in the state the prefix reaches), insert and replace_op draw
    the new op as the owner bias does, but among the ops the engine says the kernel accepts
    there (syzkaller's resource-aware generation, on the model's own state).

    With `strip` (Engine.without_refused), a structure-aware mutation starts from the input
    without its refused records: an equivalent program (they changed nothing; the codec is
    deletion-stable), as the harness keeps its reproducers. Measured on a 60 s campaign's
    corpus: a quarter of its ops were refused, inherited by every mutation of it; the insert
    bias alone moved the share of refused ops in mutated inputs only from 0.295 to 0.293."""

    cdef int structure_pct
    cdef object fallback
    cdef object feasible
    cdef object strip
    # strip() and feasible() are pure functions of their bytes (one engine, one device, one
    # policy), and libFuzzer mutates the same corpus inputs over and over: each answer is kept,
    # so an input costs its extra engine runs once, not at every mutation.
    cdef dict strip_cache
    cdef dict feasible_cache
    cdef readonly unsigned long long fallback_calls
    cdef readonly unsigned long long in_state_calls
    cdef raw_mutate_fn c_fallback            # libFuzzer's LLVMFuzzerMutate, under the C driver
    # Under the C driver: the engine's view of its last run (Engine.last_run_entry) and op_mask
    # by packed facts (Engine.facts_masks): a mutation of the input just run, libFuzzer's usual
    # case, then needs no engine run, bytes object or cache lookup.
    cdef last_run_fn last_run
    cdef object last_run_ctx
    cdef uint8_t facts_mask[256 * MAX_OPS]
    cdef readonly unsigned long long last_run_calls

    def __init__(self, int structure_pct, fallback, feasible=None, strip=None):
        if not 0 <= structure_pct <= 100:
            raise ValueError(f"structure_pct {structure_pct}: expected 0..100")
        self.structure_pct = structure_pct
        self.fallback = fallback
        self.feasible = feasible
        self.strip = strip
        self.strip_cache = {}
        self.feasible_cache = {}
        self.fallback_calls = 0
        self.in_state_calls = 0
        self.c_fallback = NULL
        self.last_run = NULL
        self.last_run_ctx = None
        self.last_run_calls = 0

    def use_engine_last_run(self, engine):
        """Read `engine`'s last run in C (Engine.last_run_entry, Engine.facts_masks) when the
        input to mutate is the one it ran; other inputs take the strip/feasible path."""
        masks = engine.facts_masks()
        if len(masks) != 256 * n_ops:
            raise ValueError("facts_masks() does not match the op table (rebuild the extensions)")
        memcpy(self.facts_mask, PyBytes_AS_STRING(masks), 256 * n_ops)
        self.last_run_ctx = engine
        self.last_run = <last_run_fn><uintptr_t>engine.last_run_entry()

    def use_libfuzzer_mutate(self, uintptr_t address):
        """Under the C driver: the fallback is libFuzzer's own LLVMFuzzerMutate at `address`
        (called in C on libFuzzer's buffer, no bytes made)."""
        self.c_fallback = <raw_mutate_fn>address

    def mutate_buffer(self, bytes data not None, Py_ssize_t max_size, unsigned int seed) -> bytes:
        """What the C driver's hook does with `data` in a libFuzzer buffer of max_size bytes
        (tests compare it with mutate())."""
        buf = bytearray(max(max_size, len(data)))
        buf[:len(data)] = data
        cdef unsigned char[::1] view = buf
        cdef Py_ssize_t n = self.mutate_raw(&view[0], len(data), max_size, seed)
        return bytes(buf[:n])

    def c_entry(self) -> int:
        """The address of mutation_mix_entry, the C driver's LLVMFuzzerCustomMutator body, with
        this object as its context."""
        return <uintptr_t>&mutation_mix_entry

    cdef Py_ssize_t mutate_raw(self, uint8_t *data, Py_ssize_t size, Py_ssize_t max_size,
                               unsigned int seed) except -1:
        """mutate() on libFuzzer's buffer in place (`max_size` bytes of room); the new size."""
        cdef Py_ssize_t n
        if <int>(seed % 100) < self.structure_pct:
            if self.last_run != NULL:
                n = self._mutate_last_run(data, size, max_size, seed)
                if n >= 0:
                    return n
            inp = PyBytes_FromStringAndSize(<char *>data, size)
            if self.feasible is not None or self.strip is not None:
                out = self._mutate_in_state(inp, max_size, seed)
            else:
                out = mutate(inp, max_size, seed)
            n = PyBytes_GET_SIZE(out)
            memcpy(data, PyBytes_AS_STRING(out), n)     # n <= cap_records(max_size) * R
            return n
        self.fallback_calls += 1
        if self.c_fallback != NULL:
            return <Py_ssize_t>self.c_fallback(data, <size_t>size, <size_t>max_size)
        out = self.fallback(PyBytes_FromStringAndSize(<char *>data, size), max_size)
        n = min(PyBytes_GET_SIZE(out), max_size)
        memcpy(data, PyBytes_AS_STRING(out), n)
        return n

    def mutate(self, bytes data not None, Py_ssize_t max_size, unsigned int seed):
        if <int>(seed % 100) < self.structure_pct:
            if self.feasible is not None or self.strip is not None:
                return self._mutate_in_state(data, max_size, seed)
            return mutate(data, max_size, seed)
        self.fallback_calls += 1
        return self.fallback(data, max_size)

    cdef Py_ssize_t _mutate_last_run(self, uint8_t *data, Py_ssize_t size, Py_ssize_t max_size,
                                     unsigned int seed) except -2:
        """_mutate_in_state on the engine's last run, in C, into `data`: the same strategies,
        draws and output (tests/test_mutator.py compares them). -1 when `data` is not the
        input the engine ran last."""
        global g_last
        cdef uint8_t buf[BUF_REC * R]
        cdef uint8_t facts[BUF_REC + 1]
        cdef int cap = cap_records(max_size)
        cdef int n, strat, pos
        cdef uint64_t s = seed
        cdef Py_ssize_t k
        if cap == 0 or size > BUF_REC * R:
            return -1
        k = self.last_run(<void *>self.last_run_ctx, data, <size_t>size, buf, facts)
        if k < 0:
            return -1
        n = <int>k if k < cap else cap
        strat = choose_strategy(&s, buf, n, cap)
        if strat == S_INSERT or strat == S_REPLACE:
            pos = <int>below(&s, n + 1) if strat == S_INSERT else <int>below(&s, n)
            n = new_op_at(&s, buf, n, pos, strat, &self.facts_mask[facts[pos] * n_ops])
            self.in_state_calls += 1
        else:
            n = apply_strategy(&s, buf, n, cap, strat)
        g_last = strat
        strat_count[strat] += 1
        self.last_run_calls += 1
        memcpy(data, buf, n * R)
        return n * R

    cdef object _mutate_in_state(self, bytes data, Py_ssize_t max_size, unsigned int seed):
        """mutate(), with insert and replace_op biased by what the engine says the kernel
        accepts at the chosen position (`feasible(prefix)`, every precondition of the op
        table under the campaign's policy: owner, power, runtime PM), not only by the owner
        the mutator can follow itself. Same strategies, same totality (every op stays
        possible, 1/8 uniform), same record encoding."""
        global g_last
        cdef uint8_t buf[BUF_REC * R]
        cdef uint8_t allowed[MAX_OPS]
        cdef int cap = cap_records(max_size)
        cdef int n, strat, pos, i
        cdef uint64_t s = seed
        cdef const uint8_t *m
        if cap == 0:
            g_last = -1
            return b""
        if self.strip is not None:
            data = _cached(self.strip_cache, self.strip, data)
        n = <int>(PyBytes_GET_SIZE(data) // R) if PyBytes_GET_SIZE(data) // R < cap else cap
        memcpy(buf, PyBytes_AS_STRING(data), n * R)
        strat = choose_strategy(&s, buf, n, cap)
        if (strat == S_INSERT or strat == S_REPLACE) and self.feasible is not None:
            pos = <int>below(&s, n + 1) if strat == S_INSERT else <int>below(&s, n)
            mask = _cached(self.feasible_cache, self.feasible,
                           PyBytes_FromStringAndSize(<char *>buf, pos * R))
            if len(mask) < n_ops:
                raise ValueError("feasible() returned fewer entries than the op table has rows")
            m = <const uint8_t *>PyBytes_AS_STRING(mask)
            for i in range(n_ops):
                allowed[i] = m[i]
            n = new_op_at(&s, buf, n, pos, strat, allowed)
            self.in_state_calls += 1
        else:
            n = apply_strategy(&s, buf, n, cap, strat)
        g_last = strat
        strat_count[strat] += 1
        return PyBytes_FromStringAndSize(<char *>buf, n * R)
