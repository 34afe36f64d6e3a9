"""Device profiles: a config image plus what a dump cannot say, stored as TOML.

A dump holds register values; it does not hold BAR sizes, whether config space beyond 256
bytes exists, or which port the function sits below. A profile adds those (BAR sizes and kinds,
ROM size, the upstream port), records what the kernel would derive from the image (the MSI-X
table BIR/offset/size, NoSoftRst, FLR support) so a reader sees it, and checks on load that the
recorded values agree with the image.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from .capability_ids import PCI_CAP_ID_EXP, PCI_CAP_ID_MSIX, PCI_CAP_ID_PM
from .capability_walk import WalkResult, walk_capabilities
from .dump_parser import ParsedDump, parse_text
from .profile_check import capability_problem, profile_problem
from .register_semantics import BarInfo, RegisterSemantics, build_semantics
from ..util.toml_source import TomlError, TomlSource, check_keys, load_toml, parse_toml

BAR_KINDS = ("none", "mem32", "mem64", "io")
PCI_EXP_TYPE_NAMES = {
    0x0: "endpoint", 0x1: "legacy-endpoint", 0x4: "root-port", 0x5: "upstream-port",
    0x6: "downstream-port", 0x7: "pcie-pci-bridge", 0x8: "pci-pcie-bridge", 0x9: "rc-endpoint",
    0xA: "rc-event-collector",
}


@dataclass(frozen=True)
class MsixInfo:
    """Where the MSI-X table and PBA live (msix_capability_init reads these from the cap)."""

    entries: int
    table_bir: int
    table_offset: int
    pba_bir: int
    pba_offset: int

    @classmethod
    def from_image(cls, image: bytes, cap_offset: int) -> "MsixInfo":
        ctrl, table, pba = struct.unpack_from("<HII", image, cap_offset + 2)
        return cls((ctrl & 0x7FF) + 1, table & 7, table & ~7, pba & 7, pba & ~7)


@dataclass
class DeviceProfile:
    name: str
    image: bytes                      # 64, 256 or 4096 bytes as dumped
    description: str = ""
    source: str = ""
    upstream_port: str = ""           # name of a profile, "" when none (root complex integrated)
    bars: list[BarInfo] = field(default_factory=list)
    rom_size: int = 0
    bar_sizes_guessed: bool = False
    virtfn: bool = False              # an SR-IOV virtual function (pci_iov_add_virtfn: is_virtfn)
    # The platform can remove the function's main power (ACPI _PR3 power resources, a slot power
    # controller): pci_set_power_state(D3cold) cuts it. False: pci_platform_power_transition fails
    # and the function stays in D3hot (an integrated device, a QEMU guest).
    platform_d3cold: bool = True
    # A VF whose routing ID lands on a bus number of its own (pci_iov_virtfn_bus: the PF's devfn +
    # First VF Offset + stride * index >= 256): virtfn_add_bus makes that bus with no bridge device,
    # so pci_walk_bus (error recovery's walks) never reaches the VF.
    virtual_bus: bool = False
    # Bits the function implements read-only where the specification makes them writable
    # ([[read_only]]: offset, width, mask, reason): an emulated device's deviation, e.g. QEMU's
    # e1000e, whose DEVCTL error-reporting enables stay 0 (it never calls pcie_cap_deverr_init).
    read_only: tuple = ()

    # --- derived from the image ---------------------------------------------------------------
    @cached_property
    def config(self) -> np.ndarray:
        """The 4 KiB image; bytes past a short dump read as 0 (no extended capabilities)."""
        img = np.zeros(4096, dtype=np.uint8)
        img[: len(self.image)] = np.frombuffer(self.image, dtype=np.uint8)
        return img

    @cached_property
    def walk(self) -> WalkResult:
        return walk_capabilities(self.image)

    @cached_property
    def semantics(self) -> RegisterSemantics:
        sem = build_semantics(self.config, self.walk, self.bars, self.rom_size, self.header_type, self.virtfn)
        for offset, width, mask, _ in self.read_only:
            for i in range(width):
                b = (mask >> (8 * i)) & 0xFF
                sem.wmask[offset + i] &= ~b & 0xFF
                sem.w1cmask[offset + i] &= ~b & 0xFF
                sem.readonly[offset + i] |= b
                for kind in sem.keep:          # no reset changes them: they hold the image's value
                    sem.keep[kind][offset + i] |= b
        return sem

    @property
    def header_type(self) -> int:
        return self.image[0x0E] & 0x7F

    @property
    def vendor_device(self) -> tuple[int, int]:
        return struct.unpack_from("<HH", self.image, 0)

    @property
    def msix(self) -> MsixInfo | None:
        cap = self.walk.find(PCI_CAP_ID_MSIX, False)
        return MsixInfo.from_image(self.image, cap.offset) if cap else None

    @property
    def no_soft_reset(self) -> bool:
        """PMCSR NoSoftRst (HwInit): D3hot->D0 keeps state when set."""
        pm = self.walk.find(PCI_CAP_ID_PM, False)
        return bool(pm and struct.unpack_from("<H", self.image, pm.offset + 4)[0] & 0x8)

    @property
    def flr(self) -> bool:
        """DEVCAP.FLR (PCI_EXP_DEVCAP_FLR): pcie_reset_flr is available."""
        exp = self.walk.find(PCI_CAP_ID_EXP, False)
        return bool(exp and struct.unpack_from("<I", self.image, exp.offset + 4)[0] & (1 << 28))

    @property
    def pcie_type(self) -> str:
        exp = self.walk.find(PCI_CAP_ID_EXP, False)
        if not exp:
            return "conventional"
        t = (struct.unpack_from("<H", self.image, exp.offset + 2)[0] >> 4) & 0xF
        return PCI_EXP_TYPE_NAMES.get(t, f"type-{t}")

    def bar(self, index: int) -> BarInfo | None:
        return next((b for b in self.bars if b.index == index), None)

    def bar_resource(self, bar: BarInfo) -> int:
        """The address enumeration gives BAR `bar`'s resource: what the BAR holds (__pci_read_base),
        or for a VF, whose BARs read zero, its share of the PF's VF BAR (pci_iov_add_virtfn)."""
        if self.virtfn:
            return bar.address
        lo = struct.unpack_from("<I", self.image, 0x10 + 4 * bar.index)[0]
        if bar.kind == "io":
            return lo & ~0x3
        addr = lo & ~0xF
        if bar.kind == "mem64":
            addr |= struct.unpack_from("<I", self.image, 0x14 + 4 * bar.index)[0] << 32
        return addr

    def bar_res_flags(self, bar: BarInfo) -> int:
        """decode_bar (drivers/pci/probe.c): res->flags keeps the BAR's bits below the address mask
        as enumeration read them; a VF's come from the PF's VF BAR (its kind and prefetch bit)."""
        if self.virtfn:
            return (0x4 if bar.kind == "mem64" else 0) | (0x8 if bar.prefetchable else 0)
        lo = struct.unpack_from("<I", self.image, 0x10 + 4 * bar.index)[0]
        return lo & (0x3 if bar.kind == "io" else 0xF)


