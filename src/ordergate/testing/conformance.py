"""Venue harnesses for the adapter conformance suite: one per adapter, same shape.

A `VenueHarness` wraps a real adapter running against its local venue (the simulated
venue on a simulated clock; `CcxtVenue` with ccxt's real binance class against
`BinanceEmulator`; `PolymarketVenue` against `PolymarketEmulator`) and offers what a
venue-agnostic specification needs:

- `resting(cid)`: an order that rests (a limit order far from the touch);
- `taking(cid)`: an order that takes liquidity and fills at once (a market order, or a
  marketable FOK limit order where the venue has no market orders);
- `rejected(cid)`: an order the venue refuses (below the minimum size);
- `too_big(cid, tif)`: a marketable IOC/FOK limit order larger than the liquidity at its price
  (with `post_only` and GTC: a post-only order that would take);
- `fill_resting(report, partially=...)`: another participant trades against a resting order;
- `stop(cid, order_type, crossed=...)`: a buy stop (stop_market or stop_limit) whose trigger
  is above the market, or (`crossed`) already reached by it;
- `cross_trigger()`: the market rises through that trigger (a trade, or a quote, there);
- `inject(kind, operation)`: make the next call of one operation fail in one way;
- `orders_at_venue(cid)`: how many venue orders carry a client order ID (for "exactly one");
- `capabilities`: where adapters legitimately differ.

Each factory is an async context manager: emulators bind 127.0.0.1 on a free port and
stop, and the adapter closes, when it exits. Credentials go through environment variables
set with the caller's `setenv` (pytest's `monkeypatch.setenv`), never through settings.

Here: the factories by id (`HARNESSES`). The shape every harness has is
`conformance_harness`; the harnesses are `conformance_simulated`,
`conformance_ccxt_binance` and `conformance_polymarket`. Their names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from ordergate.testing.conformance_ccxt_binance import (
    BINANCE_KEY_ENV,
    BINANCE_SECRET_ENV,
    ccxt_binance_harness,
)
from ordergate.testing.conformance_harness import (
    READS,
    Capabilities,
    D,
    FaultKind,
    Operation,
    SetEnv,
    VenueHarness,
    _request,
    _stop_maker,
)
from ordergate.testing.conformance_polymarket import (
    PM_CONDITION,
    PM_ENV,
    PM_NO,
    PM_YES,
    polymarket_harness,
)
from ordergate.testing.conformance_simulated import (
    SIM_REST_PRICE,
    SIM_SPEC,
    SIM_SYMBOL,
    SIM_T0,
    SIM_TOUCH,
    simulated_harness,
)

__all__ = [
    "BINANCE_KEY_ENV", "BINANCE_SECRET_ENV", "D", "HARNESSES", "PM_CONDITION", "PM_ENV",
    "PM_NO", "PM_YES", "READS", "SIM_REST_PRICE", "SIM_SPEC", "SIM_SYMBOL", "SIM_T0",
    "SIM_TOUCH", "Capabilities", "FaultKind", "Operation", "SetEnv", "VenueHarness",
    "_request", "_stop_maker", "ccxt_binance_harness", "polymarket_harness",
    "simulated_harness",
]

HARNESSES: dict[str, Callable[[SetEnv], AbstractAsyncContextManager[VenueHarness]]] = {
    "simulated": lambda setenv: simulated_harness(),
    "ccxt-binance": ccxt_binance_harness,
    "polymarket": polymarket_harness,
}
"""Harness factories by id: `async with HARNESSES[name](monkeypatch.setenv) as venue: ...`"""
