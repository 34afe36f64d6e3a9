# C-level interface of the restore engine (fuzzcore/engine/_restore.pyx).
#
# The engine's state (design.md §3) is one `State` struct of plain integers plus the byte regions
# of one numpy "arena" (device and port config space, MSI-X table, capability save buffers and
# the two vfio blobs' copies of them). Device and policy tables are prepared once per Engine and
# never change. Every model step is a `cdef ... noexcept nogil` function taking `Machine *m`.
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t

cdef enum:
    CFG_SIZE = 4096
    CFG_ALLOC = 4096 + 256       # slack past 4 KiB: a malformed profile cannot write out of bounds
    N_RESET_KINDS = 4
    MAX_BUFS = 12                # capability save buffers per function (pci_init_capabilities)
    MAX_MSIX_DESCS = 8           # nvec is at most 8 (op table: nvec+1, nvec < 8)
    MAX_VC = 3                   # MFVC, VC, VC9
    N_FEATURES = 8               # live flag / enable bit pairs the oracle compares
    N_INTENT = 60                # intent fields (fuzzcore/model/intent.py FIELDS)
    N_WRITTEN = 41               # registers with a written intent (fuzzcore/model/intent.py WRITTEN)
    MAX_RESTORE_STEPS = 32
    MAX_SAVE_STEPS = 16
    MAX_RESET_METHODS = 8
    MAX_PATHS = 192
    MAX_BRACKETS = 4             # command_bracket nesting (a resize's around pci_std_update_resource's)
    MAX_PATH_STEPS = 768
    MAX_TABLE_OPS = 64           # op-table rows the precondition table holds
    MAX_RULES = 4                # preconditions per op (op_table.MAX_RULES)
    N_FACTS = 3                  # op_table.FACTS: owner, power, runtime


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


# --- device tables (constant per Engine) -------------------------------------------------------

cdef struct CapOffsets:          # the offsets struct pci_dev caches (fuzzcore.model.caps)
    int pm, msi, msix, exp, pcix, aer, acs, ari, ats, sriov, pri, rebar, tph, ltr, pasid, dpc, l1ss, ptm
    int n_vc
    int vc_id[MAX_VC]
    int vc_off[MAX_VC]
    int vc_count[MAX_VC]         # Extended VC Count + 1 (port: 0, as the model allocates)
    int exp_type
    int exp_flags

cdef struct CapBuf:              # one pci_cap_saved_state, allocated at enumeration (§1.2)
    int cap_id
    int extended
    int offset                   # into the function's buffer pool
    int size

cdef struct BarDesc:
    int index
    int kind                     # BAR_NONE, BAR_MEM32, BAR_MEM64, BAR_IO
    uint64_t size
    uint64_t image_addr          # the address the dump holds (the enumeration resource)
    uint32_t flags               # res->flags' BAR type bits as decode_bar read them (IO 1:0, memory 3:0)

cdef struct Function:            # a function's constant tables
    uint8_t *wmask
    uint8_t *w1cmask
    uint64_t *keep               # [N_RESET_KINDS][CFG_ALLOC / 8] words
    uint64_t *deflt
    int32_t *reset_words[N_RESET_KINDS]   # word indices where keep is not all-ones
    int n_reset_words[N_RESET_KINDS]
    CapOffsets caps
    int n_bufs
    CapBuf bufs[MAX_BUFS]

