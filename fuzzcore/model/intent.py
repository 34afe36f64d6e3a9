"""The kernel's intent beside the hardware, field by field (issue 15, first slice).

For each register field the kernel cares about, what the system means it to hold and who decided
it. This slice derives every intent from kernel state the models already keep, so a deliberate
write (pci_enable_device, pci_set_master, pci_assign_bar, pci_enable_msix, pci_set_power_state,
...) updates the intent by updating that state, and a reset, a link event or a hardware side effect
changes the hardware only:

| field | intent | who decided it | when it has one |
|---|---|---|---|
| Command.Memory, Command.IO | on | pci_enable_device (dev->enable_cnt) | host driver bound, enable_cnt > 0, the device has a BAR (or ROM) of that kind |
| Command.BusMaster | dev->is_busmaster | pci_set_master / pci_clear_master | host driver bound |
| PowerState | dev->current_state | pci_set_power_state (dev->current_state) | a PM capability |
| BAR0-BAR5 | dev->resource[n] | the PCI core's resource assignment | header type 0, the BAR implemented |
| ATS, MSI, MSI-X, PASID, PRI, PTM, SR-IOV, TPH enable | the live flag (live_flags.FEATURE_ENABLES) | the enable/disable call | the capability present |
| MSI message | the cached message (address low, data) | msi_capability_init (msi_desc) | dev->msi_enabled |
| MSI-X message | each vector's cached message (address, data) | msix_capability_init (msi_desc) | dev->msix_enabled |

vfio's virtual Command (Memory/IO while the device is open) is vconfig_mismatch's, not repeated
here.

**When the kernel believes the device usable** (`usable`): after an op completes, the function
answers config reads, `dev->error_state == pci_channel_io_normal` (no recovery in progress and no
permanent failure: `pci_channel_offline()`, include/linux/pci.h), `dev->current_state == PCI_D0`
(drivers touch the device only in D0: pci_set_power_state / pci_power_up, drivers/pci/pci.c), and
runtime PM active (`pm_runtime_suspended()` false). Then every field with an intent must equal the
hardware (invariant `intent_mismatch`), reported by the first op after which the mismatch stands
while the device is usable.
"""

from __future__ import annotations

from .live_flags import FEATURE_ENABLES
from .state import D0, POWER_NAMES

# (register, who decided the intent, value format)
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("Command.Memory", "pci_enable_device (dev->enable_cnt)", "bit"),
    ("Command.IO", "pci_enable_device (dev->enable_cnt)", "bit"),
    ("Command.BusMaster", "pci_set_master/pci_clear_master (dev->is_busmaster)", "bit"),
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
)
F_MEMORY, F_IO, F_MASTER, F_POWER, F_BAR0 = 0, 1, 2, 3, 4
F_FEATURE0 = 10            # ATS, MSI, MSI-X, PASID, PRI, PTM, SR-IOV, TPH (sorted by name)
F_MSI_MSG, F_MSIX_MSG = 18, 19
N_FIELDS = len(FIELDS)
assert N_FIELDS == 20
FEATURE_ORDER = ("ATS", "MSI", "MSI-X", "PASID", "PRI", "PTM", "SR-IOV", "TPH")
_FEATURES = {row[0]: row for row in FEATURE_ENABLES}

