"""The kernel's intent beside the hardware, field by field.

For each register field the kernel cares about, what the system means it to hold and who decided
it. Two kinds of intent:

* **derived** from kernel state the models keep, so a deliberate call (pci_assign_bar,
  pci_enable_msix, pci_set_power_state, ...) updates the intent by updating that state;
* **written**: the value the kernel, a host driver or a vfio user last wrote to the register on
  purpose (every config write the models make through Access.write is a software write; resets,
  link events, power-state context loss and other hardware side effects change the hardware
  without one). The enumeration's values (firmware and the PCI core) are the first intent. A
  kernel write of all-ones is not on purpose: it echoes a read of a function that did not answer
  (is_error_echo); nor are the set bits of any kernel write to a function that does not answer,
  which may be a read-modify-write of such a read (echo_bits): only the bits it clears count.

Either way a reset, a link event or a hardware side effect changes the hardware only:

| field | intent | who decided it | when it has one |
|---|---|---|---|
| Command.Memory, Command.IO, Command.BusMaster | written | the last deliberate write of Command (pci_enable_device, pci_set_master, pci_restore_state, vfio_basic_config_write, ...) | a driver bound (host or vfio-pci), the bit writable |
| PowerState | dev->current_state | pci_set_power_state (dev->current_state) | a PM capability |
| BAR0-BAR5 | dev->resource[n] | the PCI core's resource assignment | header type 0, the BAR implemented |
| ATS, MSI, MSI-X, PASID, PRI, PTM, SR-IOV, TPH enable | the live flag (live_flags.FEATURE_ENABLES) | the enable/disable call | the capability present |
| MSI message | the cached message (address low, data) | msi_capability_init (msi_desc) | dev->msi_enabled |
| MSI-X message | each vector's cached message (address, data) | msix_capability_init (msi_desc) | dev->msix_enabled |
| Interrupt Line, Cache Line Size/Latency Timer, ROM BAR; a bridge's bus numbers, windows and Bridge Control (Secondary Bus Reset excluded: pulsed) | written | the last deliberate write (pci_restore_config_space, pci_setup_bridge, vfio user) | the bits writable |
| DEVCTL (Initiate FLR excluded: self-clearing), LNKCTL (Retrain Link excluded), DEVCTL2, LTR Max Snoop/No-Snoop Latency, DPC Control (Software Trigger excluded: pulsed), ACS Control, the first VC capability's Port VC Control and VC0/VC1 Resource Control (the Load ... Arbitration Table bits excluded: pulsed), L1SS Control 1/2 (not on a downstream port or without an L1SS parent: pci_restore_aspm_l1ss_state leaves the pair to the downstream component), SR-IOV System Page Size | written | the last deliberate write (pci_restore_pcie_state, pci_restore_ltr_state, pci_restore_dpc_state, pci_restore_acs_state, pci_restore_vc_state, pci_restore_aspm_l1ss_state, sriov_restore_state, drivers, vfio user) | the capability present, the bits writable |
| ReBAR Control BAR Size (each entry the capability has) | written | the last deliberate write (pci_resize_resource, pci_restore_rebar_state from the resource size) | the entry present |
| a PF's VF BAR0-BAR5 (SR-IOV capability) | written | the last deliberate write (pci_iov_update_resource from dev->resource[PCI_IOV_RESOURCES + n], in sriov_restore_state and pci_restore_bars; a vfio user) | the SR-IOV capability present, the BAR implemented |
| MSI Mask Bits | written | the last deliberate write (pci_msi_update_mask, __pci_restore_msi_state) | dev->msi_enabled, per-vector masking |
| the upstream port's LNKCTL and L1SS Control 1/2 | written | the last deliberate write (ASPM, pci_restore_aspm_l1ss_state) | the port present |

vfio's virtual Command (Memory/IO while the device is open) is vconfig_mismatch's, not repeated
here.

**When the kernel believes the device usable** (`usable`): after an op completes, the function
answers config reads, `dev->error_state == pci_channel_io_normal` (no recovery in progress and no
permanent failure: `pci_channel_offline()`, include/linux/pci.h), `dev->current_state == PCI_D0`
(drivers touch the device only in D0: pci_set_power_state / pci_power_up, drivers/pci/pci.c), and
runtime PM active (`pm_runtime_suspended()` false). Then every field with an intent must equal the
hardware (invariant `intent_mismatch`), reported by the first op after which the mismatch stands
while the device is usable.

**While a restore is pending** (a reset the kernel has not yet followed with pci_restore_state,
the device otherwise usable), nothing is compared: the restore is the caller's next step. The one
exception is the BARs and VF BARs (`CORE_RESTORED`) in an op where pci_power_up reported a soft
reset (need_restore) and no pci_restore_bars followed: those the core restores itself.
"""

