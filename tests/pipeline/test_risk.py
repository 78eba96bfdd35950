"""The risk manager: sizing from equity and stop distance, default stops, the kill
switch, position limits, reward:risk, notional caps and the fat-finger price band."""

from decimal import Decimal

import pytest

from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import Scenario, quote

D = Decimal


async def test_halted_refuses_everything(tmp_path):
    async with Scenario(tmp_path, config={"risk": {"trading_state": "HALTED"}}) as s:
        outcome = await s.submit()
    assert (outcome.handler, outcome.code) == ("risk", R.TRADING_HALTED)


async def test_reducing_refuses_an_order_that_would_open_or_grow_a_position(tmp_path):
    async with Scenario(tmp_path) as s:
        assert (await s.submit(signal_id="open")).admitted
        s.engine.risk.trading_state = "REDUCING"
        grow = await s.submit(signal_id="grow", side="buy")
        too_big = await s.submit(signal_id="flip", side="sell", quantity=D("0.02"),
                                 stop_loss=D("43000"), take_profit=D("39000"))
        shrink = await s.submit(signal_id="shrink", side="sell", quantity=D("0.01"),
                                stop_loss=D("43000"), take_profit=D("39000"))
    assert grow.code is R.REDUCE_ONLY
    assert too_big.code is R.REDUCE_ONLY
    assert shrink.admitted
    assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == 0


async def test_limit_price_outside_the_band_is_a_fat_finger(tmp_path):
    async with Scenario(tmp_path) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("46000"), stop_loss=D("45000"),
                                 take_profit=D("50000"))
    assert outcome.code is R.PRICE_BAND
    assert "46000" in outcome.reason


async def test_no_reference_price_is_refused(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(10, "42000", "42001")]) as s:
        outcome = await s.submit()
    assert outcome.code is R.NO_REFERENCE_PRICE


async def test_poor_reward_to_risk_is_refused(tmp_path):
    async with Scenario(tmp_path) as s:
        outcome = await s.submit(stop_loss=D("41000"), take_profit=D("42500"))
    assert outcome.code is R.REWARD_RISK_TOO_LOW


async def test_stop_on_the_wrong_side_of_the_market_is_refused_for_market_orders(tmp_path):
    async with Scenario(tmp_path) as s:
        outcome = await s.submit(stop_loss=D("43000"))
    assert outcome.code is R.STOP_LOSS_WRONG_SIDE


async def test_order_notional_above_the_cap_is_refused(tmp_path):
    async with Scenario(tmp_path, config={"risk": {"max_order_notional": "1000"}}) as s:
        outcome = await s.submit(quantity=D("0.1"))
    assert outcome.code is R.MAX_NOTIONAL


async def test_a_fourth_concurrent_position_is_refused_but_reducing_one_is_not(tmp_path):
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]
    quotes = [quote(0, "100", "100.01", "100", symbol=sym) for sym in symbols]
    async with Scenario(tmp_path, quotes=quotes) as s:
        for i, sym in enumerate(symbols[:3]):
            assert (await s.submit(signal_id=f"o{i}", symbol=sym, quantity=D("1"),
                                   stop_loss=D("98"), take_profit=D("110"))).admitted
        fourth = await s.submit(signal_id="o4", symbol="XRP/USDT", quantity=D("1"),
                                stop_loss=D("98"), take_profit=D("110"))
        reduce = await s.submit(signal_id="r", symbol="BTC/USDT", side="sell", quantity=D("1"),
                                stop_loss=D("102"), take_profit=D("90"))
    assert fourth.code is R.MAX_POSITIONS
    assert reduce.admitted


async def test_signal_without_quantity_is_sized_to_risk_two_percent_of_equity(tmp_path):
    # equity 100000 USDT, entry = mid 42000.5, stop 41000: risk 2000 / 1000.5 -> 1.999 BTC,
    # capped by the 100000 notional limit -> 2.38 BTC would exceed it, so 1.999 stands.
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42001", "10")]) as s:
        outcome = await s.submit(quantity=None, take_profit=D("45000"))
    assert outcome.admitted, outcome.reason
    assert outcome.order is not None
    assert outcome.order.quantity == D("1.999")


async def test_signal_without_stop_gets_a_default_stop_two_percent_away(tmp_path):
    async with Scenario(tmp_path, quotes=[quote(0, "100", "100", "1000", symbol="BTC/USDT")],
                        config={"risk": {"max_order_notional": "1000000"}}) as s:
        outcome = await s.submit(quantity=None, stop_loss=None, take_profit=None)
    # risk 2000 over a stop 2 away (2% of 100): 1000 units
    assert outcome.order is not None and outcome.order.quantity == D("1000")
    risk_lines = [line["reason"] for line in s.audit() if line["handler"] == "risk"]
    assert any("stop 98" in reason for reason in risk_lines)


@pytest.mark.parametrize("risk", ["0", "0.06"])
def test_risk_per_trade_is_capped_at_five_percent(risk):
    from ordergate.config import ConfigError, config_from_mapping

    with pytest.raises(ConfigError, match="risk_per_trade"):
        config_from_mapping({"risk": {"risk_per_trade": risk}})
