"""fuzzcore validate without a guest: the actors table, the guest log parsers, the comparison,
the initramfs writer, the linux-6.12 policy, and the command's bad-input errors.
(tests/test_validate_guest.py boots the real kernel.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from fuzzcore.cli import main
from fuzzcore.device.builtin import resolve_device
from fuzzcore.policy import load_policy
from fuzzcore.program.codec import Call
from fuzzcore.program.fzs import load_fzs
from fuzzcore.program.op_table import OPS
from fuzzcore.validate.actors import (
    VALIDATION, NotValidatable, call_validatable, device_validatable, guest_commands,
)
from fuzzcore.validate.compare import (
    ProgramComparison, aer_inject_hidden, apply_qemu_quirks, compare_program, format_divergence,
    gap_for, RC_COMPARED, rc_outcome, recovery_outcome, run_model,
)
from fuzzcore.validate.guestlog import (
    GuestOp, GuestProgram, GuestWrite, kernel_functions, parse_console, parse_trace,
)
from fuzzcore.validate.guestrun import DEVICES, guest_script
from fuzzcore.validate.kit import Cpio
from fuzzcore.validate.programs import random_program

REPO = Path(__file__).resolve().parents[1]

POLICY = "linux-7.1+linux-6.12"
PROFILES = Path(__file__).resolve().parents[1] / "corpora" / "validation" / "profiles"


# --- the actors table ----------------------------------------------------------------------------

def test_every_op_has_a_row_and_at_least_twelve_are_validatable():
    assert set(VALIDATION) == {op.name for op in OPS}
    ok = [n for n, v in VALIDATION.items() if v.validatable]
    assert len(ok) >= 12
    for name, row in VALIDATION.items():
        assert row.how, f"{name}: says neither how nor why not"


def test_guest_commands_per_actor():
    bdf = "0000:03:00.0"
    assert guest_commands(Call.of("pci_reset_function", method="auto"), bdf) == [f"reset {bdf} default"]
    assert guest_commands(Call.of("pci_enable_msix", nvec=2), bdf) == [f"proc msix {bdf} 3"]
    assert guest_commands(Call.of("vfio_set_irqs", index="msix", count=1), bdf) == ["vfio_irqs msix 2"]
    assert guest_commands(Call.of("vfio_set_irqs", index="msi", count=5), bdf) == ["vfio_irqs msi 6"]
    assert guest_commands(Call.of("vfio_config_write", offset=0x04, width="2", value=6), bdf) == \
        ["vfio_cfgw 0x4 2 0x6"]
    assert guest_commands(Call.of("pci_bind_driver", driver="host"), bdf) == [f"bind {bdf} host"]
    assert guest_commands(Call.of("pci_enable_ats", stu=2), bdf) == [f"proc ats {bdf} 2"]
    assert guest_commands(Call.of("pci_pm_runtime_suspend"), bdf) == [
        f"sysfs /sys/bus/pci/devices/{bdf}/power/control auto", f"waitrt {bdf} suspended"]


def test_not_validatable_says_why():
    dpc = Call.of("pcie_do_recovery", channel="frozen", vote="need_reset", source="dpc")
    assert "QEMU" in call_validatable(dpc)
    with pytest.raises(NotValidatable, match="dpc"):
        guest_commands(dpc, "0000:03:00.0")
    # D3cold is validatable: without platform power control (no-platform-d3cold) it ends in D3hot
    assert call_validatable(Call.of("pci_set_power_state", state="d3cold")) == ""
    with pytest.raises(NotValidatable, match="hw_link_down"):
        guest_commands(Call.of("hw_link_down"), "0000:03:00.0")


def test_recovery_sets_the_vote_then_injects_the_channel_s_severity():
    bdf = "0000:03:00.0"
    call = Call.of("pcie_do_recovery", channel="frozen", vote="no_aer_driver", source="aer")
    assert guest_commands(call, bdf) == [f"proc vote {bdf} no_aer_driver", f"aerinj {bdf} frozen"]
    assert VALIDATION["pcie_do_recovery"].validatable


def test_recovery_from_dpc_or_from_a_device_without_aer_is_not_validatable():
    dpc = Call.of("pcie_do_recovery", channel="normal", vote="can_recover", source="dpc")
    assert "DPC" in call_validatable(dpc)
    aer = Call.of("pcie_do_recovery", channel="normal", vote="can_recover", source="aer")
    assert not call_validatable(aer) and "no AER capability" in device_validatable(aer, has_aer=False)
    with pytest.raises(NotValidatable, match="no AER"):
        guest_commands(aer, "0000:04:00.0", has_aer=False)
    assert [d for d, dev in DEVICES.items() if dev.aer] == ["e1000e", "virtio-rng"]


def test_vfio_bar_read_is_the_vfio_client_s_pread_and_write_is_refused():
    bdf = "0000:03:00.0"
    row = VALIDATION["vfio_bar_rw"]
    assert row.validatable and row.actor == "vfio client" and "last dword" in row.how
    assert guest_commands(Call.of("vfio_bar_rw", bar=0, access="read"), bdf) == ["vfio_bar 0"]
    assert guest_commands(Call.of("vfio_bar_rw", bar=5, access="read"), bdf) == ["vfio_bar 5"]
    write = Call.of("vfio_bar_rw", bar=0, access="write")
    assert "access=write" in call_validatable(write) and "side effects" in call_validatable(write)
    assert not call_validatable(Call.of("vfio_bar_rw", bar=3, access="read"))
    with pytest.raises(NotValidatable, match="vfio_bar_rw: not validatable: access=write"):
        guest_commands(write, bdf)
    assert "vfio_bar_rw" in RC_COMPARED


def test_system_sleep_s2idle_and_hibernate_thaw_are_pmsleep_and_the_rest_say_why():
    bdf = "0000:03:00.0"
    sleep = lambda t, p: Call.of("pm_system_sleep", transition=t, power=p)
    row = VALIDATION["pm_system_sleep"]
    assert row.validatable and "QMP" in row.actor and "suspend-to-idle" in row.how
    assert guest_commands(sleep("s2idle", "kept"), bdf) == ["pmsleep s2idle"]
    # hibernation's freeze/thaw never loses power, whatever the argument (the model ignores it too)
    for p in ("kept", "lost"):
        assert guest_commands(sleep("hibernate_thaw", p), bdf) == ["pmsleep hibernate_thaw"]
    assert call_validatable(sleep("s2idle", "lost")).startswith("power=lost: suspend-to-idle removes no power")
    assert "machine reset" in call_validatable(sleep("deep", "kept"))
    assert call_validatable(sleep("deep", "lost")).startswith("deep: ")
    for p in ("kept", "lost"):
        assert "swap" in call_validatable(sleep("hibernate_restore", p))
    with pytest.raises(NotValidatable, match="pm_system_sleep: not validatable: power=lost"):
        guest_commands(sleep("s2idle", "lost"), bdf)


def test_random_programs_draw_system_sleep_and_the_row_28_thaw():
    """Random programs draw the validatable sleeps (s2idle with power kept, hibernate_thaw), and
    hibernate_thaw of a host driver's runtime-suspended device too: device_complete's
    pm_runtime_put suspends it again, as the model now does (row 28 of docs/validation.md)."""
    import random
    seen, row28 = set(), 0
    for seed in range(400):
        prog = random_program(random.Random(seed), 8, pm_offset=0xC8, ats=True, aer=True)
        driver, suspended = "vfio", False
        for c in prog:
            a = dict(c.args)
            if c.name == "pm_system_sleep":
                assert not call_validatable(c)
                seen.add((a["transition"], a["power"]))
                row28 += a["transition"] == "hibernate_thaw" and driver == "host" and suspended
            elif c.name == "pci_bind_driver":
                driver = a["driver"]
            elif c.name in ("pci_pm_runtime_suspend", "pci_pm_runtime_resume"):
                suspended = c.name == "pci_pm_runtime_suspend"
    assert seen == {("s2idle", "kept"), ("hibernate_thaw", "kept"), ("hibernate_thaw", "lost")}
    assert row28


def test_the_host_wakes_each_suspend_to_idle_once_and_again_if_it_sleeps_on(tmp_path, monkeypatch):
    """SleepWaker reads the console as it grows: one key press per "PM: suspend-to-idle", another
    after WAKE_RETRY seconds without the wake-up's message, none once the guest has resumed."""
    from fuzzcore.validate import guestrun
    console = tmp_path / "console.log"
    waker = guestrun.SleepWaker(console, tmp_path / "qmp.sock")
    presses = []
    monkeypatch.setattr(waker, "press", lambda: presses.append(1) or setattr(waker, "last_press", now[0]))
    now = [100.0]
    monkeypatch.setattr(guestrun.time, "monotonic", lambda: now[0])
    waker.poll()                                              # no console yet
    console.write_text("FZREADY\nFZSLEEP s2idle\n[    3.1] PM: suspend entry (s2idle)\n[    3.2] PM: susp")
    waker.poll()
    assert presses == []                                      # half a line: not yet
    with open(console, "a") as f:
        f.write("end-to-idle\n")
    waker.poll()
    waker.poll()
    assert len(presses) == 1
    now[0] += guestrun.WAKE_RETRY + 1
    waker.poll()
    assert len(presses) == 2                                  # still asleep: pressed again
    with open(console, "a") as f:
        f.write("[    4.4] PM: resume from suspend-to-idle\nRC 0\n")
    now[0] += guestrun.WAKE_RETRY + 1
    waker.poll()
    assert len(presses) == 2 and (waker.entered, waker.left) == (1, 1)


