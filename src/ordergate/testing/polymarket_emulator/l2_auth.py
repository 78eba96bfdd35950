"""How the emulated CLOB (`emulator.py`) authenticates a request with Polymarket's L2
headers, the way the real server does: the POLY_API_KEY must be an account's,
POLY_PASSPHRASE and POLY_ADDRESS must match it, POLY_TIMESTAMP must be within
`auth_max_skew_s` of real time (the venue's moved clock does not count), and
POLY_SIGNATURE must be the HMAC-SHA256 (url-safe base64 secret) of ``timestamp + method
+ path + body``; every failure answers 401 alike. Apart from the endpoints so that each
private one authenticates the same way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import TYPE_CHECKING

from aiohttp import web

from ordergate.testing.polymarket_emulator.records import EmuAccount, _ApiError

if TYPE_CHECKING:
    from ordergate.testing.polymarket_emulator.emulator import PolymarketEmulator


async def authenticate(emulator: PolymarketEmulator,
                       request: web.Request) -> tuple[EmuAccount, str]:
    """Check the L2 headers; returns the account and the raw body text."""
    body = await request.text()
    h = request.headers
    api_key = h.get("POLY_API_KEY", "")
    with emulator.lock:
        account = emulator.accounts.get(api_key)
    if account is None:
        raise _ApiError(401, "Unauthorized/Invalid api key")
    if not hmac.compare_digest(h.get("POLY_PASSPHRASE", ""), account.passphrase):
        raise _ApiError(401, "Unauthorized/Invalid api key")
    if h.get("POLY_ADDRESS", "").lower() != account.address.lower():
        raise _ApiError(401, "Unauthorized/Invalid api key")
    ts = h.get("POLY_TIMESTAMP", "")
    if not ts.isdigit() or abs(int(ts) - time.time()) > emulator.auth_max_skew_s:
        raise _ApiError(401, "Unauthorized/Invalid api key")
    message = ts + request.method + request.path
    if body:
        message += body.replace("'", '"')
    try:
        key = base64.urlsafe_b64decode(account.secret)
    except (ValueError, TypeError):  # pragma: no cover - secrets are generated valid
        raise _ApiError(401, "Unauthorized/Invalid api key") from None
    expected = base64.urlsafe_b64encode(
        hmac.new(key, message.encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, h.get("POLY_SIGNATURE", "")):
        raise _ApiError(401, "Unauthorized/Invalid api key")
    return account, body
