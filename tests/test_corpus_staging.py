"""Corpus staging (fuzzcore/campaign/corpus_staging.py): the workers' new inputs reach the corpus
whole, libFuzzer's deletions of replaced inputs follow, and a killed driver's staged inputs are
recovered by the next campaign on the same corpus."""

import hashlib
import os
import subprocess
import sys

from fuzzcore.campaign.corpus_staging import PREFIX, CorpusStaging, _key


def _unit(stage, data: bytes) -> str:
    name = hashlib.sha1(data).hexdigest()
    (stage / name).write_bytes(data)
    return name


def test_sync_copies_whole_inputs_and_follows_deletions(tmp_path):
    corpus, shm = tmp_path / "corpus", tmp_path / "shm"
    corpus.mkdir()
    shm.mkdir()
    (corpus / "old").write_bytes(b"kept")
    st = CorpusStaging(corpus, shm)
    stage = st.open()
    assert stage.parent == shm and stage.name.endswith(f"-{os.getpid()}")
    a = _unit(stage, b"\x01" * 8)
    b = _unit(stage, b"\x02" * 16)
    (stage / ("0" * 40)).write_bytes(b"\x03" * 8)       # libFuzzer still writing it: name != sha1
    assert st.sync() == 2
    assert sorted(os.listdir(corpus)) == sorted(["old", a, b])
    assert (corpus / b).read_bytes() == b"\x02" * 16
    (stage / a).unlink()                                 # replaced by a shorter input
    c = _unit(stage, b"\x04" * 8)
    assert st.sync() == 1
    assert sorted(os.listdir(corpus)) == sorted(["old", b, c])
    st.close()
    assert not stage.exists() and sorted(os.listdir(corpus)) == sorted(["old", b, c])


def test_a_dead_drivers_staging_is_recovered(tmp_path):
    corpus, shm = tmp_path / "corpus", tmp_path / "shm"
    corpus.mkdir()
    shm.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    left = shm / f"{PREFIX}{_key(corpus)}-{dead}"
    left.mkdir()
    name = _unit(left, b"\x05" * 24)
    live = shm / f"{PREFIX}{_key(corpus)}-{os.getppid()}"   # a live process's: not touched
    live.mkdir()
    _unit(live, b"\x06" * 8)
    st = CorpusStaging(corpus, shm)
    st.open()
    assert os.listdir(corpus) == [name] and not left.exists() and live.exists()
    st.close()


def test_no_memory_file_system_means_no_staging(tmp_path):
    st = CorpusStaging(tmp_path, tmp_path / "missing")
    assert st.open() is None and st.sync() == 0
    st.close()
