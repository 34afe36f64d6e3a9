"""The `fuzzcore` command line: sub-commands, flags and exit codes; the work is elsewhere.

Exit codes: 0 success, 1 findings (violations) where a command reports them, 2 bad input.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# numpy's OpenBLAS starts a thread pool that spins beside single-threaded work; nothing here uses
# BLAS (numpy holds arrays only). Unset, the pool took a fifth of `fuzzcore bench`'s engine run
# (perf: blas_thread_server 19.5 %; run_batch 135,616 -> 200,796 programs/s with it at 1).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click

from .. import __version__

EXIT_BAD_INPUT = 2


def _fail(message: str) -> "NoReturn":  # noqa: F821
    click.echo(f"fuzzcore: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


class InputUsageError(click.ClickException):
    """Bad input found while click parses the command line, worded as every other bad input is
    (`fuzzcore: error: ...`, exit 2), not as click's usage error."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file=None) -> None:
        click.echo(f"fuzzcore: error: {self.message}", err=True)


class _ExistingPath(click.Path):
    """click.Path(exists=True) with the one wording for a missing file (util/text_input.py)."""

    def convert(self, value, param, ctx):
        import os
        from ..util.text_input import missing_file
        if self.exists and not os.path.exists(value):
            raise InputUsageError(missing_file(value))
        return super().convert(value, param, ctx)


def _uniform_paths(group: click.Group) -> None:
    """Every command's click.Path(exists=True) reports a missing file as the readers do."""
    for cmd in group.commands.values():
        if isinstance(cmd, click.Group):
            _uniform_paths(cmd)
        for param in cmd.params:
            t = param.type
            if type(t) is click.Path and t.exists:
                param.type = _ExistingPath(exists=True, file_okay=t.file_okay, dir_okay=t.dir_okay,
                                           writable=t.writable, readable=t.readable, resolve_path=t.resolve_path,
                                           allow_dash=t.allow_dash, path_type=t.type)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fuzzcore")
def main() -> None:
    """Fuzz the ordering of PCI config-space save, reset and restore (Linux, vfio-pci, QEMU)."""


# --- device -----------------------------------------------------------------------------------

@main.group()
def device() -> None:
    """Import, list and inspect device profiles."""


def _parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    if text and text[-1] in mult:
        return int(text[:-1], 0) * mult[text[-1]]
    return int(text, 0)


@device.command("import")
@click.argument("dump_file", type=click.Path(dir_okay=False))
@click.option("--slot", help="Device to take from a multi-device lspci file (e.g. 01:00.0).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Profile to write (NAME.toml).")
@click.option("--name", help="Profile name (default: the output file's stem).")
@click.option("--bar", "bar_opts", multiple=True, metavar="N=SIZE",
              help="BAR size the dump cannot tell, e.g. --bar 0=1M --bar 3=16K; repeatable.")
@click.option("--rom-size", help="Expansion ROM size, e.g. 512K.")
@click.option("--upstream-port", default="", help="Built-in profile of the port above this device.")
@click.option("--strict", is_flag=True, help="Treat consistency warnings (upstream port type, BAR size "
                                             "against Resizable BAR Control) as errors: exit 2, nothing written.")
@click.option("--vf-output", type=click.Path(dir_okay=False),
              help="Also write the profile of one of the PF's VFs, derived from its SR-IOV capability.")
@click.option("--vf-index", type=int, default=0, show_default=True, help="Which VF --vf-output derives.")
@click.option("--vf-bar", "vf_bar_opts", multiple=True, metavar="N=SIZE",
              help="A VF BAR's per-VF size the dump cannot tell, e.g. --vf-bar 0=16K; repeatable.")
@click.option("--vf-keep", "vf_keep", multiple=True, type=click.Choice(["pm", "msi"]),
              help="An optional capability the VF has as its PF does (PCI PM, MSI); repeatable. "
                   "Without it the VF has neither.")
