"""`GET /v1/health`: is this engine able to trade, and if not, what is wrong.

Read from what the engine already knows, with no venue call: an unauthenticated
endpoint must not be a way to spend a venue's rate limit. `failing` (503): the control
loop is not running (nothing polls, cancels or reconciles behind the API) or the journal
cannot be written (no order may be sent). `degraded` (200): a venue is disabled or its
circuit is not closed. The kill switch is shown, not judged: HALTED is an operator's
choice, not a fault.

Each guarded venue's `rate_limit` is its headroom: the rate in force (lower than the
configured one after the venue answered "too many requests"), the tokens a request may
take now, and until when a venue's ban blocks every request. An operator reads there why
orders queue before the venue sees them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from ordergate.engine import Engine
from ordergate.venues.guarded import GuardedVenue


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat()


def _headroom(venue: GuardedVenue) -> dict[str, Any]:
    limiter = venue.limiter
    return {"configured_rate_per_s": limiter.configured_rate_per_s,
            "rate_per_s": limiter.rate_per_s, "burst": limiter.settings.burst,
            "tokens": round(limiter.tokens, 3), "blocked_until": _iso(limiter.blocked_until)}


def health_view(engine: Engine, ticker: asyncio.Task[None] | None) -> dict[str, Any]:
    alive = ticker is not None and not ticker.done()
    interval = engine.config.reconciler.poll_interval_s
    venues: dict[str, Any] = {}
    degraded = False
    for name, venue in engine.venues.items():
        enabled = engine.market.enabled.get(name, False)
        entry: dict[str, Any] = {
            "enabled": enabled,
            "disabled_reason": None if enabled else engine.market.venue_disabled_reason(name),
            "instruments_loaded": len(engine.market.instruments.get(name, {})),
            "breaker": None, "consecutive_failures": None, "last_success_at": None,
            "rate_limit": None}
        if isinstance(venue, GuardedVenue):
            breaker = venue.breaker
            entry.update(breaker=breaker.state.value,
                         consecutive_failures=breaker.consecutive_failures,
                         last_success_at=_iso(breaker.last_success_at),
                         retry_at=_iso(breaker.retry_at),
                         rate_limit=_headroom(venue))
            degraded |= breaker.state.value != "closed"
        degraded |= not enabled
        venues[name] = entry
    writable = engine.journal.writable()
    status = "failing" if not (alive and writable) else "degraded" if degraded else "ok"
    return {"status": status, "trading_state": engine.risk.trading_state.value,
            "control_loop": {"alive": alive, "last_tick_at": _iso(engine.last_tick_at),
                             "poll_interval_s": interval},
            "journal": {"writable": writable}, "venues": venues}
