"""Spec: the event bus isolates failing subscribers, keeps order, and holds receivers."""

import gc
from datetime import UTC, datetime, timedelta

import pytest

from ordergate.bus import EventBus
from ordergate.events import Event
from ordergate.records import record
from ordergate.events import SystemError as SystemErrorEvent

T0 = datetime(2026, 1, 2, tzinfo=UTC)


@record
class Ping(Event):
    n: int = 0


@record
class LoudPing(Ping):
    pass


@record
class Pong(Event):
    n: int = 0


def ping(n=0):
    return Ping(T0 + timedelta(seconds=n), n)


@pytest.fixture
def bus():
    return EventBus()


@pytest.fixture
def errors(bus):
    seen = []
    bus.subscribe(SystemErrorEvent, seen.append)
    return seen


def _boom(event):
    raise ValueError(f"cannot handle {event.n}")


# ---------------------------------------------------------------- failing receivers


def test_raising_receiver_does_not_stop_the_others(bus, errors):
    got_a, got_b = [], []
    bus.subscribe(Ping, got_a.append)
    bus.subscribe(Ping, _boom)
    bus.subscribe(Ping, got_b.append)
    bus.publish(ping(1))
    bus.publish(ping(2))
    assert [e.n for e in got_a] == [1, 2]
    assert [e.n for e in got_b] == [1, 2]
    assert len(errors) == 2


def test_raising_receiver_produces_exactly_one_system_error_naming_source_and_error(bus, errors):
    bus.subscribe(Ping, _boom)
    bus.publish(ping(7))
    assert len(errors) == 1
    (error,) = errors
    assert isinstance(error, SystemErrorEvent)
    assert error.source.endswith("_boom")
    assert error.error == "ValueError: cannot handle 7"
    assert error.event_type == "Ping"
    assert error.ts == ping(7).ts


def test_system_error_source_names_the_owner_of_a_bound_method(bus, errors):
    class Metrics:
        def on_ping(self, event):
            raise KeyError("x")

    bus.subscribe(Ping, Metrics().on_ping)
    bus.publish(ping())
    assert [e.source for e in errors] == ["Metrics.on_ping"]
    assert errors[0].error.startswith("KeyError")


def test_failing_system_error_receiver_does_not_loop(bus):
    calls = []

    def broken(event):
        calls.append(event)
        raise RuntimeError("the error sink itself is broken")

    bus.subscribe(SystemErrorEvent, broken)
    bus.subscribe(Ping, _boom)
    bus.publish(ping())
    assert len(calls) == 1


def test_raising_receiver_of_an_event_without_ts_does_not_stop_the_others(bus):
    got = []
    def refuse(event):
        raise ValueError("no")

    bus.subscribe(str, refuse)
    bus.subscribe(object, got.append)
    bus.publish("plain text event")
    assert got[0] == "plain text event"
    assert [type(e).__name__ for e in got[1:]] == ["SystemError"]


# ---------------------------------------------------------------- holding and routing


def test_lambda_receiver_is_held_strongly_after_garbage_collection(bus):
    got = []
    bus.subscribe(Ping, lambda e: got.append(e.n))
    gc.collect()
    bus.publish(ping(3))
    assert got == [3]


def test_bound_method_of_an_otherwise_unreferenced_object_keeps_receiving(bus):
    got = []

    class Sink:
        def on(self, event):
            got.append(event.n)

    bus.subscribe(Ping, Sink().on)
    gc.collect()
    bus.publish(ping(4))
    assert got == [4]


def test_events_of_other_types_are_not_delivered(bus):
    got = []
    bus.subscribe(Pong, got.append)
    bus.publish(ping())
    assert got == []


def test_event_published_before_anyone_subscribed_is_not_replayed_later(bus):
    bus.publish(ping(1))
    got = []
    bus.subscribe(Ping, got.append)
    bus.publish(ping(2))
    assert [e.n for e in got] == [2]


@pytest.mark.parametrize("base", [Ping, Event, object])
def test_subscribing_to_a_base_class_receives_subclass_events(bus, base):
    got = []
    bus.subscribe(base, got.append)
    loud = LoudPing(T0, 9)
    bus.publish(loud)
    assert got == [loud]


