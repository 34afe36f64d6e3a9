"""Model versus kernel, op by op: the ordered config writes (target, offset, width, value) and
the config image after the op.

The model starts from the guest's own config dump taken when the program begins (imported as
`fuzzcore device import` does it, BAR sizes from the guest's resource file), with the upstream
port imported the same way, so both sides start from the same bytes.

Known, documented differences of QEMU's emulated devices from real hardware are applied to the
imported profile before the model runs (QEMU_QUIRKS below); what the comparison leaves out
(MSI-X table MMIO, the MSI message values the IRQ domain picks) is listed in IGNORED. Besides
writes and images, an op may have an outcome that must agree: pcie_do_recovery's last word
(recovery_outcome), the return code of the ops in RC_COMPARED (rc_outcome).

In the ops of PORT_SET_ASIDE (pm_system_sleep) the upstream port is not compared: the PM core runs
the port's own system-sleep phases, which the model does not (docs/validation.md, row 27). The
device is still compared in full (its writes in order, its image, the return code), and after the
op the model's port is re-based on the guest's port image, so later ops compare the port again
from the same bytes. Reports say which ops had the port set aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..device.dump_parser import parse_binary
from ..device.profile import loads_profile, profile_from_dump, profile_to_toml
from ..model.access import Access
from ..model.machine import Model
from .guestlog import GuestProgram, GuestWrite, kernel_functions

# QEMU 7.2's emulated functions differ from real hardware in these ways; the imported profile is
# adjusted to match before the model runs (apply_qemu_quirks, RecordingAccess), and
# docs/validation.md describes each.
QEMU_QUIRKS = {
    "soft-reset": "QEMU 7.2's PM capability is a plain register (hw/pci/pci.c has no PM state): a "
                  "D3hot->D0 transition with NoSoftRst=0 resets nothing, so the model's 'soft' reset "
                  "keeps every bit",
    "no-ur-logging": "a memory request to a function with Memory Space Enable = 0 (or not in D0) is "
                     "dropped by QEMU (the BAR is simply unmapped): the function logs no Unsupported "
                     "Request, so the model, which reports the finding, does not set DEVSTA.URD and AER "
                     "Uncorrectable Status.UR for it either (RecordingAccess)",
    "ats-control-kept": "QEMU 7.2's function reset (FLR, or the bus reset below its port) leaves ATS "
                        "Control as it was (hw/pci/pcie.c resets no extended capability but AER); "
                        "hardware resets it. The model's flr and hot resets keep it for these profiles",
    "devctl-kept": "QEMU 7.2's function reset (the bus reset below its port, FLR) clears only the "
                   "four error-reporting enables of Device Control (pcie_cap_deverr_reset, "
                   "hw/pci/pcie.c) and keeps the rest; hardware takes the register to its default "
                   "(MRRS 512 B, Relaxed Ordering and No Snoop on). The model's flr and hot resets "
                   "keep Device Control but those four bits for these profiles (found through "
                   "pcie_do_recovery(channel=frozen), the one reset nothing restores after)",
    "lnkctl2-kept": "QEMU 7.2's function reset leaves an endpoint's Link Control 2 as it was (0: "
                    "hw/pci/pcie.c sets Target Link Speed only for the ports' slots); hardware takes "
                    "Target Link Speed to the highest supported speed. The model's flr and hot resets "
                    "keep it for these profiles (found on virtio-rng through "
                    "pcie_do_recovery(channel=frozen))",
    "pm-state-kept": "QEMU 7.2's function reset (the bus reset below its port, FLR) leaves PMCSR's "
                     "PowerState as it was (pci_do_device_reset, hw/pci/pci.c, resets Command, Status, "
                     "BARs, MSI and MSI-X, not the PM capability, a plain register there); hardware "
                     "returns the function to D0. The model's flr and hot resets keep PowerState for "
                     "these profiles (found through pcie_do_recovery(channel=frozen) of a vfio device "
                     "the user had put in D3hot: recovery resets without powering up first). Not for "
                     "virtio-pci (virtio-rng): its bus reset writes PMCSR 0 itself "
                     "(virtio_pci_bus_reset_hold, hw/virtio/virtio-pci.c)",
    "no-platform-d3cold": "QEMU 7.2's q35 guest has no platform power control for the function (no "
                          "_PR3 power resources): pci_set_power_state(D3cold) puts it in D3hot and "
                          "pci_platform_power_transition fails, so it stays there; the profiles say "
                          "platform_d3cold = false",
    "devctl-wmask": "QEMU 7.2's Device Control lets software write only the four error-reporting enables "
                    "(pcie_cap_deverr_init, hw/pci/pcie.c; Initiate FLR where the function has FLR): "
                    "Relaxed Ordering, Max Payload Size, No Snoop and Max Read Request Size read 0 "
                    "whatever is written; hardware implements them. The profiles get them read-only "
                    "(found through vfio's DEVCTL writes and pcie_set_readrq)",
    "gap-bytes-rw": "QEMU makes every config byte past the header that no capability claims read-write "
                    "(pci_init_wmask, hw/pci/pci.c; pci_add_capability and pcie_add_capability clear "
                    "only a capability's own bytes); hardware has nothing there. The profiles get those "
                    "bytes read-write (found through a vfio user's raw write to a gap), the extended "
                    "space only where the function has an extended capability (nvme's reads back 0)",
    "no-deverr": "QEMU 7.2's e1000e never calls pcie_cap_deverr_init (hw/net/e1000e.c), the only place "
                 "that gives Device Control's four error-reporting enables a write mask: they read 0 "
                 "whatever is written, so pci_aer_init's pci_enable_pcie_error_reporting (pcie_ports=native) "
                 "sets nothing; hardware implements them (PCIe r6 §7.5.3.4). The e1000e profile gets them "
                 "read-only too (found when the model's enumeration gained pci_aer_init)",
    "aer-uncor-mask-ro": "QEMU 7.2's AER Uncorrectable Error Mask reads 0 whatever is written (e1000e, nvme and "
                         "virtio-rng; seen through vfio's write of it, which the kernel makes: "
                         "pci_user_write_config_dword of the writable bits); hardware implements the bits "
                         "(RWS). The profiles get the register read-only",
    "sriov-kept": "QEMU 7.2's function reset (FLR, or the bus reset below its port) leaves the SR-IOV "
                  "capability as it was: Control (VF Enable, VF MSE, ARI), System Page Size and the VF "
                  "BARs (pci_do_device_reset, hw/pci/pci.c, resets no extended capability; 7.2 has no "
                  "pcie_sriov_pf_reset); hardware resets them. With VF Enable set, nvme's reset "
                  "unregisters the VFs and zeroes NumVFs (pcie_sriov_pf_disable_vfs) but leaves VF Enable, "
                  "so the kernel's sriov_restore_state returns early. The model's flr and hot resets keep "
                  "the capability for these profiles, NumVFs too, and the image comparison leaves NumVFs "
                  "out (found through the first SR-IOV function in the kit, nvme-sriov)",
    "pm-data-select-ro": "QEMU 7.2's nvme and virtio-rng leave PMCSR Data_Select read-only (their PM "
                         "wmask; seen through vfio's PMCSR writes), e1000e makes it read-write, as the "
                         "register tables assume for every function (a Data register's selector): "
                         "the nvme and virtio-rng profiles get it read-only",
}

QEMU_PM_DATA_SELECT_RO = ("nvme", "virtio-rng", "nvme-sriov")
QEMU_NO_DEVERR = ("e1000e",)               # no-deverr: the functions that never call pcie_cap_deverr_init
QEMU_PM_STATE_RESET = ("virtio-rng",)      # pm-state-kept does not hold: virtio-pci resets PMCSR

# Image bits left out of the comparison, each with why: (target, capability, register offset in
# the capability, width, mask, why).
IMAGE_MASKS = (
    ("dev", "msi", 0x04, 4, 0xFFFFFFFF, "MSI Message Address: chosen by the IRQ domain (interrupt "
                                         "remapping here), the model writes a placeholder"),
    ("dev", "msi", 0x08, 4, 0xFFFFFFFF, "MSI Message Upper Address / Data (32-bit MSI): IRQ domain"),
    ("dev", "msi", 0x0C, 2, 0xFFFF, "MSI Message Data (64-bit MSI): IRQ domain"),
    ("port", "msix", 0x02, 2, 0x8000, "the port's MSI-X Enable: portdrv (pcie_init_service_irqs) "
                                      "enables it; the model's enumeration clears it and has no port driver"),
    ("port", "msi", 0x02, 2, 0x0001, "the port's MSI Enable: as for MSI-X, portdrv's"),
    ("dev", "sriov", 0x10, 2, 0xFFFF, "SR-IOV NumVFs: QEMU 7.2 zeroes it in a reset with VF Enable set "
                                      "and keeps it otherwise (sriov-kept); the model keeps it"),
)
# Written values left out of the write comparison (offset and width are still compared).
VALUE_MASKS = (
    ("dev", "msi", 0x04, "MSI Message Address"),
    ("dev", "msi", 0x08, "MSI Message Upper Address or Data"),
    ("dev", "msi", 0x0C, "MSI Message Data"),
)

# aer_inject (drivers/pci/pcie/aer_inject.c), which the guest uses to start pcie_do_recovery,
# replaces the pci_ops of the injected device's bus and of its root port's bus while it is loaded
# and simulates these AER registers for both (find_pci_config_dword): their dword reads and writes
# never reach QEMU. So in a pcie_do_recovery op the model's dword writes to them are not compared
# (the device's: pci_aer_clear_status in a slot_reset's restore; the root port's Root Error Status
# from aer_root_reset, when the port above is the root port). (target, AER register, why)
AER_INJECT_SIMULATED = (
    ("dev", 0x04, "Uncorrectable Error Status"),
    ("dev", 0x10, "Correctable Error Status"),
    ("dev", 0x1C, "Header Log 0"), ("dev", 0x20, "Header Log 1"),
    ("dev", 0x24, "Header Log 2"), ("dev", 0x28, "Header Log 3"),
    ("root port", 0x30, "Root Error Status"),
    ("root port", 0x34, "Error Source Identification"),
)


def aer_inject_hidden(profile) -> set:
    """(target, offset) of the dword writes aer_inject keeps from QEMU (AER_INJECT_SIMULATED)."""
    from ..device.builtin import resolve_device
    from ..model.caps import cap_offsets
    hidden = set()
    dev_aer = cap_offsets(profile).aer
    port = cap_offsets(resolve_device(profile.upstream_port)) if profile.upstream_port else None
    for target, reg, _why in AER_INJECT_SIMULATED:
        if target == "dev" and dev_aer:
            hidden.add(("dev", dev_aer + reg))
        elif target == "root port" and port is not None and port.exp_type == 0x4 and port.aer:
            hidden.add(("port", port.aer + reg))
    return hidden


IGNORED = {
    "msix": "MSI-X table writes are MMIO, not config cycles; QEMU's config trace does not show them",
    "bar data": "the dword a vfio_bar_rw read returns: MMIO or port I/O, not a config cycle, and the "
                "model keeps no BAR contents (its return code is compared: RC_COMPARED)",
}

# Ops whose return code must equal the guest's (the RC of the op's last guest command), with why:
# the op writes no config register, so its writes and images would agree whatever it returned.
RC_COMPARED = {
    "vfio_bar_rw": "a user's BAR read through the device fd makes no config write: only its return "
                   "code says what it did (0; vfio_pci_bar_rw's -EINVAL, no resource; -EIO, "
                   "__vfio_pci_memory_enabled: D3hot or Memory off in vfio's virtual Command)",
    "pm_system_sleep": "the whole guest slept and woke, as the model's op did: fzguest's RC is 0 only "
                       "when the write to /sys/power/state returned after the resume (s2idle) or the "
                       "kernel said the thaw completed and the image write then failed for want of swap "
                       "(hibernate_thaw); the port's writes are not compared in this op (PORT_SET_ASIDE)",
}


# Ops in which the upstream port's writes and image are not compared, with the model gap that is
# why (docs/validation.md). Everything about the device is compared. After such an op the model's
# port image is re-based on the guest's (run_model), outside the IMAGE_MASKS bits, so the ops that
# follow compare the port from the bytes the kernel left.
PORT_SET_ASIDE = {
    "pm_system_sleep": (
        "row 27",
        "the PM core suspends every device, the port above this one too (pcieport), and the model's "
        "pm_system_sleep runs the device's phases only: the port's suspend_noirq saves it and leaves "
        "it in D0 (pci_power_manageable is false for a bridge without bridge_d3); in suspend-to-idle "
        "skip_bus_pm skips its resume_noirq and pci_pm_resume, finding state_saved still set, "
        "restores it (pci_restore_standard_config), in hibernation pci_pm_thaw_noirq restores it: "
        "pci_restore_state writes its PCIe and AER registers and the forced prefetchable window dwords "
        "0x2c/0x28/0x24 (drivers/pci/pci-driver.c, pci.c); a root port's services also mask and unmask "
        "their interrupts (pcie_pme_suspend/resume: Root Control, Root Status; aer_suspend/resume: "
        "Root Error Command and Status), and QEMU's port sets Command Completed in Slot Status. So the "
        "port's writes and image in this op are not compared, and the model's port is re-based on the "
        "guest's port image after it"),
}


@dataclass(frozen=True)
class ModelWrite:
    op_index: int
    step: str
    target: str
    offset: int
    width: int
    value: int

    def key(self) -> tuple:
        return (self.target, self.offset, self.width, self.value & ((1 << (8 * self.width)) - 1))

    def __str__(self) -> str:
        v = self.value & ((1 << (8 * self.width)) - 1)
        return f"{self.target} @0x{self.offset:03x} w{self.width} <- 0x{v:0{2 * self.width}x}"


class RecordingAccess(Access):
    """The model's accessors, also keeping the value each config write carried (the trace keeps
    the register's value after the write, which drops read-only bits)."""

    def __init__(self, model):
        super().__init__(model)
        self.writes: list[ModelWrite] = []
        self.recovery_said: list[str] = []     # per pcie_do_recovery op: Model.recovery_said

    def _unsupported_request(self, what: str, why: str) -> None:
        """QEMU quirk no-ur-logging: the finding is reported as the model does, but the emulated
        function logs nothing in DEVSTA or AER."""
        self.m.oracle.report("mmio_decode_off", what, "decode on", why)

    def write(self, offset: int, width: int, value: int, target: str = "dev") -> None:
        hw = self._hw(target)
        if hw.accessible:
            self.writes.append(ModelWrite(self.m.op_index, self.m.step, target, offset, width, value))
        super().write(offset, width, value, target)


