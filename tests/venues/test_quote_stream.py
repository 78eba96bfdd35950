"""A quotes file in time order, streamed: every line checked before the replay, the same
answers as the file loaded whole, and only a window of it held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ordergate.venues.quote_stream as quote_stream
from ordergate.venues.market_data import MarketData, MarketDataError
from ordergate.venues.quote_files import ColumnQuotes
from ordergate.venues.quote_stream import StreamedQuotes

HEADER = "ts,symbol,bid,ask,bid_size,ask_size\n"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def write(path: Path, rows: list[tuple[int, str, str, str]]) -> Path:
    """Rows of (milliseconds after T0, symbol, bid, ask)."""
    path.write_text(HEADER + "".join(
        f"{(T0 + timedelta(milliseconds=ms)).isoformat()},{symbol},{bid},{ask},1,2\n"
        for ms, symbol, bid, ask in rows), encoding="utf-8")
    return path


def rows_over(seconds: int, symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")) -> list[tuple[int, str, str, str]]:
    return [(s * 1000, symbol, f"{100 + s}.{k}5", f"{101 + s}.5") for s in range(seconds)
            for k, symbol in enumerate(symbols)]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """About 20 lines a block, so a test file spans many blocks."""
    monkeypatch.setattr(quote_stream, "_STREAM_BLOCK", 1024)


def test_a_bad_line_late_in_the_file_is_refused_with_its_number_before_any_quote_is_used(
        tmp_path: Path, small_blocks: None) -> None:
    path = write(tmp_path / "q.csv", rows_over(300))
    lines = path.read_text().splitlines(keepends=True)
    lines[500] = lines[500].replace(",1,2\n", ",1,NaN\n")
    path.write_text("".join(lines))
    with pytest.raises(MarketDataError, match=r"q.csv:501: .*ask_size is NaN"):
        MarketData.load(path)


def test_a_file_changed_after_its_check_is_refused_rather_than_read(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", rows_over(10))
    market = MarketData.load(path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{(T0 + timedelta(seconds=20)).isoformat()},BTC/USDT,1,2,1,2\n")
    with pytest.raises(MarketDataError, match="changed since it was checked"):
        market.quote_at("BTC/USDT", T0)


def test_a_quote_already_let_go_is_an_error_not_a_wrong_quote(
        tmp_path: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quote_stream, "_RETAIN_US", 10_000_000)  # keep 10 s
    market = MarketData.load(write(tmp_path / "q.csv", rows_over(600)))
    market.quote_at("BTC/USDT", T0 + timedelta(seconds=300))
    market.quote_at("BTC/USDT", T0 + timedelta(seconds=599))  # reads on: lets go before 290 s
    for second in range(290, 300):  # kept: within 10 s of the question before the read
        assert market.quote_at("BTC/USDT", T0 + timedelta(seconds=second, milliseconds=500)).ts == (  # type: ignore[union-attr]
            T0 + timedelta(seconds=second))
    with pytest.raises(MarketDataError, match=r"BTC/USDT: the quote in force at .* was let go"):
        market.quote_at("BTC/USDT", T0 + timedelta(seconds=5))
    with pytest.raises(MarketDataError, match="BTC/USDT: quote 3 was let go"):
        market.series("BTC/USDT")[3]


def test_a_file_out_of_time_order_is_loaded_whole_and_sorted(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", list(reversed(rows_over(50))))
    market = MarketData.load(path)
    assert isinstance(market._series["BTC/USDT"], ColumnQuotes)
    assert [q.ts for q in market.series("BTC/USDT")][:2] == [T0, T0 + timedelta(seconds=1)]


def test_a_file_in_time_order_is_streamed_and_only_a_window_of_it_is_held(
        tmp_path: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quote_stream, "_RETAIN_US", 30_000_000)
    market = MarketData.load(write(tmp_path / "q.csv", rows_over(3000)))
    series = market._series["BTC/USDT"]
    assert isinstance(series, StreamedQuotes)
    held = []
    for second in range(0, 3000, 7):
        quote = market.quote_at("BTC/USDT", T0 + timedelta(seconds=second, milliseconds=500))
        assert quote is not None and quote.ts == T0 + timedelta(seconds=second)
        held.append(sum(len(chunk) for chunk in series._chunks))
    assert len(series) == 3000
    assert max(held) < 150  # 30 s of quotes and a block or two either side, of 3,000


def test_after_a_long_jump_every_quote_since_the_last_question_is_still_there(
        tmp_path: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulated venue's pattern: where is now, then every quote since its cursor."""
    monkeypatch.setattr(quote_stream, "_RETAIN_US", 10_000_000)
    market = MarketData.load(write(tmp_path / "q.csv", rows_over(2000)))
    cursor = market.index_at("ETH/USDT", T0 + timedelta(seconds=100))
    end = market.index_at("ETH/USDT", T0 + timedelta(seconds=1900)) + 1
    passed = market.series("ETH/USDT")[cursor + 1:end]
    assert [q.ts for q in passed] == [T0 + timedelta(seconds=s) for s in range(101, 1901)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["A/USD", "B/USD", "C/USD"]),
                                st.sampled_from(["1", "1.5", "2.25", "3.125", "1E+1"])),
                      min_size=1, max_size=400),
       asks=st.lists(st.integers(-5, 2000), min_size=1, max_size=60))
