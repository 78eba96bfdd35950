"""The allocation accounts and groups over HTTP: watch them, pause and resume them.

- `GET /v1/accounts` (read): every `[accounts.NAME]` with its standing (status, equity,
  the day's PnL, drawdown and risk budget, eligibility; `standings.py`) and every
  `[groups.NAME]` with its policy and state: what the dashboard's Accounts panel shows.
- `GET /v1/groups/{name}` (read): one group, each of its accounts' standing in order.
- `POST /v1/accounts/{name}/status` (admin): pause or resume an account or a group
  (`Engine.set_account_status`), optionally cancelling the working orders of what is
  paused; audited (`account_status`) with the token's name as `by` and the reason given.
  Idempotent: pausing what is paused answers 200 with its state (`changed: false`) and
  writes no audit line (unless `cancel_working` cancelled something).

A pause is a decision: it is taken under the engine's one-decision lock (`turn`), as the
kill switch is, so it never lands in the middle of a block being split. The reads take
no lock (`accounts.py` says why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from ordergate.allocation.eligibility import AccountStatus
from ordergate.domain.signal import SignalParseError, decode_json_object, is_identifier
from ordergate.server.openapi import answers, body, secured
from ordergate.server.problems import Problem
from ordergate.server.schema_accounts import (
    AccountStatusAnswer, AccountStatusRequest, Allocation, GroupView,
)
from ordergate.server.standings import allocation_view, group_view
from ordergate.server.wire import invalid, json_response, read_body

if TYPE_CHECKING:
    from ordergate.server.app import ServerState

MAX_REASON = 500
FIELDS = {"status", "reason", "cancel_working"}


def install(app: FastAPI, state: ServerState) -> None:
    engine, turn = state.engine, state.turn

    @app.get("/v1/accounts", response_model=None,
             responses=answers({200: (Allocation, "Every configured account of blocks "
                                      "with its standing, and every group")},
                               401, 403, 429, 500),
             openapi_extra=secured("read"))
    async def allocation(request: Request) -> Response:
        """The accounts of `[accounts]` and the groups of `[groups]`; both lists are empty
        when config has none (a signal then names one account, as before)."""
        state.auth.authenticate(request.headers.get("authorization"), "read")
        return json_response(200, await allocation_view(engine))

    @app.get("/v1/groups/{group}", response_model=None,
             responses=answers({200: (GroupView, "The group's policy and state, and each "
                                      "of its accounts' standing and eligibility")},
                               401, 403, 404, 422, 429, 500),
             openapi_extra=secured("read"))
    async def group(request: Request, group: str) -> Response:
        state.auth.authenticate(request.headers.get("authorization"), "read")
        if group not in engine.config.groups:
            raise Problem(404, "not-found", "no such group: not in [groups]")
        return json_response(200, await group_view(engine, group))

    @app.post("/v1/accounts/{name}/status", response_model=None,
              responses=answers({200: (AccountStatusAnswer, "The account's or group's "
                                       "state now, and the orders cancelled")},
                                400, 401, 403, 404, 413, 415, 422, 429, 500),
              openapi_extra=secured("admin", body(AccountStatusRequest)))
    async def set_status(request: Request, name: str) -> Response:
        """Pause (no new child of a block) or resume an account or a whole group."""
        who = state.auth.authenticate(request.headers.get("authorization"), "admin")
        try:
            parsed = decode_json_object(await read_body(request))
        except SignalParseError as error:
            raise invalid(error) from None
        target, reason, cancel_working = _request(parsed)
        kind = engine.pauses.kind(name)
        if kind is None:
            raise Problem(404, "not-found", "no such account or group: not in [accounts] "
                          "nor [groups]")
        async with turn:
            previous = engine.pauses.status(name)
            cancelled = await engine.set_account_status(name, target, reason, by=who.name,
                                                        cancel_working=cancel_working)
            await engine.settle()
        return json_response(200, {"name": name, "kind": kind,
                                   "status": engine.pauses.status(name).value,
                                   "previous": previous.value, "changed": previous is not target,
                                   "cancelled": list(cancelled), "by": who.name})


def _request(parsed: dict[str, Any]) -> tuple[AccountStatus, str, bool]:
    """The body's status, reason and cancel_working, or a 422 naming the first bad field."""
    status, reason = parsed.get("status"), parsed.get("reason")
    if status not in ("paused", "active"):
        raise Problem(422, "invalid", "status is required: paused or active", field="status")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON \
            or not reason.isprintable():
        raise Problem(422, "invalid", f"reason is required: printable text, 1 to "
                      f"{MAX_REASON} characters, for the audit log", field="reason")
    cancel_working = parsed.get("cancel_working", False)
    if not isinstance(cancel_working, bool):
        raise Problem(422, "invalid", "cancel_working: true or false",
                      field="cancel_working")
    if cancel_working and status != "paused":
        raise Problem(422, "invalid", "cancel_working: only when pausing (a resume cancels "
                      "nothing)", field="cancel_working")
    if extra := sorted(set(parsed) - FIELDS):
        raise Problem(422, "invalid", "Extra inputs are not permitted",
                      field=extra[0] if is_identifier(extra[0]) else "body")
    return AccountStatus(status), reason.strip(), cancel_working