@click.option("--vf-msix", "vf_msix", type=int, default=None, metavar="N",
              help="The VF's MSI-X table size in entries (default: the PF's, with a warning).")
def device_import(dump_file, slot, output, name, bar_opts, rom_size, upstream_port, strict, vf_output, vf_index,
                  vf_bar_opts, vf_keep, vf_msix):
    """Make a device profile from an lspci -xxxx dump, an annotated hexdump or a sysfs config file."""
    from ..util.atomic_write import atomic_write_text, clear_temps
    from ..device.dump_parser import AmbiguousSlotError, DumpError, parse_dump_file
    from ..device.profile import loads_profile, profile_from_dump, profile_to_toml

    sizes: dict = {}
    try:
        for opt in bar_opts:
            idx, _, size = opt.partition("=")
            if int(idx) not in range(6):
                _fail(f"--bar {opt}: N is a BAR index, 0..5")
            sizes[int(idx)] = _parse_size(size)
        if rom_size:
            sizes["rom"] = _parse_size(rom_size)
    except ValueError:
        _fail(f"--bar takes N=SIZE (e.g. 0=1M), --rom-size a size; got {bar_opts or rom_size!r}")
    try:
        dump = parse_dump_file(dump_file, slot)
    except (DumpError, AmbiguousSlotError) as e:
        _fail(str(e))
    if not name:
        name = Path(output).stem if output else Path(dump_file).stem
    try:
        prof = profile_from_dump(name, dump, upstream_port, sizes)
        text = profile_to_toml(prof)
        loads_profile(text, output or "<generated>")  # the written file must load back
    except ValueError as e:
        _fail(str(e))
    for w in prof.walk.warnings:
        click.echo(f"warning: {dump_file}: {w}", err=True)
    from ..device.consistency import consistency_warnings
    upstream = None
    if upstream_port:
        from ..device.builtin import resolve_device
        try:
            upstream = resolve_device(upstream_port)
        except (LookupError, ValueError) as e:
            _fail(f"--upstream-port: {e}")
    problems = consistency_warnings(prof, upstream)
    for w in problems:
        click.echo(f"{'error' if strict else 'warning'}: {dump_file}: {w}", err=True)
    if problems and strict:
        sys.exit(2)
    if prof.bar_sizes_guessed:
        click.echo(f"warning: {dump_file}: BAR/ROM sizes guessed from address alignment; pass --bar N=SIZE",
                   err=True)
    vf_text = _vf_profile_text(prof, dump_file, vf_output, vf_index, vf_bar_opts, frozenset(vf_keep),
                               vf_msix) if vf_output else ""
    if output:
        clear_temps(Path(output).parent, (Path(output).name,))    # what a killed import left
        atomic_write_text(output, text)
        click.echo(f"wrote {output}: {prof.description or name} ({len(prof.walk.all)} capabilities)")
    else:
        click.echo(text, nl=False)
    if vf_output:
        clear_temps(Path(vf_output).parent, (Path(vf_output).name,))
        atomic_write_text(vf_output, vf_text)
        click.echo(f"wrote {vf_output}: a VF of {name} (derived: docs/model.md, SR-IOV virtual functions)",
                   err=not output)


def _vf_profile_text(pf, dump_file: str, vf_output: str, vf_index: int, vf_bar_opts, keep: frozenset,
                     msix_entries: int | None) -> str:
    """The VF profile --vf-output asks for, checked by loading it back; exit 2 with the reason when
    the PF's dump gives no VF."""
    from ..device.profile import ProfileError, loads_profile, profile_to_toml
    from ..device.vf_profile import vf_profile_from_pf
    sizes = {}
    for opt in vf_bar_opts:
        idx, _, size = opt.partition("=")
        try:
            sizes[int(idx)] = _parse_size(size)
        except ValueError:
            _fail(f"--vf-bar takes N=SIZE (e.g. 0=16K); got {opt!r}")
        if int(idx) not in range(6):
            _fail(f"--vf-bar {opt}: N is a VF BAR index, 0..5")
    try:
        vf = vf_profile_from_pf(pf, Path(vf_output).stem, vf_index, sizes, keep, msix_entries)
        text = profile_to_toml(vf)
        loads_profile(text, vf_output)
    except ProfileError as e:
        _fail(f"--vf-output: {dump_file}: {e.message}")
    except ValueError as e:
        _fail(f"--vf-output: {e}")
    if vf.bar_sizes_guessed:
        click.echo(f"warning: {vf_output}: VF BAR sizes guessed from address alignment; pass --vf-bar N=SIZE",
                   err=True)
    if vf.msix is not None and msix_entries is None:
        click.echo(f"warning: {vf_output}: the VF's MSI-X table size is the PF's ({vf.msix.entries}); pass "
                   "--vf-msix N", err=True)
    return text


