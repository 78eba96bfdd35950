"""A venue adapter on `ccxt.async_support`: Binance first, any ccxt exchange in principle.

Everything ccxt returns is translated into `OrderReport`/`TradeReport`/`Balance`/`Ticker`
here, and every ccxt exception into one of the `VenueError`s of `venues.base`, in one
function (`_map_error`). Facts this relies on are in /work/shared/peers.md, notably:

- a timeout, a dropped connection or a 5xx while *placing* leaves the outcome unknown, so
  every transport-level failure of `place_order` is a `VenueTimeout` (ambiguous);
- Binance refuses a reused client order ID only while the first order is open, and ccxt
  reports that as `InvalidOrder` ("Duplicate order sent."), not `DuplicateOrderId`;
- the async client re-sends a GET/DELETE once on a dropped keep-alive connection, so a
  cancel that worked can come back "not found": `cancel_order` then looks the order up;
- the status word lies about partial fills: `filled`/`remaining` decide the status;
- a market order given a price becomes a `quoteOrderQty` order: prices stay out of market
  orders.

Money is `Decimal`: ccxt's floats are converted with `Decimal(str(x))`, and where the
venue's raw strings are available (Binance trades) they are used as they are.

Credentials are read from the environment variables named in the settings, kept as
`SecretStr` and inside the ccxt object only, and are redacted from ccxt's own debug log
and from every exception message this module raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import ccxt.async_support as ccxt_async
from ccxt.base import errors as ccxt_errors
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.limits import MAX_DURATION_S
from ordergate.venues.base import (
    AuthenticationFailed,
    Balance,
    DuplicateClientOrderId,
    FatalVenueError,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    OrderReport,
    OrderRequest,
    RateLimited,
    Ticker,
    TradeReport,
    UnknownSymbol,
    VenueError,
    VenueEventSink,
    VenueHealth,
    VenueTimeout,
    VenueUnavailable,
)

log = logging.getLogger(__name__)

# The request parameter that carries our client order ID when creating an order, and the one
# that names it when looking an order up or cancelling it. Default: ccxt's unified
# `clientOrderId`, which most exchange classes translate themselves.
_CLIENT_ID_PARAM: dict[str, tuple[str, str]] = {
    "binance": ("newClientOrderId", "origClientOrderId"),
    "binanceus": ("newClientOrderId", "origClientOrderId"),
    "binanceusdm": ("newClientOrderId", "origClientOrderId"),
    "binancecoinm": ("newClientOrderId", "origClientOrderId"),
}
_DEFAULT_CLIENT_ID_PARAM = ("clientOrderId", "clientOrderId")

_REDACTED = "***"
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_ORDER_TYPES = {"market": OrderType.MARKET, "limit": OrderType.LIMIT}


class CcxtVenueSettings(BaseModel):
    """One ccxt-backed venue. Credentials are *names of environment variables*."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    kind: Literal["ccxt"] = "ccxt"
    exchange: str = Field(min_length=1, description="ccxt exchange id, e.g. 'binance'")
    sandbox: bool = False
    market_type: Literal["spot", "future"] = "spot"
    api_key_env: str | None = None
    secret_env: str | None = None
    api_url: str | None = Field(
        default=None, description="override the exchange's base URL (scheme://host[:port])")
    timeout_s: float = Field(default=10.0, gt=0, le=MAX_DURATION_S)
    markets_refresh_s: float = Field(default=3600.0, gt=0, le=MAX_DURATION_S)
    account_id: str = "main"