# --- TOML -------------------------------------------------------------------------------------

_DEVICE_KEYS = {"name": str, "description": str, "source": str, "upstream_port": str,
                "bar_sizes_guessed": bool, "virtfn": bool, "platform_d3cold": bool,
                "virtual_bus": bool}
_BAR_KEYS = {"index": int, "kind": str, "size": int, "prefetchable": bool, "address": int}
_ROM_KEYS = {"size": int}
_MSIX_KEYS = {"entries": int, "table_bir": int, "table_offset": int, "pba_bir": int, "pba_offset": int}
_DERIVED_KEYS = {"no_soft_reset": bool, "flr": bool, "pcie_type": str}
_CONFIG_KEYS = {"size": int, "hexdump": str}
_READ_ONLY_KEYS = {"offset": int, "width": int, "mask": int, "reason": str}
_TOP_KEYS = {"device": dict, "bars": list, "rom": dict, "msix": dict, "derived": dict, "config": dict,
             "read_only": list}


def profile_from_toml(src: TomlSource, check_upstream: bool = True) -> DeviceProfile:
    """A checked profile (fuzzcore/device/profile_check.py) or a TomlError at the line at fault;
    `check_upstream=False` skips resolving the upstream port (used when loading that port)."""
    data = src.data
    check_keys(src, "", data, _TOP_KEYS, required=("device", "config"))
    dev = data["device"]
    check_keys(src, "device", dev, _DEVICE_KEYS, required=("name",))
    cfg = data["config"]
    check_keys(src, "config", cfg, _CONFIG_KEYS, required=("size", "hexdump"))
    try:
        dumps = parse_text(cfg["hexdump"], src.path)
    except ValueError as e:
        raise TomlError(src.path, src.value_line("config", "hexdump", getattr(e, "line", 0) or 1),
                        f"in [config] hexdump: {getattr(e, 'message', e)}") from None
    if len(dumps) != 1:
        raise src.error("[config] hexdump must hold exactly one device", "config", "hexdump")
    image = dumps[0].image
    row_lines = [src.value_line("config", "hexdump", n) for n in dumps[0].row_lines]
    if cfg["size"] != len(image):
        raise src.error(f"[config] size = {cfg['size']} but the hexdump holds {len(image)} bytes", "config", "size")
    bars = []
    seen: set[int] = set()
    for i, b in enumerate(data.get("bars", [])):
        if not isinstance(b, dict):
            raise src.error("[[bars]] entries must be tables", "bars", None, i)
        check_keys(src, "bars", b, _BAR_KEYS, index=i, required=("index", "kind", "size"))
        if not 0 <= b["index"] <= 5:
            raise src.error(f"BAR index {b['index']} out of range 0..5", "bars", "index", i)
        if b["kind"] not in BAR_KINDS:
            raise src.error(f"BAR kind {b['kind']!r}: expected one of {', '.join(BAR_KINDS)}", "bars", "kind", i)
        size = b["size"]
        if b["kind"] != "none" and (size <= 0 or size & (size - 1)):
            raise src.error(f"BAR{b['index']} size {size:#x} is not a power of two", "bars", "size", i)
        if b["kind"] == "mem64" and b["index"] == 5:
            raise src.error("a 64-bit BAR cannot start at index 5", "bars", "kind", i)
        slots = {b["index"], b["index"] + 1} if b["kind"] == "mem64" else {b["index"]}
        if slots & seen:
            raise src.error(f"BAR{b['index']} overlaps another BAR", "bars", "index", i)
        seen |= slots
        virtfn = dev.get("virtfn", False)
        if "address" in b and not virtfn:
            raise src.error(f"BAR{b['index']} address: only a VF's BARs (virtfn = true) take an address; "
                            "a function's own BARs are read from the dump", "bars", "address", i)
        if virtfn and b["kind"] != "none" and "address" not in b:
            raise src.error(f"BAR{b['index']}: a VF's BAR reads zero, so it needs address = ... (the PF's VF "
                            f"BAR{b['index']} plus the VF's offset)", "bars", None, i)
        if virtfn and b["kind"] == "io":
            raise src.error(f"BAR{b['index']}: a VF has no I/O BARs (SR-IOV §3.3.14)", "bars", "kind", i)
        if b.get("address", 0) & (size - 1 if size else 0):
            raise src.error(f"BAR{b['index']} address {b['address']:#x} is not aligned to its size {size:#x}",
                            "bars", "address", i)
        try:
            bars.append(BarInfo(b["index"], b["kind"], size, b.get("prefetchable", False), b.get("address", 0)))
        except ValueError as e:
            raise src.error(str(e), "bars", "size", i) from None
    rom = data.get("rom", {})
    check_keys(src, "rom", rom, _ROM_KEYS)
    rom_size = rom.get("size", 0)
    if rom_size and rom_size & (rom_size - 1):
        raise src.error(f"ROM size {rom_size:#x} is not a power of two", "rom", "size")
    read_only = []
    for i, r in enumerate(data.get("read_only", [])):
        if not isinstance(r, dict):
            raise src.error("[[read_only]] entries must be tables", "read_only", None, i)
        check_keys(src, "read_only", r, _READ_ONLY_KEYS, index=i, required=("offset", "width", "mask", "reason"))
        if r["width"] not in (1, 2, 4) or r["offset"] % r["width"] or not 0 <= r["offset"] <= 4096 - r["width"]:
            raise src.error(f"[[read_only]] offset {r['offset']:#x} width {r['width']}: expected an aligned "
                            "byte, word or dword inside config space", "read_only", "offset", i)
        if not 0 < r["mask"] < (1 << (8 * r["width"])):
            raise src.error(f"[[read_only]] mask {r['mask']:#x} does not fit width {r['width']}", "read_only", "mask", i)
        read_only.append((r["offset"], r["width"], r["mask"], r["reason"]))
    upstream = dev.get("upstream_port", "")
    beside = Path(src.path).parent / upstream
    if upstream.endswith(".toml") and not Path(upstream).is_absolute() and not Path(upstream).is_file() \
            and beside.is_file():
        upstream = str(beside)          # a port profile named relative to this one, not to the cwd
    prof = DeviceProfile(dev["name"], image, dev.get("description", ""), dev.get("source", ""),
                         upstream, bars, rom_size, dev.get("bar_sizes_guessed", False),
                         dev.get("virtfn", False), dev.get("platform_d3cold", True),
                         dev.get("virtual_bus", False), tuple(read_only))
    problem = profile_problem(prof, check_upstream)
    if problem is not None:
        if problem.offset is not None and problem.offset // 16 < len(row_lines):
            raise TomlError(src.path, row_lines[problem.offset // 16], f"[config] hexdump: {problem.message}")
        raise src.error(problem.message, problem.table, problem.key, problem.index)
    _check_recorded(src, prof)
    return prof


def _check_recorded(src: TomlSource, prof: DeviceProfile) -> None:
    """Recorded MSI-X and derived facts must match what the image says."""
    msix = src.data.get("msix")
    if msix is not None:
        check_keys(src, "msix", msix, _MSIX_KEYS)
        actual = prof.msix
        if actual is None:
            raise src.error("[msix] given but the image has no MSI-X capability", "msix")
        for key, value in msix.items():
            if getattr(actual, key) != value:
                raise src.error(f"[msix] {key} = {value:#x} but the capability says {getattr(actual, key):#x}", "msix", key)
        bar = prof.bar(actual.table_bir)
        if bar is None or bar.kind in ("none", "io"):
            raise src.error(f"MSI-X table is in BAR{actual.table_bir}, which the profile does not declare as memory", "msix", "table_bir")
        if actual.table_offset + 16 * actual.entries > bar.size:
            raise src.error(f"MSI-X table ends past BAR{actual.table_bir} (size {bar.size:#x})", "msix", "entries")
    derived = src.data.get("derived", {})
    check_keys(src, "derived", derived, _DERIVED_KEYS)
    for key, value in derived.items():
        if getattr(prof, key) != value:
            raise src.error(f"[derived] {key} = {value!r} but the image says {getattr(prof, key)!r}", "derived", key)


def load_profile(path: str | Path, check_upstream: bool = True) -> DeviceProfile:
    return profile_from_toml(load_toml(path), check_upstream)


def loads_profile(text: str, path: str = "<profile>", check_upstream: bool = True) -> DeviceProfile:
    return profile_from_toml(parse_toml(text, path), check_upstream)


def _hexdump(image: bytes) -> str:
    lines = []
    width = 3 if len(image) > 256 else 2
    for off in range(0, len(image), 16):
        lines.append(f"{off:0{width}x}: " + " ".join(f"{b:02x}" for b in image[off:off + 16]))
    return "\n".join(lines)


def _toml_str(s: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def profile_to_toml(prof: DeviceProfile) -> str:
    out = ["# fuzzcore device profile. [config] is the dump; [derived] and [msix] are read from it",
           "# and checked on load; [[bars]], [rom] and upstream_port are what the dump cannot say.",
           "[device]",
           f"name = {_toml_str(prof.name)}",
           f"description = {_toml_str(prof.description)}",
           f"source = {_toml_str(prof.source)}",
           f"upstream_port = {_toml_str(prof.upstream_port)}"]
    if prof.bar_sizes_guessed:
        out.append("bar_sizes_guessed = true  # sizes inferred from address alignment: check them")
    if prof.virtfn:
        out.append("virtfn = true  # an SR-IOV VF: Command's Memory bit and the BARs read zero")
    if prof.virtual_bus:
        out.append("virtual_bus = true  # the VF's bus is virtfn_add_bus's: no bridge leads to it")
    if not prof.platform_d3cold:
        out.append("platform_d3cold = false  # no platform power control: D3cold requests end in D3hot")
    out += ["", "[derived]", f"pcie_type = {_toml_str(prof.pcie_type)}",
            f"no_soft_reset = {str(prof.no_soft_reset).lower()}", f"flr = {str(prof.flr).lower()}"]
    for b in prof.bars:
        out += ["", "[[bars]]", f"index = {b.index}", f"kind = {_toml_str(b.kind)}",
                f"size = 0x{b.size:x}", f"prefetchable = {str(b.prefetchable).lower()}"]
        if prof.virtfn:
            out.append(f"address = 0x{b.address:x}  # the PF's VF BAR{b.index} + this VF's offset")
    if prof.rom_size:
        out += ["", "[rom]", f"size = 0x{prof.rom_size:x}"]
    for offset, width, mask, reason in prof.read_only:
        out += ["", "[[read_only]]", f"offset = 0x{offset:x}", f"width = {width}", f"mask = 0x{mask:x}",
                f"reason = {_toml_str(reason)}"]
    m = prof.msix
    if m:
        out += ["", "[msix]", f"entries = {m.entries}", f"table_bir = {m.table_bir}",
                f"table_offset = 0x{m.table_offset:x}", f"pba_bir = {m.pba_bir}", f"pba_offset = 0x{m.pba_offset:x}"]
    # A literal string: nothing in a hexdump needs escaping, and tomllib reads it much faster.
    out += ["", "[config]", f"size = {len(prof.image)}", "hexdump = '''", _hexdump(prof.image) + "'''", ""]
    return "\n".join(out)


# --- building a profile from a dump -----------------------------------------------------------

def bars_from_image(image: bytes, sizes: dict[int, int] | None = None) -> tuple[list[BarInfo], int, bool]:
    """BAR kinds from the BAR low bits; sizes from `sizes` or guessed from address alignment.

    A BAR that reads 0 is taken as unimplemented. Returns (bars, rom_size, guessed).
    """
    sizes = dict(sizes or {})
    header_type = image[0x0E] & 0x7F
    nbars = {0: 6, 1: 2}.get(header_type, 0)
    bars: list[BarInfo] = []
    guessed = False
    i = 0
    while i < nbars:
        lo = struct.unpack_from("<I", image, 0x10 + 4 * i)[0]
        if lo == 0 and i not in sizes:
            i += 1
            continue
        if lo & 1:
            kind, addr, cap = "io", lo & ~3, 0x100
        elif (lo >> 1) & 3 == 2 and i < 5:
            hi = struct.unpack_from("<I", image, 0x14 + 4 * i)[0]
            kind, addr, cap = "mem64", (hi << 32) | (lo & ~0xF), 1 << 20
        else:
            kind, addr, cap = "mem32", lo & ~0xF, 1 << 20
        size = sizes.pop(i, None)
        if size is None:
            guessed = True
            size = min(addr & -addr if addr else cap, cap)
            size = max(size, 16 if kind != "io" else 4)
        bars.append(BarInfo(i, kind, size, bool(lo & 8) and kind != "io"))
        i += 2 if kind == "mem64" else 1
    rom_size = sizes.pop("rom", 0) if "rom" in sizes else 0
    rom_reg = struct.unpack_from("<I", image, 0x30 if header_type == 0 else 0x38)[0] if header_type in (0, 1) else 0
    if not rom_size and rom_reg & ~0x7FF:
        addr = rom_reg & ~0x7FF
        rom_size = addr & -addr
        guessed = True
    return bars, rom_size, guessed


class ProfileError(ValueError):
    """A dump that cannot become a consistent profile: names the file and what to pass."""

    def __init__(self, path: str, message: str):
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}")


def _fit_msix(dump: ParsedDump, bars: list[BarInfo], explicit: set) -> list[BarInfo]:
    """The MSI-X table and PBA must lie inside memory BARs; a guessed size grows to hold them."""
    cap = walk_capabilities(dump.image).find(PCI_CAP_ID_MSIX, False)
    if cap is None:
        return bars
    info = MsixInfo.from_image(dump.image, cap.offset)
    out = list(bars)
    for bir, end in ((info.table_bir, info.table_offset + 16 * info.entries),
                     (info.pba_bir, info.pba_offset + 8 * ((info.entries + 63) // 64))):
        idx = next((i for i, b in enumerate(out) if b.index == bir), None)
        if idx is None or out[idx].kind in ("none", "io") or bir > 5:
            raise ProfileError(dump.where(cap.offset), f"the MSI-X capability at 0x{cap.offset:x} puts its table/PBA in BAR{bir}, "
                                          f"which this dump does not show as a memory BAR")
        b = out[idx]
        if end > b.size:
            if b.index in explicit:
                raise ProfileError(dump.where(cap.offset), f"BAR{bir} size 0x{b.size:x} is too small for the MSI-X table/PBA "
                                              f"(ends at 0x{end:x})")
            out[idx] = BarInfo(b.index, b.kind, 1 << (end - 1).bit_length(), b.prefetchable)
    return out


def profile_from_dump(name: str, dump: ParsedDump, upstream_port: str = "",
                      bar_sizes: dict | None = None) -> DeviceProfile:
    """Raises ProfileError when the dump cannot make a consistent profile (the same checks as
    the profile loader's, fuzzcore/device/profile_check.py, located in the dump)."""
    bars, rom_size, guessed = bars_from_image(dump.image, bar_sizes)
    given = {k for k in (bar_sizes or {}) if isinstance(k, int)}
    for k in sorted(given - {b.index for b in bars}):
        slots = {0: 6, 1: 2}.get(dump.image[0x0E] & 0x7F, 0)
        upper = next((b for b in bars if b.kind == "mem64" and b.index + 1 == k), None)
        why = (f"BAR{k} is the upper half of 64-bit BAR{k - 1}" if upper else
               f"this dump's header (type {dump.image[0x0E] & 0x7F}) has "
               f"{f'BAR0..BAR{slots - 1}' if slots else 'no BARs'}")
        raise ProfileError(dump.path, f"--bar {k}=...: {why}")
    early = capability_problem(DeviceProfile(name, dump.image))   # before the capabilities are read
    if early is not None:
        raise ProfileError(dump.where(early.offset), early.message)
    bars = _fit_msix(dump, bars, given)
    source, _, description = dump.source.partition(", device: ")
    if not description:
        source, description = dump.path, dump.source
    prof = DeviceProfile(name, dump.image, description.strip(), source.strip(), upstream_port, bars,
                         rom_size, guessed)
    problem = profile_problem(prof)
    if problem is not None:
        where = dump.where(problem.offset) if problem.offset is not None else dump.path
        option = {"bars": " (--bar)", "rom": " (--rom-size)", "device": " (--upstream-port)"}.get(problem.table, "")
        raise ProfileError(where, problem.message + option)
    return prof
