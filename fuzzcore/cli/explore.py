"""CLI commands of exploration and patch review (explore, diff), registered on `fuzzcore`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


def _fail(message: str):
    click.echo(f"fuzzcore: error: {message}", err=True)
    sys.exit(2)


def _load(device, policy):
    from ..device.builtin import resolve_device
    from ..policy import load_policy
    try:
        return resolve_device(device), load_policy(policy)
    except (LookupError, ValueError) as e:
        _fail(str(e))


@click.command("explore")
@click.option("--device", default="i350", show_default=True)
@click.option("--policy", default="linux-7.1", show_default=True)
@click.option("--depth", default=4, show_default=True, help="Every program of up to this many ops.")
@click.option("--ops", help="Comma-separated op names to explore (default: the explore vocabulary).")
@click.option("--max-states", default=2_000_000, show_default=True, help="Stop (incomplete) past this many states.")
@click.option("--out", type=click.Path(file_okay=False), help="Write each bucket's shortest counterexample here.")
@click.option("--backend", type=click.Choice(["auto", "native", "reference"]), default="auto", show_default=True)
@click.option("--workers", default=1, show_default=True, help="Processes that share each depth's frontier.")
def explore_cmd(device, policy, depth, ops, max_states, out, backend, workers):
    """Breadth-first over every program of up to DEPTH ops, states deduplicated by hash."""
    from ..explore import DEFAULT_OPS, completeness_line, explore, write_findings
    from ..program.op_table import OP_INDEX

    profile, pol = _load(device, policy)
    op_names = tuple(o.strip() for o in ops.split(",")) if ops else DEFAULT_OPS
    unknown = [o for o in op_names if o not in OP_INDEX]
    if unknown:
        _fail(f"unknown op {unknown[0]!r} in --ops")
    started = time.monotonic()

    def progress(d, n, total, transitions, el, done=False, next_estimate=0.0, new_states=0):
        if done:
            rate = transitions / el if el else 0
            click.echo(f"depth {d}: {new_states} new states, {transitions} transitions, {el:.1f}s "
                       f"({rate:,.0f} transitions/s); next depth ~{next_estimate:.0f}s", err=True)

    if workers < 1:
        _fail("--workers must be at least 1")
    res = explore(profile, pol, depth, op_names, max_states, backend, progress, workers)
    click.echo(f"# explore {profile.name} under {pol.name}, depth {depth}, {time.monotonic() - started:.1f}s")
    click.echo(f"{'depth':>5} {'new states':>11} {'transitions':>12} {'seconds':>8}")
    for d in res.depths:
        click.echo(f"{d.depth:>5} {d.states:>11} {d.transitions:>12} {d.seconds:>8.2f}")
    click.echo(completeness_line(res, depth))
    click.echo(f"{len(res.buckets)} bucket(s):")
    for bucket, (program, _) in sorted(res.buckets.items()):
        click.echo(f"  {' | '.join(bucket)}   (shortest: {len(program)} ops)")
    if out:
        paths = write_findings(res, Path(out), profile.name, pol.name)
        click.echo(f"wrote {len(paths)} counterexamples under {out}")
    if not res.complete:
        sys.exit(4)


@click.command("diff")
@click.option("--device", default="i350", show_default=True)
@click.option("--base", "base_spec", default="linux-7.1", show_default=True, help="Policy before the patch.")
@click.option("--policy", "policy_spec", required=True, help="Policy with the patch (base+overlay).")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False), help="Replay these inputs first.")
@click.option("--max-time", default=20, show_default=True, help="Seconds of differential search (0: none).")
@click.option("--depth", default=0, show_default=True, help="Also explore both policies to this depth.")
@click.option("--seed", default=1, show_default=True)
@click.option("--engine", type=click.Choice(["auto", "native", "reference"]), default="auto", show_default=True,
              help="What runs the search (the reference model always confirms the final reproducers).")
@click.option("--neighbours", default=3000, show_default=True,
              help="Mutants searched around each introduced/fixed reproducer under the other policy.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the report as JSON.")
@click.option("--markdown", "md_out", type=click.Path(dir_okay=False), help="Write the Markdown report here.")
def diff_cmd(device, base_spec, policy_spec, corpus, max_time, depth, seed, engine, neighbours, json_out, md_out):
    """Root causes a patch introduces, fixes, or leaves, per actor path (host driver, vfio-pci, no
    driver); each introduced or fixed one confirmed by replay under the other policy and a bounded
    search around its reproducer, or reported as unconfirmed. Exit 1 when the patch introduces a
    confirmed root cause."""
    from ..util.atomic_write import atomic_write_text
    from ..explore.diff import run_diff, to_json, to_markdown

    profile, _ = _load(device, base_spec)
    _load(device, policy_spec)
    report = run_diff(profile, device, base_spec, policy_spec, corpus, max_time, depth, seed, engine=engine,
                      tries=neighbours)
    md = to_markdown(report, profile)
    if md_out:
        atomic_write_text(md_out, md)
    if json_out:
        atomic_write_text(json_out, to_json(report))
    click.echo(md)
    sys.exit(1 if report.of("introduced", confirmed=True) else 0)


def register(main) -> None:
    """Add the explore/diff commands to the `fuzzcore` group."""
    main.add_command(explore_cmd)
    main.add_command(diff_cmd)