@dataclass
class OpComparison:
    index: int
    name: str
    model_writes: list[ModelWrite]
    guest_writes: list[GuestWrite]
    image_diffs: list[tuple[str, int, int, int]]   # (target, dword offset, model, guest)
    guest_rcs: list[int]
    model_rc: int
    first_write_mismatch: int = -1                  # index into the write lists, -1: none
    guest_funcs: list[str] = field(default_factory=list)   # kernel function chain per guest write
    outcome: str = ""                               # an outcome that differs (pcie_do_recovery, RC_COMPARED)
    port_set_aside: str = ""                        # PORT_SET_ASIDE row: the port was not compared
    port_writes_set_aside: int = 0                  # the kernel's port writes left out of this op

    @property
    def agrees(self) -> bool:
        return self.first_write_mismatch < 0 and not self.image_diffs and not self.outcome


@dataclass
class ProgramComparison:
    name: str
    calls: list
    ops: list[OpComparison] = field(default_factory=list)
    error: str = ""
    device: str = ""
    profile: object = None

    @property
    def agrees(self) -> bool:
        return not self.error and all(o.agrees for o in self.ops)

    def first_divergence(self) -> OpComparison | None:
        return next((o for o in self.ops if not o.agrees), None)

    def port_set_aside(self) -> dict[str, list[int]]:
        """PORT_SET_ASIDE row -> the compared ops (up to the first divergence) in which the
        upstream port was not compared."""
        out: dict[str, list[int]] = {}
        for o in self.ops:
            if o.port_set_aside:
                out.setdefault(o.port_set_aside, []).append(o.index)
            if not o.agrees:
                break
        return out

    def set_aside_note(self) -> str:
        """'' or e.g. "upstream port not compared in ops 1, 3 (known: row 27)"."""
        parts = []
        for row, ops in self.port_set_aside().items():
            s = "s" if len(ops) > 1 else ""
            parts.append(f"upstream port not compared in op{s} {', '.join(map(str, ops))} (known: {row})")
        return "; ".join(parts)


