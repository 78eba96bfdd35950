"""Deterministic synthetic market data and signals for the bundled demo (the benchmark's
workloads are `ordergate.bench.workloads`).

Same seed, same bytes. Quotes are a random walk per symbol on a fixed tick with sizes
that are sometimes thin (so large orders fill partially); signals mix the kinds a real
strategy sends, plus the kinds a real strategy sends by mistake.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

START = datetime(2026, 1, 2, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    symbol: str
    price: Decimal
    tick: Decimal
    size: Decimal  # typical quoted size


DEMO_SYMBOLS = (
    SymbolSpec("BTC/USDT", Decimal("42000"), Decimal("0.01"), Decimal("0.5")),
    SymbolSpec("ETH/USDT", Decimal("2300"), Decimal("0.01"), Decimal("8")),
    SymbolSpec("SOL/USDT", Decimal("95"), Decimal("0.001"), Decimal("150")),
)


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def make_quotes(symbols: tuple[SymbolSpec, ...], count: int, seed: int,
                step: timedelta = timedelta(seconds=1)) -> list[dict[str, str]]:
    """`count` quotes per symbol, interleaved in time."""
    rng = random.Random(seed)
    mids = {s.symbol: s.price for s in symbols}
    rows = []
    for i in range(count):
        ts = iso(START + step * i)
        for spec in symbols:
            drift = Decimal(rng.gauss(0, 0.0006)).quantize(Decimal("0.000001"))
            mid = (mids[spec.symbol] * (1 + drift)).quantize(spec.tick)
            mids[spec.symbol] = mid
            half = spec.tick * rng.randint(1, 5)
            thin = rng.random() < 0.15
            scale = Decimal("0.05") if thin else Decimal(str(round(rng.uniform(0.5, 2.0), 2)))
            rows.append({"ts": ts, "symbol": spec.symbol, "bid": str(mid - half),
                         "ask": str(mid + half),
                         "bid_size": str((spec.size * scale).quantize(Decimal("0.0001"))),
                         "ask_size": str((spec.size * scale).quantize(Decimal("0.0001")))})
    return rows


def quotes_csv(rows: list[dict[str, str]]) -> str:
    header = "ts,symbol,bid,ask,bid_size,ask_size\n"
    return header + "".join(
        f"{r['ts']},{r['symbol']},{r['bid']},{r['ask']},{r['bid_size']},{r['ask_size']}\n" for r in rows
    )


def _mid_at(rows: list[dict[str, str]], symbol: str, ts: str) -> Decimal:
    best = None
    for row in rows:
        if row["symbol"] == symbol and row["ts"] <= ts:
            best = row
    assert best is not None
    return (Decimal(best["bid"]) + Decimal(best["ask"])) / 2


def demo_signals(rows: list[dict[str, str]], seed: int) -> list[str]:
    """A few hundred signals of every kind, in time order."""
    rng = random.Random(seed)
    lines: list[str] = []
    t0 = START + timedelta(seconds=5)
    for i in range(320):
        ts = t0 + timedelta(seconds=3 * i)
        spec = DEMO_SYMBOLS[rng.randrange(len(DEMO_SYMBOLS))]
        mid = _mid_at(rows, spec.symbol, iso(ts))
        side = rng.choice(("buy", "sell"))
        sign = 1 if side == "buy" else -1
        signal: dict[str, Any] = {
            "signal_id": f"demo-{i}", "ts": iso(ts), "strategy_id": rng.choice(("momo", "meanrev")),
            "account_id": "main", "venue": "sim", "symbol": spec.symbol, "side": side,
            "order_type": "market", "quantity": str((spec.size * Decimal("0.2")).quantize(Decimal("0.0001"))),
            "limit_price": None, "stop_loss": str((mid * (1 - sign * Decimal("0.01"))).quantize(spec.tick)),
            "take_profit": str((mid * (1 + sign * Decimal("0.02"))).quantize(spec.tick)),
            "time_in_force": "GTC", "strength": round(rng.uniform(0.5, 1.0), 2),
            "confluence_score": round(rng.uniform(2, 5), 1), "expires_at": None,
        }
        kind = rng.random()
        if kind < 0.25:      # resting or crossing limit order
            signal["order_type"] = "limit"
            offset = Decimal(str(round(rng.uniform(-0.002, 0.002), 5)))
            signal["limit_price"] = str((mid * (1 - sign * offset)).quantize(spec.tick))
        elif kind < 0.40:    # no quantity: the risk manager sizes it
            signal["quantity"] = None
        elif kind < 0.50:    # big: more than the touch holds, fills partially
            signal["quantity"] = str((spec.size * 3).quantize(Decimal("0.0001")))
        elif kind < 0.55:    # fat finger: limit price far from the market
            signal["order_type"] = "limit"
            signal["limit_price"] = str((mid * (1 + sign * Decimal("0.2"))).quantize(spec.tick))
            signal["take_profit"] = None
        elif kind < 0.60:    # poor reward:risk
            signal["take_profit"] = str((mid * (1 + sign * Decimal("0.005"))).quantize(spec.tick))
        elif kind < 0.63:    # stop on the wrong side
            signal["stop_loss"] = str((mid * (1 + sign * Decimal("0.01"))).quantize(spec.tick))
        elif kind < 0.66:    # unknown symbol
            signal["symbol"] = "DOGE/USDT"
        elif kind < 0.69:    # stale: produced long before it arrived
            signal["ts"] = iso(ts - timedelta(minutes=10))
        elif kind < 0.72:    # a resubmission of an earlier signal
            if i > 10:
                signal["signal_id"] = f"demo-{i - rng.randint(1, 10)}"
        elif kind < 0.76:    # malformed input of several kinds
            lines.append(rng.choice((
                '{"signal_id": "bad-json", "ts": ',
                json.dumps({**signal, "quantity": "NaN"}),
                json.dumps({**signal, "quantity": "-1"}),
                json.dumps({**signal, "side": "hold"}),
                json.dumps({k: v for k, v in signal.items() if k != "symbol"}),
            )))
            continue
        lines.append(json.dumps(signal))
    return lines
