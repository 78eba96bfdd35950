"""The shapes of the HTTP API, as pydantic models: for the OpenAPI document only.

Request bodies are not parsed with these models: `POST /v1/signals` and `POST
/v1/orders` go through the signal parser (`domain/signal.py`), whose boundary (numbers
read as `Decimal`, no key twice, at most 8 levels deep) a pydantic body parameter would
not keep, and responses are built as plain JSON by `views.py`. These models say what a
client may send and will get, so that a generated client and a schema-driven fuzzer
(schemathesis, in the test suite) see the API as it is; that test is what keeps the two
in step.

Money is a string holding a plain decimal literal (`Money`), never a JSON number: a
float client would round it. A request amount is declared as the canonical form
(digits, an optional fraction); the server also reads a JSON number or an exponent
exactly, as a signal line does, but a client should send strings.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ordergate.domain.algorithm import MAX_DURATION_S, MAX_SLICES
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import OrderRole, OrderType, Side, TimeInForce, TradingState
from ordergate.pipeline.reasons import ReasonCode
from ordergate.venues.circuit_breaker import BreakerState

MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
"""What `str(Decimal)` writes for a finite amount: digits, a fraction, an exponent
(`1E-8`), possibly negative (a realized loss)."""
AMOUNT_PATTERN = r"^([1-9][0-9]{0,14}(\.[0-9]{1,18})?|0\.[0-9]{0,17}[1-9]0*)$"
"""A request amount as a client should write it: a plain decimal greater than 0 and
below 10^15 (`limits.MAX_AMOUNT`), at most 18 significant places."""
REASON_PATTERN = r"^[ -~]*[!-~][ -~]*$"
"""Printable ASCII, not only spaces. (Other printable Unicode is accepted too; control
and format characters are not, which a JSON Schema pattern cannot say portably.)"""
IDENTIFIER_PATTERN = r"^[!-~]+$"
"""Printable ASCII without spaces (`domain/signal.is_identifier`)."""

Money = Annotated[str, Field(pattern=MONEY_PATTERN, examples=["0.01"])]
Amount = Annotated[str, Field(pattern=AMOUNT_PATTERN, examples=["0.01"])]
Timestamp = Annotated[str, Field(description="ISO 8601 with a timezone",
                                 examples=["2026-01-02T00:10:00+00:00"])]


def _identifier(max_length: int) -> Any:
    return Field(min_length=1, max_length=max_length, pattern=IDENTIFIER_PATTERN)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ requests


class AlgorithmRequest(_Closed):
    """How the order is carried out over time: TWAP, `slices` child orders evenly spaced
    over `duration_s` seconds, market or limit IOC at `limit_price_cap`."""

    name: Literal["twap"]
    duration_s: float = Field(gt=0, le=float(MAX_DURATION_S))
    slices: int = Field(ge=1, le=MAX_SLICES)
    limit_price_cap: Amount | None = None


class SignalRequest(_Closed):
    """A `TradingSignalGenerated`: the JSON of a signal line."""

    signal_id: str = _identifier(128)
    ts: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    strategy_id: str = _identifier(64)
    account_id: str = _identifier(64)
    venue: str = _identifier(64)
    symbol: str = _identifier(128)
    side: Side
    order_type: OrderType = OrderType.MARKET
    quantity: Amount | None = None
    limit_price: Amount | None = None
    stop_loss: Amount | None = None
    take_profit: Amount | None = None
    trigger_price: Amount | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    protect: bool | None = Field(default=None, description=(
        "with stop_loss and/or take_profit: entered as a bracket, its reduce-only exits "
        "placed at the venue as it fills (default: the config's brackets.protect)"))
    algorithm: AlgorithmRequest | None = None
    strength: float = Field(default=1.0, ge=0, le=1)
    confluence_score: float = Field(default=0.0, ge=0, le=1_000_000)
    expires_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None = None


class AmendRequest(_Closed):
    """`PATCH /v1/orders/{id}`: the new total quantity (what every leg together is to fill)
    and/or the new limit price; at least one."""

    quantity: Amount | None = None
    price: Amount | None = None


class OrderRequest(_Closed):
    """A direct order, as a trader names it; it becomes a signal (`direct_order.py`)."""

    symbol: str = _identifier(128)
    side: Side
    type: OrderType = OrderType.MARKET
    quantity: Amount
    price: Amount | None = None
    trigger_price: Amount | None = Field(default=None, description=(
        "stop_market and stop_limit only (required there): the order rests untriggered "
        "until the market reaches it (a buy stop above the market, a sell stop below)"))
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = Field(default=False, description=(
        "limit orders with GTC or GTD only: the venue refuses the order "
        "(POST_ONLY_WOULD_TAKE) rather than fill any of it as taker"))
    account: str = _identifier(64)
    venue: str = _identifier(64)
    expires_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None = None
    stop_loss: Amount | None = None
    take_profit: Amount | None = None
    protect: bool | None = Field(default=None, description=(
        "with stop_loss and/or take_profit: a bracket, its reduce-only exits placed at "
        "the venue as the order fills (default: the config's brackets.protect)"))
    strategy_id: str | None = Field(default=None, min_length=1, max_length=64,
                                    pattern=IDENTIFIER_PATTERN,
                                    description="default (absent or null): `http`")


class TradingStateRequest(_Closed):
    state: TradingState
    reason: str = Field(min_length=1, max_length=500, pattern=REASON_PATTERN,
                        description="printable text, audited with the token's name")


# ------------------------------------------------------------------ responses


class ProblemDetails(BaseModel):
    """RFC 9457. `field` names the offending field of a 422; a cancel's 409 adds the
    order and its `state`."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    field: str | None = None


