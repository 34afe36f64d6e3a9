"""The validation kit: QEMU, a Debian Linux 6.12 kernel and its modules, busybox, and the two
guest helpers (fzguest, a static vfio/sysfs client, and fzhost.ko, a test host driver), set up
in a cache directory by one idempotent call.

    setup()      -> Kit   installs what is missing, says what it did (report callback)
    find_kit()   -> Kit   the kit as set up, or KitError saying what is missing

Host tools come from Debian's packages (`apt-get install -y`); the kernel image, headers and
kbuild are downloaded with `apt-get download` and unpacked with `dpkg-deb -x` into the cache,
never installed. The cache is $FUZZCORE_VALIDATE_DIR or ~/.cache/fuzzcore/validate.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

KERNEL_RELEASE = "6.12.118+deb12-amd64"
KERNEL_VERSION = "6.12.118-1~deb12u1"
KERNEL_DEBS = (
    f"linux-image-{KERNEL_RELEASE}-unsigned",
    f"linux-headers-{KERNEL_RELEASE}",
    "linux-headers-6.12.118+deb12-common",
    "linux-kbuild-6.12.118+deb12",
)
# host tool -> the Debian package that has it
HOST_TOOLS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "busybox": "busybox-static",
    "gcc": "gcc",
    "make": "make",
    "cpio": "cpio",
    "modinfo": "kmod",
    "dpkg-deb": "dpkg",
    "apt-get": "apt",
}
HOST_HEADERS = {"/usr/include/linux/vfio.h": "linux-libc-dev", "/usr/lib/x86_64-linux-gnu/libc.a": "libc6-dev"}
GUEST_MODULES = (  # load order
    "kernel/virt/lib/irqbypass.ko.xz",
    "kernel/drivers/vfio/vfio.ko.xz",
    "kernel/drivers/vfio/vfio_iommu_type1.ko.xz",
    "kernel/drivers/vfio/pci/vfio-pci-core.ko.xz",
    "kernel/drivers/vfio/pci/vfio-pci.ko.xz",
)
# In the initramfs but not loaded at boot: fzguest's `aerinj` loads aer_inject for one injection
# and unloads it after the recovery, since aer_inject keeps simulating the injected device's and
# root port's AER status registers (its own pci_ops) until it is unloaded. No dependencies
# (modinfo: depends is empty).
ON_DEMAND_MODULES = ("kernel/drivers/pci/pcie/aer_inject.ko.xz",)
# vfio-pci keeps an idle (bound, not open) device in D0: by default 6.12's vfio-pci
# runtime-suspends it to D3hot (vfio_pci_core_register_device: pm_runtime_allow), asynchronously
# (pm_runtime_put queues the idle check), and the guest's own sysfs config reads would resume it;
# the model follows with [vfio] disable_idle_d3 = true (guest-policy.toml, docs/validation.md).
MODULE_PARAMS = {"vfio-pci.ko": "disable_idle_d3=1 enable_sriov=1"}
KIT_FORMAT = 1


class KitError(RuntimeError):
    """The kit cannot be set up or is not there; the message says what to do."""


def kit_dir() -> Path:
    env = os.environ.get("FUZZCORE_VALIDATE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "fuzzcore" / "validate"


def guest_source(name: str) -> bytes:
    return (resources.files("fuzzcore.validate") / "guest" / name).read_bytes()


def _sources_digest() -> str:
    h = hashlib.sha256()
    for name in ("fzguest.c", "fzhost.c", "init.sh"):
        h.update(name.encode() + b"\0" + guest_source(name))
    h.update(repr((KIT_FORMAT, GUEST_MODULES, ON_DEMAND_MODULES, MODULE_PARAMS, KERNEL_VERSION)).encode())
    return h.hexdigest()[:16]


@dataclass
class Kit:
    root: Path

    @property
    def kernel(self) -> Path:
        return self.root / "root" / "boot" / f"vmlinuz-{KERNEL_RELEASE}"

    @property
    def initramfs(self) -> Path:
        return self.root / "initramfs.cpio"

    @property
    def qemu(self) -> str:
        return shutil.which("qemu-system-x86_64") or "qemu-system-x86_64"

    @property
    def stamp(self) -> Path:
        return self.root / "kit.json"

    def info(self) -> dict:
        return json.loads(self.stamp.read_text())


def find_kit() -> Kit:
    """The kit as set up by setup(); KitError when it is missing or out of date."""
    kit = Kit(kit_dir())
    if not kit.stamp.exists():
        raise KitError(f"the validation kit is not set up in {kit.root}: run `fuzzcore validate --setup`")
    info = kit.info()
    if info.get("sources") != _sources_digest():
        raise KitError(f"the validation kit in {kit.root} was built from other guest sources: "
                       "run `fuzzcore validate --setup` again")
    for p in (kit.kernel, kit.initramfs):
        if not p.exists():
            raise KitError(f"{p} is missing: run `fuzzcore validate --setup`")
    if not shutil.which("qemu-system-x86_64"):
        raise KitError("qemu-system-x86_64 is not installed: run `fuzzcore validate --setup`")
    return kit


def kit_ready() -> tuple[bool, str]:
    try:
        find_kit()
    except KitError as e:
        return False, str(e)
    return True, ""


# --- setup ----------------------------------------------------------------------------------------

def _run(cmd: list[str], what: str, cwd: Path | None = None, env: dict | None = None) -> str:
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    except FileNotFoundError as e:
        raise KitError(f"{what}: {e}") from None
    if p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-15:])
        raise KitError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{tail}")
    return p.stdout


class _Apt:
    """apt-get, with one `apt-get update` before the first install or download."""

    def __init__(self, report):
        self.report = report
        self.updated = False

    def update(self) -> None:
        if not self.updated:
            self.report("apt-get update")
            _run(["apt-get", "update", "-q"], "apt-get update")
            self.updated = True

    def install(self, packages: list[str]) -> None:
        self.update()
        self.report(f"apt-get install -y {' '.join(packages)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                 "installing " + ", ".join(packages), env=env)
        except KitError as e:
            raise KitError(f"{e}\nthe validation kit needs the Debian packages {', '.join(packages)}; "
                           "install them by hand or make them reachable") from None

    def download(self, packages: list[str], dest: Path) -> None:
        # apt-get download of an exact version; retry once after an update when the list is old.
        specs = [f"{p}={KERNEL_VERSION}" for p in packages]
        self.report(f"apt-get download {' '.join(specs)}")
        try:
            _run(["apt-get", "download", "-q", *specs], "apt-get download", cwd=dest)
            return
        except KitError as e:
            first = e
        try:
            if not self.updated:
                self.update()
                _run(["apt-get", "download", "-q", *specs], "apt-get download", cwd=dest)
                return
        except KitError as e:
            first = e
        raise KitError(f"{first}\ncannot download the Linux {KERNEL_VERSION} packages "
                       f"({', '.join(packages)}) from Debian") from None


def _host_tools(apt: _Apt, report) -> None:
    missing = sorted({pkg for tool, pkg in HOST_TOOLS.items() if not shutil.which(tool)} |
                     {pkg for path, pkg in HOST_HEADERS.items() if not Path(path).exists()})
    # busybox must be the static one: it runs as the guest's /init shell.
    bb = shutil.which("busybox")
    if bb and "busybox-static" not in missing:
        out = subprocess.run(["file", "-L", bb], capture_output=True, text=True).stdout if shutil.which("file") else ""
        if out and "statically linked" not in out:
            missing.append("busybox-static")
    if missing:
        if os.geteuid() != 0:
            raise KitError(f"missing host packages {', '.join(missing)}: install them as root "
                           f"(apt-get install -y {' '.join(missing)})")
        apt.install(missing)
    else:
        report("host tools: present (qemu-system-x86_64, busybox-static, gcc, make, cpio, kmod)")


def _kernel_debs(kit: Kit, apt: _Apt, report) -> None:
    debs = kit.root / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    have = {p.name.split("_")[0] for p in debs.glob("*.deb") if KERNEL_VERSION.replace("~", "%7e") in p.name
            or KERNEL_VERSION in p.name}
    need = [p for p in KERNEL_DEBS if p not in have]
    if need:
        apt.download(need, debs)
    else:
        report(f"kernel packages: already downloaded ({debs})")
    root = kit.root / "root"
    done = root / ".unpacked"
    if done.exists() and kit.kernel.exists():
        report(f"kernel {KERNEL_RELEASE}: already unpacked")
        return
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for deb in sorted(debs.glob("*.deb")):
        if deb.name.split("_")[0] in KERNEL_DEBS:
            report(f"dpkg-deb -x {deb.name}")
            _run(["dpkg-deb", "-x", str(deb), str(root)], f"unpacking {deb.name}")
    if not kit.kernel.exists():
        raise KitError(f"{kit.kernel} missing after unpacking the kernel package")
    done.write_text(KERNEL_VERSION + "\n")


def _localize_headers(headers: Path) -> None:
    """Debian's per-flavour headers Makefile is one line, `include /usr/src/<common>/Makefile`:
    an absolute path to the installed package. The kit unpacks the packages into its cache
    instead, so the include is pointed at the cache's copy (on a machine without the headers
    package installed the build would fail)."""
    makefile = headers / "Makefile"
    text = makefile.read_text()
    prefix = "include /usr/src/"
    if text.startswith(prefix):
        makefile.write_text(f"include {headers.parent}/{text[len(prefix):]}")


def _build_helpers(kit: Kit, report) -> tuple[Path, Path]:
    build = kit.root / "build"
    if build.exists():
        shutil.rmtree(build)
    (build / "fzhost").mkdir(parents=True)
    (build / "fzhost" / "fzhost.c").write_bytes(guest_source("fzhost.c"))
    (build / "fzhost" / "Kbuild").write_text("obj-m := fzhost.o\n")
    headers = kit.root / "root" / "usr" / "src" / f"linux-headers-{KERNEL_RELEASE}"
    _localize_headers(headers)
    report(f"building fzhost.ko against {headers.name}")
    # No BTF for the module: it needs pahole (dwarves), and the guest loads the module without it.
    _run(["make", "-C", str(headers), f"M={build / 'fzhost'}", "CONFIG_DEBUG_INFO_BTF_MODULES=", "modules"],
         "building fzhost.ko")
    (build / "fzguest.c").write_bytes(guest_source("fzguest.c"))
    report("building fzguest (gcc -static)")
    _run(["gcc", "-static", "-O2", "-Wall", "-o", str(build / "fzguest"), str(build / "fzguest.c")],
         "building fzguest")
    return build / "fzhost" / "fzhost.ko", build / "fzguest"


# --- initramfs (cpio newc, written here) ---------------------------------------------------------

class Cpio:
    """A cpio 'newc' archive, the format the kernel unpacks as an initramfs."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes) -> None:
        nameb = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nameb), 0))
        self.ino += 1
        blob = hdr.encode() + nameb
        blob += b"\0" * (-len(blob) % 4)
        blob += data + b"\0" * (-len(data) % 4)
        self.parts.append(blob)

    def dir(self, name: str) -> None:
        self._entry(name, 0o040755, b"")

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, 0o120777, target.encode())

    def bytes(self) -> bytes:
        self._entry("TRAILER!!!", 0, b"")
        out = b"".join(self.parts)
        self.parts.pop()
        return out + b"\0" * (-len(out) % 512)


