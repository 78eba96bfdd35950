"""RFC 9457 problem details: every error `ordergate serve` answers is one of these.

A client gets `application/problem+json` with `type`, `title`, `status` and `detail`, and
for a request it could not read (422) the offending `field`, named as the signal parser
names it (`SignalParseError.field`), so a producer can be fixed without a traceback. A
traceback never leaves the process: an unexpected exception is a 500 whose detail says
only that it happened and was audited (`server/app.py`).

`type` is a URI reference relative to the API (`/problems/<slug>`), stable for a client
to switch on; `title` is the same for every problem of one type, `detail` says what
happened this time.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"

TITLES: dict[str, str] = {
    "bad-request": "The request is not well-formed",
    "idempotency-key-missing": "An Idempotency-Key header is required",
    "unauthorized": "A valid bearer token is required",
    "forbidden": "The token's scope does not allow this",
    "not-found": "No such resource",
    "method-not-allowed": "The method is not allowed here",
    "idempotency-key-in-use": "A request with this key is still being processed",
    "idempotency-key-reused": "The key was used for a different request",
    "signal-id-reused": "The signal ID was used for a different signal",
    "order-filled": "The order is already filled",
    "order-finished": "The order is already finished",
    "not-cancellable": "The order cannot be cancelled now",
    "body-too-large": "The request body is too large",
    "unsupported-media-type": "The request body must be JSON",
    "invalid": "The request body is not valid",
    "rate-limited": "Too many requests for this token",
    "internal-error": "An unexpected error occurred",
    "unavailable": "The service is not available now",
}

DEFAULT_SLUG = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                405: "method-not-allowed", 413: "body-too-large",
                415: "unsupported-media-type", 422: "invalid", 429: "rate-limited",
                500: "internal-error"}


def problem_body(status: int, slug: str, detail: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": f"/problems/{slug}",
                            "title": TITLES.get(slug, "Error"), "status": status,
                            "detail": detail}
    body.update(extra)
    return body


def encode(body: Any) -> bytes:
    """JSON as ordergate writes it: Decimals are strings already (the handlers say so)."""
    return orjson.dumps(body)


class Problem(Exception):
    """Raised by a handler to answer with a problem; `headers` go on the response."""

    def __init__(self, status: int, slug: str, detail: str,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.detail = status, slug, detail
        self.headers = headers or {}
        self.extra = extra

    @property
    def body(self) -> dict[str, Any]:
        return problem_body(self.status, self.slug, self.detail, **self.extra)

    def response(self) -> Response:
        return problem_response(self.status, self.body, self.headers)


def problem_response(status: int, body: dict[str, Any],
                     headers: dict[str, str] | None = None) -> Response:
    return Response(encode(body), status_code=status, headers=headers,
                    media_type=PROBLEM_JSON)
