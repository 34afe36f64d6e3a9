"""The tables the native engine reads, prepared once per Engine from a device profile and a
compiled policy: config images and masks padded to the engine's allocation, reset tables as
64-bit words (only the words a reset can change), capability offsets, save-buffer layout, BARs,
the MSI-X table's place, the vfio permission regions, and the policy's step/switch tables
resolved to the engine's codes. Nothing here runs a model step."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from ..device.register_semantics import RESET_KINDS
from ..model import vfio_perm
from ..model.caps import cap_offsets
from ..model.enumeration import (acs_rr_uf_check, aspm_link, bridge_d3, eetlp_prefix, iov_bars_assigned, iov_resources, vfs_share_bus,
                                  ptm_info, sriov_total_vfs, sriov_vfm)
from ..model.intent import written_byte_map, written_layout
from ..program.op_table import compile_preconditions
from ..policy.paths import CONDITION_NAMES, PATH_BY_NAME, PRIMITIVE_NAMES
from ..policy.vocabulary import (
    GATE_NAMES, RESET_METHOD_NAMES, RESTORE_STEP_NAMES, SAVE_STEP_NAMES,
    SOURCE_NAMES, SWITCH_BY_NAME, SWITCH_IDS,
)

CFG_SIZE = 4096
CFG_ALLOC = 4096 + 256          # must match _restore.pxd
BAR_KIND_CODES = {"none": 0, "mem32": 1, "mem64": 2, "io": 3}
CAP_FIELDS = ("pm", "msi", "msix", "exp", "pcix", "aer", "acs", "ari", "ats", "sriov", "pri", "rebar",
              "tph", "ltr", "pasid", "dpc", "l1ss", "ptm")
PCI_EXP_SAVED_REGS = (0x08, 0x10, 0x18, 0x1C, 0x28, 0x30, 0x38)


def _u32(img: np.ndarray, off: int) -> int:
    return int.from_bytes(img[off:off + 4].tobytes(), "little")


def _u16(img: np.ndarray, off: int) -> int:
    return int.from_bytes(img[off:off + 2].tobytes(), "little")


def _pad(a, fill: int = 0) -> np.ndarray:
    out = np.full(CFG_ALLOC, fill, dtype=np.uint8)
    out[:CFG_SIZE] = np.asarray(a, dtype=np.uint8)[:CFG_SIZE]
    return out


@dataclass
class FunctionTables:
    """One function's constant tables (device or upstream port)."""

    config: np.ndarray                  # uint8[CFG_ALLOC] the image
    wmask: np.ndarray                   # uint8[CFG_ALLOC]
    w1cmask: np.ndarray
    keep: np.ndarray                    # uint64[N_RESET_KINDS, CFG_ALLOC / 8]
    default: np.ndarray
    reset_words: list                   # per kind: int32 word indices where keep is not all-ones
    caps: dict                          # CAP_FIELDS -> offset, + exp_type, exp_flags
    vc: list                            # [(cap_id, offset, count)]
    bufs: list                          # [(cap_id, extended, size)] in pci_init_capabilities order


