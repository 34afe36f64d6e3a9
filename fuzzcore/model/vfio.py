"""vfio-pci (drivers/vfio/pci/vfio_pci_core.c, vfio_pci_config.c, vfio_pci_intrs.c; §5.6, §6)."""

from __future__ import annotations

from . import msi, vfio_perm
from .access import PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO, PCI_COMMAND_MEMORY
from .reset import pci_reset_function
from .state import D0, D3HOT

EBUSY, ENODEV = -16, -19
PCI_STATUS_INTERRUPT = 0x08
PCI_ROM_ADDRESS = 0x30                    # the ROM dword vfio_config_init records (type 0 header offset)


def vfio_pci_set_power_state(m, state: int) -> int:
    """vfio_pci_set_power_state (drivers/vfio/pci/vfio_pci_core.c): the policy path of that name,
    its argument the target state (pm_save over a NoSoftRst- function's D3hot)."""
    from .paths import run_path
    return run_path(m, "vfio_pci_set_power_state", state)


def vfio_register(m) -> None:
    """vfio_pci_core_register_device: the policy path of that name (NoSoftRst probed from PMCSR,
    a D0 transition, which restores from the current snapshot when current_state was unknown on
    a NoSoftRst- function, then unless disable_idle_d3 the idle device runtime-suspends)."""
    from .paths import run_path
    m.state.vfio.registered = True
    m.state.vfio.msi_qmax = 0                # a new vfio_pci_core_device
    run_path(m, "vfio_pci_core_register_device")


def vfio_probe_power_state(m) -> None:
    """vfio_pci_probe_power_state: needs_pm_restore = !(PMCSR & NO_SOFT_RESET), read now; a
    function without PM keeps the fresh vdev's false."""
    v = m.state.vfio
    v.needs_pm_restore = False
    if m.caps.pm:
        v.needs_pm_restore = not m.io.read(m.caps.pm + 0x04, 2) & 0x8     # PCI_PM_CTRL_NO_SOFT_RESET


PCI_EXP_DEVCTL = 0x08
DEVCTL_READRQ = 0x7000
DEVCTL_VIRT = 0x8000 | 0x00E0 | DEVCTL_READRQ   # init_pci_cap_exp_perm: FLR, Payload, READRQ virtual

def vfio_config_init(m) -> None:
    """vfio_config_init: vconfig copied from hardware; rbar[] records the BARs and the ROM dword
    (vconfig[PCI_ROM_ADDRESS], 0x30 whatever the header type)."""
    v = m.state.vfio
    v.map_silent = m.io.read_checked(0x06, 2) == 0xFFFF    # vfio_cap_init's Status read: vfio_perm.build
    v.vconfig_command = m.io.read(PCI_COMMAND, 2)
    v.vconfig_bars = [m.io.read(0x10 + 4 * i, 4) for i in range(6)]
    v.rbar = list(v.vconfig_bars) + [m.io.read(PCI_ROM_ADDRESS, 4)]
    if m.caps.exp:
        v.vconfig_devctl = m.io.read(m.caps.exp + PCI_EXP_DEVCTL, 2) & DEVCTL_VIRT
    if m.caps.msi:
        v.vconfig_msi_flags = m.io.read(m.caps.msi + 2, 2)


def vfio_open(m) -> int:
    """vfio_pci_core_enable (§6.2): the policy path of that name."""
    from .paths import run_path
    run_path(m, "vfio_pci_core_enable", "auto")
    return 0


def vfio_close(m) -> int:
    """vfio_pci_core_disable (§6.6): the policy path of that name (load the open blob, reset
    without save/restore, restore; vfio_pci_dev_set_try_reset; the runtime-PM put)."""
    from .paths import run_path
    run_path(m, "vfio_pci_core_disable", "auto")
    return 0


def _memory_lock_and_enable(m, bracket: bool = True):
    """vfio_pci_memory_lock_and_enable: Memory forced on around MSI/MSI-X set-up (abafbc551fdd);
    without the bracket (`memory = "none"`) nothing is read or written and None comes back."""
    if not bracket:
        return None
    cmd = m.io.read(PCI_COMMAND, 2)
    if not cmd & PCI_COMMAND_MEMORY:
        m.io.write(PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY)
    return cmd


