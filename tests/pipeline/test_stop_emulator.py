"""Spec: emulated stops. On a venue that emulates stops (here the simulated venue with
`stops = "emulated"`) a stop is HELD by ordergate, never sent, until the touch crosses its
trigger (a buy stop: the ask at or above it; a sell stop: the bid at or below it); then it
is sent once, under its own client order ID, as a market order (stop_market) or a limit
at its price (stop_limit). Run through the whole engine on the simulated venue."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderType, Side, TradingState
from ordergate.engine import Engine
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import T0, Scenario, quote

D = Decimal
EMULATED = {"venues": {"sim": {"kind": "simulated", "stops": "emulated"}}}
MARGIN = {"allow_short": True, "balances": {"main": {"USDT": D("100000")}}}
# 0 s: 42000/42001; 5 s: still below a buy stop at 42100; 10 s: the ask reaches it;
# 11 s: further past it (a second quote past the trigger).
QUOTES = [quote(0, "42000", "42001", "5"), quote(5, "42050", "42060", "5"),
          quote(10, "42090", "42100", "5"), quote(11, "42150", "42160", "5")]
BUY_STOP = {"order_type": "stop_market", "trigger_price": D("42100")}


def _config(**sections: object) -> dict[str, object]:
    return {**EMULATED, **sections}


def _record_sends(s: Scenario) -> list:
    """Every request that reaches the venue's place_order, refused or not."""
    received: list = []
    place = s.venue.place_order

    async def recording(request):
        received.append(request)
        return await place(request)

    s.venue.place_order = recording  # type: ignore[method-assign]
    return received


def _lines(s: Scenario, event: str) -> list[dict]:
    return [line for line in s.audit() if line["event"] == event]


# ---------------------------------------------------------------- never before the trigger


