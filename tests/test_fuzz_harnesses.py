"""CI runs each parser's atheris harness briefly on its seed corpus (tests/fuzz/run.py): the
importer, the profile loader, the policy loader and the `.fzs` parser, 8 seconds each. A longer
run is `python tests/fuzz/run.py --seconds 3600` (README "Fuzzing the parsers")."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SECONDS = 8


@pytest.mark.parametrize("harness", ["importer", "profile", "policy", "fzs"])
def test_harness_runs_clean_on_its_seeds(harness, tmp_path):
    pytest.importorskip("atheris")
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "fuzz" / "run.py"), "--seconds", str(SECONDS),
                        "--work", str(tmp_path), harness], capture_output=True, text=True, timeout=SECONDS + 120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert any((tmp_path / harness).iterdir()), "seeded"
    assert not list((tmp_path / f"{harness}-crashes").iterdir())
    assert "Done " in r.stderr and "runs in" in r.stderr
