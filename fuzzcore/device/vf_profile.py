"""A VF's profile, derived from its PF's profile and SR-IOV capability.

A PF's dump holds what a VF needs to exist (its SR-IOV capability: VF Enable, NumVFs, the VF
Device ID, the VF BARs) but not the VF's own config space. The derived VF is the PF's
config space as the SR-IOV specification (1.1, chapter 3) shapes a VF's:
- Vendor and Device ID read FFFFh (the kernel takes them from the PF: pci_iov_add_virtfn);
- Command's I/O and Memory Space Enable read zero (the PF's VF MSE decides decode), the BARs
  and the Interrupt Pin read zero, there is no Expansion ROM and no multi-function bit;
- DEVCAP has Function Level Reset (a VF must implement FLR);
- of the capabilities, the VF keeps those a VF implements whenever its PF does (VF_CAPABILITIES
  below: PCI Express, which every VF has, MSI-X, AER, ACS, ARI, ATS, TPH) and drops those that
  are the PF's alone (SR-IOV itself, LTR, L1 PM Substates, PTM, PASID, PRI, VC, Resizable BAR,
  DPC, Secondary PCIe, vendor-specific ones). PCI Power Management and MSI are optional for a VF
  and often absent where the PF has them (the 82576's VF has neither): they are kept only when
  the caller says the VF has them (`keep`). A wrong PM capability is worse than a missing one: the
  kernel puts a VF without it nowhere but D0 (pci_target_state, pci_power_up);
- the MSI-X Table Size is the VF's own (the 82576's VF has 3 entries, its PF 10): the caller
  gives it (`msix_entries`); otherwise the PF's is kept and the profile says it was guessed.

Each VF BAR's address is the PF's VF BAR plus the VF's index times the per-VF size; sizes are
taken from `vf_bar_sizes` or guessed from the address alignment, as for a PF's BARs. A dump of
the VF itself is better than a derivation: this gives a starting point that the models accept.
"""

from __future__ import annotations

import struct

import numpy as np

from .capability_ids import PCI_CAP_ID_EXP
from .profile import DeviceProfile, ProfileError
from .profile_check import Problem, _ctx, capability_extent, profile_problem
from .register_semantics import BarInfo

PCI_EXT_CAP_ID_SRIOV = 0x10
# Capabilities a VF may implement (SR-IOV 1.1 §3.5, §3.6 and the per-capability notes of
# §3.4): standard PM, MSI, PCI Express, MSI-X; extended AER, ACS, ARI, ATS, TPH.
VF_CAPABILITIES = {False: {0x10, 0x11}, True: {0x01, 0x0D, 0x0E, 0x0F, 0x17}}
# optional for a VF, kept only on the caller's word: name -> standard capability id
VF_OPTIONAL = {"pm": 0x01, "msi": 0x05}


def _u16(img, off: int) -> int:
    return int(img[off]) | int(img[off + 1]) << 8


def _u32(img, off: int) -> int:
    return int.from_bytes(bytes(img[off:off + 4]), "little")


def _put(img, off: int, width: int, value: int) -> None:
    img[off:off + width] = np.frombuffer(value.to_bytes(width, "little"), dtype=np.uint8)


def _relink(img, prof: DeviceProfile, ctx, keep: frozenset = frozenset()) -> None:
    """Zero every capability a VF does not keep and chain the kept ones in their order."""
    kept = {False: [], True: []}
    optional = {VF_OPTIONAL[k] for k in keep}
    for cap in prof.walk.all:
        if cap.cap_id in VF_CAPABILITIES[cap.extended] or (not cap.extended and cap.cap_id in optional):
            kept[cap.extended].append(cap)
        else:
            ext = capability_extent(ctx, cap)
            img[cap.offset:cap.offset + ext] = 0
    std = kept[False]
    img[0x34] = std[0].offset if std else 0
    for a, b in zip(std, std[1:] + [None]):
        img[a.offset + 1] = b.offset if b else 0
    ext = kept[True]
    for a, b in zip(ext, ext[1:] + [None]):
        header = _u32(img, a.offset) & 0x000FFFFF
        _put(img, a.offset, 4, header | ((b.offset if b else 0) << 20))
    if ext and ext[0].offset != 0x100:
        # the list starts at 0x100: a null header there points at the first kept capability
        _put(img, 0x100, 4, ext[0].offset << 20)
    elif not ext and len(prof.image) > 0x100:
        _put(img, 0x100, 4, 0)


