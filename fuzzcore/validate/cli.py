"""`fuzzcore validate`: run programs on a real Linux 6.12 kernel in QEMU and compare them, write
by write, with the model (docs/validation.md)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import click

EXIT_DIVERGENCE, EXIT_BAD_INPUT = 1, 2


def _fail(message: str, code: int = EXIT_BAD_INPUT):
    click.echo(f"fuzzcore validate: error: {message}", err=True)
    sys.exit(code)


def _header(path: Path) -> dict:
    """`# key: value` comments before the first call of a .fzs file."""
    out = {}
    for line in path.read_text(errors="replace").splitlines():
        s = line.strip()
        if not s:
            continue
        if not s.startswith("#"):
            break
        key, sep, value = s[1:].partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _collect(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(p.rglob("*.fzs"))
        elif p.exists():
            files.append(p)
        else:
            _fail(f"{p}: no such file or directory")
    return files


def _load(files: list[Path], device_opt: str | None) -> list[tuple[str, str, list]]:
    from ..program.load import load_program
    from .actors import device_validatable
    from .guestrun import DEVICES
    out = []
    for f in files:
        try:
            calls = load_program(f)
        except (ValueError, OSError) as e:
            _fail(str(e))
        device = device_opt or _header(f).get("guest-device", "e1000e")
        if device not in DEVICES:
            _fail(f"{f}: guest device {device!r}: the guest has {', '.join(DEVICES)}")
        for i, call in enumerate(calls):
            why = device_validatable(call, DEVICES[device].aer)
            if why:
                _fail(f"{f}: op {i + 1} ({call.name}) is not validatable: {why}")
        out.append((f.stem, device, calls))
    return out


def _write_program(path: Path, pc, policy_spec: str, note: str) -> None:
    from ..program.fzs import format_program
    from ..util.atomic_write import atomic_write_text
    text = (f"# {note}\n# guest-device: {pc.device}\n# policy: {policy_spec}\n"
            f"# validated: agrees op by op with Linux 6.12.118 in QEMU 7.2 (fuzzcore validate)\n"
            + format_program(pc.calls))
    atomic_write_text(path, text)


@click.command("validate")
@click.argument("programs", nargs=-1)
@click.option("--guest-device", type=click.Choice(["e1000e", "nvme", "virtio-rng", "nvme-sriov", "all"]), default=None,
              help="QEMU device to run on (default: a program's `# guest-device:` header, else e1000e; "
                   "with --programs: e1000e).")
@click.option("--policy", default=None, help="Policy the model runs under (default linux-7.1+linux-6.12).")
@click.option("--programs", "n_random", type=int, default=0, metavar="N",
              help="Run N random feasible programs of validatable ops; report agreement per op kind.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for --programs.")
@click.option("--max-ops", type=int, default=8, show_default=True, help="Longest random program.")
@click.option("--batch", type=int, default=25, show_default=True, help="Programs per guest boot.")
@click.option("--setup", is_flag=True, help="Set up the validation kit (also done on first use) and exit "
                                            "when no program is given.")
@click.option("--save-agreeing", type=click.Path(file_okay=False), default=None,
              help="Write every random program that agrees op by op into this directory as .fzs.")
@click.option("--keep", type=click.Path(file_okay=False), default=None,
              help="Keep the guest runs (script, console, QEMU trace, imported profiles) here.")
@click.option("--full", is_flag=True, help="Show every write of a divergent op, not the first few around it.")
@click.option("--why/--no-why", default=None,
              help="Record which kernel function made each write (kprobes in the guest) and show it "
                   "next to the kernel's writes. Default: on for up to 3 programs.")
@click.option("--ops", "show_ops", is_flag=True, help="List which ops can be validated and how, and exit.")
def validate(programs, guest_device, policy, n_random, seed, max_ops, batch, setup, save_agreeing, keep,
             full, show_ops, why):
    """Run programs on Linux 6.12 in QEMU and compare them with the model, op by op.

    Each op's config writes to the device and its port (offset, width, value, in order) and the
    config image after it must equal the model's. The first divergence of a program is printed
    side by side (model step | kernel write) and the exit code is 1.
    """
    from ..policy import load_policy
    from .actors import VALIDATION
    from .kit import KitError, find_kit, setup as kit_setup
    from .session import DEFAULT_POLICY, guest_policy_spec, validate_programs

    if show_ops:
        for name, row in VALIDATION.items():
            click.echo(f"{name:24s} {'yes' if row.validatable else 'no ':3s}  {row.actor or '-':12s} {row.how}")
        return
    if batch < 1:
        _fail("--batch must be at least 1")
    if setup:
        try:
            kit_setup(report=lambda s: click.echo(f"setup: {s}"))
        except KitError as e:
            _fail(str(e), 3)
        if not programs and not n_random:
            return
    try:
        kit = find_kit()
    except KitError:
        click.echo("fuzzcore validate: the kit is not set up yet; setting it up", err=True)
        try:
            kit = kit_setup(report=lambda s: click.echo(f"setup: {s}", err=True))
        except KitError as e:
            _fail(str(e), 3)
    policy_spec = policy or DEFAULT_POLICY
    try:
        pol = load_policy(guest_policy_spec(policy_spec))
    except (ValueError, OSError) as e:
        _fail(str(e))
    if not programs and not n_random:
        _fail("give .fzs programs (files or directories), or --programs N")

    from .guestrun import DEVICES
    devices = list(DEVICES) if guest_device == "all" else None
    todo: list[tuple[str, str, list]] = []
    if programs:
        loaded = _load(_collect(programs), None if guest_device in (None, "all") else guest_device)
        for name, dev, calls in loaded:
            for d in devices or [dev]:
                todo.append((name, d, calls))
    if n_random:
        from .guestrun import DEVICES
        from .programs import random_program, vfio_config_targets
        rng = random.Random(seed)
        for i in range(n_random):
            d = (devices or [guest_device or "e1000e"])[i % len(devices or [1])]
            todo.append((f"random-s{seed}-{i:04d}", d, random_program(rng, rng.randrange(2, max_ops + 1), DEVICES[d].pm,
                                                                      DEVICES[d].ats, DEVICES[d].aer,
                                                                      vfio_config_targets(d), DEVICES[d].sriov)))

    out = validate_programs(kit, todo, pol, batch=batch, workdir=Path(keep) if keep else None,
                            progress=lambda s: click.echo(s, err=True),
                            why=len(todo) <= 3 if why is None else why)
    _report(out, full)
    if save_agreeing and n_random:
        d = Path(save_agreeing)
        d.mkdir(parents=True, exist_ok=True)
        n = 0
        for pc in out.agreeing:
            if pc.name.startswith("random-"):
                _write_program(d / f"{pc.device}-{pc.name}.fzs", pc, policy_spec,
                               f"random feasible program (seed {seed}), kept because it agrees op by op")
                n += 1
        click.echo(f"wrote {n} agreeing programs to {d}")
    if out.problems:
        for p in out.problems:
            click.echo(f"problem: {p}", err=True)
    sys.exit(0 if len(out.agreeing) == len(out.comparisons) and not out.problems else EXIT_DIVERGENCE)


def _report(out, full: bool) -> None:
    from .compare import PORT_SET_ASIDE, format_divergence, gap_for
    for pc in out.comparisons:
        if pc.agrees:
            note = pc.set_aside_note()
            click.echo(f"{pc.device:7s} {pc.name}: agrees op by op ({len(pc.ops)} ops{'; ' + note if note else ''})")
            continue
        lines = format_divergence(pc, full=full)
        click.echo(f"{pc.device:7s} " + lines[0])
        for ln in lines[1:]:
            click.echo(ln)
        gap = gap_for(pc)
        if gap:
            click.echo(f"  known: {gap}")
    kinds = out.per_op_kind()
    if kinds:
        click.echo("\nagreement per op kind (ops after a program's first divergence are not compared):")
        for k, (a, c) in kinds.items():
            click.echo(f"  {k:24s} {a:5d}/{c:<5d} {100.0 * a / c:5.1f} %"
                       + (" (the device; the upstream port not compared)" if k in PORT_SET_ASIDE else ""))
    rows = {row: text for pc in out.comparisons for row in pc.port_set_aside()
            for op, (r, text) in PORT_SET_ASIDE.items() if r == row}
    for row, text in rows.items():
        click.echo(f"\nknown: {row} (docs/validation.md): {text}")
    click.echo(f"\n{len(out.agreeing)}/{len(out.comparisons)} programs agree op by op; "
               f"{out.boots} boot(s), {out.seconds:.1f} s, {out.programs_per_minute:.1f} programs/min "
               f"({', '.join(out.devices)})")


def register(main) -> None:
    main.add_command(validate)