def _memory_unlock_and_restore(m, cmd) -> None:
    if cmd is not None:
        m.io.write(PCI_COMMAND, 2, cmd)


def vfio_set_irqs(m, index: str, count: int) -> int:
    """VFIO_DEVICE_SET_IRQS (drivers/vfio/pci/vfio_pci_intrs.c) as QEMU issues it: the policy path
    vfio_pci_set_irqs_ioctl (DATA_NONE on the enabled index, the range check of the new one, then
    its enable)."""
    from .paths import run_path
    return run_path(m, "vfio_pci_set_irqs_ioctl", (index, count))


def vfio_irqs_disable(m, bracket: bool) -> None:
    """DATA_NONE on the enabled index. MSI/MSI-X: vfio_msi_disable -> vfio_msi_set_block frees
    each vector (vfio_msi_set_vector_signal: free_irq, each in its own Memory bracket), then
    pci_free_irq_vectors in a last bracket. INTx: vfio_intx_disable touches no register here."""
    v, dev = m.state.vfio, m.state.dev
    if v.irq in ("msi", "msix"):
        n = len(dev.msix_descs) if v.irq == "msix" else 1
        for i in range(n):
            cmd = _memory_lock_and_enable(m, bracket)
            if v.irq == "msix":
                msi.msix_free_irq(m, i)
            else:
                msi.msi_free_irq(m)
            _memory_unlock_and_restore(m, cmd)
        cmd = _memory_lock_and_enable(m, bracket)
        if v.irq == "msix":
            msi.pci_msix_shutdown(m)
        else:
            msi.pci_msi_shutdown(m)
        _memory_unlock_and_restore(m, cmd)
    v.irq = "none"


def vfio_irqs_out_of_range(m, index: str, count: int) -> bool:
    """vfio_set_irqs_validate_and_prepare: start + count (count + 1 vectors) beyond
    vfio_pci_get_irq_count, which reads Message Control now: MSI-X QSIZE + 1, MSI 1 << MMC; INTx
    one with a pin; no capability: 0. (Every built-in MSI function is single-message; multi-MSI,
    which needs the IRQ domain's MSI_FLAG_MULTI_PCI_MSI, is not modelled.)"""
    if index == "msix":
        return not m.caps.msix or count + 1 > (m.io.read(m.caps.msix + 2, 2) & 0x7FF) + 1
    if index == "msi":
        return not m.caps.msi or count + 1 > 1 << ((m.io.read(m.caps.msi + 2, 2) & 0x0E) >> 1)
    return index == "intx" and not m.state.hw.read(0x3D, 1)


def vfio_irqs_enable(m, index: str, count: int, bracket: bool) -> int:
    """The new index on. MSI/MSI-X: vfio_msi_enable allocates the vectors (pci_alloc_irq_vectors,
    in a Memory bracket), then vfio_msi_set_block -> vfio_msi_set_vector_signal requests each
    vector in its own bracket, so Command is written back once per vector. Outside D0
    __pci_enable_msi(x)_range fails -EINVAL before any table access. INTx: vfio_intx_enable masks
    as the virtual INTx Disable says; with INTx masking (pci_2_3) the physical bit follows
    (pci_intx(pdev, !ctx->masked))."""
    v, dev = m.state.vfio, m.state.dev
    if index in ("msix", "msi") and dev.current_state != D0:
        cmd = _memory_lock_and_enable(m, bracket)
        _memory_unlock_and_restore(m, cmd)
        return -22
    if index == "msix":
        cmd = _memory_lock_and_enable(m, bracket)
        rc = msi.msix_capability_init(m, count + 1, request=False)
        _memory_unlock_and_restore(m, cmd)
        if rc == -12:
            return rc                           # vfio_msi_enable: pci_alloc_irq_vectors failed
        if rc == 0:
            v.irq = "msix"
            for i in range(len(dev.msix_descs)):
                cmd = _memory_lock_and_enable(m, bracket)
                msi.msix_request_irq(m, i)
                _memory_unlock_and_restore(m, cmd)
    elif index == "msi":
        cmd = _memory_lock_and_enable(m, bracket)
        ok = msi.msi_capability_init(m, request=False)
        _memory_unlock_and_restore(m, cmd)
        if ok:
            v.irq = "msi"
            v.msi_qmax = (2 * (count + 1) - 1).bit_length() - 1    # fls(nvec * 2 - 1) - 1
            cmd = _memory_lock_and_enable(m, bracket)
            msi.msi_request_irq(m)
            _memory_unlock_and_restore(m, cmd)
    elif index == "intx":
        from .paths import run_path
        run_path(m, "vfio_intx_enable")
    return 0


