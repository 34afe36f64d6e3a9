"""Register semantics against the spec: write masks, RW1C, sticky bits and reset defaults.

Expected values are built from the pci_regs.h constants below (and the PCIe classes of
kernel.md §7), never read back from fuzzcore's own tables. Devices are real dumps in tests/data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fuzzcore.device.capability_walk import walk_capabilities
from fuzzcore.device.register_semantics import RESET_KINDS, BarInfo, build_semantics

DATA = Path(__file__).parent / "data"

# include/uapi/linux/pci_regs.h (v7.1.3)
PCI_COMMAND, PCI_STATUS = 0x04, 0x06
PCI_COMMAND_IO, PCI_COMMAND_MEMORY, PCI_COMMAND_MASTER = 0x1, 0x2, 0x4
PCI_COMMAND_SPECIAL, PCI_COMMAND_INVALIDATE, PCI_COMMAND_VGA_PALETTE = 0x8, 0x10, 0x20
PCI_COMMAND_PARITY, PCI_COMMAND_WAIT, PCI_COMMAND_SERR = 0x40, 0x80, 0x100
PCI_COMMAND_FAST_BACK, PCI_COMMAND_INTX_DISABLE = 0x200, 0x400
PCI_STATUS_CAP_LIST, PCI_STATUS_PARITY = 0x10, 0x100
PCI_STATUS_ERRORS = 0x100 | 0x800 | 0x1000 | 0x2000 | 0x4000 | 0x8000
PCI_CACHE_LINE_SIZE, PCI_LATENCY_TIMER, PCI_INTERRUPT_LINE = 0x0C, 0x0D, 0x3C
PCI_BRIDGE_CTL_BUS_RESET, PCI_SEC_STATUS, PCI_BRIDGE_CONTROL = 0x40, 0x1E, 0x3E
PCI_PM_CTRL_STATE_MASK, PCI_PM_CTRL_NO_SOFT_RESET, PCI_PM_CTRL_PME_ENABLE = 0x3, 0x8, 0x100
PCI_PM_CTRL_DATA_SEL_MASK, PCI_PM_CTRL_PME_STATUS = 0x1E00, 0x8000
PCI_MSI_FLAGS_ENABLE, PCI_MSI_FLAGS_QSIZE = 0x1, 0x70
PCI_MSIX_FLAGS_QSIZE, PCI_MSIX_FLAGS_MASKALL, PCI_MSIX_FLAGS_ENABLE = 0x7FF, 0x4000, 0x8000
PCI_EXP_DEVCTL, PCI_EXP_DEVSTA, PCI_EXP_LNKCTL, PCI_EXP_LNKSTA = 0x08, 0x0A, 0x10, 0x12
PCI_EXP_SLTCTL, PCI_EXP_RTCTL, PCI_EXP_DEVCTL2, PCI_EXP_LNKCAP, PCI_EXP_LNKCTL2 = 0x18, 0x1C, 0x28, 0x0C, 0x30
PCI_EXP_DEVCTL_PAYLOAD, PCI_EXP_DEVCTL_BCR_FLR = 0x00E0, 0x8000
PCI_EXP_DEVCTL_EXT_TAG, PCI_EXP_DEVCTL_PHANTOM, PCI_EXP_DEVCTL_AUX_PME = 0x100, 0x200, 0x400
PCI_EXP_DEVCTL_RELAX_EN, PCI_EXP_DEVCTL_NOSNOOP_EN, PCI_EXP_DEVCTL_READRQ_512B = 0x10, 0x800, 0x2000
PCI_EXP_DEVSTA_URD, PCI_EXP_DEVSTA_AUXPD, PCI_EXP_DEVSTA_TRPND = 0x8, 0x10, 0x20
PCI_EXP_LNKCTL_ASPMC, PCI_EXP_LNKCTL_RCB, PCI_EXP_LNKCTL_LD, PCI_EXP_LNKCTL_RL = 0x3, 0x8, 0x10, 0x20
PCI_EXP_LNKCTL_CCC, PCI_EXP_LNKCTL_ES, PCI_EXP_LNKCTL_HAWD = 0x40, 0x80, 0x200
PCI_EXP_LNKCTL_LBMIE, PCI_EXP_LNKCTL_LABIE = 0x400, 0x800
PCI_EXP_LNKSTA_LBMS, PCI_EXP_LNKSTA_LABS = 0x4000, 0x8000
PCI_EXP_LNKCAP_SLS, PCI_EXP_LNKCTL2_TLS = 0xF, 0xF
PCI_ERR_UNC_UNSUP, PCI_ERR_COR_BAD_TLP = 0x00100000, 0x40
PCI_ERR_CAP_ECRC_GENE, PCI_ERR_CAP_ECRC_CHKE = 0x40, 0x100
PCI_VC_RES_CTRL_LOAD_TABLE, PCI_VC_RES_CTRL_ARB_SELECT = 0x10000, 0xE0000
PCI_VC_RES_CTRL_ID, PCI_VC_RES_CTRL_ENABLE = 0x07000000, 0x80000000
PCI_PRI_CTRL_ENABLE, PCI_PRI_CTRL_RESET = 0x1, 0x2
PCI_PRI_STATUS_RF, PCI_PRI_STATUS_UPRGI, PCI_PRI_STATUS_STOPPED = 0x1, 0x2, 0x100
PCI_PASID_CTRL_ENABLE, PCI_PASID_CTRL_EXEC, PCI_PASID_CTRL_PRIV = 0x1, 0x2, 0x4
PCI_ATS_CTRL_ENABLE = 0x8000
PCI_TPH_CTRL_MODE_SEL_MASK, PCI_TPH_CTRL_REQ_EN_MASK = 0x7, 0x300
PCI_SRIOV_CTRL_VFE, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_CTRL_ARI = 0x1, 0x8, 0x10
PCI_EXP_DPC_STATUS_TRIGGER = 0x1
PCI_PTM_CTRL_ENABLE, PCI_PTM_CTRL_ROOT, PCI_PTM_GRANULARITY_MASK = 0x1, 0x2, 0xFF00
PCI_REBAR_CTRL_BAR_SIZE = 0x1F00

# Every PCI_ERR_UNC_* / PCI_ERR_COR_* bit defined in pci_regs.h
AER_UNC_BITS = (0x10 | 0x20 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | 0x40000 | 0x80000
                | 0x100000 | 0x200000 | 0x400000 | 0x800000 | 0x1000000 | 0x2000000 | 0x4000000
                | 0x8000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80000000)
AER_COR_BITS = 0x1 | 0x40 | 0x80 | 0x100 | 0x1000 | 0x2000 | 0x4000 | 0x8000


def parse_dump(path: Path) -> np.ndarray:
    """`OO: xx xx ...` lines after `#` comments, zero-padded to 4 KiB."""
    img = np.zeros(4096, dtype=np.uint8)
    for line in path.read_text().splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        off, hexes = line.split(":", 1)
        img[int(off, 16):int(off, 16) + len(hexes.split())] = [int(b, 16) for b in hexes.split()]
    return img


def u(img: np.ndarray, off: int, width: int) -> int:
    return int.from_bytes(img[off:off + width].tobytes(), "little")


class Dev:
    """A config image with the engine's write path, re-implemented from the interface contract."""

    def __init__(self, name: str, bars: list[BarInfo], rom_size: int = 0, patch=None):
        self.cfg = parse_dump(DATA / name)
        for off, width, val in patch or ():
            self.poke(off, width, val)
        self.sem = build_semantics(self.cfg.copy(), walk_capabilities(self.cfg), bars, rom_size)

    def rd(self, off: int, width: int) -> int:
        return int.from_bytes(self.cfg[off:off + width].tobytes(), "little")

    def poke(self, off: int, width: int, val: int) -> None:
        """Set the hardware value directly (what the device itself latches)."""
        self.cfg[off:off + width] = np.frombuffer(val.to_bytes(width, "little"), dtype=np.uint8)

    def wr(self, off: int, width: int, val: int) -> None:
        v = np.frombuffer(val.to_bytes(width, "little"), dtype=np.uint8)
        s = slice(off, off + width)
        wm, w1c = self.sem.wmask[s], self.sem.w1cmask[s]
        new = (self.cfg[s] & ~wm) | (v & wm)
        self.cfg[s] = new & ~(v & w1c)

    def reset(self, kind: str) -> None:
        self.cfg = self.sem.reset_image(kind, self.cfg)

    def ones(self, off: int, width: int, writable: int, w1c: int = 0) -> None:
        """Writing all-ones reads back exactly `writable`, RO bits unchanged, `w1c` bits cleared."""
        old = self.rd(off, width)
        self.wr(off, width, (1 << 8 * width) - 1)
        assert self.rd(off, width) == (old & ~writable & ~w1c) | writable, hex(self.rd(off, width))


