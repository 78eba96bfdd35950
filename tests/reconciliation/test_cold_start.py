"""Cold start: an empty journal, a venue that already holds positions and working orders.
The engine adopts them instead of believing it is flat, and never invents an order or a
fill; a restart afterwards is warm and adopts nothing twice."""

from decimal import Decimal

from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.engine import Engine
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.base import OrderRequest
from ordergate.venues.faults import Fault

D = Decimal
BTC = "BTC/USDT"
QUOTES = [quote(0, "42000", "42010", "5"), quote(5, "41980", "41990", "0.004"),
          quote(20, "41970", "41985", "5")]
HOLDING = {"balances": {"main": {"USDT": D("100000"), "BTC": D("0.5")}}}


def _restart(s: Scenario, **update: object) -> Engine:
    config = s.config.model_copy(update=update)
    return Engine(config, s.clock, venues={"sim": s.venue}, journal_path=s.tmp / "journal.sqlite")


async def _resting_order_placed_elsewhere(s: Scenario, client_order_id: str = "manual-1") -> None:
    """An order the journal never saw: placed before the journal was lost, or by hand."""
    await s.venue.load_instruments()
    await s.venue.place_order(OrderRequest(client_order_id, "main", BTC, Side.BUY, OrderType.LIMIT,
                                           D("0.010"), D("41990"), TimeInForce.GTC))


def _venue_btc(s: Scenario) -> Decimal:
    return s.venue._balances["main"].get("BTC", D(0))


async def test_a_venue_that_cannot_be_read_on_a_cold_start_halts_trading(tmp_path):
    s = Scenario(tmp_path, quotes=QUOTES, venue=HOLDING)
    s.venue.faults.inject("fetch_open_orders", Fault.UNAVAILABLE)
    async with s:
        outcome = await s.submit()
        lines = s.audit()
    assert s.engine.risk.trading_state == "HALTED"
    assert outcome.code is R.TRADING_HALTED and s.venue.orders_per_client_id == {}
    drift = [l for l in lines if l["event"] == "reconciliation_drift"]
    # Nothing was adopted, so the check that follows finds the holding unexplained too.
    assert [d["decision"] for d in drift] == ["cold_start_incomplete", "position_mismatch"]
    assert "what it holds is unknown" in drift[0]["reason"]


async def test_cold_start_with_ignore_reports_what_the_venue_holds_as_drift_and_halts(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, venue=HOLDING,
                        config={"reconciliation": {"cold_start": "ignore"}}) as s:
        lines = s.audit()
        assert s.engine.positions.quantity("main", "sim", BTC) == 0
    [drift] = [l for l in lines if l["event"] == "reconciliation_drift"]
    assert (drift["decision"], drift["subject"], drift["ours"], drift["venues"]) == (
        "position_mismatch", "BTC", "0", "0.5")
    assert s.engine.risk.trading_state == "HALTED"
    assert 'ordergate_reconciliation_drift_total{kind="position_mismatch",venue="sim"} 1.0' \
        in s.engine.metrics.render()


async def test_cold_start_adopts_the_venues_balance_as_a_position_without_inventing_a_fill(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, venue=HOLDING) as s:
        lines = s.audit()
        assert s.engine.positions.quantity("main", "sim", BTC) == D("0.5") == _venue_btc(s)
        assert s.engine.journal.fills() == [] and s.engine.summary.counts["fills"] == 0
        [row] = s.engine.journal.adopted_positions()
        assert (row["symbol"], D(row["quantity"]), D(row["mark"])) == (BTC, D("0.5"), D("42005"))
        assert s.engine.risk.trading_state == "ACTIVE"
    [adopted] = [l for l in lines if l["event"] == "position_adopted"]
    assert adopted["quantity"] == "0.5" and adopted["symbol"] == BTC
    assert not [l for l in lines if l["event"] == "reconciliation_drift"]


async def test_cold_start_adopts_a_working_order_and_its_fills_and_follows_it_to_the_end(tmp_path):
    config = {"reconciler": {"fill_timeout_s": 600}}
    s = Scenario(tmp_path, quotes=QUOTES, venue=HOLDING, config=config)
    await _resting_order_placed_elsewhere(s)
    s.clock.advance(5)
    s.venue.advance()  # 0.004 of it fills before ordergate starts
    async with s:
        order = s.engine.ledger.get("manual-1")
        assert order is not None and order.status is S.PARTIALLY_FILLED
        assert order.filled_quantity == D("0.004") and order.signal_id == "adopted:manual-1"
        # Its fill is in the venue's balance already: the position is the balance, once.
        assert s.engine.positions.quantity("main", "sim", BTC) == D("0.504") == _venue_btc(s)
        await s.advance(16)
        assert order.status is S.FILLED
        assert s.engine.positions.quantity("main", "sim", BTC) == D("0.510") == _venue_btc(s)
        lines = s.audit()
    assert s.venue.orders_per_client_id == {"manual-1": 1}
    assert [l["decision"] for l in lines if l["event"] == "order_adopted"] == ["PARTIALLY_FILLED"]
    assert not [l for l in lines if l["event"] == "reconciliation_drift"]


async def test_a_restart_after_a_cold_start_is_warm_and_adopts_nothing_twice(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, venue=HOLDING) as s:
        await s.submit(quantity=D("0.010"))
        held = _venue_btc(s)
        assert s.engine.positions.quantity("main", "sim", BTC) == held
    engine = _restart(s)
    await engine.start()
    try:
        assert engine.positions.quantity("main", "sim", BTC) == held
        assert len(engine.journal.adopted_positions()) == 1
        assert engine.risk.trading_state == "ACTIVE"
    finally:
        await engine.close()
