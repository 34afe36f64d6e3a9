"""Booting the guest and running a batch of programs in it.

One boot runs several programs on one device. Before each program the device is brought to a known
state: the vfio client lets go, the device is unbound and removed, its port does a
secondary bus reset (QEMU resets the emulated device), and a rescan enumerates it again and binds
vfio-pci, as at boot. Every program starts with a dump of the device's and the port's config
space; the model starts from those bytes (fuzzcore/validate/compare.py).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .actors import SYSPCI, guest_commands
from .guestlog import GuestProgram, GuestWrite, parse_console, parse_trace
from .kit import KERNEL_RELEASE, Cpio, Kit


@dataclass(frozen=True)
class GuestDevice:
    name: str
    bdf: str
    port_bdf: str
    port_kind: str
    pm: int = 0                    # PM capability offset (vfio PMCSR writes in random programs)
    note: str = ""
    ats: bool = False              # has ATS (pci_enable_ats in random programs)
    aer: bool = False              # has AER: aer_inject can inject errors from it (pcie_do_recovery)


# The topology every boot has (QEMU_DEVICES): e1000e behind a switch, nvme and a modern virtio-rng
# (AER, ATS) behind root ports. virtio-rng's aer=on gives a second device aer_inject can inject
# from, and the one whose port is the root port aer_root_reset masks (nvme has no AER).
DEVICES: dict[str, GuestDevice] = {
    "e1000e": GuestDevice("e1000e", "0000:03:00.0", "0000:02:00.0", "xio3130-downstream", 0xC8,
                          "behind a switch: pcie-root-port -> x3130-upstream -> xio3130-downstream", aer=True),
    "nvme": GuestDevice("nvme", "0000:04:00.0", "0000:00:03.0", "pcie-root-port", 0x60,
                        "behind a root port"),
    "virtio-rng": GuestDevice("virtio-rng", "0000:05:00.0", "0000:00:04.0", "pcie-root-port", 0x7C,
                              "behind a root port; modern-only virtio with AER and ATS", ats=True, aer=True),
}
QEMU_DEVICES = [
    "-device", "intel-iommu,intremap=on,caching-mode=on",
    # hotplug=off: with a hot-plug slot, 6.12's pciehp finds the slot "not present" at boot
    # (QEMU 7.2 cold-plugged devices) and marks everything below it disconnected.
    "-device", "pcie-root-port,id=rp1,bus=pcie.0,addr=0x2,chassis=1,slot=1,hotplug=off",
    "-device", "x3130-upstream,id=up1,bus=rp1",
    "-device", "xio3130-downstream,id=dn1,bus=up1,chassis=2,slot=0,hotplug=off",
    "-device", "e1000e,bus=dn1,id=nic1",
    "-device", "pcie-root-port,id=rp2,bus=pcie.0,addr=0x3,chassis=3,slot=2,hotplug=off",
    "-device", "nvme,serial=fz1,bus=rp2,id=nvme1",
    "-device", "pcie-root-port,id=rp3,bus=pcie.0,addr=0x4,chassis=4,slot=3,hotplug=off",
    "-device", "virtio-rng-pci,bus=rp3,id=rng1,disable-legacy=on,disable-modern=off,ats=on,aer=on",
]
# initcall_blacklist: virtio-pci is built into Debian's kernel and would claim the virtio-rng
# before vfio-pci (the model starts vfio-bound).
# no_timer_check: on a loaded host TCG can be too slow for check_timer's timer_irq_works, and the
# kernel panics at boot ("timer doesn't work through Interrupt-remapped IO-APIC").
KERNEL_CMDLINE = ("console=ttyS0 intel_iommu=on pcie_ports=native panic=-1 loglevel=1 "
                  "initcall_blacklist=virtio_pci_driver_init no_timer_check")
TRACE_LIMIT = 400 << 20    # bytes of QEMU trace one boot may write before it is stopped
TRACE_EVENTS = ("pci_cfg_write", "pci_cfg_read", "memory_region_ops_write")


@dataclass
class BatchResult:
    device: GuestDevice
    programs: list[GuestProgram]
    writes: list[list[list[GuestWrite]]]       # per program, per op
    seconds: float
    console: str
    workdir: Path
    problems: list[str] = field(default_factory=list)


def recycle_commands(dev: GuestDevice) -> list[str]:
    """Back to a known state before each program (see the module docstring)."""
    bdf = dev.bdf
    return [
        "vfio_close",
        f"sysfs {SYSPCI}/{bdf}/driver/unbind {bdf}",
        f"cfgor {bdf} 0x4 0x400",        # INTx Disable: no interrupt from a device nobody owns
        f"sysfs {SYSPCI}/{bdf}/remove 1",
        "sbr",
        "sysfs /sys/bus/pci/rescan 1",
        f"sysfs {SYSPCI}/{bdf}/driver/unbind {bdf}",   # whatever driver the rescan bound
        f"sysfs {SYSPCI}/{bdf}/driver_override vfio-pci",
        f"sysfs /sys/bus/pci/drivers_probe {bdf}",
    ]


def guest_script(dev: GuestDevice, programs: list[tuple[str, list]], why: bool = False) -> str:
    lines = [f"dev {dev.bdf}", f"port {dev.port_bdf}"] + (["kftrace on"] if why else [])
    for name, calls in programs:
        # Every program, the first too, starts from the device as Linux enumerates it after a
        # reset: not from what the firmware left (SeaBIOS sets Bus Master on the nvme it boots from).
        lines += recycle_commands(dev)
        # The port is left as the kernel has it: the first pci_enable_device below a port that is
        # not bus master sets it (pci_enable_bridge), and it stays so for the rest of the boot;
        # the model reads the port's Bus Master from the program's first dump.
        lines += [f"begin {name}", "dump"]
        for i, call in enumerate(calls):
            lines.append(f"op {i}")
            lines += guest_commands(call, dev.bdf, dev.aer)
            lines += ["end", "dump"]
    lines.append("vfio_close")
    return "\n".join(lines) + "\n"


def qemu_command(kit: Kit, initrd: Path, workdir: Path) -> list[str]:
    cmd = [kit.qemu, "-accel", "tcg", "-M", "q35,kernel-irqchip=split", "-m", "512", "-smp", "1",
           "-display", "none", "-no-reboot", "-nic", "none", "-vga", "none",
           "-kernel", str(kit.kernel), "-initrd", str(initrd), "-append", KERNEL_CMDLINE,
           *QEMU_DEVICES,
           "-serial", f"file:{workdir / 'console.log'}", "-monitor", "none",
           "-D", str(workdir / "trace.log")]
    for ev in TRACE_EVENTS:
        cmd += ["-trace", ev]
    return cmd


def run_batch(kit: Kit, device: str, programs: list[tuple[str, list]], workdir: Path,
              timeout: float | None = None, why: bool = False) -> BatchResult:
    """Boot once, run `programs` (name, calls) on `device`, parse what the guest left."""
    dev = DEVICES[device]
    workdir.mkdir(parents=True, exist_ok=True)
    script = guest_script(dev, programs, why)
    (workdir / "script").write_text(script)
    extra = Cpio()
    extra.dir("fz")
    extra.file("fz/devices", " ".join(d.bdf for d in DEVICES.values()).encode() + b"\n")
    extra.file("fz/script", script.encode())
    initrd = workdir / "initrd.cpio"
    initrd.write_bytes(kit.initramfs.read_bytes() + extra.bytes())
    for f in ("console.log", "trace.log"):
        (workdir / f).unlink(missing_ok=True)
    nops = sum(len(c) for _, c in programs)
    timeout = timeout or 40 + 4 * len(programs) + 1 * nops
    t0 = time.monotonic()
    problems = []
    trace = workdir / "trace.log"
    proc = subprocess.Popen(qemu_command(kit, initrd, workdir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        while proc.poll() is None:
            if time.monotonic() - t0 > timeout:
                problems.append(f"the guest did not finish within {timeout:.0f} s (see {workdir / 'console.log'})")
                break
            if trace.exists() and trace.stat().st_size > TRACE_LIMIT:
                problems.append(f"QEMU's trace passed {TRACE_LIMIT >> 20} MiB (an interrupt storm in the "
                                f"guest?); stopped (see {workdir / 'console.log'})")
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate()
    if proc.returncode and not problems:
        problems.append(f"qemu exited {proc.returncode}: {err.strip()[-500:]}")
    seconds = time.monotonic() - t0
    console = (workdir / "console.log").read_text(errors="replace") if (workdir / "console.log").exists() else ""
    if "FZEXIT" not in console and not problems:
        problems.append("the guest did not reach the end of its script")
    if "FZERR" in console:
        problems += [ln.strip() for ln in console.splitlines() if ln.startswith("FZERR")]
    progs = parse_console(console)
    writes = parse_trace(workdir / "trace.log", dev.bdf[5:], dev.port_bdf[5:]) if (workdir / "trace.log").exists() else []
    return BatchResult(dev, progs, writes, seconds, console, workdir, problems)


__all__ = ["DEVICES", "GuestDevice", "BatchResult", "run_batch", "guest_script", "KERNEL_RELEASE"]