@device.command("list")
def device_list():
    """List the built-in devices."""
    from ..device.builtin import DEFAULT_DEVICE, builtin_names, resolve_device

    for n in builtin_names():
        prof = resolve_device(n)
        mark = "*" if n == DEFAULT_DEVICE else " "
        click.echo(f"{mark} {n:14} {prof.pcie_type:15} {prof.description}")


@device.command("show")
@click.argument("name", default="i350")
def device_show(name):
    """Show a device's capabilities and what the kernel saves and restores for each."""
    from ..device.builtin import resolve_device
    from ..device.kernel_handling import handling
    from ..util.toml_source import TomlError

    try:
        prof = resolve_device(name)
    except (LookupError, TomlError) as e:
        _fail(str(e))
    vid, did = prof.vendor_device
    click.echo(f"{prof.name}: {prof.description} [{vid:04x}:{did:04x}]")
    click.echo(f"  type {prof.pcie_type}, header {prof.header_type}, dump {len(prof.image)} bytes, "
               f"upstream port: {prof.upstream_port or '(none)'}")
    click.echo(f"  FLR {'yes' if prof.flr else 'no'}, NoSoftRst {'yes' if prof.no_soft_reset else 'no'}, "
               f"platform D3cold {'yes' if prof.platform_d3cold else 'no (a D3cold request ends in D3hot)'}")
    for b in prof.bars:
        click.echo(f"  BAR{b.index}: {b.kind}{' prefetchable' if b.prefetchable else ''} size 0x{b.size:x}")
    if prof.rom_size:
        click.echo(f"  ROM: size 0x{prof.rom_size:x}")
    if prof.msix:
        m = prof.msix
        click.echo(f"  MSI-X: {m.entries} entries, table BAR{m.table_bir}+0x{m.table_offset:x}, "
                   f"PBA BAR{m.pba_bir}+0x{m.pba_offset:x}")
    click.echo("")
    click.echo(f"  {'offset':>6}  {'capability':12} {'saved by pci_save_state':48} restored by")
    for cap in prof.walk.all:
        save, restore = handling(cap.cap_id, cap.extended)
        ver = f" v{cap.version}" if cap.extended else ""
        click.echo(f"  0x{cap.offset:03x}   {cap.name + ver:12} {save:48} {restore}")
    for w in prof.walk.warnings:
        click.echo(f"  warning: {w}")


# --- fuzz ----------------------------------------------------------------------------------

_LIBFUZZER_FLAG = __import__("re").compile(r"-[A-Za-z_][A-Za-z0-9_]*=.*")


class _FuzzCommand(click.Command):
    """`fuzz`: libFuzzer flags pass in their own form only (`-flag=value`, one dash) and are taken
    out before click parses the rest, so `-h`/`--help` is help, an unknown `--option` is an error
    naming the close matches (click's "Did you mean"), and anything else with one dash is an error
    saying what form a libFuzzer flag has."""

    def parse_args(self, ctx, args):
        takes_value = {o for p in self.params if isinstance(p, click.Option) and not p.is_flag for o in p.opts}
        libfuzzer, rest = [], []
        after_option = False
        for a in args:
            if after_option:
                rest.append(a)
                after_option = False
            elif _LIBFUZZER_FLAG.fullmatch(a):
                libfuzzer.append(a)
            elif a in ("-h", "--help") or a.startswith("--"):
                rest.append(a)
                after_option = a in takes_value
            elif a.startswith("-"):
                raise click.UsageError(f"{a!r}: libFuzzer flags pass as -flag=value (e.g. -dict=FILE, "
                                       f"-use_value_profile=1); fuzzcore's own options start with '--'", ctx)
            else:
                rest.append(a)     # click says what is wrong with it (an unknown option's value, an extra argument)
        ctx.meta["libfuzzer_args"] = libfuzzer
        return super().parse_args(ctx, rest)


