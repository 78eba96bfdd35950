"""Chaos: random signals, faults, outages, lying report feeds and restarts against the
simulated venue, with the engine's promises checked after every step.

A hypothesis state machine drives a real `Engine` (journal and audit log on disk, the
circuit breaker in front of the venue) over one `SimulatedVenue` that outlives every
restart. Between it and the engine sits a `ChaosVenue`, which distorts what the venue
says (duplicate, reordered and lagging fill reports, stale reports, lost replies, the
process killed mid-send) and records every order that reaches the venue.

After every step:
- at most one venue order per client order ID;
- no order reached the venue while the breaker was open or trading was HALTED, and none
  before it was committed to the journal;
- every order's history in the journal follows the transition table; no order has more
  filled than it asked for, and every fill the engine counts is a trade the venue made;
- the engine's position is the sum of its unique fills;
- a bracket's exit is never sent for more than its entry has filled, and the exits never
  fill more than the entry did unless drift (`bracket_overfill`) said so; an exit is the
  one order that may leave while HALTED (`brackets.exits_when_halted`);
- an amended order's legs never fill more than the largest total its lineage was asked
  for, and no two legs of one lineage ever work at the venue together (`amend_working`
  amends a working order's total and price while fills, faults and kills race it; with
  the amender sizing a replacement from the new total instead of from recorded fills,
  the budget below fails within a few hundred runs);
- no subscriber raised.
And whenever the chaos stops (the `settle` rule, and at the end of every run): healed,
given time, every order ends in a terminal state that agrees with the venue's (status
and filled quantity; a bracket's exit may still rest, as the venue has it), the venue
holds no order the journal does not know, and the
engine's position equals the venue's.

The budget is fixed and derandomized (1000 runs of up to 30 steps, about 17 s on the
2-core development machine), so CI runs the same examples every time. For a
bigger, random run: `CHAOS_EXAMPLES=500 CHAOS_STEPS=50 .venv/bin/pytest -s -q
tests/test_chaos.py -k machine`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from loguru import _better_exceptions, logger
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ordergate.clock import SimulatedClock
from ordergate.config import AuditSettings, EngineConfig, config_from_mapping
from ordergate.domain.order import TRANSITIONS, Order, OrderStatus
from ordergate.domain.values import OrderRole
from ordergate.engine import Engine
from ordergate.events import ReconciliationDrift
from ordergate.events import SystemError as EngineSystemError
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.testing.chaos_venue import APPLIES_TO, Chaos, ChaosVenue, ProcessKilled
from ordergate.testing.scenario import BTC, T0, Scenario, make_signal, quote
from ordergate.venues.base import OrderNotFound, OrderRequest
from ordergate.venues.circuit_breaker import BreakerSettings
from ordergate.venues.faults import Fault
from ordergate.venues.guarded import GuardedVenue
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.rate_limiter import default_rate_limit
from ordergate.venues.simulated import SimulatedVenue, SimulatedVenueSettings

D = Decimal
S = OrderStatus
T = TypeVar("T")
SYMBOL = "BTC/USDT"
TICK = D("0.01")
QUOTE_EVERY_S = 2
QUOTES_FOR_S = 3 * 3600
BREAKER = BreakerSettings(failure_threshold=3, recovery_timeout_s=20)
# The order calls twice as often as the rest.
FAULT_OPERATIONS = ("place", "fetch_order", "place", "fetch_order", "fetch_fills", "cancel",
                    "fetch_ticker", "fetch_balances", "replace")
SIDES = st.sampled_from(["buy", "sell"])
LOTS = st.integers(1, 600)
CHAOS_PAIRS = sorted((op, chaos) for chaos, ops in APPLIES_TO.items() for op in ops)
_TMP_ROOT = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


# A bracket's exit waits at the venue until its price comes, for good if it never does:
# the settled state then has it working, as the venue has it.
_RESTING_EXIT = ("role IN ('stop_loss','take_profit') AND status IN ('ACCEPTED','PARTIALLY_FILLED')")


@functools.lru_cache(maxsize=16)
def random_walk(seed: int) -> MarketData:
    """Quotes every 2 s for 3 hours: a random walk around 42,000 with a spread of a few
    ticks and sizes from 0.005 to 1.5 BTC, so orders fill, fill in part, rest and cross.
    Shared between runs (the venue only reads it), so a handful of seeds are built once."""
    rng = random.Random(seed)
    mid_ticks = 4_200_000
    quotes = []
    for i in range(QUOTES_FOR_S // QUOTE_EVERY_S):
        mid_ticks += rng.randint(-800, 800)
        half = rng.randint(1, 300)
        bid, ask = D(mid_ticks - half) * TICK, D(mid_ticks + half) * TICK
        quotes.append(Quote(T0 + timedelta(seconds=i * QUOTE_EVERY_S), SYMBOL, bid, ask,
                            D(rng.randint(5, 1500)) / 1000, D(rng.randint(5, 1500)) / 1000))
    return MarketData(quotes)


class Stats:
    """What the runs exercised (printed by the big local run)."""

    examples = 0
    steps = 0
    counts: Counter[str] = Counter()


class ChaosMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        Stats.examples += 1
        self.loop = asyncio.new_event_loop()
        self.tmp = Path(tempfile.mkdtemp(prefix="ordergate-chaos-", dir=_TMP_ROOT))
        self.journal_path = self.tmp / "journal.sqlite"
        self.engine: Engine | None = None
        self.reader: sqlite3.Connection | None = None
        self.clean = True           # False once a step failed: teardown only cleans up
        self.signal_ids: list[str] = []
        self.system_errors: list[EngineSystemError] = []
        self.drifts: list[ReconciliationDrift] = []
        self.trading_state = "ACTIVE"
        self.recovering = False
        self.contradicted: set[str] = set()
        self.amend_totals: dict[str, list[Decimal]] = {}  # root -> totals asked by amends

    # ------------------------------------------------------------------ plumbing

    def run(self, coro: Coroutine[Any, Any, T]) -> T | None:
        """Run one engine call on the machine's own loop. A `ProcessKilled` is a kill -9:
        the engine is abandoned and a new one started on the same journal and venue."""
        try:
            return self.loop.run_until_complete(coro)
        except ProcessKilled:
            Stats.counts["crashes"] += 1
            self._crash()
            self._start_engine()
            return None
        except BaseException:
            self.clean = False
            raise

    def _context(self, request: OrderRequest) -> Mapping[str, object]:
        assert self.reader is not None and self.engine is not None
        row = self.reader.execute("SELECT status, role FROM orders WHERE client_order_id=?",
                                  (request.client_order_id,)).fetchone()
        return {"breaker": str(self.guard.breaker.state),
                "trading_state": self.engine.risk.trading_state,
                "journaled": None if row is None else row[0], "recovering": self.recovering,
                "role": None if row is None else row[1]}

    def _config(self) -> EngineConfig:
        return self.config.model_copy(update={"risk": self.config.risk.model_copy(
            update={"trading_state": self.trading_state})})

    def _start_engine(self) -> None:
        """A new process: a fresh breaker (it is not persisted), the journal, the venue."""
        while True:
            self.guard = GuardedVenue.wrap(self.chaos, self.clock, breaker=BREAKER,
                                           rate_limit=default_rate_limit("simulated"))
            engine = Engine(self._config(), self.clock, venues={"sim": self.guard},
                            journal_path=self.journal_path)
            engine.bus.subscribe(EngineSystemError, self.system_errors.append)
            engine.bus.subscribe(ReconciliationDrift, self.drifts.append)
            self.engine = engine
            self.recovering = True
            if self.reader is None:  # a second connection: it sees only what was committed
                self.reader = sqlite3.connect(self.journal_path, isolation_level=None)
            try:
                self.loop.run_until_complete(engine.start())
                return
            except ProcessKilled:  # killed again, during recovery
                Stats.counts["crashes"] += 1
                self._crash()
            except BaseException:
                self.clean = False
                raise
            finally:
                self.recovering = False

    def _crash(self) -> None:
        engine = self.engine
        assert engine is not None
        engine.journal._db.close()  # kill -9: whatever was not committed is lost
        engine.audit.close()         # (only to release the log sink)
        self.engine = None

    def _tick(self) -> None:
        assert self.engine is not None
        self.run(self.chaos.deliver_due())
        self.sim.advance()  # the engine advances only venues it sees as SimulatedVenue
        self.run(self.engine.tick())

    # ------------------------------------------------------------------ rules

    @initialize(seed=st.integers(0, 15), policy=st.sampled_from(["fail", "resubmit"]),
                ack_latency_ms=st.sampled_from([0, 250]), transit_s=st.sampled_from([8.0, 2.0]),
                on_drift=st.sampled_from(["halt", "alert"]), native_replace=st.booleans(),
                native_oco=st.booleans())
    def start(self, seed: int, policy: str, ack_latency_ms: int, transit_s: float,
              on_drift: str, native_replace: bool, native_oco: bool) -> None:
        """Either world: a venue with native replace and OCO lists (amends as one atomic
        request, brackets as one list, both through the chaos) or without (cancel-then-
        replace, emulated OCO)."""
        self.clock = SimulatedClock(T0)
        self.sim = SimulatedVenue(SimulatedVenueSettings(
            name="sim", instruments=[BTC], balances={"main": {"USDT": D("10000000")}},
            ack_latency_ms=ack_latency_ms, history_retention_s=86_400,
            native_replace=native_replace, native_oco=native_oco), self.clock,
            random_walk(seed))
        Stats.counts[f"native replace {native_replace}, oco {native_oco}"] += 1
        self.chaos = ChaosVenue(self.sim, self.clock, context=self._context, delay_s=transit_s)
        self.config = config_from_mapping({
            "executor": {"max_attempts": 4, "jitter_seed": seed},
            "reconciler": {"fill_timeout_s": 30},
            "recovery": {"absent_order_policy": policy},
            "reconciliation": {"on_drift": on_drift},
        }).model_copy(update={"audit": AuditSettings(path=self.tmp / "audit.jsonl",
                                                     rotation=None, retention=None)})
        self._start_engine()

    def _submit(self, signal_id: str | None, side: str, quantity: Decimal | None,
                limit_bps: int | None = None, time_in_force: str = "GTC",
                bracket: dict[str, Any] | None = None) -> None:
        """One signal, with a new ID unless `signal_id` repeats one seen before."""
        assert self.engine is not None
        if signal_id is None:
            signal_id = f"sig-{len(self.signal_ids)}"
            self.signal_ids.append(signal_id)
        fields: dict[str, Any] = {"signal_id": signal_id, "ts": self.clock.now(), "side": side,
                                  "quantity": quantity, "stop_loss": None, "take_profit": None}
        if limit_bps is not None:
            quote = self.sim.market.quote_at(SYMBOL, self.clock.now())
            assert quote is not None
            price = ((quote.bid + quote.ask) / 2 * (1 + D(limit_bps) / 10_000)).quantize(TICK)
            fields.update(order_type="limit", limit_price=price, time_in_force=time_in_force)
        fields.update(bracket or {})
        outcome = self.run(self.engine.submit(make_signal(**fields)))
        Stats.counts["signals"] += 1
        if outcome is not None:
            Stats.counts["admitted" if outcome.admitted else f"denied {outcome.code}"] += 1

    @staticmethod
    def _quantity(lots: int, dust: bool) -> Decimal:
        """Whole lots, or a little more: the executor truncates to the lot."""
        return lots * BTC.lot_size + (D("0.0004") if dust else 0)

    @rule(side=SIDES, lots=LOTS, dust=st.booleans())
    def submit_market(self, side: str, lots: int, dust: bool) -> None:
        self._submit(None, side, self._quantity(lots, dust))

    @rule(side=SIDES, lots=LOTS, dust=st.booleans(), bps=st.integers(-30, 30),
          time_in_force=st.sampled_from(["GTC", "IOC"]))
    def submit_limit(self, side: str, lots: int, dust: bool, bps: int, time_in_force: str) -> None:
        """A limit order near the touch: it crosses, rests, or rests and fills later."""
        self._submit(None, side, self._quantity(lots, dust), bps, time_in_force)

    @rule(side=SIDES, lots=LOTS, bps=st.one_of(st.none(), st.integers(-30, 30)),
          stop_bps=st.integers(20, 120), target_bps=st.integers(40, 300))
    def submit_bracket(self, side: str, lots: int, bps: int | None, stop_bps: int,
                       target_bps: int) -> None:
        """An entry with its exits (`protect`): a stop and a take-profit that the random
        walk reaches, or not, while the entry fills, in parts or not at all."""
        quote = self.sim.market.quote_at(SYMBOL, self.clock.now())
        assert quote is not None
        mid, sign = (quote.bid + quote.ask) / 2, 1 if side == "buy" else -1
        stop = (mid * (1 - sign * D(stop_bps) / 10_000)).quantize(TICK)
        target = (mid * (1 + sign * D(max(target_bps, 2 * stop_bps)) / 10_000)).quantize(TICK)
        self._submit(None, side, self._quantity(lots, False), bps,
                     bracket={"protect": True, "stop_loss": stop, "take_profit": target})
        Stats.counts["brackets"] += 1

    @rule(index=st.integers(0, 99), lots=st.one_of(st.none(), LOTS),
          bps=st.one_of(st.none(), st.integers(-30, 30)))
    def amend_working(self, index: int, lots: int | None, bps: int | None) -> None:
        """An operator amends a working order's total and/or price, while fills, faults and
        kills race it: the lineage's legs must never fill more than was intended."""
        assert self.engine is not None
        if lots is None and bps is None:
            return

        def working() -> list[Order]:
            assert self.engine is not None
            return sorted((o for o in self.engine.ledger.live_orders()
                           if o.status in (S.ACCEPTED, S.PARTIALLY_FILLED)
                           and o.role in (OrderRole.PRIMARY, OrderRole.AMENDMENT)),
                          key=lambda o: o.client_order_id)

        if not working():  # something to amend: a limit just off the touch, larger than
            # the quotes' sizes often are, so it rests and fills in parts as the walk comes
            self._submit(None, "buy" if index % 2 else "sell",
                         self._quantity(100 + 100 * (index % 5), False), -4 if index % 2 else 4)
        if self.engine is None or not working():
            return
        order = working()[index % len(working())]
        quantity = None if lots is None else self._quantity(lots, False)
        price = None
        if bps is not None and order.price is not None:
            price = (order.price * (1 + D(bps) / 10_000)).quantize(TICK)
        root = order.parent_id if order.role is OrderRole.AMENDMENT else order.client_order_id
        assert root is not None
        if quantity is not None:  # what is intended from now on, if the amend goes through
            self.amend_totals.setdefault(root, []).append(quantity)
        outcome = self.run(self.engine.amend(order.client_order_id, quantity, price))
        Stats.counts["amends"] += 1
        if outcome is not None:
            Stats.counts["amended" if outcome.done else f"amend {outcome.code}"] += 1

    @rule(side=SIDES, bps=st.one_of(st.none(), st.integers(-30, 30)))
    def submit_sized_by_risk(self, side: str, bps: int | None) -> None:
        """No quantity: the risk manager sizes it from the venue balance."""
        self._submit(None, side, None, bps)

    @rule(index=st.integers(0, 99), side=SIDES, lots=LOTS)
    def submit_seen_signal_again(self, index: int, side: str, lots: int) -> None:
        """A signal ID seen before (a strategy replaying its output): never sent twice."""
        if self.signal_ids:
            self._submit(self.signal_ids[index % len(self.signal_ids)], side,
                         self._quantity(lots, False))

    @rule(operation=st.sampled_from(FAULT_OPERATIONS), fault=st.sampled_from(list(Fault)),
          times=st.integers(1, 4))
    def inject_fault(self, operation: str, fault: Fault, times: int) -> None:
        self.sim.faults.inject(operation, fault, times)

    @rule(fault=st.sampled_from([Fault.UNAVAILABLE, Fault.TIMEOUT_BEFORE_ACCEPT, Fault.RATE_LIMITED]),
          times=st.integers(3, 8))
    def venue_cannot_be_asked(self, fault: Fault, times: int) -> None:
        """Lookups fail for a while: the executor must park an ambiguous order, not guess."""
        self.sim.faults.inject("fetch_order", fault, times)

    @rule(pair=st.sampled_from(CHAOS_PAIRS), times=st.integers(1, 3))
    def inject_chaos(self, pair: tuple[str, Chaos], times: int) -> None:
        self.chaos.inject(pair[0], pair[1], times)

    @rule(down=st.booleans())
    def outage(self, down: bool) -> None:
        self.sim.faults.down = down

    @rule(seconds=st.sampled_from([0.5, 1, 2, 3]))
    def advance_a_little(self, seconds: float) -> None:
        """Time passes: quotes move, resting orders fill, the reconciler polls."""
        self.clock.advance(seconds)
        self._tick()

    @rule(seconds=st.integers(4, 45))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self._tick()

    @rule()
    def restart(self) -> None:
        """Close the engine and start a new one on the same journal and venue."""
        assert self.engine is not None
        Stats.counts["restarts"] += 1
        self.run(self.engine.close())
        self.engine = None
        self._start_engine()

    @rule(state=st.sampled_from(["ACTIVE", "REDUCING", "HALTED"]))
    def set_trading_state(self, state: str) -> None:
        assert self.engine is not None
        self.trading_state = state
        self.engine.set_trading_state(state, "chaos: the operator's kill switch")

    @rule(index=st.integers(0, 99))
    def venue_contradicts_itself(self, index: int) -> None:
        """The venue reports REJECTED for an order it had accepted (and still works): not a
        legal transition, so drift for that order, never an exception out of a tick."""
        assert self.engine is not None
        accepted = [o for o in self.engine.ledger.live_orders() if o.status is S.ACCEPTED]
        if accepted:
            client_order_id = accepted[index % len(accepted)].client_order_id
            self.chaos.contradict(client_order_id)
            self.contradicted.add(client_order_id)

    @rule()
    def settle(self) -> None:
        """The chaos stops; given time, the engine and the venue must agree."""
        self._converge()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def promises_hold(self) -> None:
        if self.engine is None or self.reader is None:
            return
        Stats.steps += 1
        try:
            self._check()
        except BaseException:
            self.clean = False
            raise

    def _check(self) -> None:
        engine, reader = self.engine, self.reader
        assert engine is not None and reader is not None
        assert not self.system_errors, f"a subscriber raised: {self.system_errors}"
        # Nothing trades on this venue but us, so every drift is a false alarm, except a
        # cold start that could not read the venue (it says so, honestly) and the venue
        # contradicting itself about an order (`venue_contradicts_itself`).
        # A bracket's exits both filling before one could cancel the other is real (the
        # emulated one-cancels-the-other has a reaction time): checked against the journal.
        overfilled = self._overfilled_brackets()
        false_alarms = [d for d in self.drifts if d.kind != "cold_start_incomplete" and not (
            d.kind == "illegal_transition" and d.subject in self.contradicted) and not (
            d.kind == "bracket_overfill" and d.subject in overfilled)]
        assert not false_alarms, f"drift reported where there is none: {false_alarms}"
        twice = {cid: n for cid, n in self.sim.orders_per_client_id.items() if n > 1}
        assert not twice, f"more than one venue order for a client order ID: {twice}"
        # The venue refuses a duplicate, so a resend without a lookup leaves one order
        # there: only the order of requests and lookups shows it.
        resent = self.chaos.sends.resent_unlooked()
        assert not resent, f"sent again without a lookup finding it absent: {resent}"
        for sent in self.chaos.sent:
            assert sent.context["breaker"] != "open", f"sent while the breaker was open: {sent}"
            assert sent.context["trading_state"] != "HALTED" or sent.context["role"] in (
                "stop_loss", "take_profit"), f"sent while HALTED (and not an exit): {sent}"
            assert sent.context["journaled"] == "SUBMITTED", f"sent before it was journaled: {sent}"

        orders = {row[0]: (S(row[1]), D(row[2])) for row in reader.execute(
            "SELECT client_order_id, status, quantity FROM orders")}
        for cid, steps in self._transitions().items():
            status = S.PENDING
            for from_status, to_status in steps:
                assert from_status is status and to_status in TRANSITIONS[status], (
                    f"{cid}: illegal history {steps}")
                status = to_status
            assert status is orders[cid][0], f"{cid}: journal row {orders[cid][0]}, history ends {status}"
            live = engine.ledger.get(cid)
            assert live is None or live.status is status, f"{cid}: ledger {live}, journal {status}"

        filled: Counter[str] = Counter()
        for cid, trade_id, quantity, price in reader.execute(
                "SELECT client_order_id, trade_id, quantity, price FROM fills"):
            filled[cid] += D(quantity)
            trades = self._venue_trades(cid)
            assert trades.get(trade_id) == (D(quantity), D(price)), (
                f"{cid}: fill {trade_id} {quantity} @ {price} is not a venue trade: {trades}")
        for cid, quantity in filled.items():
            assert quantity <= orders[cid][1], f"{cid}: filled {quantity} of {orders[cid][1]}"
            live = engine.ledger.get(cid)
            assert live is None or live.filled_quantity == quantity, (
                f"{cid}: the ledger counts {live.filled_quantity if live else None}, "
                f"the journal {quantity}")
        position = engine.positions.quantity("main", "sim", SYMBOL)
        assert position == self._journal_position(), (
            f"position {position} is not the sum of unique fills {self._journal_position()}")
        reported = {d.subject for d in self.drifts if d.kind == "bracket_overfill"}
        for entry_id, (entry_filled, legs, exits_filled) in self._brackets().items():
            for cid, quantity in legs:
                assert quantity <= entry_filled, (
                    f"exit {cid} of {entry_id} sent for {quantity}, the entry filled {entry_filled}")
            assert exits_filled <= entry_filled or entry_id in reported, (
                f"the exits of {entry_id} filled {exits_filled} > the entry's {entry_filled}, "
                "and no drift said so")
        self._check_amends(filled)
        self._check_oco_lists(filled)

    def _check_oco_lists(self, filled: Counter[str]) -> None:
        """Of a native OCO list's two legs at most one ever fills: the venue ends the other
        at the first fill of either (or the stop's trigger), so a list can never close
        more than it was sent for, whatever chaos hid its answer."""
        assert self.reader is not None
        for list_id, spec in self.reader.execute(
                "SELECT parent_id, spec FROM parents WHERE kind='oco_list'"):
            legs = json.loads(spec)
            both = [legs["take_profit"], legs["stop_loss"]]
            assert not all(filled[cid] for cid in both), (
                f"both legs of OCO list {list_id} filled: "
                f"{[(cid, filled[cid]) for cid in both]}")

    def _check_amends(self, filled: Counter[str]) -> None:
        """An amended order's legs never fill more than was intended (the largest total the
        lineage was ever asked for: the old leg works for its own until its cancel lands),
        and never is the replacement working at the venue beside the leg it replaces."""
        assert self.reader is not None
        if not self.amend_totals:
            return
        with self.sim.faults.suspended():
            resting = {r.client_order_id for r in self.loop.run_until_complete(
                self.sim.fetch_open_orders(SYMBOL))}
        for root, totals in self.amend_totals.items():
            rows = list(self.reader.execute(
                "SELECT client_order_id, quantity FROM orders WHERE client_order_id=? OR "
                "(parent_id=? AND role='amendment')", (root, root)))
            if not rows:
                continue
            original = next((D(q) for cid, q in rows if cid == root), D(0))
            legs_filled = sum((filled[cid] for cid, _ in rows), D(0))
            assert legs_filled <= max([original, *totals]), (
                f"the legs of {root} filled {legs_filled}, more than ever intended "
                f"({original}, then {totals})")
            working = sorted(cid for cid, _ in rows if cid in resting)
            assert len(working) <= 1, f"legs of {root} working together at the venue: {working}"

    def _brackets(self) -> dict[str, tuple[Decimal, list[tuple[str, Decimal]], Decimal]]:
        """Per bracket (journaled): the entry's filled quantity, each exit leg's quantity,
        and what the exits filled, all from the journal."""
        assert self.reader is not None
        filled: Counter[str] = Counter()
        for cid, quantity in self.reader.execute("SELECT client_order_id, quantity FROM fills"):
            filled[cid] += D(quantity)
        out: dict[str, tuple[Decimal, list[tuple[str, Decimal]], Decimal]] = {}
        for (entry_id,) in self.reader.execute("SELECT parent_id FROM parents WHERE kind='bracket'"):
            legs = [(cid, D(q)) for cid, q in self.reader.execute(
                "SELECT client_order_id, quantity FROM orders WHERE parent_id=? AND role IN "
                "('stop_loss', 'take_profit')", (entry_id,))]
            out[entry_id] = (D(filled[entry_id]), legs, sum((D(filled[c]) for c, _ in legs), D(0)))
        return out

    def _overfilled_brackets(self) -> set[str]:
        return {entry_id for entry_id, (entry, _, exits) in self._brackets().items() if exits > entry}

    def _transitions(self) -> dict[str, list[tuple[S, S]]]:
        assert self.reader is not None
        history: dict[str, list[tuple[S, S]]] = {}
        for cid, from_status, to_status in self.reader.execute(
                "SELECT client_order_id, from_status, to_status FROM transitions ORDER BY seq"):
            history.setdefault(cid, []).append((S(from_status), S(to_status)))
        return history

    def _journal_position(self) -> Decimal:
        """What a cold start adopted, plus every unique fill (net of base-asset fees)."""
        assert self.reader is not None
        total = sum((D(q) for (q,) in self.reader.execute(
            "SELECT quantity FROM adopted_positions WHERE symbol=?", (SYMBOL,))), D(0))
        for side, quantity, fee, fee_currency in self.reader.execute(
                "SELECT side, quantity, fee, fee_currency FROM fills"):
            total += D(quantity) if side == "buy" else -D(quantity)
            if fee_currency == "BTC":
                total -= D(fee)
        return total

    def _venue_trades(self, cid: str) -> dict[str, tuple[Decimal, Decimal]]:
        with self.sim.faults.suspended():
            trades = self.loop.run_until_complete(self.sim.fetch_fills(SYMBOL, cid))
        return {t.trade_id: (t.quantity, t.price) for t in trades}

    def _converge(self) -> Counter[S]:
        """Heal everything, let time pass until no order is open, then compare with the venue."""
        self.sim.faults.clear()
        self.chaos.clear()
        for n in range(300):
            assert self.reader is not None
            # A resting exit does not hold the wait up, but the engine must hear the venue
            # at least once after the healing first (past the breaker's recovery timeout):
            # else an exit that filled during an outage is compared unpolled.
            heard = n * 2 > BREAKER.recovery_timeout_s + 4
            if heard and not self.chaos.in_transit and not self.reader.execute(
                    "SELECT 1 FROM orders WHERE status NOT IN "
                    "('FILLED','CANCELLED','REJECTED','EXPIRED','FAILED') AND NOT ("
                    + _RESTING_EXIT + ")").fetchall():
                break
            self.clock.advance(2)
            self._tick()
        assert self.engine is not None and self.reader is not None
        rows = self.reader.execute("SELECT client_order_id, status FROM orders").fetchall()
        resting = {cid for (cid,) in self.reader.execute(
            "SELECT client_order_id FROM orders WHERE " + _RESTING_EXIT)}
        stuck = [(cid, status) for cid, status in rows
                 if not S(status).is_terminal and cid not in resting]
        assert not stuck, f"orders that never finished, 600 s after the chaos stopped: {stuck}"
        filled: Counter[str] = Counter()
        for cid, quantity in self.reader.execute("SELECT client_order_id, quantity FROM fills"):
            filled[cid] += D(quantity)
        for cid, status in rows:
            try:
                with self.sim.faults.suspended():
                    report = self.loop.run_until_complete(self.sim.fetch_order(SYMBOL, cid))
            except OrderNotFound:
                assert S(status) in (S.FAILED, S.REJECTED) and not filled[cid], (
                    f"{cid}: {status} with {filled[cid]} filled, but the venue never had it")
                continue
            assert (S(status), filled[cid]) == (report.status, report.filled_quantity), (
                f"{cid}: the engine says {status} with {filled[cid]} filled, the venue "
                f"{report.status} with {report.filled_quantity}")
        unknown = set(self.sim.orders_per_client_id) - {cid for cid, _ in rows}
        assert not unknown, f"orders at the venue the journal does not know: {unknown}"
        with self.sim.faults.suspended():
            balances = self.loop.run_until_complete(self.sim.fetch_balances("main"))
        venue_position = balances["BTC"].total if "BTC" in balances else D(0)
        position = self.engine.positions.quantity("main", "sim", SYMBOL)
        assert position == venue_position == self._journal_position(), (
            f"position {position}, venue {venue_position}, fills {self._journal_position()}")
        Stats.counts["settled"] += 1
        return Counter(S(status) for _, status in rows)

    def teardown(self) -> None:
        try:
            if self.clean and self.engine is not None:
                for status, n in self._converge().items():
                    Stats.counts[f"ended {status}"] += n
                Stats.counts["sent"] += len(self.chaos.sent)
                for (operation, chaos), n in self.chaos.struck.items():
                    if operation in ("replace", "place_oco"):
                        Stats.counts[f"struck {operation} {chaos}"] += n
                assert self.reader is not None
                for kind, n in self.reader.execute("SELECT kind, COUNT(*) FROM parents GROUP BY kind"):
                    Stats.counts[f"parents {kind}"] += n
                for drift in self.drifts:
                    Stats.counts[f"drift {drift.kind}"] += 1
        finally:
            if self.engine is not None:
                self.loop.run_until_complete(self.engine.close())
            if self.reader is not None:
                self.reader.close()
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
            Stats.counts["orders"] += sum(self.sim.orders_per_client_id.values()) if hasattr(self, "sim") else 0