def vfio_intx(m, op: str) -> None:
    """Path primitive vfio_intx: one operation on the user's INTx context."""
    v = m.state.vfio
    if op == "init_masked":
        v.intx_masked = v.virq_disabled
    elif op == "pci_intx":
        msi.pci_intx_for_msi(m, not v.intx_masked)
    elif op == "irq_type":
        v.irq = "intx"
    elif op == "pm_mask":
        v.pm_intx_masked = v.irq == "intx" and _intx_mask(m)
    elif op == "pm_unmask":
        _intx_unmask(m)
    else:                                               # new_context
        v.intx_masked = False


def vfio_bar_rw(m, bar: int, access: str) -> int:
    """A user's pread/pwrite of BAR region `bar` (vfio_pci_rw -> vfio_pci_bar_rw, §6.10): the
    policy path vfio_pci_bar_rw, with the device resumed around it as for an ioctl."""
    from .paths import run_path
    return vfio_ioctl(m, lambda m: run_path(m, "vfio_pci_bar_rw", (bar, access)))


def resource_kind(m, bar: int) -> str:
    """The kind of the resource behind region `bar` ("" when pci_resource_start is 0)."""
    info = m.profile.bar(bar)
    if info is None or info.kind == "none" or not m.state.dev.resources[bar]:
        return ""
    return info.kind


def vfio_bar_access(m, bar: int, access: str) -> None:
    """vfio_ioread32/vfio_iowrite32 of the BAR's last dword. Inside the MSI-X table range
    vfio_pci_core_do_io_rw fills reads with all-ones and drops writes: no request is made."""
    info = m.profile.bar(bar)
    off = info.size - 4
    msix = m.profile.msix
    if (msix is not None and m.caps.msix and msix.table_bir == bar
            and msix.table_offset <= off < msix.table_offset + 16 * msix.entries):
        return
    m.io.bar_access(bar)


def vfio_ioctl(m, fn, *args) -> int:
    """An ioctl on the vfio device fd (vfio_device_fops_unl_ioctl, drivers/vfio/vfio_main.c), or a
    read or write of one of its regions (vfio_pci_rw): the policy paths vfio_device_pm_runtime_get
    and _put around it, so a device its user put in low power is resumed for the access and may
    suspend again after it."""
    from .paths import run_path
    run_path(m, "vfio_device_pm_runtime_get")
    rc = fn(m, *args)
    run_path(m, "vfio_device_pm_runtime_put")
    return rc


def vfio_user_hot_reset(m) -> int:
    """A user's hot reset is two ioctls (QEMU's vfio_pci_hot_reset, as any user must learn the
    groups first): VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, which touches no register, then
    VFIO_DEVICE_PCI_HOT_RESET; each in the runtime-PM get/put."""
    vfio_ioctl(m, lambda m: 0)
    return vfio_ioctl(m, vfio_hot_reset)


def vfio_low_power(m, action: str) -> int:
    """VFIO_DEVICE_FEATURE with LOW_POWER_ENTRY, LOW_POWER_ENTRY_WITH_WAKEUP or LOW_POWER_EXIT
    (vfio_pci_core_ioctl_feature, §6.9): the policy path vfio_pci_core_pm_entry (argument 1 with
    the wake-up eventfd) or vfio_pci_core_pm_exit."""
    from .paths import run_path
    if action == "exit":
        return run_path(m, "vfio_pci_core_pm_exit")
    return run_path(m, "vfio_pci_core_pm_entry", 1 if action == "entry_wakeup" else 0)


def vfio_device_reset(m) -> int:
    """VFIO_DEVICE_RESET (§6.5): the policy path vfio_pci_ioctl_reset (-EINVAL unless reset_works;
    D0, which may restore pm_save; pci_try_reset_function)."""
    from .paths import run_path
    return run_path(m, "vfio_pci_ioctl_reset", "auto")


