"""The crash test: its verdict (`crash_check`) catches each kind of damage a crash can do,
and `scripts/crash-test` itself — ten SIGKILLs of `ordergate run` against the emulator
process — finds none."""

from __future__ import annotations

import json
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.testing.crash_check import (
    AuditRecord,
    InFlight,
    add_audit_line,
    classify_kill,
    figures,
    note_uncommitted_fills,
    passed,
)
from ordergate.testing.crash_procs import JournalSnapshot, fill_key
from ordergate.testing.crash_scenarios import PLANS
from ordergate.testing.crash_test import schedule

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "crash-test"
D = Decimal


# ---------------------------------------------------------------- the verdict, unhappy first


def _venue(orders: list[dict[str, Any]], trades: list[dict[str, Any]], btc: str,
           counts: dict[str, int] | None = None) -> dict[str, Any]:
    if counts is None:
        counts = {}
        for order in orders:
            counts[order["clientOrderId"]] = counts.get(order["clientOrderId"], 0) + 1
    sends = [["sent", order["clientOrderId"]] for order in orders]
    return {"orders": orders, "trades": trades, "client_order_id_counts": counts, "sends": sends,
            "balances": {"BTC": {"free": btc, "locked": "0"}, "USDT": {"free": "1", "locked": "0"}}}


def _vorder(cid: str, status: str = "FILLED", executed: str = "1", orig: str = "1",
            order_id: int = 1) -> dict[str, Any]:
    return {"clientOrderId": cid, "orderId": order_id, "status": status, "executedQty": executed,
            "origQty": orig}


def _trade(tid: int, cid: str, qty: str = "1", price: str = "50000",
           symbol: str = "BTCUSDT") -> dict[str, Any]:
    return {"id": tid, "symbol": symbol, "clientOrderId": cid, "qty": qty, "price": price}


def _jorder(cid: str, signal_id: str, status: str = "FILLED", filled: str = "1") -> dict[str, Any]:
    return {"client_order_id": cid, "signal_id": signal_id, "status": status,
            "filled_quantity": filled}


def _jfill(tid: str, cid: str, side: str = "buy", qty: str = "1", fee: str = "0.001",
           fee_currency: str = "BTC", symbol: str = "BTC/USDT") -> dict[str, Any]:
    return {"trade_id": tid, "symbol": symbol, "client_order_id": cid, "side": side,
            "quantity": qty, "fee": fee, "fee_currency": fee_currency}


def _audited(*terminal: tuple[str, str]) -> AuditRecord:
    record = AuditRecord()
    for cid, status in terminal:
        record.terminal.setdefault(cid, set()).add(status)
    return record


def _one_filled_buy() -> tuple[dict[str, Any], JournalSnapshot, AuditRecord]:
    """One market buy of 1 BTC, 0.001 BTC commission: the venue holds 0.999."""
    state = _venue([_vorder("c1")], [_trade(7, "c1")], btc="0.999")
    journal = JournalSnapshot({"c1": _jorder("c1", "s1")},
                              {fill_key("BTC/USDT", "7"): _jfill("7", "c1")})
    audit = _audited(("c1", "FILLED"))
    audit.decided["s1"] = {"received", "validator", "risk"}
    audit.submitted.add("c1")
    return state, journal, audit


def test_an_order_whose_decision_the_audit_log_lacks_is_unexplained() -> None:
    # A kill during the send, with the decision's lines still buffered: the journal has the
    # order (committed before the send), the audit log never saw the signal.
    state, journal, audit = _one_filled_buy()
    audit.decided["s1"] = {"risk"}
    result, problems = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["orders_without_decision"] == 1 and not passed(result)
    assert any("lacks its decision: received, validator" in p for p in problems)


def test_a_second_venue_order_for_one_client_order_id_is_a_duplicate() -> None:
    state, journal, audit = _one_filled_buy()
    state["client_order_id_counts"] = {"c1": 2}
    result, problems = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["duplicate_orders"] == 1 and not passed(result)
    assert any("2 venue orders" in p for p in problems)


