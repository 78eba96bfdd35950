"""The replay: deterministic to the byte, tolerant of bad lines, and true to the
invariants (positions are the sum of fills; no client order ID is sent twice)."""

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.cli import app
from ordergate.config import load_config
from ordergate.domain.fill import base_asset
from ordergate.replay.harness import replay
from ordergate.replay.synthetic import DEMO_SYMBOLS, demo_signals, make_quotes, quotes_csv
from typer.testing import CliRunner

DATA = Path(__file__).resolve().parents[2] / "src" / "ordergate" / "data"
OUTPUTS = ("audit.jsonl", "fills.csv", "summary.json")


def _positions_from_fills(out: Path) -> dict[str, Decimal]:
    """Signed fills, less any commission charged in the base asset: what the account holds."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    with open(out / "fills.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            sign = 1 if row["side"] == "buy" else -1
            totals[row["symbol"]] += sign * Decimal(row["quantity"])
            if row["fee_currency"] == base_asset(row["symbol"]):
                totals[row["symbol"]] -= Decimal(row["fee"])
    return totals


def _fees_from_fills(out: Path) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    with open(out / "fills.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if Decimal(row["fee"]):
                totals[row["fee_currency"]] += Decimal(row["fee"])
    return totals


def _check_invariants(out: Path) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    from_fills = _positions_from_fills(out)
    for symbol, qty in summary["positions"].items():
        assert Decimal(qty) == from_fills.get(symbol, Decimal(0)), symbol
    assert {currency: Decimal(fee) for currency, fee in summary["fees"].items()} == {
        currency: fee.quantize(Decimal("0.00000001")) for currency, fee in _fees_from_fills(out).items()}
    assert list(summary["fees"]) == sorted(summary["fees"])
    assert summary["duplicate_client_order_ids"] == 0
    with open(out / "fills.csv", newline="") as handle:
        trade_ids = [row["trade_id"] for row in csv.DictReader(handle)]
    assert len(trade_ids) == len(set(trade_ids)) == summary["fills"]
    return summary


def test_the_bundled_demo_runs_and_keeps_the_invariants(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Replayed 320 signals" in result.output
    summary = _check_invariants(tmp_path)
    assert summary["signals_invalid"] > 0
    assert summary["signals_rejected"] > 0
    assert summary["orders_partially_filled"] > 0
    assert summary["orders_filled"] > 0


def test_two_runs_over_the_same_input_are_byte_identical(tmp_path):
    args = ["replay", "--signals", str(DATA / "demo_signals.jsonl"), "--market",
            str(DATA / "demo_quotes.csv"), "--config", str(DATA / "demo.toml")]
    runner = CliRunner()
    for run in ("a", "b"):
        result = runner.invoke(app, [*args, "--out", str(tmp_path / run)])
        assert result.exit_code == 0, result.output
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name



def test_the_manifest_names_the_inputs_for_the_report(tmp_path):
    args = ["replay", "--signals", str(DATA / "demo_signals.jsonl"), "--market",
            str(DATA / "demo_quotes.csv"), "--config", str(DATA / "demo.toml"), "--out", str(tmp_path)]
    assert CliRunner().invoke(app, args).exit_code == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest == {"signals": str((DATA / "demo_signals.jsonl").resolve()),
                        "market": str((DATA / "demo_quotes.csv").resolve()),
                        "market_bytes": (DATA / "demo_quotes.csv").stat().st_size}

async def test_malformed_lines_are_counted_audited_with_their_line_number_and_skipped(tmp_path):
    quotes = tmp_path / "q.csv"
    quotes.write_text(quotes_csv(make_quotes(DEMO_SYMBOLS[:1], 30, seed=1)))
    good = {"signal_id": "g", "ts": "2026-01-02T00:00:05Z", "strategy_id": "m", "account_id": "main",
            "venue": "sim", "symbol": "BTC/USDT", "side": "buy", "quantity": "0.01",
            "stop_loss": "41000", "take_profit": "45000"}
    lines = ['{"broken', json.dumps({**good, "signal_id": "n", "quantity": "NaN"}),
             json.dumps({**good, "signal_id": "z", "quantity": 0}), "",
             json.dumps({**good, "signal_id": "neg", "limit_price": -5}), json.dumps(good)]
    signals = tmp_path / "s.jsonl"
    signals.write_text("\n".join(lines) + "\n")
    result = await replay(signals, quotes, load_config(None), tmp_path / "out")
    assert result.summary["signals_total"] == 5
    assert result.summary["signals_invalid"] == 4
    assert result.summary["orders_filled"] == 1
    audit = [json.loads(l) for l in (tmp_path / "out" / "audit.jsonl").read_text().splitlines()]
    invalid = [(l["line"], l["field"]) for l in audit if l["event"] == "signal_invalid"]
    assert invalid == [(1, "json"), (2, "quantity"), (3, "quantity"), (5, "limit_price")]


async def test_lines_that_are_not_utf8_or_too_long_are_refused_with_their_numbers(tmp_path):
    quotes = tmp_path / "q.csv"
    quotes.write_text(quotes_csv(make_quotes(DEMO_SYMBOLS[:1], 30, seed=1)))
    good = {"ts": "2026-01-02T00:00:05Z", "strategy_id": "m", "account_id": "main",
            "venue": "sim", "symbol": "BTC/USDT", "side": "buy", "quantity": "0.01",
            "stop_loss": "41000", "take_profit": "45000"}

    def line(signal_id, pad=0):
        return json.dumps({"signal_id": signal_id, **good})[:-1].encode() + b" " * pad + b"}\n"

    signals = tmp_path / "s.jsonl"
    signals.write_bytes(line("a") + line("b\udcff").replace(b"\\udcff", b"\xff")
                        + line("long", pad=200_000) + line("c").replace(b"\n", b"\r\n")
                        + line("d"))
    result = await replay(signals, quotes, load_config(None), tmp_path / "out")
    audit = [json.loads(l) for l in (tmp_path / "out" / "audit.jsonl").read_text().splitlines()]
    invalid = [(l["line"], l["field"], l["reason"]) for l in audit if l["event"] == "signal_invalid"]
    assert [(number, field) for number, field, _ in invalid] == [(2, "json"), (3, "json")]
    assert "UTF-8" in invalid[0][2]
    assert "longer than" in invalid[1][2]
    assert result.summary["signals_total"] == 5
    assert result.summary["orders_filled"] == 3  # a, c (CRLF) and d


@pytest.mark.parametrize("future_ts", ["9999-12-31T23:59:59Z", "2026-01-02T01:00:00Z"],
                         ids=["year-9999", "an-hour-past-the-data"])
async def test_a_signal_from_the_future_does_not_drag_the_replay_clock_with_it(tmp_path, future_ts):
    quotes = tmp_path / "q.csv"
    quotes.write_text(quotes_csv(make_quotes(DEMO_SYMBOLS[:1], 30, seed=1)))  # 00:00:00-00:00:29
    good = {"signal_id": "a", "ts": "2026-01-02T00:00:05Z", "strategy_id": "m",
            "account_id": "main", "venue": "sim", "symbol": "BTC/USDT", "side": "buy",
            "quantity": "0.01", "stop_loss": "41000", "take_profit": "45000"}
    lines = [json.dumps(good), json.dumps({**good, "signal_id": "future", "ts": future_ts}),
             json.dumps({**good, "signal_id": "b", "ts": "2026-01-02T00:00:20Z"})]
    signals = tmp_path / "s.jsonl"
    signals.write_text("\n".join(lines) + "\n")
    result = await replay(signals, quotes, load_config(None), tmp_path / "out")
    audit = [json.loads(l) for l in (tmp_path / "out" / "audit.jsonl").read_text().splitlines()]
    verdicts = {l["signal_id"]: (l["handler"], l["decision"], l.get("code")) for l in audit
                if l["event"] == "handler_verdict" and l["handler"] in ("validator", "reconciler")}
    assert verdicts["future"] == ("validator", "deny", "FUTURE_SIGNAL")
    assert verdicts["b"] == ("reconciler", "admit", None)  # not STALE_SIGNAL
    assert result.summary["signals_rejected"] == 1
    assert result.summary["orders_filled"] == 2
    assert max(l["ts"] for l in audit) < "2026-01-02T00:01:00"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), count=st.integers(1, 80))
def test_any_generated_input_keeps_positions_equal_to_fills_and_ids_unique(tmp_path_factory, seed, count):
    import asyncio

    tmp = tmp_path_factory.mktemp("replay")
    rows = make_quotes(DEMO_SYMBOLS, 300, seed=seed)
    (tmp / "q.csv").write_text(quotes_csv(rows))
    signals = [line for line in demo_signals(rows, seed=seed)[:count]]
    (tmp / "s.jsonl").write_text("\n".join(signals) + "\n")
    config = load_config(DATA / "demo.toml")
    asyncio.run(replay(tmp / "s.jsonl", tmp / "q.csv", config, tmp / "out"))
    _check_invariants(tmp / "out")


def _post_only_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A touch of 42000 / 42001 that dips to 41400 / 41500 at 20 s and comes back; post-only
    signals that would take (both sides), one that rests and fills in the dip, two that
    could not rest, and a plain market order beside them."""
    quotes = tmp_path / "po_quotes.csv"
    rows = ["ts,symbol,bid,ask,bid_size,ask_size"]
    for second in range(0, 61, 5):
        bid, ask = ("41400.00", "41500.00") if second == 20 else ("42000.00", "42001.00")
        rows.append(f"2026-01-02T00:00:{second:02d}.000Z,BTC/USDT,{bid},{ask},1.0000,1.0000"
                    if second < 60 else f"2026-01-02T00:01:00.000Z,BTC/USDT,{bid},{ask},1.0000,1.0000")
    quotes.write_text("\n".join(rows) + "\n")
    base = {"strategy_id": "maker", "account_id": "main", "venue": "sim", "symbol": "BTC/USDT",
            "quantity": "0.01"}
    buy = {"side": "buy", "stop_loss": "41000", "take_profit": "45000"}
    sell = {"side": "sell", "stop_loss": "43000", "take_profit": "39000"}
    lines = [
        {"signal_id": "po-take-buy", "ts": "2026-01-02T00:00:06Z", **buy, "order_type": "limit",
         "limit_price": "42001.00", "post_only": True},
        {"signal_id": "po-take-sell", "ts": "2026-01-02T00:00:07Z", **sell,
         "order_type": "limit", "limit_price": "42000.00", "post_only": True},
        {"signal_id": "po-rest", "ts": "2026-01-02T00:00:08Z", **buy, "order_type": "limit",
         "limit_price": "41500.00", "post_only": True},
        {"signal_id": "po-market", "ts": "2026-01-02T00:00:09Z", **buy, "post_only": True},
        {"signal_id": "po-ioc", "ts": "2026-01-02T00:00:10Z", **buy, "order_type": "limit",
         "limit_price": "41500.00", "time_in_force": "IOC", "post_only": True},
        {"signal_id": "plain", "ts": "2026-01-02T00:00:11Z", **buy},
    ]
    signals = tmp_path / "po_signals.jsonl"
    signals.write_text("".join(json.dumps({**base, **line}) + "\n" for line in lines))
    return signals, quotes