def vfio_hot_reset(m) -> int:
    """VFIO_DEVICE_PCI_HOT_RESET: without a bus reset -ENODEV (vfio_pci_ioctl_pci_hot_reset: neither
    pci_probe_reset_slot nor pci_probe_reset_bus, which is -ENOTTY for a bus with no bridge above),
    else the policy path vfio_pci_dev_set_hot_reset (a VF: -EINVAL; every device in the set to
    D0, then pci_reset_bus)."""
    from .paths import run_path
    if m.state.port is None:
        return -19
    return run_path(m, "vfio_pci_dev_set_hot_reset", "auto")


# --- config writes through the permission table (§6.3) ---------------------------------------

def _bar_restore_if_reset_behind_back(m, new_cmd: int) -> None:
    """vfio_basic_config_write's check: the user turns decode on while vconfig says it is on and
    hardware says off (Memory: not on a VF, which has no Memory bit), or a non-zero rbar[] BAR
    differs from hardware (vfio_need_bar_restore): vfio_bar_restore re-writes BARs 0-5 and then
    the ROM dword from rbar[] (not on a VF)."""
    v = m.state.vfio
    hw_cmd = m.io.read(PCI_COMMAND, 2)
    suspicious = any(new_cmd & bit and v.vconfig_command & bit and not hw_cmd & bit
                     and not (bit == PCI_COMMAND_MEMORY and m.profile.virtfn)   # !pdev->no_command_memory
                     for bit in (PCI_COMMAND_MEMORY, PCI_COMMAND_IO))
    if not suspicious:                              # || vfio_need_bar_restore(vdev): read only then
        suspicious = any(v.rbar[i] and m.io.read(0x10 + 4 * i, 4) != v.rbar[i] for i in range(6))
    if suspicious and not m.profile.virtfn:        # vfio_bar_restore returns at once for is_virtfn
        with m.in_step("vfio_bar_restore"):
            for i in range(6):
                m.io.write(0x10 + 4 * i, 4, v.rbar[i])
            m.io.write(PCI_ROM_ADDRESS, 4, v.rbar[6])


def _write_hw_bits(m, offset: int, width: int, value: int, writable: int) -> None:
    """vfio_default_config_write: hardware gets the non-virtual writable bits, read-modify-write.
    Only those bits are the user's choice (Oracle.note_write: user_wmask); the rest echo the read."""
    if not writable:
        return
    cur = m.io.read(offset, width)
    m.user_wmask = writable
    try:
        m.io.write(offset, width, (cur & ~writable) | (value & writable))
    finally:
        m.user_wmask = 0xFFFFFFFF


def emulate_intx_disable(m) -> None:
    """vfio_basic_config_write's "Emulate INTx disable": a change of the virtual bit masks or
    unmasks INTx (vfio_pci_intx_mask/unmask)."""
    v = m.state.vfio
    virt = bool(v.vconfig_command & PCI_COMMAND_INTX_DISABLE)
    if virt and not v.virq_disabled:
        v.virq_disabled = True
        _intx_mask(m)
    elif not virt and v.virq_disabled:
        v.virq_disabled = False
        _intx_unmask(m)


def _intx_mask(m) -> bool:
    """__vfio_pci_intx_mask: not using INTx, the physical bit follows the virtual one
    (pci_intx(pdev, 0)); using it, mask once. pci_2_3 (INTx masking) is taken as supported:
    a PCIe function implements INTx Disable and Interrupt Status."""
    v = m.state.vfio
    if v.irq != "intx":
        msi.pci_intx_for_msi(m, False)
    elif not v.intx_masked:
        msi.pci_intx_for_msi(m, False)
        v.intx_masked = True
        return True                                     # masked_changed
    return False


def _intx_unmask(m) -> None:
    """vfio_pci_intx_unmask_handler: not using INTx, pci_intx(pdev, 1); using it and masked,
    pci_check_and_unmask_intx (pci_check_and_set_intx_mask, drivers/pci/irq.c): one dword read
    of Command and Status; unless an interrupt is pending, INTx Disable cleared (written only if
    it changes)."""
    v = m.state.vfio
    if v.irq != "intx":
        msi.pci_intx_for_msi(m, True)
    elif v.intx_masked and not v.virq_disabled:
        cmd_status = m.io.read(PCI_COMMAND, 4)
        if not (cmd_status >> 16) & PCI_STATUS_INTERRUPT:
            cmd = cmd_status & 0xFFFF
            if cmd & PCI_COMMAND_INTX_DISABLE:
                m.io.write(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_INTX_DISABLE)
            v.intx_masked = False