def test_a_resend_no_lookup_preceded_fails_though_the_venue_holds_one_order() -> None:
    # The emulator refused the second request as a duplicate: one order, but the engine
    # sent again without asking whether the first had arrived.
    state, journal, audit = _one_filled_buy()
    state["sends"] = [["sent", "c1"], ["sent", "c1"], ["refused", "c1"]]
    result, problems = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["resent_without_lookup"] == 1 and result["duplicate_orders"] == 0
    assert not passed(result)
    assert any("sent again with no lookup finding it absent" in p for p in problems)
    state["sends"] = [["sent", "c1"], ["absent", "c1"], ["sent", "c1"]]
    result, _ = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["resent_without_lookup"] == 0 and passed(result)


def test_a_venue_trade_missing_from_the_journal_is_a_lost_fill() -> None:
    state, journal, audit = _one_filled_buy()
    state["trades"].append(_trade(8, "c1", qty="0.5"))
    state["balances"]["BTC"]["free"] = "1.4985"
    result, _ = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["lost_fills"] == 1
    assert result["position_drift"] == "-0.4995" and result["engine_position_drift"] == "-0.4995"
    assert not passed(result)


def test_a_trade_of_another_symbol_with_the_same_trade_id_is_not_that_fill() -> None:
    # Binance numbers trades per symbol: ETHUSDT's trade 7 is not BTCUSDT's trade 7.
    state, journal, audit = _one_filled_buy()
    state["trades"].append(_trade(7, "c1", qty="0.5", symbol="ETHUSDT"))
    result, problems = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["lost_fills"] == 1 and result["phantom_fills"] == 0 and not passed(result)
    assert any("lost fill: venue trade ETHUSDT 7" in p for p in problems)
    journal.fills[fill_key("ETH/USDT", "7")] = _jfill("7", "c1", symbol="ETH/USDT", qty="0.5",
                                                      fee="0", fee_currency="USDT")
    result, _ = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["lost_fills"] == 0 and result["phantom_fills"] == 0


def test_fill_lines_of_two_symbols_with_one_trade_id_are_not_a_double_count() -> None:
    state, journal, audit = _one_filled_buy()
    add_audit_line(audit, {"event": "fill", "trade_id": "7", "symbol": "BTC/USDT"})
    add_audit_line(audit, {"event": "fill", "trade_id": "7", "symbol": "ETH/USDT"})
    result, _ = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["fills_applied_twice"] == 0
    add_audit_line(audit, {"event": "fill", "trade_id": "7", "symbol": "BTC/USDT"})
    result, _ = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["fills_applied_twice"] == 1


def test_position_counts_a_base_asset_commission_and_a_sale() -> None:
    state, journal, audit = _one_filled_buy()
    state["orders"].append(_vorder("c2", executed="0.4", orig="0.4", order_id=2))
    state["trades"].append(_trade(9, "c2", qty="0.4"))
    state["client_order_id_counts"]["c2"] = 1
    state["balances"]["BTC"]["free"] = "0.599"  # 1 - 0.001 - 0.4: the sale's fee is in USDT
    journal.orders["c2"] = _jorder("c2", "s2", filled="0.4")
    journal.fills[fill_key("BTC/USDT", "9")] = _jfill("9", "c2", side="sell", qty="0.4", fee="20",
                                                      fee_currency="USDT")
    audit.terminal["c2"] = {"FILLED"}
    audit.decided["s2"] = {"received", "validator", "risk"}
    audit.submitted.add("c2")
    result, problems = figures({"s1": "c1", "s2": "c2"}, state, journal, audit, D("0.599"))
    assert result["position_drift"] == "0" and result["position"] == "0.599"
    assert passed(result), problems


def test_an_engine_position_that_ignores_the_commission_is_drift() -> None:
    state, journal, audit = _one_filled_buy()
    result, _ = figures({"s1": "c1"}, state, journal, audit, D(1))
    assert result["position_drift"] == "0" and result["engine_position_drift"] == "0.001"
    assert not passed(result)


def test_a_terminal_status_the_audit_log_never_recorded_leaves_the_signal_without_outcome() -> None:
    state, journal, _ = _one_filled_buy()
    result, problems = figures({"s1": "c1"}, state, journal, AuditRecord(), D("0.999"))
    assert result["signals_without_outcome"] == 1
    assert any("no FILLED transition" in p for p in problems)


def test_a_signal_refused_only_as_a_duplicate_has_no_outcome_but_a_real_refusal_has() -> None:
    state, journal, audit = _one_filled_buy()
    audit.refused = {"s2": {"DUPLICATE_SIGNAL"}, "s3": {"DUPLICATE_SIGNAL", "TRADING_HALTED"}}
    signals = {"s1": "c1", "s2": "c2", "s3": "c3"}
    result, problems = figures(signals, state, journal, audit, D("0.999"))
    assert result["signals_without_outcome"] == 1
    assert [p for p in problems if "without outcome" in p] == [
        "signal s2 without outcome: no order in the journal and no refusal in the audit log"]


