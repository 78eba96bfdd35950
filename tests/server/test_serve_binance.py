"""`ordergate serve` with the shipped Binance configuration, through ccxt's real binance
class, against the project's Binance emulator: the idempotency rules hold at a real
venue API, counted where it counts (the emulator's orders per client order ID)."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from ordergate.config import load_config
from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY, DEFAULT_API_SECRET, BinanceEmulatorThread,
)
from ordergate.testing.served import start

BINANCE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "binance-testnet.toml"


@pytest.fixture
def binance_served(tmp_path, monkeypatch):
    monkeypatch.setenv("BINANCE_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("BINANCE_API_SECRET", DEFAULT_API_SECRET)
    with BinanceEmulatorThread() as emulator:
        config = load_config(BINANCE_CONFIG, {
            "ORDERGATE__VENUES__BINANCE__API_URL": emulator.base_url,
            "ORDERGATE__JOURNAL__PATH": str(tmp_path / "journal.sqlite"),
            "ORDERGATE__AUDIT__PATH": str(tmp_path / "audit.jsonl"),
            "ORDERGATE__SERVER__PORT": "0",
        })
        server = start(tmp_path, config, environ={})  # loopback, no tokens: the local admin
        try:
            yield server, emulator
        finally:
            server.close()


def _order(**extra):
    return {"symbol": "BTC/USDT", "side": "buy", "type": "market", "quantity": "0.01",
            "account": "main", "venue": "binance", **extra}


async def test_fifty_concurrent_requests_with_one_key_make_one_order_at_binance(binance_served):
    server, emulator = binance_served
    emulator.delay_next("POST", "/api/v3/order", 0.5)  # the first is in flight meanwhile
    headers = {"Idempotency-Key": "bn-race"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
        answers = await asyncio.gather(*(client.post("/v1/orders", json=_order())
                                         for _ in range(50)))
    codes = [r.status_code for r in answers]
    assert set(codes) == {201, 409} and codes.count(201) >= 1
    replays = [r for r in answers if r.status_code == 201]
    assert len({r.json()["client_order_id"] for r in replays}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in replays) == 1
    client_order_id = replays[0].json()["client_order_id"]
    assert emulator.client_order_id_counts() == {client_order_id: 1}
    order = httpx.get(f"{server.url}/v1/orders/{client_order_id}").json()
    assert order["state"] == "FILLED" and order["venue_order_id"]
    by_venue_id = httpx.get(f"{server.url}/v1/orders/{order['venue_order_id']}").json()
    assert by_venue_id["client_order_id"] == client_order_id


def test_a_signal_a_resting_order_and_its_cancel_at_binance(binance_served):
    server, emulator = binance_served
    signal = {"signal_id": "bn-sig-1", "ts": datetime.now(UTC).isoformat(),
              "strategy_id": "http-it", "account_id": "main", "venue": "binance",
              "symbol": "BTC/USDT", "side": "buy", "order_type": "market", "quantity": "0.01"}
    first = httpx.post(f"{server.url}/v1/signals", json=signal)
    again = httpx.post(f"{server.url}/v1/signals", json=signal)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    resting = httpx.post(f"{server.url}/v1/orders", headers={"Idempotency-Key": "bn-rest"},
                         json=_order(type="limit", price="49500.00"))
    assert resting.status_code == 201, resting.text
    assert resting.json()["order"]["state"] == "ACCEPTED"
    url = f"{server.url}/v1/orders/{resting.json()['client_order_id']}"
    cancels = [httpx.delete(url) for _ in range(2)]
    assert [c.status_code for c in cancels] == [200, 200]
    assert cancels[1].json()["state"] == "CANCELLED"
    assert sorted(emulator.client_order_id_counts().values()) == [1, 1]
    health = httpx.get(f"{server.url}/v1/health").json()
    binance = health["venues"]["binance"]
    assert binance["breaker"] == "closed" and binance["last_success_at"] is not None
    assert binance["instruments_loaded"] > 0
    # its request budget, within its bounds (how much of it has refilled since the requests
    # above depends on how long they took: a loaded machine takes over a second, and the
    # bucket is full again; the spending itself is tested in tests/venues)
    budget = binance["rate_limit"]
    assert budget["configured_rate_per_s"] == budget["rate_per_s"] > 0
    assert 0 <= budget["tokens"] <= budget["burst"] and budget["blocked_until"] is None
