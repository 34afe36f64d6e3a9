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


cdef class CampaignTarget:
    """CampaignTarget(engine, on_finding, on_tick, tick_every=256)

    `test_one_input(data)` runs one program. When it reports a bucket that is new to this
    process, or at an op index below the best seen, it calls `on_finding(data, violations)` with
    the run's fuzzcore.model.invariants.Violation list (the findings store decides what to keep).
    `on_tick()` is called on the first run and every `tick_every` runs; `hits()` returns {bucket: hits} since the last
    call to it and resets the counts."""

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
            e._reset()
            e._run_nogil(p, n)
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
