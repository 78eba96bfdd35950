"""Emulated stops on Polymarket: the CLOB has no trigger orders, so a stop (a bracket's
stop-loss, or a signal's own stop) is HELD by ordergate and sent, when the CLOB's touch
crosses its trigger, as an IOC (FAK) limit `stops.market_protection` beyond the trigger.
The whole engine and the real py-clob-client against the CLOB emulator on 127.0.0.1
(the `world` of `test_polymarket_pipeline.py`)."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderType
from ordergate.pipeline.reasons import ReasonCode as R
from tests.integration.test_polymarket_pipeline import (  # noqa: F401 - `world` is a fixture
    ACCOUNT, VENUE, YES, World, cid, world, world_audit,
)

D = Decimal


async def test_a_stop_is_refused_unsent_where_config_says_stops_are_native(world: World) -> None:
    venue = world.config().venues[VENUE].model_dump(exclude_none=True)
    engine, _ = await world.start(venues={VENUE: {**venue, "stops": "native"}})
    outcome = await engine.submit(world.signal("native-1", order_type="stop_market",
                                               trigger_price=D("0.52"), limit_price=None,
                                               time_in_force="GTC"))
    order = outcome.order
    assert order is not None and order.status is S.FAILED
    assert order.transitions[-1].reason.startswith(R.STOP_ORDERS_UNSUPPORTED)
    assert world.emu.post_order_attempts == 0


async def test_a_brackets_stop_loss_is_held_then_sent_as_an_ioc_limit_when_the_bid_crosses_it(
    world: World,
) -> None:
    engine, _ = await world.start()  # stops = "auto": Polymarket declares no native stops
    entry = (await engine.submit(world.signal("br-1", protect=True))).order
    assert entry is not None and entry.status is S.FILLED
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == D("10")
    (stop,) = engine.journal.children(entry.client_order_id)
    assert (stop["role"], stop["order_type"], stop["status"]) == ("stop_loss", "stop_market", "HELD")
    assert world.emu.post_order_attempts == 1  # the entry only: nothing of the stop sent
    decisions = [l["decision"] for l in world_audit(world, 0) if l["event"] == "bracket"]
    assert "unprotected" not in decisions  # it used to be: STOP_ORDERS_UNSUPPORTED

    await world.wait(engine, 1)  # the touch is 0.48 / 0.50: above the stop at 0.45
    assert engine.journal.order_status(stop["client_order_id"]) == "HELD"
    assert world.emu.post_order_attempts == 1

    world.emu.set_book(YES, bids=[("0.44", "100")], asks=[("0.46", "100")])
    await world.wait(engine, 1)  # the bid reaches 0.45: triggered, sent once
    await world.wait(engine, 1)
    assert world.emu.post_order_attempts == 2
    assert engine.journal.order_status(stop["client_order_id"]) == "FILLED"
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == 0
    (triggered,) = [l for l in world_audit(world, 0) if l["event"] == "stop_triggered"]
    assert (triggered["decision"], triggered["sent_as"], triggered["price"]) == (
        "sent", str(OrderType.LIMIT), "0.42")  # 0.45 less 5%, to the tick below
    assert triggered["reference"] == "0.44"
    assert engine.journal.parent(entry.client_order_id)["status"] == "done"


async def test_a_held_stop_survives_a_restart_with_a_fresh_adapter_and_triggers_after(
    world: World,
) -> None:
    engine, _ = await world.start()
    entry = (await engine.submit(world.signal("br-2", protect=True))).order
    assert entry is not None
    (stop,) = engine.journal.children(entry.client_order_id)
    await engine.close()

    restarted, _ = await world.start()  # a fresh adapter: it has never heard of the stop
    order = restarted.ledger.get(stop["client_order_id"])
    assert order is not None and order.status is S.HELD
    assert restarted.reconciler.followed_count == 0
    for _ in range(3):
        await world.wait(restarted, 1)
    assert order.status is S.HELD and world.emu.post_order_attempts == 1
    world.emu.set_book(YES, bids=[("0.45", "100")], asks=[("0.47", "100")])
    await world.wait(restarted, 1)
    assert order.status is S.FILLED and world.emu.post_order_attempts == 2
    assert restarted.positions.quantity(ACCOUNT, VENUE, YES) == 0


async def test_a_signals_own_stop_is_held_and_cancelled_locally(world: World) -> None:
    engine, _ = await world.start()
    outcome = await engine.submit(world.signal("own-1", order_type="stop_limit",
                                               trigger_price=D("0.52"), limit_price=D("0.53"),
                                               time_in_force="GTC", stop_loss=D("0.45")))
    order = outcome.order
    assert order is not None and order.status is S.HELD
    assert order.client_order_id == cid("own-1")
    assert await engine.cancel(order.client_order_id)
    assert order.status is S.CANCELLED and world.emu.post_order_attempts == 0
    world.emu.set_book(YES, bids=[("0.53", "100")], asks=[("0.54", "100")])
    await world.wait(engine, 1)
    assert world.emu.post_order_attempts == 0


async def test_a_triggered_stop_loss_first_cancels_the_take_profit_holding_its_tokens(
    world: World,
) -> None:
    """The resting take-profit holds the ten tokens the stop must sell: the CLOB would
    refuse the stop's sell for balance. One cancels the other before the send."""
    engine, _ = await world.start()
    entry = (await engine.submit(world.signal("oco-1", protect=True,
                                              take_profit=D("0.53")))).order
    assert entry is not None
    legs = {r["role"]: r for r in engine.journal.children(entry.client_order_id)}
    assert (legs["stop_loss"]["status"], legs["take_profit"]["status"]) == ("HELD", "ACCEPTED")
    world.emu.set_book(YES, bids=[("0.44", "100")], asks=[("0.46", "100")])
    for _ in range(3):
        await world.wait(engine, 1)
    legs = {(r["role"], r["leg"]): r["status"]
            for r in engine.journal.children(entry.client_order_id)}
    assert legs == {("stop_loss", 1): "FILLED", ("take_profit", 1): "CANCELLED"}
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == 0
    cancel = next(l for l in world_audit(world, 0) if l["event"] == "order_transition"
                  and l["decision"] == "CANCEL_PENDING")
    assert cancel["reason"].startswith("one cancels the other: stop_loss")


async def test_a_stop_loss_the_venue_refuses_when_it_triggers_is_not_placed_again_each_tick(
    world: World,
) -> None:
    engine, _ = await world.start()
    entry = (await engine.submit(world.signal("ref-1", protect=True))).order
    assert entry is not None
    world.account.tokens[YES] = D("0")  # the tokens went elsewhere: the sell is refused
    world.emu.set_book(YES, bids=[("0.44", "100")], asks=[("0.46", "100")])
    for _ in range(5):
        await world.wait(engine, 1)
    legs = [(r["leg"], r["status"]) for r in engine.journal.children(entry.client_order_id)]
    assert legs == [(1, "REJECTED")]
    assert world.emu.post_order_attempts == 2  # the entry, the stop once
    unprotected = [l for l in world_audit(world, 0)
                   if l["event"] == "bracket" and l["decision"] == "unprotected"]
    assert len(unprotected) == 1 and "not enough balance" in unprotected[0]["reason"]