def _budget() -> settings:
    examples = int(os.environ.get("CHAOS_EXAMPLES", "0"))
    big = examples > 0
    return settings(
        max_examples=examples or 1000,
        stateful_step_count=int(os.environ.get("CHAOS_STEPS", "0")) or 30,
        deadline=None,
        derandomize=not big,
        database=None,
        print_blob=True,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large],
    )


@contextmanager
def _no_stderr_echo() -> Iterator[None]:
    """Without loguru's default stderr handler for the run: each engine's audit log would
    be echoed there (thousands of lines), at a cost in time."""
    try:
        logger.remove(0)
    except ValueError:  # already removed by someone else: leave it so
        yield
        return
    try:
        yield
    finally:
        logger.add(sys.stderr)


@contextmanager
def _cached_library_paths() -> Iterator[None]:
    """Every engine adds a loguru sink (its audit log), and loguru works out the
    interpreter's library directories afresh for each one: 4-5 ms, a third of a run's
    time here. They do not change during the run, so they are computed once."""
    formatter = getattr(_better_exceptions, "ExceptionFormatter", None)
    original = getattr(formatter, "_get_lib_dirs", None)
    if formatter is None or original is None:
        yield
        return
    formatter._get_lib_dirs = staticmethod(functools.cache(original))
    try:
        yield
    finally:
        formatter._get_lib_dirs = staticmethod(original)


