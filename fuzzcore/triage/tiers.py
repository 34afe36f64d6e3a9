"""Tiers of root causes, computed by the rules in tiers.toml (by-design, fixed-by X,
environmental, hazard; the first that holds decides), and the reviewed known findings of each
shipped baseline (fuzzcore/policies/known/<baseline>.toml).

A root cause is assessed from its reproducers (one per member bucket): fixed-by replays each
under POLICY+X for every shipped fix overlay X; environmental removes the ops the kernel is not
told of ([environmental].ops) and looks for the root cause again. Both run the reference model
with the provenance recorder (root_cause.derive_all), a few milliseconds per reproducer."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .root_cause import derive_all

TIERS_TOML = Path(__file__).with_name("tiers.toml")
KNOWN_DIR = Path(__file__).resolve().parents[1] / "policies" / "known"
KNOWN_DIR_ENV = "FUZZCORE_KNOWN_DIR"     # another directory of reviewed lists (a CI job's own)
TIER_ORDER = ("hazard", "environmental", "unconfirmed", "by-design", "fixed-by", "model-gap")
DEFAULT_TIERS = ("hazard", "environmental", "unconfirmed")


@lru_cache(maxsize=1)
def rules() -> dict:
    with open(TIERS_TOML, "rb") as f:
        return tomllib.load(f)


def severity(invariant: str) -> tuple[int, str]:
    """(rank, class): 0 wrong values on a live device, 1 URs and fatal errors, 2 bookkeeping."""
    for rank, (cls, invs) in enumerate(rules()["severity"].items()):
        if invariant in invs:
            return rank, cls
    return len(rules()["severity"]), "other"


@dataclass
class Verdict:
    tier: str                    # hazard | environmental | by-design | fixed-by | model-gap | unconfirmed
    reason: str                  # one line
    upstream: str = ""           # the upstream function(s) the rule cites
    fixed_by: list = field(default_factory=list)    # fix overlays under which it is gone
    rule: str = ""               # the by-design id, the overlay, or the rule name
    members: list = field(default_factory=list)     # each input reproducer's own tier ("hazard",
                                                    # "environmental", "by-design ID", ...): who excuses it
    needs: list = field(default_factory=list)       # environmental: the outside events its reproducers use

    @property
    def label(self) -> str:
        return f"fixed-by {' '.join(self.fixed_by)}" if self.tier == "fixed-by" else self.tier


def _needs_ops(profile, policy, key: str, reproducers: list, ops: set) -> tuple[bool, set]:
    """Whether every reproducer needs one of `ops` for the root cause: it has such an op, and
    without them (all removed) it no longer shows the root cause. Also the ops it used."""
    used_all = set()
    if not reproducers:
        return False, used_all
    for calls, b in reproducers:
        used = {c.name for c in calls if c.name in ops}
        if not used:
            return False, used_all
        stripped = [c for c in calls if c.name not in ops]
        if stripped and _shows(profile, policy, stripped, key, b):
            return False, used_all
        used_all |= used
    return True, used_all


def _outside_d0(profile, policy, key: str, reproducers: list, rule: dict) -> bool:
    """Whether every reproducer, at or before its violation, makes one of rule["ops"] as
    rule["owner"] with dev->current_state not D0 at the op's start, with no event the kernel is
    not told of before it (a function that stopped answering reads as D3cold to pci_power_up:
    that D3 is the event's, not a driver's; a driver's own D3cold answers nothing either)."""
    if not reproducers:
        return False
    hw = set(rules()["environmental"]["ops"])
    for calls, b in reproducers:
        prov = next((p for p in derive_all(profile, policy, calls) if p.key == key), None)
        if prov is None or not any(f[0] in rule["ops"] and f[1] == rule.get("owner", f[1]) and f[2] != 0
                                   and not any(c.name in hw for c in calls[:k])
                                   for k, f in enumerate(prov.op_facts)):
            return False
    return True


def _restored_by(profile, policy, key: str, reproducers: list, callers: set) -> bool:
    """Whether in every reproducer the restore that wrote it was called by one of `callers`."""
    for calls, b in reproducers:
        prov = next((p for p in derive_all(profile, policy, calls) if p.key == key), None)
        if prov is None or prov.restored_by not in callers:
            return False
    return bool(reproducers)


def _static_match(entry: dict, invariant: str, origin: str, reg_class: str, actor_paths: set) -> bool:
    if "invariant" in entry and invariant not in (entry["invariant"] if isinstance(entry["invariant"], list)
                                                  else [entry["invariant"]]):
        return False
    if invariant in entry.get("not_invariant", ()):
        return False
    if "origin" in entry:
        want = entry["origin"] if isinstance(entry["origin"], list) else [entry["origin"]]
        if origin not in want:
            return False
    if origin in entry.get("not_origin", ()):
        return False
    if "register_class" in entry and entry["register_class"] != reg_class:
        return False
    if "actor_path" in entry and actor_paths is not None and actor_paths != {entry["actor_path"]}:
        return False
    return True


def _match(table: str, profile, policy, key: str, invariant: str, origin: str, reg_class: str,
           actor_paths: set, reproducers: list, with_needs: bool = True) -> dict | None:
    """The first entry of rules()[table] ([[by_design]] or [[model_gap]]) the root cause matches
    (entries with needs_op only when with_needs: assess() weighs those with the environmental rule)."""
    for entry in rules().get(table, []):
        if "member_when" in entry or not _static_match(entry, invariant, origin, reg_class, actor_paths):
            continue
        if "needs_op" in entry:
            if not with_needs or not _needs_ops(profile, policy, key, reproducers, set(entry["needs_op"]))[0]:
                continue
        if "outside_d0" in entry and not _outside_d0(profile, policy, key, reproducers, entry["outside_d0"]):
            continue
        if "restored_by" in entry and not _restored_by(profile, policy, key, reproducers, set(entry["restored_by"])):
            continue
        if "owner" in entry and "needs_op" not in entry and not _owner_at_violation(
                profile, policy, key, reproducers, entry["owner"], entry.get("needs_active", False)):
            continue
        return entry
    return None


def _op_counts(entry: dict, calls: list, k: int, hw: set) -> bool:
    """A needs_op entry's refinements for call k: its arguments among `needs_args` (name -> the
    values that count), and not right after an op of `unless_preceded_by` (outside events
    between them aside): the documented sequence, which the entry does not excuse."""
    args = dict(calls[k].args)
    if any(args.get(name) not in values for name, values in entry.get("needs_args", {}).items()):
        return False
    before = [c for c in calls[:k] if c.name not in hw]
    return not (before and before[-1].name in entry.get("unless_preceded_by", ()))


def _needs_hw(profile, policy, key: str, reproducers: list) -> list[str]:
    """The environmental ops every reproducer needs (each stops showing the root cause with its hw
    ops removed), sorted; [] when some reproducer shows it without them."""
    hw = set(rules()["environmental"]["ops"])
    used = set()
    for calls, b in reproducers:
        mine = {c.name for c in calls if c.name in hw}
        if not mine or _shows(profile, policy, [c for c in calls if c.name not in hw], key, b):
            return []
        used |= mine
    return sorted(used)


def _owner_at_violation(profile, policy, key: str, reproducers: list, owner: str, active: bool = False) -> bool:
    """Whether in every reproducer the violating op starts with that owner fact (vfio_open: a
    user holds the device) and, with `active`, runtime-active (not held by a low-power entry)."""
    for calls, b in reproducers:
        prov = next((p for p in derive_all(profile, policy, calls) if p.key == key), None)
        if prov is None or not prov.op_facts or prov.op_facts[-1][6] != owner \
                or (active and prov.op_facts[-1][3]):
            return False
    return bool(reproducers)


def _shows(profile, policy, calls, key: str, bucket) -> bool:
    """The program shows the root cause. Where the key's origin is only the step where the check
    fired (origin_kind "step", e.g. intent_mismatch), the same invariant and register at any step
    shows it: without the hw ops the same wrong state is first compared at another op."""
    for p in derive_all(profile, policy, calls):
        if p.key == key:
            return True
        if p.origin_kind == "step" and (p.invariant, p.register_class) == _inv_reg(key):
            return True
    return False


def _inv_reg(key: str) -> tuple:
    """(invariant, register class) of a root-cause key "invariant @ origin [register class]"."""
    inv, _, rest = key.partition(" @ ")
    return inv, rest[rest.rfind("[") + 1:-1] if rest.endswith("]") else ""


def _harm_stays(profile, policy, calls, key: str, bucket, base) -> bool:
    """Under a fix overlay: the root cause still shows, or the same invariant still fires at the
    op where it did (the harm moved to another key: an MSI-X table write that hit "Memory off"
    now hits "BAR moved", an all-ones restore now comes from an older all-ones snapshot)."""
    at = {p.op_index for p in derive_all(profile, base, calls) if p.key == key}
    inv = key.split(" @ ", 1)[0]
    return any(p.key == key or (p.invariant == inv and p.op_index in at)
               for p in derive_all(profile, policy, calls))


def fix_overlays(policy_spec: str) -> list[str]:
    """The shipped fix overlays not already part of the policy spec."""
    parts = set(policy_spec.split("+"))
    return [o for o in rules()["fixes"]["overlays"] if o not in parts]


def assess(profile, policy_spec: str, key: str, invariant: str, origin: str, reg_class: str,
           actor_paths: set, reproducers: list, reproduced: bool = True) -> Verdict:
    """The tier of one root cause. `reproducers` is [(calls, bucket)], one per member; the
    verdict's `members` gives each its own tier (a root cause is a hazard when one member is)."""
    from ..policy import load_policy
    if not reproduced:
        v = Verdict("unconfirmed", "the reference model does not reproduce it (engine and model disagree)")
        v.members = ["unconfirmed"] * len(reproducers)
        return v
    base = load_policy(policy_spec)
    # Only reproducers that show the root cause under the policy itself can say anything.
    shown = [i for i, (calls, b) in enumerate(reproducers) if _shows(profile, base, calls, key, b)]
    v, own = _assess(profile, policy_spec, base, key, invariant, origin, reg_class, actor_paths,
                     [reproducers[i] for i in shown])
    v.members = ["unconfirmed"] * len(reproducers)
    for i, label in zip(shown, own if own is not None else [v.label] * len(shown)):
        v.members[i] = label
    return v


def _assess(profile, policy_spec, base, key, invariant, origin, reg_class, actor_paths, reproducers):
    """assess on the reproducers that show the root cause: (verdict, each one's own tier or None
    when all have the verdict's)."""
    from ..policy import load_policy
    if not reproducers:
        return Verdict("unconfirmed", "no reproducer shows it on the reference model"), None
    for table, tier in (("model_gap", "model-gap"), ("by_design", "by-design")):
        entry = _match(table, profile, base, key, invariant, origin, reg_class, actor_paths, reproducers,
                       with_needs=False)
        if entry is not None:
            # a design decision (or a gap) that only ever shows after an event the kernel is not
            # told of is that event's: every member clean without the hw ops -> environmental
            used = _needs_hw(profile, base, key, reproducers)
            if used:
                return Verdict("environmental", rules()["environmental"]["reason"].format(ops=", ".join(used)),
                               rule="environmental", needs=used), None
            own = [f"{tier} {entry['id']}"] * len(reproducers)
            return Verdict(tier, entry["reason"], entry["upstream"], rule=entry["id"]), own
    fixes = rules()["fixes"]
    gone = []
    for overlay in fix_overlays(policy_spec):
        pol = load_policy(f"{policy_spec}+{overlay}")
        if reproducers and not any(_harm_stays(profile, pol, calls, key, b, base) for calls, b in reproducers):
            gone.append(overlay)
    if gone:
        descs = []
        for overlay in gone:
            ov = _overlay_info(overlay)
            descs.append(fixes["reason"].format(policy=f"{policy_spec}+{overlay}", description=ov["description"],
                                                commit=ov.get("commit") or "unmerged"))
        return Verdict("fixed-by", "; ".join(descs), fixed_by=gone, rule="fixes"), None
    # Excused paths: events the kernel is not told of (environmental), and by-design entries that
    # need an op (needs_op: e.g. recovery left to vfio's user). A hazard needs one member whose
    # reproducer shows the root cause with every excusing op removed.
    env = rules()["environmental"]
    hw = set(env["ops"])
    # needs_op and outside_d0 entries also apply member by member (needs_op on the member's own
    # actor path): a member is excused by one of them or by an event the kernel is not told of;
    # the root cause is a hazard when some member is excused by nothing.
    design = [e for e in rules().get("by_design", []) if ("needs_op" in e or "outside_d0" in e)
              and _static_match(e, invariant, origin, reg_class, None)]
    gaps = [e for e in rules().get("model_gap", []) if "member_when" in e
            and _static_match(e, invariant, origin, reg_class, None)]
    facts_of = {}
    for i, (calls, b) in enumerate(reproducers):
        prov = next((p for p in derive_all(profile, base, calls) if p.key == key), None)
        facts_of[i] = prov.op_facts if prov else []

    def strip(i, entries, with_hw: bool) -> set:
        """Indices of the ops that excuse member i: hw ops, and each needs_op entry's ops made
        while the device had that entry's owner (actor_path, and the exact owner fact if the entry
        names one: vfio_open), if any."""
        calls, _ = reproducers[i]
        out = {k for k, c in enumerate(calls) if with_hw and c.name in hw}
        for e in entries:
            for k, c in enumerate(calls[:len(facts_of[i])]):
                f = facts_of[i][k]
                if c.name in e["needs_op"] and e.get("actor_path", f[1]) == f[1] \
                        and e.get("owner", f[6]) == f[6] and not (e.get("needs_active") and f[3]) \
                        and _op_counts(e, calls, k, hw):
                    out.add(k)
        return out

    def needs(i, idx: set) -> bool:
        calls, b = reproducers[i]
        return bool(idx) and not _shows(profile, base, [c for k, c in enumerate(calls) if k not in idx], key, b)

    def gap_holds(i, e) -> bool:
        """A model_gap member_when: the violating op is one of `ops` and starts with the device
        runtime-suspended / in perm_failure, as the entry asks."""
        w = e["member_when"]
        if not facts_of[i]:
            return False
        f = facts_of[i][-1]
        return (f[0] in w.get("ops", [f[0]]) and (not w.get("runtime_suspended") or bool(f[3]))
                and (not w.get("perm_failure") or bool(f[5])))

    def excused_by(i):
        """'hw', a by-design or model_gap entry, or None."""
        for e in gaps:
            if gap_holds(i, e):
                return e
        for e in design:
            if "outside_d0" in e and _static_match(e, invariant, origin, reg_class, {facts_of[i][-1][1]}
                                                   if facts_of[i] else None) \
                    and _outside_d0(profile, base, key, [reproducers[i]], e["outside_d0"]):
                return e
        needers = [e for e in design if "needs_op" in e]
        if not needs(i, strip(i, needers, True)):
            return None
        if needs(i, strip(i, [], True)):
            return "hw"
        return next((e for e in needers if needs(i, strip(i, [e], False))), "hw")
    why = [excused_by(i) for i in range(len(reproducers))]
    own = ["hazard" if w is None else "environmental" if w == "hw" else
           f"{'by-design' if w in rules().get('by_design', []) else 'model-gap'} {w['id']}" for w in why]
    if any(w is None for w in why):
        # the reason for this origin where tiers.toml has one ([hazard."INV @ ORIGIN"]), else the
        # invariant's: one text cannot say what both the MSI-X table and a user's BAR access do
        hz = rules().get("hazard", {})
        h = hz.get(f"{invariant} @ {origin}") or hz.get(invariant, {})
        return Verdict("hazard", h.get("reason", invariant), h.get("upstream", ""), rule="hazard"), own
    used = sorted({c.name for calls, _ in reproducers for c in calls if c.name in hw})
    entries = [w for w in why if w != "hw"]
    if not entries:
        return Verdict("environmental", env["reason"].format(ops=", ".join(used)), rule="environmental",
                       needs=used), own
    designed = [w for w in entries if w in rules().get("by_design", [])]
    if not designed:       # every member a model gap (or environmental)
        e = entries[0]
        return Verdict("model-gap", e["reason"], e["upstream"], rule=e["id"]), own
    entries = designed + [w for w in entries if w not in designed]
    e = entries[0]
    others = {w["id"] for w in entries} - {e["id"]}
    parts = ([f"other paths: {', '.join(sorted(others))}"] if others else []) + (
        [f"other paths need {', '.join(used)}, which the kernel is not told of"] if "hw" in why else [])
    extra = f" ({'; '.join(parts)})" if parts else ""
    return Verdict("by-design", e["reason"] + extra, e["upstream"], rule=e["id"]), own


@lru_cache(maxsize=None)
def _overlay_info(name: str) -> dict:
    from ..policy.loader import BUILTIN_DIR
    with open(BUILTIN_DIR / f"{name}.toml", "rb") as f:
        return tomllib.load(f).get("overlay", {})


# --- known findings of a baseline ---------------------------------------------------------------------

def baseline_of(policy_spec: str) -> str:
    return policy_spec.split("+", 1)[0]


def known_path(policy_spec: str) -> Path:
    import os
    base = baseline_of(policy_spec)
    name = Path(base).stem if base.endswith(".toml") else Path(base).name
    return Path(os.environ.get(KNOWN_DIR_ENV) or KNOWN_DIR) / f"{name}.toml"


_KNOWN_SCHEMA = {"key": str, "tier": str, "reason": str, "upstream": str, "example": str}
_CLASS_SCHEMA = {"invariant": str, "needs": list, "tier": str, "reason": str, "upstream": str,
                 "example": str}


def _known_data(policy_spec: str) -> dict | None:
    """The reviewed list of the spec's baseline, checked: a hand-edited entry that lacks a key,
    names an unknown tier, invariant or event, or repeats a key is a `file:line` error (an entry
    that silently matched nothing would turn a reviewed root cause NEW, or hide one)."""
    path = known_path(policy_spec)
    if not path.is_file():
        return None
    st = path.stat()
    return _checked_known(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _checked_known(path: str, _mtime: int, _size: int) -> dict:
    from ..model.invariants import INVARIANTS
    from ..util.toml_source import check_keys, load_toml
    src = load_toml(path)
    data = src.data
    for top in data:
        if top not in ("root_cause", "root_cause_class") or not isinstance(data[top], list):
            raise src.error(f"unknown table '{top}' (a reviewed list has [[root_cause]] and "
                            "[[root_cause_class]] entries)", "", top)
    invariants = {inv.name for inv in INVARIANTS}
    events = set(rules()["environmental"]["ops"])
    seen: dict = {}
    for table, schema, required in (("root_cause", _KNOWN_SCHEMA, ("key", "tier", "reason")),
                                    ("root_cause_class", _CLASS_SCHEMA, ("invariant", "needs", "tier", "reason"))):
        for i, e in enumerate(data.get(table, [])):
            check_keys(src, table, e, schema, i, required)
            if e["tier"].split(" ", 1)[0] not in TIER_ORDER:
                raise src.error(f"tier '{e['tier']}' is none of {', '.join(TIER_ORDER)}", table, "tier", i)
            if table == "root_cause":
                if e["key"] in seen:
                    raise src.error(f"key '{e['key']}' is listed twice (first at line {seen[e['key']]})",
                                    table, "key", i)
                seen[e["key"]] = src.line_of(table, "key", i)
                continue
            if e["invariant"] not in invariants:
                raise src.error(f"invariant '{e['invariant']}' is not an invariant (fuzzcore invariants)",
                                table, "invariant", i)
            bad = [n for n in e["needs"] if n not in events]
            if bad or not e["needs"]:
                raise src.error(f"needs {bad or '[]'}: a class needs one or more of the events the "
                                f"kernel is not told of ({', '.join(sorted(events))})", table, "needs", i)
    return data


def known_root_causes(policy_spec: str) -> dict | None:
    """key -> {tier, reason} of the reviewed list for the spec's baseline; None without a list."""
    data = _known_data(policy_spec)
    return None if data is None else {rc["key"]: rc for rc in data.get("root_cause", [])}


def known_classes(policy_spec: str) -> list:
    """The reviewed list's [[root_cause_class]] entries: one review of a class of root causes that
    differ only in the op where the wrong state was first compared (an end-of-op invariant such as
    intent_mismatch names that op), e.g. config writes lost while the function did not answer."""
    return (_known_data(policy_spec) or {}).get("root_cause_class", [])


def class_entry(classes: list, invariant: str, verdict: Verdict) -> dict | None:
    """The class a root cause belongs to: its invariant, and a computed environmental tier whose
    reproducers use every event the class needs."""
    for e in classes:
        if e.get("invariant") == invariant and verdict.rule == "environmental" \
                and set(e.get("needs", [])) <= set(verdict.needs):
            return e
    return None


def sort_key(rc) -> tuple:
    """Tier order, then severity, then most hits first."""
    tier = rc.verdict.tier if rc.verdict else "hazard"
    return (TIER_ORDER.index(tier) if tier in TIER_ORDER else 9, severity(rc.invariant)[0], -rc.hits, rc.key)
