"""Recorded quotes read a block at a time as the replay's clock reaches them.

Why: a quotes file loaded whole (`quote_files.load_quotes`) is held for the whole replay.
2.16M quotes are 111 MB of columns and peaked at 360 MB while being sorted, more than
everything else a 1M-signal replay holds; a month of ticks would not fit at all. A
recorded tick file is written in time order. Read forward as the clock moves, with what
the clock has left behind let go, a replay holds a window of quotes instead of the file:
memory stops growing with the file's length.

Two passes over the file:
- `scan` reads it once before the replay and keeps nothing of it. It makes every check a
  whole load makes, so a bad line is refused with its number before any signal is
  traded, not halfway through. It learns what the engine asks before any quote is due:
  the symbols, and for each one its count and first and last times. It also learns
  whether the file is in time order at all; one that is not is loaded whole and sorted
  in memory, as before (`MarketData.load`).
- `QuoteStream` reads it again, forward, one block of the file at a time, when a question
  about a later time comes (`quote_in_force`, `last_at`); the amounts are not checked
  again, and the file must be the one checked (its size and modification time).

A tick size inferred from the quotes (a symbol no configuration describes) needs the
finest price step in the whole file: one more pass finds it, only when asked.

What is let go: the quotes more than `RETAIN_S` of market time before the latest time
asked about *before* the current read. The simulated venue asks about times from its
last match onwards (`SimulatedVenue.advance`: the quotes since its cursor, after asking
where now is), so the window covers everything back to the previous question; the
hour beyond it is a margin for an order's latency. Asking for a quote already let go is
an error naming the time, never a silently wrong quote.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ordergate.venues.market_data import MarketDataError, Quote
from ordergate.venues.quote_files import (
    AMOUNTS, COLUMNS, EPOCH, ColumnQuotes, amounts_column, csv_options, first_bad,
    first_bad_line, give_back, int64s, parquet_checked, times_column,
)

RETAIN_S = 3600
"""Market seconds of quotes kept before the latest time asked (see the module docstring)."""
_STREAM_BLOCK = 1 << 20
"""Bytes of CSV a block. Arrow's reader peaks far above its block: reading 141 MB of quotes
peaked at 69 MB of RSS with 256 KB blocks, 96 MB with 1 MB and 207 MB with 4 MB, in about
the same time."""
_PARQUET_BATCH = 16_384
_RETAIN_US = RETAIN_S * 1_000_000
_END = 1 << 62  # later than any quote


@dataclass(slots=True)
class SymbolFacts:
    """What the scan learned of one symbol's quotes."""

    count: int
    first_us: int
    last_us: int


@dataclass(slots=True)
class _Block:
    """One block of the file, checked: times in microseconds, symbols, amounts."""

    times: pa.Array  # int64
    symbols: pa.DictionaryArray
    amounts: list[pa.Array]


def scan(path: Path) -> dict[str, SymbolFacts] | None:
    """Check every quote of `path` and learn each symbol's facts; None if the file is not
    in time order (it must then be sorted in memory). Raises `MarketDataError` naming the
    line (CSV) or row (Parquet) as a whole load does."""
    facts: dict[str, SymbolFacts] = {}
    last = None
    for block in _blocks(path):
        times = block.times
        if len(times) == 0:
            continue
        first_us = times[0].as_py()
        if (last is not None and first_us < last) or (len(times) > 1 and pc.any(
                pc.less(times.slice(1), times.slice(0, len(times) - 1))).as_py()):
            return None
        last = times[-1].as_py()
        for name, rows in _by_symbol(block):
            seen = facts.get(name)
            if seen is None:
                facts[name] = SymbolFacts(len(rows), times[rows[0].as_py()].as_py(),
                                          times[rows[-1].as_py()].as_py())
            else:
                seen.count += len(rows)
                seen.last_us = times[rows[-1].as_py()].as_py()
        del block
        give_back()
    return facts


def price_exponents(path: Path) -> dict[str, int]:
    """Each symbol's smallest bid or ask exponent (`Decimal.as_tuple().exponent`), by one
    more pass over the file: asked only to infer a tick size no configuration gives."""
    found: dict[str, int] = {}
    for block in _blocks(path, checked=False):
        exponents = pc.min_element_wise(_exponents(block.amounts[0]), _exponents(block.amounts[1]))
        for name, rows in _by_symbol(block):
            exponent = pc.min(exponents.take(rows)).as_py()
            found[name] = min(exponent, found.get(name, exponent))
    return found


