"""The executor: rounding before the order leaves, one order per signal, write before
send, retries that never duplicate, and the timeout-then-lookup path."""

from decimal import Decimal

import pytest

from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import Side
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.chaos_venue import Chaos, ChaosVenue
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.faults import Fault

D = Decimal


async def test_timeout_after_acceptance_leaves_one_order_at_the_venue(tmp_path):
    async with Scenario(tmp_path) as s:
        s.venue.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT)
        outcome = await s.submit()
    order = outcome.order
    assert order is not None and order.status is S.FILLED
    assert s.venue.orders_per_client_id == {order.client_order_id: 1}
    assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.010")


async def test_timeout_before_acceptance_is_resent_with_the_same_id_after_lookups_say_absent(tmp_path):
    async with Scenario(tmp_path) as s:
        s.venue.faults.inject("place", Fault.TIMEOUT_BEFORE_ACCEPT)
        outcome = await s.submit()
    order = outcome.order
    assert order is not None and order.status is S.FILLED
    assert s.venue.orders_per_client_id == {order.client_order_id: 1}


@pytest.mark.parametrize("transit_s", [2, 8])
async def test_a_request_held_up_in_transit_is_found_by_the_last_look_not_sent_again(
        tmp_path, transit_s):
    async with Scenario(tmp_path) as s:
        chaos = s.engine.venues["sim"] = ChaosVenue(s.venue, s.clock, delay_s=transit_s)
        chaos.inject("place", Chaos.DELAYED_SEND)
        start = s.clock.now()
        outcome = await s.submit()
    order = outcome.order
    assert order is not None and order.status is S.FILLED
    assert s.venue.orders_per_client_id == {order.client_order_id: 1}
    assert [sent.request.client_order_id for sent in chaos.sent] == [order.client_order_id]
    assert (s.clock.now() - start).total_seconds() >= 11  # resend_after_s + clock_skew_margin_s


async def test_unanswerable_lookup_leaves_the_order_unresolved_not_failed(tmp_path):
    async with Scenario(tmp_path) as s:
        s.venue.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT)
        s.venue.faults.inject("fetch_order", Fault.UNAVAILABLE, times=3)
        outcome = await s.submit()
        order = outcome.order
        assert order is not None and order.status is S.SUBMITTED
        assert any(l["event"] == "order_unresolved" for l in s.audit())
        # the reconciler keeps asking; once the venue answers, the order is adopted
        await s.advance(1)
    assert order.status is S.FILLED
    assert s.venue.orders_per_client_id == {order.client_order_id: 1}


async def test_venue_reject_is_rejected_not_retried(tmp_path):
    async with Scenario(tmp_path) as s:
        s.venue.faults.inject("place", Fault.REJECT)
        outcome = await s.submit()
    assert outcome.order is not None and outcome.order.status is S.REJECTED
    assert s.venue.orders_per_client_id == {}


async def test_retryable_errors_are_retried_then_succeed(tmp_path):
    async with Scenario(tmp_path) as s:
        s.venue.faults.inject("place", Fault.UNAVAILABLE)
        s.venue.faults.inject("place", Fault.RATE_LIMITED)
        before = s.clock.now()
        outcome = await s.submit()
    assert outcome.order is not None and outcome.order.status is S.FILLED
    assert (s.clock.now() - before).total_seconds() >= 1.0  # Retry-After honoured


async def test_persistent_unavailability_fails_the_order_after_max_attempts(tmp_path):
    async with Scenario(tmp_path, config={"executor": {"max_attempts": 3}}) as s:
        s.venue.faults.inject("place", Fault.UNAVAILABLE, times=3)
        outcome = await s.submit()
    assert outcome.order is not None and outcome.order.status is S.FAILED
    assert "3 attempt" in outcome.order.transitions[-1].reason


async def test_same_signal_twice_is_sent_once(tmp_path):
    async with Scenario(tmp_path) as s:
        first = await s.submit()
        second = await s.submit()
    assert first.admitted
    assert second.code is R.DUPLICATE_SIGNAL
    assert list(s.venue.orders_per_client_id.values()) == [1]


