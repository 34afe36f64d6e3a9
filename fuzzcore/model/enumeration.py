"""The device as enumeration leaves it, before any driver binds.

A dump is usually taken with a driver bound, so it shows enables that a driver owns. fuzzcore
starts from the state after enumeration: what the PCI core does at probe is applied
(pci_msi_init / pci_msix_init clear MSI and MSI-X Enable, drivers/pci/msi/pcidev_msi.c), and
the driver- or IOMMU-owned enables (TPH Requester Enable and ST Mode Select: pci_tph_init writes
nothing, pcie_enable_tph sets both; ATS, PASID, PRI, PTM, SR-IOV VF Enable and NumVFs) are
cleared, as a boot with no driver leaves these RW, default-0 registers. Firmware and
enumeration settings (BARs, Command, DEVCTL/DEVCTL2 including LTR Enable, ASPM, L1SS, AER masks)
are kept as dumped; pci_configure_ltr's result is read back into ltr_path. Bus Master is a
driver's (pci_set_master at probe), so an endpoint's is cleared too: the snapshot
pci_bus_add_device takes comes before any driver sets it. A port keeps it (portdrv is bound)."""

from __future__ import annotations

from dataclasses import dataclass

CLEARS = (  # (cap attribute, register offset, width, bits to clear); "header": offset 0
    ("header", 0x04, 2, 0x0004),
    ("msi", 0x02, 2, 0x0001),
    ("msix", 0x02, 2, 0x8000),
    ("tph", 0x08, 4, 0x0307),
    ("ats", 0x06, 2, 0x8000),
    ("pasid", 0x06, 2, 0x0001),
    ("pri", 0x04, 2, 0x0001),
    ("ptm", 0x08, 4, 0x0001),
    ("sriov", 0x08, 2, 0x0009),
    ("sriov", 0x10, 2, 0xFFFF),
)


def enumerate_function(hw, caps, dev, endpoint: bool = True) -> None:
    """Apply the probe-time clears to `hw` (a ConfigSpace) and set `dev.ltr_path`."""
    for attr, reg, width, bits in CLEARS:
        off = 0 if attr == "header" else getattr(caps, attr)
        if attr != "header" and not off or not endpoint and attr in ("ptm", "header"):
            continue
        v = hw.read(off + reg, width)
        if v & bits:
            hw.write(off + reg, width, v & ~bits)
    if caps.exp:
        dev.ltr_path = bool(hw.read(caps.exp + 0x28, 2) & 0x400)


# --- what the kernel records at enumeration and later reads from its own copy -------------------
# pci_configure_eetlp_prefix (drivers/pci/probe.c) and the ACS capabilities pci_acs_init caches
# (drivers/pci/pci.c), from the profile's config image (the enumeration read); the engine gets them
# through fuzzcore/engine/tables.py.

PCI_EXP_DEVCAP2 = 0x24
PCI_EXP_DEVCAP2_EE_PREFIX = 0x00200000
PCI_ACS_CAP = 0x04
PCI_ACS_CTRL = 0x06
PCI_ACS_RR, PCI_ACS_UF = 0x04, 0x10

# pci_acs_enabled's answer for a function, before its live ACS Control read
ACS_PASSES = -1        # the function's type needs no ACS (a single-function endpoint, an RCiEP)
ACS_FAILS = -2         # it cannot pass (no PCIe, a bridge to PCI, an RC Event Collector, no ACS)


def _u32(cfg, off: int) -> int:
    return int.from_bytes(bytes(cfg[off:off + 4]), "little")


def _exp_type(cfg, exp: int) -> int:
    return (int(cfg[exp + 2]) >> 4) & 0xF


