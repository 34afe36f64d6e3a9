"""`fuzzcore fuzz` end to end: findings are bucketed and kept, campaigns resume, a SIGKILL leaves
only whole files, --stop-on-first stops, real crashes keep their traceback, workers share."""

import json
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fuzzcore.program.codec import decode

ROOT = Path(__file__).parent.parent


def fuzz(out, *args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", str(out), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def ran(r) -> bool:
    """The campaign ran: exit 0 (new root causes exit 1 only with --fail-on-new)."""
    return r.returncode == 0


def _check_store_is_whole(out: Path, allow_temp: bool = False):
    if not allow_temp:
        assert not list(out.rglob("*.tmp")), "a temp file was left behind"
    for meta in (out / "findings").glob("*/meta.json"):
        info = json.loads(meta.read_text())
        assert info["device"] == "i350" and info["bucket"]
        for name in ("first.bin", "min.bin"):
            data = (meta.parent / name).read_bytes()
            assert len(data) % 8 == 0 and decode(data)
        assert (meta.parent / "min.fzs").read_text().startswith("# fuzzcore finding:")


def test_campaign_finds_buckets_and_resumes(tmp_path):
    out = tmp_path / "c"
    r = fuzz(out, "--max-time", 6, "--seed", 7)
    assert ran(r), r.stderr
    assert "buckets" in r.stderr and "done:" in r.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["sessions"] == 1 and stats["runs"] > 100
    buckets = {p.parent.name for p in (out / "findings").glob("*/meta.json")}
    assert buckets, "a 6 s campaign on linux-7.1 finds violations"
    assert any(p.name.startswith("seed-") for p in (out / "corpus").iterdir())
    _check_store_is_whole(out)
    corpus_before = len(list((out / "corpus").iterdir()))
    r = fuzz(out, "--max-time", 4, "--seed", 8, "-verbosity=1")    # libFuzzer says what it loaded
    assert ran(r)
    stats2 = json.loads((out / "stats.json").read_text())
    assert stats2["sessions"] == 2 and stats2["runs"] > stats["runs"]
    assert "previous sessions: 1" in r.stderr
    log = (out / "logs" / "worker-0.log").read_text()
    assert re.search(rf"INFO: +{corpus_before} files found in {re.escape(str(out / 'corpus'))}\n", log), log[:2000]
    assert "INITED" in log
    assert buckets <= {p.parent.name for p in (out / "findings").glob("*/meta.json")}


def test_sigkill_leaves_whole_files_and_the_campaign_resumes(tmp_path):
    out = tmp_path / "k"
    p = subprocess.Popen([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", str(out), "--max-time", "60",
                          "--seed", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    time.sleep(8)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    _check_store_is_whole(out, allow_temp=True)   # a temp file may be left, never a torn target
    r = fuzz(out, "--max-time", 3)
    assert ran(r)
    assert json.loads((out / "stats.json").read_text())["sessions"] == 2
    _check_store_is_whole(out)


def test_stop_on_first(tmp_path):
    r = fuzz(tmp_path / "s", "--max-time", 60, "--stop-on-first", "--seed", 5)
    assert r.returncode == 1
    assert len(list((tmp_path / "s" / "findings").glob("*/meta.json"))) >= 1


def test_a_python_exception_is_a_crash_with_its_traceback(tmp_path):
    # Inject a fault into the worker's executor from outside (sitecustomize), not via a test hook.
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(
        "import fuzzcore.campaign.executor as e\n"
        "orig = e.ReferenceExecutor.run\n"
        "def run(self, data):\n"
        "    if data.count(bytes([0x21])) >= 1:\n"
        "        raise RuntimeError('injected engine fault')\n"
        "    return orig(self, data)\n"
        "e.ReferenceExecutor.run = run\n")
    env = dict(os.environ, PYTHONPATH=f"{inject}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    r = fuzz(tmp_path / "x", "--max-time", 30, "--engine", "reference", "--seed", 2, env=env)
    assert r.returncode == 3, r.stderr
    arts = tmp_path / "x" / "findings" / "artifacts"
    crash = [p for p in arts.iterdir() if p.name.startswith("crash-") and not p.name.endswith(".txt")]
    assert crash
    tb = (arts / f"{crash[0].name}.traceback.txt").read_text()
    assert "injected engine fault" in tb


def test_a_python_exception_under_the_c_driver_is_a_crash_with_its_traceback(tmp_path):
    """The native engine runs under fuzzcore/engine/_driver.pyx, not atheris: an exception on its
    slow path (here the findings store, patched from outside) still ends the worker as a crash
    whose input libFuzzer keeps and whose traceback the harness keeps beside it."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(
        "import fuzzcore.campaign.findings_store as f\n"
        "def record(self, data, v, count_hit=True):\n"
        "    raise RuntimeError('injected store fault')\n"
        "f.FindingsStore.record = record\n")
    env = dict(os.environ, PYTHONPATH=f"{inject}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    r = fuzz(tmp_path / "x", "--max-time", 30, "--engine", "native", "--no-seeds", "--seed", 2, env=env)
    assert r.returncode == 3, r.stderr
    log = (tmp_path / "x" / "logs" / "worker-0.log").read_text()
    assert "Uncaught Python exception" in log and "fuzz target exited" in log
    arts = tmp_path / "x" / "findings" / "artifacts"
    crash = [p for p in arts.iterdir() if p.name.startswith("crash-") and not p.name.endswith(".txt")]
    assert crash and len(crash[0].read_bytes()) % 8 == 0
    assert "injected store fault" in (arts / f"{crash[0].name}.traceback.txt").read_text()


def test_the_c_driver_runs_fuzzcores_mutators(tmp_path):
    """libFuzzer under the C driver calls fuzzcore's structure-aware mutator (its hooks bound
    at load) and its own byte mutators for the rest, as the MutationMix splits them."""
    out = tmp_path / "m"
    assert ran(fuzz(out, "--no-seeds", "--runs", 20000, "--seed", 4))
    stats = json.loads((out / "workers" / "0.json").read_text())
    assert stats["engine"] == "native" and stats["runs"] == 20000
    m = stats["mutations"]
    structured = sum(v for k, v in m.items() if k != "libfuzzer")
    assert structured > 0 and m.get("libfuzzer", 0) > 0
    # structure_pct 80: about four structure-aware mutations per byte-level one
    assert 2 < structured / m["libfuzzer"] < 8
    assert "Uncaught" not in (out / "logs" / "worker-0.log").read_text()


def test_two_workers_share_corpus_and_findings(tmp_path):
    out = tmp_path / "w"
    r = fuzz(out, "--max-time", 6, "--workers", 2, "--seed", 11)
    assert ran(r), r.stderr
    runs = [json.loads((out / "workers" / f"{w}.json").read_text())["runs"] for w in (0, 1)]
    assert all(n > 0 for n in runs)
    assert "2 worker(s)" in r.stderr
    _check_store_is_whole(out)


def test_libfuzzer_flags_pass_through(tmp_path):
    d = tmp_path / "ops.dict"
    d.write_text('"\\x1f"\n')
    r = fuzz(tmp_path / "d", "--max-time", 3, f"-dict={d}", "-verbosity=1")
    assert ran(r), r.stderr
    assert "corpus" in r.stderr, r.stderr
    log = (tmp_path / "d" / "logs" / "worker-0.log").read_text()
    assert "Dictionary: 1 entries" in log
    assert re.search(r"^#\d+\s+INITED cov: ", log, re.M)    # the user's -verbosity=1 beats the worker's 0


def test_bad_arguments_exit_2(tmp_path):
    assert fuzz(tmp_path / "b", "--policy", "linux-7.1+nonesuch").returncode == 2
    assert fuzz(tmp_path / "b", "--device", "nonesuch").returncode == 2
    assert fuzz(tmp_path / "b", "stray").returncode == 2


def test_stats_lines_and_plot(tmp_path):
    out = tmp_path / "p"
    r = fuzz(out, "--max-time", 6, "--seed", 9)
    assert ran(r)
    lines = [json.loads(x) for x in (out / "stats.jsonl").read_text().splitlines()]
    assert lines and {"time", "runs", "runs_per_s", "corpus", "buckets", "features", "cov", "ops",
                      "ops_refused"} <= set(lines[-1])
    stats = json.loads((out / "stats.json").read_text())
    assert lines[-1]["features"] > 0 and lines[-1]["runs"] == stats["runs"]
    # Ops and refused ops: the worker's own counts, carried to stats.json, the lines and the summary.
    worker = json.loads((out / "workers" / "0.json").read_text())
    assert stats["ops"] == lines[-1]["ops"] == worker["ops"] > stats["runs"]
    assert stats["ops_refused"] == lines[-1]["ops_refused"] == worker["ops_refused"] > 0
    assert stats["refused_share"] == stats["session_refused_share"] == round(stats["ops_refused"] / stats["ops"], 4)
    done = next(x for x in r.stderr.splitlines() if x.startswith("fuzzcore: done:"))
    assert f"ops {stats['ops']:,} ({100 * stats['ops_refused'] / stats['ops']:.1f}% refused)" in done, done
    assert "% refused)" in [x for x in r.stderr.splitlines() if x.startswith("[00:")][-1]   # once workers report
    # A second session adds its counts; the share over both is in refused_share.
    assert ran(fuzz(out, "--max-time", 3, "--seed", 10))
    stats2 = json.loads((out / "stats.json").read_text())
    w2 = json.loads((out / "workers" / "0.json").read_text())
    assert stats2["ops"] == stats["ops"] + w2["ops"] and stats2["ops_refused"] == stats["ops_refused"] + w2["ops_refused"]
    assert stats2["session_refused_share"] == round(w2["ops_refused"] / w2["ops"], 4)
    (out / "stats.jsonl").write_text((out / "stats.jsonl").read_text() + '{"time": 9')  # a torn last line
    png = tmp_path / "s.png"
    r = subprocess.run([sys.executable, "-m", "fuzzcore.cli", "plot", str(out), "-o", str(png)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_state_feedback_reaches_libfuzzer(tmp_path):
    """H1(a) needs a 5-op state path (open, Command 0x6, MSI-X, Command 0x4, reset) with no new
    native code on the way. From an empty corpus with a fixed run budget it is found with the
    state counters and not without them (measured: 160-166 buckets vs 53 in 150,000 runs; with
    preconditions, whose owner-aware mutator helps the run without feedback too: 136 vs 87)."""
    bucket = "mmio_decode_off--vfio_device_reset--MSI-X_table,_Memory_off"
    on, off = tmp_path / "on", tmp_path / "off"
    common = ["--no-seeds", "--runs", "150000", "--max-time", "600", "--seed", "1"]
    assert ran(fuzz(on, *common))
    assert ran(fuzz(off, *common, "--no-state-feedback"))
    assert (on / "findings" / bucket / "meta.json").exists()
    assert not (off / "findings" / bucket).exists()
    on_n = len(list((on / "findings").glob("*/meta.json")))
    off_n = len(list((off / "findings").glob("*/meta.json")))
    assert on_n > 1.3 * off_n


def test_default_layout_without_out(tmp_path):
    """No --out: corpus corpora/<device>-<policy>/ (seeded from corpora/seeds and corpora/regression),
    findings, statistics and logs under fuzzcore-out/<device>-<policy>/; nothing under crashes/."""
    r = subprocess.run([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--max-time", "2", "--seed", "4"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert ran(r), r.stderr
    corpus = tmp_path / "corpora" / "i350-linux-7.1"
    seeds = {p.name for p in corpus.iterdir() if p.name.startswith("seed-")}
    want = {f"seed-{f.stem}" for d in ("seeds", "regression") for f in (ROOT / "corpora" / d).glob("*.fzs")}
    assert seeds == want and len(want) >= 13
    stats = tmp_path / "fuzzcore-out" / "i350-linux-7.1"
    assert list((stats / "findings").glob("*/meta.json"))
    assert json.loads((stats / "stats.json").read_text())["sessions"] == 1
    assert (stats / "logs" / "worker-0.log").exists() and (stats / "stats.jsonl").exists()
    assert not [p for p in corpus.iterdir() if p.is_dir()], "nothing but inputs in the corpus dir"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpora", "fuzzcore-out"]
    assert "corpus corpora/i350-linux-7.1 " in r.stderr and "stats fuzzcore-out/i350-linux-7.1" in r.stderr


def test_default_names():
    from fuzzcore.campaign.driver import CampaignOptions, campaign_name, campaign_paths, policy_dir_name
    assert campaign_name("i350", "linux-7.1+vfio-reset-done-v18") == "i350-linux-7.1+vfio-reset-done-v18"
    assert campaign_name("/x/nic.toml", "linux-7.1+./patches/my-fix.toml") == "nic-linux-7.1+my-fix"
    assert policy_dir_name("linux-7.1+/abs/p.toml") == "linux-7.1+p"
    assert campaign_paths(CampaignOptions(policy="linux-7.1+msix-restore-enable-memory")) == (
        Path("fuzzcore-out/i350-linux-7.1+msix-restore-enable-memory"),
        Path("corpora/i350-linux-7.1+msix-restore-enable-memory"),
        Path("fuzzcore-out/i350-linux-7.1+msix-restore-enable-memory/findings"))
    assert campaign_paths(CampaignOptions(out="o", findings="f")) == (Path("o"), Path("o/corpus"), Path("f"))


def test_seeds_load_and_claim_nothing():
    from fuzzcore.program.fzs import load_fzs
    from fuzzcore.triage.replay import replay
    seeds = sorted((ROOT / "corpora" / "seeds").glob("*.fzs"))
    assert 4 <= len(seeds) <= 6
    assert all(1 <= len(load_fzs(f)) <= 12 for f in seeds)
    rows = replay([str(ROOT / "corpora" / "seeds")])
    assert rows and all(r.ok for r in rows), [r for r in rows if not r.ok]


def test_log_tail_reads_only_the_end(tmp_path):
    from fuzzcore.campaign.driver import LogTail
    log = tmp_path / "w.log"
    log.write_bytes(b"INFO: Seed: 1\n#10\tINITED cov: 60 ft: 60 corp: 9/624b exec/s: 0 rss: 61Mb\n#12\tNEW    cov: 61 ft: 6")
    t = LogTail(log)
    t.poll()
    assert (t.execs, t.cov, t.ft) == (10, 60, 60)          # the torn last line waits for its end
    with open(log, "ab") as f:
        f.write(b"4 corp: 10/704b lim: 512\n" + b"x" * 100_000 + b"\n")
        f.write(b"#4096\tpulse  cov: 711 ft: 1145 corp: 90/6Kb lim: 512 exec/s: 2048 rss: 70Mb\n")
    t.poll()
    assert (t.execs, t.cov, t.ft) == (4096, 711, 1145) and t.pos == log.stat().st_size
    with open(log, "ab") as f:
        f.write(b"Done 5000 runs in 3 second(s)\nstat::peak_rss_mb: 70\n")
    t.poll()
    assert t.done == 5000 and t.execs == 4096
    log.write_bytes(b"#3\tINITED cov: 5 ft: 7 corp: 1/8b\n")   # a new session's log
    t.poll()
    assert (t.cov, t.ft) == (5, 7)
    with open(log, "ab") as f:        # a quiet worker (-verbosity=0): only the final stats
        f.write(b"stat::number_of_executed_units: 7000\nstat::average_exec_per_sec:     2333\n")
    t.poll()
    assert t.done == 7000


def test_torn_stats_line_is_cut(tmp_path):
    from fuzzcore.campaign.driver import _cut_torn_line
    p = tmp_path / "stats.jsonl"
    p.write_text('{"a": 1}\n{"b": 2}\n{"c": ')
    _cut_torn_line(p)
    assert p.read_text() == '{"a": 1}\n{"b": 2}\n'
    _cut_torn_line(p)
    assert p.read_text() == '{"a": 1}\n{"b": 2}\n'


def test_status_display_plain_and_rich():
    import io

    from rich.console import Console

    from fuzzcore.campaign.status_display import BucketRow, PlainDisplay, RichDisplay, Status, make_display
    s = Status(elapsed=75.2, execs=71234, exec_per_s=5880.4, corpus=312, features=1145, cov=711,
               buckets=142, new_buckets=3, newest="mmio_decode_off--vfio_device_reset--MSI-X_table,_Memory_off")
    lines = []
    plain = PlainDisplay(lines.append)
    plain.update(s)
    assert lines == ["[01:15] execs 71,234 (5,880/s) corpus 312 features 1,145 cov 711 buckets 142 (+3 new) "
                     "newest mmio_decode_off--vfio_device_reset--MSI-X_table,_Memory_off"]
    import dataclasses
    plain.update(dataclasses.replace(s, ops=400_000, ops_refused=132_400))
    assert lines[-1] == ("[01:15] execs 71,234 (5,880/s) corpus 312 features 1,145 cov 711 ops 400,000 (33.1% refused) "
                         "buckets 142 (+3 new) newest mmio_decode_off--vfio_device_reset--MSI-X_table,_Memory_off")
    lines.pop()
    # A root cause the list does not name but a [[root_cause_class]] may cover is not counted new
    # live: the class needs its tier, which the summary computes.
    plain.update(dataclasses.replace(s, root_causes=40, new_root_causes=1, class_root_causes=2))
    assert "root causes 40 (+1 new, 2 for a class at the end) " in lines.pop()
    plain.update(dataclasses.replace(s, root_causes=40, new_root_causes=0))
    assert "root causes 40 (+0 new) " in lines.pop()
    rows = [BucketRow("snapshot_all_ones--vfio_device_reset--config", 142, 3,
                      "crashes/linux-7.1/snapshot_all_ones--vfio_device_reset--config/min.fzs")]
    plain.summary("fuzzcore: done", rows, ["next: fuzzcore show x --trace"])
    assert lines[-1] == "next: fuzzcore show x --trace" and "snapshot_all_ones" in lines[-2] and "142" in lines[-2]

    for width, with_path in ((200, True), (80, False)):
        buf = io.StringIO()
        rich = RichDisplay(Console(file=buf, force_terminal=True, width=width, color_system=None))
        rich.start()
        rich.update(dataclasses.replace(s, ops=400_000, ops_refused=132_400))
        rich.stop(s)
        rich.summary("fuzzcore: done", rows, ["next: fuzzcore show x --trace"])
        text = buf.getvalue()
        for want in ("01:15", "71,234", "5,880/s", "features", "1,145", "cov", "711", "142", "(+3 new)", "refused 33.1%",
                     "newest", "snapshot_all_ones--vfio_device_reset--config", "next: fuzzcore show x"):
            assert want in text, (width, want, text)
        assert ("crashes/linux-7.1/snapshot_all_ones--vfio_device_reset--config/min.fzs" in text) == with_path
        assert with_path or "crashes/linux-7.1/BUCKET/min.fzs" in text
    assert isinstance(make_display(print, live=False), PlainDisplay)
    assert isinstance(make_display(print, live=True), RichDisplay)


def test_live_status_on_a_terminal(tmp_path):
    """With stderr on a terminal the status is rich's live display and the summary a rich table."""
    import pty
    import select
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", str(tmp_path / "t"),
                          "--max-time", "3", "--seed", "6"], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    data = b""
    while True:
        if select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            data += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    rc = p.wait(timeout=30)
    text = data.decode(errors="replace")
    assert rc == 0, text[-2000:]
    assert "\x1b[" in text and "execs" in text and "features" in text and "newest" in text
    assert "fuzzcore: done:" in text and "root cause(s)" in text and "next: fuzzcore show" in text


def test_every_bucket_has_its_hits_when_libfuzzer_ends(tmp_path):
    """libFuzzer ends a campaign with C exit(); the worker's last flush still writes the hit
    counts and shorter inputs batched since the previous one."""
    out = tmp_path / "h"
    assert ran(fuzz(out, "--max-time", 2, "--seed", 3, "--no-seeds"))
    metas = [json.loads(p.read_text()) for p in (out / "findings").glob("*/meta.json")]
    assert len(metas) > 20      # (fewer since preconditions keep out what the kernel never runs)
    assert all(m["hits"] >= 1 for m in metas), [m["bucket"] for m in metas if not m["hits"]]
    worker = json.loads((out / "workers" / "0.json").read_text())
    assert worker["runs"] == json.loads((out / "stats.json").read_text())["runs"]


def test_plot_rates_stay_within_a_session():
    from fuzzcore.campaign.plot import interval_rates
    rows = [{"time": 0, "runs": 0, "session": 1}, {"time": 5, "runs": 500, "session": 1},
            {"time": 10, "runs": 1500, "session": 1},
            {"time": 12, "runs": 1500, "session": 2}, {"time": 14, "runs": 1700, "session": 2}]
    assert interval_rates(rows, window=1) == ([5, 10, 14], [100.0, 200.0, 100.0])
    assert interval_rates(rows, window=2) == ([10], [150.0])
