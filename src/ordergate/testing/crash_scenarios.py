"""What each life of the crash test feeds the engine, which faults it arms at the venue,
and what it waits for before the SIGKILL.

A *plan* aims at one moment:
- `before_send`: the order is journaled but the venue never gets it (the order request is
  held before processing and dies with the connection; or no fault and the kill races
  the send right after the journal shows the order);
- `in_transit`: the request has reached the venue and is held in its pipeline before
  processing (`detached`): it executes after the engine is dead, up to 5 s later, inside
  the request window (recvWindow, 10 s) the engine's resend rule is built on;
- `after_send_before_ack`: the venue has the order, the answer is delayed or dropped;
- `mid_partial_fill`: a resting limit order is partly filled by another participant,
  and the kill lands before, during (a slow trade fetch) or after the engine saw it;
- `mid_cancel`: the reconciler's cancel (fill timeout) is in flight: delayed before or
  after the venue processed it, sometimes with a fill racing it;
- `bracket_exits`: a protected market buy (`protect`, a stop-loss and a take-profit) and
  the kill between its fill and the placement of its exits: right after the venue filled
  it, while its answer is delayed (the engine does not know it filled), or while the
  exits' request (on Binance spot one OCO list) is held at the venue (dying with the
  connection, or executing after the engine is dead); the restarted engine must place
  each exit once;
- `random`: one to three signals of any kind, killed after a random delay (this also
  hits start-up and recovery).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from ordergate.pipeline.client_order_id import client_order_id_for

PLANS = ("before_send", "in_transit", "after_send_before_ack", "mid_partial_fill",
         "mid_cancel", "bracket_exits", "random")
STRATEGY, ACCOUNT, VENUE, SYMBOL, VENUE_SYMBOL = "crash", "main", "binance", "BTC/USDT", "BTCUSDT"
LOT = Decimal("0.00001")
MIN_QTY = Decimal("0.0002")  # 10 USDT at 50 000: above the 5 USDT minimum notional
# The book every life starts with (the emulator's default): market orders above 0.5 BTC
# walk several levels and fill in several trades. Resting orders never cross it.
BOOK_BIDS = (("49999.00", "0.5"), ("49998.00", "1"), ("49990.00", "2"))
BOOK_ASKS = (("50001.00", "0.5"), ("50002.00", "1"), ("50010.00", "2"))
# Where a protected entry's exits go: far enough from the book that no life triggers them.
# The final run moves the market through every stop-loss (`CRASH_BOOK`) so they finish.
STOP_LOSS_BELOW, TAKE_PROFIT_ABOVE = Decimal(47000), Decimal(57000)  # reward:risk >= 1.5
CRASH_PRICE = Decimal(44000)
CRASH_BOOK = ((("44000.00", "1000"),), (("44001.00", "1000"),))


@dataclass(frozen=True, slots=True)
class Signal:
    signal_id: str
    side: str
    order_type: str
    quantity: Decimal
    limit_price: Decimal | None = None
    ts: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    """Set together, with `protect`: the entry of a bracket (its exits are placed as it fills)."""

    @property
    def protected(self) -> bool:
        return self.stop_loss is not None

    @property
    def client_order_id(self) -> str:
        return client_order_id_for(STRATEGY, ACCOUNT, self.signal_id)

    @property
    def resting(self) -> bool:
        return self.order_type == "limit" and self.limit_price is not None and (
            (self.side == "buy" and self.limit_price < Decimal(BOOK_ASKS[0][0]))
            or (self.side == "sell" and self.limit_price > Decimal(BOOK_BIDS[0][0])))

    def line(self) -> str:
        fields: dict[str, Any] = {
            "signal_id": self.signal_id, "ts": self.ts, "strategy_id": STRATEGY,
            "account_id": ACCOUNT, "venue": VENUE, "symbol": SYMBOL, "side": self.side,
            "order_type": self.order_type, "quantity": str(self.quantity)}
        if self.limit_price is not None:
            fields |= {"limit_price": str(self.limit_price), "time_in_force": "GTC"}
        if self.stop_loss is not None and self.take_profit is not None:
            fields |= {"stop_loss": str(self.stop_loss), "take_profit": str(self.take_profit),
                       "protect": True}
        return json.dumps(fields) + "\n"


@dataclass(slots=True)
class Plan:
    """One life: new signals, faults armed before the start, and the trigger to wait for."""

    aim: str
    signals: list[Signal]
    faults: list[dict[str, Any]] = field(default_factory=list)
    trigger: str = "delay"        # delay | post_hit | journal | venue_order | venue_filled | resting | delete_hit
    delay_s: float = 0.0          # trigger "delay": kill this long after the start
    settle_s: float = 0.0         # after the trigger: wait this long, then kill
    partial_fill: bool = False    # on the trigger: another participant trades against ours
    wait_trades_fetch: bool = False  # after the fill: kill once the engine is fetching trades


class SignalMaker:
    """Signals for the BTC/USDT emulator account, ids unique per run, sizes on the lot.
    `rng` is replaced for each life (each life draws from its own seeded generator)."""

    def __init__(self, rng: random.Random, run_tag: str) -> None:
        self.rng = rng
        self._tag = run_tag
        self._n = 0

    def _id(self) -> str:
        self._n += 1
        return f"ct-{self._tag}-{self._n:04d}"

    def _qty(self, low: str, high: str) -> Decimal:
        """A whole number of lots between `low` and `high`, drawn without a float."""
        lots = self.rng.randint(int(Decimal(low) / LOT), int(Decimal(high) / LOT))
        return max(lots * LOT, MIN_QTY)

    def market_buy(self) -> Signal:
        big = self.rng.random() < 0.2  # walks two or three levels of the book
        return Signal(self._id(), "buy", "market",
                      self._qty("0.5", "0.9") if big else self._qty("0.001", "0.05"))

    def market_sell(self, free_btc: Decimal) -> Signal:
        if self.rng.random() < 0.05:  # more than we hold: the venue rejects it
            return Signal(self._id(), "sell", "market", (free_btc + 1).quantize(LOT))
        if free_btc < 2 * MIN_QTY:
            return self.market_buy()
        share = Decimal(str(self.rng.uniform(0.05, 0.4)))
        return Signal(self._id(), "sell", "market",
                      max((free_btc * share).quantize(LOT, rounding=ROUND_DOWN), MIN_QTY))

    def resting_buy(self) -> Signal:
        price = Decimal(49950) - 5 * self.rng.randint(0, 80)
        return Signal(self._id(), "buy", "limit", self._qty("0.005", "0.05"), price)

    def resting_sell(self, free_btc: Decimal) -> Signal:
        if free_btc < 4 * MIN_QTY:
            return self.resting_buy()
        price = Decimal(50050) + 5 * self.rng.randint(0, 80)
        share = Decimal(str(self.rng.uniform(0.05, 0.3)))
        return Signal(self._id(), "sell", "limit",
                      max((free_btc * share).quantize(LOT, rounding=ROUND_DOWN), MIN_QTY), price)

    def crossing_buy(self) -> Signal:
        """Fills 0.5 at once and rests the rest: partially filled from its first answer."""
        return Signal(self._id(), "buy", "limit", self._qty("0.55", "0.7"), Decimal("50001.50"))

    def bracket_buy(self) -> Signal:
        """A market buy protected by a stop-loss and a take-profit, well away from the book."""
        return Signal(self._id(), "buy", "market", self._qty("0.002", "0.05"),
                      stop_loss=STOP_LOSS_BELOW - 10 * self.rng.randint(0, 100),
                      take_profit=TAKE_PROFIT_ABOVE + 10 * self.rng.randint(0, 100))

    def any(self, free_btc: Decimal) -> Signal:
        pick = self.rng.random()
        if pick < 0.35:
            return self.market_buy()
        if pick < 0.5:
            return self.market_sell(free_btc)
        if pick < 0.75:
            return self.resting_buy()
        if pick < 0.85:
            return self.resting_sell(free_btc)
        return self.crossing_buy()


def _post_delay(seconds: float, *, detached: bool) -> dict[str, Any]:
    return {"method": "POST", "path": "/api/v3/order", "kind": "delay", "delay_s": seconds,
            "after_processing": False, "detached": detached}


def make_plan(aim: str, rng: random.Random, maker: SignalMaker, free_btc: Decimal) -> Plan:
    u = rng.uniform
    if aim == "before_send":
        if rng.random() < 0.5:  # no fault: race the send right after the journal commit
            return Plan(aim, [maker.market_buy()], trigger="journal")
        return Plan(aim, [maker.any(free_btc)], [_post_delay(3.0, detached=False)],
                    trigger="post_hit", settle_s=u(0.0, 0.3))
    if aim == "in_transit":
        # Short: it lands before the restarted engine asks for it. Long: after the restart
        # has asked (start-up plus recovery lookups take 1-2.5 s), inside the request window.
        held = u(0.3, 1.0) if rng.random() < 0.5 else u(4.0, 5.0)
        return Plan(aim, [maker.any(free_btc)], [_post_delay(held, detached=True)],
                    trigger="post_hit", settle_s=u(0.0, 0.2))
    if aim == "after_send_before_ack":
        late_answer = rng.random() < 0.5
        post: dict[str, Any] = (
            {"method": "POST", "path": "/api/v3/order", "kind": "delay", "delay_s": 2.0,
             "after_processing": True} if late_answer else
            {"method": "POST", "path": "/api/v3/order", "kind": "drop", "after_processing": True})
        return Plan(aim, [maker.any(free_btc)], [post], trigger="venue_order",
                    settle_s=u(0.0, 0.4) if late_answer else u(0.0, 0.15))
    if aim == "mid_partial_fill":
        slow_fetch = rng.random() < 0.4
        faults = [{"method": "GET", "path": "/api/v3/myTrades", "kind": "delay",
                   "delay_s": 0.6, "after_processing": True}] if slow_fetch else []
        target = maker.resting_buy() if rng.random() < 0.7 else maker.resting_sell(free_btc)
        return Plan(aim, [target], faults, trigger="resting", partial_fill=True,
                    wait_trades_fetch=slow_fetch, settle_s=u(0.0, 0.5))
    if aim == "mid_cancel":
        kind = rng.choice(("after", "before", "before_detached"))
        fault: dict[str, Any] = {"method": "DELETE", "path": "/api/v3/order", "kind": "delay",
                                 "delay_s": 1.0, "after_processing": kind == "after",
                                 "detached": kind == "before_detached"}
        target = maker.crossing_buy() if rng.random() < 0.25 else maker.resting_buy()
        return Plan(aim, [target], [fault], trigger="delete_hit",
                    partial_fill=rng.random() < 0.5, settle_s=u(0.0, 0.5))
    if aim == "bracket_exits":
        kind = rng.choice(("filled", "answer_late", "exit_held", "exit_held_detached"))
        if kind == "filled":  # the kill races the exits' placement after the entry's answer
            return Plan(aim, [maker.bracket_buy()], trigger="venue_filled", settle_s=u(0.0, 0.15))
        if kind == "answer_late":  # filled at the venue; the engine never hears of it
            return Plan(aim, [maker.bracket_buy()],
                        [{"method": "POST", "path": "/api/v3/order", "kind": "delay",
                          "delay_s": 2.0, "after_processing": True}],
                        trigger="venue_filled", settle_s=u(0.0, 0.3))
        # The entry goes through; the exits' request (Binance spot: one OCO list) is held
        # before processing.
        exit_held = {**_post_delay(u(0.5, 4.0), detached=kind == "exit_held_detached"),
                     "path": "/api/v3/orderList/oco"}
        return Plan(aim, [maker.bracket_buy()], [exit_held], trigger="post_hit",
                    settle_s=u(0.0, 0.2))
    if aim == "random":
        return Plan(aim, [maker.any(free_btc) for _ in range(rng.randint(1, 3))],
                    trigger="delay", delay_s=u(0.2, 3.0))
    raise ValueError(f"unknown plan {aim!r}; one of {', '.join(PLANS)}")