I350 = "pcitool-intel-i350-nic-sriov-tph.txt"
DSA = "pciutils-intel-dsa-0b25-tph-ats-pasid-pri.txt"
CNL = "pcitool-intel-cnl-rootport-dpc-ptm-l1ss.txt"
FIJI = "pciutils-amd-fiji-gpu-rebar-ats-pri-pasid.txt"
PLX = "pciutils-plx-8532-switch-vc-pat.txt"
VIRTIO = "local-0000_00_02.0.txt"
I350_BARS = [BarInfo(0, "mem32", 1 << 20), BarInfo(2, "io", 32), BarInfo(3, "mem32", 16 << 10)]
FIJI_BARS = [BarInfo(0, "mem64", 256 << 20, True), BarInfo(2, "mem64", 2 << 20, True),
             BarInfo(4, "io", 256), BarInfo(5, "mem32", 256 << 10)]
DSA_BARS = [BarInfo(0, "mem64", 64 << 10, True), BarInfo(2, "mem64", 128 << 10, True)]


@pytest.fixture
def i350():
    return Dev(I350, I350_BARS, rom_size=512 << 10)


@pytest.fixture
def dsa():
    return Dev(DSA, DSA_BARS)


@pytest.fixture
def cnl():
    return Dev(CNL, [])


