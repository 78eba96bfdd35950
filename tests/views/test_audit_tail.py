"""Spec: a record's line shows its reason whole, its money aligned on the decimal point,
its decision in the colour of what it means, and nothing from the file that could drive
the terminal (escape sequences, direction overrides)."""

import pytest
from rich.console import Console

from ordergate.views.audit_records import RawLine, parse
from ordergate.views.audit_tail import align_decimal, printable, render, style_of

LONG_REASON = "limit_price: 113.885 is 20.00% from the reference 94.904; band 5.00%; " * 6


def _record(raw):
    return parse(RawLine(5, raw.encode(), True))


def _fill(quantity, price):
    return _record('{"ts":"2026-01-02T00:00:11+00:00","event":"fill","signal_id":"demo-0",'
                   '"client_order_id":"og6b80","handler":null,"decision":"fill",'
                   f'"reason":"sell {quantity} ETH/USDT @ {price} (maker)","symbol":"ETH/USDT",'
                   f'"price":"{price}","quantity":"{quantity}"}}')


def test_escape_sequences_and_direction_overrides_from_the_file_are_shown_escaped():
    record = _record('{"ts":"t","event":"system_error","signal_id":"\\u202eevil",'
                     '"decision":"error","reason":"venue said \\u001b[2J\\u001b[31mboom"}')
    plain = render(record).plain
    assert "\x1b" not in plain and "\u202e" not in plain
    assert "\\x1b[2J" in plain and "\\u202e" in plain


def test_a_malformed_line_shows_its_number_its_first_80_characters_escaped_and_why():
    raw = b'{"ts":"2026-01-02T00:00:05+00:00","event":"sig\x1b[31m' + b"x" * 200
    record = parse(RawLine(17, raw, False))
    plain = render(record).plain
    assert plain.startswith("malformed line 17: ")
    assert "\x1b" not in plain and "\\x1b[31m" in plain
    assert "x" * 200 not in plain and "…" in plain
    assert "truncated" in plain


def test_the_reason_is_whole_however_long_and_the_code_before_it():
    record = _record('{"ts":"2026-01-02T00:00:08+00:00","event":"handler_verdict",'
                     '"signal_id":"demo-1","client_order_id":null,"handler":"risk",'
                     f'"decision":"deny","reason":"{LONG_REASON}","code":"PRICE_BAND"}}')
    plain = render(record).plain
    assert f"PRICE_BAND: {LONG_REASON}" in plain
    console = Console(width=80, record=True, soft_wrap=True, color_system=None)
    console.print(render(record))
    assert LONG_REASON.split()[-1] in console.export_text()


def test_fill_prices_and_quantities_line_up_on_the_decimal_point():
    lines = [render(_fill(q, p)).plain for q, p in
             [("1.6000", "2297.78"), ("192.5", "95.045"), ("0.0250", "42275.18"),
              ("30", "113")]]
    prices = [line.index(" @ ") for line in lines]
    assert len(set(prices)) == 1  # the "@" of every line in one column
    points = [line.index(".", prices[0] + 3) for line in lines[:3]]
    assert len(set(points)) == 1
    quantity_points = [line.rindex(".", 0, prices[0]) for line in lines[:3]]
    assert len(set(quantity_points)) == 1


def test_the_money_keeps_the_files_digits():
    assert align_decimal("2297.7800", (7, 8)).strip() == "2297.7800"
    assert align_decimal("-1.6", (6, 6)).strip() == "-1.6"
    assert align_decimal("123456789.5", (7, 8)).strip() == "123456789.5"  # wider, not cut


def test_a_record_with_missing_or_odd_fields_still_renders():
    assert "?" in render(_record('{"hello":1}')).plain
    plain = render(_record('{"event":"fill","decision":7,"reason":["a"],"price":1,'
                           '"quantity":null}')).plain
    assert "7" in plain and "['a']" in plain


def test_a_position_line_shows_the_signal_learnt_for_its_order():
    record = _record('{"ts":"t","event":"position_opened","signal_id":null,'
                     '"client_order_id":"og1","decision":"opened","reason":"r",'
                     '"quantity":"1","average_entry":"2"}')
    assert "demo-7" in render(record, "demo-7").plain


@pytest.mark.parametrize("decision, event, colour", [
    ("deny", "handler_verdict", "red"), ("invalid", "signal_invalid", "red"),
    ("REJECTED", "order_transition", "red"), ("admit", "handler_verdict", "green"),
    ("fill", "fill", "green"), ("FILLED", "order_transition", "green"),
    ("partial_fill", "fill", "yellow"), ("EXPIRED", "order_transition", "yellow"),
    ("received", "signal_received", "cyan"), ("opened", "position_opened", "magenta"),
    ("closed", "position_closed", "magenta"), ("closed", "venue_circuit", "green"),
])
def test_decisions_are_coloured_by_what_they_mean(decision, event, colour):
    assert colour in style_of(decision, event)


def test_printable_leaves_plain_text_alone():
    assert printable("sell 1.6000 ETH/USDT @ 2297.78") == "sell 1.6000 ETH/USDT @ 2297.78"
    assert printable("a\tb\nc") == "a\\tb\\nc"
