"""The benchmark's inputs, written as the files `ordergate replay` reads: a signals JSONL
file, a quotes CSV and an engine configuration, deterministic from a seed.

Two workloads:
- `market_hold`: the one NautilusTrader runs too (`nautilus_worker.py` reads the very
  quotes file written here, so both engines see the same ticks). One BTC/USDT quote per
  second from a random walk (steps of -0.50, 0 or +0.50; spread 1.00; size 10 each side)
  and one MARKET signal per quote: first a buy of 0.002, then sell / buy of 0.001
  alternately, so the position swings between 0.002 and 0.001 and never goes flat. Stop
  and take-profit 1% and 2% from the mid, which the risk manager checks (reward:risk 2).
- `mixed`: what a real strategy's day looks like: two symbols, one quote per second
  each, market orders of ordinary size mixed with limit orders near the touch, orders
  larger than the top of the book (they fill partially), orders without a quantity (the
  risk manager sizes them), malformed or invalid lines, and lines delivered twice.

Prices are integer cents while generating, so the text written is exact without
building a `Decimal` per number: these are input files, not the engine's money.
Everything is streamed to disk; a million-signal workload is never held in memory.
"""

from __future__ import annotations

import json
import random
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

MARKET_HOLD_START = datetime(2024, 1, 1, tzinfo=UTC)
QUOTE_HEADER = "ts,symbol,bid,ask,bid_size,ask_size\n"


@dataclass(frozen=True, slots=True)
class Workload:
    """The three files a replay needs, and how many signal lines (valid or not) there are."""

    signals: Path
    quotes: Path
    config: Path
    signal_lines: int
    quotes_count: int


def iso_ms(ts: datetime) -> str:
    """The signal and quote timestamp format: UTC, milliseconds, a `Z`."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def cents(value: int) -> str:
    """Integer cents as a price string with two places (never negative here)."""
    return f"{value // 100}.{value % 100:02d}"


MARKET_HOLD_CONFIG = """\
# market_hold: one instrument, fills at the touch (no slippage, as in NautilusTrader's
# matching engine), enough USDT that no buy is ever refused for funds.
[validator]
max_signal_age_s = 60

[risk]
max_open_positions = 3

[venues.sim]
kind = "simulated"
balances = { main = { USDT = "1000000000" } }
slippage_bps = "0"
instruments = [
  { symbol = "BTC/USDT", tick_size = "0.01", lot_size = "0.00001", min_notional = "5" },
]
"""


def market_hold_quotes(handle: TextIO, n: int, seed: int,
                       start: datetime = MARKET_HOLD_START) -> list[int]:
    """`n` BTC/USDT quotes, one a second from `start`; returns the walk's mids (cents)."""
    rng = random.Random(seed)
    mid = 5_000_000  # 50,000.00
    mids = []
    handle.write(QUOTE_HEADER)
    for i in range(n):
        mid += 50 * rng.randint(-1, 1)
        mids.append(mid)
        ts = iso_ms(start + timedelta(seconds=i))
        handle.write(f"{ts},BTC/USDT,{cents(mid - 50)},{cents(mid + 50)},10,10\n")
    return mids


def market_hold_signals(handle: TextIO, n: int, seed: int) -> None:
    """One MARKET signal per quote, at the quote's time: the walk is replayed from the
    same seed, so each signal's stop and take-profit are 1% and 2% from the mid in force."""
    rng = random.Random(seed)
    mid = 5_000_000
    for i in range(n):
        mid += 50 * rng.randint(-1, 1)
        ts = MARKET_HOLD_START + timedelta(seconds=i)
        handle.write(market_hold_signal(i, mid, ts) + "\n")