@pytest.fixture
def plx():
    return Dev(PLX, [BarInfo(0, "mem32", 128 << 10)])


# -- header ----------------------------------------------------------------------------------

def test_command_pcie_writable_bits(i350):
    i350.ones(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER
              | PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
    assert not i350.rd(PCI_COMMAND, 2) & (PCI_COMMAND_WAIT | PCI_COMMAND_FAST_BACK | PCI_COMMAND_SPECIAL)


def test_command_conventional_pci_256_byte_dump():
    dev = Dev(VIRTIO, [BarInfo(4, "mem64", 16 << 10, True)])
    dev.ones(PCI_COMMAND, 2, 0x7FF & ~PCI_COMMAND_WAIT)
    dev.ones(PCI_LATENCY_TIMER, 1, 0xFF)           # RW on conventional PCI
    dev.ones(0x20, 8, ~(16 << 10) + 1 & 0xFFFFFFFFFFFFFFF0)


def test_status_error_bits_are_rw1c(i350):
    i350.poke(PCI_STATUS, 2, PCI_STATUS_CAP_LIST | PCI_STATUS_ERRORS)
    i350.wr(PCI_STATUS, 2, 0)
    assert i350.rd(PCI_STATUS, 2) == PCI_STATUS_CAP_LIST | PCI_STATUS_ERRORS
    i350.wr(PCI_STATUS, 2, PCI_STATUS_PARITY)
    assert i350.rd(PCI_STATUS, 2) == PCI_STATUS_CAP_LIST | (PCI_STATUS_ERRORS & ~PCI_STATUS_PARITY)
    i350.wr(PCI_STATUS, 2, 0xFFFF)
    assert i350.rd(PCI_STATUS, 2) == PCI_STATUS_CAP_LIST


def test_cache_line_and_interrupt_line_rw_latency_timer_ro_on_pcie(i350):
    i350.ones(PCI_CACHE_LINE_SIZE, 1, 0xFF)
    i350.ones(PCI_INTERRUPT_LINE, 1, 0xFF)
    i350.ones(PCI_LATENCY_TIMER, 1, 0)
    i350.ones(0x3D, 1, 0)                            # Interrupt Pin


def test_bar_sizing(i350):
    i350.ones(0x10, 4, 0xFFF00000)                   # BAR0 mem32 1 MiB
    i350.ones(0x18, 4, 0xFFFFFFE0)                   # BAR2 io 32 bytes
    i350.ones(0x1C, 4, 0xFFFFC000)                   # BAR3 mem32 16 KiB
    for off in (0x14, 0x20, 0x24):                   # unimplemented BARs
        i350.ones(off, 4, 0)
    i350.ones(0x30, 4, 0xFFF80000 | 0x1)             # ROM 512 KiB + enable


def test_mem64_bars_and_low_type_bits_read_only():
    dev = Dev(FIJI, FIJI_BARS)
    assert dev.rd(0x10, 4) & 0xF == 0xC              # 64-bit prefetchable type bits in the dump
    dev.ones(0x10, 4, 0xF0000000)                    # 256 MiB
    dev.ones(0x14, 4, 0xFFFFFFFF)                    # upper dword
    dev.ones(0x20, 4, 0xFFFFFF00)                    # BAR4 io 256
    big = Dev(FIJI, [BarInfo(0, "mem64", 8 << 30, True)])
    big.ones(0x10, 8, 0xFFFFFFFE00000000)            # an 8 GiB BAR: bit 32 is an address-size bit


def test_flr_clears_command_bars_and_status(i350):
    i350.wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)
    i350.wr(0x10, 4, 0xA0000000)
    i350.wr(0x30, 4, 0xC0000001)
    i350.wr(PCI_INTERRUPT_LINE, 1, 11)
    i350.poke(PCI_STATUS, 2, PCI_STATUS_CAP_LIST | 0x2000)
    for kind in RESET_KINDS:
        img = i350.sem.reset_image(kind, i350.cfg)
        assert u(img, PCI_COMMAND, 2) == 0
        assert [u(img, 0x10 + 4 * i, 4) for i in range(6)] == [0] * 6
        assert u(img, 0x30, 4) == 0
        assert u(img, PCI_STATUS, 2) == PCI_STATUS_CAP_LIST
        assert u(img, PCI_INTERRUPT_LINE, 1) == 0
        assert u(img, 0, 4) == 0x15218086                          # IDs are RO