def vfio_config_write(m, offset: int, width: int, value: int) -> int:
    """A write through the config region: vfio_pci_rw resumes the device around it
    (pm_runtime_resume_and_get / pm_runtime_put: the policy paths vfio_device_pm_runtime_get, _put)."""
    return vfio_ioctl(m, _vfio_config_rw, offset, width, value)


def _vfio_config_rw(m, offset: int, width: int, value: int) -> int:
    """vfio_pci_config_rw for a write: -EFAULT past cfg_size; else each piece (vfio_perm.pieces)
    to its region's write function (vfio_pci_config_rw_single)."""
    cmap = m.vfio_map
    if offset + width > cmap.cfg_size:
        return -14                                  # -EFAULT
    value &= (1 << (8 * width)) - 1
    with m.in_step("vfio_pci_config_rw"), m.as_user():
        for pos, n in vfio_perm.pieces(cmap, offset, width):
            _write_piece(m, pos, n, (value >> (8 * (pos - offset))) & ((1 << (8 * n)) - 1))
    return 0


def _write_piece(m, pos: int, n: int, val: int) -> None:
    """One piece through its region's write function: raw (unassigned bytes, vendor-specific
    capabilities), none (a capability vfio gives no write function), or the write function's
    path, run with the piece's offset in its region as the argument (the primitives below read
    the piece from m.vfio_piece)."""
    cmap = m.vfio_map
    kind, rel = int(cmap.kind[pos]), pos - int(cmap.start[pos])
    if kind == vfio_perm.NONE:
        return
    if kind == vfio_perm.RAW:
        m.io.write(pos, n, val)                     # vfio_raw_config_write (no read)
        return
    from .paths import run_path
    m.vfio_piece = VfioPiece(pos, n, val, m.state.vfio.vconfig_devctl & DEVCTL_READRQ)
    run_path(m, vfio_perm.PATH_NAMES[kind - vfio_perm.PATH_BASE], rel)


class VfioPiece:
    """The piece a write function's path works on: where, how wide, the user's value, and the
    MRRS vconfig held before it (vfio_exp_config_write's readrq, read first)."""
    __slots__ = ("pos", "n", "val", "old_rq")

    def __init__(self, pos: int = 0, n: int = 0, val: int = 0, old_rq: int = 0):
        self.pos, self.n, self.val, self.old_rq = pos, n, val, old_rq


def piece_default_write(m) -> None:
    """vfio_default_config_write of the piece."""
    p = m.vfio_piece
    _default_write(m, p.pos, p.n, p.val)


def piece_bar_restore_check(m) -> None:
    """vfio_basic_config_write's check and restore from rbar[]: the kernel's reads and writes."""
    with m.as_kernel():
        _bar_restore_if_reset_behind_back(m, m.vfio_piece.val & 0xFFFF)


def piece_command_track(m) -> None:
    """vconfig's Memory/IO from the value written, for the check next time."""
    v, keep = m.state.vfio, PCI_COMMAND_MEMORY | PCI_COMMAND_IO
    v.vconfig_command = (v.vconfig_command & ~keep) | (m.vfio_piece.val & keep)


def piece_power_state(m) -> None:
    """vfio_pm_config_write at PCI_PM_CTRL: the PowerState of the value written."""
    _pm_state_write(m, m.vfio_piece.val)


def piece_msi_flags_reached(m, rel: int) -> bool:
    """vfio_msi_config_write: offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS."""
    return rel <= 2 <= rel + m.vfio_piece.n


def msi_flags_write(m) -> None:
    """vfio_msi_config_write for a piece that reaches PCI_MSI_FLAGS (offset <= 2 <= offset +
    count): vconfig's Message Control, MSI Enable cleared unless the user's interrupts are MSI
    (they are enabled by SET_IRQS) and Multiple Message Enable no more than msi_qmax, is written
    back to vconfig and to hardware (pci_user_write_config_word)."""
    v = m.state.vfio
    flags = v.vconfig_msi_flags
    if v.irq != "msi":
        flags &= ~0x1                               # PCI_MSI_FLAGS_ENABLE
    if (flags & 0x70) >> 4 > v.msi_qmax:            # PCI_MSI_FLAGS_QSIZE
        flags = (flags & ~0x70) | (v.msi_qmax << 4)
    v.vconfig_msi_flags = flags
    m.io.write(m.caps.msi + 2, 2, flags)


