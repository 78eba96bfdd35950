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
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.domain.algorithm import AlgorithmSpec
from ordergate.limits import MAX_AMOUNT, MAX_DECIMAL_PLACES

IDENTIFIER_FIELDS = ("signal_id", "strategy_id", "account_id", "venue", "symbol")
AMOUNT_FIELDS = ("quantity", "limit_price", "stop_loss", "take_profit", "trigger_price")
SCORE_FIELDS = ("strength", "confluence_score")
MAX_SCORE = float(MAX_AMOUNT)

# A plain decimal literal: what JSON allows for a number, as a string too. `[0-9]`, not
# `\d`, which matches every script's digits. A leading `-` is let through so that a
# negative amount is refused as "greater than 0", as any other negative is. The short
# form (no exponent, at most 16 integer digits and 18 places) settles the usual value
# without building a Decimal.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_SHORT_NUMBER = re.compile(rf"-?[0-9]{{1,16}}(?:\.[0-9]{{1,{MAX_DECIMAL_PLACES}}})?")
_NON_FINITE = frozenset({"nan", "snan", "inf", "infinity"})
_PLACES = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)
# Room for every digit an amount within the bounds can have, so quantize never rounds.
_EXACT = Context(prec=40)

_Problem = tuple[str, str, dict[str, Any] | None]
_TOO_PRECISE: _Problem = ("too_precise", "Input should have at most {places} decimal places",
                          {"places": MAX_DECIMAL_PLACES})
_NOT_FINITE: _Problem = ("finite_number", "Input should be a finite number", None)
_NOT_PLAIN: _Problem = (
    "plain_number", ("Input should be a plain decimal number: ASCII digits with an optional "
    "fraction and exponent (\"0.25\", \"1e-8\"), no '+', spaces or '_'"), None)
_OUT_OF_RANGE: _Problem = ("number_out_of_range", ("Input should be less than or equal to "
                           "{limit}"), {"limit": MAX_AMOUNT})
_INEXACT = "Input should be a Decimal, an int or a decimal string, not a {kind}"
_BOOL: _Problem = ("number", "Input should be a number, not a bool", None)
_NOT_A_TIMESTAMP: _Problem = (
    "timestamp", ("Input should be an ISO 8601 timestamp string with a timezone, e.g. "
    "2026-01-02T00:00:00Z (a number of seconds or milliseconds is ambiguous)"), None)
_NAIVE: _Problem = ("timezone", "timestamp must carry a timezone, e.g. 2026-01-02T00:00:00Z",
                    None)
_TIME_OUT_OF_RANGE: _Problem = ("timestamp_range", "timestamp is out of range in UTC", None)
_GTD_WITHOUT_EXPIRY: _Problem = ("gtd_expiry", ("a GTD order needs expires_at (until when it "
                                 "is good); without it the order would rest as GTC"), None)
_EXPIRES_BEFORE_TS: _Problem = ("expiry_order", "expires_at should be later than ts", None)
# The start of an ISO 8601 date and time, in ASCII digits. pydantic would also read
# "1767312000" (seconds, or milliseconds above 2e10) and a bare date.
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _number_text_problem(value: str) -> _Problem | None:
    """Not a plain decimal literal (the caller has tried `_SHORT_NUMBER` first)."""
    if _PLAIN_NUMBER.fullmatch(value) is not None:
        return None
    return _NOT_FINITE if value.strip().lstrip("+-").lower() in _NON_FINITE else _NOT_PLAIN


def _places_problem(value: Decimal) -> _Problem | None:
    """More than `MAX_DECIMAL_PLACES` decimal places, trailing zeros not counted (1.000...0
    is 1). Amounts out of range or not finite are left to pydantic's own checks."""
    if (value.is_finite() and -MAX_AMOUNT <= value <= MAX_AMOUNT
            and value.quantize(_PLACES, context=_EXACT) != value):
        return _TOO_PRECISE
    return None


def _amount_problem(value: Any) -> _Problem | None:
    """Strings must be plain decimal literals; a Python float (from an in-process caller)
    is refused, being already inexact (0.1 + 0.2 is 0.30000000000000004)."""
    if type(value) is Decimal:  # a JSON number
        return _places_problem(value)
    if isinstance(value, str):
        if _SHORT_NUMBER.fullmatch(value) is not None:
            return None
        if (problem := _number_text_problem(value)) is not None:
            return problem
        try:
            return _places_problem(Decimal(value))
        except ArithmeticError:  # an exponent beyond Decimal's range
            return _OUT_OF_RANGE
    if isinstance(value, float | bool):
        return ("exact_number", _INEXACT, {"kind": type(value).__name__})
    return None


def _score_problem(value: Any) -> _Problem | None:
    if isinstance(value, str) and _SHORT_NUMBER.fullmatch(value) is None:
        return _number_text_problem(value)
    return _BOOL if isinstance(value, bool) else None


def is_identifier(value: str) -> bool:
    """Printable ASCII without spaces (`!` to `~`): no NUL or other control character, no
    right-to-left override, no Cyrillic `а` passing for a Latin `a` in an account ID."""
    return value.isascii() and value.isprintable() and " " not in value


def _identifier_problem(value: str) -> _Problem:
    at = next(i for i, c in enumerate(value) if not "!" <= c <= "~")
    return ("identifier", ("Input should be printable ASCII without spaces ('!' to '~'); "
            "found {char} at position {at}"), {"char": f"U+{ord(value[at]):04X}", "at": at})


