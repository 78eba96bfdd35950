"""An allocation account's standing and a group's, as the HTTP API shows them.

What an operator needs to know before a block arrives: is the account active, what it
holds (equity, available margin), how its day stands (start-of-day equity, day PnL,
drawdown, what is left of its risk budget), how many positions it has open, and whether
the next block would give it a child, and if not why, in the very words the allocator
would use (`allocation.eligibility.judge` with the account's limits).

The figures are read as a block reads them (`StandingReader.equity`: the venue's balances
in one currency, positions marked at the reference price) but nothing is written: the
start of the day is taken from the `DayBook` only if the day already has one
(`start_equity(account, None)` records nothing). A day with none yet shows the equity now
as its start, with `start_of_day_recorded: false`: that is what the next block would
record, so eligibility is judged as that block would judge it.

Which venue and currency: the account's own `venue` (else the engine's only venue, else
the first enabled one by name) and `risk.equity_currency` (else the quote currency most
of that venue's instruments have). Eligibility is judged for a block that would open a
position (`holds_symbol` false): a block reducing a position the account holds is never
refused for its open positions, but that depends on the block's symbol.

A read, not a decision: no lock is taken, as for `GET /v1/accounts/{id}`.
"""

from __future__ import annotations

from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ordergate.allocation.eligibility import Standing, judge
from ordergate.allocation.standing import StandingReader
from ordergate.engine import Engine

ZERO = Decimal(0)
DRAWDOWN_PLACES = Decimal("0.000001")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def venue_of(engine: Engine, account: str) -> str | None:
    configured = engine.config.accounts[account].venue
    if configured is not None:
        return configured
    names = sorted(engine.venues)
    if len(names) == 1:
        return names[0]
    enabled = [name for name in names if engine.market.venue_enabled(name)]
    return enabled[0] if enabled else None


def currency_of(engine: Engine, venue: str | None) -> str | None:
    if engine.config.risk.equity_currency is not None:
        return engine.config.risk.equity_currency
    quotes = Counter(i.quote for i in engine.market.instruments.get(venue or "", {}).values())
    if not quotes:
        return None
    return min(quotes, key=lambda quote: (-quotes[quote], quote))


def groups_of(engine: Engine, account: str) -> list[dict[str, str]]:
    return [{"group": name, "status": engine.pauses.status(name).value}
            for name, group in engine.config.groups.items() if account in group.accounts]


async def account_standing(engine: Engine, account: str) -> dict[str, Any]:
    """`account` (one of `[accounts]`) as the allocator would judge it now."""
    settings = engine.config.accounts[account]
    limits = settings.limits()
    venue = venue_of(engine, account)
    currency = currency_of(engine, venue)
    status = engine.pauses.status(account)
    free: Decimal | None = None
    equity: Decimal | None = None
    if venue is not None and currency is not None:
        reader = StandingReader(engine.market, engine.positions.quantity, engine.days,
                                engine.pauses.is_paused)
        free, equity = await reader.equity(account, venue, currency)
    recorded = engine.days.start_equity(account, None)  # None: records nothing
    start = recorded if recorded is not None else equity
    day_pnl = ZERO if equity is None or start is None else equity - start
    held = engine.market.open_symbols(account)
    standing = Standing(status, free, equity, start, day_pnl,
                        engine.days.risk_spent(account), len(held), False)
    verdict = judge(account, limits, standing)
    drawdown = standing.drawdown()
    return {
        "account": account, "status": status.value, "groups": groups_of(engine, account),
        "venue": venue, "currency": currency, "day": engine.days.today().isoformat(),
        "equity": _money(equity), "available_margin": _money(free),
        "min_available_margin": str(limits.min_available_margin),
        "start_of_day_equity": _money(start), "start_of_day_recorded": recorded is not None,
        "day_pnl": str(day_pnl),
        "drawdown": None if drawdown is None else str(drawdown.quantize(
            DRAWDOWN_PLACES, rounding=ROUND_HALF_UP)),
        "max_daily_drawdown": str(limits.max_daily_drawdown),
        "risk_budget": _money(limits.daily_risk_budget),
        "risk_spent": str(standing.risk_spent),
        "budget_left": _money(standing.budget_left(limits)),
        "open_positions": standing.open_positions,
        "max_open_positions": limits.max_open_positions,
        "eligible": verdict.eligible, "why": verdict.why}


async def group_view(engine: Engine, group: str,
                     standings: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """`group` (one of `[groups]`) with each of its accounts' standing, in the group's
    order (the order ties and `failover` follow)."""
    settings = engine.config.groups[group]
    members = []
    for account in settings.accounts:
        found = (standings or {}).get(account)
        members.append(found if found is not None else await account_standing(engine, account))
    ratios = settings.ratios
    return {"group": group, "policy": settings.policy.value,
            "status": engine.pauses.status(group).value,
            "ratios": None if ratios is None else {a: str(w) for a, w in ratios.items()},
            "eligible_accounts": sum(1 for m in members if m["eligible"]),
            "accounts": members}


async def allocation_view(engine: Engine) -> dict[str, Any]:
    """Every configured account and group; each venue asked once per account."""
    standings = {a: await account_standing(engine, a) for a in engine.config.accounts}
    groups = [await group_view(engine, g, standings) for g in engine.config.groups]
    return {"accounts": list(standings.values()),
            "groups": [{k: v for k, v in g.items() if k != "accounts"}
                       | {"accounts": [m["account"] for m in g["accounts"]]} for g in groups]}