def test_client_order_id_is_derived_from_the_signal_and_fits_binance():
    a = client_order_id_for("momo", "main", "s-1")
    assert a == client_order_id_for("momo", "main", "s-1")
    assert a != client_order_id_for("momo", "main", "s-2")
    assert a != client_order_id_for("other", "main", "s-1")
    assert len(a) <= 36 and a.isalnum()


async def test_order_is_journaled_before_it_is_sent(tmp_path):
    seen = {}

    async with Scenario(tmp_path) as s:
        original = s.venue.place_order

        async def spy(request):
            import sqlite3

            with sqlite3.connect(tmp_path / "journal.sqlite") as other:
                seen["row"] = other.execute("SELECT status FROM orders WHERE client_order_id=?",
                                            (request.client_order_id,)).fetchone()
            return await original(request)

        s.venue.place_order = spy
        await s.submit()
    assert seen["row"] == ("SUBMITTED",)


@pytest.mark.parametrize(
    ("side", "limit", "sent"),
    [("buy", "42000.019", "42000.01"), ("sell", "42000.011", "42000.02"),
     ("buy", "42000.01", "42000.01")],
)
async def test_limit_price_is_rounded_to_the_tick_in_the_traders_favour(tmp_path, side, limit, sent):
    stop, tp = ("41000", "45000") if side == "buy" else ("43000", "39000")
    async with Scenario(tmp_path, quotes=[quote(0, "41990", "42010", "5")]) as s:
        outcome = await s.submit(side=side, order_type="limit", limit_price=D(limit),
                                 stop_loss=D(stop), take_profit=D(tp))
    assert outcome.order is not None and outcome.order.price == D(sent)


async def test_quantity_is_truncated_to_the_lot(tmp_path):
    async with Scenario(tmp_path) as s:
        outcome = await s.submit(quantity=D("0.0129"))
    assert outcome.order is not None and outcome.order.quantity == D("0.012")


async def test_order_below_min_notional_after_rounding_is_denied_before_sending(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(0, "1000", "1000.01", "5")]) as s:
        outcome = await s.submit(quantity=D("0.0059"), stop_loss=D("990"), take_profit=D("1100"))
    assert outcome.code is R.BELOW_MIN_NOTIONAL
    assert s.venue.orders_per_client_id == {}


# ---------------------------------------------------------------- post-only


def _post_only_buy(**overrides):
    return {"order_type": "limit", "limit_price": D("42001"), "post_only": True, **overrides}


async def test_a_post_only_order_that_would_take_ends_rejected_with_its_code_never_resent(tmp_path):
    sent = []
    async with Scenario(tmp_path) as s:  # the touch: 42000 / 42001
        original = s.venue.place_order

        async def spy(request):
            sent.append(request)
            return await original(request)

        s.venue.place_order = spy
        outcome = await s.submit(**_post_only_buy())  # a buy at the ask
        order = outcome.order
        assert order is not None and order.status is S.REJECTED
        for _ in range(30):  # the reconciler's rounds: nothing brings it back
            await s.advance(1)
        again = await s.submit(**_post_only_buy())  # the same signal, published twice
        lines = s.audit()
        journal = s.engine.ledger.journal
        fills = journal.fills(order.client_order_id)
        row = journal.order(order.client_order_id)
    assert [r.post_only for r in sent] == [True], "sent once, as post-only, never again"
    assert s.venue.orders_per_client_id == {}, "the venue refused it whole: no order exists"
    assert order.status is S.REJECTED and order.filled_quantity == 0 and fills == []
    assert order.transitions[-1].reason.startswith("POST_ONLY_WOULD_TAKE: ")
    assert row["status"] == "REJECTED" and row["post_only"] == 1
    rejected = [l for l in lines if l["event"] == "order_transition" and l["decision"] == "REJECTED"]
    assert [(l["code"], l["client_order_id"]) for l in rejected] == [
        ("POST_ONLY_WOULD_TAKE", order.client_order_id)]
    assert not [l for l in lines if l["event"] == "fill"]
    assert again.code is R.DUPLICATE_SIGNAL
    assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == 0


