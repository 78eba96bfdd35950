"""`PATCH /v1/orders/{id}`: amend a working order's total quantity and/or limit price
(`Engine.amend`, `pipeline/amend.py`), idempotent as a direct order is: an
`Idempotency-Key` is required, the same key with the same body replays the first answer,
another body under it is 422, and one still in flight is 409."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from pydantic import ValidationError
from starlette.responses import Response

from ordergate.domain.signal import SignalParseError, decode_json_object
from ordergate.server import views
from ordergate.server.idempotency import Answer, fingerprint, parse_key
from ordergate.server.openapi import IDEMPOTENCY_KEY, answers, body, secured
from ordergate.server.problems import Problem
from ordergate.server.schema import AmendAnswer, AmendRequest
from ordergate.server.wire import answer_response, invalid, read_body

if TYPE_CHECKING:
    from ordergate.server.app import ServerState


def install(app: FastAPI, state: ServerState) -> None:
    engine = state.engine

    @app.patch("/v1/orders/{order_id}", response_model=None,
               responses=answers({200: (AmendAnswer, "The outcome: amended (the new leg), "
                                         "or not, with the reason")},
                                 400, 401, 403, 404, 409, 413, 415, 422, 429, 500),
               openapi_extra=secured("trade", {**body(AmendRequest),
                                               "parameters": [IDEMPOTENCY_KEY]}))
    async def amend_order(request: Request, order_id: str) -> Response:
        """Amend by client or venue order ID; an amended order's old ID works too (its
        lineage's working leg is amended)."""
        who = state.auth.authenticate(request.headers.get("authorization"), "trade")
        key = parse_key(request.headers.get("idempotency-key"))
        try:
            parsed = decode_json_object(await read_body(request))
        except SignalParseError as error:
            raise invalid(error) from None
        quantity, price = _amounts(parsed)
        _working_leg(state, order_id)  # 404 now, before the key is spent on it

        async def decide() -> Answer:
            outcome = await engine.amend(_working_leg(state, order_id), quantity, price)
            order = outcome.order
            view = (views.order_view(engine.journal, order.client_order_id)
                    if order is not None else None)
            return 200, {"amended": outcome.done, "pending": outcome.pending,
                         "code": None if outcome.code is None else outcome.code.value,
                         "reason": outcome.reason,
                         "client_order_id": None if order is None else order.client_order_id,
                         "order": view}

        answer, replayed = await state.idempotency.once(
            "amend", who.name, key, fingerprint({"order": order_id, **parsed}), decide,
            ("idempotency-key-reused", "this Idempotency-Key was used for a different "
             "request; use a new key for a new amend"))
        return answer_response(answer, replayed)


def _amounts(parsed: dict[str, Any]) -> tuple[Decimal | None, Decimal | None]:
    try:
        request = AmendRequest.model_validate(parsed)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in error["loc"]) or "body"
        raise Problem(422, "invalid", f"{field}: {error['msg']}", field=field) from None
    if request.quantity is None and request.price is None:
        raise Problem(422, "invalid", "quantity: give a new quantity, a new price, or both",
                      field="quantity")
    values = [None if v is None else Decimal(v) for v in (request.quantity, request.price)]
    for name, value in zip(("quantity", "price"), values, strict=True):
        if value is not None and value <= 0:
            raise Problem(422, "invalid", f"{name}: must be more than 0", field=name)
    return values[0], values[1]


def _working_leg(state: ServerState, order_id: str) -> str:
    """The client order ID to amend: the one named (by client or venue order ID), or, if
    it was amended before, its lineage's latest leg."""
    journal = state.engine.journal
    cid = order_id if journal.order(order_id) is not None else (
        journal.client_order_id_for_venue_id(order_id))
    if cid is None:
        raise Problem(404, "not-found", "no order has this client or venue order ID")
    row = journal.order(cid)
    assert row is not None
    root = row["parent_id"] if row["role"] == "amendment" else cid
    legs = [r for r in journal.children(root) if r["role"] == "amendment"]
    return str(legs[-1]["client_order_id"]) if legs else cid