from __future__ import annotations

from .live_flags import FEATURE_ENABLES
from .state import D0, POWER_NAMES

# Registers whose intent is the value last written on purpose: (name, target, where, rel, width,
# bits compared, header types). `where` is "header" (rel is the offset), "rom" (0x30, or 0x38 in a
# type 1 header), a CapOffsets attribute, "msi_mask" (the MSI Mask Bits, by MsgCtl) or
# "rebar_entry" (entry `rel` of the Resizable BAR capability, if it has that many) or "sriov_bar" (a
# PF's VF BAR `rel` in its SR-IOV capability, restored from dev->resource). The bits
# compared are further limited to those the hardware lets software write (not write-1-to-clear).
WRITTEN: tuple[tuple[str, str, str, int, int, int, tuple[int, ...]], ...] = (
    ("Command", "dev", "header", 0x04, 2, 0x0007, (0, 1)),
    ("Interrupt Line", "dev", "header", 0x3C, 1, 0xFF, (0, 1)),
    ("CacheLine/Lat", "dev", "header", 0x0C, 2, 0xFFFF, (0, 1)),
    ("ROM BAR", "dev", "rom", 0, 4, 0xFFFFF801, (0, 1)),
    ("Bus Numbers", "dev", "header", 0x18, 4, 0xFFFFFFFF, (1,)),
    ("I/O Base/Limit", "dev", "header", 0x1C, 2, 0xFFFF, (1,)),
    ("Memory Base/Limit", "dev", "header", 0x20, 4, 0xFFFFFFFF, (1,)),
    ("Pref Base/Limit", "dev", "header", 0x24, 4, 0xFFFFFFFF, (1,)),
    ("Pref Base Upper", "dev", "header", 0x28, 4, 0xFFFFFFFF, (1,)),
    ("Pref Limit Upper", "dev", "header", 0x2C, 4, 0xFFFFFFFF, (1,)),
    ("I/O Upper", "dev", "header", 0x30, 4, 0xFFFFFFFF, (1,)),
    ("Bridge Control", "dev", "header", 0x3E, 2, 0xFFBF, (1,)),      # not Secondary Bus Reset
    ("DEVCTL", "dev", "exp", 0x08, 2, 0x7FFF, (0, 1)),                # not Initiate FLR
    ("LNKCTL", "dev", "exp", 0x10, 2, 0xFFDF, (0, 1)),                # not Retrain Link
    ("DEVCTL2", "dev", "exp", 0x28, 2, 0xFFFF, (0, 1)),
    ("ACS Control", "dev", "acs", 0x06, 2, 0xFFFF, (0, 1)),
    ("L1SS CTL1", "dev", "l1ss", 0x08, 4, 0xFFFFFFFF, (0, 1)),
    ("L1SS CTL2", "dev", "l1ss", 0x0C, 4, 0xFFFFFFFF, (0, 1)),
    ("MSI mask", "dev", "msi_mask", 0, 4, 0xFFFFFFFF, (0, 1)),
    ("SR-IOV PageSize", "dev", "sriov", 0x20, 4, 0xFFFFFFFF, (0, 1)),
    ("port LNKCTL", "port", "exp", 0x10, 2, 0xFFDF, (0, 1)),
    ("port L1SS CTL1", "port", "l1ss", 0x08, 4, 0xFFFFFFFF, (0, 1)),
    ("port L1SS CTL2", "port", "l1ss", 0x0C, 4, 0xFFFFFFFF, (0, 1)),
) + tuple((f"ReBAR Control{i}", "dev", "rebar_entry", i, 4, 0x1F00, (0, 1)) for i in range(6)) \
  + tuple((f"SR-IOV VF BAR{i}", "dev", "sriov_bar", i, 4, 0xFFFFFFFF, (0, 1)) for i in range(6)) + (
    ("LTR Max Snoop", "dev", "ltr", 0x04, 2, 0x1FFF, (0, 1)),        # value and scale
    ("LTR Max No-Snoop", "dev", "ltr", 0x06, 2, 0x1FFF, (0, 1)),
    ("DPC Control", "dev", "dpc", 0x06, 2, 0x00BF, (0, 1)),         # not Software Trigger (0x40: pulsed)
    # the first VC capability (VC or VC9, not MFVC): Port VC Control's VC Arbitration Select (not
    # Load VC Arbitration Table: pulsed), VC0's and VC1's Resource Control (TC/VC Map, Port
    # Arbitration Select, VC ID, VC Enable; not Load Port Arbitration Table: pulsed)
    ("VC Port Control", "dev", "vc", 0x0C, 2, 0x000E, (0, 1)),
    ("VC0 Resource Control", "dev", "vc", 0x14, 4, 0x870E00FF, (0, 1)),
    ("VC1 Resource Control", "dev", "vc", 0x20, 4, 0x870E00FF, (0, 1)),
)
N_WRITTEN = len(WRITTEN)
# pcie_downstream_port (drivers/pci/pci.h): root port, downstream switch port, PCIe-to-PCI bridge.
# pci_restore_aspm_l1ss_state (drivers/pci/pcie/aspm.c) returns for these and for a function with
# no L1SS parent, so the function's own L1SS CTL1/2 have an intent only below an L1SS port.
DOWNSTREAM_PORT_TYPES = (0x4, 0x6, 0x8)
W_COMMAND, W_MSI_MASK = 0, 18
assert WRITTEN[W_MSI_MASK][0] == "MSI mask"
WRITTEN_WHO = "the last deliberate write"


