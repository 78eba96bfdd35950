"""Order entry and order reads: `POST /v1/signals`, `POST /v1/orders`, `GET /v1/orders`,
`GET /v1/orders/{id}`, `DELETE /v1/orders/{id}`.

Both entries are idempotent (`idempotency.py`): a signal by its own intent key, a direct
order by its `Idempotency-Key`. Each decision (and a cancel) runs under the engine's
one-decision lock; reads take none.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Query, Request
from starlette.responses import Response

from ordergate.domain.order import OrderStatus
from ordergate.domain.signal import SignalParseError, decode_json_object, parse_signal_mapping
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.server import views
from ordergate.server.auth import Principal
from ordergate.server.direct_order import order_signal
from ordergate.server.idempotency import Answer, fingerprint, fingerprint_bytes, parse_key
from ordergate.server.openapi import IDEMPOTENCY_KEY, answers, body, secured
from ordergate.server.problems import Problem, problem_body, problem_response
from ordergate.server.schema import (
    OrderPage, OrderRequest, OrderView, ParentView, SignalRequest, VerdictAnswer,
)
from ordergate.server.wire import answer_response, invalid, json_response, read_body

if TYPE_CHECKING:
    from ordergate.server.app import ServerState

_ENTRY_PROBLEMS = (400, 401, 403, 409, 413, 415, 422, 429, 500)
_STATE_FILTER: dict[str, Any] = {
    "enum": ["open", "all", *(status.value.lower() for status in OrderStatus)],
    "description": "open (not finished), all, or one order state; any case"}
_CURSOR: dict[str, Any] = {"pattern": "^[A-Za-z0-9_-]+$",
                           "description": "a `next_cursor` this server gave out"}
_VERDICTS = {201: (VerdictAnswer, "Admitted: the order as the journal has it"),
             200: (VerdictAnswer, "Refused by a handler (admitted: false): the verdict")}


def install(app: FastAPI, state: ServerState) -> None:
    engine, turn = state.engine, state.turn

    def principal(request: Request, scope: str) -> Principal:
        return state.auth.authenticate(request.headers.get("authorization"), scope)

    async def decide_once(owner: str, key: str, print_: str,
                          decide: Callable[[], Awaitable[Answer]], scope: str,
                          reused: tuple[str, str]) -> Response:
        answer, replayed = await state.idempotency.once(scope, owner, key, print_, decide,
                                                        reused)
        return answer_response(answer, replayed)

    async def refuse(error: SignalParseError) -> Problem:
        engine.reject_invalid(error)  # audited and counted as a bad signal line is
        return invalid(error)

    @app.post("/v1/signals", status_code=201, response_model=None,
              responses=answers(_VERDICTS, *_ENTRY_PROBLEMS),
              openapi_extra=secured("trade", body(SignalRequest)))
    async def post_signal(request: Request) -> Response:
        """A signal (the JSON of a signal line) through the chain; its intent key is its
        client order ID, so posting it again replays the first answer."""
        principal(request, "trade")
        raw = await read_body(request)
        try:
            signal = parse_signal_mapping(decode_json_object(raw))
        except SignalParseError as error:
            async with turn:
                raise await refuse(error) from None
        key = client_order_id_for(signal.strategy_id, signal.account_id, signal.signal_id)

        async def decide() -> Answer:
            return views.verdict_answer(engine, signal, await engine.submit(signal))

        return await decide_once(
            "", key, fingerprint(signal.model_dump(mode="json")), decide, "signal",
            ("signal-id-reused", f"signal {signal.signal_id!r} was already received with "
             "different contents; a new signal needs a new signal_id"))

    @app.post("/v1/orders", status_code=201, response_model=None,
              responses=answers(_VERDICTS, *_ENTRY_PROBLEMS),
              openapi_extra=secured("trade", {**body(OrderRequest),
                                              "parameters": [IDEMPOTENCY_KEY]}))
    async def post_order(request: Request) -> Response:
        """A direct order with an Idempotency-Key (required)."""
        who = principal(request, "trade")
        key = parse_key(request.headers.get("idempotency-key"))
        raw = await read_body(request)
        parsed: dict[str, Any] | SignalParseError
        try:
            parsed = decode_json_object(raw)
            print_ = fingerprint(parsed)
        except SignalParseError as error:
            parsed, print_ = error, fingerprint_bytes(raw)

        async def decide() -> Answer:
            if isinstance(parsed, SignalParseError):
                raise await refuse(parsed)
            try:
                signal = order_signal(parsed, who.name, key, engine.clock.now())
            except SignalParseError as error:
                raise await refuse(error) from None
            return views.verdict_answer(engine, signal, await engine.submit(signal))

        return await decide_once(
            who.name, key, print_, decide, "order",
            ("idempotency-key-reused", "this Idempotency-Key was used for a different "
             "request; use a new key for a new order"))

    @app.get("/v1/orders", response_model=None,
             responses=answers({200: (OrderPage, "A page, newest first")},
                               401, 403, 422, 429, 500),
             openapi_extra=secured("read"))
    async def list_orders(request: Request,
                          state_: str | None = Query(None, alias="state",
                                                     json_schema_extra=_STATE_FILTER),
                          symbol: str | None = None, account: str | None = None,
                          limit: int = Query(100, ge=1, le=1000),
                          cursor: str | None = Query(None, json_schema_extra=_CURSOR)
                          ) -> Response:
        """Newest first; `next_cursor` asks for the page after this one. `state` is
        `open`, `all` or an order state."""
        principal(request, "read")
        open_only, status = False, None
        if state_ is not None and state_.lower() != "all":
            if state_.lower() == "open":
                open_only = True
            elif state_.upper() in OrderStatus.__members__:
                status = state_.upper()
            else:
                raise Problem(422, "invalid", "state must be open, all or an order state "
                              f"({', '.join(OrderStatus.__members__)})", field="state")
        rows = engine.journal.list_orders(open_only=open_only, status=status, symbol=symbol,
                                          account_id=account, before=_cursor(cursor),
                                          limit=limit)
        next_cursor = _make_cursor(rows[-1]["rowid"]) if len(rows) == limit else None
        return json_response(200, {"orders": [views.order_summary(r) for r in rows],
                                   "next_cursor": next_cursor})

    def find(order_id: str) -> str:
        if engine.journal.order(order_id) is not None:
            return order_id
        found = engine.journal.client_order_id_for_venue_id(order_id)
        if found is None:
            raise Problem(404, "not-found", "no order has this client or venue order ID")
        return found

    @app.get("/v1/orders/{order_id}", response_model=None,
             responses=answers({200: (OrderView, "The order")}, 401, 403, 404, 422, 429, 500),
             openapi_extra=secured("read"))
    async def get_order(request: Request, order_id: str) -> Response:
        """By client order ID or venue order ID."""
        principal(request, "read")
        return json_response(200, views.order_view(engine.journal, find(order_id)))

    @app.get("/v1/parents/{parent_id}", response_model=None,
             responses=answers({200: (ParentView, "The bracket or algorithm")},
                               401, 403, 404, 422, 429, 500),
             openapi_extra=secured("read"))
    async def get_parent(request: Request, parent_id: str) -> Response:
        """A bracket (named by its entry's client order ID) or a TWAP (by the ID its
        signal derives): its spec, status and every child order with its fills."""
        principal(request, "read")
        view = views.parent_view(engine.journal, parent_id)
        if view is None:
            raise Problem(404, "not-found", "no bracket or algorithm has this ID")
        return json_response(200, view)

    @app.delete("/v1/orders/{order_id}", response_model=None,
                responses=answers({200: (OrderView, "Cancelled (again: the same answer)"),
                                   202: (OrderView, "Cancel sent; the venue has not "
                                         "confirmed yet")}, 401, 403, 404, 409, 422, 429,
                                  500),
                openapi_extra=secured("trade"))
    async def cancel_order(request: Request, order_id: str) -> Response:
        """Cancel; idempotent. 200 once cancelled (again: the same 200), 202 while the
        venue has not confirmed, 409 for an order that filled or ended otherwise."""
        who = principal(request, "trade")
        if (parent := engine.journal.parent(order_id)) is not None:  # a TWAP as a whole
            async with turn:
                await engine.cancel(order_id, f"cancel requested over HTTP by {who.name}")
            parent = engine.journal.parent(order_id) or parent
            return json_response(200, {"parent_id": order_id, "kind": parent["kind"],
                                       "status": parent["status"]})
        client_order_id = find(order_id)
        async with turn:
            view = views.order_view(engine.journal, client_order_id)
            assert view is not None
            if not view["finished"]:
                await engine.cancel(client_order_id, f"cancel requested over HTTP by {who.name}")
                view = views.order_view(engine.journal, client_order_id)
                assert view is not None
        return _cancel_answer(view)


def _cancel_answer(view: dict[str, Any]) -> Response:
    state = view["state"]
    if state == "CANCELLED":
        return json_response(200, view)
    if state == "CANCEL_PENDING":
        return json_response(202, view)
    if state == "FILLED":
        return problem_response(409, problem_body(
            409, "order-filled", f"order {view['client_order_id']} is filled: there is "
            "nothing left to cancel", state=state, order=view))
    if view["finished"]:
        return problem_response(409, problem_body(
            409, "order-finished", f"order {view['client_order_id']} is {state}: it is not "
            "working and cannot be cancelled", state=state, order=view))
    return problem_response(409, problem_body(
        409, "not-cancellable", f"order {view['client_order_id']} is {state}; its cancel "
        "could not be sent now (see the audit log); try again", state=state, order=view))


def _make_cursor(rowid: int) -> str:
    return base64.urlsafe_b64encode(f"r{rowid}".encode()).decode().rstrip("=")


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text[:1] == "r" and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass  # not silent: every undecodable cursor is the 422 below
    raise Problem(422, "invalid", "cursor is not one this server gave out", field="cursor")
