"""The reference commands (`fuzzcore ops`, `invariants`, `policy`) and the docs generated from the
same tables: docs/ops.md and docs/invariants.md must equal what the commands print now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fuzzcore.cli import main
from fuzzcore.cli.reference import invariants_markdown, ops_markdown
from fuzzcore.model.invariants import INVARIANTS
from fuzzcore.program.arg_docs import ARG_MEANINGS
from fuzzcore.program.op_table import OPS

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("doc, render, command", [
    ("ops.md", ops_markdown, "fuzzcore ops --markdown > docs/ops.md"),
    ("invariants.md", invariants_markdown, "fuzzcore invariants --markdown > docs/invariants.md"),
])
def test_generated_docs_equal_the_tables(doc, render, command):
    assert (ROOT / "docs" / doc).read_text() == render(), f"docs/{doc} is stale: run `{command}`"


def test_every_argument_has_a_meaning_and_no_meaning_is_orphaned():
    have = {(op.name, a.name) for op in OPS for a in op.args}
    assert not have - ARG_MEANINGS.keys(), f"undocumented (fuzzcore/program/arg_docs.py): {sorted(have - ARG_MEANINGS.keys())}"
    assert not ARG_MEANINGS.keys() - have, f"documented but not in the op table: {sorted(ARG_MEANINGS.keys() - have)}"


def test_every_invariant_says_when_and_what_it_checks():
    for inv in INVARIANTS:
        assert inv.meaning and inv.hazard and inv.checked and inv.registers, inv.name


def test_ops_lists_every_op_and_one_in_full():
    r = _cli("ops")
    assert r.exit_code == 0
    assert all(op.name in r.output for op in OPS)
    r = _cli("ops", "pci_enable_sriov")
    assert r.exit_code == 0 and "num_vfs=1 enables two VFs" in r.output and "upstream: pci_enable_sriov" in r.output


def test_unknown_names_suggest_the_close_ones():
    r = CliRunner().invoke(main, ["ops", "pci_enable_srio"])
    assert r.exit_code == 2 and "did you mean pci_enable_sriov" in r.output
    r = CliRunner().invoke(main, ["invariants", "mmio_decode"])
    assert r.exit_code == 2 and "mmio_decode_off" in r.output


def test_invariants_show_meaning_moment_registers_example():
    r = _cli("invariants", "mmio_decode_off")
    assert r.exit_code == 0
    for word in ("meaning:", "checked:", "registers:", "example: crashes/"):
        assert word in r.output


def test_policy_list_show_check(tmp_path):
    r = _cli("policy", "list")
    assert r.exit_code == 0 and "linux-7.1" in r.output and "baseline" in r.output and "overlay" in r.output
    assert "does not load" not in r.output, r.output
    r = _cli("policy", "show", "linux-7.1+msix-restore-enable-memory")
    assert r.exit_code == 0 and "pci_restore_state" in r.output and "msix-restore-enable-memory" in r.output
    r = _cli("policy", "check", str(ROOT / "docs" / "examples" / "ptm-restore-gated.toml"))
    assert r.exit_code == 0 and ": ok" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[overlay]\nname = "bad"\ndescription = "x"\n\n[restore.steps]\nnot_a_step = { gate = "always" }\n')
    r = CliRunner().invoke(main, ["policy", "check", str(bad)])
    assert r.exit_code == 2 and f"{bad}:" in r.output


@pytest.mark.parametrize("args", [["ops"], ["invariants"], ["policy"], ["policy", "list"], ["policy", "show"],
                                  ["policy", "check"], ["promote"]])
def test_help(args):
    for flag in ("--help", "-h"):
        r = subprocess.run([sys.executable, "-m", "fuzzcore.cli", *args, flag], capture_output=True, text=True)
        assert r.returncode == 0 and "Usage:" in r.stdout, (args, flag, r.stderr)


def test_fzs_unknown_op_and_argument_name_line_column_and_close_names(tmp_path):
    from fuzzcore.program.fzs import FzsError, load_fzs
    p = tmp_path / "t.fzs"
    p.write_text("pci_save_state()\n  pci_reset_function(methd=flr)\n")
    with pytest.raises(FzsError) as e:
        load_fzs(p)
    assert f"{p}:2:22:" in str(e.value) and "did you mean method" in str(e.value)
    p.write_text("pci_sve_state()\n")
    with pytest.raises(FzsError) as e:
        load_fzs(p)
    assert f"{p}:1:1:" in str(e.value) and "did you mean pci_save_state" in str(e.value)


def test_policy_show_marks_added_and_removed_steps_and_check_prints_only_the_changes():
    """An overlay's removed steps stay visible (struck out, with the overlay's name) and its new
    steps say so; `policy check` of an overlay prints what it changes, not the whole policy."""
    r = _cli("policy", "show", f"linux-7.1+{ROOT / 'docs' / 'examples' / 'pre-b07461a8e45b.toml'}", "pci_aer_init")
    assert r.exit_code == 0 and "--  clear" in r.output and "removed  [pre-b07461a8e45b]" in r.output, r.output
    r = _cli("policy", "show", "linux-7.1+linux-6.12", "pci_dev_save_and_disable")
    assert "stop_if_inaccessible  stop when config_all_ones  added  [linux-6.12]" in r.output, r.output
    r = _cli("policy", "show", "linux-7.1", "pci_aer_init")
    assert "removed" not in r.output and "added" not in r.output
    r = _cli("policy", "check", str(ROOT / "docs" / "examples" / "pre-b07461a8e45b.toml"))
    lines = r.output.splitlines()
    assert r.exit_code == 0 and lines[0].endswith(": ok (linux-7.1+" + str(ROOT / "docs" / "examples" /
                                                                              "pre-b07461a8e45b.toml") + ")")
    assert len(lines) == 5 and all("[pre-b07461a8e45b]" in ln for ln in lines[1:]), r.output
