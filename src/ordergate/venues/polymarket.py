"""Polymarket CLOB adapter, on the official `py-clob-client`.

Instruments
    Every outcome token of a market is one instrument. **The symbol is the outcome
    token's ID** (the long decimal `token_id` of the CLOB), not the market's condition
    ID and not the outcome's name. Prices are probabilities in (0, 1), quoted in USDC per
    share; the tick size is the market's `minimum_tick_size` (0.1 ... 0.0001, changed by
    the venue as the price nears 0 or 1); quantities are shares with a lot of 0.01 (the
    size precision py-clob-client signs); the minimum quantity is the market's
    `minimum_order_size`; `min_price`/`max_price` are tick and 1 - tick.

Tick size
    Read from the CLOB when the instruments load, re-read on a schedule (`tick_refresh_s`,
    for the tokens this adapter trades or is configured with) and always re-read, cache
    bypassed, just before an order is signed. If the tick changed since the engine
    rounded the price, the price is re-rounded to the new tick in the safe direction (a
    buy down, a sell up) and the reported instruments are updated.

Orders
    Limit orders only: GTC, GTD (`expires_at`; the venue expires an order 60 s before its
    signed `expiration`, so the adapter signs `expires_at + 60 s`), FOK, and IOC as
    Polymarket's FAK. A MARKET order is refused with `OrderRejected` before anything is
    sent: a "market" order on a thin prediction-market book is a fat-finger risk, so the
    engine must send a marketable limit with FOK or IOC instead. An FOK/FAK order the
    venue kills for lack of liquidity (it answers 400) is reported as EXPIRED, not
    raised. A partially filled FAK's killed remainder is reported as EXPIRED too.

Client order IDs
    Polymarket has no client order ID field. The order's `salt` is derived from the
    signer's address and the client order ID (SHA-256, 53 bits), and the rest of the
    signed order follows from the request, so the same request signs to the same order
    and therefore the same order ID, which on Polymarket *is* the EIP-712 hash of the
    signed order. The adapter computes that ID before sending and keeps an in-memory
    map client order ID -> venue order ID (plus the signed order itself: a resubmission
    of the same client order ID re-sends the identical bytes, so the venue refuses the
    second copy as a duplicate instead of placing it twice). After a placement timeout
    the order is found by that precomputed ID (`PolymarketPlacementTimeout` carries it).
    **After a restart the map is empty**: the engine must pass the venue order ID it
    journaled, or call `order_id_for(request)` with the original request to recompute it
    (this relies on the hash being deterministic, i.e. the same price after tick
    re-rounding). Without either, `fetch_order`/`cancel_order`/`fetch_fills` raise
    `VenueOrderIdUnknown` rather than a false "not found".

Errors
    A timeout, a dropped connection or a 5xx while placing -> `VenueTimeout` (ambiguous);
    elsewhere a timeout -> `VenueTimeout`, a refused connection or a 5xx ->
    `VenueUnavailable`; 429 -> `RateLimited`; 401/403 -> `AuthenticationFailed`; other 4xx
    on an order -> `OrderRejected` (`InsufficientFunds` for balance, and
    `DuplicateClientOrderId` when the venue already holds the same order); an unknown
    token -> `UnknownSymbol`. `OrderNotFound` only when the venue answered: Polymarket's
    `GET /data/order/{id}` answers `null` for an order it does not hold (and for some
    closed ones), so the adapter then asks for the order's trades; with none, and no
    terminal state remembered from this session, it raises `OrderNotFound`.

Fills come from `/data/trades`. A fill where we were the taker is keyed by the venue's
trade ID; where we were a maker, by ``"<trade id>:<order id>"`` (one match can fill
several of our resting orders). Fees are estimated with Polymarket's formula
``fee_rate_bps/10^4 * min(p, 1 - p) * size`` in USDC. Balances: USDC, and the outcome
tokens of configured markets and of tokens traded this session; `used` is what open
orders reserve.

py-clob-client is synchronous; every call runs in a dedicated thread pool, bounded by
`timeout_s`. Credentials are read from the environment variables *named* in the
settings when the adapter is built, and never appear in logs, reprs or error texts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from functools import partial
from typing import Any, Literal, TypeVar

import httpx
from loguru import logger
from py_clob_client.client import ClobClient
from py_clob_client.clob_types import (
    ApiCreds,
    AssetType,
    BalanceAllowanceParams,
    OpenOrderParams,
    TradeParams,
)
from py_clob_client.clob_types import OrderType as ClobOrderType
from py_clob_client.config import get_contract_config
from py_clob_client.exceptions import PolyApiException, PolyException
from py_order_utils.builders import OrderBuilder as UtilsOrderBuilder  # type: ignore[import-untyped]
from py_order_utils.model import (  # type: ignore[import-untyped]
    BUY as UTILS_BUY,
)
from py_order_utils.model import (
    SELL as UTILS_SELL,
)
from py_order_utils.model import (
    OrderData,
    SignedOrder,
)
from py_order_utils.signer import Signer as UtilsSigner  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field

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

__all__ = [
    "PolymarketPlacementTimeout",
    "PolymarketVenue",
    "PolymarketVenueSettings",
    "VenueOrderIdUnknown",
]

T = TypeVar("T")

ZERO = Decimal(0)
ONE = Decimal(1)
LOT = Decimal("0.01")
MICRO = Decimal(1_000_000)
COLLATERAL = "USDC"
GTD_THRESHOLD_S = 60
END_CURSOR = "LTE="
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
_SALT_BITS = 53  # stays an exact integer in JavaScript, as the venue's own salts do

_TIF_TO_CLOB: dict[TimeInForce, str] = {
    TimeInForce.GTC: ClobOrderType.GTC,
    TimeInForce.GTD: ClobOrderType.GTD,
    TimeInForce.FOK: ClobOrderType.FOK,
    TimeInForce.IOC: ClobOrderType.FAK,
}
_KILLED_MARKERS = ("fok orders are fully filled or killed", "fak orders are partially filled")


class PolymarketVenueSettings(BaseModel):
    """How to reach one Polymarket account. Fields ending in `_env` hold the *names* of
    environment variables, never secrets themselves."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = "polymarket"
    kind: Literal["polymarket"] = "polymarket"
    host: str = "https://clob.polymarket.com"
    chain_id: int = 137
    private_key_env: str = "POLYMARKET_PRIVATE_KEY"
    api_key_env: str = "POLYMARKET_API_KEY"
    api_secret_env: str = "POLYMARKET_API_SECRET"
    api_passphrase_env: str = "POLYMARKET_API_PASSPHRASE"
    # The address holding the funds (proxy wallet); unset or empty: the signer's address.
    funder_env: str | None = "POLYMARKET_FUNDER"
    # 0 EOA, 1 POLY_PROXY (email/Magic), 2 POLY_GNOSIS_SAFE (browser wallet).
    signature_type: int = Field(default=0, ge=0, le=2)
    timeout_s: float = Field(default=10.0, gt=0, le=MAX_DURATION_S)
    account_id: str = "polymarket"
    # Markets to load, by condition ID. Empty: every active market with an order book.
    condition_ids: tuple[str, ...] = ()
    # Re-read the tick sizes of watched tokens this often (seconds); 0 disables it.
    tick_refresh_s: float = Field(default=60.0, ge=0, le=MAX_DURATION_S)
    max_workers: int = Field(default=8, ge=1, le=256)


