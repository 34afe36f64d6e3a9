"""The command line never guesses (issue #16): -h is help everywhere, libFuzzer flags pass only as
-flag=value, unknown options are errors naming close matches, `run` honours a finding's headers,
one wording per kind of error, line numbers count only \\n, text dumps are found by content."""

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from fuzzcore.cli import main
from fuzzcore.device.dump_parser import parse_dump_bytes
from fuzzcore.program.fzs import FzsError, parse_program

ROOT = Path(__file__).parent.parent
DUMP = ROOT / "tests" / "data" / "pciutils-intel-82576-10c9-nic-sriov.txt"


def fz(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fuzzcore.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def _commands(group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_h_is_help_for_every_command(flag, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for path in _commands(main):
        r = CliRunner().invoke(main, [*path, flag])
        assert r.exit_code == 0 and r.output.startswith("Usage:"), (path, r.output)
    assert not list(tmp_path.iterdir()), "asking for help wrote nothing"


def test_fuzz_h_starts_no_campaign(tmp_path):
    r = fz("fuzz", "-h", cwd=tmp_path)
    assert r.returncode == 0 and "Usage:" in r.stdout and "-flag=value" in r.stdout
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args,message", [
    (["--max-tim=3"], "No such option '--max-tim'. Did you mean '--max-time'?"),
    (["--max-tim", "3"], "No such option '--max-tim'. Did you mean '--max-time'?"),
    (["--worker", "2"], "No such option '--worker'. Did you mean '--workers'?"),
    (["-dict"], "'-dict': libFuzzer flags pass as -flag=value"),
    (["-runs", "5"], "'-runs': libFuzzer flags pass as -flag=value"),
    (["corpus_dir"], "unexpected extra argument (corpus_dir)"),
    (["--seed", "-5"], "Invalid value for '--seed': -5 is not in the range"),
    (["--max-time", str(10 ** 30)], "Invalid value for '--max-time'"),
    (["--structure-pct", "101"], "Invalid value for '--structure-pct'"),
])
def test_fuzz_refuses_what_it_would_have_guessed(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["fuzz", *args])
    assert r.exit_code == 2 and message in r.output, r.output
    assert not list(tmp_path.iterdir())


def test_fuzz_passes_libfuzzer_flags_and_parses_its_own(monkeypatch):
    seen = {}

    class Summary:
        exit_code = 0

    def fake_run_campaign(opts, echo):
        seen["opts"] = opts
        return Summary()

    import fuzzcore.campaign.driver as driver
    monkeypatch.setattr(driver, "run_campaign", fake_run_campaign)
    r = CliRunner().invoke(main, ["fuzz", "--max-time", "7", "-use_value_profile=1", "--runs", "-1",
                                  "-dict=x.dict", "--seed", "5", "--workers", "1"])
    assert r.exit_code == 0, r.output
    o = seen["opts"]
    assert o.max_time == 7 and o.runs == -1 and o.seed == 5 and o.libfuzzer_args == ["-use_value_profile=1", "-dict=x.dict"]


H1A = """vfio_open()
vfio_config_write(offset=0x04, width=2, value=0x0006)
vfio_set_irqs(index=msix, count=2)
vfio_config_write(offset=0x04, width=2, value=0x0004)
vfio_device_reset()
"""
FIX = "linux-7.1+msix-restore-enable-memory"


def test_run_honours_the_programs_headers_and_says_when_options_win(tmp_path):
    f = tmp_path / "h1a.fzs"
    f.write_text(f"# device: i350\n# policy: {FIX}\n" + H1A)
    r = fz("run", f)                                   # the header's policy: the fix, no violation
    assert r.returncode == 0 and "no violations" in r.stdout and f"# device i350, policy {FIX}" in r.stdout, r.stderr
    assert not r.stderr
    r = fz("run", "--policy", "linux-7.1", f)          # the command line wins, and says so
    assert r.returncode == 1 and "mmio_decode_off [MSI-X table, Memory off]" in r.stdout
    assert f"run: --policy linux-7.1 overrides the program's '# policy: {FIX}'" in r.stderr
    f.write_text(H1A)                                  # no header: the defaults
    r = fz("run", f)
    assert r.returncode == 1 and "# device i350, policy linux-7.1" in r.stdout


def test_a_missing_file_reads_the_same_under_every_command(tmp_path):
    nope = tmp_path / "nope"
    cases = [("run", f"{nope}.fzs"), ("run", f"{nope}.bin"), ("show", f"{nope}.fzs"), ("replay", f"{nope}.fzs"),
             ("minimize", f"{nope}.fzs"), ("cmin", nope, "-o", tmp_path / "out"),
             ("device", "import", f"{nope}.txt"), ("device", "show", f"{nope}.toml"),
             ("run", "--device", f"{nope}.toml", "PROG"), ("run", "--policy", f"linux-7.1+{nope}.toml", "PROG")]
    prog = tmp_path / "p.fzs"
    prog.write_text("pci_save_state()\n")
    for args in cases:
        args = [prog if a == "PROG" else a for a in args]
        r = CliRunner().invoke(main, [str(a) for a in args])
        assert r.exit_code == 2, (args, r.output)
        assert "no such file or directory" in r.output and str(nope) in r.output, (args, r.output)
        assert "Traceback" not in r.output and "Errno" not in r.output, (args, r.output)


def test_non_utf8_fzs_names_file_line_and_column(tmp_path):
    f = tmp_path / "latin1.fzs"
    f.write_bytes(b"pci_save_state()\n# Intel\xae\npci_restore_state()\n")
    for cmd in ("run", "show"):
        r = CliRunner().invoke(main, [cmd, str(f)])
        assert r.exit_code == 2 and f"{f}:2:8: not UTF-8 text (byte 0xae)" in r.output, (cmd, r.output)


@pytest.mark.parametrize("brk", ["\v", "\f", "\u2028", "\x1c", "\x85", "\r"])
def test_line_numbers_count_only_newlines(brk, tmp_path):
    with pytest.raises(FzsError) as e:
        parse_program(f"# a comment{brk}with a break\npci_save_state()\nnot_an_op()\n", "x.fzs")
    assert e.value.line == 3
    from fuzzcore.util.toml_source import TomlError, parse_toml
    toml_ok = brk in ("\u2028", "\x85")          # TOML allows these in a comment, not control characters
    with pytest.raises(TomlError) as e:
        parse_toml(f"# a comment{brk}more\na = 1\nb = [\n", "x.toml")
    assert e.value.line == (3 if toml_ok else 1), e.value
    if toml_ok:
        from fuzzcore.policy.loader import load_policy
        pol = tmp_path / "p.toml"
        pol.write_text((ROOT / "fuzzcore" / "policies" / "no-bar-snapshot-update.toml").read_text()
                       .replace("[overlay]", f"# note{brk}note\n[overlay]", 1) + "\n[reset]\nbogus = 1\n")
        with pytest.raises(TomlError) as e:
            load_policy(f"linux-7.1+{pol}")
        assert pol.read_text().split("\n")[e.value.line - 1].startswith("bogus"), e.value
    dump = DUMP.read_text().replace("# source:", f"# a{brk}b\n# source:", 1).replace("\n10: ", "\n10: zz ", 1)
    with pytest.raises(ValueError) as e:
        parse_dump_bytes(dump.encode(), "d.txt")
    assert e.value.line == DUMP.read_text().split("\n").index(next(ln for ln in DUMP.read_text().split("\n")
                                                                     if ln.startswith("10: "))) + 2


def test_lspci_text_with_a_non_ascii_byte_is_text(tmp_path):
    text = DUMP.read_bytes()
    for mark in ("Intel®".encode(), b"Intel\xae"):
        dump = parse_dump_bytes(text.replace(b"Intel", mark, 1), "d.txt")
        assert dump.size == 4096 and "82576" in dump.source
    f = tmp_path / "d.txt"
    f.write_bytes(text.replace(b"Intel", b"Intel\xae", 1))
    r = CliRunner().invoke(main, ["device", "import", str(f), "--bar", "0=128K", "--bar", "3=16K"])
    assert r.exit_code == 0 and "raw config file" not in r.output, r.output


@pytest.mark.parametrize("dump,bar,message", [
    (DUMP, "9=1M", "--bar 9=1M: N is a BAR index, 0..5"),
    (DUMP, "-1=1M", "--bar -1=1M: N is a BAR index, 0..5"),
    (DUMP, "x=1M", "--bar takes N=SIZE"),
    (ROOT / "tests" / "data" / "pcitool-intel-cnl-rootport-dpc-ptm-l1ss.txt", "3=1M",
     "--bar 3=...: this dump's header (type 1) has BAR0..BAR1"),
])
def test_device_import_refuses_a_bar_it_would_ignore(dump, bar, message):
    r = CliRunner().invoke(main, ["device", "import", str(dump), "--bar", bar])
    assert r.exit_code == 2 and message in r.output, r.output


def test_device_import_bar_on_the_upper_half_of_a_64_bit_bar():
    dump = ROOT / "tests" / "data" / "pciutils-amd-fiji-gpu-rebar-ats-pri-pasid.txt"
    r = CliRunner().invoke(main, ["device", "import", str(dump), "--bar", "1=1M"])
    assert r.exit_code == 2 and "BAR1 is the upper half of 64-bit BAR0" in r.output, r.output


def test_a_bucket_with_a_broken_meta_json_is_a_located_error(tmp_path):
    import shutil
    src = next((ROOT / "crashes").glob("*/*/meta.json")).parent
    d = tmp_path / src.name
    shutil.copytree(src, d)
    (d / "meta.json").write_text('{"bucket": [\n')
    for cmd in ("show", "replay"):
        r = CliRunner().invoke(main, [cmd, str(d)])
        assert r.exit_code == 2 and f"{d / 'meta.json'}:2:1: not valid JSON" in r.output, (cmd, r.output)
