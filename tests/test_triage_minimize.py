"""`fuzzcore minimize` end to end through the CLI: one test per user-visible behaviour."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzcore.triage.finding import load_finding
from fuzzcore.triage.minimize import Target
from fuzzcore.program.codec import encode
from fuzzcore.program.fzs import load_fzs, parse_program

ROOT = Path(__file__).parent.parent
SHIPPED = sorted(p.parent for p in (ROOT / "crashes").glob("**/meta.json"))
H1A_BUCKET = "mmio_decode_off | vfio_device_reset | MSI-X table, Memory off"
HEADER = f"""# device: i350
# policy: linux-7.1
# expected-bucket: {H1A_BUCKET}
# fixed-by: linux-7.1+msix-restore-enable-memory
"""
# The vfio-user H1(a) sequence with benign ops around it (ATS, TPH, LTR, PTM, D0, Cache Line Size).
NOISY_H1A = HEADER + """pci_enable_ptm()
vfio_open()
pci_enable_ats(stu=3)
vfio_config_write(offset=0x04, width=2, value=0x0f06)
pci_enable_tph(mode=dev_spec)
vfio_set_irqs(index=msix, count=7)
pci_enable_l1ss()
vfio_config_write(offset=0x0c, width=1, value=0x40)
pci_enable_ptm()
vfio_config_write(offset=0x04, width=2, value=0x0404)
pci_set_power_state(state=d0)
vfio_device_reset()
pci_enable_ptm()
vfio_device_reset()
"""
MINIMAL_H1A = """vfio_open()
vfio_set_irqs(index=msix, count=0)
vfio_config_write(offset=0x04, width=1, value=0x00)
vfio_device_reset()
"""


def fz(*args, **kw):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True, text=True,
                          **kw)


def long_h1a(n_noise=55) -> str:
    """H1(a) with n_noise benign ops scattered through it (about 60 ops)."""
    import random
    from fuzzcore.program.codec import Call
    from fuzzcore.program.fzs import format_program
    rng = random.Random(7)
    noise = [lambda: Call.of("pci_enable_ats", stu=rng.randrange(4)), lambda: Call.of("pci_disable_ats"),
             lambda: Call.of("pci_enable_tph", mode=rng.choice(["no_st", "int_vec", "dev_spec"])),
             lambda: Call.of("pci_enable_l1ss"), lambda: Call.of("pci_enable_ptm"),
             lambda: Call.of("vfio_config_write", offset=0x0c, width="1", value=rng.randrange(256)),
             lambda: Call.of("pci_set_power_state", state="d0"), lambda: Call.of("pci_disable_tph")]
    prog = parse_program(MINIMAL_H1A.replace("count=0", "count=2").replace("width=1, value=0x00",
                                                                            "width=2, value=0x0004"))
    prog.insert(2, parse_program("vfio_config_write(offset=0x04, width=2, value=0x0006)")[0])
    for _ in range(n_noise):
        prog.insert(rng.randrange(len(prog)), noise[rng.randrange(len(noise))]())
    return HEADER + format_program(prog)


def target_of(path) -> Target:
    f = load_finding(path)
    return Target(f.device, f.policy, f.bucket, f.fixed_by, "reference")


def assert_one_minimal(path):
    """The program shows its finding, and removing any single op loses it (the bucket, or its
    absence under a fixing policy)."""
    t = target_of(path)
    calls = load_finding(path).calls
    assert t.check(calls) == calls, f"{path} does not show its finding (or has ops after the violating one)"
    for i in range(len(calls)):
        assert t.check(calls[:i] + calls[i + 1:]) is None, f"{path}: op {i} ({calls[i].name}) can go"


def test_minimize_keeps_the_bucket_and_is_1_minimal(tmp_path):
    src = tmp_path / "h1a.fzs"
    src.write_text(NOISY_H1A)
    r = fz("minimize", src)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "h1a.min.fzs"
    assert "14 -> 4 ops, 1-minimal" in r.stdout
    assert f"# expected-bucket: {H1A_BUCKET}" in out.read_text()
    assert_one_minimal(out)


def test_minimize_simplifies_arguments_towards_the_smallest(tmp_path):
    from fuzzcore.triage.minimize import smaller_values, with_arg
    src = tmp_path / "h1a.fzs"
    src.write_text(NOISY_H1A)
    fz("minimize", src, "-o", tmp_path / "out.fzs")
    out = load_fzs(tmp_path / "out.fzs")
    assert parse_program("vfio_set_irqs(index=msix, count=0)")[0] in out        # count=7 -> 0
    # no argument of the result can move to a smaller value and keep the finding
    t = target_of(tmp_path / "out.fzs")
    for i, call in enumerate(out):
        for a, arg in enumerate(call.op.args):
            for value in smaller_values(arg, call.args[a][1]):
                new = with_arg(call, a, value)
                assert new is None or t.check(out[:i] + [new] + out[i + 1:]) is None, (i, arg.name, value)


def test_minimize_substitutes_simpler_ops(tmp_path):
    """An op that cannot go but whose effect a simpler op also has is replaced by the simpler one
    of the same actor (fewer arguments, then op-table order), and only by one the kernel performs
    in that state: here a hibernation (freeze, then thaw) of the idle vfio device while its
    function does not answer saves all-ones and leaves it runtime-suspended; a bus reset
    (pci_reset_bus: no arguments) saves all-ones too and its secondary bus reset brings the
    function back, so hw_accessible goes as well, and vfio_open's runtime resume then writes the
    all-ones snapshot (restore_all_ones)."""
    from fuzzcore.triage.minimize import SIMPLICITY_ORDER, simpler_ops
    assert SIMPLICITY_ORDER[0] == "pci_save_state"            # no arguments, first in the op table
    assert "pci_pm_runtime_suspend" in simpler_ops("pci_set_power_state")
    assert "pci_reset_bus" not in simpler_ops("vfio_config_write")   # a guest write stays a guest write
    src = tmp_path / "sleep.fzs"
    src.write_text("""# device: i350
