"""The ordered chain of handlers, the context a signal carries through it, and verdicts.

The chain is explicit and sequential (not blinker: blinker promises no order and stops
at the first raising receiver). Each handler sees only the `SignalContext` and returns a
`Verdict`; the first denial ends the signal's journey. The chain, not the handlers,
publishes `SignalAdmitted`/`SignalRejected`, so every verdict is audited the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.domain.exposure import SymbolExposure
from ordergate.domain.instrument import Instrument
from ordergate.domain.order import Order
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.events import SignalAdmitted, SignalRejected
from ordergate.pipeline.reasons import ReasonCode
from ordergate.records import record
from ordergate.venues.base import OrderReport, VenueAdapter


@record
class Verdict:
    admitted: bool
    reason: str
    code: ReasonCode | None = None

    @staticmethod
    def admit(reason: str) -> Verdict:
        return Verdict(True, reason)

    @staticmethod
    def deny(code: ReasonCode, reason: str) -> Verdict:
        return Verdict(False, reason, code)


class MarketAccess(Protocol):
    """What handlers may ask about the world beyond the signal. Provided by the engine;
    in replay it answers from the simulated venue and the position tracker."""

    def venue(self, name: str) -> VenueAdapter | None: ...

    def venue_enabled(self, name: str) -> bool: ...

    def venue_disabled_reason(self, name: str) -> str:
        """Why a venue is not enabled (config, instruments that did not load, credentials)."""
        ...

    def instrument(self, venue: str, symbol: str) -> Instrument | None: ...

    async def reference_price(self, venue: str, symbol: str) -> Decimal | None: ...

    async def equity(self, account_id: str, venue: str, currency: str) -> Decimal | None: ...

    def exposure(self, account_id: str, venue: str, symbol: str) -> SymbolExposure:
        """The account's position in the symbol and its working orders' remaining sizes."""
        ...

    def open_symbols(self, account_id: str) -> set[tuple[str, str]]:
        """(venue, symbol) pairs where the account holds a position or has a working order."""
        ...

    def committed(self, account_id: str, venue: str, currency: str) -> Decimal:
        """What the account's working buys at the venue may still spend in `currency`."""
        ...


@dataclass(slots=True)
class SignalContext:
    """A signal's journey. Handlers fill in what later handlers need."""

    signal: TradingSignalGenerated
    now: datetime
    market: MarketAccess
    venue: VenueAdapter | None = None
    instrument: Instrument | None = None
    reference_price: Decimal | None = None
    quantity: Decimal | None = None
    stop_loss: Decimal | None = None
    order: Order | None = None
    report: OrderReport | None = None


class Handler(Protocol):
    name: str

    async def handle(self, ctx: SignalContext) -> Verdict: ...


@record
class Outcome:
    """How a signal's journey ended: admitted by every handler, or refused by one."""

    admitted: bool
    handler: str
    reason: str
    code: ReasonCode | None
    order: Order | None


class Pipeline:
    def __init__(self, handlers: Sequence[Handler], bus: EventBus, clock: Clock) -> None:
        self.handlers = tuple(handlers)
        self._bus = bus
        self._clock = clock

    async def process(self, ctx: SignalContext) -> Outcome:
        signal_id = ctx.signal.signal_id
        publish = self._bus.publish
        name, verdict = "pipeline", Verdict.admit("no handlers")
        for handler in self.handlers:
            name = handler.name
            verdict = await handler.handle(ctx)
            if not verdict.admitted:
                assert verdict.code is not None
                publish(SignalRejected(self._clock.now(), signal_id, name, verdict.code.value,
                                       verdict.reason))
                return Outcome(False, name, verdict.reason, verdict.code, ctx.order)
            publish(SignalAdmitted(self._clock.now(), signal_id, name, verdict.reason))
        return Outcome(True, name, verdict.reason, None, ctx.order)