def _pad(image: bytes) -> bytes:
    return image + bytes(4096 - len(image)) if len(image) <= 4096 else image[:4096]


def _bar_sizes(gp: GuestProgram) -> dict:
    sizes: dict = {}
    for i, (start, end, _flags) in enumerate(gp.resources[:7]):
        if end > start:
            sizes["rom" if i == 6 else i] = end - start + 1
    return sizes


def import_profiles(gp: GuestProgram, device: str, workdir: Path):
    """The guest's dumps as profiles (device, port), written next to the run as TOML."""
    workdir.mkdir(parents=True, exist_ok=True)
    port_img = _pad(gp.image_bytes("port"))
    port = profile_from_dump(f"{device}-port", parse_binary(port_img, f"{device}-port config"))
    port_path = workdir / f"{device}-port.toml"
    port_path.write_text(profile_to_toml(port))
    dev_img = _pad(gp.image_bytes("dev"))
    prof = profile_from_dump(device, parse_binary(dev_img, f"{device} config"), str(port_path), _bar_sizes(gp))
    text = profile_to_toml(prof)
    dev_path = workdir / f"{device}.toml"
    dev_path.write_text(text)
    prof = loads_profile(text, str(dev_path))
    apply_qemu_quirks(prof)
    return prof


# The bytes QEMU 7.2's capabilities claim (pci_add_capability / pcie_add_capability sizes): PM,
# MSI by its flags, MSI-X, PCIe by version, vendor-specific by its length byte; AER, DSN, ATS.
def _qemu_cap_size(cfg, cap) -> int:
    if cap.extended:
        return {0x01: 0x48, 0x03: 0x0C, 0x0F: 0x08}.get(cap.cap_id, 0x1000)
    if cap.cap_id == 0x05:
        flags = int(cfg[cap.offset + 2]) | int(cfg[cap.offset + 3]) << 8
        return 10 + (4 if flags & 0x80 else 0) + (10 if flags & 0x100 else 0)
    if cap.cap_id == 0x10:
        return 0x14 if int(cfg[cap.offset + 2]) & 0xF == 1 else 0x3C
    if cap.cap_id == 0x09:
        return int(cfg[cap.offset + 2])
    return {0x01: 8, 0x11: 12}.get(cap.cap_id, 0x100)


