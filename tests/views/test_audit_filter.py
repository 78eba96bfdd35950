"""Spec: each filter of `ordergate audit tail` matches what it says, including the lines
that do not name it themselves (a position line names only its order; only the signal's
first line names its account and symbol), and a filter that cannot match as written is
refused with a message naming it."""

from datetime import UTC, datetime

import pytest

from ordergate.subscribers.audit_log import EVENT_NAMES
from ordergate.views.audit_filter import Criteria, CriteriaError, Matcher, parse_time

ORDER = "og0123456789abcdef0123456789abcd"


def _line(ts, event, signal, order, handler, decision, reason, **details):
    return {"ts": f"2026-01-02T00:00:{ts:02d}+00:00", "event": event, "signal_id": signal,
            "client_order_id": order, "handler": handler, "decision": decision,
            "reason": reason, **details}


STORY = [
    _line(0, "instrument_inferred", None, None, "venue", "inferred", "SOL/USDT ...",
          venue="sim", symbol="SOL/USDT"),
    _line(5, "signal_received", "s-1", None, None, "received",
          "buy 0.5 BTC/USDT @ 42000 limit on sim", strategy_id="momo", account_id="main"),
    _line(5, "handler_verdict", "s-1", None, "validator", "admit", "fields within limits"),
    _line(5, "order_transition", "s-1", ORDER, None, "SUBMITTED", "sending",
          from_status="PENDING"),
    _line(6, "signal_received", "s-2", None, None, "received",
          "sell auto-sized ETH/USDT market on sim", strategy_id="momo", account_id="hedge"),
    _line(6, "handler_verdict", "s-2", None, "risk", "deny", "price band", code="PRICE_BAND"),
    _line(9, "fill", "s-1", ORDER, None, "fill", "buy 0.5 BTC/USDT @ 42000 (maker)",
          symbol="BTC/USDT", price="42000", quantity="0.5"),
    _line(9, "position_opened", None, ORDER, None, "opened", "BTC/USDT 0.5 @ 42000",
          account_id="main", venue="sim", symbol="BTC/USDT", quantity="0.5"),
    _line(12, "order_transition", "s-1", ORDER, None, "FILLED", "fill t1",
          from_status="SUBMITTED"),
]


def _shown(**filters):
    matcher = Matcher(Criteria.build(**filters))
    return [i for i, fields in enumerate(STORY) if matcher(fields)]


def test_a_misspelt_event_is_refused_naming_it_and_the_real_ones():
    with pytest.raises(CriteriaError) as caught:
        Criteria.build(events=["fills"])
    assert "--event fills" in str(caught.value)
    assert all(name in str(caught.value) for name in EVENT_NAMES)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "12/01/2026", ""])
def test_a_time_that_is_not_iso_8601_is_refused(text):
    with pytest.raises(CriteriaError, match="--since"):
        Criteria.build(since=text)


def test_since_after_until_is_refused():
    with pytest.raises(CriteriaError, match="after --until"):
        Criteria.build(since="2026-01-02T00:10:00Z", until="2026-01-02T00:00:00Z")


def test_a_time_without_offset_is_utc():
    assert parse_time("2026-01-02 00:01") == datetime(2026, 1, 2, 0, 1, tzinfo=UTC)
    assert parse_time("2026-01-02T02:01:00+02:00") == datetime(2026, 1, 2, 0, 1, tzinfo=UTC)


def test_no_filter_shows_everything():
    assert _shown() == list(range(len(STORY)))
    assert Criteria.build().empty


def test_signal_matches_its_own_lines_and_its_orders_lines_without_a_signal_id():
    assert _shown(signals=["s-1"]) == [1, 2, 3, 6, 7, 8]
    assert _shown(signals=["s-2"]) == [4, 5]


def test_order_matches_the_lines_that_carry_it():
    assert _shown(orders=[ORDER]) == [3, 6, 7, 8]


def test_event_matches_one_of_the_names_given_comma_separated_or_repeated():
    assert _shown(events=["fill,position_opened"]) == [6, 7]
    assert _shown(events=["fill", "signal_received"]) == [1, 4, 6]


def test_decision_matches_in_any_case():
    assert _shown(decisions=["deny"]) == [5]
    assert _shown(decisions=["filled"]) == [8]
    assert _shown(decisions=["ADMIT", "fill"]) == [2, 6]


def test_account_matches_the_signals_verdicts_and_fills_learnt_from_its_first_line():
    assert _shown(accounts=["main"]) == [1, 2, 3, 6, 7, 8]
    assert _shown(accounts=["hedge"]) == [4, 5]


def test_symbol_matches_lines_with_the_field_and_the_lines_of_signals_on_it():
    assert _shown(symbols=["BTC/USDT"]) == [1, 2, 3, 6, 7, 8]
    assert _shown(symbols=["ETH/USDT"]) == [4, 5]  # from an auto-sized signal's reason
    assert _shown(symbols=["SOL/USDT"]) == [0]


def test_a_signal_id_received_again_for_another_symbol_is_about_the_new_one():
    again = [
        _line(20, "signal_received", "s-1", None, None, "received",
              "sell 2 SOL/USDT market on sim", strategy_id="momo", account_id="hedge"),
        _line(20, "handler_verdict", "s-1", None, "executor", "deny", "duplicate",
              code="DUPLICATE_SIGNAL"),
        _line(21, "order_transition", "s-1", ORDER, None, "CANCELLED", "the first order",
              from_status="FILLED"),
    ]
    for filters, expected in [({"symbols": ["SOL/USDT"]}, [0, 9, 10]),
                              ({"symbols": ["BTC/USDT"]}, [1, 2, 3, 6, 7, 8, 11]),
                              ({"accounts": ["hedge"]}, [4, 5, 9, 10])]:
        matcher = Matcher(Criteria.build(**filters))
        assert [i for i, f in enumerate(STORY + again) if matcher(f)] == expected, filters


def test_since_and_until_are_inclusive_on_the_engines_ts():
    assert _shown(since="2026-01-02T00:00:09Z") == [6, 7, 8]
    assert _shown(until="2026-01-02T00:00:05Z") == [0, 1, 2, 3]
    assert _shown(since="2026-01-02T00:00:06Z", until="2026-01-02T00:00:09Z") == [4, 5, 6, 7]


def test_a_line_without_a_readable_time_is_outside_any_window():
    matcher = Matcher(Criteria.build(since="2026-01-02T00:00:00Z"))
    assert not matcher({"event": "fill", "ts": "not a time"})
    assert not matcher({"event": "fill"})
    assert Matcher(Criteria.build())({"event": "fill", "ts": "not a time"})


def test_filters_combine_each_must_match():
    assert _shown(signals=["s-1"], events=["order_transition"], decisions=["filled"]) == [8]
    assert _shown(accounts=["hedge"], decisions=["admit"]) == []


def test_fields_of_the_wrong_type_do_not_break_matching():
    matcher = Matcher(Criteria.build(signals=["1"], accounts=["2"]))
    assert matcher({"signal_id": 1, "account_id": 2, "client_order_id": ["x"]})
    assert not matcher({"signal_id": {"a": 1}, "account_id": None, "ts": 5})