def is_error_echo(width: int, value: int) -> bool:
    """An all-ones config write is PCI_ERROR_RESPONSE written back: a restore of a snapshot taken
    while the function did not answer (pci_restore_pcie_state writes unconditionally; a skipped
    pci_restore_config_dword compares it equal), or a read-modify-write of such a read
    (vfio_pci_memory_unlock_and_restore writes back the Command it read). No kernel path means
    all-ones for a written-intent register but the MSI Mask Bits (pci_msi_mask of every vector,
    from the cached mask), so a kernel write of it sets no written intent elsewhere (a vfio user's
    write through the config region does: the user may mean anything)."""
    return value == (1 << 8 * width) - 1


def echo_bits(width: int, value: int, lost: bool) -> bool:
    """Whether a kernel write's set bits may be PCI_ERROR_RESPONSE echoed back rather than meant:
    an all-ones value (is_error_echo), or any write to a function that does not answer (`lost`),
    since every read-modify-write the kernel makes of it started from an all-ones read. Such a
    write sets the written intent of the bits it clears only; the MSI Mask Bits are the one
    register the kernel means all-ones for (pci_msi_mask)."""
    return lost or is_error_echo(width, value)

# (register, who decided the intent, value format)
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("Command.Memory", WRITTEN_WHO, "bit"),
    ("Command.IO", WRITTEN_WHO, "bit"),
    ("Command.BusMaster", WRITTEN_WHO, "bit"),
    ("PowerState", "pci_set_power_state (dev->current_state)", "power"),
) + tuple((f"BAR{i}", f"dev->resource[{i}]", "hex") for i in range(6)) + (
    ("ATS", "pci_enable_ats (dev->ats_enabled)", "bit"),
    ("MSI", "pci_enable_msi (dev->msi_enabled)", "bit"),
    ("MSI-X", "pci_enable_msix (dev->msix_enabled)", "bit"),
    ("PASID", "pci_enable_pasid (dev->pasid_enabled)", "bit"),
    ("PRI", "pci_enable_pri (dev->pri_enabled)", "bit"),
    ("PTM", "pci_enable_ptm (dev->ptm_enabled)", "bit"),
    ("SR-IOV", "pci_enable_sriov (dev->sriov->num_VFs)", "bit"),
    ("TPH", "pcie_enable_tph (dev->tph_enabled)", "bit"),
    ("MSI message", "msi_capability_init (msi_desc)", "msg"),
    ("MSI-X message", "msix_capability_init (msi_desc)", "msg"),
) + tuple((row[0], WRITTEN_WHO, "hex") for row in WRITTEN[1:])
F_MEMORY, F_IO, F_MASTER, F_POWER, F_BAR0 = 0, 1, 2, 3, 4
F_FEATURE0 = 10            # ATS, MSI, MSI-X, PASID, PRI, PTM, SR-IOV, TPH (sorted by name)
F_MSI_MSG, F_MSIX_MSG = 18, 19
F_WRITTEN1 = 20            # WRITTEN[1:] in order; Command's bits are F_MEMORY, F_IO, F_MASTER
N_FIELDS = len(FIELDS)
assert N_FIELDS == F_WRITTEN1 + N_WRITTEN - 1
# intent field -> (written register, bits of it): the fields whose intent is a written value
WRITTEN_FIELDS: dict[int, tuple[int, int]] = {F_MEMORY: (W_COMMAND, 0x2), F_IO: (W_COMMAND, 0x1),
                                              F_MASTER: (W_COMMAND, 0x4)}
