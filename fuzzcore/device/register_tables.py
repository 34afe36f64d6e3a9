"""Per-register field tables for the config-space device model (data, not code).

Every row (`F`) describes some bits of one register: where (`off`, relative to the capability or
0 for the header), how wide, which bits (`mask`), how software writes them (`access`) and what a
reset does to them (`sticky`, `default`, `kept_by`). A row may carry a `when` predicate on the
image (a capability bit, the PCIe port type, the PCIe capability version) and may narrow its mask
from another register (`mask_from`) or take its reset value from one (`default_from`).
`register_semantics.build_semantics` applies the rows; nothing here touches the numpy arrays.

Register attribute classes follow kernel.md §7.1 (secondary sources); bit names are the
`include/uapi/linux/pci_regs.h` constants (v7.1.3), quoted in the comments. Bits no row covers are
RO/HwInit: never written, never changed by any reset. Writes to self-clearing "action" bits
(Initiate FLR, Retrain Link, PRI Reset, Load VC/Port Arbitration Table, DPC Software Trigger,
Slot Electromechanical Interlock Control) always read back 0, so they are left out of wmask and
the stored value stays 0. Of their side effects the models act on Initiate FLR: any kernel write
that sets it on a function with FLR capability resets the function (model/access.py
`_initiates_flr`, the engine's io_write); the others have none in the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .capability_ids import (
    PCI_CAP_ID_EXP, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_PCIX, PCI_CAP_ID_PM,
    PCI_EXT_CAP_ID_ACS, PCI_EXT_CAP_ID_ARI, PCI_EXT_CAP_ID_ATS, PCI_EXT_CAP_ID_DPC,
    PCI_EXT_CAP_ID_ERR, PCI_EXT_CAP_ID_L1SS, PCI_EXT_CAP_ID_LTR, PCI_EXT_CAP_ID_MFVC,
    PCI_EXT_CAP_ID_PASID, PCI_EXT_CAP_ID_PRI, PCI_EXT_CAP_ID_PTM, PCI_EXT_CAP_ID_REBAR,
    PCI_EXT_CAP_ID_SRIOV, PCI_EXT_CAP_ID_TPH, PCI_EXT_CAP_ID_VC, PCI_EXT_CAP_ID_VC9,
)

RESET_KINDS = ("flr", "hot", "soft", "cold")
# Sticky (RWS / RW1CS / ROS) bits survive every reset but a fundamental one (no Aux power modelled).
STICKY_KEPT = frozenset({"flr", "hot", "soft"})
# FLR exceptions (link-related fields, all VC registers): kept by FLR; D3hot->D0 keeps them too
# [inferred: the link stays up]; hot reset and cold reset clear them (kernel.md §7.2).
LINK_KEPT = frozenset({"flr", "soft"})
# PME context (PME_En / PME_Status) survives a D3hot->D0 soft reset even when not sticky (§7.2).
PME_CONTEXT_KEPT = frozenset({"soft"})

# PCI_EXP_FLAGS_TYPE values
PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_LEG_END = 0x0, 0x1
PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_UPSTREAM, PCI_EXP_TYPE_DOWNSTREAM = 0x4, 0x5, 0x6
PCI_EXP_TYPE_PCI_BRIDGE, PCI_EXP_TYPE_PCIE_BRIDGE = 0x7, 0x8
PCI_EXP_TYPE_RC_END, PCI_EXP_TYPE_RC_EC = 0x9, 0xA


@dataclass
class Ctx:
    """What the predicates may look at: the image and facts derived from the header."""

    img: object               # uint8[4096]
    header_type: int          # PCI_HEADER_TYPE & PCI_HEADER_TYPE_MASK
    port: int | None          # PCIe Device/Port Type, None for conventional PCI
    pcie_version: int         # PCI_EXP_FLAGS_VERS, 0 without a PCIe capability
    bars: tuple = ()          # BarInfo list (header BAR expander)
    rom_size: int = 0
    virtfn: bool = False      # an SR-IOV VF: Command's decode bits and the BARs are RO zero

    def dword(self, off: int) -> int:
        """Little-endian dword at `off`, bytes beyond the image read as 0."""
        end = min(off + 4, len(self.img))
        return int.from_bytes(bytes(self.img[off:end]), "little") if off < end else 0


Cond = Callable[[Ctx, int], bool]


@dataclass(frozen=True)
class F:
    off: int
    width: int
    mask: int
    access: str = "RW"                  # "RW" | "RW1C" | "RO" (RO: ROS, hardware-reset or marker rows)
    sticky: bool = False
    default: int = 0                    # value of `mask` bits after a reset that does not keep them
    kept_by: frozenset = frozenset()    # reset kinds that keep these bits besides STICKY_KEPT
    resets: bool = True                 # False: plain RO marker (bytes are a known register)
    when: Cond | None = None
    mask_from: tuple[int, int] | None = None     # (off, shift): mask &= dword(base+off) << shift
    default_from: tuple[int, int] | None = None  # (off, shift): default = dword(base+off) >> shift


def RW(off, width, mask, **kw):      # read-write, non-sticky
    return F(off, width, mask, "RW", **kw)


def RWS(off, width, mask, **kw):     # read-write, sticky
    return F(off, width, mask, "RW", sticky=True, **kw)


def RW1C(off, width, mask, **kw):    # write-1-to-clear, non-sticky
    return F(off, width, mask, "RW1C", **kw)


def RW1CS(off, width, mask, **kw):   # write-1-to-clear, sticky
    return F(off, width, mask, "RW1C", sticky=True, **kw)


def ROS(off, width, mask, **kw):     # read-only, sticky (hardware logs): only a cold reset clears
    return F(off, width, mask, "RO", sticky=True, **kw)


def RO_RESET(off, width, mask, default, **kw):  # read-only, set by hardware at every reset
    return F(off, width, mask, "RO", default=default, **kw)


def RO(off, width, **kw):            # a known read-only register (marks bytes as known only)
    return F(off, width, 0, "RO", resets=False, **kw)


# -- predicates --------------------------------------------------------------------------------

def has(off: int, mask: int) -> Cond:
    """Some bit of `mask` is set in the dword at capability offset `off`."""
    return lambda ctx, base: bool(ctx.dword(base + off) & mask)


def lacks(off: int, mask: int) -> Cond:
    return lambda ctx, base: not ctx.dword(base + off) & mask


def port_in(*types: int) -> Cond:
    return lambda ctx, base: ctx.port in types


def pcie_v2(ctx: Ctx, base: int) -> bool:
    return ctx.pcie_version > 1


def is_pcie(ctx: Ctx, base: int) -> bool:
    return ctx.port is not None


def not_pcie(ctx: Ctx, base: int) -> bool:
    return ctx.port is None


def is_vf(ctx: Ctx, base: int) -> bool:
    return ctx.virtfn


def pf_pcie(ctx: Ctx, base: int) -> bool:
    """A PCIe function that is not a VF."""
    return ctx.port is not None and not ctx.virtfn


def all_(*conds: Cond) -> Cond:
    return lambda ctx, base: all(c(ctx, base) for c in conds)


@dataclass(frozen=True)
class CapSpec:
    name: str
    size: int | Callable[[Ctx, int], int]         # bytes of the structure (the "known" range)
    fields: tuple[F, ...] = ()
    expand: Callable[[Ctx, int], list[F]] | None = None   # variable-length parts (tables, entries)
    kept_by: frozenset = frozenset()              # extra keep for every row (VC: LINK_KEPT)


# -- configuration header (offset 0) -----------------------------------------------------------

# Command: QEMU's pci_init_wmask makes IO|MEMORY|MASTER|SERR|INTX_DISABLE writable. We add
# PARITY (Parity Error Response is RW on every PCIe function). On PCIe, SPECIAL, INVALIDATE,
# VGA_PALETTE, WAIT and FAST_BACK are hardwired 0; on conventional PCI we let the optional ones
# (SPECIAL, INVALIDATE, VGA_PALETTE, FAST_BACK) be written too. WAIT (stepping) is always RO.
PCI_COMMAND_PCIE_WMASK = 0x001 | 0x002 | 0x004 | 0x040 | 0x100 | 0x400
PCI_COMMAND_PCI_WMASK = PCI_COMMAND_PCIE_WMASK | 0x008 | 0x010 | 0x020 | 0x200
# An SR-IOV VF (SR-IOV 1.1 §3.4.1.3): I/O Space and Memory Space Enable are RO zero (the PF's VF
# MSE decides decode), Interrupt Disable RO zero (no INTx), Parity Error Response and SERR# Enable
# reserved: only Bus Master is the VF's own.
PCI_COMMAND_VF_WMASK = 0x004
# PCI_STATUS_PARITY | SIG_TARGET_ABORT | REC_TARGET_ABORT | REC_MASTER_ABORT | SIG_SYSTEM_ERROR |
# DETECTED_PARITY (QEMU pci_init_w1cmask); PCI_SEC_STATUS uses the same bit positions.
PCI_STATUS_W1C = 0x0100 | 0x0800 | 0x1000 | 0x2000 | 0x4000 | 0x8000
PCI_BIST_CAPABLE, PCI_BIST_START = 0x80, 0x40


def _bar_masks(info) -> list[int]:
    """Writable address bits of one BAR (two dwords for mem64), QEMU pci_register_bar style."""
    if info.kind == "io":
        return [~(info.size - 1) & 0xFFFFFFFC]       # PCI_BASE_ADDRESS_IO_MASK
    if info.kind == "mem32":
        return [~(info.size - 1) & 0xFFFFFFF0]       # PCI_BASE_ADDRESS_MEM_MASK
    if info.kind == "mem64":
        m = ~(info.size - 1) & 0xFFFFFFFFFFFFFFF0
        return [m & 0xFFFFFFFF, m >> 32]
    return []


def _header_bars(ctx: Ctx, base: int) -> list[F]:
    nbars = 6 if ctx.header_type == 0 else 2 if ctx.header_type == 1 else 0
    rows = []
    for info in () if ctx.virtfn else ctx.bars:       # a VF's BARs are RO zero (SR-IOV §3.4.1.11)
        for i, mask in enumerate(_bar_masks(info)):
            if info.index + i < nbars:
                rows.append(RW(0x10 + 4 * (info.index + i), 4, mask))  # PCI_BASE_ADDRESS_n
    for i in range(nbars):
        rows.append(RO(0x10 + 4 * i, 4))
    rom = 0x30 if ctx.header_type == 0 else 0x38 if ctx.header_type == 1 else None
    if rom is not None and ctx.rom_size > 0:
        # PCI_ROM_ADDRESS_MASK address bits above the size, plus PCI_ROM_ADDRESS_ENABLE
        rows.append(RW(rom, 4, (~(ctx.rom_size - 1) & 0xFFFFF800) | 0x1))
    return rows


HEADER_COMMON = (
    RO(0x00, 4), RO(0x08, 4), RO(0x0E, 1),             # IDs, class/revision, header type
    RW(0x04, 2, PCI_COMMAND_PCIE_WMASK, when=pf_pcie),
    RW(0x04, 2, PCI_COMMAND_VF_WMASK, when=is_vf),
    RW(0x04, 2, PCI_COMMAND_PCI_WMASK, when=not_pcie),
    RW1C(0x06, 2, PCI_STATUS_W1C),
    RW(0x0C, 1, 0xFF),                                  # PCI_CACHE_LINE_SIZE (no effect on PCIe)
    RW(0x0D, 1, 0xFF, when=not_pcie),                   # PCI_LATENCY_TIMER: hardwired 0 on PCIe
    RW(0x0F, 1, PCI_BIST_START, when=has(0x0C, PCI_BIST_CAPABLE << 24)),
    RO(0x34, 1),
    RW(0x3C, 1, 0xFF),                                  # PCI_INTERRUPT_LINE
    RO(0x3D, 1),
)

HEADER_OTHER = CapSpec("header", 0x40, HEADER_COMMON)
HEADER_TYPE0 = CapSpec("type0", 0x40, HEADER_COMMON + (RO(0x2C, 4), RO(0x3E, 2)), _header_bars)

HEADER_TYPE1 = CapSpec("type1", 0x40, HEADER_COMMON + (
    RW(0x18, 3, 0xFFFFFF),                 # PCI_PRIMARY_BUS, PCI_SECONDARY_BUS, PCI_SUBORDINATE_BUS
    RW(0x1B, 1, 0xFF, when=not_pcie),      # PCI_SEC_LATENCY_TIMER: hardwired 0 on PCIe
    RW(0x1C, 1, 0xF0), RW(0x1D, 1, 0xF0),  # PCI_IO_BASE / PCI_IO_LIMIT (PCI_IO_RANGE_MASK)
    RW1C(0x1E, 2, PCI_STATUS_W1C),         # PCI_SEC_STATUS
    RW(0x20, 2, 0xFFF0), RW(0x22, 2, 0xFFF0),  # PCI_MEMORY_BASE / LIMIT (PCI_MEMORY_RANGE_MASK)
    RW(0x24, 2, 0xFFF0), RW(0x26, 2, 0xFFF0),  # PCI_PREF_MEMORY_BASE / LIMIT
    # PCI_PREF_BASE_UPPER32 / PCI_PREF_LIMIT_UPPER32 when PCI_PREF_RANGE_TYPE_64
    RW(0x28, 4, 0xFFFFFFFF, when=has(0x24, 0x1)), RW(0x2C, 4, 0xFFFFFFFF, when=has(0x24, 0x1)),
    # PCI_IO_BASE_UPPER16 / PCI_IO_LIMIT_UPPER16 when PCI_IO_RANGE_TYPE_32
    RW(0x30, 2, 0xFFFF, when=has(0x1C, 0x1)), RW(0x32, 2, 0xFFFF, when=has(0x1C, 0x1)),
    # PCI_BRIDGE_CONTROL: PARITY 0x1, SERR 0x2, ISA 0x4, VGA 0x8, VGA 16-bit 0x10, MASTER_ABORT
    # 0x20, BUS_RESET 0x40 (SBR); FAST_BACK 0x80 is hardwired 0 on PCIe.
    RW(0x3E, 2, 0x7F, when=is_pcie), RW(0x3E, 2, 0xFF, when=not_pcie),
), _header_bars)

# -- standard capabilities ---------------------------------------------------------------------

PM_PME_D3COLD = 0x8000   # PCI_PM_CAP_PME_D3cold (PMC at +2): PME context is sticky
PM = CapSpec("PM", 8, (
    RO(0x02, 2),
    # PCI_PM_CTRL: STATE_MASK 0x3 (default D0), DATA_SEL_MASK 0x1e00; NO_SOFT_RESET 0x8 is RO
    RW(0x04, 2, 0x0003 | 0x1E00),
    RWS(0x04, 2, 0x0100, when=has(0x00, PM_PME_D3COLD << 16)),     # PME_ENABLE
    RW1CS(0x04, 2, 0x8000, when=has(0x00, PM_PME_D3COLD << 16)),   # PME_STATUS
    RW(0x04, 2, 0x0100, kept_by=PME_CONTEXT_KEPT, when=lacks(0x00, PM_PME_D3COLD << 16)),
    RW1C(0x04, 2, 0x8000, kept_by=PME_CONTEXT_KEPT, when=lacks(0x00, PM_PME_D3COLD << 16)),
))

MSI_64 = has(0x00, 0x0080 << 16)            # PCI_MSI_FLAGS_64BIT
MSI_32 = lacks(0x00, 0x0080 << 16)
MSI_MASKBIT = has(0x00, 0x0100 << 16)       # PCI_MSI_FLAGS_MASKBIT
MSI = CapSpec("MSI", 0x0A, (
    RW(0x02, 2, 0x0001 | 0x0070),           # PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE
    RW(0x04, 4, 0xFFFFFFFC),                # PCI_MSI_ADDRESS_LO (bits 1:0 RO)
    RW(0x08, 4, 0xFFFFFFFF, when=MSI_64),   # PCI_MSI_ADDRESS_HI
    RW(0x0C, 2, 0xFFFF, when=MSI_64),       # PCI_MSI_DATA_64
    RW(0x08, 2, 0xFFFF, when=MSI_32),       # PCI_MSI_DATA_32
    # Mask bits: all 32 bits writable (we do not narrow to 2^MMC vectors); pending is RO.
    RW(0x10, 4, 0xFFFFFFFF, when=all_(MSI_64, MSI_MASKBIT)), RO(0x14, 4, when=all_(MSI_64, MSI_MASKBIT)),
    RW(0x0C, 4, 0xFFFFFFFF, when=all_(MSI_32, MSI_MASKBIT)), RO(0x10, 4, when=all_(MSI_32, MSI_MASKBIT)),
))

# PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL; table size and Table/PBA offsets are RO.
MSIX = CapSpec("MSI-X", 12, (RW(0x02, 2, 0x8000 | 0x4000),))

# PCI_X_CMD (type-0 layout): DPERR_E 0x1, ERO 0x2, MAX_READ 0xc, MAX_SPLIT 0x70;
# PCI_X_STATUS: SPL_DISC, UNX_SPL, SPL_ERR are RW1C.
PCIX = CapSpec("PCI-X", 8, (
    RW(0x02, 2, 0x007F, when=lambda ctx, base: ctx.header_type == 0),
    RW1C(0x04, 4, 0x00040000 | 0x00080000 | 0x20000000, when=lambda ctx, base: ctx.header_type == 0),
))

# PCIe capability: which registers exist follows pcie_capability_reg_implemented()
# (drivers/pci/access.c): link registers for pcie_cap_has_lnkctl() types, slot registers for a
# downstream port with PCI_EXP_FLAGS_SLOT, root registers for Root Ports and RCECs, the "2"
# registers only for capability version > 1.
LNK_PORTS = (PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_LEG_END, PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_UPSTREAM,
             PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_PCI_BRIDGE, PCI_EXP_TYPE_PCIE_BRIDGE)
DOWNSTREAM_PORTS = (PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_PCIE_BRIDGE)
HAS_LNK = port_in(*LNK_PORTS)
HAS_LNK2 = all_(HAS_LNK, pcie_v2)
HAS_SLT = all_(port_in(*DOWNSTREAM_PORTS), has(0x00, 0x0100 << 16))  # PCI_EXP_FLAGS_SLOT
HAS_RT = port_in(PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_RC_EC)
LNKCAP_CLKPM, LNKCAP_LBNC = 0x00040000, 0x00200000
DEVCTL_DEFAULT = 0x0010 | 0x0800 | 0x2000  # RELAX_EN | NOSNOOP_EN | READRQ_512B (§7.3)
DEVCAP2_COMP_TMOUT_RANGES = 0x0000000F     # Completion Timeout Ranges Supported (no uapi name)
DEVCAP2_10BIT_TAG_REQ = 0x00020000         # 10-Bit Tag Requester Supported (no uapi name)
DEVCTL2_10BIT_TAG_REQ_EN = 0x1000          # 10-Bit Tag Requester Enable (no uapi name)

PCIE = CapSpec("PCIe", lambda ctx, base: 0x3C if ctx.pcie_version > 1 else 0x24, (
    RO(0x02, 2), RO(0x04, 4),
    # PCI_EXP_DEVCTL: CERE|NFERE|FERE|URRE|RELAX_EN|NOSNOOP_EN|READRQ, default 0x2810
    RW(0x08, 2, 0x000F | 0x0010 | 0x0800 | 0x7000, default=DEVCTL_DEFAULT),
    RW(0x08, 2, 0x00E0, kept_by=LINK_KEPT),                        # PAYLOAD (MPS): FLR keeps
    RW(0x08, 2, 0x0100, when=has(0x04, 0x00000020)),               # EXT_TAG if DEVCAP_EXT_TAG
    RW(0x08, 2, 0x0200, when=has(0x04, 0x00000018)),               # PHANTOM if DEVCAP_PHANTOM
    RWS(0x08, 2, 0x0400),                                          # AUX_PME is RWS
    # BCR_FLR 0x8000: Bridge Configuration Retry Enable (RW) on PCIe-to-PCI bridges; on functions
    # it is Initiate FLR, which reads 0: not in wmask; the write resets the function (access.py).
    RW(0x08, 2, 0x8000, when=port_in(PCI_EXP_TYPE_PCI_BRIDGE)),
    RW1C(0x0A, 2, 0x000F),                                         # DEVSTA CED|NFED|FED|URD
    RO(0x0C, 4, when=HAS_LNK),
    # PCI_EXP_LNKCTL. Link-related fields are FLR exceptions: ASPMC, RCB, CCC, ES, CLKREQ_EN, HAWD.
    RW(0x10, 2, 0x0003 | 0x0040 | 0x0080 | 0x0200, kept_by=LINK_KEPT, when=HAS_LNK),
    RW(0x10, 2, 0x0008, kept_by=LINK_KEPT,                         # RCB: RO on root/switch ports
       when=port_in(PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_LEG_END, PCI_EXP_TYPE_PCI_BRIDGE)),
    RW(0x10, 2, 0x0100, kept_by=LINK_KEPT, when=all_(HAS_LNK, has(0x0C, LNKCAP_CLKPM))),
    RW(0x10, 2, 0x0010, when=port_in(*DOWNSTREAM_PORTS)),          # LD; RL 0x20 reads 0 (trapped)
    RW(0x10, 2, 0x0400 | 0x0800, when=all_(HAS_LNK, has(0x0C, LNKCAP_LBNC))),  # LBMIE | LABIE
    RW1C(0x12, 2, 0x4000 | 0x8000, when=all_(HAS_LNK, has(0x0C, LNKCAP_LBNC))),  # LBMS | LABS
    RO(0x14, 4, when=HAS_SLT),
    # PCI_EXP_SLTCTL: ABPE..PCC (0x7ff), DLLSCE 0x1000, ASPL_DISABLE 0x2000; EIC 0x800 reads 0
    RW(0x18, 2, 0x07FF | 0x1000 | 0x2000, when=HAS_SLT),
    RW1C(0x1A, 2, 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010 | 0x0100, when=HAS_SLT),  # SLTSTA
    RW(0x1C, 2, 0x0001 | 0x0002 | 0x0004 | 0x0008, when=HAS_RT),   # RTCTL SECEE|SENFEE|SEFEE|PMEIE
    RW(0x1C, 2, 0x0010, when=all_(HAS_RT, has(0x1C, 0x0001 << 16))),  # RRS_SVE if RTCAP_RRS_SV
    RW1C(0x20, 4, 0x00010000, when=HAS_RT),                        # RTSTA_PME
    RO(0x24, 4, when=pcie_v2),
    # PCI_EXP_DEVCTL2, each enable only where DEVCAP2 advertises it
    RW(0x28, 2, 0x000F, when=all_(pcie_v2, has(0x24, DEVCAP2_COMP_TMOUT_RANGES))),
    RW(0x28, 2, 0x0010, when=all_(pcie_v2, has(0x24, 0x00000010))),  # COMP_TMOUT_DIS
    RW(0x28, 2, 0x0020, when=all_(pcie_v2, has(0x24, 0x00000020))),  # ARI forwarding
    RW(0x28, 2, 0x0040 | 0x0100 | 0x0200, when=pcie_v2),             # ATOMIC_REQ, IDO_REQ/CMP_EN
    RW(0x28, 2, 0x0080, when=all_(pcie_v2, has(0x24, 0x00000040))),  # ATOMIC_EGRESS_BLOCK
    RW(0x28, 2, 0x0400, when=all_(pcie_v2, has(0x24, 0x00000800))),  # LTR_EN if DEVCAP2_LTR
    RW(0x28, 2, DEVCTL2_10BIT_TAG_REQ_EN, when=all_(pcie_v2, has(0x24, DEVCAP2_10BIT_TAG_REQ))),
    RW(0x28, 2, 0x6000, when=all_(pcie_v2, has(0x24, 0x000C0000))),  # OBFF if DEVCAP2_OBFF_MASK
    RO(0x2C, 4, when=HAS_LNK2),
    # PCI_EXP_LNKCTL2: TLS (default: LNKCAP Max Link Speed), ENTER_COMP, HASD, TX_MARGIN, Enter
    # Modified Compliance 0x400, Compliance SOS 0x800, Compliance Preset 0xf000; all FLR-kept.
    # Selectable De-emphasis 0x40 is HwInit.
    RW(0x30, 2, 0x000F, kept_by=LINK_KEPT, default_from=(0x0C, 0), when=HAS_LNK2),
    RW(0x30, 2, 0xFFB0, kept_by=LINK_KEPT, when=HAS_LNK2),
))

STD_CAPS = {PCI_CAP_ID_PM: PM, PCI_CAP_ID_MSI: MSI, PCI_CAP_ID_MSIX: MSIX, PCI_CAP_ID_PCIX: PCIX,
            PCI_CAP_ID_EXP: PCIE}

# -- extended capabilities ---------------------------------------------------------------------

# AER bits: every PCI_ERR_UNC_* (0x10, 0x20, 0x1000..0x80000000) and PCI_ERR_COR_* defined.
AER_UNC = 0xFFFFF030
AER_COR = 0x0001 | 0x0040 | 0x0080 | 0x0100 | 0x1000 | 0x2000 | 0x4000 | 0x8000
# Cold-reset defaults (kernel.md §7, secondary): DLP, SURPDN, FCP, RX_OVER, MALF_TLP, INTN are Fatal;
# INTN and POISON_BLK masked; COR ADV_NFAT, INTERNAL, LOG_OVER masked.
AER_UNC_SEV_DEFAULT = 0x00000010 | 0x00000020 | 0x00002000 | 0x00020000 | 0x00040000 | 0x00400000
AER_UNC_MASK_DEFAULT = 0x00400000 | 0x04000000
AER_COR_MASK_DEFAULT = 0x2000 | 0x4000 | 0x8000
AER_ROOT = port_in(PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_RC_EC)
AER = CapSpec("AER", 0x38, (
    RW1CS(0x04, 4, AER_UNC),                                  # PCI_ERR_UNCOR_STATUS
    RWS(0x08, 4, AER_UNC, default=AER_UNC_MASK_DEFAULT),      # PCI_ERR_UNCOR_MASK
    RWS(0x0C, 4, AER_UNC, default=AER_UNC_SEV_DEFAULT),       # PCI_ERR_UNCOR_SEVER
    RW1CS(0x10, 4, AER_COR),                                  # PCI_ERR_COR_STATUS
    RWS(0x14, 4, AER_COR, default=AER_COR_MASK_DEFAULT),      # PCI_ERR_COR_MASK
    ROS(0x18, 4, 0x1F),                                       # PCI_ERR_CAP_FEP
    # ECRC_GENE 0x40 / ECRC_CHKE 0x100 writable only if ECRC_GENC 0x20 / ECRC_CHKC 0x80 (bit-1)
    RWS(0x18, 4, 0x0040 | 0x0100, mask_from=(0x18, 1)),
    ROS(0x1C, 16, (1 << 128) - 1),                            # PCI_ERR_HEADER_LOG
    RW(0x2C, 4, 0x7, when=AER_ROOT),                          # PCI_ERR_ROOT_COMMAND (non-sticky)
    RW1CS(0x30, 4, 0x7F, when=AER_ROOT),                      # PCI_ERR_ROOT_STATUS COR_RCV..FATAL_RCV
    ROS(0x34, 4, 0xFFFFFFFF, when=AER_ROOT),                  # PCI_ERR_ROOT_ERR_SRC
))


def _vc_expand(ctx: Ctx, base: int) -> list[F]:
    """Per-VC Resource Control and the arbitration tables, sized like pci_vc_do_save_buffer."""
    cap1 = ctx.dword(base + 0x04)                       # PCI_VC_PORT_CAP1
    evcc, lpevcc = cap1 & 0x7, (cap1 >> 4) & 0x7        # EVCC, LPEVCC
    parb_bits = 1 << ((cap1 >> 10) & 0x3)               # ARB_SIZE
    rows: list[F] = []
    cap2 = ctx.dword(base + 0x08)                       # PCI_VC_PORT_CAP2
    vcarb_off = (cap2 >> 24) * 16
    if lpevcc and vcarb_off:
        phases = 128 if cap2 & 0x8 else 64 if cap2 & 0x4 else 32 if cap2 & 0x2 else 0
        size = (lpevcc + 1) * phases * 4 // 8
        rows += [RW(vcarb_off + i, 4, 0xFFFFFFFF) for i in range(0, size, 4)]
    for n in range(evcc + 1):
        res = 0x10 + 12 * n                             # PCI_VC_RES_CAP for VCn
        rescap = ctx.dword(base + res)
        rows += [RO(res, 4), RO(res + 0xA, 2)]          # Resource Capability, Status
        # PCI_VC_RES_CTRL: TC/VC map 0xff, ARB_SELECT 0xe0000, ID 0x7000000, ENABLE 0x80000000.
        # LOAD_TABLE 0x10000 reads 0 (trapped). VC0: TC0, ID and ENABLE are RO (enable reads 1),
        # its TC/VC map resets to 0xff.
        if n == 0:
            rows.append(RW(res + 4, 4, 0xFE | 0x000E0000, default=0xFE))
        else:
            rows.append(RW(res + 4, 4, 0xFF | 0x000E0000 | 0x07000000 | 0x80000000))
        parb_off = (rescap >> 24) * 16
        if parb_off:
            phases = (256 if rescap & 0x20 else 128 if rescap & 0x18 else 64 if rescap & 0x4
                      else 32 if rescap & 0x2 else 0)
            rows += [RW(parb_off + i, 4, 0xFFFFFFFF) for i in range(0, parb_bits * phases // 8, 4)]
    return rows


# All VC registers are FLR exceptions (§7.2, vc.c "for an FLR case, the VC config may remain").
# PCI_VC_PORT_CTRL: VC Arbitration Select 0xe; LOAD_TABLE 0x1 reads 0 (trapped).
VC = CapSpec("VC", 0x10, (RO(0x04, 8), RW(0x0C, 2, 0x000E), RO(0x0E, 2)), _vc_expand, LINK_KEPT)


def _acs_egress(ctx: Ctx, base: int) -> list[F]:
    cap = ctx.dword(base + 0x04)
    if not cap & 0x0020:                                 # PCI_ACS_EC
        return []
    nbits = ((cap >> 8) & 0xFF) or 256                   # Egress Control Vector Size
    return [RW(0x08 + 4 * i, 4, (1 << min(32, nbits - 32 * i)) - 1) for i in range((nbits + 31) // 32)]


# PCI_ACS_CTRL: each of SV TB RR CR UF EC DT writable where PCI_ACS_CAP has the same bit.
ACS = CapSpec("ACS", 8, (RO(0x04, 2), RW(0x06, 2, 0x007F, mask_from=(0x04, 0))), _acs_egress)

# PCI_ARI_CTRL: MFVC 0x1 / ACS 0x2 Function Group enables where PCI_ARI_CAP has them; FG 0x70.
ARI = CapSpec("ARI", 8, (
    RO(0x04, 2),
    RW(0x06, 2, 0x0003, mask_from=(0x04, 0)),
    RW(0x06, 2, 0x0070, when=has(0x04, 0x0003)),
))

ATS = CapSpec("ATS", 8, (RO(0x04, 2), RW(0x06, 2, 0x8000 | 0x001F)))  # PCI_ATS_CTRL ENABLE | STU

VF_BAR_SIZE = 16 * 1024   # assumed size of every VF BAR (the PF image does not tell)


def _sriov_vf_bars(ctx: Ctx, base: int) -> list[F]:
    """PCI_SRIOV_BAR..+5: type from the image's low bits; I/O VF BARs do not exist (RO), nor do
    VF BARs the image holds 0 for (not implemented: RO zero, as enumeration.iov_resources reads
    them; a user's write through vfio reaches nothing there)."""
    rows, upper = [], False
    for i in range(6):
        off = 0x24 + 4 * i
        low = ctx.dword(base + off)
        if upper:
            rows.append(RW(off, 4, 0xFFFFFFFF))
            upper = False
        elif low and not low & 0x1:
            rows.append(RW(off, 4, ~(VF_BAR_SIZE - 1) & 0xFFFFFFF0))
            upper = (low & 0x6) == 0x4               # PCI_BASE_ADDRESS_MEM_TYPE_64
    return rows


SRIOV = CapSpec("SR-IOV", 0x40, (
    RO(0x04, 4),
    RW(0x08, 2, 0x0001 | 0x0008 | 0x0010),                       # VFE | MSE | ARI
    RW(0x08, 2, 0x0002 | 0x0004, when=has(0x04, 0x00000001)),    # VFM | INTR if CAP_VFM
    RW1C(0x0A, 2, 0x0001, when=has(0x04, 0x00000001)),           # STATUS_VFM
    RO(0x0C, 4),
    RW(0x10, 2, 0xFFFF),                                         # PCI_SRIOV_NUM_VF
    RO(0x12, 10), RO(0x1C, 4),
    # PCI_SRIOV_SYS_PGSIZE: a supported page size (PCI_SRIOV_SUP_PGSIZE bit); default 4 KiB
    RW(0x20, 4, 0xFFFFFFFF, default=0x1, mask_from=(0x1C, 0)),
    RO(0x3C, 4),
), _sriov_vf_bars)

PRI = CapSpec("PRI", 16, (
    RW(0x04, 2, 0x0001),                                         # PCI_PRI_CTRL_ENABLE; RESET reads 0
    RW1C(0x06, 2, 0x0001 | 0x0002),                              # PCI_PRI_STATUS_RF | UPRGI
    # PCI_PRI_STATUS_STOPPED: RO, but every reset sets it (§7.3): not kept, default 1.
    RO_RESET(0x06, 2, 0x0100, default=0x0100),
    RO(0x08, 4),
    RW(0x0C, 4, 0xFFFFFFFF),                                     # PCI_PRI_ALLOC_REQ
))


def _rebar_entries(ctx: Ctx, base: int) -> list[F]:
    nbar = (ctx.dword(base + 0x08) >> 5) & 0x7           # PCI_REBAR_CTRL_NBAR_MASK (first entry)
    rows = []
    for i in range(nbar):
        # PCI_REBAR_CTRL_BAR_SIZE; the reset value is the implementation default, which the
        # image does not tell: we take the size the image holds.
        rows += [RO(0x04 + 8 * i, 4), RW(0x08 + 8 * i, 4, 0x1F00, default_from=(0x08 + 8 * i, 0))]
    return rows


REBAR = CapSpec("ReBAR", 4, (), _rebar_entries)


def _tph_st_table(ctx: Ctx, base: int) -> list[F]:
    cap = ctx.dword(base + 0x04)
    if cap & 0x0600 != 0x0200:                           # PCI_TPH_CAP_LOC_MASK == PCI_TPH_LOC_CAP
        return []
    n = ((cap & 0x07FF0000) >> 16) + 1                   # PCI_TPH_CAP_ST_MASK is N-1
    return [RW(0x0C + 2 * i, 2, 0xFFFF) for i in range(n)]


# PCI_TPH_CTRL: MODE_SEL_MASK 0x7 | REQ_EN_MASK 0x300
TPH = CapSpec("TPH", 0x0C, (RO(0x04, 4), RW(0x08, 4, 0x0007 | 0x0300)), _tph_st_table)

# PCI_LTR_MAX_SNOOP_LAT / PCI_LTR_MAX_NOSNOOP_LAT: VALUE_MASK 0x3ff | SCALE_MASK 0x1c00
LTR = CapSpec("LTR", 8, (RW(0x04, 2, 0x1FFF), RW(0x06, 2, 0x1FFF)))

PASID = CapSpec("PASID", 8, (
    RO(0x04, 2),
    RW(0x06, 2, 0x0001),                                 # PCI_PASID_CTRL_ENABLE
    RW(0x06, 2, 0x0002 | 0x0004, mask_from=(0x04, 0)),   # EXEC / PRIV where PCI_PASID_CAP has them
))

DPC_RP_EXT = has(0x04, 0x0020)                           # PCI_EXP_DPC_CAP_RP_EXT
DPC_RP_PIO = 0x00070707                                  # RP PIO Cfg/IO/Mem UR, CA, CTO bits
DPC = CapSpec("DPC", 0x0C, (
    RO(0x04, 2),
    # PCI_EXP_DPC_CTL: trigger enable 0x3 (EN_FATAL/EN_NONFATAL), completion control 0x4,
    # INT_EN 0x8, ERR_COR enable 0x10; poisoned TLP egress blocking 0x20 and DL_Active ERR_COR
    # 0x80 where capable; Software Trigger 0x40 reads 0 (trapped).
    RW(0x06, 2, 0x0001 | 0x0002 | 0x0004 | 0x0008 | 0x0010),
    RW(0x06, 2, 0x0020, when=has(0x04, 0x0040)),
    RW(0x06, 2, 0x0080, when=has(0x04, 0x1000)),
    # PCI_EXP_DPC_STATUS: TRIGGER and INTERRUPT are RW1CS, the reason fields ROS (the brief said
    # RW1C; the spec class is RW1CS (hw, secondary; kernel.md §7))
    RW1CS(0x08, 2, 0x0001 | 0x0008),
    ROS(0x08, 2, 0x0006 | 0x0060 | 0x1F00),
    ROS(0x0A, 2, 0xFFFF),                                # PCI_EXP_DPC_SOURCE_ID
    RW1CS(0x0C, 4, DPC_RP_PIO, when=DPC_RP_EXT),         # RP_PIO_STATUS
    RWS(0x10, 4, DPC_RP_PIO, when=DPC_RP_EXT),           # RP_PIO_MASK
    RWS(0x14, 4, DPC_RP_PIO, when=DPC_RP_EXT),           # RP_PIO_SEVERITY
    RWS(0x18, 4, DPC_RP_PIO, when=DPC_RP_EXT),           # RP_PIO_SYSERROR
    RWS(0x1C, 4, DPC_RP_PIO, when=DPC_RP_EXT),           # RP_PIO_EXCEPTION
    ROS(0x20, 16, (1 << 128) - 1, when=DPC_RP_EXT),      # RP_PIO_HEADER_LOG
))

L1SS = CapSpec("L1SS", 0x10, (
    RO(0x04, 4),
    # PCI_L1SS_CTL1: the four enables where PCI_L1SS_CAP has the same bit; CM_RESTORE_TIME,
    # LTR_L12_TH_VALUE and _SCALE. Not treated as an FLR exception (§7.3 says uncertain).
    RW(0x08, 4, 0x0000000F, mask_from=(0x04, 0)),
    RW(0x08, 4, 0x0000FF00 | 0x03FF0000 | 0xE0000000),
    RW(0x0C, 4, 0x00000003 | 0x000000F8),                # PCI_L1SS_CTL2 T_PWR_ON scale / value
))

PTM = CapSpec("PTM", 0x0C, (
    RO(0x04, 4),
    RW(0x08, 4, 0x0001 | 0xFF00),                        # PCI_PTM_CTRL_ENABLE | effective granularity
    RW(0x08, 4, 0x0002, when=has(0x04, 0x0004)),         # PCI_PTM_CTRL_ROOT if PCI_PTM_CAP_ROOT
))

EXT_CAPS = {
    PCI_EXT_CAP_ID_ERR: AER, PCI_EXT_CAP_ID_VC: VC, PCI_EXT_CAP_ID_VC9: VC, PCI_EXT_CAP_ID_MFVC: VC,
    PCI_EXT_CAP_ID_ACS: ACS, PCI_EXT_CAP_ID_ARI: ARI, PCI_EXT_CAP_ID_ATS: ATS,
    PCI_EXT_CAP_ID_SRIOV: SRIOV, PCI_EXT_CAP_ID_PRI: PRI, PCI_EXT_CAP_ID_REBAR: REBAR,
    PCI_EXT_CAP_ID_TPH: TPH, PCI_EXT_CAP_ID_LTR: LTR, PCI_EXT_CAP_ID_PASID: PASID,
    PCI_EXT_CAP_ID_DPC: DPC, PCI_EXT_CAP_ID_L1SS: L1SS, PCI_EXT_CAP_ID_PTM: PTM,
}