def eetlp_prefix(profile, caps, port_profile, port_caps) -> bool:
    """pdev->eetlp_prefix_max != 0: the function's DEVCAP2 has End-End TLP Prefix Supported and it
    is a Root Port or RCiEP, or the bridge above has eetlp_prefix_max (the model's port: its own
    DEVCAP2, as a Root Port; a switch's ports further up are not modelled)."""
    if not caps.exp or not _u32(profile.config, caps.exp + PCI_EXP_DEVCAP2) & PCI_EXP_DEVCAP2_EE_PREFIX:
        return False
    if _exp_type(profile.config, caps.exp) in (0x4, 0x9):       # PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_RC_END
        return True
    if port_profile is None or not port_caps.exp:
        return False
    return bool(_u32(port_profile.config, port_caps.exp + PCI_EXP_DEVCAP2) & PCI_EXP_DEVCAP2_EE_PREFIX)


def acs_rr_uf_check(profile, caps) -> int:
    """pci_acs_enabled(pdev, PCI_ACS_RR | PCI_ACS_UF) without device quirks: ACS_PASSES, ACS_FAILS,
    or the flags ACS Control must have (pci_acs_flags_enabled: RR | UF as far as the ACS
    Capability read at enumeration offers them; 0 passes)."""
    if not caps.exp:
        return ACS_FAILS                                        # !pci_is_pcie(pdev)
    kind = _exp_type(profile.config, caps.exp)
    if kind in (0x7, 0x8, 0xA):                                 # PCIE_BRIDGE, PCI_BRIDGE, RC_EC
        return ACS_FAILS
    if kind in (0x0, 0x1, 0x5, 0x9) and not profile.config[0x0E] & 0x80:
        return ACS_PASSES                                       # endpoint, upstream port: !multifunction
    if kind not in (0x0, 0x1, 0x5, 0x9, 0x4, 0x6):
        return ACS_PASSES                                       # "no ACS capabilities are applicable"
    if not caps.acs:
        return ACS_FAILS
    cap = int(profile.config[caps.acs + PCI_ACS_CAP]) | int(profile.config[caps.acs + PCI_ACS_CAP + 1]) << 8
    return (PCI_ACS_RR | PCI_ACS_UF) & cap


def acs_holds(check: int, read_ctrl) -> bool:
    """One function's pci_acs_enabled: `read_ctrl()` reads its ACS Control now."""
    if check == ACS_PASSES:
        return True
    if check == ACS_FAILS:
        return False
    return (read_ctrl() & check) == check


def bridge_d3(profile, caps) -> bool:
    """pdev->bridge_d3 of a bridge (pci_bridge_d3_possible, drivers/pci/pci.c): a PCIe Root, Upstream
    or Downstream Port that is no hotplug port (a slot with Hot-Plug Capable: pciehp's ports were
    not validated for D3), taking a 2015 or newer x86 BIOS and no platform opt-in (ACPI's
    HotPlugSupportInD3); anything else cannot go to D3. Not a bridge: False (unused: it has no
    subordinate, so pci_power_manageable needs no bridge_d3)."""
    if profile.header_type != 1 or not caps.exp:
        return False
    if _exp_type(profile.config, caps.exp) not in (0x4, 0x5, 0x6):
        return False
    flags = int(profile.config[caps.exp + 2]) | int(profile.config[caps.exp + 3]) << 8
    sltcap = _u32(profile.config, caps.exp + 0x14)
    return not (flags & 0x0100 and sltcap & 0x40)             # PCI_EXP_FLAGS_SLOT, PCI_EXP_SLTCAP_HPC


# sriov_init (drivers/pci/iov.c): what the kernel keeps in dev->sriov from the enumeration read
PCI_SRIOV_CAP, PCI_SRIOV_TOTAL_VF, PCI_SRIOV_BAR = 0x04, 0x0E, 0x24
PCI_SRIOV_CAP_VFM = 0x1


def sriov_total_vfs(profile, caps) -> int:
    """iov->total_VFs: TotalVFs as enumeration read it (0 without SR-IOV)."""
    if not caps.sriov:
        return 0
    off = caps.sriov + PCI_SRIOV_TOTAL_VF
    return int(profile.config[off]) | int(profile.config[off + 1]) << 8