def test_qmp_socket_path_fits_a_unix_socket(tmp_path):
    from fuzzcore.validate.guestrun import qmp_socket
    assert qmp_socket(tmp_path) == tmp_path / "qmp.sock"
    deep = tmp_path / ("d" * 120)
    assert len(str(qmp_socket(deep))) <= 100


def test_script_brackets_every_op_with_markers_and_dumps():
    calls = [Call.of("vfio_open"), Call.of("vfio_close")]
    script = guest_script(DEVICES["e1000e"], [("a", calls), ("b", calls)]).splitlines()
    assert script.count("begin a") == 1 and script.count("begin b") == 1
    assert [ln for ln in script if ln.startswith("op ")] == ["op 0", "op 1", "op 0", "op 1"]
    assert script.count("end") == 4
    # the second program starts after the device was brought back (remove, SBR, rescan)
    b = script.index("begin b")
    assert "sbr" in script[:b] and "sysfs /sys/bus/pci/rescan 1" in script[:b]


def test_random_programs_are_validatable_and_deterministic():
    import random
    a = [random_program(random.Random(7), 8, 0xC8, ats=True) for _ in range(3)]
    b = [random_program(random.Random(7), 8, 0xC8, ats=True) for _ in range(3)]
    assert a == b
    for prog in a:
        assert all(not call_validatable(c) for c in prog)
    # a runtime-suspended device is resumed before the program ends; vfio is closed
    many = [random_program(random.Random(s), 8, 0x7C, ats=True) for s in range(60)]
    for prog in many:
        names = [c.name for c in prog]
        assert names.count("pci_pm_runtime_suspend") == names.count("pci_pm_runtime_resume")
        assert names.count("vfio_open") == names.count("vfio_close")


