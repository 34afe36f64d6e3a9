"""Booting the guest and running a batch of programs in it.

One boot runs several programs on one device. Before each program the device is brought to a known
state: the vfio client lets go, the device is unbound and removed, its port does a
secondary bus reset (QEMU resets the emulated device), and a rescan enumerates it again and binds
vfio-pci, as at boot. Every program starts with a dump of the device's and the port's config
space; the model starts from those bytes (fuzzcore/validate/compare.py).

A boot whose programs have a pm_system_sleep also has a QMP socket: the host reads the console as
it grows and, once the guest idles in suspend-to-idle, wakes it with a key press (SleepWaker).
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
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
    sriov: bool = False            # an SR-IOV PF (pci_enable_sriov / pci_disable_sriov in random programs)


# The topology every boot has (QEMU_DEVICES): e1000e behind a switch, nvme, a modern virtio-rng
# (AER, ATS) and an SR-IOV nvme behind root ports. virtio-rng's aer=on gives a second device
# aer_inject can inject from, and the one whose port is the root port aer_root_reset masks (nvme
# has no AER).
DEVICES: dict[str, GuestDevice] = {
    "e1000e": GuestDevice("e1000e", "0000:03:00.0", "0000:02:00.0", "xio3130-downstream", 0xC8,
                          "behind a switch: pcie-root-port -> x3130-upstream -> xio3130-downstream", aer=True),
    "nvme": GuestDevice("nvme", "0000:04:00.0", "0000:00:03.0", "pcie-root-port", 0x60,
                        "behind a root port"),
    "virtio-rng": GuestDevice("virtio-rng", "0000:05:00.0", "0000:00:04.0", "pcie-root-port", 0x7C,
                              "behind a root port; modern-only virtio with AER and ATS", ats=True, aer=True),
    # QEMU 7.2's nvme with sriov_max_vfs needs an nvme-subsys and flexible queue and interrupt
    # resources (nvme_check_params, hw/nvme/ctrl.c); ARI at 0x100, SR-IOV at 0x120.
    "nvme-sriov": GuestDevice("nvme-sriov", "0000:06:00.0", "0000:00:05.0", "pcie-root-port", 0x60,
                              "behind a root port; an SR-IOV PF (4 VFs, one 64-bit VF BAR)", sriov=True),
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
    "-device", "pcie-root-port,id=rp4,bus=pcie.0,addr=0x5,chassis=5,slot=4,hotplug=off",
    "-device", "nvme-subsys,id=nvsub1,nqn=fzsriov",
    "-device", "nvme,serial=fz2,bus=rp4,id=nvme2,subsys=nvsub1,sriov_max_vfs=4,sriov_vq_flexible=8,"
               "sriov_vi_flexible=4",
]
# initcall_blacklist: virtio-pci is built into Debian's kernel and would claim the virtio-rng
# before vfio-pci (the model starts vfio-bound).
# no_timer_check: on a loaded host TCG can be too slow for check_timer's timer_irq_works, and the
# kernel panics at boot ("timer doesn't work through Interrupt-remapped IO-APIC").
# no_console_suspend: the console stays on through a system sleep, so the host sees the PM core's
# "PM: suspend-to-idle" (fzguest pmsleep) and knows when to wake the guest (SleepWaker).
KERNEL_CMDLINE = ("console=ttyS0 intel_iommu=on pcie_ports=native panic=-1 loglevel=1 "
                  "initcall_blacklist=virtio_pci_driver_init no_timer_check no_console_suspend")
TRACE_LIMIT = 400 << 20    # bytes of QEMU trace one boot may write before it is stopped
TRACE_EVENTS = ("pci_cfg_write", "pci_cfg_read", "memory_region_ops_write")


# What the PM core prints (pm_debug_messages, fzguest pmsleep) once every device is suspended and
# the CPU idles in s2idle_loop (kernel/power/suspend.c), and once the loop has ended.
S2IDLE_ENTERED = "PM: suspend-to-idle"
S2IDLE_LEFT = "PM: resume from suspend-to-idle"
WAKE_RETRY = 5.0           # seconds without the wake-up's message before another key press
SLEEP_SECONDS = 8          # a pm_system_sleep op's share of the boot's timeout


class Qmp:
    """A minimal QMP client on QEMU's -qmp unix socket: one command at a time, events skipped."""

    def __init__(self, path: Path, timeout: float = 10.0):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.f = self.sock.makefile("rw")
        json.loads(self.f.readline())                 # the greeting
        self.execute("qmp_capabilities")

    def execute(self, command: str, **arguments) -> dict:
        msg = {"execute": command} | ({"arguments": arguments} if arguments else {})
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            reply = json.loads(self.f.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"QMP {command}: {reply['error'].get('desc')}")

    def close(self) -> None:
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass


