"""vfio-pci (drivers/vfio/pci/vfio_pci_core.c, vfio_pci_config.c, vfio_pci_intrs.c; §5.6, §6)."""

from __future__ import annotations

from . import msi
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
    v.vconfig_command = m.io.read(PCI_COMMAND, 2)
    v.vconfig_bars = [m.io.read(0x10 + 4 * i, 4) for i in range(6)]
    v.rbar = list(v.vconfig_bars) + [m.io.read(PCI_ROM_ADDRESS, 4)]
    if m.caps.exp:
        v.vconfig_devctl = m.io.read(m.caps.exp + PCI_EXP_DEVCTL, 2) & DEVCTL_VIRT


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
            cmd = _memory_lock_and_enable(m, bracket)
            msi.msi_request_irq(m)
            _memory_unlock_and_restore(m, cmd)
    elif index == "intx":
        v.irq = "intx"
        v.intx_masked = v.virq_disabled
        msi.pci_intx_for_msi(m, not v.intx_masked)
    return 0


def vfio_bar_rw(m, bar: int, access: str) -> int:
    """A user's pread/pwrite of BAR region `bar` (vfio_pci_rw -> vfio_pci_bar_rw, §6.10): the
    policy path vfio_pci_bar_rw."""
    from .paths import run_path
    return run_path(m, "vfio_pci_bar_rw", (bar, access))


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


def vfio_device_reset(m) -> int:
    """VFIO_DEVICE_RESET (§6.5): the policy path vfio_pci_ioctl_reset (-EINVAL unless reset_works;
    D0, which may restore pm_save; pci_try_reset_function)."""
    from .paths import run_path
    return run_path(m, "vfio_pci_ioctl_reset", "auto")


def vfio_hot_reset(m) -> int:
    """VFIO_DEVICE_PCI_HOT_RESET: without a bus reset -ENOTTY, else the policy path
    vfio_pci_dev_set_hot_reset (a VF: -EINVAL; every device in the set to D0, then pci_reset_bus)."""
    from .paths import run_path
    if m.state.port is None:
        return -25
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
    suspicious |= any(v.rbar[i] and m.io.read(0x10 + 4 * i, 4) != v.rbar[i] for i in range(6))
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


def _write_command(m, offset: int, width: int, value: int) -> None:
    """vfio_basic_config_write for a write at Command (offset 4, width 1/2/4) or its high byte
    (offset 5): at offset 4 the decode-on-after-a-reset check (vfio_bar_restore); the bytes of
    Command it covers to hardware but INTx Disable, which is virtual; vconfig's Memory/IO from an
    offset-4 write; then the INTx Disable emulation."""
    v = m.state.vfio
    shift = 8 * (offset - PCI_COMMAND)
    lane = (1 << (8 * min(width, PCI_COMMAND + 2 - offset))) - 1     # Command's bytes in the write
    cmd = ((value & lane) << shift) & 0xFFFF
    if offset == PCI_COMMAND:
        # vfio's own check and restore from its open-time rbar[]: the kernel's reads and writes,
        # not the user's (only the forwarded write below is the user's)
        with m.as_kernel():
            _bar_restore_if_reset_behind_back(m, cmd)
    # vfio_default_config_write: one read-modify-write of the whole access (a dword write at 4
    # writes Status back as read: it has no writable bit in vfio's perm)
    _write_hw_bits(m, offset, width, value, (0xFFFF & ~PCI_COMMAND_INTX_DISABLE) >> shift & lane)
    covered = lane << shift
    keep = (PCI_COMMAND_MEMORY | PCI_COMMAND_IO if offset == PCI_COMMAND else 0) | PCI_COMMAND_INTX_DISABLE
    keep &= covered
    v.vconfig_command = (v.vconfig_command & ~keep) | (cmd & keep)
    _emulate_intx_disable(m)


def _emulate_intx_disable(m) -> None:
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


