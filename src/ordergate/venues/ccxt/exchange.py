"""The ccxt exchange object, and what differs from one ccxt exchange to another.

`new_exchange` makes the `ccxt.async_support` object from the settings: credentials read
from the environment variables the settings name (kept as `SecretStr` everywhere but
inside the ccxt object), a logger that redacts them from ccxt's own debug output, and,
with `api_url`, every API URL pointed at that host (the project's emulators, a proxy)
with no lookups that would leave it.

The tables say how an exchange names things ccxt does not unify: the parameter that
carries our client order ID, the exact decimal fields of its order answers, and how its
account-trades endpoint pages.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
from pydantic import SecretStr

from ordergate.venues.ccxt.errors import RedactingLogger
from ordergate.venues.ccxt.settings import CcxtVenueSettings
from ordergate.venues.ccxt.translation import BINANCE_ORDER_FIELDS, OrderInfoFields

_BINANCES = ("binance", "binanceus", "binanceusdm", "binancecoinm")

CLIENT_ID_PARAMS: dict[str, tuple[str, str]] = {
    name: ("newClientOrderId", "origClientOrderId") for name in _BINANCES}
"""The request parameter that carries our client order ID when creating an order, and the
one that names it when looking an order up or cancelling it."""
DEFAULT_CLIENT_ID_PARAMS = ("clientOrderId", "clientOrderId")
"""ccxt's unified `clientOrderId`, which most exchange classes translate themselves."""

ORDER_INFO_FIELDS: dict[str, OrderInfoFields] = {name: BINANCE_ORDER_FIELDS for name in _BINANCES}
"""Exchanges whose order answers carry exact decimal strings (and their own status words)
in ccxt's `info`: used instead of ccxt's floats (`translation.py`)."""

TRADE_PAGES: dict[str, tuple[str, int]] = {name: ("fromId", 1000) for name in _BINANCES}
"""Exchanges whose account-trades endpoint pages forward by trade ID: (the parameter, the
largest page). Binance's GET /api/v3/myTrades answers 500 trades by default, 1000 at
most, and without `fromId` the *most recent* ones: an order with more trades is read
page by page from trade ID 0 (`trades.py`). Other exchanges get one call, as ccxt makes
it."""


def read_secret(env_name: str | None) -> SecretStr | None:
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None or value == "":
        raise ValueError(f"environment variable {env_name} is not set")
    return SecretStr(value)


def new_exchange(settings: CcxtVenueSettings, api_key: SecretStr | None,
                 secret: SecretStr | None) -> Any:
    """The ccxt object for `settings`; a ValueError for an exchange ccxt does not have."""
    exchange_class = getattr(ccxt_async, settings.exchange, None)
    if exchange_class is None:
        raise ValueError(f"ccxt has no exchange {settings.exchange!r}")
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": int(settings.timeout_s * 1000),
        "options": {
            "defaultType": settings.market_type,
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        },
    }
    if api_key is not None:
        config["apiKey"] = api_key.get_secret_value()
    if secret is not None:
        config["secret"] = secret.get_secret_value()
    exchange: Any = exchange_class(config)
    # ccxt logs request headers (the API key) at DEBUG: give it a logger that redacts.
    exchange.logger = RedactingLogger(
        logging.getLogger(f"ordergate.venues.ccxt_venue.wire.{settings.name}"),
        tuple(s for s in (api_key, secret) if s is not None))
    if settings.sandbox:
        exchange.set_sandbox_mode(True)
    if settings.api_url is not None:
        point_at(exchange, settings.api_url)
        # Stay on that host: no currency, margin or other market-type lookups (peers.md).
        exchange.options["fetchCurrencies"] = False
        exchange.options["fetchMargins"] = False
        exchange.options["fetchMarkets"] = {
            "types": ["spot"] if settings.market_type == "spot" else ["linear"]}
    return exchange


def point_at(exchange: Any, api_url: str) -> None:
    """Replace scheme and host of every API URL of the exchange with `api_url`'s, keeping
    each URL's path (Binance: .../api/v3 stays .../api/v3)."""
    target = urlsplit(api_url)
    if not target.scheme or not target.netloc:
        raise ValueError(f"api_url must be scheme://host[:port], got {api_url!r}")
    prefix = target.path.rstrip("/")

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            rebuilt = f"{target.scheme}://{target.netloc}{prefix}{parts.path}"
            return rebuilt + (f"?{parts.query}" if parts.query else "")
        return value

    exchange.urls["api"] = rewrite(exchange.urls["api"])
