"""NautilusTrader's side of the market_hold comparison: one whole process, JSON out.

Run by `nautilus.py` with the Nautilus venv's interpreter (Python 3.12,
nautilus_trader 1.231.0), as a file: it imports nothing from ordergate, which is not
installed there. It reads the very quotes CSV that ordergate's replay reads, so both
engines trade the same ticks, and does what the market_hold signals ask: one MARKET
order per quote, a buy of 0.002 first, then sell / buy of 0.001 alternately.

Nautilus is set up as a user would for a fair backtest of that: its own BacktestEngine,
one venue (BINANCE, CASH account, NETTING), the stock BTCUSDT instrument, the risk
engine on, logging at ERROR, no post-run analysis. The stop and take-profit that
ordergate's risk manager checks are not orders in either engine (ordergate checks
them and sends only the market order), so none are placed here.

    python nautilus_worker.py --quotes quotes.csv
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from decimal import Decimal
from typing import Any


def run(quotes_csv: str) -> dict[str, Any]:
    began = time.perf_counter()
    import nautilus_trader
    import pandas as pd
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, RiskEngineConfig, StrategyConfig
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId, Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.persistence.wranglers import QuoteTickDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.trading.strategy import Strategy

    class HoldConfig(StrategyConfig, frozen=True):  # type: ignore[misc, call-arg]
        instrument_id: InstrumentId
        trade_size: Decimal

    class MarketHold(Strategy):  # type: ignore[misc]
        """One market order per quote; the first buy is twice the size, so the netting
        position swings between 2q and q and never closes."""

        def __init__(self, config: HoldConfig) -> None:
            super().__init__(config)
            self.submitted = 0
            self.filled = 0
            self.rejected = 0
            self.denied = 0

        def on_start(self) -> None:
            self.instrument = self.cache.instrument(self.config.instrument_id)
            self.qty = self.instrument.make_qty(self.config.trade_size)
            self.qty2 = self.instrument.make_qty(self.config.trade_size * 2)
            self.subscribe_quote_ticks(self.config.instrument_id)

        def on_quote_tick(self, tick: Any) -> None:
            side = OrderSide.BUY if self.submitted % 2 == 0 else OrderSide.SELL
            qty = self.qty2 if self.submitted == 0 else self.qty
            self.submit_order(self.order_factory.market(self.config.instrument_id, side, qty))
            self.submitted += 1

        def on_order_filled(self, event: Any) -> None:
            self.filled += 1

        def on_order_rejected(self, event: Any) -> None:
            self.rejected += 1

        def on_order_denied(self, event: Any) -> None:
            self.denied += 1

    engine = BacktestEngine(config=BacktestEngineConfig(
        trader_id="BENCH-001", logging=LoggingConfig(log_level="ERROR"),
        risk_engine=RiskEngineConfig(bypass=False), run_analysis=False))
    engine.add_venue(venue=Venue("BINANCE"), oms_type=OmsType.NETTING,
                     account_type=AccountType.CASH, base_currency=None,
                     starting_balances=[Money(1_000_000_000, USDT), Money(100_000, BTC)])
    instrument = TestInstrumentProvider.btcusdt_binance()
    engine.add_instrument(instrument)

    frame = pd.read_csv(quotes_csv)
    frame.index = pd.to_datetime(frame.pop("ts"), utc=True)
    frame = frame.drop(columns=["symbol"]).rename(
        columns={"bid": "bid_price", "ask": "ask_price"})
    engine.add_data(QuoteTickDataWrangler(instrument).process(frame))
    del frame
    strategy = MarketHold(HoldConfig(instrument_id=instrument.id, trade_size=Decimal("0.001")))
    engine.add_strategy(strategy)
    ready = time.perf_counter()
    engine.run()
    done = time.perf_counter()
    result = {
        "nautilus_version": nautilus_trader.__version__,
        "python": sys.version.split()[0],
        "orders_submitted": strategy.submitted,
        "fills": strategy.filled,
        "rejected": strategy.rejected,
        "denied": strategy.denied,
        "setup_seconds": round(ready - began, 3),
        "run_seconds": round(done - ready, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quotes", required=True)
    print(json.dumps(run(parser.parse_args().quotes)))


if __name__ == "__main__":
    main()