def _intx_mask(m) -> None:
    """__vfio_pci_intx_mask: not using INTx, the physical bit follows the virtual one
    (pci_intx(pdev, 0)); using it, mask once. pci_2_3 (INTx masking) is taken as supported:
    a PCIe function implements INTx Disable and Interrupt Status."""
    v = m.state.vfio
    if v.irq != "intx":
        msi.pci_intx_for_msi(m, False)
    elif not v.intx_masked:
        msi.pci_intx_for_msi(m, False)
        v.intx_masked = True


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


def _write_pm(m, rel: int, width: int, value: int) -> None:
    """vfio_pm_config_write: vfio_default_config_write sends the bits init_pci_cap_pm_perm lets
    through (policy vfio.pmcsr_from_user) from the user's value, the rest of the access as read
    (PME_Status written back as read); then, for a write at PCI_PM_CTRL,
    vfio_lock_and_set_power_state whatever the state was (vfio_pci_set_power_state and
    __pci_set_power_state decide what changes). D1/D2 are not modelled: without d1/d2_support
    pci_set_low_power_state fails -EIO and nothing changes."""
    if not 4 <= rel < 8:
        return
    from ..policy.vocabulary import pmcsr_user_mask
    lane = (1 << (8 * width)) - 1
    writable = pmcsr_user_mask(m.policy.switch("vfio.pmcsr_from_user")) >> (8 * (rel - 4)) & lane
    _write_hw_bits(m, m.caps.pm + rel, width, value, writable)
    state = value & 0x3
    if rel == 4 and state in (0, 3):
        with m.as_kernel():
            vfio_pci_set_power_state(m, D0 if state == 0 else D3HOT)


# init_pci_cap_exp_perm: the PCIe capability's writable and virtual bits, by register (word)
EXP_WRITE = {0x08: 0xFFFF & ~0x0200, 0x28: 0xFFFF & ~0x0020}   # DEVCTL but Phantom; DEVCTL2 but ARI
EXP_VIRT = {0x08: DEVCTL_VIRT}


def _exp_bits(table: dict, rel: int, n: int) -> int:
    """The perm bits of the n bytes at `rel` in the capability, as one n-byte mask."""
    mask = 0
    for i in range(n):
        b = rel + i
        mask |= ((table.get(b & ~1, 0) >> (8 * (b & 1))) & 0xFF) << (8 * i)
    return mask


def _write_exp(m, rel: int, width: int, value: int) -> None:
    """vfio_config_do_rw cuts the user's access into aligned pieces (4 bytes at a dword boundary,
    else 2 at a word boundary, else 1) and runs vfio_exp_config_write on each."""
    pos, end = rel, rel + width
    while pos < end:
        n = 4 if end - pos >= 4 and pos % 4 == 0 else (2 if end - pos >= 2 and pos % 2 == 0 else 1)
        _write_exp_piece(m, pos, n, (value >> (8 * (pos - rel))) & ((1 << (8 * n)) - 1))
        pos += n


