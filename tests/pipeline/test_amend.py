"""Amend: a working order's quantity or price changed by an explicit, journaled
cancel-then-replace, its legs never filling more than the amended total.

The simulated venue here has no native replace (`native_replace` off), so every amend
takes the explicit path; the native one is `test_amend_native.py`. The property at the
end runs both."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderRole
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import Scenario as _Scenario
from ordergate.testing.scenario import quote
from ordergate.venues.faults import Fault

D = Decimal


def Scenario(tmp, quotes=None, **kwargs):  # noqa: N802 - the scenario, explicit amends only
    return _Scenario(tmp, quotes, venue={"native_replace": False}, **kwargs)


RESTING = {"order_type": "limit", "limit_price": D("41900"), "stop_loss": D("40000"),
           "take_profit": D("45000")}


def _lines(s, event):
    return [line for line in s.audit() if line["event"] == event]


async def test_an_unknown_or_finished_order_is_not_amended(tmp_path):
    async with Scenario(tmp_path) as s:
        filled = (await s.submit()).order
        assert filled.status is S.FILLED
        for cid in ("no-such-order", filled.client_order_id):
            outcome = await s.engine.amend(cid, quantity=D("0.02"))
            assert not outcome.done and outcome.code is R.AMEND_NOT_WORKING


async def test_nothing_to_change_below_filled_and_a_price_on_a_market_order_are_refused(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5", ask_size="0.004")]
    async with Scenario(tmp_path, quotes) as s:
        order = (await s.submit(**RESTING)).order
        same = await s.engine.amend(order.client_order_id, quantity=D("0.010"), price=D("41900"))
        assert same.code is R.AMEND_NOTHING_TO_CHANGE
        await s.advance(6)
        await s.advance(1)
        assert order.filled_quantity == D("0.004")
        below = await s.engine.amend(order.client_order_id, quantity=D("0.004"))
        assert below.code is R.AMEND_BELOW_FILLED and "0.004 already filled" in below.reason
        assert order.status is S.PARTIALLY_FILLED  # left as it was
        assert [line["code"] for line in _lines(s, "order_modify_rejected")] == [
            "AMEND_NOTHING_TO_CHANGE", "AMEND_BELOW_FILLED"]


async def test_halted_amends_nothing_and_reducing_never_grows_an_order(tmp_path):
    async with Scenario(tmp_path) as s:
        order = (await s.submit(**RESTING)).order
        s.engine.set_trading_state("HALTED", "test")
        assert (await s.engine.amend(order.client_order_id, price=D("41950"))).code is R.TRADING_HALTED
        s.engine.set_trading_state("REDUCING", "test")
        assert (await s.engine.amend(order.client_order_id, quantity=D("0.02"))).code is R.REDUCE_ONLY
        assert order.status is S.ACCEPTED and order.price == D("41900")


async def test_a_new_price_cancels_the_leg_and_sends_the_next_one_with_its_lineage(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        outcome = await s.engine.amend(old.client_order_id, price=D("41950.004"))
        assert outcome.done and outcome.code is None
        new = outcome.order
        assert old.status is S.CANCELLED
        assert [t.to_status for t in old.transitions][-3:] == [
            S.PENDING_UPDATE, S.CANCEL_PENDING, S.CANCELLED]
        assert (new.parent_id, new.role, new.leg) == (old.client_order_id, OrderRole.AMENDMENT, 1)
        assert (new.price, new.quantity, new.status) == (D("41950.00"), D("0.010"), S.ACCEPTED)
        assert new.signal_id == old.signal_id
        (updated,) = _lines(s, "order_updated")
        assert updated["new_client_order_id"] == new.client_order_id
        again = await s.engine.amend(new.client_order_id, quantity=D("0.006"))
        assert again.done and (again.order.leg, again.order.quantity) == (2, D("0.006"))
        assert again.order.parent_id == old.client_order_id  # every leg points at the root
        assert s.venue.orders_per_client_id[again.order.client_order_id] == 1


async def test_a_fill_racing_the_amend_sizes_the_replacement_from_recorded_fills(tmp_path):
    """The venue fills 0.004 after the last poll and before the amend's cancel: the
    engine learns of it from the cancel's answer, and the new leg is sent for what is left
    of the new total, never for the new total itself."""
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5", ask_size="0.004")]
    async with Scenario(tmp_path, quotes) as s:
        old = (await s.submit(**RESTING)).order
        s.clock.advance(6)
        s.venue.advance()  # the venue fills; the engine has not polled
        assert old.filled_quantity == 0
        outcome = await s.engine.amend(old.client_order_id, quantity=D("0.008"))
        new = outcome.order
        assert old.status is S.CANCELLED and old.filled_quantity == D("0.004")
        assert new.quantity == D("0.004")  # 0.008 in total, 0.004 already filled
        total = old.filled_quantity + new.quantity
        assert total == D("0.008")


async def test_an_amend_too_late_because_the_order_filled_sends_nothing(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5")]
    async with Scenario(tmp_path, quotes) as s:
        old = (await s.submit(**RESTING)).order
        s.clock.advance(6)
        s.venue.advance()  # filled in full at the venue, not yet seen
        outcome = await s.engine.amend(old.client_order_id, quantity=D("0.02"))
        assert outcome.code is R.AMEND_TOO_LATE and old.status is S.FILLED
        assert s.engine.journal.children(old.client_order_id) == []
        assert s.engine.journal.active_parents("amend") == []


async def test_a_lost_cancel_answer_holds_the_replacement_until_the_venue_confirms(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        s.venue.faults.inject("cancel", Fault.TIMEOUT_BEFORE_ACCEPT)
        outcome = await s.engine.amend(old.client_order_id, price=D("41950"))
        assert outcome.done and outcome.pending and old.status is S.CANCEL_PENDING
        assert s.engine.journal.children(old.client_order_id) == []  # nothing sent beside it
        (ask,) = s.engine.journal.active_parents("amend")  # what a restart would finish
        assert ask["parent_id"] == f"{old.client_order_id}-amend-1"
        await s.advance(1)  # the poll asks again; cancelled, the replacement goes out
        assert old.status is S.CANCELLED
        (row,) = s.engine.journal.children(old.client_order_id)
        assert (row["role"], row["leg"], row["price"], row["status"]) == (
            "amendment", 1, "41950.00", "ACCEPTED")
        assert s.engine.journal.parent(ask["parent_id"])["status"] == "done"


async def test_a_refused_cancel_leaves_the_order_working_and_its_ask_can_be_made_again(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        s.venue.faults.inject("cancel", Fault.REJECT)
        refused = await s.engine.amend(old.client_order_id, price=D("41950"))
        assert refused.code is R.AMEND_REFUSED_BY_VENUE and old.status is S.ACCEPTED
        assert s.engine.journal.active_parents("amend") == []
        again = await s.engine.amend(old.client_order_id, price=D("41950"))
        assert again.done and again.order.price == D("41950.00")
        rows = [s.engine.journal.parent(f"{old.client_order_id}-amend-{n}") for n in (1, 2)]
        assert [row["status"] for row in rows] == ["done", "done"]


async def test_a_kill_switch_moved_while_the_cancel_was_unanswered_holds_the_replacement(tmp_path):
    """The cancel's answer is lost; the operator halts (or reduces) before the venue
    confirms: the old leg ends cancelled and no replacement leaves."""
    for state, change, code in (("HALTED", {"price": D("41950")}, R.TRADING_HALTED),
                                ("REDUCING", {"quantity": D("0.012")}, R.REDUCE_ONLY)):
        async with Scenario(tmp_path / state) as s:
            old = (await s.submit(**RESTING)).order
            s.venue.faults.inject("cancel", Fault.TIMEOUT_BEFORE_ACCEPT)
            outcome = await s.engine.amend(old.client_order_id, **change)
            assert outcome.pending
            s.engine.set_trading_state(state, "test")
            await s.advance(1)
            assert old.status is S.CANCELLED
            assert s.engine.journal.children(old.client_order_id) == []
            assert _lines(s, "order_modify_rejected")[-1]["code"] == code
            assert s.engine.journal.active_parents("amend") == []


async def test_a_brackets_exit_is_not_amended_by_hand(tmp_path):
    async with Scenario(tmp_path) as s:
        entry = (await s.submit(protect=True)).order
        exit_id = s.engine.journal.children(entry.client_order_id)[0]["client_order_id"]
        outcome = await s.engine.amend(exit_id, quantity=D("0.005"))
        assert outcome.code is R.AMEND_NOT_AMENDABLE



async def test_a_working_bracket_entry_is_not_amended_its_exits_follow_its_own_fills(tmp_path):
    """Found by the chaos machine: a replacement leg's fills would not be protected, and
    the bracket could finish on the cancelled root while the replacement still works."""
    async with Scenario(tmp_path) as s:
        entry = (await s.submit(protect=True, order_type="limit", limit_price=D("41900"),
                                time_in_force="GTC")).order
        assert entry.status is S.ACCEPTED
        outcome = await s.engine.amend(entry.client_order_id, price=D("41950"))
        assert outcome.code is R.AMEND_NOT_AMENDABLE and "entry of a bracket" in outcome.reason
        assert entry.status is S.ACCEPTED and s.engine.journal.children(entry.client_order_id) == []

# ---------------------------------------------------------------- risk: what an amend adds
#
# Each runs on both paths: the explicit cancel-then-replace and the venue's native replace
# (the simulated venue's, as Binance does it). The risk check comes before either.

import pytest  # noqa: E402

from ordergate.market import EngineMarket  # noqa: E402

PATHS = pytest.mark.parametrize("native", [False, True], ids=["explicit", "native"])


def RiskScenario(tmp, native, quotes=None, risk=None, venue=None):  # noqa: N802
    return _Scenario(tmp, quotes, config={"risk": risk or {}},
                     venue={"native_replace": native, **(venue or {})})


def _unchanged(s, order, price=D("41900"), quantity=D("0.010")):
    assert order.status is S.ACCEPTED and (order.price, order.quantity) == (price, quantity)
    assert s.engine.journal.children(order.client_order_id) == []
    assert s.engine.journal.active_parents("amend") == []


def _short_of_equity(monkeypatch, equity: Decimal | None = D("-5")):
    """The engine reads the account's equity as `equity` (negative: a margin account in
    deficit; None: the balance cannot be read). The venue's own funds are left alone: what
    is tested is ordergate's check, not the venue's."""
    async def read(*_: object) -> Decimal | None:
        return equity

    monkeypatch.setattr(EngineMarket, "equity", read)


@PATHS
async def test_growth_past_the_max_order_notional_is_refused(tmp_path, native):
    async with RiskScenario(tmp_path, native, risk={"max_order_notional": "1000"}) as s:
        order = (await s.submit(**RESTING)).order  # 419 of notional
        outcome = await s.engine.amend(order.client_order_id, quantity=D("0.024"))
        assert not outcome.done and outcome.code is R.MAX_NOTIONAL
        assert "1005.6" in outcome.reason and "1000" in outcome.reason
        _unchanged(s, order)
        assert _lines(s, "order_modify_rejected")[-1]["code"] == "MAX_NOTIONAL"
        within = await s.engine.amend(order.client_order_id, quantity=D("0.023"))
        assert within.done and within.order.quantity == D("0.023")


async def test_the_cap_counts_what_the_lineage_has_filled(tmp_path):
    """0.004 filled at 41900 (167.6), then the total raised to 0.012: the rest (0.008,
    335.2) fits the 500 cap on its own, the order as a whole (502.8) does not."""
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5", ask_size="0.004")]
    async with RiskScenario(tmp_path, False, quotes, risk={"max_order_notional": "500"}) as s:
        order = (await s.submit(**RESTING)).order
        await s.advance(6)
        assert order.filled_quantity == D("0.004")
        outcome = await s.engine.amend(order.client_order_id, quantity=D("0.012"))
        assert outcome.code is R.MAX_NOTIONAL and "filled 167.6" in outcome.reason
        assert order.status is S.PARTIALLY_FILLED and order.quantity == D("0.010")


@PATHS
async def test_growth_past_the_free_equity_is_refused_counting_other_working_buys(tmp_path,
                                                                                 native):
    """1000 USDT; two working buys of 419 each leave 162 free. Growing one to 0.014 adds
    167.6 (more than 162); to 0.013 it adds 125.7 (its own 419 is already counted among
    the working buys), which fits, though its whole new notional (544.7) would not."""
    async with RiskScenario(tmp_path, native, venue={"balances": {"main": {"USDT": "1000"}}}) as s:
        order = (await s.submit(signal_id="a", **RESTING)).order
        other = (await s.submit(signal_id="b", **RESTING)).order
        assert other.status is S.ACCEPTED
        outcome = await s.engine.amend(order.client_order_id, quantity=D("0.014"))
        assert outcome.code is R.INSUFFICIENT_EQUITY
        assert "167.6" in outcome.reason and "162" in outcome.reason
        assert order.status is S.ACCEPTED and order.quantity == D("0.010")
        fits = await s.engine.amend(order.client_order_id, quantity=D("0.013"))
        assert fits.done and fits.order.quantity == D("0.013"), fits.reason


@PATHS
async def test_a_price_outside_the_band_or_with_no_reference_is_refused(tmp_path, native):
    async with RiskScenario(tmp_path, native) as s:
        order = (await s.submit(**RESTING)).order
        far = await s.engine.amend(order.client_order_id, price=D("44200"))  # 5.24% off 42000.5
        assert far.code is R.PRICE_BAND and "44200" in far.reason
        s.venue.faults.inject("fetch_ticker", Fault.UNAVAILABLE)
        blind = await s.engine.amend(order.client_order_id, price=D("41950"))
        assert blind.code is R.NO_REFERENCE_PRICE
        shrunk_far = await s.engine.amend(order.client_order_id, quantity=D("0.005"),
                                          price=D("39000"))
        assert shrunk_far.code is R.PRICE_BAND, "a fat-finger price is one at any size"
        _unchanged(s, order)
        assert [line["code"] for line in _lines(s, "order_modify_rejected")] == [
            "PRICE_BAND", "NO_REFERENCE_PRICE", "PRICE_BAND"]


@PATHS
async def test_a_reduction_is_never_refused_for_equity_negative_or_unknown(tmp_path, native,
                                                                           monkeypatch):
    async with RiskScenario(tmp_path, native) as s:
        order = (await s.submit(**RESTING)).order
        _short_of_equity(monkeypatch)
        grow = await s.engine.amend(order.client_order_id, quantity=D("0.011"))
        assert grow.code is R.INSUFFICIENT_EQUITY  # the check is live
        down = await s.engine.amend(order.client_order_id, quantity=D("0.006"))
        assert down.done and down.order.quantity == D("0.006"), down.reason
        _short_of_equity(monkeypatch, None)
        again = await s.engine.amend(down.order.client_order_id, quantity=D("0.004"))
        assert again.done and again.order.quantity == D("0.004"), again.reason


@PATHS
async def test_a_sell_is_checked_for_equity_only_for_what_it_adds(tmp_path, native,
                                                                  monkeypatch):
    """A short sell (margin account, `allow_short`) resting at 42100, the equity gone
    negative: moving its price adds no exposure and is done; growing it adds a short of
    0.002 and needs free equity, as a signal's sell beyond the position would."""
    sell = {"side": "sell", "order_type": "limit", "limit_price": D("42100"),
            "stop_loss": D("43000"), "take_profit": D("40000")}
    async with RiskScenario(tmp_path, native, venue={"allow_short": True}) as s:
        order = (await s.submit(**sell)).order
        assert order.status is S.ACCEPTED
        _short_of_equity(monkeypatch)
        grow = await s.engine.amend(order.client_order_id, quantity=D("0.012"))
        assert grow.code is R.INSUFFICIENT_EQUITY and "84.2" in grow.reason
        moved = await s.engine.amend(order.client_order_id, price=D("42150"))
        assert moved.done and moved.order.price == D("42150"), moved.reason