def test_subscribing_after_a_route_was_resolved_takes_effect(bus):
    first, late = [], []
    bus.subscribe(Ping, first.append)
    bus.publish(ping(1))
    bus.subscribe(Event, late.append)
    bus.publish(ping(2))
    assert [e.n for e in first] == [1, 2]
    assert [e.n for e in late] == [2]


def test_object_subscriber_receives_everything_including_system_errors(bus):
    got = []
    bus.subscribe(object, got.append)
    bus.subscribe(Ping, _boom)
    bus.publish(ping())
    assert [type(e) for e in got] == [Ping, SystemErrorEvent]


# ---------------------------------------------------------------- ordering


def test_event_published_during_delivery_is_delivered_after_the_current_one(bus):
    """Whatever order blinker calls receivers in, each sees Ping before the Pong it caused."""
    logs = {name: [] for name in "abc"}

    def make(name):
        def receive(event):
            logs[name].append(type(event).__name__)
            if isinstance(event, Ping) and name == "b":
                bus.publish(Pong(event.ts, event.n))
        return receive

    for name in logs:
        bus.subscribe(Event, make(name))
    bus.publish(ping())
    assert all(log == ["Ping", "Pong"] for log in logs.values()), logs


def test_cascade_of_published_events_keeps_causal_order_for_every_subscriber(bus):
    seen_a, seen_b = [], []

    def relay(event):
        if event.n < 3:
            bus.publish(ping(event.n + 1))

    bus.subscribe(Ping, relay)
    bus.subscribe(Ping, lambda e: seen_a.append(e.n))
    bus.subscribe(Ping, lambda e: seen_b.append(e.n))
    bus.publish(ping(0))
    assert seen_a == seen_b == [0, 1, 2, 3]


def test_system_error_caused_by_an_event_follows_that_event_for_other_subscribers(bus):
    log = []
    bus.subscribe(object, lambda e: log.append(type(e).__name__))
    bus.subscribe(Ping, _boom)
    bus.publish(ping(1))
    bus.publish(Pong(T0))
    assert log == ["Ping", "SystemError", "Pong"]


# ---------------------------------------------------------------- async receivers


async def test_async_receivers_are_awaited_by_drain_in_publication_order(bus):
    done = []

    async def slow(event):
        done.append(event.n)

    bus.subscribe(Ping, slow)
    for n in range(5):
        bus.publish(ping(n))
    assert done == []
    await bus.drain()
    assert done == [0, 1, 2, 3, 4]


async def test_async_receiver_exception_becomes_a_system_error(bus, errors):
    async def failing(event):
        raise RuntimeError(f"async {event.n}")

    bus.subscribe(Ping, failing)
    bus.publish(ping(5))
    assert errors == []
    await bus.drain()
    assert len(errors) == 1
    assert errors[0].error == "RuntimeError: async 5"
    assert errors[0].source.endswith("failing")
    assert errors[0].event_type == "Ping"


async def test_drain_continues_after_a_failing_coroutine(bus, errors):
    done = []

    async def maybe_fail(event):
        if event.n == 1:
            raise ValueError("one")
        done.append(event.n)

    bus.subscribe(Ping, maybe_fail)
    for n in range(3):
        bus.publish(ping(n))
    await bus.drain()
    assert done == [0, 2]
    assert len(errors) == 1


async def test_coroutines_scheduled_while_draining_are_drained_too(bus):
    done = []

    async def first(event):
        done.append(("ping", event.n))
        bus.publish(Pong(event.ts, event.n))

    async def second(event):
        done.append(("pong", event.n))

    bus.subscribe(Ping, first)
    bus.subscribe(Pong, second)
    bus.publish(ping(1))
    await bus.drain()
    assert done == [("ping", 1), ("pong", 1)]


async def test_sync_receivers_are_not_deferred_to_drain(bus):
    got = []
    bus.subscribe(Ping, lambda e: got.append(e.n))
    bus.publish(ping(1))
    assert got == [1]
    await bus.drain()
    assert got == [1]
