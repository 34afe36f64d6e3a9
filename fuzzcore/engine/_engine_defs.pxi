# The engine's vocabulary: integer codes for what the reference model names with strings.
# Each enum has a Python tuple of names beside it (same order), used only after a run to build
# Violation objects and at Engine() time to map the op table and the policy vocabulary to codes.

cdef enum:
    # pci_power_t (include/linux/pci.h)
    D0 = 0
    D1 = 1
    D2 = 2
    D3HOT = 3
    D3COLD = 4
    PCI_UNKNOWN = 5

    BAR_NONE = 0
    BAR_MEM32 = 1
    BAR_MEM64 = 2
    BAR_IO = 3

    IOV_UNSET = 0                   # model/enumeration.IOV_*: a VF BAR resource's kind
    IOV_MEM32 = 1
    IOV_MEM64 = 2

    ERR_NORMAL = 0
    ERR_FROZEN = 1
    ERR_PERM_FAILURE = 2

    DRV_NONE = 0
    DRV_HOST = 1
    DRV_VFIO = 2

    IRQ_NONE = 0
    IRQ_INTX = 1
    IRQ_MSI = 2
    IRQ_MSIX = 3

    RESET_FLR = 0            # reset kinds: rows of the keep/default tables (register_tables.RESET_KINDS)
    RESET_HOT = 1
    RESET_SOFT = 2
    RESET_COLD = 3

    METHOD_FLR = 0           # reset methods (vocabulary.RESET_METHODS)
    METHOD_PM = 1
    METHOD_BUS = 2
    METHOD_AUTO = -1

    SRC_SNAPSHOT = 0
    SRC_LIVE = 1
    SRC_HARDWARE = 2
    GATE_ALWAYS = 0
    GATE_LIVE_FLAG = 1
    GATE_NEVER = 2

    # end-of-op conditions (oracle._standing)
    STAND_VCONFIG = 1
    STAND_LTR = 2
    STAND_PTM = 4
    STAND_INTENT0 = 8            # STAND_INTENT0 << field: intent_mismatch on that field

    # errno values the model returns
    EPERM_ = -1
    ENOENT_ = -2
    EIO_ = -5
    EAGAIN_ = -11
    ENOMEM_ = -12
    EBUSY_ = -16
    ENOSYS_ = -38
    ENODEV_ = -19
    EINVAL_ = -22
    ENOTTY_ = -25

    # pci_ers_result_t
    ERS_NONE = 1
    ERS_CAN_RECOVER = 2
    ERS_NEED_RESET = 3
    ERS_DISCONNECT = 4
    ERS_RECOVERED = 5
    ERS_NO_AER_DRIVER = 6

# --- restore and save steps: the engine function for each vocabulary step --------------------
cdef enum:
    R_PCIE = 0
    R_PASID
    R_PRI
    R_ATS
    R_VC
    R_REBAR
    R_DPC
    R_PTM
    R_TPH
    R_AER_CLEAR_STATUS
    R_AER
    R_CONFIG_SPACE
    R_PCIX
    R_MSI
    R_ACS
    R_IOV
RESTORE_KIND_NAMES = ("pcie", "pasid", "pri", "ats", "vc", "rebar", "dpc", "ptm", "tph",
                      "aer_clear_status", "aer", "config_space", "pcix", "msi", "acs", "iov")

cdef enum:
    S_CONFIG_SPACE = 0
    S_PCIE
    S_PCIX
    S_DPC
    S_AER
    S_PTM
    S_TPH
    S_VC
SAVE_KIND_NAMES = ("config_space", "pcie", "pcix", "dpc", "aer", "ptm", "tph", "vc")

