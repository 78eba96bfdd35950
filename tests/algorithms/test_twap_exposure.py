"""Spec: what a running TWAP will still send counts as working exposure, for every later
signal's risk checks (free equity, REDUCING room, open symbols), from its start, after a
restart, and not a moment after it ends."""

from decimal import Decimal

from ordergate.domain.values import TradingState
from ordergate.engine import Engine
from ordergate.pipeline.client_order_id import child_client_order_id, client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import BTC, Scenario, quote
from ordergate.venues.simulated import InstrumentSpec

D = Decimal
TWAP = {"name": "twap", "duration_s": 60, "slices": 5}
PARENT = client_order_id_for("momo", "main", "s-1")
KEY = ("main", "sim", "BTC/USDT")
MID = D("42000.5")  # the reference price: a market TWAP's expected price
QUOTES = [quote(0, "42000", "42001", "5")]
SELL = {"side": "sell", "stop_loss": D("43000"), "take_profit": D("40000")}


def _reserved(s):
    return s.engine.ledger.working.reserved(PARENT)


def _working_buy(s):
    return s.engine.exposures.of(*KEY).working_buy


def _committed(s):
    return s.engine.exposures.committed("main", "sim", lambda symbol: "USDT", "USDT")


async def _run_out(s, ticks=6):
    for _ in range(ticks):
        await s.advance(12)


# ---------------------------------------------------------------- unhappy first


async def test_a_second_buy_is_refused_for_the_equity_a_twap_buys_remainder_commits(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        assert (await s.submit(algorithm=TWAP, quantity=D("2.000"))).admitted
        # Slice 0 (0.400) filled; the other four (1.600) are still to come, at the mid.
        assert _reserved(s) == D("1.600") and _committed(s) == D("1.600") * MID
        second = await s.submit(signal_id="s-2", quantity=D("1.000"))
    # 42000.5 of new exposure > 100000 - 67200.8 free: blind to the remainder, admitted.
    assert not second.admitted and second.code is R.INSUFFICIENT_EQUITY
    assert "working buys 67200.8000" in second.reason


async def test_a_sized_signal_is_sized_from_the_equity_the_remainder_leaves_free(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP, quantity=D("2.000"))
        sized = await s.submit(signal_id="s-2", quantity=None)
        order = s.engine.ledger.get(client_order_id_for("momo", "main", "s-2"))
    assert sized.admitted and order is not None
    # 2% of (100000 - 1.6 x 42000.5) over the stop distance 1000.5, to the lot: 0.655
    # (1.998 if the remainder were not counted).
    assert order.quantity == D("0.655")


async def test_reducing_room_counts_what_a_twap_sell_will_still_send(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(signal_id="s-0")  # long 0.010
        await s.submit(algorithm=TWAP, **SELL)  # slice 0 sold 0.002: long 0.008
        assert s.engine.positions.quantity(*KEY) == D("0.008") and _reserved(s) == D("0.008")
        s.engine.set_trading_state(TradingState.REDUCING, "drift")
        extra = await s.submit(signal_id="s-2", quantity=D("0.001"), **SELL)
        sized = await s.submit(signal_id="s-3", quantity=None, **SELL)
        # ...while the TWAP's own slices still reduce: its remainder is not held against
        # them (they are that remainder), so it runs to flat, and no further.
        await _run_out(s)
        assert s.engine.positions.quantity(*KEY) == 0
        assert s.engine.journal.parent(PARENT)["status"] == "completed"
    assert not extra.admitted and extra.code is R.REDUCE_ONLY
    assert "already covered by working sell orders of 0.008" in extra.reason
    assert not sized.admitted and sized.code is R.REDUCE_ONLY


async def test_max_open_positions_sees_a_symbol_whose_only_exposure_is_a_twap(tmp_path):
    eth = InstrumentSpec(symbol="ETH/USDT", tick_size=D("0.01"), lot_size=D("0.001"),
                         min_notional=D("10"))
    quotes = [*QUOTES, quote(0, "2000", "2001", "5", symbol="ETH/USDT")]
    on_eth = {"symbol": "ETH/USDT", "stop_loss": D("1950"), "take_profit": D("2100")}
    async with Scenario(tmp_path, quotes, config={"risk": {"max_open_positions": 1}},
                        venue={"instruments": [BTC, eth]}) as s:
        # Capped below the ask: slice 0 expires unfilled. No position, no working order.
        await s.submit(algorithm={**TWAP, "limit_price_cap": "41000"})
        assert s.engine.positions.quantity(*KEY) == 0 and len(s.engine.ledger.working) == 0
        refused = await s.submit(signal_id="s-2", **on_eth)
        assert await s.engine.cancel(PARENT, "operator")
        admitted = await s.submit(signal_id="s-3", **on_eth)
    assert not refused.admitted and refused.code is R.MAX_POSITIONS
    assert admitted.admitted  # the same signal, once the parent will send nothing more


# ---------------------------------------------------------------- the reservation's life


async def test_each_slice_moves_its_quantity_from_the_reservation_to_the_orders(tmp_path):
    # Looked at as each slice is about to leave (journaled, not yet sent): counted once,
    # as an order, never twice and never not at all. Filled + working = the whole.
    async with Scenario(tmp_path, QUOTES) as s:
        seen = []
        real_prepare = s.engine.executor.prepare

        async def prepare(venue, order):
            seen.append((order.leg, _reserved(s), _working_buy(s),
                         s.engine.positions.quantity(*KEY)))
            return await real_prepare(venue, order)

        s.engine.executor.prepare = prepare
        await s.submit(algorithm=TWAP)
        await _run_out(s)
    assert [(leg, reserved, working + held) for leg, reserved, working, held in seen] == [
        (leg, D("0.008") - D("0.002") * leg, D("0.010")) for leg in range(5)]


async def test_a_completed_twap_leaves_exactly_nothing_reserved(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP)
        await _run_out(s)
        assert s.engine.journal.parent(PARENT)["status"] == "completed"
        assert s.engine.ledger.working.totals(KEY) is None and _committed(s) == 0
        assert s.engine.ledger.working.reservations == 0


async def test_a_cancelled_twap_leaves_exactly_nothing_reserved(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP)
        await s.advance(12)
        assert _reserved(s) == D("0.006")
        assert await s.engine.cancel(PARENT, "operator")
        assert s.engine.ledger.working.totals(KEY) is None and _committed(s) == 0
        assert s.engine.exposures.open_symbols("main") == {("sim", "BTC/USDT")}  # the fills


async def test_a_restart_restores_the_reservation_from_the_journal(tmp_path):
    s = Scenario(tmp_path, QUOTES)
    await s.engine.start()
    await s.submit(algorithm=TWAP)
    await s.advance(12)  # two slices sent: 0.006 to come
    await s.engine.close()
    s.clock.advance(5)
    s.engine = Engine(s.config, s.clock, venues={"sim": s.venue},
                      journal_path=tmp_path / "journal.sqlite")
    await s.engine.start()
    assert _reserved(s) == D("0.006") and _working_buy(s) == D("0.006")
    assert _committed(s) == D("0.006") * MID
    await _run_out(s, ticks=8)
    assert s.engine.journal.parent(PARENT)["status"] == "completed"
    assert s.engine.ledger.working.totals(KEY) is None
    await s.engine.close()