WRITTEN_FIELDS.update({F_WRITTEN1 + k - 1: (k, 0xFFFFFFFF) for k in range(1, N_WRITTEN)})
FEATURE_ORDER = ("ATS", "MSI", "MSI-X", "PASID", "PRI", "PTM", "SR-IOV", "TPH")
_FEATURES = {row[0]: row for row in FEATURE_ENABLES}

# Which intent fields an existing, more precise invariant refines: when it reports (invariant,
# register) in an op, intent_mismatch stays silent on those fields in that op (the condition still
# counts as standing, so no later op repeats it).
ALL = tuple(range(N_FIELDS))
# Fields whose intent the PCI core keeps in its own resources (dev->resource[]) and puts back
# itself when pci_power_up reports a D3hot->D0 soft reset (need_restore): pci_set_full_power_state
# then calls pci_restore_bars (064b53dbcc97), the BARs and the VF BARs. In an op where pci_power_up
# reported one and no pci_restore_bars answered it (Oracle.bars_owed) they are compared while the
# driver's restore is still pending (usable_unrestored). Any other pending restore is the caller's
# (a driver's resume calls pci_restore_state after pci_set_power_state(D0)), and nothing is
# compared until it runs.
CORE_RESTORED: tuple[int, ...] = tuple(F_BAR0 + i for i in range(6)) + tuple(
    F_WRITTEN1 + k - 1 for k in range(1, N_WRITTEN) if WRITTEN[k][2] == "sriov_bar")

REFINES: dict[tuple[str, str], tuple[int, ...]] = {
    ("used_without_restore", "config"): ALL,
    ("msi_without_bus_master", "Command"): (F_MASTER,),
    # an all-ones Command dword comes from a pci_save_state of a function that did not answer:
    # every register pci_restore_state writes back from that snapshot (the header, the PCIe, ACS,
    # L1SS and SR-IOV buffers) is that finding; not the MSI mask (from the cached mask) nor ReBAR
    # (from the resource size) nor the VF BARs (from the resources), nor the upstream port's registers
    ("restore_all_ones", "Command"): (F_MEMORY, F_IO, F_MASTER) + tuple(
        F_WRITTEN1 + k - 1 for k in range(1, N_WRITTEN)
        if WRITTEN[k][1] == "dev" and WRITTEN[k][2] not in ("msi_mask", "rebar_entry", "sriov_bar")),
    ("vconfig_mismatch", "Command"): (F_MEMORY, F_IO),
    ("restore_outside_d0", "MSI-X"): (F_MSIX_MSG,),
    **{("restore_all_ones", f"BAR{i}"): (F_BAR0 + i,) for i in range(6)},
    **{("snapshot_bar_stale", f"BAR{i}"): (F_BAR0 + i,) for i in range(6)},
    **{("live_flag_mismatch", name): (F_FEATURE0 + k,) for k, name in enumerate(FEATURE_ORDER)},
    ("restore_unsaved_buffer", "TPH"): (F_FEATURE0 + FEATURE_ORDER.index("TPH"),),
    ("restore_unsaved_buffer", "PTM"): (F_FEATURE0 + FEATURE_ORDER.index("PTM"),),
    ("restore_unsaved_buffer", "PCIe"): tuple(F_WRITTEN1 + k - 1 for k in range(1, N_WRITTEN)
                                              if WRITTEN[k][0] in ("DEVCTL", "LNKCTL", "DEVCTL2")),
    ("restore_unsaved_buffer", "LTR"): tuple(F_WRITTEN1 + k - 1 for k in range(1, N_WRITTEN)
                                             if WRITTEN[k][2] == "ltr"),
    ("restore_unsaved_buffer", "DPC"): tuple(F_WRITTEN1 + k - 1 for k in range(1, N_WRITTEN)
                                             if WRITTEN[k][2] == "dpc"),
    ("restore_unsaved_buffer", "L1SS"): tuple(F_WRITTEN1 + k - 1 for k in range(1, N_WRITTEN)
                                              if WRITTEN[k][0] in ("L1SS CTL1", "L1SS CTL2")),
    ("restore_unsaved_buffer", "VC"): tuple(F_WRITTEN1 + k - 1 for k in range(1, N_WRITTEN)
                                            if WRITTEN[k][2] == "vc"),
    **{("mmio_decode_off", f"MSI-X table, {why}"): (F_MSIX_MSG,)
       for why in ("not answering", "not in D0", "Memory off", "BAR moved")},
}
FIELD_INDEX = {row[0]: i for i, row in enumerate(FIELDS)}
# The register class a root-cause key groups a written field's findings by
# (fuzzcore/triage/root_cause.register_class): the header as one, a capability by name.
_CLASS_BY_WHERE = {"header": "config header", "rom": "config header", "exp": "PCIe", "acs": "ACS",
                   "l1ss": "L1SS", "msi_mask": "MSI", "sriov": "SR-IOV", "rebar_entry": "ReBAR",
                   "sriov_bar": "SR-IOV", "ltr": "LTR", "dpc": "DPC", "vc": "VC"}
