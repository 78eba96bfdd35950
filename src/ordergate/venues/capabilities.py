"""What an adapter can do natively, asked before anything is sent.

The engine decides whether to send a stop to the venue or hold it itself
(`pipeline/stop_emulator.py`) from these answers, not by sending one and catching
`StopOrdersUnsupported`: a refusal would leave the order REJECTED, and the decision is
needed when the order is journaled, before any venue call.

An adapter declares a capability it lacks with a method of that name returning False
(`native_stop_orders()`, `market_orders()`: the Polymarket adapter; the ccxt adapter
answers from ccxt's `features`). One that declares nothing has it: the simulated venue
has native stops and market orders. Guards and test wrappers are looked through (they
keep the adapter they wrap as `inner`), as `balance_scoped` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast


def _declared(venue: object, capability: str) -> bool:
    for _ in range(8):  # a wrapper chain is a few deep; never loop on a cycle
        answer = getattr(type(venue), capability, None)
        if callable(answer):
            return bool(cast(Callable[[], object], getattr(venue, capability))())
        venue = getattr(venue, "inner", None)
        if venue is None:
            break
    return True


def native_stop_orders(venue: object) -> bool:
    """Does the venue take stop_market and stop_limit orders (a trigger price) natively?"""
    return _declared(venue, "native_stop_orders")


def market_orders(venue: object) -> bool:
    """Does the venue take market orders? Without them a market order is a marketable
    IOC limit."""
    return _declared(venue, "market_orders")
