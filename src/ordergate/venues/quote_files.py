"""Recorded quotes from a CSV or Parquet file, read into columns with Apache Arrow.

Why Arrow: the `csv` module plus a `Decimal` and a `datetime` per field costs several
microseconds a quote in Python, and keeping every quote as objects costs about half a
kilobyte each (a million-quote replay: 10 s to load and 600 MB held). Arrow's C++ reader
parses the file into columns in a fraction of a second, checks every price with one
regular-expression pass per column and every timestamp with one cast, and keeps the
columns as compact buffers. Prices stay text until a quote is used, and then become
`Decimal` from that text: a price never passes through float. A file that fails a check
is read again the slow way to name the line and the field, as before.
"""

from __future__ import annotations

import csv
from array import array
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ordergate.venues.market_data import MarketDataError, Quote, QuoteSeries, micros, price_exponent

COLUMNS = ("ts", "symbol", "bid", "ask", "bid_size", "ask_size")
AMOUNTS = ("bid", "ask", "bid_size", "ask_size")
_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"  # finite: no NaN, no Infinity
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME = pa.timestamp("us", tz="UTC")
BLOCK = 1024
"""Quotes built together when a replay reaches them (a few blocks are kept)."""
_CSV_BLOCK = 4 << 20
"""Bytes of CSV parsed and checked at a time."""
_TYPES = {"ts": _TIME, "symbol": pa.dictionary(pa.int32(), pa.string()), "bid": pa.string(),
          "ask": pa.string(), "bid_size": pa.string(), "ask_size": pa.string()}
"""Each column's type when a file has no quotes (no block to take it from)."""


def load_quotes(path: Path) -> dict[str, QuoteSeries]:
    """Each symbol's quotes from `path`, oldest first; quotes with the same timestamp keep
    the file's order. Raises `MarketDataError` naming the line (CSV) or row (Parquet).

    A CSV is read and checked a block at a time, so its text is never held whole: what
    stays is the compact columns (times, symbol codes, the amounts' text). Read whole,
    2.16M quotes peaked at 449 MB of RSS for 111 MB kept."""
    if path.suffix.lower() == ".parquet":
        table = _read_parquet(path)
        columns: dict[str, Any] = {"symbol": pc.dictionary_encode(table["symbol"].cast(pa.string())),
                                   "ts": times_column(path, table)}
        for name in AMOUNTS:
            columns[name] = amounts_column(path, table, name)
        del table
        give_back()
    else:
        columns = _read_csv_columns(path)
    codes = columns.pop("symbol").unify_dictionaries().combine_chunks()
    keys = pa.table({"symbol": codes.indices, "ts": columns.pop("ts").cast(pa.int64())})
    # a stable sort on two integer keys; the text columns are not moved, only indexed
    order = pc.sort_indices(keys, sort_keys=[("symbol", "ascending"), ("ts", "ascending")])
    sorted_times = keys["ts"].take(order)
    del keys
    give_back()
    amounts = []
    for name in AMOUNTS:  # one column's chunks and its copy at a time, not all four
        amounts.append(columns.pop(name).combine_chunks())
        give_back()
    counts = pc.value_counts(codes.indices).to_pylist()
    size = {int(row["values"]): int(row["counts"]) for row in counts}
    names = codes.dictionary.to_pylist()
    series: dict[str, QuoteSeries] = {}
    start = 0
    for code in range(len(names)):  # the sort put symbol codes in this order
        count = size.get(code, 0)
        series[str(names[code])] = ColumnQuotes(str(names[code]),
                                                int64s(sorted_times.slice(start, count)),
                                                order.slice(start, count), amounts)
        start += count
    return series


def give_back() -> None:
    """Return the memory Arrow has freed to the system. Arrow's allocator (mimalloc) keeps
    freed pages for reuse, and a load frees as much as it keeps: each CSV block's text and
    each column's chunks once combined. Kept, they were most of a replay's memory: 648k
    quotes hold 31 MB of Arrow buffers, yet the process stood at 203 MB after the load
    (71 MB before it) and stayed there for the whole replay; given back after each step,
    it peaks at 176 MB and stands at 146-156 MB."""
    pa.default_memory_pool().release_unused()


