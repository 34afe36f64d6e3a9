"""vfio-pci's view of config space (drivers/vfio/pci/vfio_pci_config.c), as tables both models read.

vfio_config_init builds, once per open device, `pci_config_map`: for every config byte the
capability that holds it (PCI_CAP_ID_BASIC for the header, PCI_CAP_ID_INVALID where no
capability vfio knows does). A user's access is cut into aligned pieces that do not leave a
capability's dword (vfio_pci_config_rw_single), and each piece goes to the write function of
its region's permission table: `unassigned_perms` (raw: straight to hardware), a capability
with no write function (dropped), or the path that is its write function (the
vfio_*_config_write paths of policy/paths.py), whose steps run `vfio_default_config_write`
(write bits not virtual to hardware in a read-modify-write, virtual ones to vconfig) and the
capability's own actions (Command, PMCSR, DEVCTL, MSI Message Control).

The lengths (pci_cap_length, pci_ext_cap_length, vfio_cap_len, vfio_ext_cap_len) and the
permission rows (init_pci_cap_*_perm, init_pci_ext_cap_*_perm) are the tables below. A
capability vfio gives no length is hidden: its bytes stay unassigned, so a user's write reaches
hardware raw (for example PASID, L1 PM Substates, PTM and DPC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..policy.paths import PATH_IDS, PATH_NAMES

CFG_ALLOC = 4096 + 256     # the engine's config allocation (fuzzcore/engine/_restore.pxd)

# What a region's write function does (vfio_pci_config.c), per byte (the engine's VF_* codes):
# raw, none, or PATH_BASE + the id of the path that is the write function (policy/paths.py).
RAW, NONE, PATH_BASE = 0, 1, 2
assert PATH_BASE + len(PATH_NAMES) <= 0xFF, "a write function's code is one byte"


def fn_kind(write_fn: str) -> int:
    """A region's write_fn as its byte code."""
    if write_fn in ("raw", "none"):
        return RAW if write_fn == "raw" else NONE
    return PATH_BASE + PATH_IDS[write_fn]       # the loader admits only paths.VFIO_WRITE_FNS


def fn_name(kind: int) -> str:
    """A byte code back as the write_fn it came from."""
    return "raw" if kind == RAW else "none" if kind == NONE else PATH_NAMES[kind - PATH_BASE]

UNASSIGNED = -1            # pci_config_map's PCI_CAP_ID_INVALID
EXT = 0x100                # map ids of extended capabilities: EXT + id

PCI_CAP_ID_MAX = 0x14       # PCI_CAP_ID_EA
PCI_EXT_CAP_ID_MAX = 0x31   # PCI_EXT_CAP_ID_PL_64GT


@dataclass(frozen=True)
class VfioConfigMap:
    map_id: np.ndarray     # int16[CFG_ALLOC]: UNASSIGNED, 0 (the header), a std id, EXT + an ext id
    start: np.ndarray      # int16[CFG_ALLOC]: vfio_find_cap_start (an unassigned byte: itself)
    kind: np.ndarray       # uint8[CFG_ALLOC]: RAW, NONE, PATH_BASE + a write function path's id
    write: np.ndarray      # uint8[CFG_ALLOC]: perm->write, per byte
    virt: np.ndarray       # uint8[CFG_ALLOC]: perm->virt, per byte
    cfg_size: int          # pdev->cfg_size: an access past it is -EFAULT


def _u8(cfg, off: int) -> int:
    return int(cfg[off]) if off < len(cfg) else 0


def _u16(cfg, off: int) -> int:
    return _u8(cfg, off) | _u8(cfg, off + 1) << 8


def _u32(cfg, off: int) -> int:
    return _u16(cfg, off) | _u16(cfg, off + 2) << 16


def _std_length(cfg, region, pos: int, exp_type: int) -> int:
    """pci_cap_length[cap], or vfio_cap_len for the variable ones (0: hidden)."""
    n = region.length if region is not None else 0
    if not isinstance(n, str):
        return n
    if n == "msi":
        flags = _u16(cfg, pos + 2)
        return 10 + (4 if flags & 0x80 else 0) + (10 if flags & 0x100 else 0)
    if n == "pcix":
        return 24 if (_u16(cfg, pos + 2) >> 12) & 0x3 else 8
    if n == "vndr":
        return _u8(cfg, pos + 2)
    if n == "exp":
        v1 = _u16(cfg, pos + 2) & 0xF == 1
        if exp_type == 0x9:                            # PCI_EXP_TYPE_RC_END: no link
            return 0x0C if v1 else 0x2C
        return 20 if v1 else 0x34
    if n == "ht":
        return 24 if _u8(cfg, pos + 3) & 0xE0 else 28
    return 16 if _u8(cfg, pos + 4) & 0xF == 0xF else 8   # sata


