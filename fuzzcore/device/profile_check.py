"""The one validation of a device profile, for the profile loader and the importer alike.

A profile that passes can be built into the native engine and the reference model and run with
any program: every access the models make lies inside the config image and every number fits the
field it goes into. What is checked:

- every capability lies wholly inside the image: its fixed part and its variable tables (VC
  arbitration tables, ReBAR entries, TPH ST table, ACS egress vector, a vendor capability's
  length byte) as the register tables describe them (fuzzcore/device/register_tables.py);
- BAR sizes and the ROM size fit their registers (32-bit memory and I/O BARs at most 2 GiB,
  64-bit at most 2^63, the ROM 2 KiB to 2 GiB), and BARs exist in the header type's BAR slots;
- the MSI-X table and PBA are in implemented memory BARs (a BIR of 6 or 7 is reserved) and lie
  inside them, below 2 GiB;
- the upstream port names a profile (built-in or a file) that is a PCIe root or downstream port.

`profile_problem` returns the first Problem found (None when there is none); the caller turns it
into its own located error: the profile loader `file:line: message` (a capability's line in the
[config] hexdump, a key's line otherwise), the importer `dump:line: message`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .capability_ids import PCI_CAP_ID_EXP, PCI_CAP_ID_MSIX, PCI_EXT_CAP_ID_REBAR
from .register_tables import EXT_CAPS, STD_CAPS, Ctx

PCI_CAP_ID_VNDR = 0x09
BAR_LIMITS = {"mem32": 1 << 31, "io": 1 << 31, "mem64": 1 << 63, "none": 1 << 63}
ROM_MIN, ROM_MAX = 2048, 1 << 31
MSIX_LIMIT = 1 << 31          # the engine keeps table offsets in a signed 32-bit int
PORT_TYPES = ("root-port", "downstream-port")
# What the models read beyond a capability's register table: the ReBAR control of the first entry.
MIN_EXTENT = {(PCI_EXT_CAP_ID_REBAR, True): 12}
_PAD = 8192                   # variable tables are sized on an image padded with zeros


@dataclass(frozen=True)
class Problem:
    message: str
    offset: int | None = None      # the config offset it is about (a line of the hexdump)
    table: str = ""                # else the profile table and key it is about
    key: str | None = None
    index: int = 0


def capability_extent(ctx: Ctx, cap) -> int:
    """Bytes from the capability's offset that the register tables (and so both models) cover."""
    base = cap.offset
    spec = (EXT_CAPS if cap.extended else STD_CAPS).get(cap.cap_id)
    extent = 4 if cap.extended else 2
    extent = max(extent, MIN_EXTENT.get((cap.cap_id, cap.extended), 0))
    if not cap.extended and cap.cap_id == PCI_CAP_ID_VNDR:
        extent = max(extent, int(ctx.img[base + 2]) if base + 2 < len(ctx.img) else 3, 3)
    if spec is None:
        return extent
    size = spec.size(ctx, base) if callable(spec.size) else spec.size
    extent = max(extent, size)
    rows = list(spec.fields) + (spec.expand(ctx, base) if spec.expand else [])
    for row in rows:
        if row.when is None or row.when(ctx, base):
            extent = max(extent, row.off + row.width)
    return extent


def _ctx(prof) -> Ctx:
    img = np.zeros(_PAD, dtype=np.uint8)
    img[: len(prof.image)] = np.frombuffer(prof.image, dtype=np.uint8)
    port = version = 0
    pcie = prof.walk.find(PCI_CAP_ID_EXP, False)
    if pcie is not None and pcie.offset + 4 <= len(prof.image):
        flags = int(img[pcie.offset + 2]) | (int(img[pcie.offset + 3]) << 8)
        port, version = (flags >> 4) & 0xF, flags & 0xF
    return Ctx(img, prof.header_type, port if pcie is not None else None, version, tuple(prof.bars), prof.rom_size)


def capability_problem(prof) -> Problem | None:
    size = len(prof.image)
    ctx = _ctx(prof)
    for cap in prof.walk.all:
        what = f"{'extended ' if cap.extended else ''}capability {cap.name} at 0x{cap.offset:03x}"
        header = 4 if cap.extended else 2
        if cap.offset + header > size:
            return Problem(f"{what}: its header runs past the end of the {size}-byte config image", cap.offset)
        spec = (EXT_CAPS if cap.extended else STD_CAPS).get(cap.cap_id)
        fixed = (spec.size(ctx, cap.offset) if callable(spec.size) else spec.size) if spec else header
        if cap.offset + fixed > size:
            return Problem(f"{what}: its {fixed} bytes run past the end of the {size}-byte config image "
                           f"(to 0x{cap.offset + fixed:x})", cap.offset)
        end = cap.offset + capability_extent(ctx, cap)
        if end > size:
            return Problem(f"{what}: its registers run past the end of the {size}-byte config image "
                           f"(to 0x{end:x})", cap.offset)
    return None


def _bar_problem(prof) -> Problem | None:
    slots = {0: 6, 1: 2}.get(prof.header_type, 0)
    for i, b in enumerate(prof.bars):
        last = b.index + (1 if b.kind == "mem64" else 0)
        if b.kind != "none" and last >= slots:
            return Problem(f"BAR{b.index}: a header of type {prof.header_type} has "
                           f"{'no BARs' if not slots else f'BAR0..BAR{slots - 1}'}", None, "bars", "index", i)
        if b.size > BAR_LIMITS[b.kind]:
            return Problem(f"BAR{b.index} size {b.size:#x} is larger than a {b.kind} BAR can be "
                           f"({BAR_LIMITS[b.kind]:#x})", None, "bars", "size", i)
    rom = prof.rom_size
    if rom and not (ROM_MIN <= rom <= ROM_MAX and not rom & (rom - 1)):
        return Problem(f"ROM size {rom:#x}: a ROM BAR is a power of two from 2 KiB to 2 GiB", None, "rom", "size")
    return None