def _qemu_gap_bytes(prof) -> list:
    """Config bytes past the header no capability of the QEMU function claims (gap-bytes-rw); an
    unknown capability claims the rest of its space (nothing is made writable after it)."""
    cfg = prof.config
    used = bytearray(len(cfg))
    used[:0x40] = b"\x01" * 0x40
    for cap in list(prof.walk.standard) + list(prof.walk.extended):
        end = min(cap.offset + _qemu_cap_size(cfg, cap), 0x100 if not cap.extended else len(cfg))
        used[cap.offset:end] = b"\x01" * (end - cap.offset)
    # a function with no extended capability keeps its extended space read-only (nvme: a raw
    # write at 0x108 reads back 0)
    end = len(cfg) if list(prof.walk.extended) else min(len(cfg), 0x100)
    return [o for o in range(0x40, end) if not used[o]]


def apply_qemu_quirks(prof) -> None:
    """QEMU_QUIRKS, applied to a profile imported from a QEMU guest."""
    from ..model.caps import cap_offsets
    prof.platform_d3cold = False               # no-platform-d3cold
    sem = prof.semantics
    sem.keep["soft"][:] = 0xFF
    pm = cap_offsets(prof).pm
    if pm and prof.name not in QEMU_PM_STATE_RESET:   # pm-state-kept: PMCSR PowerState (bits 1:0)
        for kind in ("flr", "hot"):
            sem.keep[kind][pm + 4] |= 0x03
    if pm and prof.name in QEMU_PM_DATA_SELECT_RO:
        sem.wmask[pm + 5] &= ~0x1E & 0xFF      # PMCSR Data_Select (bits 12:9)
        sem.readonly[pm + 5] |= 0x1E
    sriov = cap_offsets(prof).sriov
    if sriov:                                  # sriov-kept: Control, NumVFs, page size, VF BARs
        for kind in ("flr", "hot"):
            sem.keep[kind][sriov + 0x08:sriov + 0x0A] = 0xFF
            sem.keep[kind][sriov + 0x10:sriov + 0x12] = 0xFF
            sem.keep[kind][sriov + 0x20:sriov + 0x3C] = 0xFF
    ats = cap_offsets(prof).ats
    if ats:
        for kind in ("flr", "hot"):
            sem.keep[kind][ats + 6:ats + 8] = 0xFF
    exp = cap_offsets(prof).exp
    if exp:                                    # devctl-wmask: CERE|NFERE|FERE|URRE (and Initiate FLR)
        ro = 0xFF if prof.name in QEMU_NO_DEVERR else 0xF0     # no-deverr: not even those four
        sem.wmask[exp + 8] &= ~ro & 0xFF
        sem.readonly[exp + 8] |= ro
        sem.wmask[exp + 9] &= 0x80
        sem.readonly[exp + 9] |= 0x7F
    aer = cap_offsets(prof).aer
    if aer:                                    # aer-uncor-mask-ro: Uncorrectable Error Mask
        sem.wmask[aer + 8:aer + 12] = 0
        sem.readonly[aer + 8:aer + 12] = 0xFF
    for off in _qemu_gap_bytes(prof):          # gap-bytes-rw
        sem.wmask[off] = 0xFF
        sem.readonly[off] = 0
    if exp:                                    # devctl-kept: all of DEVCTL but CERE|NFERE|FERE|URRE
        for kind in ("flr", "hot"):
            sem.keep[kind][exp + 8] = 0xF0
            sem.keep[kind][exp + 9] = 0xFF
            sem.keep[kind][exp + 0x30:exp + 0x32] = 0xFF   # lnkctl2-kept