def test_random_programs_read_bars_only_while_vfio_has_the_device_open():
    import random
    progs = [random_program(random.Random(s), 8, 0xC8) for s in range(40)]
    bars = set()
    for prog in progs:
        is_open = False
        for c in prog:
            if c.name == "vfio_bar_rw":
                a = dict(c.args)
                assert is_open and a["access"] == "read"
                bars.add(a["bar"])
            elif c.name in ("vfio_open", "vfio_close"):
                is_open = c.name == "vfio_open"
    assert bars == set(range(6))


def test_random_programs_draw_recovery_only_on_a_device_with_aer():
    import random
    with_aer = [c for s in range(40) for c in random_program(random.Random(s), 8, 0xC8, aer=True)]
    without = [c for s in range(40) for c in random_program(random.Random(s), 8, 0xC8, aer=False)]
    rec = [dict(c.args) for c in with_aer if c.name == "pcie_do_recovery"]
    assert rec and all(a["source"] == "aer" for a in rec)
    assert {a["channel"] for a in rec} == {"normal", "frozen"} and len({a["vote"] for a in rec}) == 4
    assert not [c for c in without if c.name == "pcie_do_recovery"]


# --- parsing what the guest left -----------------------------------------------------------------

TRACE = """\
pci_cfg_read mch 00:00.0 @0xf8 -> 0x0
memory_region_ops_write cpu 0 mr 0x1 addr 0xcf8 value 0x800300cc size 4 name 'pci-conf-idx'
memory_region_ops_write cpu 0 mr 0x2 addr 0x0 value 0x0 size 2 name 'pci-conf-data'
pci_cfg_write e1000e 03:00.0 @0xcc <- 0x0
pci_cfg_read mch 00:00.0 @0xfc -> 0x0
memory_region_ops_write cpu 0 mr 0x2 addr 0x0 value 0x400 size 2 name 'pci-conf-data'
pci_cfg_write e1000e 03:00.0 @0x4 <- 0x400
memory_region_ops_write cpu 0 mr 0x3 addr 0x2003e value 0x42 size 2 name 'pcie-mmcfg-mmio'
pci_cfg_write xio3130-downstream 02:00.0 @0x3e <- 0x42
memory_region_ops_write cpu 0 mr 0x2 addr 0x0 value 0x1 size 4 name 'pci-conf-data'
pci_cfg_write nvme 04:00.0 @0x4 <- 0x1
pci_cfg_read mch 00:00.0 @0xf4 -> 0x0
memory_region_ops_write cpu 0 mr 0x2 addr 0x0 value 0x7 size 2 name 'pci-conf-data'
pci_cfg_write e1000e 03:00.0 @0x4 <- 0x7
pci_cfg_read mch 00:00.0 @0xfc -> 0x0
pci_cfg_read mch 00:00.0 @0xf4 -> 0x0
"""


def test_trace_is_cut_by_markers_and_widths_come_from_the_access(tmp_path):
    p = tmp_path / "trace.log"
    p.write_text(TRACE)
    progs = parse_trace(p, "03:00.0", "02:00.0")
    assert len(progs) == 1 and len(progs[0]) == 2
    op0, op1 = progs[0]
    # before the first op marker: not in any op; other devices: ignored; after END: ignored
    assert op0 == [GuestWrite("dev", 0x4, 2, 0x400), GuestWrite("port", 0x3E, 2, 0x42)]
    assert op1 == []


def test_console_lines_make_programs_ops_rcs_and_images():
    text = "\n".join([
        "[    1.0] some kernel line", "BEGIN p1", "RES fe440000 fe45ffff 40200", "IMG dev 000 10d38086",
        "IMG port 004 00100107", "RC 0", "OP 0", "RC 0", "RC -16", "END", "RC 0", "IMG dev 004 00100400",
        "RC 0", "OP 1", "RC 0", "RC 0", "END", "RC 0", "RC 0", "DONE",
    ])
    (prog,) = parse_console(text)
    assert prog.name == "p1" and prog.resources == [(0xFE440000, 0xFE45FFFF, 0x40200)]
    assert [op.rcs for op in prog.ops] == [[-16], [0]]
    assert prog.image_bytes("dev")[:4] == bytes.fromhex("8680d310")
    assert prog.image_bytes("dev", 0)[4:8] == (0x00100400).to_bytes(4, "little")
    assert prog.image_bytes("dev", 1) == prog.image_bytes("dev", 0)


KF = """\
         fzguest-144     [000] .....     5.712714: b2: (pci_bus_write_config_word+0x4/0x40) devfn=0 pos=4 val=263
         fzguest-144     [000] .....     5.712861: <stack trace>
 => kprobe_trace_func
 => kprobe_dispatcher
 => kprobe_ftrace_handler
 => 0xffffffffc03ec0de
 => pci_bus_write_config_word
 => __pci_set_master
 => pci_set_master
 => fz_probe
 => local_pci_probe
         fzguest-144     [000] .....     5.713000: b2: (pci_bus_write_config_word+0x4/0x40) devfn=16 pos=4 val=1
         fzguest-144     [000] .....     5.713001: <stack trace>
 => pci_bus_write_config_word
 => some_other_device
         fzguest-144     [000] .....     5.713100: u4: (pci_user_write_config_dword+0x4/0x40) pos=16 val=4265869312
         fzguest-144     [000] .....     5.713101: <stack trace>
 => 0xffffffffc03ec0de
 => pci_user_write_config_dword
 => vfio_user_config_write
 => vfio_default_config_write
 => vfio_bar_restore
"""


