"""The wrapper around `py-clob-client`: credentials, the thread pool its synchronous calls
run in, and the mapping of its failures onto the engine's `VenueError` taxonomy.

The mapping, most specific first: no HTTP status (the request never got an answer) while
*placing* -> `VenueTimeout` (ambiguous: the order may have landed); elsewhere a timeout ->
`VenueTimeout`, a refused connection -> `VenueUnavailable`; 429/418 -> `RateLimited`; 5xx
-> `VenueTimeout` while placing, `VenueUnavailable` elsewhere; 401/403 ->
`AuthenticationFailed`; "already exists"/"duplicated" -> `DuplicateClientOrderId` (the
venue holds this very signed order); "balance"/"allowance" -> `InsufficientFunds`; 404,
"market not found", "invalid token id" -> `UnknownSymbol`; any other 4xx ->
`OrderRejected`. Error texts never carry a credential: the client's own messages hold
none, and the secrets live only in `_Secrets`, whose repr is redacted.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
from py_clob_client.clob_types import ApiCreds
from py_clob_client.exceptions import PolyApiException, PolyException

from ordergate.venues.base import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    FatalVenueError,
    InsufficientFunds,
    OrderRejected,
    PostOnlyWouldTake,
    RateLimited,
    UnknownSymbol,
    VenueError,
    VenueTimeout,
    VenueUnavailable,
)
from ordergate.venues.polymarket.settings import PolymarketVenueSettings

T = TypeVar("T")


class _Secrets:
    """Credentials, kept out of every repr."""

    __slots__ = ("creds", "funder", "private_key")

    def __init__(self, private_key: str, creds: ApiCreds, funder: str | None) -> None:
        self.private_key = private_key
        self.creds = creds
        self.funder = funder

    def __repr__(self) -> str:
        return "_Secrets(<redacted>)"


def read_secrets(settings: PolymarketVenueSettings) -> _Secrets:
    """The credentials from the environment variables the settings *name*."""

    def need(var: str) -> str:
        value = os.environ.get(var, "")
        if not value:
            raise AuthenticationFailed(f"environment variable {var} is not set")
        return value

    private_key = need(settings.private_key_env)
    creds = ApiCreds(
        api_key=need(settings.api_key_env),
        api_secret=need(settings.api_secret_env),
        api_passphrase=need(settings.api_passphrase_env),
    )
    funder = os.environ.get(settings.funder_env) if settings.funder_env else None
    return _Secrets(private_key, creds, funder or None)


def _message(exc: PolyApiException) -> str:
    msg = exc.error_msg
    if isinstance(msg, dict):
        return str(msg.get("error") or msg.get("errorMsg") or msg)
    return str(msg)


class ClobCaller:
    """Runs one py-clob-client call in the adapter's thread pool, bounded by `timeout_s`,
    and turns its failure into a `VenueError` (module docstring)."""

    def __init__(self, name: str, timeout_s: float, max_workers: int) -> None:
        self.name = name
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=max_workers,
                                            thread_name_prefix=f"{name}-clob")

    async def __call__(self, what: str, fn: Callable[[], T], *, placing: bool = False) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, fn)
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError:
            raise VenueTimeout(f"{self.name}: {what}: no answer in {self.timeout_s}s") from None
        except PolyApiException as exc:
            raise self.map_error(exc, what, placing) from None
        except PolyException as exc:
            raise FatalVenueError(f"{self.name}: {what}: {exc.msg}") from None

    def map_error(self, exc: PolyApiException, what: str, placing: bool) -> VenueError:
        status = exc.status_code
        text = f"{self.name}: {what}"
        if status is None:
            cause = exc.__context__
            if placing:
                return VenueTimeout(f"{text}: outcome unknown ({type(cause).__name__})")
            if isinstance(cause, httpx.TimeoutException):
                return VenueTimeout(f"{text}: timed out")
            if isinstance(cause, httpx.ConnectError):
                return VenueUnavailable(f"{text}: cannot connect")
            return VenueTimeout(f"{text}: connection lost ({type(cause).__name__})")
        msg = _message(exc)
        if status in (429, 418):
            return RateLimited(f"{text}: rate limited ({status}): {msg}")
        if status >= 500:
            if placing:
                return VenueTimeout(f"{text}: HTTP {status}, outcome unknown: {msg}")
            return VenueUnavailable(f"{text}: HTTP {status}: {msg}")
        if status in (401, 403):
            return AuthenticationFailed(f"{text}: HTTP {status}: {msg}")
        low = msg.lower()
        if "already exists" in low or "duplicat" in low:
            return DuplicateClientOrderId(f"{text}: {msg}")
        if "balance" in low or "allowance" in low:
            return InsufficientFunds(f"{text}: {msg}")
        if status == 404 or "market not found" in low or "invalid token id" in low:
            return UnknownSymbol(f"{text}: {msg}")
        if placing and "post-only" in low and "cross" in low:
            # "invalid post-only order: order crosses book": Polymarket has no error codes,
            # its words are all there is to tell this refusal from the others.
            return PostOnlyWouldTake(f"{text}: {msg}")
        return OrderRejected(f"{text}: HTTP {status}: {msg}")

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