class VenueOrderIdUnknown(FatalVenueError):
    """This adapter has no venue order ID for the client order ID (e.g. after a restart):
    pass `venue_order_id`, or call `PolymarketVenue.order_id_for(request)` first."""


class PolymarketPlacementTimeout(VenueTimeout):
    """The placement's outcome is unknown; `venue_order_id` is the ID the order has if it
    landed (computed before sending), so it can be looked up directly."""

    def __init__(self, message: str, venue_order_id: str) -> None:
        super().__init__(message)
        self.venue_order_id = venue_order_id


@dataclasses.dataclass(slots=True)
class _Tracked:
    """What this session knows about one order it placed (or was told the ID of)."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    time_in_force: TimeInForce
    body: Any = None  # the SignedOrder, to re-send identical bytes
    clob_order_type: str = ClobOrderType.GTC
    acknowledged: bool = False  # the venue answered the placement (yes or no)
    maybe_placed: bool = False  # an earlier attempt's outcome is unknown
    cancel_requested: bool = False
    terminal: OrderReport | None = None  # a final state the venue will not tell us later


class _Secrets:
    """Credentials, kept out of every repr."""

    __slots__ = ("creds", "funder", "private_key")

    def __init__(self, private_key: str, creds: ApiCreds, funder: str | None) -> None:
        self.private_key = private_key
        self.creds = creds
        self.funder = funder

    def __repr__(self) -> str:
        return "_Secrets(<redacted>)"


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


def _to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return ((value / step).to_integral_value(rounding=rounding) * step).quantize(step)


def _message(exc: PolyApiException) -> str:
    msg = exc.error_msg
    if isinstance(msg, dict):
        return str(msg.get("error") or msg.get("errorMsg") or msg)
    return str(msg)


class PolymarketVenue:
    """The `VenueAdapter` for Polymarket's CLOB. See the module docstring."""

    def __init__(self, settings: PolymarketVenueSettings, clock: Clock, *,
                 on_event: VenueEventSink | None = None) -> None:
        self.settings = settings
        self._on_event = on_event
        self.name = settings.name
        self._clock = clock
        self._secrets = self._read_secrets(settings)
        self._client = ClobClient(
            settings.host,
            chain_id=settings.chain_id,
            key=self._secrets.private_key,
            creds=self._secrets.creds,
            signature_type=settings.signature_type,
            funder=self._secrets.funder,
        )
        self._address: str = str(self._client.get_address())
        self._funder: str = self._secrets.funder or self._address
        self._executor = ThreadPoolExecutor(
            max_workers=settings.max_workers, thread_name_prefix=f"{settings.name}-clob"
        )
        self._instruments: dict[str, Instrument] = {}
        self._neg_risk: dict[str, bool] = {}
        self._watched: set[str] = set()
        self._by_cid: dict[str, _Tracked] = {}
        self._by_oid: dict[str, _Tracked] = {}
        self._refresh_task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"PolymarketVenue(name={self.name!r}, host={self.settings.host!r})"

    @staticmethod
    def _read_secrets(settings: PolymarketVenueSettings) -> _Secrets:
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

    @property
    def address(self) -> str:
        """The signer's public address."""
        return self._address

    # ------------------------------------------------------------ calling the client

    async def _call(self, what: str, fn: Callable[[], T], *, placing: bool = False) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, fn)
        try:
            return await asyncio.wait_for(future, self.settings.timeout_s)
        except TimeoutError:
            raise VenueTimeout(f"{self.name}: {what}: no answer in {self.settings.timeout_s}s") from None
        except PolyApiException as exc:
            raise self._map_api_error(exc, what, placing) from None
        except PolyException as exc:
            raise FatalVenueError(f"{self.name}: {what}: {exc.msg}") from None

    def _map_api_error(self, exc: PolyApiException, what: str, placing: bool) -> VenueError:
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
        return OrderRejected(f"{text}: HTTP {status}: {msg}")

    # ------------------------------------------------------------ instruments

    async def load_instruments(self) -> dict[str, Instrument]:
        markets: list[dict[str, Any]] = []
        if self.settings.condition_ids:
            for cid in self.settings.condition_ids:
                market = await self._call(
                    f"market {cid}", partial(self._client.get_market, cid)
                )
                if isinstance(market, dict):
                    markets.append(market)
        else:
            cursor = "MA=="
            while cursor != END_CURSOR:
                page = await self._call("markets", partial(self._client.get_markets, cursor))
                markets.extend(
                    m for m in page.get("data", [])
                    if m.get("enable_order_book") and m.get("active") and not m.get("closed")
                )
                cursor = page.get("next_cursor") or END_CURSOR
        instruments: dict[str, Instrument] = {}
        for market in markets:
            tick = _dec(market["minimum_tick_size"])
            min_size = _dec(market.get("minimum_order_size") or 0)
            for token in market.get("tokens", []):
                token_id = str(token["token_id"])
                if not token_id:
                    continue
                self._neg_risk[token_id] = bool(market.get("neg_risk", False))
                instruments[token_id] = self._instrument(token_id, tick, min_size)
                if self.settings.condition_ids:
                    self._watched.add(token_id)
        self._instruments.update(instruments)
        self._ensure_refresh_task()
        return dict(self._instruments)

    def _instrument(self, token_id: str, tick: Decimal, min_size: Decimal) -> Instrument:
        return Instrument(
            venue=self.name,
            symbol=token_id,
            base=token_id,
            quote=COLLATERAL,
            tick_size=tick,
            lot_size=LOT,
            min_quantity=max(min_size, LOT),
            min_price=tick,
            max_price=ONE - tick,
        )

    async def _fresh_tick(self, token_id: str) -> Decimal:
        """The token's tick size straight from the venue (the client's cache bypassed)."""

        def read() -> str:
            self._client.clear_tick_size_cache(token_id)
            return str(self._client.get_tick_size(token_id))

        tick = _dec(await self._call(f"tick size of {token_id}", read))
        known = self._instruments.get(token_id)
        if known is None:
            self._instruments[token_id] = self._instrument(token_id, tick, LOT)
        elif known.tick_size != tick:
            logger.info(
                "{}: tick size of {} changed {} -> {}", self.name, token_id, known.tick_size, tick
            )
            self._instruments[token_id] = dataclasses.replace(
                known, tick_size=tick, min_price=tick, max_price=ONE - tick
            )
        return tick

    async def refresh_tick_sizes(self, symbols: list[str] | None = None) -> dict[str, Decimal]:
        """Re-read tick sizes (default: the watched tokens); returns symbol -> tick."""
        result: dict[str, Decimal] = {}
        for token_id in symbols if symbols is not None else sorted(self._watched):
            result[token_id] = await self._fresh_tick(token_id)
        return result

    def instrument(self, symbol: str) -> Instrument | None:
        """The latest known rules of one token (tick refreshed), if known."""
        return self._instruments.get(symbol)

    def _ensure_refresh_task(self) -> None:
        if self.settings.tick_refresh_s <= 0 or self._refresh_task is not None or self._closed:
            return
        self._refresh_task = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tick_refresh_s)
            try:
                await self.refresh_tick_sizes()
            except VenueError as exc:
                logger.warning("{}: tick size refresh failed: {}", self.name, exc)

    async def _neg_risk_of(self, token_id: str) -> bool:
        if token_id not in self._neg_risk:
            value = await self._call(
                f"neg-risk of {token_id}", partial(self._client.get_neg_risk, token_id)
            )
            self._neg_risk[token_id] = bool(value)
        return self._neg_risk[token_id]

    # ------------------------------------------------------------ building orders

    def salt_for(self, client_order_id: str) -> int:
        """The order salt derived from the client order ID (and this signer)."""
        digest = hashlib.sha256(f"{self._address.lower()}|{client_order_id}".encode()).digest()
        return int.from_bytes(digest, "big") & ((1 << _SALT_BITS) - 1)

    def _effective(self, request: OrderRequest, tick: Decimal) -> tuple[Decimal, Decimal]:
        """The price re-rounded to the current tick (safe direction) and the lot-true size."""
        if request.price is None:
            raise OrderRejected(f"{self.name}: a limit order needs a price")
        price = request.price
        if price % tick != 0:
            rounding = ROUND_FLOOR if request.side is Side.BUY else ROUND_CEILING
            new_price = _to_step(price, tick, rounding)
            logger.info(
                "{}: {} price {} re-rounded to {} for tick {}",
                self.name, request.client_order_id, price, new_price, tick,
            )
            price = new_price
        if price < tick or price > ONE - tick:
            raise OrderRejected(
                f"{self.name}: price {price} outside [{tick}, {ONE - tick}] for tick {tick}"
            )
        size = _to_step(request.quantity, LOT, ROUND_FLOOR)
        if size <= 0:
            raise OrderRejected(f"{self.name}: quantity {request.quantity} below one lot {LOT}")
        known = self._instruments.get(request.symbol)
        if known is not None and size < known.min_quantity:
            raise OrderRejected(
                f"{self.name}: quantity {size} below minimum {known.min_quantity}"
            )
        return price, size

    def _expiration(self, request: OrderRequest) -> int:
        if request.time_in_force is not TimeInForce.GTD:
            return 0
        if request.expires_at is None:
            raise OrderRejected(f"{self.name}: a GTD order needs expires_at")
        return int(request.expires_at.timestamp()) + GTD_THRESHOLD_S

    def _sign(
        self,
        request: OrderRequest,
        price: Decimal,
        size: Decimal,
        neg_risk: bool,
        fee_rate_bps: int,
    ) -> tuple[str, Any]:
        """Build and sign the order; returns (order ID = EIP-712 hash, SignedOrder)."""
        notional = size * price * MICRO
        shares = size * MICRO
        if notional != notional.to_integral_value() or shares != shares.to_integral_value():
            raise OrderRejected(f"{self.name}: {size} x {price} is not representable in USDC units")
        if request.side is Side.BUY:
            side, maker_amount, taker_amount = UTILS_BUY, int(notional), int(shares)
        else:
            side, maker_amount, taker_amount = UTILS_SELL, int(shares), int(notional)
        data = OrderData(
            maker=self._funder,
            taker=ZERO_ADDRESS,
            tokenId=request.symbol,
            makerAmount=str(maker_amount),
            takerAmount=str(taker_amount),
            side=side,
            feeRateBps=str(fee_rate_bps),
            nonce="0",
            signer=self._address,
            expiration=str(self._expiration(request)),
            signatureType=self.settings.signature_type,
        )
        salt = self.salt_for(request.client_order_id)
        exchange = get_contract_config(self.settings.chain_id, neg_risk).exchange
        builder = UtilsOrderBuilder(
            exchange,
            self.settings.chain_id,
            UtilsSigner(key=self._secrets.private_key),
            salt_generator=lambda: salt,
        )
        order = builder.build_order(data)
        signature = builder.build_order_signature(order)
        order_id = str(builder._create_struct_hash(order))
        return order_id, SignedOrder(order, signature)

    async def _prepare(self, request: OrderRequest) -> _Tracked:
        if request.order_type is not OrderType.LIMIT:
            raise OrderRejected(
                f"{self.name}: market orders are not supported; send a marketable limit "
                "order with FOK or IOC"
            )
        clob_type = _TIF_TO_CLOB.get(request.time_in_force)
        if clob_type is None:  # pragma: no cover - every TimeInForce is mapped
            raise OrderRejected(f"{self.name}: unsupported time in force {request.time_in_force}")
        self._expiration(request)  # refuse a GTD without expiry before any network call
        tick = await self._fresh_tick(request.symbol)
        neg_risk = await self._neg_risk_of(request.symbol)
        fee_rate = int(
            await self._call(
                f"fee rate of {request.symbol}",
                partial(self._client.get_fee_rate_bps, request.symbol),
            )
            or 0
        )
        price, size = self._effective(request, tick)
        order_id, signed = self._sign(request, price, size, neg_risk, fee_rate)
        return _Tracked(
            client_order_id=request.client_order_id,
            venue_order_id=order_id,
            symbol=request.symbol,
            side=request.side,
            quantity=size,
            price=price,
            time_in_force=request.time_in_force,
            body=signed,
            clob_order_type=clob_type,
        )

    def _track(self, tracked: _Tracked) -> None:
        self._by_cid[tracked.client_order_id] = tracked
        self._by_oid[tracked.venue_order_id] = tracked
        self._watched.add(tracked.symbol)

    def _untrack(self, tracked: _Tracked) -> None:
        if self._by_cid.get(tracked.client_order_id) is tracked:
            del self._by_cid[tracked.client_order_id]
        if self._by_oid.get(tracked.venue_order_id) is tracked:
            del self._by_oid[tracked.venue_order_id]

    async def order_id_for(self, request: OrderRequest) -> str:
        """The venue order ID this request signs to (reads the current tick, neg-risk and
        fee rate), remembered for later lookups. Use it after a restart."""
        tracked = self._by_cid.get(request.client_order_id)
        if tracked is not None:
            return tracked.venue_order_id
        tracked = await self._prepare(request)
        self._track(tracked)
        return tracked.venue_order_id

    # ------------------------------------------------------------ placing

    async def place_order(self, request: OrderRequest) -> OrderReport:
        tracked = self._by_cid.get(request.client_order_id)
        if tracked is not None and tracked.acknowledged:
            raise DuplicateClientOrderId(
                f"{self.name}: {request.client_order_id} was already placed as "
                f"{tracked.venue_order_id}"
            )
        if tracked is None or tracked.body is None:
            try:
                tracked = await self._prepare(request)
            except VenueTimeout as exc:
                # Only reads so far: nothing was sent, so the outcome is not ambiguous.
                raise VenueUnavailable(f"{exc} (before sending; nothing placed)") from None
            self._track(tracked)
        # else: the outcome of an earlier attempt is unknown; re-send the identical order,
        # which the venue refuses as a duplicate if the first one landed.
        oid = tracked.venue_order_id
        try:
            response = await self._call(
                f"place {request.client_order_id}",
                partial(self._client.post_order, tracked.body, tracked.clob_order_type),
                placing=True,
            )
        except VenueTimeout as exc:
            tracked.maybe_placed = True
            raise PolymarketPlacementTimeout(f"{exc} (venue order id {oid})", oid) from None
        except DuplicateClientOrderId:
            tracked.acknowledged = True
            raise
        except OrderRejected as exc:
            if any(marker in str(exc).lower() for marker in _KILLED_MARKERS):
                tracked.acknowledged = True
                report = self._report(tracked, OrderStatus.EXPIRED, ZERO, None, str(exc))
                tracked.terminal = report
                return report
            if not tracked.maybe_placed:
                self._untrack(tracked)  # never placed: the same ID may be sent again
            raise
        if not isinstance(response, dict) or not response.get("orderID"):
            tracked.maybe_placed = True
            raise PolymarketPlacementTimeout(
                f"{self.name}: place {request.client_order_id}: unreadable answer, outcome "
                f"unknown (venue order id {oid})",
                oid,
            )
        if not response.get("success", True):
            if not tracked.maybe_placed:
                self._untrack(tracked)
            raise OrderRejected(f"{self.name}: {response.get('errorMsg') or 'order refused'}")
        tracked.acknowledged = True
        venue_oid = str(response["orderID"])
        if venue_oid != oid:
            logger.warning(
                "{}: venue order id {} differs from the computed {}", self.name, venue_oid, oid
            )
            self._by_oid.pop(oid, None)
            tracked.venue_order_id = venue_oid
            self._by_oid[venue_oid] = tracked
        return self._report_from_post(tracked, response)

    def _report_from_post(self, tracked: _Tracked, response: dict[str, Any]) -> OrderReport:
        making = _dec(response.get("makingAmount") or 0)
        taking = _dec(response.get("takingAmount") or 0)
        if tracked.side is Side.BUY:
            filled, cost = taking, making
        else:
            filled, cost = making, taking
        average = cost / filled if filled > 0 else None
        word = str(response.get("status", "")).lower()
        if filled >= tracked.quantity:
            status = OrderStatus.FILLED
        elif tracked.clob_order_type in (ClobOrderType.FAK, ClobOrderType.FOK):
            status = OrderStatus.EXPIRED  # the unfilled remainder was killed
        elif filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        else:
            status = OrderStatus.ACCEPTED
        report = self._report(tracked, status, filled, average, word)
        if status.is_terminal:
            tracked.terminal = report
        return report

    def _report(
        self,
        tracked: _Tracked,
        status: OrderStatus,
        filled: Decimal,
        average: Decimal | None,
        reason: str = "",
    ) -> OrderReport:
        remaining = ZERO if status.is_terminal else max(tracked.quantity - filled, ZERO)
        return OrderReport(
            client_order_id=tracked.client_order_id,
            venue_order_id=tracked.venue_order_id,
            symbol=tracked.symbol,
            status=status,
            filled_quantity=filled,
            remaining_quantity=remaining,
            average_price=average,
            ts=self._clock.now(),
            reason=reason,
            side=tracked.side,
            order_type=OrderType.LIMIT,
            price=tracked.price or None,
        )

    # ------------------------------------------------------------ looking up

    def _resolve(self, symbol: str, client_order_id: str, venue_order_id: str | None) -> _Tracked:
        tracked = self._by_cid.get(client_order_id)
        if tracked is not None and (venue_order_id is None or tracked.venue_order_id == venue_order_id):
            return tracked
        if venue_order_id is not None:
            tracked = self._by_oid.get(venue_order_id)
            if tracked is None:
                tracked = _Tracked(
                    client_order_id=client_order_id,
                    venue_order_id=venue_order_id,
                    symbol=symbol,
                    side=Side.BUY,  # corrected from the venue's answer
                    quantity=ZERO,
                    price=ZERO,
                    time_in_force=TimeInForce.GTC,
                    acknowledged=True,
                )
                self._by_oid[venue_order_id] = tracked
                self._by_cid.setdefault(client_order_id, tracked)
                self._watched.add(symbol)
            return tracked
        raise VenueOrderIdUnknown(
            f"{self.name}: no venue order id known for {client_order_id}; pass it, or call "
            "order_id_for(request) with the original request"
        )

    async def _get_order_json(self, oid: str) -> dict[str, Any] | None:
        raw = await self._call(f"order {oid}", partial(self._client.get_order, oid))
        if isinstance(raw, dict) and raw.get("id"):
            return raw
        return None  # Polymarket's answer for an order it does not hold: null / empty

    def _from_order_json(self, tracked: _Tracked, raw: dict[str, Any]) -> None:
        tracked.side = Side.BUY if str(raw.get("side", "")).upper() == "BUY" else Side.SELL
        tracked.quantity = _dec(raw.get("original_size") or 0)
        tracked.price = _dec(raw.get("price") or 0)
        kind = str(raw.get("order_type", "")).upper()
        if kind in ("FAK", "FOK", "GTD", "GTC"):
            tracked.clob_order_type = kind

    def _status_of(self, tracked: _Tracked, raw: dict[str, Any]) -> OrderStatus:
        word = str(raw.get("status", "")).upper()
        matched = _dec(raw.get("size_matched") or 0)
        if word == "MATCHED" or (matched >= tracked.quantity > 0):
            return OrderStatus.FILLED
        if word in ("LIVE", "DELAYED", "UNMATCHED"):
            return OrderStatus.PARTIALLY_FILLED if matched > 0 else OrderStatus.ACCEPTED
        if word.startswith(("CANCELED", "CANCELLED")):
            if tracked.clob_order_type in (ClobOrderType.FAK, ClobOrderType.FOK):
                return OrderStatus.EXPIRED
            expiration = int(raw.get("expiration") or 0)
            if (
                expiration > 0
                and not tracked.cancel_requested
                and self._clock.now().timestamp() >= expiration - GTD_THRESHOLD_S
            ):
                return OrderStatus.EXPIRED
            return OrderStatus.CANCELLED
        if word == "INVALID":
            return OrderStatus.REJECTED
        logger.warning("{}: unknown order status {!r}", self.name, word)
        return OrderStatus.PARTIALLY_FILLED if matched > 0 else OrderStatus.ACCEPTED

    async def _lookup(self, tracked: _Tracked) -> OrderReport:
        raw = await self._get_order_json(tracked.venue_order_id)
        if raw is not None:
            self._from_order_json(tracked, raw)
            status = self._status_of(tracked, raw)
            filled = _dec(raw.get("size_matched") or 0)
            average: Decimal | None = None
            if filled > 0:
                try:
                    fills = await self._fills(tracked)
                except VenueError:
                    fills = []
                qty = sum((f.quantity for f in fills), ZERO)
                if qty > 0:
                    average = sum((f.price * f.quantity for f in fills), ZERO) / qty
            report = self._report(tracked, status, filled, average, str(raw.get("status", "")))
            if status.is_terminal:
                tracked.terminal = report
            return report
        # The venue does not hold it (or forgot it once closed): its trades decide.
        fills = await self._fills(tracked)
        if fills:
            qty = sum((f.quantity for f in fills), ZERO)
            average = sum((f.price * f.quantity for f in fills), ZERO) / qty
            if tracked.quantity == 0 or qty >= tracked.quantity:
                status = OrderStatus.FILLED
            elif tracked.clob_order_type in (ClobOrderType.FAK, ClobOrderType.FOK):
                status = OrderStatus.EXPIRED
            else:
                status = OrderStatus.CANCELLED
            report = self._report(tracked, status, qty, average, "closed; from trades")
            tracked.terminal = report
            return report
        if tracked.terminal is not None:
            return tracked.terminal
        raise OrderNotFound(
            f"{self.name}: the venue has no order {tracked.venue_order_id} "
            f"({tracked.client_order_id}) and no trades of it"
        )

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        return await self._lookup(self._resolve(symbol, client_order_id, venue_order_id))

    async def cancel_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> OrderReport:
        tracked = self._resolve(symbol, client_order_id, venue_order_id)
        if tracked.terminal is not None:
            return tracked.terminal
        tracked.cancel_requested = True
        oid = tracked.venue_order_id
        answer = await self._call(f"cancel {client_order_id}", partial(self._client.cancel, oid))
        canceled = isinstance(answer, dict) and oid in (answer.get("canceled") or [])
        refused = {}
        if isinstance(answer, dict) and isinstance(answer.get("not_canceled"), dict):
            refused = answer["not_canceled"]
        report = await self._lookup(tracked)
        if canceled and not report.status.is_terminal:
            # The venue said it cancelled; a read racing the cancel may still say live.
            report = dataclasses.replace(
                report, status=OrderStatus.CANCELLED, remaining_quantity=ZERO, reason="canceled"
            )
            tracked.terminal = report
        if not canceled and report.status.is_working:
            raise OrderRejected(
                f"{self.name}: cancel of {client_order_id} refused: {refused.get(oid, answer)}"
            )
        return report

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        params = OpenOrderParams(asset_id=symbol) if symbol else None
        rows = await self._call("open orders", partial(self._client.get_orders, params))
        reports: list[OrderReport] = []
        for raw in rows or []:
            oid = str(raw.get("id", ""))
            tracked = self._by_oid.get(oid)
            if tracked is None:
                tracked = _Tracked(
                    client_order_id="",  # not placed by this session: unknown
                    venue_order_id=oid,
                    symbol=str(raw.get("asset_id", "")),
                    side=Side.BUY,
                    quantity=ZERO,
                    price=ZERO,
                    time_in_force=TimeInForce.GTC,
                    acknowledged=True,
                )
            self._from_order_json(tracked, raw)
            filled = _dec(raw.get("size_matched") or 0)
            reports.append(
                self._report(tracked, self._status_of(tracked, raw), filled, None,
                             str(raw.get("status", "")))
            )
        return reports

    # ------------------------------------------------------------ fills

    async def _trades(self, symbol: str) -> list[dict[str, Any]]:
        rows = await self._call(
            f"trades of {symbol}", partial(self._client.get_trades, TradeParams(asset_id=symbol))
        )
        return [r for r in rows or [] if isinstance(r, dict)]

    async def _fills(self, tracked: _Tracked) -> list[TradeReport]:
        return self._fills_from(tracked, await self._trades(tracked.symbol))

    def _fills_from(self, tracked: _Tracked, trades: list[dict[str, Any]]) -> list[TradeReport]:
        oid = tracked.venue_order_id
        fills: list[tuple[int, TradeReport]] = []
        for trade in trades:
            if str(trade.get("status", "")).upper() == "FAILED":
                continue  # reverted on chain: no fill
            match_time = int(_dec(trade.get("match_time") or 0))
            ts = datetime.fromtimestamp(match_time, UTC)
            if trade.get("taker_order_id") == oid:
                fills.append((match_time, _trade_report(
                    tracked, trade, str(trade["id"]), _dec(trade["size"]), Liquidity.TAKER, ts)))
                continue
            for maker in trade.get("maker_orders") or []:
                if maker.get("order_id") == oid:
                    fills.append((match_time, _trade_report(
                        tracked, maker, f"{trade['id']}:{oid}", _dec(maker["matched_amount"]),
                        Liquidity.MAKER, ts)))
        fills.sort(key=lambda item: item[0])  # stable: ties keep the venue's order
        unique: dict[str, TradeReport] = {}
        for _, fill in fills:
            unique.setdefault(fill.trade_id, fill)
        return list(unique.values())

    async def fetch_fills(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> list[TradeReport]:
        return await self._fills(self._resolve(symbol, client_order_id, venue_order_id))

    # ------------------------------------------------------------ account and market

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        if account_id != self.settings.account_id:
            raise FatalVenueError(
                f"{self.name}: unknown account {account_id!r} (this adapter serves "
                f"{self.settings.account_id!r})"
            )
        sig_type = self.settings.signature_type

        def balance(asset_type: str, token_id: str | None = None) -> Any:
            params = BalanceAllowanceParams(
                asset_type=asset_type, token_id=token_id, signature_type=sig_type
            )
            return self._client.get_balance_allowance(params)

        open_rows = await self._call("open orders", partial(self._client.get_orders, None))
        used_usdc = ZERO
        used_tokens: dict[str, Decimal] = {}
        for raw in open_rows or []:
            remaining = _dec(raw.get("original_size") or 0) - _dec(raw.get("size_matched") or 0)
            if str(raw.get("side", "")).upper() == "BUY":
                used_usdc += remaining * _dec(raw.get("price") or 0)
            else:
                token = str(raw.get("asset_id", ""))
                used_tokens[token] = used_tokens.get(token, ZERO) + remaining
        raw_usdc = await self._call("balance", partial(balance, AssetType.COLLATERAL))
        total = _dec(raw_usdc.get("balance") or 0) / MICRO
        balances = {COLLATERAL: Balance(COLLATERAL, total - used_usdc, used_usdc)}
        for token in sorted(self._watched | set(used_tokens)):
            raw_token = await self._call(
                f"balance of {token}", partial(balance, AssetType.CONDITIONAL, token)
            )
            amount = _dec(raw_token.get("balance") or 0) / MICRO
            used = used_tokens.get(token, ZERO)
            if amount or used:
                balances[token] = Balance(token, amount - used, used)
        return balances

    async def fetch_ticker(self, symbol: str) -> Ticker:
        """Best bid and ask of the token's book; an empty side reads as 0 (bid) or 1 (ask)."""
        book = await self._call(f"book of {symbol}", partial(self._client.get_order_book, symbol))
        bids = [_dec(level.price) for level in book.bids or []]
        asks = [_dec(level.price) for level in book.asks or []]
        return Ticker(
            symbol=symbol,
            bid=max(bids) if bids else ZERO,
            ask=min(asks) if asks else ONE,
            ts=self._clock.now(),
        )

    async def health(self) -> VenueHealth:
        try:
            await self._call("server time", self._client.get_server_time)
        except VenueError as exc:
            return VenueHealth(self.name, False, f"{type(exc).__name__}: {exc}")
        return VenueHealth(self.name, True)

    async def close(self) -> None:
        self._closed = True
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            try:
                await self._refresh_task
            except asyncio.CancelledError:
                pass
            self._refresh_task = None
        self._executor.shutdown(wait=False, cancel_futures=True)


def _trade_report(tracked: _Tracked, entry: dict[str, Any], trade_id: str, quantity: Decimal,
                  liquidity: Liquidity, ts: datetime) -> TradeReport:
    """One of our executions in a CLOB trade: the taker side, or one maker order's part.
    The fee follows Polymarket's formula: bps * min(p, 1 - p) * size, in USDC."""
    price = _dec(entry["price"])
    bps = _dec(entry.get("fee_rate_bps") or 0)
    side = Side.BUY if str(entry.get("side", "")).upper() == "BUY" else Side.SELL
    return TradeReport(
        trade_id=trade_id, client_order_id=tracked.client_order_id,
        venue_order_id=tracked.venue_order_id, symbol=tracked.symbol, side=side, price=price,
        quantity=quantity, fee=bps / 10_000 * min(price, ONE - price) * quantity,
        fee_currency=COLLATERAL, liquidity=liquidity, ts=ts,
    )
