"""Orders over HTTP: one by client or venue order ID (state, fills, average price, fees
per currency, transitions with reasons), a filtered page of them, and an idempotent
cancel."""

from decimal import Decimal

import httpx

from ordergate.testing.served import READ, TRADE, order


def _resting(served) -> dict:
    """A limit buy inside the price band that does not cross: it rests, ACCEPTED."""
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "rest-1"},
                   json=order(type="limit", price="42000"))
    assert r.status_code == 201, r.text
    return r.json()["order"]


def _filled(served, key: str = "fill-1") -> dict:
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": key},
                   json=order())
    assert r.status_code == 201 and r.json()["order"]["state"] == "FILLED", r.text
    return r.json()["order"]


def test_an_unknown_order_is_404(served):
    for method in ("GET", "DELETE"):
        r = httpx.request(method, f"{served.url}/v1/orders/og-nothing", headers=TRADE)
        assert r.status_code == 404 and r.json()["type"] == "/problems/not-found"


def test_a_bad_state_filter_or_cursor_is_422_naming_it(served):
    assert httpx.get(f"{served.url}/v1/orders?state=shiny", headers=READ).json()["field"] == "state"
    assert httpx.get(f"{served.url}/v1/orders?cursor=zzz", headers=READ).json()["field"] == "cursor"
    assert httpx.get(f"{served.url}/v1/orders?limit=5000", headers=READ).status_code == 422


def test_an_order_by_client_or_venue_order_id_has_fills_fees_and_transitions(served):
    filled = _filled(served)
    by_client = httpx.get(f"{served.url}/v1/orders/{filled['client_order_id']}", headers=READ)
    by_venue = httpx.get(f"{served.url}/v1/orders/{filled['venue_order_id']}", headers=READ)
    assert by_client.status_code == by_venue.status_code == 200
    body = by_client.json()
    assert body == by_venue.json()
    assert body["state"] == "FILLED" and body["finished"] is True
    assert [t["to"] for t in body["transitions"]] == ["SUBMITTED", "FILLED"]
    assert all(t["reason"] for t in body["transitions"])
    fill = body["fills"][0]
    assert body["average_price"] == fill["price"]
    assert body["fees"] == {"USDT": fill["fee"]}
    assert all(isinstance(body[k], str) for k in ("quantity", "filled_quantity", "average_price"))


def test_orders_are_listed_newest_first_filtered_and_paged(served):
    resting = _resting(served)
    filled = [_filled(served, f"page-{i}") for i in range(3)]
    everything = httpx.get(f"{served.url}/v1/orders", headers=READ).json()
    assert [o["client_order_id"] for o in everything["orders"]] == [
        o["client_order_id"] for o in [*reversed(filled), resting]]
    assert everything["next_cursor"] is None
    open_ = httpx.get(f"{served.url}/v1/orders?state=open&symbol=BTC/USDT&account=main",
                      headers=READ).json()["orders"]
    assert [o["client_order_id"] for o in open_] == [resting["client_order_id"]]
    assert httpx.get(f"{served.url}/v1/orders?account=other", headers=READ).json()["orders"] == []
    seen, cursor = [], None
    while True:
        page = httpx.get(f"{served.url}/v1/orders", headers=READ,
                         params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [o["client_order_id"] for o in page["orders"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [o["client_order_id"] for o in everything["orders"]]
    filled_only = httpx.get(f"{served.url}/v1/orders?state=filled", headers=READ).json()
    assert len(filled_only["orders"]) == 3


def test_cancelling_twice_answers_the_cancelled_order_both_times(served):
    resting = _resting(served)
    url = f"{served.url}/v1/orders/{resting['client_order_id']}"
    first = httpx.delete(url, headers=TRADE)
    second = httpx.delete(url, headers=TRADE)
    assert first.status_code == second.status_code == 200
    assert first.json()["state"] == second.json()["state"] == "CANCELLED"
    assert first.json() == second.json()
    reasons = [t["reason"] for t in first.json()["transitions"]]
    assert "cancel requested over HTTP by trader" in reasons


def test_cancelling_a_filled_order_says_so_with_409(served):
    filled = _filled(served)
    r = httpx.delete(f"{served.url}/v1/orders/{filled['client_order_id']}", headers=TRADE)
    assert r.status_code == 409
    body = r.json()
    assert body["type"] == "/problems/order-filled" and body["state"] == "FILLED"


def test_cancel_needs_trade_scope(served):
    resting = _resting(served)
    r = httpx.delete(f"{served.url}/v1/orders/{resting['client_order_id']}", headers=READ)
    assert r.status_code == 403


def test_positions_are_listed_with_money_as_strings(served):
    _filled(served)
    positions = httpx.get(f"{served.url}/v1/positions", headers=READ).json()["positions"]
    assert [(p["account"], p["venue"], p["symbol"]) for p in positions] == [("main", "sim", "BTC/USDT")]
    assert Decimal(positions[0]["quantity"]) == Decimal("0.01")
    assert all(isinstance(positions[0][k], str) for k in ("quantity", "average_entry", "realized_pnl"))
    # derived money: plain decimals to 8 places, never an exponent ("0E-8") for a client to trip on
    for key in ("average_entry", "realized_pnl"):
        whole, _, places = positions[0][key].partition(".")
        assert whole.lstrip("-").isdigit() and len(places) == 8, positions[0][key]


def test_a_position_is_valued_at_the_last_mid_the_engine_saw_with_its_time(served):
    _filled(served)
    [position] = httpx.get(f"{served.url}/v1/positions", headers=READ).json()["positions"]
    mark, entry, held = (Decimal(position[k]) for k in ("mark", "average_entry", "quantity"))
    assert mark > 0 and position["marked_at"] is not None
    assert Decimal(position["unrealized_pnl"]) == ((mark - entry) * held).quantize(Decimal("1E-8"))


def test_before_any_mid_was_seen_a_position_has_no_mark_rather_than_a_made_up_one(served):
    _filled(served)
    served.on_loop(served.engine.market.marks.clear)  # as after a restart: positions, no mid
    [position] = httpx.get(f"{served.url}/v1/positions", headers=READ).json()["positions"]
    assert position["mark"] is None and position["marked_at"] is None
    assert position["unrealized_pnl"] is None and Decimal(position["quantity"]) != 0


def test_a_null_strategy_id_is_the_default_as_every_other_null_optional_field(served):
    # Found by schemathesis: `price: null` was read as "no price", `strategy_id: null`
    # was refused as "not a valid string".
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "null-1"},
                   json=order(strategy_id=None, price=None, stop_loss=None))
    assert r.status_code == 201, r.text
    assert r.json()["order"]["strategy_id"] == "http"


# ---------------------------------------------------------------- post-only


def _post(served, key: str, **fields) -> httpx.Response:
    return httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": key},
                      json=order(**fields))