@main.command("fuzz", cls=_FuzzCommand)
@click.option("--device", default="i350", show_default=True, help="Built-in device name or profile TOML.")
@click.option("--policy", default="linux-7.1", show_default=True, help="Policy spec: base+overlay+...")
@click.option("--out", metavar="DIR",
              help="A self-contained (scratch) campaign: DIR/corpus/, DIR/findings/, DIR/stats.json, "
                   "DIR/logs/. Without it (paths relative to the current directory): corpus "
                   "corpora/DEVICE-POLICY/, findings, statistics and logs fuzzcore-out/DEVICE-POLICY/ (all "
                   "git-ignored; `fuzzcore promote` moves a reviewed finding into crashes/). Re-run with "
                   "the same options to resume.")
@click.option("--corpus", metavar="DIR",
              help="Corpus directory (default corpora/DEVICE-POLICY/, or DIR/corpus with --out); "
                   "libFuzzer reads every file under it as an input.")
@click.option("--findings", metavar="DIR",
              help="Findings store (default fuzzcore-out/DEVICE-POLICY/findings/, or DIR/findings with --out).")
# Bounded as libFuzzer parses them (int flags; -seed is unsigned 32-bit).
@click.option("--max-time", default=60, show_default=True, type=click.IntRange(0, 2**31 - 1),
              help="Seconds to fuzz (libFuzzer -max_total_time).")
@click.option("--runs", default=-1, type=click.IntRange(-1, 2**31 - 1),
              help="Inputs to run per worker (libFuzzer -runs); -1: no limit.")
@click.option("--seed", default=0, type=click.IntRange(0, 2**32 - 1), help="Random seed (libFuzzer -seed); 0: from the clock.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256),
              help="Worker processes sharing corpus and findings.")
@click.option("--engine", type=click.Choice(["auto", "native", "reference"]), default="auto", show_default=True)
@click.option("--stop-on-first", is_flag=True, help="Stop at the first new bucket (exit 1).")
@click.option("--structure-pct", default=80, show_default=True, type=click.IntRange(0, 100),
              help="Percent of mutations done by the structure-aware mutator (the rest: libFuzzer's).")
@click.option("--no-state-feedback", "--no-state-features", "no_state_features", is_flag=True,
              help="Do not feed abstract-state counters to libFuzzer (for measuring what they add).")
@click.option("--no-prefix-resume", is_flag=True,
              help="Run every input from the initial state, not from a checkpoint of the last run's "
                   "shared first ops (the results are the same; for measuring what resuming saves).")
@click.option("--no-seeds", is_flag=True,
              help="Start an empty corpus empty (default: seeded from corpora/seeds/ and corpora/regression/).")
@click.option("--fail-on-new", is_flag=True,
              help="Exit 1 when the campaign reports a root cause the baseline's reviewed known-findings "
                   "list lacks (for CI on a patch); without it the summary names them and the exit is 0.")
@click.option("--all", "all_tiers", is_flag=True,
              help="Exit summary: list by-design and fixed-by root causes too (default: hazard and environmental).")
