"""pci_restore_state (drivers/pci/pci.c, kernel.md §3): the policy's restore steps in order.

One function per step, keyed by the policy's step name; each names the upstream function it
mirrors. A step's gate (always / live_flag / never) and source (snapshot / live) come from the
policy; the step checks the buffers it reads from (epoch) as it goes."""

from __future__ import annotations

from . import msi
from .caps import pcie_reg_implemented
from .live_flags import gate_open
from .save import PCI_EXP_SAVED_REGS
from .state import D0
from ..policy.paths import CAP_VALUE_FIELDS

PCI_EXP_DEVCTL2 = 0x28
PCI_EXP_DEVCTL2_LTR_EN = 0x400
PCI_EXP_LNKCTL = 0x10
PCI_EXP_LNKCTL_ASPMC = 0x3
PCI_L1SS_CTL1 = 0x08
PCI_L1SS_CTL2 = 0x0C
PCI_L1SS_CTL1_L1_2_MASK = 0x5   # PCI-PM L1.2 | ASPM L1.2


def _check_epoch(m, buf, register: str) -> None:
    """A restore may only push a buffer that the snapshot's own save filled (H2/H3). Not for a
    snapshot whose save read all-ones (its Command/Status dword): that save found no capability,
    so it kept the older buffers, and the restore's harm is the all-ones one (restore_all_ones)."""
    dev = m.state.dev
    if dev.saved_config[1] == 0xFFFFFFFF:
        return
    if buf.epoch != dev.config_epoch:
        actual = "never saved (zeros)" if buf.epoch == 0 else f"filled by save #{buf.epoch}"
        m.oracle.report("restore_unsaved_buffer", register, f"filled by save #{dev.config_epoch}", actual)


# --- step 1 -----------------------------------------------------------------------------------

def restore_ltr(m) -> None:
    """pci_restore_ltr_state: latencies back before DEVCTL2 re-enables LTR."""
    buf = m.state.dev.buffer(0x18, True)
    if m.caps.ltr and buf is not None:
        _check_epoch(m, buf, "LTR")
        m.io.write(m.caps.ltr + 4, 4, buf.u32(0))


def l1ss_link(m):
    """(child buffer, parent buffer) when pci_restore_aspm_l1ss_state goes on: the function and
    its parent both have L1SS and a saved-state buffer for it (an endpoint: the link is handled
    from its lower end); None otherwise."""
    port = m.state.port
    if not m.caps.l1ss or port is None or not m.port_caps.l1ss:
        return None
    buf, pbuf = m.state.dev.buffer(0x1E, True), port.dev.buffer(0x1E, True)
    if buf is None or pbuf is None:
        return None
    return buf, pbuf


def l1ss_aspm(m, state: str) -> None:
    """pci_restore_aspm_l1ss_state's LNKCTL bracket. "off": read both LNKCTLs, and if either has
    ASPM L0s/L1 on, write both (child, then parent) without it; "back": if it was on, write the
    values read back (parent, then child). Like every L1SS primitive, nothing without the link
    (a path whose `stop_no_link` an overlay removed)."""
    if l1ss_link(m) is None:
        return
    exp, pexp = m.caps.exp, m.port_caps.exp
    if state == "off":
        clnk = m.io.read(exp + PCI_EXP_LNKCTL, 2)
        plnk = m.io.read(pexp + PCI_EXP_LNKCTL, 2, "port")
        m.l1ss_lnkctl = (clnk, plnk) if (clnk | plnk) & PCI_EXP_LNKCTL_ASPMC else None
        if m.l1ss_lnkctl:
            m.io.write(exp + PCI_EXP_LNKCTL, 2, clnk & ~PCI_EXP_LNKCTL_ASPMC)
            m.io.write(pexp + PCI_EXP_LNKCTL, 2, plnk & ~PCI_EXP_LNKCTL_ASPMC, "port")
    elif m.l1ss_lnkctl:
        clnk, plnk = m.l1ss_lnkctl
        m.io.write(pexp + PCI_EXP_LNKCTL, 2, plnk, "port")
        m.io.write(exp + PCI_EXP_LNKCTL, 2, clnk)


