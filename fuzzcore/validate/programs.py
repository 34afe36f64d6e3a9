"""Random feasible programs of validatable ops, for `fuzzcore validate --programs N`.

Feasible: each op is drawn from those that do something in the state the program has reached
(which driver is bound, whether the vfio client has the device open, which interrupts a host
driver enabled), so a program exercises its ops instead of collecting refusals. Only ops the
guest can run for real are drawn (actors.VALIDATION).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from ..program.codec import Call
from .actors import call_validatable

RESET_ARGS = ("auto", "pm", "bus", "flr")
CHANNELS = ("normal", "frozen")
VOTES = ("can_recover", "need_reset", "disconnect", "no_aer_driver")
COMMAND_VALUES = (0x0000, 0x0002, 0x0006, 0x0007, 0x0406, 0x0400, 0x0004)
PROFILES = Path(__file__).resolve().parents[2] / "corpora" / "validation" / "profiles"


def vfio_config_targets(device: str) -> tuple:
    """User config writes through vfio's tables for a guest device, from its validation profile
    (corpora/validation/profiles): (offset, width, values) for the header's writable bytes, a
    piece-cut dword, DEVCTL's MPS/MRRS (virtual, then pcie_set_readrq), DEVCTL2, MSI Message
    Control (vfio_msi_config_write) and Address, AER's masks and Capabilities (their write bits),
    a read-only extended capability and bytes no capability holds (raw). Initiate FLR and
    PMCSR are left to the ops that reset and power (they are drawn already)."""
    from ..device.profile import load_profile
    from ..model.caps import cap_offsets
    path = PROFILES / f"{device}.toml"
    if not path.exists():
        return ()
    prof = load_profile(path)
    caps = cap_offsets(prof)
    t = [(0x0C, "4", (0x00000010, 0x0000FF08, 0xFFFFFFFF)), (0x3C, "1", (0x00, 0x0B, 0xFF))]
    if caps.exp:
        t += [(caps.exp + 0x08, "2", (0x0010, 0x1010, 0x2030, 0x5050, 0x0000)),
              (caps.exp + 0x08, "4", (0x00002810, 0x000F0010)),      # DEVCTL + DEVSTA: one piece
              (caps.exp + 0x09, "1", (0x10, 0x50))]                  # MRRS alone, a byte piece
        if prof.config[caps.exp + 2] & 0xF >= 2:                     # a v2 capability has DEVCTL2
            t.append((caps.exp + 0x28, "2", (0x0000, 0x0400, 0x0010)))
    if caps.msi:
        t += [(caps.msi + 0x02, "2", (0x0000, 0x0001, 0x0071)), (caps.msi + 0x04, "4", (0xFEE00000, 0x0))]
    if caps.aer:
        t += [(caps.aer + 0x08, "4", (0x0, 0xFFFFFFFF)), (caps.aer + 0x14, "4", (0x0, 0xFFFF)),
              (caps.aer + 0x18, "4", (0x0, 0x1E0))]
    used = set()
    for c in prof.walk.standard:
        used.update(range(c.offset, c.offset + 0x40 if c.cap_id == 0x10 else c.offset + 0x18))
    gap = next((o for o in range(0x40, 0x100, 4) if not used & set(range(o, o + 4))), 0)
    if gap:
        t.append((gap, "4", (0x0, 0xFFFFFFFF)))                    # unassigned: vfio_raw_config_write
    ro = next((c.offset for c in prof.walk.extended if c.cap_id in (0x03, 0x0F)), 0)
    if ro:
        t.append((ro + 0x04, "4", (0x0, 0xFFFFFFFF)))              # DSN / ATS: no write function
    return tuple(t)


def make_call(name: str, **args) -> Call:
    return Call.of(name, **args)


@dataclass
class _State:
    driver: str = "vfio"          # vfio | host | none (the model starts vfio-bound, closed)
    open: bool = False
    host_irq: str = "none"        # none | msi | msix
    vfio_irq: str = "none"
    d3: bool = False
    suspended: bool = False       # runtime-suspended (host driver only)
    ats: bool = False             # ATS enabled (stays on across driver changes, as in the kernel)
    history: list = field(default_factory=list)


def _recovery(rng: random.Random) -> Call:
    return make_call("pcie_do_recovery", channel=rng.choice(CHANNELS), vote=rng.choice(VOTES), source="aer")


def _choices(s: _State, rng: random.Random, pm_offset: int, ats: bool = False, aer: bool = False,
             targets: tuple = (), sriov: bool = False) -> list[Call]:
    c: list[Call] = []
    if sriov and s.driver in ("vfio", "host") and not s.suspended:
        # sysfs sriov_numvfs with a PF driver bound (vfio-pci loaded with enable_sriov=1); the same
        # count again, another count while VFs are on and 0 with none are drawn too
        c += [make_call("pci_enable_sriov", num_vfs=rng.randrange(4)), make_call("pci_disable_sriov")]
    reset = make_call("pci_reset_function", method=rng.choice(RESET_ARGS))
    if aer and not s.suspended:
        # AER recovery (aer_inject) with whatever driver is bound; a runtime-suspended device is
        # left out: pcie_do_recovery's pm_runtime_put would suspend it again after the op
        c.append(_recovery(rng))
    if s.driver == "vfio" and s.open:
        c += [make_call("vfio_config_write", offset=0x04, width="2", value=rng.choice(COMMAND_VALUES)),
              make_call("vfio_device_reset"), make_call("vfio_hot_reset"), make_call("vfio_close"),
              make_call("vfio_set_irqs", index=rng.choice(("none", "intx", "msi", "msix")), count=rng.randrange(3)),
              reset]
        if pm_offset:
            c.append(make_call("vfio_config_write", offset=pm_offset + 4, width="2", value=rng.choice((0x0, 0x3))))
        for _ in range(3 if targets else 0):        # weighted: vfio's tables are what they check
            off, width, values = rng.choice(targets)
            c.append(make_call("vfio_config_write", offset=off, width=width, value=rng.choice(values)))
        # a user's BAR read (write is not validatable): any region, a BAR the device lacks too
        c.append(make_call("vfio_bar_rw", bar=rng.randrange(6), access="read"))
    elif s.driver == "vfio":
        c += [make_call("vfio_open"), make_call("vfio_open"),
              make_call("pci_bind_driver", driver=rng.choice(("host", "none"))), reset,
              make_call("pci_reset_bus")]
    elif s.driver == "host" and s.suspended:
        c += [make_call("pci_pm_runtime_resume")]
    elif s.driver == "host":
        if not s.d3:
            c.append(make_call("pci_pm_runtime_suspend"))
        c += [make_call("pci_save_state"), make_call("pci_restore_state"), reset, make_call("pci_reset_bus"),
              make_call("pci_set_power_state", state="d0" if s.d3 else rng.choice(("d3hot", "d3cold", "d0"))),
              make_call("pci_bind_driver", driver=rng.choice(("vfio", "none")))]
        if ats:
            c.append(make_call("pci_disable_ats") if s.ats else make_call("pci_enable_ats", stu=rng.randrange(4)))
        if s.host_irq == "none":
            c += [make_call("pci_enable_msix", nvec=rng.randrange(4)), make_call("pci_enable_msi")]
        elif s.host_irq == "msix":
            c.append(make_call("pci_disable_msix"))
        else:
            c.append(make_call("pci_disable_msi"))
    else:
        c += [make_call("pci_bind_driver", driver=rng.choice(("vfio", "host"))), reset, make_call("pci_reset_bus")]
    # system sleep, whatever is bound (the upstream port is not compared in it: docs/validation.md
    # row 27), a host driver's runtime-suspended device too (row 28: device_complete's
    # pm_runtime_put suspends it again after the thaw)
    c.append(rng.choice([make_call("pm_system_sleep", transition="s2idle", power="kept"),
                         make_call("pm_system_sleep", transition="hibernate_thaw",
                                   power=rng.choice(("kept", "lost")))]))
    return [x for x in c if not call_validatable(x)]


def _advance(s: _State, call: Call) -> None:
    a = dict(call.args)
    n = call.name
    if n == "vfio_open":
        s.open = True
    elif n == "vfio_close":
        s.open, s.vfio_irq = False, "none"
    elif n == "vfio_set_irqs":
        s.vfio_irq = a["index"]
    elif n == "pci_bind_driver":
        s.driver, s.host_irq, s.d3 = a["driver"], "none", False
    elif n == "pci_enable_msix":
        s.host_irq = "msix"
    elif n == "pci_enable_msi":
        s.host_irq = "msi"
    elif n in ("pci_disable_msix", "pci_disable_msi"):
        s.host_irq = "none"
    elif n == "pci_set_power_state":
        s.d3 = a["state"] != "d0"
    elif n == "pci_enable_ats":
        s.ats = True
    elif n == "pci_disable_ats":
        s.ats = False
    elif n == "pci_pm_runtime_suspend":
        s.suspended = True
    elif n == "pci_pm_runtime_resume":
        s.suspended = False


def random_program(rng: random.Random, length: int, pm_offset: int = 0, ats: bool = False,
                   aer: bool = False, targets: tuple = (), sriov: bool = False) -> list[Call]:
    s = _State()
    calls: list[Call] = []
    for _ in range(length):
        call = rng.choice(_choices(s, rng, pm_offset, ats, aer, targets, sriov))
        calls.append(call)
        _advance(s, call)
    if s.open:
        calls.append(make_call("vfio_close"))
    if s.suspended:
        calls.append(make_call("pci_pm_runtime_resume"))
    return calls
