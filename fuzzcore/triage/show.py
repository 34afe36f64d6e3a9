"""`fuzzcore show`: a finding as a user reads it, and as a pytest regression test.

The program is printed one kernel call per line (the `.fzs` call, then who makes it and the
upstream function it stands for, and what a config write targets), followed by the violation:
its invariant and meaning, the register, expected vs actual, and the model step (the upstream
function) that tripped it. `--trace` adds, after each op, the registers it changed (old -> new,
with the step) and the kernel fields it changed. `--as-pytest` renders a self-contained test.
"""

from __future__ import annotations

import re
from pathlib import Path

from .finding import Finding, format_bucket
from ..model.invariants import BY_NAME, Violation, bucket_name
from ..program.fzs import format_call, format_program


def _models(finding: Finding):
    from ..device.builtin import resolve_device
    from ..model.machine import Model
    from ..policy import load_policy
    prof = resolve_device(finding.device)
    return prof, Model(prof, load_policy(finding.policy))


def _what(call, prof) -> str:
    """Who makes the call and which upstream function it stands for; a config write's register."""
    from ..model.register_names import register_name
    op = call.op
    text = f"{op.actor}: {op.upstream}"
    if call.name == "vfio_config_write":
        width = int(call["width"])
        text += f"; {register_name(prof, call['offset'])} <- 0x{call['value'] & ((1 << 8 * width) - 1):0{2 * width}x}"
    return text


def trace_lines(prof, result, i: int) -> list[str]:
    """The registers (old -> new, model step) and kernel fields op `i` changed."""
    from ..device.builtin import resolve_device
    from ..model.register_names import register_name
    out = []
    for t in (t for t in result.trace if t.op_index == i):
        if t.target == "event":
            out.append(f"-- {t.step}")
            continue
        if t.old == t.new:
            continue
        where = {"dev": "", "port": "port ", "msix": "MSI-X table "}[t.target]
        name = f"+0x{t.offset:03x}" if t.target == "msix" else register_name(
            prof if t.target == "dev" else resolve_device(prof.upstream_port), t.offset)
        out.append(f"{where}{name}: 0x{t.old:0{2 * t.width}x} -> 0x{t.new:0{2 * t.width}x}   [{t.step}]")
    for _, key, old, new in (c for c in result.kernel_changes if c[0] == i):
        out.append(f"kernel {key}: {old} -> {new}")
    return out


def describe_violation(v: Violation) -> list[str]:
    inv = BY_NAME.get(v.invariant)
    lines = [f"violation at op {v.op_index} ({v.op}), in the model step {v.step}:",
             f"  invariant  {v.invariant}" + (f" ({inv.hazard})" if inv else ""),
             f"  register   {v.register}",
             f"  expected   {v.expected}",
             f"  actual     {v.actual}",
             f"  bucket     {format_bucket(v.bucket)}"]
    if inv:
        lines.append(f"  meaning    {inv.meaning}")
    return lines


def show_text(finding: Finding, trace: bool = False) -> tuple[str, bool]:
    """The readable view; and whether the program shows what it claims (its bucket / seed set)."""
    prof, model = _models(finding)
    result = model.run(finding.calls, trace=trace)
    out = []
    if finding.bucket is not None:
        claim = f"expected bucket {format_bucket(finding.bucket)}"
    elif finding.expect is not None:
        claim = "expects " + ("; ".join(format_bucket(b) for b in finding.expect) or "no violation")
    else:
        claim = ""
    out.append(f"{finding.path}: {len(finding.calls)} ops on {prof.name} ({prof.description}), "
               f"policy {finding.policy}")
    if claim:
        out.append(f"  {claim}")
    for p in finding.fixed_by:
        out.append(f"  fixed by {p}")
    out.append("")
    hit = next((v for v in result.violations if finding.bucket and v.bucket == tuple(finding.bucket)), None)
    first = hit or (result.violations[0] if result.violations else None)
    width = max([len(format_call(c)) for c in finding.calls] + [20])
    for i, call in enumerate(finding.calls):
        rc = result.returns[i]
        mark = "   <-- " + first.invariant if first is not None and first.op_index == i else ""
        out.append(f"{i:3d}  {format_call(call):{width}}   {_what(call, prof)}"
                   + (f"   = {rc}" if rc else "") + mark)
        if trace:
            out += [f"       {line}" for line in trace_lines(prof, result, i)]
    out.append("")
    if not result.violations:
        out.append("no violations")
    else:
        out += describe_violation(first)
        others = sorted({v.bucket for v in result.violations} - {first.bucket})
        if others:
            out.append(f"also reported ({len(others)} other bucket(s)):")
            out += [f"  {format_bucket(b)}" for b in others]
    buckets = {v.bucket for v in result.violations}
    if finding.bucket is not None:
        ok = tuple(finding.bucket) in buckets
        if not ok:
            out.append(f"NOT REPRODUCED: expected bucket {format_bucket(finding.bucket)}")
    elif finding.expect is not None:
        ok = buckets == set(finding.expect)
        if not ok:
            out.append("NOT AS EXPECTED: expected " + ("; ".join(format_bucket(b) for b in finding.expect)
                                                       or "no violation"))
    else:
        ok = True
    return "\n".join(out) + "\n", ok


# --- --as-pytest -----------------------------------------------------------------------------------