def fuzz_cmd(device, policy, out, corpus, findings, max_time, runs, seed, workers, engine, stop_on_first,
             structure_pct, no_state_features, no_prefix_resume, no_seeds, all_tiers, fail_on_new):
    """Run a campaign: violations are findings (one directory per bucket in the findings store), not
    crashes. Shows a live status on a terminal (execs, exec/s, corpus, libFuzzer's features and
    coverage, root causes, buckets) and a status line every 5 s otherwise; ends with the root causes
    (buckets grouped by provenance), each with its tier, and whether the baseline's reviewed
    known-findings list (fuzzcore/policies/known/) has it.

    Arguments of the form -flag=value (one dash) go to libFuzzer as they are (e.g. -dict=FILE,
    -use_value_profile=1); any other argument that is not an option above is an error.
    Exit 0 when the campaign ran (the summary says "no new root causes", or names the new ones);
    1 with --fail-on-new when a root cause the baseline's reviewed list does not know appeared, or
    with --stop-on-first when something was found; 2 on bad input, 3 when a worker crashed (a real crash, kept in the
    findings store's artifacts/)."""
    from ..campaign.driver import CampaignOptions, run_campaign
    from ..device.builtin import resolve_device
    from ..policy import load_policy
    from ..triage.tiers import known_root_causes

    libfuzzer_args = click.get_current_context().meta["libfuzzer_args"]
    try:
        resolve_device(device)
        load_policy(policy)
        known_root_causes(policy)       # a malformed reviewed list fails here, before any run
    except (LookupError, ValueError) as e:
        _fail(str(e))
    if workers < 1:
        _fail("--workers must be at least 1")
    summary = _checked(run_campaign)(CampaignOptions(
        device=device, policy=policy, out=out, corpus=corpus, findings=findings, max_time=max_time, runs=runs,
        seed=seed, workers=workers, engine=engine, stop_on_first=stop_on_first, structure_pct=structure_pct,
        seeds_dir="none" if no_seeds else None, state_features=not no_state_features,
        prefix_resume=not no_prefix_resume, libfuzzer_args=list(libfuzzer_args), all_tiers=all_tiers, fail_on_new=fail_on_new),
        echo=lambda s: click.echo(s, err=True))
    sys.exit(summary.exit_code)


def _checked(run_campaign):
    """run_campaign, with a campaign file that neither parses nor can be rebuilt as bad input
    (fuzzcore/campaign/state.py): the file, where, and how to recover; exit 2."""
    from ..campaign.state import CampaignStateError

    def run(*args, **kwargs):
        try:
            return run_campaign(*args, **kwargs)
        except CampaignStateError as e:
            _fail(str(e))
    return run


@main.command("plot")
@click.argument("stats", type=click.Path(exists=True, dir_okay=True))
@click.option("-o", "--output", default="fuzzcore-stats.png", show_default=True, help="PNG to write.")
def plot_cmd(stats, output):
    """Plot a campaign's OUT/stats.jsonl (or OUT/) as a PNG: exec/s, libFuzzer features, corpus and buckets over time."""
    from pathlib import Path as _P
    from ..campaign.plot import plot_stats
    path = _P(stats) / "stats.jsonl" if _P(stats).is_dir() else _P(stats)
    try:
        n = plot_stats(path, output)
    except (ValueError, OSError) as e:
        _fail(str(e))
    except ImportError:
        _fail("fuzzcore plot needs matplotlib: pip install 'fuzzcore[plot]'")
    click.echo(f"wrote {output} ({n} points)")


# --- run -----------------------------------------------------------------------------------

@main.command("run")
@click.argument("program", type=click.Path(dir_okay=False))
@click.option("--device", help="Built-in device name or profile TOML (default: the program's '# device:' "
                                "header, else i350).")
@click.option("--policy", help="Policy spec: base+overlay+... (default: the program's '# policy:' header, "
                                "else linux-7.1).")
@click.option("--trace", is_flag=True, help="After each op: registers changed (old -> new, model step) "
                                            "and kernel fields changed (reference model only).")
@click.option("--engine", type=click.Choice(["native", "reference", "both"]), default=None,
              help="Which model runs it: the native engine (default; the reference with --trace), the "
                   "reference model, or both, reporting the first op where they disagree (exit 3).")
