"""CLI commands of the triage tools (minimize, promote, cmin, show, replay), registered on `fuzzcore`.

The work is in fuzzcore/triage/ (minimize.py, cmin.py, show.py, replay.py); this file holds flags, messages
and exit codes (0 success, 1 an expectation failed where a command checks some, 2 bad input)."""

from __future__ import annotations

import sys

import click

EXIT_BAD_INPUT = 2
ENGINES = click.Choice(["auto", "native", "reference"])


def _fail(message: str):
    click.echo(f"fuzzcore: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _load(path, device=None, policy=None, bucket=None, fixed_by=()):
    from ..triage.finding import FindingError, load_finding
    try:
        return load_finding(path, device, policy, bucket, list(fixed_by) or None)
    except (FindingError, ValueError, OSError) as e:
        _fail(str(e))


def _show_sample(store, n: int, seed: int, trace: bool, device, policy) -> None:
    """`show STORE --sample N`: N buckets of the store at random, each shown as `show BUCKET` shows
    it (root cause and tier, the program, its violation); exit 1 if any does not show its claim."""
    import random
    from ..triage.finding import is_bucket_dir
    from ..triage.show import root_cause_header, show_text
    buckets = sorted(p.name for p in store.iterdir() if is_bucket_dir(p))
    if not buckets:
        _fail(f"{store}: no bucket directories to sample")
    picked = random.Random(seed).sample(buckets, min(n, len(buckets)))
    click.echo(f"# {len(picked)} of {len(buckets)} buckets of {store}, random.Random({seed}).sample")
    all_ok = True
    for k, name in enumerate(picked, 1):
        f = _load(store / name, device, policy)
        text, ok = show_text(f, trace)
        all_ok &= ok
        click.echo(f"\n=== {k}/{len(picked)} {name}")
        click.echo(root_cause_header(f) + text, nl=False)
    sys.exit(0 if all_ok else 1)


def register(main) -> None:
    """Add the triage commands to the `fuzzcore` group."""

    @main.command("minimize")
    @click.argument("finding", type=click.Path(exists=True))
    @click.option("-o", "--output", help="Output: a directory (an existing one, or a path without a suffix; "
                                         "written as a bucket directory: min.bin, min.fzs, meta.json, first.*), "
                                         "a .fzs file, or a .bin file. Default: the bucket directory itself, or "
                                         "NAME.min.fzs next to a file.")
    @click.option("--max-time", default=60.0, show_default=True,
                  help="Seconds to spend in this session (0: no limit); re-run to continue.")
    @click.option("--device", help="Device (default: the finding's # device: header or meta.json, else i350).")
    @click.option("--policy", help="Policy spec (default: the finding's, else linux-7.1).")
    @click.option("--bucket", help="Bucket to keep, 'invariant | op | register' (default: the finding's).")
    @click.option("--fixed-by", multiple=True, metavar="POLICY",
                  help="A fixing policy: every candidate must also NOT report the bucket under POLICY "
                       "(repeatable; recorded in the output as '# fixed-by:').")
    @click.option("--engine", type=ENGINES, default="auto", show_default=True)
    def minimize_cmd(finding, output, max_time, device, policy, bucket, fixed_by, engine):
        """Shrink FINDING to a 1-minimal program that reports the same bucket.

        FINDING is a bucket directory (<invariant>--<op>--<register>/ with meta.json), a .fzs file
        whose header comments give device, policy and expected bucket, or a binary input with
        --device/--policy/--bucket. Every candidate must report exactly the finding's bucket.
        Progress is kept in a state file: a killed run continues from the best so far when re-run.
        Exit 0 when done or stopped at --max-time (re-run to continue), 2 on bad input."""
        from ..triage.finding import FindingError
        from ..triage.minimize import minimize_finding

        f = _load(finding, device, policy, bucket, fixed_by)
        if f.bucket is None and f.calls:
            # a binary without claims: the first bucket it reports
            from ..triage.finding import check_config, executor_for
            from ..program.codec import encode
            try:
                check_config(f.device, [f.policy])
            except FindingError as e:
                _fail(str(e))
            vs = executor_for(f.device, f.policy, engine).run(encode(f.calls)).violations
            if not vs:
                _fail(f"{finding}: reports no violation under {f.policy} on {f.device}; nothing to minimise")
            f.bucket = vs[0].bucket
            click.echo(f"minimize: no bucket given; keeping the first reported: {' | '.join(f.bucket)}", err=True)
        try:
            s = minimize_finding(f, output, max_time, engine, echo=lambda m: click.echo(m, err=True))
        except FindingError as e:
            _fail(str(e))
        state = "1-minimal" if s.one_minimal else "not yet 1-minimal (time limit; re-run to continue)"
        click.echo(f"minimize: {s.original_ops} -> {s.ops} ops, {state}; {s.candidates} candidates in "
                   f"{s.seconds:.1f}s over {s.sessions} session(s); wrote {s.output}")

    @main.command("promote")
    @click.argument("finding", type=click.Path(exists=True, file_okay=False))
    @click.option("--to", "store", default="crashes", show_default=True, type=click.Path(file_okay=False),
                  help="The reviewed store; the finding goes to STORE/POLICY/BUCKET/.")
    @click.option("--max-time", default=300.0, show_default=True,
                  help="Seconds the minimiser may spend (0: no limit); re-run to continue.")
    @click.option("--fixed-by", multiple=True, metavar="POLICY",
                  help="A fixing policy the promoted reproducer must not report the bucket under "
                       "(repeatable; recorded as '# fixed-by:').")
    @click.option("--engine", type=ENGINES, default="auto", show_default=True)
    def promote_cmd(finding, store, max_time, fixed_by, engine):
        """Minimise a campaign's bucket directory FINDING into the reviewed store (crashes/).

        A campaign's own findings store (fuzzcore-out/DEVICE-POLICY/findings/, or DIR/findings with
        --out) is a git-ignored working store; crashes/POLICY/BUCKET/ is what CI replays. This is
        the one way in: the reproducer is minimised to 1-minimal first (same bucket; absent under
        every --fixed-by policy) and written as a bucket directory there. An existing bucket
        directory in the store is never replaced: review it, or minimise into it by hand
        (`fuzzcore minimize FINDING -o DIR`). Exit 0 when promoted, 1 when the time limit stopped
        the minimiser first (re-run to continue), 2 on bad input."""
        from pathlib import Path

        from ..campaign.driver import policy_dir_name
        from ..triage.finding import FindingError
        from ..triage.minimize import minimize_finding

        f = _load(finding, fixed_by=fixed_by)
        if f.bucket is None:
            _fail(f"{finding}: names no bucket (a bucket directory has one in its meta.json)")
        target = Path(store) / policy_dir_name(f.policy) / Path(finding).resolve().name
        partial = target.parent / f".{target.name}.promoting"
        if target.exists():
            _fail(f"{target}: already in the store; review it, or minimise into it with "
                  f"`fuzzcore minimize {finding} -o {target}`")
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            s = minimize_finding(f, f"{partial}/", max_time, engine, echo=lambda m: click.echo(m, err=True))
        except FindingError as e:
            _fail(str(e))
        if not s.one_minimal:
            click.echo(f"promote: {s.original_ops} -> {s.ops} ops, not yet 1-minimal after {s.seconds:.1f}s; "
                       f"progress kept in {partial}; re-run to continue", err=True)
            sys.exit(1)
        partial.rename(target)      # the bucket appears in the store whole, and only when 1-minimal
        click.echo(f"promote: {s.original_ops} -> {s.ops} ops, 1-minimal; wrote {target} "
                   f"(review it, then commit)")

    @main.command("show")
    @click.argument("file", type=click.Path(exists=True))
    @click.option("--trace", is_flag=True, help="After each op: registers changed (old -> new, model step) "
                                                "and kernel fields changed.")
    @click.option("--as-pytest", is_flag=True, help="Print a self-contained pytest regression test instead "
                                                    "(replays the program, asserts its bucket).")
    @click.option("-o", "--output", type=click.Path(dir_okay=False),
                  help="With --as-pytest: write the test to this file instead of stdout.")
    @click.option("--device", help="Device (default: the file's # device: header or meta.json, else i350).")
    @click.option("--policy", help="Policy spec (default: the file's, else linux-7.1).")
    @click.option("--all", "all_tiers", is_flag=True,
                  help="A findings store: list by-design, fixed-by and model-gap root causes too.")
    @click.option("--json", "as_json", is_flag=True, help="A findings store: the root causes as JSON.")
    @click.option("--sample", type=click.IntRange(min=1), metavar="N",
                  help="A findings store: show N of its buckets picked at random (each with its root "
                       "cause and tier), the way a precision audit reads them against the source.")
    @click.option("--seed", type=int, default=0, show_default=True,
                  help="With --sample: random.Random(SEED).sample over the sorted bucket names.")
    def show_cmd(file, trace, as_pytest, output, device, policy, all_tiers, as_json, sample, seed):
        """Show a program (a .fzs, a binary input or a bucket directory) one kernel call per line,
        after its root cause (provenance and tier), then its violation: expected vs actual and the
        model step. Given a findings store (a directory of bucket directories, e.g. a campaign's
        findings/ or crashes/<policy>/), list its root causes instead: one line each with tier,
        path count, hits and the shortest reproducer; hazard and environmental ones unless --all.

        Exit 0, or 1 when the program does not show what it claims (its bucket, or a seed's
        expected buckets), 2 on bad input."""
        from pathlib import Path
        from ..util.atomic_write import atomic_write_text
        from ..triage.finding import FindingError, check_config, is_bucket_dir
        from ..triage.show import as_pytest as render_pytest, root_cause_header, show_store, show_text

        if sample is not None:
            if not Path(file).is_dir() or is_bucket_dir(Path(file)):
                _fail(f"{file}: --sample needs a findings store (a directory of bucket directories)")
            if as_pytest or as_json:
                _fail("--sample shows programs; it does not go with --as-pytest or --json")
            _show_sample(Path(file), sample, seed, trace, device, policy)
            return
        if Path(file).is_dir() and not is_bucket_dir(Path(file)):
            try:
                text = show_store(Path(file), device, policy, all_tiers, as_json)
            except (FindingError, ValueError, LookupError) as e:
                _fail(str(e))
            click.echo(text, nl=False)
            return
        f = _load(file, device, policy)
        try:
            check_config(f.device, [f.policy])
        except FindingError as e:
            _fail(str(e))
        if output and not as_pytest:
            _fail("-o/--output goes with --as-pytest")
        if as_pytest:
            text = render_pytest(f)
            if output:
                atomic_write_text(output, text)
                click.echo(f"wrote {output}", err=True)
            else:
                click.echo(text, nl=False)
            return
        text, ok = show_text(f, trace)
        click.echo(root_cause_header(f) + text, nl=False)
        sys.exit(0 if ok else 1)

    @main.command("replay")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
    @click.option("--device", help="Device for programs that do not name one (default i350).")
    @click.option("--policy", help="Policy for programs that do not name one (default linux-7.1).")
    @click.option("--engine", type=ENGINES, default="auto", show_default=True)
    @click.option("-v", "--verbose", is_flag=True, help="List every expectation, not only the mismatches.")
    def replay_cmd(paths, device, policy, engine, verbose):
        """Replay findings and seeds (.fzs, binary inputs, bucket and corpus directories) and check
        what each claims: a finding reports exactly its bucket, and nothing under a fixed-by policy;
        a seed reports exactly its '# expect-bucket:' buckets, or nothing ('# expect: none', or no
        claim at all).

        Exit 0 only if every expectation holds; 1 with a table of mismatches; 2 if a program
        cannot be read."""
        from ..triage.finding import FindingError
        from ..triage.replay import format_table, replay

        try:
            rows = replay(list(paths), device, policy, engine)
        except FindingError as e:
            _fail(str(e))
        bad = [r for r in rows if not r.ok]
        programs = len({r.path for r in rows})
        if verbose and rows:
            click.echo(format_table(rows), nl=False)
        elif bad:
            click.echo(format_table(bad), nl=False)
        if not bad:
            click.echo(f"replay: {programs} programs, {len(rows)} expectations, all hold")
            return
        click.echo(f"replay: {programs} programs, {len(rows)} expectations, {len(bad)} mismatch(es)")
        sys.exit(EXIT_BAD_INPUT if any(r.error for r in bad) else 1)

    @main.command("cmin")
    @click.argument("in_dirs", nargs=-1, required=True, type=click.Path(exists=True))
    @click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
                  help="Directory for the kept inputs (new, or written by an earlier cmin run).")
    @click.option("--device", default="i350", show_default=True, help="Built-in device name or profile TOML.")
    @click.option("--policy", default="linux-7.1", show_default=True, help="Policy spec: base+overlay+...")
    @click.option("--engine", type=ENGINES, default="auto", show_default=True)
    def cmin_cmd(in_dirs, out_dir, device, policy, engine):
        """Keep a smallest-first subset of the inputs in IN_DIR... whose state features and buckets
        together equal those of all the inputs; copy it to OUT_DIR.

        Crash-safe: killed at any point and re-run, it completes (a journal next to OUT_DIR keeps
        its progress); OUT_DIR never holds a half-written file; inputs are never modified.
        Exit 0 on success, 2 on bad input."""
        from ..triage.cmin import CminError, cmin
        from ..triage.finding import FindingError, check_config

        try:
            check_config(device, [policy])
            s = cmin(list(in_dirs), out_dir, device, policy, engine, echo=lambda m: click.echo(m, err=True))
        except (CminError, FindingError) as e:
            _fail(str(e))
        click.echo(f"cmin: {s.inputs} inputs ({s.cached} from the journal), {s.features} features; kept {s.kept} "
                   f"in {s.out_dir}" + (f", removed {s.removed} no longer needed" if s.removed else "")
                   + f"; {s.seconds:.1f}s")
