"""[vfio_config.NAME]: vfio-pci's config-space tables (drivers/vfio/pci/vfio_pci_config.c) as policy
data, so a patch to what a user may write, what is virtual, how long vfio takes a capability to be
or which capabilities it hides is an overlay.

One table per region vfio's `pci_config_map` knows:

    [vfio_config.exp]                     # cap_perms[PCI_CAP_ID_EXP]
    std = 0x10                            # a standard capability id (0: the header); or ext = 0x..
    length = "exp"                        # pci_cap_length: bytes, or a vfio_cap_len computation
    write_fn = "vfio_exp_config_write"    # perm->writefn: a path, "raw" or "none" (omitted: dropped)
    [vfio_config.exp.row]                 # p_setb / p_setw / p_setd
    devctl = { at = 0x08, width = 2, virt = 0x80E0, write = 0xFDFF }

A capability with no region (or length 0) is hidden: its bytes are unassigned, so a user's write
is raw. An overlay replaces or adds a row by name, removes rows (`remove = ["devctl"]`), sets a
region's length or write function, or adds a region."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..util.toml_source import TomlError, check_keys
from .paths import PATH_BY_NAME, VFIO_WRITE_FNS

# perm->writefn: two fixed behaviours, or a path whose steps say what the write function does
# (policy/paths.py VFIO_WRITE_FNS; model/vfio_perm.py encodes a path as 2 + its id)
WRITE_FNS: tuple[tuple[str, str], ...] = (
    ("raw", "vfio_raw_config_write: the user's value straight to hardware, no read"),
    ("none", "no writefn: the write is dropped"),
) + tuple((n, f"[path.{n}]: {PATH_BY_NAME[n].doc}") for n in VFIO_WRITE_FNS)
WRITE_FN_NAMES = tuple(n for n, _ in WRITE_FNS)

# vfio_cap_len / vfio_ext_cap_len: lengths read from the capability itself
LENGTH_KINDS: tuple[tuple[str, str], ...] = (
    ("msi", "vfio_msi_cap_len: 10, +4 with 64-bit addresses, +10 with per-vector masking"),
    ("pcix", "PCI-X: 24 for version 1/2, else 8"),
    ("vndr", "vendor-specific: the length byte (cap + 2)"),
    ("exp", "PCIe: by version and type (v1 20, v2 0x34; an RC integrated endpoint 0x0c / 0x2c)"),
    ("ht", "HyperTransport: 24 or 28 by the capability type"),
    ("sata", "SATA: 16 with its registers inline, else 8"),
    ("vc", "vfio_vc_cap_len: VC, VC9, MFVC by the extended VC count and arbitration phases"),
    ("acs", "ACS: 8, plus the egress control vector when it has one"),
    ("rebar", "Resizable BAR: 4 + 8 per BAR"),
    ("dpa", "DPA: 16 + the substates"),
    ("tph", "TPH: 0x0c, plus the ST table when it is in the capability"),
    ("dvsec", "DVSEC / extended vendor-specific: the length in header 1 (bits 31:20)"),
)
LENGTH_KIND_NAMES = tuple(n for n, _ in LENGTH_KINDS)

# what a row's `when` may test (init_pci_cap_msi_perm lays MSI out by its flags)
ROW_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("msi_64bit", "MSI Message Control's 64-bit Address Capable"),
    ("msi_maskbit", "MSI Message Control's Per-Vector Masking Capable"),
)
ROW_CONDITION_NAMES = tuple(n for n, _ in ROW_CONDITIONS)


@dataclass(frozen=True)
class VfioRow:
    name: str
    at: int          # offset in the region
    width: int       # 1, 2 or 4
    virt: int        # perm->virt bits
    write: int       # perm->write bits
    when: str = ""   # "" or conditions joined by " and ", each maybe "not ..."


@dataclass(frozen=True)
class VfioRegion:
    name: str
    space: str                  # "std" (std = 0 is the header) | "ext"
    cap: int
    length: object              # int bytes or a LENGTH_KINDS name
    write_fn: str
    rows: tuple[VfioRow, ...]

    def when_holds(self, row: VfioRow, facts: dict) -> bool:
        for term in filter(None, row.when.split(" and ")):
            neg = term.startswith("not ")
            if bool(facts[term[4:] if neg else term]) == neg:
                return False
        return True


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def apply_region(src, build, info, key: str, table) -> None:
    """One [vfio_config.KEY] table of a part into build.vfio_regions (name -> dict)."""
    where = f"vfio_config.{key}"
    if not _NAME.match(key):
        raise src.error(f"[{where}]: a region name is a lowercase word (a-z, 0-9, _)", "vfio_config", key)
    if not isinstance(table, dict):
        raise src.error(f"[{where}] must be a table", "vfio_config", key)
    schema = {"std": int, "ext": int, "length": (int, str), "write_fn": str, "row": dict}
    if info.kind == "overlay":
        schema["remove"] = list
    check_keys(src, where, table, schema)
    region = build.vfio_regions.get(key)
    if region is None:
        if ("std" in table) == ("ext" in table):
            raise src.error(f"[{where}]: a new region needs exactly one of std = ID (a standard capability; "
                            f"0 is the header) or ext = ID (an extended one)", where)
        if "length" not in table:
            raise src.error(f"[{where}]: a new region needs length = BYTES or one of "
                            f"{', '.join(LENGTH_KIND_NAMES)}", where)
        region = build.vfio_regions[key] = {"space": "", "cap": 0, "length": 0, "write_fn": "none", "rows": {}}
    for space in ("std", "ext"):
        if space in table:
            cap = table[space]
            if not 0 <= cap <= (0xFF if space == "std" else 0xFFFF):
                raise src.error(f"[{where}] {space} = {cap:#x} is not a capability id", where, space)
            if any(k != key and r["space"] == space and r["cap"] == cap for k, r in build.vfio_regions.items()):
                raise src.error(f"[{where}] {space} = {cap:#x}: another region already describes it", where, space)
            region["space"], region["cap"] = space, cap
    if "length" in table:
        n = table["length"]
        if isinstance(n, str) and n not in LENGTH_KIND_NAMES:
            raise src.error(f"[{where}] length = \"{n}\": one of {', '.join(LENGTH_KIND_NAMES)} or a number "
                            f"of bytes", where, "length")
        if isinstance(n, int) and not 0 <= n <= 0x1000:
            raise src.error(f"[{where}] length = {n}: 0 to 4096 bytes", where, "length")
        region["length"] = n
    if "write_fn" in table:
        if table["write_fn"] not in WRITE_FN_NAMES:
            raise src.error(f"[{where}] write_fn = \"{table['write_fn']}\": one of {', '.join(WRITE_FN_NAMES)}",
                            where, "write_fn")
        region["write_fn"] = table["write_fn"]
    for n in table.get("remove", []):
        if not isinstance(n, str) or n not in region["rows"]:
            raise TomlError(src.path, src.line_of(where, "remove"),
                            f"[{where}] remove: {n!r} is not a row of the region (rows: "
                            f"{', '.join(region['rows']) or 'none'})")
        del region["rows"][n]
    for n, row in table.get("row", {}).items():
        region["rows"][n] = _row(src, f"{where}.row", n, row)
    build.changed(f"vfio_config.{key}", info)


def _row(src, where: str, name: str, row) -> VfioRow:
    if not _NAME.match(name):
        raise src.error(f"[{where}] {name}: a row name is a lowercase word (a-z, 0-9, _)", where, name)
    if not isinstance(row, dict):
        raise src.error(f"[{where}] {name} must be a table such as {{ at = 0x04, width = 2, virt = 0, write = 0xFFFF }}",
                        where, name)
    for k in row:
        if k not in ("at", "width", "virt", "write", "when"):
            raise src.error(f"[{where}] {name}: unknown key '{k}' (known: at, width, virt, write, when)", where, name)
    for k in ("at", "width", "virt", "write"):
        if k not in row or not isinstance(row[k], int) or isinstance(row[k], bool):
            raise src.error(f"[{where}] {name} needs {k} = a number", where, name)
    width = row["width"]
    if width not in (1, 2, 4):
        raise src.error(f"[{where}] {name}: width = {width} (1, 2 or 4: p_setb, p_setw, p_setd)", where, name)
    limit = (1 << (8 * width)) - 1
    for k in ("virt", "write"):
        if not 0 <= row[k] <= limit:
            raise src.error(f"[{where}] {name}: {k} = {row[k]:#x} does not fit {width} byte(s)", where, name)
    if not 0 <= row["at"] < 0x1000:
        raise src.error(f"[{where}] {name}: at = {row['at']:#x} is outside config space", where, name)
    when = row.get("when", "")
    if not isinstance(when, str):
        raise src.error(f"[{where}] {name}: when must be a string", where, name)
    for term in filter(None, when.split(" and ")):
        if (term[4:] if term.startswith("not ") else term) not in ROW_CONDITION_NAMES:
            raise src.error(f"[{where}] {name}: when = \"{when}\": \"{term}\" is not one of "
                            f"{', '.join(ROW_CONDITION_NAMES)} (or \"not\" one, joined by \"and\")", where, name)
    return VfioRow(name, row["at"], width, row["virt"], row["write"], when)


def check_complete(src, build) -> None:
    if not any(r["space"] == "std" and r["cap"] == 0 for r in build.vfio_regions.values()):
        raise src.error("a baseline must state [vfio_config.basic] (std = 0: the header's permissions)")


def freeze(build) -> tuple[VfioRegion, ...]:
    return tuple(VfioRegion(k, r["space"], r["cap"], r["length"], r["write_fn"], tuple(r["rows"].values()))
                 for k, r in build.vfio_regions.items())


def describe(regions, mark=lambda setting: "") -> list[str]:
    """`policy show`'s account of the regions; `mark` names the overlay that last changed one."""
    out = []
    for r in regions:
        out.append(f"vfio_config.{r.name} ({r.space} {r.cap:#x}), length {r.length}, write_fn {r.write_fn}:"
                   f"{mark('vfio_config.' + r.name)}")
        for row in r.rows:
            when = f"  when {row.when}" if row.when else ""
            out.append(f"    {row.name:<12} at {row.at:#04x} width {row.width} virt {row.virt:#x} "
                       f"write {row.write:#x}{when}")
    return out


def markdown_tables() -> str:
    lines = ["| `write_fn` | the kernel's write function (a path: its steps, `[path.NAME]`) |", "|---|---|"]
    lines += [f"| `{n}` | {d} |" for n, d in WRITE_FNS]
    lines += ["", "| `length` | computed as |", "|---|---|"]
    lines += [f"| `\"{n}\"` | {d} |" for n, d in LENGTH_KINDS]
    lines += ["", "| row `when` | true when |", "|---|---|"]
    lines += [f"| `{n}` | {d} |" for n, d in ROW_CONDITIONS]
    return "\n".join(lines) + "\n"