def sriov_vfm(profile, caps) -> bool:
    """iov->cap & PCI_SRIOV_CAP_VFM: VF Migration Capable, read at enumeration."""
    return bool(caps.sriov and _u32(profile.config, caps.sriov + PCI_SRIOV_CAP) & PCI_SRIOV_CAP_VFM)


def _vf_bars(profile, caps):
    """The SR-IOV capability's VF BARs as sriov_init decodes them from the enumeration image:
    (index, low dword, 64-bit, address) each, a 64-bit one's upper half skipped."""
    i = 0
    while i < 6:
        reg = caps.sriov + PCI_SRIOV_BAR + 4 * i
        lo = _u32(profile.config, reg)
        wide = (lo >> 1) & 3 == 2 and i < 5
        yield i, lo, wide, (lo & ~0xF) | ((_u32(profile.config, reg + 4) << 32) if wide else 0)
        i += 2 if wide else 1


def iov_bars_assigned(profile, caps) -> bool:
    """sriov_enable's resource count matches iov->nres: every VF BAR the SR-IOV capability
    implements (a type in its low bits) holds an address (a 64-bit one across both dwords), so the
    kernel assigned it a resource with a parent. A VF BAR that reads 0 whole is taken as not
    implemented (no flags at sriov_init)."""
    return bool(caps.sriov) and all(addr or not lo for _, lo, _, addr in _vf_bars(profile, caps))


def vfs_share_bus(profile, caps) -> bool:
    """A PF's VFs sit on its own bus: the first VF's routing ID (First VF Offset, the PF at devfn
    0 as the profiles place it) is below 0x100, so pci_iov_virtfn_bus is the PF's bus and
    pci_walk_bus finds them there; past it they are on a bus of their own (virtfn_add_bus)."""
    return bool(caps.sriov) and (int(profile.config[caps.sriov + 0x14])
                                 | int(profile.config[caps.sriov + 0x15]) << 8) < 0x100


IOV_UNSET, IOV_MEM32, IOV_MEM64 = 0, 1, 2


def iov_resources(profile, caps) -> tuple[tuple[int, int, int], ...]:
    """dev->resource[PCI_IOV_RESOURCES + i] for the six VF BARs as sriov_init and the resource
    assignment leave them: (kind, address, type bits). IOV_UNSET where pci_iov_update_resource
    writes nothing: no SR-IOV capability, a VF BAR not implemented (reads 0 whole: no flags), the
    upper half of a 64-bit one, or one with a type but no address (IORESOURCE_UNSET)."""
    out = [(IOV_UNSET, 0, 0)] * 6
    if caps.sriov:
        for i, lo, wide, addr in _vf_bars(profile, caps):
            if addr and not lo & 0x1:      # no I/O VF BARs (SR-IOV 1.1 §3.3.14)
                out[i] = (IOV_MEM64 if wide else IOV_MEM32, addr, lo & 0xF)
    return tuple(out)


# pcie_aspm_init_link_state (drivers/pci/pcie/aspm.c): the link between the model's port and the
# function, as enumeration leaves it. link->aspm_capable, link->aspm_enabled after the init's
# pcie_config_aspm_path under the default policy (aspm_default: what the firmware enabled), and
# link->clkpm_capable / clkpm_enabled. PCIE_LINK_STATE_* bits:
LINK_L0S_UP, LINK_L0S_DW, LINK_L1 = 0x01, 0x02, 0x04
LINK_L1_1, LINK_L1_2, LINK_L1_1_PCIPM, LINK_L1_2_PCIPM = 0x08, 0x10, 0x20, 0x40
LINK_L1SS = 0x78
LINK_ASPM_ALL = 0x7F
PCI_EXP_LNKCAP, PCI_EXP_LNKCTL, PCI_EXP_DEVCAP, PCI_EXP_DEVCTL2 = 0x0C, 0x10, 0x04, 0x28


@dataclass(frozen=True)
class AspmLink:
    capable: int           # link->aspm_capable with the function in D0 (latencies checked)
    enabled: int           # link->aspm_enabled after enumeration
    clkpm_capable: bool    # link->clkpm_capable
    clkpm_enabled: bool    # link->clkpm_enabled
    support: int = 0       # link->aspm_support (capable while the function is out of D0:
                           # pcie_aspm_check_latency skips it there)
    default: int = 0       # link->aspm_default (what the firmware had enabled)


