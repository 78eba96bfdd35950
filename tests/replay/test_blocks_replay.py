"""A replay of blocks over a group: deterministic, with each account's figures and the
block counters in summary.json, fills.csv and the report."""

import asyncio
import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ordergate.config import config_from_mapping
from ordergate.replay.harness import replay
from ordergate.views.report import write_report

T0 = datetime(2026, 1, 2, tzinfo=UTC)
CONFIG = {
    "reconciliation": {"accounts": ["alpha", "beta", "gamma"]},
    "risk": {"max_order_notional": "1000000"},
    "venues": {"sim": {"kind": "simulated", "balances": {
        "alpha": {"USDT": "60000"}, "beta": {"USDT": "30000"}, "gamma": {"USDT": "300"}}}},
    "accounts": {"alpha": {}, "beta": {}, "gamma": {"min_available_margin": "1000"}},
    "groups": {"desk": {"accounts": ["alpha", "beta", "gamma"], "policy": "equity"}},
}


def inputs(tmp: Path) -> tuple[Path, Path]:
    quotes, signals = tmp / "quotes.csv", tmp / "signals.jsonl"
    rows = ["ts,symbol,bid,ask,bid_size,ask_size"]
    for i in range(120):
        size = "5" if i % 7 == 0 else "0.05"  # a thin book most seconds: IOCs end short
        rows.append(f"{(T0 + timedelta(seconds=i)).isoformat()},BTC/USDT,42000.00,42001.00,"
                    f"{size},{size}")
    quotes.write_text("\n".join(rows) + "\n")
    lines = []
    for i in range(10):
        side = "buy" if i % 2 == 0 else "sell"
        signal = {"signal_id": f"s{i}", "ts": (T0 + timedelta(seconds=10 * i + 1)).isoformat(),
                  "strategy_id": "momo", "account_id": "desk", "venue": "sim",
                  "symbol": "BTC/USDT", "side": side, "order_type": "limit",
                  "limit_price": "42001" if side == "buy" else "42000",
                  "time_in_force": "IOC", "quantity": "0.120",
                  "stop_loss": "40000" if side == "buy" else "44000"}
        lines.append(json.dumps(signal))
    signals.write_text("\n".join(lines) + "\n")
    return quotes, signals


def test_a_block_replay_is_byte_identical_and_reports_each_account(tmp_path):
    quotes, signals = inputs(tmp_path)
    config = config_from_mapping(CONFIG)
    for out in ("one", "two"):
        asyncio.run(replay(signals, quotes, config, tmp_path / out))
    for name in ("audit.jsonl", "fills.csv", "summary.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    summary = json.loads((tmp_path / "one" / "summary.json").read_text())
    assert summary["signals_total"] == 10 and summary["blocks"]["blocks"] == 10
    assert summary["blocks"]["completions"] > 0  # thin books: IOC children ended short
    assert set(summary["per_account"]) == {"alpha", "beta"}  # gamma never eligible
    with open(tmp_path / "one" / "fills.csv", newline="") as handle:
        accounts = {row["account_id"] for row in csv.DictReader(handle)}
    assert accounts == {"alpha", "beta"}
    page = write_report(tmp_path / "one").read_text()
    assert "Blocks over groups" in page and "Per account" in page
