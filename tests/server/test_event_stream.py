"""`GET /v1/events`: the engine's audit lines, live, as Server-Sent Events, over real HTTP.

Each line is an event whose `id:` is its sequence number and whose `data:` is the line as
the audit file has it. A client that reconnects with `Last-Event-ID` gets the next line
on, no gap and no duplicate, while it is retained; one asking for lines no longer kept is
told so (`event: gap`). A client that falls behind is told so (`event: overflow`) and
disconnected, and the engine never waits for it. Stopping the server ends open streams
(`event: shutdown`) instead of waiting for them."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ordergate.domain.signal import SignalParseError
from ordergate.testing.served import ADMIN, READ, TRADE, Served, signal, start, write_config

STREAM_TIMEOUT = httpx.Timeout(10.0)


def sse(response: httpx.Response) -> Iterator[dict[str, str]]:
    """The events of a stream as dicts of their fields; a comment as {"comment": text}."""
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            event[name] = value[1:] if value.startswith(" ") else value


def read_until(events: Iterator[dict[str, str]], done: Any) -> list[dict[str, str]]:
    got = []
    for event in events:
        if "comment" in event:
            continue
        got.append(event)
        if done(event):
            return got
    raise AssertionError(f"the stream ended after {len(got)} events")


def finished(signal_id: str) -> Any:
    """The last line of a signal's decision: the reconciler's verdict (or a refusal)."""
    def test(event: dict[str, str]) -> bool:
        if "data" not in event or "event" in event:
            return False
        record = json.loads(event["data"])
        return (record["event"] == "handler_verdict" and record["signal_id"] == signal_id
                and (record["handler"] == "reconciler" or record["decision"] == "deny"))
    return test


def post(served: Served, signal_id: str, **extra: object) -> httpx.Response:
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal(signal_id, **extra),
                   timeout=10)
    assert r.status_code in (200, 201), r.text
    return r


def audit_lines(served: Served) -> list[str]:
    served.on_loop(served.engine.audit.flush)
    return (served.tmp / "audit.jsonl").read_text().splitlines()


def assert_a_slice_of_the_audit_file(served: Served, events: list[dict[str, str]]) -> None:
    """Consecutive IDs, and the lines exactly as the audit file has them, in its order."""
    ids = [int(e["id"]) for e in events]
    assert ids == list(range(ids[0], ids[0] + len(ids))), ids
    lines, streamed = audit_lines(served), [e["data"] for e in events]
    start_at = lines.index(streamed[0])
    assert lines[start_at:start_at + len(streamed)] == streamed


def serve_with(tmp_path, **events: object) -> Served:
    table = ", ".join(f"{k} = {v}" for k, v in events.items())
    return start(tmp_path, write_config(tmp_path, server=f"events = {{ {table} }}"))


@pytest.fixture
def small(tmp_path) -> Iterator[Served]:
    served = serve_with(tmp_path, retention=30, heartbeat_s=0.2)
    try:
        yield served
    finally:
        served.close()


def metric(served: Served, name: str) -> float:
    text = httpx.get(f"{served.url}/metrics", headers=READ).text
    return float(next(l.split()[-1] for l in text.splitlines() if l.startswith(name + " ")))


# -- refused before any stream starts --------------------------------------------------

def test_no_token_or_an_unknown_one_is_401_and_any_scope_may_read(served):
    assert httpx.get(f"{served.url}/v1/events").status_code == 401
    wrong = httpx.get(f"{served.url}/v1/events", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    for headers in (READ, TRADE, ADMIN):
        with httpx.stream("GET", f"{served.url}/v1/events", headers=headers) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")


@pytest.mark.parametrize(("query", "header", "field"), [
    ("", "twelve", "Last-Event-ID"),
    ("", "-5", "Last-Event-ID"),
    ("?event=fills", None, "event"),
    ("?acount=main", None, "acount"),
    ("?symbol=", None, "symbol"),
    ("?symbol=,", None, "symbol"),
])
def test_a_bad_filter_or_last_event_id_is_a_422_naming_it(served, query, header, field):
    headers = {**READ, **({"Last-Event-ID": header} if header else {})}
    r = httpx.get(f"{served.url}/v1/events{query}", headers=headers)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field


def test_the_openapi_document_describes_the_stream_as_text_event_stream(served):
    doc = httpx.get(f"{served.url}/openapi.json")
    assert doc.status_code == 200
    assert list(doc.json()["paths"]["/v1/events"]["get"]["responses"]["200"]["content"]) == [
        "text/event-stream"]


# -- a resume that cannot be exact says so ---------------------------------------------

def test_a_last_event_id_no_longer_retained_gets_a_gap_notice_then_the_oldest_kept(small):
    with httpx.stream("GET", f"{small.url}/v1/events", headers=READ,
                      timeout=STREAM_TIMEOUT) as r:
        events = sse(r)
        post(small, "g-1")
        first = read_until(events, finished("g-1"))
    for n in range(2, 6):  # well past the 30 lines retained
        post(small, f"g-{n}")
    asked = int(first[0]["id"])
    with httpx.stream("GET", f"{small.url}/v1/events", timeout=STREAM_TIMEOUT,
                      headers={**READ, "Last-Event-ID": str(asked)}) as r:
        events = sse(r)
        gap = next(events)
        assert gap["event"] == "gap"
        notice = json.loads(gap["data"])
        assert notice["last_event_id"] == asked and notice["event"] == "gap"
        assert notice["missed"] == notice["next_id"] - asked - 1 > 0
        assert int(gap["id"]) == notice["next_id"] - 1  # a reconnect from here: no gap again
        rest = read_until(events, finished("g-5"))
    assert int(rest[0]["id"]) == notice["next_id"]
    assert len(rest) == 30
    assert_a_slice_of_the_audit_file(small, rest)


def test_a_last_event_id_of_an_earlier_run_is_a_gap_with_the_count_unknown(small):
    post(small, "r-1")
    with httpx.stream("GET", f"{small.url}/v1/events", timeout=STREAM_TIMEOUT,
                      headers={**READ, "Last-Event-ID": "17"}) as r:
        gap = next(sse(r))
    notice = json.loads(gap["data"])
    assert gap["event"] == "gap" and notice["last_event_id"] == 17 and notice["missed"] is None


def flood(served: Served, n: int, size: int = 10_000) -> None:
    """`n` long audit lines (invalid signals, made on the engine's loop: no HTTP round
    trip each), in decisions of a few lines, as a busy engine writes them."""
    def some() -> None:
        for _ in range(5):
            served.engine.reject_invalid(SignalParseError("quantity", "x" * size, "flood"))
    for _ in range(n // 5):
        served.on_loop(some)


def test_a_slow_client_is_told_it_overflowed_and_disconnected_while_the_engine_goes_on(tmp_path):
    served = serve_with(tmp_path, client_buffer=20)
    fast_got: list[dict[str, str]] = []
    try:
        with httpx.Client(timeout=STREAM_TIMEOUT) as client, \
                client.stream("GET", f"{served.url}/v1/events", headers=READ) as slow, \
                client.stream("GET", f"{served.url}/v1/events", headers=READ) as fast:
            assert slow.status_code == fast.status_code == 200
            reader = threading.Thread(target=lambda: fast_got.extend(
                read_until(sse(fast), finished("after-overflow"))), daemon=True)
            reader.start()
            # The slow client reads nothing: once the few MB the kernel holds for it are
            # full, its stream cannot send, and it falls behind the engine.
            for _ in range(100):
                flood(served, 50)
                if metric(served, "ordergate_event_stream_overflows_total"):
                    break
            else:
                raise AssertionError("the slow client never overflowed")
            began = time.monotonic()
            assert post(served, "after-overflow").status_code == 201
            assert time.monotonic() - began < 1.0  # a stuck stream does not hold it up
            reader.join(timeout=30)
            events = [e for e in sse(slow) if "comment" not in e]  # it ends: disconnected
        *lines, overflow = events
        assert overflow["event"] == "overflow" and all("event" not in e for e in lines)
        notice = json.loads(overflow["data"])
        assert notice["last_event_id"] == int(overflow["id"]) == int(lines[-1]["id"])
        assert_a_slice_of_the_audit_file(served, lines)
        # The client that kept up got everything, the slow one's overflow did not touch it.
        assert not any("event" in e for e in fast_got)
        assert_a_slice_of_the_audit_file(served, fast_got)
        assert int(fast_got[0]["id"]) == int(lines[0]["id"])
        deadline = time.monotonic() + 5
        while metric(served, "ordergate_event_stream_clients") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metric(served, "ordergate_event_stream_clients") == 0
    finally:
        served.close()


# -- the stream ------------------------------------------------------------------------

def test_an_admitted_signal_streams_its_verdicts_transitions_fill_and_position(served):
    with httpx.stream("GET", f"{served.url}/v1/events", headers=READ,
                      timeout=STREAM_TIMEOUT) as r:
        events = sse(r)
        answer = post(served, "live-1").json()
        got = read_until(events, finished("live-1"))
    records = [json.loads(e["data"]) for e in got]
    assert [(x["event"], x["handler"] or x["decision"]) for x in records] == [
        ("signal_received", "received"), ("handler_verdict", "validator"),
        ("handler_verdict", "risk"), ("order_transition", "SUBMITTED"),
        ("handler_verdict", "executor"), ("order_transition", "FILLED"), ("fill", "fill"),
        ("position_opened", "opened"), ("handler_verdict", "reconciler")]
    assert records[6]["client_order_id"] == answer["client_order_id"]
    assert records[6]["price"] == "43016.59"  # money as strings, as the file has it
    assert_a_slice_of_the_audit_file(served, got)


def test_a_client_that_reconnects_with_last_event_id_gets_the_rest_no_gap_no_duplicate(served):
    with httpx.stream("GET", f"{served.url}/v1/events", headers=READ,
                      timeout=STREAM_TIMEOUT) as r:
        events = sse(r)
        post(served, "resume-1")
        before = [next(events) for _ in range(4)]  # then the connection drops mid-decision
    post(served, "resume-2")  # while the client is away
    with httpx.stream("GET", f"{served.url}/v1/events", timeout=STREAM_TIMEOUT,
                      headers={**READ, "Last-Event-ID": before[-1]["id"]}) as r:
        after = read_until(sse(r), finished("resume-2"))
    both = before + after
    assert_a_slice_of_the_audit_file(served, both)
    signals = [json.loads(e["data"])["signal_id"] for e in both]
    assert signals[0] == "resume-1" and signals[-1] == "resume-2"
    assert signals.count("resume-1") == 8  # its nine lines less the position line's null


def test_filters_by_symbol_account_and_event_keep_an_orders_whole_story(served):
    url = f"{served.url}/v1/events"
    with httpx.stream("GET", f"{url}?symbol=ETH/USDT", headers=READ,
                      timeout=STREAM_TIMEOUT) as eth, \
            httpx.stream("GET", f"{url}?event=fill&event=position_opened,trading_state",
                         headers=READ, timeout=STREAM_TIMEOUT) as kinds, \
            httpx.stream("GET", f"{url}?account=other&symbol=BTC/USDT,SOL/USDT",
                         headers=READ, timeout=STREAM_TIMEOUT) as other:
        post(served, "f-btc")
        post(served, "f-eth", symbol="ETH/USDT", quantity="0.1")
        post(served, "f-other", account_id="other")  # the venue rejects it: no funds there
        eth_events = read_until(sse(eth), finished("f-eth"))
        kind_events = read_until(sse(kinds), lambda e: "ETH/USDT" in e["data"]
                                 and json.loads(e["data"])["event"] == "position_opened")
        other_events = read_until(sse(other), finished("f-other"))
    eth_records = [json.loads(e["data"]) for e in eth_events]
    assert {x["signal_id"] for x in eth_records} - {None} == {"f-eth"}
    assert len(eth_records) == 9  # the verdicts and transitions too, not only the fill
    assert [json.loads(e["data"])["event"] for e in kind_events] == [
        "fill", "position_opened"] * 2
    assert {json.loads(e["data"])["signal_id"] for e in other_events} - {None} == {"f-other"}
    ids = [int(e["id"]) for e in eth_events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # filtered: increasing, not dense


def test_an_idle_stream_gets_keepalive_comments(small):
    with httpx.stream("GET", f"{small.url}/v1/events", headers=READ,
                      timeout=STREAM_TIMEOUT) as r:
        assert next(sse(r)) == {"comment": "keepalive"}


def test_the_client_gauge_counts_open_streams(served):
    assert metric(served, "ordergate_event_stream_clients") == 0
    with httpx.stream("GET", f"{served.url}/v1/events", headers=READ) as r:
        assert r.status_code == 200
        assert metric(served, "ordergate_event_stream_clients") == 1
    deadline = time.monotonic() + 5
    while metric(served, "ordergate_event_stream_clients") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric(served, "ordergate_event_stream_clients") == 0


# -- stopping --------------------------------------------------------------------------

def test_stopping_the_server_ends_open_streams_with_a_notice_and_does_not_wait_for_them(served):
    got: list[dict[str, str]] = []
    with httpx.stream("GET", f"{served.url}/v1/events", headers=READ,
                      timeout=STREAM_TIMEOUT) as r:
        post(served, "stop-1")
        reader = threading.Thread(target=lambda: got.extend(sse(r)), daemon=True)
        reader.start()
        began = time.monotonic()
        served.close()  # asserts the server thread ended
        took = time.monotonic() - began
        reader.join(timeout=5)
    assert not reader.is_alive() and took < 5, took  # the graceful-shutdown grace is 10 s
    data = [e for e in got if "data" in e]
    assert data[-1]["event"] == "shutdown"
    assert json.loads(data[-1]["data"])["last_event_id"] == int(data[-2]["id"])
    assert any(finished("stop-1")(e) for e in data)