# --- ops: one per row of fuzzcore/program/op_table.py (mapped by name at Engine()) ------------
cdef enum:
    OP_PCI_SAVE_STATE = 0
    OP_PCI_RESTORE_STATE
    OP_PCI_RESET_FUNCTION
    OP_PCI_RESET_BUS
    OP_PCIE_DO_RECOVERY
    OP_PCI_SET_POWER_STATE
    OP_PCI_PM_RUNTIME_SUSPEND
    OP_PCI_PM_RUNTIME_RESUME
    OP_PCI_ASSIGN_BAR
    OP_PCI_ENABLE_MSIX
    OP_PCI_DISABLE_MSIX
    OP_PCI_ENABLE_MSI
    OP_PCI_DISABLE_MSI
    OP_PCI_ENABLE_TPH
    OP_PCI_DISABLE_TPH
    OP_PCI_ENABLE_ATS
    OP_PCI_DISABLE_ATS
    OP_PCI_ENABLE_PASID
    OP_PCI_DISABLE_PASID
    OP_PCI_ENABLE_PRI
    OP_PCI_DISABLE_PRI
    OP_PCI_ENABLE_PTM
    OP_PCI_DISABLE_PTM
    OP_PCI_ENABLE_L1SS
    OP_PCI_ENABLE_SRIOV
    OP_PCI_DISABLE_SRIOV
    OP_PCI_RESIZE_BAR
    OP_PCI_BIND_DRIVER
    OP_VFIO_OPEN
    OP_VFIO_CLOSE
    OP_VFIO_CONFIG_WRITE
    OP_VFIO_SET_IRQS
    OP_VFIO_DEVICE_RESET
    OP_VFIO_HOT_RESET
    OP_QEMU_PRE_RESET
    OP_QEMU_POST_RESET
    OP_QEMU_RESET
    OP_HW_LINK_DOWN
    OP_HW_INACCESSIBLE
    OP_HW_ACCESSIBLE
    OP_PM_SYSTEM_SLEEP
    OP_VFIO_BAR_RW
    OP_VFIO_LOW_POWER
    N_ENGINE_OPS
ENGINE_OP_NAMES = (
    "pci_save_state", "pci_restore_state", "pci_reset_function", "pci_reset_bus",
    "pcie_do_recovery", "pci_set_power_state", "pci_pm_runtime_suspend", "pci_pm_runtime_resume",
    "pci_assign_bar", "pci_enable_msix", "pci_disable_msix", "pci_enable_msi", "pci_disable_msi",
    "pci_enable_tph", "pci_disable_tph", "pci_enable_ats", "pci_disable_ats", "pci_enable_pasid",
    "pci_disable_pasid", "pci_enable_pri", "pci_disable_pri", "pci_enable_ptm", "pci_disable_ptm",
    "pci_enable_l1ss", "pci_enable_sriov", "pci_disable_sriov", "pci_resize_bar",
    "pci_bind_driver", "vfio_open", "vfio_close", "vfio_config_write", "vfio_set_irqs",
    "vfio_device_reset", "vfio_hot_reset", "qemu_pre_reset", "qemu_post_reset", "qemu_reset",
    "hw_link_down", "hw_inaccessible", "hw_accessible", "pm_system_sleep", "vfio_bar_rw",
    "vfio_low_power",
)
cdef enum:                       # the ioctls vfio_ioctl wraps in the runtime-PM get/put paths
    VIOCTL_SET_IRQS = 0
    VIOCTL_DEVICE_RESET
    VIOCTL_HOT_RESET
    VIOCTL_LOW_POWER
    VIOCTL_BAR_RW
# The enum arguments' values, in the order the engine codes them (checked against the op table).
ENGINE_ENUM_ARGS = {
    ("pci_reset_function", "method"): ("auto", "flr", "pm", "bus"),
    ("pcie_do_recovery", "channel"): ("normal", "frozen"),
    ("pcie_do_recovery", "vote"): ("can_recover", "need_reset", "disconnect", "no_aer_driver"),
    ("pcie_do_recovery", "source"): ("aer", "dpc"),
    ("pci_set_power_state", "state"): ("d0", "d3hot", "d3cold"),
    ("pci_enable_tph", "mode"): ("no_st", "int_vec", "dev_spec"),
    ("pci_bind_driver", "driver"): ("none", "host", "vfio"),
    ("vfio_config_write", "width"): ("1", "2", "4"),
    ("vfio_set_irqs", "index"): ("none", "intx", "msi", "msix"),
    ("pm_system_sleep", "transition"): ("s2idle", "deep", "hibernate_thaw", "hibernate_restore"),
    ("pm_system_sleep", "power"): ("kept", "lost"),
    ("vfio_bar_rw", "access"): ("read", "write"),
    ("vfio_low_power", "action"): ("entry", "entry_wakeup", "exit"),
}