class Fill(_Closed):
    trade_id: str
    price: Money
    quantity: Money
    fee: Money
    fee_currency: str
    liquidity: str
    ts: Timestamp


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: OrderStatus = Field(alias="from")
    to: OrderStatus
    ts: Timestamp
    reason: str


class Child(_Closed):
    """An order derived from this one (`OrderView.children`)."""

    client_order_id: str
    role: OrderRole
    leg: int
    state: OrderStatus


class OrderView(_Closed):
    """An order as the journal has it: state, fills, average price, fees per currency,
    every transition with its reason, and its lineage: what it was derived from
    (`parent_id`, `role`, `leg`) and what was derived from it (`children`: a bracket
    entry's exits)."""

    client_order_id: str
    venue_order_id: str | None
    signal_id: str
    strategy_id: str
    account: str
    venue: str
    symbol: str
    side: Side
    type: OrderType
    quantity: Money
    price: Money | None
    time_in_force: TimeInForce
    post_only: bool
    trigger_price: Money | None
    expires_at: Timestamp | None
    parent_id: str | None
    role: OrderRole
    leg: int
    reduce_only: bool
    children: list[Child]
    state: OrderStatus
    finished: bool
    filled_quantity: Money
    average_price: Money | None
    fees: dict[str, Money]
    fills: list[Fill]
    transitions: list[Transition]
    created_at: Timestamp
    updated_at: Timestamp


class OrderSummary(_Closed):
    client_order_id: str
    venue_order_id: str | None
    signal_id: str
    account: str
    venue: str
    symbol: str
    side: Side
    type: OrderType
    quantity: Money
    price: Money | None
    trigger_price: Money | None = Field(description=(
        "stop_market and stop_limit: the price that triggers the order; null otherwise"))
    filled_quantity: Money
    state: OrderStatus
    parent_id: str | None
    role: OrderRole
    leg: int
    reduce_only: bool
    created_at: Timestamp
    updated_at: Timestamp