def vf_profile_from_pf(pf: DeviceProfile, name: str, vf_index: int = 0,
                       vf_bar_sizes: dict | None = None, keep: frozenset = frozenset(),
                       msix_entries: int | None = None) -> DeviceProfile:
    """The profile of VF `vf_index` of `pf`, with the optional capabilities named in `keep`
    (VF_OPTIONAL) and `msix_entries` MSI-X vectors. Raises ProfileError naming what the PF's
    dump lacks (no SR-IOV capability, VFs not enabled, an unassigned VF BAR) or what the caller
    asked for that it cannot give."""
    unknown = set(keep) - set(VF_OPTIONAL)
    if unknown:
        raise ProfileError(pf.name, f"--vf-keep {min(unknown)}: a VF may keep only {', '.join(VF_OPTIONAL)}")
    cap = pf.walk.find(PCI_EXT_CAP_ID_SRIOV, True)
    if cap is None:
        raise ProfileError(pf.name, "the PF has no SR-IOV capability: it has no VFs")
    img = np.frombuffer(pf.image, dtype=np.uint8).copy()
    s = cap.offset
    ctrl, num_vfs = _u16(img, s + 0x08), _u16(img, s + 0x10)
    if not ctrl & 0x1 or not num_vfs:
        raise ProfileError(pf.name, f"the PF's SR-IOV capability at 0x{s:03x} has VF Enable clear or NumVFs 0 "
                                    "(its driver has not enabled VFs): the dump gives no VF")
    if not 0 <= vf_index < num_vfs:
        raise ProfileError(pf.name, f"VF index {vf_index}: the PF has NumVFs = {num_vfs}")
    sizes = dict(vf_bar_sizes or {})
    bars = []
    guessed = False
    i = 0
    while i < 6:
        lo = _u32(img, s + 0x24 + 4 * i)
        kind = "mem64" if (lo >> 1) & 3 == 2 and i < 5 else "mem32"
        base = lo & ~0xF
        if kind == "mem64":
            base |= _u32(img, s + 0x28 + 4 * i) << 32
        if not base:
            if i in sizes:
                raise ProfileError(pf.name, f"--vf-bar {i}=...: the PF's VF BAR{i} is unassigned (reads 0)")
            i += 2 if kind == "mem64" else 1
            continue
        size = sizes.pop(i, None)
        if size is None:
            guessed, size = True, min(base & -base, 1 << 20)
        bars.append(BarInfo(i, kind, size, bool(lo & 0x8), base + vf_index * size))
        i += 2 if kind == "mem64" else 1
    if sizes:
        raise ProfileError(pf.name, f"--vf-bar {min(sizes)}=...: the PF's SR-IOV capability has no VF BAR{min(sizes)}")
    ctx = _ctx(pf)
    _relink(img, pf, ctx, frozenset(keep))
    msix = pf.walk.find(0x11, False)
    if msix_entries is not None:
        if msix is None:
            raise ProfileError(pf.name, "--vf-msix: the PF has no MSI-X capability for the VF to keep")
        if not 1 <= msix_entries <= 2048:
            raise ProfileError(pf.name, f"--vf-msix {msix_entries}: an MSI-X table has 1 to 2048 entries")
        ctrl = _u16(img, msix.offset + 2)
        _put(img, msix.offset + 2, 2, (ctrl & ~0x7FF) | (msix_entries - 1))   # Table Size (N-1)
    _put(img, 0x00, 4, 0xFFFFFFFF)                      # Vendor ID, Device ID: FFFFh
    _put(img, 0x04, 2, 0)                               # Command
    _put(img, 0x06, 2, _u16(img, 0x06) & 0x0010)        # Status: Capabilities List only
    img[0x0E] &= 0x7F                                   # not multi-function
    for off in range(0x10, 0x28, 4):
        _put(img, off, 4, 0)                            # BARs
    _put(img, 0x30, 4, 0)                               # no Expansion ROM
    img[0x3C] = img[0x3D] = 0                           # Interrupt Line, Pin
    exp = pf.walk.find(PCI_CAP_ID_EXP, False)
    if exp is not None:
        _put(img, exp.offset + 4, 4, _u32(img, exp.offset + 4) | (1 << 28))   # DEVCAP.FLR
    vf_dev = _u16(pf.image, s + 0x1A)
    rid = _u16(pf.image, s + 0x14) + vf_index * _u16(pf.image, s + 0x16)
    prof = DeviceProfile(name, bytes(img), f"VF {vf_index} (device {vf_dev:04x}, routing ID offset {rid}) of "
                         f"{pf.description or pf.name}", f"derived from the PF profile {pf.name}",
                         pf.upstream_port, bars, 0, guessed, True,
                         virtual_bus=rid >= 0x100)      # the PF at devfn 0: pci_iov_virtfn_bus > the PF's bus
    problem: Problem | None = profile_problem(prof)
    if problem is not None:
        raise ProfileError(pf.name, f"the derived VF: {problem.message}")
    return prof