@dataclass
class DeviceTables:
    fn: FunctionTables
    header_type: int
    multifunction: bool                 # header type bit 7 (dev->multifunction)
    flr: bool
    no_soft_reset: bool
    has_rom: bool
    rom_base_reg: int                   # 0x30, a bridge's 0x38
    rom_new: int                        # the ROM value pci_std_update_resource writes; 0: it skips the ROM
    bars: list                          # [(index, kind code, size, image address, res->flags type bits)]
    msix_entries: int
    msix_table_bir: int
    msix_table_offset: int
    tph_entries: int
    aer_regs: tuple
    pcie_impl: tuple                    # pcie_capability_reg_implemented per PCI_EXP_SAVED_REGS
    pcie_reg_impl: tuple                # the same per offset 0x00-0x3F of the capability (cap_* steps)
    rebar_first_bar: int
    d1d2: int                           # dev->d1_support | dev->d2_support << 1
    vfio_maps: tuple                    # model/vfio_perm.VfioConfigMap: answering at open, not
    written_layout: tuple = ()          # intent.written_layout
    written_maps: tuple = ()            # (device, port) uint8[CFG_ALLOC]: 4 * row + byte, 255 none
    port: FunctionTables | None = None
    port_name: str = ""
    virtfn: bool = False                # an SR-IOV VF (pdev->is_virtfn, no_command_memory)
    virtual_bus: bool = False           # a VF on virtfn_add_bus's bus: pci_walk_bus never reaches it
    platform_d3cold: bool = True        # the platform can cut the function's power (profile)
    eetlp_prefix: bool = False          # model/enumeration.eetlp_prefix
    acs_check: int = -2                 # model/enumeration.acs_rr_uf_check of the function
    port_acs_check: int = -2            # and of the port above
    bridge_d3: bool = False             # model/enumeration.bridge_d3
    sriov_total_vfs: int = 0            # model/enumeration.sriov_total_vfs
    sriov_vfm: bool = False             # model/enumeration.sriov_vfm
    iov_bars_assigned: bool = False     # model/enumeration.iov_bars_assigned
    iov_resources: tuple = ((0, 0, 0),) * 6   # model/enumeration.iov_resources
    vfs_share_bus: bool = False         # model/enumeration.vfs_share_bus
    aspm: tuple = ()                    # model/enumeration.aspm_link: (capable, enabled, clkpm_capable,
                                        # clkpm_enabled, support, default), () without a link
    ptm: tuple = ((), ())               # model/enumeration.ptm_info: _ptm


def _function_tables(profile, caps, vc_count, tph_entries: int, is_port: bool) -> FunctionTables:
    sem = profile.semantics
    keep = np.stack([_pad(sem.keep[k], 0xFF) for k in RESET_KINDS]).view(np.uint64).copy()
    default = np.stack([_pad(sem.default[k], 0) for k in RESET_KINDS]).view(np.uint64).copy()
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    reset_words = [np.flatnonzero(keep[k] != full).astype(np.int32) for k in range(len(RESET_KINDS))]
    cap_dict = {name: int(getattr(caps, name)) for name in CAP_FIELDS}
    cap_dict["exp_type"] = int(caps.exp_type)
    cap_dict["exp_flags"] = int(caps.exp_flags)
    vc = [(int(cap_id), int(off), int(vc_count(off))) for cap_id, off in caps.vc]
    # pci_init_capabilities order: PCIe, PCI-X, LTR (pci_allocate_cap_save_buffers), VC, PTM, AER,
    # TPH, then L1SS (ASPM) and DPC (portdrv, ports only).
    bufs = []
    if caps.exp:
        bufs.append((0x10, False, 14))
    if caps.pcix:
        bufs.append((0x07, False, 2))
    if caps.ltr:
        bufs.append((0x18, True, 4))
    for cap_id, _, count in vc:
        bufs.append((cap_id, True, 4 + 4 * count))
    if caps.ptm:
        bufs.append((0x1F, True, 4))
    if caps.aer:
        bufs.append((0x01, True, 20 if caps.exp_type in (0x4, 0xA) else 16))
    if caps.tph:
        bufs.append((0x17, True, 4 + 2 * tph_entries))
    if caps.l1ss:
        bufs.append((0x1E, True, 8))
    if caps.dpc and is_port:
        bufs.append((0x1D, True, 2))
    return FunctionTables(_pad(profile.config), _pad(sem.wmask), _pad(sem.w1cmask), keep, default,
                          reset_words, cap_dict, vc, bufs)


def _pcie_reg_table(caps) -> tuple:
    """caps.pcie_reg_implemented (the model's pcie_capability_reg_implemented) for each offset
    0x00-0x3F of the PCIe capability: the engine looks its answer up here."""
    from types import SimpleNamespace
    from ..model.caps import pcie_reg_implemented
    m = SimpleNamespace(caps=caps)
    return tuple(bool(pcie_reg_implemented(m, r)) for r in range(0x40))


