"""Brackets: an entry's reduce-only exits follow what it fills, one cancels the other,
and a restart finds them again. Run on the simulated venue through the whole engine.

The venue is a margin account here (the simulated venue's default, `allow_short`): a spot account locks the base asset
for each resting sell, so two exits for the whole position cannot both rest there (the
second is refused for funds, see the spot test below) — that needs a venue's native OCO.

The simulated venue has native OCO lists by default (`native_oco`); the cases that
specify ordergate's own one-cancels-the-other turn them off (`EMULATED`), as a venue
without them is. The native lists are specified in test_bracket_oco.py; the property at
the end holds on both.
"""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderRole, OrderType
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.base import OrderRejected, VenueTimeout

D = Decimal
MARGIN = {"allow_short": True, "balances": {"main": {"USDT": D("100000")}}}
EMULATED = {**MARGIN, "native_oco": False}  # a venue without OCO lists: ordergate's own


def _bracket_lines(scenario):
    return [line for line in scenario.audit() if line["event"] == "bracket"]


def _exits(scenario, entry_id):
    return {row["client_order_id"]: row for row in scenario.engine.journal.children(entry_id)}


def _position(scenario):
    return scenario.engine.positions.quantity("main", "sim", "BTC/USDT")


async def test_protect_without_a_stop_or_target_is_refused_with_its_reason(tmp_path):
    async with Scenario(tmp_path, venue=MARGIN) as s:
        outcome = await s.submit(protect=True, stop_loss=None, take_profit=None)
    assert not outcome.admitted and outcome.code is R.PROTECT_WITHOUT_EXITS


async def test_without_protect_no_exit_is_placed(tmp_path):
    async with Scenario(tmp_path, venue=MARGIN) as s:
        outcome = await s.submit()
        assert outcome.order.status is S.FILLED
        assert _exits(s, outcome.order.client_order_id) == {}
        assert _bracket_lines(s) == []


async def test_a_filled_market_entry_gets_a_stop_and_a_take_profit_for_its_quantity(tmp_path):
    async with Scenario(tmp_path, venue=MARGIN) as s:
        outcome = await s.submit(protect=True)
        entry = outcome.order
        assert entry.status is S.FILLED
        exits = _exits(s, entry.client_order_id)
        by_role = {row["role"]: row for row in exits.values()}
        assert set(by_role) == {"stop_loss", "take_profit"}
        stop, target = by_role["stop_loss"], by_role["take_profit"]
        assert (stop["order_type"], stop["trigger_price"], stop["side"]) == ("stop_market", "41000.00", "sell")
        assert (target["order_type"], target["price"], target["side"]) == ("limit", "45000.00", "sell")
        assert stop["quantity"] == target["quantity"] == "0.010"
        assert stop["reduce_only"] == target["reduce_only"] == 1
        assert all(row["status"] == "ACCEPTED" for row in exits.values())
        actions = [line["decision"] for line in _bracket_lines(s)]
        assert actions == ["opened", "exit_placed", "exit_placed"]


async def test_take_profit_fills_and_the_stop_is_cancelled_leaving_the_position_flat(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "45001", "45002", "5")]
    async with Scenario(tmp_path, quotes, venue=EMULATED) as s:
        entry = (await s.submit(protect=True)).order
        await s.advance(6)  # the take-profit's price is reached
        await s.advance(1)  # the reconciler's poll sees the fill: the stop is cancelled
        rows = {row["role"]: row for row in _exits(s, entry.client_order_id).values()}
        assert rows["take_profit"]["status"] == "FILLED"
        assert rows["stop_loss"]["status"] == "CANCELLED"
        assert _position(s) == 0
        assert s.engine.journal.parent(entry.client_order_id)["status"] == "done"
        assert s.engine.brackets.get(entry.client_order_id) is None


