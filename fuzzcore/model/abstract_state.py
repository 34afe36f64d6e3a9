"""The abstract state behind the campaign's state features (docs/design.md §7, IJON-style).

After each op the engine bumps an 8-bit counter indexed by (abstract state, op kind). The
abstraction keeps only what decides which restore bugs are reachable, so the number of distinct
values stays small (hashing the whole state saturates every counter and libFuzzer stops
learning). Both models compute it with this definition; tests pin it down.

Fields (each a small integer):
  power      the function's real power state (0 D0 .. 3 D3hot), 4 when config reads all-ones
  decode     Command Memory | IO << 1 | Bus Master << 2
  features   per feature (MSI, MSI-X, TPH, ATS, PASID, PRI, PTM, SR-IOV): 2 bits, live flag and
             hardware enable bit
  snapshot   bit 0: state_saved; bit 1: the snapshot is older than the latest save; bit 2: some
             buffer a restore would write was not filled by the snapshot's save
  vfio       bit 0: open; bit 1: an open blob is held; bit 2: a pm_save blob is held; bit 3:
             vconfig Memory disagrees with hardware; bit 4: the user's low-power entry holds
  pending    bit 0: reset with no restore since; bit 1: a UR is latched
  op         the op kind (row of the op table)
"""

from __future__ import annotations

NUM_STATE_COUNTERS = 8192
FEATURES = ("msi", "msix", "tph", "ats", "pasid", "pri", "ptm", "sriov")


def feature_bits(m) -> int:
    """2 bits per feature, in FEATURE_ENABLES order: (live flag, hardware enable), for the
    features the device has (absent features and an inaccessible device give 0)."""
    from .live_flags import FEATURE_ENABLES, feature_pairs
    pairs = {name: (flag, bit) for name, flag, bit in feature_pairs(m)}
    bits = 0
    for i, (name, *_rest) in enumerate(FEATURE_ENABLES):
        if name in pairs:
            flag, bit = pairs[name]
            bits |= (int(flag) | (int(bit) << 1)) << (2 * i)
    return bits


def ur_logged(m) -> bool:
    """An Unsupported Request the function logged (H9): DEVSTA's URD or AER's Unsupported Request
    Error Status, read raw from its registers (a reset, or a write-back, clears them as the
    hardware does)."""
    cfg, c = m.state.hw.config, m.caps
    return bool((c.exp and cfg[c.exp + 0x0A] & 0x08) or (c.aer and cfg[c.aer + 0x06] & 0x10))


def abstract_state(m, op_kind: int) -> tuple[int, ...]:
    from .power import hw_power_state
    st = m.state
    hw, dev, v = st.hw, st.dev, st.vfio
    power = hw_power_state(m) if hw.accessible else 4
    decode = hw.read(0x04, 2) & 0x7 if hw.accessible else 0
    stale_buffer = any(b.epoch != dev.config_epoch for b in dev.buffers if b.cap_id != 0x1E or m.state.port)
    snapshot = int(dev.state_saved) | (int(dev.config_epoch < m.latest_save_epoch) << 1) | (int(stale_buffer) << 2)
    vcfg = int(v.open) | (int(v.blob is not None) << 1) | (int(v.pm_save is not None) << 2)
    if v.open and hw.accessible and (hw.read(0x04, 2) ^ v.vconfig_command) & 0x2:
        vcfg |= 1 << 3
    vcfg |= int(v.pm_engaged) << 4
    pending = int(st.needs_restore_after_reset) | (int(ur_logged(m)) << 1)
    return (power, decode, feature_bits(m), snapshot, vcfg, pending, op_kind)


def fnv1a(values: tuple[int, ...]) -> int:
    """64-bit FNV-1a over the fields, each as 4 little-endian bytes (C-friendly)."""
    h = 0xCBF29CE484222325
    for v in values:
        for k in range(4):
            h ^= (v >> (8 * k)) & 0xFF
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def counter_index(m, op_kind: int) -> int:
    return fnv1a(abstract_state(m, op_kind)) % NUM_STATE_COUNTERS