def int64s(values: pa.Array | pa.ChunkedArray) -> array[int]:
    """An int64 Arrow array as a Python `array` (one copy of its buffer, no int objects,
    no intermediate `bytes`)."""
    flat = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    result: array[int] = array("q")
    result.frombytes(memoryview(flat.buffers()[1])[flat.offset * 8:(flat.offset + len(flat)) * 8])
    return result


class ColumnQuotes:
    """One symbol's quotes held as columns; `Quote`s are built `BLOCK` at a time on first
    use, and only the last few blocks are kept, so memory does not grow with the replay."""

    __slots__ = ("symbol", "times", "_rows", "_columns", "_blocks")

    def __init__(self, symbol: str, times: array[int], rows: pa.Array,
                 columns: list[pa.Array]) -> None:
        self.symbol = symbol
        self.times = times
        self._rows = rows  # where each quote is in the file's columns, in time order
        self._columns = columns
        self._blocks: dict[int, list[Quote]] = {}

    def __len__(self) -> int:
        return len(self.times)

    def __getitem__(self, index: int) -> Quote:
        number, offset = divmod(index, BLOCK)
        block = self._blocks.get(number)
        if block is None:
            block = self._build(number)
        return block[offset]

    def last_at(self, us: int) -> int:
        return bisect_right(self.times, us) - 1

    def quote_in_force(self, us: int) -> Quote | None:
        index = bisect_right(self.times, us) - 1
        return None if index < 0 else self[index]

    def first_ts(self) -> datetime:
        return EPOCH + timedelta(microseconds=self.times[0])

    def last_ts(self) -> datetime:
        return EPOCH + timedelta(microseconds=self.times[-1])

    def price_exponent(self) -> int:
        return price_exponent(self[i] for i in range(len(self)))

    def _build(self, number: int) -> list[Quote]:
        start = number * BLOCK
        stop = min(start + BLOCK, len(self.times))
        rows = self._rows.slice(start, stop - start)
        bids, asks, bid_sizes, ask_sizes = (column.take(rows).to_pylist() for column in self._columns)
        symbol, epoch, step = self.symbol, EPOCH, timedelta
        block = [Quote(epoch + step(microseconds=t), symbol, Decimal(b), Decimal(a), Decimal(bs),
                       Decimal(az))
                 for t, b, a, bs, az in zip(self.times[start:stop], bids, asks, bid_sizes, ask_sizes)]
        if len(self._blocks) >= 4:
            del self._blocks[next(iter(self._blocks))]
        self._blocks[number] = block
        return block


