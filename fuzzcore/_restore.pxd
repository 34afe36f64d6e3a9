# C-level interface of the restore engine (fuzzcore/_restore.pyx).
from libc.stdint cimport uint8_t, uint32_t

cdef enum:
    CFG_SIZE = 4096
    N_RESET_KINDS = 4

cdef class ConfigBuffer:
    cdef public object config_array, wmask_array, w1cmask_array, keep_array, default_array
    cdef public object msix_table_array
    cdef uint8_t[::1] config
    cdef const uint8_t[::1] wmask
    cdef const uint8_t[::1] w1cmask
    cdef const uint8_t[:, ::1] keep
    cdef const uint8_t[:, ::1] default
    cdef uint8_t[::1] msix_table
    cdef public bint accessible
    cdef public int msix_entries

    cdef uint32_t cfg_read(self, int offset, int width) noexcept nogil
    cdef void cfg_write(self, int offset, int width, uint32_t value) noexcept nogil
    cdef void cfg_reset(self, int kind) noexcept nogil
    cdef void _reset_msix(self) noexcept nogil
