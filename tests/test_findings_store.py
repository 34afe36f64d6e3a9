"""The findings store: new buckets appear whole, shorter inputs replace min.* at the flush, a
reviewed (minimised) min is kept, and replay walks past campaign corpora."""

import json

from fuzzcore.campaign.findings_store import FindingsStore, bucket_metas
from fuzzcore.engine import Engine
from fuzzcore.program.codec import decode, encode
from fuzzcore.program.fzs import load_fzs
from fuzzcore.triage.replay import program_files

H1A = ["vfio_open()", "vfio_config_write(offset=0x04, width=2, value=0x0002)", "vfio_set_irqs(index=msix, count=1)",
       "vfio_config_write(offset=0x04, width=2, value=0x0000)", "vfio_device_reset()"]


def _program(tmp_path, lines, name="p.fzs"):
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n")
    return encode(load_fzs(f))


def _h1a_violation(data):
    vs = Engine("i350", "linux-7.1").run(data).violations
    return next(v for v in vs if v.bucket[2] == "MSI-X table, Memory off")


def test_new_bucket_whole_then_shorter_input_at_flush(tmp_path):
    store = FindingsStore(tmp_path / "f", "i350", "linux-7.1", "native")
    long = _program(tmp_path, ["pci_save_state()", "pci_save_state()"] + H1A)
    v = _h1a_violation(long)
    assert store.record(long, v) is True
    d = tmp_path / "f" / "mmio_decode_off--vfio_device_reset--MSI-X_table,_Memory_off"
    meta = json.loads((d / "meta.json").read_text())
    assert meta["first_ops"] == meta["min_ops"] == v.op_index + 1 and meta["device"] == "i350"
    assert (d / "min.bin").read_bytes() == (d / "first.bin").read_bytes()
    assert [m.parent.name for m in bucket_metas(tmp_path / "f")] == [d.name]
    assert not [p for p in (tmp_path / "f").iterdir() if p.name.startswith(".new-")]

    short = _program(tmp_path, H1A, "short.fzs")
    vs = _h1a_violation(short)
    assert store.record(short, vs) is False
    assert len(decode((d / "min.bin").read_bytes())) == v.op_index + 1      # not yet: batched
    store.maybe_flush(force=True)
    meta = json.loads((d / "meta.json").read_text())
    assert meta["min_ops"] == vs.op_index + 1 == len(decode((d / "min.bin").read_bytes()))
    assert meta["hits"] == 2 and len(decode((d / "first.bin").read_bytes())) == v.op_index + 1


def test_writer_thread_writes_new_buckets_in_order(tmp_path):
    """A worker's store queues a new bucket for its writer thread: known at once, on disk whole
    after drain, and a second store that meets the same bucket offers its shorter input instead."""
    long = _program(tmp_path, ["pci_save_state()", "pci_save_state()"] + H1A)
    short = _program(tmp_path, H1A, "short.fzs")
    a = FindingsStore(tmp_path / "f", "i350", "linux-7.1", "native")
    a.start_writer()
    assert a.record(long, _h1a_violation(long)) is True
    assert a.buckets() == ["mmio_decode_off--vfio_device_reset--MSI-X_table,_Memory_off"]
    a.drain()
    d = tmp_path / "f" / a.buckets()[0]
    assert json.loads((d / "meta.json").read_text())["min_ops"] == len(decode(long))
    b = FindingsStore(tmp_path / "g", "i350", "linux-7.1", "native")   # not yet reloaded: new to b
    b.root = tmp_path / "f"
    b.start_writer()
    assert b.record(short, _h1a_violation(short)) is True
    b.drain()
    assert json.loads((d / "meta.json").read_text())["min_ops"] == len(decode(short))
    assert len(decode((d / "first.bin").read_bytes())) == len(decode(long))
    assert not [p for p in d.parent.iterdir() if p.name.startswith(".new-")]


def test_a_minimised_min_is_kept(tmp_path):
    store = FindingsStore(tmp_path / "f", "i350", "linux-7.1", "native")
    long = _program(tmp_path, ["pci_save_state()"] + H1A)
    store.record(long, _h1a_violation(long))
    d = next(m.parent for m in bucket_metas(tmp_path / "f"))
    meta = json.loads((d / "meta.json").read_text())
    meta["minimized"] = {"candidates": 10}
    (d / "meta.json").write_text(json.dumps(meta))
    before = (d / "min.fzs").read_text()
    other = FindingsStore(tmp_path / "f", "i350", "linux-7.1", "native")
    short = _program(tmp_path, H1A, "short.fzs")
    other.record(short, _h1a_violation(short))
    other.maybe_flush(force=True)
    assert (d / "min.fzs").read_text() == before
    assert json.loads((d / "meta.json").read_text())["hits"] == 1


def test_replay_walks_past_campaign_corpora(tmp_path):
    (tmp_path / "corpora" / "i350-linux-7.1").mkdir(parents=True)
    (tmp_path / "corpora" / "seeds").mkdir()
    (tmp_path / "corpora" / "i350-linux-7.1" / "0123abcd").write_bytes(bytes(16))
    (tmp_path / "corpora" / "seeds" / "a.fzs").write_text("pci_save_state()\n")
    assert program_files([str(tmp_path / "corpora")]) == [tmp_path / "corpora" / "seeds" / "a.fzs"]
    assert program_files([str(tmp_path / "corpora" / "i350-linux-7.1")]) == [
        tmp_path / "corpora" / "i350-linux-7.1" / "0123abcd"]