def test_an_order_still_working_has_no_outcome_yet() -> None:
    state, journal, audit = _one_filled_buy()
    journal.orders["c1"]["status"] = "PARTIALLY_FILLED"
    state["orders"][0]["status"] = "PARTIALLY_FILLED"
    result, _ = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["signals_without_outcome"] == 1 and result["orders_not_terminal"] == 1
    assert result["venue_open_orders"] == 1


def test_a_failed_order_the_venue_executed_is_a_mismatch() -> None:
    state, journal, _ = _one_filled_buy()
    journal = JournalSnapshot({"c1": _jorder("c1", "s1", status="FAILED", filled="0")}, {})
    result, problems = figures({"s1": "c1"}, state, journal, _audited(("c1", "FAILED")), D(0))
    assert result["order_mismatches"] == 1 and result["lost_fills"] == 1
    assert any("FAILED in the journal, but the venue holds" in p for p in problems)


def test_a_trade_audited_twice_was_applied_twice() -> None:
    state, journal, audit = _one_filled_buy()
    audit.fill_lines[fill_key("BTC/USDT", "7")] = 2
    result, _ = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["fills_applied_twice"] == 1 and not passed(result)


def test_two_fill_lines_in_one_killed_life_are_a_double_count_even_uncommitted() -> None:
    # A life that applied a trade twice, then died before committing it: one line of the
    # two is explained by the kill, the other is not.
    state, journal, audit = _one_filled_buy()
    life = AuditRecord()
    for _ in range(2):
        add_audit_line(life, {"event": "fill", "trade_id": "7", "symbol": "BTC/USDT"})
    note_uncommitted_fills(life, JournalSnapshot({}, {}), audit.uncommitted_fill_lines)
    audit.fill_lines[fill_key("BTC/USDT", "7")] = 3  # those two, and the next life's
    result, problems = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["fills_applied_twice"] == 1 and not passed(result)
    assert any("1 of them in a life killed before its commit" in p for p in problems)


def test_a_fill_line_of_a_life_whose_journal_kept_the_fill_is_not_excused() -> None:
    state, journal, audit = _one_filled_buy()
    life = AuditRecord()
    add_audit_line(life, {"event": "fill", "trade_id": "7", "symbol": "BTC/USDT"})
    note_uncommitted_fills(life, journal, audit.uncommitted_fill_lines)  # journal holds trade 7
    audit.fill_lines[fill_key("BTC/USDT", "7")] = 2
    result, _ = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["fills_applied_twice"] == 1 and result["fill_lines_repeated_after_kill"] == 0


def test_a_fill_line_written_again_after_a_kill_before_its_commit_is_not_a_double_count() -> None:
    # Audit first: the line reached the file, the kill came before the journal's commit,
    # and the next life found the trade missing and applied it, once in the journal.
    state, journal, audit = _one_filled_buy()
    life = AuditRecord()
    add_audit_line(life, {"event": "fill", "trade_id": "7", "symbol": "BTC/USDT"})
    note_uncommitted_fills(life, JournalSnapshot({}, {}), audit.uncommitted_fill_lines)
    audit.fill_lines[fill_key("BTC/USDT", "7")] = 2
    result, problems = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["fills_applied_twice"] == 0 and result["fill_lines_repeated_after_kill"] == 1
    assert passed(result), problems


def test_drift_the_engine_reported_fails_the_run() -> None:
    state, journal, audit = _one_filled_buy()
    audit.drift = ["position_mismatch: binance holds 1 BTC", "position_mismatch: binance holds 1 BTC"]
    result, problems = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert result["drift_reports"] == 2 and not passed(result)
    assert any("(2 times)" in p for p in problems)


def test_a_clean_record_passes() -> None:
    state, journal, audit = _one_filled_buy()
    result, problems = figures({"s1": "c1"}, state, journal, audit, D("0.999"))
    assert passed(result) and problems == []
    assert (result["duplicate_orders"], result["lost_fills"], result["position_drift"],
            result["signals_without_outcome"]) == (0, 0, "0", 0)


# ---------------------------------------------------------------- naming the moment of a kill