def l1ss_clear_l12(m, end: str) -> None:
    """pci_clear_and_set_config_dword(CTL1, L1_2_MASK, 0) at one end of the link."""
    if l1ss_link(m) is None:
        return
    target, off = ("dev", m.caps.l1ss) if end == "child" else ("port", m.port_caps.l1ss)
    v = m.io.read(off + PCI_L1SS_CTL1, 4, target)
    m.io.write(off + PCI_L1SS_CTL1, 4, v & ~PCI_L1SS_CTL1_L1_2_MASK, target)


def l1ss_saved(m, end: str, reg: str) -> int:
    """A saved L1SS value: the child's buffer holds the child's CTL2, CTL1; the parent's buffer
    (filled by the child's save) the parent's."""
    buf, pbuf = l1ss_link(m)
    b = buf if end == "child" else pbuf
    return b.u32(1) if reg == "ctl2" else b.u32(0)


L1SS_WRITES = {   # l1ss_write's value: (end, register, L1.2 enables kept)
    "parent_ctl2": ("parent", "ctl2", True), "child_ctl2": ("child", "ctl2", True),
    "parent_ctl1_no_l12": ("parent", "ctl1", False), "child_ctl1_no_l12": ("child", "ctl1", False),
    "parent_ctl1": ("parent", "ctl1", True), "child_ctl1": ("child", "ctl1", True),
}


def l1ss_write(m, value: str) -> None:
    """One write of pci_restore_aspm_l1ss_state from the saved values: CTL2, CTL1 without the
    L1.2 enables, or CTL1 whole. The oracle checks the child's buffer (which the child's save
    fills for both ends) is the snapshot's, as cap_restore does, and that the parent's half was
    saved at all."""
    link = l1ss_link(m)
    if link is None:
        return
    check_l1ss_buffer(m)
    end, reg, keep = L1SS_WRITES[value]
    if end == "parent" and link[1].epoch == 0:
        # the parent's half from a buffer no save ever filled (pci_save_aspm_l1ss_state before
        # 1db806ec06b7 saved only the child's): zeros pushed into the port's L1SS
        m.oracle.report("restore_unsaved_buffer", "L1SS", f"filled by save #{m.state.dev.config_epoch}",
                        "never saved (zeros)")
    v = l1ss_saved(m, end, reg)
    if not keep:
        v &= ~PCI_L1SS_CTL1_L1_2_MASK
    target, off = ("dev", m.caps.l1ss) if end == "child" else ("port", m.port_caps.l1ss)
    m.io.write(off + (PCI_L1SS_CTL2 if reg == "ctl2" else PCI_L1SS_CTL1), 4, v, target)


def l1ss_l12_saved(m) -> bool:
    """pl_l1_2_enable || cl_l1_2_enable: either saved CTL1 has an L1.2 enable."""
    if l1ss_link(m) is None:
        return False
    return bool((l1ss_saved(m, "parent", "ctl1") | l1ss_saved(m, "child", "ctl1")) & PCI_L1SS_CTL1_L1_2_MASK)


def check_l1ss_buffer(m) -> None:
    """The oracle's epoch check of the child's L1SS buffer (H2/H3); each l1ss_write makes it (the
    primitive of that name stays for overlays that state it as a step)."""
    link = l1ss_link(m)
    if link is not None:
        _check_epoch(m, link[0], "L1SS")


def bridge_reconfigure_ltr(m) -> None:
    """pci_bridge_reconfigure_ltr: a port on an LTR path gets LTR Enable back (link down clears it)."""
    port = m.state.port
    if port is None or not port.dev.ltr_path or not m.port_caps.exp:
        return
    off = m.port_caps.exp + PCI_EXP_DEVCTL2
    v = m.io.read(off, 2, "port")
    if not v & PCI_EXP_DEVCTL2_LTR_EN:
        m.io.write(off, 2, v | PCI_EXP_DEVCTL2_LTR_EN, "port")


def restore_pcie(m, step) -> None:
    """pci_restore_pcie_state: the policy path of that name (LTR, L1SS, then DEVCTL..LNKCTL2 from
    the PCIe buffer, §3.1)."""
    from .paths import run_path
    run_path(m, "pci_restore_pcie_state")


def pcie_buffer(m):
    """The PCIe saved-state buffer, None without one (or without a PCIe capability)."""
    buf = m.state.dev.buffer(0x10, False)
    return buf if m.caps.exp and buf is not None else None