async def test_an_entry_filling_in_three_parts_has_exits_resized_to_each_fill(tmp_path):
    # a limit buy at 42000 resting; each quote offers 0.004 at the ask: 0.004, 0.004, 0.002
    quotes = [quote(0, "42010", "42011", "5")] + [
        quote(t, "41999", "42000", "5", ask_size="0.004") for t in (5, 10, 15)]
    async with Scenario(tmp_path, quotes, venue=MARGIN) as s:
        outcome = await s.submit(protect=True, order_type="limit", limit_price=D("42000"))
        entry = outcome.order
        assert entry.status is S.ACCEPTED and _exits(s, entry.client_order_id) == {}
        protected = []
        for t in (6, 5, 5):
            await s.advance(t)
            await s.advance(1)
            working = [r for r in _exits(s, entry.client_order_id).values()
                       if r["status"] in ("ACCEPTED", "PARTIALLY_FILLED")]
            protected.append(sorted((r["role"], r["quantity"]) for r in working))
        assert protected == [
            [("stop_loss", "0.004"), ("take_profit", "0.004")],
            [("stop_loss", "0.008"), ("take_profit", "0.008")],
            [("stop_loss", "0.010"), ("take_profit", "0.010")],
        ]
        legs = {(r["role"], r["leg"]) for r in _exits(s, entry.client_order_id).values()}
        assert legs == {(role, n) for role in ("stop_loss", "take_profit") for n in (1, 2, 3)}
        assert entry.status is S.FILLED and _position(s) == D("0.010")


async def test_a_partial_take_profit_reduces_the_stop_to_what_is_still_open(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "45000", "45001", "0.004")]
    async with Scenario(tmp_path, quotes, venue=EMULATED) as s:
        entry = (await s.submit(protect=True)).order
        await s.advance(6)
        await s.advance(1)
        working = {r["role"]: r for r in _exits(s, entry.client_order_id).values()
                   if r["status"] in ("ACCEPTED", "PARTIALLY_FILLED")}
        assert working["take_profit"]["filled_quantity"] == "0.004"
        assert working["stop_loss"]["quantity"] == "0.006"  # a new leg for what is open
        assert _position(s) == D("0.006")


async def test_both_exits_filling_before_one_can_cancel_the_other_is_drift_not_silence(tmp_path):
    """Within one reaction (here: two quotes between ticks) the take-profit fills and the
    stop triggers. ordergate's own one-cancels-the-other cannot prevent that; it is
    reported as `bracket_overfill` drift, and the drift policy (halt) stops trading."""
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "45001", "45002", "5"),
              quote(6, "40000", "40001", "5")]
    async with Scenario(tmp_path, quotes, venue=EMULATED) as s:
        entry = (await s.submit(protect=True)).order
        await s.advance(7)
        await s.advance(1)
        drift = [line for line in s.audit() if line["event"] == "reconciliation_drift"]
        assert [d["decision"] for d in drift] == ["bracket_overfill"]
        assert s.engine.risk.trading_state.value == "HALTED"
        assert any(line["decision"] == "overfilled" for line in _bracket_lines(s))
        assert entry.client_order_id in drift[0]["subject"]


async def test_on_a_spot_account_only_the_stop_rests_and_the_missing_target_is_audited(tmp_path):
    """A spot account reserves the base for each resting sell: a take-profit beside the
    stop would rest on BTC another position holds (here: 1 BTC the account had before),
    starve that position's own stop, and could fill together with this one's."""
    spot = {"allow_short": False, "native_oco": False,
            "balances": {"main": {"USDT": D("100000"), "BTC": D("1")}}}
    async with Scenario(tmp_path, venue=spot) as s:
        entry = (await s.submit(protect=True)).order
        rows = {r["role"]: r for r in _exits(s, entry.client_order_id).values()}
        assert set(rows) == {"stop_loss"} and rows["stop_loss"]["status"] == "ACCEPTED"
        unprotected = [l for l in _bracket_lines(s) if l["decision"] == "unprotected"]
        assert len(unprotected) == 1 and unprotected[0]["role"] == "take_profit"
        assert "on a spot account" in unprotected[0]["reason"]
        await s.advance(2)  # not audited again on every tick while nothing changed
        assert len([l for l in _bracket_lines(s) if l["decision"] == "unprotected"]) == 1


