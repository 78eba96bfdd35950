"""Drift: the venue and the journal disagree in a way following our own orders cannot
explain. Each kind is found, audited, counted, reported once, and by policy halts
trading; a venue that cannot be asked is no verdict."""

from decimal import Decimal

from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.engine import Engine
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.base import OrderRequest
from ordergate.venues.faults import Fault
from ordergate.venues.simulated import SimulatedVenue, SimulatedVenueSettings

D = Decimal
BTC = "BTC/USDT"
QUOTES = [quote(0, "42000", "42010", "5"), quote(30, "42000", "42010", "5")]
EVERY_10S = {"reconciliation": {"interval_s": 10}, "reconciler": {"fill_timeout_s": 600}}


async def _trade_behind_our_back(s: Scenario, client_order_id: str, order_type: OrderType,
                                 price: str | None = None) -> None:
    """Someone else trades on the same account: a person at the venue's website, a
    second bot sharing the API key."""
    await s.venue.place_order(OrderRequest(client_order_id, "main", BTC, Side.BUY, order_type,
                                           D("0.020"), D(price) if price else None, TimeInForce.GTC))


def _drift(s: Scenario) -> list[dict]:
    return [l for l in s.audit() if l["event"] == "reconciliation_drift"]


async def test_a_transport_error_during_the_check_is_no_verdict(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, config=EVERY_10S) as s:
        await _trade_behind_our_back(s, "manual-1", OrderType.MARKET)
        s.venue.faults.inject("fetch_open_orders", Fault.UNAVAILABLE)
        await s.advance(10)
        assert _drift(s) == [] and s.engine.risk.trading_state == "ACTIVE"
        await s.advance(10)  # the next check gets an answer
        assert [d["decision"] for d in _drift(s)] == ["position_mismatch"]


async def test_an_open_order_the_journal_never_saw_halts_trading(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, config=EVERY_10S) as s:
        await _trade_behind_our_back(s, "manual-1", OrderType.LIMIT, "41000")
        await s.advance(10)
        outcome = await s.submit(signal_id="after-drift")
        [drift] = _drift(s)
        lines = s.audit()
    assert (drift["decision"], drift["subject"], drift["ours"]) == ("unknown_venue_order", "manual-1", "none")
    assert s.engine.risk.trading_state == "HALTED"
    assert outcome.code is R.TRADING_HALTED and "after-drift" not in str(s.venue.orders_per_client_id)
    [halt] = [l for l in lines if l["event"] == "trading_state"]
    assert halt["decision"] == "HALTED" and "unknown_venue_order manual-1" in halt["reason"]


async def test_a_balance_our_fills_do_not_explain_is_reported_once_and_alert_keeps_trading(tmp_path):
    config = {**EVERY_10S, "reconciliation": {"interval_s": 10, "on_drift": "alert"}}
    async with Scenario(tmp_path, quotes=QUOTES, config=config) as s:
        await s.submit(quantity=D("0.010"))
        await _trade_behind_our_back(s, "manual-1", OrderType.MARKET)
        for _ in range(3):
            await s.advance(10)
        [drift] = _drift(s)
        assert (drift["decision"], drift["subject"], drift["ours"], drift["venues"]) == (
            "position_mismatch", "BTC", "0.010", "0.030")
        assert s.engine.risk.trading_state == "ACTIVE"
        assert (await s.submit(signal_id="still-trading")).admitted


async def test_reduce_policy_moves_the_kill_switch_to_reducing(tmp_path):
    config = {**EVERY_10S, "reconciliation": {"interval_s": 10, "on_drift": "reduce"}}
    async with Scenario(tmp_path, quotes=QUOTES, config=config) as s:
        await _trade_behind_our_back(s, "manual-1", OrderType.MARKET)
        await s.advance(10)
    assert s.engine.risk.trading_state == "REDUCING"


async def test_orders_that_finished_while_we_were_not_looking_are_not_drift(tmp_path):
    # The reconciler polls rarely here; the check finds the order filled and applies its fill.
    quotes = [quote(0, "42000", "42010", "5"), quote(5, "41900", "41950", "5")]
    config = {"reconciliation": {"interval_s": 10},
              "reconciler": {"fill_timeout_s": 600, "poll_interval_s": 3600}}
    async with Scenario(tmp_path, quotes=quotes, config=config) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41990"))
        await s.advance(10)
        order = outcome.order
        assert order is not None and order.status is S.FILLED
        assert s.engine.positions.quantity("main", "sim", BTC) == D("0.010")
        assert _drift(s) == [] and s.engine.risk.trading_state == "ACTIVE"


