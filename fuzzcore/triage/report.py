"""Root causes as a reader sees them: one line each (tier, severity class, path count, hits, the
shortest reproducer, known or new), grouped by tier in display order. Shared by `fuzzcore fuzz`
(exit summary), `fuzzcore show DIR` and `fuzzcore diff`."""

from __future__ import annotations

from .tiers import DEFAULT_TIERS, TIER_ORDER, severity


def visible(rcs, all_tiers: bool) -> tuple[list, list]:
    """(shown, hidden): hazard, environmental and unconfirmed root causes by default; --all shows
    by-design and fixed-by too."""
    shown = [r for r in rcs if all_tiers or (r.verdict and r.verdict.tier in DEFAULT_TIERS)]
    hidden = [r for r in rcs if r not in shown]
    return shown, hidden


def status_word(rc) -> str:
    return "" if rc.known is None else ("known" if rc.known else "NEW")


def lines(rcs, all_tiers: bool = False, with_detail: bool = True, indent: str = "  ") -> list[str]:
    """The root causes, grouped by tier: a header per tier, then one line per root cause
    (`paths` member buckets, `hits`, the shortest reproducer's ops and path), its provenance and
    the tier's one-line reason under it."""
    shown, hidden = visible(rcs, all_tiers)
    out = []
    for tier in TIER_ORDER:
        group = [r for r in shown if r.verdict and r.verdict.tier == tier]
        if not group:
            continue
        out.append(f"{tier} ({len(group)}):")
        for r in group:
            word = status_word(r)
            label = r.verdict.label if tier == "fixed-by" else ""
            out.append(f"{indent}{(word + ' ') if word else ''}{r.key}  [{severity(r.invariant)[1]}]"
                       f"{(' ' + label) if label else ''}")
            out.append(f"{indent}    {r.paths} path(s), {r.hits:,} hits, shortest {r.shortest_ops} ops: {r.shortest}")
            if with_detail:
                out.append(f"{indent}    origin: {r.detail}")
                out.append(f"{indent}    {tier}: {r.verdict.reason}"
                           + (f" [{r.verdict.upstream}]" if r.verdict.upstream else "")
                           + (" (reviewed list)" if r.verdict.rule == "reviewed" else ""))
                if r.computed is not None:
                    out.append(f"{indent}    these reproducers alone: {r.computed.label} ({r.computed.reason})")
                if r.reviewed is not None:
                    out.append(f"{indent}    reviewed list, not borne out by these reproducers: "
                               f"{r.reviewed.label} ({r.reviewed.reason})")
    if hidden:
        counts = {}
        for r in hidden:
            counts[r.verdict.tier] = counts.get(r.verdict.tier, 0) + 1
        out.append("not shown (--all): " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    return out


def known_summary(rcs, policy: str) -> tuple[str, int]:
    """The closing line about new root causes, and how many are new (0 without a reviewed list)."""
    from .tiers import known_path
    if not rcs:
        return "no root causes", 0
    if rcs[0].known is None:
        return (f"no reviewed known-findings list for this baseline ({known_path(policy)}); "
                f"{len(rcs)} root cause(s) not checked against one"), 0
    new = [r for r in rcs if not r.known]
    moved = [r for r in rcs if r.computed is not None]
    env = [r for r in rcs if r.reviewed is not None]
    note = (f"; {len(moved)} known root cause(s) shown with their reviewed tier, which these reproducers "
            f"alone do not give (show --all lists both)") if moved else ""
    if env:
        note += (f"; {len(env)} shown with the tier these reproducers give, which the reviewed one "
                 f"(from other paths, or a fix these reproducers show does not hold) cannot overrule")
    if not new:
        return f"no new root causes ({len(rcs)} known, list {known_path(policy)}){note}", 0
    return (f"{len(new)} new root cause(s) (not in {known_path(policy)}): "
            + "; ".join(r.key for r in new) + note), len(new)


def counts_line(rcs) -> str:
    by_tier = {}
    for r in rcs:
        t = r.verdict.tier if r.verdict else "?"
        by_tier[t] = by_tier.get(t, 0) + 1
    n_buckets = sum(r.paths for r in rcs)
    return (f"{len(rcs)} root cause(s) over {n_buckets} bucket(s): "
            + ", ".join(f"{by_tier[t]} {t}" for t in TIER_ORDER if t in by_tier))


def to_json(rcs) -> list[dict]:
    return [{"key": r.key, "invariant": r.invariant, "origin": r.origin, "register_class": r.register_class,
             "tier": r.verdict.tier if r.verdict else None, "label": r.verdict.label if r.verdict else None,
             "reason": r.verdict.reason if r.verdict else None,
             "upstream": r.verdict.upstream if r.verdict else None,
             "fixed_by": r.verdict.fixed_by if r.verdict else [], "severity": severity(r.invariant)[1],
             "paths": r.paths, "members": r.members, "member_tiers": dict(zip(r.members, r.member_tiers)),
             "hits": r.hits, "actor_paths": sorted(r.actor_paths),
             "shortest_ops": r.shortest_ops, "shortest": r.shortest, "detail": r.detail, "known": r.known,
             "computed_tier": r.computed.label if r.computed is not None else (r.verdict.label if r.verdict else None),
             "reviewed_tier": r.reviewed_tier or None}
            for r in rcs]
