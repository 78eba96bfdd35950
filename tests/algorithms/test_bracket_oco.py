"""Brackets on a venue with native OCO lists: both exits as one list, on a spot account.

On the simulated venue (spot rules, `native_oco` on: its default) through the whole
engine, and through `CcxtVenue` with ccxt's real binance class against the Binance
emulator's `POST /api/v3/orderList/oco`. What the list must give that ordergate's own
one-cancels-the-other cannot: both exits resting where the account holds the base only
once, and never both filled; what it must keep: exits sized to what is open, journaled
before they leave, never a second list beside one in doubt, found again at a restart.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.clock import SimulatedClock
from ordergate.config import config_from_mapping
from ordergate.domain.order import OrderStatus as S
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.engine import Engine
from ordergate.testing.binance_emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, BinanceEmulator
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

D = Decimal
SPOT = {"allow_short": False, "balances": {"main": {"USDT": D("100000"), "BTC": D("0")}}}


def _exits(journal: Any, entry_id: str) -> dict[str, dict[str, Any]]:
    return {row["client_order_id"]: row for row in journal.children(entry_id)}


def _by_role(rows: dict[str, dict[str, Any]], leg: int | None = None) -> dict[str, dict[str, Any]]:
    return {r["role"]: r for r in rows.values() if leg is None or r["leg"] == leg}


def _transitions(audit: list[dict[str, Any]], client_order_id: str) -> list[str]:
    return [line["decision"] for line in audit
            if line["event"] == "order_transition" and line["client_order_id"] == client_order_id]


# ---------------------------------------------------------------- simulated venue, spot


async def test_on_a_spot_account_both_exits_rest_as_one_list(tmp_path: Path) -> None:
    async with Scenario(tmp_path, venue=SPOT) as s:
        entry = (await s.submit(protect=True)).order
        rows = _by_role(_exits(s.engine.journal, entry.client_order_id))
        assert rows["stop_loss"]["status"] == rows["take_profit"]["status"] == "ACCEPTED"
        assert rows["stop_loss"]["quantity"] == rows["take_profit"]["quantity"] == "0.010"
        assert not [l for l in s.audit() if l.get("decision") == "unprotected"]
        btc = (await s.venue.fetch_balances("main"))["BTC"]
        assert (btc.free, btc.used) == (0, D("0.010"))  # the base, locked once for the list


async def test_take_profit_fills_and_the_venue_ends_the_stop_finishing_the_bracket(tmp_path: Path) -> None:
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "45001", "45002", "5")]
    async with Scenario(tmp_path, quotes, venue=SPOT) as s:
        entry = (await s.submit(protect=True)).order
        await s.advance(6)
        await s.advance(1)
        rows = _by_role(_exits(s.engine.journal, entry.client_order_id))
        assert rows["take_profit"]["status"] == "FILLED"
        assert rows["stop_loss"]["status"] == "EXPIRED"  # ended by the venue, not by us
        assert "CANCEL_PENDING" not in _transitions(s.audit(), rows["stop_loss"]["client_order_id"])
        assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == 0
        assert s.engine.journal.parent(entry.client_order_id)["status"] == "done"
        assert s.engine.brackets.get(entry.client_order_id) is None


async def test_both_exits_reached_within_one_reaction_fill_only_one(tmp_path: Path) -> None:
    """The case emulated OCO can only report as drift (test_bracket.py): the take-profit's
    price and then the stop's trigger both reached between two ticks. With a list, the
    take-profit's fill ended the stop at the venue: it never fires, the position is flat,
    never short."""
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "45001", "45002", "5"),
              quote(6, "40000", "40001", "5")]
    async with Scenario(tmp_path, quotes, venue={**SPOT, "allow_short": True}) as s:
        entry = (await s.submit(protect=True)).order
        await s.advance(7)
        await s.advance(1)
        rows = _by_role(_exits(s.engine.journal, entry.client_order_id))
        assert (rows["take_profit"]["status"], rows["stop_loss"]["status"]) == ("FILLED", "EXPIRED")
        assert rows["stop_loss"]["filled_quantity"] == "0"
        assert not [l for l in s.audit() if l["event"] == "reconciliation_drift"]
        assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == 0


async def test_an_entry_filling_in_three_parts_has_its_list_replaced_each_time(tmp_path: Path) -> None:
    quotes = [quote(0, "42010", "42011", "5")] + [
        quote(t, "41999", "42000", "5", ask_size="0.004") for t in (5, 10, 15)]
    async with Scenario(tmp_path, quotes, venue=SPOT) as s:
        entry = (await s.submit(protect=True, order_type="limit", limit_price=D("42000"))).order
        for t in (6, 5, 5):
            await s.advance(t)
            await s.advance(1)
        rows = _exits(s.engine.journal, entry.client_order_id)
        by_leg = {n: _by_role(rows, n) for n in (1, 2, 3)}
        assert [(by_leg[n]["stop_loss"]["quantity"], by_leg[n]["take_profit"]["quantity"])
                for n in (1, 2, 3)] == [("0.004", "0.004"), ("0.008", "0.008"), ("0.010", "0.010")]
        for n in (1, 2):  # each list cancelled whole, by one cancel
            legs = by_leg[n].values()
            assert {r["status"] for r in legs} == {"CANCELLED"}
            asked = [r for r in legs if "CANCEL_PENDING" in _transitions(s.audit(), r["client_order_id"])]
            assert len(asked) == 1
        assert {r["status"] for r in by_leg[3].values()} == {"ACCEPTED"}


async def test_with_native_oco_off_a_spot_account_is_left_without_its_take_profit(tmp_path: Path) -> None:
    """The gap a list closes, for contrast: with two separate exits only the stop rests."""
    async with Scenario(tmp_path, venue={**SPOT, "native_oco": False}) as s:
        entry = (await s.submit(protect=True)).order
        rows = _by_role(_exits(s.engine.journal, entry.client_order_id))
        assert set(rows) == {"stop_loss"} and rows["stop_loss"]["status"] == "ACCEPTED"


# ---------------------------------------------------------------- ccxt + Binance emulator, spot

KEY_ENV, SECRET_ENV = "OG_OCO_BINANCE_KEY", "OG_OCO_BINANCE_SECRET"
OCO_PATH = "/api/v3/orderList/oco"


class Binance:
    """An engine on `CcxtVenue` against the emulator, on a simulated clock started at the
    wall time (so the emulator's recvWindow agrees)."""

    def __init__(self, emu: BinanceEmulator, tmp: Path) -> None:
        self.emu, self.tmp = emu, tmp
        self.clock = SimulatedClock(datetime.now(UTC))
        raw: dict[str, Any] = {
            "executor": {"backoff_base_s": 0.01, "backoff_cap_s": 0.05, "lookup_attempts": 2},
            "reconciler": {"poll_interval_s": 0.05, "fill_timeout_s": 5},
            "reconciliation": {"cold_start": "ignore", "compare_balances": False},
            "risk": {"min_reward_risk": "0"},
            "journal": {"path": str(tmp / "journal.sqlite")},
            "audit": {"path": str(tmp / "audit.jsonl")},
            "venues": {"binance": {"kind": "ccxt", "exchange": "binance", "api_key_env": KEY_ENV,
                                   "secret_env": SECRET_ENV, "api_url": emu.base_url,
                                   "timeout_s": 1.0}},
        }
        config = config_from_mapping(raw, source="test")
        settings = CcxtVenueSettings.model_validate(
            {"name": "binance", **config.venues["binance"].adapter_fields()})
        self.venue = CcxtVenue(settings, self.clock)
        self.engine = Engine(config, self.clock, venues={"binance": self.venue},
                             journal_path=tmp / "journal.sqlite", audit_path=tmp / "audit.jsonl")

    async def submit(self, signal_id: str, **fields: Any) -> Any:
        values: dict[str, Any] = {
            "signal_id": signal_id, "ts": self.clock.now(), "strategy_id": "it",
            "account_id": "main", "venue": "binance", "symbol": "BTC/USDT", "side": "buy",
            "order_type": "market", "quantity": D("0.01"), "protect": True,
            "stop_loss": D("48000"), "take_profit": D("52000"), **fields}
        return (await self.engine.submit(TradingSignalGenerated.model_validate(values))).order

    async def advance(self, seconds: float = 0.1) -> None:
        self.clock.advance(seconds)
        await self.engine.tick()

    def audit(self) -> list[dict[str, Any]]:
        self.engine.audit.flush()
        path = self.tmp / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def requests(self, method: str, path: str) -> int:
        return sum(1 for m, p, _ in self.emu.requests if (m, p) == (method, path))


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BinanceEmulator]:
    monkeypatch.setenv(KEY_ENV, DEFAULT_API_KEY)
    monkeypatch.setenv(SECRET_ENV, DEFAULT_API_SECRET)
    # A spot account with no BTC but what the entry buys, less the buyer's 0.1% commission
    # Binance takes in the base: the exits are sized by what the entry delivered.
    async with BinanceEmulator(balances={"USDT": D(1000000), "BTC": D(0)}) as emulator:
        yield emulator