def test_chaos_state_machine_finds_no_broken_promise() -> None:
    started = time.perf_counter()
    Stats.examples, Stats.steps, Stats.counts = 0, 0, Counter()
    with _no_stderr_echo(), _cached_library_paths():
        run_state_machine_as_test(ChaosMachine, settings=_budget())
    if os.environ.get("CHAOS_EXAMPLES"):
        print(f"\nchaos: {Stats.examples} examples, {Stats.steps} checked steps in "
              f"{time.perf_counter() - started:.1f}s; {dict(Stats.counts)}")


NATIVE_FAULTS = [Chaos.REPLY_LOST, Chaos.LOST_IN_TRANSIT, Chaos.DELAYED_SEND,
                 Chaos.NOT_FOUND_YET, Chaos.CRASH_BEFORE_SEND, Chaos.CRASH_AFTER_SEND]


def _machine(**world: bool) -> ChaosMachine:
    state = ChaosMachine()
    state.start(seed=2, policy="fail", ack_latency_ms=0, transit_s=8.0, on_drift="alert",
                **world)
    return state


def _hold_and_settle(state: ChaosMachine) -> None:
    try:
        state.promises_hold()
    finally:
        state.teardown()


@pytest.mark.parametrize("kind", NATIVE_FAULTS)
def test_a_native_replace_hit_by_chaos_keeps_every_promise(kind: Chaos) -> None:
    """The random budget reaches a faulted native replace only now and then: each fault
    once, for sure. A replace whose answer was lost or delayed must be looked up, not
    taken as refused (taken as refused, the replacement works on at the venue while the
    journal says REJECTED: this fails for REPLY_LOST and DELAYED_SEND)."""
    state = _machine(native_replace=True, native_oco=True)
    state.inject_chaos(("replace", kind), 1)
    state.amend_working(index=1, lots=None, bps=-3)
    assert state.chaos.struck["replace", kind] == 1
    _hold_and_settle(state)


