"""pci_save_state (drivers/pci/pci.c, kernel.md §2) and the blob functions (§1.3).

Each save step is a function keyed by the policy's save-step name. A save bumps the device's
save counter; every buffer it fills is tagged with that number (its epoch), so a restore can tell
which buffers the current snapshot's save really filled."""

from __future__ import annotations

from .caps import pcie_reg_implemented
from .live_flags import gate_open
from .state import Blob, KernelDev

PCI_EXP_SAVED_REGS = (0x08, 0x10, 0x18, 0x1C, 0x28, 0x30, 0x38)  # DEVCTL LNKCTL SLTCTL RTCTL DEVCTL2 LNKCTL2 SLTCTL2


def save_config_space(m, epoch: int) -> bool:
    """pci_save_state: dwords 0x00..0x3C, ascending; no accessibility check in v7.1.3."""
    dev = m.state.dev
    for i in range(16):
        dev.saved_config[i] = m.io.read_checked(4 * i, 4)   # snapshot_all_ones owns an all-ones snapshot
    dev.config_epoch = epoch
    dev.bar_epoch = [epoch] * 6
    if dev.saved_config[1] == 0xFFFFFFFF:
        m.oracle.report("snapshot_all_ones", "config", "a device that answers", "Command/Status read 0xffffffff")
        m.oracle.read_lost_op = m.op_index   # the rest of this save's reads are that finding too
    dev.state_saved = True
    return True


def save_pcie(m, epoch: int) -> bool:
    """pci_save_pcie_state: seven words (SLTCTL2 always 0), then L1SS and LTR."""
    exp = m.caps.exp
    if not exp:
        return True
    buf = m.state.dev.buffer(0x10, False)
    if buf is None:
        return False  # -ENOMEM: pci_save_state returns early
    for i, reg in enumerate(PCI_EXP_SAVED_REGS):
        val = m.io.read(exp + reg, 2) if pcie_reg_implemented(m, reg) else 0
        buf.set_u16(i, val)
    buf.epoch = epoch
    save_l1ss(m, epoch)
    save_ltr(m, epoch)
    return True


def save_l1ss(m, epoch: int) -> None:
    """pci_save_aspm_l1ss_state: child CTL2, CTL1, then the parent's into the parent's buffer."""
    l1ss, port = m.caps.l1ss, m.state.port
    if not l1ss or port is None or not m.port_caps.l1ss:
        return
    buf = m.state.dev.buffer(0x1E, True)
    pbuf = port.dev.buffer(0x1E, True)
    if buf is None or pbuf is None:
        return
    buf.set_u32(1, m.io.read(l1ss + 0x0C, 4))
    buf.set_u32(0, m.io.read(l1ss + 0x08, 4))
    buf.epoch = epoch
    pl = m.port_caps.l1ss
    pbuf.set_u32(1, m.io.read(pl + 0x0C, 4, "port"))
    pbuf.set_u32(0, m.io.read(pl + 0x08, 4, "port"))
    pbuf.epoch = epoch


def save_ltr(m, epoch: int) -> None:
    """pci_save_ltr_state: the max-latency dword at LTR+4."""
    ltr = m.caps.ltr
    buf = m.state.dev.buffer(0x18, True)
    if ltr and buf is not None:
        buf.set_u32(0, m.io.read(ltr + 4, 4))
        buf.epoch = epoch


def save_pcix(m, epoch: int) -> bool:
    """pci_save_pcix_state: the PCI-X Command word."""
    if not m.caps.pcix:
        return True
    buf = m.state.dev.buffer(0x07, False)
    if buf is None:
        return False
    buf.set_u16(0, m.io.read(m.caps.pcix + 2, 2))
    buf.epoch = epoch
    return True


def save_dpc(m, epoch: int) -> bool:
    """pci_save_dpc_state: DPC Control, only once a buffer exists (portdrv DPC bound)."""
    buf = m.state.dev.buffer(0x1D, True)
    if m.caps.dpc and buf is not None:
        buf.set_u16(0, m.io.read(m.caps.dpc + 6, 2))
        buf.epoch = epoch
    return True


