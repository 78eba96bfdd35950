"""The reconciler: partial fills, resting orders followed to their end, the remainder
policy, slippage checks, and reports that arrive late, twice or out of order."""

from decimal import Decimal

from ordergate.domain.order import OrderStatus as S
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.base import OrderReport, TradeReport
from ordergate.domain.values import Liquidity, Side
from ordergate.venues.faults import Fault

D = Decimal


async def test_market_order_larger_than_the_touch_fills_partially_and_the_rest_expires(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42001", "0.004")]) as s:
        outcome = await s.submit(quantity=D("0.010"))
        lines = s.audit()
    order = outcome.order
    assert order is not None and order.status is S.EXPIRED
    assert order.filled_quantity == D("0.004")
    assert [l["decision"] for l in lines if l["event"] == "fill"] == ["partial_fill"]
    assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.004")
    assert s.engine.summary.counts["orders_partially_filled"] == 1


async def test_resting_limit_order_fills_when_a_later_quote_crosses(tmp_path):
    quotes = [quote(0, "42000", "42010", "5"), quote(5, "41980", "41990", "0.004"),
              quote(6, "41970", "41985", "5")]
    async with Scenario(tmp_path, quotes=quotes) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41990"))
        order = outcome.order
        assert order is not None and order.status is S.ACCEPTED
        await s.advance(5)
        assert order.status is S.PARTIALLY_FILLED and order.filled_quantity == D("0.004")
        await s.advance(1)
    assert order.status is S.FILLED
    assert order.average_price == D("41990")
    assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.010")


async def test_unfilled_remainder_is_cancelled_after_the_fill_timeout(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42010", "5")],
                        config={"reconciler": {"fill_timeout_s": 3}}) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41900"))
        for _ in range(4):
            await s.advance(1)
    order = outcome.order
    assert order is not None and order.status is S.CANCELLED
    assert [t.to_status for t in order.transitions][-2:] == [S.CANCEL_PENDING, S.CANCELLED]


async def test_an_untriggered_stop_is_not_cancelled_by_the_fill_timeout_but_at_its_deadline(
        tmp_path):
    # The same 3 s timeout that cancels the resting limit above leaves a stop waiting for
    # its trigger; its own deadline (expires_at) still cancels it.
    from datetime import timedelta

    from ordergate.testing.scenario import T0

    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42010", "5")],
                        config={"reconciler": {"fill_timeout_s": 3}}) as s:
        waiting = await s.submit(signal_id="wait", order_type="stop_market",
                                 trigger_price=D("42500"))
        dated = await s.submit(signal_id="dated", order_type="stop_market",
                               trigger_price=D("42500"), expires_at=T0 + timedelta(seconds=8))
        for _ in range(6):
            await s.advance(1)
        assert waiting.order is not None and waiting.order.status is S.ACCEPTED
        assert dated.order is not None and dated.order.status is S.ACCEPTED
        for _ in range(4):
            await s.advance(1)
        lines = s.audit()
    assert waiting.order.status is S.ACCEPTED
    assert dated.order.status is S.CANCELLED
    assert "good-till-date" in dated.order.transitions[-2].reason
    follows = [l["reason"] for l in lines
               if l["event"] == "handler_verdict" and l["handler"] == "reconciler"]
    assert all(r.endswith("(a stop waits: no fill timeout)") for r in follows)


async def test_leave_policy_keeps_the_remainder_working(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42010", "5")],
                        config={"reconciler": {"fill_timeout_s": 1, "remainder_policy": "leave"}}) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41900"))
        for _ in range(3):
            await s.advance(1)
    assert outcome.order is not None and outcome.order.status is S.ACCEPTED


async def test_slippage_beyond_tolerance_is_an_audited_warning(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42001", "5")],
                        venue={"slippage_bps": D("200")}) as s:
        await s.submit()
        lines = s.audit()
    warnings = [l for l in lines if l["event"] == "slippage_exceeded"]
    assert len(warnings) == 1 and warnings[0]["decision"] == "warning"
    assert s.engine.summary.counts["slippage_breaches"] == 1


