"""ccxt's exceptions in the taxonomy of `venues.base`, and credentials kept out of them.

Facts this relies on are in /work/shared/peers.md, notably:

- a timeout, a dropped connection or a 5xx while *placing* leaves the outcome unknown, so
  every transport-level failure of `place_order` is a `VenueTimeout` (ambiguous);
- Binance refuses a reused client order ID only while the first order is open, and ccxt
  reports that as `InvalidOrder` ("Duplicate order sent."), not `DuplicateOrderId`.

ccxt's exception messages carry the request URL (a signed GET's query string holds its
signature) and, on some exchanges, the API key: every message this module builds is
redacted, and the ccxt exception itself is never kept as the cause of ours.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from ccxt.base import errors as ccxt_errors
from pydantic import SecretStr

from ordergate.venues.base import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    FatalVenueError,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    PostOnlyWouldTake,
    RateLimited,
    StopWouldTrigger,
    UnknownSymbol,
    VenueError,
    VenueTimeout,
    VenueUnavailable,
)

REDACTED = "***"

# Binance's filters (-1013 "Filter failure: NAME") that an `Instrument` models: a venue
# refusing an order on one of them has rules we do not have (it changed them).
RULE_FILTERS = frozenset({"PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "MIN_NOTIONAL",
                          "NOTIONAL"})


class FilterRejected(OrderRejected):
    """The venue refused an order on one of the rules an instrument holds (`RULE_FILTERS`):
    tick, lot, minimum quantity or notional. Rejected like any refusal; the adapter also
    reloads that symbol's rules, so the next order is rounded to the venue's."""

    def __init__(self, message: str, filter_name: str) -> None:
        super().__init__(message)
        self.filter_name = filter_name


def map_error(exc: BaseException, text: str, *, placing: bool,
              retry_after: Callable[[], float | None], post_only: bool = False,
              stop: bool = False) -> VenueError:
    """Every ccxt (and transport) failure into the taxonomy of `venues.base`.

    `text` is the (already redacted) message of the error to build. Most specific class
    first. While placing, anything that may have happened after the request was written
    (timeout, dropped connection, 5xx, unreadable answer) is ambiguous: `VenueTimeout`.
    On reads, the same failures are `VenueUnavailable` (or `VenueTimeout`), never "not
    found".

    A post-only order (`post_only`) that the venue refuses because it would match at once
    is `PostOnlyWouldTake`: ccxt raises `OrderImmediatelyFillable` for it (Binance -2010
    "Order would immediately match and take."). That class also covers a stop that would
    trigger at once, so it is read as post-only's refusal only for a post-only request,
    and as `StopWouldTrigger` only for a stop request (`stop`: Binance -2010 "Stop price
    would trigger immediately.")."""
    E = ccxt_errors
    if isinstance(exc, E.RequestTimeout | asyncio.TimeoutError | TimeoutError):
        return VenueTimeout(text)
    if isinstance(exc, E.DDoSProtection | E.RateLimitExceeded):
        return RateLimited(text, retry_after=retry_after())
    if isinstance(exc, E.InvalidNonce):
        # The venue answered (timestamp outside recvWindow): nothing was placed.
        return VenueUnavailable(text)
    if is_transport_failure(exc):
        return VenueTimeout(text) if placing else VenueUnavailable(text)
    if isinstance(exc, E.InsufficientFunds):
        return InsufficientFunds(text)
    if isinstance(exc, E.AuthenticationError):  # includes PermissionDenied
        return AuthenticationFailed(text)
    if isinstance(exc, E.BadSymbol):
        return UnknownSymbol(text)
    if placing and is_duplicate_client_order_id(exc):
        return DuplicateClientOrderId(text)
    if isinstance(exc, E.OrderNotFound) and not placing:
        return OrderNotFound(text)
    if placing and post_only and isinstance(exc, E.OrderImmediatelyFillable):
        return PostOnlyWouldTake(text)
    if placing and stop and isinstance(exc, E.OrderImmediatelyFillable):
        return StopWouldTrigger(text)
    if placing and (name := rule_filter_failure(exc)) is not None:
        return FilterRejected(text, name)
    if isinstance(exc, E.InvalidOrder | E.BadRequest | E.OperationRejected):
        return OrderRejected(text) if placing else FatalVenueError(text)
    if isinstance(exc, E.ExchangeError):
        # The venue answered with an error we have no better name for.
        return OrderRejected(text) if placing else FatalVenueError(text)
    # Anything else (a bug, an unexpected exception): never claim the order failed.
    return VenueTimeout(text) if placing else VenueUnavailable(text)


def is_duplicate_client_order_id(exc: BaseException) -> bool:
    """Is this the venue refusing a client order ID it already holds on an open order?

    Binance answers {"code":-2010,"msg":"Duplicate order sent."} and ccxt maps -2010
    (NEW_ORDER_REJECTED, which also covers insufficient balance and other refusals) to
    `InvalidOrder`, never to `DuplicateOrderId`. So: code -2010 *and* that exact message,
    read from the JSON body ccxt puts after the exchange id in the exception text."""
    if isinstance(exc, ccxt_errors.DuplicateOrderId):
        return True
    if not isinstance(exc, ccxt_errors.InvalidOrder):
        return False
    body = venue_error_body(exc)
    return (body is not None and str(body.get("code")) == "-2010"
            and body.get("msg") == "Duplicate order sent.")


def rule_filter_failure(exc: BaseException) -> str | None:
    """The filter a Binance -1013 "Filter failure: NAME" names, if an instrument models it
    (`RULE_FILTERS`); None for any other answer."""
    if not isinstance(exc, ccxt_errors.ExchangeError):
        return None
    body = venue_error_body(exc)
    if body is None or str(body.get("code")) != "-1013":
        return None
    name = str(body.get("msg") or "").removeprefix("Filter failure: ").strip()
    return name if name in RULE_FILTERS else None


def venue_error_body(exc: BaseException) -> dict[str, Any] | None:
    """The venue's own JSON error ({"code": ..., "msg": ...}) that ccxt puts after its
    prefix in the exception text, or None. The one place where message text is read."""
    text = str(exc)
    start = text.find("{")
    if start < 0:
        return None
    try:
        body = json.loads(text[start:])
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def is_transport_failure(exc: BaseException) -> bool:
    """No trustworthy answer came back: dropped connection, 5xx, unreadable body."""
    E = ccxt_errors
    if isinstance(exc, E.NetworkError | E.OperationFailed):
        # OperationFailed is the parent of NetworkError (ExchangeNotAvailable, OnMaintenance)
        # and also covers -1001 "internal error" and unreadable answers (BadResponse).
        return True
    if isinstance(exc, aiohttp.ClientError | ConnectionError | OSError):
        return True
    # ccxt turns aiohttp errors other than connection errors (a body cut short, ...) into a
    # bare ExchangeError: the answer never fully arrived.
    cause = exc.__cause__
    return isinstance(exc, E.ExchangeError) and isinstance(cause, aiohttp.ClientError)


def retry_after_seconds(headers: Any, now: datetime) -> float | None:
    """The venue's Retry-After (seconds, or an HTTP date) from the last response's headers."""
    value = None
    for key, header_value in (headers or {}).items():
        if str(key).lower() == "retry-after":
            value = str(header_value)
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass  # not a number of seconds: an HTTP date, read below
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


# ---------------------------------------------------------------- redaction


def redact(text: str, secrets: tuple[SecretStr, ...]) -> str:
    """`text` without any of `secrets` and without request signatures."""
    for secret in secrets:
        value = secret.get_secret_value()
        if value:
            text = text.replace(value, REDACTED)
    return _SIGNATURE.sub("signature=" + REDACTED, text)


_SIGNATURE = re.compile(r"signature=[0-9A-Za-z%+/=_-]+")


class RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """What ccxt gets as its logger: formats each message, removes credentials (and request
    signatures), then hands it on. ccxt logs request headers, the API key among them."""

    def __init__(self, logger: logging.Logger, secrets: tuple[SecretStr, ...]) -> None:
        super().__init__(logger, {})
        self._secrets = secrets

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(part) for part in (msg, *args))
        kwargs.setdefault("stacklevel", 3)
        self.logger.log(level, "%s", redact(text, self._secrets), **kwargs)