def test_type1_bridge_registers(cnl):
    cnl.ones(0x18, 4, 0x00FFFFFF)                    # bus numbers; sec latency timer RO on PCIe
    cnl.ones(0x1C, 2, 0xF0F0)                        # I/O base/limit (16-bit decode)
    cnl.ones(0x30, 4, 0)                             # I/O upper 16: RO without 32-bit I/O
    cnl.ones(0x20, 4, 0xFFF0FFF0)                    # memory base/limit
    assert cnl.rd(0x24, 2) & 0xF == 0x1              # 64-bit prefetchable window
    cnl.ones(0x24, 4, 0xFFF0FFF0)
    cnl.ones(0x28, 8, 0xFFFFFFFFFFFFFFFF)            # prefetchable upper 32 bits
    cnl.ones(0x10, 8, 0)                             # no BARs
    cnl.ones(PCI_BRIDGE_CONTROL, 2, 0x7F)
    assert cnl.rd(PCI_BRIDGE_CONTROL, 2) & PCI_BRIDGE_CTL_BUS_RESET
    cnl.reset("hot")
    assert cnl.rd(0x18, 4) == 0 and cnl.rd(PCI_BRIDGE_CONTROL, 2) == 0


def test_header_type_override(i350):
    dev = Dev(I350, [])
    dev.sem = build_semantics(dev.cfg.copy(), walk_capabilities(dev.cfg), [], 0, header_type=1)
    dev.ones(0x18, 3, 0xFFFFFF)                     # bus numbers of a type-1 layout
    dev.ones(0x30, 4, 0)                            # no ROM at 0x30 for a bridge


def test_bridge_32bit_io_window_and_secondary_status(plx, cnl):
    plx.ones(0x30, 4, 0xFFFFFFFF)                    # PLX decodes 32-bit I/O
    assert cnl.rd(PCI_SEC_STATUS, 2) == 0x2000       # Received Master Abort latched in the dump
    cnl.wr(PCI_SEC_STATUS, 2, 0)
    assert cnl.rd(PCI_SEC_STATUS, 2) == 0x2000
    cnl.wr(PCI_SEC_STATUS, 2, 0x2000)
    assert cnl.rd(PCI_SEC_STATUS, 2) == 0


# -- PM, MSI, MSI-X ----------------------------------------------------------------------------

def test_pmcsr_writable_bits(i350):
    pmcsr = 0x44
    assert i350.rd(pmcsr, 2) & PCI_PM_CTRL_NO_SOFT_RESET
    i350.ones(pmcsr, 2, PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_DATA_SEL_MASK,
              w1c=PCI_PM_CTRL_PME_STATUS)
    for kind in RESET_KINDS:
        img = i350.sem.reset_image(kind, i350.cfg)
        assert u(img, pmcsr, 2) & PCI_PM_CTRL_STATE_MASK == 0                 # D0
        assert u(img, pmcsr, 2) & PCI_PM_CTRL_NO_SOFT_RESET                   # HwInit


def test_pme_context_sticky_with_pme_from_d3cold(i350):
    assert i350.rd(0x42, 2) & 0x8000                  # PMC: PME from D3cold
    i350.wr(0x44, 2, PCI_PM_CTRL_PME_ENABLE)
    i350.poke(0x44, 2, i350.rd(0x44, 2) | PCI_PM_CTRL_PME_STATUS)
    both = PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS
    for kind in ("flr", "hot", "soft"):
        assert u(i350.sem.reset_image(kind, i350.cfg), 0x44, 2) & both == both
    assert u(i350.sem.reset_image("cold", i350.cfg), 0x44, 2) & both == 0
    i350.wr(0x44, 2, PCI_PM_CTRL_PME_STATUS)
    assert not i350.rd(0x44, 2) & PCI_PM_CTRL_PME_STATUS


def test_pme_enable_not_sticky_without_d3cold(dsa):
    assert not dsa.rd(0x92, 2) & 0x8000
    dsa.wr(0x94, 2, PCI_PM_CTRL_PME_ENABLE)
    assert dsa.sem.reset_image("flr", dsa.cfg)[0x95] & 0x1 == 0
    assert dsa.sem.reset_image("soft", dsa.cfg)[0x95] & 0x1 == 1   # PME context survives D3hot->D0


def test_msi_64bit_with_masking(i350):
    assert i350.rd(0x52, 2) == 0x0180                # 64-bit, per-vector masking
    i350.ones(0x52, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE)
    i350.ones(0x54, 4, 0xFFFFFFFC)                   # address low, bits 1:0 RO
    i350.ones(0x58, 4, 0xFFFFFFFF)                   # address high
    i350.ones(0x5C, 4, 0x0000FFFF)                   # data (16 bits)
    i350.ones(0x60, 4, 0xFFFFFFFF)                   # mask bits
    i350.ones(0x64, 4, 0)                            # pending: RO
    i350.reset("flr")
    assert i350.rd(0x50, 2) == 0x7005                            # ID / next pointer unchanged
    assert i350.rd(0x52, 2) == 0x0180 and i350.rd(0x54, 16) == 0


