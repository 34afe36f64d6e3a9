"""Coverage of checks (issue 15): for a device, each register the models write and the checks
that can flag a wrong value in it. A register the models write that no check can flag is a gap;
where it cannot be wrong in a way the kernel relies on, the gap carries the reason.

The registers are measured, not listed by hand: the reference model runs the seed and regression
programs plus seeded random programs on the device with its trace on, and every config write
(device and upstream port) and MSI-X table write it makes is named by register
(fuzzcore/model/register_names.py). Which checks can flag a register is the table below, each row
naming the invariants of fuzzcore/model/invariants.py (intent_mismatch with the intent field of
fuzzcore/model/intent.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from . import vfio_perm
from .invariants import BY_NAME

# register (as register_names.register_name writes it, or "CAP+0xREL" prefix) -> checks
_W = "intent_mismatch ({} vs the last deliberate write)"
_CHECKS: dict[str, tuple[str, ...]] = {
    "Command": (_W.format("Memory/IO/BusMaster"), "vconfig_mismatch (Memory/IO while vfio-pci has it open)",
                "msi_without_bus_master (Bus Master)", "mmio_decode_off (Memory off)",
                "order_violation (a BAR rewritten with decode on)", "restore_all_ones", "used_without_restore"),
    **{f"BAR{i}": (f"intent_mismatch (BAR{i} vs dev->resource[{i}])", "snapshot_bar_stale",
                   "restore_all_ones", "order_violation", "mmio_decode_off (BAR moved)") for i in range(6)},
    "PM+0x04 (PMCSR)": ("intent_mismatch (PowerState vs dev->current_state)", "mmio_decode_off (not in D0)",
                        "restore_outside_d0"),
    "MSI+0x02 (MsgCtl)": ("intent_mismatch (MSI enable vs dev->msi_enabled)", "live_flag_mismatch",
                          "msi_without_bus_master"),
    "MSI+0x04 (AddrLo)": ("intent_mismatch (MSI message)",),
    "MSI+0x08 (AddrHi/Data)": ("intent_mismatch (MSI message)",),
    "MSI+0x0c (Data/Mask)": ("intent_mismatch (MSI message, 64-bit data; MSI mask, 32-bit)",),
    "MSI+0x10 (Mask)": (_W.format("MSI mask, while MSI is enabled"),),
    "CacheLine/Lat": (_W.format("Cache Line Size/Latency Timer"),),
    "IntLine/Pin": (_W.format("Interrupt Line"),),
    "ROM BAR": (_W.format("ROM BAR"),),
    "Bus Numbers": (_W.format("Bus Numbers"),),
    "I/O Base/Limit": (_W.format("I/O Base/Limit"),),
    "Memory Base/Limit": (_W.format("Memory Base/Limit"),),
    "Pref Base/Limit": (_W.format("Pref Base/Limit"),),
    "Pref Base Upper": (_W.format("Pref Base Upper"),),
    "Pref Limit Upper": (_W.format("Pref Limit Upper"),),
    "I/O Upper": (_W.format("I/O Upper"),),
    "BridgeCtl": (_W.format("Bridge Control, Secondary Bus Reset excluded"),),
    "PCIe+0x08 (DEVCTL)": (_W.format("DEVCTL, Initiate FLR excluded"), "restore_unsaved_buffer (PCIe)",
                           "used_without_restore"),
    "PCIe+0x10 (LNKCTL)": (_W.format("LNKCTL, Retrain Link excluded"), "restore_unsaved_buffer (PCIe)",
                           "used_without_restore"),
    "ACS+0x06 (Control)": (_W.format("ACS Control"),),
    "ReBAR+": (_W.format("ReBAR Control BAR Size, each entry the capability has; past the entry count "
                         "only writes after an all-ones read, which the hardware drops"),),
    "SR-IOV+0x20 (PageSize)": (_W.format("SR-IOV System Page Size"),),
    "SR-IOV+": (_W.format("SR-IOV VF BAR0-5, each one the PF implements"),),
    "L1SS+0x08 (CTL1)": (_W.format("L1SS CTL1, below an L1SS port; a downstream port's pair is its child's"),
                         "restore_unsaved_buffer (L1SS)", "order_violation (L1SS: ASPM on, enables with timing)"),
    "L1SS+0x0c (CTL2)": (_W.format("L1SS CTL2, below an L1SS port; a downstream port's pair is its child's"),
                         "restore_unsaved_buffer (L1SS)", "order_violation (L1SS: ASPM on, L1.2 on)"),
    "port: PCIe+0x10 (LNKCTL)": (_W.format("port LNKCTL"),),
    "port: L1SS+0x08 (CTL1)": (_W.format("port L1SS CTL1"),),
    "port: L1SS+0x0c (CTL2)": (_W.format("port L1SS CTL2"),),
    "MSI-X+0x02 (MsgCtl)": ("intent_mismatch (MSI-X enable vs dev->msix_enabled)", "live_flag_mismatch",
                            "msi_without_bus_master", "restore_outside_d0"),
    "MSI-X table: message": ("intent_mismatch (MSI-X message vs the msi_desc cache)",
                             "mmio_decode_off (every table access)"),
    "MSI-X table: Vector Control": ("mmio_decode_off (every table access)",),
    "TPH+0x08 (Control)": ("intent_mismatch (TPH enable vs dev->tph_enabled)", "live_flag_mismatch",
                           "restore_unsaved_buffer (TPH)"),
    "TPH+": ("restore_unsaved_buffer (TPH: the ST table)",),
    "ATS+0x06 (Control)": ("intent_mismatch (ATS enable vs dev->ats_enabled)", "live_flag_mismatch",
                           "order_violation (PASID after ATS)"),
    "PASID+0x06 (Control)": ("intent_mismatch (PASID enable vs dev->pasid_enabled)", "live_flag_mismatch",
                             "order_violation"),
    "PRI+0x04 (Control)": ("intent_mismatch (PRI enable vs dev->pri_enabled)", "live_flag_mismatch"),
    "PTM+0x08 (Control)": ("intent_mismatch (PTM enable vs dev->ptm_enabled)", "live_flag_mismatch",
                           "upstream_feature_off", "restore_unsaved_buffer (PTM)"),
    "LTR+": (_W.format("LTR Max Snoop/No-Snoop Latency"), "order_violation (latencies with LTR on)",
             "restore_unsaved_buffer (LTR)"),
    "PCIe+0x28 (DEVCTL2)": (_W.format("DEVCTL2"), "upstream_feature_off (LTR Enable)", "order_violation (LTR)",
                            "restore_unsaved_buffer (PCIe)"),
    "PCIe+": ("restore_unsaved_buffer (PCIe)", "used_without_restore"),
    "L1SS+": ("restore_unsaved_buffer (L1SS)",),
    "AER+0x04 (UncorStatus)": (),
    "AER+0x10 (CorStatus)": (),
    "AER+0x30 (RootStatus)": (),
    "AER+": ("restore_unsaved_buffer (AER)",),
    "VC+": ("restore_unsaved_buffer (VC)",),
    "DPC+0x06 (Control)": (_W.format("DPC Control, Software Trigger excluded"), "restore_unsaved_buffer (DPC)"),
    "DPC+": ("restore_unsaved_buffer (DPC)",),
    "PCI-X+": ("restore_unsaved_buffer (PCI-X)",),
    "SR-IOV+0x08 (Control)": ("intent_mismatch (VF Enable vs num_VFs)", "live_flag_mismatch",
                              "order_violation (NumVFs after VF Enable)"),
    "SR-IOV+0x10 (NumVFs)": ("order_violation (NumVFs after VF Enable)",),
    "port: PCIe+0x28 (DEVCTL2)": ("upstream_feature_off (LTR)",),
    "port: PTM+0x08 (Control)": ("upstream_feature_off (PTM)",),
}

UNASSIGNED = "unassigned (a vfio user's raw write)"

# Registers no check flags, and why a wrong value is not one the kernel relies on (or that this
# slice does not compare yet: those stay listed as gaps with the reason).
_REASONS: dict[str, str] = {
    "Status": "write-1-to-clear status: a write clears bits, there is no value to hold",
    "0x028": "CardBus CIS pointer: read-only", "0x038": "reserved in a type 0 header: read-only",
    "port: BridgeCtl": "Secondary Bus Reset is pulsed (set, waited, cleared) inside pci_reset_secondary_bus: no value to hold",
    "Vendor/Device": "read-only", "Class/Rev": "read-only", "Subsystem": "read-only", "CapPtr": "read-only",
    "SSVID+": "bridge subsystem vendor/device IDs: read-only",
    "Secondary Status": "write-1-to-clear status",
    "AER+0x04 (UncorStatus)": "write-1-to-clear status", "AER+0x10 (CorStatus)": "write-1-to-clear status",
    "AER+0x30 (RootStatus)": "write-1-to-clear status",
    "PCIe+0x0a (DEVSTA)": "write-1-to-clear status",
    "PRI+0x0c (Alloc)": "gap: written from pdev->pri_reqs_alloc before each Enable (pci_enable_pri, "
                        "pci_restore_pri_state); no check compares it yet (PRI after ATS is no order rule: the IOMMU "
                        "drivers enable ATS first)",
    "port: AER+0x30 (RootStatus)": "write-1-to-clear status (aer_root_reset writes back what it read)",
    "port: PCIe+0x0a (DEVSTA)": "write-1-to-clear status (pcie_do_recovery clears the port's after a DPC recovery)",
    "port: AER+0x04 (UncorStatus)": "write-1-to-clear status (pci_aer_clear_nonfatal_status on the port after a DPC recovery)",
    "port: DPC+0x08": "DPC Status, write-1-to-clear: dpc_reset_link clears Trigger Status to let the port leave "
                      "containment; no value to hold",
    "port: AER+0x2c (RootCmd)": "the root port's own AER interrupt enables: aer_root_reset clears them "
                                "before the bus reset and sets them after it (aer_disable_irq/aer_enable_irq); "
                                "nothing of the device below depends on them",
    **{f"{cap}+": "a vendor-specific capability: vfio passes a user's writes raw (vfio_raw_config_write) and "
                  "the kernel keeps no state of it" for cap in ("Vendor", "VSEC", "DVSEC")},
    UNASSIGNED: "bytes no register of a known capability holds and vfio leaves unassigned: only a vfio "
                "user's raw write reaches them (vfio_raw_config_write) and no kernel or vfio state "
                "depends on them",
    "port: ": "gap: the upstream port's own registers are checked only where the device depends on them (LTR, PTM)",
}


# Checks the access layer (fuzzcore/model/access.py) makes at every device config access, so they
# cover every row at once: what a function that does not answer loses while the kernel believes it
# answers.
ACCESS_CHECKS: tuple[str, ...] = (
    "config_write_lost (every write to the device)",
    "config_read_lost (every read whose value the kernel uses: to decide, to save, to write back; "
    "not where it tests for all-ones, discards the value or hands it to a vfio user)",
)


@dataclass(frozen=True)
class CoverageRow:
    register: str
    writes: int                 # writes seen over the measured programs
    checks: tuple[str, ...]     # invariants that can flag a wrong value here
    reason: str = ""            # why no check is needed, or why the gap stands


def _lookup(table, name: str):
    if name in table:
        return table[name]
    best = None
    for key in table:
        if key.endswith("+") or key.endswith(": "):
            if name.startswith(key) and (best is None or len(key) > len(best)):
                best = key
    return table[best] if best is not None else None


assert all(c.split(" ")[0] in BY_NAME for c in ACCESS_CHECKS)


def checks_for(register: str) -> tuple[tuple[str, ...], str]:
    checks = _lookup(_CHECKS, register) or ()
    assert all(c.split(" ")[0] in BY_NAME for c in checks), checks
    reason = "" if checks else (_lookup(_REASONS, register) or "")
    return tuple(checks), reason


def _programs(device_profile, n_random: int, seed: int):
    from ..program.codec import RECORD_SIZE, decode
    from ..program.fzs import load_fzs
    root = Path(__file__).resolve().parents[2] / "corpora"
    for sub in ("seeds", "regression"):
        for p in sorted((root / sub).glob("*.fzs")):
            try:
                yield load_fzs(p)
            except Exception:                      # a program for another device's layout
                continue
    rng = random.Random(seed)
    for _ in range(n_random):
        yield decode(bytes(rng.randrange(256) for _ in range(RECORD_SIZE * 16)))


def coverage(device: str = "i350", policy: str = "linux-7.1", n_random: int = 300, seed: int = 0):
    """One CoverageRow per register the models write on `device`, sorted by register."""
    from ..device.builtin import resolve_device
    from ..policy import load_policy
    from .machine import Model
    from .register_names import register_name
    profile = resolve_device(device)
    port_profile = resolve_device(profile.upstream_port) if profile.upstream_port else None
    m = Model(profile, load_policy(policy))
    cmap = m.vfio_map
    seen: dict[str, int] = {}
    for calls in _programs(profile, n_random, seed):
        try:
            r = m.run(calls, trace=True)
        except Exception:
            continue
        for t in r.trace:
            if t.target == "dev":
                name = register_name(profile, int(t.offset))
                if (int(t.offset) >= 0x40 and cmap.map_id[int(t.offset)] == vfio_perm.UNASSIGNED
                        and not checks_for(name)[0]):
                    name = UNASSIGNED
            elif t.target == "port" and port_profile is not None:
                name = "port: " + register_name(port_profile, int(t.offset))
            elif t.target == "msix":
                rel = (int(t.offset) - profile.msix.table_offset) % 16
                name = "MSI-X table: " + ("Vector Control" if rel == 12 else "message")
            else:
                continue
            seen[name] = seen.get(name, 0) + 1
    rows = []
    for name in sorted(seen):
        checks, reason = checks_for(name)
        rows.append(CoverageRow(name, seen[name], checks, reason))
    return rows


def gaps(rows) -> list[CoverageRow]:
    """Registers no check can flag whose reason says the gap stands (or that have no reason)."""
    return [r for r in rows if not r.checks and (not r.reason or r.reason.startswith("gap"))]


def coverage_text(device: str, rows) -> str:
    out = [f"checks coverage on {device}: {len(rows)} register(s) the models write"]
    width = max((len(r.register) for r in rows), default=8)
    for r in rows:
        what = ", ".join(r.checks) if r.checks else f"no check: {r.reason or 'gap'}"
        out.append(f"  {r.register:<{width}}  {r.writes:>7,} writes  {what}")
    out.append("  every device register also, at the access: " + "; ".join(ACCESS_CHECKS))
    g = gaps(rows)
    out.append(f"{len(g)} gap(s)" + (": " + "; ".join(r.register for r in g) if g else ""))
    return "\n".join(out) + "\n"