def test_kernel_functions_match_writes_in_order_and_skip_accessors():
    writes = [GuestWrite("dev", 0x4, 2, 263), GuestWrite("dev", 0x10, 4, 0xFE440000), GuestWrite("dev", 0x3C, 1, 1)]
    got = kernel_functions(KF.splitlines(), writes, depth=2)
    assert got == ["__pci_set_master < pci_set_master", "vfio_default_config_write < vfio_bar_restore", ""]


# --- the comparison ------------------------------------------------------------------------------

def _guest_from_model(profile, port, calls, policy):
    """A guest record that is exactly what the model does: the comparison must agree with it."""
    apply_qemu_quirks(profile)
    _m, writes, images, _rcs = run_model(profile, policy, calls)
    gp = GuestProgram("synthetic")
    gp.initial = {"dev": {o: int.from_bytes(profile.image[o:o + 4], "little") for o in range(0, 4096, 4)},
                  "port": {o: int.from_bytes(port.image[o:o + 4], "little") for o in range(0, 256, 4)}}
    gp.resources = []
    per_op = []
    for i, _ in enumerate(calls):
        op = GuestOp(i, [0])
        op.image = {"dev": {o: int.from_bytes(images[i][0][o:o + 4].tobytes(), "little") for o in range(0, 4096, 4)},
                    "port": {o: int.from_bytes(images[i][1][o:o + 4].tobytes(), "little") for o in range(0, 256, 4)}}
        gp.ops.append(op)
        per_op.append([GuestWrite(w.target, w.offset, w.width, w.value & ((1 << 8 * w.width) - 1))
                       for w in writes if w.op_index == i])
    return gp, per_op


@pytest.fixture
def i350_guest(tmp_path):
    from fuzzcore.validate.compare import import_profiles
    prof = resolve_device("i350")
    port = resolve_device("cnl-rootport")
    gp0 = GuestProgram("x")
    full = prof.image + bytes(4096 - len(prof.image))
    gp0.initial = {"dev": {o: int.from_bytes(full[o:o + 4], "little") for o in range(0, 4096, 4)},
                   "port": {o: int.from_bytes(port.image[o:o + 4], "little") for o in range(0, 256, 4)}}
    gp0.resources = [(0, b.size - 1 if i == 0 else 0, 0) for i, b in enumerate(prof.bars[:1])]
    return import_profiles(gp0, "i350", tmp_path), port


CALLS = [Call.of("vfio_open"), Call.of("vfio_config_write", offset=0x04, width="2", value=0x06),
         Call.of("vfio_device_reset"), Call.of("vfio_close"), Call.of("pci_bind_driver", driver="host"),
         Call.of("pci_save_state"), Call.of("pci_reset_function", method="auto")]


def test_the_model_agrees_with_itself(i350_guest, tmp_path):
    profile, port = i350_guest
    policy = load_policy(POLICY)
    gp, writes = _guest_from_model(profile, port, CALLS, policy)
    pc = compare_program("same", CALLS, gp, writes, "i350", policy, tmp_path)
    assert not pc.error and pc.agrees, format_divergence(pc)
    assert format_divergence(pc) == ["same: agrees op by op (7 ops)"]


def test_a_changed_write_is_the_first_divergence_side_by_side(i350_guest, tmp_path):
    profile, port = i350_guest
    policy = load_policy(POLICY)
    gp, writes = _guest_from_model(profile, port, CALLS, policy)
    w = writes[2][3]
    writes[2][3] = GuestWrite(w.target, w.offset, w.width, w.value ^ 0x1)
    writes[2].append(GuestWrite("port", 0x3E, 2, 0x42))
    pc = compare_program("changed", CALLS, gp, writes, "i350", policy, tmp_path)
    assert not pc.agrees
    op = pc.first_divergence()
    assert op.index == 2 and op.first_write_mismatch == 3
    text = "\n".join(format_divergence(pc))
    assert "first divergence at op 2: vfio_device_reset()" in text
    assert ">>" in text and "| " + str(writes[2][3]) in text


def test_an_image_difference_is_a_divergence(i350_guest, tmp_path):
    profile, port = i350_guest
    policy = load_policy(POLICY)
    gp, writes = _guest_from_model(profile, port, CALLS, policy)
    gp.ops[4].image["dev"][0x2C] ^= 0x10000
    pc = compare_program("image", CALLS, gp, writes, "i350", policy, tmp_path)
    op = pc.first_divergence()
    assert op.index == 4 and op.first_write_mismatch == -1
    assert op.image_diffs and op.image_diffs[0][:2] == ("dev", 0x2C)
    assert "image after the op: dev 0x02c" in "\n".join(format_divergence(pc))


def test_a_short_guest_run_is_an_error_not_agreement(i350_guest, tmp_path):
    profile, port = i350_guest
    policy = load_policy(POLICY)
    gp, writes = _guest_from_model(profile, port, CALLS, policy)
    gp.ops = gp.ops[:3]
    pc = compare_program("short", CALLS, gp, writes[:3], "i350", policy, tmp_path)
    assert not pc.agrees and "ran 3 of 7 ops" in pc.error