async def test_on_a_spot_account_a_refused_stop_lets_the_target_rest_instead(tmp_path):
    """Some exit beats none: a stop the venue refuses at this size (here stop orders are
    refused outright) leaves the take-profit to rest alone."""
    spot = {"allow_short": False, "native_oco": False,
            "balances": {"main": {"USDT": D("100000"), "BTC": D("0")}}}
    async with Scenario(tmp_path, venue=spot) as s:
        place = s.venue.place_order

        async def refuse_stops(request):
            if request.order_type is OrderType.STOP_MARKET:
                raise OrderRejected("stop orders are disabled for this symbol")
            return await place(request)

        s.venue.place_order = refuse_stops
        entry = (await s.submit(protect=True)).order
        rows = {r["role"]: r["status"] for r in _exits(s, entry.client_order_id).values()}
        assert rows == {"stop_loss": "REJECTED", "take_profit": "ACCEPTED"}


async def test_on_a_spot_account_a_stop_that_could_not_be_sent_holds_the_take_profit_back(tmp_path):
    """Found by the crash test: a take-profit placed while the stop-loss was in doubt took
    the base asset, and the stop was then refused for funds: the position kept the exit
    that does not limit the loss. The stop is tried again; the target waits for it."""
    spot = {"allow_short": False, "native_oco": False,
            "balances": {"main": {"USDT": D("100000"), "BTC": D("0")}}}
    async with Scenario(tmp_path, venue=spot) as s:
        place, down = s.venue.place_order, {"stops": True}

        async def stops_time_out(request):
            if request.order_type is OrderType.STOP_MARKET and down["stops"]:
                raise VenueTimeout("no answer")
            return await place(request)

        s.venue.place_order = stops_time_out
        entry = (await s.submit(protect=True)).order
        legs = lambda: sorted((r["role"], r["leg"], r["status"])  # noqa: E731
                              for r in _exits(s, entry.client_order_id).values())
        assert legs() == [("stop_loss", 1, "FAILED")]  # and no take-profit beside it
        unprotected = [l for l in _bracket_lines(s) if l["decision"] == "unprotected"]
        assert "tried again at" in unprotected[-1]["reason"]
        down["stops"] = False
        await s.advance(6)  # `exit_retry_s` (5 s) later: a new stop leg, and it rests alone
        assert legs() == [("stop_loss", 1, "FAILED"), ("stop_loss", 2, "ACCEPTED")]
        await s.advance(6)
        assert len(legs()) == 2


async def test_a_restart_after_the_entry_filled_and_before_the_exits_were_placed_places_them(tmp_path):
    async with Scenario(tmp_path, venue=MARGIN) as s:
        s.engine.brackets.run = _never  # the kill: the entry fills, no exit leaves
        entry = (await s.submit(protect=True)).order
        assert entry.status is S.FILLED and _exits(s, entry.client_order_id) == {}
    async with Scenario(tmp_path, venue=MARGIN) as again:
        rows = _exits(again, entry.client_order_id)
        assert sorted((r["role"], r["quantity"], r["status"]) for r in rows.values()) == [
            ("stop_loss", "0.010", "ACCEPTED"), ("take_profit", "0.010", "ACCEPTED")]
        decisions = [line["decision"] for line in _bracket_lines(again)]  # both runs' lines
        assert decisions == ["opened", "relinked", "exit_placed", "exit_placed"]


async def test_a_restart_with_exits_working_relinks_them_and_sends_none_again(tmp_path):
    async with Scenario(tmp_path, venue=MARGIN) as s:
        entry = (await s.submit(protect=True)).order
        first = set(_exits(s, entry.client_order_id))
    async with Scenario(tmp_path, venue=MARGIN) as again:
        assert set(_exits(again, entry.client_order_id)) == first
        bracket = again.engine.brackets.get(entry.client_order_id)
        assert bracket is not None and {o.role for o in bracket.working_exits()} == {
            OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}