@pytest.mark.parametrize(("journal_status", "venue_status", "in_flight", "moment"), [
    ("SUBMITTED", None, InFlight(), "before_send"),
    ("SUBMITTED", None, InFlight(posts_held=1, posts_detached=True), "in_transit"),
    ("SUBMITTED", "NEW", InFlight(), "after_send_before_ack"),
    ("ACCEPTED", "PARTIALLY_FILLED", InFlight(), "mid_partial_fill"),
    ("ACCEPTED", "CANCELED", InFlight(), "mid_cancel"),
    ("ACCEPTED", "NEW", InFlight(deletes=1), "mid_cancel"),
    ("ACCEPTED", "NEW", InFlight(), "working"),
    ("FILLED", "FILLED", InFlight(), "idle"),
    ("FILLED", "FILLED", InFlight(signals_read=False), "start_up"),
])
def test_kill_moments(journal_status: str, venue_status: str | None, in_flight: InFlight,
                      moment: str) -> None:
    executed = "0.5" if venue_status in ("PARTIALLY_FILLED", "FILLED") else "0"
    orders = [] if venue_status is None else [_vorder("c1", venue_status, executed=executed)]
    journal = JournalSnapshot({"c1": _jorder("c1", "s1", journal_status, filled="0")})
    assert classify_kill(journal, _venue(orders, [], "0"), in_flight, {"c1"}) == moment


def test_every_plan_is_aimed_at_in_each_round() -> None:
    plans = schedule(PLANS, 10, seed=3)
    assert len(plans) == 10 and set(plans[:len(PLANS)]) == set(PLANS)
    assert plans == schedule(PLANS, 10, seed=3) != schedule(PLANS, 10, seed=4)


# ---------------------------------------------------------------- the crash test itself

def _crash_test(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = subprocess.run([str(SCRIPT), "--workdir", str(tmp_path / "run"), *args],
                            capture_output=True, text=True, timeout=180, check=False)
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-3000:]
    return result, json.loads(lines[-1])


def test_ten_kills_leave_no_duplicate_no_lost_fill_no_drift_and_every_signal_decided(
        tmp_path: Path) -> None:
    started = time.monotonic()
    result, report = _crash_test(tmp_path, "--kills", "10", "--seed", "20260101")
    assert report["kills"] == 10
    assert (report["duplicate_orders"], report["lost_fills"], report["position_drift"],
            report["signals_without_outcome"]) == (0, 0, "0", 0), result.stderr[-3000:]
    assert report["ok"] and result.returncode == 0, result.stderr[-3000:]
    assert report["fills"] > 0 and report["orders"] >= 5  # it traded, not only refused
    assert sum(report["kills_by_moment"].values()) == 10
    assert time.monotonic() - started < 90


def test_an_order_request_that_lands_after_the_restart_asked_for_it_is_adopted(
        tmp_path: Path) -> None:
    """Seed 1 holds the request at the venue for 4-5 s: longer than the restart and its
    first lookups, inside the request window. Recovery used to call it FAILED on "not
    found" and lose its fills (../shared/crash-test-findings.md #1, fixed in 5ed2ff7)."""
    result, report = _crash_test(tmp_path, "--kills", "1", "--seed", "1", "--plans", "in_transit")
    assert report["kills_by_moment"] == {"in_transit": 1}
    assert report["orders"] == 1 and report["order_mismatches"] == 0
    assert report["ok"], result.stderr[-3000:]


def test_kills_between_a_protected_entry_s_fill_and_its_exits_leave_every_entry_covered_once(
        tmp_path: Path) -> None:
    """The bracket plan: killed right after the entry's fill, while its answer is late, or
    while its first exit's request is held at the venue. Every restart must place each
    missing stop-loss once (never a second beside one that landed late) and the final
    check finds every filled entry covered by its stop before the market is moved."""
    result, report = _crash_test(tmp_path, "--kills", "4", "--seed", "3", "--plans", "bracket_exits")
    assert report["kills_by_moment"].get("before_exits", 0) >= 2, report["kills_by_moment"]
    assert report["brackets"] >= 3
    assert (report["exits_over_position"], report["unprotected_entries"]) == (0, 0), (
        result.stderr[-3000:])
    assert report["ok"] and result.returncode == 0, result.stderr[-3000:]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    result = subprocess.run([str(SCRIPT), "--plans", "mid_lunch"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 2 and "unknown plan" in result.stderr
