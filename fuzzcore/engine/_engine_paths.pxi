# Paths: the policy's ordered steps, interpreted (fuzzcore/policy/paths.py); mirrors
# fuzzcore/model/paths.py. A path's steps are rows of the compiled step arrays (primitive, argument,
# condition); its result starts at 0 and only the primitives that return a status set it.

cdef enum:
    # paths.PATHS order (checked against the compiled policy's path_names at load)
    PATH_SAVE_AND_DISABLE = 0
    PATH_DEV_RESTORE
    PATH_RESET_FUNCTION
    PATH_RESET_BUS
    CB_RESET_PREPARE                 # the host driver's callbacks (driver.*), path ids too
    CB_RESET_DONE
    CB_ERROR_DETECTED
    CB_MMIO_ENABLED
    CB_SLOT_RESET
    CB_RESUME
    PATH_QEMU_PRE_RESET
    PATH_QEMU_POST_RESET
    PATH_QEMU_RESET
    PATH_RUNTIME_SUSPEND
    PATH_RUNTIME_RESUME
    CB_RUNTIME_SUSPEND
    CB_RUNTIME_RESUME
    PATH_PCIE_FLR
    PATH_PM_SUSPEND_DEVICES
    PATH_PM_HIBERNATE_THAW
    PATH_PM_HIBERNATE_RESTORE
    PATH_VFIO_CORE_ENABLE = 36        # after the system-sleep paths (ENGINE_PATH_NAMES)
    PATH_VFIO_CORE_DISABLE
    PATH_VFIO_CORE_DISABLE_RESTORE
    PATH_VFIO_CORE_DISABLE_RESET
    PATH_VFIO_DEV_SET_TRY_RESET
    PATH_VFIO_IOCTL_RESET
    PATH_VFIO_DEV_SET_HOT_RESET
    PATH_PM_RUNTIME_PUT
    PATH_RESET_STORE
    PATH_RECOVERY_RUNTIME_GET
    PATH_RECOVERY_RUNTIME_PUT
    CB_REMOVE
    CB_PROBE
    PATH_VFIO_SET_IRQS
    PATH_RESTORE_PCIE_STATE
    PATH_RESTORE_L1SS_STATE
    PATH_RESTORE_MSIX_STATE
    PATH_RESTORE_MSI_STATE
    PATH_RESTORE_CONFIG_SPACE
    PATH_VFIO_BAR_RW
    PATH_RESTORE_PASID_STATE
    PATH_RESTORE_PRI_STATE
    PATH_RESTORE_ATS_STATE
    PATH_RESTORE_DPC_STATE
    PATH_RESTORE_PTM_STATE
    PATH_RESTORE_TPH_STATE
    PATH_RESTORE_AER_STATE
    PATH_RESTORE_PCIX_STATE
    PATH_RESTORE_IOV_STATE
    PATH_SAVE_PCIE_STATE
    PATH_SAVE_PCIX_STATE
    PATH_SAVE_DPC_STATE
    PATH_SAVE_AER_STATE
    PATH_SAVE_PTM_STATE
    PATH_SAVE_TPH_STATE
    PATH_SAVE_VC_STATE
    PATH_AER_CLEAR_STATUS
    PATH_ENABLE_ACS
    PATH_PCIE_DO_RECOVERY
    PATH_RECOVERY_MMIO_ENABLED
    PATH_RECOVERY_SLOT_RESET
    PATH_RECOVERY_FAILED
    PATH_RESTORE_REBAR_STATE
    PATH_RESTORE_VC_STATE
    PATH_VFIO_ERR_DETECTED           # vfio-pci's callbacks (paths.VFIO_CALLBACK_PATHS)
    PATH_VFIO_MMIO_ENABLED
    PATH_VFIO_SLOT_RESET
    PATH_VFIO_RESUME
    PATH_VFIO_RESET_PREPARE
    PATH_VFIO_RESET_DONE
    PATH_VFIO_RUNTIME_SUSPEND
    PATH_VFIO_RUNTIME_RESUME
    PATH_AER_ROOT_RESET
    PATH_DPC_RESET_LINK
    PATH_PCI_POWER_UP
    PATH_PCI_SET_FULL_POWER_STATE
    PATH_PCI_DEVICE_REMOVE
    PATH_PCI_SET_POWER_STATE
    PATH_PCI_SET_LOW_POWER_STATE
    PATH_VFIO_SET_POWER_STATE
    PATH_PCI_PM_RESET
    PATH_PCI_RESET_BUS_FUNCTION
    PATH_VFIO_REGISTER_DEVICE
    PATH_REPORT_ERROR_DETECTED
    PATH_REPORT_MMIO_ENABLED
    PATH_REPORT_SLOT_RESET
    PATH_REPORT_RESUME
    PATH_REPORT_PERM_FAILURE
    PATH_SAVE_CONFIG_SPACE
    PATH_QEMU_PICK_RESET
    PATH_MSIX_CAPABILITY_INIT
    PATH_PCI_MSIX_SHUTDOWN
    PATH_MSI_CAPABILITY_INIT
    PATH_PCI_MSI_SHUTDOWN
    PATH_SAVE_L1SS_STATE
    PATH_ENABLE_ATS
    PATH_DISABLE_ATS
    PATH_ENABLE_PASID
    PATH_DISABLE_PASID
    PATH_ENABLE_PRI
    PATH_DISABLE_PRI
    PATH_IOMMU_ENABLE_PRI
    PATH_ENABLE_TPH
    PATH_DISABLE_TPH
    PATH_ENABLE_SRIOV
    PATH_DISABLE_SRIOV
    PATH_ASPM_SET_POLICY
    PATH_CONFIG_ASPM_LINK
    PATH_CONFIG_ASPM_L1SS
    PATH_SET_CLKPM
    PATH_ENABLE_PTM
    PATH_ENABLE_PTM_PARENT
    PATH_DISABLE_PTM
    PATH_DISABLE_PTM_PARENT
    PATH_SUSPEND_PTM
    PATH_RESUME_PTM
    PATH_ASPM_PM_STATE_CHANGE
    PATH_ASPM_POWERSAVE_CONFIG_LINK
    PATH_STD_UPDATE_RESOURCE
    PATH_ASSIGN_RESOURCE
    PATH_RESIZE_RESOURCE
    PATH_VFIO_DEFAULT_CONFIG_WRITE     # vfio-pci's write functions (paths.VFIO_WRITE_FNS)
    PATH_VFIO_BASIC_CONFIG_WRITE
    PATH_VFIO_PM_CONFIG_WRITE
    PATH_VFIO_EXP_CONFIG_WRITE
    PATH_VFIO_MSI_CONFIG_WRITE
    PATH_DEVICE_BIND_DRIVER
    PATH_LOCAL_PCI_PROBE
    PATH_MSIX_REQUEST_IRQ
    PATH_MSIX_FREE_IRQ
    PATH_MSI_REQUEST_IRQ
    PATH_MSI_FREE_IRQ
    PATH_PCI_INIT_CAPABILITIES
    PATH_PCI_PTM_INIT
    PATH_VFIO_DEVICE_PM_RUNTIME_GET
    PATH_VFIO_DEVICE_PM_RUNTIME_PUT
    PATH_VFIO_PCI_CORE_PM_ENTRY
    PATH_VFIO_PCI_CORE_PM_EXIT
    PATH_VFIO_INTX_ENABLE
    PATH_SRIOV_CONFIGURE
    PATH_SRIOV_DECONFIGURE
    PATH_VFIO_PCI_SRIOV_CONFIGURE
    PATH_VFIO_PCI_SRIOV_DECONFIGURE
    PATH_PCI_IOV_UPDATE_RESOURCE
    PATH_PCI_RESTORE_BARS
    PATH_DRIVER_LEGACY_SUSPEND
    PATH_DRIVER_LEGACY_RESUME
    PATH_PCI_LEGACY_SUSPEND
    PATH_PCI_LEGACY_SUSPEND_LATE
    PATH_PCI_LEGACY_RESUME
    # paths.PRIMITIVES order
    PRIM_STOP = 0
    PRIM_CALL
    PRIM_SET_POWER
    PRIM_SAVE_STATE
    PRIM_RESTORE_STATE
    PRIM_WRITE_COMMAND
    PRIM_RESET_METHODS
    PRIM_SECONDARY_BUS_RESET
    PRIM_DRIVER
    PRIM_VOTE
    PRIM_USER_SET_IRQS
    PRIM_USER_CLEAR_COMMAND
    PRIM_USER_PM_D0
    PRIM_USER_ZERO_BARS
    PRIM_QEMU_PICK_RESET
    PRIM_SET_RUNTIME_STATUS
    PRIM_SUSPEND_PTM
    PRIM_RESUME_PTM
    PRIM_CLEAR_STATE_SAVED
    PRIM_POWER_UP
    PRIM_FAIL
    PRIM_INITIATE_FLR
    PRIM_SET_UNKNOWN_STATE
    PRIM_SKIP_BUS_PM
    PRIM_UPDATE_CURRENT_STATE
    PRIM_DIRECT_COMPLETE
    PRIM_POWER_OFF
    PRIM_CLEAR_MASTER
    PRIM_ENABLE_DEVICE
    PRIM_TRY_RESET
    PRIM_VFIO_SET_POWER
    PRIM_VFIO_RESET_WORKS
    PRIM_VFIO_STORE_SAVED_STATE
    PRIM_VFIO_LOAD_SAVED_STATE
    PRIM_VFIO_CONFIG_INIT
    PRIM_VFIO_NEEDS_RESET
    PRIM_VFIO_OPEN
    PRIM_DISABLE_FEATURE
    PRIM_SET_MASTER
    PRIM_RESET_FUNCTION
    PRIM_VFIO_IRQS_DISABLE
    PRIM_VFIO_IRQS_ENABLE
    PRIM_RESTORE_LTR
    PRIM_BRIDGE_RECONFIGURE_LTR
    PRIM_RESTORE_PCIE_REGISTERS
    PRIM_CHECK_L1SS_BUFFER
    PRIM_L1SS_ASPM
    PRIM_L1SS_CLEAR_L12
    PRIM_L1SS_WRITE
    PRIM_INTX_FOR_MSI
    PRIM_MSIX_CTRL
    PRIM_MSIX_MEMORY
    PRIM_MSIX_RESTORE_ENTRIES
    PRIM_MSI_CTRL
    PRIM_MSI_WRITE_MESSAGE
    PRIM_MSI_UPDATE_MASK
    PRIM_CONFIG_DWORDS
    PRIM_VFIO_VCONFIG_SET
    PRIM_VFIO_BAR_ACCESS
    PRIM_CAP_RESTORE
    PRIM_CAP_WRITE
    PRIM_TPH_RESTORE_ST
    PRIM_CAP_SAVE
    PRIM_TPH_SAVE_ST
    PRIM_SAVE_L1SS
    PRIM_VC_SAVE
    PRIM_CAP_WRITE_BACK
    PRIM_ERS_STATUS
    PRIM_ERS_REPORT
    PRIM_RESET_SUBORDINATES
    PRIM_CLEAR_ERROR_STATUS
    PRIM_RECOVERY_SAID
    PRIM_REBAR_RESTORE_SIZES
    PRIM_VC_RESTORE
    PRIM_ROOT_AER_IRQ
    PRIM_ROOT_ERROR_STATUS_CLEAR
    PRIM_BUS_ERROR_RESET
    PRIM_FLR_RESET
    PRIM_DPC_CLEAR_TRIGGER
    PRIM_WAIT_SECONDARY_BUS
    PRIM_PLATFORM_POWER_ON
    PRIM_SET_CURRENT_STATE
    PRIM_PMCSR_WRITE
    PRIM_SET_RESULT
    PRIM_RESTORE_BARS
    PRIM_RETURN
    PRIM_CALL_RESULT
    PRIM_SET_FLAG
    PRIM_PLATFORM_POWER_OFF
    PRIM_VFIO_PM_SAVE
    PRIM_DEV_WAIT
    PRIM_VFIO_PROBE_POWER_STATE
    PRIM_DRIVER_VOTE
    PRIM_SET_IO_STATE
    PRIM_CONFIG_SAVE
    PRIM_SET_STATE_SAVED
    PRIM_USER_RESET
    PRIM_MSIX_MAP_REGION
    PRIM_MSIX_SETUP_INTERRUPTS
    PRIM_MSIX_MASK_ALL
    PRIM_MSIX_MASK_VECTORS
    PRIM_MSIX_FORGET
    PRIM_INTX_ON
    PRIM_MSI_SETUP
    PRIM_MSI_MASK
    PRIM_MSI_FORGET
    PRIM_KERNEL_SET
    PRIM_COMMAND_SET
    PRIM_COMMAND_BRACKET
    PRIM_BAR_WRITE
    PRIM_BAR_MOVE
    PRIM_REBAR_RESIZE
    PRIM_REBAR_UPDATE_BAR
    PRIM_VFIO_DEFAULT_WRITE
    PRIM_VFIO_BAR_RESTORE_CHECK
    PRIM_VFIO_COMMAND_TRACK
    PRIM_VFIO_INTX_EMULATE
    PRIM_VFIO_POWER_STATE
    PRIM_VFIO_FLR_TRAP
    PRIM_VFIO_READRQ
    PRIM_VFIO_MSI_FLAGS
    PRIM_SET_DRIVER
    PRIM_VFIO_REGISTERED
    PRIM_RUNTIME_AUTO
    PRIM_MSIX_VECTOR
    PRIM_MSI_CLEAR_MESSAGE
    PRIM_VFIO_PM_ENGAGE
    PRIM_VFIO_INTX
    PRIM_READ_LOCAL
    PRIM_TEST_LOCAL
    PRIM_CALL_ARG
    PRIM_IOV_BAR_WRITE
    PRIM_RESET_PROBE
    # paths.CONDITIONS order, + 1 (0 = none)
    COND_CONFIG_ALL_ONES = 1
    COND_RESULT_OK
    COND_INTX_PIN
    COND_NO_DRIVER
    COND_STATE_SAVED
    COND_LOW_POWER
    COND_COMMAND_ALL_ONES
    COND_RUNTIME_SUSPENDED
    COND_D0
    COND_SKIP_BUS_PM_NO_PLATFORM
    COND_DIRECT_COMPLETE
    COND_POWER_LOST
    COND_RESUME_VIA_FIRMWARE
    COND_PMCSR_SHALLOWER
    COND_VFIO_IDLE
    COND_VFIO_RESET_WORKS
    COND_VFIO_NEEDS_RESET
    COND_VFIO_LOAD_FAILED_NO_RESET
    COND_VFIO_IRQS_OUT_OF_RANGE
    COND_PCIE_BUFFER
    COND_L1SS_LINK
    COND_L1SS_L12_SAVED
    COND_MSIX_ENABLED
    COND_MSIX_MESSAGES_WRITTEN
    COND_MSI_ENABLED
    COND_HEADER_NORMAL
    COND_HEADER_BRIDGE
    COND_VFIO_BAR_UNASSIGNED
    COND_VFIO_MEM_BAR
    COND_D3_OR_UNKNOWN
    COND_VFIO_VCONFIG_MEMORY_OFF
    COND_NO_COMMAND_MEMORY
    COND_VIRTFN
    COND_SOURCE_LIVE
    COND_ROOT_ERROR_REGS
    COND_SRIOV_VF_ENABLED
    COND_PCIE
    COND_PCIX
    COND_PCIX_BUFFER
    COND_AER_NATIVE
    COND_ERS_CAN_RECOVER
    COND_ERS_NEED_RESET
    COND_ERS_RECOVERED
    COND_CHANNEL_FROZEN
    COND_AER_OS_OWNED
    COND_REBAR_CTRL_ERROR
    COND_VFIO_SAVED_STATE
    COND_RC_END
    COND_ROOT_AER_NATIVE
    COND_RUNTIME_IDLE
    COND_PM_CAP
    COND_DISCONNECTED
    COND_PMCSR_ALL_ONES
    COND_PMCSR_D0
    COND_PMCSR_SOFT_RESET
    COND_RESULT_ERROR
    COND_TARGET_D0
    COND_AT_TARGET
    COND_D3HOT
    COND_D3COLD
    COND_PLATFORM_POWER
    COND_NUM_VFS
    COND_VFIO_NEEDS_PM_RESTORE
    COND_FLAG_A
    COND_FLAG_B
    COND_PMCSR_NO_SOFT_RESET
    COND_QEMU_HAS_FLR
    COND_QEMU_HAS_PM_RESET
    COND_DOWNSTREAM_PORT
    COND_L1SS_PAIR
    COND_L1SS_BUFFER
    COND_PORT_L1SS_BUFFER
    COND_EXT_CAP_FOUND
    COND_ATS_CAP
    COND_ATS_ENABLED
    COND_VF_STU_MISMATCH
    COND_PASID_CAP
    COND_PASID_ENABLED
    COND_EETLP_PREFIX
    COND_ACS_PATH_RR_UF
    COND_PASID_FEATURES_UNSUPPORTED
    COND_PRI_CAP
    COND_PRI_ENABLED
    COND_PRI_STOPPED
    COND_PORTDRV
    COND_NEED_RESUME
    COND_POWER_MANAGEABLE
    COND_TPH_CAP
    COND_TPH_ENABLED
    COND_TPH_MODE_UNSUPPORTED
    COND_TPH_REQ_DISABLED
    COND_PROBE
    COND_DEVCAP_FLR
    COND_PARENT_BUS_RESETTABLE
    COND_SRIOV_CAP
    COND_SRIOV_INITIAL_BAD
    COND_SRIOV_NR_INVALID
    COND_IOV_BARS_ASSIGNED
    COND_ASPM_LINK
    COND_ASPM_UNCHANGED
    COND_ASPM_L1SS_CAPABLE
    COND_CLKPM_ENABLE
    COND_PTM_ROOT
    COND_UPSTREAM_PTM
    COND_PTM_TYPE_OK
    COND_PTM_SHARED
    COND_PTM_ENABLED
    COND_PTM_COUNT_ZERO
    COND_PORT_PTM_ROOT
    COND_PORT_PTM_TYPE_OK
    COND_PORT_PTM_SHARED
    COND_PORT_PTM_COUNT_ZERO
    COND_ASPM_SUPERSAVE
    COND_RESOURCE_UNSET
    COND_RESOURCE_MEM64
    COND_REBAR_CAP
    COND_MEMORY_DECODE_ON
    COND_TARGET_D3
    COND_LOW_DEEPER
    COND_LOW_AT_TARGET
    COND_LOW_UNSUPPORTED
    COND_PIECE_COMMAND
    COND_PIECE_COMMAND_WORD
    COND_PIECE_PM_CTRL
    COND_PIECE_MSI_FLAGS
    COND_VCONFIG_FLR
    COND_READRQ_CHANGED
    COND_BIND_NONE
    COND_BIND_HOST
    COND_BIND_VFIO
    COND_DRIVER_VFIO
    COND_MSIX_VECTOR_UNMASKED
    COND_MSI_VECTOR_UNMASKED
    COND_PTM_CAP
    COND_PTM_PORT_TYPE
    COND_WALKED
    COND_CHANNEL_OFFLINE
    COND_VOTE_NEED_RESET
    COND_VFIO_PM_ENGAGED
    COND_VFIO_PM_WAKEUP
    COND_VFIO_PM_INTX_MASKED
    COND_DISABLE_IDLE_D3
    COND_IOV_DECODE_ON
    COND_IOV_RESOURCE_UNSET
    COND_IOV_RESOURCE_MEM64
    COND_NUMVFS_SAME
    COND_REPORTER_AER_NATIVE
    COND_LEGACY_PM
    COND_VFS_ON_BUS
    PATH_ARG_PROBE = 1               # a reset method's path run as its probe (paths condition probe)
    # paths.KERNEL_FIELDS order
    KF_ATS_STU = 0
    KF_ATS_ENABLED
    KF_ATS_DISABLED
    KF_PASID_FEATURES
    KF_PASID_ENABLED
    KF_PASID_DISABLED
    KF_PRI_REQS_ALLOC
    KF_PRI_ENABLED
    KF_PRI_DISABLED
    KF_TPH_MODE
    KF_TPH_REQ_TYPE
    KF_TPH_ENABLED
    KF_TPH_DISABLED
    KF_SRIOV_VF_ENABLE
    KF_SRIOV_VF_DISABLE
    KF_SRIOV_NUM_VFS
    KF_SRIOV_NUM_VFS_ZERO
    KF_ASPM_TARGET
    KF_ASPM_ENABLED
    KF_CLKPM_ENABLED
    KF_PTM_GET
    KF_PTM_PUT
    KF_PORT_PTM_GET
    KF_PORT_PTM_PUT
    KF_PTM_SUSPENDED
    KF_PTM_RESUMED
    KF_ASPM_SUPERSAVE
    KF_DRIVER_FAILED
    KF_DRIVER_RESUMED
    # PCIE_LINK_STATE_* (model/enumeration.py)
    LINK_L1 = 0x04
    LINK_L1SS = 0x78
    LINK_PCIPM = 0x60
    LINK_ASPM_ALL = 0x7F
    # model/enumeration.py
    ACS_PASSES = -1
    ACS_FAILS = -2
    VF_PF_ATS_STU = 12               # paths.VF_PF_ATS_STU
    # the op's transitions (op_table.SLEEP_TRANSITIONS order)
    SLEEP_S2IDLE = 0
    SLEEP_DEEP
    SLEEP_HIBERNATE_THAW
    SLEEP_HIBERNATE_RESTORE