def _write_exp_piece(m, rel: int, n: int, value: int) -> None:
    """vfio_exp_config_write on one piece: vfio_default_config_write (DEVCTL's Initiate FLR, MPS
    and MRRS into vconfig, the other writable bits -- all of DEVCTL but Phantom Functions, DEVCTL2
    but ARI Forwarding -- to hardware in a read-modify-write of the piece); then a virtual
    Initiate FLR is cleared and, if DEVCAP (read now) has FLR, pci_try_reset_function; then a
    changed virtual MRRS goes to hardware as the kernel's pcie_set_readrq(max(MRRS, MPS as DEVCTL
    reads)). The other PCIe registers are not writable (nothing reaches hardware)."""
    exp, v = m.caps.exp, m.state.vfio
    write, virt = _exp_bits(EXP_WRITE, rel, n), _exp_bits(EXP_VIRT, rel, n)
    old_rq = v.vconfig_devctl & DEVCTL_READRQ
    for i in range(n):                      # the virtual bytes vconfig keeps: DEVCTL's
        b = rel + i
        if b in (PCI_EXP_DEVCTL, PCI_EXP_DEVCTL + 1):
            vb = (write & virt) >> (8 * i) & 0xFF
            sh = 8 * (b - PCI_EXP_DEVCTL)
            v.vconfig_devctl = (v.vconfig_devctl & ~(vb << sh)) | (((value >> (8 * i)) & vb) << sh)
    if write & ~virt:
        _write_hw_bits(m, exp + rel, n, value, write & ~virt)
    if v.vconfig_devctl & 0x8000:
        v.vconfig_devctl &= ~0x8000
        with m.in_step("vfio_exp_config_write/FLR"), m.as_kernel():
            if m.io.read(exp + 0x04, 4) & 0x10000000:          # PCI_EXP_DEVCAP_FLR
                pci_reset_function(m)
    if old_rq != v.vconfig_devctl & DEVCTL_READRQ:
        with m.in_step("vfio_exp_config_write/MRRS"), m.as_kernel():
            mps = 128 << ((m.io.read(exp + PCI_EXP_DEVCTL, 2) >> 5) & 0x7)   # pcie_get_mps
            rq = max(128 << ((v.vconfig_devctl & DEVCTL_READRQ) >> 12), mps)
            if rq <= 4096:                                       # pcie_set_readrq: else -EINVAL
                cur = m.io.read(exp + PCI_EXP_DEVCTL, 2)
                m.io.write(exp + PCI_EXP_DEVCTL, 2, (cur & ~DEVCTL_READRQ) | ((rq.bit_length() - 8) << 12))


AER_USER_WRITABLE = {0x04: 0xFFFFFFFF, 0x08: 0xFFFFFFFF, 0x0C: 0xFFFFFFFF, 0x10: 0xFFFFFFFF,
                     0x14: 0xFFFFFFFF, 0x18: 0x140}


def vfio_config_write(m, offset: int, width: int, value: int) -> int:
    """vfio_pci_config_rw for a write: find the region, apply its permission rule."""
    v = m.state.vfio
    value &= (1 << (8 * width)) - 1
    with m.in_step("vfio_pci_config_rw"), m.as_user():
        caps = m.caps
        if offset < 0x40:
            if offset in (PCI_COMMAND, PCI_COMMAND + 1):
                _write_command(m, offset, width, value)
            for reg in (0x0C, 0x0D, 0x0F):
                if offset <= reg < offset + width:
                    _write_hw_bits(m, reg, 1, value >> (8 * (reg - offset)), 0xFF)
            for i in range(6):
                if offset <= 0x10 + 4 * i < offset + width or offset == 0x10 + 4 * i:
                    v.vconfig_bars[i] = value if width == 4 else v.vconfig_bars[i]
            return 0
        region = m.std_region(offset)
        if region is None:
            if offset < 0x100:
                m.io.write(offset, width, value)    # a gap: unassigned_perms, vfio_raw_config_write (no read)
            elif caps.aer and caps.aer <= offset < caps.aer + 0x38:
                rel = offset - caps.aer
                mask = AER_USER_WRITABLE.get(rel & ~3, 0)
                if width == 4 and mask:
                    _write_hw_bits(m, offset, 4, value, mask)
            return 0
        cap_id, base = region
        rel = offset - base
        if cap_id == 0x01:
            _write_pm(m, rel, width, value)
        elif cap_id == 0x10:
            _write_exp(m, rel, width, value)
        elif cap_id == 0x05 and m.msi_mask_offset() and offset == m.msi_mask_offset() and width == 4:
            _write_hw_bits(m, offset, 4, value, 0xFFFFFFFF)
        elif cap_id in (0x09,):
            m.io.write(offset, width, value)        # vendor-specific: vfio_raw_config_write (no read)
    return 0