cdef struct Device:              # the device under test: its Function plus profile facts
    Function fn
    int header_type
    int multifunction            # header type bit 7 (dev->multifunction)
    int flr                      # DEVCAP.FLR
    int no_soft_reset
    int virtfn                   # an SR-IOV VF: no Command.Memory (no_command_memory), BARs read zero
    int virtual_bus              # a VF on virtfn_add_bus's bus: pci_walk_bus never reaches it
    int platform_d3cold          # the platform can cut the function's power (DeviceProfile)
    int has_rom
    int rom_base_reg             # PCI_ROM_ADDRESS (0x30) or a bridge's PCI_ROM_ADDRESS1 (0x38)
    uint32_t rom_new             # pci_std_update_resource's ROM value; 0: it skips the ROM (none, or not enabled at enumeration)
    int n_bars
    BarDesc bars[6]              # profile.bars order
    int bar_pos[6]               # BAR index -> position in bars[], -1 when the profile has none
    int msix_entries
    int msix_table_bir
    int msix_table_offset
    int tph_entries              # pcie_tph_get_st_table_size
    int n_aer_regs
    int aer_regs[5]
    int pcie_impl[7]             # pcie_capability_reg_implemented for PCI_EXP_SAVED_REGS
    uint8_t pcie_reg_impl[64]    # the same per offset 0x00-0x3F (tables._pcie_reg_table)
    int d1d2                     # dev->d1_support | dev->d2_support << 1 (PMC at enumeration)
    int rebar_first_bar          # profile.config[rebar + 8] & 7
    int eetlp_prefix             # pdev->eetlp_prefix_max != 0 (model/enumeration.py)
    int acs_check                # pci_acs_enabled(RR | UF): ACS_PASSES, ACS_FAILS or the Control flags to test
    int port_acs_check           # the same for the port above
    int bridge_d3                # a bridge's pdev->bridge_d3 (model/enumeration.bridge_d3)
    int sriov_total_vfs          # iov->total_VFs (model/enumeration.sriov_total_vfs)
    int sriov_vfm                # iov->cap & PCI_SRIOV_CAP_VFM
    int iov_bars_assigned        # model/enumeration.iov_bars_assigned
    int vfs_share_bus            # model/enumeration.vfs_share_bus
    int iov_kind[6]              # model/enumeration.iov_resources: IOV_UNSET 0, IOV_MEM32 1, IOV_MEM64 2
    uint64_t iov_addr[6]         # the VF BAR resource's address
    uint32_t iov_flags[6]        # and its type bits
    int aspm_link                # model/enumeration.aspm_link is not None
    int aspm_capable             # link->aspm_capable (PCIE_LINK_STATE_*)
    int aspm_enabled0            # link->aspm_enabled after enumeration
    int clkpm_capable            # link->clkpm_capable
    int clkpm_enabled0           # link->clkpm_enabled after enumeration
    int aspm_support, aspm_default   # link->aspm_support, link->aspm_default
    int ptm_root, ptm_type_ok, ptm_gran              # model/enumeration.ptm_info: the function's
    int upstream_ptm, port_ptm_root, port_ptm_type_ok, port_ptm_gran   # and the port's (upstream_ptm: it has one)
    int buf_exp, buf_pcix, buf_ltr, buf_ptm, buf_aer, buf_tph, buf_l1ss, buf_dpc
    int buf_vc[MAX_VC]
    # model/vfio_perm, [0] the function answering at open, [1] not (VfioDev.map_silent)
    int16_t *vf_map[2]           # [CFG_ALLOC]: pci_config_map (-1 unassigned)
    int16_t *vf_start[2]         # [CFG_ALLOC]: vfio_find_cap_start
    uint8_t *vf_kind[2]          # [CFG_ALLOC]: the region's write function (vfio_perm.RAW ...)
    uint8_t *vf_write[2]         # [CFG_ALLOC]: perm->write per byte
    uint8_t *vf_virt[2]          # [CFG_ALLOC]: perm->virt per byte
    int vf_cfg_size              # pdev->cfg_size
    int has_port
    Function port
    int port_buf_l1ss            # the port's L1SS buffer exists
    int wr_off[N_WRITTEN]        # intent.written_layout: offset (-1: absent), width, bits compared, port
    int wr_width[N_WRITTEN]
    uint32_t wr_cmp[N_WRITTEN]
    int wr_port[N_WRITTEN]
    int n_wr                     # WRITTEN rows 1.. present on this device, in order
    int wr_rows[N_WRITTEN]
    uint8_t *wr_dword[2]         # [CFG_ALLOC / 4] per target: 1 when the dword holds a written row byte
    uint8_t *wr_map[2]           # [CFG_ALLOC] per target: 4 * row + byte of a written register, 255 none


