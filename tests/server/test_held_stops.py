"""Held (emulated) stops over HTTP: an open order with state HELD, its type and trigger,
listed among the open orders; DELETE cancels it locally (no venue call), final."""

from __future__ import annotations

import httpx
import pytest

from ordergate.config import load_config
from ordergate.testing.served import READ, TRADE, Served, order, start, write_config


@pytest.fixture
def emulating(tmp_path):
    config = load_config(write_config(tmp_path))
    config = config.model_copy(update={"venues": {
        "sim": config.venues["sim"].model_copy(update={"stops": "emulated"})}})
    server = start(tmp_path, config)
    try:
        yield server
    finally:
        server.close()


def test_a_held_stop_is_open_shows_held_and_is_cancelled_locally(emulating: Served) -> None:
    r = httpx.post(f"{emulating.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "held-1"},
                   json=order(type="stop_limit", trigger_price="44000", price="44100"))
    assert r.status_code == 201, r.text
    placed = r.json()["order"]
    assert (placed["state"], placed["type"], placed["trigger_price"], placed["venue_order_id"]) \
        == ("HELD", "stop_limit", "44000.00", None)
    open_ = httpx.get(f"{emulating.url}/v1/orders?state=open", headers=READ).json()["orders"]
    assert [o["client_order_id"] for o in open_] == [placed["client_order_id"]]
    cancelled = httpx.delete(f"{emulating.url}/v1/orders/{placed['client_order_id']}",
                             headers=TRADE)
    assert cancelled.status_code == 200, cancelled.text
    view = httpx.get(f"{emulating.url}/v1/orders/{placed['client_order_id']}", headers=READ).json()
    assert view["state"] == "CANCELLED" and view["finished"] is True
    assert [t["to"] for t in view["transitions"]] == ["HELD", "CANCELLED"]
    assert emulating.engine.venue_orders_per_client_id() == {}  # the venue never had it