REGISTER_CLASS: dict[str, str] = {
    **{FIELDS[f][0]: "config header" for f in (F_MEMORY, F_IO, F_MASTER)},
    **{row[0]: ("port" if row[1] == "port" else _CLASS_BY_WHERE[row[2]]) for row in WRITTEN[1:]},
}
# Fields whose intent another invariant owns outright (never compared by intent_mismatch).
OWNED_ELSEWHERE = {
    "Command.Memory/IO while vfio-pci has the device open": "vconfig_mismatch (vfio's virtual Command)",
}

_MASK64 = (1 << 64) - 1


def written_layout(profile, caps, port_profile, port_caps) -> tuple[tuple[int, int, int, int], ...]:
    """Per WRITTEN row: (offset or -1 when the function has no such register, width, bits compared,
    1 for the upstream port). The bits compared are the row's, limited to what software can write
    (the profile's write mask, not write-1-to-clear). Both models use this table."""
    out = []
    for name, target, where, rel, width, mask, headers in WRITTEN:
        prof, c = (port_profile, port_caps) if target == "port" else (profile, caps)
        off = -1
        if prof is not None and prof.header_type in headers:
            if where == "header":
                off = rel
            elif where == "rom":
                off = 0x38 if prof.header_type == 1 else 0x30
            elif where == "msi_mask":
                if c.msi:
                    ctrl = int(prof.config[c.msi + 2]) | int(prof.config[c.msi + 3]) << 8
                    if ctrl & 0x100:
                        off = c.msi + (0x10 if ctrl & 0x80 else 0x0C)
            elif where == "rebar_entry":
                if c.rebar and rel < (int(prof.config[c.rebar + 8]) >> 5) & 0x7:
                    off = c.rebar + 8 + 8 * rel
            elif where == "vc":
                vc = [o for cap_id, o in c.vc if cap_id in (0x2, 0x9)]   # PCI_EXT_CAP_ID_VC, _VC9
                if vc:
                    off = vc[0] + rel
            elif where == "sriov_bar":
                if c.sriov:
                    off = c.sriov + 0x24 + 4 * rel      # PCI_SRIOV_BAR; unimplemented ones are read-only
            elif where == "l1ss" and target == "dev" and (c.exp_type in DOWNSTREAM_PORT_TYPES or port_caps is None
                                                          or not port_caps.l1ss):
                pass    # pci_restore_aspm_l1ss_state: the pair is the downstream component's to restore
            elif getattr(c, where):
                off = getattr(c, where) + rel
        cmp = 0
        if off >= 0:
            sem = prof.semantics
            for i in range(width):
                cmp |= (int(sem.wmask[off + i]) & ~int(sem.w1cmask[off + i]) & 0xFF) << (8 * i)
            cmp &= mask
        out.append((off if cmp else -1, width, cmp, 1 if target == "port" else 0))
    return tuple(out)


