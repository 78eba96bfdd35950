"""`POST /v1/signals`: a signal through the chain; the answer is its verdict, and the
signal ID is the intent key: posting it again replays the first answer, creating nothing."""

import asyncio

import httpx

from ordergate.testing.served import ADMIN, READ, TRADE, signal


def _venue_orders(served) -> dict[str, int]:
    return dict(served.engine.venue_orders_per_client_id())


def test_a_signal_with_a_new_id_but_reused_contents_elsewhere_is_judged_on_its_own(served):
    a = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("a"))
    b = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("b"))
    assert a.status_code == b.status_code == 201
    assert a.json()["client_order_id"] != b.json()["client_order_id"]


def test_the_same_id_with_different_contents_is_422_and_sends_nothing(served):
    first = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("s-1"))
    again = httpx.post(f"{served.url}/v1/signals", headers=TRADE,
                       json=signal("s-1", quantity="0.02"))
    assert first.status_code == 201
    assert again.status_code == 422
    assert again.json()["type"] == "/problems/signal-id-reused"
    assert list(_venue_orders(served).values()) == [1]


def test_a_refusal_is_200_with_handler_reason_code_and_reason(served):
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE,
                   json=signal("far-1", order_type="limit", limit_price="30000"))
    assert r.status_code == 200
    body = r.json()
    assert body["admitted"] is False and body["handler"] == "risk"
    assert body["code"] == "PRICE_BAND" and "band" in body["reason"]
    assert body["client_order_id"] is None and body["order"] is None


def test_an_admitted_signal_is_201_with_its_client_order_id_and_order_state(served):
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("m-1"))
    assert r.status_code == 201
    body = r.json()
    assert body["admitted"] is True and body["code"] is None
    order = body["order"]
    assert order["client_order_id"] == body["client_order_id"]
    assert r.headers["location"] == f"/v1/orders/{body['client_order_id']}"
    assert order["state"] == "FILLED" and order["filled_quantity"] == "0.0100"
    assert isinstance(order["average_price"], str) and set(order["fees"]) == {"USDT"}


def test_posting_a_signal_again_replays_the_first_answer_even_after_the_world_changed(served):
    first = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("m-1"))
    httpx.post(f"{served.url}/v1/trading-state", headers=ADMIN,
               json={"state": "HALTED", "reason": "replay test"})
    again = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("m-1"))
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert list(_venue_orders(served).values()) == [1]
    # and a refusal replays as a refusal: the HALTED verdict, not a new one once ACTIVE
    halted = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("m-2"))
    assert halted.json()["code"] == "TRADING_HALTED"
    httpx.post(f"{served.url}/v1/trading-state", headers=ADMIN,
               json={"state": "ACTIVE", "reason": "back"})
    assert httpx.post(f"{served.url}/v1/signals", headers=TRADE,
                      json=signal("m-2")).json() == halted.json()


def test_a_signal_already_sent_from_the_signal_file_answers_with_its_order(served):
    from ordergate.domain.signal import parse_signal_mapping

    async def submit():
        async with asyncio.timeout(10):
            await served.engine.submit(parse_signal_mapping(signal("file-1")))

    future = asyncio.run_coroutine_threadsafe(submit(), served.loop)
    future.result(timeout=10)
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("file-1"))
    assert r.status_code == 200
    body = r.json()
    assert body["admitted"] is False and body["code"] == "DUPLICATE_SIGNAL"
    assert body["order"]["state"] == "FILLED"
    assert list(_venue_orders(served).values()) == [1]


async def test_concurrent_posts_of_one_signal_make_one_order(served):
    place = served.engine.venues["sim"].place_order

    async def slow_place(request):
        await asyncio.sleep(0.3)  # the first is still in flight when the others arrive
        return await place(request)

    served.on_loop(lambda: setattr(served.engine.venues["sim"], "place_order", slow_place))
    async with httpx.AsyncClient(base_url=served.url, headers=TRADE, timeout=20) as client:
        answers = await asyncio.gather(*(client.post("/v1/signals", json=signal("race-1"))
                                         for _ in range(20)))
    codes = sorted(r.status_code for r in answers)
    firsts = [r for r in answers if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    assert len(firsts) == 1 and set(codes) <= {201, 409}  # a late one may get the replay
    assert all(r.json()["type"] == "/problems/idempotency-key-in-use"
               for r in answers if r.status_code == 409)
    assert list(_venue_orders(served).values()) == [1]
    r = httpx.get(f"{served.url}/v1/orders", headers=READ)
    assert len(r.json()["orders"]) == 1


def test_a_protected_signals_entry_shows_its_exits_and_each_exit_its_lineage(served):
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("br-1", protect=True))
    assert r.status_code == 201, r.text
    entry = r.json()["order"]
    assert (entry["parent_id"], entry["role"], entry["leg"], entry["reduce_only"]) == (
        None, "primary", 0, False)
    view = httpx.get(f"{served.url}/v1/orders/{entry['client_order_id']}", headers=READ).json()
    children = {c["role"]: c for c in view["children"]}
    assert set(children) == {"stop_loss", "take_profit"}
    assert all((c["leg"], c["state"]) == (1, "ACCEPTED") for c in children.values())
    stop = httpx.get(f"{served.url}/v1/orders/{children['stop_loss']['client_order_id']}",
                     headers=READ).json()
    assert (stop["parent_id"], stop["role"], stop["leg"], stop["reduce_only"]) == (
        entry["client_order_id"], "stop_loss", 1, True)
    assert (stop["type"], stop["side"], stop["quantity"]) == ("stop_market", "sell", "0.0100")
    assert stop["children"] == []
