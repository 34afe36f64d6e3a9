# The campaign's per-input hot path, native (fuzzcore/campaign/harness.py builds one per worker).
#
# libFuzzer calls TestOneInput hundreds of thousands of times a second; a Python harness that
# builds a Violation object per report and looks each up in the findings store spent ~90 % of a
# run on bookkeeping. CampaignTarget keeps that bookkeeping in C: per bucket (invariant, op kind,
# register) a hit count and the length, in ops, of the shortest input this process has handed to
# the findings store. Python is called only when a run reports a bucket that is new to this
# process or shorter than the best so far (rare once a campaign settles), and every `tick_every`
# runs for stats. The state-feature counters libFuzzer reads are the engine's own `counters`
# array, bumped inside the run (fuzzcore/engine/_feedback.pyx registers that memory).

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdint cimport uintptr_t

cdef enum:
    N_BUCKET_OPS = 257          # op kinds 0..255 and "init" (-1), stored at op_kind + 1
    MAX_CHECKPOINTS = 16        # prefix checkpoints kept along the last run (CampaignTarget)
    CHECKPOINT_WORK = 24        # Machine.work between checkpoints: a checkpoint (State, the
                                # Machine's op-boundary fields, the arena; ~12 KiB on i350) costs
                                # about what that many steps do