class CcxtVenue:
    """`VenueAdapter` on a ccxt async exchange. Symbols are ccxt unified ("BTC/USDT")."""

    def __init__(self, settings: CcxtVenueSettings, clock: Clock, *,
                 on_event: VenueEventSink | None = None) -> None:
        self.settings = settings
        self._on_event = on_event
        self.name = settings.name
        self._clock = clock
        self._api_key = _read_secret(settings.api_key_env)
        self._secret = _read_secret(settings.secret_env)
        # Kept as SecretStr everywhere but inside the ccxt object: nothing here prints them.
        self._secrets: tuple[SecretStr, ...] = tuple(
            s for s in (self._api_key, self._secret) if s is not None)
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
        if self._api_key is not None:
            config["apiKey"] = self._api_key.get_secret_value()
        if self._secret is not None:
            config["secret"] = self._secret.get_secret_value()
        self._exchange: Any = exchange_class(config)
        # ccxt logs request headers (the API key) at DEBUG: give it a logger that redacts.
        self._exchange.logger = _RedactingLogger(
            logging.getLogger(f"{__name__}.wire.{settings.name}"), self._secrets)
        if settings.sandbox:
            self._exchange.set_sandbox_mode(True)
        if settings.api_url is not None:
            _point_at(self._exchange, settings.api_url)
            # Stay on that host: no currency, margin or other market-type lookups (peers.md).
            self._exchange.options["fetchCurrencies"] = False
            self._exchange.options["fetchMargins"] = False
            self._exchange.options["fetchMarkets"] = {
                "types": ["spot"] if settings.market_type == "spot" else ["linear"]}
        self._create_id_param, self._lookup_id_param = _CLIENT_ID_PARAM.get(
            settings.exchange, _DEFAULT_CLIENT_ID_PARAM)
        self._instruments: dict[str, Instrument] = {}
        self._markets_loaded_at: datetime | None = None
        self._markets_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return (f"CcxtVenue(name={self.name!r}, exchange={self.settings.exchange!r}, "
                f"market_type={self.settings.market_type!r})")

    # ------------------------------------------------------------ instruments

    async def load_instruments(self) -> dict[str, Instrument]:
        """Load (or reload) the exchange's markets and translate them into instruments."""
        async with self._markets_lock:
            return await self._load_instruments()

    async def refresh_instruments(self) -> dict[str, Instrument]:
        """What the engine calls every `markets_refresh_s`; same as `load_instruments`."""
        return await self.load_instruments()

    @property
    def instruments(self) -> dict[str, Instrument]:
        return dict(self._instruments)

    def markets_stale(self) -> bool:
        if self._markets_loaded_at is None:
            return True
        age = self._clock.now() - self._markets_loaded_at
        return age >= timedelta(seconds=self.settings.markets_refresh_s)

    async def _ensure_instruments(self) -> None:
        if not self.markets_stale():
            return
        async with self._markets_lock:
            if self.markets_stale():
                await self._load_instruments()

    async def _load_instruments(self) -> dict[str, Instrument]:
        try:
            markets = await self._exchange.load_markets(True)
        except Exception as exc:
            raise self._map_error(exc, "load_instruments") from exc
        instruments: dict[str, Instrument] = {}
        for symbol, market in markets.items():
            if not self._wanted(market):
                continue
            instrument = self._instrument(symbol, market)
            if instrument is not None:
                instruments[symbol] = instrument
        self._instruments = instruments
        self._markets_loaded_at = self._clock.now()
        log.info("%s: %d instruments loaded", self.name, len(instruments))
        return dict(instruments)

    def _wanted(self, market: Mapping[str, Any]) -> bool:
        if market.get("active") is False:
            return False
        if self.settings.market_type == "spot":
            return bool(market.get("spot"))
        return bool(market.get("contract"))

    def _instrument(self, symbol: str, market: Mapping[str, Any]) -> Instrument | None:
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}
        tick = _dec_or_none(precision.get("price"))
        lot = _dec_or_none(precision.get("amount"))
        if tick is None or lot is None or tick <= 0 or lot <= 0:
            log.warning("%s: %s has no step-size precision, skipped", self.name, symbol)
            return None
        amount = limits.get("amount") or {}
        cost = limits.get("cost") or {}
        price = limits.get("price") or {}
        return Instrument(
            venue=self.name,
            symbol=symbol,
            base=str(market.get("base")),
            quote=str(market.get("quote")),
            tick_size=tick,
            lot_size=lot,
            min_quantity=_positive_or_none(amount.get("min")) or lot,
            max_quantity=_positive_or_none(amount.get("max")),
            min_notional=_positive_or_none(cost.get("min")) or Decimal(0),
            min_price=_positive_or_none(price.get("min")),
            max_price=_positive_or_none(price.get("max")),
        )

    # ------------------------------------------------------------ orders

    async def place_order(self, request: OrderRequest) -> OrderReport:
        await self._ensure_instruments()
        instrument = self._instruments.get(request.symbol)
        if instrument is None:
            raise UnknownSymbol(f"{self.name}: unknown symbol {request.symbol!r}")
        params: dict[str, Any] = {self._create_id_param: request.client_order_id}
        price: str | None = None
        if request.order_type is OrderType.LIMIT:
            if request.price is None:
                raise OrderRejected(f"{self.name}: a limit order needs a price")
            if not instrument.is_on_tick(request.price):
                # ccxt would round it to the *nearest* tick (a buy could go up): refuse instead.
                raise OrderRejected(
                    f"{self.name}: price {request.price} is not on tick {instrument.tick_size}")
            price = _plain(request.price)
            # Spot venues have no good-till-date: the order rests as GTC and the engine's
            # reconciler cancels it at `expires_at` (also after a restart, on recovery).
            gtd = request.time_in_force is TimeInForce.GTD
            params["timeInForce"] = "GTC" if gtd else request.time_in_force.value
        # A market order carries no price: ccxt would turn it into a quoteOrderQty order.
        try:
            raw = await self._exchange.create_order(
                request.symbol, request.order_type.value, request.side.value,
                _plain(request.quantity), price, params)
        except Exception as exc:
            raise self._map_error(exc, "place_order", placing=True) from exc
        if not isinstance(raw, Mapping) or raw.get("id") is None:
            # A 200 whose body could not be read: the order may well exist (peers.md).
            raise VenueTimeout(
                f"{self.name} place_order {request.client_order_id}: answer without an order id; "
                "outcome unknown, look the order up by client order ID")
        return self._order_report(raw, request.client_order_id, request.symbol)

    async def cancel_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        await self._ensure_instruments()
        try:
            raw = await self._exchange.cancel_order(
                venue_order_id, symbol, self._lookup_params(client_order_id, venue_order_id))
        except ccxt_errors.OrderNotFound as exc:
            # Either the order is already terminal (filled, cancelled, expired), or our
            # cancel worked and the client's silent re-send got "unknown order". Ask.
            try:
                return await self.fetch_order(symbol, client_order_id, venue_order_id)
            except OrderNotFound:
                raise self._map_error(exc, "cancel_order") from exc
        except Exception as exc:
            raise self._map_error(exc, "cancel_order") from exc
        if not isinstance(raw, Mapping):
            return await self.fetch_order(symbol, client_order_id, venue_order_id)
        report = self._order_report(raw, client_order_id, symbol)
        return report

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        await self._ensure_instruments()
        try:
            raw = await self._exchange.fetch_order(
                venue_order_id, symbol, self._lookup_params(client_order_id, venue_order_id))
        except Exception as exc:
            raise self._map_error(exc, "fetch_order") from exc
        return self._order_report(raw, client_order_id, symbol)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        await self._ensure_instruments()
        try:
            raws = await self._exchange.fetch_open_orders(symbol)
        except Exception as exc:
            raise self._map_error(exc, "fetch_open_orders") from exc
        reports = []
        for raw in raws:
            reports.append(self._order_report(raw, "", str(raw.get("symbol") or symbol)))
        return reports

    async def fetch_fills(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> list[TradeReport]:
        await self._ensure_instruments()
        if venue_order_id is None:
            venue_order_id = (await self.fetch_order(symbol, client_order_id)).venue_order_id
            if venue_order_id is None:
                raise VenueUnavailable(f"{self.name}: order {client_order_id} has no venue id yet")
        try:
            raws = await self._exchange.fetch_my_trades(
                symbol, None, None, {"orderId": venue_order_id})
        except Exception as exc:
            raise self._map_error(exc, "fetch_fills") from exc
        by_id: dict[str, TradeReport] = {}
        for raw in raws:
            if raw.get("order") is not None and str(raw["order"]) != str(venue_order_id):
                continue
            trade = self._trade_report(raw, client_order_id, venue_order_id, symbol)
            by_id[trade.trade_id] = trade
        return sorted(by_id.values(), key=lambda t: (t.ts, _sort_key(t.trade_id)))

    # ------------------------------------------------------------ account and market data

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        if account_id != self.settings.account_id:
            raise FatalVenueError(f"{self.name}: unknown account {account_id!r}")
        try:
            raw = await self._exchange.fetch_balance()
        except Exception as exc:
            raise self._map_error(exc, "fetch_balances") from exc
        balances: dict[str, Balance] = {}
        free_map = raw.get("free") or {}
        used_map = raw.get("used") or {}
        for currency in sorted(set(free_map) | set(used_map)):
            free = _dec_or_none(free_map.get(currency)) or Decimal(0)
            used = _dec_or_none(used_map.get(currency)) or Decimal(0)
            balances[currency] = Balance(currency=currency, free=free, used=used)
        return balances

    async def fetch_ticker(self, symbol: str) -> Ticker:
        await self._ensure_instruments()
        try:
            raw = await self._exchange.fetch_ticker(symbol)
        except Exception as exc:
            raise self._map_error(exc, "fetch_ticker") from exc
        bid, ask = _dec_or_none(raw.get("bid")), _dec_or_none(raw.get("ask"))
        if bid is None or ask is None:
            raise VenueUnavailable(f"{self.name}: no bid/ask for {symbol}")
        return Ticker(symbol=symbol, bid=bid, ask=ask, ts=self._ts(raw.get("timestamp")))

    async def health(self) -> VenueHealth:
        try:
            if self._exchange.has.get("fetchTime"):
                await self._exchange.fetch_time()
            else:
                await self._exchange.load_markets(True)
        except Exception as exc:  # noqa: BLE001 - health reports every failure, never raises
            return VenueHealth(self.name, False, str(self._map_error(exc, "health")))
        return VenueHealth(self.name, True, "")

    async def close(self) -> None:
        await self._exchange.close()

    # ------------------------------------------------------------ translation

    def _lookup_params(self, client_order_id: str, venue_order_id: str | None) -> dict[str, Any]:
        # A venue id is unambiguous; a client order ID names the latest order that carries it.
        if venue_order_id is not None:
            return {}
        return {self._lookup_id_param: client_order_id}

    def _order_report(self, raw: Mapping[str, Any], client_order_id: str, symbol: str) -> OrderReport:
        amount = _dec_or_none(raw.get("amount"))
        filled = _dec_or_none(raw.get("filled")) or Decimal(0)
        remaining = _dec_or_none(raw.get("remaining"))
        if remaining is None:
            remaining = max(amount - filled, Decimal(0)) if amount is not None else Decimal(0)
        cost = _dec_or_none(raw.get("cost"))
        average: Decimal | None = None
        if filled > 0:
            average = cost / filled if cost is not None and cost > 0 else _dec_or_none(raw.get("average"))
        status_word = str(raw.get("status") or "")
        status = _status(status_word, filled)
        venue_id = raw.get("id")
        return OrderReport(
            # Ours when we know it: a Binance cancel answer's clientOrderId is the cancel's.
            client_order_id=client_order_id or str(raw.get("clientOrderId") or ""),
            venue_order_id=None if venue_id is None else str(venue_id),
            symbol=str(raw.get("symbol") or symbol),
            status=status,
            filled_quantity=filled,
            remaining_quantity=remaining,
            average_price=average,
            ts=self._ts(raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp")
                        or raw.get("timestamp")),
            reason=status_word if status is OrderStatus.REJECTED else "",
            side=_SIDES.get(str(raw.get("side") or "")),
            order_type=_ORDER_TYPES.get(str(raw.get("type") or "")),
            price=_dec_or_none(raw.get("price")) if raw.get("type") == "limit" else None,
        )

    def _trade_report(self, raw: Mapping[str, Any], client_order_id: str,
                      venue_order_id: str, symbol: str) -> TradeReport:
        info = raw.get("info") or {}
        fee = raw.get("fee") or {}
        # The venue's own strings when it gave them (Binance: price, qty, commission) and
        # they say the same as ccxt's floats; ccxt's unified values otherwise.
        price = _exact(info.get("price"), raw.get("price"))
        qty = _exact(info.get("qty"), raw.get("amount"))
        fee_cost = _exact(info.get("commission"), fee.get("cost")) or Decimal(0)
        if price is None or qty is None:
            raise VenueUnavailable(f"{self.name}: trade {raw.get('id')} without price or amount")
        side = Side.BUY if raw.get("side") == "buy" else Side.SELL
        liquidity = Liquidity.MAKER if raw.get("takerOrMaker") == "maker" else Liquidity.TAKER
        return TradeReport(
            trade_id=str(raw.get("id")),
            client_order_id=client_order_id,
            venue_order_id=str(venue_order_id),
            symbol=str(raw.get("symbol") or symbol),
            side=side,
            price=price,
            quantity=qty,
            fee=fee_cost,
            fee_currency=str(info.get("commissionAsset") or fee.get("currency") or ""),
            liquidity=liquidity,
            ts=self._ts(raw.get("timestamp")),
        )

    def _ts(self, millis: Any) -> datetime:
        if isinstance(millis, int | float) and millis > 0:
            return datetime.fromtimestamp(millis / 1000, UTC)
        return self._clock.now()

    # ------------------------------------------------------------ errors

    def _map_error(self, exc: BaseException, op: str, *, placing: bool = False) -> VenueError:
        """Every ccxt (and transport) failure into the taxonomy of `venues.base`.

        Most specific class first. While placing, anything that may have happened after
        the request was written (timeout, dropped connection, 5xx, unreadable answer) is
        ambiguous: `VenueTimeout`. On reads, the same failures are `VenueUnavailable`
        (or `VenueTimeout`), never "not found"."""
        text = f"{self.name} {op}: {type(exc).__name__}: {self._redact(str(exc))}"
        E = ccxt_errors
        if isinstance(exc, E.RequestTimeout | asyncio.TimeoutError | TimeoutError):
            return VenueTimeout(text)
        if isinstance(exc, E.DDoSProtection | E.RateLimitExceeded):
            return RateLimited(text, retry_after=self._retry_after())
        if isinstance(exc, E.InvalidNonce):
            # The venue answered (timestamp outside recvWindow): nothing was placed.
            return VenueUnavailable(text)
        if _is_transport_failure(exc):
            return VenueTimeout(text) if placing else VenueUnavailable(text)
        if isinstance(exc, E.InsufficientFunds):
            return InsufficientFunds(text)
        if isinstance(exc, E.AuthenticationError):  # includes PermissionDenied
            return AuthenticationFailed(text)
        if isinstance(exc, E.BadSymbol):
            return UnknownSymbol(text)
        if placing and _is_duplicate_client_order_id(exc):
            return DuplicateClientOrderId(text)
        if isinstance(exc, E.OrderNotFound) and not placing:
            return OrderNotFound(text)
        if isinstance(exc, E.InvalidOrder | E.BadRequest | E.OperationRejected):
            return OrderRejected(text) if placing else FatalVenueError(text)
        if isinstance(exc, E.ExchangeError):
            # The venue answered with an error we have no better name for.
            return OrderRejected(text) if placing else FatalVenueError(text)
        # Anything else (a bug, an unexpected exception): never claim the order failed.
        return VenueTimeout(text) if placing else VenueUnavailable(text)

    def _retry_after(self) -> float | None:
        headers = getattr(self._exchange, "last_response_headers", None) or {}
        value = None
        for key, header_value in headers.items():
            if str(key).lower() == "retry-after":
                value = str(header_value)
        if value is None:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max((when - self._clock.now()).total_seconds(), 0.0)

    def _redact(self, text: str) -> str:
        return _redact(text, self._secrets)


# ---------------------------------------------------------------- helpers


def _is_duplicate_client_order_id(exc: BaseException) -> bool:
    """Is this the venue refusing a client order ID it already holds on an open order?

    The one place where message text is matched. Binance answers
    {"code":-2010,"msg":"Duplicate order sent."} and ccxt maps -2010 (NEW_ORDER_REJECTED, which
    also covers insufficient balance and other refusals) to `InvalidOrder`, never to
    `DuplicateOrderId`. So: code -2010 *and* that exact message, read from the JSON body ccxt
    puts after the exchange id in the exception text."""
    if isinstance(exc, ccxt_errors.DuplicateOrderId):
        return True
    if not isinstance(exc, ccxt_errors.InvalidOrder):
        return False
    text = str(exc)
    start = text.find("{")
    if start < 0:
        return False
    try:
        body = json.loads(text[start:])
    except ValueError:
        return False
    return (isinstance(body, dict) and str(body.get("code")) == "-2010"
            and body.get("msg") == "Duplicate order sent.")


def _is_transport_failure(exc: BaseException) -> bool:
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


def _status(word: str, filled: Decimal) -> OrderStatus:
    if word == "closed":
        return OrderStatus.FILLED
    if word in ("canceled", "cancelled"):
        return OrderStatus.CANCELLED  # even when partially filled
    if word == "expired":
        return OrderStatus.EXPIRED
    if word == "rejected":
        return OrderStatus.REJECTED
    # "open", "canceling" or unknown: still working; the filled quantity says how far.
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED


def _read_secret(env_name: str | None) -> SecretStr | None:
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None or value == "":
        raise ValueError(f"environment variable {env_name} is not set")
    return SecretStr(value)


def _point_at(exchange: Any, api_url: str) -> None:
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


def _dec_or_none(value: Any) -> Decimal | None:
    """ccxt number (float, int or numeric string) -> Decimal, via str(), never via float."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def _exact(raw_text: Any, unified: Any) -> Decimal | None:
    """The venue's raw decimal string when it agrees with ccxt's unified number, else the
    unified number (as Decimal). Guards against a raw field meaning something else."""
    exact, approx = _dec_or_none(raw_text), _dec_or_none(unified)
    if exact is None or approx is None:
        return approx if approx is not None else (exact if unified is None else None)
    if abs(exact - approx) <= abs(approx) * Decimal("1e-12"):
        return exact
    return approx


def _positive_or_none(value: Any) -> Decimal | None:
    result = _dec_or_none(value)
    return result if result is not None and result > 0 else None


def _plain(value: Decimal) -> str:
    """A Decimal as a plain string ("0.00001", never "1E-5")."""
    return format(value, "f")


def _sort_key(trade_id: str) -> tuple[int, str]:
    return (int(trade_id), "") if trade_id.isdigit() else (0, trade_id)


def _redact(text: str, secrets: tuple[SecretStr, ...]) -> str:
    for secret in secrets:
        value = secret.get_secret_value()
        if value:
            text = text.replace(value, _REDACTED)
    return _SIGNATURE.sub("signature=" + _REDACTED, text)


_SIGNATURE = re.compile(r"signature=[0-9A-Za-z%+/=_-]+")


class _RedactingLogger(logging.LoggerAdapter[logging.Logger]):
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
        self.logger.log(level, "%s", _redact(text, self._secrets), **kwargs)