def _ext_length(cfg, region, pos: int) -> int:
    """pci_ext_cap_length[cap], or vfio_ext_cap_len (0: hidden)."""
    n = region.length if region is not None else 0
    if not isinstance(n, str):
        return n
    if n == "dvsec":
        return _u32(cfg, pos + 4) >> 20 & 0xFFF
    if n == "vc":
        evcc = _u32(cfg, pos + 4) & 0x7
        cap2 = _u32(cfg, pos + 8)
        phases = 128 if cap2 & 0x4 else 64 if cap2 & 0x2 else 32 if cap2 & 0x1 else 0
        length = 0x10 + (1 + evcc) * 0x0C
        if phases:
            length = (length + 15) // 16 * 16 + phases * 4 // 8
        return length
    if n == "acs":
        if _u8(cfg, pos + 4) & 0x20:                   # PCI_ACS_EC
            bits = _u8(cfg, pos + 5)
            bits = (bits + 31) // 32 * 32 if bits else 256
            return 8 + bits // 8
        return 8
    if n == "rebar":
        return 4 + ((_u8(cfg, pos + 8) & 0xE0) >> 5) * 8
    if n == "dpa":
        return 16 + (_u8(cfg, pos + 4) & 0x1F) + 1
    dword = _u32(cfg, pos + 4)                          # tph
    if (dword >> 9) & 0x3 == 0x1:                       # ST table in the capability
        return 0x0C + ((dword >> 16) & 0x7FF) * 2 + 2
    return 0x0C


def build(profile, regions, answering: bool = True) -> VfioConfigMap:
    """vfio_config_init's pci_config_map for the device under the policy's [vfio_config] regions
    (policy/vfio_config.py), with each byte's permissions. A function that does not answer at
    open reads Status all-ones: vfio_cap_init follows pointer 0xff to "capabilities" of id 0xff
    (length 0, hidden) and never sets extended_caps, so every byte past the header is unassigned
    (answering = False)."""
    cfg = np.asarray(profile.config, dtype=np.uint8)
    cfg_size = 4096 if len(profile.image) >= 4096 else 256   # pci_cfg_space_size: the dump's extent
    by_cap = {(r.space, r.cap): r for r in regions}
    map_id = np.full(CFG_ALLOC, UNASSIGNED, dtype=np.int16)
    header = by_cap[("std", 0)]
    map_id[:header.length] = 0
    exp_type = 0
    extended = False
    for cap in profile.walk.standard if answering else ():   # vfio_cap_init, in list order
        if cap.cap_id == 0x10:
            exp_type = _u16(cfg, cap.offset + 2) >> 4 & 0xF
        if cap.cap_id in (0x10, 0x07) and cfg_size > 0x100:
            extended = _u32(cfg, 0x100) != 0            # vdev->extended_caps
        n = _std_length(cfg, by_cap.get(("std", cap.cap_id)) if 0 < cap.cap_id <= PCI_CAP_ID_MAX else None,
                        cap.offset, exp_type)
        if n:
            map_id[cap.offset:min(cap.offset + n, 0x100)] = cap.cap_id
    if extended:
        first = True
        for cap in profile.walk.extended:               # vfio_ecap_init
            region = by_cap.get(("ext", cap.cap_id)) if cap.cap_id <= PCI_EXT_CAP_ID_MAX else None
            n = _ext_length(cfg, region, cap.offset)
            if not n and not first:
                continue                                # hidden: skipped in the chain, bytes unassigned
            first = False
            map_id[cap.offset:min(cap.offset + (n or 4), cfg_size)] = EXT + cap.cap_id
    start = np.arange(CFG_ALLOC, dtype=np.int16)
    kind = np.full(CFG_ALLOC, RAW, dtype=np.uint8)
    write = np.zeros(CFG_ALLOC, dtype=np.uint8)
    virt = np.zeros(CFG_ALLOC, dtype=np.uint8)
    pos = 0
    while pos < cfg_size:
        mid = int(map_id[pos])
        if mid == UNASSIGNED:
            pos += 1
            continue
        end = pos
        while end < cfg_size and map_id[end] == mid:    # vfio_find_cap_start: the run of one id
            end += 1
        start[pos:end] = pos
        region = by_cap.get(("ext", mid - EXT) if mid >= EXT else ("std", mid))
        fn = fn_kind(region.write_fn) if region is not None else NONE
        kind[pos:end] = fn
        flags = _u16(cfg, pos + 2)
        facts = {"msi_64bit": flags & 0x80, "msi_maskbit": flags & 0x100}
        for row in region.rows if region is not None else ():
            if not region.when_holds(row, facts):
                continue
            for i in range(row.width):
                off = pos + row.at + i
                if off < end:                           # alloc_perm_bits: the region's own bytes
                    write[off], virt[off] = (row.write >> 8 * i) & 0xFF, (row.virt >> 8 * i) & 0xFF
        pos = end
    return VfioConfigMap(map_id, start, kind, write, virt, cfg_size)


def pieces(m_map: VfioConfigMap, offset: int, width: int):
    """vfio_pci_config_rw's loop: (pos, n) of each aligned piece that stays in one region's dword
    (vfio_pci_cap_remaining_dword, then 4 at a dword boundary, 2 at a word one, else 1)."""
    pos, end = offset, offset + width
    while pos < end:
        i = 1
        while (pos + i) % 4 and m_map.map_id[pos + i] == m_map.map_id[pos]:
            i += 1
        count = min(end - pos, i)
        n = 4 if count >= 4 and pos % 4 == 0 else 2 if count >= 2 and pos % 2 == 0 else 1
        yield pos, n
        pos += n