def run_cmd(program, device, policy, trace, engine):
    """Run one program (.fzs text or binary) and report its violations.

    A .fzs file's '# device:' and '# policy:' headers (a finding's, a seed's) choose the device
    and policy, as `show` and `replay` read them; --device/--policy given here win, and say so.

    Exit 0 when there are none, 1 when there are some, 2 on bad input, 3 when --engine both finds
    the engine and the reference model disagreeing."""
    from ..device.builtin import resolve_device
    from ..model.machine import Model
    from ..policy import load_policy
    from ..program.load import load_program
    from ..triage.show import trace_lines

    from ..triage.finding import DEFAULT_DEVICE, DEFAULT_POLICY, read_headers
    from ..util.text_input import InputError, read_text

    headers: dict = {}
    try:
        calls = load_program(program)
        if Path(program).suffix == ".fzs":
            headers = read_headers(read_text(program))
    except (InputError, OSError) as e:
        _fail(str(e))
    for opt, key, given in (("--device", "device", device), ("--policy", "policy", policy)):
        said = (headers.get(key) or [None])[-1]
        if given and said and given != said:
            click.echo(f"run: {opt} {given} overrides the program's '# {key}: {said}'", err=True)
    device = device or (headers.get("device") or [DEFAULT_DEVICE])[-1]
    policy = policy or (headers.get("policy") or [DEFAULT_POLICY])[-1]
    try:
        prof = resolve_device(device)
        pol = load_policy(policy)
    except (LookupError, ValueError, OSError) as e:
        _fail(str(e))
    from ..program.fzs import format_call
    if engine is None:
        engine = "reference" if trace else "native"
    if engine == "native" and trace:
        _fail("--trace needs the reference model (--engine reference or both)")
    if engine == "both":
        from ..engine import Engine
        from ..measure.selfcheck import DIVERGENCE_EXIT, first_divergence
        d = first_divergence(Engine(prof, pol), Model(prof, pol), calls, prof.name, pol.name)
        if d is not None:
            click.echo(f"# device {prof.name}, policy {pol.name}, {len(calls)} ops")
            click.echo(d.describe())
            sys.exit(DIVERGENCE_EXIT)
        click.echo(f"# engine and reference model agree on all {len(calls)} ops")
    if engine == "native":
        from ..engine import Engine
        from ..program.codec import encode
        result = Engine(prof, pol).run(encode(calls))
    else:
        result = Model(prof, pol).run(calls, trace=trace)
    click.echo(f"# device {prof.name}, policy {pol.name}, {len(calls)} ops")
    for i, call in enumerate(calls):
        rc = result.returns[i]
        click.echo(f"{i:3d}  {format_call(call)}" + (f"   = {rc}" if rc else ""))
        if trace:
            for line in trace_lines(prof, result, i):
                click.echo(f"       {line}")
    if not result.violations:
        click.echo("no violations")
        return
    click.echo(f"{len(result.violations)} violation(s):")
    for v in result.violations:
        click.echo(f"  {v.invariant} [{v.register}] at op {v.op_index} ({v.op}), in {v.step}")
        click.echo(f"      expected {v.expected}; actual {v.actual}")
    sys.exit(1)


# --- selfcheck, bench ----------------------------------------------------------------------

@main.command("selfcheck")
@click.option("--programs", default=100000, show_default=True, help="Random programs to run through both models.")
@click.option("--seed", default=0, show_default=True, help="Program k is a function of (seed, k) alone.")
@click.option("--device", "devices", multiple=True, help="Device(s) to use (default: every built-in device).")
@click.option("--policy", "policies", multiple=True,
              help="Policy spec(s) to use (default: the baseline, each overlay on it, all overlays together).")
