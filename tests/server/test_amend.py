"""`PATCH /v1/orders/{id}`: amend over real HTTP, idempotent by its Idempotency-Key."""

import httpx

from ordergate.testing.served import READ, TRADE, order


def _resting(served, key: str) -> dict:
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": key},
                   json=order(type="limit", price="42000"))
    assert r.status_code == 201, r.text
    assert r.json()["order"]["state"] == "ACCEPTED"
    return r.json()["order"]


def _patch(served, order_id: str, key: str | None, **body) -> httpx.Response:
    headers = {**TRADE, **({"Idempotency-Key": key} if key else {})}
    return httpx.patch(f"{served.url}/v1/orders/{order_id}", headers=headers, json=body)


def test_without_an_idempotency_key_or_anything_to_change_nothing_is_amended(served):
    resting = _resting(served, "am-1")
    cid = resting["client_order_id"]
    assert _patch(served, cid, None, price="42010").status_code == 400
    empty = _patch(served, cid, "k-empty")
    assert empty.status_code == 422 and empty.json()["field"] == "quantity"
    bad = _patch(served, cid, "k-bad", price="-1")
    assert bad.status_code == 422 and bad.json()["field"] == "price"
    extra = _patch(served, cid, "k-extra", price="42010", side="sell")
    assert extra.status_code == 422 and extra.json()["field"] == "side"
    assert _patch(served, "no-such-order", "k-404", price="1").status_code == 404
    view = httpx.get(f"{served.url}/v1/orders/{cid}", headers=READ).json()
    assert (view["state"], view["price"], view["children"]) == ("ACCEPTED", "42000.00", [])


def test_a_price_amend_answers_with_the_new_leg_and_replays_under_its_key(served):
    resting = _resting(served, "am-2")
    cid = resting["client_order_id"]
    first = _patch(served, cid, "k-1", price="41990")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["amended"] is True and body["code"] is None
    new = body["order"]
    assert (new["role"], new["leg"], new["parent_id"], new["price"], new["state"]) == (
        "amendment", 1, cid, "41990.00", "ACCEPTED")
    again = _patch(served, cid, "k-1", price="41990")
    assert again.json() == body and again.headers["idempotent-replayed"] == "true"
    other = _patch(served, cid, "k-1", price="41980")
    assert other.status_code == 422
    # the old ID still names the order: the lineage's working leg is amended
    second = _patch(served, cid, "k-2", quantity="0.005")
    assert second.json()["amended"] is True and second.json()["order"]["leg"] == 2
    old = httpx.get(f"{served.url}/v1/orders/{cid}", headers=READ).json()
    assert old["state"] == "CANCELLED"
    assert [(c["leg"], c["state"]) for c in old["children"]] == [(1, "CANCELLED"), (2, "ACCEPTED")]


def test_an_amend_of_a_filled_order_says_why_not(served):
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "am-3"},
                   json=order())
    cid = r.json()["client_order_id"]
    answer = _patch(served, cid, "k-3", quantity="0.02").json()
    assert (answer["amended"], answer["code"]) == (False, "AMEND_NOT_WORKING")
    assert answer["order"]["state"] == "FILLED" or answer["order"] is None


def test_a_native_replace_whose_replacement_the_venue_refuses_says_the_order_is_cancelled(served):
    # The simulated venue replaces natively: it cancels the order, then refuses 2.38 BTC at
    # 42000. ordergate's own check passes it (99960 USDT: within the notional cap and the
    # account's 100000); the venue also wants its 0.05% taker fee on top.
    resting = _resting(served, "am-4")
    cid = resting["client_order_id"]
    answer = _patch(served, cid, "k-4", quantity="2.38").json()
    assert (answer["amended"], answer["code"]) == (False, "AMEND_REPLACEMENT_REJECTED")
    old = httpx.get(f"{served.url}/v1/orders/{cid}", headers=READ).json()
    assert old["state"] == "CANCELLED"
    assert [(c["leg"], c["state"]) for c in old["children"]] == [(1, "REJECTED")]