def _guest_profiles(tmp_path, name: str, resources: list):
    """A guest device and its port as the corpus keeps their dumps, imported as compare does it."""
    from fuzzcore.validate.compare import import_profiles
    prof = resolve_device(str(PROFILES / f"{name}.toml"))
    port = resolve_device(str(PROFILES / f"{name}-port.toml"))
    pad = lambda img: img + bytes(4096 - len(img))
    gp0 = GuestProgram("x")
    gp0.initial = {t: {o: int.from_bytes(pad(p.image)[o:o + 4], "little") for o in range(0, 4096, 4)}
                   for t, p in (("dev", prof), ("port", port))}
    gp0.resources = resources
    return import_profiles(gp0, name, tmp_path), port


@pytest.fixture
def rng_guest(tmp_path):
    """The guest's virtio-rng (AER) below its root port (AER)."""
    return _guest_profiles(tmp_path, "virtio-rng", [(0, 0, 0), (0xFE600000, 0xFE600FFF, 0x40200)])


def test_aer_inject_hides_the_registers_it_simulates(rng_guest, tmp_path):
    """virtio-rng below a root port with AER: the device's AER status and header log and the root
    port's Root Error Status and Source are simulated by aer_inject. The guest trace of a frozen
    recovery lacks the slot_reset restore's AER status writes; the comparison agrees, and fails
    when the kernel says otherwise about the recovery."""
    from fuzzcore.model.caps import cap_offsets
    profile, port = rng_guest
    hidden = aer_inject_hidden(profile)
    aer, rp_aer = cap_offsets(profile).aer, cap_offsets(port).aer
    assert aer and rp_aer
    assert ("dev", aer + 0x04) in hidden and ("dev", aer + 0x10) in hidden
    assert ("port", rp_aer + 0x30) in hidden and ("port", rp_aer + 0x2C) not in hidden
    policy = load_policy(POLICY)
    calls = [Call.of("pci_bind_driver", driver="host"), Call.of("pci_save_state"),
             Call.of("pcie_do_recovery", channel="normal", vote="need_reset", source="aer")]
    gp, writes = _guest_from_model(profile, port, calls, policy)
    assert any((w.target, w.offset) in hidden and w.width == 4 for w in writes[2])
    writes[2] = [w for w in writes[2] if not ((w.target, w.offset) in hidden and w.width == 4)]
    gp.ops[2].rcs = [0, 0]                        # proc vote, aerinj: "device recovery successful"
    pc = compare_program("rec", calls, gp, writes, "virtio-rng", policy, tmp_path)
    assert pc.agrees, format_divergence(pc)
    gp.ops[2].rcs = [0, 1]                        # the kernel said "device recovery failed"
    pc = compare_program("rec-failed", calls, gp, writes, "virtio-rng", policy, tmp_path)
    assert not pc.agrees and pc.first_divergence().index == 2
    assert "recovery: model successful | kernel failed" in "\n".join(format_divergence(pc))


def test_recovery_outcome_needs_a_recovery_from_the_guest():
    call = Call.of("pcie_do_recovery", channel="frozen", vote="need_reset", source="aer")
    assert recovery_outcome(call, "failed", [0, 1]) == ""
    assert "aerinj rc -110" in recovery_outcome(call, "successful", [0, -110])
    assert recovery_outcome(Call.of("vfio_open"), "", [0]) == ""


@pytest.fixture
def e1000e_guest(tmp_path):
    """The guest's e1000e below its switch port (BARs 0-3: two memory BARs, an I/O BAR, the MSI-X
    BAR; no BAR 4 or 5)."""
    return _guest_profiles(tmp_path, "e1000e", [(0xFE440000, 0xFE45FFFF, 0x40200), (0xFE460000, 0xFE47FFFF, 0x40200),
                                                (0xC000, 0xC01F, 0x40101), (0xFE480000, 0xFE483FFF, 0x40200)])


def test_vfio_bar_read_rc_is_compared(e1000e_guest, tmp_path):
    """vfio_bar_rw makes no config write: its return code is the outcome compared (RC_COMPARED),
    the guest's last RC for the op against the model's."""
    profile, port = e1000e_guest
    policy = load_policy(POLICY)
    read = lambda bar: Call.of("vfio_bar_rw", bar=bar, access="read")
    calls = [Call.of("vfio_open"), read(0), read(4),
             Call.of("vfio_config_write", offset=0x04, width="2", value=0x0), read(0), Call.of("vfio_close")]
    gp, writes = _guest_from_model(profile, port, calls, policy)
    _m, _w, _images, rcs = run_model(profile, policy, calls)
    assert rcs[1:5] == [0, -22, 0, -5]
    assert writes[1] == writes[2] == writes[4] == []
    for op, rc in zip(gp.ops, rcs):
        op.rcs = [rc]
    pc = compare_program("bar", calls, gp, writes, "e1000e", policy, tmp_path)
    assert pc.agrees, format_divergence(pc)
    gp.ops[4].rcs = [0]                            # the kernel read it: Memory was on after all
    pc = compare_program("bar-rc", calls, gp, writes, "e1000e", policy, tmp_path)
    op = pc.first_divergence()
    assert op.index == 4 and op.first_write_mismatch == -1 and not op.image_diffs
    text = "\n".join(format_divergence(pc))
    assert "first divergence at op 4: vfio_bar_rw(bar=0, access=read)" in text
    assert "vfio_bar_rw: model rc -5 | kernel rc 0" in text