def run_model(profile, policy, calls, guest_port=None):
    """The model's writes, images after each op and return codes. guest_port(i): the guest's port
    image after op i; given, the model's port is re-based on it after each op of PORT_SET_ASIDE
    (rebase_port)."""
    m = Model(profile, policy)
    m.io = RecordingAccess(m)
    m.start(trace=True)
    port_mask = comparison_masks(profile)[0]["port"] if guest_port else None
    images, rcs = [], []
    for i, call in enumerate(calls):
        m.recovery_said = ""
        rcs.append(m.apply(call))
        if call.name == "pcie_do_recovery":
            m.io.recovery_said.append(m.recovery_said)
        if guest_port and call.name in PORT_SET_ASIDE and m.state.port:
            guest = guest_port(i)
            if guest is not None:
                rebase_port(m.state.port.hw.config, guest, port_mask)
        port = m.state.port.hw.config.copy() if m.state.port else None
        images.append((m.state.hw.config.copy(), port))
    return m, m.io.writes, images, rcs


def rebase_port(config: np.ndarray, guest: bytes, mask: np.ndarray) -> None:
    """The model's port image takes the guest's bytes, but for the bits IMAGE_MASKS leaves out of
    the comparison (the port's MSI/MSI-X Enable: portdrv's, which the model has no part of): those
    keep the model's value, so the model's own state stays consistent."""
    n = min(len(guest), len(config)) // 4 * 4
    g = np.frombuffer(guest[:n], dtype=np.uint8)
    keep = mask[:n]
    config[:n] = (np.asarray(config[:n], dtype=np.uint8) & keep) | (g & ~keep)


