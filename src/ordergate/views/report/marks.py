"""Marks for mark-to-market PnL and the price lines: the mid of the quote in force at each
grid instant, read again from the quotes file the replay ran against.

Why read the file again rather than have the replay write marks: the replay's hot path
stays as it is (no per-quote or per-signal work for a report that may never be made), and
Arrow's C++ reader takes a million quotes in a fraction of a second. Only the columns
needed are read, the prices stay text, and only the sampled quotes (a few thousand per
symbol) become `Decimal`: a price never passes through float here.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ordergate.views.report.sources import ReportError
from ordergate.views.report.timeline import micros_of

_COLUMNS = ("ts", "symbol", "bid", "ask")
_TIME = pa.timestamp("us", tz="UTC")
TWO = Decimal(2)


@dataclass(frozen=True, slots=True)
class _Series:
    times: array[int]
    rows: pa.Array  # where each quote is in the file's columns, in time order


class Marks:
    """Each symbol's quotes as columns, sampled on demand."""

    def __init__(self, path: Path) -> None:
        table = _read(path)
        self._path = path
        self._bids = table["bid"].cast(pa.string()).combine_chunks()
        self._asks = table["ask"].cast(pa.string()).combine_chunks()
        times = _times(path, table["ts"])
        codes = pc.dictionary_encode(table["symbol"].cast(pa.string())).combine_chunks()
        keys = pa.table({"symbol": codes.indices, "ts": times.cast(pa.int64())})
        order = pc.sort_indices(keys, sort_keys=[("symbol", "ascending"), ("ts", "ascending")])
        sorted_times = _int64s(keys["ts"].take(order))
        counts = {int(r["values"]): int(r["counts"])
                  for r in pc.value_counts(codes.indices).to_pylist()}
        self._series: dict[str, _Series] = {}
        start = 0
        for code, name in enumerate(codes.dictionary.to_pylist()):
            count = counts.get(code, 0)
            if count:
                self._series[str(name)] = _Series(sorted_times[start:start + count],
                                                  order.slice(start, count))
            start += count

    @property
    def symbols(self) -> list[str]:
        return sorted(self._series)

    def span(self) -> tuple[int, int] | None:
        """First and last quote time, in microseconds; None for a file without quotes."""
        if not self._series:
            return None
        return (min(s.times[0] for s in self._series.values()),
                max(s.times[-1] for s in self._series.values()))

    def mids_at(self, symbol: str, instants: list[int]) -> list[Decimal | None]:
        """The mid of the quote in force at each instant (None before the first quote)."""
        series = self._series.get(symbol)
        if series is None:
            return [None] * len(instants)
        positions = [bisect_right(series.times, t) - 1 for t in instants]
        wanted = [p for p in positions if p >= 0]
        rows = series.rows.take(pa.array(wanted, pa.int64()))
        bids, asks = self._bids.take(rows).to_pylist(), self._asks.take(rows).to_pylist()
        try:
            mids = iter([(Decimal(b) + Decimal(a)) / TWO for b, a in zip(bids, asks)])
        except InvalidOperation:
            raise ReportError(f"{self._path}: a bid or ask that is not a number") from None
        return [next(mids) if p >= 0 else None for p in positions]


def _read(path: Path) -> pa.Table:
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq
            return pq.read_table(path, columns=list(_COLUMNS))
        options = pa_csv.ConvertOptions(column_types={c: pa.string() for c in _COLUMNS},
                                        include_columns=list(_COLUMNS), strings_can_be_null=False)
        return pa_csv.read_csv(path, convert_options=options)
    except (OSError, pa.ArrowInvalid, KeyError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read the quotes: {exc}") from None


def _times(path: Path, column: Any) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        return column.cast(_TIME)
    try:
        return column.cast(pa.string()).cast(_TIME)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # a form Arrow does not read; Python's ISO parser may
    try:
        values = [micros_of(str(v)) for v in column.to_pylist()]
    except ValueError as exc:
        raise ReportError(f"{path}: a quote time that is not ISO-8601: {exc}") from None
    return pa.chunked_array([pa.array(values, pa.int64()).cast(_TIME)])


def _int64s(values: pa.Array | pa.ChunkedArray) -> array[int]:
    flat = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    result: array[int] = array("q")
    result.frombytes(flat.buffers()[1].to_pybytes()[flat.offset * 8:(flat.offset + len(flat)) * 8])
    return result
