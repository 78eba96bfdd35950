"""`ordergate accounts pause|resume|show NAME`: the accounts of blocks of a running
`ordergate serve`, from a terminal.

Through the HTTP API (`POST /v1/accounts/{name}/status`, admin scope; `GET
/v1/accounts/{name}`, `GET /v1/groups/{name}`, read scope), so the pause is the one the
dashboard makes: taken under the engine's decision lock, audited (`account_status`) with
the token's name and the reason given. The server's address comes from `--server` or
`$ORDERGATE_SERVER`, the token from the environment variable `--token-env` names
(default `$ORDERGATE_TOKEN`); the token is never printed.

Exit codes: 0 done; 1 the server knows no such account or group; 2 the command could
not run as asked (no server given, unreachable, the token refused, a 422).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from ordergate.views.audit_remote import TIMEOUT_S, TOKEN_ENV, RemoteError, Server
from ordergate.views.audit_tail import printable

SERVER_ENV = "ORDERGATE_SERVER"

accounts_app = typer.Typer(no_args_is_help=True, help=(
    "Pause, resume and show the accounts of blocks ([accounts], [groups]) of a running "
    "`ordergate serve`."))

ServerOption = Annotated[str | None, typer.Option(
    "--server", envvar=SERVER_ENV, show_envvar=True,
    help="The running `ordergate serve`, e.g. http://127.0.0.1:8080.")]
TokenOption = Annotated[str, typer.Option(
    help="The environment variable holding the bearer token (admin to pause or resume, "
         "read to show).")]
ReasonOption = Annotated[str, typer.Option(
    help="Why, for the audit log (written with the token's name).")]


class AdminServer(Server):
    """`Server` (GET) and the one POST these commands send."""

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON object answered; None for a 404."""
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Accept": "application/json", "Content-Type": "application/json"})
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                value = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise RemoteError(self._refusal(exc), 2) from None
        except (urllib.error.URLError, OSError) as exc:
            raise RemoteError(f"cannot reach {self.url}: {getattr(exc, 'reason', exc)}",
                              2) from None
        except ValueError:
            raise RemoteError(f"{self.url}{path}: the answer is not JSON", 2) from None
        if not isinstance(value, dict):
            raise RemoteError(f"{self.url}{path}: the answer is not a JSON object", 2)
        return value


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {printable(message)}", err=True)
    return typer.Exit(code)


def _server(server: str | None, token_env: str) -> AdminServer:
    if not server:
        raise _fail(f"give the server: --server URL or ${SERVER_ENV}")
    return AdminServer(server, token_env)


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _set(name: str, status: str, reason: str, cancel_working: bool, server: str | None,
         token_env: str) -> None:
    remote = _server(server, token_env)
    body: dict[str, Any] = {"status": status, "reason": reason}
    if cancel_working:
        body["cancel_working"] = True
    try:
        answer = remote.post(f"/v1/accounts/{_quoted(name)}/status", body)
    except RemoteError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if answer is None:
        raise _fail(f"{remote.url} knows no account or group {name!r} ([accounts], "
                    "[groups])", 1)
    typer.echo(describe_status(answer))


def describe_status(answer: dict[str, Any]) -> str:
    g = answer.get
    what = f"{g('kind')} {g('name')}"
    head = (f"{what}: {g('previous')} -> {g('status')} by {g('by')}" if g("changed")
            else f"{what}: already {g('status')} (nothing changed)")
    cancelled = [str(c) for c in g("cancelled") or []]
    if cancelled:
        head += f"; cancelled {len(cancelled)} working order(s): {', '.join(cancelled)}"
    return printable(head)