async def test_a_sell_growing_within_the_position_adds_nothing(tmp_path, monkeypatch):
    sell = {"side": "sell", "order_type": "limit", "limit_price": D("42100"),
            "stop_loss": D("43000"), "take_profit": D("40000")}
    async with RiskScenario(tmp_path, False) as s:
        assert (await s.submit(signal_id="long")).order.status is S.FILLED  # 0.010 long
        order = (await s.submit(signal_id="exit", quantity=D("0.004"), **sell)).order
        _short_of_equity(monkeypatch)
        within = await s.engine.amend(order.client_order_id, quantity=D("0.010"))
        assert within.done, within.reason
        beyond = await s.engine.amend(within.order.client_order_id, quantity=D("0.012"))
        assert beyond.code is R.INSUFFICIENT_EQUITY


# ---------------------------------------------------------------- the invariant

import asyncio  # noqa: E402 - the property's own imports, kept with it
import os  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = os.environ.get("AMEND_EXAMPLES")  # a bigger random run: AMEND_EXAMPLES=500


def _walk(seed: int, n: int = 60):
    rng = random.Random(seed)
    mid, out = D(42000), []
    for t in range(n):
        mid += D(rng.choice((-20, -10, -5, 0, 5, 10, 20)))
        size = str(D(rng.choice((1, 2, 3, 5))) / 1000)
        out.append(quote(t, str(mid - D("0.5")), str(mid + D("0.5")), size, ask_size=size))
    return out


