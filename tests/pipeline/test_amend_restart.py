"""An explicit (cancel-then-replace) amend interrupted by a restart is finished, not turned
into a cancel: the ask is journaled (`parents`, kind `amend`) and committed before the
cancel leaves, and `Amender.restore` carries it on once recovery has looked the old leg
up. Each test kills the engine at one point of the amend (an exception nothing catches,
nothing closed after it) and starts a new engine on the same journal and venue.

Before the ask was journaled, a kill after the cancel landed left the old leg cancelled
and nothing working: the trader asked for a new quantity and got none."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from decimal import Decimal
from typing import Any

import pytest

from ordergate.config import RiskSettings
from ordergate.domain.order import Order
from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderRole
from ordergate.engine import Engine
from ordergate.testing.scenario import Scenario as _Scenario
from ordergate.testing.scenario import quote

D = Decimal
RESTING = {"order_type": "limit", "limit_price": D("41900"), "stop_loss": D("40000"),
           "take_profit": D("45000")}
FILLS_AT_5 = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5", ask_size="0.004")]


def Scenario(tmp: Any, quotes: Any = None) -> _Scenario:  # noqa: N802 - explicit amends only
    return _Scenario(tmp, quotes, venue={"native_replace": False})


class Killed(BaseException):
    """The process dies here: nothing after it runs, nothing is closed."""


def _kill_at_cancel(s: _Scenario, *, after_venue: bool) -> None:
    """The engine dies at the amend's cancel: before it leaves, or once the venue has
    applied it (the answer never read)."""
    real = s.venue.cancel_order

    async def killed(*args: Any) -> Any:
        if after_venue:
            await real(*args)
        raise Killed

    s.venue.cancel_order = killed  # type: ignore[method-assign]


async def _amend_killed(s: _Scenario, order: Order, **change: Any) -> None:
    with pytest.raises(Killed):
        await s.engine.amend(order.client_order_id, **change)
    for patched in ("cancel_order", "place_order"):  # the venue itself is fine
        if patched in vars(s.venue):
            delattr(s.venue, patched)


async def _restarted(s: _Scenario, update: dict[str, Any] | None = None) -> Engine:
    config = s.config.model_copy(update=update or {})
    engine = Engine(config, s.clock, venues={"sim": s.venue},
                    journal_path=s.tmp / "journal.sqlite")
    await engine.start()
    return engine


def _codes(s: _Scenario, engine: Engine, event: str) -> list[Any]:
    engine.audit.flush()
    lines = [json.loads(line) for line in (s.tmp / "audit.jsonl").read_text().splitlines()]
    return [line.get("code") for line in lines if line["event"] == event]


def _replacement(engine: Engine, root: Order) -> Order:
    (row,) = engine.journal.children(root.client_order_id)
    new = engine.ledger.get(row["client_order_id"])
    assert new is not None
    return new


async def _tick(engine: Engine, s: _Scenario, seconds: int) -> None:
    for _ in range(seconds):
        s.clock.advance(1)
        await engine.tick()


# ---------------------------------------------------------------- unhappy paths first


async def test_the_old_leg_filled_before_its_cancel_is_too_late_and_nothing_is_sent(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5")]
    async with Scenario(tmp_path, quotes) as s:
        old = (await s.submit(**RESTING)).order
        s.clock.advance(6)  # the venue fills it in full; the engine has not looked
        _kill_at_cancel(s, after_venue=True)
        await _amend_killed(s, old, quantity=D("0.02"))
        engine = await _restarted(s)
        try:
            assert engine.journal.order_status(old.client_order_id) == "FILLED"
            assert engine.journal.children(old.client_order_id) == []
            assert engine.journal.active_parents("amend") == []
            assert _codes(s, engine, "order_modify_rejected")[-1] == "AMEND_TOO_LATE"
        finally:
            await engine.close()


async def test_a_replacement_already_journaled_is_never_sent_again(tmp_path):
    """Killed at the replacement's send, after it was journaled: recovery follows it,
    and an amendment is never resent (its old leg's fills sized it). The restore adds no
    second replacement: one leg 1, never at the venue, FAILED once no request can land."""
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order

        async def killed(*_: Any) -> Any:
            raise Killed

        s.venue.place_order = killed  # type: ignore[method-assign]
        await _amend_killed(s, old, price=D("41950"))
        engine = await _restarted(s)
        try:
            new = _replacement(engine, old)
            assert engine.journal.active_parents("amend") == []
            await _tick(engine, s, 15)
            assert new.status is S.FAILED
            assert len(engine.journal.children(old.client_order_id)) == 1
            assert s.venue.orders_per_client_id.get(new.client_order_id, 0) == 0
        finally:
            await engine.close()


async def test_halted_at_the_restart_leaves_a_still_working_order_unchanged(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        _kill_at_cancel(s, after_venue=False)
        await _amend_killed(s, old, price=D("41950"))
        engine = await _restarted(s, {"risk": RiskSettings(trading_state="HALTED")})
        try:
            old2 = engine.ledger.get(old.client_order_id)
            assert old2 is not None and old2.status is S.ACCEPTED and old2.price == D("41900")
            assert engine.journal.children(old.client_order_id) == []
            assert engine.journal.active_parents("amend") == []
            assert _codes(s, engine, "order_modify_rejected")[-1] == "TRADING_HALTED"
        finally:
            await engine.close()


# ---------------------------------------------------------------- finished


async def test_a_cancel_that_landed_before_the_kill_is_followed_by_the_replacement(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        _kill_at_cancel(s, after_venue=True)
        await _amend_killed(s, old, quantity=D("0.006"), price=D("41950"))
        with closing(sqlite3.connect(s.tmp / "journal.sqlite")) as db:  # what is on disk
            ask = db.execute("SELECT spec FROM parents WHERE kind='amend' AND status='active'")
            specs = [json.loads(spec) for (spec,) in ask]
        assert specs == [{
            "order": old.client_order_id, "leg": 1, "total": "0.006", "price": "41950.00",
            "was": "0.010"}], "the ask is on disk before the cancel leaves"
        engine = await _restarted(s)
        try:
            assert engine.journal.order_status(old.client_order_id) == "CANCELLED"
            new = _replacement(engine, old)
            assert (new.role, new.leg, new.parent_id) == (OrderRole.AMENDMENT, 1,
                                                          old.client_order_id)
            assert (new.status, new.quantity, new.price) == (S.ACCEPTED, D("0.006"),
                                                             D("41950.00"))
            assert s.venue.orders_per_client_id[new.client_order_id] == 1
            assert engine.journal.active_parents("amend") == []
            assert _codes(s, engine, "order_updated") == [None]
        finally:
            await engine.close()


async def test_a_cancel_that_never_left_is_sent_again_and_the_amend_finished(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        _kill_at_cancel(s, after_venue=False)
        await _amend_killed(s, old, price=D("41950"))
        engine = await _restarted(s)
        try:
            old2 = engine.ledger.get(old.client_order_id)
            assert old2 is not None and old2.status is S.CANCELLED
            assert [t.to_status for t in old2.transitions][-2:] == [S.CANCEL_PENDING,
                                                                   S.CANCELLED]
            new = _replacement(engine, old)
            assert (new.status, new.quantity, new.price) == (S.ACCEPTED, D("0.010"),
                                                             D("41950.00"))
            assert s.venue.orders_per_client_id[new.client_order_id] == 1
        finally:
            await engine.close()


async def test_a_fill_that_raced_the_cancel_sizes_the_replacement_after_the_restart(tmp_path):
    async with Scenario(tmp_path, FILLS_AT_5) as s:
        old = (await s.submit(**RESTING)).order
        s.clock.advance(6)  # 0.004 fills at the venue, unseen
        _kill_at_cancel(s, after_venue=True)
        await _amend_killed(s, old, quantity=D("0.008"))
        engine = await _restarted(s)
        try:
            new = _replacement(engine, old)
            filled = D(engine.journal.order(old.client_order_id)["filled_quantity"])
            assert filled == D("0.004") and new.quantity == D("0.004")
            await _tick(engine, s, 5)
            total = filled + new.filled_quantity
            assert total <= D("0.008")
            assert engine.positions.quantity("main", "sim", "BTC/USDT") == total
        finally:
            await engine.close()


async def test_a_cancel_still_unanswered_at_the_restart_holds_the_replacement(tmp_path):
    """The venue cannot be asked at the restart: the old leg is cancelled again and the
    replacement waits for the venue's word, as before the kill; then it is sent once."""
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        _kill_at_cancel(s, after_venue=True)
        await _amend_killed(s, old, price=D("41950"))
        s.venue.faults.down = True
        engine = await _restarted(s)
        try:
            assert engine.journal.children(old.client_order_id) == []
            s.venue.faults.down = False
            await _tick(engine, s, 3)
            new = _replacement(engine, old)
            assert new.status is S.ACCEPTED and new.price == D("41950.00")
            assert s.venue.orders_per_client_id[new.client_order_id] == 1
            assert engine.journal.active_parents("amend") == []
        finally:
            await engine.close()
