"""The crash test's bracket figures, from the venue's records: a second exit beside the
first, exits that outgrew their entry, and a filled entry left without its stop-loss
are each caught; a commission's dust below the lot is not a gap."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ordergate.domain.values import OrderRole
from ordergate.pipeline.client_order_id import child_client_order_id
from ordergate.testing.crash_brackets import (
    brackets_at_venue,
    exit_ids,
    exits_over_position,
    unprotected_entries,
)
from ordergate.testing.crash_check import InFlight, classify_kill
from ordergate.testing.crash_procs import JournalSnapshot

D = Decimal
ENTRY = "og-entry"
STOP1, STOP2 = (child_client_order_id(ENTRY, OrderRole.STOP_LOSS, n) for n in (1, 2))
TARGET1 = child_client_order_id(ENTRY, OrderRole.TAKE_PROFIT, 1)


def _order(cid: str, status: str, orig: str, executed: str = "0") -> dict[str, Any]:
    return {"clientOrderId": cid, "orderId": hash(cid) % 10_000, "status": status,
            "origQty": orig, "executedQty": executed}


def _state(*orders: dict[str, Any], commission: str = "0.00001") -> dict[str, Any]:
    """The entry bought 0.01 BTC; the venue kept `commission` of it, in BTC."""
    trades = [{"id": 1, "symbol": "BTCUSDT", "clientOrderId": ENTRY, "qty": "0.01",
               "commission": commission, "commissionAsset": "BTC"}]
    return {"orders": [_order(ENTRY, "FILLED", "0.01", "0.01"), *orders], "trades": trades}


def test_a_second_stop_working_beside_the_first_is_exits_over_position() -> None:
    # A restart that did not find the first stop and placed another: 2 x 0.00999 resting.
    state = _state(_order(STOP1, "NEW", "0.00999"), _order(STOP2, "NEW", "0.00999"))
    (problem,) = exits_over_position(brackets_at_venue([ENTRY], state))
    assert "stop_loss exits work for 0.01998" in problem


def test_exits_that_filled_more_than_the_entry_delivered_flipped_the_position() -> None:
    state = _state(_order(STOP1, "FILLED", "0.00999", "0.00999"),
                   _order(TARGET1, "FILLED", "0.00999", "0.00999"))
    problems = exits_over_position(brackets_at_venue([ENTRY], state))
    assert any("the position flipped" in p for p in problems)


def test_a_filled_entry_without_a_working_stop_is_unprotected() -> None:
    state = _state(_order(STOP1, "CANCELED", "0.00999"))
    (problem,) = unprotected_entries(brackets_at_venue([ENTRY], state))
    assert "0.00999 open, a stop-loss working for 0" in problem


def test_a_take_profit_alone_does_not_protect_the_entry() -> None:
    state = _state(_order(TARGET1, "NEW", "0.00999"))
    assert unprotected_entries(brackets_at_venue([ENTRY], state))


def test_a_stop_for_the_delivered_quantity_protects_it_down_to_the_lot() -> None:
    # 0.01 bought, 0.0000099 kept as commission: 0.0099901 held, 0.00999 on the lot.
    state = _state(_order(STOP1, "NEW", "0.00999"), commission="0.0000099")
    brackets = brackets_at_venue([ENTRY], state)
    assert unprotected_entries(brackets) == [] and exits_over_position(brackets) == []


def test_exit_ids_are_the_ones_the_engine_derives() -> None:
    ids = exit_ids(ENTRY)
    assert ids[STOP2] is OrderRole.STOP_LOSS and ids[TARGET1] is OrderRole.TAKE_PROFIT
    assert ENTRY not in ids


def test_a_kill_after_the_entry_filled_and_before_its_stop_rests_is_before_exits() -> None:
    state = _state() | {"client_order_id_counts": {ENTRY: 1}}
    journal = JournalSnapshot({ENTRY: {"client_order_id": ENTRY, "signal_id": "s",
                                       "status": "FILLED", "filled_quantity": "0.01"}})
    assert classify_kill(journal, state, InFlight(), {ENTRY}, [ENTRY]) == "before_exits"
    covered = _state(_order(STOP1, "NEW", "0.00999"))
    assert classify_kill(journal, covered, InFlight(), {ENTRY}, [ENTRY]) == "idle"