def _lineage_filled(s, root) -> Decimal:
    """What the root and every amendment leg have filled, as the journal records it."""
    rows = s.engine.journal.children(root.client_order_id)
    return root.filled_quantity + sum((D(r["filled_quantity"]) for r in rows), D(0))


AMEND = st.tuples(st.integers(1, 4), st.one_of(st.none(), st.integers(2, 30)),
                  st.one_of(st.none(), st.integers(-20, 20)), st.booleans())


@settings(max_examples=int(EXAMPLES or 25), derandomize=EXAMPLES is None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), lots=st.integers(3, 20), amends=st.lists(AMEND, max_size=6),
       native=st.booleans())
def test_an_amended_orders_legs_never_fill_more_than_the_last_total_asked(seed, lots, amends,
                                                                          native):
    """Random amends (size up or down, price moved) while the order fills in parts, some
    fills unseen when the amend is asked (the venue ran ahead of the engine's poll): the
    legs together never fill more than the total the last accepted amend asked for, and
    no leg is ever sent twice. With the venue's native replace (`native`) or without."""
    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            config = {"validator": {"max_signal_age_s": 10_000},
                      "reconciler": {"fill_timeout_s": 10_000}}
            async with _Scenario(Path(tmp), _walk(seed), config=config,
                                 venue={"native_replace": native}) as s:
                root = (await s.submit(order_type="limit", limit_price=D("42000"),
                                       quantity=D(lots) / 1000, stop_loss=D("40000"),
                                       take_profit=D("45000"))).order
                assert root is not None
                intended = root.quantity
                working = root
                for wait, total, move, unseen in amends:
                    s.clock.advance(wait)
                    if unseen:
                        s.venue.advance()  # fills the engine learns of only from the cancel
                    else:
                        await s.engine.tick()
                    quantity = None if total is None else D(total) / 1000
                    price = None if move is None else D(42000 + move)
                    outcome = await s.engine.amend(working.client_order_id, quantity, price)
                    if outcome.done and not outcome.pending:
                        assert quantity is None or outcome.order.quantity <= quantity
                        intended = quantity if quantity is not None else intended
                        working = outcome.order
                    assert _lineage_filled(s, root) <= intended
                await s.advance(30)
                total_filled = _lineage_filled(s, root)
                assert total_filled <= intended, f"{total_filled} filled, {intended} asked"
                twice = {c: n for c, n in s.venue.orders_per_client_id.items() if n > 1}
                assert not twice
                # Every explicit amend's ask ended with it: none is left for a restart.
                assert s.engine.journal.active_parents("amend") == []

    asyncio.run(run())