ENGINE_PATH_NAMES = ("pci_dev_save_and_disable", "pci_dev_restore", "pci_reset_function", "pci_reset_bus",
                     "driver.reset_prepare", "driver.reset_done", "driver.error_detected", "driver.mmio_enabled",
                     "driver.slot_reset", "driver.resume", "qemu_pre_reset", "qemu_post_reset", "qemu_reset",
                     "pci_pm_runtime_suspend", "pci_pm_runtime_resume", "driver.runtime_suspend",
                     "driver.runtime_resume", "pcie_flr", "pm_suspend_devices", "pm_hibernate_thaw",
                     "pm_hibernate_restore", "pci_pm_suspend", "pci_pm_suspend_noirq", "pci_pm_save_and_sleep",
                     "pci_pm_resume_noirq", "pci_pm_resume", "pci_restore_standard_config", "pci_pm_complete",
                     "pci_pm_freeze", "pci_pm_freeze_noirq", "pci_pm_thaw_noirq", "pci_pm_thaw",
                     "pci_pm_restore_noirq", "pci_pm_restore", "driver.pm_suspend", "driver.pm_resume",
                     "vfio_pci_core_enable", "vfio_pci_core_disable", "vfio_pci_core_disable_restore",
                     "vfio_pci_core_disable_reset", "vfio_pci_dev_set_try_reset", "vfio_pci_ioctl_reset",
                     "vfio_pci_dev_set_hot_reset", "pm_runtime_put", "reset_store", "recovery_runtime_get",
                     "recovery_runtime_put", "driver.remove",
                     "driver.probe", "vfio_pci_set_irqs_ioctl",
                     "pci_restore_pcie_state", "pci_restore_aspm_l1ss_state",
                     "pci_restore_msix_state", "pci_restore_msi_state", "pci_restore_config_space",
                     "vfio_pci_bar_rw", "pci_restore_pasid_state", "pci_restore_pri_state",
                     "pci_restore_ats_state", "pci_restore_dpc_state", "pci_restore_ptm_state",
                     "pci_restore_tph_state", "pci_restore_aer_state", "pci_restore_pcix_state",
                     "pci_restore_iov_state", "pci_save_pcie_state", "pci_save_pcix_state",
                     "pci_save_dpc_state", "pci_save_aer_state", "pci_save_ptm_state", "pci_save_tph_state",
                     "pci_save_vc_state", "pci_aer_clear_status", "pci_enable_acs", "pcie_do_recovery",
                     "recovery_mmio_enabled", "recovery_slot_reset", "recovery_failed",
                     "pci_restore_rebar_state", "pci_restore_vc_state",
                     "vfio_pci_core_aer_err_detected", "vfio_pci_core_aer_mmio_enabled",
                     "vfio_pci_core_aer_slot_reset", "vfio_pci_core_aer_resume", "vfio_pci_core_aer_reset_prepare",
                     "vfio_pci_core_aer_reset_done", "vfio_pci_core_runtime_suspend", "vfio_pci_core_runtime_resume",
                     "aer_root_reset", "dpc_reset_link", "pci_power_up", "pci_set_full_power_state",
                     "pci_device_remove", "pci_set_power_state", "pci_set_low_power_state",
                     "vfio_pci_set_power_state", "pci_pm_reset", "pci_reset_bus_function",
                     "vfio_pci_core_register_device", "report_error_detected", "report_mmio_enabled",
                     "report_slot_reset", "report_resume", "report_perm_failure_detected",
                     "pci_save_config_space", "qemu_pick_reset", "msix_capability_init", "pci_msix_shutdown",
                     "msi_capability_init", "pci_msi_shutdown", "pci_save_aspm_l1ss_state",
                     "pci_enable_ats", "pci_disable_ats", "pci_enable_pasid", "pci_disable_pasid",
                     "pci_enable_pri", "pci_disable_pri", "iommu_enable_pri",
                     "pcie_enable_tph", "pcie_disable_tph", "pci_enable_sriov", "pci_disable_sriov",
                     "pcie_aspm_set_policy", "pcie_config_aspm_link", "pcie_config_aspm_l1ss", "pcie_set_clkpm",
                     "pci_enable_ptm", "pci_enable_ptm_parent", "pci_disable_ptm", "pci_disable_ptm_parent",
                     "pci_suspend_ptm", "pci_resume_ptm", "pcie_aspm_pm_state_change",
                     "pcie_aspm_powersave_config_link", "pci_std_update_resource", "pci_assign_resource",
                     "pci_resize_resource", "vfio_default_config_write", "vfio_basic_config_write",
                     "vfio_pm_config_write", "vfio_exp_config_write", "vfio_msi_config_write",
                     "device_bind_driver", "local_pci_probe", "msix_request_irq", "msix_free_irq",
                     "msi_request_irq", "msi_free_irq", "pci_init_capabilities", "pci_ptm_init",
                     "vfio_device_pm_runtime_get", "vfio_device_pm_runtime_put", "vfio_pci_core_pm_entry",
                     "vfio_pci_core_pm_exit", "vfio_intx_enable",
                     "sriov_configure", "sriov_deconfigure", "vfio_pci_sriov_configure", "vfio_pci_sriov_deconfigure",
                     "pci_iov_update_resource", "pci_restore_bars", "driver.legacy_suspend",
                     "driver.legacy_resume", "pci_legacy_suspend", "pci_legacy_suspend_late", "pci_legacy_resume",
                     "pci_aer_init")