cdef class CampaignTarget:
    """CampaignTarget(engine, on_finding, on_tick, tick_every=256)

    `test_one_input(data)` runs one program. When it reports a bucket that is new to this
    process, or at an op index below the best seen, it calls `on_finding(data, violations)` with
    the run's fuzzcore.model.invariants.Violation list (the findings store decides what to keep).
    `on_tick()` is called on the first run and every `tick_every` runs; `hits()` returns {bucket: hits} since the last
    call to it and resets the counts.

    Prefix resume (`resume`, on by default): libFuzzer runs each mutation of an input, and
    stacks the next mutation on it, so consecutive inputs usually share their first records.
    Along each run the target keeps checkpoints of the engine at op boundaries (every
    CHECKPOINT_WORK steps of work): the State, the Machine's op-boundary fields (intent rows,
    transients, the violation count) and the arena. The next run compares its records with the
    last run's, drops the checkpoints past the first record that differs, and starts from the
    latest one left: the ops before it are not run again. What those ops left behind outside the
    checkpoint stays valid because every run since wrote only past it: their per-op outputs
    (returns, features, refused flags, facts) and their violation records; their state-counter
    bumps (libFuzzer clears the counters before each run) are made again from the kept
    features. A resumed run's outputs equal a fresh run's (tests/test_campaign_resume.py runs
    both side by side). Any other use of the engine in between (run(), without_refused's own
    run) moves its run_serial and drops every checkpoint."""

    cdef Engine engine
    cdef object on_finding
    cdef object on_tick
    cdef readonly unsigned long long runs
    cdef readonly unsigned long long slow_calls
    cdef unsigned long tick_every
    cdef object _best_array, _hits_array
    cdef int32_t[::1] best          # per bucket: shortest op count handed on (INT32 max: never)
    cdef uint32_t[::1] hit_count
    cdef dict names                 # bucket index -> bucket tuple, filled on the slow path
    cdef Py_ssize_t n_regs
    # prefix resume: checkpoint j (of n_cp, op boundaries ascending) is cp_size bytes at
    # cp_mem + j * cp_size, taken at boundary cp_at[j] of the run with engine serial cp_serial
    cdef public bint resume
    cdef public int checkpoint_work                  # Machine.work between checkpoints
    cdef uint8_t *cp_mem
    cdef Py_ssize_t cp_size, tail_off, tail_size
    cdef int n_cp
    cdef Py_ssize_t cp_at[MAX_CHECKPOINTS]
    cdef uint64_t cp_serial
    cdef readonly unsigned long long ops_resumed     # ops a checkpoint spared (stats)
    cdef readonly unsigned long long ops_total

    def __cinit__(self):
        self.cp_mem = NULL
        self.n_cp = 0

    def __dealloc__(self):
        PyMem_Free(self.cp_mem)

    def __init__(self, Engine engine not None, on_finding, on_tick=None, unsigned long tick_every=256):
        self.engine = engine
        self.on_finding = on_finding
        self.on_tick = on_tick
        self.tick_every = tick_every if tick_every > 0 else 1
        self.n_regs = len(REGISTER_NAMES)
        size = len(INVARIANT_NAMES) * N_BUCKET_OPS * self.n_regs
        self._best_array = _np.full(size, 0x7FFFFFFF, dtype=_np.int32)
        self._hits_array = _np.zeros(size, dtype=_np.uint32)
        self.best = self._best_array
        self.hit_count = self._hits_array
        self.names = {}
        self.runs = 0
        self.slow_calls = 0
        self.resume = True
        self.checkpoint_work = CHECKPOINT_WORK
        self.ops_resumed = 0
        self.ops_total = 0
        # a checkpoint: the State, the Machine from op_index up to (not including) its output
        # pointers, then the arena
        self.tail_off = <Py_ssize_t>(<char *>&engine.m.op_index - <char *>&engine.m)
        self.tail_size = <Py_ssize_t>(<char *>&engine.m.viol - <char *>&engine.m.op_index)
        self.cp_size = sizeof(State) + self.tail_size + 2 * sizeof(int) + engine.arena_size
        self.cp_mem = <uint8_t *>PyMem_Malloc(MAX_CHECKPOINTS * self.cp_size)
        if self.cp_mem == NULL:
            raise MemoryError()

    cdef inline Py_ssize_t _index(self, const ViolationRec *v) noexcept nogil:
        return (<Py_ssize_t>v.invariant * N_BUCKET_OPS + v.op_kind + 1) * self.n_regs + v.reg

    def test_one_input(self, bytes data not None):
        self.run_raw(<const uint8_t *>(<char *>data), len(data), data)

    def c_entry(self) -> int:
        """The address of campaign_target_entry, the C function the C driver hands libFuzzer's
        callbacks to (fuzzcore/engine/_driver.pyx), with this object as its context."""
        return <uintptr_t>&campaign_target_entry

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int run_raw(self, const uint8_t *p, Py_ssize_t size, object data) except -1:
        """Run one input (`size` bytes at p; `data` the same bytes as an object, or None: they
        are made only if the slow path needs them)."""
        cdef Engine e = self.engine
        cdef Py_ssize_t n = size // 8
        cdef Py_ssize_t i, idx
        cdef bint slow = False
        cdef ViolationRec *v
        self.runs += 1
        if self.on_tick is not None and (self.runs == 1 or self.runs % self.tick_every == 0):
            self.on_tick()
        e._settle()
        e._grow(n if n > 0 else 1)
        with nogil:
            self._run_resumed(p, n)
            e.n_run = n
            for i in range(e.m.n_viol):
                v = &e.viol_buf[i]
                idx = self._index(v)
                if self.hit_count[idx] != <uint32_t>4294967295U:
                    self.hit_count[idx] += 1
                if v.op_index + 1 < self.best[idx]:
                    slow = True
        e._keep_last_input(p, size)
        if slow:
            if data is None:
                data = PyBytes_FromStringAndSize(<const char *>p, size)
            self._slow_path(data)
        return 0

    cdef void _run_resumed(self, const uint8_t *p, Py_ssize_t n) noexcept nogil:
        """Run the n records at p from the latest checkpoint the last run left on their path
        (or from the initial state), keeping checkpoints along the way."""
        cdef Machine *m = &self.engine.m
        cdef Py_ssize_t shared = 0, k0 = 0, i, limit
        cdef int64_t last_work
        if self.resume and self.n_cp and self.engine.last_input_serial == self.engine.run_serial == self.cp_serial:
            limit = min(n, self.engine.last_len // 8)
            while shared < limit and memcmp(p + 8 * shared, self.engine.last_buf + 8 * shared, 8) == 0:
                shared += 1
            while self.n_cp and self.cp_at[self.n_cp - 1] > shared:
                self.n_cp -= 1
        else:
            self.n_cp = 0
        if self.n_cp:
            k0 = self.cp_at[self.n_cp - 1]
            self._restore(self.n_cp - 1, k0)
            self.engine.run_serial += 1           # a run, as _reset counts one
        else:
            self.engine._reset()
        self.ops_resumed += k0
        self.ops_total += n
        last_work = m.work
        for i in range(k0, n):
            apply_record(m, self.engine.ops, self.engine.n_ops, p + 8 * i, <int>i)
            if self.resume and m.work - last_work >= self.checkpoint_work and self.n_cp < MAX_CHECKPOINTS:
                self._checkpoint(i + 1)
                last_work = m.work
        self.cp_serial = self.engine.run_serial

    cdef void _checkpoint(self, Py_ssize_t at) noexcept nogil:
        cdef Machine *m = &self.engine.m
        cdef uint8_t *c = self.cp_mem + self.n_cp * self.cp_size
        memcpy(c, &m.st, sizeof(State))
        c += sizeof(State)
        memcpy(c, (<uint8_t *>m) + self.tail_off, self.tail_size)
        c += self.tail_size
        (<int *>c)[0] = m.n_viol
        (<int *>c)[1] = m.viol_dropped
        c += 2 * sizeof(int)
        memcpy(c, self.engine.arena, self.engine.arena_size)
        self.cp_at[self.n_cp] = at
        self.n_cp += 1

    cdef void _restore(self, int j, Py_ssize_t k0) noexcept nogil:
        """The engine as it stood at boundary k0 of the run that took checkpoint j, then what the
        first k0 ops did outside it: their counter bumps and the campaign's op counts."""
        cdef Machine *m = &self.engine.m
        cdef const uint8_t *c = self.cp_mem + j * self.cp_size
        cdef int64_t ops_run = m.n_ops_run, refused = m.n_refused
        cdef Py_ssize_t i
        cdef uint32_t idx
        memcpy(&m.st, c, sizeof(State))
        c += sizeof(State)
        memcpy((<uint8_t *>m) + self.tail_off, c, self.tail_size)
        c += self.tail_size
        m.n_viol = (<const int *>c)[0]
        m.viol_dropped = (<const int *>c)[1]
        c += 2 * sizeof(int)
        memcpy(self.engine.arena, c, self.engine.arena_size)
        m.n_ops_run = ops_run + k0            # the stats count the ops of every run
        for i in range(k0):
            refused += self.engine.refused_buf[i]
            idx = <uint32_t>self.engine.feat_buf[i]
            if m.counters != NULL:
                if m.counters[idx] != 255:
                    m.counters[idx] += 1
                m.seen[idx] = 1
        m.n_refused = refused
        self.engine.n_run = 0

    def prefix_stats(self) -> dict:
        """{"ops": ops in every run, "resumed": of those, the ops a checkpoint spared}."""
        return {"ops": int(self.ops_total), "resumed": int(self.ops_resumed)}

    cdef void _slow_path(self, bytes data) except *:
        cdef Engine e = self.engine
        cdef Py_ssize_t i, idx
        cdef ViolationRec *v
        self.slow_calls += 1
        violations = e.violations()
        for i in range(e.m.n_viol):
            idx = self._index(&e.viol_buf[i])
            if idx not in self.names:
                self.names[idx] = violations[i].bucket
        # Mark first: if on_finding raises (disk full), the crash is reported once, not per run.
        for i in range(e.m.n_viol):
            v = &e.viol_buf[i]
            idx = self._index(v)
            if v.op_index + 1 < self.best[idx]:
                self.best[idx] = v.op_index + 1
        self.on_finding(data, violations)

    def hits(self) -> dict:
        """{bucket tuple: hits} counted since the previous call (and reset)."""
        nz = _np.flatnonzero(self._hits_array)
        out = {self.names[int(i)]: int(self._hits_array[i]) for i in nz if int(i) in self.names}
        self._hits_array[nz] = 0
        return out

    def best_ops(self) -> dict:
        """{bucket tuple: shortest op count handed to on_finding} (tests, stats)."""
        return {b: int(self._best_array[i]) for i, b in self.names.items()}


cdef int campaign_target_entry(void *ctx, const uint8_t *data, size_t size) except -1:
    """The C driver's TestOneInput (GIL held): run `data` on the CampaignTarget `ctx`."""
    return (<CampaignTarget>ctx).run_raw(data, <Py_ssize_t>size, None)