def test_post_only_that_is_not_a_json_boolean_is_422_naming_it(served):
    for value in ("true", 1, None):
        r = _post(served, f"po-bad-{value}", type="limit", price="42000", post_only=value)
        assert r.status_code == 422 and r.json()["field"] == "post_only", r.text


def test_a_post_only_market_order_is_refused_naming_post_only(served):
    r = _post(served, "po-mkt", post_only=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["admitted"], body["handler"], body["code"]) == (False, "validator",
                                                                 "POST_ONLY_CONFLICT")
    assert body["reason"].startswith("post_only: ") and body["order"] is None


def test_a_post_only_order_that_would_take_ends_rejected_with_its_code_and_shows_post_only(served):
    paid = Decimal(_filled(served, "po-ref")["average_price"])  # at or above the ask
    price = (paid * Decimal("1.01")).quantize(Decimal("0.01"))
    r = _post(served, "po-take", type="limit", price=str(price), post_only=True)
    assert r.status_code == 201, r.text
    cid = r.json()["order"]["client_order_id"]
    view = httpx.get(f"{served.url}/v1/orders/{cid}", headers=READ).json()
    assert (view["state"], view["post_only"], view["filled_quantity"]) == ("REJECTED", True, "0")
    assert view["fills"] == []
    assert view["transitions"][-1]["reason"].startswith("POST_ONLY_WOULD_TAKE: ")


def test_a_resting_post_only_order_shows_post_only_and_a_plain_one_does_not(served):
    r = _post(served, "po-rest", type="limit", price="42000", post_only=True)
    assert r.status_code == 201, r.text
    resting = r.json()["order"]
    assert (resting["state"], resting["post_only"]) == ("ACCEPTED", True)
    plain = httpx.get(f"{served.url}/v1/orders/{_filled(served, 'po-plain')['client_order_id']}",
                      headers=READ).json()
    assert plain["post_only"] is False


# ---------------------------------------------------------------- stop orders


def test_a_trigger_price_that_is_not_an_exact_decimal_is_422_naming_it(served):
    for value in ("4.3e4x", True, "-44000"):
        r = _post(served, f"st-bad-{value}", type="stop_market", trigger_price=value)
        assert r.status_code == 422 and r.json()["field"] == "trigger_price", r.text


def test_a_stop_without_its_trigger_is_refused_naming_trigger_price(served):
    r = _post(served, "st-none", type="stop_market")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["admitted"], body["handler"], body["code"]) == (False, "validator",
                                                                 "MISSING_TRIGGER_PRICE")
    assert body["reason"].startswith("trigger_price: ") and body["order"] is None


def test_a_buy_stop_below_the_market_is_refused_as_on_the_wrong_side(served):
    r = _post(served, "st-low", type="stop_market", trigger_price="41000")
    body = r.json()
    assert (body["admitted"], body["handler"], body["code"]) == (False, "risk",
                                                                 "TRIGGER_WRONG_SIDE")
    assert body["reason"].startswith("trigger_price: 41000 must be above the reference price")