# --- model steps (Violation.step): the upstream function a report happened in -----------------
# Op names come first (a step id < N_ENGINE_OPS is the op itself), then fixed steps, then the
# per-vocabulary-id ranges for restore steps, save steps and reset methods.
cdef enum:
    STEP_ENUMERATION = N_ENGINE_OPS
    STEP_PCI_BUS_ADD_DEVICE
    STEP_VFIO_REGISTER
    STEP_PCI_RESTORE_STATE
    STEP_PCI_DEV_SAVE_AND_DISABLE
    STEP_PCI_DEV_RESTORE
    STEP_PCI_RESET_BUS
    STEP_PCI_BUS_ERROR_RESET
    STEP_PCIE_DO_RECOVERY
    STEP_PCI_RESTORE_BARS
    STEP_PCI_PM_RUNTIME_SUSPEND
    STEP_PCI_PM_RUNTIME_RESUME
    STEP_HOST_DRIVER_PROBE
    STEP_VFIO_SET_POWER_STATE
    STEP_VFIO_CORE_ENABLE
    STEP_VFIO_CORE_DISABLE
    STEP_VFIO_RESET_DONE
    STEP_VFIO_SET_IRQS
    STEP_VFIO_IOCTL_RESET
    STEP_VFIO_HOT_RESET
    STEP_VFIO_BAR_RESTORE
    STEP_VFIO_CONFIG_RW
    STEP_VFIO_EXP_FLR
    STEP_QEMU_PRE_RESET
    STEP_QEMU_POST_RESET
    STEP_QEMU_RESET
    STEP_LINK_DOWN
    STEP_DEVICE_RELEASE_DRIVER
    STEP_RESET_STORE
    STEP_VFIO_RUNTIME_SUSPEND
    STEP_PLATFORM_POWER_OFF
    STEP_PCI_PM_SUSPEND
    STEP_PCI_PM_SUSPEND_NOIRQ
    STEP_PCI_PM_RESUME_NOIRQ
    STEP_PCI_PM_RESUME
    STEP_PCI_PM_COMPLETE
    STEP_PCI_PM_FREEZE
    STEP_PCI_PM_FREEZE_NOIRQ
    STEP_PCI_PM_THAW_NOIRQ
    STEP_PCI_PM_THAW
    STEP_PCI_PM_RESTORE_NOIRQ
    STEP_PCI_PM_RESTORE
    STEP_DPC_CONTAINMENT
    STEP_DPC_RESET_LINK
    STEP_PLATFORM_POWER_ON
    STEP_VFIO_PCI_BAR_RW
    STEP_VFIO_EXP_MRRS
    STEP_RESTORE_BASE                                   # + vocabulary restore step id
    STEP_SAVE_BASE = STEP_RESTORE_BASE + MAX_RESTORE_STEPS   # + vocabulary save step id
    STEP_RESET_BASE = STEP_SAVE_BASE + MAX_SAVE_STEPS        # + vocabulary reset method id
    N_STEPS = STEP_RESET_BASE + MAX_RESET_METHODS
FIXED_STEP_NAMES = (
    "enumeration", "pci_bus_add_device", "vfio_pci_core_register_device", "pci_restore_state",
    "pci_dev_save_and_disable", "pci_dev_restore", "pci_reset_bus", "pci_bus_error_reset",
    "pcie_do_recovery", "pci_restore_bars", "pci_pm_runtime_suspend", "pci_pm_runtime_resume",
    "host driver probe", "vfio_pci_set_power_state", "vfio_pci_core_enable", "vfio_pci_core_disable",
    "vfio_pci_core_aer_reset_done", "vfio_pci_set_irqs_ioctl", "vfio_pci_ioctl_reset",
    "vfio_pci_dev_set_hot_reset", "vfio_bar_restore", "vfio_pci_config_rw", "vfio_exp_config_write/FLR",
    "vfio_pci_pre_reset", "vfio_pci_post_reset", "vfio_pci_reset", "link down",
    "device_release_driver", "reset_store", "vfio_pci_core_runtime_suspend", "platform power off",
    "pci_pm_suspend", "pci_pm_suspend_noirq", "pci_pm_resume_noirq", "pci_pm_resume", "pci_pm_complete",
    "pci_pm_freeze", "pci_pm_freeze_noirq", "pci_pm_thaw_noirq", "pci_pm_thaw", "pci_pm_restore_noirq",
    "pci_pm_restore", "DPC containment", "dpc_reset_link", "platform power on", "vfio_pci_bar_rw",
    "vfio_exp_config_write/MRRS",
)