async def test_a_replay_with_post_only_signals_is_byte_identical_and_never_takes_with_them(tmp_path):
    signals, quotes = _post_only_inputs(tmp_path)
    runs = [await replay(signals, quotes, load_config(None), tmp_path / run) for run in ("a", "b")]
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    summary = _check_invariants(tmp_path / "a")
    assert runs[0].summary == summary
    assert summary["rejections_by_code"] == {"POST_ONLY_CONFLICT": 2, "POST_ONLY_WOULD_TAKE": 2}
    assert summary["orders_rejected"] == 2 and summary["orders_filled"] == 2
    audit = [json.loads(l) for l in (tmp_path / "a" / "audit.jsonl").read_text().splitlines()]
    refused = sorted((l["signal_id"], l["code"]) for l in audit if l.get("code", "").startswith("POST_ONLY"))
    assert refused == [("po-ioc", "POST_ONLY_CONFLICT"), ("po-market", "POST_ONLY_CONFLICT"),
                       ("po-take-buy", "POST_ONLY_WOULD_TAKE"), ("po-take-sell", "POST_ONLY_WOULD_TAKE")]
    fills = {l["signal_id"]: l["reason"] for l in audit if l["event"] == "fill"}
    assert set(fills) == {"po-rest", "plain"}
    assert fills["po-rest"] == "buy 0.0100 BTC/USDT @ 41500.00 (maker)"
    assert fills["plain"].endswith("(taker)")  # the market order beside them takes


