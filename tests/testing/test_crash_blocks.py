"""The crash test's multi-account plan (`--plans blocks`, `crash_blocks`): its verdict
catches damage at one key that the other key's records could hide, and a bounded run of
SIGKILLs during allocation and during a failover finds none."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.testing.crash_blocks import KEYS, Block, config_text
from ordergate.testing.crash_blocks_check import figures as verdict
from ordergate.testing.crash_blocks_check import passed
from ordergate.testing.crash_check import AuditRecord
from ordergate.testing.crash_procs import JournalSnapshot, fill_key

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "crash-test"
D = Decimal
BLOCK = Block("cb-1", "desk", D("0.02"))


def _state(counts: dict[str, dict[str, int]], btc: dict[str, str],
           trades: list[dict[str, Any]] | None = None,
           sends: list[list[str]] | None = None) -> dict[str, Any]:
    return {
        "orders": [], "trades": trades or [], "sends": sends or [],
        "accounts": {key: {"client_order_id_counts": counts.get(a, {}),
                           "balances": {"BTC": {"free": btc.get(a, "0"), "locked": "0"}}}
                     for a, (key, _) in KEYS.items()}}


def _fill(account: str, trade_id: int, qty: str) -> tuple[Any, dict[str, Any]]:
    return fill_key("BTC/USDT", trade_id), {
        "client_order_id": BLOCK.child_id(account), "quantity": qty, "side": "buy",
        "fee": "0", "fee_currency": "USDT", "symbol": "BTC/USDT", "trade_id": str(trade_id)}


def _journal(*fills: tuple[Any, dict[str, Any]]) -> JournalSnapshot:
    orders = {BLOCK.child_id(a): {"client_order_id": BLOCK.child_id(a), "account_id": a,
                                  "signal_id": BLOCK.signal_id, "status": "FILLED"}
              for a in ("alpha", "beta")}
    return JournalSnapshot(orders, dict(fills))


def _trade(account: str, trade_id: int, qty: str) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "id": trade_id, "qty": qty,
            "clientOrderId": BLOCK.child_id(account), "account": KEYS[account][0]}


def test_a_second_order_for_one_child_at_its_key_is_a_duplicate() -> None:
    state = _state({"alpha": {BLOCK.child_id("alpha"): 2}}, {})
    result, problems = verdict({"cb-1": BLOCK}, state, _journal(), AuditRecord(), D(0), KEYS)
    assert result["duplicate_orders"] == 1 and not passed(result)
    assert "alpha's key: 2 venue order(s)" in problems[0]


def test_a_child_sent_twice_with_no_lookup_between_fails_though_one_order_stands() -> None:
    child = BLOCK.child_id("alpha")
    state = _state({"alpha": {child: 1}}, {}, sends=[["sent", child], ["sent", child]])
    result, problems = verdict({"cb-1": BLOCK}, state, _journal(), AuditRecord(), D(0), KEYS)
    assert result["resent_without_lookup"] == 1 and result["duplicate_orders"] == 0
    assert not passed(result) and f"since: {child}" in problems[0]


def test_a_child_at_the_wrong_key_is_an_order_we_never_derived_for_it() -> None:
    # alpha's child placed with beta's key: beta's account holds alpha's client order ID
    state = _state({"beta": {BLOCK.child_id("alpha"): 1}}, {})
    result, problems = verdict({"cb-1": BLOCK}, state, _journal(), AuditRecord(), D(0), KEYS)
    assert result["duplicate_orders"] == 1
    assert "never derived" in problems[0]


def test_opposite_drifts_at_two_keys_do_not_cancel_out() -> None:
    # the journal books 0.01 to alpha and 0.01 to beta; the venue has 0.02 at alpha's key
    journal = _journal(_fill("alpha", 1, "0.01"), _fill("beta", 2, "0.01"))
    trades = [_trade("alpha", 1, "0.01"), _trade("alpha", 2, "0.01")]
    state = _state({}, {"alpha": "0.02", "beta": "0"}, trades)
    result, _ = verdict({"cb-1": BLOCK}, state, journal, AuditRecord(), D("0.02"), KEYS)
    assert result["position_drift"] == "0.02"  # |0.01 - 0.02| + |0.01 - 0|
    assert result["engine_position_drift"] == "0"  # the sum alone would not have seen it
    assert not passed(result)


def test_a_venue_trade_at_any_key_missing_from_the_journal_is_a_lost_fill() -> None:
    state = _state({}, {"beta": "0.01"}, [_trade("beta", 7, "0.01")])
    result, _ = verdict({"cb-1": BLOCK}, state, _journal(), AuditRecord(), D("0.01"), KEYS)
    assert result["lost_fills"] == 1


def test_a_block_without_a_child_or_a_refusal_has_no_outcome() -> None:
    result, _ = verdict({"cb-1": BLOCK}, _state({}, {}), JournalSnapshot(), AuditRecord(), D(0), KEYS)
    assert result["signals_without_outcome"] == 1
    refused = AuditRecord(refused={"cb-1": {"ALLOCATION_NO_ELIGIBLE_ACCOUNT"}})
    result, _ = verdict({"cb-1": BLOCK}, _state({}, {}), JournalSnapshot(), refused, D(0), KEYS)
    assert result["signals_without_outcome"] == 0


def test_a_clean_record_over_two_keys_passes() -> None:
    journal = _journal(_fill("alpha", 1, "0.01"), _fill("beta", 2, "0.01"))
    state = _state({"alpha": {BLOCK.child_id("alpha"): 1}, "beta": {BLOCK.child_id("beta"): 1}},
                   {"alpha": "0.01", "beta": "0.01"},
                   [_trade("alpha", 1, "0.01"), _trade("beta", 2, "0.01")])
    result, problems = verdict({"cb-1": BLOCK}, state, journal, AuditRecord(), D("0.02"), KEYS)
    assert passed(result), problems


def test_each_account_has_its_own_venue_and_key_in_the_engine_configuration() -> None:
    from ordergate.config import config_from_mapping
    import tomllib

    config = config_from_mapping(tomllib.loads(config_text("http://127.0.0.1:1")))
    assert {a: s.venue for a, s in config.accounts.items()} == {
        "alpha": "binance-a", "beta": "binance-b", "gamma": "binance-c"}
    assert config.groups["backup"].accounts == ("gamma", "alpha")


# ---------------------------------------------------------------- the real thing, bounded


def test_kills_between_children_and_during_failovers_leave_no_duplicate_no_loss_no_drift(
        tmp_path: Path) -> None:
    result = subprocess.run([str(SCRIPT), "--plans", "blocks", "--kills", "4", "--seed", "7",
                             "--workdir", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=240, check=False)
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-3000:]
    report = json.loads(lines[-1])
    assert report["kills"] == 4
    assert (report["duplicate_orders"], report["lost_fills"], report["position_drift"],
            report["signals_without_outcome"]) == (0, 0, "0", 0), result.stderr[-3000:]
    assert report["ok"] and result.returncode == 0, result.stderr[-3000:]
    assert report["children_by_key"]["alpha"] > 0 and report["children_by_key"]["beta"] > 0
    moments = report["kills_by_moment"]  # seed 7: beta's request held, alpha's in transit
    assert any(m.startswith("second_child") or m.endswith("children") for m in moments), moments
    assert any("reroute" in m for m in moments), moments


def test_the_blocks_plan_runs_alone(tmp_path: Path) -> None:
    result = subprocess.run([str(SCRIPT), "--plans", "blocks,random"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 2 and "runs on its own" in result.stderr