async def _started(emu: BinanceEmulator, tmp: Path) -> Binance:
    b = Binance(emu, tmp)
    await b.engine.start()
    return b


def _venue_leg(emu: BinanceEmulator, client_order_id: str) -> Any:
    return emu.orders_by_client_id(client_order_id)[-1]


async def test_binance_spot_holds_both_exits_as_one_order_list(emu: BinanceEmulator, tmp_path: Path) -> None:
    b = await _started(emu, tmp_path)
    try:
        entry = await b.submit("oco-1")
        assert entry.status is S.FILLED
        rows = _by_role(_exits(b.engine.journal, entry.client_order_id))
        assert rows["stop_loss"]["status"] == rows["take_profit"]["status"] == "ACCEPTED"
        stop, target = (_venue_leg(emu, rows[r]["client_order_id"]) for r in ("stop_loss", "take_profit"))
        assert (stop.type, target.type) == ("STOP_LOSS", "LIMIT_MAKER")
        assert stop.order_list_id == target.order_list_id >= 0
        assert emu.balances()["BTC"] == (0, D("0.00999"))  # locked once, all of it
        assert b.requests("POST", OCO_PATH) == 1 and b.requests("POST", "/api/v3/order") == 1
    finally:
        await b.engine.close()


async def test_binance_take_profit_fills_and_the_venue_expires_the_stop(emu: BinanceEmulator, tmp_path: Path) -> None:
    b = await _started(emu, tmp_path)
    try:
        entry = await b.submit("oco-2")
        emu.trade_against_resting("BTCUSDT", "52000.00", "0.00999")
        for _ in range(3):
            await b.advance()
        rows = _by_role(_exits(b.engine.journal, entry.client_order_id))
        assert (rows["take_profit"]["status"], rows["stop_loss"]["status"]) == ("FILLED", "EXPIRED")
        assert b.requests("DELETE", "/api/v3/order") == 0  # no cancel raced the venue's
        assert b.engine.journal.parent(entry.client_order_id)["status"] == "done"
        assert emu.balances()["BTC"] == (0, 0)  # sold what the account held, once
    finally:
        await b.engine.close()