def test_msi_32bit_without_masking(cnl):
    assert cnl.rd(0x82, 2) & 0x180 == 0
    cnl.ones(0x88, 4, 0x0000FFFF)                    # data at +8
    cnl.ones(0x8C, 4, 0)                             # no mask register
    cnl.reset("flr")
    assert cnl.rd(0x82, 2) & PCI_MSI_FLAGS_ENABLE == 0


def test_msix_control(i350):
    qsize = i350.rd(0x72, 2) & PCI_MSIX_FLAGS_QSIZE
    i350.ones(0x72, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL)
    i350.ones(0x74, 8, 0)                            # table / PBA offset + BIR
    i350.reset("flr")
    assert i350.rd(0x72, 2) == qsize


# -- PCI Express capability --------------------------------------------------------------------

def test_devctl_writable_bits_and_initiate_flr_reads_zero(i350):
    devcap = i350.rd(0xA4, 4)
    assert not devcap & 0x20 and not devcap & 0x18  # no extended tags, no phantom functions
    i350.ones(0xA8, 2, 0x7FFF & ~(PCI_EXP_DEVCTL_EXT_TAG | PCI_EXP_DEVCTL_PHANTOM))
    assert not i350.rd(0xA8, 2) & PCI_EXP_DEVCTL_BCR_FLR


def test_devctl_mps_survives_flr_not_hot_reset(i350):
    i350.wr(0xA8, 2, 0x00A0 | 0x000F | PCI_EXP_DEVCTL_AUX_PME)   # MPS 4096, error reporting on
    default = PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ_512B
    after = {k: u(i350.sem.reset_image(k, i350.cfg), 0xA8, 2) for k in RESET_KINDS}
    assert after["flr"] == after["soft"] == 0x00A0 | default | PCI_EXP_DEVCTL_AUX_PME
    assert after["hot"] == default | PCI_EXP_DEVCTL_AUX_PME      # Aux Power PM Enable is RWS
    assert after["cold"] == default


def test_devsta_error_bits_rw1c(i350):
    i350.poke(0xAA, 2, 0x000F | PCI_EXP_DEVSTA_AUXPD | PCI_EXP_DEVSTA_TRPND)
    i350.wr(0xAA, 2, 0)
    assert i350.rd(0xAA, 2) == 0x3F
    i350.wr(0xAA, 2, PCI_EXP_DEVSTA_URD)
    assert i350.rd(0xAA, 2) == 0x37
    i350.reset("flr")
    assert i350.rd(0xAA, 2) == PCI_EXP_DEVSTA_AUXPD | PCI_EXP_DEVSTA_TRPND


def test_lnkctl_endpoint(i350):
    i350.ones(0xB0, 2, PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_RCB | PCI_EXP_LNKCTL_CCC
              | PCI_EXP_LNKCTL_ES | PCI_EXP_LNKCTL_HAWD)          # no CLKPM, no LBNC in LNKCAP
    assert not i350.rd(0xB0, 2) & (PCI_EXP_LNKCTL_LD | PCI_EXP_LNKCTL_RL)
    assert i350.sem.reset_image("flr", i350.cfg)[0xB0] == 0xCB    # ASPM, RCB, CCC, ES kept
    assert i350.sem.reset_image("hot", i350.cfg)[0xB0] == 0


def test_lnkctl_and_lnksta_root_port(cnl):
    # Root Port: RCB is RO; Link Disable and the bandwidth interrupt enables exist (LBNC set)
    cnl.ones(0x50, 2, PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_LD | PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES
             | PCI_EXP_LNKCTL_HAWD | PCI_EXP_LNKCTL_LBMIE | PCI_EXP_LNKCTL_LABIE)
    assert cnl.rd(0x52, 2) & 0xC000 == 0xC000
    cnl.wr(0x52, 2, PCI_EXP_LNKSTA_LBMS)
    assert cnl.rd(0x52, 2) & 0xC000 == PCI_EXP_LNKSTA_LABS


def test_lnksta_bandwidth_bits_ro_without_lbnc(i350):
    i350.poke(0xB2, 2, 0xC000 | 0x1042)
    i350.ones(0xB2, 2, 0)


def test_registers_implemented_per_port_type(i350, cnl, dsa, plx):
    for off in range(0xA0 + PCI_EXP_SLTCTL, 0xA0 + 0x24):        # endpoint: no slot/root regs
        assert i350.sem.wmask[off] == 0 and i350.sem.w1cmask[off] == 0
    cnl.ones(0x40 + PCI_EXP_SLTCTL, 2, 0x37FF)                    # root port with a slot
    assert cnl.rd(0x40 + 0x1E, 2) & 0x1 == 0                      # RTCAP: no RRS visibility
    cnl.ones(0x40 + PCI_EXP_RTCTL, 2, 0xF)
    assert dsa.sem.wmask[0x40 + PCI_EXP_LNKCTL:0x40 + 0x14].sum() == 0   # RC integrated endpoint
    assert plx.rd(0x6A, 2) & 0xF == 1                             # PCIe capability version 1
    assert plx.sem.wmask[0x68 + 0x24:0x68 + 0x3C].sum() == 0