def _u16(cfg, off: int) -> int:
    return int(cfg[off]) | int(cfg[off + 1]) << 8


def aspm_link(profile, caps, port_profile, port_caps) -> AspmLink | None:
    """The link the port above heads (pcie_aspm_init_link_state on a Root or Downstream Port with
    the function below it), or None: no port, or either end without PCIe. A function without Role-
    Based Error Reporting (pre-1.1, pcie_aspm_sanity_check) blacklists the link: nothing capable,
    and the init turned everything off. Without L0s or L1 on both ends pcie_aspm_cap_init stops
    before L1SS (nothing supported). L1.2 needs the function's LTR path (DEVCTL2 LTR Enable, as
    pci_configure_ltr left it). pcie_aspm_check_latency prunes L0s and L1 by the function's
    acceptable latencies (an endpoint). CLKPM: every function below has LNKCAP Clock PM
    (pcie_clkpm_cap_init); enabled when CLKREQ# is on."""
    if port_profile is None or not caps.exp or not port_caps.exp:
        return None
    if _exp_type(port_profile.config, port_caps.exp) not in (0x4, 0x6):
        return None
    cfg, pcfg, e, pe = profile.config, port_profile.config, caps.exp, port_caps.exp
    lnkcap, plnkcap = _u32(cfg, e + PCI_EXP_LNKCAP), _u32(pcfg, pe + PCI_EXP_LNKCAP)
    lnkctl, plnkctl = _u16(cfg, e + PCI_EXP_LNKCTL), _u16(pcfg, pe + PCI_EXP_LNKCTL)
    clkpm_capable = bool(lnkcap & 0x40000)                       # PCI_EXP_LNKCAP_CLKPM
    clkpm_enabled = clkpm_capable and bool(lnkctl & 0x100)       # PCI_EXP_LNKCTL_CLKREQ_EN
    devcap = _u32(cfg, e + PCI_EXP_DEVCAP)
    if not devcap & 0x8000:                                      # PCI_EXP_DEVCAP_RBER: blacklisted
        return AspmLink(0, 0, False, False)                      # clkpm_disable: nothing to enable
    l0s = bool(lnkcap & plnkcap & 0x400)                         # PCI_EXP_LNKCAP_ASPM_L0S
    l1 = bool(lnkcap & plnkcap & 0x800)                          # PCI_EXP_LNKCAP_ASPM_L1
    if not l0s and not l1:
        return AspmLink(0, 0, clkpm_capable, clkpm_enabled)
    support = (LINK_L0S_UP | LINK_L0S_DW if l0s else 0) | (LINK_L1 if l1 else 0)
    enabled = (LINK_L0S_UP if lnkctl & 0x1 else 0) | (LINK_L0S_DW if plnkctl & 0x1 else 0)
    enabled |= LINK_L1 if lnkctl & plnkctl & 0x2 else 0
    if caps.l1ss and port_caps.l1ss:                             # aspm_l1ss_init
        ccap, pcap = _u32(cfg, caps.l1ss + 0x04), _u32(pcfg, port_caps.l1ss + 0x04)
        ccap = ccap if ccap & 0x10 else 0                       # PCI_L1SS_CAP_L1_PM_SS
        pcap = pcap if pcap & 0x10 else 0
        if not _u16(cfg, e + PCI_EXP_DEVCTL2) & 0x400:          # !child->ltr_path
            ccap &= ~0x4                                         # PCI_L1SS_CAP_ASPM_L1_2
        cctl1 = _u32(cfg, caps.l1ss + 0x08) if ccap else 0
        pctl1 = _u32(pcfg, port_caps.l1ss + 0x08) if pcap else 0
        for cap_bit, ctl_bit, state in ((0x8, 0x8, LINK_L1_1), (0x4, 0x4, LINK_L1_2),
                                        (0x2, 0x2, LINK_L1_1_PCIPM), (0x1, 0x1, LINK_L1_2_PCIPM)):
            support |= state if pcap & ccap & cap_bit else 0
            enabled |= state if pctl1 & cctl1 & ctl_bit else 0
    capable = support
    if _exp_type(cfg, e) in (0x0, 0x1):                          # pcie_aspm_check_latency (an endpoint)
        acc_l0s = 0xFFFFFFFF if (devcap >> 6) & 7 == 7 else 64 << ((devcap >> 6) & 7)
        acc_l1 = 0xFFFFFFFF if (devcap >> 9) & 7 == 7 else 1000 << ((devcap >> 9) & 7)

        def l0s_lat(cap):
            return 5000 if (cap >> 12) & 7 == 7 else 64 << ((cap >> 12) & 7)

        def l1_lat(cap):
            return 65000 if (cap >> 15) & 7 == 7 else 1000 << ((cap >> 15) & 7)
        if capable & LINK_L0S_UP and l0s_lat(plnkcap) > acc_l0s:
            capable &= ~LINK_L0S_UP
        if capable & LINK_L0S_DW and l0s_lat(lnkcap) > acc_l0s:
            capable &= ~LINK_L0S_DW
        if capable & LINK_L1 and max(l1_lat(plnkcap), l1_lat(lnkcap)) > acc_l1:
            capable &= ~LINK_L1
    # the init's pcie_config_aspm_path under the default policy: state = aspm_default (= enabled)
    # & capable; no L1SS without L1 -- what it leaves is what the dump shows
    state = enabled & capable
    if not state & LINK_L1:
        state &= ~LINK_L1SS
    return AspmLink(capable, state, clkpm_capable, clkpm_enabled, support, enabled)