def test_streamed_and_whole_give_the_same_answers(tmp_path_factory: pytest.TempPathFactory,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   steps: list[tuple[int, str, str]],
                                                   asks: list[int]) -> None:
    """Invariant: for any file in time order (ties across blocks, symbols that start late)
    and any times asked in increasing order, the stream answers as the whole load does."""
    monkeypatch.setattr(quote_stream, "_STREAM_BLOCK", 256)
    ms, rows = 0, []
    for gap, symbol, bid in steps:
        ms += gap
        rows.append((ms, symbol, bid, "9"))
    path = write(tmp_path_factory.mktemp("q") / "q.csv", rows)
    streamed, whole = MarketData.load(path), MarketData.load(path, stream=False)
    assert streamed.symbols == whole.symbols
    assert (streamed.first_ts(), streamed.last_ts()) == (whole.first_ts(), whole.last_ts())
    for symbol in whole.symbols:
        assert streamed.price_exponent(symbol) == whole.price_exponent(symbol)
        assert len(streamed.series(symbol)) == len(whole.series(symbol))
    for at in sorted(asks):
        ts = T0 + timedelta(milliseconds=at)
        for symbol in whole.symbols:
            assert streamed.index_at(symbol, ts) == whole.index_at(symbol, ts)
            assert streamed.quote_at(symbol, ts) == whole.quote_at(symbol, ts)


def test_parquet_is_streamed_too_with_decimal_and_integer_columns(tmp_path: Path) -> None:
    count = 5000
    path = tmp_path / "q.parquet"
    pq.write_table(pa.table({
        "ts": pa.array([T0 + timedelta(seconds=i) for i in range(count)], pa.timestamp("ms", tz="UTC")),
        "symbol": ["BTC/USDT"] * count,
        "bid": pa.array([Decimal(40000 + i) / 100 for i in range(count)], pa.decimal128(12, 2)),
        "ask": pa.array([Decimal(40001 + i) / 100 for i in range(count)], pa.decimal128(12, 2)),
        "bid_size": pa.array([i % 9 + 1 for i in range(count)], pa.int64()),
        "ask_size": ["0.5"] * count}), path, row_group_size=1000)
    streamed, whole = MarketData.load(path), MarketData.load(path, stream=False)
    assert isinstance(streamed._series["BTC/USDT"], StreamedQuotes)
    assert streamed.price_exponent("BTC/USDT") == whole.price_exponent("BTC/USDT") == -2
    for second in (0, 999, 1000, 4321, 4999, 6000):
        ts = T0 + timedelta(seconds=second)
        assert streamed.quote_at("BTC/USDT", ts) == whole.quote_at("BTC/USDT", ts)


def test_an_empty_file_is_an_empty_market(tmp_path: Path) -> None:
    market = MarketData.load(write(tmp_path / "q.csv", []))
    assert market.symbols == [] and market.first_ts() is None
    assert market.quote_at("BTC/USDT", T0) is None


def test_the_exponent_of_every_form_of_amount(tmp_path: Path) -> None:
    """The tick size inferred from the quotes is the finest step any of them shows."""
    path = write(tmp_path / "q.csv", [(0, "A/USD", " 42000 ", "42000.5"), (1, "A/USD", "1E-3", "7."),
                                      (2, "B/USD", "+.25", "-1.000"), (3, "B/USD", "5E+2", "6")])
    streamed, whole = MarketData.load(path), MarketData.load(path, stream=False)
    assert [streamed.price_exponent(s) for s in ("A/USD", "B/USD")] == [-3, -3]
    assert [whole.price_exponent(s) for s in ("A/USD", "B/USD")] == [-3, -3]


def test_quotes_sharing_a_timestamp_across_blocks_answer_with_the_last_of_them(
        tmp_path: Path, small_blocks: None) -> None:
    """A block may end inside a run of quotes with one timestamp: the quote in force at
    that instant is the run's last, which only the next block holds."""
    rows = [(0, "BTC/USDT", "1", "2"), *((1000, "BTC/USDT", f"{i}.5", "99") for i in range(200))]
    path = write(tmp_path / "q.csv", rows)
    streamed, whole = MarketData.load(path), MarketData.load(path, stream=False)
    assert streamed.quote_at("BTC/USDT", T0) == whole.quote_at("BTC/USDT", T0)  # reads a block
    at = T0 + timedelta(seconds=1)
    assert streamed.quote_at("BTC/USDT", at).bid == whole.quote_at("BTC/USDT", at).bid == Decimal("199.5")  # type: ignore[union-attr]
    assert streamed.index_at("BTC/USDT", at) == 200