async def test_binance_entry_filling_in_three_parts_replaces_the_list_each_time(emu: BinanceEmulator, tmp_path: Path) -> None:
    b = await _started(emu, tmp_path)
    try:
        entry = await b.submit("oco-3", order_type="limit", limit_price=D("49500.00"))
        assert entry.status is S.ACCEPTED
        for part in ("0.004", "0.004", "0.002"):
            emu.trade_against_resting("BTCUSDT", "49500.00", part)
            for _ in range(3):
                await b.advance()
        rows = _exits(b.engine.journal, entry.client_order_id)
        quantities = sorted((r["leg"], r["role"], r["quantity"], r["status"]) for r in rows.values())
        assert quantities == [
            # net of the 0.1% commission in BTC, in whole lots (0.003996 -> 0.00399, ...)
            (1, "stop_loss", "0.00399", "CANCELLED"), (1, "take_profit", "0.00399", "CANCELLED"),
            (2, "stop_loss", "0.00799", "CANCELLED"), (2, "take_profit", "0.00799", "CANCELLED"),
            (3, "stop_loss", "0.00999", "ACCEPTED"), (3, "take_profit", "0.00999", "ACCEPTED")]
        assert b.requests("POST", OCO_PATH) == 3
        assert b.requests("DELETE", "/api/v3/order") == 2  # one cancel per list replaced
    finally:
        await b.engine.close()


