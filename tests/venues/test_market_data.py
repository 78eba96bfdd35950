"""Recorded quotes from CSV and Parquet: refused with the line and the field named, read
exactly (Decimal from the file's text), in time order per symbol, held as columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ordergate.venues.market_data import MarketData, MarketDataError, Quote
from ordergate.venues.quote_files import BLOCK, ColumnQuotes

HEADER = "ts,symbol,bid,ask,bid_size,ask_size\n"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def write(tmp_path: Path, *lines: str, header: str = HEADER) -> Path:
    path = tmp_path / "quotes.csv"
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "2026-01-01T00:00:00Z,BTC/USDT,1,2,3", header="ts,symbol,bid,ask,bid_size\n")
    with pytest.raises(MarketDataError, match=r"missing column\(s\) \['ask_size'\]"):
        MarketData.load(path)


@pytest.mark.parametrize(("bad", "message"), [
    ("2026-01-01T00:00:01Z,BTC/USDT,one,2,3,4", r"quotes.csv:3: bad quote"),
    ("2026-01-01T00:00:01Z,BTC/USDT,NaN,2,3,4", r"quotes.csv:3: .*finite prices \(bid is NaN\)"),
    ("2026-01-01T00:00:01Z,BTC/USDT,1,2,3,Infinity", r"quotes.csv:3: .*ask_size is Infinity"),
    ("2026-01-01T00:00:01,BTC/USDT,1,2,3,4", r"quotes.csv:3: quote needs a timezone"),
    ("yesterday,BTC/USDT,1,2,3,4", r"quotes.csv:3: bad quote"),
    ("2026-01-01T00:00:01Z,BTC/USDT,1,2", r"quotes.csv:3: bad quote: missing field\(s\) bid_size, ask_size"),
])
def test_a_bad_line_is_refused_with_its_number(tmp_path: Path, bad: str, message: str) -> None:
    path = write(tmp_path, "2026-01-01T00:00:00Z,BTC/USDT,1,2,3,4", bad)
    with pytest.raises(MarketDataError, match=message):
        MarketData.load(path)


def test_float_prices_in_parquet_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "quotes.parquet"
    pq.write_table(pa.table({"ts": pa.array([T0], pa.timestamp("us", tz="UTC")), "symbol": ["BTC/USDT"],
                             "bid": [1.1], "ask": ["2"], "bid_size": ["3"], "ask_size": ["4"]}), path)
    with pytest.raises(MarketDataError, match="column bid is double: amounts must be decimal, integer or text"):
        MarketData.load(path)


def test_parquet_times_without_a_timezone_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "quotes.parquet"
    pq.write_table(pa.table({"ts": pa.array([T0.replace(tzinfo=None)], pa.timestamp("us")),
                             "symbol": ["BTC/USDT"], "bid": ["1"], "ask": ["2"], "bid_size": ["3"],
                             "ask_size": ["4"]}), path)
    with pytest.raises(MarketDataError, match="column ts has no timezone"):
        MarketData.load(path)


def test_prices_are_read_exactly_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "2026-01-01T00:00:00.250Z,BTC/USDT,42000.10,42000.1000,0.00000001,1E+3")
    (quote,) = MarketData.load(path).series("BTC/USDT")
    assert quote == Quote(T0 + timedelta(milliseconds=250), "BTC/USDT", Decimal("42000.10"),
                          Decimal("42000.1000"), Decimal("0.00000001"), Decimal("1E+3"))
    assert str(quote.ask) == "42000.1000"  # the exponent too: outputs print what the file said


def test_quotes_are_put_in_time_order_per_symbol_and_ties_keep_the_files_order(tmp_path: Path) -> None:
    path = write(tmp_path,
                 "2026-01-01T00:00:02Z,ETH/USDT,20,21,1,1",
                 "2026-01-01T00:00:01Z,BTC/USDT,1,2,1,1",
                 "2026-01-01T02:00:01+02:00,BTC/USDT,3,4,1,1",  # the same instant as the line above
                 "2026-01-01T00:00:00Z,BTC/USDT,5,6,1,1",
                 "2026-01-01T00:00:00Z,ETH/USDT,10,11,1,1")
    market = MarketData.load(path)
    assert market.symbols == ["BTC/USDT", "ETH/USDT"]
    assert [q.bid for q in market.series("BTC/USDT")] == [Decimal(5), Decimal(1), Decimal(3)]
    assert [q.bid for q in market.series("ETH/USDT")] == [Decimal(10), Decimal(20)]
    assert market.first_ts() == T0 and market.last_ts() == T0 + timedelta(seconds=2)
    assert market.quote_at("BTC/USDT", T0 + timedelta(seconds=1, milliseconds=5)).bid == Decimal(3)  # type: ignore[union-attr]
    assert market.quote_at("BTC/USDT", T0 - timedelta(microseconds=1)) is None


def test_csv_parquet_and_objects_give_the_same_market(tmp_path: Path) -> None:
    count = 2 * BLOCK + 7  # across block boundaries
    quotes = [Quote(T0 + timedelta(seconds=i // 2), "BTC/USDT" if i % 2 else "ETH/USDT",
                    Decimal(40000 + i) / 100, Decimal(40001 + i) / 100, Decimal(i % 9), Decimal("0.5"))
              for i in range(count)]
    csv_path = write(tmp_path, *(f"{q.ts.isoformat()},{q.symbol},{q.bid},{q.ask},{q.bid_size},{q.ask_size}"
                                 for q in reversed(quotes)))
    parquet_path = tmp_path / "quotes.parquet"
    pq.write_table(pa.table({
        "ts": pa.array([q.ts for q in quotes], pa.timestamp("ms", tz="UTC")),
        "symbol": [q.symbol for q in quotes],
        "bid": pa.array([q.bid for q in quotes], pa.decimal128(12, 2)),
        "ask": pa.array([q.ask for q in quotes], pa.decimal128(12, 2)),
        "bid_size": pa.array([int(q.bid_size) for q in quotes], pa.int64()),
        "ask_size": [str(q.ask_size) for q in quotes]}), parquet_path)
    expected = MarketData(list(quotes))
    for loaded in (MarketData.load(csv_path), MarketData.load(parquet_path)):
        assert loaded.symbols == expected.symbols
        for symbol in expected.symbols:
            assert list(loaded.series(symbol)) == list(expected.series(symbol))
            assert loaded.series(symbol)[-1] == expected.series(symbol)[-1]
            assert loaded.series(symbol)[BLOCK - 2:BLOCK + 2] == list(expected.series(symbol))[BLOCK - 2:BLOCK + 2]


def test_only_a_few_blocks_of_quotes_are_held_as_objects(tmp_path: Path) -> None:
    path = write(tmp_path, *(f"2026-01-01T00:00:{i // 1000:02d}.{i % 1000:03d}Z,BTC/USDT,1,2,3,4"
                             for i in range(10 * BLOCK)))
    market = MarketData.load(path, stream=False)
    series = market._series["BTC/USDT"]
    assert isinstance(series, ColumnQuotes)
    for index in range(0, 10 * BLOCK, 7):
        assert series[index].ts == T0 + timedelta(milliseconds=index)
    assert len(series._blocks) <= 4


def test_an_empty_file_is_an_empty_market(tmp_path: Path) -> None:
    market = MarketData.load(write(tmp_path))
    assert market.symbols == [] and market.first_ts() is None and market.quote_at("BTC/USDT", T0) is None


def test_a_csv_read_a_block_at_a_time_is_the_same_market_and_names_a_bad_line_late_in_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ordergate.venues.quote_files as quote_files

    rows = [f"{(T0 + timedelta(seconds=i)).isoformat()},{'BTC/USDT' if i % 3 else 'ETH/USDT'},"
            f"{100 + i}.25,{101 + i}.5,0.{i + 1},{i + 2}" for i in range(400)]
    path = write(tmp_path, *reversed(rows))  # out of time order: the sort spans blocks
    whole = MarketData.load(path)
    monkeypatch.setattr(quote_files, "_CSV_BLOCK", 512)  # ~10 lines a block: 40 blocks
    blocks = MarketData.load(path)
    assert blocks.symbols == whole.symbols == ["BTC/USDT", "ETH/USDT"]
    for symbol in whole.symbols:
        assert list(blocks.series(symbol)) == list(whole.series(symbol))
    assert [q.ts for q in blocks.series("ETH/USDT")][:2] == [T0, T0 + timedelta(seconds=3)]
    bad = write(tmp_path, *rows[:350], "2026-01-01T00:10:00Z,BTC/USDT,1,NaN,3,4", *rows[350:])
    with pytest.raises(MarketDataError, match=r"quotes.csv:352: .*ask is NaN"):
        MarketData.load(bad)
