"""The benchmark's workloads are what issue 12 describes, and the same bytes every time."""

import csv
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

from ordergate.bench.workloads import MIXED_SHARES, write_market_hold, write_mixed
from ordergate.domain.signal import SignalParseError, parse_signal_json


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_market_hold_buys_twice_the_size_first_then_alternates_so_the_position_never_goes_flat(
        tmp_path: Path) -> None:
    workload = write_market_hold(tmp_path, 50)
    signals = [json.loads(line) for line in _lines(workload.signals)]
    assert [s["side"] for s in signals[:4]] == ["buy", "sell", "buy", "sell"]
    assert signals[0]["quantity"] == "0.002"
    assert {s["quantity"] for s in signals[1:]} == {"0.001"}
    assert {s["order_type"] for s in signals} == {"market"}
    position = Decimal(0)
    for s in signals:
        position += Decimal(s["quantity"]) * (1 if s["side"] == "buy" else -1)
        assert position > 0


def test_market_hold_quotes_one_a_second_spread_one_size_ten_and_stops_one_and_two_percent_away(
        tmp_path: Path) -> None:
    workload = write_market_hold(tmp_path, 30)
    with open(workload.quotes, newline="") as handle:
        quotes = list(csv.DictReader(handle))
    assert len(quotes) == 30
    assert {Decimal(q["ask"]) - Decimal(q["bid"]) for q in quotes} == {Decimal("1.00")}
    assert {(q["bid_size"], q["ask_size"]) for q in quotes} == {("10", "10")}
    assert quotes[1]["ts"] == "2024-01-01T00:00:01.000Z"
    signals = [json.loads(line) for line in _lines(workload.signals)]
    for quote, signal in zip(quotes, signals, strict=True):
        assert signal["ts"] == quote["ts"]
        mid = (Decimal(quote["bid"]) + Decimal(quote["ask"])) / 2
        stop_distance = abs(Decimal(signal["stop_loss"]) - mid) / mid
        target_distance = abs(Decimal(signal["take_profit"]) - mid) / mid
        assert abs(stop_distance - Decimal("0.01")) < Decimal("0.0001")
        assert abs(target_distance - Decimal("0.02")) < Decimal("0.0001")


def test_workloads_are_the_same_bytes_for_the_same_seed(tmp_path: Path) -> None:
    for writer in (write_market_hold, write_mixed):
        a, b = writer(tmp_path / "a", 500), writer(tmp_path / "b", 500)
        assert a.signals.read_bytes() == b.signals.read_bytes()
        assert a.quotes.read_bytes() == b.quotes.read_bytes()


def test_the_mixed_workload_has_each_kind_of_line_in_about_its_share(tmp_path: Path) -> None:
    n = 6000
    workload = write_mixed(tmp_path, n)
    lines = _lines(workload.signals)
    assert len(lines) == workload.signal_lines == n
    kinds: Counter[str] = Counter()
    seen: set[str] = set()
    for line in lines:
        if line in seen:
            kinds["duplicate"] += 1
            continue
        seen.add(line)
        try:
            signal = parse_signal_json(line.encode())
        except SignalParseError:
            kinds["malformed"] += 1
            continue
        if signal.symbol not in ("BTC/USDT", "ETH/USDT") or (
                (signal.stop_loss is not None and signal.take_profit is not None)
                and (signal.stop_loss > signal.take_profit) == (signal.side.value == "buy")):
            kinds["malformed"] += 1  # invalid for the validator or risk: an unknown symbol,
            continue                 # a stop on the wrong side
        if signal.order_type.value == "limit":
            kinds["limit"] += 1
        elif signal.quantity is None:
            kinds["risk_sized"] += 1
        elif signal.quantity >= (Decimal("1.2") if signal.symbol == "BTC/USDT" else 16):
            kinds["big"] += 1
    for kind, share in MIXED_SHARES.items():
        assert abs(kinds[kind] / n - share) < 0.015, (kind, kinds[kind] / n)


def test_the_mixed_workload_spans_about_thirty_hours_for_100k_signals_two_symbols_a_quote_a_second(
        tmp_path: Path) -> None:
    workload = write_mixed(tmp_path, 1000)
    with open(workload.quotes, newline="") as handle:
        quotes = list(csv.DictReader(handle))
    assert {q["symbol"] for q in quotes} == {"BTC/USDT", "ETH/USDT"}
    assert quotes[0]["ts"] == quotes[1]["ts"] != quotes[2]["ts"]
    seconds = len(quotes) / 2
    assert 1.0 < seconds / 1000 < 1.2  # 1.08 s a signal: 100k signals in 30 hours
    last = json.loads(next(line for line in reversed(_lines(workload.signals))
                           if line.startswith("{") and line.endswith("}")))
    assert last["ts"] <= quotes[-1]["ts"]