ENGINE_PRIMITIVE_NAMES = ("stop", "call", "set_power", "save_state", "restore_state", "write_command",
                          "reset_methods", "secondary_bus_reset", "driver", "vote", "user_set_irqs",
                          "user_clear_command", "user_pm_d0", "user_zero_bars", "qemu_pick_reset",
                          "set_runtime_status", "suspend_ptm", "resume_ptm", "clear_state_saved", "power_up",
                          "fail", "initiate_flr", "set_unknown_state", "skip_bus_pm", "update_current_state",
                          "direct_complete", "power_off", "clear_master", "enable_device", "try_reset",
                          "vfio_set_power", "vfio_reset_works", "vfio_store_saved_state", "vfio_load_saved_state",
                          "vfio_config_init", "vfio_needs_reset", "vfio_open", "disable_feature", "set_master",
                          "reset_function", "vfio_irqs_disable", "vfio_irqs_enable",
                          "restore_ltr", "bridge_reconfigure_ltr", "restore_pcie_registers", "check_l1ss_buffer",
                          "l1ss_aspm", "l1ss_clear_l12", "l1ss_write", "intx_for_msi", "msix_ctrl", "msix_memory",
                          "msix_restore_entries", "msi_ctrl", "msi_write_message", "msi_update_mask",
                          "config_dwords", "vfio_vconfig_set", "vfio_bar_access",
                          "cap_restore", "cap_write", "tph_restore_st", "cap_save", "tph_save_st", "save_l1ss",
                          "vc_save", "cap_write_back", "ers_status", "ers_report", "reset_subordinates",
                          "clear_error_status", "recovery_said", "rebar_restore_sizes",
                          "vc_restore", "root_aer_irq", "root_error_status_clear", "bus_error_reset",
                          "flr_reset", "dpc_clear_trigger", "wait_secondary_bus", "platform_power_on",
                          "set_current_state", "pmcsr_write", "set_result", "restore_bars", "return",
                          "call_result", "set_flag", "platform_power_off", "vfio_pm_save", "dev_wait",
                          "vfio_probe_power_state", "driver_vote", "set_io_state",
                          "config_save", "set_state_saved", "user_reset", "msix_map_region",
                          "msix_setup_interrupts", "msix_mask_all", "msix_mask_vectors", "msix_forget", "intx_on",
                          "msi_setup", "msi_mask", "msi_forget", "kernel_set",
                          "command_set", "command_bracket", "bar_write", "bar_move",
                          "rebar_resize", "rebar_update_bar", "vfio_default_write", "vfio_bar_restore_check",
                          "vfio_command_track", "vfio_intx_emulate", "vfio_power_state", "vfio_flr_trap",
                          "vfio_readrq", "vfio_msi_flags", "set_driver", "vfio_registered", "runtime_auto",
                          "msix_vector", "msi_clear_message", "vfio_pm_engage", "vfio_intx",
                          "read_local", "test_local", "call_arg", "iov_bar_write", "reset_probe")
ENGINE_CONDITION_NAMES = ("config_all_ones", "result_ok", "intx_pin", "no_driver", "state_saved", "low_power",
                          "command_all_ones", "runtime_suspended", "d0", "skip_bus_pm_no_platform",
                          "direct_complete", "power_lost", "resume_via_firmware", "pmcsr_shallower", "vfio_idle",
                          "vfio_reset_works", "vfio_needs_reset", "vfio_load_failed_no_reset",
                          "vfio_irqs_out_of_range", "pcie_buffer", "l1ss_link", "l1ss_l12_saved",
                          "msix_enabled", "msix_messages_written", "msi_enabled", "header_normal", "header_bridge",
                          "vfio_bar_unassigned", "vfio_mem_bar",
                          "d3_or_unknown", "vfio_vconfig_memory_off", "no_command_memory", "virtfn",
                          "source_live", "root_error_regs", "sriov_vf_enabled", "pcie", "pcix", "pcix_buffer", "aer_native",
                          "ers_can_recover", "ers_need_reset", "ers_recovered", "channel_frozen", "aer_os_owned",
                          "rebar_ctrl_error", "vfio_saved_state", "rc_end", "root_aer_native",
                          "runtime_idle", "pm_cap", "disconnected", "pmcsr_all_ones", "pmcsr_d0",
                          "pmcsr_soft_reset", "result_error", "target_d0", "at_target", "d3hot", "d3cold",
                          "platform_power", "num_vfs", "vfio_needs_pm_restore", "flag_a", "flag_b",
                          "pmcsr_no_soft_reset", "qemu_has_flr", "qemu_has_pm_reset",
                          "downstream_port", "l1ss_pair", "l1ss_buffer", "port_l1ss_buffer",
                          "ext_cap_found", "ats_cap", "ats_enabled", "vf_stu_mismatch", "pasid_cap",
                          "pasid_enabled", "eetlp_prefix", "acs_path_rr_uf", "pasid_features_unsupported",
                          "pri_cap", "pri_enabled", "pri_stopped", "portdrv", "need_resume", "power_manageable",
                          "tph_cap", "tph_enabled", "tph_mode_unsupported", "tph_req_disabled",
                          "probe", "devcap_flr", "parent_bus_resettable", "sriov_cap", "sriov_initial_bad",
                          "sriov_nr_invalid", "iov_bars_assigned", "aspm_link", "aspm_unchanged",
                          "aspm_l1ss_capable", "clkpm_enable", "ptm_root", "upstream_ptm", "ptm_type_ok",
                          "ptm_shared", "ptm_enabled", "ptm_count_zero", "port_ptm_root", "port_ptm_type_ok",
                          "port_ptm_shared", "port_ptm_count_zero", "aspm_supersave",
                          "resource_unset", "resource_mem64", "rebar_cap", "memory_decode_on",
                          "target_d3", "low_deeper", "low_at_target", "low_unsupported", "piece_command",
                          "piece_command_word", "piece_pm_ctrl", "piece_msi_flags", "vconfig_flr",
                          "readrq_changed", "bind_none", "bind_host", "bind_vfio", "driver_vfio",
                          "msix_vector_unmasked", "msi_vector_unmasked", "ptm_cap", "ptm_port_type", "walked",
                          "channel_offline", "vote_need_reset", "vfio_pm_engaged", "vfio_pm_wakeup",
                          "vfio_pm_intx_masked", "disable_idle_d3", "iov_decode_on", "iov_resource_unset",
                          "iov_resource_mem64", "numvfs_same", "reporter_aer_native", "legacy_pm", "vfs_on_bus")