async def test_a_post_only_sell_at_the_bid_is_rejected_not_filled(tmp_path):
    venue = {"balances": {"main": {"USDT": D("100000"), "BTC": D("1")}}}
    async with Scenario(tmp_path, venue=venue) as s:
        outcome = await s.submit(side="sell", order_type="limit", limit_price=D("42000"),
                                 stop_loss=D("43000"), take_profit=D("39000"), post_only=True)
    assert outcome.order is not None and outcome.order.status is S.REJECTED
    assert outcome.order.transitions[-1].reason.startswith("POST_ONLY_WOULD_TAKE")
    assert outcome.order.filled_quantity == 0 and s.venue.orders_per_client_id == {}


async def test_any_other_venue_refusal_of_a_post_only_order_keeps_the_venues_words(tmp_path):
    async with Scenario(tmp_path) as s:
        s.venue.faults.inject("place", Fault.REJECT)
        outcome = await s.submit(**_post_only_buy(limit_price=D("41500")))
        lines = s.audit()
    assert outcome.order is not None and outcome.order.status is S.REJECTED
    assert outcome.order.transitions[-1].reason == "venue rejected: OrderRejected: simulated reject"
    rejected = [l for l in lines if l["event"] == "order_transition" and l["decision"] == "REJECTED"]
    assert len(rejected) == 1 and "code" not in rejected[0]


@pytest.mark.parametrize("tif", ["GTC", "GTD"])
async def test_a_post_only_order_that_rests_is_working_and_fills_as_maker_at_its_price(tmp_path, tif):
    from datetime import timedelta

    from ordergate.testing.scenario import T0

    quotes = [quote(0, "42000", "42001", "5"), quote(10, "41400", "41500", "5")]
    expiry = {"expires_at": T0 + timedelta(minutes=5)} if tif == "GTD" else {}
    async with Scenario(tmp_path, quotes=quotes) as s:
        outcome = await s.submit(**_post_only_buy(limit_price=D("41500"), time_in_force=tif,
                                                  **expiry))
        order = outcome.order
        assert order is not None and order.status is S.ACCEPTED
        assert order.post_only
        # A working order like any limit: what risk counts as exposure.
        working = s.engine.ledger.working.quantity(("main", "sim", "BTC/USDT"), Side.BUY)
        assert working == D("0.010")
        await s.advance(11)
        fills = s.engine.ledger.journal.fills(order.client_order_id)
    assert order.status is S.FILLED
    assert [(f["liquidity"], f["price"], f["quantity"]) for f in fills] == [
        ("maker", "41500.00", "0.010")]


# ---------------------------------------------------------------- stop orders


def _rising(*later):
    """The touch 42000 / 42001 (size 5), then the given (seconds, bid, ask) quotes."""
    return [quote(0, "42000", "42001", "5"), *(quote(t, b, a, "5") for t, b, a in later)]


async def test_a_stop_that_the_venue_finds_already_triggered_is_rejected_with_its_code(tmp_path):
    # The reference (the mid) is 42000.50, so risk admits a buy stop at 42000.75; the
    # venue's ask 42001 has already reached it: refused, never resent.
    sent = []
    async with Scenario(tmp_path) as s:
        original = s.venue.place_order

        async def spy(request):
            sent.append(request)
            return await original(request)

        s.venue.place_order = spy
        outcome = await s.submit(order_type="stop_market", trigger_price=D("42000.75"))
        for _ in range(5):
            await s.advance(1)
        lines = s.audit()
    order = outcome.order
    assert order is not None and order.status is S.REJECTED and order.filled_quantity == 0
    assert [r.trigger_price for r in sent] == [D("42000.75")], "sent once, never again"
    assert order.transitions[-1].reason.startswith("STOP_WOULD_TRIGGER: ")
    rejected = [l for l in lines if l["event"] == "order_transition" and l["decision"] == "REJECTED"]
    assert [l["code"] for l in rejected] == ["STOP_WOULD_TRIGGER"]
    assert s.venue.orders_per_client_id == {}


