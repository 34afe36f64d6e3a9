# cython: language_level=3
"""libFuzzer driven from C for the native engine's campaigns.

atheris calls its Python target and custom mutator through pybind11: a bytes object, an argument
conversion and a Python-level dispatch per input and per mutation, a fifth of a campaign
worker's time once the engine itself is fast. This module calls the LLVMFuzzerRunDriver of the
libFuzzer atheris ships (its core_with_libfuzzer module) directly, with C callbacks:

- TestOneInput is fuzzcore.engine._restore's campaign_target_entry (CampaignTarget.run_raw on
  libFuzzer's buffer; bytes are made only on the rare slow path that hands a finding on);
- LLVMFuzzerCustomMutator / LLVMFuzzerCustomCrossOver are defined here, as exported C symbols:
  libFuzzer looks them up when its module is loaded, so this module must be loaded first and
  with RTLD_GLOBAL (fuzzcore.campaign.worker does both); they call the MutationMix's C entry and
  _mutate's crossover in C, and libFuzzer's own LLVMFuzzerMutate for the byte-level share.

The callbacks run with the GIL held (the driver is called from Python and never releases it),
as atheris's do. A Python exception in a callback is printed with its traceback and ends the
process with exit(1) while the input runs: libFuzzer's exit handler then reports "fuzz target
exited" and writes the input as a crash-* artifact, as it does for atheris's uncaught exceptions.
"""

from libc.stdint cimport uint8_t, uintptr_t
from libc.stdlib cimport exit as c_exit, malloc, free
from libc.string cimport strcpy, strlen
from libc.stdio cimport fflush, fputs, stderr, stdout

cdef extern from "<dlfcn.h>":
    void *dlopen(const char *filename, int flags)
    void *dlsym(void *handle, const char *symbol)
    int RTLD_NOW
    int RTLD_NOLOAD

cdef extern from "Python.h":
    void PyErr_Print()

# The entries are `except -1` functions of other modules: -1 with a Python exception set. They are
# called here as plain C (noexcept), so the -1 reaches _die() with the exception still set.
ctypedef int (*target_fn)(void *ctx, const uint8_t *data, size_t size) noexcept
ctypedef Py_ssize_t (*mutator_fn)(void *ctx, uint8_t *data, size_t size, size_t max_size,
                                  unsigned int seed) noexcept
ctypedef size_t (*crossover_fn)(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
                                uint8_t *out, size_t max_out, unsigned int seed) noexcept nogil
ctypedef int (*user_callback)(const uint8_t *data, size_t size) noexcept
ctypedef int (*run_driver_fn)(int *argc, char ***argv, user_callback cb)

cdef target_fn g_target = NULL
cdef void *g_target_ctx = NULL
cdef mutator_fn g_mutator = NULL
cdef void *g_mutator_ctx = NULL
cdef crossover_fn g_crossover = NULL
cdef object g_keep = None           # the context objects, alive while the driver runs


cdef void _die() noexcept:
    """A Python exception escaped a callback (it is still set): print it with its traceback and
    end the run, exit() inside the callback, so libFuzzer keeps the input as a crash."""
    fflush(stdout)
    fputs(b"\n === Uncaught Python exception: ===\n", stderr)
    fflush(stderr)
    PyErr_Print()
    fflush(stderr)
    c_exit(1)


cdef int _test_one_input(const uint8_t *data, size_t size) noexcept:
    if g_target(g_target_ctx, data, size) < 0:
        _die()
    return 0


cdef public size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                                           unsigned int seed) noexcept:
    cdef Py_ssize_t n
    if g_mutator == NULL:           # loaded, but no campaign of ours is running
        return 0
    n = g_mutator(g_mutator_ctx, data, size, max_size, seed)
    if n < 0:
        _die()
    return <size_t>n


cdef public size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
                                             uint8_t *out, size_t max_out, unsigned int seed) noexcept:
    if g_crossover == NULL:
        return 0
    return g_crossover(d1, s1, d2, s2, out, max_out, seed)


def hooks_global() -> bool:
    """Whether the process-wide LLVMFuzzerCustomMutator / CustomCrossOver are this module's: it
    was loaded with RTLD_GLOBAL ahead of any other definition, so a libFuzzer loaded after it
    binds its weak hooks here."""
    return (dlsym(NULL, b"LLVMFuzzerCustomMutator") == <void *>&LLVMFuzzerCustomMutator
            and dlsym(NULL, b"LLVMFuzzerCustomCrossOver") == <void *>&LLVMFuzzerCustomCrossOver)


def libfuzzer_symbol(str libfuzzer_module_path, str name) -> int:
    """The address of `name` in the loaded libFuzzer module at that path (0 if absent)."""
    cdef void *handle = dlopen(libfuzzer_module_path.encode(), RTLD_NOW | RTLD_NOLOAD)
    if handle == NULL:
        return 0
    return <uintptr_t>dlsym(handle, name.encode())


def run(str libfuzzer_module_path, list argv, target, uintptr_t target_entry, mutator=None,
        uintptr_t mutator_entry=0, uintptr_t crossover_entry=0) -> int:
    """LLVMFuzzerRunDriver(argv) with `target_entry(target, data, size)` as TestOneInput and,
    when given, `mutator_entry(mutator, ...)` / `crossover_entry(...)` as the custom mutator and
    crossover. Returns the driver's result when libFuzzer returns (it usually exits itself)."""
    global g_target, g_target_ctx, g_mutator, g_mutator_ctx, g_crossover, g_keep
    cdef run_driver_fn run_driver = <run_driver_fn><uintptr_t>libfuzzer_symbol(
        libfuzzer_module_path, "LLVMFuzzerRunDriver")
    if run_driver == NULL:
        raise RuntimeError(f"{libfuzzer_module_path}: no LLVMFuzzerRunDriver (is it loaded?)")
    if target_entry == 0:
        raise ValueError("target_entry is 0")
    g_keep = (target, mutator)
    g_target = <target_fn>target_entry
    g_target_ctx = <void *>target
    if mutator is not None and mutator_entry:
        g_mutator = <mutator_fn>mutator_entry
        g_mutator_ctx = <void *>mutator
    g_crossover = <crossover_fn>crossover_entry if crossover_entry else NULL
    # argv as C strings that live for the whole run (libFuzzer keeps pointers into them)
    cdef int argc = len(argv)
    cdef char **c_argv = <char **>malloc((argc + 1) * sizeof(char *))
    cdef bytes b
    if c_argv == NULL:
        raise MemoryError()
    for i, a in enumerate(argv):
        b = str(a).encode()
        c_argv[i] = <char *>malloc(len(b) + 1)
        if c_argv[i] == NULL:
            raise MemoryError()
        strcpy(c_argv[i], b)
    c_argv[argc] = NULL
    return run_driver(&argc, &c_argv, _test_one_input)
