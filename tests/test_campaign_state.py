"""Campaign state is checked, not trusted (issue #16): a truncated stats.json or meta.json is
rebuilt from what is on disk with a warning naming what was lost, or stops the campaign (exit 2)
with the file, the line and column, and the way to recover — never a silent reset."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzcore.campaign.findings_store import FindingsStore, bucket_metas
from fuzzcore.campaign.state import CampaignStateError, load_totals, rebuild_meta
from fuzzcore.program.codec import decode


def fuzz(out: Path, seconds: int):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--out", str(out), "--max-time",
                           str(seconds), "--seed", "1"], capture_output=True, text=True, timeout=180)


def truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])


def snapshot(out: Path) -> dict:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and "logs" not in p.parts and "workers" not in p.parts}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    out = tmp_path_factory.mktemp("state") / "c"
    r = fuzz(out, 4)
    assert r.returncode in (0, 1), r.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["runs"] > 0 and stats["sessions"] == 1 and bucket_metas(out / "findings")
    return out


def test_truncated_stats_and_meta_lose_no_run_count_and_no_bucket(campaign, tmp_path):
    import shutil
    out = tmp_path / "c"
    shutil.copytree(campaign, out)
    stats = json.loads((out / "stats.json").read_text())
    buckets = {m.parent.name: json.loads(m.read_text()) for m in bucket_metas(out / "findings")}
    victim = sorted(buckets)[0]
    truncate(out / "stats.json")
    truncate(out / "findings" / victim / "meta.json")

    r = fuzz(out, 2)
    assert r.returncode in (0, 1), r.stderr
    assert f"{out / 'stats.json'}:" in r.stderr and "not valid JSON" in r.stderr
    assert f"rebuilt from stats.jsonl: {stats['runs']} runs" in r.stderr
    assert f"previous sessions: 1, {stats['runs']} runs" in r.stderr
    assert f"{out / 'findings' / victim / 'meta.json'}:" in r.stderr and "rebuilt from min.fzs" in r.stderr
    assert "lost: its hit count" in r.stderr

    after = json.loads((out / "stats.json").read_text())
    assert after["sessions"] == 2 and after["runs"] >= stats["runs"] and after["seconds"] >= stats["seconds"]
    now = {m.parent.name: json.loads(m.read_text()) for m in bucket_metas(out / "findings")}
    assert set(buckets) <= set(now), "no bucket lost"
    meta = now[victim]
    old = buckets[victim]
    for key in ("bucket", "invariant", "device", "policy"):
        assert meta[key] == old[key], key
    d = out / "findings" / victim
    assert meta["min_ops"] == len(decode((d / "min.bin").read_bytes())) <= old["min_ops"]
    assert meta["first_ops"] == len(decode((d / "first.bin").read_bytes()))
    assert meta["rebuilt"]["from"] == "min.fzs" and "hits" in meta["rebuilt"]["lost"]


def test_stats_that_cannot_be_rebuilt_stop_the_campaign_untouched(campaign, tmp_path):
    import shutil
    out = tmp_path / "c"
    shutil.copytree(campaign, out)
    (out / "stats.json").write_text('{"runs": 12')
    (out / "stats.jsonl").unlink()
    before = snapshot(out)
    r = fuzz(out, 2)
    assert r.returncode == 2, r.stderr
    assert f"fuzzcore: error: {out / 'stats.json'}:1:12: not valid JSON" in r.stderr
    assert "Nothing was changed. To recover:" in r.stderr and "Traceback" not in r.stderr
    assert snapshot(out) == before


def test_a_meta_json_that_cannot_be_rebuilt_stops_the_campaign(campaign, tmp_path):
    import shutil
    out = tmp_path / "c"
    shutil.copytree(campaign, out)
    victim = sorted(m.parent for m in bucket_metas(out / "findings"))[0]
    (victim / "meta.json").write_text("")
    for name in ("min.fzs", "first.fzs"):
        (victim / name).unlink()
    before = snapshot(out)
    r = fuzz(out, 2)
    assert r.returncode == 2, r.stderr
    assert f"{victim / 'meta.json'} cannot be rebuilt" in r.stderr and "To recover" in r.stderr
    assert snapshot(out) == before


def test_stats_of_the_wrong_shape_are_rebuilt_too(tmp_path):
    stats, jsonl = tmp_path / "stats.json", tmp_path / "stats.jsonl"
    jsonl.write_text('{"time": 5.0, "session": 2, "runs": 900}\n{"time": 9.5, "session": 3, "runs": 1000}\n{"tim')
    for bad in ('[1, 2]', '{"runs": "many", "seconds": 1, "sessions": 1}', '{"runs": -1, "seconds": 0, "sessions": 0}'):
        stats.write_text(bad)
        said = []
        assert load_totals(stats, jsonl, said.append) == {"runs": 1000, "seconds": 9.5, "sessions": 3}
        assert said and "rebuilt from stats.jsonl: 1000 runs" in said[0]
    stats.write_text('{"runs": 7, "seconds": 1.5, "sessions": 1}')
    said = []
    assert load_totals(stats, jsonl, said.append) == {"runs": 7, "seconds": 1.5, "sessions": 1} and not said
    jsonl.write_text("")
    stats.write_text("{")
    with pytest.raises(CampaignStateError, match=r"stats.json:1:2: not valid JSON"):
        load_totals(stats, jsonl, said.append)


def test_the_store_repairs_a_meta_json_broken_while_it_runs(campaign, tmp_path):
    import shutil
    findings = tmp_path / "f"
    shutil.copytree(campaign / "findings", findings)
    said = []
    store = FindingsStore(findings, "i350", "linux-7.1", "native", warn=said.append)
    name = sorted(store.known)[0]
    meta_path = findings / name / "meta.json"
    hits_before = json.loads(meta_path.read_text())["hits"]
    meta_path.write_text("{")                     # broken under a running store
    store._pending_hits[name] = 5
    store.maybe_flush(force=True)
    meta = json.loads(meta_path.read_text())
    assert meta["hits"] == 5 and meta["rebuilt"] and said and "meta.json:1:2: not valid JSON" in said[0]
    assert hits_before >= 0
    with pytest.raises(CampaignStateError):
        (findings / name / "min.fzs").write_text("pci_save_state()\n")   # no header: nothing says the bucket
        (findings / name / "first.fzs").write_text("pci_save_state()\n")
        rebuild_meta(findings / name)