# Which intent fields an existing, more precise invariant refines: when it reports (invariant,
# register) in an op, intent_mismatch stays silent on those fields in that op (the condition still
# counts as standing, so no later op repeats it).
ALL = tuple(range(N_FIELDS))
REFINES: dict[tuple[str, str], tuple[int, ...]] = {
    ("used_without_restore", "config"): ALL,
    ("msi_without_bus_master", "Command"): (F_MASTER,),
    ("restore_all_ones", "Command"): (F_MEMORY, F_IO, F_MASTER),
    ("restore_outside_d0", "MSI-X"): (F_MSIX_MSG,),
    **{("restore_all_ones", f"BAR{i}"): (F_BAR0 + i,) for i in range(6)},
    **{("snapshot_bar_stale", f"BAR{i}"): (F_BAR0 + i,) for i in range(6)},
    **{("live_flag_mismatch", name): (F_FEATURE0 + k,) for k, name in enumerate(FEATURE_ORDER)},
    ("restore_unsaved_buffer", "TPH"): (F_FEATURE0 + FEATURE_ORDER.index("TPH"),),
    ("restore_unsaved_buffer", "PTM"): (F_FEATURE0 + FEATURE_ORDER.index("PTM"),),
    **{("mmio_decode_off", f"MSI-X table, {why}"): (F_MSIX_MSG,)
       for why in ("not answering", "not in D0", "Memory off", "BAR moved")},
}
FIELD_INDEX = {row[0]: i for i, row in enumerate(FIELDS)}
# Fields whose intent another invariant owns outright (never compared by intent_mismatch).
OWNED_ELSEWHERE = {
    "Command.Memory/IO while vfio-pci has the device open": "vconfig_mismatch (vfio's virtual Command)",
}

_MASK64 = (1 << 64) - 1

# Command's intent needs the deliberate writes tracked as state (a host driver's own
# pci_restore_state is one: it sets Command to the snapshot it restores, Bus Master included), not
# derived from enable_cnt / is_busmaster; until then Command is left to the invariants that refine
# it (vconfig_mismatch, msi_without_bus_master, restore_all_ones, order_violation, mmio_decode_off).
COMMAND_INTENT = False


def _raw(hw, off: int, width: int) -> int:
    return int.from_bytes(hw.config[off:off + width].tobytes(), "little")


def usable(m) -> bool:
    """The kernel believes the device usable (see the module docstring)."""
    st = m.state
    d = st.dev
    return (st.hw.accessible and d.error_state == "normal" and d.current_state == D0
            and not d.rpm_suspended and not st.needs_restore_after_reset)


def _bar_value(m, hw, i: int) -> int:
    info = m.profile.bar(i)
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
    return out


def intents(m):
    """(field, vector, intent, hardware) for every field with an intent now. Call only while
    usable (config space answers)."""
    st = m.state
    d, hw, c, p = st.dev, st.hw, m.caps, m.profile
    out = []
    cmd = _raw(hw, 0x04, 2)
    if COMMAND_INTENT and d.driver == "host":
        if d.enable_cnt > 0:
            kinds = {b.kind for b in p.bars}
            if kinds & {"mem32", "mem64"} or p.rom_size:
                out.append((F_MEMORY, 0, 1, cmd >> 1 & 1))
            if "io" in kinds:
                out.append((F_IO, 0, 1, cmd & 1))
        out.append((F_MASTER, 0, int(bool(d.is_busmaster)), cmd >> 2 & 1))
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
    return out


def _fmt(kind: str, v: int) -> str:
    if kind == "bit":
        return "on" if v else "off"
    if kind == "power":
        return POWER_NAMES.get(v, f"D{v}")
    if kind == "msg":
        return f"address 0x{v >> 32:08x} data 0x{v & 0xFFFFFFFF:x}"
    return f"0x{v:x}"


def pack(field: int, vector: int, changed_op_index: int, changed_op_kind: int) -> int:
    """The third value of an intent_mismatch record: field, vector and the op that last changed the
    hardware (-1: nothing since enumeration)."""
    return field | vector << 8 | (changed_op_kind + 1) << 16 | (changed_op_index + 1) << 32


def message(intent: int, hardware: int, packed: int, op_names) -> tuple[str, str]:
    """(expected, actual) of an intent_mismatch, as both models write it."""
    field, vector = packed & 0xFF, packed >> 8 & 0xFF
    op_kind, op_index = (packed >> 16 & 0xFFFF) - 1, (packed >> 32) - 1
    reg, who, kind = FIELDS[field]
    vec = f"vector {vector}: " if field == F_MSIX_MSG else ""
    expected = f"{vec}{_fmt(kind, intent)} (intent of {who})"
    last = "unchanged since enumeration" if op_index < 0 else f"last changed by op {op_index} ({op_names[op_kind]})"
    return expected, f"{vec}{_fmt(kind, hardware)} in hardware, {last}"