def restore_pcie_registers(m) -> None:
    """pcie_capability_write_word of DEVCTL, LNKCTL, SLTCTL, RTCTL, DEVCTL2, LNKCTL2 from the
    buffer, each where the capability implements it (SLTCTL2 is saved, never written back)."""
    buf = pcie_buffer(m)
    if buf is None:
        return
    _check_epoch(m, buf, "PCIe")
    for i, reg in enumerate(PCI_EXP_SAVED_REGS):
        if reg == 0x38 or not pcie_reg_implemented(m, reg):
            continue
        m.io.write(m.caps.exp + reg, 2, buf.u16(i))


# --- capability registers: the cap_* primitives the capability restore paths call ----------

# paths.CAPABILITIES name -> (CapOffsets attribute, saved-state buffer (id, extended) or None, the
# name the oracle reports a buffer by)
CAP_TABLE = {
    "pcie": ("exp", (0x10, False), "PCIe"), "pcix": ("pcix", (0x07, False), "PCI-X"),
    "ltr": ("ltr", (0x18, True), "LTR"), "dpc": ("dpc", (0x1D, True), "DPC"), "aer": ("aer", (0x01, True), "AER"),
    "ptm": ("ptm", (0x1F, True), "PTM"), "tph": ("tph", (0x17, True), "TPH"), "pasid": ("pasid", None, ""),
    "pri": ("pri", None, ""), "ats": ("ats", None, ""), "sriov": ("sriov", None, ""), "acs": ("acs", None, ""),
    "rebar": ("rebar", None, ""), "l1ss": ("l1ss", (0x1E, True), "L1SS"),
    "port_l1ss": ("", None, ""),        # cap_save only (the port's buffer): save.cap_save
}


def _cap_register(m, cap: str, reg: int) -> int:
    """The register's config offset; 0 when the function lacks the capability or, for the PCIe
    capability, the register (pcie_capability_write_word skips it)."""
    base = getattr(m.caps, CAP_TABLE[cap][0]) if CAP_TABLE[cap][0] else 0
    if not base or (cap == "pcie" and not pcie_reg_implemented(m, reg)):
        return 0
    return base + reg


def cap_restore(m, cap: str, reg: int, width: str, slot: int) -> None:
    """pci_write_config_word/dword(dev, cap + reg, save_state->cap.data[slot])."""
    where = _cap_register(m, cap, reg)
    key = CAP_TABLE[cap][1]
    buf = m.state.dev.buffer(*key) if key else None
    if not where or buf is None:
        return
    _check_epoch(m, buf, CAP_TABLE[cap][2])
    size = 2 if width == "word" else 4
    m.io.write(where, size, buf.u16(slot) if size == 2 else buf.u32(slot))