# policy: linux-7.1
# expected-bucket: restore_all_ones | vfio_open | BAR0
hw_inaccessible()
pm_system_sleep(transition=hibernate_thaw, power=kept)
hw_accessible()
vfio_open()
""")
    r = fz("minimize", src, "-o", tmp_path / "out.fzs")
    assert r.returncode == 0, r.stderr
    names = [c.name for c in load_fzs(tmp_path / "out.fzs")]
    assert names == ["hw_inaccessible", "pci_reset_bus", "vfio_open"], names
    assert "[subst]" in r.stderr


def test_minimize_never_drifts_to_another_bucket(tmp_path):
    """All-ones under mainline reports five buckets; keeping one keeps exactly that one."""
    src = tmp_path / "ones.bin"
    src.write_bytes(encode(parse_program("vfio_open()\npci_enable_ptm()\nhw_inaccessible()\nvfio_hot_reset()\n")))
    bucket = "restore_all_ones | vfio_hot_reset | BAR3"
    r = fz("minimize", src, "--device", "i350", "--policy", "linux-7.1", "--bucket", bucket, "-o", tmp_path / "o.fzs")
    assert r.returncode == 0, r.stderr
    f = load_finding(tmp_path / "o.fzs")
    assert f.bucket == tuple(x.strip() for x in bucket.split("|"))
    assert [c.name for c in f.calls] == ["vfio_open", "hw_inaccessible", "vfio_hot_reset"]
    assert_one_minimal(tmp_path / "o.fzs")


def test_minimize_refuses_a_program_that_does_not_reproduce(tmp_path):
    src = tmp_path / "h1a.fzs"
    src.write_text(NOISY_H1A.replace("# policy: linux-7.1", "# policy: linux-7.1+msix-restore-enable-memory"))
    r = fz("minimize", src)
    assert r.returncode == 2
    assert "does not report mmio_decode_off | vfio_device_reset | MSI-X table, Memory off" in r.stderr
    assert not (tmp_path / "h1a.min.fzs").exists()


def test_minimize_prints_progress(tmp_path):
    src = tmp_path / "h1a.fzs"
    src.write_text(NOISY_H1A)
    r = fz("minimize", src)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("minimize: [")]
    assert lines and all("ops left (from 14)" in ln and " candidates, " in ln and ln.endswith("s") for ln in lines)
    assert "[ddmin]" in r.stderr and "[args]" in r.stderr and "[done] 4 ops left" in r.stderr


def test_minimize_bucket_directory_writes_a_bucket_directory(tmp_path):
    src = tmp_path / "h1a.fzs"
    src.write_text(NOISY_H1A)
    r = fz("minimize", src, "-o", tmp_path / "bucket")
    assert r.returncode == 0, r.stderr
    d = tmp_path / "bucket"
    meta = json.loads((d / "meta.json").read_text())
    assert meta["minimized"]["from_ops"] == 14 and meta["minimized"]["to_ops"] == 4
    assert meta["minimized"]["one_minimal"] and meta["fixed_by"] == ["linux-7.1+msix-restore-enable-memory"]
    assert len((d / "min.bin").read_bytes()) == 4 * 8 and len(load_fzs(d / "first.fzs")) == 14
    # the bucket directory is itself a finding: minimising it again in place finds its state
    # file done and changes nothing
    before = (d / "min.bin").read_bytes()
    again = fz("minimize", d)
    assert again.returncode == 0 and "resuming from" in again.stderr
    assert "minimize: 14 -> 4 ops, 1-minimal" in again.stdout and (d / "min.bin").read_bytes() == before


def test_minimize_campaign_bucket_directory_in_place(tmp_path):
    """A bucket directory of a campaign's findings store: min.* are replaced by the 1-minimal
    program, meta.json records it, the campaign's first.* stay as they were."""
    from fuzzcore.campaign.findings_store import FindingsStore
    from fuzzcore.triage.finding import executor_for
    data = encode(parse_program(NOISY_H1A))
    v = next(v for v in executor_for("i350", "linux-7.1", "reference").run(data).violations
             if v.bucket[0] == "mmio_decode_off")
    store = FindingsStore(tmp_path / "findings", "i350", "linux-7.1", "reference")
    store.record(data, v)
    d = tmp_path / "findings" / "mmio_decode_off--vfio_device_reset--MSI-X_table,_Memory_off"
    first = (d / "first.bin").read_bytes()
    r = fz("minimize", d, "--fixed-by", "linux-7.1+msix-restore-enable-memory")
    assert r.returncode == 0, r.stderr
    assert "12 -> 4 ops, 1-minimal" in r.stdout                # the store cut it after the violating op
    meta = json.loads((d / "meta.json").read_text())
    assert meta["min_ops"] == 4 and meta["first_ops"] == 12 and meta["hits"] >= 0
    assert meta["fixed_by"] == ["linux-7.1+msix-restore-enable-memory"]
    assert (d / "first.bin").read_bytes() == first and len((d / "min.bin").read_bytes()) == 32
    assert "# fixed-by: linux-7.1+msix-restore-enable-memory" in (d / "min.fzs").read_text()
    assert_one_minimal(d / "min.fzs")


