"""`GET /v1/accounts/{id}`: what an account holds at each venue and what its working
orders may still change.

Per venue, two things side by side, because neither alone says what the account can
still do:

- `balances`, as the venue reports them (`fetch_balances`: free, used, total per
  currency), not as ordergate computes them: this is the venue's word, the same the
  reconciler compares positions with. A venue that is disabled, that does not serve the
  account (a ccxt or Polymarket venue serves one account) or that did not answer has
  `balances: null` and says which (`balances_error`); the other venues still answer.
- `exposure`, per symbol, as the risk manager reads it through `MarketAccess`
  (`domain/exposure.py`): the position, the remaining quantity of working buys and
  sells, and the net if they all filled; and `committed`, what working buys may still
  spend per quote currency.

The venues are asked first and the exposure is read after the last answer, in one go
without an await, so every venue's exposure is of one moment (a decision may have
finished while a venue answered; its order is then in the exposure). No lock is taken:
a slow venue must not hold up decisions for a read.

An account is known when it is configured (`reconciliation.accounts`, or `[accounts]`
for blocks) or has a position or a working order; any other is 404, and no venue is
asked about it. An account of `[accounts]` also has its allocation standing
(`standings.py`: status, equity, the day's PnL, drawdown and risk budget, eligibility);
any other has `allocation: null`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ordergate.engine import Engine
from ordergate.pipeline.chain import MarketAccess
from ordergate.server.standings import account_standing
from ordergate.venues.base import VenueError


def known_account(engine: Engine, account_id: str) -> bool:
    if account_id in engine.config.reconciliation.accounts \
            or account_id in engine.config.accounts:
        return True
    if any(key[0] == account_id for key in engine.positions.positions):
        return True
    return bool(engine.market.open_symbols(account_id))


async def account_view(engine: Engine, account_id: str) -> dict[str, Any]:
    """The account's balances and exposure per venue (the caller checked it is known)."""
    market: MarketAccess = engine.market
    balances: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
    for name, venue in sorted(engine.venues.items()):
        if not market.venue_enabled(name):
            balances[name] = (None, "venue_disabled")
            continue
        try:
            reported = await venue.fetch_balances(account_id)
        except VenueError as exc:
            balances[name] = (None, "unavailable" if exc.retryable else "not_served")
            continue
        balances[name] = ({currency: {"free": str(b.free), "used": str(b.used),
                                      "total": str(b.total)}
                           for currency, b in sorted(reported.items())}, None)
    held = sorted(market.open_symbols(account_id))
    venues: dict[str, Any] = {}
    for name, (reported_balances, error) in balances.items():
        symbols = [symbol for venue_name, symbol in held if venue_name == name]
        exposure, quotes = [], set()
        for symbol in symbols:
            seen = market.exposure(account_id, name, symbol)
            exposure.append({"symbol": symbol, "position": str(seen.position),
                             "working_buy": str(seen.working_buy),
                             "working_sell": str(seen.working_sell), "net": str(seen.net)})
            instrument = market.instrument(name, symbol)
            if instrument is not None:
                quotes.add(instrument.quote)
        committed = {currency: market.committed(account_id, name, currency)
                     for currency in sorted(quotes)}
        venues[name] = {"balances": reported_balances, "balances_error": error,
                        "exposure": exposure,
                        "committed": {c: str(a) for c, a in committed.items()
                                      if a != Decimal(0)}}
    allocation = (await account_standing(engine, account_id)
                  if account_id in engine.config.accounts else None)
    return {"account": account_id, "venues": venues, "allocation": allocation}
