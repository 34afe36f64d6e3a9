"""Checks that a profile agrees with itself and with its topology, beyond what each field's own
validation can see: warnings, not errors, because a dump can be odd and still be real
(`fuzzcore device import --strict` makes them errors).

- The upstream port must be a port a device can sit under: a Root Port or a switch Downstream
  Port (PCIe Device/Port Type 4 or 6, PCI_EXP_TYPE_ROOT_PORT / PCI_EXP_TYPE_DOWNSTREAM), and a
  Root Port or a Root Complex integrated endpoint sits on a root bus, with no port above it.
- A BAR size given (or guessed) for a resizable BAR must equal the size its Resizable BAR Control
  register selects (bits 13:8, size = 2^(n+20) bytes), which is what the kernel reads back
  (pci_rebar_get_current_size) and restores (pci_restore_rebar_state)."""

from __future__ import annotations

import struct

PCI_EXT_CAP_ID_REBAR = 0x15
PORT_TYPES_ABOVE = ("root-port", "downstream-port")
ON_ROOT_BUS = ("root-port", "rc-endpoint", "rc-event-collector")


def _size(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def rebar_sizes(profile) -> dict[int, tuple[int, int]]:
    """{BAR index: (size the control register selects, offset of that control register)}."""
    cap = profile.walk.find(PCI_EXT_CAP_ID_REBAR, True)
    if cap is None:
        return {}
    image = profile.image
    out = {}
    if cap.offset + 12 > len(image):
        return out
    nbars = (struct.unpack_from("<I", image, cap.offset + 8)[0] >> 5) & 0x7
    for i in range(max(nbars, 1)):
        ctrl_off = cap.offset + 8 + 8 * i
        if ctrl_off + 4 > len(image):
            break
        ctrl = struct.unpack_from("<I", image, ctrl_off)[0]
        out[ctrl & 0x7] = (1 << (((ctrl >> 8) & 0x3F) + 20), ctrl_off)
    return out


def consistency_warnings(profile, upstream=None) -> list[str]:
    """Warnings, each naming the register or field and both values. `upstream` is the upstream
    port's profile when the caller has resolved it (None: not checked here)."""
    out = []
    own = profile.pcie_type
    if upstream is not None:
        if own in ON_ROOT_BUS:
            out.append(f"upstream_port {upstream.name!r}: a {own} sits on a root bus and has no port above it")
        elif upstream.pcie_type not in PORT_TYPES_ABOVE:
            out.append(f"upstream_port {upstream.name!r}: PCIe Device/Port Type is {upstream.pcie_type}, "
                       f"but a device sits under a root-port or downstream-port")
    for index, (size, ctrl_off) in sorted(rebar_sizes(profile).items()):
        bar = profile.bar(index)
        if bar is not None and bar.kind != "none" and bar.size != size:
            out.append(f"BAR{index}: size {_size(bar.size)} in the profile, but Resizable BAR Control "
                       f"(0x{ctrl_off:03x}) selects {_size(size)}")
    return out
