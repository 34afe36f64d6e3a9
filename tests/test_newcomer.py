"""The README's quick start as a newcomer meets it: a default campaign leaves a checkout's
`git status` clean, and a regular (non-editable) install runs a campaign from the checkout root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tracked_copy(dst: Path) -> Path:
    """The repository's files as a fresh clone of this tree would hold them (tracked files and new
    ones not ignored, with their current contents), committed in a new git repo."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q"], cwd=dst, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dst, check=True)
    subprocess.run(git + ["commit", "-qm", "snapshot"], cwd=dst, check=True)
    return dst


def ran(r) -> bool:
    """The campaign ran: exit 0 (new root causes exit 1 only with --fail-on-new)."""
    return r.returncode == 0


def test_default_campaign_leaves_the_checkout_clean(tmp_path):
    repo = _tracked_copy(tmp_path / "clone")
    r = subprocess.run([sys.executable, "-m", "fuzzcore.cli", "fuzz", "--max-time", "4", "--seed", "7"],
                       cwd=repo, capture_output=True, text=True, timeout=120)
    assert ran(r), r.stderr
    findings = repo / "fuzzcore-out" / "i350-linux-7.1" / "findings"
    assert list(findings.glob("*/meta.json")), "the campaign found nothing; the check below would be empty"
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout
    assert status == "", status


def test_regular_install_runs_a_campaign_from_the_checkout_root(tmp_path):
    """`pip install .` (not editable), then `fuzzcore fuzz` with the shell in the checkout root: the
    workers must import the installed package, not the uncompiled tree in the current directory."""
    src = _tracked_copy(tmp_path / "src")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
           "--no-build-isolation", str(src)]
    r = subprocess.run(pip, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    where = subprocess.run([str(py), "-P", "-c", "import fuzzcore; print(fuzzcore.__file__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert str(env_dir) in where, where          # the venv's copy, not the editable checkout
    out = tmp_path / "campaign"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([str(env_dir / "bin" / "fuzzcore"), "fuzz", "--out", str(out), "--max-time", "10",
                        "--seed", "3"], cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert ran(r), r.stderr[-3000:]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["runs"] > 10_000, stats
    assert list((out / "findings").glob("*/meta.json"))