def save_aer(m, epoch: int) -> bool:
    """pci_save_aer_state: Uncor Mask, Uncor Severity, Cor Mask, Cap/Ctl (+ Root Error Command)."""
    aer = m.caps.aer
    buf = m.state.dev.buffer(0x01, True)
    if aer and buf is not None:
        for i, reg in enumerate(m.aer_saved_regs()):
            buf.set_u32(i, m.io.read(aer + reg, 4))
        buf.epoch = epoch
    return True


def save_ptm(m, epoch: int) -> bool:
    """pci_save_ptm_state: the PTM Control dword."""
    buf = m.state.dev.buffer(0x1F, True)
    if m.caps.ptm and buf is not None:
        buf.set_u32(0, m.io.read(m.caps.ptm + 8, 4))
        buf.epoch = epoch
    return True


def save_tph(m, epoch: int) -> bool:
    """pci_save_tph_state: Control then the ST entries, only while tph_enabled (gate in policy)."""
    tph = m.caps.tph
    buf = m.state.dev.buffer(0x17, True)
    if not tph or buf is None:
        return True
    buf.set_u32(0, m.io.read(tph + 8, 4))
    for i in range(m.tph_st_entries()):
        buf.set_u16(2 + i, m.io.read(tph + 0x0C + 2 * i, 2))
    buf.epoch = epoch
    return True


def save_vc(m, epoch: int) -> bool:
    """pci_save_vc_state: Port VC Control (4-byte slot), then each VC's Resource Control.

    Arbitration tables are not modelled (their registers are opaque in the device model)."""
    for cap_id, off in m.caps.vc:
        buf = m.state.dev.buffer(cap_id, True)
        if buf is None:
            return False
        buf.set_u32(0, m.io.read(off + 0x0C, 2))
        for n in range(m.vc_count(off)):
            buf.set_u32(1 + n, m.io.read(off + 0x10 + 12 * n + 4, 4))
        buf.epoch = epoch
    return True


SAVE_STEPS = {
    "config_space": save_config_space,
    "pcie": save_pcie,
    "pcix": save_pcix,
    "dpc": save_dpc,
    "aer": save_aer,
    "ptm": save_ptm,
    "tph": save_tph,
    "vc": save_vc,
}

def pci_save_state(m) -> int:
    """pci_save_state: the policy's save steps in order; a step that fails ends the save."""
    dev = m.state.dev
    dev.save_count += 1
    epoch = dev.save_count
    m.latest_save_epoch = epoch
    dev.partial_load = False
    for step in m.policy.save_steps:
        if not gate_open(step.gate, step.name, dev):
            continue
        with m.in_step(f"pci_save_state/{step.name}"):
            if not SAVE_STEPS[step.name](m, epoch):
                return -12  # -ENOMEM
    return 0


# --- the blob (§1.3) -------------------------------------------------------------------------

def pci_store_saved_state(dev: KernelDev) -> Blob | None:
    """NULL unless state_saved; otherwise the snapshot as it stands, in hlist (reverse) order."""
    if not dev.state_saved:
        return None
    records = [(b.cap_id, b.extended, bytes(b.data), b.epoch) for b in reversed(dev.buffers)]
    return Blob(list(dev.saved_config), dev.config_epoch, records)


def pci_load_saved_state(m, blob: Blob | None) -> int:
    """Clear state_saved; copy config, then each record; a record with no same-size buffer
    fails with -EINVAL after earlier ones were already copied (partial load)."""
    dev = m.state.dev
    dev.state_saved = False
    if blob is None:
        return 0
    dev.saved_config[:] = blob.config
    dev.config_epoch = blob.config_epoch
    dev.bar_epoch = [blob.config_epoch] * 6
    for cap_id, extended, data, epoch in blob.records:
        buf = dev.buffer(cap_id, extended)
        if buf is None or buf.size != len(data):
            dev.partial_load = True
            return -22  # -EINVAL
        buf.data[:] = data
        buf.epoch = epoch
    dev.partial_load = False
    dev.state_saved = True
    return 0