def test_the_port_is_set_aside_in_a_system_sleep_but_the_device_is_compared(e1000e_guest, tmp_path):
    """Row 27 of docs/validation.md: in the guest the PM core also suspends and resumes the port
    above the device (pci_pm_resume -> pci_restore_standard_config -> pci_restore_state; QEMU's port
    then sets Command Completed in Slot Status); the model's pm_system_sleep runs the device's
    phases only. In a pm_system_sleep op the port's writes and image are not compared
    (PORT_SET_ASIDE) and the report says so; the model's port is re-based on the guest's after it,
    so a port image the sleep left different is no divergence later. The device's writes, image
    and return code are still compared, and the port outside a sleep op too."""
    from fuzzcore.model.caps import cap_offsets
    from fuzzcore.validate.compare import PORT_SET_ASIDE
    profile, port = e1000e_guest
    policy = load_policy(POLICY)
    calls = [Call.of("pci_bind_driver", driver="host"), Call.of("pm_system_sleep", transition="s2idle", power="kept"),
             Call.of("pci_reset_bus"), Call.of("pci_bind_driver", driver="none")]
    gp, writes = _guest_from_model(profile, port, calls, policy)
    assert writes[1] and {w.target for w in writes[1]} == {"dev"}      # D3hot, D0, the restore
    assert "port" in {w.target for w in writes[2]}                     # the bus reset: Bridge Control
    pc = compare_program("sleep", calls, gp, writes, "e1000e", policy, tmp_path)
    assert pc.agrees, format_divergence(pc)
    assert PORT_SET_ASIDE["pm_system_sleep"][0] == "row 27"

    # the kernel's port writes in the sleep, and Command Completed (Slot Status) from then on
    slot = cap_offsets(port).exp + 0x18
    guest_port = [dict(op.image["port"]) for op in gp.ops]
    writes[1][3:3] = [GuestWrite("port", 0x98, 2, 0x000F), GuestWrite("port", 0x24, 4, 0xFEB1FEA1)]
    for op in gp.ops[1:]:
        op.image["port"][slot] |= 0x10 << 16
    pc = compare_program("sleep-port", calls, gp, writes, "e1000e", policy, tmp_path)
    assert pc.agrees, format_divergence(pc)
    assert pc.ops[1].port_set_aside == "row 27" and pc.ops[1].port_writes_set_aside == 2
    assert [o.index for o in pc.ops if o.port_set_aside] == [1]
    assert format_divergence(pc) == ["sleep-port: agrees op by op (4 ops; upstream port not compared "
                                     "in op 1 (known: row 27))"]
    assert gap_for(pc) == ""

    # the same port difference appearing in an op that is not a sleep: a divergence
    for op, img in zip(gp.ops, guest_port):
        op.image["port"] = dict(img)
    gp.ops[2].image["port"][slot] |= 0x10 << 16
    gp.ops[3].image["port"][slot] |= 0x10 << 16
    pc = compare_program("port-later", calls, gp, writes, "e1000e", policy, tmp_path)
    op = pc.first_divergence()
    assert op.index == 2 and op.image_diffs and op.image_diffs[0][:2] == ("port", slot)
    text = "\n".join(format_divergence(pc))
    assert "upstream port not compared in op 1 (known: row 27)" in text

    # the device in the sleep: a write, the image, the return code
    for op, img in zip(gp.ops, guest_port):
        op.image["port"] = dict(img)
    w = writes[1][0]
    writes[1][0] = GuestWrite("dev", w.offset, w.width, w.value ^ 1)
    pc = compare_program("sleep-dev", calls, gp, writes, "e1000e", policy, tmp_path)
    op = pc.first_divergence()
    assert op.index == 1 and op.first_write_mismatch == 0 and gap_for(pc) == ""
    writes[1][0] = w
    gp.ops[1].image["dev"][0x04] ^= 0x4
    pc = compare_program("sleep-dev-image", calls, gp, writes, "e1000e", policy, tmp_path)
    op = pc.first_divergence()
    assert op.index == 1 and op.first_write_mismatch == -1 and op.image_diffs[0][:2] == ("dev", 0x04)
    gp.ops[1].image["dev"][0x04] ^= 0x4
    gp.ops[1].rcs = [-16]
    pc = compare_program("sleep-rc", calls, gp, writes, "e1000e", policy, tmp_path)
    assert pc.first_divergence().index == 1
    assert "pm_system_sleep: model rc 0 | kernel rc -16" in "\n".join(format_divergence(pc))


def test_the_runtime_resuspend_after_the_thaw_agrees(e1000e_guest, tmp_path):
    """Row 28, fixed: after hibernation's thaw, device_complete's pm_runtime_put runtime-suspends
    again (D3hot) a device whose runtime PM the guest allowed; the model's last write in the op is
    that D3hot, so a guest that made it agrees."""
    from fuzzcore.model.caps import cap_offsets
    profile, port = e1000e_guest
    policy = load_policy(POLICY)
    calls = [Call.of("pci_bind_driver", driver="host"), Call.of("pci_pm_runtime_suspend"),
             Call.of("pm_system_sleep", transition="hibernate_thaw", power="kept")]
    gp, writes = _guest_from_model(profile, port, calls, policy)
    pm = cap_offsets(profile).pm
    last = [w for w in writes[2] if w.target == "dev"][-1]
    assert (last.offset, last.value & 3) == (pm + 4, 3)
    pc = compare_program("thaw", calls, gp, writes, "e1000e", policy, tmp_path)
    assert pc.first_divergence() is None


def test_rc_outcome_only_for_the_ops_whose_rc_is_compared():
    call = Call.of("vfio_bar_rw", bar=4, access="read")
    assert rc_outcome(call, -22, [-22]) == ""
    assert rc_outcome(call, -22, [0, -22]) == ""          # the op's last guest command's RC
    assert rc_outcome(call, -5, [0]) == "vfio_bar_rw: model rc -5 | kernel rc 0"
    assert rc_outcome(call, 0, []) == "vfio_bar_rw: model rc 0 | kernel rc None"
    assert rc_outcome(Call.of("vfio_config_write", offset=4, width="2", value=0), 0, [-5]) == ""


