"""What every route does at the edge of the wire: read a JSON body, answer JSON.

A body is taken raw (already bounded by `BodyLimit`) and handed to the signal parser's
decoder by the route, never to FastAPI's: `Decimal` for every number, no key twice,
bounded depth. An answer is `application/json`, or `application/problem+json` for a
status of 400 or more.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from ordergate.domain.signal import SignalParseError
from ordergate.server.idempotency import Answer
from ordergate.server.problems import PROBLEM_JSON, Problem, encode


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(encode(body), status_code=status, headers=headers,
                    media_type=PROBLEM_JSON if status >= 400 else "application/json")


def answer_response(answer: Answer, replayed: bool) -> Response:
    """A decided (or replayed) answer; a 201 with an order gets its `Location`."""
    status, body = answer
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    order_id = body.get("client_order_id")
    if status == 201 and isinstance(order_id, str):
        headers["Location"] = f"/v1/orders/{order_id}"
    return json_response(status, body, headers)


def invalid(error: SignalParseError) -> Problem:
    return Problem(422, "invalid", f"{error.field}: {error.reason}", field=error.field)


async def read_body(request: Request) -> bytes:
    """The request body, which must be JSON (415 otherwise)."""
    content_type = request.headers.get("content-type", "application/json")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Problem(415, "unsupported-media-type",
                      f"send Content-Type: application/json, not {media[:64]!r}")
    return await request.body()
