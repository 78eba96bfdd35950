"""Recorded quotes (CSV `ts,symbol,bid,ask,bid_size,ask_size`) for the simulated venue.

Quotes are held per symbol, sorted by time, with their timestamps as integer
microseconds so "the quote in force at time t" is one bisect.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path


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


class MarketData:
    def __init__(self, quotes: list[Quote]) -> None:
        by_symbol: dict[str, list[Quote]] = {}
        for quote in quotes:
            by_symbol.setdefault(quote.symbol, []).append(quote)
        self._quotes: dict[str, list[Quote]] = {}
        self._times: dict[str, list[int]] = {}
        for symbol, series in by_symbol.items():
            series.sort(key=lambda q: q.ts)
            self._quotes[symbol] = series
            self._times[symbol] = [micros(q.ts) for q in series]

    @classmethod
    def from_csv(cls, path: Path | str) -> MarketData:
        quotes: list[Quote] = []
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"ts", "symbol", "bid", "ask", "bid_size", "ask_size"} - set(reader.fieldnames or ())
            if missing:
                raise MarketDataError(f"{path}: missing column(s) {sorted(missing)}")
            for line, row in enumerate(reader, start=2):
                try:
                    ts = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
                    quote = Quote(ts, row["symbol"], Decimal(row["bid"]), Decimal(row["ask"]),
                                  Decimal(row["bid_size"]), Decimal(row["ask_size"]))
                except (ValueError, InvalidOperation) as exc:
                    raise MarketDataError(f"{path}:{line}: bad quote: {exc}") from None
                if ts.tzinfo is None or not quote.bid.is_finite() or not quote.ask.is_finite():
                    raise MarketDataError(f"{path}:{line}: quote needs a timezone and finite prices")
                quotes.append(quote)
        return cls(quotes)

    @property
    def symbols(self) -> list[str]:
        return sorted(self._quotes)

    def series(self, symbol: str) -> list[Quote]:
        return self._quotes.get(symbol, [])

    def index_at(self, symbol: str, ts: datetime) -> int:
        """Index of the last quote at or before `ts`, or -1 if there is none yet."""
        times = self._times.get(symbol)
        if not times:
            return -1
        return bisect_right(times, micros(ts)) - 1

    def quote_at(self, symbol: str, ts: datetime) -> Quote | None:
        index = self.index_at(symbol, ts)
        return None if index < 0 else self._quotes[symbol][index]

    def first_ts(self) -> datetime | None:
        firsts = [series[0].ts for series in self._quotes.values() if series]
        return min(firsts) if firsts else None