def csv_options(path: Path) -> pa_csv.ConvertOptions:
    """Arrow's options for a quotes CSV (every column as text, to be checked), once its
    header is found to name every column."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise MarketDataError(f"{path}: {exc}") from None
    missing = set(COLUMNS) - set(header)
    if missing:
        raise MarketDataError(f"{path}: missing column(s) {sorted(missing)}")
    return pa_csv.ConvertOptions(column_types={c: pa.string() for c in COLUMNS},
                                 include_columns=list(COLUMNS), strings_can_be_null=False)


def _read_csv_columns(path: Path) -> dict[str, Any]:
    """The CSV's columns, each block checked and made compact as it is read: `ts` as
    times, `symbol` dictionary-encoded, the amounts as checked text."""
    options = csv_options(path)
    chunks: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    try:
        with pa_csv.open_csv(path, read_options=pa_csv.ReadOptions(block_size=_CSV_BLOCK),
                             convert_options=options) as reader:
            for batch in reader:
                block = pa.Table.from_batches([batch])
                chunks["ts"].extend(times_column(path, block).chunks)
                chunks["symbol"].append(pc.dictionary_encode(block["symbol"]).combine_chunks())
                for name in AMOUNTS:
                    chunks[name].extend(amounts_column(path, block, name).chunks)
                del block, batch
                give_back()
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise first_bad_line(path) or MarketDataError(f"{path}: {exc}") from None
    return {name: pa.chunked_array(parts, type=_TYPES[name] if not parts else None)
            for name, parts in chunks.items()}


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq  # only for Parquet: its libraries add 15 MB to every process

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise MarketDataError(f"{path}: {exc}") from None
    parquet_checked(path, table.schema)
    return table.select(list(COLUMNS))


def parquet_checked(path: Path, schema: pa.Schema) -> None:
    """Every column there, and no amount a float."""
    missing = set(COLUMNS) - set(schema.names)
    if missing:
        raise MarketDataError(f"{path}: missing column(s) {sorted(missing)}")
    for name in AMOUNTS:
        kind = schema.field(name).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or pa.types.is_decimal(kind) or pa.types.is_integer(kind)):
            raise MarketDataError(f"{path}: column {name} is {kind}: amounts must be decimal, "
                                  "integer or text, never float")


def times_column(path: Path, table: pa.Table) -> pa.ChunkedArray:
    column = table["ts"]
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            raise MarketDataError(f"{path}: column ts has no timezone")
        return column.cast(_TIME)
    text = column.cast(pa.string())
    try:
        return text.cast(_TIME)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # a form Arrow does not take; Python's ISO parser may (and names a bad line)
    parsed: list[int] = []
    for value in text.to_pylist():
        try:
            ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise first_bad(path, table) from None
        if ts.tzinfo is None:
            raise first_bad(path, table)
        parsed.append(micros(ts))
    return pa.chunked_array([pa.array(parsed, pa.int64()).cast(_TIME)])


def amounts_column(path: Path, table: pa.Table, name: str) -> pa.ChunkedArray:
    """The column as `Decimal`'s input: a decimal or integer column as it is (Arrow hands
    out `Decimal`s and ints, exact and finite by construction), text after checking every
    value is a finite number."""
    column = table[name]
    if pa.types.is_decimal(column.type) or pa.types.is_integer(column.type):
        if column.null_count:
            raise first_bad(path, table)
        return column
    text = column.cast(pa.string())
    if not pc.all(pc.match_substring_regex(text, _NUMBER)).as_py() and len(text):
        raise first_bad(path, table)
    return text


def first_bad(path: Path, table: pa.Table) -> MarketDataError:
    found = first_bad_line(path) if path.suffix.lower() != ".parquet" else None
    if found is not None:
        return found
    for row, values in enumerate(table.select(list(COLUMNS)).to_pylist(), start=1):
        problem = _problem({k: None if v is None else str(v) for k, v in values.items()})
        if problem:
            return MarketDataError(f"{path}: row {row}: {problem}")
    return MarketDataError(f"{path}: unreadable quotes")


def first_bad_line(path: Path) -> MarketDataError | None:
    """The first bad line of a CSV, read with the `csv` module to count lines exactly."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            problem = _problem(row)
            if problem:
                return MarketDataError(f"{path}:{line}: {problem}")
    return None


def _problem(row: dict[str, str | None]) -> str | None:
    values = [row.get(name) for name in COLUMNS]
    if any(value is None for value in values):
        return "bad quote: missing field(s) " + ", ".join(n for n, v in zip(COLUMNS, values) if v is None)
    try:
        ts = datetime.fromisoformat(str(row["ts"]).replace("Z", "+00:00"))
        amounts = {name: Decimal(str(row[name])) for name in AMOUNTS}
    except (ValueError, InvalidOperation) as exc:
        return f"bad quote: {exc}"
    if ts.tzinfo is None:
        return "quote needs a timezone and finite prices"
    for name, amount in amounts.items():
        if not amount.is_finite():
            return f"quote needs a timezone and finite prices ({name} is {amount})"
    return None