# --- oracle: invariants, registers (bucket key parts) and message templates ----------------------
from fuzzcore.model.intent import FIELDS as _INTENT_FIELDS, REFINES as _INTENT_REFINES, message as _intent_message
from fuzzcore.model.intent import WRITTEN_FIELDS as _INTENT_WRITTEN_FIELDS
from fuzzcore.model.oracle import outside_d0_actual
# intent.REFINES rows that name several written fields, as bit sets
cdef uint64_t REFINES_PCIE = sum(1 << _f for _f in _INTENT_REFINES[("restore_unsaved_buffer", "PCIe")])
cdef uint64_t REFINES_L1SS = sum(1 << _f for _f in _INTENT_REFINES[("restore_unsaved_buffer", "L1SS")])
cdef uint64_t REFINES_VC = sum(1 << _f for _f in _INTENT_REFINES[("restore_unsaved_buffer", "VC")])
cdef uint64_t REFINES_ALL_ONES_COMMAND = sum(1 << _f for _f in _INTENT_REFINES[("restore_all_ones", "Command")])

cdef enum:
    # intent fields, fuzzcore/model/intent.py order
    IF_MEMORY = 0
    IF_IO
    IF_MASTER
    IF_POWER
    IF_BAR0
    IF_FEATURE0 = 10         # ATS, MSI, MSI-X, PASID, PRI, PTM, SR-IOV, TPH (the F_* order)
    IF_MSI_MSG = 18
    IF_MSIX_MSG = 19
    IF_WRITTEN1 = 20         # intent.WRITTEN[1:] in order (Command's bits are IF_MEMORY/IO/MASTER)
    W_COMMAND = 0            # intent.WRITTEN rows
    W_MSI_MASK = 18
    W_VF_BAR0 = 29           # "SR-IOV VF BAR0"; BAR1-5 follow (intent.CORE_RESTORED)

cdef enum:
    INV_MMIO_DECODE_OFF = 0
    INV_RESTORE_UNSAVED_BUFFER
    INV_LIVE_FLAG_MISMATCH
    INV_SNAPSHOT_ALL_ONES
    INV_RESTORE_ALL_ONES
    INV_SNAPSHOT_BAR_STALE
    INV_RESTORE_OLDER_SNAPSHOT
    INV_RESTORE_AFTER_FAILED_LOAD
    INV_UPSTREAM_FEATURE_OFF
    INV_ORDER_VIOLATION
    INV_USED_WITHOUT_RESTORE
    INV_MSI_WITHOUT_BUS_MASTER
    INV_VCONFIG_MISMATCH
    INV_RESTORE_OUTSIDE_D0
    INV_INTENT_MISMATCH
    INV_CONFIG_WRITE_LOST
    INV_CONFIG_READ_LOST
    INV_ERROR_STATUS_STALE
INVARIANT_NAMES = (
    "mmio_decode_off", "restore_unsaved_buffer", "live_flag_mismatch", "snapshot_all_ones",
    "restore_all_ones", "snapshot_bar_stale", "restore_older_snapshot", "restore_after_failed_load",
    "upstream_feature_off", "order_violation", "used_without_restore", "msi_without_bus_master",
    "vconfig_mismatch", "restore_outside_d0", "intent_mismatch", "config_write_lost",
    "config_read_lost", "error_status_stale",
)

cdef enum:
    # features compared by live_flag_mismatches, in the order after_restore reports them (sorted
    # by register name)
    F_ATS = 0
    F_MSI
    F_MSIX
    F_PASID
    F_PRI
    F_PTM
    F_SRIOV
    F_TPH

