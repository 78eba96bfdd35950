"""`EventHub`, without HTTP: the arithmetic of IDs, retention, gaps and lag.

IDs are consecutive from the run's first; a resume after N gets N+1 while it is kept, and
otherwise a `Gap` counting what was missed (unknown for an ID that is not of this run). A
client more than `client_buffer` lines behind is ended as `overflow`; a resume's backlog
does not count against it. Lines are tagged with the account and symbol of the signal or
order they belong to, from the journal for an order placed before the hub existed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from ordergate.clock import WallClock
from ordergate.config import EventStreamSettings, load_config
from ordergate.domain.signal import parse_signal_mapping
from ordergate.engine import Engine
from ordergate.server.event_hub import EventHub, Filter, Gap
from ordergate.testing.served import signal, write_config

FIRST = 1000


@pytest.fixture
async def engine(tmp_path) -> AsyncIterator[Engine]:
    engine = Engine(load_config(write_config(tmp_path)), WallClock())
    await engine.start()
    yield engine
    await engine.close()


def hub_of(engine: Engine, **settings: int) -> EventHub:
    return EventHub(engine, EventStreamSettings(**settings), first_id=FIRST)


def lines(n: int, **fields: object) -> tuple[list[str], list[dict[str, object]]]:
    """A batch as the audit log hands it over: each line and the dict it was encoded from."""
    records = [{"event": "venue_error", "n": i, **fields} for i in range(n)]
    return [orjson.dumps(r).decode() for r in records], records


def test_a_resume_within_retention_is_exact_and_ids_are_consecutive(engine):
    hub = hub_of(engine)
    hub.publish(*lines(10))
    sub, gap = hub.open(Filter(), after=FIRST + 4)
    assert gap is None
    assert [e.id for e in hub.take(sub)] == list(range(FIRST + 5, FIRST + 10))
    assert hub.take(sub) == [] and sub.position == hub.position == FIRST + 9


@pytest.mark.parametrize(("after", "missed"), [
    (FIRST + 2, 2),      # this run's, no longer kept: FIRST+3 and FIRST+4 are lost
    (FIRST - 7, None),   # before this run's first ID: an earlier run's
    (FIRST + 50, None),  # never given out
])
def test_a_resume_not_retained_is_a_gap_then_the_oldest_line_kept(engine, after, missed):
    hub = hub_of(engine, retention=5)
    hub.publish(*lines(10))
    sub, gap = hub.open(Filter(), after=after)
    assert gap == Gap(after, FIRST + 5, missed)
    assert [e.id for e in hub.take(sub)] == list(range(FIRST + 5, FIRST + 10))


def test_a_client_more_than_client_buffer_behind_is_ended_as_overflow(engine):
    hub = hub_of(engine, client_buffer=3)
    live, _ = hub.open(Filter(), after=None)
    hub.publish(*lines(3))
    assert live.ended is None
    hub.publish(*lines(1))
    assert live.ended == "overflow" and hub.take(live) == [] and live.position == FIRST - 1
    resuming, _ = hub.open(Filter(), after=FIRST - 1)  # four lines of backlog: allowed
    hub.publish(*lines(3))
    assert resuming.ended is None
    assert len(hub.take(resuming)) == 7


def test_a_client_whose_next_line_left_the_ring_overflows(engine):
    hub = hub_of(engine, retention=5, client_buffer=100)
    sub, _ = hub.open(Filter(), after=None)
    hub.publish(*lines(6))
    assert sub.ended == "overflow"


async def test_lines_are_tagged_with_their_signal_or_orders_account_and_symbol(tmp_path):
    engine = Engine(load_config(write_config(tmp_path)), WallClock())
    await engine.start()
    hub = hub_of(engine)
    outcome = await engine.submit(parse_signal_mapping(signal("tag-1", symbol="ETH/USDT",
                                                              quantity="0.1")))
    await engine.settle()
    assert outcome.order is not None
    order_id = outcome.order.client_order_id
    eth, _ = hub.open(Filter(symbols=frozenset({"ETH/USDT"}),
                             accounts=frozenset({"main"})), after=FIRST - 1)
    kinds = {e.event for e in hub.take(eth)}
    assert {"signal_received", "handler_verdict", "order_transition", "fill"} <= kinds
    await engine.close()
    restarted = Engine(load_config(write_config(tmp_path)), WallClock())  # same journal
    try:
        later = hub_of(restarted)  # never saw the order placed: the journal knows it
        record = {"event": "order_transition", "signal_id": "tag-1", "client_order_id": order_id}
        later.publish([orjson.dumps(record).decode()], [record])
        sub, _ = later.open(Filter(symbols=frozenset({"ETH/USDT"})), after=FIRST - 1)
        assert [e.account for e in later.take(sub)] == ["main"]
    finally:
        await restarted.close()


async def test_stop_ends_every_stream_as_shutdown_and_the_hub_stops_observing(engine):
    stop = asyncio.Event()
    hub = EventHub(engine, EventStreamSettings(), stop, first_id=FIRST)
    sub, _ = hub.open(Filter(), after=None)
    hub.publish(*lines(2))
    stop.set()
    await asyncio.sleep(0)
    assert hub.closed and sub.ended == "shutdown"
    assert len(hub.take(sub)) == 2  # a stopping stream still gets the lines it had coming
    assert hub.publish not in engine.audit.observers
    with pytest.raises(RuntimeError):
        hub.open(Filter(), after=None)
