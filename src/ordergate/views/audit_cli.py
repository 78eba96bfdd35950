"""`ordergate audit tail` and `ordergate audit explain`: the audit log for an operator.

Exit codes: 0 done (malformed lines are shown and counted, not fatal: a viewer of a log a
crash cut short must still show the rest); 1 `explain` found nothing for the ID;
2 the command cannot run as asked (no such file, a misspelt event, a bad time, the server
unreachable or refusing the token).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.text import Text

from ordergate.views.audit_explain import find_story, narrate
from ordergate.views.audit_filter import Criteria, CriteriaError, Matcher
from ordergate.views.audit_records import Notice, follow, parse, read_lines
from ordergate.views.audit_remote import TOKEN_ENV, RemoteError, Server, narrate_order, orders_for
from ordergate.views.audit_tail import render, render_malformed

audit_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Read the audit log: tail it, or explain one signal.")
_SHOWN_MALFORMED = 20
"""Line numbers listed in the closing count of malformed lines (the count is exact)."""

def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


class _Output:
    """Where records go: rich on a terminal; plain text (the same words, no colour, no
    per-line rich cost) to a pipe; the file's own bytes with --json."""

    def __init__(self, as_json: bool, live: bool) -> None:
        self.as_json, self.live = as_json, live
        self.console = Console(highlight=False, soft_wrap=True)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)
        self.stdout: TextIO = sys.stdout

    def record(self, raw: bytes, text: Text) -> None:
        if self.as_json:
            self.stdout.buffer.write(raw + b"\n")
            if self.live:
                self.stdout.flush()
        elif self.console.is_terminal:
            self.console.print(text)
        else:
            self.stdout.write(text.plain + "\n")
            if self.live:
                self.stdout.flush()

    def malformed(self, text: Text) -> None:
        """Inline with the records when they are text; on stderr with --json, so that
        what `jq` reads stays JSON."""
        if self.as_json:
            self.errors.print(text)
        else:
            self.record(b"", text)

    def notice(self, text: str) -> None:
        self.errors.print(Text(text, style="dim"))


