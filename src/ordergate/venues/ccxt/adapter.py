"""A venue adapter on `ccxt.async_support`: Binance first, any ccxt exchange in principle.

Everything ccxt returns is translated into `OrderReport`/`TradeReport`/`Balance`/`Ticker`
(`translation.py`), every ccxt exception into one of the `VenueError`s of `venues.base`
(`errors.py`), and the instruments are kept by `markets.py`; the ccxt object is made in
`exchange.py` and an order's request built in `order_params.py`. Facts this relies on are in
/work/shared/peers.md, notably:

- the async client re-sends a GET/DELETE once on a dropped keep-alive connection, so a
  cancel that worked can come back "not found": `cancel_order` then looks the order up;
- a market order given a price becomes a `quoteOrderQty` order: prices stay out of market
  orders;
- Binance answers an order's trades a page at a time (500 by default, 1000 at most, the
  most recent without `fromId`): `fetch_fills` pages forward from trade ID 0
  (`trades.py`);
- a timestamp the venue refuses (-1021) was not processed: the clock difference is
  measured again and the call retried once (`_call`).

Credentials are read from the environment variables named in the settings, kept as
`SecretStr` and inside the ccxt object only, and are redacted from ccxt's own debug log
and from every exception message this module raises.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from ccxt.base import errors as ccxt_errors
from pydantic import SecretStr

from ordergate.clock import Clock
from ordergate.domain.instrument import Instrument
from ordergate.events import VenueClockResynced
from ordergate.venues.base import (
    Balance,
    FatalVenueError,
    NoQuote,
    OcoRequest,
    OrderNotFound,
    OrderReport,
    OrderRequest,
    ReplaceReport,
    Ticker,
    TradeReport,
    UnknownSymbol,
    VenueError,
    VenueEventSink,
    VenueHealth,
    VenueTimeout,
    VenueUnavailable,
)
from ordergate.venues.ccxt import oco
from ordergate.venues.ccxt.errors import FilterRejected, map_error, redact, retry_after_seconds
from ordergate.venues.ccxt.exchange import (
    CLIENT_ID_PARAMS,
    DEFAULT_CLIENT_ID_PARAMS,
    ORDER_INFO_FIELDS,
    new_exchange,
    read_secret,
)
from ordergate.venues.ccxt.markets import Markets
from ordergate.venues.ccxt.order_params import order_params
from ordergate.venues.ccxt.replace import replace_order, supports_native_replace
from ordergate.venues.ccxt.settings import CcxtVenueSettings
from ordergate.venues.ccxt.trades import order_trades
from ordergate.venues.ccxt.translation import (
    dec_or_none,
    order_report,
    plain,
    supports_stops,
    timestamp,
    trade_report,
    trade_sort_key,
)

log = logging.getLogger("ordergate.venues.ccxt_venue")


class CcxtVenue:
    """`VenueAdapter` on a ccxt async exchange. Symbols are ccxt unified ("BTC/USDT")."""

    def __init__(self, settings: CcxtVenueSettings, clock: Clock, *,
                 on_event: VenueEventSink | None = None) -> None:
        self.settings = settings
        self._on_event = on_event
        self.name = settings.name
        self._clock = clock
        self._api_key = read_secret(settings.api_key_env)
        self._secret = read_secret(settings.secret_env)
        # Kept as SecretStr everywhere but inside the ccxt object: nothing here prints them.
        self._secrets: tuple[SecretStr, ...] = tuple(
            s for s in (self._api_key, self._secret) if s is not None)
        self._exchange: Any = new_exchange(settings, self._api_key, self._secret)
        self._create_id_param, self._lookup_id_param = CLIENT_ID_PARAMS.get(
            settings.exchange, DEFAULT_CLIENT_ID_PARAMS)
        self._markets = Markets(
            self.name, settings.market_type, clock,
            lambda: self._call("load_instruments", lambda: self._exchange.load_markets(True)),
            self._emit, refresh_s=settings.markets_refresh_s,
            reload_min_interval_s=settings.rules_reload_min_interval_s)

    def __repr__(self) -> str:
        return (f"CcxtVenue(name={self.name!r}, exchange={self.settings.exchange!r}, "
                f"market_type={self.settings.market_type!r})")

    # ------------------------------------------------------------ instruments

    async def load_instruments(self) -> dict[str, Instrument]:
        """Load (or reload) the exchange's markets and translate them into instruments."""
        return await self._markets.load()

    async def refresh_instruments(self) -> dict[str, Instrument]:
        """What the engine calls every `markets_refresh_s`; same as `load_instruments`."""
        return await self.load_instruments()

    @property
    def instruments(self) -> dict[str, Instrument]:
        return dict(self._markets.instruments)

    def markets_stale(self) -> bool:
        return self._markets.stale()

    def native_stop_orders(self) -> bool:
        """ccxt's features list trigger orders for this market type (`supports_stops`);
        where they do not, the engine can emulate stops (`venues/capabilities.py`)."""
        return supports_stops(self._exchange.features, self.settings.market_type)

    async def _ensure_instruments(self) -> None:
        await self._markets.ensure()

    def _emit(self, event: object) -> None:
        if self._on_event is not None:
            self._on_event(event)
        else:
            log.warning("%s: %s (no event sink to report it to)", self.name, event)

    # ------------------------------------------------------------ orders

    async def prepare_order(self, request: OrderRequest) -> str | None:
        """None: Binance (and ccxt's exchanges generally) assign the order ID on acceptance;
        the client order ID is what finds the order before that."""
        return None

    async def place_order(self, request: OrderRequest) -> OrderReport:
        await self._ensure_instruments()
        instrument = self._markets.instruments.get(request.symbol)
        if instrument is None:
            raise UnknownSymbol(f"{self.name}: unknown symbol {request.symbol!r}")
        unified, price, params = order_params(self, request, instrument)
        try:
            raw = await self._call("place_order", lambda: self._exchange.create_order(
                request.symbol, unified, request.side.value,
                plain(request.quantity), price, params), placing=True,
                post_only=request.post_only, stop=request.order_type.is_stop)
        except FilterRejected as rejected:
            await self._markets.reload_after(request.symbol, rejected)
            raise
        if not isinstance(raw, Mapping) or raw.get("id") is None:
            # A 200 whose body could not be read: the order may well exist (peers.md).
            raise VenueTimeout(
                f"{self.name} place_order {request.client_order_id}: answer without an order id; "
                "outcome unknown, look the order up by client order ID")
        return self._order_report(raw, request.client_order_id, request.symbol)

    def supports_replace(self) -> bool:
        """Binance spot only (`order/cancelReplace`): ccxt's `edit_order` is a non-atomic
        cancel plus create on most other exchanges, and is never called there."""
        return supports_native_replace(self.settings.exchange, self.settings.market_type)

    async def replace_order(self, old_client_order_id: str, old_venue_order_id: str | None,
                            request: OrderRequest) -> ReplaceReport:
        """`base.Replaceable`, through ccxt's `edit_order` (`replace.py`)."""
        return await replace_order(self, old_client_order_id, old_venue_order_id, request)

    def supports_oco(self) -> bool:
        """Native OCO lists: Binance spot only (`oco.py`)."""
        return oco.supports_oco(self)

    async def place_oco(self, request: OcoRequest) -> list[OrderReport]:
        return await oco.place_oco(self, request)

    async def cancel_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        await self._ensure_instruments()
        try:
            raw = await self._call("cancel_order", lambda: self._exchange.cancel_order(
                venue_order_id, symbol, self._lookup_params(client_order_id, venue_order_id)))
        except OrderNotFound:
            # Either the order is already terminal (filled, cancelled, expired), or our
            # cancel worked and the client's silent re-send got "unknown order". Ask.
            try:
                return await self.fetch_order(symbol, client_order_id, venue_order_id)
            except OrderNotFound:
                pass  # asked directly, the venue says so too: the cancel's answer stands
            raise
        if not isinstance(raw, Mapping):
            return await self.fetch_order(symbol, client_order_id, venue_order_id)
        report = self._order_report(raw, client_order_id, symbol)
        return report

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        await self._ensure_instruments()
        raw = await self._call("fetch_order", lambda: self._exchange.fetch_order(
            venue_order_id, symbol, self._lookup_params(client_order_id, venue_order_id)))
        return self._order_report(raw, client_order_id, symbol)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        await self._ensure_instruments()
        raws = await self._call("fetch_open_orders", lambda: self._exchange.fetch_open_orders(symbol))
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
        raws = await order_trades(self, symbol, venue_order_id)
        by_id: dict[str, TradeReport] = {}
        for raw in raws:
            if raw.get("order") is not None and str(raw["order"]) != str(venue_order_id):
                continue
            trade = trade_report(self.name, raw, client_order_id, venue_order_id, symbol,
                                 self._clock.now())
            by_id[trade.trade_id] = trade
        return sorted(by_id.values(), key=lambda t: (t.ts, trade_sort_key(t.trade_id)))

    # ------------------------------------------------------------ account and market data

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        if account_id != self.settings.account_id:
            raise FatalVenueError(f"{self.name}: unknown account {account_id!r}")
        raw = await self._call("fetch_balances", lambda: self._exchange.fetch_balance())
        balances: dict[str, Balance] = {}
        free_map = raw.get("free") or {}
        used_map = raw.get("used") or {}
        for currency in sorted(set(free_map) | set(used_map)):
            free = dec_or_none(free_map.get(currency)) or Decimal(0)
            used = dec_or_none(used_map.get(currency)) or Decimal(0)
            balances[currency] = Balance(currency=currency, free=free, used=used)
        return balances

    async def fetch_ticker(self, symbol: str) -> Ticker:
        await self._ensure_instruments()
        raw = await self._call("fetch_ticker", lambda: self._exchange.fetch_ticker(symbol))
        bid, ask = dec_or_none(raw.get("bid")), dec_or_none(raw.get("ask"))
        if bid is None or ask is None:
            raise NoQuote(f"{self.name}: no bid/ask for {symbol}: an empty side of the book")
        return Ticker(symbol=symbol, bid=bid, ask=ask,
                      ts=timestamp(raw.get("timestamp"), self._clock.now()))

    def sells_lock_holdings(self, symbol: str) -> bool:
        """A spot market's resting sell reserves the base asset (ccxt's `market["spot"]`);
        a symbol not loaded yet is taken as spot."""
        market = (self._exchange.markets or {}).get(symbol) or {}
        return market.get("spot", True) is not False

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
        return order_report(raw, client_order_id, symbol, self._clock.now(),
                            ORDER_INFO_FIELDS.get(self.settings.exchange))

    # ------------------------------------------------------------ calls and errors

    async def _call(self, op: str, call: Callable[[], Awaitable[Any]], *,
                    placing: bool = False, post_only: bool = False, stop: bool = False) -> Any:
        """One ccxt call; its failure becomes one of our `VenueError`s (`errors.py`).

        ccxt's exception is never attached to ours: its message holds the request URL (a
        signed GET or DELETE carries its signature there, some exchanges the API key), and
        a traceback prints the cause and the context of every exception, loguru's
        `diagnose` the values of the variables on each line. So the error is built inside
        the `except` and raised after it: no `__cause__`, no `__context__`, and no local
        on the raising line but our redacted error."""
        resynced = False
        while True:
            try:
                return await call()
            except ccxt_errors.InvalidNonce as exc:
                error = self._map_error(exc, op, placing=placing, post_only=post_only, stop=stop)
                if resynced or not self._exchange.has.get("fetchTime"):
                    break
            except VenueError:
                raise  # already ours (built by the call itself, `replace.py`): no ccxt in it
            except Exception as exc:  # noqa: BLE001 - every failure is mapped, none swallowed
                error = self._map_error(exc, op, placing=placing, post_only=post_only, stop=stop)
                break
            # The venue refused the request's timestamp (Binance -1021): it was not
            # processed, so sending it again cannot duplicate anything. Measure the clock
            # difference once and retry once; a second refusal is a failure.
            resynced = True
            if not await self._resync_clock(op, error):
                break
        raise error

    async def _resync_clock(self, op: str, refused: VenueError) -> bool:
        """Re-measure the venue's clock (ccxt's `load_time_difference`: GET /api/v3/time on
        Binance, setting `options['timeDifference']`, which signs every later request)."""
        try:
            offset = await self._exchange.load_time_difference()
        except Exception as exc:  # noqa: BLE001 - reported, and the refusal stands
            log.warning("%s %s: the venue refused our timestamp and its time could not be "
                        "read: %s", self.name, op, self._redact(f"{type(exc).__name__}: {exc}"))
            return False
        self._emit(VenueClockResynced(self._clock.now(), self.name, int(offset),
                                      f"{op} refused: {refused}"))
        return True

    def _map_error(self, exc: BaseException, op: str, *, placing: bool = False,
                   post_only: bool = False, stop: bool = False) -> VenueError:
        text = f"{self.name} {op}: {type(exc).__name__}: {self._redact(str(exc))}"
        return map_error(exc, text, placing=placing, post_only=post_only, stop=stop,
                         retry_after=self._retry_after)

    def _retry_after(self) -> float | None:
        headers = getattr(self._exchange, "last_response_headers", None) or {}
        return retry_after_seconds(headers, self._clock.now())

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)