async def test_a_stop_market_rests_untriggered_then_fills_at_market_once_reached(tmp_path):
    quotes = _rising((10, "42200", "42201"), (20, "42600", "42601"))
    async with Scenario(tmp_path, quotes=quotes) as s:
        outcome = await s.submit(order_type="stop_market", trigger_price=D("42500"),
                                 stop_loss=D("41500"), take_profit=D("45000"))
        order = outcome.order
        assert order is not None and order.status is S.ACCEPTED
        assert order.price is None and order.trigger_price == D("42500")
        assert order.expected_price == D("42500")  # slippage is measured from the trigger
        await s.advance(11)
        assert order.status is S.ACCEPTED and order.filled_quantity == 0  # 42201 < 42500
        await s.advance(10)
        fills = s.engine.ledger.journal.fills(order.client_order_id)
        row = s.engine.ledger.journal.order(order.client_order_id)
        lines = s.audit()
    assert order.status is S.FILLED
    assert [(f["price"], f["liquidity"]) for f in fills] == [("42601.00", "taker")]
    assert row["trigger_price"] == "42500.00" and row["order_type"] == "stop_market"
    submitted = [l for l in lines if l["event"] == "order_transition" and l["decision"] == "SUBMITTED"]
    assert submitted[0]["reason"] == "sending 0.010 BTC/USDT at market once the price reaches 42500.00"
    received = [l for l in lines if l["event"] == "signal_received"]
    assert received[0]["reason"].endswith("triggered at 42500 stop_market on sim")


async def test_a_stop_limit_becomes_a_limit_at_its_price_when_triggered(tmp_path):
    venue = {"balances": {"main": {"USDT": D("100000"), "BTC": D("1")}}}
    quotes = _rising((10, "41500", "41501"), (20, "41700", "41701"))
    async with Scenario(tmp_path, quotes=quotes, venue=venue) as s:
        outcome = await s.submit(side="sell", order_type="stop_limit", trigger_price=D("41600"),
                                 limit_price=D("41650"), stop_loss=D("42500"),
                                 take_profit=D("39000"))
        order = outcome.order
        assert order is not None and order.status is S.ACCEPTED
        await s.advance(11)  # bid 41500 <= 41600 triggers it: a sell at 41650 rests
        assert order.status is S.ACCEPTED and order.filled_quantity == 0
        await s.advance(10)  # bid 41700 crosses it
        fills = s.engine.ledger.journal.fills(order.client_order_id)
    assert order.status is S.FILLED
    assert [(f["price"], f["liquidity"]) for f in fills] == [("41650.00", "maker")]


async def test_a_trigger_is_rounded_to_the_tick_away_from_the_market(tmp_path):
    venue = {"balances": {"main": {"USDT": D("100000"), "BTC": D("1")}}}
    async with Scenario(tmp_path, venue=venue) as s:
        buy = await s.submit(signal_id="b", order_type="stop_market",
                             trigger_price=D("42500.001"))
        sell = await s.submit(signal_id="s", side="sell", order_type="stop_limit",
                              trigger_price=D("41500.009"), limit_price=D("41400.009"),
                              stop_loss=D("42500"), take_profit=D("38000"))
    assert buy.order is not None and buy.order.trigger_price == D("42500.01")
    assert sell.order is not None and sell.order.trigger_price == D("41500.00")
    assert sell.order.price == D("41400.01")  # a sell's limit rounds up, as for any limit



@pytest.mark.parametrize("phase", ["prepare_order", "place_order"])
async def test_a_venue_without_stop_orders_refuses_one_unsent_with_its_code(tmp_path, phase):
    # Polymarket refuses while preparing (it signs before the send): the order never left,
    # so it ends FAILED; a ccxt exchange refuses while placing: REJECTED. Both carry the code.
    from ordergate.venues.base import StopOrdersUnsupported

    async with Scenario(tmp_path) as s:
        async def refuse(request):
            raise StopOrdersUnsupported("venue: no stop orders here; not sent")

        setattr(s.venue, phase, refuse)
        outcome = await s.submit(order_type="stop_market", trigger_price=D("42500"))
        lines = s.audit()
    order = outcome.order
    expected = S.FAILED if phase == "prepare_order" else S.REJECTED
    assert order is not None and order.status is expected
    assert order.transitions[-1].reason.startswith("STOP_ORDERS_UNSUPPORTED: refused before sending")
    final = [l for l in lines if l["event"] == "order_transition" and l["decision"] == expected]
    assert [l["code"] for l in final] == ["STOP_ORDERS_UNSUPPORTED"]
    assert s.venue.orders_per_client_id == {}