@audit_app.command("tail")
def tail_command(
    path: Annotated[Path, typer.Argument(help="An audit log: a live one or a replay's audit.jsonl.")],
    follow_: Annotated[bool, typer.Option("--follow", "-f", help="Keep reading: show each new record as it is written; follows rotation.")] = False,
    from_end: Annotated[bool, typer.Option("--from-end", help="With --follow: only records written from now on.")] = False,
    signal: Annotated[list[str] | None, typer.Option("--signal", help="A signal ID; also matches its order's lines (fills, positions).")] = None,
    order: Annotated[list[str] | None, typer.Option("--order", help="A client order ID.")] = None,
    event: Annotated[list[str] | None, typer.Option("--event", help="An audit event, e.g. handler_verdict, fill.")] = None,
    decision: Annotated[list[str] | None, typer.Option("--decision", help="deny, admit, invalid, fill, FILLED, EXPIRED... (any case).")] = None,
    account: Annotated[list[str] | None, typer.Option("--account", help="An account ID.")] = None,
    symbol: Annotated[list[str] | None, typer.Option("--symbol", help="A symbol, e.g. BTC/USDT.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO-8601; records at or after (engine time; no offset: UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="ISO-8601; records at or before.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The matching lines exactly as in the file (for jq).")] = False,
) -> None:
    """One readable line per audit record (or the raw JSON lines with --json).

    Each filter is repeatable or comma-separated; a record is shown when it matches one
    value of every filter given. Malformed lines are shown as such and counted."""
    try:
        criteria = Criteria.build(signals=signal, orders=order, events=event,
                                  decisions=decision, accounts=account, symbols=symbol,
                                  since=since, until=until)
    except CriteriaError as exc:
        raise _fail(str(exc)) from None
    if from_end and not follow_:
        raise _fail("--from-end goes with --follow (without it there is nothing to wait for)")
    if path.is_dir():
        raise _fail(f"{path} is a directory: give the audit log inside it (audit.jsonl)")
    if not follow_ and not path.exists():
        raise _fail(f"{path}: no such file")
    out = _Output(as_json, follow_)
    matcher = Matcher(criteria)
    total = shown = 0
    malformed: list[int] = []
    decisions_seen: set[str] = set()
    lines = (follow(path, from_start=not from_end) if follow_ else read_lines(path))
    try:
        for item in lines:
            if isinstance(item, Notice):
                out.notice(item.text)
                continue
            record = parse(item)
            total += 1
            if record.fields is None:
                malformed.append(record.number)
                out.malformed(render_malformed(record))
                continue
            if criteria.decisions:
                decisions_seen.add(str(record.fields.get("decision")).lower())
            if matcher(record.fields):
                shown += 1
                out.record(record.raw, Text() if as_json else render(
                    record, matcher.signal_of(record.fields)))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except BrokenPipeError:  # `| head`: the reader has gone; so do we, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    _closing(out, path, criteria, total, shown, malformed, decisions_seen)


def _closing(out: _Output, path: Path, criteria: Criteria, total: int, shown: int,
             malformed: list[int], decisions_seen: set[str]) -> None:
    """What a reader of the output alone could not tell: on stderr."""
    if malformed:
        listed = ", ".join(map(str, malformed[:_SHOWN_MALFORMED]))
        more = ", ..." if len(malformed) > _SHOWN_MALFORMED else ""
        out.errors.print(Text(f"{len(malformed)} malformed line(s) in {path}: line "
                              f"{listed}{more}", style="red"))
    missing = sorted(criteria.decisions - decisions_seen)
    if missing:
        out.errors.print(Text(f"note: no line of {path} has decision {', '.join(missing)} "
                              f"(it has: {', '.join(sorted(decisions_seen)) or 'none'})",
                              style="yellow"))
    if not criteria.empty or not shown:
        out.errors.print(Text(f"{shown} of {total - len(malformed)} records shown",
                              style="dim"))


@audit_app.command("explain")
def explain_command(
    id_: Annotated[str, typer.Argument(metavar="ID", help="A signal ID or a client order ID.")],
    path: Annotated[Path | None, typer.Argument(help="The audit log to read (audit.jsonl).")] = None,
    server: Annotated[str | None, typer.Option(help="Ask a running `ordergate serve` (e.g. http://127.0.0.1:8080) instead, or as well.")] = None,
    token_env: Annotated[str, typer.Option(help="The environment variable holding the bearer token (read scope).")] = TOKEN_ENV,
) -> None:
    """The whole story of one signal: each handler's verdict, the order's transitions with
    their reasons, each fill, the position it moved, and how it ended."""
    if path is None and server is None:
        raise _fail("give the audit log (ordergate audit explain ID PATH) or --server URL")
    told = False
    if path is not None:
        if not path.is_file():
            raise _fail(f"{path}: no such file")
        story = find_story(path, id_)
        if story.malformed:
            typer.echo(f"note: {story.malformed} malformed line(s) in {path} could not be "
                       "read; they may belong to this story", err=True)
        if story.records:
            typer.echo("\n".join(narrate(story)))
            told = True
        elif server is None:
            raise _fail(f"no line of {path} names {id_!r} as a signal ID or a client "
                        "order ID", 1)
    if server is not None:
        try:
            orders = orders_for(Server(server, token_env), id_)
        except RemoteError as exc:
            raise _fail(str(exc), exc.exit_code) from None
        for view in orders:
            if told:
                typer.echo("")
            typer.echo("\n".join(narrate_order(view)))
            told = True
        if not orders:
            raise _fail(f"{server} has no order for {id_!r} (a signal that was refused or "
                        "invalid made none: its verdicts are in the audit log, "
                        "`ordergate audit explain ID PATH`)", 1)