def cap_value(m, value: str, arg=None) -> int:
    """paths.CAP_VALUES: the kernel expression of live state a cap_write writes (`arg`: the path's)."""
    d = m.state.dev
    if value == "nr_virtfn":
        return arg
    if value in ("local_a", "local_b"):
        return m.path_locals[0 if value == "local_a" else 1]
    if value in ("aspm_upstream", "aspm_downstream"):       # pcie_config_aspm_link's upstream / dwstream
        l0s = 0x1 if m.aspm_target & (0x2 if value == "aspm_upstream" else 0x1) else 0   # L0S_DW / L0S_UP
        return l0s | (0x2 if m.aspm_target & 0x4 else 0)   # PCI_EXP_LNKCTL_ASPM_L0S, _L1
    if value == "l1ss_enables":                             # pcie_config_aspm_l1ss's val
        t = m.aspm_target
        return (0x8 if t & 0x08 else 0) | (0x4 if t & 0x10 else 0) | (0x2 if t & 0x20 else 0) | (0x1 if t & 0x40 else 0)
    if value == "clkreq_on":
        return 0x100                                        # PCI_EXP_LNKCTL_CLKREQ_EN
    if value == "aer_flags":
        return 0xF                                          # PCI_EXP_AER_FLAGS (drivers/pci/pci.h)
    if value in ("aspm_off", "l1ss_off", "ptm_off"):
        return 0
    if value in ("ptm_ctrl", "port_ptm_ctrl", "ptm_ctrl_root", "port_ptm_ctrl_root"):   # __pci_enable_ptm
        info = m.port_ptm if value.startswith("port_") else m.ptm
        gran = info.granularity if info is not None else 0
        return 0x1 | (gran << 8) | (0x2 if value.endswith("_root") else 0)
    if value == "pasid_ctrl":
        return 0x1 | d.pasid_features
    if value == "pri_reqs_alloc":
        return d.pri_reqs_alloc
    if value == "pri_enable":
        return 0x1
    if value == "ptm_enable":
        return 0x1 if d.ptm_enable_cnt else 0
    if value == "ats_enable":
        return 0x8000
    if value == "ats_ctrl":
        return 0x8000 | ((d.ats_stu - 12) & 0x1F)
    if value == "tph_ctrl":
        return d.tph_mode | (d.tph_req_type << 8)
    if value == "sriov_ari":
        return d.sriov_ctrl & 0x10
    if value == "sriov_pgsz":
        return d.sriov_pgsz
    if value == "sriov_num_vfs":
        return d.sriov_num_vfs
    if value in ("ats_off", "pri_off", "zero"):
        return 0
    if value == "pri_reset":
        return 0x2                                          # PCI_PRI_CTRL_RESET
    if value == "acs_iommu":                                # pci_std_enable_acs: SV, RR, CR, UF where capable
        return m.io.read(m.caps.acs + 0x04, 2) & (ACS_SV | ACS_RR | ACS_CR | ACS_UF)
    return d.sriov_ctrl                                     # sriov_ctrl


def _cap_target(m, cap: str, reg: int, port: bool) -> tuple[int, str]:
    """(offset, target) of a cap_* step's register: the function's, or with port the upstream
    port's capability (a Root or Downstream Port: every PCIe register it has is implemented);
    offset 0 without the capability."""
    if port:
        base = getattr(m.port_caps, CAP_TABLE[cap][0]) if CAP_TABLE[cap][0] and m.state.port is not None else 0
        return (base + reg if base else 0), "port"
    return _cap_register(m, cap, reg), "dev"


def read_local(m, cap: str, reg: int, width: str, local: str, port: bool) -> None:
    """Path primitive read_local: the register (the function's, or the port's with port) read into
    the path's local; nothing without the capability."""
    where, target = _cap_target(m, cap, reg, port)
    if where:
        m.path_locals[0 if local == "a" else 1] = m.io.read(where, 2 if width == "word" else 4, target)


def cap_write(m, cap: str, reg: int, width: str, value: str, merge: bool, arg=None, port=False) -> None:
    """pci_write_config_word/dword(dev, cap + reg, value); merge: the register read first and only
    the value's field replaced. A merge write inside a restore, from an all-ones read, states no
    intent (Oracle.note_write: restore_rmw). port: the upstream port's capability (a Root or
    Downstream Port: every PCIe register it has is implemented)."""
    where, target = _cap_target(m, cap, reg, port)
    if not where:
        return
    size = 2 if width == "word" else 4
    v, field = cap_value(m, value, arg), CAP_VALUE_FIELDS[value]
    if not merge:
        m.io.write(where, size, v & ((1 << 8 * size) - 1), target)
        return
    v = (m.io.read(where, size, target) & ~field) | (v & field)
    m.restore_rmw = True
    try:
        m.io.write(where, size, v & ((1 << 8 * size) - 1), target)
    finally:
        m.restore_rmw = False


