"""Spec: the signal boundary validates everything and keeps numbers exact."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ordergate.domain.signal import (
    MAX_SIGNAL_DEPTH,
    MAX_SIGNAL_LINE_BYTES,
    SIGNAL_FIELDS,
    SignalParseError,
    TradingSignalGenerated,
    parse_signal_json,
    parse_signal_mapping,
)
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.limits import MAX_AMOUNT, MAX_DECIMAL_PLACES


def _fields(**overrides):
    fields = {
        "signal_id": "sig-1",
        "ts": "2026-01-02T00:00:00Z",
        "strategy_id": "momentum",
        "account_id": "main",
        "venue": "sim",
        "symbol": "BTC/USDT",
        "side": "buy",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not _DROP}


_DROP = object()


def _line(**overrides):
    return json.dumps(_fields(**overrides))


def _raw_line(fragment):
    """A signal line with a raw (possibly non-standard) JSON fragment appended."""
    return _line()[:-1] + ", " + fragment + "}"


# ---------------------------------------------------------------- unhappy paths


@pytest.mark.parametrize(
    "line",
    ["{not json", "", "{\"signal_id\": ", b"\xff\xfe\x00", "{'single': 'quotes'}"],
)
def test_malformed_json_is_reported_against_the_json_field(line):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(line)
    assert info.value.field == "json"
    assert "malformed JSON" in info.value.reason
    assert info.value.signal_id is None


# One line must never end the reader: whatever it holds, the only exception is a
# SignalParseError naming a field.


@pytest.mark.parametrize("depth", [MAX_SIGNAL_DEPTH + 1, 1000, 30_000])
def test_a_value_nested_deeper_than_the_bound_is_refused_before_the_parser_recurses(depth):
    line = _raw_line('"quantity": ' + "[" * depth + "]" * depth)
    assert len(line) < MAX_SIGNAL_LINE_BYTES
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(line)
    assert info.value.field == "json"
    assert f"deeper than {MAX_SIGNAL_DEPTH}" in info.value.reason


@pytest.mark.parametrize("opening", ["[", "{\"a\":", "[{\"b\": "])
def test_a_top_level_value_nested_1000_deep_is_refused(opening):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(opening * 1000)
    assert info.value.field == "json"


def test_brackets_inside_strings_do_not_count_as_nesting():
    signal_id = "x" + "[{" * 40 + '\\"' + "]}" * 3
    signal = parse_signal_json(_line(signal_id=signal_id[:128]))
    assert signal.signal_id == signal_id[:128]


def test_an_escaped_quote_does_not_end_a_string_for_the_depth_scan():
    # `[[[[...` after an escaped quote is still inside the string
    line = _line(strategy_id='q\"' + "[" * 20, account_id="[" * 20)
    assert parse_signal_json(line).account_id == "[" * 20


def test_a_line_longer_than_the_bound_is_refused_naming_the_limit():
    line = _line()[:-1] + " " * (MAX_SIGNAL_LINE_BYTES - len(_line()) + 1) + "}"
    assert len(line) == MAX_SIGNAL_LINE_BYTES + 1
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(line)
    assert info.value.field == "json"
    assert str(MAX_SIGNAL_LINE_BYTES) in info.value.reason
    with pytest.raises(SignalParseError):
        parse_signal_json(line.encode())


def test_a_line_exactly_at_the_bound_is_accepted():
    line = _line()[:-1] + " " * (MAX_SIGNAL_LINE_BYTES - len(_line())) + "}"
    assert len(line) == MAX_SIGNAL_LINE_BYTES
    assert parse_signal_json(line.encode()).signal_id == "sig-1"


@pytest.mark.parametrize(
    "line",
    [b'{"signal_id": "\xff\xfe"}', _line().encode()[:-3] + b"\xc3", b"\x80" + _line().encode(),
     _line().encode("utf-16"), _line().encode("utf-32")],
    ids=["invalid-byte", "truncated-sequence", "stray-continuation", "utf-16", "utf-32"],
)
def test_bytes_that_are_not_utf8_are_refused_not_guessed(line):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(line)
    assert info.value.field == "json"
    assert "UTF-8" in info.value.reason


@pytest.mark.parametrize("line", ["\ufeff" + _line(), ("\ufeff" + _line()).encode()])
def test_a_line_starting_with_a_byte_order_mark_is_malformed(line):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(line)
    assert info.value.field == "json"


@pytest.mark.parametrize("number", ["1e9999999999999999999", "-1E+99999999999999999999"])
def test_a_json_number_beyond_decimals_range_is_refused_not_raised(number):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line(f'"quantity": {number}'))
    assert info.value.field == "json"
    assert "out of range" in info.value.reason


def test_an_unexpected_exception_inside_validation_is_a_parse_error(monkeypatch):
    def explode(*args, **kwargs):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(TradingSignalGenerated, "model_validate", explode)
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line())
    assert info.value.field == "signal"
    assert "OverflowError" in info.value.reason


def test_memory_error_is_not_swallowed(monkeypatch):
    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(TradingSignalGenerated, "model_validate", exhausted)
    with pytest.raises(MemoryError):
        parse_signal_json(_line())


@pytest.mark.parametrize(
    ("fragment", "key"),
    [('"side": "sell"', "side"), ('"quantity": "2"', "quantity"),
     ('"signal_id": "other"', "signal_id"), ('"leverage": 1, "leverage": 2', "leverage")],
)
def test_a_key_given_twice_is_refused_naming_the_key(fragment, key):
    line = _raw_line('"quantity": "1", ' + fragment)
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(line)
    assert info.value.field == key
    assert "more than once" in info.value.reason


def test_a_duplicate_key_still_names_the_signal_unless_the_signal_id_is_the_duplicate():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line('"side": "sell"'))
    assert info.value.signal_id == "sig-1"
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line('"signal_id": "sig-2"'))
    assert info.value.signal_id is None


def test_a_duplicate_key_in_a_nested_object_is_refused_too():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line('"quantity": {"a": 1, "a": 2}'))
    assert info.value.field == "a"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20) | st.decimals(allow_nan=False).map(str),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                       children, max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=600),
    st.text(max_size=600),
    st.dictionaries(st.sampled_from(sorted(SIGNAL_FIELDS) + ["xyz"]), JSON_VALUES,
                    max_size=12).map(json.dumps),
    st.builds(lambda cut, junk: _line()[:cut] + junk, st.integers(0, 200), st.text(max_size=50)),
    st.builds(lambda n, c: c * n, st.integers(1, 40_000), st.sampled_from(["[", "{", '{"a":', "[{"])),
))
def test_no_line_raises_anything_but_a_parse_error(line):
    try:
        parse_signal_json(line)
    except SignalParseError as error:
        assert error.field and isinstance(error.reason, str)
        assert error.field.isascii() and error.field.isprintable()


@pytest.mark.parametrize("line", ["[1, 2]", json.dumps([_fields()]), "null", "\"text\"", "42"])
def test_json_that_is_not_an_object_is_refused(line):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(line)
    assert info.value.field == "json"
    assert "object" in info.value.reason


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_bare_non_finite_json_token_is_refused_before_validation(token):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line(f'"quantity": {token}'))
    assert info.value.field == "json"
    assert token.lstrip("-") in info.value.reason


@pytest.mark.parametrize("field", ["quantity", "limit_price", "stop_loss", "take_profit"])
@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf"])
def test_non_finite_number_as_string_names_the_field(field, text):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(**{field: text}))
    assert info.value.field == field
    assert info.value.signal_id == "sig-1"


@pytest.mark.parametrize("text", ["NaN", "Infinity"])
def test_non_finite_strength_is_refused(text):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(strength=text))
    assert info.value.field == "strength"


@pytest.mark.parametrize("field", ["quantity", "limit_price", "stop_loss", "take_profit"])
@pytest.mark.parametrize("value", [0, -1, "0", "-0.0001", 0.0])
def test_zero_or_negative_amounts_are_refused(field, value):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(**{field: value}))
    assert info.value.field == field
    assert "greater than 0" in info.value.reason


@pytest.mark.parametrize(
    "field", ["signal_id", "ts", "strategy_id", "account_id", "venue", "symbol", "side"]
)
def test_missing_required_field_is_named(field):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(**{field: _DROP}))
    assert info.value.field == field
    assert "required" in info.value.reason.lower()


def test_missing_signal_id_leaves_the_error_without_a_signal_id():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(signal_id=_DROP))
    assert info.value.signal_id is None


def test_non_string_signal_id_is_not_echoed_as_the_error_signal_id():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(signal_id=7))
    assert info.value.field == "signal_id"
    assert info.value.signal_id is None


def test_unknown_field_is_refused_and_named():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(leverage=10))
    assert info.value.field == "leverage"
    assert info.value.signal_id == "sig-1"


@pytest.mark.parametrize("field", ["ts", "expires_at"])
def test_naive_timestamp_is_refused(field):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(**{field: "2026-01-02T00:00:00"}))
    assert info.value.field == field
    assert "timezone" in info.value.reason


@pytest.mark.parametrize(
    ("field", "value"),
    [("side", "long"), ("order_type", "stop"), ("time_in_force", "DAY"),
     ("strength", 1.5), ("strength", -0.1), ("confluence_score", -1),
     ("signal_id", ""), ("symbol", ""), ("ts", "yesterday"), ("quantity", "one")],
)
def test_out_of_vocabulary_or_out_of_range_values_name_the_field(field, value):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(**{field: value}))
    assert info.value.field == field


# Numbers: plain decimal literals only, as strings or JSON numbers alike, within bounds
# no real instrument comes near.

AMOUNTS = ["quantity", "limit_price", "stop_loss", "take_profit"]


@pytest.mark.parametrize("field", [*AMOUNTS, "strength", "confluence_score"])
@pytest.mark.parametrize(
    "text",
    ["\u0663", "\u0660.\u0665", "\uff11", "\u00bd", "1_000", "0_1", " 1 ", "1 ", "\t1", "1\n",
     "+1", "1.", ".5", "0x10", "1e", "1e+", "1,5", "1.2.3", "--1", "1e5 ", "\u00a01", ""],
    ids=["arabic-indic-3", "arabic-indic-0.5", "fullwidth-1", "vulgar-half", "underscore",
         "underscore-fraction", "padded", "trailing-space", "tab", "newline", "plus",
         "trailing-dot", "leading-dot", "hex", "bare-e", "bare-e-sign", "comma", "two-dots",
         "double-minus", "exponent-space", "nbsp", "empty"],
)
def test_a_number_that_is_not_a_plain_ascii_decimal_literal_is_refused(field, text):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(**{field: text}))
    assert info.value.field == field
    assert "plain decimal number" in info.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", Decimal(1)), ("0.25", Decimal("0.25")), ("007", Decimal(7)), ("1e-8", Decimal("1e-8")),
     ("2.5E+3", Decimal(2500)), ("1E3", Decimal(1000))],
)
def test_plain_decimal_literals_are_accepted_as_strings(text, expected):
    assert parse_signal_json(_line(quantity=text)).quantity == expected


@pytest.mark.parametrize("field", AMOUNTS)
@pytest.mark.parametrize(
    "fragment",
    ["1e400", '"1e400"', '"1E+30"', "1E+16", str(10**15 + 1), '"1000000000000000.5"',
     "1" + "0" * 5000, '"1e99999999999999999999"'],
    ids=["json-1e400", "string-1e400", "string-1E+30", "json-1E+16", "just-above",
         "half-above", "5000-digit-int", "exponent-beyond-decimal"],
)
def test_an_amount_above_the_bound_is_refused_naming_the_field(field, fragment):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line(f'"{field}": {fragment}'))
    assert info.value.field == field
    assert f"{MAX_AMOUNT:.0E}" in info.value.reason or str(MAX_AMOUNT) in info.value.reason


@pytest.mark.parametrize("fragment", ["1e400", '"1E+30"', '"1e99999999999999999999"'])
def test_a_score_above_the_bound_is_refused(fragment):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line(f'"confluence_score": {fragment}'))
    assert info.value.field == "confluence_score"


@pytest.mark.parametrize("fragment", [str(10**15), '"1E+15"', '"999999999999999.999999999999999999"'])
def test_an_amount_at_the_bound_is_accepted(fragment):
    assert parse_signal_json(_raw_line(f'"quantity": {fragment}')).quantity <= MAX_AMOUNT


@pytest.mark.parametrize("field", AMOUNTS)
@pytest.mark.parametrize(
    "fragment", ['"0.0000000000000000001"', "1e-19", '"1.5E-19"', "0.1234567890123456789", "1e-400"])
def test_an_amount_with_more_than_18_decimal_places_is_refused(field, fragment):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line(f'"{field}": {fragment}'))
    assert info.value.field == field
    assert f"at most {MAX_DECIMAL_PLACES} decimal places" in info.value.reason


@pytest.mark.parametrize(
    "fragment", ['"0.000000000000000001"', "1e-18", '"1.000000000000000000000000"', "100e-20"])
def test_18_decimal_places_are_accepted_and_trailing_zeros_do_not_count(fragment):
    assert parse_signal_json(_raw_line(f'"quantity": {fragment}')).quantity > 0


@pytest.mark.parametrize("field", [*AMOUNTS, "strength", "confluence_score"])
def test_a_json_boolean_is_not_a_number(field):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line(f'"{field}": true'))
    assert info.value.field == field


@pytest.mark.parametrize("field", AMOUNTS)
def test_an_in_process_float_amount_is_refused_as_inexact(field):
    with pytest.raises(SignalParseError) as info:
        parse_signal_mapping(_fields(**{field: 0.1 + 0.2}))
    assert info.value.field == field
    assert "float" in info.value.reason


# Identifiers: printable ASCII without spaces, so what an operator reads is what it is.

IDENTIFIERS = ["signal_id", "strategy_id", "account_id", "venue", "symbol"]


@pytest.mark.parametrize("field", IDENTIFIERS)
@pytest.mark.parametrize(
    "text",
    ["ma\u0000in", "main\u202e", "m\u0430in", "main\u200b", "ma in", "\tmain", "main\n",
     "main\x7f", "caf\u00e9", "\ufeffmain", "ma\x1b[31min", "\U0001f680"],
    ids=["nul", "rtl-override", "cyrillic-a", "zero-width-space", "space", "tab", "newline",
         "del", "e-acute", "bom", "ansi-escape", "emoji"],
)
def test_an_identifier_outside_printable_ascii_is_refused_naming_the_character(field, text):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(**{field: text}))
    assert info.value.field == field
    assert "printable ASCII" in info.value.reason
    bad = next(c for c in text if not "!" <= c <= "~")
    assert f"U+{ord(bad):04X}" in info.value.reason


@pytest.mark.parametrize("field", IDENTIFIERS)
def test_every_printable_ascii_character_is_a_valid_identifier(field):
    printable = "".join(chr(c) for c in range(0x21, 0x7F))
    for text in (printable[:47], printable[47:]):  # identifiers may be 64 characters
        signal = parse_signal_json(_line(**{field: text}))
        assert getattr(signal, field) == text


def test_a_polymarket_outcome_token_id_fits_the_symbol():
    token_id = str(2**256 - 1)  # a uint256 in decimal: 78 digits
    assert parse_signal_json(_line(symbol=token_id)).symbol == token_id


def test_an_invalid_signal_id_is_not_echoed_into_the_error():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(signal_id="s\u202e1", side="hold"))
    assert info.value.signal_id is None
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(signal_id="s" * 5000, side="hold"))
    assert info.value.signal_id is None


def test_an_unknown_field_name_is_escaped_and_cut_short_in_the_error():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(**{"x\u202e" + "y" * 500: 1}))
    assert info.value.field.startswith("x\\u202eyyy")
    assert info.value.field.endswith("...")
    assert len(info.value.field) == 64
    assert info.value.field.isascii() and info.value.field.isprintable()
    assert info.value.signal_id == "sig-1"


def test_a_duplicate_unknown_key_is_escaped_too():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line('"\\u0000k": 1, "\\u0000k": 2'))
    assert info.value.field == "\\x00k"


# Times: ISO 8601 strings with a timezone; a GTD order says until when; nothing expires
# before it was made.


@pytest.mark.parametrize("field", ["ts", "expires_at"])
@pytest.mark.parametrize(
    "fragment",
    ["1767312000", '"1767312000"', "1767312000000", '"1767312000.5"', '"2026-01-02"', "true",
     '"\u0662\u0660\u0662\u0666-01-02T00:00:00Z"', '"next tuesday"'],
    ids=["unix-seconds", "unix-seconds-string", "unix-millis", "fractional-string", "bare-date",
         "bool", "arabic-indic-digits", "words"],
)
def test_a_timestamp_that_is_not_an_iso_8601_string_is_refused(field, fragment):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line_without(field, f'"{field}": {fragment}'))
    assert info.value.field == field


def _raw_line_without(key, fragment):
    fields = _fields()
    fields.pop(key, None)
    return json.dumps(fields)[:-1] + ", " + fragment + "}"


@pytest.mark.parametrize("field", ["ts", "expires_at"])
def test_a_timestamp_whose_offset_puts_it_beyond_year_9999_in_utc_is_refused(field):
    late = "9999-12-31T23:59:00-23:00"
    overrides = {"ts": late} if field == "ts" else {"expires_at": late}
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(**overrides))
    assert info.value.field == field
    assert "out of range" in info.value.reason


def test_gtd_without_expires_at_is_refused_naming_expires_at():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(order_type="limit", limit_price="1", time_in_force="GTD"))
    assert info.value.field == "expires_at"
    assert "GTD" in info.value.reason
    with pytest.raises(SignalParseError):
        parse_signal_json(_line(time_in_force="GTD", expires_at=None))


@pytest.mark.parametrize("expires_at", ["2026-01-02T00:00:00Z", "2026-01-01T23:59:59Z",
                                        "2026-01-02T01:00:00+02:00"])
def test_expires_at_not_after_ts_is_refused(expires_at):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(expires_at=expires_at))
    assert info.value.field == "expires_at"
    assert "later than ts" in info.value.reason


@pytest.mark.parametrize("tif", ["GTC", "IOC", "FOK", "GTD"])
def test_expires_at_far_in_the_future_is_fine_with_any_time_in_force(tif):
    signal = parse_signal_json(_line(time_in_force=tif, expires_at="9999-12-31T23:59:59Z"))
    assert signal.expires_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_an_in_process_datetime_is_accepted_as_it_is():
    signal = parse_signal_mapping(_fields(ts=datetime(2026, 1, 2, tzinfo=UTC)))
    assert signal.ts == datetime(2026, 1, 2, tzinfo=UTC)


def test_error_message_is_field_then_reason():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_line(quantity=-1))
    assert str(info.value) == f"quantity: {info.value.reason}"


@pytest.mark.parametrize("fragment", ['"post_only": "true"', '"post_only": 1', '"post_only": 0',
                                      '"post_only": "yes"', '"post_only": null',
                                      '"post_only": "false"'])
def test_post_only_is_a_json_boolean_and_nothing_that_looks_like_one(fragment):
    # Read loosely, "false" or 0 could be taken for false by one producer and true by
    # another; a flag that decides whether an order may take liquidity is exact.
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line(fragment))
    assert info.value.field == "post_only"


def test_signal_is_immutable():
    signal = parse_signal_json(_line())
    with pytest.raises(ValidationError):
        signal.quantity = Decimal(1)  # type: ignore[misc]


# ---------------------------------------------------------------- happy paths


def test_json_number_becomes_an_exact_decimal_keeping_every_digit():
    # 18 places: a binary float would read this as 0.1
    signal = parse_signal_json(_raw_line('"quantity": 0.100000000000000005'))
    assert signal.quantity == Decimal("0.100000000000000005")
    assert str(signal.quantity) == "0.100000000000000005"


def test_json_float_never_passes_through_binary_float():
    signal = parse_signal_json(_raw_line('"limit_price": 0.1, "quantity": 0.3'))
    assert signal.limit_price == Decimal("0.1")
    assert signal.quantity == Decimal("0.3")
    assert signal.limit_price != Decimal(0.1)  # noqa: RUF032 - the binary float it avoided


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [('"quantity": "1.25"', Decimal("1.25")), ('"quantity": 1.25', Decimal("1.25")),
     ('"quantity": 3', Decimal(3)), ('"quantity": "3"', Decimal(3)),
     ('"quantity": 1e-8', Decimal("1e-8")), ('"quantity": "1E-8"', Decimal("1e-8"))],
)
def test_amounts_accepted_as_json_strings_and_numbers(fragment, expected):
    signal = parse_signal_json(_raw_line(fragment))
    assert signal.quantity == expected
    assert isinstance(signal.quantity, Decimal)


def test_bytes_input_is_accepted():
    signal = parse_signal_json(_line().encode())
    assert signal.signal_id == "sig-1"


def test_minimal_signal_gets_documented_defaults():
    signal = parse_signal_json(_line())
    assert signal.ts == datetime(2026, 1, 2, tzinfo=UTC)
    assert signal.side is Side.BUY
    assert signal.order_type is OrderType.MARKET
    assert signal.time_in_force is TimeInForce.GTC
    assert signal.quantity is None
    assert signal.limit_price is None
    assert signal.strength == 1.0
    assert signal.confluence_score == 0.0
    assert signal.expires_at is None
    assert signal.post_only is False


@pytest.mark.parametrize(("fragment", "expected"), [('"post_only": true', True),
                                                    ('"post_only": false', False)])
def test_post_only_is_read_from_a_json_boolean(fragment, expected):
    signal = parse_signal_json(_raw_line('"order_type": "limit", "limit_price": "100", '
                                         + fragment))
    assert signal.post_only is expected


def test_full_signal_round_trips_every_field():
    signal = parse_signal_json(_line(
        order_type="limit", quantity="0.5", limit_price="100.25", stop_loss="95",
        take_profit="110", time_in_force="GTD", strength=0.75, confluence_score=2,
        expires_at="2026-01-02T03:00:00+02:00", side="sell",  # 01:00Z, after ts
    ))
    assert signal.side is Side.SELL
    assert signal.order_type is OrderType.LIMIT
    assert signal.time_in_force is TimeInForce.GTD
    assert (signal.quantity, signal.limit_price) == (Decimal("0.5"), Decimal("100.25"))
    assert (signal.stop_loss, signal.take_profit) == (Decimal(95), Decimal(110))
    assert signal.strength == 0.75
    assert signal.expires_at.utcoffset().total_seconds() == 7200


def test_mapping_parser_is_the_same_boundary():
    signal = parse_signal_mapping(_fields(quantity=Decimal(2)))
    assert isinstance(signal, TradingSignalGenerated)
    assert signal.quantity == Decimal(2)
    with pytest.raises(SignalParseError) as info:
        parse_signal_mapping(_fields(quantity=Decimal("NaN")))
    assert info.value.field == "quantity"


@pytest.mark.parametrize("fragment", ['"trigger_price": 1.5e400', '"trigger_price": "abc"',
                                      '"trigger_price": "0"', '"trigger_price": "-42000"',
                                      '"trigger_price": true', '"trigger_price": "NaN"',
                                      '"trigger_price": "42000.123456789012345678901"'])
def test_a_trigger_price_is_a_positive_exact_decimal_and_nothing_else(fragment):
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line('"order_type": "stop_market", ' + fragment))
    assert info.value.field == "trigger_price"


@pytest.mark.parametrize("order_type", ["stop_market", "stop_limit"])
def test_a_stop_signal_keeps_its_type_and_exact_trigger(order_type):
    limit = '"limit_price": "42100.50", ' if order_type == "stop_limit" else ""
    signal = parse_signal_json(_raw_line(f'"order_type": "{order_type}", {limit}'
                                         '"trigger_price": "42000.10"'))
    assert signal.order_type is OrderType(order_type) and signal.order_type.is_stop
    assert signal.trigger_price == Decimal("42000.10")
    assert str(signal.trigger_price) == "42000.10"


def test_an_unknown_order_type_is_refused_naming_the_field():
    with pytest.raises(SignalParseError) as info:
        parse_signal_json(_raw_line('"order_type": "stop"'))
    assert info.value.field == "order_type"