def test_qemu_resets_keep_devctl_but_its_error_enables_and_lnkctl2(i350_guest):
    from fuzzcore.model.caps import cap_offsets
    profile, _port = i350_guest
    exp = cap_offsets(profile).exp
    for kind in ("flr", "hot"):
        assert list(profile.semantics.keep[kind][exp + 8:exp + 10]) == [0xF0, 0xFF]
        assert list(profile.semantics.keep[kind][exp + 0x30:exp + 0x32]) == [0xFF, 0xFF]


# --- kit pieces and the policy -------------------------------------------------------------------

@pytest.mark.skipif(not shutil.which("cpio"), reason="cpio is not installed (the kit installs it)")
def test_cpio_archive_lists_back(tmp_path):
    c = Cpio()
    c.dir("fz")
    c.file("fz/script", b"op 0\n")
    c.symlink("bin/sh", "busybox")
    data = c.bytes()
    assert len(data) % 512 == 0
    out = subprocess.run(["cpio", "-t"], input=data, capture_output=True).stdout.decode().split()
    assert out == ["fz", "fz/script", "bin/sh"]


def test_linux_612_policy_is_linux_71_without_tph_and_with_two_backports():
    p612, p71 = load_policy(POLICY), load_policy("linux-7.1")
    assert [s.name for s in p612.restore_steps] == [s.name for s in p71.restore_steps if s.name != "tph"]
    assert [s.name for s in p612.save_steps] == [s.name for s in p71.save_steps if s.name != "tph"]
    assert p612.switch("msix_restore.force_memory") == "always"
    assert p612.switch("reset.save_and_disable_inaccessible") == "skip"
    assert p612.switch("vfio.reset_done") == p71.switch("vfio.reset_done")
    steps612, steps71 = ([s.name for s in p.path("pcie_do_recovery")] for p in (p612, p71))
    assert steps71.index("mmio") < steps71.index("reset_need") < steps71.index("reset_frozen")
    assert "reset_need" not in steps612 and steps612.index("reset_frozen") < steps612.index("mmio")
    assert [s.name for s in p612.path("recovery_failed")] == \
        [s.name for s in p71.path("recovery_failed") if s.name != "perm_failure"]


def test_the_initramfs_carries_aer_inject_unloaded(tmp_path, monkeypatch):
    """aer_inject.ko is in the initramfs for fzguest's aerinj, not in the boot-time load order."""
    import lzma
    from fuzzcore.validate import kit
    root = tmp_path / "kit"
    mods = root / "root" / "lib" / "modules" / kit.KERNEL_RELEASE
    for rel in kit.GUEST_MODULES + kit.ON_DEMAND_MODULES:
        (mods / rel).parent.mkdir(parents=True, exist_ok=True)
        (mods / rel).write_bytes(lzma.compress(b"ELF " + rel.encode()))
    monkeypatch.setenv("FUZZCORE_VALIDATE_DIR", str(root))
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"bb")
    monkeypatch.setattr(kit.shutil, "which", lambda name: str(busybox))
    (tmp_path / "fzhost.ko").write_bytes(b"ko")
    (tmp_path / "fzguest").write_bytes(b"guest")
    k = kit.Kit(root)
    kit._initramfs(k, tmp_path / "fzhost.ko", tmp_path / "fzguest", lambda s: None)
    data = k.initramfs.read_bytes()
    assert b"lib/fz/aer_inject.ko\0" in data and b"ELF kernel/drivers/pci/pcie/aer_inject.ko.xz" in data
    order = data.split(b"lib/fz/order\0", 1)[1].lstrip(b"\0").split(b"\0", 1)[0].decode()
    assert "vfio-pci.ko disable_idle_d3=1" in order and "fzhost.ko" in order
    assert "aer_inject" not in order


# --- the command's bad input ---------------------------------------------------------------------

def test_cli_missing_program_file(tmp_path):
    r = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.fzs")])
    assert r.exit_code == 2 and "nope.fzs: no such file" in r.output


def test_cli_names_the_op_that_cannot_be_validated(tmp_path):
    p = tmp_path / "x.fzs"
    p.write_text("vfio_open()\nhw_link_down()\n")
    r = CliRunner().invoke(main, ["validate", str(p)])
    assert r.exit_code == 2
    assert "x.fzs: op 2 (hw_link_down) is not validatable" in r.output


def test_cli_bad_fzs_names_file_and_line(tmp_path):
    p = tmp_path / "bad.fzs"
    p.write_text("vfio_open()\nvfio_bogus()\n")
    r = CliRunner().invoke(main, ["validate", str(p)])
    assert r.exit_code == 2 and "bad.fzs:2:" in r.output


def test_cli_unknown_guest_device_header(tmp_path):
    p = tmp_path / "d.fzs"
    p.write_text("# guest-device: igb\nvfio_open()\n")
    r = CliRunner().invoke(main, ["validate", str(p)])
    assert r.exit_code == 2 and "guest device 'igb'" in r.output


def test_cli_ops_lists_the_table():
    r = CliRunner().invoke(main, ["validate", "--ops"])
    assert r.exit_code == 0
    assert "vfio_device_reset" in r.output and "hw_link_down" in r.output