def test_a_resting_stop_shows_its_type_and_trigger_and_a_plain_order_none(served):
    r = _post(served, "st-rest", type="stop_limit", trigger_price="44000", price="44100")
    assert r.status_code == 201, r.text
    placed = r.json()["order"]
    view = httpx.get(f"{served.url}/v1/orders/{placed['client_order_id']}", headers=READ).json()
    for shown in (placed, view):
        assert (shown["state"], shown["type"], shown["trigger_price"], shown["price"],
                shown["filled_quantity"]) == ("ACCEPTED", "stop_limit", "44000.00", "44100.00", "0")
    plain = httpx.get(f"{served.url}/v1/orders/{_filled(served, 'st-plain')['client_order_id']}",
                      headers=READ).json()
    assert plain["trigger_price"] is None
    cancelled = httpx.delete(f"{served.url}/v1/orders/{placed['client_order_id']}", headers=TRADE)
    assert cancelled.status_code in (200, 202), cancelled.text


def test_deleting_a_twap_parent_cancels_it_as_a_whole(served):
    from ordergate.pipeline.client_order_id import client_order_id_for
    from ordergate.testing.served import signal
    body = signal("twap-1", algorithm={"name": "twap", "duration_s": 3600, "slices": 4})
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=body)
    assert r.status_code == 201 and r.json()["admitted"], r.text
    parent = client_order_id_for(body["strategy_id"], body["account_id"], "twap-1")
    assert r.json()["parent"]["parent_id"] == parent and r.json()["order"] is None
    first = httpx.delete(f"{served.url}/v1/orders/{parent}", headers=TRADE)
    again = httpx.delete(f"{served.url}/v1/orders/{parent}", headers=TRADE)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json() == {"parent_id": parent, "kind": "twap",
                                             "status": "cancelled"}


def test_a_protected_direct_order_is_a_bracket_its_exits_shown_as_its_children(served):
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "br-direct"},
                   json=order(stop_loss="1000", take_profit="1000000", protect=True))
    assert r.status_code == 201, r.text
    entry = r.json()["order"]
    assert entry["state"] == "FILLED" and entry["role"] == "primary"
    view = httpx.get(f"{served.url}/v1/orders/{entry['client_order_id']}", headers=READ).json()
    children = {c["role"]: c for c in view["children"]}
    assert set(children) == {"stop_loss", "take_profit"}
    assert all(c["state"] == "ACCEPTED" for c in children.values())


def test_protect_on_a_direct_order_must_be_a_json_boolean_and_needs_an_exit(served):
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "br-bad"},
                   json=order(protect="yes", stop_loss="1000"))
    assert r.status_code == 422 and r.json()["field"] == "protect", r.text
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "br-none"},
                   json=order(protect=True))
    assert r.status_code == 200 and r.json()["code"] == "PROTECT_WITHOUT_EXITS", r.text


def test_a_twap_signal_is_answered_with_its_parent_and_the_parent_lists_its_slices(served):
    from ordergate.pipeline.client_order_id import client_order_id_for
    from ordergate.testing.served import signal
    body = signal("twap-2", quantity="0.04",
                  algorithm={"name": "twap", "duration_s": 3600, "slices": 4})
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=body)
    assert r.status_code == 201, r.text
    answer = r.json()
    parent_id = client_order_id_for(body["strategy_id"], body["account_id"], "twap-2")
    assert (answer["client_order_id"], answer["order"]) == (None, None)
    # the answer says what happens, not that there was "no order to follow"
    assert answer["reason"] == ("no order yet: the twap sends its child orders on its "
                                "schedule, each followed as it is sent")
    parent = answer["parent"]
    assert (parent["parent_id"], parent["kind"], parent["status"]) == (parent_id, "twap", "active")
    assert [s[1] for s in parent["spec"]["slices"]] == ["0.0100"] * 4  # the whole schedule
    (first,) = parent["children"]  # slice 0 went at once; the rest wait for their time
    assert (first["role"], first["leg"], first["state"], first["filled_quantity"]) == (
        "slice", 0, "FILLED", "0.0100")
    again = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=body)
    assert again.json() == answer  # the first answer, replayed
    shown = httpx.get(f"{served.url}/v1/parents/{parent_id}", headers=READ)
    assert shown.status_code == 200 and shown.json()["children"] == parent["children"]
    missing = httpx.get(f"{served.url}/v1/parents/og-nothing", headers=READ)
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"


def test_a_brackets_parent_names_its_exit_legs(served):
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "br-parent"},
                   json=order(stop_loss="1000", take_profit="1000000", protect=True))
    entry = r.json()["order"]["client_order_id"]
    parent = httpx.get(f"{served.url}/v1/parents/{entry}", headers=READ).json()
    assert (parent["kind"], parent["status"], parent["spec"]) == (
        "bracket", "active", {"stop_loss": "1000", "take_profit": "1000000"})
    assert sorted(c["role"] for c in parent["children"]) == ["stop_loss", "take_profit"]