def device_tables(profile, vfio_regions) -> DeviceTables:
    """vfio_regions: the policy's [vfio_config] (CompiledPolicy.vfio_regions)."""
    from ..device.builtin import resolve_device

    caps = cap_offsets(profile)
    img = _pad(profile.config)
    tph_entries = 0
    if caps.tph:
        cap = _u32(img, caps.tph + 4)
        if (cap >> 9) & 0x3 == 0x1:
            tph_entries = ((cap >> 16) & 0x7FF) + 1
    is_port = profile.header_type == 1
    fn = _function_tables(profile, caps, lambda off: (_u32(img, off + 4) & 0x7) + 1, tph_entries, is_port)
    bars = [(b.index, BAR_KIND_CODES[b.kind], int(b.size), profile.bar_resource(b), profile.bar_res_flags(b))
            for b in profile.bars]
    # dev->resource[PCI_ROM_RESOURCE]: IORESOURCE_ROM_ENABLE when enumeration found the ROM enabled
    rom_reg = 0x38 if is_port else 0x30
    rom = _u32(img, rom_reg)
    rom_new = (rom & 0xFFFFF800) | 0x1 if profile.rom_size and rom & 0x1 else 0
    msix = profile.msix
    aer_regs = (0x08, 0x0C, 0x14, 0x18) + ((0x2C,) if caps.exp_type in (0x4, 0xA) else ())
    port = None
    pp = None
    if profile.upstream_port:
        pp = resolve_device(profile.upstream_port)
        port = _function_tables(pp, cap_offsets(pp), lambda off: 0, 0, True)
    layout = written_layout(profile, caps, pp, cap_offsets(pp) if pp is not None else None)
    maps = []
    for target in (0, 1):
        a = np.full(CFG_ALLOC, 255, dtype=np.uint8)
        for off, (row, byte) in written_byte_map(layout, target).items():
            a[off] = 4 * row + byte
        maps.append(a)
    pcie_regs = _pcie_reg_table(caps)
    return DeviceTables(
        written_layout=layout, written_maps=tuple(maps),
        fn=fn, header_type=profile.header_type, multifunction=bool(profile.config[0x0E] & 0x80), flr=bool(profile.flr), no_soft_reset=bool(profile.no_soft_reset),
        has_rom=bool(profile.rom_size), bars=bars, rom_base_reg=rom_reg, rom_new=rom_new,
        msix_entries=msix.entries if msix else 0, msix_table_bir=msix.table_bir if msix else 0,
        msix_table_offset=msix.table_offset if msix else 0, tph_entries=tph_entries, aer_regs=aer_regs,
        pcie_impl=tuple(pcie_regs[r] for r in PCI_EXP_SAVED_REGS), pcie_reg_impl=pcie_regs,
        rebar_first_bar=int(profile.config[caps.rebar + 8]) & 0x7 if caps.rebar else 0,
        d1d2=(_u16(img, caps.pm + 2) >> 9) & 0x3 if caps.pm else 0,
        vfio_maps=(vfio_perm.build(profile, vfio_regions), vfio_perm.build(profile, vfio_regions, answering=False)), port=port, port_name=profile.upstream_port or "",
        virtfn=bool(profile.virtfn), platform_d3cold=bool(profile.platform_d3cold),
        virtual_bus=bool(profile.virtual_bus),
        eetlp_prefix=eetlp_prefix(profile, caps, pp, cap_offsets(pp) if pp is not None else None),
        acs_check=acs_rr_uf_check(profile, caps),
        port_acs_check=acs_rr_uf_check(pp, cap_offsets(pp)) if pp is not None else -2,
        bridge_d3=bridge_d3(profile, caps), sriov_total_vfs=sriov_total_vfs(profile, caps),
        sriov_vfm=sriov_vfm(profile, caps), iov_bars_assigned=iov_bars_assigned(profile, caps),
        iov_resources=iov_resources(profile, caps), vfs_share_bus=vfs_share_bus(profile, caps),
        aspm=_aspm(profile, caps, pp), ptm=_ptm(profile, caps, pp))