def written_byte_map(layout, port: int) -> dict[int, tuple[int, int]]:
    """config offset -> (WRITTEN row, byte within it) for the device (port=0) or the port."""
    out = {}
    for k, (off, width, _cmp, is_port) in enumerate(layout):
        if off >= 0 and is_port == port:
            for i in range(width):
                out[off + i] = (k, i)
    return out



def _raw(hw, off: int, width: int) -> int:
    return int.from_bytes(hw.config[off:off + width].tobytes(), "little")


def _active(m) -> bool:
    """Config space answers, the channel is normal, current_state is D0, runtime PM is active."""
    st = m.state
    d = st.dev
    return st.hw.accessible and d.error_state == "normal" and d.current_state == D0 and not d.rpm_suspended


def usable(m) -> bool:
    """The kernel believes the device usable (see the module docstring)."""
    return _active(m) and not m.state.needs_restore_after_reset


def usable_unrestored(m) -> bool:
    """usable but for a reset the kernel has not yet followed with pci_restore_state."""
    return _active(m) and m.state.needs_restore_after_reset


def _bar_value(m, hw, i: int) -> int:
    """Where BAR i decodes: its register, or for a VF its share of the PF's VF BAR."""
    info = m.profile.bar(i)
    if m.profile.virtfn:
        return info.address
    lo = _raw(hw, 0x10 + 4 * i, 4)
    if info.kind == "io":
        return lo & ~0x3
    addr = lo & ~0xF
    if info.kind == "mem64":
        addr |= _raw(hw, 0x14 + 4 * i, 4) << 32
    return addr


def _msi_hw(m, hw) -> int:
    off = m.caps.msi
    ctrl = _raw(hw, off + 2, 2)
    data = _raw(hw, off + (0x0C if ctrl & 0x80 else 0x08), 2)
    return (_raw(hw, off + 4, 4) << 32) | data


def _msix_entry(hw, i: int) -> int:
    base = 16 * i
    return (int.from_bytes(hw.msix_table[base:base + 4].tobytes(), "little") << 32
            | int.from_bytes(hw.msix_table[base + 8:base + 12].tobytes(), "little"))


def hardware_values(m) -> list[int]:
    """The hardware's value of every field (raw storage, whether or not anyone has an intent):
    what the 'last changed' bookkeeping compares op by op."""
    hw = m.state.hw
    c = m.caps
    d = m.state.dev
    cmd = _raw(hw, 0x04, 2)
    out = [cmd >> 1 & 1, cmd & 1, cmd >> 2 & 1, _raw(hw, c.pm + 4, 2) & 0x3 if c.pm else 0]
    for i in range(6):
        info = m.profile.bar(i) if m.profile.header_type == 0 else None
        out.append(_bar_value(m, hw, i) if info is not None and info.kind != "none" else 0)
    for name in FEATURE_ORDER:
        _, attr, _, reg, width, mask = _FEATURES[name]
        off = getattr(c, attr)
        out.append(1 if off and _raw(hw, off + reg, width) & mask else 0)
    out.append(_msi_hw(m, hw) if c.msi else 0)
    h = 0
    if c.msix:
        for i in range(len(d.msix_descs)):
            h = ((h * 1000003) ^ _msix_entry(hw, i)) & _MASK64
    out.append(h)
    for k in range(1, N_WRITTEN):
        out.append(written_hw(m, k))
    return out


def written_hw(m, k: int) -> int:
    """WRITTEN row k's compared bits in raw storage (0 when the register is absent)."""
    off, width, cmp, port = m.written_layout[k]
    if off < 0:
        return 0
    hw = m.state.port.hw if port else m.state.hw
    return _raw(hw, off, width) & cmp


