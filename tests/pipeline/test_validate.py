"""The validator refuses, with a reason naming the field, what the venue or the moment
makes impossible; it admits a well-formed signal."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import T0, Scenario


@pytest.mark.parametrize(
    ("overrides", "code", "mentions"),
    [
        ({"venue": "nowhere"}, R.UNKNOWN_VENUE, "nowhere"),
        ({"symbol": "DOGE/USDT"}, R.UNKNOWN_SYMBOL, "DOGE/USDT"),
        ({"strength": 0.1}, R.WEAK_SIGNAL, "strength"),
        ({"confluence_score": 0.5}, R.LOW_CONFLUENCE, "confluence_score"),
        ({"order_type": "limit"}, R.MISSING_LIMIT_PRICE, "limit_price"),
        ({"order_type": "limit", "limit_price": Decimal("42000"), "stop_loss": Decimal("43000")},
         R.STOP_LOSS_WRONG_SIDE, "stop_loss"),
        ({"order_type": "limit", "limit_price": Decimal("42000"), "take_profit": Decimal("41000")},
         R.TAKE_PROFIT_WRONG_SIDE, "take_profit"),
        ({"quantity": Decimal("0.0001")}, R.QUANTITY_OUT_OF_LIMITS, "quantity"),
        ({"ts": T0 - timedelta(minutes=5)}, R.STALE_SIGNAL, "ts"),
        ({"ts": T0 - timedelta(seconds=10), "expires_at": T0 - timedelta(seconds=1)},
         R.EXPIRED_SIGNAL, "expires_at"),
        ({"post_only": True}, R.POST_ONLY_CONFLICT, "post_only: only a limit order"),
        ({"order_type": "limit", "limit_price": Decimal("41500"), "post_only": True,
          "time_in_force": "IOC"}, R.POST_ONLY_CONFLICT, "post_only: a post-only order rests"),
        ({"order_type": "limit", "limit_price": Decimal("41500"), "post_only": True,
          "time_in_force": "FOK"}, R.POST_ONLY_CONFLICT, "cannot be FOK"),
        ({"order_type": "stop_market"}, R.MISSING_TRIGGER_PRICE, "trigger_price: required"),
        ({"order_type": "stop_limit", "limit_price": Decimal("42600")},
         R.MISSING_TRIGGER_PRICE, "trigger_price: required for a stop_limit"),
        ({"order_type": "stop_limit", "trigger_price": Decimal("42500")},
         R.MISSING_LIMIT_PRICE, "limit_price: required for a stop_limit"),
        ({"order_type": "stop_market", "trigger_price": Decimal("42500"),
          "limit_price": Decimal("42600")}, R.TRIGGER_PRICE_CONFLICT, "limit_price: a stop_market"),
        ({"trigger_price": Decimal("42500")}, R.TRIGGER_PRICE_CONFLICT,
         "trigger_price: only a stop order"),
        ({"order_type": "limit", "limit_price": Decimal("41500"),
          "trigger_price": Decimal("42500")}, R.TRIGGER_PRICE_CONFLICT, "not a limit order"),
        ({"order_type": "stop_limit", "trigger_price": Decimal("42500"),
          "limit_price": Decimal("42600"), "post_only": True}, R.POST_ONLY_CONFLICT,
         "post_only: only a limit order can be post-only, not a stop_limit"),
        ({"order_type": "stop_market", "trigger_price": Decimal("42500"), "post_only": True},
         R.POST_ONLY_CONFLICT, "not a stop_market"),
        ({"order_type": "stop_market", "trigger_price": Decimal("42500"),
          "algorithm": {"name": "twap", "duration_s": 60, "slices": 3}},
         R.ALGORITHM_CONFLICT, "algorithm: a TWAP carries out a market or limit order"),
        ({"order_type": "limit", "limit_price": Decimal("41500"), "post_only": True,
          "algorithm": {"name": "twap", "duration_s": 60, "slices": 3}},
         R.ALGORITHM_CONFLICT, "cannot be post_only"),
        ({"time_in_force": "IOC", "algorithm": {"name": "twap", "duration_s": 60, "slices": 3}},
         R.ALGORITHM_CONFLICT, "must be GTC"),
        ({"order_type": "limit", "limit_price": Decimal("41500"),
          "algorithm": {"name": "twap", "duration_s": 60, "slices": 3,
                        "limit_price_cap": Decimal("41600")}},
         R.ALGORITHM_CONFLICT, "limit_price_cap: a limit order's limit_price"),
        ({"order_type": "stop_market", "side": "sell", "trigger_price": Decimal("41500"),
          "stop_loss": Decimal("41000")}, R.STOP_LOSS_WRONG_SIDE, "the entry 41500"),
    ],
)
async def test_validator_refuses_with_a_reason_that_names_the_problem(tmp_path, overrides, code, mentions):
    config = {"validator": {"min_strength": 0.5, "min_confluence": 1.0, "max_signal_age_s": 60}}
    async with Scenario(tmp_path, config=config) as s:
        outcome = await s.submit(**overrides)
    assert not outcome.admitted
    assert outcome.handler == "validator"
    assert outcome.code is code
    assert mentions in outcome.reason
    assert s.venue.orders_per_client_id == {}


async def test_disabled_venue_is_refused(tmp_path):
    async with Scenario(tmp_path) as s:
        s.engine.market.enabled["sim"] = False
        outcome = await s.submit()
    assert outcome.code is R.VENUE_DISABLED


async def test_well_formed_signal_passes_the_validator_and_is_audited(tmp_path):
    async with Scenario(tmp_path) as s:
        outcome = await s.submit()
        lines = s.audit()
    assert outcome.admitted
    verdicts = [(l["handler"], l["decision"]) for l in lines if l["event"] == "handler_verdict"]
    assert verdicts == [("validator", "admit"), ("risk", "admit"), ("executor", "admit"),
                        ("reconciler", "admit")]


async def test_expires_at_on_a_gtc_order_is_its_deadline_what_still_rests_is_cancelled(tmp_path):
    """A documented decision, not a refusal: expires_at with a time in force other than
    GTD is the signal's deadline, and the reconciler cancels what of its order still rests
    then (GTD also asks the venue to expire it)."""
    async with Scenario(tmp_path) as s:
        outcome = await s.submit(order_type="limit", limit_price=Decimal(41000),
                                 stop_loss=Decimal(40000), time_in_force="GTC",
                                 expires_at=T0 + timedelta(seconds=30))
        assert outcome.admitted
        order = outcome.order
        assert order is not None and order.status.value == "ACCEPTED"
        await s.advance(20)
        assert s.engine.ledger.get(order.client_order_id).status.value == "ACCEPTED"
        for _ in range(11):
            await s.advance(1)
        cancelled = s.engine.ledger.get(order.client_order_id)
        lines = s.audit()
    assert cancelled.status.value == "CANCELLED"
    assert any(line["event"] == "order_transition" and line["decision"] == "CANCEL_PENDING"
               and "good-till-date" in line["reason"] for line in lines)


@pytest.mark.parametrize(
    ("ahead", "admitted"),
    [(timedelta(seconds=5), True), (timedelta(seconds=5, microseconds=1), False),
     (timedelta(hours=1), False), (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - T0, False)],
    ids=["at-tolerance", "just-beyond", "an-hour", "year-9999"],
)
async def test_a_signal_from_further_ahead_than_the_clock_skew_tolerance_is_refused(
        tmp_path, ahead, admitted):
    async with Scenario(tmp_path, config={"validator": {"max_clock_skew_s": 5}}) as s:
        outcome = await s.submit(ts=T0 + ahead)
        await s.advance(1)  # the engine runs on: nothing was scheduled at the signal's ts
        later = await s.submit(signal_id="s-2", ts=s.clock.now())
    assert outcome.admitted is admitted
    if not admitted:
        assert (outcome.handler, outcome.code) == ("validator", R.FUTURE_SIGNAL)
        assert "ts:" in outcome.reason and "ahead of the clock" in outcome.reason
        assert "tolerance 5.0s" in outcome.reason
    assert later.admitted


async def test_the_clock_skew_tolerance_is_configurable_down_to_zero(tmp_path):
    async with Scenario(tmp_path, config={"validator": {"max_clock_skew_s": 0}}) as s:
        ahead = await s.submit(ts=T0 + timedelta(milliseconds=1))
        now = await s.submit(signal_id="s-2", ts=T0)
    assert ahead.code is R.FUTURE_SIGNAL
    assert now.admitted


async def test_a_trigger_beyond_the_instruments_price_limits_is_refused_naming_it(tmp_path):
    from ordergate.venues.simulated import InstrumentSpec

    capped = InstrumentSpec(symbol="BTC/USDT", tick_size=Decimal("0.01"),
                            lot_size=Decimal("0.001"), min_notional=Decimal("10"),
                            max_price=Decimal("42400"))
    async with Scenario(tmp_path, venue={"instruments": [capped]}) as s:
        outcome = await s.submit(order_type="stop_market", trigger_price=Decimal("42500"))
    assert (outcome.handler, outcome.code) == ("validator", R.PRICE_OUT_OF_LIMITS)
    assert outcome.reason == "trigger_price: price 42500 above maximum 42400"
