# cython: language_level=3
"""State-feature counters that libFuzzer counts as coverage (docs/design.md §7, IJON-style).

The module owns an array of 8-bit counters and a matching PC table, and registers them with the
libFuzzer that atheris loaded, through __sanitizer_cov_8bit_counters_init and
__sanitizer_cov_pcs_init. atheris loads its libFuzzer without RTLD_GLOBAL, so the two symbols
are looked up late: dlopen(RTLD_NOLOAD) on atheris's core module, then dlsym. libFuzzer zeroes
the counters before each input and reads them after it, so a run only has to bump them."""

from libc.stdint cimport uint8_t, uintptr_t

cdef extern from "<dlfcn.h>":
    void *dlopen(const char *filename, int flags)
    void *dlsym(void *handle, const char *symbol)
    int RTLD_NOW
    int RTLD_NOLOAD

ctypedef void (*counters_init_t)(uint8_t *start, uint8_t *stop) noexcept nogil
ctypedef void (*pcs_init_t)(const uintptr_t *beg, const uintptr_t *end) noexcept nogil

cdef enum:
    N_COUNTERS = 8192
NUM_COUNTERS = N_COUNTERS

cdef uint8_t counters[N_COUNTERS]
cdef uintptr_t pcs[2 * N_COUNTERS]
cdef bint registered = False


def register(str libfuzzer_module_path) -> bool:
    """Register the counters with the libFuzzer inside the already-loaded module at this path."""
    global registered
    if registered:
        return True
    cdef bytes path = libfuzzer_module_path.encode()
    cdef void *handle = dlopen(path, RTLD_NOW | RTLD_NOLOAD)
    if handle == NULL:
        return False
    cdef counters_init_t cinit = <counters_init_t>dlsym(handle, b"__sanitizer_cov_8bit_counters_init")
    cdef pcs_init_t pinit = <pcs_init_t>dlsym(handle, b"__sanitizer_cov_pcs_init")
    if cinit == NULL or pinit == NULL:
        return False
    cdef int i
    for i in range(N_COUNTERS):
        # A PC table entry per counter: a distinct fake PC, flags 0 (not a function entry).
        pcs[2 * i] = <uintptr_t>&counters[i]
        pcs[2 * i + 1] = 0
    cinit(&counters[0], &counters[N_COUNTERS - 1] + 1)
    pinit(&pcs[0], &pcs[2 * N_COUNTERS - 1] + 1)
    registered = True
    return True


def is_registered() -> bool:
    return registered


def bump(indices) -> None:
    """Count one hit for each state-feature index (taken modulo the counter count)."""
    cdef long idx
    for idx in indices:
        idx %= N_COUNTERS
        if counters[idx] != 255:
            counters[idx] += 1


def counters_array():
    """The counters as a writable numpy uint8 array over this module's memory: the engine of a
    campaign worker bumps it directly (Engine(..., counters=counters_array()))."""
    import numpy
    return numpy.asarray(<uint8_t[:N_COUNTERS]>counters)


def snapshot() -> bytes:
    """The counters as they are now (tests and `cmin` read them)."""
    return bytes((<uint8_t[:N_COUNTERS]>counters))


def clear() -> None:
    cdef int i
    for i in range(N_COUNTERS):
        counters[i] = 0


# --- a last flush when libFuzzer ends the process -------------------------------------------------
# libFuzzer ends a campaign (-runs, -max_total_time) with C exit() from inside atheris.Fuzz(), so
# Python's atexit never runs; a C atexit handler does. It must not touch Python once the
# interpreter is finalising (a normal Python exit runs C handlers after finalisation).

from libc.stdlib cimport atexit as _c_atexit

cdef extern from "Python.h":
    int Py_IsInitialized() nogil

cdef extern from *:
    """
    #if PY_VERSION_HEX >= 0x030D0000
    #define fuzzcore_is_finalizing() Py_IsFinalizing()
    #else
    #define fuzzcore_is_finalizing() _Py_IsFinalizing()
    #endif
    """
    int fuzzcore_is_finalizing() nogil

cdef object _exit_callback = None
cdef bint _exit_hook_installed = False


cdef void _run_exit_callback() noexcept nogil:
    if not Py_IsInitialized() or fuzzcore_is_finalizing():
        return
    with gil:
        _call_exit_callback()


cdef void _call_exit_callback() noexcept:
    global _exit_callback
    cb, _exit_callback = _exit_callback, None
    if cb is not None:
        try:
            cb()
        except BaseException:
            pass


def call_at_process_exit(callback) -> None:
    """Call `callback()` when the process ends through C exit() while Python is still running
    (libFuzzer's normal end of a campaign); exceptions are swallowed. One callback; the last
    registered wins."""
    global _exit_callback, _exit_hook_installed
    _exit_callback = callback
    if not _exit_hook_installed:
        if _c_atexit(_run_exit_callback) != 0:
            raise RuntimeError("atexit() refused the handler")
        _exit_hook_installed = True