def _same_write(mw: ModelWrite, gw: GuestWrite, value_free: set) -> bool:
    t, off, width, value = mw.key()
    if (t, off, width) != (gw.target, gw.offset, gw.width):
        return False
    return (t, off) in value_free or value == gw.value


def comparison_masks(profile) -> tuple[dict[str, np.ndarray], set]:
    """IMAGE_MASKS and VALUE_MASKS placed at the device's and the port's capability offsets."""
    from ..device.builtin import resolve_device
    from ..model.caps import cap_offsets
    caps = {"dev": cap_offsets(profile)}
    if profile.upstream_port:
        caps["port"] = cap_offsets(resolve_device(profile.upstream_port))
    masks = {t: np.zeros(4096, dtype=np.uint8) for t in ("dev", "port")}
    for target, cap, reg, width, mask, _why in IMAGE_MASKS:
        base = getattr(caps[target], cap, 0) if target in caps else 0
        if base:
            for b in range(width):
                masks[target][base + reg + b] |= (mask >> (8 * b)) & 0xFF
    value_free = set()
    for target, cap, reg, _why in VALUE_MASKS:
        base = getattr(caps[target], cap, 0) if target in caps else 0
        if base:
            value_free.add((target, base + reg))
    return masks, value_free


def compare_program(name: str, calls: list, gp: GuestProgram, gwrites: list[list[GuestWrite]],
                    device: str, policy, workdir: Path) -> ProgramComparison:
    pc = ProgramComparison(name, calls)
    if len(gp.ops) != len(calls) or len(gwrites) != len(calls):
        pc.error = (f"the guest ran {len(gp.ops)} of {len(calls)} ops "
                    f"({len(gwrites)} traced)")
    try:
        profile = import_profiles(gp, device, workdir / name)
    except ValueError as e:
        pc.error = f"importing the guest's dump: {e}"
        return pc
    pc.profile = profile
    m, mwrites, images, rcs = run_model(
        profile, policy, calls,
        lambda i: gp.image_bytes("port", i) if i < len(gp.ops) and "port" in gp.initial else None)
    said = iter(m.io.recovery_said)
    img_mask, value_free = comparison_masks(profile)
    hidden = aer_inject_hidden(profile)
    by_op: dict[int, list[ModelWrite]] = {}
    for w in mwrites:
        if w.op_index < 0:
            continue
        if (calls[w.op_index].name == "pcie_do_recovery" and w.width == 4
                and (w.target, w.offset) in hidden):
            continue                           # aer_inject simulates it: QEMU never sees it
        by_op.setdefault(w.op_index, []).append(w)
    for i, call in enumerate(calls):
        if i >= len(gp.ops) or i >= len(gwrites):
            break
        mw, gw = by_op.get(i, []), gwrites[i]
        funcs = kernel_functions(gp.ops[i].kf, gw) if gp.ops[i].kf else []
        set_aside, n_aside = "", 0
        if call.name in PORT_SET_ASIDE:        # the port's own phases: the device alone is compared
            set_aside = PORT_SET_ASIDE[call.name][0]
            keep = [k for k, w in enumerate(gw) if w.target != "port"]
            n_aside = len(gw) - len(keep)
            funcs = [funcs[k] for k in keep] if funcs else []
            gw = [gw[k] for k in keep]
            mw = [w for w in mw if w.target != "port"]
        mismatch = -1
        for k in range(max(len(mw), len(gw))):
            if k >= len(mw) or k >= len(gw) or not _same_write(mw[k], gw[k], value_free):
                mismatch = k
                break
        diffs = []
        for target, img in (("dev", images[i][0]), ("port", images[i][1])):
            if img is None or (target == "port" and set_aside):
                continue
            guest = gp.image_bytes(target, i)
            n = len(guest) - len(guest) % 4
            keep = ~img_mask[target][:n]
            g = np.frombuffer(guest[:n], dtype=np.uint8) & keep
            mm = np.asarray(img[:n], dtype=np.uint8) & keep
            gd, md = g.view("<u4"), mm.view("<u4")
            for k in np.nonzero(gd != md)[0]:
                diffs.append((target, int(4 * k), int(md[k]), int(gd[k])))
        outcome = "; ".join(o for o in (
            recovery_outcome(call, next(said) if call.name == "pcie_do_recovery" else "", gp.ops[i].rcs),
            rc_outcome(call, rcs[i], gp.ops[i].rcs)) if o)
        pc.ops.append(OpComparison(i, call.name, mw, gw, diffs, gp.ops[i].rcs, rcs[i], mismatch, funcs,
                                   outcome, set_aside, n_aside))
    return pc