@accounts_app.command("pause")
def pause_command(
    name: Annotated[str, typer.Argument(help="An account ([accounts.NAME]) or a group ([groups.NAME]).")],
    reason: ReasonOption,
    cancel_working: Annotated[bool, typer.Option("--cancel-working", help="Also cancel the working orders of the accounts it covers.")] = False,
    server: ServerOption = None,
    token_env: TokenOption = TOKEN_ENV,
) -> None:
    """Pause: the account takes no new child of a block (a group: its blocks are refused);
    its working orders are left, unless --cancel-working."""
    _set(name, "paused", reason, cancel_working, server, token_env)


@accounts_app.command("resume")
def resume_command(
    name: Annotated[str, typer.Argument(help="An account ([accounts.NAME]) or a group ([groups.NAME]).")],
    reason: ReasonOption,
    server: ServerOption = None,
    token_env: TokenOption = TOKEN_ENV,
) -> None:
    """Resume: the account (or group) takes blocks again."""
    _set(name, "active", reason, False, server, token_env)


@accounts_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="An account ([accounts.NAME]) or a group ([groups.NAME]).")],
    server: ServerOption = None,
    token_env: TokenOption = TOKEN_ENV,
) -> None:
    """An account's standing (status, equity, the day's PnL and drawdown, the risk budget
    left, open positions, eligible or why not), or a group's accounts."""
    remote = _server(server, token_env)
    try:
        group = remote.get(f"/v1/groups/{_quoted(name)}")
        account = None if group is not None else remote.get(f"/v1/accounts/{_quoted(name)}")
    except RemoteError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    if group is not None:
        typer.echo("\n".join(describe_group(group)))
    elif account is not None and account.get("allocation"):
        typer.echo("\n".join(describe_standing(account["allocation"])))
    else:
        raise _fail(f"{remote.url} knows no account of blocks or group {name!r} "
                    "([accounts], [groups])", 1)


def _percent(fraction: object) -> str:
    """A fraction given as a decimal string, as a percentage with two places (text only:
    the figure is shown, never computed with)."""
    try:
        return f"{Decimal(str(fraction)) * 100:.2f}%"
    except InvalidOperation:
        return "?"


def describe_standing(s: dict[str, Any]) -> list[str]:
    g = s.get
    groups = ", ".join(f"{m.get('group')} ({m.get('status')})" for m in g("groups") or [])
    currency = g("currency") or "?"
    start = f"{g('start_of_day_equity')}" + ("" if g("start_of_day_recorded")
                                              else " (not recorded yet: equity now)")
    drawdown = "unknown" if g("drawdown") is None else _percent(g("drawdown"))
    budget = ("no budget" if g("risk_budget") is None else
              f"{g('risk_budget')}, spent {g('risk_spent')}, left {g('budget_left')}")
    positions_cap = "" if g("max_open_positions") is None else f" (limit {g('max_open_positions')})"
    lines = [
        f"account {g('account')}: {g('status')}" + (f"; groups {groups}" if groups else ""),
        f"  at {g('venue') or '?'}, in {currency}, day {g('day')}",
        f"  equity {g('equity') or 'unknown'}, available margin "
        f"{g('available_margin') or 'unknown'} (minimum {g('min_available_margin')})",
        f"  start of day {start}, day PnL {g('day_pnl')}, drawdown {drawdown} "
        f"(limit {_percent(g('max_daily_drawdown'))})",
        f"  risk budget {budget}",
        f"  open positions {g('open_positions')}{positions_cap}",
        f"  {'eligible' if g('eligible') else 'NOT eligible'}: {g('why')}"]
    return [printable(line) for line in lines]


def describe_group(group: dict[str, Any]) -> list[str]:
    g = group.get
    members = g("accounts") or []
    lines = [printable(f"group {g('group')}: {g('status')}, policy {g('policy')}, "
                       f"{g('eligible_accounts')} of {len(members)} account(s) eligible")]
    for m in members:
        verdict = "eligible" if m.get("eligible") else "NOT eligible"
        lines.append(printable(f"  {m.get('account')}: {m.get('status')}, equity "
                               f"{m.get('equity') or 'unknown'}, {verdict}: {m.get('why')}"))
    return lines