def _stop_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A touch of 42000 / 42001 that jumps to 42600 / 42601 at 20 s, is back at 25 s and
    drops to 41400 / 41401 at 40 s; buy and sell stops that trigger on those moves, one that
    never triggers, and three that are refused (no trigger, trigger below the market, one
    the venue finds already reached)."""
    quotes = tmp_path / "st_quotes.csv"
    touch = {20: ("42600.00", "42601.00"), 40: ("41400.00", "41401.00")}
    rows = ["ts,symbol,bid,ask,bid_size,ask_size"]
    for second in range(0, 61, 5):
        bid, ask = touch.get(second, ("42000.00", "42001.00"))
        stamp = f"00:{second:02d}" if second < 60 else "01:00"
        rows.append(f"2026-01-02T00:{stamp}.000Z,BTC/USDT,{bid},{ask},1.0000,1.0000")
    quotes.write_text("\n".join(rows) + "\n")
    base = {"strategy_id": "stops", "account_id": "main", "venue": "sim", "symbol": "BTC/USDT",
            "quantity": "0.01"}
    buy = {"side": "buy", "stop_loss": "41000", "take_profit": "45000"}
    sell = {"side": "sell", "stop_loss": "43000", "take_profit": "35000"}
    lines = [
        {"signal_id": "st-buy-market", "ts": "2026-01-02T00:00:06Z", **buy,
         "order_type": "stop_market", "trigger_price": "42500.00"},
        {"signal_id": "st-buy-limit", "ts": "2026-01-02T00:00:07Z", **buy,
         "order_type": "stop_limit", "trigger_price": "42500.00", "limit_price": "42550.00"},
        {"signal_id": "st-sell-market", "ts": "2026-01-02T00:00:08Z", **sell,
         "order_type": "stop_market", "trigger_price": "41500.00"},
        {"signal_id": "st-never", "ts": "2026-01-02T00:00:09Z", **sell,
         "order_type": "stop_market", "trigger_price": "40000.00"},
        {"signal_id": "st-no-trigger", "ts": "2026-01-02T00:00:10Z", **buy,
         "order_type": "stop_market"},
        {"signal_id": "st-wrong-side", "ts": "2026-01-02T00:00:11Z", **buy,
         "order_type": "stop_market", "trigger_price": "41900.00"},
        {"signal_id": "st-at-once", "ts": "2026-01-02T00:00:12Z", **buy,
         "order_type": "stop_market", "trigger_price": "42000.75"},
    ]
    signals = tmp_path / "st_signals.jsonl"
    signals.write_text("".join(json.dumps({**base, **line}) + "\n" for line in lines))
    return signals, quotes


async def test_a_replay_with_stop_signals_is_byte_identical_and_fills_each_only_once_triggered(
        tmp_path):
    signals, quotes = _stop_inputs(tmp_path)
    runs = [await replay(signals, quotes, load_config(None), tmp_path / run) for run in ("a", "b")]
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    summary = _check_invariants(tmp_path / "a")
    assert runs[0].summary == summary
    assert summary["rejections_by_code"] == {"MISSING_TRIGGER_PRICE": 1, "STOP_WOULD_TRIGGER": 1,
                                             "TRIGGER_WRONG_SIDE": 1}
    audit = [json.loads(l) for l in (tmp_path / "a" / "audit.jsonl").read_text().splitlines()]
    fills = {l["signal_id"]: (l["ts"], l["reason"]) for l in audit if l["event"] == "fill"}
    assert set(fills) == {"st-buy-market", "st-buy-limit", "st-sell-market"}
    ts, reason = fills["st-buy-market"]
    assert ts.startswith("2026-01-02T00:00:20") and reason.endswith("(taker)")
    # Triggered at 20 s as a buy limit at 42550 under the ask of 42601: it rested, and the
    # ask of 42001 at 25 s filled it at its price.
    assert fills["st-buy-limit"] == ("2026-01-02T00:00:25+00:00",
                                     "buy 0.0100 BTC/USDT @ 42550.00 (maker)")
    ts, reason = fills["st-sell-market"]
    assert ts.startswith("2026-01-02T00:00:40") and reason.endswith("(taker)")


async def test_a_replay_with_emulated_stops_is_byte_identical_and_holds_each_until_triggered(
        tmp_path):
    """The same stop signals with the simulated venue set to emulate stops: every stop is
    HELD by ordergate, sent once when the touch reaches its trigger (at a tick: the replay
    ticks at each signal and every poll interval after the last one), never before."""
    signals, quotes = _stop_inputs(tmp_path)
    config = load_config(None)
    config = config.model_copy(update={"venues": {
        name: venue.model_copy(update={"stops": "emulated"})
        for name, venue in config.venues.items()}})
    runs = [await replay(signals, quotes, config, tmp_path / run) for run in ("a", "b")]
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    summary = _check_invariants(tmp_path / "a")
    assert runs[0].summary == summary
    assert summary["duplicate_client_order_ids"] == 0
    audit = [json.loads(l) for l in (tmp_path / "a" / "audit.jsonl").read_text().splitlines()]
    held = {l["signal_id"] for l in audit if l["event"] == "order_transition"
            and l["decision"] == "HELD"}
    # st-at-once is held too (the venue never sees it, so nothing refuses it): the touch
    # is already past its trigger, and it triggers at the next tick.
    assert held == {"st-buy-market", "st-buy-limit", "st-sell-market", "st-never", "st-at-once"}
    triggered = {l["signal_id"]: (l["ts"], l["sent_as"]) for l in audit
                 if l["event"] == "stop_triggered"}
    assert triggered["st-buy-market"] == ("2026-01-02T00:00:20+00:00", "market")
    assert triggered["st-buy-limit"] == ("2026-01-02T00:00:20+00:00", "limit")
    assert triggered["st-sell-market"] == ("2026-01-02T00:00:40+00:00", "market")
    assert "st-never" not in triggered
    fills = {l["signal_id"] for l in audit if l["event"] == "fill"}
    assert {"st-buy-market", "st-buy-limit", "st-sell-market"} <= fills
    assert "st-never" not in fills


async def test_a_replay_over_streamed_quotes_is_byte_identical_to_one_over_the_file_loaded_whole(
        tmp_path, monkeypatch):
    """The mixed workload (resting limit orders, partial fills, sizing by risk, bad lines)
    with the quotes streamed in small blocks and only two minutes of them kept: any part
    of the engine that looked further back than that would raise, and any quote read
    differently would change a line."""
    import ordergate.venues.quote_stream as quote_stream
    from ordergate.bench.workloads import write_mixed
    from ordergate.venues.market_data import MarketData

    work = write_mixed(tmp_path / "in", 1500)
    config = load_config(work.config)
    monkeypatch.setattr(quote_stream, "_STREAM_BLOCK", 4096)
    monkeypatch.setattr(quote_stream, "_RETAIN_US", 120_000_000)
    await replay(work.signals, work.quotes, config, tmp_path / "streamed")
    load = MarketData.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(MarketData, "load", classmethod(
        lambda cls, path, stream=True: load(cls, path, stream=False)))
    await replay(work.signals, work.quotes, config, tmp_path / "whole")
    for name in OUTPUTS:
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    summary = _check_invariants(tmp_path / "streamed")
    assert summary["orders_filled"] > 500 and summary["orders_expired"] + summary["orders_cancelled"] > 0