cdef enum:
    REG_ATS = 0              # REG_ATS + F_* is the register of feature F_*
    REG_MSI
    REG_MSIX
    REG_PASID
    REG_PRI
    REG_PTM
    REG_SRIOV
    REG_TPH
    REG_CONFIG
    REG_COMMAND
    REG_BAR0                 # REG_BAR0 + n
    REG_BAR1
    REG_BAR2
    REG_BAR3
    REG_BAR4
    REG_BAR5
    REG_MSIX_NOT_ANSWERING
    REG_MSIX_NOT_D0
    REG_MSIX_MEMORY_OFF
    REG_MSIX_BAR_MOVED
    REG_LTR
    REG_L1SS
    REG_PCIE
    REG_VC
    REG_DPC
    REG_AER
    REG_PCIX
    REG_BAR_ACCESS_NOT_ANSWERING     # + access.pxi's DEC_* cause
    REG_BAR_ACCESS_NOT_D0
    REG_BAR_ACCESS_MEMORY_OFF
    REG_BAR_ACCESS_BAR_MOVED
    REG_BAR_ACCESS_IO_OFF
    REG_INTENT0              # REG_INTENT0 + field (fuzzcore/model/intent.py FIELDS)
REGISTER_NAMES = (
    "ATS", "MSI", "MSI-X", "PASID", "PRI", "PTM", "SR-IOV", "TPH", "config", "Command",
    "BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5",
    "MSI-X table, not answering", "MSI-X table, not in D0", "MSI-X table, Memory off", "MSI-X table, BAR moved",
    "LTR", "L1SS", "PCIe", "VC", "DPC", "AER", "PCI-X",
    "user BAR, not answering", "user BAR, not in D0", "user BAR, Memory off", "user BAR, BAR moved",
    "user BAR, I/O off",
) + tuple(_f[0] for _f in _INTENT_FIELDS)

cdef enum:
    MSG_NOT_ANSWERING = 0
    MSG_NOT_D0               # a: PowerState
    MSG_MEMORY_OFF           # a: Command
    MSG_BAR_MOVED            # a: BAR index, b: BAR value, c: resource
    MSG_SNAPSHOT_ALL_ONES
    MSG_UNSAVED_NEVER        # a: snapshot epoch
    MSG_UNSAVED_OLD          # a: snapshot epoch, b: buffer epoch
    MSG_USED_WITHOUT_RESTORE
    MSG_RESUMED_WITHOUT_RESTORE
    MSG_RETURNED_WITHOUT_RESTORE
    MSG_ORDER_BAR            # a: Command
    MSG_ORDER_PASID
    MSG_ORDER_LTR
    MSG_ORDER_SRIOV
    MSG_OUTSIDE_D0           # a: PowerState, b: current_state
    MSG_FAILED_LOAD
    MSG_OLDER_SNAPSHOT       # a: latest save, b: snapshot epoch
    MSG_ALL_ONES_COMMAND
    MSG_ALL_ONES_BAR
    MSG_BAR_STALE            # a: resource, b: snapshot BAR
    MSG_LIVE_FLAG            # a: live flag, b: enable bit
    MSG_MSI_NO_BUS_MASTER    # a: Command
    MSG_VCONFIG              # a: vconfig Memory/IO, b: hardware Memory/IO
    MSG_UPSTREAM_LTR
    MSG_UPSTREAM_PTM
    MSG_INTENT               # a: intent, b: hardware, c: intent.pack(field, vector, last op)
    MSG_WRITE_LOST           # a: offset, b: value, c: width
    MSG_READ_LOST            # a: offset, c: width
    MSG_ORDER_L1SS_ASPM
    MSG_ORDER_L1SS_CTL2
    MSG_ORDER_L1SS_TIMING
    MSG_USER_BAR_MOVED       # a: BAR index, b: BAR value, c: resource
    MSG_ERROR_STATUS_STALE   # a: Correctable, b: Uncorrectable Status bits


