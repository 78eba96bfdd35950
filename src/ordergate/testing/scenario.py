"""A small, real engine for tests: the simulated venue on a handful of quotes, a journal
and an audit log in a temporary directory, and a signal factory with sane defaults.

Nothing here is a mock: the scenario runs the same Engine, pipeline and venue as a replay.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.clock import SimulatedClock
from ordergate.config import AuditSettings, EngineConfig, config_from_mapping
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.engine import Engine
from ordergate.pipeline.chain import Outcome
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.simulated import InstrumentSpec, SimulatedVenue, SimulatedVenueSettings

T0 = datetime(2026, 1, 2, tzinfo=UTC)
BTC = InstrumentSpec(symbol="BTC/USDT", tick_size=Decimal("0.01"), lot_size=Decimal("0.001"),
                     min_notional=Decimal("10"))


def quote(seconds: float, bid: str, ask: str, size: str = "1", symbol: str = "BTC/USDT",
          ask_size: str | None = None) -> Quote:
    return Quote(T0 + timedelta(seconds=seconds), symbol, Decimal(bid), Decimal(ask),
                 Decimal(size), Decimal(ask_size or size))


def make_signal(**overrides: Any) -> TradingSignalGenerated:
    fields: dict[str, Any] = {
        "signal_id": "s-1", "ts": T0, "strategy_id": "momo", "account_id": "main",
        "venue": "sim", "symbol": "BTC/USDT", "side": "buy", "order_type": "market",
        "quantity": Decimal("0.010"), "stop_loss": Decimal("41000"),
        "take_profit": Decimal("45000"), "strength": 0.8, "confluence_score": 4.0,
    }
    fields.update(overrides)
    return TradingSignalGenerated.model_validate(fields)


class Scenario:
    def __init__(self, tmp: Path, quotes: Sequence[Quote] | None = None,
                 config: dict[str, Any] | None = None, venue: dict[str, Any] | None = None,
                 start: datetime = T0, audit_rotation: str | None = None) -> None:
        self.tmp = tmp
        self.clock = SimulatedClock(start)
        raw = config or {}
        self.config: EngineConfig = config_from_mapping(raw).model_copy(update={
            "audit": AuditSettings(path=tmp / "audit.jsonl", rotation=audit_rotation,
                                   retention=None)})
        settings = {"name": "sim", "instruments": [BTC], "slippage_bps": Decimal(0),
                    "balances": {"main": {"USDT": Decimal("100000")}}, **(venue or {})}
        market = MarketData(list(quotes if quotes is not None else [quote(0, "42000", "42001", "5")]))
        self.venue = SimulatedVenue(SimulatedVenueSettings.model_validate(settings), self.clock, market)
        self.engine = Engine(self.config, self.clock, venues={"sim": self.venue},
                             journal_path=tmp / "journal.sqlite")

    async def __aenter__(self) -> Scenario:
        await self.engine.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.close()

    async def submit(self, **overrides: Any) -> Outcome:
        signal = make_signal(**{"ts": self.clock.now(), **overrides})
        return await self.engine.submit(signal)

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.engine.tick()

    def audit(self) -> list[dict[str, Any]]:
        self.engine.audit.flush()
        path = self.tmp / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