# --- policy tables (CompiledPolicy, resolved once) ---------------------------------------------

cdef struct Policy:
    int n_restore
    int restore_step[MAX_RESTORE_STEPS]     # vocabulary step id, run order
    int restore_kind[MAX_RESTORE_STEPS]     # engine function for that step
    int restore_source[MAX_RESTORE_STEPS]   # SRC_*
    int restore_gate[MAX_RESTORE_STEPS]     # GATE_*
    int n_save
    int save_step[MAX_SAVE_STEPS]
    int save_kind[MAX_SAVE_STEPS]
    int save_gate[MAX_SAVE_STEPS]
    int n_reset
    int reset_method[MAX_RESET_METHODS]     # METHOD_*
    int reset_step[MAX_RESET_METHODS]       # vocabulary id (for the step name)
    # switches
    int gate_on_state_saved
    int clear_state_saved
    int enumeration_save
    int save_and_disable_skip
    int restore_after_failed_reset
    int bar_assignment_updates_snapshot
    int close_resave
    int aer_native
    int disable_idle_d3
    int legacy_pm                           # the driver has a legacy suspend or resume (read before specialize_paths)
    # paths (fuzzcore/policy/paths.py): per path its steps' range and step label; per step the
    # primitive, its argument and its condition
    int n_paths
    int path_start[MAX_PATHS]
    int path_len[MAX_PATHS]
    int path_label[MAX_PATHS]               # STEP_* while the path runs, -1 = the caller's
    int ps_prim[MAX_PATH_STEPS]
    int ps_arg[MAX_PATH_STEPS]
    int ps_when[MAX_PATH_STEPS]
    # preconditions (op_table.compile_preconditions), per op-table row
    int pre_n[MAX_TABLE_OPS]
    int pre_fact[MAX_TABLE_OPS][MAX_RULES]
    uint32_t pre_mask[MAX_TABLE_OPS][MAX_RULES]
    int pre_errno[MAX_TABLE_OPS][MAX_RULES]


# --- the state (design.md §3) ------------------------------------------------------------------
# All int64 / uint32-array fields: no padding, so the struct's bytes are canonical once epochs are
# renumbered. Fields that stop meaning anything (a dropped blob, freed descriptors) are zeroed.

cdef struct MsixDesc:
    uint32_t addr_lo
    uint32_t addr_hi
    uint32_t data
    uint32_t ctrl

cdef struct Blob:                # struct pci_saved_state; its record bytes live in the arena
    int64_t present
    int64_t config_epoch
    int64_t epochs[MAX_BUFS]
    uint32_t config[16]

cdef struct KernelDev:           # struct pci_dev fields save/restore read or write (§1.1)
    uint32_t saved_config[16]
    int64_t config_epoch
    int64_t bar_epoch[6]
    int64_t buf_epoch[MAX_BUFS]
    int64_t state_saved
    int64_t save_count
    int64_t current_state
    uint64_t resources[6]
    uint64_t resource_sizes[6]
    int64_t enable_cnt
    int64_t is_busmaster
    int64_t msi_enabled
    int64_t msix_enabled
    int64_t n_msix_descs
    MsixDesc msix_descs[MAX_MSIX_DESCS]
    uint32_t msi_msg[4]          # addr_lo, addr_hi, data, (pad)
    int64_t msi_mask
    int64_t tph_enabled
    int64_t tph_mode
    int64_t tph_req_type
    int64_t ats_enabled
    int64_t ats_stu
    int64_t pasid_enabled
    int64_t pasid_features
    int64_t pri_enabled
    int64_t pri_reqs_alloc
    int64_t ptm_enable_cnt
    int64_t ptm_suspended        # between pci_suspend_ptm and pci_resume_ptm (features.py)
    int64_t sriov_ctrl
    int64_t sriov_num_vfs
    int64_t sriov_pgsz
    int64_t error_state          # ERR_NORMAL, ERR_FROZEN, ERR_PERM_FAILURE
    int64_t driver               # DRV_NONE, DRV_HOST, DRV_VFIO
    int64_t partial_load
    int64_t ltr_path
    int64_t rpm_suspended        # dev->power.runtime_status == RPM_SUSPENDED
    int64_t rpm_auto             # power/control = auto and no driver reference (state.py)
    int64_t err_handler          # the bound host driver's error handling: 0 not yet, 1 error_detected, 2 none
    int64_t driver_failed        # recovery told the bound host driver the device failed for good (owner host_failed)