def _exponents(column: pa.Array) -> pa.Array:
    """Each amount's `Decimal` exponent, computed on the column: minus the digits after the
    point of the text (0 without one); a decimal column's scale; 0 for integers. The rare
    value written with an exponent (`1E+3`) is read by `Decimal` itself."""
    if pa.types.is_decimal(column.type):
        return pa.array([-column.type.scale] * len(column), pa.int64())
    if pa.types.is_integer(column.type):
        return pa.array([0] * len(column), pa.int64())
    text = pc.utf8_trim_whitespace(column)
    point = pc.find_substring(text, ".")
    after = pc.subtract(pc.subtract(pc.utf8_length(text), point), 1)
    digits = pc.if_else(pc.less(point, 0), 0, after)
    result = pc.negate(digits).cast(pa.int64())
    written = pc.match_substring_regex(text, "[eE]")
    if pc.any(written).as_py():
        values = result.to_pylist()
        for index in pc.indices_nonzero(written).to_pylist():
            exponent = Decimal(text[index].as_py()).as_tuple().exponent
            values[index] = exponent if isinstance(exponent, int) else 0
        result = pa.array(values, pa.int64())
    return result


def _blocks(path: Path, checked: bool = True) -> Iterator[_Block]:
    """The file's quotes a block at a time; each block's amounts checked to be numbers
    unless `checked` is False (a pass over a file `scan` has checked)."""
    if path.suffix.lower() == ".parquet":
        yield from _parquet_blocks(path, checked)
    else:
        yield from _csv_blocks(path, checked)


def _csv_blocks(path: Path, checked: bool) -> Iterator[_Block]:
    options = csv_options(path)
    reading = pa_csv.ReadOptions(block_size=_STREAM_BLOCK, use_threads=False)
    try:
        with pa_csv.open_csv(path, read_options=reading, convert_options=options) as reader:
            for batch in reader:
                yield _block(path, pa.Table.from_batches([batch]), checked)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise first_bad_line(path) or MarketDataError(f"{path}: {exc}") from None


def _parquet_blocks(path: Path, checked: bool) -> Iterator[_Block]:
    import pyarrow.parquet as pq  # only for Parquet: its libraries add 15 MB to every process

    try:
        # column chunks read through a buffer, not whole: a row group of 1M quotes peaked
        # at 152 MB of RSS read whole, 114 MB buffered
        parquet = pq.ParquetFile(path, buffer_size=_STREAM_BLOCK, pre_buffer=False)
        parquet_checked(path, parquet.schema_arrow)
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH, columns=list(COLUMNS),
                                          use_threads=False):
            yield _block(path, pa.Table.from_batches([batch]), checked)
    except (OSError, pa.ArrowInvalid) as exc:
        raise MarketDataError(f"{path}: {exc}") from None


def _block(path: Path, table: pa.Table, checked: bool) -> _Block:
    try:
        times = times_column(path, table).cast(pa.int64()).combine_chunks()
        symbols = pc.dictionary_encode(table["symbol"].cast(pa.string())).combine_chunks()
        amounts = [(amounts_column(path, table, name) if checked else table[name]).combine_chunks()
                   for name in AMOUNTS]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise first_bad(path, table) from None
    return _Block(times, symbols, amounts)


def _by_symbol(block: _Block) -> Iterator[tuple[str, pa.Array]]:
    """Each symbol of the block and its rows, in the file's (time) order: a stable sort on
    the symbol's code alone."""
    codes = block.symbols.indices
    order = pc.sort_indices(codes)
    counts = {int(row["values"]): int(row["counts"]) for row in pc.value_counts(codes).to_pylist()}
    start = 0
    for code, name in enumerate(block.symbols.dictionary.to_pylist()):
        count = counts.get(code, 0)
        if count:
            yield str(name), order.slice(start, count)
        start += count