def _default_write(m, pos: int, n: int, val: int) -> None:
    """vfio_default_config_write: nothing without a write bit; writable virtual bits to vconfig,
    writable bits not virtual to hardware in a read-modify-write of the piece."""
    cmap = m.vfio_map
    write = virt = 0
    for i in range(n):
        write |= int(cmap.write[pos + i]) << (8 * i)
        virt |= int(cmap.virt[pos + i]) << (8 * i)
    if not write:
        return
    if write & virt:
        _vconfig_put(m, pos, n, val, write & virt)
    if write & ~virt:
        _write_hw_bits(m, pos, n, val, write & ~virt)


def _vconfig_put(m, pos: int, n: int, val: int, mask: int) -> None:
    """vconfig's bytes take the masked bits of the user's value. The model keeps the vconfig
    bytes a write function reads (Command, the BARs, MSI Message Control, DEVCTL); the others
    are virtual only."""
    v, exp = m.state.vfio, m.caps.exp
    for i in range(n):
        b, mb, vb = pos + i, (mask >> (8 * i)) & 0xFF, (val >> (8 * i)) & 0xFF
        if not mb:
            continue
        if b in (PCI_COMMAND, PCI_COMMAND + 1):
            sh = 8 * (b - PCI_COMMAND)
            v.vconfig_command = (v.vconfig_command & ~(mb << sh)) | ((vb & mb) << sh)
        elif 0x10 <= b < 0x28:
            k, sh = (b - 0x10) // 4, 8 * (b % 4)
            v.vconfig_bars[k] = (v.vconfig_bars[k] & ~(mb << sh)) | ((vb & mb) << sh)
        elif m.caps.msi and b in (m.caps.msi + 2, m.caps.msi + 3):
            sh = 8 * (b - m.caps.msi - 2)
            v.vconfig_msi_flags = (v.vconfig_msi_flags & ~(mb << sh)) | ((vb & mb) << sh)
        elif exp and b in (exp + PCI_EXP_DEVCTL, exp + PCI_EXP_DEVCTL + 1):
            sh = 8 * (b - exp - PCI_EXP_DEVCTL)
            v.vconfig_devctl = (v.vconfig_devctl & ~(mb << sh)) | ((vb & mb) << sh)


def _pm_state_write(m, val: int) -> None:
    """vfio_pm_config_write for a piece at PCI_PM_CTRL: vfio_lock_and_set_power_state to the
    PowerState written, whatever it was (vfio_pci_set_power_state and __pci_set_power_state decide
    what changes: D1/D2 need the function's support, pci_set_low_power_state)."""
    with m.as_kernel():
        vfio_pci_set_power_state(m, val & 0x3)


def vfio_flr_trap(m) -> None:
    """vfio_exp_config_write's FLR: the virtual Initiate FLR cleared (it always reads 0); if
    DEVCAP, read now, has FLR, pci_try_reset_function."""
    exp, v = m.caps.exp, m.state.vfio
    v.vconfig_devctl &= ~0x8000
    with m.in_step("vfio_exp_config_write/FLR"), m.as_kernel():
        if m.io.read(exp + 0x04, 4) & 0x10000000:          # PCI_EXP_DEVCAP_FLR
            pci_reset_function(m)


def vfio_readrq(m) -> None:
    """vfio_exp_config_write's MRRS: the virtual MRRS to hardware as the kernel's
    pcie_set_readrq(max(MRRS, MPS as DEVCTL reads))."""
    exp, v = m.caps.exp, m.state.vfio
    with m.in_step("vfio_exp_config_write/MRRS"), m.as_kernel():
        mps = 128 << ((m.io.read(exp + PCI_EXP_DEVCTL, 2) >> 5) & 0x7)   # pcie_get_mps
        rq = max(128 << ((v.vconfig_devctl & DEVCTL_READRQ) >> 12), mps)
        if rq <= 4096:                                       # pcie_set_readrq: else -EINVAL
            cur = m.io.read(exp + PCI_EXP_DEVCTL, 2)
            m.io.write(exp + PCI_EXP_DEVCTL, 2, (cur & ~DEVCTL_READRQ) | ((rq.bit_length() - 8) << 12))
