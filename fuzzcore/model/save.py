"""pci_save_state (drivers/pci/pci.c, kernel.md §2) and the blob functions (§1.3).

Each save step is a function keyed by the policy's save-step name. A save bumps the device's
save counter; every buffer it fills is tagged with that number (its epoch), so a restore can tell
which buffers the current snapshot's save really filled."""

from __future__ import annotations

from .caps import pcie_reg_implemented
from .live_flags import gate_open
from .state import Blob, KernelDev

PCI_EXP_SAVED_REGS = (0x08, 0x10, 0x18, 0x1C, 0x28, 0x30, 0x38)  # DEVCTL LNKCTL SLTCTL RTCTL DEVCTL2 LNKCTL2 SLTCTL2


def config_save(m, dwords: str) -> None:
    """Path primitive config_save: header dwords A..B (in that order) into saved_config_space;
    this save's epoch on the snapshot and on each BAR read; an all-ones Command/Status dword is
    reported when the range covers it."""
    dev = m.state.dev
    a, _, b = dwords.partition("..")
    a, b = int(a), int(b)
    for i in range(a, b - 1, -1) if a >= b else range(a, b + 1):
        dev.saved_config[i] = m.io.read_checked(4 * i, 4)   # snapshot_all_ones owns an all-ones snapshot
        if 4 <= i <= 9:
            dev.bar_epoch[i - 4] = dev.save_count
    dev.config_epoch = dev.save_count
    if min(a, b) <= 1 <= max(a, b) and dev.saved_config[1] == 0xFFFFFFFF:
        m.oracle.report("snapshot_all_ones", "config", "a device that answers", "Command/Status read 0xffffffff")
        m.oracle.read_lost_op = m.op_index   # the rest of this save's reads are that finding too


def _cap_path(name: str):
    """A save step that is a policy path: False (-ENOMEM ends pci_save_state) when the path fails."""
    def step(m, epoch: int) -> bool:
        from .paths import run_path
        return run_path(m, name) == 0
    step.__doc__ = f"{name}: the policy path of that name."
    return step


save_config_space = _cap_path("pci_save_config_space")
save_pcie = _cap_path("pci_save_pcie_state")
save_pcix = _cap_path("pci_save_pcix_state")
save_dpc = _cap_path("pci_save_dpc_state")
save_aer = _cap_path("pci_save_aer_state")
save_ptm = _cap_path("pci_save_ptm_state")
save_tph = _cap_path("pci_save_tph_state")
save_vc = _cap_path("pci_save_vc_state")


def cap_save(m, cap: str, reg: int, width: str, slot: int) -> None:
    """pci_read_config_word/dword(dev, cap + reg, &save_state->cap.data[slot]); the buffer is
    then this save's (its epoch). A PCIe register the device type lacks reads 0."""
    from .restore import CAP_TABLE
    if cap == "port_l1ss":
        _port_l1ss_save(m, reg, slot)
        return
    base, key, _ = CAP_TABLE[cap]
    base = getattr(m.caps, base)
    buf = m.state.dev.buffer(*key) if key else None
    if not base or buf is None:
        return
    size = 2 if width == "word" else 4
    value = 0 if cap == "pcie" and not pcie_reg_implemented(m, reg) else m.io.read(base + reg, size)
    (buf.set_u16 if size == 2 else buf.set_u32)(slot, value)
    buf.epoch = _cap_save_epoch(m)


def _cap_save_epoch(m) -> int:
    """The epoch a cap_save gives its buffer: inside pci_save_state that save's; outside it (the
    kernel updating the saved state in place, as pcie_config_aspm_link does) the snapshot's own."""
    dev = m.state.dev
    return dev.save_count if m.step.startswith("pci_save_state") else dev.config_epoch


def _port_l1ss_save(m, reg: int, slot: int) -> None:
    """cap_save of the port above's L1SS register (dword) into the port's L1SS buffer."""
    port = m.state.port
    if port is None or not m.port_caps.l1ss:
        return
    pbuf = port.dev.buffer(0x1E, True)
    if pbuf is None:
        return
    pbuf.set_u32(slot, m.io.read(m.port_caps.l1ss + reg, 4, "port"))
    pbuf.epoch = _cap_save_epoch(m)


def save_l1ss(m) -> None:
    """pci_save_aspm_l1ss_state: child CTL2, CTL1, then the parent's into the parent's buffer."""
    l1ss, port = m.caps.l1ss, m.state.port
    if not l1ss or port is None or not m.port_caps.l1ss:
        return
    buf = m.state.dev.buffer(0x1E, True)
    pbuf = port.dev.buffer(0x1E, True)
    if buf is None or pbuf is None:
        return
    epoch = m.state.dev.save_count
    buf.set_u32(1, m.io.read(l1ss + 0x0C, 4))
    buf.set_u32(0, m.io.read(l1ss + 0x08, 4))
    buf.epoch = epoch
    pl = m.port_caps.l1ss
    pbuf.set_u32(1, m.io.read(pl + 0x0C, 4, "port"))
    pbuf.set_u32(0, m.io.read(pl + 0x08, 4, "port"))
    pbuf.epoch = epoch


def tph_save_st(m) -> None:
    """pci_save_tph_state's loop: the ST entries after the buffer's Control dword."""
    tph, buf = m.caps.tph, m.state.dev.buffer(0x17, True)
    if not tph or buf is None:
        return
    for i in range(m.tph_st_entries()):
        buf.set_u16(2 + i, m.io.read(tph + 0x0C + 2 * i, 2))
    buf.epoch = m.state.dev.save_count


def vc_save(m) -> bool:
    """pci_save_vc_state: Port VC Control (4-byte slot), then each VC's Resource Control; False
    (-ENOMEM) when a VC capability has no buffer.

    Arbitration tables are not modelled (their registers are opaque in the device model)."""
    for cap_id, off in m.caps.vc:
        buf = m.state.dev.buffer(cap_id, True)
        if buf is None:
            return False
        buf.set_u32(0, m.io.read(off + 0x0C, 2))
        for n in range(m.vc_count(off)):
            buf.set_u32(1 + n, m.io.read(off + 0x10 + 12 * n + 4, 4))
        buf.epoch = m.state.dev.save_count
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