def tph_restore_st(m) -> None:
    """pci_restore_tph_state's loop: each ST entry from the buffer after its Control dword, as many
    as the live capability's table size (and the buffer) holds."""
    tph, buf = m.caps.tph, m.state.dev.buffer(0x17, True)
    if not tph or buf is None:
        return
    _check_epoch(m, buf, "TPH")
    for i in range(min(m.tph_st_entries(), (buf.size - 4) // 2)):
        m.io.write(tph + 0x0C + 2 * i, 2, buf.u16(2 + i))


def _cap_path(name: str):
    """A restore step that is a policy path; the step's source is the path's argument (source_live)."""
    def step(m, st) -> None:
        from .paths import run_path
        run_path(m, name, st.source)
    step.__doc__ = f"{name}: the policy path of that name."
    return step


restore_pasid = _cap_path("pci_restore_pasid_state")
restore_pri = _cap_path("pci_restore_pri_state")
restore_ats = _cap_path("pci_restore_ats_state")


# --- step 5: VC (drivers/pci/vc.c) -------------------------------------------------------------

restore_vc = _cap_path("pci_restore_vc_state")

VC_KINDS = {"mfvc": 0x08, "vc": 0x02, "vc9": 0x09}    # paths vc_restore's cap -> extended cap id
PCI_VC_RES_CTRL_ENABLE = 0x80000000


def vc_restore(m, cap: str, part: str) -> None:
    """pci_vc_do_save_buffer(save = false) for one VC capability: Port VC Control, or each VC's
    Resource Control keeping the live Enable, then pci_vc_enable where the saved Enable differs."""
    for cap_id, off in m.caps.vc:
        buf = m.state.dev.buffer(cap_id, True) if cap_id == VC_KINDS[cap] else None
        if buf is None:
            continue
        _check_epoch(m, buf, "VC")
        if part == "port_ctrl":
            m.io.write(off + 0x0C, 2, buf.u32(0) & 0xFFFF)
            continue
        for n in range(m.vc_count(off)):
            reg = off + 0x14 + 12 * n
            saved = buf.u32(1 + n)
            tmp = (m.io.read(reg, 4) & PCI_VC_RES_CTRL_ENABLE) | (saved & ~PCI_VC_RES_CTRL_ENABLE)
            m.io.write(reg, 4, tmp)
            if (saved ^ tmp) & PCI_VC_RES_CTRL_ENABLE:
                _pci_vc_enable(m, reg)


def _pci_vc_enable(m, reg: int) -> None:
    """pci_vc_enable: only from the downstream end of a link (pcie_downstream_port: a Root or
    Downstream Port, a PCIe-to-PCI bridge); Resource Control re-read and written with Enable set.
    The partner's end (dev->bus->self) is not modelled."""
    if not m.caps.exp or m.caps.exp_type not in (0x4, 0x6, 0x8):
        return
    m.io.write(reg, 4, m.io.read(reg, 4) | PCI_VC_RES_CTRL_ENABLE)


# --- step 6: ReBAR ----------------------------------------------------------------------------

restore_rebar = _cap_path("pci_restore_rebar_state")


def rebar_restore_sizes(m) -> None:
    """pci_restore_rebar_state's loop: BAR Size from the live resource size (§3.4)."""
    off = m.caps.rebar
    if not off:
        return
    nbars = (m.io.read(off + 8, 4) >> 5) & 0x7
    for i in range(nbars):
        ctrl = m.io.read(off + 8 + 8 * i, 4)
        bar = ctrl & 0x7
        size = m.state.dev.resource_sizes[bar] if bar < 6 else 0  # resource_size() of a non-BAR index
        enc = max(size.bit_length() - 1 - 20, 0) if size else 0
        m.restore_rmw = True            # Control as read, BAR Size replaced: intent as any kernel RMW
        try:
            m.io.write(off + 8 + 8 * i, 4, (ctrl & ~0x1F00) | (enc << 8))
        finally:
            m.restore_rmw = False


# --- steps 7-11 ---------------------------------------------------------------------------------

restore_dpc = _cap_path("pci_restore_dpc_state")
restore_ptm = _cap_path("pci_restore_ptm_state")
restore_tph = _cap_path("pci_restore_tph_state")


aer_clear_status = _cap_path("pci_aer_clear_status")


def cap_write_back(m, cap: str, reg: int, width: str) -> None:
    """A status register read and written back: its set RW1C bits clear."""
    where = _cap_register(m, cap, reg)
    if not where:
        return
    size = 2 if width == "word" else 4
    m.io.write(where, size, m.io.read(where, size))


restore_aer = _cap_path("pci_restore_aer_state")


# --- step 12: the header (§3.6) -----------------------------------------------------------------

def _restore_dword(m, index: int, retry: int, force: bool) -> None:
    """pci_restore_config_dword: skip if equal (unless forced); retry BARs up to `retry` times."""
    saved = m.state.dev.saved_config[index]
    offset = 4 * index
    if not force and m.io.read(offset, 4) == saved:
        m.oracle.note_write(0, offset, 4, saved)   # checked equal: the snapshot is what it means
        return
    if saved == 0xFFFFFFFF:
        m.oracle.check_all_ones_write(index)
    while True:
        m.io.write(offset, 4, saved)
        if retry <= 0 or m.io.read(offset, 4) == saved:
            return
        retry -= 1


def restore_config_space(m, step) -> None:
    """pci_restore_config_space: the snapshot's BARs checked against the kernel's resources, then
    the policy path pci_restore_config_space (type 0: 15..10, BARs 9..4 with retry 10, 3..0 with
    Command+Status as one dword, last; type 1: 15..12, 11..9 forced, 8..0)."""
    from .paths import run_path
    m.oracle.check_snapshot_bars()
    run_path(m, "pci_restore_config_space")


def config_dwords(m, dwords: str, retry: int, force: bool) -> None:
    """pci_restore_config_space_range: dword A to dword B of the snapshot, in that order."""
    a, _, b = dwords.partition("..")
    a, b = int(a), int(b)
    for i in range(a, b - 1, -1) if a >= b else range(a, b + 1):
        _restore_dword(m, i, retry, force)


# --- steps 13-16 --------------------------------------------------------------------------------

restore_pcix = _cap_path("pci_restore_pcix_state")


def restore_msi(m, step) -> None:
    """pci_restore_msi_state: MSI then MSI-X, each only when its live flag is set (§4)."""
    msi.restore_msi(m)
    msi.restore_msix(m)


ACS_SV, ACS_TB, ACS_RR, ACS_CR, ACS_UF = 0x1, 0x2, 0x4, 0x8, 0x10


enable_acs = _cap_path("pci_enable_acs")


restore_iov = _cap_path("pci_restore_iov_state")


RESTORE_STEPS = {
    "pcie": restore_pcie,
    "pasid": restore_pasid,
    "pri": restore_pri,
    "ats": restore_ats,
    "vc": restore_vc,
    "rebar": restore_rebar,
    "dpc": restore_dpc,
    "ptm": restore_ptm,
    "tph": restore_tph,
    "aer_clear_status": aer_clear_status,
    "aer": restore_aer,
    "config_space": restore_config_space,
    "pcix": restore_pcix,
    "msi": restore_msi,
    "acs": enable_acs,
    "iov": restore_iov,
}

def pci_restore_state(m, intended_epoch: bool = False) -> None:
    """pci_restore_state: no entry gate since a2f1e22390ac (policy: gate_on_state_saved); the
    steps in policy order; then state_saved is cleared."""
    dev = m.state.dev
    with m.in_step("pci_restore_state"):
        if m.policy.switch("restore.gate_on_state_saved") and not dev.state_saved:
            return
        m.oracle.before_restore(intended_epoch)
        stale = _aer_status(m)              # error_status_stale: set at the start, not cleared since
        for step in m.policy.restore_steps:
            if not gate_open(step.gate, step.name, dev):
                continue
            with m.in_step(f"pci_restore_state/{step.name}"):
                RESTORE_STEPS[step.name](m, step)
            if stale != (0, 0):
                now = _aer_status(m)
                stale = (stale[0] & now[0], stale[1] & now[1])
        if stale != (0, 0):
            m.oracle.report("error_status_stale", "AER", "AER status cleared (pci_aer_clear_status)",
                            f"Correctable 0x{stale[0]:x}, Uncorrectable 0x{stale[1]:x} latched before the restore")
        if m.policy.switch("restore.clear_state_saved"):
            dev.state_saved = False
        if m.state.hw.accessible:   # a restore whose writes the function dropped restored nothing
            m.state.needs_restore_after_reset = False
        m.oracle.after_restore()


def _aer_status(m) -> tuple[int, int]:
    """AER Correctable and Uncorrectable Status as the function holds them, where the kernel owns
    AER and the function answers ((0, 0) otherwise: nothing the kernel would report)."""
    aer = m.caps.aer
    if not aer or not m.state.hw.accessible or not m.policy.switch("recovery.aer_native"):
        return 0, 0
    hw = m.state.hw
    return hw.read(aer + 0x10, 4), hw.read(aer + 0x04, 4)


def restore_allowed_in_d0(m) -> bool:
    return m.state.dev.current_state == D0