cdef struct VfioDev:             # vfio_pci_core_device fields that matter (§6)
    int64_t registered
    int64_t open
    Blob blob                    # vdev->pci_saved_state (the open-time snapshot)
    Blob pm_save
    int64_t vconfig_command
    int64_t vconfig_devctl       # DEVCTL's virtual bits (Initiate FLR, MPS, MRRS) in vconfig
    int64_t vconfig_bars[6]
    int64_t vconfig_msi_flags    # MSI Message Control in vconfig
    int64_t msi_qmax             # vdev->msi_qmax
    int64_t map_silent           # vfio_config_init read a function that did not answer
    int64_t rbar[7]               # BARs 0-5, then the ROM dword (0x30)
    int64_t reset_works
    int64_t needs_reset
    int64_t needs_pm_restore
    int64_t irq                  # IRQ_NONE, IRQ_INTX, IRQ_MSI, IRQ_MSIX
    int64_t virq_disabled        # the user's virtual INTx Disable, as vfio last acted on it
    int64_t intx_masked          # the INTx ctx's masked flag (irq == intx)
    int64_t qemu_resetting       # QEMU ran vfio_pci_pre_reset, not yet vfio_pci_post_reset
    int64_t pm_engaged           # vdev->pm_runtime_engaged: the user's LOW_POWER_ENTRY holds
    int64_t pm_wakeup            # vdev->pm_wake_eventfd_ctx: the entry came with a wake-up eventfd
    int64_t pm_intx_masked       # vdev->pm_intx_masked: the runtime suspend masked the user's INTx

cdef struct PortDev:             # the upstream port's struct pci_dev fields the model uses
    int64_t current_state
    int64_t ptm_enable_cnt
    int64_t ltr_path
    int64_t l1ss_epoch
    uint32_t l1ss[2]             # its L1SS save buffer (CTL1, CTL2)
    int64_t is_busmaster         # pci_enable_bridge / portdrv's pci_set_master
    int64_t aspm_enabled         # its link's link->aspm_enabled
    int64_t clkpm_enabled        # its link's link->clkpm_enabled
    int64_t aspm_supersave       # the ASPM policy is powersupersave (the model has one link)

cdef struct State:
    KernelDev dev
    VfioDev vfio
    PortDev port
    int64_t accessible           # false: config reads all-ones, writes dropped
    int64_t powered              # false: D3cold, the platform removed power (power.platform_power_off)
    int64_t needs_restore_after_reset
    int64_t latest_save_epoch
    int64_t standing             # end-of-op conditions that held after the last op (STAND_*)


# --- a run's output ----------------------------------------------------------------------------

cdef struct ViolationRec:        # turned into fuzzcore.model.invariants.Violation after the run
    int32_t invariant
    int32_t op_index
    int32_t op_kind
    int32_t reg
    int32_t step
    int32_t msg
    uint64_t a
    uint64_t b
    uint64_t c