def test_kit_setup_names_the_package_it_cannot_get(tmp_path, monkeypatch):
    """apt-get answering 'no' (a fake one first on PATH) is a KitError naming the packages."""
    from fuzzcore.validate import kit
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "apt-get").write_text("#!/bin/sh\necho 'E: Unable to locate package' >&2\nexit 100\n")
    (fake / "apt-get").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("FUZZCORE_VALIDATE_DIR", str(tmp_path / "kit"))
    said = []
    with pytest.raises(kit.KitError) as e:
        kit.setup(report=said.append)
    msg = str(e.value)
    assert "linux-image-6.12.118+deb12-amd64-unsigned" in msg or "install" in msg, msg
    assert "Unable to locate package" in msg


def test_find_kit_without_setup_says_how(tmp_path, monkeypatch):
    from fuzzcore.validate import kit
    monkeypatch.setenv("FUZZCORE_VALIDATE_DIR", str(tmp_path / "none"))
    ok, why = kit.kit_ready()
    assert not ok and "fuzzcore validate --setup" in why


def test_pm_state_kept_quirk_keeps_d3hot_across_recoverys_bus_reset():
    """QEMU 7.2's reset leaves PMCSR PowerState alone (pm-state-kept): after a frozen recovery of a
    device a vfio user put in D3hot, the quirked model reads D3hot, the plain one D0 (hardware)."""
    from fuzzcore.model.caps import cap_offsets
    calls = load_fzs(REPO / "corpora/validation/e1000e-recovery-frozen-from-d3hot.fzs")[:5]
    pmcsr = {}
    for quirked in (False, True):
        prof = resolve_device(str(REPO / "corpora/validation/profiles/e1000e.toml"))
        if quirked:
            apply_qemu_quirks(prof)
        pm = cap_offsets(prof).pm
        _m, _writes, images, _rcs = run_model(prof, load_policy("linux-7.1+linux-6.12"), calls)
        pmcsr[quirked] = int(images[-1][0][pm + 4]) & 3
    assert pmcsr == {False: 0, True: 3}


def test_random_programs_write_through_vfios_tables_at_the_guest_devices_registers():
    """--programs draws a vfio user's config writes at each guest device's own registers (from
    its validation profile): DEVCTL and its MRRS byte, MSI Message Control, AER masks where the
    device has them, a gap no capability holds; never Initiate FLR or PMCSR (their ops do that)."""
    import random

    from fuzzcore.validate.programs import vfio_config_targets
    t = vfio_config_targets("e1000e")
    offsets = {o for o, _, _ in t}
    assert {0xE8, 0xE9, 0xD2, 0x108, 0x40} <= offsets          # DEVCTL, its MRRS byte, MSI flags, AER mask, a gap
    assert all(not (o == 0xE8 and any(v & 0x8000 for v in vals)) for o, _, vals in t)
    assert 0xCC not in offsets                                  # PMCSR (PM at 0xc8)
    assert (0xE0 + 0x28, "2") not in {(o, w) for o, w, _ in t}   # e1000e's PCIe capability is v1: no DEVCTL2
    progs = [random_program(random.Random(s), 8, 0xC8, aer=True, targets=t) for s in range(60)]
    writes = {c.args[0][1] for p in progs for c in p if c.name == "vfio_config_write"}
    assert writes & offsets - {0x0C, 0x3C}
    assert not [c for p in progs for c in p if call_validatable(c)]


def test_qemu_quirks_devctl_writes_and_gap_bytes():
    """devctl-wmask: only the four error-reporting enables of Device Control take a write;
    gap-bytes-rw: a config byte no capability of the QEMU function claims takes any value."""
    from fuzzcore.model.caps import cap_offsets
    from fuzzcore.validate.compare import _qemu_gap_bytes, apply_qemu_quirks
    prof = resolve_device("corpora/validation/profiles/nvme.toml")
    exp = cap_offsets(prof).exp
    before = int(prof.semantics.wmask[exp + 8]) | int(prof.semantics.wmask[exp + 9]) << 8
    assert before & 0x7010                                   # the tables: MRRS, Relaxed Ordering
    apply_qemu_quirks(prof)
    after = int(prof.semantics.wmask[exp + 8]) | int(prof.semantics.wmask[exp + 9]) << 8
    assert after & ~0x800F == 0 and after & 0x000F == before & 0x000F
    gaps = _qemu_gap_bytes(prof)
    assert 0x58 in gaps and 0x40 not in gaps and exp + 8 not in gaps   # MSI-X at 0x40, PCIe at 0x80
    assert all(prof.semantics.wmask[o] == 0xFF for o in (0x58, 0x59, 0x5A, 0x5B))


def test_qemu_quirks_aer_uncorrectable_mask_and_extended_gaps():
    """aer-uncor-mask-ro: QEMU 7.2 keeps AER's Uncorrectable Error Mask at 0 (e1000e); gap-bytes-rw
    stops at 0x100 on a function with no extended capability (nvme's 0x108 reads back 0)."""
    from fuzzcore.model.caps import cap_offsets
    from fuzzcore.validate.compare import _qemu_gap_bytes, apply_qemu_quirks
    e1000e = resolve_device("corpora/validation/profiles/e1000e.toml")
    aer = cap_offsets(e1000e).aer
    assert aer and e1000e.semantics.wmask[aer + 8:aer + 12].any()         # the tables: RWS bits
    apply_qemu_quirks(e1000e)
    assert not e1000e.semantics.wmask[aer + 8:aer + 12].any()
    nvme = resolve_device("corpora/validation/profiles/nvme.toml")
    assert not list(nvme.walk.extended) and max(_qemu_gap_bytes(nvme)) < 0x100