def market_hold_signal(i: int, mid: int, ts: datetime, prefix: str = "mh",
                       venue: str = "sim") -> str:
    """The `i`th market_hold signal, against a mid of `mid` cents."""
    buy = i % 2 == 0
    stop, target = (mid * 99 // 100, mid * 102 // 100) if buy else (mid * 101 // 100, mid * 98 // 100)
    return json.dumps({
        "signal_id": f"{prefix}-{i}", "ts": iso_ms(ts),
        "strategy_id": "market_hold", "account_id": "main", "venue": venue,
        "symbol": "BTC/USDT", "side": "buy" if buy else "sell", "order_type": "market",
        "quantity": "0.002" if i == 0 else "0.001", "stop_loss": cents(stop),
        "take_profit": cents(target), "strength": 0.9, "confluence_score": 3.0,
    }, separators=(",", ":"))


def write_market_hold(directory: Path, n: int, seed: int = 42) -> Workload:
    directory.mkdir(parents=True, exist_ok=True)
    quotes, signals, config = (directory / "quotes.csv", directory / "signals.jsonl",
                               directory / "config.toml")
    with open(quotes, "w", encoding="utf-8") as handle:
        market_hold_quotes(handle, n, seed)
    with open(signals, "w", encoding="utf-8") as handle:
        market_hold_signals(handle, n, seed)
    config.write_text(MARKET_HOLD_CONFIG, encoding="utf-8")
    return Workload(signals, quotes, config, n, n)


# --------------------------------------------------------------------------- mixed


@dataclass(frozen=True, slots=True)
class _Symbol:
    name: str
    mid: int           # cents
    half_spread: int   # cents
    top_size: tuple[int, int]  # quoted size range, in 1/10,000 units
    small: tuple[int, int]     # an ordinary order's quantity range, 1/10,000 units
    big: tuple[int, int]       # larger than any quote's size: fills partially
    position_limit: int        # the generator leans its sides back beyond this


MIXED_SYMBOLS = (
    _Symbol("BTC/USDT", 4_200_000, 50, (2_000, 10_000), (10, 200), (12_000, 20_000), 20_000),
    _Symbol("ETH/USDT", 230_000, 5, (30_000, 150_000), (100, 3_000), (160_000, 300_000), 300_000),
)

MIXED_CONFIG = """\
# mixed: two symbols with known rules, default risk settings (a signal without a quantity
# is sized from 2% of equity at risk and capped at max_order_notional), resting limit
# orders followed for 60 s and then cancelled.
[validator]
max_signal_age_s = 60

[risk]
max_open_positions = 3
min_reward_risk = "1.5"
max_order_notional = "100000"

[reconciler]
fill_timeout_s = 60
remainder_policy = "cancel"

[venues.sim]
kind = "simulated"
balances = { main = { USDT = "50000000" } }
slippage_bps = "1"
instruments = [
  { symbol = "BTC/USDT", tick_size = "0.01", lot_size = "0.0001", min_notional = "10" },
  { symbol = "ETH/USDT", tick_size = "0.01", lot_size = "0.0001", min_notional = "10" },
]
"""

MIXED_START = datetime(2026, 1, 2, tzinfo=UTC)
MIXED_SHARES = {"limit": 0.15, "big": 0.10, "risk_sized": 0.07, "malformed": 0.03,
                "duplicate": 0.03}
"""The share of each kind of line; the rest (about 62%) are ordinary market orders."""


def _quantity(units: int) -> str:
    return f"{units // 10_000}.{units % 10_000:04d}"


def _malformed(rng: random.Random, signal: dict[str, Any]) -> str:
    """A line a real strategy sends by mistake: broken JSON, a bad value, a missing field,
    an unknown symbol (refused by the validator) or a stop on the wrong side (by risk)."""
    kind = rng.randrange(6)
    if kind == 0:
        return json.dumps(signal)[: rng.randint(5, 60)]
    if kind == 1:
        return json.dumps({**signal, "quantity": "NaN"})
    if kind == 2:
        return json.dumps({**signal, "side": "hold"})
    if kind == 3:
        return json.dumps({k: v for k, v in signal.items() if k != "symbol"})
    if kind == 4:
        return json.dumps({**signal, "symbol": "DOGE/USDT"})
    return json.dumps({**signal, "stop_loss": signal["take_profit"]})


def write_mixed(directory: Path, n: int, seed: int = 7) -> Workload:
    """`n` signal lines over `n * 1.08` seconds (100k lines: 30 hours) and the quotes for
    that span, one a second per symbol. Signals and quotes are generated together, in
    time order, so a limit price or a stop is set against the mid the signal will meet."""
    directory.mkdir(parents=True, exist_ok=True)
    quotes_path, signals_path, config = (directory / "quotes.csv", directory / "signals.jsonl",
                                         directory / "config.toml")
    rng = random.Random(seed)
    seconds = max(int(n * 1.08), 1) + 2
    mids = {s.name: s.mid for s in MIXED_SYMBOLS}
    books: dict[str, tuple[int, int, int]] = {}  # bid, ask, size
    position = {s.name: 0 for s in MIXED_SYMBOLS}  # what the generator expects, roughly
    recent: deque[str] = deque(maxlen=20)
    written = 0
    next_signal_at = 1.0
    with open(quotes_path, "w", encoding="utf-8") as quotes, \
            open(signals_path, "w", encoding="utf-8") as signals:
        quotes.write(QUOTE_HEADER)
        for second in range(seconds):
            now = MIXED_START + timedelta(seconds=second)
            ts = iso_ms(now)
            for spec in MIXED_SYMBOLS:
                mid = mids[spec.name] + round(rng.gauss(0, spec.mid * 0.0003))
                mids[spec.name] = mid
                half = spec.half_spread * rng.randint(1, 3)
                size = rng.randint(*spec.top_size)
                books[spec.name] = (mid - half, mid + half, size)
                quotes.write(f"{ts},{spec.name},{cents(mid - half)},{cents(mid + half)},"
                             f"{_quantity(size)},{_quantity(size)}\n")
            while written < n and next_signal_at < second + 1:
                at = now + timedelta(milliseconds=int((next_signal_at - second) * 1000))
                next_signal_at += rng.uniform(0.58, 1.58)  # 1.08 s apart on average
                line = _mixed_line(rng, written, at, books, position, recent)
                signals.write(line + "\n")
                written += 1
    config.write_text(MIXED_CONFIG, encoding="utf-8")
    return Workload(signals_path, quotes_path, config, written, seconds * len(MIXED_SYMBOLS))


def _mixed_line(rng: random.Random, i: int, at: datetime, books: dict[str, tuple[int, int, int]],
                position: dict[str, int], recent: deque[str]) -> str:
    roll = rng.random()
    shares = MIXED_SHARES
    cut_dup = shares["duplicate"]
    if roll < cut_dup and recent:
        return rng.choice(recent)  # delivered twice: the very same bytes again
    spec = MIXED_SYMBOLS[rng.randrange(len(MIXED_SYMBOLS))]
    bid, ask, _size = books[spec.name]
    mid = (bid + ask) // 2
    # lean back towards flat, so positions (and the equity they need) stay bounded
    lean = max(-0.4, min(0.4, position[spec.name] / spec.position_limit * 0.4))
    buy = rng.random() < 0.5 - lean
    sign = 1 if buy else -1
    signal: dict[str, Any] = {
        "signal_id": f"mx-{i}", "ts": iso_ms(at), "strategy_id": rng.choice(("momo", "meanrev")),
        "account_id": "main", "venue": "sim", "symbol": spec.name,
        "side": "buy" if buy else "sell", "order_type": "market",
        "quantity": None, "limit_price": None,
        "stop_loss": cents(mid - sign * mid // 100), "take_profit": cents(mid + sign * mid // 50),
        "time_in_force": "GTC", "strength": round(rng.uniform(0.5, 1.0), 2),
        "confluence_score": round(rng.uniform(2, 5), 1),
    }
    units = rng.randint(*spec.small)
    roll -= cut_dup
    if roll < shares["malformed"]:
        signal["quantity"] = _quantity(units)
        return _malformed(rng, signal)
    roll -= shares["malformed"]
    if roll < shares["limit"]:
        ticks = rng.randint(-1, 5)  # -1: crosses the touch; else rests that many ticks away
        price = (ask if buy else bid) if ticks < 0 else (bid - ticks if buy else ask + ticks)
        signal.update(order_type="limit", limit_price=cents(price), quantity=_quantity(units))
    elif roll < shares["limit"] + shares["big"]:
        units = rng.randint(*spec.big)
        signal["quantity"] = _quantity(units)
    elif roll < shares["limit"] + shares["big"] + shares["risk_sized"]:
        del signal["quantity"]  # no quantity: the risk manager sizes it
        units = 0
    else:
        signal["quantity"] = _quantity(units)
    position[spec.name] += sign * units
    line = json.dumps(signal, separators=(",", ":"))
    recent.append(line)
    return line