class QuoteStream:
    """The file read forward, a block at a time, into each symbol's `StreamedQuotes`."""

    def __init__(self, path: Path, facts: dict[str, SymbolFacts]) -> None:
        self._path = path
        self._stat = _identity(path)
        self._blocks: Iterator[_Block] | None = None
        self.series = {name: StreamedQuotes(name, self, f) for name, f in facts.items()}
        self.read_through_us = -_END
        """Every quote at or before this time (µs) has been read."""
        self._done = False
        self._asked_us: int | None = None  # the latest time asked about so far
        self._exponents: dict[str, int] | None = None

    def read_past(self, us: int) -> None:
        """Read until every quote at or before `us` is in (or the file has ended).

        `us` is then the latest time asked about: it sets what the next read may let go.
        A question answered from what is already read does not move that mark, so the
        mark may lag the latest question, never lead it: what is kept only grows."""
        while not self._done and self.read_through_us <= us:
            self._read_block()
        if self._done:
            self.read_through_us = _END
        if self._asked_us is None or us > self._asked_us:
            self._asked_us = us

    def price_exponent(self, symbol: str) -> int:
        if self._exponents is None:
            if _identity(self._path) != self._stat:
                raise MarketDataError(f"{self._path}: changed since it was checked")
            self._exponents = price_exponents(self._path)
        return self._exponents[symbol]

    def read_more(self) -> bool:
        """Read one more block; False at the end of the file."""
        if self._done:
            return False
        self._read_block()
        return True

    def _read_block(self) -> None:
        if self._blocks is None:
            if _identity(self._path) != self._stat:
                raise MarketDataError(f"{self._path}: changed since it was checked")
            self._blocks = _blocks(self._path, checked=False)
        block = next(self._blocks, None)
        if block is None:
            self._done = True
            self._blocks = None
            return
        if self._asked_us is not None:
            floor = self._asked_us - _RETAIN_US
            for series in self.series.values():
                series.let_go_before(floor)
        times = block.times
        if len(times) == 0:
            return
        if times[0].as_py() < self.read_through_us:
            raise MarketDataError(f"{self._path}: no longer in time order since it was checked")
        for name, rows in _by_symbol(block):
            self.series[name].append(ColumnQuotes(name, int64s(times.take(rows)), rows,
                                                  block.amounts))
        self.read_through_us = times[-1].as_py()
        give_back()


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class StreamedQuotes:
    """One symbol's quotes from a `QuoteStream`: absolute indices as in the whole file,
    held as the chunks (`ColumnQuotes`, one per block of the file) not yet let go."""

    __slots__ = ("symbol", "_stream", "_facts", "_chunks", "_bases", "_firsts", "_read",
                 "_let_go")

    def __init__(self, symbol: str, stream: QuoteStream, facts: SymbolFacts) -> None:
        self.symbol = symbol
        self._stream = stream
        self._facts = facts
        self._chunks: list[ColumnQuotes] = []
        self._bases: list[int] = []  # each chunk's first index
        self._firsts: list[int] = []  # each chunk's first time
        self._read = 0  # quotes of this symbol read so far
        self._let_go = False

    def __len__(self) -> int:
        return self._facts.count

    def __getitem__(self, index: int) -> Quote:
        while index >= self._read and self._stream.read_more():
            pass
        at = bisect_right(self._bases, index) - 1
        if at < 0 or index >= self._read:
            raise self._gone(f"quote {index}") if at < 0 else IndexError(index)
        return self._chunks[at][index - self._bases[at]]

    def last_at(self, us: int) -> int:
        at = self._chunk_at(us)
        return -1 if at < 0 else self._bases[at] + bisect_right(self._chunks[at].times, us) - 1

    def quote_in_force(self, us: int) -> Quote | None:
        at = self._chunk_at(us)
        if at < 0:
            return None
        chunk = self._chunks[at]
        return chunk[bisect_right(chunk.times, us) - 1]

    def _chunk_at(self, us: int) -> int:
        """The chunk holding the quote in force at `us` (-1: none yet), read up to it."""
        stream = self._stream
        if us >= stream.read_through_us:
            stream.read_past(us)
        at = bisect_right(self._firsts, us) - 1
        if at < 0 and self._let_go:
            raise self._gone(f"the quote in force at {us} µs since the epoch")
        return at

    def first_ts(self) -> datetime:
        return EPOCH + timedelta(microseconds=self._facts.first_us)

    def last_ts(self) -> datetime:
        return EPOCH + timedelta(microseconds=self._facts.last_us)

    def price_exponent(self) -> int:
        return self._stream.price_exponent(self.symbol)

    def append(self, chunk: ColumnQuotes) -> None:
        self._chunks.append(chunk)
        self._bases.append(self._read)
        self._firsts.append(chunk.times[0])
        self._read += len(chunk)

    def let_go_before(self, floor_us: int) -> None:
        """Drop the chunks wholly before `floor_us`, keeping the quote in force at it."""
        drop = 0
        while drop + 1 < len(self._chunks) and self._firsts[drop + 1] <= floor_us:
            drop += 1
        if drop:
            del self._chunks[:drop], self._bases[:drop], self._firsts[:drop]
            self._let_go = True

    def _gone(self, what: str) -> MarketDataError:
        return MarketDataError(
            f"{self.symbol}: {what} was let go: a streamed quotes file keeps {RETAIN_S} s of "
            "market time before the latest time asked (quote_stream.RETAIN_S)")