def test_devctl2_follows_devcap2(i350, cnl):
    assert i350.rd(0xC4, 4) == 0x81F     # timeout ranges, timeout disable, LTR; no ARI forwarding
    i350.ones(0xC8, 2, 0x000F | 0x0010 | 0x0040 | 0x0100 | 0x0200 | 0x0400)
    assert cnl.rd(0x64, 4) == 0x837      # adds ARI forwarding
    cnl.ones(0x68, 2, 0x000F | 0x0010 | 0x0020 | 0x0040 | 0x0100 | 0x0200 | 0x0400)


def test_lnkctl2_target_speed_kept_by_flr_reset_to_max_by_hot(i350):
    i350.wr(0xD0, 2, 0x1)                                         # 2.5 GT/s
    max_speed = i350.rd(0xAC, 4) & PCI_EXP_LNKCAP_SLS
    assert max_speed == 2
    assert i350.sem.reset_image("flr", i350.cfg)[0xD0] & PCI_EXP_LNKCTL2_TLS == 1
    assert i350.sem.reset_image("hot", i350.cfg)[0xD0] & PCI_EXP_LNKCTL2_TLS == max_speed


# -- AER ---------------------------------------------------------------------------------------

def test_aer_status_rw1cs_survives_flr_and_hot_not_cold(i350):
    i350.poke(0x104, 4, PCI_ERR_UNC_UNSUP)
    i350.poke(0x110, 4, PCI_ERR_COR_BAD_TLP)
    i350.wr(0x104, 4, 0)
    assert i350.rd(0x104, 4) == PCI_ERR_UNC_UNSUP
    for kind in ("flr", "hot", "soft"):
        img = i350.sem.reset_image(kind, i350.cfg)
        assert img[0x106] == 0x10 and img[0x110] == 0x40
    img = i350.sem.reset_image("cold", i350.cfg)
    assert img[0x106] == 0 and img[0x110] == 0
    i350.wr(0x104, 4, PCI_ERR_UNC_UNSUP)
    assert i350.rd(0x104, 4) == 0


def test_aer_masks_and_severity_sticky(i350):
    i350.ones(0x108, 4, AER_UNC_BITS)
    i350.ones(0x10C, 4, AER_UNC_BITS)
    i350.ones(0x114, 4, AER_COR_BITS)
    for kind in ("flr", "hot", "soft"):
        img = i350.sem.reset_image(kind, i350.cfg)
        assert img[0x108:0x110].tobytes() == i350.cfg[0x108:0x110].tobytes()
    cold = i350.sem.reset_image("cold", i350.cfg)
    # default severity: DLP, Surprise Down, FCP, Receiver Overflow, Malformed TLP, Internal fatal
    assert u(cold, 0x10C, 4) & AER_UNC_BITS == 0x00462030


def test_aer_ecrc_enables_only_when_capable(i350, cnl):
    assert i350.rd(0x118, 4) & 0xA0 == 0xA0                       # ECRC gen/check capable
    i350.ones(0x118, 4, PCI_ERR_CAP_ECRC_GENE | PCI_ERR_CAP_ECRC_CHKE)
    assert i350.sem.reset_image("hot", i350.cfg)[0x119] & 0x1     # CHKE sticky
    assert cnl.rd(0x118, 4) & 0xA0 == 0
    cnl.ones(0x118, 4, 0)


def test_aer_root_error_registers(cnl, i350):
    cnl.ones(0x12C, 4, 0x7)                                       # Root Error Command, non-sticky
    cnl.poke(0x130, 4, 0x7F)
    cnl.wr(0x130, 4, 0x1)
    assert cnl.rd(0x130, 4) == 0x7E                               # RW1C
    cnl.reset("flr")
    assert cnl.rd(0x12C, 4) == 0 and cnl.rd(0x130, 4) == 0x7E     # status sticky, command not
    i350.ones(0x12C, 8, 0)                                        # endpoint: no root registers


def test_aer_header_log_is_ros(i350):
    i350.poke(0x11C, 4, 0x4A000001)
    i350.ones(0x11C, 4, 0)
    assert i350.sem.reset_image("hot", i350.cfg)[0x11C] == 0x01
    assert i350.sem.reset_image("cold", i350.cfg)[0x11C] == 0


# -- other extended capabilities ---------------------------------------------------------------

