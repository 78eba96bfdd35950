"""`GET /v1/health`: venues, journal, kill switch, control loop, without a token and
without calling a venue."""

import time

import httpx

from ordergate.testing.served import ADMIN


def test_health_shows_the_control_loop_ticking(served):
    first = httpx.get(f"{served.url}/v1/health").json()
    time.sleep(1.3)  # poll_interval_s is 1 s
    later = httpx.get(f"{served.url}/v1/health").json()
    assert first["status"] == later["status"] == "ok"
    assert later["control_loop"]["alive"] is True
    assert later["control_loop"]["last_tick_at"] > (first["control_loop"]["last_tick_at"] or "")


def test_health_shows_venues_journal_and_trading_state(served):
    body = httpx.get(f"{served.url}/v1/health").json()
    assert body["journal"] == {"writable": True}
    assert body["trading_state"] == "ACTIVE"
    sim = body["venues"]["sim"]
    assert sim["enabled"] is True and sim["instruments_loaded"] == 3
    assert sim["breaker"] is None  # the simulated venue has no circuit breaker
    assert sim["rate_limit"] is None  # nor a request budget


def test_a_halted_engine_is_still_healthy_it_is_an_operators_choice(served):
    httpx.post(f"{served.url}/v1/trading-state", headers=ADMIN,
               json={"state": "HALTED", "reason": "t"})
    r = httpx.get(f"{served.url}/v1/health")
    assert r.status_code == 200 and r.json()["trading_state"] == "HALTED"


def test_without_a_running_control_loop_health_is_failing(served):
    """(In `serve` a control loop that ends stops the whole server, as it stops `run`; this
    is what health says in the moment between.)"""
    from ordergate.server.health import health_view

    views: list[dict] = []
    served.on_loop(lambda: views.append(health_view(served.engine, None)))
    assert views[0]["status"] == "failing" and views[0]["control_loop"]["alive"] is False
