"""`POST /v1/orders` with an Idempotency-Key, as draft-ietf-httpapi-idempotency-key-header
asks: 400 without a key, the first answer replayed (an error too), 422 for the key reused
with another payload, 409 while the first is in flight and exactly one order; keys kept
in the journal across a restart, for `server.idempotency_retention_s`."""

import asyncio
import sqlite3
import time

import httpx

from ordergate.server.direct_order import signal_id_for
from ordergate.testing.served import READ, TRADE, order, start, write_config


def _post(served, key, body, headers=TRADE):
    extra = {} if key is None else {"Idempotency-Key": key}
    return httpx.post(f"{served.url}/v1/orders", headers={**headers, **extra}, json=body)


def test_a_missing_key_is_400_and_nothing_is_sent(served):
    r = _post(served, None, order())
    assert r.status_code == 400
    assert r.json()["type"] == "/problems/idempotency-key-missing"
    assert served.engine.venue_orders_per_client_id() == {}


def test_a_malformed_key_is_400(served):
    for key in ("has space", "x" * 256, '""'):
        assert _post(served, key, order()).status_code == 400, key


def test_the_same_key_with_a_different_payload_is_422_and_sends_nothing_more(served):
    assert _post(served, "k-1", order()).status_code == 201
    r = _post(served, "k-1", order(quantity="0.02"))
    assert r.status_code == 422
    assert r.json()["type"] == "/problems/idempotency-key-reused"
    assert list(served.engine.venue_orders_per_client_id().values()) == [1]


def test_an_error_answer_is_replayed_too(served):
    first = _post(served, "bad-1", order(quantity="lots"))
    again = _post(served, "bad-1", order(quantity="lots"))
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"


def test_the_same_key_and_payload_replays_status_and_body(served):
    first = _post(served, "k-1", order())
    again = _post(served, "k-1", {**order()})  # the same payload, another JSON text
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]


def test_keys_are_per_token_so_two_clients_cannot_collide(tmp_path):
    # the admin token may trade too; its key "k-1" is not the trader's "k-1"
    from ordergate.testing.served import ADMIN

    server = start(tmp_path)
    try:
        a = _post(server, "k-1", order())
        b = _post(server, "k-1", order(quantity="0.02"), headers=ADMIN)
        assert a.status_code == b.status_code == 201
        assert a.json()["client_order_id"] != b.json()["client_order_id"]
    finally:
        server.close()


def test_the_client_order_id_derives_from_token_and_key(served):
    r = _post(served, "k-derived", order())
    assert r.json()["signal_id"] == signal_id_for("trader", "k-derived")


async def test_twenty_concurrent_requests_with_one_key_make_one_order(served):
    place = served.engine.venues["sim"].place_order

    async def slow_place(request):
        await asyncio.sleep(0.3)
        return await place(request)

    served.on_loop(lambda: setattr(served.engine.venues["sim"], "place_order", slow_place))
    headers = {**TRADE, "Idempotency-Key": "race-key"}
    async with httpx.AsyncClient(base_url=served.url, headers=headers, timeout=20) as client:
        answers = await asyncio.gather(*(client.post("/v1/orders", json=order())
                                         for _ in range(20)))
    codes = sorted(r.status_code for r in answers)
    firsts = [r for r in answers if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(firsts) == 1 and codes.count(409) >= 1 and set(codes) <= {201, 409}
    conflict = next(r for r in answers if r.status_code == 409)
    assert conflict.headers["content-type"] == "application/problem+json"
    assert conflict.json()["type"] == "/problems/idempotency-key-in-use"
    assert conflict.headers["retry-after"] == "1"
    assert list(served.engine.venue_orders_per_client_id().values()) == [1]
    # once the first has answered, a retry replays it
    r = _post(served, "race-key", order())
    assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"


def test_a_restart_between_the_request_and_its_retry_replays_the_first_answer(tmp_path):
    config = write_config(tmp_path)
    server = start(tmp_path, config)
    try:
        first = _post(server, "k-restart", order())
        failed = _post(server, "k-bad", order(side="sideways"))
    finally:
        server.close()
    server = start(tmp_path, config)
    try:
        again = _post(server, "k-restart", order())
        assert again.status_code == first.status_code == 201
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        assert _post(server, "k-bad", order(side="sideways")).json() == failed.json()
        assert _post(server, "k-restart", order(quantity="0.5")).status_code == 422
        assert server.engine.venue_orders_per_client_id() == {}  # nothing sent since restart
    finally:
        server.close()


def test_an_expired_key_is_purged_and_its_order_is_still_never_sent_twice(tmp_path):
    server = start(tmp_path, write_config(tmp_path, server="idempotency_retention_s = 0.5"))
    try:
        first = _post(server, "k-old", order())
        assert first.status_code == 201
        time.sleep(0.6)
        again = _post(server, "k-old", order())  # a new request now: judged again
        assert "idempotent-replayed" not in again.headers
        body = again.json()
        assert again.status_code == 200 and body["code"] == "DUPLICATE_SIGNAL"
        assert body["order"]["client_order_id"] == first.json()["client_order_id"]
        assert list(server.engine.venue_orders_per_client_id().values()) == [1]
        server.on_loop(server.engine.journal.commit)
        purged: list[int] = []
        server.on_loop(lambda: purged.append(
            server.engine.journal.purge_idempotency_keys(
                server.engine.clock.now())))
        assert purged == [1]  # the second answer, stored anew
    finally:
        server.close()


def test_get_is_never_blocked_by_a_key(served):
    assert httpx.get(f"{served.url}/v1/orders", headers=READ).status_code == 200


def test_a_decisions_last_rows_are_committed_with_its_stored_answer(served):
    """`ordergate_journal_commit_seconds` counts each commit: for a filled order the one
    before the send and the barrier under the stored answer, which carries the decision's
    end too: once the answer is read, a second connection sees the fill and the audit
    file has its line."""
    def commits():
        return served.engine.metrics.registry.get_sample_value(
            "ordergate_journal_commit_seconds_count")

    before = commits()
    r = _post(served, "k-counted", order())
    assert r.status_code == 201 and r.json()["order"]["state"] == "FILLED"
    assert commits() - before == 2
    cid = r.json()["client_order_id"]
    with sqlite3.connect(served.engine.journal.path) as other:
        fills = other.execute("SELECT COUNT(*) FROM fills WHERE client_order_id=?",
                              (cid,)).fetchone()[0]
    assert fills == 1
    fill_lines = [line for line in served.engine.audit.path.read_text().splitlines()
                  if '"event":"fill"' in line and cid in line]
    assert len(fill_lines) == 1  # the lines that explain the answer are written before it