def _initramfs(kit: Kit, fzhost: Path, fzguest: Path, report) -> None:
    mods = kit.root / "root" / "lib" / "modules" / KERNEL_RELEASE
    c = Cpio()
    for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "lib", "lib/fz", "fz"):
        c.dir(d)
    c.file("bin/busybox", Path(shutil.which("busybox")).read_bytes(), 0o755)
    c.file("init", guest_source("init.sh"), 0o755)
    c.file("bin/fzguest", fzguest.read_bytes(), 0o755)
    order = []
    for rel in GUEST_MODULES:
        src = mods / rel
        if not src.exists():
            raise KitError(f"kernel module {src} not in the kernel package")
        name = Path(rel).name[: -len(".xz")]
        c.file(f"lib/fz/{name}", lzma.decompress(src.read_bytes()))
        order.append(f"{name} {MODULE_PARAMS[name]}".strip() if name in MODULE_PARAMS else name)
    for rel in ON_DEMAND_MODULES:
        src = mods / rel
        if not src.exists():
            raise KitError(f"kernel module {src} not in the kernel package")
        c.file(f"lib/fz/{Path(rel).name[: -len('.xz')]}", lzma.decompress(src.read_bytes()))
    c.file("lib/fz/fzhost.ko", fzhost.read_bytes())
    order.append("fzhost.ko")
    c.file("lib/fz/order", ("\n".join(order) + "\n").encode())
    tmp = kit.initramfs.with_suffix(".tmp")
    tmp.write_bytes(c.bytes())
    tmp.replace(kit.initramfs)
    report(f"initramfs: {kit.initramfs} ({kit.initramfs.stat().st_size // 1024} KiB: busybox, "
           f"{len(order)} modules and {len(ON_DEMAND_MODULES)} on demand, fzguest)")


def setup(report: Callable[[str], None] = print, force: bool = False) -> Kit:
    """Set up the kit; every step that is already done is skipped (and said so)."""
    kit = Kit(kit_dir())
    kit.root.mkdir(parents=True, exist_ok=True)
    apt = _Apt(report)
    t0 = time.monotonic()
    _host_tools(apt, report)
    _kernel_debs(kit, apt, report)
    digest = _sources_digest()
    if not force and kit.stamp.exists() and kit.initramfs.exists() and kit.info().get("sources") == digest:
        report(f"guest helpers and initramfs: up to date ({kit.root})")
    else:
        fzhost, fzguest = _build_helpers(kit, report)
        _initramfs(kit, fzhost, fzguest, report)
        kit.stamp.write_text(json.dumps({
            "format": KIT_FORMAT, "kernel": KERNEL_VERSION, "release": KERNEL_RELEASE,
            "sources": digest, "qemu": _qemu_version(),
        }, indent=1) + "\n")
    report(f"kit ready in {kit.root} ({time.monotonic() - t0:.1f} s)")
    return kit


def _qemu_version() -> str:
    try:
        out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return ""
    return out.splitlines()[0] if out else ""
