"""Nothing fails silently: unexpected exceptions in a decision or the control loop,
venue reports the transition table forbids, and venue calls that keep failing in the
background are each audited, counted and (by policy) halt trading, while the engine
keeps doing what it safely can."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import TradingState
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.base import (
    AuthenticationFailed, FatalVenueError, OrderRejected, VenueUnavailable,
)
from ordergate.venues.faults import Fault

D = Decimal
S = OrderStatus
# Flat at first, then the ask falls through 41950 at t=20 s: resting buys at 41950 fill.
QUOTES = [quote(0, "42000", "42001", "5"), quote(20, "41900", "41901", "5")]
BUY_STOPS = {"stop_loss": D("41000"), "take_profit": D("45000")}


async def _rest(s: Scenario, signal_id: str, price: str = "41950") -> str:
    outcome = await s.submit(signal_id=signal_id, order_type="limit", limit_price=D(price),
                             **BUY_STOPS)
    assert outcome.order is not None and outcome.order.status is S.ACCEPTED, outcome.reason
    return outcome.order.client_order_id


def _lines(s: Scenario, event: str) -> list[dict[str, Any]]:
    return [line for line in s.audit() if line["event"] == event]


def _misbehave(s: Scenario, operation: str, client_order_id: str | None, effect: Any) -> list[int]:
    """Make the venue's `operation` do `effect` (raise it, or return what it returns given the
    real answer) for one order (or all); returns a one-element call counter."""
    real = getattr(s.venue, operation)
    calls = [0]

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        if client_order_id is None or client_order_id in args:
            calls[0] += 1
            if isinstance(effect, BaseException):
                raise effect
            return effect(await real(*args, **kwargs))
        return await real(*args, **kwargs)

    setattr(s.venue, operation, wrapped)
    return calls


# ---------------------------------------------------------------- the control loop


async def test_bad_venue_data_while_following_one_order_is_audited_halts_and_spares_the_others(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES) as s:
        broken = await _rest(s, "broken")
        healthy = await _rest(s, "healthy")
        calls = _misbehave(s, "fetch_order", broken, ValueError("price 'abc' is not a number"))
        await s.advance(25)
        for _ in range(3):
            await s.advance(1)  # no tick raises
        errors = _lines(s, "system_error")
        assert s.engine.ledger.get(healthy).status is S.FILLED  # the other order was followed
        assert calls[0] >= 4  # and the broken one is still asked at every poll
        assert s.engine.risk.trading_state is TradingState.HALTED
        metrics = s.engine.metrics.render()
    assert errors[0]["handler"] == "reconciler.poll"
    assert "ValueError: price 'abc' is not a number" in errors[0]["reason"]
    assert errors[0]["where"].endswith("in wrapped")  # where it was raised
    assert errors[0]["signal_id"] == "broken"
    assert 'ordergate_system_errors_total{source="reconciler.poll"}' in metrics
    assert [l["decision"] for l in _lines(s, "trading_state")] == ["HALTED"]


async def test_a_step_of_the_tick_that_raises_leaves_the_other_steps_running(tmp_path):
    config = {"reconciliation": {"interval_s": 1}}
    async with Scenario(tmp_path, quotes=QUOTES, config=config) as s:
        client_order_id = await _rest(s, "resting")

        async def broken(name: str, venue: Any) -> list[Any]:
            raise KeyError("a bug in the drift check")

        s.engine.drift_check.run = broken  # type: ignore[method-assign]
        await s.advance(25)
        assert s.engine.ledger.get(client_order_id).status is S.FILLED
    [error] = {l["reason"] for l in _lines(s, "system_error")}
    assert "KeyError" in error and "tick.reconcile_if_due" in error


async def test_with_the_alert_policy_an_unexpected_error_is_audited_but_trading_goes_on(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, config={"supervision": {"on_error": "alert"}}) as s:
        client_order_id = await _rest(s, "resting")
        _misbehave(s, "fetch_order", client_order_id, ValueError("bad"))
        await s.advance(2)
        assert s.engine.risk.trading_state is TradingState.ACTIVE
        assert (await s.submit(signal_id="next")).admitted
    assert _lines(s, "system_error")


async def test_a_venue_report_that_would_make_an_illegal_transition_is_drift_for_that_order(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES) as s:
        client_order_id = await _rest(s, "resting")
        _misbehave(s, "fetch_order", client_order_id,
                   lambda report: dataclasses.replace(report, status=S.REJECTED))
        for _ in range(5):
            await s.advance(1)
        order = s.engine.ledger.get(client_order_id)
        assert order is not None and order.status is S.ACCEPTED  # not applied, still followed
        assert s.engine.risk.trading_state is TradingState.HALTED
    [drift] = _lines(s, "reconciliation_drift")  # once, not once per poll
    assert drift["decision"] == "illegal_transition" and drift["subject"] == client_order_id
    assert (drift["ours"], drift["venues"]) == ("ACCEPTED", "REJECTED")
    assert _lines(s, "system_error") == []


async def test_a_crash_inside_a_handler_refuses_the_signal_with_a_reason_and_halts(tmp_path):
    async with Scenario(tmp_path) as s:
        async def broken(ctx: Any) -> Any:
            raise ZeroDivisionError("division by zero in sizing")

        s.engine.risk.handle = broken  # type: ignore[method-assign]
        outcome = await s.submit(signal_id="crash")
    assert (outcome.admitted, outcome.handler, outcome.code) == (False, "engine", R.INTERNAL_ERROR)
    assert "ZeroDivisionError" in outcome.reason
    [verdict] = [l for l in s.audit() if l["event"] == "handler_verdict" and l["decision"] == "deny"]
    assert verdict["handler"] == "engine" and verdict["code"] == "INTERNAL_ERROR"
    assert _lines(s, "system_error")[0]["signal_id"] == "crash"
    assert s.engine.risk.trading_state is TradingState.HALTED


async def test_a_crash_after_the_order_was_sent_still_follows_the_order(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES) as s:
        async def broken(ctx: Any) -> Any:
            raise RuntimeError("a bug after the send")

        s.engine.reconciler.handle = broken  # type: ignore[method-assign]
        outcome = await s.submit(signal_id="sent", order_type="limit", limit_price=D("41950"),
                                 **BUY_STOPS)
        assert outcome.order is not None and outcome.code is R.INTERNAL_ERROR
        await s.advance(25)
        assert outcome.order.status is S.FILLED


# ---------------------------------------------------------------- venue calls that keep failing


async def test_a_venue_outage_while_following_orders_is_audited_once_per_episode(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES) as s:
        first = await _rest(s, "first")
        await _rest(s, "second")
        real = s.venue.fetch_order
        calls = _misbehave(s, "fetch_order", None, VenueUnavailable("503 from the venue"))
        for _ in range(5):
            await s.advance(1)
        s.venue.fetch_order = real  # type: ignore[method-assign]
        await s.advance(1)
        lines = _lines(s, "venue_error")
        assert s.engine.risk.trading_state is TradingState.ACTIVE  # an outage is not a bug
        metrics = s.engine.metrics.render()
    assert calls[0] == 10  # two orders, five polls
    assert [l["decision"] for l in lines] == ["failing", "recovered"]
    assert "fetch_order failing: VenueUnavailable: 503" in lines[0]["reason"]
    assert "after 10 failed call(s)" in lines[1]["reason"]
    assert lines[0]["subject"] == "" and first
    assert 'ordergate_venue_error_episodes_total{operation="fetch_order",venue="sim"} 1.0' in metrics


async def test_a_venue_refusing_to_look_up_one_order_is_audited_once_for_that_order(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES) as s:
        unknown = await _rest(s, "unknown-id")
        await _rest(s, "fine")
        _misbehave(s, "fetch_order", unknown, FatalVenueError("-1100 illegal characters in orderId"))
        for _ in range(6):
            await s.advance(1)
    [line] = _lines(s, "venue_error")  # the other order's answers do not end this episode
    assert line["subject"] == unknown and "-1100" in line["reason"]


async def test_an_authentication_failure_disables_the_venue_with_the_reason(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES) as s:
        client_order_id = await _rest(s, "resting")
        _misbehave(s, "fetch_order", client_order_id, AuthenticationFailed("-2015 invalid API key"))
        await s.advance(1)
        refused = await s.submit(signal_id="after")
    assert refused.code is R.VENUE_DISABLED
    assert "authentication failed (fetch_order)" in refused.reason and "-2015" in refused.reason
    [disabled] = _lines(s, "venue_disabled")
    assert disabled["venue"] == "sim"


async def test_a_drift_check_that_can_never_read_open_orders_says_so_once(tmp_path):
    config = {"reconciliation": {"interval_s": 2}}
    async with Scenario(tmp_path, quotes=QUOTES, config=config) as s:
        _misbehave(s, "fetch_open_orders", None, VenueUnavailable("timeout"))
        for _ in range(10):
            await s.advance(1)
    [line] = _lines(s, "venue_error")
    assert line["operation"] == "fetch_open_orders" and line["decision"] == "failing"


async def test_a_failed_instrument_refresh_is_audited_and_the_old_rules_kept(tmp_path):
    async with Scenario(tmp_path) as s:
        rules = s.engine.market.instruments["sim"]
        _misbehave(s, "load_instruments", None, VenueUnavailable("exchangeInfo 502"))
        await s.engine._refresh_instruments("sim")
        await s.engine._refresh_instruments("sim")
        assert s.engine.market.instruments["sim"] is rules
    [line] = _lines(s, "venue_error")
    assert line["operation"] == "load_instruments" and "502" in line["reason"]


# ---------------------------------------------------------------- a refused cancel


async def test_a_refused_cancel_returns_the_order_to_working_and_is_not_resent_every_poll(tmp_path):
    config = {"reconciler": {"fill_timeout_s": 5, "poll_interval_s": 1}}
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42001", "5")], config=config) as s:
        client_order_id = await _rest(s, "resting")
        s.venue.faults.inject("cancel", Fault.REJECT)
        cancels = _misbehave(s, "cancel_order", client_order_id, lambda report: report)
        for _ in range(9):  # the timeout passes at 5 s: one cancel, refused
            await s.advance(1)
        order = s.engine.ledger.get(client_order_id)
        assert order is not None and order.status is S.ACCEPTED
        assert cancels[0] == 1
        await s.advance(2)  # the next timeout: asked again, and this time it works
        assert order.status is S.CANCELLED
    transitions = [(l["from_status"], l["decision"]) for l in _lines(s, "order_transition")]
    assert transitions[-3:] == [("CANCEL_PENDING", "ACCEPTED"), ("ACCEPTED", "CANCEL_PENDING"),
                                ("CANCEL_PENDING", "CANCELLED")]
    refused = [l["reason"] for l in _lines(s, "order_transition") if l["from_status"] == "CANCEL_PENDING"
               and l["decision"] == "ACCEPTED"]
    assert "cancel refused by the venue (OrderRejected: simulated: cancel" in refused[0]


@pytest.mark.parametrize("operation", ["fetch_order", "cancel_order"])
async def test_an_order_the_venue_rejects_after_accepting_never_raises_out_of_a_cancel(tmp_path, operation):
    config = {"reconciler": {"fill_timeout_s": 2}}
    async with Scenario(tmp_path, quotes=[quote(0, "42000", "42001", "5")], config=config) as s:
        client_order_id = await _rest(s, "resting")
        _misbehave(s, operation, client_order_id,
                   lambda report: dataclasses.replace(report, status=S.REJECTED))
        for _ in range(4):
            await s.advance(1)
    assert [l["decision"] for l in _lines(s, "reconciliation_drift")] == ["illegal_transition"]
    assert _lines(s, "system_error") == []


def test_the_orders_rejected_error_is_not_a_transport_error():
    assert not OrderRejected("x").retryable  # a refused cancel is an answer, not an outage


# ---------------------------------------------------------------- the audit before a send


async def test_a_decisions_audit_lines_are_on_disk_before_its_request_leaves(tmp_path):
    # A kill during the send must not leave an order (committed) whose reception and
    # verdicts were still in the audit buffer.
    async with Scenario(tmp_path) as s:
        on_disk: list[list[tuple[str, str | None]]] = []
        real = s.venue.place_order

        async def place(request: Any) -> Any:
            text = (tmp_path / "audit.jsonl").read_text()  # what a kill right now would leave
            on_disk.append([(l["event"], l.get("handler") or l.get("decision"))
                            for l in map(json.loads, text.splitlines()) if l["signal_id"] == "s-1"])
            return await real(request)

        s.venue.place_order = place  # type: ignore[method-assign]
        assert (await s.submit(signal_id="s-1")).admitted
    assert on_disk == [[("signal_received", "received"), ("handler_verdict", "validator"),
                        ("handler_verdict", "risk"), ("order_transition", "SUBMITTED")]]