def _ptm(profile, caps, pp) -> tuple:
    """(function, port) as (root, granularity, type_ok) or () each (model/enumeration.ptm_info)."""
    dev, port = ptm_info(profile, caps, pp, cap_offsets(pp) if pp is not None else None)
    return tuple(() if i is None else (i.root, i.granularity, i.type_ok) for i in (dev, port))


def _aspm(profile, caps, pp) -> tuple:
    link = aspm_link(profile, caps, pp, cap_offsets(pp) if pp is not None else None)
    return () if link is None else (link.capable, link.enabled, link.clkpm_capable, link.clkpm_enabled,
                                    link.support, link.default)


# --- the policy --------------------------------------------------------------------------------

@dataclass
class PolicyTables:
    restore: list = field(default_factory=list)    # [(vocabulary id, step name, source, gate)] run order
    save: list = field(default_factory=list)       # [(vocabulary id, step name, gate)]
    reset: list = field(default_factory=list)      # [(vocabulary id, method name)]
    switches: dict = field(default_factory=dict)   # engine field -> int
    pre: list = field(default_factory=list)        # per op-table row: [(fact id, allowed mask, errno)]
    primitive_names: tuple = ()
    condition_names: tuple = ()
    paths: list = field(default_factory=list)      # per path (paths.PATHS order): (name, start, length, label)
    path_steps: list = field(default_factory=list) # [(primitive id, argument, condition)] all paths' steps


def _switch(compiled, name: str):
    """A switch's value from the compiled table: int for bools, the value name for enums, the
    bitmask for lists."""
    i = SWITCH_IDS[name]
    code = int(compiled.switches[i])
    return compiled.switch_values[i][code] if SWITCH_BY_NAME[name].kind == "enum" else code


def policy_tables(compiled) -> PolicyTables:
    """Read a CompiledPolicy's tables (unchanged) into the engine's codes."""
    t = PolicyTables()
    t.primitive_names, t.condition_names = PRIMITIVE_NAMES, CONDITION_NAMES
    for sid in compiled.restore_order:
        sid = int(sid)
        t.restore.append((sid, RESTORE_STEP_NAMES[sid], SOURCE_NAMES[int(compiled.restore_source[sid])],
                          GATE_NAMES[int(compiled.restore_gate[sid])]))
    for sid in compiled.save_order:
        sid = int(sid)
        t.save.append((sid, SAVE_STEP_NAMES[sid], GATE_NAMES[int(compiled.save_gate[sid])]))
    for mid in compiled.reset_order:
        t.reset.append((int(mid), RESET_METHOD_NAMES[int(mid)]))
    t.switches = {
        "gate_on_state_saved": _switch(compiled, "restore.gate_on_state_saved"),
        "clear_state_saved": _switch(compiled, "restore.clear_state_saved"),
        "enumeration_save": _switch(compiled, "save.enumeration_save"),
        "save_and_disable_skip": int(_switch(compiled, "reset.save_and_disable_inaccessible") == "skip"),
        "restore_after_failed_reset": _switch(compiled, "reset.restore_after_failed_reset"),
        "bar_assignment_updates_snapshot": _switch(compiled, "resources.bar_assignment_updates_snapshot"),
        # not read since vfio_pci_core_disable is a path (its resave step carries the switch); still loaded
        "close_resave": int(_switch(compiled, "vfio.close_on_load_failure") == "resave"),
        "aer_native": _switch(compiled, "recovery.aer_native"),
        "disable_idle_d3": _switch(compiled, "vfio.disable_idle_d3"),
    }
    t.pre = compile_preconditions(_SwitchView(compiled))
    for i, name in enumerate(compiled.path_names):
        t.paths.append((name, int(compiled.path_start[i]), int(compiled.path_len[i]), PATH_BY_NAME[name].label))
    t.path_steps = [(int(p), int(a), int(w)) for p, a, w in
                    zip(compiled.step_prim, compiled.step_arg, compiled.step_when)]
    return t


class _SwitchView:
    """compile_preconditions reads `policy.switch(name)`; a CompiledPolicy through _switch."""

    def __init__(self, compiled):
        self.compiled = compiled

    def switch(self, name: str):
        return _switch(self.compiled, name)