class SleepWaker:
    """The host's half of fzguest's `pmsleep s2idle`: once the guest's console says it idles in
    suspend-to-idle, a key press through QMP (send-key) wakes it (the keyboard is its wakeup
    source: init.sh); if the wake-up's message does not follow within WAKE_RETRY seconds, another
    key press. The console is read as it grows."""

    def __init__(self, console: Path, qmp_path: Path):
        self.console, self.qmp_path = console, qmp_path
        self.offset, self.tail = 0, ""
        self.entered = self.left = self.woken = 0
        self.last_press = 0.0
        self.presses = 0
        self.qmp: Qmp | None = None

    def poll(self) -> None:
        if not self.console.exists():
            return
        with open(self.console, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        if data:
            self.offset += len(data)
            text = self.tail + data.decode(errors="replace")
            lines = text.split("\n")
            self.tail = lines.pop()                   # an unfinished line: read again with the rest
            for line in lines:
                if S2IDLE_LEFT in line:
                    self.left += 1
                elif S2IDLE_ENTERED in line:
                    self.entered += 1
        if self.entered > self.left and (self.woken < self.entered
                                         or time.monotonic() - self.last_press > WAKE_RETRY):
            self.press()
            self.woken = self.entered

    def press(self) -> None:
        if self.qmp is None:
            self.qmp = Qmp(self.qmp_path)
        self.qmp.execute("send-key", keys=[{"type": "qcode", "data": "shift"}])
        self.last_press = time.monotonic()
        self.presses += 1

    def close(self) -> None:
        if self.qmp is not None:
            self.qmp.close()


def qmp_socket(workdir: Path) -> Path:
    """Where QEMU's QMP socket goes: in the workdir, or a short temporary directory when that path
    is too long for a unix socket (108 bytes)."""
    path = workdir / "qmp.sock"
    if len(str(path)) > 100:
        path = Path(tempfile.mkdtemp(prefix="fzqmp-")) / "qmp.sock"
    return path


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


def qemu_command(kit: Kit, initrd: Path, workdir: Path, qmp: Path | None = None) -> list[str]:
    cmd = [kit.qemu, "-accel", "tcg", "-M", "q35,kernel-irqchip=split", "-m", "512", "-smp", "1",
           "-display", "none", "-no-reboot", "-nic", "none", "-vga", "none",
           "-kernel", str(kit.kernel), "-initrd", str(initrd), "-append", KERNEL_CMDLINE,
           *QEMU_DEVICES,
           "-serial", f"file:{workdir / 'console.log'}", "-monitor", "none",
           "-D", str(workdir / "trace.log")]
    if qmp is not None:                        # the host wakes a sleeping guest (SleepWaker)
        cmd += ["-qmp", f"unix:{qmp},server=on,wait=off"]
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
    sleeps = sum(c.name == "pm_system_sleep" for _, calls in programs for c in calls)
    timeout = timeout or 40 + 4 * len(programs) + 1 * nops + SLEEP_SECONDS * sleeps
    t0 = time.monotonic()
    problems = []
    trace = workdir / "trace.log"
    qmp = qmp_socket(workdir) if sleeps else None
    if qmp is not None:
        qmp.unlink(missing_ok=True)
    waker = SleepWaker(workdir / "console.log", qmp) if qmp is not None else None
    proc = subprocess.Popen(qemu_command(kit, initrd, workdir, qmp), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        while proc.poll() is None:
            if waker is not None:
                try:
                    waker.poll()
                except (OSError, RuntimeError, ValueError) as e:
                    problems.append(f"waking the guest through QMP: {e}")
                    break
            if time.monotonic() - t0 > timeout:
                problems.append(f"the guest did not finish within {timeout:.0f} s (see {workdir / 'console.log'})")
                break
            if trace.exists() and trace.stat().st_size > TRACE_LIMIT:
                problems.append(f"QEMU's trace passed {TRACE_LIMIT >> 20} MiB (an interrupt storm in the "
                                f"guest?); stopped (see {workdir / 'console.log'})")
                break
            time.sleep(0.2)
    finally:
        if waker is not None:
            waker.close()
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