async def test_a_resting_order_the_venue_has_never_heard_of_is_drift(tmp_path):
    # The venue was reset (a testnet wipe) while we were down: our resting order is gone.
    async with Scenario(tmp_path, quotes=QUOTES, config=EVERY_10S) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41000"), stop_loss=D("40000"))
        assert outcome.order is not None and outcome.order.status is S.ACCEPTED
    s.clock.advance(60)  # long past the moments when a venue may not show a new order yet
    wiped = SimulatedVenue(SimulatedVenueSettings.model_validate(
        {"name": "sim", "instruments": [i.model_dump() for i in s.venue._s.instruments],
         "balances": {"main": {"USDT": D("100000")}}}), s.clock, s.venue.market)
    engine = Engine(s.config, s.clock, venues={"sim": wiped}, journal_path=tmp_path / "journal.sqlite")
    await engine.start()
    try:
        engine.audit.flush()
        kinds = [(l["decision"], l["subject"]) for l in s.audit() if l["event"] == "reconciliation_drift"]
        assert kinds == [("order_missing_at_venue", outcome.order.client_order_id)]
        assert engine.risk.trading_state == "HALTED"
    finally:
        await engine.close()


async def test_steady_trading_produces_no_drift(tmp_path):
    quotes = [quote(t, "42000", "42010", "5") for t in range(0, 100, 5)]
    async with Scenario(tmp_path, quotes=quotes, config={"reconciliation": {"interval_s": 10}}) as s:
        for i in range(8):
            side = "buy" if i % 3 else "sell"
            await s.submit(signal_id=f"s-{i}", side=side, quantity=D("0.010"))
            await s.submit(signal_id=f"l-{i}", order_type="limit", limit_price=D("41000"), side="buy",
                           take_profit=D("45000"), stop_loss=D("40000"))
            await s.advance(10)
        assert _drift(s) == [] and s.engine.risk.trading_state == "ACTIVE"


async def test_an_order_whose_answer_is_still_unknown_is_not_taken_for_drift(tmp_path):
    # Filled at the venue, the answer lost, the venue unreachable for lookups: our position
    # cannot know yet. The asset is left out until the order is resolved, then it agrees.
    async with Scenario(tmp_path, quotes=QUOTES, config=EVERY_10S) as s:
        s.venue.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT)
        s.venue.faults.inject("fetch_order", Fault.UNAVAILABLE, times=50)
        outcome = await s.submit(quantity=D("0.010"))
        assert outcome.order is not None and outcome.order.status is S.SUBMITTED
        assert await s.engine.reconcile() == []
        s.venue.faults.clear()
        await s.advance(10)
        assert outcome.order.status is S.FILLED
        assert s.engine.positions.quantity("main", "sim", BTC) == D("0.010")
        assert _drift(s) == [] and s.engine.risk.trading_state == "ACTIVE"


async def _resting(s: Scenario):
    outcome = await s.submit(order_type="limit", limit_price=D("41000"), stop_loss=D("40000"))
    assert outcome.order is not None and outcome.order.status is S.ACCEPTED
    return outcome.order


async def test_an_order_the_journal_finished_but_the_venue_still_works_is_drift(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, config=EVERY_10S) as s:
        order = await _resting(s)
        # A bug, or a hand-edited journal: we believe it cancelled, the venue works it.
        s.engine.ledger.transition(order, S.CANCEL_PENDING, "test")
        s.engine.ledger.transition(order, S.CANCELLED, "test: never sent to the venue")
        found = await s.engine.reconcile()
    assert [(d.kind, d.subject, d.ours) for d in found] == [
        ("order_state_mismatch", order.client_order_id, "CANCELLED")]


async def test_a_stale_open_orders_list_is_checked_against_the_order_itself(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, config=EVERY_10S) as s:
        order = await _resting(s)
        stale = await s.venue.fetch_open_orders()

        async def lagging_list(symbol=None):
            return stale

        s.venue.fetch_open_orders = lagging_list  # the list's replica lags the cancel
        assert await s.engine.cancel(order.client_order_id)
        assert order.status is S.CANCELLED
        assert await s.engine.reconcile() == []
        assert s.engine.risk.trading_state == "ACTIVE"
