"""Recorded quotes for the simulated venue: per symbol, in time order.

A series (`QuoteSeries`) answers "the quote in force at time t" (timestamps as integer
microseconds, one bisect) and reads as a sequence of `Quote`s. Quotes given as objects
(tests, scenarios) are kept as a list. Quotes read from a file stay in columns and become
`Quote`s a block at a time as the replay reaches them, rather than the half a kilobyte
per quote the objects would take: a file in time order is streamed, only a window of it
held (`quote_stream.py`); one out of order is read whole and sorted (`quote_files.py`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol, overload


@dataclass(frozen=True, slots=True)
class Quote:
    ts: datetime
    symbol: str
    bid: Decimal
    ask: Decimal
    bid_size: Decimal
    ask_size: Decimal


class MarketDataError(ValueError):
    pass


def micros(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000 + ts.microsecond


class QuoteSeries(Protocol):
    """One symbol's quotes, oldest first."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Quote: ...

    def last_at(self, us: int) -> int:
        """Index of the last quote at or before `us` (microseconds), -1 if none."""
        ...

    def quote_in_force(self, us: int) -> Quote | None:
        """The last quote at or before `us`, None if none."""
        ...

    def first_ts(self) -> datetime: ...

    def last_ts(self) -> datetime: ...

    def price_exponent(self) -> int:
        """The smallest exponent of any bid or ask: the finest price step quoted."""
        ...


def price_exponent(quotes: Iterable[Quote]) -> int:
    return min(min(int(q.bid.as_tuple().exponent), int(q.ask.as_tuple().exponent))
               for q in quotes)


class QuoteList:
    """A series held as `Quote` objects (built in code rather than read from a file)."""

    __slots__ = ("_quotes", "times")

    def __init__(self, quotes: list[Quote]) -> None:
        quotes.sort(key=lambda q: q.ts)  # stable: quotes with one timestamp keep their order
        self._quotes = quotes
        self.times: Sequence[int] = [micros(q.ts) for q in quotes]

    def __len__(self) -> int:
        return len(self._quotes)

    def __getitem__(self, index: int) -> Quote:
        return self._quotes[index]

    def last_at(self, us: int) -> int:
        return bisect_right(self.times, us) - 1

    def quote_in_force(self, us: int) -> Quote | None:
        index = bisect_right(self.times, us) - 1
        return None if index < 0 else self._quotes[index]

    def first_ts(self) -> datetime:
        return self._quotes[0].ts

    def last_ts(self) -> datetime:
        return self._quotes[-1].ts

    def price_exponent(self) -> int:
        return price_exponent(self._quotes)


class MarketData:
    def __init__(self, quotes: list[Quote]) -> None:
        by_symbol: dict[str, list[Quote]] = {}
        for quote in quotes:
            by_symbol.setdefault(quote.symbol, []).append(quote)
        self._series: dict[str, QuoteSeries] = {s: QuoteList(q) for s, q in by_symbol.items()}

    @classmethod
    def of_series(cls, series: dict[str, QuoteSeries]) -> MarketData:
        market = cls([])
        market._series = {symbol: s for symbol, s in series.items() if len(s)}
        return market

    @classmethod
    def load(cls, path: Path | str, stream: bool = True) -> MarketData:
        """Quotes from a CSV or a Parquet file (by its suffix): columns
        `ts,symbol,bid,ask,bid_size,ask_size`. Every line is checked now. A file in time
        order is then read a block at a time as the clock reaches it, and what the clock
        has passed is let go (`quote_stream.py`); one out of order (or `stream=False`) is
        read whole into columns and sorted (`quote_files.py`)."""
        from ordergate.venues.quote_files import load_quotes
        from ordergate.venues.quote_stream import QuoteStream, scan
        path = Path(path)
        facts = scan(path) if stream else None
        if facts is None:
            return cls.of_series(load_quotes(path))
        return cls.of_series(dict(QuoteStream(path, facts).series))

    @property
    def symbols(self) -> list[str]:
        return sorted(self._series)

    def series(self, symbol: str) -> Sequence[Quote]:
        """Every quote of `symbol`, oldest first (indexable, `len`; a quote read from a
        file is built when it is first reached, a block at a time)."""
        found = self._series.get(symbol)
        return _SeriesView(found) if found is not None else []

    def index_at(self, symbol: str, ts: datetime) -> int:
        """Index of the last quote at or before `ts`, or -1 if there is none yet."""
        found = self._series.get(symbol)
        if found is None:
            return -1
        return found.last_at(micros(ts))

    def quote_at(self, symbol: str, ts: datetime) -> Quote | None:
        found = self._series.get(symbol)
        return None if found is None else found.quote_in_force(micros(ts))

    def price_exponent(self, symbol: str) -> int:
        """The smallest exponent of any bid or ask of `symbol`: its finest price step."""
        return self._series[symbol].price_exponent()

    def first_ts(self) -> datetime | None:
        firsts = [series.first_ts() for series in self._series.values()]
        return min(firsts) if firsts else None

    def last_ts(self) -> datetime | None:
        lasts = [series.last_ts() for series in self._series.values()]
        return max(lasts) if lasts else None


class _SeriesView(Sequence[Quote]):
    """A series as a read-only `Sequence` (slices are lists of quotes)."""

    __slots__ = ("_series",)

    def __init__(self, series: QuoteSeries) -> None:
        self._series = series

    def __len__(self) -> int:
        return len(self._series)

    @overload
    def __getitem__(self, index: int) -> Quote: ...

    @overload
    def __getitem__(self, index: slice) -> list[Quote]: ...

    def __getitem__(self, index: int | slice) -> Quote | list[Quote]:
        series, size = self._series, len(self._series)
        if isinstance(index, slice):
            return [series[i] for i in range(*index.indices(size))]
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        return series[index]