@pytest.mark.parametrize("kind", NATIVE_FAULTS)
def test_a_native_oco_list_hit_by_chaos_keeps_every_promise(kind: Chaos) -> None:
    """Each fault once on a bracket's list: the legs are looked up, relinked after a
    kill, and end as the venue has them."""
    state = _machine(native_replace=True, native_oco=True)
    state.inject_chaos(("place_oco", kind), 1)
    state.inject_fault(Fault.TIMEOUT_BEFORE_ACCEPT, "place", 1)
    state.submit_bracket(side="buy", lots=79, bps=0, stop_bps=20, target_bps=40)
    state.advance(10)  # the entry fills: its exits go as one list, into the chaos
    assert state.chaos.struck["place_oco", kind] == 1
    _hold_and_settle(state)


# ---------------------------------------------------------------------- named examples
# What the machine found, and the chaos it relies on, as plain tests.

QUOTES = [quote(0, "42000", "42010", "5"), quote(5, "41980", "41990", "0.004"),
          quote(20, "41970", "41985", "5")]


def _venue(quotes: list[Quote] | None = None) -> tuple[SimulatedClock, SimulatedVenue, ChaosVenue]:
    clock = SimulatedClock(T0)
    sim = SimulatedVenue(SimulatedVenueSettings(
        name="sim", instruments=[BTC], slippage_bps=D(0),
        balances={"main": {"USDT": D("100000")}}), clock,
        MarketData(quotes or [quote(0, "42000", "42001", "5")]))
    return clock, sim, ChaosVenue(sim, clock, delay_s=8)