cdef struct Machine:
    State st
    Device d
    Policy pol
    uint8_t *cfg                 # arena regions
    uint8_t *pcfg
    uint8_t *msix
    uint8_t *pool                # the device's capability buffers
    uint8_t *blob_pool
    uint8_t *pm_save_pool
    int pool_size
    # the op being run
    int op_index
    int op_kind
    int bars_owed                    # Oracle.bars_owed: pci_power_up's need_restore, no pci_restore_bars yet (this op)
    int reset_in_op                  # Oracle.reset_in_op: the function was reset in this op
    int step
    int user_access
    uint32_t cmd_at_op_start
    int refused_now              # the running op refused itself before changing anything
    int reset_probe              # dev->reset_methods: bit METHOD_* set when its probe returned 0
    int restore_rmw              # inside a restore step that writes back what it read (Oracle.note_write)
    int aspm_target              # pcie_config_aspm_link's state (kernel_set aspm_target)
    uint32_t user_wmask          # the bits of a user's write that are the user's (vfio_default_config_write)
    int piece_pos                # the piece a vfio write function's path works on (vfio.VfioPiece):
    int piece_n                  # where, how wide, the user's value, and vconfig's MRRS before it
    uint32_t piece_val
    int64_t piece_old_rq
    int64_t n_refused            # ops refused over every run (campaign stats)
    int64_t n_ops_run            # ops applied over every run (campaign stats)
    int8_t mm_start[N_FEATURES]  # live-flag mismatches at op start: -1 none, else the live flag
    int8_t lf_pending[N_FEATURES]   # Oracle._restore_mismatch: what a restore left (-1 none), and
    int lf_pending_step[N_FEATURES] # the step that did it; reported at the end of the op if it stands
    uint64_t refined_now         # intent fields a more precise invariant flagged in this op (bit per field)
    uint64_t intent_prev[N_INTENT]   # each intent field's hardware value after the last op
    int32_t intent_op[N_INTENT]      # the op index that last changed it (-1: none since enumeration)
    int32_t intent_kind[N_INTENT]    # and its op kind
    uint32_t written[N_WRITTEN]      # intent.WRITTEN: the value last written on purpose
    int32_t written_op[N_WRITTEN]    # the op index that wrote it (-1: enumeration)
    int32_t written_kind[N_WRITTEN]  # and its op kind
    int32_t written_step[N_WRITTEN]  # and the model step (STEP_*) that wrote it
    uint64_t wr_dirty                # WRITTEN rows written or reset since the last end_of_op (bit per row)
    uint64_t wr_started              # WRITTEN rows this op wrote (bit per row): their *_start hold the op's start
    uint32_t written_start[N_WRITTEN]
    int32_t written_op_start[N_WRITTEN]
    int32_t written_kind_start[N_WRITTEN]
    int32_t written_step_start[N_WRITTEN]
    int intent_all                   # compare every row at the next usable end_of_op
    int lost_op                      # the op that reported config_write_lost or config_read_lost (-2: none)
    int read_lost_op                 # the op that reported config_read_lost or snapshot_all_ones (-2: none)
    # the system sleep in progress (model power.SystemSleep): the op's arguments, the PM core's
    # dev->power.direct_complete and the PCI core's skip_bus_pm over one transition
    int sleep_transition             # SLEEP_* (-1: none)
    int sleep_power_lost
    int direct_complete
    int skip_bus_pm
    # pcie_do_recovery's status and the op's channel and source, which its path's steps read;
    # what it logged (0 nothing, 1 "successful", 2 "failed": the oracle's check at its end)
    int ers_status
    int recovery_channel
    int recovery_dpc
    int recovery_said
    # pci_restore_aspm_l1ss_state's LNKCTLs while it has ASPM off (restore.l1ss_aspm)
    int l1ss_aspm_on
    int64_t msix_saved_cmd           # Command read by the MSI-X restore's Memory bracket (-1: none)
    uint32_t bracket_cmds[MAX_BRACKETS]   # Commands read by open command_bracket steps
    int n_brackets
    uint32_t l1ss_clnk
    uint32_t l1ss_plnk
    uint32_t path_locals[2]          # the running path's locals a and b (read_local), a call's own
    int64_t work                     # steps run so far (paths, restore, save; one per op): where
                                     # the campaign target checkpoints (CampaignTarget._checkpoint)
    # output
    ViolationRec *viol
    int n_viol
    int viol_cap
    int viol_dropped
    int64_t *rets
    int32_t *features
    uint8_t *refused             # per op: 1 when a precondition (or the op's own check) refused it
    uint8_t *facts               # per op: the precondition facts after it (pack_facts)
    uint8_t *counters
    uint8_t *seen                # per counter: 1 once any campaign run bumped it (the status's "features")
    int n_counters