def test_minimize_is_time_boxed_and_continues_when_re_run(tmp_path):
    src = tmp_path / "long.fzs"
    src.write_text(long_h1a())
    first = fz("minimize", src, "--max-time", "0.05")
    assert first.returncode == 0
    assert "not yet 1-minimal" in first.stdout
    out = tmp_path / "long.min.fzs"
    assert target_of(out).check(load_fzs(out)) is not None    # the best so far is whole and reproduces
    second = fz("minimize", src)
    assert "resuming from" in second.stderr and "1-minimal;" in second.stdout
    assert_one_minimal(out)


def test_minimize_killed_with_sigkill_resumes_from_the_best_so_far(tmp_path):
    src = tmp_path / "long.fzs"
    src.write_text(long_h1a())
    n_ops = len(load_fzs(src))
    ref = fz("minimize", src, "-o", tmp_path / "ref.fzs")
    assert ref.returncode == 0

    out, state = tmp_path / "long.min.fzs", tmp_path / "long.min.fzs.minimize.json"
    p = subprocess.Popen([sys.executable, "-m", "fuzzcore.cli", "minimize", str(src)], stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, text=True)
    for line in p.stderr:                       # kill -9 at the first improvement
        if "ops left" in line and f"ops left (from {n_ops})" in line and not line.startswith(
                f"minimize: [ddmin] {n_ops} "):
            p.send_signal(signal.SIGKILL)
            break
    p.wait()
    assert p.returncode == -signal.SIGKILL
    st = json.loads(state.read_text())          # whole JSON
    assert st["pass"] != "done"
    best = load_fzs(out)                        # whole program, and it reproduces
    assert len(best) < n_ops and target_of(out).check(best) is not None
    # (a kill can land inside the next atomic write: its temp file goes with the next run)

    r = fz("minimize", src)
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]
    assert r.returncode == 0 and "resuming from" in r.stderr
    assert f"(from {n_ops}), pass " in r.stderr and "1-minimal;" in r.stdout and "2 session(s)" in r.stdout
    assert load_fzs(out) == load_fzs(tmp_path / "ref.fzs")   # the same result as an uninterrupted run
    assert_one_minimal(out)


@pytest.mark.parametrize("bucket_dir", SHIPPED, ids=[f"{p.parent.name}/{p.name}" for p in SHIPPED])
def test_minimize_shipped_finding_keeps_its_bucket_and_is_1_minimal(bucket_dir, tmp_path):
    """Every finding under crashes/: its min.fzs is 1-minimal, and minimising the campaign's
    first input again gives a 1-minimal program with the same bucket."""
    assert_one_minimal(bucket_dir / "min.fzs")
    r = fz("minimize", bucket_dir / "first.fzs", "-o", tmp_path / "again.fzs", "--max-time", "60")
    assert r.returncode == 0, r.stderr
    assert load_finding(tmp_path / "again.fzs").bucket == load_finding(bucket_dir).bucket
    assert_one_minimal(tmp_path / "again.fzs")