def intents(m):
    """(field, vector, intent, hardware) for every field with an intent now. Call only while
    usable (config space answers)."""
    st = m.state
    d, hw, c, p = st.dev, st.hw, m.caps, m.profile
    out = []
    written = m.oracle.written
    cmd = _raw(hw, 0x04, 2)
    if d.driver != "none":
        cmp = m.written_layout[W_COMMAND][2]
        for f in (F_MEMORY, F_IO, F_MASTER):
            bit = WRITTEN_FIELDS[f][1]
            if f != F_MASTER and st.vfio.open:
                continue                   # vconfig_mismatch owns Memory/IO (OWNED_ELSEWHERE)
            if cmp & bit:
                out.append((f, 0, int(bool(written[W_COMMAND] & bit)), int(bool(cmd & bit))))
    if c.pm:
        out.append((F_POWER, 0, d.current_state, _raw(hw, c.pm + 4, 2) & 0x3))
    if p.header_type == 0:
        for i in range(6):
            info = p.bar(i)
            if info is not None and info.kind != "none":
                out.append((F_BAR0 + i, 0, d.resources[i], _bar_value(m, hw, i)))
    for k, name in enumerate(FEATURE_ORDER):
        _, attr, flag, reg, width, mask = _FEATURES[name]
        off = getattr(c, attr)
        if off:
            out.append((F_FEATURE0 + k, 0, int(bool(flag(d))), 1 if _raw(hw, off + reg, width) & mask else 0))
    if c.msi and d.msi_enabled:
        lo, _hi, data = d.msi_msg
        out.append((F_MSI_MSG, 0, (lo << 32) | (data & 0xFFFF), _msi_hw(m, hw)))
    if c.msix and d.msix_enabled:
        for i, desc in enumerate(d.msix_descs):
            want = (desc.addr_lo << 32) | desc.data
            got = _msix_entry(hw, i)
            if want != got:
                out.append((F_MSIX_MSG, i, want, got))
                break
        else:
            if d.msix_descs:
                out.append((F_MSIX_MSG, 0, 0, 0))
    for k in range(1, N_WRITTEN):
        off, _width, cmp, port = m.written_layout[k]
        if off < 0 or port and st.port is None or k == W_MSI_MASK and not d.msi_enabled:
            continue
        out.append((F_WRITTEN1 + k - 1, 0, written[k] & cmp, written_hw(m, k)))
    return out


def _fmt(kind: str, v: int) -> str:
    if kind == "bit":
        return "on" if v else "off"
    if kind == "power":
        return POWER_NAMES.get(v, f"D{v}")
    if kind == "msg":
        return f"address 0x{v >> 32:08x} data 0x{v & 0xFFFFFFFF:x}"
    return f"0x{v:x}"


def pack(field: int, vector: int, changed_op_index: int, changed_op_kind: int,
         written_op_index: int = -1, written_op_kind: int = -1) -> int:
    """The third value of an intent_mismatch record: field, vector, the op that last changed the
    hardware and, for a written intent, the op that last wrote it on purpose (-1: nothing since
    enumeration)."""
    return (field | vector << 8 | (changed_op_kind + 1) << 16 | min(changed_op_index + 1, 0xFFFF) << 24
            | (written_op_kind + 1) << 40 | min(written_op_index + 1, 0xFFFF) << 48)


def _upstream(op_kind: int) -> str:
    from ..program.op_table import OPS
    return OPS[op_kind].upstream if 0 <= op_kind < len(OPS) else ""


def message(intent: int, hardware: int, packed: int, op_names, w_step: str = "") -> tuple[str, str]:
    """(expected, actual) of an intent_mismatch, as both models write it. w_step: the model step
    (upstream function) of the last deliberate write of a written intent, named when it is not
    the op's own (a restore inside a bind, a reset or a close sets the intent: pci_restore_state
    writes what the kernel saved, and that is what it means from then on)."""
    field, vector = packed & 0xFF, packed >> 8 & 0xFF
    op_kind, op_index = (packed >> 16 & 0xFF) - 1, (packed >> 24 & 0xFFFF) - 1
    w_kind, w_index = (packed >> 40 & 0xFF) - 1, (packed >> 48 & 0xFFFF) - 1
    reg, who, kind = FIELDS[field]
    vec = f"vector {vector}: " if field == F_MSIX_MSG else ""
    if field in WRITTEN_FIELDS:
        by = f" in {w_step}" if w_step and w_index >= 0 and w_step not in (op_names[w_kind], _upstream(w_kind)) else ""
        who = (f"{who}, op {w_index} ({op_names[w_kind]}){by}" if w_index >= 0
               else f"{who}, at enumeration (firmware and the PCI core)")
    expected = f"{vec}{_fmt(kind, intent)} (intent of {who})"
    last = "unchanged since enumeration" if op_index < 0 else f"last changed by op {op_index} ({op_names[op_kind]})"
    return expected, f"{vec}{_fmt(kind, hardware)} in hardware, {last}"