def _message(int msg, a, b, c):
    """(expected, actual) of a violation record: the strings the reference oracle writes."""
    if msg == MSG_NOT_ANSWERING:
        return "decode on", "config space reads all-ones"
    if msg == MSG_NOT_D0:
        return "decode on", f"PowerState D{a}"
    if msg == MSG_MEMORY_OFF:
        return "decode on", f"Command=0x{a:04x}"
    if msg == MSG_BAR_MOVED:
        return "decode on", f"BAR{a}=0x{b:x} but the table is mapped at 0x{c:x}"
    if msg == MSG_USER_BAR_MOVED:
        return "decode on", f"BAR{a}=0x{b:x} but the BAR is mapped at 0x{c:x}"
    if msg == MSG_SNAPSHOT_ALL_ONES:
        return "a device that answers", "Command/Status read 0xffffffff"
    if msg == MSG_UNSAVED_NEVER:
        return f"filled by save #{a}", "never saved (zeros)"
    if msg == MSG_UNSAVED_OLD:
        return f"filled by save #{a}", f"filled by save #{b}"
    if msg == MSG_USED_WITHOUT_RESTORE:
        return "restored after the reset", "recovery reported success with the device at reset defaults"
    if msg == MSG_RESUMED_WITHOUT_RESTORE:
        return "restored after the reset", "system sleep resumed the device at reset defaults"
    if msg == MSG_RETURNED_WITHOUT_RESTORE:
        return "restored after the reset", "returned to user space with the function reset and nothing restored"
    if msg == MSG_ORDER_BAR:
        return "decode off while a BAR is rewritten", f"Command=0x{a:04x}"
    if msg == MSG_ORDER_PASID:
        return "PASID written before ATS Enable", "ATS already enabled"
    if msg == MSG_ORDER_LTR:
        return "latencies programmed before LTR Enable", "LTR already enabled"
    if msg == MSG_ORDER_SRIOV:
        return "NumVFs written before VF Enable", "VF Enable already set"
    if msg == MSG_ORDER_L1SS_ASPM:
        return "ASPM L0s/L1 off at both ends while L1SS changes", "ASPM L0s/L1 enabled"
    if msg == MSG_ORDER_L1SS_CTL2:
        return "T_POWER_ON programmed while L1.2 is disabled", "L1.2 enabled"
    if msg == MSG_ORDER_L1SS_TIMING:
        return "L1.2 thresholds programmed before the L1.2 enables", "L1.2 enabled by the write that sets them"
    if msg == MSG_OUTSIDE_D0:
        return "D0", outside_d0_actual(b, a)
    if msg == MSG_FAILED_LOAD:
        return "a whole snapshot", "pci_load_saved_state failed part way"
    if msg == MSG_OLDER_SNAPSHOT:
        return f"snapshot of save #{a}", f"snapshot of save #{b}"
    if msg == MSG_ALL_ONES_COMMAND:
        return "a saved Command", "0xffffffff"
    if msg == MSG_ALL_ONES_BAR:
        return "a saved BAR", "0xffffffff"
    if msg == MSG_BAR_STALE:
        return f"0x{a:x} (resource)", f"0x{b:x} (snapshot)"
    if msg == MSG_LIVE_FLAG:
        return f"enable bit {a} (kernel flag)", f"enable bit {b} in hardware"
    if msg == MSG_MSI_NO_BUS_MASTER:
        return "Bus Master on (as before the op)", f"Command=0x{a:04x}"
    if msg == MSG_VCONFIG:
        return f"Memory/IO as vconfig (0x{a:x})", f"hardware 0x{b:x}"
    if msg == MSG_UPSTREAM_LTR:
        return "LTR enabled on the port too", "port LTR Enable clear"
    if msg == MSG_UPSTREAM_PTM:
        return "PTM enabled on the port too", "port PTM Enable clear"
    if msg == MSG_INTENT:
        if (c & 0xFF) in _INTENT_WRITTEN_FIELDS:   # a: the intent, the writing step + 1 above bit 32
            return _intent_message(a & 0xFFFFFFFF, b, c, OP_NAMES, STEP_NAMES[(a >> 32) - 1] if a >> 32 else "")
        return _intent_message(a, b, c, OP_NAMES)
    if msg == MSG_ERROR_STATUS_STALE:
        return "AER status cleared (pci_aer_clear_status)", f"Correctable 0x{a:x}, Uncorrectable 0x{b:x} latched before the restore"
    if msg == MSG_WRITE_LOST:
        return "the function answers", (f"write of 0x{b & ((1 << 8 * c) - 1):x} to 0x{a:03x} dropped: "
                                        "config space reads all-ones")
    if msg == MSG_READ_LOST:
        return "the function answers", (f"read of 0x{a:03x} returned 0x{(1 << 8 * c) - 1:x}: "
                                        "config space reads all-ones")
    raise ValueError(f"unknown message code {msg}")