RECOVERY_OUTCOME = {0: "successful", 1: "failed"}   # fzguest aerinj's RC


def recovery_outcome(call, model_said: str, guest_rcs) -> str:
    """pcie_do_recovery's last word on both sides: "device recovery successful" or "failed" (the
    model's Model.recovery_said; fzguest `aerinj` RC 0 or 1). '' when they agree or the op is
    another."""
    if call.name != "pcie_do_recovery":
        return ""
    guest = guest_rcs[-1] if guest_rcs else None
    if guest not in RECOVERY_OUTCOME:
        return f"the injected error did not end in a recovery (aerinj rc {guest})"
    if model_said != RECOVERY_OUTCOME[guest]:
        return f"recovery: model {model_said or 'nothing'} | kernel {RECOVERY_OUTCOME[guest]}"
    return ""


def rc_outcome(call, model_rc: int, guest_rcs) -> str:
    """For an op in RC_COMPARED: the model's return code against the guest's last RC for the op
    (fzguest's RC: 0 or -errno). '' when they agree or the op is another."""
    if call.name not in RC_COMPARED:
        return ""
    guest = guest_rcs[-1] if guest_rcs else None
    if guest != model_rc:
        return f"{call.name}: model rc {model_rc} | kernel rc {guest}"
    return ""


