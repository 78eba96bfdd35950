"""The resting-order benchmark: what one quote costs `SimulatedVenue.advance` with N limit
orders resting far from the touch and a few that every quote crosses, as one JSON object.

Matching should cost O(log n + crossed) per quote, so the time per quote should barely move
from 10 to 10,000 resting orders; `orders_examined_per_quote` (the venue's own count of the
orders it looked at) says the same without a clock. The venue is built directly on
in-memory quotes, so nothing but matching is timed: placing the orders is not.

    python -m ordergate.bench.resting --resting 10,100,1000,10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ordergate.clock import SimulatedClock
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.venues.base import OrderRequest
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.simulated import InstrumentSpec, SimulatedVenue, SimulatedVenueSettings

SYMBOL = "BENCH/USDT"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CROSSING = 4
"""Buys that every quote crosses, each far too big to fill within the run, so every quote
fills the same few orders whatever rests behind them."""


def tape(quotes: int) -> list[Quote]:
    """A touch that ticks between 100.00/100.01 and 100.01/100.02, ten quotes a second."""
    one = Decimal("0.01")
    return [Quote(T0 + timedelta(milliseconds=100 * i), SYMBOL, Decimal(100) + one * (i % 2),
                  Decimal("100.01") + one * (i % 2), Decimal(1), Decimal(1))
            for i in range(quotes + 1)]


def limit(n: int, side: Side, price: Decimal, quantity: Decimal) -> OrderRequest:
    return OrderRequest(f"bench-{n}", "main", SYMBOL, side, OrderType.LIMIT, quantity, price,
                        TimeInForce.GTC)


async def build(resting: int, quotes: int) -> tuple[SimulatedVenue, SimulatedClock]:
    """A venue at the first quote with `resting` orders 40-50% away from the touch (buys and
    sells alternately, over a thousand price levels) and `CROSSING` buys at 100.02."""
    spec = InstrumentSpec(symbol=SYMBOL, tick_size=Decimal("0.01"), lot_size=Decimal("0.01"),
                          min_notional=Decimal(0))
    settings = SimulatedVenueSettings(instruments=[spec],
                                      balances={"main": {"USDT": Decimal(10) ** 12}})
    clock = SimulatedClock(T0)
    venue = SimulatedVenue(settings, clock, MarketData(tape(quotes)))
    await venue.load_instruments()
    for n in range(resting):
        away = Decimal(n % 1000) / 100
        side, price = (Side.BUY, 50 + away) if n % 2 else (Side.SELL, 150 + away)
        await venue.place_order(limit(n, side, price, Decimal("0.01")))
    for n in range(resting, resting + CROSSING):
        await venue.place_order(limit(n, Side.BUY, Decimal("100.02"), Decimal(quotes + 1)))
    return venue, clock


def run(resting: int, quotes: int) -> tuple[float, float]:
    """One timed pass over `quotes` quotes: (microseconds per quote, orders examined per
    quote), the clock moved one quote at a time as a replay moves it."""
    venue, clock = asyncio.run(build(resting, quotes))
    times = [q.ts for q in tape(quotes)[1:]]
    examined = venue.orders_examined
    start = time.perf_counter_ns()
    for ts in times:
        clock.advance_to(ts)
        venue.advance()
    elapsed_ns = time.perf_counter_ns() - start
    return elapsed_ns / 1000 / quotes, (venue.orders_examined - examined) / quotes


def measure(sizes: list[int], quotes: int, repeat: int) -> dict[str, object]:
    """The median of `repeat` passes per size, and the ratio of the largest to the smallest.
    One untimed pass first, so the first size measured does not pay for a cold process."""
    run(min(sizes), quotes)
    figures: dict[str, dict[str, float]] = {}
    for size in sizes:
        passes = [run(size, quotes) for _ in range(repeat)]
        figures[str(size)] = {
            "us_per_quote": round(statistics.median(us for us, _ in passes), 2),
            "orders_examined_per_quote": statistics.median(n for _, n in passes),
        }
    low, high = str(min(sizes)), str(max(sizes))
    ratio = figures[high]["us_per_quote"] / figures[low]["us_per_quote"]
    return {"resting_orders": figures, f"ratio_{high}_vs_{low}": round(ratio, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resting", default="10,100,1000,10000",
                        help="resting-order counts, comma-separated")
    parser.add_argument("--quotes", type=int, default=2_000, help="quotes timed per pass")
    parser.add_argument("--repeat", type=int, default=5, help="passes per count (median)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.resting.split(",")]
    if not sizes or min(sizes) < 0 or args.quotes < 1 or args.repeat < 1:
        parser.error("--resting needs counts >= 0, --quotes and --repeat at least 1")
    print(json.dumps(measure(sizes, args.quotes, args.repeat)))


if __name__ == "__main__":
    main()