class OrderPage(_Closed):
    orders: list[OrderSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class ParentChild(_Closed):
    """One order derived from a parent: a TWAP's slice, a bracket's exit leg."""

    client_order_id: str
    role: OrderRole
    leg: int
    state: OrderStatus
    quantity: Money
    filled_quantity: Money


class ParentView(_Closed):
    """A bracket, an algorithm (TWAP) or a block over a group's accounts as the journal has
    it: what it was asked (`spec`: a TWAP's whole schedule, a block's children), its status
    and its children (a block's children are its accounts' orders, named in `spec`)."""

    parent_id: str
    kind: Literal["bracket", "twap", "block"]
    signal_id: str
    status: Literal["active", "done", "completed", "cancelled", "expired"] = Field(description=(
        "active until it has nothing left to do; a bracket and a block end done, a TWAP "
        "completed, cancelled or expired (its signal's expires_at ended the schedule)"))
    spec: dict[str, Any]
    created_at: Timestamp
    updated_at: Timestamp
    children: list[ParentChild]
    children_filled: Money = Field(description="what every child together has filled")


class VerdictAnswer(_Closed):
    """What the chain decided: admitted (201, with the order) or refused by a handler
    (200, `admitted: false`, with the handler, reason code and reason)."""

    admitted: bool
    signal_id: str
    handler: str
    code: ReasonCode | None
    reason: str
    client_order_id: str | None
    order: OrderView | None
    parent: ParentView | None = Field(default=None, description=(
        "a signal carried out by an algorithm (TWAP): its parent, with the slices sent so "
        "far; `client_order_id` and `order` are then null"))


class AmendAnswer(_Closed):
    """An amend's outcome: `amended` with the new leg as `order` (`pending`: sent once the
    venue confirms the old leg's cancel, `order` is then the old leg), or not, with the
    reason code and reason, and the order as it stands."""

    amended: bool
    pending: bool
    code: ReasonCode | None
    reason: str
    client_order_id: str | None
    order: OrderView | None


class Position(_Closed):
    account: str
    venue: str
    symbol: str
    quantity: Money
    average_entry: Money
    realized_pnl: Money
    mark: Money | None = Field(description="the last mid the engine saw for the symbol "
                               "(a signal's reference price); null before any")
    marked_at: Timestamp | None
    unrealized_pnl: Money | None = Field(description="(mark - average_entry) * quantity")
    fees: dict[str, Money]


class Positions(_Closed):
    positions: list[Position]


class TradingStateAnswer(_Closed):
    state: TradingState
    previous: TradingState
    changed: bool
    by: str = Field(description="the token's name")


class ControlLoop(_Closed):
    alive: bool
    last_tick_at: Timestamp | None
    poll_interval_s: float


class JournalHealth(_Closed):
    writable: bool


class RateLimitHealth(_Closed):
    """A guarded venue's request budget now (`venues/rate_limiter.py`)."""

    configured_rate_per_s: float | None = Field(description="null: no limit (simulated)")
    rate_per_s: float | None = Field(description="in force now; lower after penalties")
    burst: int
    tokens: float = Field(description="requests that may be sent now without waiting")
    blocked_until: Timestamp | None = Field(description="a venue's ban in force until")


class VenueHealth(_Closed):
    enabled: bool
    disabled_reason: str | None
    instruments_loaded: int
    breaker: BreakerState | None
    consecutive_failures: int | None
    last_success_at: Timestamp | None
    retry_at: Timestamp | None = None
    rate_limit: RateLimitHealth | None = None


class Health(_Closed):
    status: Literal["ok", "degraded", "failing"]
    trading_state: TradingState
    control_loop: ControlLoop
    journal: JournalHealth
    venues: dict[str, VenueHealth]


ALL_MODELS: tuple[type[BaseModel], ...] = (
    SignalRequest, OrderRequest, TradingStateRequest, ProblemDetails, OrderView, OrderPage,
    ParentView,
    VerdictAnswer, Positions, TradingStateAnswer, Health)
"""With `schema_accounts.MODELS` (the accounts' shapes), the document's components."""