def format_divergence(pc: ProgramComparison, width: int = 58, full: bool = False) -> list[str]:
    """The first divergence, model and kernel side by side."""
    from ..program.fzs import format_call
    if pc.error:
        return [f"{pc.name}: {pc.error}"]
    op = pc.first_divergence()
    note = pc.set_aside_note()
    if op is None:
        return [f"{pc.name}: agrees op by op ({len(pc.ops)} ops{'; ' + note if note else ''})"]
    out = [f"{pc.name}: first divergence at op {op.index}: {format_call(pc.calls[op.index])}"]
    if note:
        out.append(f"  {note}")
    if op.first_write_mismatch >= 0:
        k = op.first_write_mismatch
        out.append(f"  write #{k} (model rc {op.model_rc}, guest rcs {op.guest_rcs})")
        out.append(f"  {'model (step)':<{width}} | kernel 6.12 (QEMU trace)"
                   + (" [kernel function < callers]" if op.guest_funcs else ""))
        hi = max(len(op.model_writes), len(op.guest_writes))
        lo, top = (0, hi) if full else (max(0, k - 3), min(hi, k + 6))
        for j in range(lo, top):
            mw = op.model_writes[j] if j < len(op.model_writes) else None
            gw = op.guest_writes[j] if j < len(op.guest_writes) else None
            left = f"{mw} [{mw.step}]" if mw else "-"
            right = str(gw) if gw else "-"
            if gw and j < len(op.guest_funcs) and op.guest_funcs[j]:
                right += f" [{op.guest_funcs[j]}]"
            mark = ">>" if j == k else "  "
            out.append(f"{mark}{left:<{width}} | {right}")
        if hi > top:
            out.append(f"  ... {len(op.model_writes)} model writes, {len(op.guest_writes)} kernel writes in this op")
    if op.outcome:
        out.append(f"  {op.outcome}")
    for target, off, mv, gv in op.image_diffs[:8]:
        out.append(f"  image after the op: {target} 0x{off:03x}: model 0x{mv:08x} | kernel 0x{gv:08x}")
    return out


# Divergences found by `fuzzcore validate` where the model, not QEMU, differs from Linux 6.12,
# and which are not fixed in the model yet (docs/validation.md lists them with what shows them).
# (op, predicate on (args, profile caps, the divergent op), the 6.12 function and what it does)
MODEL_GAPS = (
    ("pci_enable_msix", lambda a, c, op: op.model_rc == 0 and -22 in op.guest_rcs,
     "__pci_enable_msix_range (drivers/pci/msi/msi.c) returns -EINVAL unless current_state is D0; "
     "the model's pci_enable_msix enables MSI-X in D3hot"),
    ("pci_enable_msi", lambda a, c, op: op.model_rc == 0 and -22 in op.guest_rcs,
     "__pci_enable_msi_range (drivers/pci/msi/msi.c) returns -EINVAL unless current_state is D0; "
     "the model's pci_enable_msi enables MSI in D3hot"),
    # (Row 27, the port's own sleep phases, is PORT_SET_ASIDE: the port is not compared there.
    # Row 28, device_complete's runtime re-suspend, is fixed: [path.pm_runtime_put]'s
    # `runtime_idle` step.)
)


def gap_for(pc: ProgramComparison) -> str:
    """The known model gap a program's first divergence matches, or ''."""
    from ..model.caps import cap_offsets
    op = pc.first_divergence()
    if op is None or op.first_write_mismatch < 0 or pc.profile is None:
        return ""
    args = dict(pc.calls[op.index].args)
    caps = cap_offsets(pc.profile)
    for name, pred, text in MODEL_GAPS:
        if name in (op.name, "*") and pred(args, caps, op):
            return text
    return ""
