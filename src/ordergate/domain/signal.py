"""The signal a decision engine publishes: what to trade, never how.

This is the boundary of the engine, so it is the one place input is validated in full:
pydantic checks types and ranges here and nothing downstream checks them again.
Numbers may arrive as JSON strings or numbers; `parse_signal_json` reads JSON numbers
straight into `Decimal` so that a price never passes through a binary float.

Whatever a line holds, `parse_signal_json` either returns a signal or raises a
`SignalParseError` naming a field: a line is bounded in size and nesting before the JSON
parser sees it, a key given twice is refused, and any other failure is caught. The rules
pydantic's types do not express, and why:
- numbers are plain decimal literals (ASCII digits, optional fraction and exponent),
  strings and JSON numbers alike: `Decimal()` would quietly accept `"+1"`, `" 1 "`,
  `"1_000"` and `"٣"`. Amounts are at most `MAX_AMOUNT` (10^15) with at most
  `MAX_DECIMAL_PLACES` (18) places, bounds no real instrument comes near (`limits.py`);
- identifiers are printable ASCII without spaces: what an operator reads in an audit
  line is what it holds (no control characters, right-to-left overrides, look-alikes);
- times are ISO 8601 strings with a timezone (a bare number is seconds or milliseconds,
  a guess), `expires_at` after `ts`, and a GTD order has an `expires_at`.

Here: the model (`TradingSignalGenerated`) and the parse that ends in it
(`parse_signal_json`, `parse_signal_mapping`). The field rules its validators run are
`signal_rules`; a JSON line's decoding, its bounds and `SignalParseError` are
`signal_json`. Their names are re-exported here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    model_validator,
)

from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.domain.algorithm import AlgorithmSpec
from ordergate.domain.signal_json import (
    MAX_FIELD_NAME,
    MAX_SIGNAL_DEPTH,
    MAX_SIGNAL_LINE_BYTES,
    SignalParseError,
    _BRACKET,
    _DECODER,
    _JSON_STRING,
    _DuplicateKey,
    _echo_signal_id,
    _field_name,
    _object_without_duplicates,
    _reject_constant,
    _too_deep,
    _unreadable,
    decode_json_object,
)
from ordergate.domain.signal_rules import (
    AMOUNT_FIELDS,
    IDENTIFIER_FIELDS,
    MAX_SCORE,
    SCORE_FIELDS,
    _BOOL,
    _EXACT,
    _EXPIRES_BEFORE_TS,
    _GTD_WITHOUT_EXPIRY,
    _INEXACT,
    _NAIVE,
    _NON_FINITE,
    _NOT_A_TIMESTAMP,
    _NOT_FINITE,
    _NOT_PLAIN,
    _OUT_OF_RANGE,
    _PLACES,
    _PLAIN_NUMBER,
    _SHORT_NUMBER,
    _TIMESTAMP,
    _TIME_OUT_OF_RANGE,
    _TOO_PRECISE,
    _Problem,
    _amount_problem,
    _check_timestamp,
    _identifier_problem,
    _invalid,
    _number_text_problem,
    _places_problem,
    _score_problem,
    is_identifier,
)
from ordergate.limits import MAX_AMOUNT

__all__ = [
    "AMOUNT_FIELDS", "IDENTIFIER_FIELDS", "MAX_FIELD_NAME", "MAX_SCORE", "MAX_SIGNAL_DEPTH",
    "MAX_SIGNAL_LINE_BYTES", "SCORE_FIELDS", "SIGNAL_FIELDS", "SignalParseError",
    "TradingSignalGenerated", "_BOOL", "_BRACKET", "_DECODER", "_DuplicateKey", "_EXACT",
    "_EXPIRES_BEFORE_TS", "_GTD_WITHOUT_EXPIRY", "_INEXACT", "_JSON_STRING", "_NAIVE",
    "_NON_FINITE", "_NOT_A_TIMESTAMP", "_NOT_FINITE", "_NOT_PLAIN", "_OUT_OF_RANGE", "_PLACES",
    "_PLAIN_NUMBER", "_Problem", "_SHORT_NUMBER", "_TIMESTAMP", "_TIME_OUT_OF_RANGE",
    "_TOO_PRECISE", "_amount_problem", "_check_timestamp", "_echo_signal_id", "_field_name",
    "_identifier_problem", "_invalid", "_number_text_problem", "_object_without_duplicates",
    "_places_problem", "_reject_constant", "_score_problem", "_too_deep", "_unreadable",
    "decode_json_object", "is_identifier", "parse_signal_json", "parse_signal_mapping",
]


class TradingSignalGenerated(BaseModel):
    """One trading intent. `signal_id` is unique per strategy and account; the client
    order ID is derived from it, so publishing the same signal twice never makes two orders."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    signal_id: str = Field(min_length=1, max_length=128)
    ts: datetime
    strategy_id: str = Field(min_length=1, max_length=64)
    account_id: str = Field(min_length=1, max_length=64)
    venue: str = Field(min_length=1, max_length=64)
    symbol: str = Field(min_length=1, max_length=128)
    """A ccxt unified symbol ("BTC/USDT") or a Polymarket outcome token ID (a uint256 in
    decimal: up to 78 digits)."""
    side: Side
    order_type: OrderType = OrderType.MARKET
    quantity: Decimal | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    limit_price: Decimal | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    stop_loss: Decimal | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    take_profit: Decimal | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    protect: StrictBool | None = None
    """Place `stop_loss` and `take_profit` at the venue as the entry fills: a bracket of
    reduce-only exits, one-cancels-the-other (`algorithms/bracket.py`). None: as
    `brackets.protect` in config says (off by default). A JSON `true`/`false` only."""
    trigger_price: Decimal | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    """The price at which a stop order (`stop_market`, `stop_limit`) stops resting and
    executes: a buy stop once the market rises to it, a sell stop once it falls to it.
    Required for a stop, refused on any other order type (TRIGGER_PRICE_CONFLICT)."""
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: StrictBool = False
    """Rest or be refused: the venue must reject the order rather than let any of it take
    liquidity. A JSON `true`/`false` only (`"true"`, `1` are refused: a flag read loosely
    could let a taker fill through). Only for a limit order that may rest (GTC, GTD): the
    validator refuses it with a market order or IOC/FOK (POST_ONLY_CONFLICT)."""
    strength: float = Field(default=1.0, ge=0, le=1)
    confluence_score: float = Field(default=0.0, ge=0, le=MAX_SCORE)
    expires_at: datetime | None = None

    # ---- execution algorithm (TWAP): a block of its own, kept apart from the exits
    algorithm: AlgorithmSpec | None = None
    """Carry the order out over time instead of at once: `{"name": "twap", "duration_s":
    600, "slices": 10}` sends ten child orders a minute apart (`algorithm.py`). The
    validator refuses it with a stop order or post_only (ALGORITHM_CONFLICT)."""

    @model_validator(mode="before")
    @classmethod
    def _boundary_rules(cls, data: Any) -> Any:
        """The rules pydantic's types do not express (identifiers in printable ASCII, plain
        decimal literals, bounded precision, timestamps as ISO 8601 strings), checked on
        the raw values in one call: a validator per field costs a call each, and this
        runs once per signal in backtests of millions. A `ValidationError` raised here
        keeps the field's location."""
        if not isinstance(data, dict):
            return data
        get = data.get
        ids: Any = (get("signal_id"), get("strategy_id"), get("account_id"), get("venue"),
                    get("symbol"))
        try:  # all five at once; one by one only when one is not a str or not valid
            valid = is_identifier("".join(ids))
        except TypeError:
            valid = False
        if not valid:
            for field in IDENTIFIER_FIELDS:
                value = get(field)
                if type(value) is str and not is_identifier(value):
                    raise _invalid(field, value, _identifier_problem(value))
        short = _SHORT_NUMBER.fullmatch
        for field in AMOUNT_FIELDS:  # the usual values settled inline, without a call
            value = get(field)
            if value is None or (type(value) is str and short(value) is not None):
                continue
            if (problem := _amount_problem(value)) is not None:
                raise _invalid(field, value, problem)
        for field in SCORE_FIELDS:
            value = get(field)
            if value is None or type(value) is Decimal or type(value) is int:
                continue
            if (problem := _score_problem(value)) is not None:
                raise _invalid(field, value, problem)
        timestamp = _TIMESTAMP.match
        for field in ("ts", "expires_at"):
            value = get(field)
            if value is None or (type(value) is str and timestamp(value) is not None):
                continue
            if not isinstance(value, datetime):
                raise _invalid(field, value, _NOT_A_TIMESTAMP)
        return data

    @model_validator(mode="after")
    def _consistent_times(self) -> TradingSignalGenerated:
        """Timestamps carry a timezone and convert to UTC (an offset on 9999-12-31 does
        not: the engine's clock arithmetic would overflow); a GTD order says until when;
        a signal does not expire before it was made.

        `expires_at` with another time in force is allowed and means the same deadline:
        the signal is refused after it (EXPIRED_SIGNAL) and whatever of its order still
        rests then is cancelled by the reconciler. GTD also asks the venue to expire it,
        where the venue can (the simulated venue, Polymarket)."""
        ts, expires_at = self.ts, self.expires_at
        _check_timestamp("ts", ts)
        if expires_at is None:
            if self.time_in_force is TimeInForce.GTD:
                raise _invalid("expires_at", None, _GTD_WITHOUT_EXPIRY)
            return self
        _check_timestamp("expires_at", expires_at)
        if expires_at <= ts:
            raise _invalid("expires_at", expires_at, _EXPIRES_BEFORE_TS)
        return self


SIGNAL_FIELDS = frozenset(TradingSignalGenerated.model_fields)


def parse_signal_json(line: str | bytes) -> TradingSignalGenerated:
    """Parse one JSON signal line, with JSON numbers read exactly as `Decimal`.

    Whatever the line holds, the only exception is a `SignalParseError` naming a field
    (`json` for a line that is not a JSON object at all): one bad line must never end a
    reader. Bytes must be UTF-8 (not whatever `json.loads` would guess)."""
    return parse_signal_mapping(decode_json_object(line))


def parse_signal_mapping(raw: dict[str, Any]) -> TradingSignalGenerated:
    """Validate an already decoded signal: the same boundary as `parse_signal_json`."""
    try:
        return TradingSignalGenerated.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "signal"
        raise SignalParseError(_field_name(field), first["msg"],
                               _echo_signal_id(raw.get("signal_id"))) from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a validator raised what pydantic does not wrap
        raise SignalParseError("signal", _unreadable(exc)) from None