def _msix_problem(prof) -> Problem | None:
    cap = prof.walk.find(PCI_CAP_ID_MSIX, False)
    if cap is None:
        return None
    info = prof.msix
    for what, bir, start, length in (("table", info.table_bir, info.table_offset, 16 * info.entries),
                                     ("PBA", info.pba_bir, info.pba_offset, 8 * ((info.entries + 63) // 64))):
        key = "table_bir" if what == "table" else "pba_bir"
        if bir > 5:
            return Problem(f"the MSI-X capability at 0x{cap.offset:02x} puts its {what} in BAR indicator {bir}, "
                           f"which is reserved (BARs are 0..5)", cap.offset, "msix", key)
        bar = prof.bar(bir)
        if bar is None or bar.kind in ("none", "io"):
            return Problem(f"the MSI-X capability at 0x{cap.offset:02x} puts its {what} in BAR{bir}, which the "
                           f"profile does not declare as a memory BAR", cap.offset, "msix", key)
        end = start + length
        if end > bar.size:
            return Problem(f"the MSI-X {what} (BAR{bir} 0x{start:x}..0x{end:x}) ends past BAR{bir} "
                           f"(size {bar.size:#x})", cap.offset, "msix", key)
        if end > MSIX_LIMIT:
            return Problem(f"the MSI-X {what} (BAR{bir} 0x{start:x}..0x{end:x}) ends past 2 GiB into the BAR, "
                           f"which fuzzcore does not model", cap.offset, "msix", key)
    return None


_PORTS: dict = {}


def _load_port(name: str):
    """The upstream port's profile, found as resolve_device finds it (its own upstream port is not
    followed: the models do not), or a message why not."""
    from .builtin import builtin_dir, builtin_names
    from .profile import load_profile

    p = Path(name)
    candidates = [p] if p.suffix == ".toml" and p.exists() else [builtin_dir() / f"{name}.toml"]
    for c in candidates:
        try:
            st = c.stat()
        except OSError:
            continue
        key = (str(c.resolve()), st.st_mtime_ns, st.st_size)
        if key not in _PORTS:
            try:
                _PORTS[key] = load_profile(c, check_upstream=False)
            except ValueError as e:
                return f"upstream port '{name}' does not load: {e}"
        return _PORTS[key]
    return (f"upstream port '{name}' is neither a built-in device ({', '.join(builtin_names())}) "
            f"nor a profile file")


def _port_problem(prof) -> Problem | None:
    if not prof.upstream_port:
        return None
    port = _load_port(prof.upstream_port)
    if isinstance(port, str):
        return Problem(port, None, "device", "upstream_port")
    if port.pcie_type not in PORT_TYPES or port.header_type != 1:
        return Problem(f"upstream port '{prof.upstream_port}' is not a port: its PCIe Device/Port Type is "
                       f"{port.pcie_type} (header type {port.header_type}); a device sits under a root-port "
                       f"or a downstream-port", None, "device", "upstream_port")
    return None


def _vf_problem(prof) -> Problem | None:
    """An SR-IOV VF (virtfn = true) as the SR-IOV spec has it: a PCIe endpoint without an SR-IOV
    capability of its own, whose BARs, Command decode bits and Interrupt Pin read zero (§3.4.1)."""
    if not prof.virtfn:
        if prof.virtual_bus:
            return Problem("virtual_bus = true: only a VF (virtfn = true) sits on a bus virtfn_add_bus made",
                           None, "device", "virtual_bus")
        return None
    img = prof.image
    if prof.header_type != 0 or prof.walk.find(0x10, False) is None:
        return Problem("virtfn = true: a VF is a type 0 PCIe function (a PCI Express capability)", None,
                       "device", "virtfn")
    if prof.walk.find(0x10, True) is not None:
        return Problem("virtfn = true: a VF has no SR-IOV capability of its own", None, "device", "virtfn")
    for i in range(6):
        if int.from_bytes(img[0x10 + 4 * i:0x14 + 4 * i], "little"):
            return Problem(f"virtfn = true: a VF's BAR{i} reads zero (SR-IOV §3.4.1.11); its address "
                           "goes in [[bars]] address", 0x10 + 4 * i)
    if int.from_bytes(img[0x04:0x06], "little") & 0x3:
        return Problem("virtfn = true: a VF's Command I/O and Memory Space Enable read zero", 0x04)
    if img[0x3D]:
        return Problem("virtfn = true: a VF's Interrupt Pin reads zero (SR-IOV §3.4.1.18)", 0x3D)
    if prof.rom_size:
        return Problem("virtfn = true: a VF has no Expansion ROM BAR (SR-IOV §3.4.1.14)", None, "rom", "size")
    return None


def profile_problem(prof, check_upstream: bool = True) -> Problem | None:
    """The first thing that keeps `prof` from running in the models, or None."""
    return (capability_problem(prof) or _vf_problem(prof) or _bar_problem(prof) or _msix_problem(prof)
            or (_port_problem(prof) if check_upstream else None))