def test_acs_control_matches_capability(cnl, i350):
    assert cnl.rd(0x144, 2) == 0xF                                # SV, TB, RR, CR
    cnl.ones(0x146, 2, 0xF)
    assert i350.rd(0x1D4, 2) == 0
    i350.ones(0x1D6, 2, 0)


def test_ari_control(i350):
    i350.ones(0x156, 2, 0)                                        # no function-group capability
    dev = Dev(I350, I350_BARS, patch=[(0x154, 2, 0x0103)])        # MFVC + ACS function groups
    dev.ones(0x156, 2, 0x0003 | 0x0070)


def test_sriov(i350):
    i350.ones(0x168, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI)  # no VF migration
    i350.ones(0x170, 2, 0xFFFF)                                   # NumVFs
    i350.ones(0x180, 4, 0x553)                                    # System Page Size: supported sizes only
    i350.ones(0x184, 8, 0xFFFFFFFFFFFFC000)                       # VF BAR0 mem64, 16 KiB assumed
    i350.reset("flr")
    assert i350.rd(0x168, 2) == 0 and i350.rd(0x170, 2) == 0 and i350.rd(0x180, 4) == 1
    assert i350.rd(0x184, 8) == 0x0C                              # type bits only


def test_tph_control_and_st_table(i350, dsa):
    i350.ones(0x1A8, 4, PCI_TPH_CTRL_MODE_SEL_MASK | PCI_TPH_CTRL_REQ_EN_MASK)
    assert (i350.rd(0x1A4, 4) >> 16) & 0x7FF == 7 and i350.rd(0x1A4, 4) & 0x600 == 0x200
    i350.ones(0x1AC, 16, (1 << 128) - 1)                          # 8 u16 entries in the capability
    i350.ones(0x1BC, 4, 0)
    i350.reset("flr")
    assert i350.rd(0x1A8, 4) == 0 and i350.rd(0x1AC, 16) == 0
    dsa.ones(0x16C, 4, 0xFFFFFFFF)                                # 2 entries
    dsa.ones(0x170, 4, 0)                                         # VC header follows


def test_ltr(i350):
    i350.ones(0x1C4, 4, 0x1FFF1FFF)
    i350.reset("flr")
    assert i350.rd(0x1C4, 4) == 0


def test_ats_pasid(dsa):
    dsa.ones(0x226, 2, PCI_ATS_CTRL_ENABLE | 0x1F)
    assert dsa.rd(0x234, 2) & 0x6 == 0x4                          # Privileged mode, no Exec
    dsa.ones(0x236, 2, PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_PRIV)
    dsa.reset("flr")
    assert dsa.rd(0x226, 2) == 0 and dsa.rd(0x236, 2) == 0


def test_pri(dsa):
    dsa.ones(0x244, 2, PCI_PRI_CTRL_ENABLE)                       # Reset is not stored
    assert not dsa.rd(0x244, 2) & PCI_PRI_CTRL_RESET
    dsa.poke(0x246, 2, 0x8000 | PCI_PRI_STATUS_RF | PCI_PRI_STATUS_UPRGI)   # not stopped
    dsa.wr(0x246, 2, PCI_PRI_STATUS_RF | PCI_PRI_STATUS_STOPPED)
    assert dsa.rd(0x246, 2) == 0x8000 | PCI_PRI_STATUS_UPRGI
    dsa.ones(0x24C, 4, 0xFFFFFFFF)                                # allocation
    dsa.reset("flr")
    assert dsa.rd(0x244, 2) == 0 and dsa.rd(0x24C, 4) == 0
    assert dsa.rd(0x246, 2) == 0x8000 | PCI_PRI_STATUS_STOPPED    # Stopped reads 1 after reset


def test_dpc(cnl):
    cap = cnl.rd(0x254, 2)
    assert cap & 0x40 and cap & 0x1000
    cnl.ones(0x256, 2, 0x00BF)                                    # Software Trigger 0x40 reads 0
    cnl.poke(0x258, 2, PCI_EXP_DPC_STATUS_TRIGGER)
    cnl.wr(0x258, 2, 0)
    assert cnl.rd(0x258, 2) == PCI_EXP_DPC_STATUS_TRIGGER
    cnl.wr(0x258, 2, PCI_EXP_DPC_STATUS_TRIGGER)
    assert cnl.rd(0x258, 2) == 0


def test_ptm_and_l1ss(cnl):
    assert cnl.rd(0x154, 4) & 0x4                                 # Root capable
    cnl.ones(0x158, 4, PCI_PTM_CTRL_ENABLE | PCI_PTM_CTRL_ROOT | PCI_PTM_GRANULARITY_MASK)
    l1ss_cap = cnl.rd(0x204, 4) & 0xF
    cnl.ones(0x208, 4, l1ss_cap | 0xFF00 | 0x03FF0000 | 0xE0000000)
    cnl.ones(0x20C, 4, 0xFB)
    cnl.reset("flr")
    assert cnl.rd(0x158, 4) == 0 and cnl.rd(0x208, 4) == 0