async def test_reducing_leaves_the_exits_working(tmp_path):
    async with Scenario(tmp_path, venue=MARGIN) as s:
        entry = (await s.submit(protect=True)).order
        s.engine.set_trading_state("REDUCING", "test")
        await s.advance(1)
        statuses = {r["role"]: r["status"] for r in _exits(s, entry.client_order_id).values()}
        assert statuses == {"stop_loss": "ACCEPTED", "take_profit": "ACCEPTED"}


async def test_cancelling_an_exit_releases_the_bracket_and_cancels_the_other(tmp_path):
    async with Scenario(tmp_path, venue=MARGIN) as s:
        entry = (await s.submit(protect=True)).order
        rows = {r["role"]: r["client_order_id"] for r in _exits(s, entry.client_order_id).values()}
        assert await s.engine.cancel(rows["take_profit"], "operator closes by hand")
        statuses = {r["role"]: r["status"] for r in _exits(s, entry.client_order_id).values()}
        assert statuses == {"stop_loss": "CANCELLED", "take_profit": "CANCELLED"}
        assert s.engine.journal.parent(entry.client_order_id)["status"] == "done"


async def _never() -> None:
    return None


# ---------------------------------------------------------------- the invariant

import asyncio  # noqa: E402 - the property's own imports, kept with it
import os  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = os.environ.get("BRACKET_EXAMPLES")  # a bigger random run: BRACKET_EXAMPLES=500


def _walk(seed: int, n: int = 40):
    """A random walk around the entry with thin, random sizes: entries and exits fill in
    parts, targets and stops are reached and left again."""
    rng = random.Random(seed)
    mid, out = D(42000), []
    for t in range(n):
        mid += D(rng.choice((-900, -400, -100, 0, 100, 400, 900)))
        size = str(D(rng.choice((1, 2, 3, 5, 10))) / 1000)
        out.append(quote(t, str(mid - D("0.5")), str(mid + D("0.5")), size, ask_size=size))
    return out


@settings(max_examples=int(EXAMPLES or 25), derandomize=EXAMPLES is None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), lots=st.integers(3, 20), limit=st.booleans(),
       native=st.booleans())
def test_no_exit_ever_works_for_more_than_is_open_and_the_position_never_flips_unreported(
        seed, lots, limit, native):
    """After every tick (the bracket has answered what the tick filled): each working exit
    is for at most the open quantity (entry filled minus exits filled); and the position
    is that open quantity, never below zero, unless an overfill was reported as drift.
    With the venue's native OCO (`native`) no overfill can happen at all."""
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            config = {"validator": {"max_signal_age_s": 10_000},
                      "reconciliation": {"on_drift": "alert"},
                      "risk": {"min_reward_risk": "0"}}
            venue = MARGIN if native else EMULATED
            async with Scenario(Path(tmp), _walk(seed), config=config, venue=venue) as s:
                fields = {"order_type": "limit", "limit_price": D("42000")} if limit else {}
                outcome = await s.submit(protect=True, quantity=D(lots) / 1000,
                                         stop_loss=D("41000"), take_profit=D("43000"), **fields)
                entry = outcome.order
                assert entry is not None
                for _ in range(40):
                    await s.advance(1)
                    bracket = s.engine.brackets.get(entry.client_order_id)
                    overfilled = any(line["decision"] == "bracket_overfill"
                                     for line in s.audit() if line["event"] == "reconciliation_drift")
                    if bracket is None:
                        break
                    open_quantity = bracket.open_quantity()
                    assert not (native and overfilled), "both legs of an OCO list filled"
                    if not overfilled:
                        assert open_quantity >= 0
                        assert _position(s) == open_quantity
                    for leg in bracket.working_exits():
                        if leg.status.is_working:
                            assert leg.remaining_quantity <= max(open_quantity, D(0)), (
                                f"{leg.role} leg {leg.leg} works for {leg.remaining_quantity}, "
                                f"{open_quantity} open")

    asyncio.run(run())