@click.option("--max-ops", default=32, show_default=True, help="Programs have 1..MAX_OPS ops.")
@click.option("--workers", default=1, show_default=True, help="Processes (the reference model is the slow side).")
def selfcheck_cmd(programs, seed, devices, policies, max_ops, workers):
    """Run random programs through the native engine and the reference model and compare them
    (violations, state features, return values, final hardware/kernel/vfio state).

    Exit 0 when all agree; 1 at the first divergence, which is printed as a .fzs program (with the
    op and the field where the models first differ); 2 on bad input."""
    from ..device.builtin import resolve_device
    from ..policy import load_policy
    from ..measure.selfcheck import selfcheck

    try:
        for d in devices:
            resolve_device(d)
        for p in policies:
            load_policy(p)
    except (LookupError, ValueError) as e:
        _fail(str(e))
    if programs < 1 or max_ops < 1 or workers < 1:
        _fail("--programs, --max-ops and --workers must be at least 1")

    last = [0.0]

    def progress(s, elapsed):
        if elapsed - last[0] >= 10:
            last[0] = elapsed
            click.echo(f"selfcheck: {s.programs:,} programs, {s.ops:,} ops, {elapsed:.0f}s", err=True)

    s = selfcheck(programs, seed, list(devices) or None, list(policies) or None, max_ops, workers,
                  progress=progress)
    rate = s.programs / s.seconds if s.seconds else 0.0
    if s.divergence is not None:
        click.echo(f"selfcheck: DIVERGENCE after {s.programs:,} programs ({s.seconds:.1f}s)")
        click.echo(s.divergence.fzs(), nl=False)
        sys.exit(1)
    click.echo(f"selfcheck: {s.programs:,} programs ({s.ops:,} ops, {s.violations:,} violations) agree; "
               f"{s.seconds:.1f}s, {rate:,.0f} programs/s, seed {seed}")


@main.command("bench")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--repeat", default=5, show_default=True, help="Timed repetitions; each figure is their median.")
@click.option("--programs", default=20000, show_default=True, help="Programs in the seeded set.")
@click.option("--ops", default=16, show_default=True, help="Ops per program.")
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="i350", show_default=True)
@click.option("--policy", default="linux-7.1", show_default=True)
@click.option("--reference-programs", default=500, show_default=True,
              help="How many of the programs the (slow) reference model runs per repetition.")
@click.option("--campaign", "campaign_seconds", default=0, show_default=True,
              help="Also measure bare atheris and SECONDS-long fuzz campaigns (exec/s, peak RSS).")
@click.option("--campaign-repeat", default=3, show_default=True, help="Campaigns (and ceilings) to take the median of.")
@click.option("--scratch", type=click.Path(file_okay=False, writable=True), default=None,
              help="Directory the campaigns write in (a hidden temporary directory inside it). Default: the "
                   "current directory, where `fuzzcore fuzz` writes by default.")
def bench_cmd(as_json, repeat, programs, ops, seed, device, policy, reference_programs, campaign_seconds,
              campaign_repeat, scratch):
    """Engine and reference-model throughput (programs/s, ops/s, their ratio) and mutator calls/s,
    medians over --repeat runs on one core."""
    import json as _json

    from ..measure.bench import bench

    if repeat < 5:
        click.echo("fuzzcore bench: note: fewer than 5 repetitions", err=True)
    try:
        r = bench(device, policy, programs, ops, repeat, seed, reference_programs)
    except (LookupError, ValueError) as e:
        _fail(str(e))
    out = r.as_dict()
    if campaign_seconds:
        from ..measure.bench_campaign import campaign_bench, table
        c = campaign_bench(campaign_seconds, campaign_repeat, scratch)
        out["campaign"] = c
    if as_json:
        click.echo(_json.dumps(out, indent=2))
        return
    click.echo(r.table())
    if campaign_seconds:
        click.echo(table(c))


def _register_tool_commands() -> None:
    from . import explore, reference, triage
    triage.register(main)
    explore.register(main)
    reference.register(main)
    from ..validate import cli as validate_cli   # fuzzcore validate (docs/validation.md)
    validate_cli.register(main)


_register_tool_commands()
_uniform_paths(main)

if __name__ == "__main__":
    main()