# paths.VOTES order -> pci_ers_result_t (index 0, "arg", reads VOTE_VALUES[op's vote])
cdef int VOTE_RESULT[7]
VOTE_RESULT[:] = [0, ERS_NONE, ERS_CAN_RECOVER, ERS_NEED_RESET, ERS_DISCONNECT, ERS_RECOVERED, ERS_NO_AER_DRIVER]


cdef bint path_condition(Machine *m, int when, int result, int arg, int flags) noexcept nogil:
    """A step's `when`: every "and" term (10 bits each, low term first: condition id + 1, bit 9
    the negation) holds, evaluated in order, stopping at the first that fails (paths.encode_when)."""
    cdef int k, term
    for k in range(3):
        term = (when >> (10 * k)) & 0x3FF
        if term == 0:
            break
        if term & 0x200:
            term = -(term & 0x1FF)
        if not path_term(m, term, result, arg, flags):
            return False
    return True


cdef bint path_term(Machine *m, int when, int result, int arg, int flags) noexcept nogil:
    """A step's `when`; reads go through the modelled access path; `arg` is the path's (SET_IRQS:
    index | count << 8; BAR access: bar | access << 8; a power transition: the target state),
    `flags` its set_flag bits (a = 1, b = 2)."""
    cdef int c = when if when > 0 else -when
    cdef bint v
    cdef uint32_t want
    cdef int initial
    if c == 0:
        return True
    if c == COND_CONFIG_ALL_ONES:
        v = io_read_checked(m, PCI_COMMAND, 4) == 0xFFFFFFFFU   # pci_dev_config_accessible (e18d1abc3bff)
    elif c == COND_INTX_PIN:
        v = hw_read(m, PCI_INTERRUPT_PIN, 1) != 0       # QEMU's vdev->intx.pin (its own copy)
    elif c == COND_NO_DRIVER:
        v = m.st.dev.driver == DRV_NONE
    elif c == COND_STATE_SAVED:
        v = m.st.dev.state_saved != 0
    elif c == COND_COMMAND_ALL_ONES:
        v = io_read_checked(m, PCI_COMMAND, 2) == 0xFFFF        # ad05c16b290b
    elif c == COND_LOW_POWER:
        v = m.st.dev.current_state != D0 and m.st.dev.current_state != PCI_UNKNOWN
    elif c == COND_RUNTIME_SUSPENDED:
        v = m.st.dev.rpm_suspended != 0
    elif c == COND_D0:
        v = m.st.dev.current_state == D0
    elif c == COND_SKIP_BUS_PM_NO_PLATFORM:
        v = m.skip_bus_pm != 0 and m.sleep_transition == SLEEP_S2IDLE   # pm_suspend_no_platform()
    elif c == COND_DIRECT_COMPLETE:
        v = m.direct_complete != 0
    elif c == COND_POWER_LOST:
        v = m.sleep_power_lost != 0
    elif c == COND_RESUME_VIA_FIRMWARE:
        # pm_set_resume_via_firmware(): acpi_suspend_enter (S3), acpi_hibernation_leave
        v = m.sleep_transition == SLEEP_DEEP or m.sleep_transition == SLEEP_HIBERNATE_RESTORE
    elif c == COND_PMCSR_SHALLOWER:
        v = pmcsr_state(m, m.st.dev.current_state) < m.st.dev.current_state
    elif c == COND_VFIO_IDLE:
        v = (m.st.dev.driver == DRV_VFIO and not m.st.dev.rpm_suspended and m.st.dev.sriov_num_vfs == 0
             and ((m.st.vfio.pm_engaged != 0) if m.st.vfio.open else not m.pol.disable_idle_d3))
    elif c == COND_VFIO_RESET_WORKS:
        v = m.st.vfio.reset_works != 0
    elif c == COND_VFIO_NEEDS_RESET:
        v = m.st.vfio.needs_reset != 0
    elif c == COND_PCIE_BUFFER:
        v = m.d.fn.caps.exp != 0 and m.d.buf_exp >= 0
    elif c == COND_L1SS_LINK:
        v = l1ss_link(m)
    elif c == COND_L1SS_L12_SAVED:
        v = l1ss_l12_saved(m)
    elif c == COND_MSIX_ENABLED:
        v = m.st.dev.msix_enabled != 0 and m.d.fn.caps.msix != 0
    elif c == COND_MSIX_MESSAGES_WRITTEN:
        v = message_writes_allowed(m)
    elif c == COND_VFIO_IRQS_OUT_OF_RANGE:
        v = vfio_irqs_out_of_range(m, arg & 0xFF, arg >> 8)
    elif c == COND_HEADER_NORMAL:
        v = m.d.header_type == 0
    elif c == COND_HEADER_BRIDGE:
        v = m.d.header_type == 1
    elif c == COND_MSI_ENABLED:
        v = m.st.dev.msi_enabled != 0 and m.d.fn.caps.msi != 0
    elif c == COND_VFIO_BAR_UNASSIGNED:
        v = resource_kind(m, arg & 0xFF) == BAR_NONE
    elif c == COND_VFIO_MEM_BAR:
        v = is_mem_kind(resource_kind(m, arg & 0xFF))
    elif c == COND_D3_OR_UNKNOWN:
        v = m.st.dev.current_state >= D3HOT             # PCI_UNKNOWN sorts after D3cold
    elif c == COND_VFIO_VCONFIG_MEMORY_OFF:
        v = not m.st.vfio.vconfig_command & PCI_COMMAND_MEMORY
    elif c == COND_NO_COMMAND_MEMORY:
        v = m.d.virtfn != 0                             # pci_iov_add_virtfn sets it for every VF
    elif c == COND_VIRTFN:
        v = m.d.virtfn != 0
    elif c == COND_SOURCE_LIVE:
        v = arg == SRC_LIVE                             # the restore step's source, the path's argument
    elif c == COND_ROOT_ERROR_REGS:
        v = m.d.n_aer_regs == 5                         # has_root_error_regs (pcie_cap_has_rtctl)
    elif c == COND_SRIOV_VF_ENABLED:
        v = m.d.fn.caps.sriov != 0 and (io_read(m, m.d.fn.caps.sriov + 0x08, 2) & 0x1) != 0
    elif c == COND_PCIE:
        v = m.d.fn.caps.exp != 0
    elif c == COND_AER_NATIVE:
        v = m.d.fn.caps.aer != 0 and m.pol.aer_native != 0
    elif c == COND_PCIX:
        v = m.d.fn.caps.pcix != 0
    elif c == COND_PCIX_BUFFER:
        v = m.d.buf_pcix >= 0
    elif c == COND_ERS_CAN_RECOVER:
        v = m.ers_status == ERS_CAN_RECOVER
    elif c == COND_ERS_NEED_RESET:
        v = m.ers_status == ERS_NEED_RESET
    elif c == COND_ERS_RECOVERED:
        v = m.ers_status == ERS_RECOVERED
    elif c == COND_CHANNEL_FROZEN:
        v = m.recovery_channel == ERR_FROZEN
    elif c == COND_AER_OS_OWNED:
        v = m.pol.aer_native != 0                       # host->native_aer || pcie_ports_native
    elif c == COND_REBAR_CTRL_ERROR:
        v = m.d.fn.caps.rebar != 0 and io_read_checked(m, m.d.fn.caps.rebar + 8, 4) == 0xFFFFFFFFU
    elif c == COND_VFIO_LOAD_FAILED_NO_RESET:
        v = result != 0 and not m.st.vfio.reset_works  # vfio_pci_core_disable's goto out
    elif c == COND_VFIO_SAVED_STATE:
        v = m.st.vfio.blob.present != 0                 # vdev->pci_saved_state
    elif c == COND_PM_CAP:
        v = m.d.fn.caps.pm != 0
    elif c == COND_DISCONNECTED:
        v = m.st.dev.error_state == ERR_PERM_FAILURE
    elif c == COND_PMCSR_ALL_ONES:
        v = io_read_checked(m, m.d.fn.caps.pm + PCI_PM_CTRL, 2) == 0xFFFF   # PCI_POSSIBLE_ERROR(pmcsr)
    elif c == COND_PMCSR_D0:
        v = (io_read(m, m.d.fn.caps.pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK) == D0
    elif c == COND_PMCSR_SOFT_RESET:
        v = pmcsr_need_restore(m)
    elif c == COND_RESULT_ERROR:
        v = result < 0
    elif c == COND_RUNTIME_IDLE:
        v = m.st.dev.driver != DRV_VFIO and m.st.dev.rpm_auto != 0 and not m.st.dev.rpm_suspended
    elif c == COND_RC_END:
        v = m.d.fn.caps.exp_type == 0x9 or m.d.fn.caps.exp_type == 0xA   # RC_END, RC_EC
    elif c == COND_ROOT_AER_NATIVE:
        v = root_aer(m) != 0 and m.pol.aer_native != 0
    elif c == COND_TARGET_D0:
        v = arg == D0
    elif c == COND_TARGET_D3:
        v = arg >= D3HOT
    elif c == COND_LOW_DEEPER:
        v = m.st.dev.current_state <= D3COLD and m.st.dev.current_state > (arg if arg < D3HOT else D3HOT)
    elif c == COND_LOW_AT_TARGET:
        v = m.st.dev.current_state == (arg if arg < D3HOT else D3HOT)
    elif c == COND_LOW_UNSUPPORTED:
        v = (arg == 1 and not (m.d.d1d2 & 1)) or (arg == 2 and not (m.d.d1d2 & 2))
    elif c == COND_PIECE_COMMAND:                       # a vfio write function's piece (arg: its offset)
        v = arg == PCI_COMMAND
    elif c == COND_PIECE_COMMAND_WORD:
        v = PCI_COMMAND <= arg <= PCI_COMMAND + 1
    elif c == COND_PIECE_PM_CTRL:
        v = arg == 4                                    # PCI_PM_CTRL
    elif c == COND_PIECE_MSI_FLAGS:
        v = arg <= 2 <= arg + m.piece_n
    elif c == COND_VCONFIG_FLR:
        v = (m.st.vfio.vconfig_devctl & 0x8000) != 0
    elif c == COND_READRQ_CHANGED:
        v = (m.st.vfio.vconfig_devctl & DEVCTL_READRQ) != m.piece_old_rq
    elif c == COND_BIND_NONE:                           # the op pci_bind_driver's argument (DRV_*)
        v = arg == DRV_NONE
    elif c == COND_BIND_HOST:
        v = arg == DRV_HOST
    elif c == COND_BIND_VFIO:
        v = arg == DRV_VFIO
    elif c == COND_DRIVER_VFIO:
        v = m.st.dev.driver == DRV_VFIO
    elif c == COND_MSIX_VECTOR_UNMASKED:
        v = not m.st.dev.msix_descs[arg].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT
    elif c == COND_MSI_VECTOR_UNMASKED:
        v = not m.st.dev.msi_mask & 1
    elif c == COND_WALKED:
        v = not m.d.virtual_bus
    elif c == COND_CHANNEL_OFFLINE:
        v = m.st.dev.error_state != ERR_NORMAL
    elif c == COND_VFIO_PM_ENGAGED:
        v = m.st.vfio.pm_engaged != 0
    elif c == COND_VFIO_PM_WAKEUP:
        v = m.st.vfio.pm_wakeup != 0
    elif c == COND_DISABLE_IDLE_D3:
        v = m.pol.disable_idle_d3 != 0
    elif c == COND_IOV_DECODE_ON:                   # PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE
        v = m.d.fn.caps.sriov != 0 and (io_read(m, m.d.fn.caps.sriov + 0x08, 2) & 0x9) == 0x9
    elif c == COND_IOV_RESOURCE_UNSET:
        v = not (0 <= arg < 6) or m.d.iov_kind[arg] == IOV_UNSET
    elif c == COND_VFS_ON_BUS:
        v = m.st.dev.sriov_num_vfs != 0 and m.d.vfs_share_bus != 0
    elif c == COND_LEGACY_PM:                       # pci_has_legacy_pm_support: drv->suspend || drv->resume
        v = m.st.dev.driver == DRV_HOST and m.pol.legacy_pm != 0
    elif c == COND_REPORTER_AER_NATIVE:             # pcie_aer_is_native(dev): dev->aer_cap && OS-owned AER
        v = m.pol.aer_native != 0 and (m.d.port.caps.aer if m.recovery_dpc else m.d.fn.caps.aer) != 0
    elif c == COND_NUMVFS_SAME:
        v = arg == m.st.dev.sriov_num_vfs
    elif c == COND_IOV_RESOURCE_MEM64:
        v = 0 <= arg < 6 and m.d.iov_kind[arg] == IOV_MEM64
    elif c == COND_VFIO_PM_INTX_MASKED:
        v = m.st.vfio.pm_intx_masked != 0
    elif c == COND_VOTE_NEED_RESET:
        v = 0 <= arg < 4 and VOTE_VALUES[arg] == ERS_NEED_RESET
    elif c == COND_PTM_CAP:
        v = m.d.fn.caps.ptm != 0
    elif c == COND_PTM_PORT_TYPE:
        v = m.d.fn.caps.exp != 0 and (m.d.fn.caps.exp_type == 4 or m.d.fn.caps.exp_type == 5)
    elif c == COND_AT_TARGET:
        v = m.st.dev.current_state == arg
    elif c == COND_D3HOT:
        v = m.st.dev.current_state == D3HOT
    elif c == COND_D3COLD:
        v = m.st.dev.current_state == D3COLD
    elif c == COND_PLATFORM_POWER:
        v = arg == D3COLD and m.d.platform_d3cold != 0 and not m.d.virtfn   # a VF has no ACPI companion
    elif c == COND_NUM_VFS:
        v = m.st.dev.sriov_num_vfs != 0
    elif c == COND_VFIO_NEEDS_PM_RESTORE:
        v = m.st.vfio.needs_pm_restore != 0
    elif c == COND_FLAG_A:
        v = (flags & 1) != 0
    elif c == COND_FLAG_B:
        v = (flags & 2) != 0
    elif c == COND_EXT_CAP_FOUND:
        v = io_read_checked(m, 0x100, 4) != 0xFFFFFFFFU    # the walk's first header
    elif c == COND_DOWNSTREAM_PORT:
        v = m.d.fn.caps.exp != 0 and (m.d.fn.caps.exp_type == 0x4 or m.d.fn.caps.exp_type == 0x6
                                      or m.d.fn.caps.exp_type == 0x8)
    elif c == COND_L1SS_PAIR:
        v = m.d.fn.caps.l1ss != 0 and m.d.has_port and m.d.port.caps.l1ss != 0
    elif c == COND_L1SS_BUFFER:
        v = m.d.buf_l1ss >= 0
    elif c == COND_PORT_L1SS_BUFFER:
        v = m.d.has_port and m.d.port_buf_l1ss != 0
    elif c == COND_QEMU_HAS_FLR:
        v = method_available(m, METHOD_FLR)
    elif c == COND_QEMU_HAS_PM_RESET:
        v = method_available(m, METHOD_PM)
    elif c == COND_PMCSR_NO_SOFT_RESET:
        v = (io_read(m, m.d.fn.caps.pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET) != 0
    elif c == COND_ATS_CAP:
        v = m.d.fn.caps.ats != 0
    elif c == COND_ATS_ENABLED:
        v = m.st.dev.ats_enabled != 0
    elif c == COND_VF_STU_MISMATCH:
        v = m.d.virtfn != 0 and 12 + arg != VF_PF_ATS_STU
    elif c == COND_PASID_CAP:
        v = m.d.fn.caps.pasid != 0
    elif c == COND_PASID_ENABLED:
        v = m.st.dev.pasid_enabled != 0
    elif c == COND_EETLP_PREFIX:
        v = m.d.eetlp_prefix != 0
    elif c == COND_ACS_PATH_RR_UF:
        v = acs_path_rr_uf(m)
    elif c == COND_PASID_FEATURES_UNSUPPORTED:
        want = (<uint32_t>arg << 1) & 0x6              # PCI_PASID_CAP_EXEC | PCI_PASID_CAP_PRIV
        v = (io_read(m, m.d.fn.caps.pasid + 0x04, 2) & 0x6 & want) != want
    elif c == COND_PRI_CAP:
        v = m.d.fn.caps.pri != 0
    elif c == COND_PRI_ENABLED:
        v = m.st.dev.pri_enabled != 0
    elif c == COND_PORTDRV:
        v = m.st.dev.driver == DRV_HOST and m.d.header_type == 1
    elif c == COND_NEED_RESUME:
        v = pci_dev_need_resume(m)
    elif c == COND_POWER_MANAGEABLE:
        v = m.d.header_type != 1 or m.d.bridge_d3 != 0
    elif c == COND_TPH_CAP:
        v = m.d.fn.caps.tph != 0
    elif c == COND_TPH_ENABLED:
        v = m.st.dev.tph_enabled != 0
    elif c == COND_TPH_MODE_UNSUPPORTED:
        v = not ((1u << (arg & 0x7)) & io_read(m, m.d.fn.caps.tph + 0x04, 4) & 0x7)   # PCI_TPH_CAP_ST_NS | _IV | _DS
    elif c == COND_TPH_REQ_DISABLED:
        v = m.st.dev.tph_req_type == 0
    elif c == COND_PROBE:
        v = arg == PATH_ARG_PROBE
    elif c == COND_DEVCAP_FLR:
        v = m.d.flr != 0 and m.d.fn.caps.exp != 0
    elif c == COND_PARENT_BUS_RESETTABLE:
        v = (m.d.has_port and m.d.header_type != 1 and not m.d.multifunction and not m.d.virtfn   # a VF's PF shares its bus
             and not (m.st.dev.sriov_num_vfs != 0 and m.d.vfs_share_bus != 0))   # and a PF's enabled VFs on its bus

    elif c == COND_PRI_STOPPED:
        v = (io_read(m, m.d.fn.caps.pri + 0x06, 2) & 0x100) != 0   # PCI_PRI_STATUS_STOPPED
    elif c == COND_SRIOV_CAP:
        v = m.d.fn.caps.sriov != 0
    elif c == COND_SRIOV_INITIAL_BAD or c == COND_SRIOV_NR_INVALID:
        initial = <int>io_read(m, m.d.fn.caps.sriov + 0x0C, 2)   # PCI_SRIOV_INITIAL_VF, read now
        if c == COND_SRIOV_INITIAL_BAD:
            v = initial > m.d.sriov_total_vfs or (not m.d.sriov_vfm and initial != m.d.sriov_total_vfs)
        else:
            v = arg > m.d.sriov_total_vfs or (not m.d.sriov_vfm and arg > initial)
    elif c == COND_IOV_BARS_ASSIGNED:
        v = m.d.iov_bars_assigned != 0
    elif c == COND_ASPM_LINK:
        v = m.d.aspm_link != 0
    elif c == COND_ASPM_UNCHANGED:
        v = m.st.port.aspm_enabled == m.aspm_target
    elif c == COND_ASPM_L1SS_CAPABLE:
        v = m.d.aspm_link != 0 and (m.d.aspm_capable & LINK_L1SS) != 0
    elif c == COND_CLKPM_ENABLE:
        v = m.d.aspm_link != 0 and m.d.clkpm_capable != 0 and not m.st.port.clkpm_enabled
    elif c == COND_PTM_ROOT:
        v = m.d.ptm_root != 0
    elif c == COND_UPSTREAM_PTM:
        v = m.d.upstream_ptm != 0
    elif c == COND_PTM_TYPE_OK:
        v = m.d.ptm_type_ok != 0
    elif c == COND_PTM_SHARED:
        v = m.st.dev.ptm_enable_cnt > 1
    elif c == COND_PTM_ENABLED:
        v = m.st.dev.ptm_enable_cnt != 0
    elif c == COND_PTM_COUNT_ZERO:
        v = m.st.dev.ptm_enable_cnt == 0
    elif c == COND_PORT_PTM_ROOT:
        v = m.d.port_ptm_root != 0
    elif c == COND_PORT_PTM_TYPE_OK:
        v = m.d.port_ptm_type_ok != 0
    elif c == COND_PORT_PTM_SHARED:
        v = m.st.port.ptm_enable_cnt > 1
    elif c == COND_PORT_PTM_COUNT_ZERO:
        v = m.st.port.ptm_enable_cnt == 0
    elif c == COND_ASPM_SUPERSAVE:
        v = m.d.has_port and m.st.port.aspm_supersave != 0
    elif c == COND_RESOURCE_UNSET:
        v = resource_unset(m, arg & 0xFF)
    elif c == COND_REBAR_CAP:
        v = m.d.fn.caps.rebar != 0
    elif c == COND_MEMORY_DECODE_ON:
        v = (io_read(m, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) != 0
    elif c == COND_RESOURCE_MEM64:
        v = (arg & 0xFF) < 6 and m.d.bar_pos[arg & 0xFF] >= 0 and m.d.bars[m.d.bar_pos[arg & 0xFF]].kind == BAR_MEM64
    else:
        v = result == 0                                 # COND_RESULT_OK
    return v if when > 0 else not v


cdef int run_path(Machine *m, int path, int arg) noexcept nogil:
    """Run path `path` (a kernel sequence or a host driver callback); its result."""
    cdef int prev = m.step
    cdef int result = 0
    cdef bint loaded = False    # a vfio_load_saved_state ran: a later restore restores that state on purpose
    cdef int flags = 0          # set_flag's bits: a = 1, b = 2
    cdef int brackets = m.n_brackets   # command_bracket's reads are this call's locals
    cdef uint32_t outer_a = m.path_locals[0], outer_b = m.path_locals[1]   # read_local's: this call's own
    cdef int i, a, p, end
    m.path_locals[0] = 0
    m.path_locals[1] = 0
    if m.pol.path_label[path] >= 0:
        m.step = m.pol.path_label[path]
    i = m.pol.path_start[path]
    end = i + m.pol.path_len[path]
    m.work += end - i
    while i < end:
        a = m.pol.ps_arg[i]
        if m.pol.ps_when[i] and not path_condition(m, m.pol.ps_when[i], result, arg, flags):
            i += 1
            continue
        p = m.pol.ps_prim[i]
        if p == PRIM_STOP:
            break
        elif p == PRIM_CALL:
            run_path(m, a, arg)
        elif p == PRIM_SET_POWER:                       # paths order: d0, d3hot, d3cold, arg
            result = pci_set_power_state(m, D0 if a == 0 else (D3HOT if a == 1 else (D3COLD if a == 2 else arg)))
        elif p == PRIM_SAVE_STATE:
            pci_save_state(m)
        elif p == PRIM_RESTORE_STATE:
            pci_restore_state(m, loaded)
        elif p == PRIM_WRITE_COMMAND:
            io_write(m, PCI_COMMAND, 2, <uint32_t>a)    # pci_write_config_word(dev, PCI_COMMAND, v)
        elif p == PRIM_RESET_METHODS:
            result = __pci_reset_function_locked(m, arg)
        elif p == PRIM_SECONDARY_BUS_RESET:
            result = secondary_bus_reset(m)
        elif p == PRIM_DRIVER:
            driver_callback(m, a, arg)
        elif p == PRIM_VOTE:
            result = VOTE_VALUES[arg] if a == 0 else VOTE_RESULT[a]
        elif p == PRIM_RESTORE_LTR:
            restore_ltr(m)
        elif p == PRIM_BRIDGE_RECONFIGURE_LTR:
            bridge_reconfigure_ltr(m)
        elif p == PRIM_RESTORE_PCIE_REGISTERS:
            restore_pcie_registers(m)
        elif p == PRIM_CHECK_L1SS_BUFFER:
            check_l1ss_buffer(m)
        elif p == PRIM_L1SS_ASPM:
            l1ss_aspm(m, a)                             # paths order: off, back
        elif p == PRIM_L1SS_CLEAR_L12:
            l1ss_clear_l12(m, a)                        # paths order: child, parent
        elif p == PRIM_L1SS_WRITE:
            l1ss_write(m, a)
        elif p == PRIM_INTX_FOR_MSI:
            pci_intx_for_msi(m, False)
        elif p == PRIM_MSIX_CTRL:                       # paths order: enable_maskall, clear_maskall,
            if a == 0:                                  # disable_maskall, disable
                msix_clear_and_set_ctrl(m, 0, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)
            elif a == 1:
                msix_clear_and_set_ctrl(m, PCI_MSIX_FLAGS_MASKALL, 0)
            elif a == 2:
                msix_clear_and_set_ctrl(m, PCI_MSIX_FLAGS_MASKALL | PCI_MSIX_FLAGS_ENABLE, 0)
            else:
                msix_clear_and_set_ctrl(m, PCI_MSIX_FLAGS_ENABLE, 0)
        elif p == PRIM_MSIX_MEMORY:
            msix_memory(m, a)                           # paths order: on, back
        elif p == PRIM_MSIX_RESTORE_ENTRIES:
            msix_restore_entries(m)
        elif p == PRIM_VFIO_IRQS_DISABLE:
            vfio_irqs_disable(m, a == 0)                # paths order: bracket, none
        elif p == PRIM_VFIO_IRQS_ENABLE:
            result = vfio_irqs_enable(m, arg & 0xFF, arg >> 8, a == 0)
        elif p == PRIM_CONFIG_DWORDS:
            config_dwords(m, a)
        elif p == PRIM_MSI_CTRL:
            msi_ctrl(m, a)                              # paths order: disable, enable, set_enable
        elif p == PRIM_MSI_WRITE_MESSAGE:
            msi_write_message(m)
        elif p == PRIM_MSI_UPDATE_MASK:
            msi_restore_mask(m)
        elif p == PRIM_VFIO_VCONFIG_SET:
            m.st.vfio.vconfig_command |= a             # the Command bits, encoded
        elif p == PRIM_CAP_RESTORE:
            cap_restore(m, a)
        elif p == PRIM_CAP_WRITE:
            cap_write(m, a, arg)
        elif p == PRIM_TPH_RESTORE_ST:
            tph_restore_st(m)
        elif p == PRIM_CAP_WRITE_BACK:
            cap_write_back(m, a)
        elif p == PRIM_CAP_SAVE:
            cap_save(m, a)
        elif p == PRIM_TPH_SAVE_ST:
            tph_save_st(m)
        elif p == PRIM_SAVE_L1SS:
            save_l1ss(m)
        elif p == PRIM_VC_SAVE:
            if not vc_save(m):
                result = ENOMEM_
        elif p == PRIM_VFIO_BAR_ACCESS:
            vfio_bar_access(m, arg & 0xFF)
        elif p == PRIM_USER_SET_IRQS:
            vfio_ioctl(m, VIOCTL_SET_IRQS, a, 0)        # paths order: none, intx = IRQ_NONE, IRQ_INTX
        elif p == PRIM_USER_CLEAR_COMMAND:
            vfio_config_write(m, PCI_COMMAND, 2, guest_view_command(m) & ~(<uint32_t>a))
        elif p == PRIM_USER_PM_D0:
            to_d0(m)
        elif p == PRIM_USER_ZERO_BARS:
            zero_bars(m)
        elif p == PRIM_QEMU_PICK_RESET:
            qemu_pick_reset(m)
        elif p == PRIM_SET_RUNTIME_STATUS:
            m.st.dev.rpm_suspended = 1 if a == 0 else 0     # paths order: suspended, active
        elif p == PRIM_SUSPEND_PTM:
            pci_suspend_ptm(m)
        elif p == PRIM_RESUME_PTM:
            pci_resume_ptm(m)
        elif p == PRIM_CLEAR_STATE_SAVED:
            m.st.dev.state_saved = 0
        elif p == PRIM_POWER_UP:
            result = pci_power_up(m)
        elif p == PRIM_FAIL:
            result = ENOTTY_ if a == 0 else (EIO_ if a == 1 else (EINVAL_ if a == 2 else (ENOMEM_ if a == 3 else
                     (EBUSY_ if a == 4 else (ENOSYS_ if a == 5 else -2)))))   # enotty, eio, einval, enomem, ebusy, enosys, enoent
            break
        elif p == PRIM_INITIATE_FLR:
            result = initiate_flr(m)
        elif p == PRIM_SET_UNKNOWN_STATE:
            if m.st.dev.current_state == D0:            # pci_pm_set_unknown_state
                m.st.dev.current_state = PCI_UNKNOWN
        elif p == PRIM_SKIP_BUS_PM:
            m.skip_bus_pm = a                           # paths order: false, true
        elif p == PRIM_UPDATE_CURRENT_STATE:
            m.st.dev.current_state = pmcsr_state(m, PCI_UNKNOWN)   # pci_update_current_state(dev, PCI_UNKNOWN)
        elif p == PRIM_DIRECT_COMPLETE:
            m.direct_complete = m.st.dev.rpm_suspended != 0 and not pci_dev_need_resume(m)
        elif p == PRIM_POWER_OFF:
            power_removed(m)
        elif p == PRIM_CLEAR_MASTER:
            pci_clear_master(m)
        elif p == PRIM_ENABLE_DEVICE:
            if a == 0:                                  # paths order: enable, disable
                pci_enable_device(m)
            else:
                pci_disable_device(m)
        elif p == PRIM_SET_MASTER:
            pci_set_master(m)
        elif p == PRIM_DISABLE_FEATURE:
            if a == 0 and m.st.dev.msix_enabled:        # paths order: msix, msi, tph
                pci_disable_msix(m)
            elif a == 1 and m.st.dev.msi_enabled:
                pci_disable_msi(m)
            elif a == 2:
                run_path(m, PATH_DISABLE_TPH, 0)        # returns at once unless tph_enabled
        elif p == PRIM_RESET_FUNCTION:
            result = pci_reset_function(m, arg)         # the op's method
        elif p == PRIM_TRY_RESET:
            result = pci_reset_function(m, METHOD_AUTO) if a == 0 else pci_reset_bus(m)   # function, bus
        elif p == PRIM_VFIO_SET_POWER:
            vfio_pci_set_power_state(m, D0 if a == 0 else D3HOT)
        elif p == PRIM_VFIO_RESET_WORKS:
            m.st.vfio.reset_works = 1 if result == 0 else 0   # vdev->reset_works = !ret
        elif p == PRIM_VFIO_STORE_SAVED_STATE:
            pci_store_saved_state(m, &m.st.vfio.blob)
        elif p == PRIM_VFIO_LOAD_SAVED_STATE:
            result = pci_load_saved_state(m, &m.st.vfio.blob)
            if a == 0:                                  # free = "true": pci_load_and_free_saved_state
                clear_blob(m, &m.st.vfio.blob)          # freed either way
                loaded = True                           # close returns the device to its open-time state
        elif p == PRIM_VFIO_CONFIG_INIT:
            vfio_config_init(m)
        elif p == PRIM_VFIO_NEEDS_RESET:
            m.st.vfio.needs_reset = a                   # paths order: false, true
        elif p == PRIM_ERS_STATUS:
            m.ers_status = VOTE_RESULT[a + 1]           # paths.VOTES without "arg"
        elif p == PRIM_ERS_REPORT:
            ers_report(m, a, arg)
        elif p == PRIM_RESET_SUBORDINATES:             # the reset the caller passed: dpc_handler's or aer_isr's
            result = 0 if run_path(m, PATH_DPC_RESET_LINK if m.recovery_dpc else PATH_AER_ROOT_RESET, arg) == 0 \
                else ERS_DISCONNECT
        elif p == PRIM_ROOT_AER_IRQ:
            root_aer_irq(m, a == 1)                     # paths order: disable, enable
        elif p == PRIM_ROOT_ERROR_STATUS_CLEAR:
            root_error_status_clear(m)
        elif p == PRIM_BUS_ERROR_RESET:
            result = bus_error_reset(m)
        elif p == PRIM_FLR_RESET:
            result = pcie_flr(m)
        elif p == PRIM_DPC_CLEAR_TRIGGER:
            dpc_clear_trigger(m)
        elif p == PRIM_WAIT_SECONDARY_BUS:
            result = pci_bridge_wait_for_secondary_bus(m)
        elif p == PRIM_PLATFORM_POWER_ON:
            platform_power_on(m)
        elif p == PRIM_SET_CURRENT_STATE:              # paths order: d0, d3cold, pmcsr
            if a == 2:                                  # pci_set_low_power_state's read-back, unchecked
                m.st.dev.current_state = <int>(io_read(m, m.d.fn.caps.pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK)
            else:
                m.st.dev.current_state = D0 if a == 0 else D3COLD
        elif p == PRIM_PMCSR_WRITE:
            if a == 0:                                  # zero: the entire word
                pmcsr_write(m, 0)
            else:                                       # d3hot, d0, target: read-modify-write of PowerState
                pmcsr_write(m, (io_read(m, m.d.fn.caps.pm + PCI_PM_CTRL, 2)
                                & ~(<uint32_t>PCI_PM_CTRL_STATE_MASK))
                            | <uint32_t>(D3HOT if a == 1 else D0 if a == 2 else (arg if arg < D3HOT else D3HOT)))
        elif p == PRIM_SET_RESULT:
            result = a                                  # paths order: "0", "1"
        elif p == PRIM_RETURN:
            result = a                                  # paths order: "0", "1"
            break
        elif p == PRIM_RESTORE_BARS:
            pci_restore_bars(m)
        elif p == PRIM_CLEAR_ERROR_STATUS:
            clear_error_status(m, m.recovery_dpc)
        elif p == PRIM_VC_RESTORE:
            vc_restore(m, a & 0xFF, a >> 8)             # cap: mfvc, vc, vc9; part: port_ctrl, resources
        elif p == PRIM_REBAR_RESTORE_SIZES:
            rebar_restore_sizes(m)
        elif p == PRIM_RECOVERY_SAID:
            m.recovery_said = a + 1                     # paths order: successful, failed
        elif p == PRIM_CALL_RESULT:
            result = run_path(m, a, arg)
        elif p == PRIM_SET_FLAG:
            flags |= 1 if a == 0 else 2                 # paths order: a, b
        elif p == PRIM_PLATFORM_POWER_OFF:
            platform_power_off(m)
        elif p == PRIM_MSIX_MAP_REGION:
            result = msix_map_region(m)
        elif p == PRIM_MSIX_SETUP_INTERRUPTS:
            msix_setup_interrupts(m, arg)
        elif p == PRIM_MSIX_MASK_ALL:
            msix_mask_all(m)
        elif p == PRIM_MSIX_MASK_VECTORS:
            msix_mask_vectors(m)
        elif p == PRIM_MSIX_FORGET:
            msix_forget(m)
        elif p == PRIM_MSI_SETUP:
            msi_setup(m)
        elif p == PRIM_MSI_MASK:
            msi_update_mask(m, 1 if a == 0 else 0)      # paths order: mask, unmask
        elif p == PRIM_MSI_FORGET:
            m.st.dev.msi_enabled = 0
        elif p == PRIM_INTX_ON:
            pci_intx_for_msi(m, True)
        elif p == PRIM_KERNEL_SET:
            kernel_set(m, a, arg)
        elif p == PRIM_COMMAND_SET:
            command_set(m, <uint32_t>a)
        elif p == PRIM_COMMAND_BRACKET:
            command_bracket(m, a)
        elif p == PRIM_BAR_WRITE:
            bar_write(m, arg & 0xFF, a)
        elif p == PRIM_REBAR_RESIZE:
            result = rebar_resize(m, arg)
        elif p == PRIM_REBAR_UPDATE_BAR:
            pci_update_bar(m, m.d.rebar_first_bar)
        elif p == PRIM_BAR_MOVE:
            m.st.dev.resources[arg & 0xFF] = bar_slot_address(m, arg & 0xFF, (arg >> 8) & 0xFF)
        elif p == PRIM_VFIO_DEFAULT_WRITE:
            default_write(m, m.piece_pos, m.piece_n, m.piece_val)
        elif p == PRIM_VFIO_BAR_RESTORE_CHECK:
            piece_bar_restore_check(m)
        elif p == PRIM_VFIO_COMMAND_TRACK:
            m.st.vfio.vconfig_command = ((m.st.vfio.vconfig_command & ~(<int64_t>(PCI_COMMAND_MEMORY | PCI_COMMAND_IO)))
                                         | (m.piece_val & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO)))
        elif p == PRIM_VFIO_INTX_EMULATE:
            emulate_intx_disable(m)
        elif p == PRIM_VFIO_POWER_STATE:
            pm_state_write(m, m.piece_val)
        elif p == PRIM_VFIO_FLR_TRAP:
            vfio_flr_trap(m)
        elif p == PRIM_VFIO_READRQ:
            vfio_readrq(m)
        elif p == PRIM_VFIO_MSI_FLAGS:
            msi_flags_write(m)
        elif p == PRIM_SET_DRIVER:                      # paths order: none, arg
            m.st.dev.driver = DRV_NONE if a == 0 else arg
        elif p == PRIM_VFIO_REGISTERED:                 # paths order: true, false
            m.st.vfio.registered = a == 0
            if a == 0:
                m.st.vfio.msi_qmax = 0                  # a new vfio_pci_core_device
        elif p == PRIM_RUNTIME_AUTO:                    # paths order: allow, forbid
            m.st.dev.rpm_auto = a == 0
        elif p == PRIM_MSIX_VECTOR:
            msix_vector(m, arg, a)
        elif p == PRIM_READ_LOCAL:
            read_local(m, a)
        elif p == PRIM_TEST_LOCAL:                      # local | mask << 1 | flag << 17
            if m.path_locals[a & 1] & ((<uint32_t>a >> 1) & 0xFFFF):
                flags |= 1 if not (a >> 17) & 1 else 2
        elif p == PRIM_CALL_ARG:                        # path | arg << 8
            run_path(m, a & 0xFF, a >> 8)
        elif p == PRIM_IOV_BAR_WRITE:                   # paths order: low, high
            iov_bar_write(m, arg, a)
        elif p == PRIM_RESET_PROBE:                     # the argument: the op's method
            result = reset_method_probe(m, arg)
        elif p == PRIM_VFIO_INTX:
            vfio_intx(m, a)
        elif p == PRIM_VFIO_PM_ENGAGE:                # paths order: entry, exit
            if a == 0:
                m.st.vfio.pm_engaged = 1
                m.st.vfio.pm_wakeup = 1 if arg == 1 else 0
            elif m.st.vfio.pm_engaged:
                m.st.vfio.pm_engaged = 0
                m.st.vfio.pm_wakeup = 0
        elif p == PRIM_MSI_CLEAR_MESSAGE:
            m.st.dev.msi_msg[0] = 0
            m.st.dev.msi_msg[1] = 0
            m.st.dev.msi_msg[2] = 0
        elif p == PRIM_USER_RESET:                     # paths order: device_reset, hot_reset
            result = vfio_ioctl(m, VIOCTL_DEVICE_RESET if a == 0 else VIOCTL_HOT_RESET, 0, 0)
        elif p == PRIM_CONFIG_SAVE:
            config_save(m, a)
        elif p == PRIM_SET_STATE_SAVED:
            m.st.dev.state_saved = 1
        elif p == PRIM_DRIVER_VOTE:
            result = driver_callback(m, a, arg) or ERS_NONE
        elif p == PRIM_SET_IO_STATE:                    # pci_dev_set_io_state: perm_failure stays
            if m.st.dev.error_state != ERR_PERM_FAILURE:
                m.st.dev.error_state = m.recovery_channel if a == 0 else ERR_NORMAL   # paths order: channel, normal
        elif p == PRIM_VFIO_PROBE_POWER_STATE:
            vfio_probe_power_state(m)
        elif p == PRIM_DEV_WAIT:
            result = pci_dev_wait(m)
        elif p == PRIM_VFIO_PM_SAVE:
            if a == 0:                                  # store: kfree + pci_store_saved_state
                pci_store_saved_state(m, &m.st.vfio.pm_save)
            else:                                       # load: pci_load_and_free_saved_state
                pci_load_saved_state(m, &m.st.vfio.pm_save)
                clear_blob(m, &m.st.vfio.pm_save)
                loaded = True
        elif p == PRIM_VFIO_OPEN:
            if a == 0:                                  # paths order: open, closed
                m.st.vfio.open = 1
                m.st.vfio.irq = IRQ_NONE
            else:
                m.st.vfio.open = 0
                m.st.vfio.virq_disabled = 0
        i += 1
    if m.n_brackets > brackets:
        m.n_brackets = brackets         # a bracket a failed path left open dies with the call
    m.path_locals[0] = outer_a
    m.path_locals[1] = outer_b
    m.step = prev
    return result


cdef bint acs_holds(Machine *m, int check, int acs, bint port) noexcept nogil:
    """enumeration.acs_holds: one function's pci_acs_enabled, its ACS Control read now."""
    cdef uint32_t ctrl
    if check == ACS_PASSES:
        return True
    if check == ACS_FAILS:
        return False
    ctrl = port_read(m, acs + 0x06, 2) if port else io_read(m, acs + 0x06, 2)
    return (ctrl & <uint32_t>check) == <uint32_t>check


cdef bint acs_path_rr_uf(Machine *m) noexcept nogil:
    """paths.acs_path_rr_uf: the function, then the port above unless there is none."""
    if not acs_holds(m, m.d.acs_check, m.d.fn.caps.acs, False):
        return False
    if not m.d.has_port:
        return True
    return acs_holds(m, m.d.port_acs_check, m.d.port.caps.acs, True)


cdef int tph_req_type(Machine *m) noexcept nogil:
    """paths.tph_req_type: EXT_TPH or TPH_ONLY, then (not an RCiEP) no more than the root port's
    TPH Completer Supported (the model's port; without one, 0)."""
    cdef int req = 2 if io_read(m, m.d.fn.caps.tph + 0x04, 4) & 0x100 else 1   # PCI_TPH_CAP_EXT_TPH
    cdef int rp = 0
    if m.d.fn.caps.exp_type != 0x9:                     # PCI_EXP_TYPE_RC_END
        if m.d.has_port and m.d.port.caps.exp:
            rp = <int>((port_read(m, m.d.port.caps.exp + 0x24, 4) >> 12) & 0x3)   # PCI_EXP_DEVCAP2_TPH_COMP_MASK
        if rp < req:
            req = rp
    return req


cdef int aspm_target(Machine *m) noexcept nogil:
    """paths.aspm_target: pcie_config_aspm_link's state for the powersupersave policy."""
    cdef int enabled = <int>m.st.port.aspm_enabled
    cdef int cur = <int>m.st.dev.current_state
    # pcie_update_aspm_capable: the latency check prunes only while the function is in D0 (or unknown)
    cdef int capable = m.d.aspm_capable if (cur == D0 or cur == PCI_UNKNOWN) else m.d.aspm_support
    cdef int state = (LINK_ASPM_ALL if m.st.port.aspm_supersave else m.d.aspm_default) & capable
    if not state & LINK_L1:
        state &= ~LINK_L1SS
    if m.st.port.current_state != D0 or m.st.dev.current_state != D0:
        state = (state & ~LINK_PCIPM) | (enabled & LINK_PCIPM)
    return state


cdef void kernel_set(Machine *m, int field, int arg) noexcept nogil:
    """paths.kernel_set: one assignment of paths.KERNEL_FIELDS."""
    cdef KernelDev *d = &m.st.dev
    cdef uint32_t cap, want
    if field == KF_DRIVER_FAILED:         # report_perm_failure_detected: only a driver with error_detected hears it
        if d.driver == DRV_HOST and d.err_handler != 2:
            d.driver_failed = 1
    elif field == KF_DRIVER_RESUMED:
        d.driver_failed = 0
    elif field == KF_ATS_STU:
        d.ats_stu = 12 + arg
    elif field == KF_ATS_ENABLED or field == KF_ATS_DISABLED:
        d.ats_enabled = 1 if field == KF_ATS_ENABLED else 0
    elif field == KF_PASID_FEATURES:
        d.pasid_features = (arg << 1) & 0x6
    elif field == KF_PASID_ENABLED or field == KF_PASID_DISABLED:
        d.pasid_enabled = 1 if field == KF_PASID_ENABLED else 0
    elif field == KF_PRI_REQS_ALLOC:
        cap = io_read(m, m.d.fn.caps.pri + 0x08, 4)   # PCI_PRI_MAX_REQ
        want = 32u << arg
        d.pri_reqs_alloc = cap if cap < want else want
    elif field == KF_PRI_ENABLED or field == KF_PRI_DISABLED:
        d.pri_enabled = 1 if field == KF_PRI_ENABLED else 0
    elif field == KF_TPH_MODE:
        d.tph_mode = arg & 0x7                          # PCI_TPH_CTRL_MODE_SEL_MASK
    elif field == KF_TPH_REQ_TYPE:
        d.tph_req_type = tph_req_type(m)
    elif field == KF_TPH_ENABLED:
        d.tph_enabled = 1
    elif field == KF_SRIOV_VF_ENABLE:
        d.sriov_ctrl |= 0x9                             # PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE
    elif field == KF_SRIOV_VF_DISABLE:
        d.sriov_ctrl &= ~(<int64_t>0x9)
    elif field == KF_SRIOV_NUM_VFS:
        d.sriov_num_vfs = arg
    elif field == KF_SRIOV_NUM_VFS_ZERO:
        d.sriov_num_vfs = 0
    elif field == KF_ASPM_TARGET:
        m.aspm_target = aspm_target(m)
    elif field == KF_ASPM_ENABLED:
        m.st.port.aspm_enabled = m.aspm_target
    elif field == KF_CLKPM_ENABLED:
        m.st.port.clkpm_enabled = 1
    elif field == KF_PTM_GET:
        d.ptm_enable_cnt += 1
    elif field == KF_PTM_PUT:
        d.ptm_enable_cnt -= 1
    elif field == KF_PORT_PTM_GET:
        m.st.port.ptm_enable_cnt += 1
    elif field == KF_PORT_PTM_PUT:
        m.st.port.ptm_enable_cnt -= 1
    elif field == KF_PTM_SUSPENDED or field == KF_PTM_RESUMED:
        d.ptm_suspended = 1 if field == KF_PTM_SUSPENDED else 0
    elif field == KF_ASPM_SUPERSAVE:
        if m.d.has_port:
            m.st.port.aspm_supersave = 1
    elif field == KF_TPH_DISABLED:
        d.tph_mode = 0
        d.tph_req_type = 0
        d.tph_enabled = 0


cdef int pmcsr_state(Machine *m, int fallback) noexcept nogil:
    """paths.pmcsr_state: pci_update_current_state (no platform PM): PMCSR's PowerState, D3cold
    when it reads all-ones, `fallback` without a PM capability."""
    cdef int pm = m.d.fn.caps.pm
    cdef uint32_t pmcsr
    if not pm:
        return fallback
    pmcsr = io_read_checked(m, pm + PCI_PM_CTRL, 2)
    return D3COLD if pmcsr == 0xFFFF else <int>(pmcsr & PCI_PM_CTRL_STATE_MASK)


cdef bint pci_dev_need_resume(Machine *m) noexcept nogil:
    """paths.pci_dev_need_resume: pci_target_state is D3cold from D3cold, D0 without a PM
    capability, else D3hot (no platform PM, no wakeup)."""
    cdef int cur = m.st.dev.current_state
    cdef int target = D3COLD if cur == D3COLD else (D0 if not m.d.fn.caps.pm else D3HOT)
    return target != cur and target != D3COLD and cur != D3HOT


cdef int vfio_callback_path(int callback) noexcept nogil:
    """paths.VFIO_CALLBACK_PATHS: driver.CALLBACK's path id -> vfio-pci's path of that callback, -1
    for none."""
    if callback == CB_ERROR_DETECTED:
        return PATH_VFIO_ERR_DETECTED
    if callback == CB_MMIO_ENABLED:
        return PATH_VFIO_MMIO_ENABLED
    if callback == CB_SLOT_RESET:
        return PATH_VFIO_SLOT_RESET
    if callback == CB_RESUME:
        return PATH_VFIO_RESUME
    if callback == CB_RESET_PREPARE:
        return PATH_VFIO_RESET_PREPARE
    if callback == CB_RESET_DONE:
        return PATH_VFIO_RESET_DONE
    if callback == CB_RUNTIME_SUSPEND:
        return PATH_VFIO_RUNTIME_SUSPEND
    if callback == CB_RUNTIME_RESUME:
        return PATH_VFIO_RUNTIME_RESUME
    return -1


cdef int driver_callback(Machine *m, int callback, int arg) noexcept nogil:
    # callback: the path id of driver.CALLBACK (CB_*)
    """paths.driver_callback: a host driver runs [driver.CALLBACK], vfio-pci its own callback's
    path (an empty one: a callback it does not have); no driver, no callback. The vote returned
    (0 when the callback returns none)."""
    cdef int path
    if m.st.dev.driver == DRV_HOST:
        return run_path(m, callback, arg)
    if m.st.dev.driver == DRV_VFIO:
        path = vfio_callback_path(callback)
        if path >= 0:
            return run_path(m, path, arg)
    return 0


# --- the path tables specialised to the device (once, at load) ------------------------------
# Conditions whose value is fixed once the device and the policy are loaded: they read only the
# profile (m.d) and the policy's switches (m.pol), never the state, the result or the argument.
STATIC_CONDITIONS = frozenset((
    "header_normal", "header_bridge", "no_command_memory", "virtfn", "root_error_regs", "pcie",
    "aer_native", "pcix", "pcix_buffer", "pcie_buffer", "aer_os_owned", "pm_cap", "rc_end",
    "root_aer_native", "walked", "disable_idle_d3", "ptm_cap", "ptm_port_type", "downstream_port",
    "l1ss_pair", "l1ss_buffer", "port_l1ss_buffer", "l1ss_link", "ats_cap", "pasid_cap",
    "eetlp_prefix", "pri_cap", "power_manageable", "tph_cap", "devcap_flr", "sriov_cap",
    "iov_bars_assigned", "aspm_link", "aspm_l1ss_capable", "ptm_root", "upstream_ptm",
    "ptm_type_ok", "port_ptm_root", "port_ptm_type_ok", "rebar_cap"))


cdef void specialize_paths(Machine *m) except *:
    """Partially evaluate the compiled paths for this device, as a compiler folds constants: a
    step with a static condition that is false never runs and goes; a static term that holds
    leaves its `when`; the steps after a `stop` that always stops go; an unconditional call of a
    path left empty goes (running an empty path changes nothing). A term after one that reads
    keeps its step as written (a read of a function that does not answer is reported). What
    runs, in what order, with what reads, is unchanged: `selfcheck` holds the engine to the
    reference model, which runs the paths as written.
    The engine's per-step cost is most of a run (fuzzcore bench), and a device lacks most
    capabilities whose save and restore steps every path lists."""
    cdef Policy *p = &m.pol
    cdef int k, i, t, term, c, when, kept_when, n, changed
    cdef bint never
    static = {ENGINE_CONDITION_NAMES.index(name) for name in STATIC_CONDITIONS}
    paths = []
    for k in range(p.n_paths):
        steps = []
        for i in range(p.path_start[k], p.path_start[k] + p.path_len[k]):
            when, kept_when, n, never = p.ps_when[i], 0, 0, False
            for t in range(3):
                term = (when >> (10 * t)) & 0x3FF
                if term == 0:
                    break
                c = (term & 0x1FF) - 1
                if c in static:
                    if path_term(m, -(c + 1) if term & 0x200 else c + 1, 0, 0, 0):
                        continue                            # holds on this device: dropped
                    if n == 0:
                        never = True                        # fails before any read: never runs
                    else:
                        kept_when = when                    # the terms before it still read (and
                    break                                   # may report a lost read): as written
                kept_when |= term << (10 * n)
                n += 1
            if never:
                continue
            steps.append([p.ps_prim[i], p.ps_arg[i], kept_when])
            if p.ps_prim[i] == PRIM_STOP and kept_when == 0:
                break                                       # nothing after it ever runs
        paths.append(steps)
    changed = 1
    while changed:                                          # calls of paths now empty
        changed = 0
        for steps in paths:
            for st in list(steps):
                if st[2] == 0 and ((st[0] == PRIM_CALL and not paths[st[1]])
                                   or (st[0] == PRIM_CALL_ARG and not paths[st[1] & 0xFF])):
                    steps.remove(st)
                    changed = 1
            while steps and steps[len(steps) - 1][0] == PRIM_STOP and steps[len(steps) - 1][2] == 0:
                steps.pop()                                 # a stop at the end changes nothing
                changed = 1
    i = 0
    for k, steps in enumerate(paths):
        p.path_start[k], p.path_len[k] = i, len(steps)
        for prim, arg, when in steps:
            p.ps_prim[i], p.ps_arg[i], p.ps_when[i] = prim, arg, when
            i += 1
