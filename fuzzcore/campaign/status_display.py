"""How `fuzzcore fuzz` shows its progress and its result; the numbers come from the driver.

On a terminal (stderr is a tty) a rich live status, redrawn about 4 times a second:

    00:12  execs 71,234  5,880/s  corpus 312  features 1,145  cov 711  refused 33.1%
    root causes 40 (+0 new)  buckets 142 (+3 new)  newest mmio_decode_off--vfio_device_reset--MSI-X_t…

and the exit summary as a rich table. Anywhere else (CI logs, tests, a pipe) one plain line
every STATUS_SECONDS and a plain table, so a log stays readable line by line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

STATUS_SECONDS = 5.0     # plain lines
LIVE_SECONDS = 0.25      # the live status's redraw interval


@dataclass
class Status:
    elapsed: float
    execs: int
    exec_per_s: float
    corpus: int
    features: int | None     # state features hit: libFuzzer's `ft:` or the workers' own count, the max over workers
    cov: int | None          # libFuzzer's `cov:` (None: it prints no status lines, the default)
    buckets: int
    new_buckets: int
    newest: str | None       # the bucket found last in this session
    root_causes: int | None = None       # distinct root-cause keys over the buckets (meta.json)
    new_root_causes: int | None = None   # of those, not in the baseline's reviewed list (None: no list)
    class_root_causes: int = 0           # not listed, of an invariant a [[root_cause_class]] may cover:
                                         # whether it does needs the tier, computed at the end
    ops: int | None = None               # ops the workers ran this session (None: no worker stats yet)
    ops_refused: int | None = None       # of those, refused by a precondition (op table `pre`)


def refused_text(ops: int | None, refused: int | None) -> str:
    """`ops 5,688,214 (32.7% refused)`: how much of the work the kernel's preconditions turned
    away (returned the kernel's error, changed nothing); "" before any worker reported."""
    if ops is None or refused is None:
        return ""
    share = f"{100.0 * refused / ops:.1f}%" if ops else "-"
    return f"ops {ops:,} ({share} refused)"


@dataclass
class BucketRow:
    name: str
    hits: int
    min_ops: int
    path: str                # its smallest input (min.fzs)


@dataclass
class RootCauseRow:
    tier: str                # hazard | environmental | by-design | fixed-by X | unconfirmed
    key: str                 # invariant @ origin [register class]
    paths: int               # member buckets (op paths)
    hits: int
    min_ops: int             # the shortest reproducer's length
    path: str                # the shortest reproducer
    status: str = ""         # known | NEW | "" (no reviewed list for the baseline)


def _class_text(s: "Status") -> str:
    return f", {s.class_root_causes} for a class at the end" if s.class_root_causes else ""


def _rc_text(s: "Status") -> str:
    if s.root_causes is None:
        return ""
    new = f" (+{s.new_root_causes} new{_class_text(s)})" if s.new_root_causes is not None else ""
    return f"root causes {s.root_causes}{new} "


def _ops_text(s: "Status") -> str:
    t = refused_text(s.ops, s.ops_refused)
    return t + " " if t else ""


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def _num(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _cov_text(s: Status) -> str:
    # libFuzzer's `cov:` exists only when it prints status lines (-verbosity=1).
    return "" if s.cov is None else f"cov {s.cov:,} "


def status_line(s: Status) -> str:
    """The plain status line (also what the live status says, unstyled)."""
    line = (f"[{_clock(s.elapsed)}] execs {s.execs:,} ({s.exec_per_s:,.0f}/s) corpus {s.corpus:,} "
            f"features {_num(s.features)} {_cov_text(s)}{_ops_text(s)}{_rc_text(s)}"
            f"buckets {s.buckets} (+{s.new_buckets} new)")
    return line + (f" newest {s.newest}" if s.newest else "")


class NullDisplay:
    """--quiet: nothing at all."""
    interval = STATUS_SECONDS

    def message(self, text: str) -> None:
        pass

    def start(self) -> None:
        pass

    def update(self, s: Status) -> None:
        pass

    def stop(self, final: Status | None = None) -> None:
        """End the live status (on `final`'s numbers when given); plain lines need no ending."""

    def summary(self, done: str, rows: list[BucketRow], notes: list[str]) -> None:
        pass


class PlainDisplay(NullDisplay):
    """One line per update (the driver updates it every STATUS_SECONDS), through `echo`."""
    interval = STATUS_SECONDS

    def __init__(self, echo: Callable[[str], None]):
        self.echo = echo

    def message(self, text: str) -> None:
        self.echo(text)

    def update(self, s: Status) -> None:
        self.echo(status_line(s))

    def summary(self, done: str, rows: list, notes: list[str]) -> None:
        self.echo(done)
        if rows and isinstance(rows[0], RootCauseRow):
            self.echo(f"  {'tier':14} {'':5} {'root cause':64} {'paths':>5} {'hits':>8} {'ops':>4}  shortest reproducer")
            for r in rows:
                self.echo(f"  {r.tier[:14]:14} {r.status:5} {r.key[:64]:64} {r.paths:>5} {r.hits:>8} {r.min_ops:>4}  {r.path}")
        elif rows:
            self.echo(f"  {'bucket':70} {'hits':>7} {'ops':>4}  smallest input")
            for r in rows:
                self.echo(f"  {r.name[:70]:70} {r.hits:>7} {r.min_ops:>4}  {r.path}")
        for n in notes:
            self.echo(n)


class RichDisplay(NullDisplay):
    """A live status on the terminal, redrawn by the driver every LIVE_SECONDS."""
    interval = LIVE_SECONDS

    def __init__(self, console=None):
        from rich.console import Console
        self.console = console or Console(stderr=True, force_terminal=True)
        self.live = None

    def message(self, text: str) -> None:
        from rich.text import Text
        # No markup (paths and bucket names may hold brackets); the terminal wraps long lines, so
        # a path stays one string to copy.
        self.console.print(Text(text), soft_wrap=True)

    def start(self) -> None:
        from rich.live import Live
        from rich.text import Text
        self.live = Live(Text("fuzzcore: starting workers"), console=self.console, auto_refresh=False,
                         transient=False, redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def render(self, s: Status):
        """Two lines that fit 80 columns: the rates, then the buckets (a long name is cut)."""
        from rich.console import Group
        from rich.text import Text
        rates = Text(no_wrap=True, overflow="ellipsis")
        rates.append(_clock(s.elapsed), "bold")
        rates.append("  execs ", "dim").append(f"{s.execs:,}", "bold")
        rates.append(f"  {s.exec_per_s:,.0f}/s", "cyan")
        rates.append("  corpus ", "dim").append(f"{s.corpus:,}", "bold")
        rates.append("  features ", "dim").append(_num(s.features), "bold")
        if s.cov is not None:
            rates.append("  cov ", "dim").append(_num(s.cov), "bold")
        if s.ops is not None and s.ops_refused is not None:
            rates.append("  refused ", "dim").append(
                f"{100.0 * s.ops_refused / s.ops:.1f}%" if s.ops else "-", "bold")
        found = Text(no_wrap=True, overflow="ellipsis")
        if s.root_causes is not None:
            found.append("root causes ", "dim").append(f"{s.root_causes}", "bold")
            if s.new_root_causes is not None:
                found.append(f" (+{s.new_root_causes} new{_class_text(s)})  ",
                             "bold red" if s.new_root_causes else "dim")
            else:
                found.append("  ")
        found.append("buckets ", "dim").append(f"{s.buckets}", "bold")
        found.append(f" (+{s.new_buckets} new)", "bold green" if s.new_buckets else "dim")
        found.append("  newest ", "dim").append(s.newest or "-", "yellow" if s.newest else "dim")
        return Group(rates, found)

    def update(self, s: Status) -> None:
        if self.live is not None:
            self.live.update(self.render(s), refresh=True)

    def stop(self, final: Status | None = None) -> None:
        if self.live is not None:
            if final is not None:
                self.live.update(self.render(final), refresh=True)
            self.live.stop()
            self.live = None

    def summary(self, done: str, rows: list, notes: list[str]) -> None:
        """The root causes (or new buckets) as a table; the smallest input's path in its own
        column when the terminal is wide enough to show it whole, else once, as a pattern, in the
        title."""
        from rich.table import Table
        from rich.text import Text
        self.console.print(Text(done), soft_wrap=True)
        if rows and isinstance(rows[0], RootCauseRow):
            table = Table(title=f"{len(rows)} root cause(s)", title_justify="left", show_edge=False,
                          header_style="bold")
            for col, kw in (("tier", {"no_wrap": True}), ("", {"no_wrap": True}), ("root cause", {"overflow": "fold"}),
                            ("paths", {"justify": "right"}), ("hits", {"justify": "right"}),
                            ("ops", {"justify": "right"}), ("shortest reproducer", {"overflow": "fold", "style": "dim"})):
                table.add_column(col, **kw)
            for r in rows:
                table.add_row(r.tier, Text(r.status, style="bold red" if r.status == "NEW" else "dim"), Text(r.key),
                              str(r.paths), f"{r.hits:,}", str(r.min_ops), Text(r.path))
            self.console.print(table)
        elif rows:
            name_w = max(len(r.name) for r in rows)
            with_path = name_w + max(len(r.path) for r in rows) + 24 <= self.console.width
            title = f"{len(rows)} new bucket(s)"
            if not with_path:
                title += f"; smallest inputs: {Path(rows[0].path).parent.parent}/BUCKET/min.fzs"
            table = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
            table.add_column("bucket", overflow="fold", min_width=min(name_w, 40))
            table.add_column("hits", justify="right", no_wrap=True)
            table.add_column("ops", justify="right", no_wrap=True)
            if with_path:
                table.add_column("smallest input", no_wrap=True, style="dim")
            for r in rows:
                cells = [Text(r.name), f"{r.hits:,}", str(r.min_ops)]
                table.add_row(*cells, *([Text(r.path)] if with_path else []))
            self.console.print(table)
        for n in notes:
            self.console.print(Text(n, style="bold" if n.startswith("next:") else ""), soft_wrap=True)


def make_display(echo: Callable[[str], None], quiet: bool = False, live: bool | None = None):
    """NullDisplay when quiet; RichDisplay when `live` (default: stderr is a terminal, not a dumb
    one); PlainDisplay through `echo` otherwise."""
    if quiet:
        return NullDisplay()
    if live is None:
        import os
        live = sys.stderr.isatty() and os.environ.get("TERM", "") != "dumb"
    if live:
        try:
            return RichDisplay()
        except ImportError:   # rich is a dependency; a broken install still gets plain lines
            pass
    return PlainDisplay(echo)