def _check_timestamp(field: str, value: datetime) -> None:
    if value.utcoffset() is None:
        raise _invalid(field, value, _NAIVE)
    if value.year in (1, 9999):  # only there can an offset cross the range
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise _invalid(field, value, _TIME_OUT_OF_RANGE) from None


def _invalid(field: str, value: Any, problem: _Problem) -> ValidationError:
    """A field's error raised from a model validator: pydantic keeps its location."""
    kind, message, context = problem
    return ValidationError.from_exception_data("TradingSignalGenerated", [InitErrorDetails(
        type=PydanticCustomError(kind, message, context), loc=(field,), input=value)])


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


class SignalParseError(ValueError):
    """A signal line that could not become a `TradingSignalGenerated`.

    `field` names the offending field (or `json` for a line that is not JSON at all) so an
    operator can fix the producer without reading a traceback."""

    def __init__(self, field: str, reason: str, signal_id: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.signal_id = signal_id


MAX_SIGNAL_LINE_BYTES = 64 * 1024
"""The longest signal line accepted, line ending included (bytes of UTF-8; for a `str`,
characters). A full signal is about 400 bytes. A reader should read at most one more
than this per line (`readline(MAX_SIGNAL_LINE_BYTES + 1)`), so an endless line costs it
no more memory than this."""

MAX_SIGNAL_DEPTH = 8
"""The deepest nesting of arrays and objects accepted. A signal is one flat object
(depth 1); the bound is checked before the JSON parser, which recurses once per level
(a line nested 1000 deep would raise `RecursionError` inside it)."""

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


class _DuplicateKey(Exception):
    def __init__(self, key: str, pairs: list[tuple[str, Any]]) -> None:
        self.key, self.pairs = key, pairs


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`json.loads` keeps the last of two equal keys: `"side": "buy", "side": "sell"` would
    be a sell. Two values for one field is an ambiguous signal, refused."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key, pairs)
            seen.add(key)
    return obj


def _unreadable(exc: Exception) -> str:
    return f"unreadable: {type(exc).__name__}: {exc}"[:200]


def _too_deep(text: str) -> bool:
    """True if arrays and objects nest deeper than `MAX_SIGNAL_DEPTH` outside strings.

    The opening brackets bound the depth, so the usual line (one `{` and no `[`) costs two
    `find`s (memchr), and a line with a few brackets inside strings two `count`s. Only a
    line with more brackets than the bound is scanned, with its strings blanked out."""
    if "[" not in text and text.find("{", text.find("{") + 1) < 0:
        return False
    if text.count("{") + text.count("[") <= MAX_SIGNAL_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            if depth > MAX_SIGNAL_DEPTH:
                return True
        else:
            depth -= 1
    return False


# One decoder for every line: `json.loads` with hooks builds a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal,
                            parse_constant=_reject_constant,
                            object_pairs_hook=_object_without_duplicates)


def parse_signal_json(line: str | bytes) -> TradingSignalGenerated:
    """Parse one JSON signal line, with JSON numbers read exactly as `Decimal`.

    Whatever the line holds, the only exception is a `SignalParseError` naming a field
    (`json` for a line that is not a JSON object at all): one bad line must never end a
    reader. Bytes must be UTF-8 (not whatever `json.loads` would guess)."""
    return parse_signal_mapping(decode_json_object(line))


def decode_json_object(line: str | bytes) -> dict[str, Any]:
    """A JSON object read as a signal line is (the first half of `parse_signal_json`):
    bounded in size and depth, UTF-8, numbers as `Decimal`, no key twice. Shared with the
    HTTP server, whose request bodies (a signal, a direct order) get the same boundary."""
    if len(line) > MAX_SIGNAL_LINE_BYTES:
        raise SignalParseError("json", f"line is longer than {MAX_SIGNAL_LINE_BYTES} bytes")
    if not isinstance(line, str):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SignalParseError(
                "json", f"malformed JSON: not valid UTF-8 at byte {exc.start}") from None
    if _too_deep(line):
        raise SignalParseError(
            "json", f"nested deeper than {MAX_SIGNAL_DEPTH} levels; a signal is one flat object")
    try:
        raw = _DECODER.decode(line)
    except _DuplicateKey as dup:
        ids = [value for key, value in dup.pairs if key == "signal_id"]
        raise SignalParseError(_field_name(dup.key), "appears more than once: one value per "
                               "field", _echo_signal_id(ids[0]) if len(ids) == 1 else None) from None
    except ValueError as exc:
        raise SignalParseError("json", f"malformed JSON: {exc}") from None
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond Decimal's range
        raise SignalParseError("json", "malformed JSON: a number is out of range") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - not expected, but one line must not end the reader
        raise SignalParseError("json", _unreadable(exc)) from None
    if not isinstance(raw, dict):
        raise SignalParseError("json", "a signal must be a JSON object")
    return raw


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


MAX_FIELD_NAME = 64
"""A field name longer than this (an unknown key is the sender's text) is cut short in the
error, its audit line and its message."""


def _field_name(name: str) -> str:
    """The name of an offending field as the sender wrote it, made safe to print: escaped
    (`ascii()`) unless printable ASCII, and at most `MAX_FIELD_NAME` characters."""
    if not is_identifier(name):
        name = ascii(name)[1:-1]
    return name if len(name) <= MAX_FIELD_NAME else name[:MAX_FIELD_NAME - 3] + "..."


def _echo_signal_id(value: Any) -> str | None:
    """The signal ID to name in an error, if it is a valid one: an invalid ID is the
    sender's text and stays out of the audit line."""
    if isinstance(value, str) and 0 < len(value) <= 128 and is_identifier(value):
        return value
    return None
