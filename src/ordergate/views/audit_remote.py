"""The story of an order, from a running `ordergate serve`: `ordergate audit explain ID
--server URL`.

`GET /v1/orders/{id}` answers a client or venue order ID with the journal's order: its
state, its fills and every transition with its reason (`server/views.py`). A signal ID is
not an order ID; it is looked for in `GET /v1/orders?state=all` (newest first, paged),
whose rows name their signal. A signal that was refused or invalid made no order, so
the server has no story for it: the message says to read the audit log instead.

Plain `urllib` (no HTTP client dependency at run time for two GETs). The token is read
from an environment variable, sent as a bearer token and never printed.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

from ordergate.views.audit_explain import plain
from ordergate.views.audit_tail import printable

TOKEN_ENV = "ORDERGATE_TOKEN"
TIMEOUT_S = 10.0
MAX_PAGES = 100
"""How far back a signal ID is looked for: 100 pages of 1,000 orders, newest first."""


class RemoteError(Exception):
    """The server could not tell the story; `exit_code` 1: it has none, 2: it could not
    be asked (unreachable, refused the token, answered nonsense)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Server:
    def __init__(self, url: str, token_env: str = TOKEN_ENV,
                 environ: dict[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self.token_env = token_env
        self._token = (os.environ if environ is None else environ).get(token_env)

    def get(self, path: str, query: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The JSON object at `path`; None for a 404."""
        url = self.url + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                body = answer.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise RemoteError(self._refusal(exc), 2) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(f"cannot reach {self.url}: {reason}", 2) from None
        try:
            value = json.loads(body)
        except ValueError:
            raise RemoteError(f"{url}: the answer is not JSON", 2) from None
        if not isinstance(value, dict):
            raise RemoteError(f"{url}: the answer is not a JSON object", 2)
        return value

    def _refusal(self, exc: urllib.error.HTTPError) -> str:
        try:
            detail = json.loads(exc.read()).get("detail", "")
        except (ValueError, AttributeError):
            detail = ""
        if exc.code in (401, 403):
            given = (f"the token in ${self.token_env}" if self._token
                     else f"no token (${self.token_env} is not set)")
            return f"{self.url} refused {given}: {exc.code} {detail}".rstrip()
        return f"{self.url}: {exc.code} {detail}".rstrip()


def orders_for(server: Server, asked: str) -> list[dict[str, Any]]:
    """The orders `asked` names: the one order of an order ID, or a signal's orders."""
    quoted = urllib.parse.quote(asked, safe="")
    order = server.get(f"/v1/orders/{quoted}")
    if order is not None:
        return [order]
    found: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        query = {"state": "all", "limit": "1000", **({"cursor": cursor} if cursor else {})}
        page = server.get("/v1/orders", query) or {}
        rows = page.get("orders") or []
        found += [row["client_order_id"] for row in rows if isinstance(row, dict)
                  and row.get("signal_id") == asked and "client_order_id" in row]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    orders = []
    for client_order_id in reversed(found):  # oldest first
        view = server.get(f"/v1/orders/{urllib.parse.quote(str(client_order_id), safe='')}")
        if view is not None:
            orders.append(view)
    return orders


def narrate_order(view: dict[str, Any]) -> list[str]:
    """An order from the API as the same kind of story as the log's."""
    g = view.get
    price = f" @ {g('price')}" if g("price") else ""
    lines = [printable(
        f"Order {g('client_order_id')} for signal {g('signal_id')} (strategy "
        f"{g('strategy_id')}, account {g('account')}, at {g('venue')}): {g('side')} "
        f"{g('quantity')} {g('symbol')}{price} {g('type')}"
        + (f", venue order {g('venue_order_id')}" if g("venue_order_id") else ""))]
    steps: list[tuple[datetime | None, int, int, str]] = []
    for n, t in enumerate(g("transitions") or []):
        steps.append((_moment(t.get("ts")), 0, n, f"{t.get('from')} -> {t.get('to')}: "
                      f"{t.get('reason')}"))
    for n, f in enumerate(g("fills") or []):
        steps.append((_moment(f.get("ts")), 1, n, f"fill {f.get('trade_id')}: "
                      f"{f.get('quantity')} @ {f.get('price')} ({f.get('liquidity')}), fee "
                      f"{f.get('fee')} {f.get('fee_currency')}"))
    steps.sort(key=lambda s: (s[0] is None, s[0] or datetime.min, s[1], s[2]))
    for moment, _, _, text in steps:
        lines.append(printable(f"  {moment.isoformat() if moment else '?'}  {text}"))
    fills = len(g("fills") or [])
    average = g("average_price")
    money = (f"filled {g('filled_quantity')} of {g('quantity')} in {fills} "
             f"fill{'s' * (fills != 1)} at average {plain(average)}" if average
             else f"no fill of {g('quantity')}")
    fees = ", ".join(f"{plain(v)} {c}" for c, v in (g("fees") or {}).items())
    state = g("state")
    lines.append(printable(f"Outcome: {state}{'' if g('finished') else ' (still working)'}:"
                           f" {money}{'; fees ' + fees if fees else ''}."))
    return lines


def _moment(ts: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(ts))
    except ValueError:
        return None  # a time the server wrote that does not read: the step is still told,
        # last, with "?" for its time