async def test_a_held_stop_never_reaches_the_venue_before_its_trigger(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:
        received = _record_sends(s)
        outcome = await s.submit(**BUY_STOP)
        order = outcome.order
        assert outcome.admitted and order.status is S.HELD
        for _ in range(5):  # ticks on quotes below the trigger, and a reconciliation
            await s.advance(1)
        await s.engine.reconcile()
        assert order.status is S.HELD
        assert received == [] and s.venue.orders_per_client_id == {}
        assert s.engine.reconciler.followed_count == 0  # nothing polls a venue for it
        assert s.engine.journal.order_status(order.client_order_id) == "HELD"
        assert _lines(s, "reconciliation_drift") == []
        (held,) = [line for line in _lines(s, "order_transition") if line["decision"] == "HELD"]
        assert "not at the venue" in held["reason"]


async def test_a_native_venue_still_gets_its_stops_natively(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:  # stops = "auto": the simulated venue has them
        received = _record_sends(s)
        order = (await s.submit(**BUY_STOP)).order
        assert order.status is S.ACCEPTED
        assert [r.order_type for r in received] == [OrderType.STOP_MARKET]


async def test_a_held_stop_counts_as_working_exposure_and_an_open_order(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:
        order = (await s.submit(**BUY_STOP)).order
        exposure = s.engine.market.exposure("main", "sim", "BTC/USDT")
        assert exposure.working_buy == order.quantity and exposure.is_open
        assert order in s.engine.ledger.live_orders()


# ---------------------------------------------------------------- triggering


async def test_it_triggers_once_on_the_crossing_quote_and_is_sent_as_a_market_order(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:
        received = _record_sends(s)
        order = (await s.submit(**BUY_STOP)).order
        await s.advance(10)  # the ask reaches 42100
        await s.advance(1)   # and goes further: no second send
        await s.advance(1)
        assert [(r.client_order_id, r.order_type, r.trigger_price) for r in received] == [
            (order.client_order_id, OrderType.MARKET, None)]
        assert s.venue.orders_per_client_id == {order.client_order_id: 1}
        assert order.status is S.FILLED and order.average_price == D("42100")
        (triggered,) = _lines(s, "stop_triggered")
        assert triggered["decision"] == "sent" and triggered["sent_as"] == "market"
        assert s.engine.metrics.stops_triggered.labels("sim", "sent")._value.get() == 1
        assert triggered["trigger_price"] == "42100.00" and triggered["reference"] == "42100"
        sent = [line for line in _lines(s, "order_transition") if line["decision"] == "SUBMITTED"]
        assert len(sent) == 1 and sent[0]["reason"].startswith("triggered at 42100.00 (ask 42100")


async def test_a_sell_stop_triggers_on_the_bid_not_on_the_ask(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41905", "41895.5", "5"),
              quote(10, "41900", "41910", "5")]
    async with Scenario(tmp_path, quotes, config=_config(), venue=MARGIN) as s:
        received = _record_sends(s)
        order = (await s.submit(side="sell", order_type="stop_market",
                                trigger_price=D("41900"), stop_loss=D("43000"),
                                take_profit=D("39000"))).order
        await s.advance(5)  # an ask below the trigger does not trigger a sell stop
        assert order.status is S.HELD and received == []
        await s.advance(5)  # the bid reaches it
        assert [r.order_type for r in received] == [OrderType.MARKET]
        assert order.status is S.FILLED


async def test_a_stop_limit_is_sent_as_a_limit_at_its_price(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:
        received = _record_sends(s)
        order = (await s.submit(order_type="stop_limit", trigger_price=D("42100"),
                                limit_price=D("42120"))).order
        assert order.status is S.HELD
        await s.advance(10)
        (request,) = received
        assert (request.order_type, request.price, request.trigger_price) == (
            OrderType.LIMIT, D("42120.00"), None)
        assert order.status is S.FILLED  # the ask, 42100, is within its limit


async def test_a_stop_limit_whose_price_the_market_passed_rests_and_is_not_timed_out(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(10, "42190", "42200", "5")]
    config = _config(reconciler={"fill_timeout_s": 5})
    async with Scenario(tmp_path, quotes, config=config) as s:
        order = (await s.submit(order_type="stop_limit", trigger_price=D("42100"),
                                limit_price=D("42120"))).order
        await s.advance(10)
        assert order.status is S.ACCEPTED  # sent as a limit at 42120, below the ask
        await s.advance(30)  # a triggered stop waits as a native one does: no fill timeout
        assert order.status is S.ACCEPTED


# ---------------------------------------------------------------- cancel, expiry


async def test_cancelling_a_held_stop_is_local_and_final(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:
        received = _record_sends(s)
        order = (await s.submit(**BUY_STOP)).order
        assert await s.engine.cancel(order.client_order_id, "operator")
        assert order.status is S.CANCELLED
        assert "cancelled locally" in order.transitions[-1].reason
        await s.advance(10)  # the trigger is crossed: nothing is sent
        await s.advance(1)
        assert received == [] and order.status is S.CANCELLED
        assert s.engine.market.exposure("main", "sim", "BTC/USDT").working_buy == 0


async def test_a_held_stop_past_its_good_till_date_expires_unsent(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:
        received = _record_sends(s)
        order = (await s.submit(**BUY_STOP, time_in_force="GTD",
                                expires_at=T0 + timedelta(seconds=8))).order
        assert order.status is S.HELD
        await s.advance(9)
        assert order.status is S.EXPIRED
        await s.advance(2)
        assert received == [] and order.status is S.EXPIRED


# ---------------------------------------------------------------- restart


def _restart(s: Scenario) -> Engine:
    return Engine(s.config, s.clock, venues={"sim": s.venue}, journal_path=s.tmp / "journal.sqlite")


async def test_a_restart_re_arms_a_held_stop_unsent_and_it_triggers_after(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:
        received = _record_sends(s)
        cid = (await s.submit(**BUY_STOP)).order.client_order_id
        await s.advance(2)
        engine = _restart(s)  # the first engine is abandoned, as after kill -9
        await engine.start()
        try:
            order = engine.ledger.get(cid)
            assert order is not None and order.status is S.HELD
            assert engine.stops.armed_count == 1
            assert engine.reconciler.followed_count == 0  # never looked up as "lost"
            for _ in range(3):
                s.clock.advance(1)
                await engine.tick()
            assert order.status is S.HELD and received == []  # not sent without its trigger
            s.clock.advance(5)  # 10 s: the ask reaches the trigger
            await engine.tick()
            assert order.status is S.FILLED
        finally:
            await engine.close()
        assert s.venue.orders_per_client_id == {cid: 1}


async def test_a_stop_held_before_a_restart_that_made_stops_native_is_still_emulated(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:
        received = _record_sends(s)
        cid = (await s.submit(**BUY_STOP)).order.client_order_id
        native = s.config.model_copy(update={"venues": {"sim": s.config.venues["sim"].model_copy(
            update={"stops": "native"})}})
        engine = Engine(native, s.clock, venues={"sim": s.venue},
                        journal_path=s.tmp / "journal.sqlite")
        await engine.start()
        try:
            assert engine.ledger.get(cid).status is S.HELD and engine.stops.armed_count == 1
            s.clock.advance(10)
            await engine.tick()
            assert [r.order_type for r in received] == [OrderType.MARKET]
            assert engine.ledger.get(cid).status is S.FILLED
        finally:
            await engine.close()


async def test_a_restart_under_the_resubmit_policy_never_sends_a_held_stop(tmp_path):
    config = _config(recovery={"absent_order_policy": "resubmit"})
    async with Scenario(tmp_path, QUOTES, config=config) as s:
        received = _record_sends(s)
        cid = (await s.submit(**BUY_STOP)).order.client_order_id
        engine = _restart(s)
        await engine.start()
        try:
            for _ in range(4):
                s.clock.advance(1)
                await engine.tick()
            assert engine.ledger.get(cid).status is S.HELD and received == []
        finally:
            await engine.close()


# ---------------------------------------------------------------- the kill switch


async def test_halted_refuses_a_triggered_entry_stop_and_cancels_it_locally(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:
        received = _record_sends(s)
        order = (await s.submit(**BUY_STOP)).order
        s.engine.set_trading_state(TradingState.HALTED, "test")
        await s.advance(10)
        assert received == [] and order.status is S.CANCELLED
        assert order.transitions[-1].reason.startswith(R.TRADING_HALTED)
        (triggered,) = _lines(s, "stop_triggered")
        assert (triggered["decision"], triggered["code"]) == ("refused", "TRADING_HALTED")
        (cancel,) = [line for line in _lines(s, "order_transition")
                     if line["decision"] == "CANCELLED"]
        assert cancel["code"] == "TRADING_HALTED"


async def test_reducing_refuses_a_triggered_stop_that_would_grow_the_position(tmp_path):
    config = _config(risk={"reducing_cancels_orders": False})
    async with Scenario(tmp_path, QUOTES, config=config) as s:
        received = _record_sends(s)
        order = (await s.submit(**BUY_STOP)).order
        s.engine.set_trading_state(TradingState.REDUCING, "test")
        await s.advance(10)
        assert received == [] and order.status is S.CANCELLED
        assert order.transitions[-1].reason.startswith(R.REDUCE_ONLY)


async def test_reducing_cancels_a_held_stop_that_would_grow_the_position_locally(tmp_path):
    async with Scenario(tmp_path, QUOTES, config=_config()) as s:  # reducing_cancels_orders
        received = _record_sends(s)
        order = (await s.submit(**BUY_STOP)).order
        s.engine.set_trading_state(TradingState.REDUCING, "test")
        await s.advance(1)
        assert order.status is S.CANCELLED and received == []
        assert "cancelled locally" in order.transitions[-1].reason


async def test_reducing_still_sends_a_triggered_stop_that_reduces_the_position(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(10, "41890", "41900", "5")]
    config = _config(risk={"reducing_cancels_orders": False})
    async with Scenario(tmp_path, quotes, config=config, venue=MARGIN) as s:
        await s.submit(signal_id="entry")  # long 0.010 at market
        order = (await s.submit(signal_id="stop", side="sell", order_type="stop_market",
                                trigger_price=D("41900"), stop_loss=D("43000"),
                                take_profit=D("39000"))).order
        assert order.status is S.HELD
        s.engine.set_trading_state(TradingState.REDUCING, "test")
        await s.advance(10)
        assert order.status is S.FILLED
        assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == 0


# ---------------------------------------------------------------- a bracket's stop-loss


async def test_a_brackets_stop_loss_is_held_and_triggers_while_halted(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(10, "40990", "41000", "5")]
    async with Scenario(tmp_path, quotes, config=_config(), venue=MARGIN) as s:
        entry = (await s.submit(protect=True)).order
        legs = {row["role"]: row for row in s.engine.journal.children(entry.client_order_id)}
        assert legs["stop_loss"]["status"] == "HELD"
        assert legs["take_profit"]["status"] == "ACCEPTED"  # a limit: native
        brackets = [line["decision"] for line in _lines(s, "bracket")]
        assert "unprotected" not in brackets
        s.engine.set_trading_state(TradingState.HALTED, "test")  # exits_when_halted: true
        await s.advance(10)  # the bid reaches the stop-loss at 41000
        await s.advance(1)   # the take-profit is cancelled: one cancels the other
        legs = {row["role"]: row for row in s.engine.journal.children(entry.client_order_id)}
        assert legs["stop_loss"]["status"] == "FILLED"
        assert legs["take_profit"]["status"] == "CANCELLED"
        assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == 0


async def test_a_brackets_stop_loss_waits_while_halted_when_exits_may_not_leave(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(10, "40990", "41000", "5")]
    config = _config(brackets={"exits_when_halted": False})
    async with Scenario(tmp_path, quotes, config=config, venue=MARGIN) as s:
        received = _record_sends(s)
        entry = (await s.submit(protect=True)).order
        sent_before = len(received)
        s.engine.set_trading_state(TradingState.HALTED, "test")
        await s.advance(10)
        await s.advance(1)
        stop = next(row for row in s.engine.journal.children(entry.client_order_id)
                    if row["role"] == "stop_loss")
        assert stop["status"] == "HELD" and len(received) == sent_before
        assert [line["decision"] for line in _lines(s, "stop_triggered")] == ["waiting"]
        s.engine.set_trading_state(TradingState.ACTIVE, "test")
        await s.advance(1)
        assert s.engine.journal.order_status(stop["client_order_id"]) == "FILLED"
        assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == 0


async def test_a_held_stop_loss_is_cancelled_locally_when_the_take_profit_fills(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "45001", "45002", "5")]
    async with Scenario(tmp_path, quotes, config=_config(), venue=MARGIN) as s:
        received = _record_sends(s)
        entry = (await s.submit(protect=True)).order
        await s.advance(6)
        await s.advance(1)
        legs = {row["role"]: row for row in s.engine.journal.children(entry.client_order_id)}
        assert legs["take_profit"]["status"] == "FILLED"
        assert legs["stop_loss"]["status"] == "CANCELLED"
        assert all(r.order_type is not OrderType.STOP_MARKET for r in received)
        assert not any(r.client_order_id == legs["stop_loss"]["client_order_id"] for r in received)
        assert s.engine.journal.parent(entry.client_order_id)["status"] == "done"


def test_the_trigger_rule_reads_the_touch_the_order_would_execute_against():
    from ordergate.domain.order import Order
    from ordergate.domain.values import TimeInForce
    from ordergate.pipeline.stop_emulator import crossed
    from ordergate.venues.base import Ticker

    def stop(side: Side) -> Order:
        return Order("c", "s", "st", "main", "sim", "X", side, OrderType.STOP_MARKET, D(1),
                     None, TimeInForce.GTC, T0, trigger_price=D(100))

    def at(bid: str, ask: str) -> Ticker:
        return Ticker("X", D(bid), D(ask), T0)

    assert crossed(stop(Side.BUY), at("99.5", "99.9")) is None
    assert crossed(stop(Side.BUY), at("99.5", "100")) == D(100)
    assert crossed(stop(Side.BUY), at("101", "101.5")) == D("101.5")
    assert crossed(stop(Side.SELL), at("100.1", "100.5")) is None
    assert crossed(stop(Side.SELL), at("100", "100.5")) == D(100)
    assert crossed(stop(Side.SELL), at("99", "99.5")) == D(99)


async def test_a_brackets_stop_loss_refused_when_it_triggers_is_not_placed_again_each_tick(
        tmp_path):
    from ordergate.venues.faults import Fault
    quotes = [quote(0, "42000", "42001", "5"), quote(10, "40990", "41000", "5")]
    async with Scenario(tmp_path, quotes, config=_config(), venue=MARGIN) as s:
        entry = (await s.submit(protect=True, take_profit=None)).order
        s.venue.faults.inject("place", Fault.REJECT)
        for _ in range(5):
            await s.advance(3)
        legs = [(r["role"], r["leg"], r["status"])
                for r in s.engine.journal.children(entry.client_order_id)]
        assert legs == [("stop_loss", 1, "REJECTED")]
        unprotected = [line for line in _lines(s, "bracket") if line["decision"] == "unprotected"]
        assert len(unprotected) == 1 and "simulated reject" in unprotected[0]["reason"]


async def test_a_brackets_stop_loss_that_could_not_be_sent_when_it_triggered_is_tried_again(
        tmp_path):
    from ordergate.venues.faults import Fault
    quotes = [quote(0, "42000", "42001", "5"), quote(10, "40990", "41000", "5")]
    config = _config(executor={"max_attempts": 2, "backoff_base_s": 0.01,
                               "backoff_cap_s": 0.01})
    async with Scenario(tmp_path, quotes, config=config, venue=MARGIN) as s:
        entry = (await s.submit(protect=True, take_profit=None)).order
        s.venue.faults.inject("place", Fault.UNAVAILABLE, times=2)  # every attempt of one send
        await s.advance(10)
        legs = [(r["leg"], r["status"]) for r in s.engine.journal.children(entry.client_order_id)]
        assert legs == [(1, "FAILED")]
        for _ in range(4):  # brackets.exit_retry_s (5 s) later: a new leg, held, triggered
            await s.advance(2)
        legs = [(r["leg"], r["status"]) for r in s.engine.journal.children(entry.client_order_id)]
        assert legs == [(1, "FAILED"), (2, "FILLED")]
        assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == 0