def _ident(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower() or "program"


def as_pytest(finding: Finding) -> str:
    """A self-contained pytest module that replays the program on the reference model and asserts
    its claims (the bucket, and its absence under each fixed-by policy; for a seed its exact bucket set; for a program
    claiming nothing, the buckets it reports now)."""
    device = finding.device
    if ("/" in device or device.endswith(".toml")) and Path(device).exists():
        device = str(Path(device).resolve())
    if finding.bucket is not None:
        name = _ident(bucket_name(finding.bucket))
        claim = f"reports {format_bucket(finding.bucket)}"
    else:
        expect = finding.expect
        if expect is None:
            _, model = _models(finding)
            expect = sorted({v.bucket for v in model.run(finding.calls).violations})
        name = _ident(Path(finding.path).stem)
        claim = "reports " + ("; ".join(format_bucket(b) for b in expect) if expect else "no violation")
    program = format_program(finding.calls)
    lines = [
        f'"""Regression test generated by `fuzzcore show --as-pytest` from {finding.path}.',
        "",
        f"On device {finding.device} under policy {finding.policy} the program {claim}.",
    ]
    if finding.bucket is not None and finding.bucket[0] in BY_NAME:
        lines += ["", f"{finding.bucket[0]}: {BY_NAME[finding.bucket[0]].meaning}."]
    lines += ['"""', "", "import pytest", "",
              "from fuzzcore.device.builtin import resolve_device",
              "from fuzzcore.model.machine import Model",
              "from fuzzcore.policy import load_policy",
              "from fuzzcore.program.fzs import parse_program", "",
              f"DEVICE = {device!r}", f"POLICY = {finding.policy!r}"]
    if finding.bucket is not None:
        lines += [f"BUCKET = {tuple(finding.bucket)!r}", f"FIXED_BY = {list(finding.fixed_by)!r}"]
    else:
        lines += [f"EXPECTED_BUCKETS = {sorted(tuple(b) for b in expect)!r}"]
    lines += ['PROGRAM = """\\', program.rstrip("\n"), '"""', "", "",
              "def buckets(policy):",
              "    result = Model(resolve_device(DEVICE), load_policy(policy)).run(parse_program(PROGRAM))",
              "    return sorted({v.bucket for v in result.violations})", "", ""]
    if finding.bucket is not None:
        lines += [f"def test_{name}_reproduces():", "    assert BUCKET in buckets(POLICY)", ""]
        if finding.fixed_by:
            lines += ["", '@pytest.mark.parametrize("policy", FIXED_BY)',
                      f"def test_{name}_is_fixed_by(policy):",
                      "    assert BUCKET not in buckets(policy)", ""]
    else:
        lines += [f"def test_{name}_reports_exactly_the_expected_buckets():",
                  "    assert buckets(POLICY) == EXPECTED_BUCKETS", ""]
    return "\n".join(lines)


# --- root causes -------------------------------------------------------------------------------------

def root_cause_header(finding: Finding) -> str:
    """A finding's root cause first: key, provenance and tier (fuzzcore/triage/root_cause.py,
    tiers.py); nothing for a program that claims no bucket."""
    if finding.bucket is None:
        return ""
    from ..device.builtin import resolve_device
    from ..policy import load_policy
    from .root_cause import derive
    from .tiers import assess
    prof = resolve_device(finding.device)
    p = derive(prof, load_policy(finding.policy), finding.calls, tuple(finding.bucket))
    if not p.reproduced:
        return f"root cause: not derived ({p.detail})\n\n"
    from .tiers import known_root_causes
    v = assess(prof, finding.policy, p.key, p.invariant, p.origin, p.register_class, {p.actor_path},
               [(finding.calls, tuple(finding.bucket))])
    out = (f"root cause: {p.key}   [{v.label}]\n"
           f"  origin     {p.detail}\n"
           f"  actor path {p.actor_path}\n"
           f"  {v.tier + ':':10} {v.reason}" + (f" [{v.upstream}]" if v.upstream else "") + "\n")
    # the reviewed list's tier pools every reproducer campaigns found for the key; this program's
    # own is the one above, so a reviewed tier that differs is shown as such, not in its place
    known = known_root_causes(finding.policy) or {}
    entry = known.get(p.key)
    if entry is not None and str(entry.get("tier", "")) != v.label:
        out += f"  reviewed   {entry.get('tier', '')}: {entry.get('reason', '')} (the reviewed list's tier for the key, from every reproducer reviewed; this program alone gives the one above)\n"
    return out + "\n"


def show_store(root: Path, device: str | None, policy: str | None, all_tiers: bool, as_json: bool) -> str:
    """A findings store's root causes (tiers, known/new against the baseline's reviewed list)."""
    import json
    from .report import counts_line, known_summary, lines, to_json
    from .root_cause import assess_findings
    rcs = assess_findings(root, device, policy)
    if as_json:
        return json.dumps(to_json(rcs), indent=2) + "\n"
    if not rcs:
        return f"{root}: no findings\n"
    pol = policy or rcs and _policy_of(root) or "linux-7.1"
    out = [f"{root}: {counts_line(rcs)}"] + lines(rcs, all_tiers) + [known_summary(rcs, pol)[0]]
    return "\n".join(out) + "\n"


def _policy_of(root: Path) -> str:
    import json
    from ..campaign.findings_store import bucket_metas
    for m in sorted(bucket_metas(root)):
        try:
            return json.loads(m.read_text()).get("policy") or "linux-7.1"
        except (OSError, ValueError):
            continue
    return "linux-7.1"