# pci_ptm_init (drivers/pci/pcie/ptm.c): what the kernel keeps of each end's PTM capability
PCI_PTM_CAP, PCI_PTM_CAP_REQ, PCI_PTM_CAP_RES, PCI_PTM_CAP_ROOT = 0x04, 0x1, 0x2, 0x4


@dataclass(frozen=True)
class PtmInfo:
    root: bool             # dev->ptm_root
    granularity: int       # dev->ptm_granularity
    type_ok: bool          # __pci_enable_ptm's type check passes (a Root Port that is ptm_root, an
                           # Upstream Port that is a responder, an endpoint that is a requester)


def _ptm_info(profile, caps, ups: PtmInfo | None) -> PtmInfo | None:
    if not caps.ptm or not caps.exp:
        return None
    cap = _u32(profile.config, caps.ptm + PCI_PTM_CAP)
    gran, root, kind = (cap >> 8) & 0xFF, False, _exp_type(profile.config, caps.exp)
    if ups is not None:
        gran = 0 if ups.granularity == 0 else max(gran, ups.granularity)
    elif cap & PCI_PTM_CAP_ROOT:
        root = True
    elif kind == 0x9:                                   # PCI_EXP_TYPE_RC_END
        gran = 0
    type_ok = (kind == 0x4 and root) or (kind == 0x5 and bool(cap & PCI_PTM_CAP_RES)) or \
        (kind in (0x0, 0x1) and bool(cap & PCI_PTM_CAP_REQ))
    return PtmInfo(root, gran, type_ok)


def ptm_info(profile, caps, port_profile, port_caps) -> tuple[PtmInfo | None, PtmInfo | None]:
    """(the function's, the port's) PTM as pci_ptm_init leaves them (None: no PTM capability).
    The port is the function's pci_upstream_ptm only when it has PTM and is no Switch Downstream
    Port (which may not have PTM; the switch above it is not modelled); nothing is modelled above
    the port, so the port has no upstream PTM of its own."""
    port = _ptm_info(port_profile, port_caps, None) if port_profile is not None else None
    if port is not None and _exp_type(port_profile.config, port_caps.exp) == 0x6:
        port = None
    return _ptm_info(profile, caps, port), port
