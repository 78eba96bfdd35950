"""The validator: is this signal well-formed for this venue and this moment?

Types and ranges were checked at the boundary (`parse_signal_json`); this handler checks
what needs the engine's knowledge: the venue, the instrument's limits, the clock.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ordergate.config import ValidatorSettings
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.pipeline.chain import SignalContext, Verdict
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.venues.guarded import GuardedVenue


class Validator:
    name = "validator"

    def __init__(self, settings: ValidatorSettings) -> None:
        self._s = settings
        self._max_age = timedelta(seconds=settings.max_signal_age_s)
        self._max_skew = timedelta(seconds=settings.max_clock_skew_s)

    async def handle(self, ctx: SignalContext) -> Verdict:
        signal = ctx.signal
        venue = ctx.market.venue(signal.venue)
        if venue is None:
            return Verdict.deny(R.UNKNOWN_VENUE, f"venue {signal.venue!r} is not configured")
        if not ctx.market.venue_enabled(signal.venue):
            return Verdict.deny(R.VENUE_DISABLED, f"venue {signal.venue!r} is disabled: "
                                f"{ctx.market.venue_disabled_reason(signal.venue)}")
        if isinstance(venue, GuardedVenue) and (refusal := venue.breaker.would_refuse()):
            return Verdict.deny(R.VENUE_CIRCUIT_OPEN, str(refusal))
        instrument = ctx.market.instrument(signal.venue, signal.symbol)
        if instrument is None:
            return Verdict.deny(
                R.UNKNOWN_SYMBOL, f"symbol {signal.symbol!r} is not listed at {signal.venue!r}"
            )
        ctx.venue, ctx.instrument = venue, instrument

        if signal.ts - ctx.now > self._max_skew:
            ahead = (signal.ts - ctx.now).total_seconds()
            return Verdict.deny(
                R.FUTURE_SIGNAL, f"ts: signal is {ahead:.3f}s ahead of the clock, tolerance "
                f"{self._s.max_clock_skew_s}s"
            )
        if ctx.now - signal.ts > self._max_age:
            age = (ctx.now - signal.ts).total_seconds()
            return Verdict.deny(
                R.STALE_SIGNAL, f"ts: signal is {age:.3f}s old, limit {self._s.max_signal_age_s}s"
            )
        if signal.expires_at is not None and signal.expires_at <= ctx.now:
            return Verdict.deny(R.EXPIRED_SIGNAL, f"expires_at: {signal.expires_at.isoformat()} has passed")
        if signal.strength < self._s.min_strength:
            return Verdict.deny(
                R.WEAK_SIGNAL, f"strength: {signal.strength} below minimum {self._s.min_strength}"
            )
        if signal.confluence_score < self._s.min_confluence:
            return Verdict.deny(
                R.LOW_CONFLUENCE,
                f"confluence_score: {signal.confluence_score} below minimum {self._s.min_confluence}",
            )
        return self._check_prices(ctx)

    def _check_prices(self, ctx: SignalContext) -> Verdict:
        signal, instrument = ctx.signal, ctx.instrument
        assert instrument is not None
        order_type = signal.order_type
        if order_type.has_limit_price and signal.limit_price is None:
            return Verdict.deny(R.MISSING_LIMIT_PRICE,
                                f"limit_price: required for a {order_type} order")
        if (refusal := _trigger_problem(order_type, signal.trigger_price, signal.limit_price)):
            return Verdict.deny(*refusal)
        if signal.protect and signal.stop_loss is None and signal.take_profit is None:
            return Verdict.deny(R.PROTECT_WITHOUT_EXITS, "protect: true needs a stop_loss or a "
                                "take_profit to place at the venue; neither is given")
        for name, exit_price in (("stop_loss", signal.stop_loss), ("take_profit", signal.take_profit)):
            if signal.protect and exit_price is not None and (
                    problem := instrument.price_problem(exit_price)):
                return Verdict.deny(R.PRICE_OUT_OF_LIMITS, f"{name}: {problem} (an exit placed at "
                                    "the venue must be a price it accepts)")
        if signal.post_only and (problem := _post_only_problem(signal.order_type,
                                                               signal.time_in_force)):
            return Verdict.deny(R.POST_ONLY_CONFLICT, f"post_only: {problem}")
        if signal.algorithm is not None and (problem := _algorithm_problem(
                order_type, signal.time_in_force, signal.post_only,
                signal.algorithm.limit_price_cap, bool(signal.protect))):
            return Verdict.deny(R.ALGORITHM_CONFLICT, f"algorithm: {problem}")
        if signal.limit_price is not None and (problem := instrument.price_problem(signal.limit_price)):
            return Verdict.deny(R.PRICE_OUT_OF_LIMITS, f"limit_price: {problem}")
        if signal.trigger_price is not None and (
                problem := instrument.price_problem(signal.trigger_price)):
            return Verdict.deny(R.PRICE_OUT_OF_LIMITS, f"trigger_price: {problem}")
        if signal.quantity is not None and (problem := instrument.quantity_problem(signal.quantity)):
            return Verdict.deny(R.QUANTITY_OUT_OF_LIMITS, f"quantity: {problem}")
        # A stop_market order's entry is its trigger: it executes once the market is there.
        entry = signal.limit_price if signal.limit_price is not None else signal.trigger_price
        if entry is not None:
            buying = signal.side is Side.BUY
            stop = signal.stop_loss  # at the entry itself is no side: refused for both
            if stop is not None and (stop == entry or (stop < entry) != buying):
                return Verdict.deny(
                    R.STOP_LOSS_WRONG_SIDE,
                    f"stop_loss: {signal.stop_loss} must be {'below' if buying else 'above'} "
                    f"the entry {entry} for a {signal.side}",
                )
            target = signal.take_profit
            if target is not None and (target == entry or (target > entry) != buying):
                return Verdict.deny(
                    R.TAKE_PROFIT_WRONG_SIDE,
                    f"take_profit: {signal.take_profit} must be {'above' if buying else 'below'} "
                    f"the entry {entry} for a {signal.side}",
                )
        return Verdict.admit(f"{signal.symbol} listed at {signal.venue}; fields within limits")


def _trigger_problem(order_type: OrderType, trigger: Decimal | None,
                     limit: Decimal | None) -> tuple[R, str] | None:
    """A stop needs its trigger; nothing else may carry one (an order that was meant as a
    stop would otherwise go out executing at once). A stop_market has no limit price: a
    limit price on it would be silently ignored, so it is refused (use stop_limit).
    Which side of the market the trigger is on needs the reference price: risk checks it
    (TRIGGER_WRONG_SIDE)."""
    if order_type.is_stop:
        if trigger is None:
            return R.MISSING_TRIGGER_PRICE, f"trigger_price: required for a {order_type} order"
        if order_type is OrderType.STOP_MARKET and limit is not None:
            return (R.TRIGGER_PRICE_CONFLICT, "limit_price: a stop_market order executes at "
                    "market once triggered; use stop_limit for a limit price")
    elif trigger is not None:
        return (R.TRIGGER_PRICE_CONFLICT, f"trigger_price: only a stop order (stop_market, "
                f"stop_limit) has a trigger price, not a {order_type} order")
    return None


def _post_only_problem(order_type: OrderType, time_in_force: TimeInForce) -> str | None:
    """Why a post-only order cannot be what the signal asks: a post-only order rests or is
    refused, so it is a limit order whose time in force lets it rest. A market order can
    only take; IOC and FOK cancel whatever does not fill at once, so with post-only they
    could never trade at all (ccxt refuses both, Binance has no such order). Refused
    rather than quietly turned into a GTC order the strategy did not ask for."""
    if order_type is not OrderType.LIMIT:
        return f"only a limit order can be post-only, not a {order_type} order"
    if time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        return (f"a post-only order rests until it fills, so it cannot be {time_in_force} "
                "(use GTC or GTD)")
    return None


def _algorithm_problem(order_type: OrderType, time_in_force: TimeInForce, post_only: bool,
                       cap: Decimal | None, protect: bool = False) -> str | None:
    """Why a TWAP cannot carry out this order. Its slices are market orders, or limit IOC
    orders at a price cap (a limit order's own limit price is its cap), sent on a fixed
    schedule: a stop would need a trigger watched per slice, post-only slices could
    never take what the schedule is due to execute, and the signal's own time in force
    has no meaning for slices that are IOC by construction (IOC/FOK ask for "at once",
    not "over time"; the signal's `expires_at` is the schedule's deadline). A bracket around a TWAP
    (exits for what the slices fill) is not built yet: refused rather than run unprotected."""
    if protect:
        return ("protect: exits for a TWAP's slices are not built yet; send the TWAP without "
                "protect, or protect a single order")
    if order_type not in (OrderType.MARKET, OrderType.LIMIT):
        return f"a TWAP carries out a market or limit order, not a {order_type} order"
    if post_only:
        return "a TWAP slice takes liquidity on its schedule, so it cannot be post_only"
    if time_in_force is not TimeInForce.GTC:
        return (f"a TWAP's slices are IOC by construction; the signal's time_in_force must "
                f"be GTC (the default), not {time_in_force}")
    if order_type is OrderType.LIMIT and cap is not None:
        return ("limit_price_cap: a limit order's limit_price is already the slices' cap; "
                "give one or the other")
    return None
