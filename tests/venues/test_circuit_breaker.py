"""Spec: the per-venue circuit breaker opens after N consecutive transport failures,
refuses at once while open, lets exactly one trial call through after the recovery
timeout, and reports every transition in order."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from ordergate.clock import SimulatedClock
from ordergate.venues.base import FatalVenueError, OrderNotFound, RetryableVenueError, VenueError
from ordergate.venues.circuit_breaker import (
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def make(threshold=5, timeout=60.0):
    clock = SimulatedClock(T0)
    transitions = []
    breaker = CircuitBreaker(
        "binance", clock, BreakerSettings(failure_threshold=threshold, recovery_timeout_s=timeout),
        on_transition=lambda *args: transitions.append(args))
    return breaker, clock, transitions


def fail(breaker, times=1, reason="VenueUnavailable: 503"):
    for _ in range(times):
        permit = breaker.acquire_permit()
        breaker.record_failure(reason, permit)


def succeed(breaker):
    breaker.record_success(breaker.acquire_permit())


# ------------------------------------------------------------------ unhappy paths first


def test_opens_after_exactly_threshold_consecutive_failures():
    breaker, _, _ = make()
    fail(breaker, 4)
    assert breaker.state is CLOSED and breaker.consecutive_failures == 4
    fail(breaker)
    assert breaker.state is OPEN and breaker.consecutive_failures == 5
    assert breaker.opened_at == T0


def test_a_success_in_between_resets_the_count():
    breaker, _, _ = make()
    fail(breaker, 4)
    succeed(breaker)
    assert breaker.consecutive_failures == 0
    fail(breaker, 4)
    assert breaker.state is CLOSED
    fail(breaker)
    assert breaker.state is OPEN


def test_open_refuses_at_once_naming_venue_times_and_count():
    breaker, clock, _ = make()
    fail(breaker, 5, reason="VenueTimeout: no answer")
    clock.advance(10)
    with pytest.raises(CircuitOpen) as refused:
        breaker.acquire_permit()
    exc = refused.value
    message = str(exc)
    assert "circuit open for binance" in message
    assert f"since {T0.isoformat()}" in message
    assert "after 5 consecutive failures" in message
    assert f"retry after {(T0 + timedelta(seconds=60)).isoformat()}" in message
    assert "VenueTimeout: no answer" in message
    assert exc.venue == "binance" and exc.retry_at == T0 + timedelta(seconds=60)
    with pytest.raises(CircuitOpen):
        breaker.check()


def test_circuit_open_is_fatal_so_the_executor_does_not_retry_it():
    assert issubclass(CircuitOpen, FatalVenueError)
    assert not CircuitOpen.retryable and not CircuitOpen.ambiguous
    # A refusal is never "the venue has no such order": lookups stay "unknown".
    assert not issubclass(CircuitOpen, OrderNotFound)
    assert not issubclass(CircuitOpen, RetryableVenueError)


def test_stays_open_until_the_recovery_timeout_then_lets_exactly_one_trial_through():
    breaker, clock, _ = make()
    fail(breaker, 5)
    clock.advance(59.999)
    with pytest.raises(CircuitOpen):
        breaker.acquire_permit()
    clock.advance(0.001)
    trial = breaker.acquire_permit()
    assert trial.trial and breaker.state is HALF_OPEN
    with pytest.raises(CircuitOpen, match="half-open for binance: a trial call is in flight"):
        breaker.acquire_permit()
    with pytest.raises(CircuitOpen):
        breaker.check()


def test_trial_failure_reopens_with_a_fresh_timeout():
    breaker, clock, transitions = make()
    fail(breaker, 5)
    clock.advance(60)
    trial = breaker.acquire_permit()
    clock.advance(2)
    breaker.record_failure("VenueUnavailable: still down", trial)
    reopened = T0 + timedelta(seconds=62)
    assert breaker.state is OPEN and breaker.opened_at == reopened
    assert breaker.retry_at == reopened + timedelta(seconds=60)
    clock.advance(59)
    with pytest.raises(CircuitOpen):
        breaker.acquire_permit()
    clock.advance(1)
    assert breaker.acquire_permit().trial
    assert [t[2] for t in transitions] == [OPEN, HALF_OPEN, OPEN, HALF_OPEN]


def test_trial_success_closes_and_resets():
    breaker, clock, _ = make()
    fail(breaker, 5)
    clock.advance(60)
    breaker.record_success(breaker.acquire_permit())
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 0 and breaker.opened_at is None
    assert breaker.retry_at is None
    permit = breaker.acquire_permit()
    assert not permit.trial


def test_transitions_are_reported_in_order_with_reason_and_time():
    breaker, clock, transitions = make(threshold=2, timeout=30)
    fail(breaker, 2, reason="VenueUnavailable: 503")
    clock.advance(30)
    trial = breaker.acquire_permit()
    clock.advance(1)
    breaker.record_success(trial)
    assert [(t[0], t[1], t[2], t[4]) for t in transitions] == [
        ("binance", CLOSED, OPEN, T0),
        ("binance", OPEN, HALF_OPEN, T0 + timedelta(seconds=30)),
        ("binance", HALF_OPEN, CLOSED, T0 + timedelta(seconds=31)),
    ]
    assert "2 consecutive failures" in transitions[0][3]
    assert "VenueUnavailable: 503" in transitions[0][3]
    assert "recovery timeout" in transitions[1][3]


def test_a_broken_listener_does_not_break_the_breaker():
    clock = SimulatedClock(T0)

    def explode(*_args):
        raise RuntimeError("listener bug")

    breaker = CircuitBreaker("v", clock, BreakerSettings(failure_threshold=1),
                             on_transition=explode)
    fail(breaker)
    assert breaker.state is OPEN


def test_outcomes_of_calls_admitted_before_the_circuit_opened_are_ignored():
    breaker, clock, _ = make(threshold=2)
    slow = breaker.acquire_permit()        # a slow call, sent while CLOSED
    fail(breaker, 2)
    clock.advance(60)
    trial = breaker.acquire_permit()
    breaker.record_success(slow)           # arrives late: says nothing about now
    assert breaker.state is HALF_OPEN
    breaker.record_failure("late", slow)
    assert breaker.state is HALF_OPEN
    breaker.record_success(trial)
    assert breaker.state is CLOSED


def test_a_released_trial_lets_the_next_call_be_the_trial():
    breaker, clock, transitions = make(threshold=1)
    fail(breaker)
    clock.advance(60)
    trial = breaker.acquire_permit()
    breaker.release(trial)                 # e.g. the caller was cancelled
    assert breaker.state is HALF_OPEN
    again = breaker.acquire_permit()
    assert again.trial
    assert len(transitions) == 2


def test_record_without_permit_applies_to_the_current_state():
    breaker, _, _ = make(threshold=3)
    breaker.record_failure("a")
    breaker.record_failure("b")
    breaker.record_success()
    breaker.record_failure("c")
    assert breaker.consecutive_failures == 1 and breaker.last_failure == "c"


def test_describe_names_the_state():
    breaker, clock, _ = make(threshold=1)
    assert breaker.describe().startswith("circuit closed")
    fail(breaker, reason="VenueTimeout: slow")
    assert "circuit open since" in breaker.describe()
    assert "VenueTimeout: slow" in breaker.describe()
    clock.advance(60)
    breaker.acquire_permit()
    assert breaker.describe().startswith("circuit half-open")


@pytest.mark.parametrize("field,value", [("failure_threshold", 0), ("recovery_timeout_s", 0),
                                         ("unknown", 1)])
def test_settings_refuse_nonsense(field, value):
    with pytest.raises(ValidationError):
        BreakerSettings(**{field: value})


def test_settings_are_frozen_with_documented_defaults():
    settings = BreakerSettings()
    assert settings.failure_threshold == 5 and settings.recovery_timeout_s == 60.0
    with pytest.raises(ValidationError):
        settings.failure_threshold = 3  # type: ignore[misc]


def test_circuit_open_is_a_venue_error():
    assert issubclass(CircuitOpen, VenueError)


def test_a_clock_stepping_back_does_not_stretch_the_recovery_timeout():
    class SteppingClock:
        now_ = T0

        def now(self):
            return self.now_

        async def sleep(self, seconds):
            self.now_ += timedelta(seconds=seconds)

    clock = SteppingClock()
    breaker = CircuitBreaker("v", clock, BreakerSettings(failure_threshold=1))
    breaker.record_failure("VenueUnavailable")
    clock.now_ = T0 + timedelta(seconds=10)
    with pytest.raises(CircuitOpen):
        breaker.acquire_permit()
    clock.now_ = T0 - timedelta(hours=1)             # NTP steps the wall clock back
    with pytest.raises(CircuitOpen):
        breaker.acquire_permit()
    clock.now_ += timedelta(seconds=50)              # 60 s of real time since opening
    assert breaker.acquire_permit().trial
