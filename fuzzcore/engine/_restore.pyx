# cython: language_level=3
"""The native restore engine.

`Engine` runs programs on a device under a policy and agrees with the pure-Python reference model
(fuzzcore/model/) bit for bit: the same ops and model steps in the same order, the same
violations, the same state features (tests/test_engine_differential.py). Its state (design.md §3) is
the C structs of _restore.pxd plus one numpy arena; each model step is a nogil C function in
one of the included `_engine_*.pxi` files, one concern per file, named after the reference module
it mirrors (save, restore, msi, reset, power, features, vfio, qemu, hw_events, oracle, access,
abstract_state, machine); `_engine_api.pxi` is the Python-facing class.

`ConfigBuffer` is one PCI function's hardware: the 4 KiB config image and its parallel masks
(numpy-backed, reached through typed memoryviews), the per-reset-kind keep/default images, and
the MSI-X table held in MMIO. Its write path is the same rule as the pure-Python
`fuzzcore.device.config_space.ConfigSpace` (QEMU's pci_default_write_config): bits change only
where `wmask` allows, a 1 written to a `w1cmask` bit clears it, read-only bits ignore writes.
The two are checked against each other by tests/test_config_buffer.py.

Section numbers (§N) in the engine's comments refer to docs/kernel.md, hazard labels (H1-H19)
to its §9, and "design.md §N" to docs/design.md.
"""

import numpy as np
cimport numpy as cnp
from libc.stdint cimport uint8_t, uint32_t

cnp.import_array()

RESET_KIND_INDEX = {"flr": 0, "hot": 1, "soft": 2, "cold": 3}
cdef enum:
    MSIX_ENTRY_SIZE = 16
    MSIX_VECTOR_CTRL = 12


cdef class ConfigBuffer:
    def __init__(self, image, wmask, w1cmask, keep, default, int msix_entries=0):
        """image/wmask/w1cmask: uint8[4096]; keep/default: uint8[4, 4096] in RESET_KIND_INDEX order."""
        self.config_array = np.ascontiguousarray(image, dtype=np.uint8).copy()
        self.wmask_array = np.ascontiguousarray(wmask, dtype=np.uint8)
        self.w1cmask_array = np.ascontiguousarray(w1cmask, dtype=np.uint8)
        self.keep_array = np.ascontiguousarray(keep, dtype=np.uint8)
        self.default_array = np.ascontiguousarray(default, dtype=np.uint8)
        for name, arr in (("image", self.config_array), ("wmask", self.wmask_array),
                          ("w1cmask", self.w1cmask_array)):
            if arr.shape != (CFG_SIZE,):
                raise ValueError(f"{name} must have shape (4096,), got {arr.shape}")
        for name, arr in (("keep", self.keep_array), ("default", self.default_array)):
            if arr.shape != (N_RESET_KINDS, CFG_SIZE):
                raise ValueError(f"{name} must have shape (4, 4096), got {arr.shape}")
        if msix_entries < 0 or msix_entries > 2048:
            raise ValueError(f"msix_entries {msix_entries}: expected 0..2048")
        self.config = self.config_array
        self.wmask = self.wmask_array
        self.w1cmask = self.w1cmask_array
        self.keep = self.keep_array
        self.default = self.default_array
        self.msix_entries = msix_entries
        self.msix_table_array = np.zeros(max(1, msix_entries) * MSIX_ENTRY_SIZE, dtype=np.uint8)
        self.msix_table = self.msix_table_array
        self.accessible = True
        self._reset_msix()

    cdef void _reset_msix(self) noexcept nogil:
        # Every entry masked after reset; address/data undefined, modelled as 0 (§7.3).
        cdef int i
        for i in range(self.msix_table.shape[0]):
            self.msix_table[i] = 0
        for i in range(self.msix_entries):
            self.msix_table[i * MSIX_ENTRY_SIZE + MSIX_VECTOR_CTRL] = 1

    cdef uint32_t cfg_read(self, int offset, int width) noexcept nogil:
        cdef uint32_t v = 0
        cdef int i
        if not self.accessible:
            return <uint32_t>((1ULL << (8 * width)) - 1)
        for i in range(width):
            v |= (<uint32_t>self.config[offset + i]) << (8 * i)
        return v

    cdef void cfg_write(self, int offset, int width, uint32_t value) noexcept nogil:
        cdef int i, o
        cdef uint8_t b, old, new
        if not self.accessible:
            return
        for i in range(width):
            o = offset + i
            b = <uint8_t>((value >> (8 * i)) & 0xFF)
            old = self.config[o]
            new = (old & ~self.wmask[o]) | (b & self.wmask[o])
            new = new & ~(b & self.w1cmask[o])
            self.config[o] = new

    cdef void cfg_reset(self, int kind) noexcept nogil:
        cdef int o
        for o in range(CFG_SIZE):
            self.config[o] = (self.config[o] & self.keep[kind, o]) | (self.default[kind, o] & ~self.keep[kind, o])
        self._reset_msix()

    # --- Python-facing wrappers (tests, CLI); the engine calls the cdef methods. ---
    def read(self, int offset, int width):
        _check_access(offset, width)
        return self.cfg_read(offset, width)

    def write(self, int offset, int width, value):
        _check_access(offset, width)
        self.cfg_write(offset, width, <uint32_t>(value & 0xFFFFFFFF))

    def reset(self, kind):
        if kind not in RESET_KIND_INDEX:
            raise ValueError(f"unknown reset kind {kind!r}; expected one of {tuple(RESET_KIND_INDEX)}")
        self.cfg_reset(RESET_KIND_INDEX[kind])

    def msix_read(self, int offset, int width=4):
        cdef uint32_t v = 0
        cdef int i
        for i in range(width):
            v |= (<uint32_t>self.msix_table[offset + i]) << (8 * i)
        return v


def _check_access(int offset, int width):
    if width not in (1, 2, 4):
        raise ValueError(f"config access width {width}: expected 1, 2 or 4")
    if offset < 0 or offset + width > CFG_SIZE or offset % width:
        raise ValueError(f"config access at 0x{offset:x} width {width}: out of range or unaligned")


def from_semantics(image, sem, int msix_entries=0):
    """Build a ConfigBuffer from a fuzzcore.device.register_semantics.RegisterSemantics."""
    kinds = ("flr", "hot", "soft", "cold")
    keep = np.stack([sem.keep[k] for k in kinds])
    default = np.stack([sem.default[k] for k in kinds])
    return ConfigBuffer(image, sem.wmask, sem.w1cmask, keep, default, msix_entries)


# --- the engine ---------------------------------------------------------------------------------
from libc.string cimport memcmp, memcpy, memset
from libc.stdint cimport uintptr_t
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.ref cimport PyObject, _Py_REFCNT

include "_engine_defs.pxi"
include "_engine_access.pxi"
include "_engine_oracle.pxi"
include "_engine_save.pxi"
include "_engine_restore.pxi"
include "_engine_msi.pxi"
include "_engine_power.pxi"
include "_engine_reset.pxi"
include "_engine_paths.pxi"
include "_engine_features.pxi"
include "_engine_vfio.pxi"
include "_engine_qemu.pxi"
include "_engine_hw_events.pxi"
include "_engine_abstract_state.pxi"
include "_engine_machine.pxi"
include "_engine_api.pxi"
include "_engine_campaign.pxi"