def _trade(order, trade_id: str, qty: str, price: str = "42000") -> TradeReport:
    return TradeReport(trade_id, order.client_order_id, order.venue_order_id, order.symbol,
                       Side.BUY, D(price), D(qty), D("0"), "USDT", Liquidity.MAKER,
                       order.created_at)


async def test_the_same_fill_reported_twice_is_applied_once(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42010", "5")]) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41900"))
        order = outcome.order
        assert order is not None
        ledger = s.engine.ledger
        assert ledger.apply_trade(order, _trade(order, "x-1", "0.004"))
        assert not ledger.apply_trade(order, _trade(order, "x-1", "0.004"))
    assert order.filled_quantity == D("0.004")
    assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.004")


async def test_a_fill_before_the_acknowledgement_and_a_stale_status_change_nothing_wrong(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42010", "5")]) as s:
        s.venue.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT)
        s.venue.faults.inject("fetch_order", Fault.UNAVAILABLE, times=3)
        outcome = await s.submit(order_type="limit", limit_price=D("41900"))
        order = outcome.order
        assert order is not None and order.status is S.SUBMITTED
        ledger = s.engine.ledger
        ledger.apply_trade(order, _trade(order, "early", "0.010", "41900"))  # fill before ack
        assert order.status is S.FILLED
        stale = OrderReport(order.client_order_id, "sim-1", order.symbol, S.ACCEPTED, D(0),
                            order.quantity, None, order.created_at)
        ledger.apply_report(order, stale)
    assert order.status is S.FILLED


async def test_a_fill_that_races_a_cancel_is_counted(tmp_path):
    quotes = [quote(0, "42000", "42010", "5"), quote(1, "41880", "41890", "5")]
    async with Scenario(tmp_path, quotes=quotes) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41900"))
        order = outcome.order
        assert order is not None
        s.clock.advance(1)  # the crossing quote is in, but nobody has polled yet
        await s.engine.reconciler.cancel(s.venue, order, "operator cancel")
    assert order.status is S.FILLED
    assert [t.to_status for t in order.transitions][-2:] == [S.CANCEL_PENDING, S.FILLED]
    assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.010")


async def test_late_fill_of_a_cancelled_order_still_reaches_the_position(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42010", "5")]) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41900"))
        order = outcome.order
        assert order is not None
        await s.engine.reconciler.cancel(s.venue, order, "operator cancel")
        assert order.status is S.CANCELLED
        assert s.engine.ledger.apply_trade(order, _trade(order, "late", "0.002", "41900"))
    assert order.status is S.CANCELLED and order.filled_quantity == D("0.002")
    assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.002")


async def test_a_stop_whose_cancel_answer_was_lost_is_asked_again_at_the_next_poll(tmp_path):
    """A stop is exempt from the fill timeout, so no timeout would ever ask again: a lost
    cancel answer left it CANCEL_PENDING for good, working at the venue."""
    from ordergate.testing.scenario import Scenario
    from ordergate.venues.faults import Fault

    async with Scenario(tmp_path) as s:
        stop = (await s.submit(order_type="stop_market", side="sell", trigger_price="41500",
                               stop_loss=None, take_profit=None)).order
        assert stop is not None and stop.status.value == "ACCEPTED"
        s.venue.faults.inject("cancel", Fault.TIMEOUT_BEFORE_ACCEPT)
        await s.engine.cancel(stop.client_order_id, "operator")
        assert stop.status.value == "CANCEL_PENDING"
        await s.advance(1)
        assert stop.status.value == "CANCELLED"
        reasons = [line["reason"] for line in s.audit() if line["client_order_id"] == stop.client_order_id]
        assert "venue reports CANCELLED" in reasons[-1]
