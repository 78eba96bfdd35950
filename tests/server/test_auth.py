"""Who may do what: bearer tokens from the environment, scopes read < trade < admin."""

import httpx
import pytest

from ordergate.config import load_config
from ordergate.server.auth import is_loopback
from ordergate.server.serve import ServeError
from ordergate.testing.served import ADMIN, READ, TOKENS, TRADE, order, start, write_config


def test_a_request_without_a_token_is_401_with_a_bearer_challenge(served):
    r = httpx.get(f"{served.url}/v1/positions")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["type"] == "/problems/unauthorized"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer", "Basic dXNlcjpwYXNz",
                                    f"Bearer {TOKENS['OG_TEST_READ']}x",
                                    f"Bearer {TOKENS['OG_TEST_READ'][:-1]}"])
def test_an_unknown_or_malformed_token_is_401_and_never_echoed(served, header):
    r = httpx.get(f"{served.url}/v1/orders", headers={"Authorization": header})
    assert r.status_code == 401
    presented = header.partition(" ")[2]
    assert not presented or presented not in r.text


def test_a_token_below_the_scope_needed_is_403_naming_both_scopes(served):
    r = httpx.post(f"{served.url}/v1/orders", headers={**READ, "Idempotency-Key": "k"},
                   json=order())
    assert r.status_code == 403
    assert "'trade'" in r.json()["detail"] and "'read'" in r.json()["detail"]
    r = httpx.post(f"{served.url}/v1/trading-state", headers=TRADE,
                   json={"state": "HALTED", "reason": "x"})
    assert r.status_code == 403


def test_each_scope_allows_the_ones_below_it(served):
    for headers in (READ, TRADE, ADMIN):
        assert httpx.get(f"{served.url}/v1/positions", headers=headers).status_code == 200
    for headers in (TRADE, ADMIN):
        assert httpx.get(f"{served.url}/v1/orders", headers=headers).status_code == 200


def test_health_needs_no_token_and_metrics_needs_read(served):
    assert httpx.get(f"{served.url}/v1/health").status_code == 200
    assert httpx.get(f"{served.url}/metrics").status_code == 401
    r = httpx.get(f"{served.url}/metrics", headers=READ)
    assert r.status_code == 200 and "ordergate_signals_total" in r.text


def test_metrics_can_be_open_for_a_local_scraper(tmp_path):
    server = start(tmp_path, write_config(tmp_path, server='metrics_scope = "open"'))
    try:
        assert httpx.get(f"{server.url}/metrics").status_code == 200
    finally:
        server.close()


def test_no_tokens_on_a_non_loopback_address_refuses_to_start(tmp_path):
    config = write_config(tmp_path, tokens=False).read_text().replace(
        'host = "127.0.0.1"', 'host = "0.0.0.0"')
    (tmp_path / "open.toml").write_text(config)
    with pytest.raises(ServeError, match="not a loopback address"):
        start(tmp_path, tmp_path / "open.toml")


def test_a_token_whose_variable_is_unset_refuses_to_start_naming_the_variable(tmp_path):
    with pytest.raises(ServeError, match="OG_TEST_ADMIN") as refused:
        start(tmp_path, environ={k: v for k, v in TOKENS.items() if k != "OG_TEST_ADMIN"})
    assert not any(secret in str(refused.value) for secret in TOKENS.values())


def test_without_tokens_on_loopback_every_request_is_the_local_admin(tmp_path):
    server = start(tmp_path, write_config(tmp_path, tokens=False), environ={})
    try:
        r = httpx.post(f"{server.url}/v1/trading-state", json={"state": "HALTED", "reason": "t"})
        assert r.status_code == 200 and r.json()["by"] == "local"
    finally:
        server.close()


def test_tokens_never_reach_the_audit_log(served):
    for headers in (READ, TRADE, ADMIN, {"Authorization": "Bearer wrong-secret-value"}):
        httpx.post(f"{served.url}/v1/trading-state", headers=headers,
                   json={"state": "REDUCING", "reason": "token test"})
    served.audit()
    text = (served.tmp / "audit.jsonl").read_text()
    assert "token test" in text and '"by":"operator"' in text
    assert not any(secret in text for secret in [*TOKENS.values(), "wrong-secret-value"])


def test_loopback_means_localhost_or_a_loopback_ip():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert not is_loopback("example.com")


def test_two_tokens_with_one_name_are_refused_at_load(tmp_path):
    path = tmp_path / "dup.toml"
    path.write_text('[[server.tokens]]\nname = "a"\nenv = "X"\n[[server.tokens]]\nname = "a"\nenv = "Y"\n')
    with pytest.raises(ValueError, match="same name"):
        load_config(path)
