"""The docs stand on their own: nothing in the repository points to a file outside it, every hazard
label a finding can print is defined in docs/kernel.md §9, every "§N" citation names a section of
docs/kernel.md (and every "docs/design.md §N" one of docs/design.md), and every relative link in
the Markdown files leads to a tracked file (and, with a #fragment, to a heading in it)."""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KERNEL_MD = ROOT / "docs" / "kernel.md"
DESIGN_MD = ROOT / "docs" / "design.md"

# Spelled in pieces so that this file does not match itself.
FORBIDDEN = ("../" + "shared", "shared/" + "reference", "DESIGN" + ".md", "DESIGN" + " §",
             "linux-pci" + "-restore")

# A hazard label: H<n>, optionally a letter (a separate hazard, H3e) or a letter in parentheses (a
# trigger of the hazard, H1(a)).
LABEL = re.compile(r"\bH\d{1,2}(?:[a-z]\b|\([a-z]\)|\b)")
# A section citation: §N or §N.M, not a deeper number such as a specification's §7.5.3.16.
SECTION = re.compile(r"§(\d+(?:\.\d+)?)(?!\.?\d)")
DESIGN_CITATION = re.compile(r"design\.md\s+§(\d+(?:\.\d+)?)(?!\.?\d)")
MD_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@lru_cache(maxsize=1)
def tracked_files() -> tuple[str, ...]:
    """The repository's files: git's list in a checkout, else every file under the root outside
    build and cache directories (an exported tree is checked too, never skipped)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        return tuple(p for p in out.decode().split("\0") if p)
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", "build", "__pycache__", ".pytest_cache", ".hypothesis", "fuzzcore-out"}
        return tuple(str(p.relative_to(ROOT)) for p in sorted(ROOT.rglob("*"))
                     if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
                     and not p.name.endswith((".so", ".c")) and "egg-info" not in str(p))


@lru_cache(maxsize=None)
def text_of(rel: str) -> str | None:
    """The file's text, or None for a binary, undecodable or (deleted in the work tree) missing file."""
    try:
        data = (ROOT / rel).read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def text_files() -> list[tuple[str, str]]:
    return [(rel, t) for rel in tracked_files() if (t := text_of(rel)) is not None]


def headings(md: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^#{1,6}\s+(.*)$", md, re.M)]


def section_numbers(md: str) -> set[str]:
    """'1', '1.2', ... from headings such as '## 1. Data structures' or '### 1.2 Save buffers'."""
    nums = set()
    for h in headings(md):
        m = re.match(r"(\d+(?:\.\d+)*)\.?\s", h)
        if m:
            nums.add(m.group(1))
    return nums


def section(md: str, number: str) -> str:
    """The text of top-level section `number` ('## N. ...' up to the next '## ')."""
    m = re.search(rf"^## {number}\.\s.*?(?=^## |\Z)", md, re.M | re.S)
    assert m, f"no section '## {number}.' in docs/kernel.md"
    return m.group(0)


def defined_labels() -> set[str]:
    """Labels defined in docs/kernel.md §9: those in the first cell of a row of its table."""
    labels = set()
    for line in section(KERNEL_MD.read_text(encoding="utf-8"), "9").splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            labels.update(LABEL.findall(cells[1]))
    return labels


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def test_no_file_points_outside_the_repository():
    bad = [f"{rel}:{text.count(chr(10), 0, text.find(s)) + 1}: {s!r}"
           for rel, text in text_files() for s in FORBIDDEN if s in text]
    assert not bad, "references to files outside the repository:\n" + "\n".join(bad)


def test_every_invariant_hazard_is_defined_in_kernel_md():
    from fuzzcore.model.invariants import INVARIANTS
    defined = defined_labels()
    kernel_sections = section_numbers(KERNEL_MD.read_text(encoding="utf-8"))
    missing = []
    for inv in INVARIANTS:
        for label in LABEL.findall(inv.hazard):
            if label not in defined:
                missing.append(f"{inv.name}: {label}")
        for num in SECTION.findall(inv.hazard):
            if num not in kernel_sections:
                missing.append(f"{inv.name}: §{num}")
        assert LABEL.search(inv.hazard), f"{inv.name}: hazard {inv.hazard!r} names no hazard label"
    assert not missing, "hazards not defined in docs/kernel.md §9:\n" + "\n".join(missing)


def test_every_hazard_label_used_anywhere_is_defined():
    defined = defined_labels()
    used: dict[str, str] = {}
    for rel, text in text_files():
        if rel == "docs/kernel.md":
            continue
        for label in LABEL.findall(text):
            used.setdefault(label, rel)
    missing = sorted(f"{label} (first in {rel})" for label, rel in used.items() if label not in defined)
    assert not missing, "hazard labels not defined in docs/kernel.md §9:\n" + "\n".join(missing)


def test_every_section_citation_resolves():
    kernel = section_numbers(KERNEL_MD.read_text(encoding="utf-8"))
    design = section_numbers(DESIGN_MD.read_text(encoding="utf-8"))
    bad = []
    for rel, text in text_files():
        design_spans = set()
        for m in DESIGN_CITATION.finditer(text):
            design_spans.add(m.start(1) - 1)
            if m.group(1) not in design:
                bad.append(f"{rel}: docs/design.md §{m.group(1)}")
        for m in SECTION.finditer(text):
            if m.start() in design_spans:
                continue
            if m.group(1) not in kernel:
                line = text.count("\n", 0, m.start()) + 1
                bad.append(f"{rel}:{line}: §{m.group(1)}")
    assert not bad, "citations of sections that do not exist:\n" + "\n".join(bad)


def test_relative_markdown_links_resolve():
    tracked = set(tracked_files())
    tracked_dirs = set()
    for p in tracked:
        parent = Path(p).parent
        while str(parent) != ".":
            tracked_dirs.add(str(parent))
            parent = parent.parent
    bad = []
    for rel, text in text_files():
        if not rel.endswith(".md"):
            continue
        for m in MD_LINK.finditer(text):
            target = m.group(1)
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):      # http:, https:, mailto:
                continue
            path, _, fragment = target.partition("#")
            if path:
                resolved = (ROOT / rel).parent.joinpath(path).resolve()
                try:
                    key = str(resolved.relative_to(ROOT))
                except ValueError:
                    bad.append(f"{rel}: {target} (outside the repository)")
                    continue
                if key not in tracked and key not in tracked_dirs:
                    bad.append(f"{rel}: {target} (not a tracked file)")
                    continue
            else:
                key = rel
            if fragment and key.endswith(".md"):
                anchors = {slug(h) for h in headings(text_of(key) or "")}
                if fragment not in anchors:
                    bad.append(f"{rel}: {target} (no heading #{fragment})")
    assert not bad, "broken relative links:\n" + "\n".join(bad)