def _engine(tmp: Path, clock: SimulatedClock, chaos: ChaosVenue, **config: Any) -> Engine:
    settings = config_from_mapping(config).model_copy(update={"audit": AuditSettings(
        path=tmp / "audit.jsonl", rotation=None, retention=None)})
    return Engine(settings, clock, venues={"sim": chaos}, journal_path=tmp / "journal.sqlite")


async def _let_time_pass(engine: Engine, clock: SimulatedClock, chaos: ChaosVenue,
                         sim: SimulatedVenue, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(1)
        await chaos.deliver_due()
        sim.advance()
        await engine.tick()


async def test_duplicate_and_reordered_fill_reports_are_counted_once(tmp_path: Path) -> None:
    clock, sim, chaos = _venue(QUOTES)
    engine = _engine(tmp_path, clock, chaos, reconciler={"fill_timeout_s": 600})
    await engine.start()
    try:
        outcome = await engine.submit(make_signal(ts=clock.now(), order_type="limit",
                                                  limit_price=D("41990")))
        chaos.inject("fetch_fills", Chaos.DUPLICATE_FILLS, times=2)
        chaos.inject("fetch_fills", Chaos.REORDERED_FILLS, times=2)
        await _let_time_pass(engine, clock, chaos, sim, 25)
        assert outcome.order is not None and outcome.order.status is S.FILLED
        assert len(engine.journal.fills()) == 2
        assert engine.positions.quantity("main", "sim", SYMBOL) == D("0.010")
    finally:
        await engine.close()


async def test_a_stale_acknowledgement_after_the_fill_changes_nothing(tmp_path: Path) -> None:
    clock, sim, chaos = _venue()
    engine = _engine(tmp_path, clock, chaos)
    await engine.start()
    try:
        chaos.inject("place", Chaos.REPLY_LOST)
        chaos.inject("fetch_order", Chaos.STATUS_LAGS_FILLS)  # the fill is heard of first
        chaos.inject("fetch_order", Chaos.STALE_REPORT)       # then the acknowledgement
        outcome = await engine.submit(make_signal(ts=clock.now()))
        order = outcome.order
        assert order is not None and order.status is S.FILLED
        await _let_time_pass(engine, clock, chaos, sim, 3)
        assert [(t.from_status, t.to_status) for t in order.transitions] == [
            (S.PENDING, S.SUBMITTED), (S.SUBMITTED, S.FILLED)]
        assert engine.positions.quantity("main", "sim", SYMBOL) == D("0.010")
        assert sim.orders_per_client_id == {order.client_order_id: 1}
    finally:
        await engine.close()


@pytest.mark.parametrize("chaos_kind", [Chaos.CRASH_BEFORE_SEND, Chaos.CRASH_AFTER_SEND])
async def test_a_process_killed_mid_send_leaves_at_most_one_order_and_the_right_position(
        tmp_path: Path, chaos_kind: Chaos) -> None:
    clock, sim, chaos = _venue()
    engine = _engine(tmp_path, clock, chaos)
    await engine.start()
    chaos.inject("place", chaos_kind)
    with pytest.raises(ProcessKilled):
        await engine.submit(make_signal(ts=clock.now()))
    engine.journal._db.close()  # kill -9
    engine.audit.close()
    engine = _engine(tmp_path, clock, chaos)
    await engine.start()
    try:
        await _let_time_pass(engine, clock, chaos, sim, 15)  # past the request window
        status = engine.journal.order_status(client_order_id_for("momo", "main", "s-1"))
        venue_orders = sum(sim.orders_per_client_id.values())
        if chaos_kind is Chaos.CRASH_AFTER_SEND:
            assert (status, venue_orders) == ("FILLED", 1)
            assert engine.positions.quantity("main", "sim", SYMBOL) == D("0.010")
        else:
            assert (status, venue_orders) == ("FAILED", 0)
            assert engine.positions.quantity("main", "sim", SYMBOL) == 0
    finally:
        await engine.close()


# ---------------------------------------------------------------------- bugs found
# Found by the machine, minimised to plain tests. The files at fault are not this
# module's; each was fixed there (5ed2ff7, d218747, 8a65c46) and these now pass.

async def _order_in_transit(tmp_path: Path, **config: Any) -> tuple[
        SimulatedClock, SimulatedVenue, ChaosVenue, Engine, str]:
    """A market buy whose request is held up in transit for 8 s (inside the venue's 11 s
    window) while every lookup fails: the executor rightly parks it, SUBMITTED."""
    clock, sim, chaos = _venue()
    engine = _engine(tmp_path, clock, chaos, **config)
    await engine.start()
    chaos.inject("place", Chaos.DELAYED_SEND)
    sim.faults.inject("fetch_order", Fault.UNAVAILABLE, times=3)
    outcome = await engine.submit(make_signal(ts=clock.now()))
    assert outcome.order is not None and outcome.order.status is S.SUBMITTED
    return clock, sim, chaos, engine, outcome.order.client_order_id


async def _restart(tmp_path: Path, engine: Engine, clock: SimulatedClock, chaos: ChaosVenue,
                   **config: Any) -> Engine:
    await engine.close()
    engine = _engine(tmp_path, clock, chaos, **config)
    await engine.start()
    return engine


async def test_the_reconciler_does_not_fail_an_order_whose_request_may_still_arrive(
        tmp_path: Path) -> None:
    clock, sim, chaos, engine, client_order_id = await _order_in_transit(tmp_path)
    try:
        await _let_time_pass(engine, clock, chaos, sim, 15)
        assert sim.orders_per_client_id == {client_order_id: 1}
        assert engine.journal.order_status(client_order_id) == "FILLED"
        assert engine.positions.quantity("main", "sim", SYMBOL) == D("0.010")
    finally:
        await engine.close()


async def test_restart_does_not_fail_an_order_whose_request_may_still_arrive(
        tmp_path: Path) -> None:
    clock, sim, chaos, engine, client_order_id = await _order_in_transit(tmp_path)
    engine = await _restart(tmp_path, engine, clock, chaos)
    try:
        await _let_time_pass(engine, clock, chaos, sim, 15)
        assert sim.orders_per_client_id == {client_order_id: 1}
        assert engine.journal.order_status(client_order_id) == "FILLED"
        assert engine.positions.quantity("main", "sim", SYMBOL) == D("0.010")
    finally:
        await engine.close()


async def test_restart_with_resubmit_policy_does_not_resend_inside_the_request_window(
        tmp_path: Path) -> None:
    policy = {"recovery": {"absent_order_policy": "resubmit"}}
    clock, sim, chaos, engine, client_order_id = await _order_in_transit(tmp_path, **policy)
    engine = await _restart(tmp_path, engine, clock, chaos, **policy)
    try:
        await _let_time_pass(engine, clock, chaos, sim, 15)
        assert sim.orders_per_client_id == {client_order_id: 1}
        assert engine.positions.quantity("main", "sim", SYMBOL) == D("0.010")
    finally:
        await engine.close()


async def test_restart_recovery_sends_nothing_while_halted(tmp_path: Path) -> None:
    clock, sim, chaos = _venue()
    policy = {"recovery": {"absent_order_policy": "resubmit"}}
    engine = _engine(tmp_path, clock, chaos, **policy)
    await engine.start()
    sim.faults.inject("place", Fault.TIMEOUT_BEFORE_ACCEPT)   # never reached the venue
    sim.faults.inject("fetch_order", Fault.UNAVAILABLE, times=3)
    outcome = await engine.submit(make_signal(ts=clock.now()))
    assert outcome.order is not None and outcome.order.status is S.SUBMITTED
    clock.advance(30)
    engine = await _restart(tmp_path, engine, clock, chaos, risk={"trading_state": "HALTED"},
                            **policy)
    try:
        assert len(chaos.sent) == 1, [sent.request.client_order_id for sent in chaos.sent]
        assert sim.orders_per_client_id == {}
    finally:
        await engine.close()


@pytest.mark.parametrize("unreadable", ["lookups fail", "trade feed lags"])
async def test_a_working_order_that_cannot_be_read_is_not_drift(tmp_path: Path,
                                                                 unreadable: str) -> None:
    quotes = [quote(0, "42000", "42010", "5"), quote(5, "41980", "41990", "5")]
    async with Scenario(tmp_path, quotes=quotes,
                        config={"reconciler": {"fill_timeout_s": 600}}) as s:
        chaos = s.engine.venues["sim"] = ChaosVenue(s.venue, s.clock)
        drifts: list[ReconciliationDrift] = []
        s.engine.bus.subscribe(ReconciliationDrift, drifts.append)
        outcome = await s.submit(order_type="limit", limit_price=D("41990"))  # rests
        assert outcome.order is not None and outcome.order.status is S.ACCEPTED
        if unreadable == "lookups fail":
            s.venue.faults.inject("fetch_order", Fault.UNAVAILABLE, times=3)
        else:
            chaos.inject("fetch_fills", Chaos.LAGGING_FILLS, times=3)
        await s.advance(60)  # it filled at 5 s; the reconciler polls, then the drift check runs
        assert [d.kind for d in drifts] == []
        assert s.engine.risk.trading_state == "ACTIVE"


async def test_an_order_the_venue_does_not_show_yet_is_not_drift(tmp_path: Path) -> None:
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42010", "5")]) as s:
        chaos = s.engine.venues["sim"] = ChaosVenue(s.venue, s.clock, visibility_lag_s=3)
        drifts: list[ReconciliationDrift] = []
        s.engine.bus.subscribe(ReconciliationDrift, drifts.append)
        chaos.inject("place", Chaos.NOT_FOUND_YET)
        outcome = await s.submit(order_type="limit", limit_price=D("41990"))  # rests
        assert outcome.order is not None and outcome.order.status is S.ACCEPTED
        s.clock.advance(1)
        await s.engine.reconcile()  # the periodic check, a second after the placement
        assert [d.kind for d in drifts] == []
        assert s.engine.risk.trading_state == "ACTIVE"


async def test_a_stale_order_report_is_not_drift(tmp_path: Path) -> None:
    quotes = [quote(0, "42000", "42010", "5"), quote(5, "41980", "41990", "5", ask_size="0.004")]
    async with Scenario(tmp_path, quotes=quotes,
                        config={"reconciler": {"fill_timeout_s": 600}}) as s:
        chaos = s.engine.venues["sim"] = ChaosVenue(s.venue, s.clock)
        drifts: list[ReconciliationDrift] = []
        s.engine.bus.subscribe(ReconciliationDrift, drifts.append)
        outcome = await s.submit(order_type="limit", limit_price=D("41990"))  # rests
        assert outcome.order is not None and outcome.order.status is S.ACCEPTED
        chaos.inject("fetch_order", Chaos.STALE_REPORT, times=3)
        await s.advance(60)  # 0.004 filled at 5 s; every order lookup now answers stale
        assert [d.kind for d in drifts] == []
        assert s.engine.risk.trading_state == "ACTIVE"


async def test_stale_reports_of_an_order_the_open_orders_list_no_longer_shows_are_no_drift(
        tmp_path: Path) -> None:
    # Found by the machine (10,000 random runs): a resting order fills at the venue, and
    # the next three lookups of it (the poll, and both the drift check's) answer with the
    # stale acknowledgement. The open-orders list no longer shows it; the lookups say it
    # still works, unfilled: the two answers disagree, so neither settles the balance.
    clock, sim, chaos = _venue([quote(0, "42000", "42010", "5"), quote(5, "41980", "41990", "5")])
    engine = _engine(tmp_path, clock, chaos, reconciler={"fill_timeout_s": 600},
                     reconciliation={"interval_s": 3})
    await engine.start()
    try:
        drifts: list[ReconciliationDrift] = []
        engine.bus.subscribe(ReconciliationDrift, drifts.append)
        outcome = await engine.submit(make_signal(ts=clock.now(), order_type="limit",
                                                  limit_price=D("41995")))
        assert outcome.order is not None and outcome.order.status is S.ACCEPTED
        clock.advance(5)
        sim.advance()  # it fills at the venue, unseen
        chaos.inject("fetch_order", Chaos.STALE_REPORT, times=3)
        await engine.reconcile()
        assert drifts == []
        await _let_time_pass(engine, clock, chaos, sim, 4)
        assert outcome.order.status is S.FILLED and drifts == []
    finally:
        await engine.close()
