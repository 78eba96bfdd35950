"""How the Binance emulator (`binance_emulator.py`) reads a request's parameters and
authenticates a signed one as Binance does: the `X-MBX-APIKEY` header naming a key it
serves (-2014, -2015), one HMAC-SHA256 signature of the total parameter string, query
string then body (-1102, -1022), and a timestamp within `recvWindow` of the venue's clock
(-1021, -1131). Apart from the endpoints so that each of them, public, private, order
lists, cancel-replace, reads its parameters the same way; the key that signed is left on
the request for `BinanceEmulator.acting` to scope the state to its account."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from aiohttp import web

from ordergate.testing.binance_market import BinanceApiError

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator

ACCOUNT = web.RequestKey("ordergate.binance_emulator.account", str)
"""Where `signed_params` leaves the signing key on the request (aiohttp's request mapping)."""


async def request_params(request: web.Request) -> dict[str, str]:
    """The parameters of an unsigned request: its query string, then its body."""
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    if request.body_exists:  # (not can_read_body: a body read before is still there)
        params.update(parse_qsl(await request.text(), keep_blank_values=True))
    return params


async def signed_params(emulator: BinanceEmulator, request: web.Request) -> dict[str, str]:
    """Authenticate like Binance: API key header, HMAC-SHA256 of the total parameter
    string (query string then body) without the signature, timestamp in recvWindow."""
    key = request.headers.get("X-MBX-APIKEY")
    if not key:
        raise BinanceApiError(401, -2014, "API-key format invalid.")
    with emulator._lock:
        secret = emulator._secrets.get(key)
    if secret is None:
        raise BinanceApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
    body = await request.text() if request.body_exists else ""
    # Binance signs totalParams = query string concatenated with the body (no separator).
    signatures: list[str] = []
    cleaned: list[str] = []
    for part in (request.query_string, body):
        pieces = part.split("&") if part else []
        signatures += [p[len("signature="):] for p in pieces if p.startswith("signature=")]
        cleaned.append("&".join(p for p in pieces if not p.startswith("signature=")))
    if len(signatures) != 1:
        raise BinanceApiError(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    payload = cleaned[0] + cleaned[1]
    expected = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signatures[0].lower()):
        raise BinanceApiError(400, -1022, "Signature for this request is not valid.")
    params = dict(parse_qsl(cleaned[0], keep_blank_values=True))
    params.update(parse_qsl(cleaned[1], keep_blank_values=True))
    ts_text = params.get("timestamp")
    if ts_text is None or not ts_text.isdigit():
        raise BinanceApiError(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
    if emulator.check_timestamp:
        # Binance: process only if timestamp < serverTime + 1000 and
        # serverTime - timestamp <= recvWindow (5000 by default, 60000 at most).
        try:
            recv_window = Decimal(params.get("recvWindow", "5000") or "5000")
        except InvalidOperation:
            raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'recvWindow'.") from None
        if not recv_window.is_finite() or recv_window > 60000:
            raise BinanceApiError(400, -1131, "recvWindow must be less than 60000")
        now, ts = emulator.server_time_ms(), int(ts_text)
        if ts >= now + 1000:
            raise BinanceApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if now - ts > recv_window:
            raise BinanceApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
    request[ACCOUNT] = key  # whose request: `acting` scopes the state to it
    return params