async def test_binance_restart_with_a_list_resting_relinks_it_and_sends_nothing_again(
        emu: BinanceEmulator, tmp_path: Path) -> None:
    first = await _started(emu, tmp_path)
    entry = await first.submit("oco-4")
    await first.engine.close()  # the kill: the list rests at the venue
    again = await _started(emu, tmp_path)
    try:
        await again.advance()
        assert again.requests("POST", OCO_PATH) == 1
        relinked = [l for l in again.audit() if l.get("decision") == "relinked"]
        assert relinked and "1 OCO list" in relinked[-1]["reason"]
        emu.trade_against_resting("BTCUSDT", "52000.00", "0.00999")
        for _ in range(3):
            await again.advance()
        rows = _by_role(_exits(again.engine.journal, entry.client_order_id))
        assert (rows["take_profit"]["status"], rows["stop_loss"]["status"]) == ("FILLED", "EXPIRED")
        assert again.requests("DELETE", "/api/v3/order") == 0
        assert again.engine.journal.parent(entry.client_order_id)["status"] == "done"
    finally:
        await again.engine.close()


async def test_binance_list_answer_lost_is_found_by_its_legs_and_not_sent_again(
        emu: BinanceEmulator, tmp_path: Path) -> None:
    b = await _started(emu, tmp_path)
    try:
        emu.delay_next("POST", OCO_PATH, 1.5, after_processing=True)  # past ccxt's 1 s timeout
        entry = await b.submit("oco-5")
        await asyncio.sleep(0.6)  # the late answer drains
        await b.advance()
        rows = _by_role(_exits(b.engine.journal, entry.client_order_id))
        assert rows["stop_loss"]["status"] == rows["take_profit"]["status"] == "ACCEPTED"
        assert b.requests("POST", OCO_PATH) == 1
        assert {cid: n for cid, n in emu.client_order_id_counts().items()
                if cid in {r["client_order_id"] for r in rows.values()}} == {
            rows["stop_loss"]["client_order_id"]: 1, rows["take_profit"]["client_order_id"]: 1}
    finally:
        await b.engine.close()


# ---------------------------------------------------------------- simulated: partial fills, refusals


async def test_a_partial_take_profit_ends_the_stop_and_a_whole_list_protects_the_rest(tmp_path: Path) -> None:
    """The take-profit fills 0.004 of 0.010: the venue ends the stop (never both). The rest
    of the take-profit protects one side only, so it is cancelled and a new list, both
    legs, is placed for the 0.006 still open."""
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "45000", "45001", "0.004"),
              quote(6, "42000", "42001", "5")]
    async with Scenario(tmp_path, quotes, venue=SPOT) as s:
        entry = (await s.submit(protect=True)).order
        await s.advance(6.5)  # both quotes matched before the bracket answers
        await s.advance(1)
        rows = _exits(s.engine.journal, entry.client_order_id)
        first, second = _by_role(rows, 1), _by_role(rows, 2)
        assert (first["take_profit"]["filled_quantity"], first["stop_loss"]["status"]) == ("0.004", "EXPIRED")
        assert first["take_profit"]["status"] == "CANCELLED"
        assert {r["status"] for r in second.values()} == {"ACCEPTED"}
        assert {r["quantity"] for r in second.values()} == {"0.006"}
        assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.006")


async def test_a_list_the_venue_refuses_leaves_the_exits_to_ordergates_own_oco(tmp_path: Path) -> None:
    """The entry fills where the bid is already below the stop-loss: the venue refuses a
    list whose stop it has passed. The exits go the emulated way at that quantity: the
    stop would trigger at once, so the position is closed at market, never left naked."""
    quotes = [quote(0, "42010", "42011", "5"), quote(5, "40990", "42000", "5")]
    async with Scenario(tmp_path, quotes, venue=SPOT) as s:
        entry = (await s.submit(protect=True, order_type="limit", limit_price=D("42000"))).order
        await s.advance(6)
        await s.advance(1)
        assert entry.status is S.FILLED
        reasons = [l["reason"] for l in s.audit() if l["event"] == "bracket"]
        assert any("OCO list refused" in r and "relationship of the prices" in r for r in reasons)
        closed = [r for r in _exits(s.engine.journal, entry.client_order_id).values()
                  if r["role"] == "stop_loss" and r["status"] == "FILLED"]
        assert len(closed) == 1 and closed[0]["order_type"] == "market"
        assert s.engine.positions.quantity("main", "sim", "BTC/USDT") == 0
