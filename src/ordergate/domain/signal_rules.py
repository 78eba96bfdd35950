"""The rules of a signal's fields that pydantic's types do not express: identifiers in
printable ASCII, amounts and scores as plain decimal literals of bounded precision,
timestamps as ISO 8601 strings with a timezone (`domain/signal.py` says why each).

Each check gives a problem (pydantic's error type, message and context) or raises one as a
`ValidationError` that keeps the field's location (`_invalid`); `TradingSignalGenerated`'s
validators run them on the raw values, once per signal.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

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