def test_rebar_size_field():
    dev = Dev(FIJI, FIJI_BARS)
    assert dev.rd(0x208, 4) == 0x0820                             # BAR0, one resizable BAR, 256 MiB
    dev.ones(0x208, 4, PCI_REBAR_CTRL_BAR_SIZE)
    dev.reset("flr")
    assert dev.rd(0x208, 4) == 0x0820


def test_vc_resource_control(plx):
    vc1 = 0x148 + 0x10 + 12 + 4
    plx.ones(vc1, 4, 0xFF | PCI_VC_RES_CTRL_ARB_SELECT | PCI_VC_RES_CTRL_ID | PCI_VC_RES_CTRL_ENABLE)
    assert not plx.rd(vc1, 4) & PCI_VC_RES_CTRL_LOAD_TABLE
    vc0 = 0x148 + 0x14
    plx.wr(vc0, 4, 0)
    assert plx.rd(vc0, 4) == PCI_VC_RES_CTRL_ENABLE | 0x1          # VC0 enable and TC0 hardwired
    plx.ones(0x148 + 0x0C, 2, 0xE)                                 # VC Arbitration Select


def test_vc_survives_flr_not_hot_reset(plx, dsa):
    vc1 = 0x148 + 0x10 + 12 + 4
    plx.wr(vc1, 4, PCI_VC_RES_CTRL_ENABLE | (1 << 24) | 0x02)
    plx.wr(0x148 + 0x14, 4, 0x1)                                   # VC0 keeps only TC0
    for kind in ("flr", "soft"):
        img = plx.sem.reset_image(kind, plx.cfg)
        assert img[0x148:0x170].tobytes() == plx.cfg[0x148:0x170].tobytes()
    plx.reset("hot")
    assert plx.rd(vc1, 4) == 0
    assert plx.rd(0x148 + 0x14, 4) == PCI_VC_RES_CTRL_ENABLE | 0xFF  # all TCs back on VC0
    assert dsa.sem.reset_image("flr", dsa.cfg)[0x190:0x194].tobytes() == dsa.cfg[0x190:0x194].tobytes()


@pytest.mark.parametrize("name,start,length", [
    (I350, 0x140, 12),          # DSN
    (FIJI, 0x100, 0x10),        # VSEC, length from its header
    (DSA, 0x200, 0x18),         # DVSEC
    (PLX, 0x138, 0x10),         # Power Budgeting
])
def test_unknown_capability_is_read_only(name, start, length):
    dev = Dev(name, [])
    s = slice(start, start + length)
    assert not dev.sem.wmask[s].any() and not dev.sem.w1cmask[s].any()
    for kind in RESET_KINDS:
        assert (dev.sem.keep[kind][s] == 0xFF).all()
    dev.ones(start, length, 0)


# -- whole-image properties --------------------------------------------------------------------

ALL_DUMPS = sorted(p.name for p in DATA.glob("*.txt"))


@pytest.mark.parametrize("name", ALL_DUMPS)
def test_mask_invariants(name):
    dev = Dev(name, [BarInfo(0, "mem32", 4096)])
    sem = dev.sem
    assert all(a.dtype == np.uint8 and a.shape == (4096,) for a in
               [sem.wmask, sem.w1cmask, sem.sticky, sem.readonly, *sem.keep.values(), *sem.default.values()])
    assert not (sem.wmask & sem.w1cmask).any()
    assert not (sem.readonly & (sem.wmask | sem.w1cmask)).any()
    assert (sem.readonly[0:4] == 0xFF).all()        # Vendor / Device ID: a known RO register
    ro = ~(sem.wmask | sem.w1cmask | sem.sticky)
    pri = [c.offset + 6 for c in walk_capabilities(dev.cfg).extended if c.cap_id == 0x13]
    for off in pri:                       # PRI Status.Stopped: RO, set by every reset
        ro[off + 1] &= 0xFE
    for kind in RESET_KINDS:
        assert ((sem.keep[kind] & ro) == ro).all(), kind              # RO bits never change
        kept_sticky = sem.keep[kind] & sem.sticky
        assert (kept_sticky == (0 if kind == "cold" else sem.sticky)).all(), kind
    rng = np.random.default_rng(len(name))
    cur = rng.integers(0, 256, 4096, dtype=np.uint8)
    for kind in RESET_KINDS:
        expect = (cur & sem.keep[kind]) | (sem.default[kind] & ~sem.keep[kind])
        assert (sem.reset_image(kind, cur) == expect).all()


def test_bad_arguments():
    with pytest.raises(ValueError):
        BarInfo(0, "mem32", 3000)
    with pytest.raises(ValueError):
        BarInfo(5, "mem64", 4096)
    dev = Dev(I350, I350_BARS)
    with pytest.raises(ValueError):
        dev.sem.reset_image("warm", dev.cfg)
