"""Every error is RFC 9457 problem+json; a 422 names the field; no traceback leaves."""

import httpx

from ordergate.server import views
from ordergate.testing.served import ADMIN, READ, TRADE, order, signal

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _is_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert PROBLEM_KEYS <= set(body) and body["status"] == status
    return body


def test_a_body_that_is_not_json_names_the_json_field(served):
    r = httpx.post(f"{served.url}/v1/signals", headers={**TRADE, "Content-Type": "application/json"},
                   content=b"{not json")
    assert _is_problem(r, 422)["field"] == "json"


def test_an_invalid_field_is_named_as_the_signal_parser_names_it(served):
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("s-1", quantity="1,5"))
    body = _is_problem(r, 422)
    assert body["field"] == "quantity" and "plain decimal" in body["detail"]
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("s-1", side="up"))
    assert _is_problem(r, 422)["field"] == "side"
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json={**signal("s-1"), "colour": 1})
    assert _is_problem(r, 422)["field"] == "colour"


def test_a_key_given_twice_or_a_nested_body_is_refused_by_the_same_boundary(served):
    headers = {**TRADE, "Content-Type": "application/json"}
    r = httpx.post(f"{served.url}/v1/signals", headers=headers,
                   content=b'{"side": "buy", "side": "sell"}')
    assert _is_problem(r, 422)["field"] == "side"
    r = httpx.post(f"{served.url}/v1/signals", headers=headers, content=b"[" * 50 + b"]" * 50)
    assert _is_problem(r, 422)["field"] == "json"


def test_a_direct_order_names_its_own_fields_not_the_signals(served):
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "p-1"},
                   json=order(type="limit", price="-5"))
    assert _is_problem(r, 422)["field"] == "price"
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "p-2"},
                   json={k: v for k, v in order().items() if k != "account"})
    assert _is_problem(r, 422)["field"] == "account"
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "p-3"},
                   json=order(limit_price="1"))
    assert _is_problem(r, 422)["field"] == "limit_price"


def test_invalid_bodies_are_audited_and_counted_like_invalid_signal_lines(served):
    httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("s-1", quantity="x"))
    lines = [l for l in served.audit() if l["event"] == "signal_invalid"]
    assert len(lines) == 1 and "quantity" in lines[0]["reason"]
    metrics = httpx.get(f"{served.url}/metrics", headers=READ).text
    assert 'ordergate_signals_invalid_total{field="quantity"} 1.0' in metrics


def test_a_body_that_is_not_declared_json_is_415(served):
    r = httpx.post(f"{served.url}/v1/signals", headers={**TRADE, "Content-Type": "text/plain"},
                   content=b"{}")
    _is_problem(r, 415)


def test_unknown_paths_and_methods_are_problems_too(served):
    _is_problem(httpx.get(f"{served.url}/v1/nothing-here", headers=READ), 404)
    _is_problem(httpx.put(f"{served.url}/v1/positions", headers=READ), 405)
    body = _is_problem(httpx.get(f"{served.url}/v1/orders?limit=abc", headers=READ), 422)
    assert body["field"] == "limit"


def test_a_405_allows_every_method_the_path_serves_not_only_the_first_routes(served):
    # Found by schemathesis: Starlette answered `Allow: POST` on /v1/orders.
    for path, allowed, method in (("/v1/orders", "GET, POST", "PATCH"),
                                  ("/v1/orders/og-1", "DELETE, GET, PATCH", "PUT"),
                                  ("/v1/positions", "GET", "PATCH")):
        r = httpx.request(method, f"{served.url}{path}", headers=READ)
        _is_problem(r, 405)
        assert r.headers["allow"] == allowed, path


def test_an_unexpected_exception_is_a_500_problem_audited_counted_and_halting(served, monkeypatch):
    def broken(engine):
        raise RuntimeError("secret-internal-detail")

    monkeypatch.setattr(views, "positions_view", broken)
    r = httpx.get(f"{served.url}/v1/positions", headers=READ)
    body = _is_problem(r, 500)
    assert "secret-internal-detail" not in r.text and "Traceback" not in r.text
    assert body["type"] == "/problems/internal-error"
    errors = [l for l in served.audit() if l["event"] == "system_error"]
    assert len(errors) == 1 and "RuntimeError: secret-internal-detail" in errors[0]["reason"]
    assert errors[0]["handler"] == "server GET /v1/positions"
    assert "test_problems.py" in errors[0]["where"]
    metrics = httpx.get(f"{served.url}/metrics", headers=READ).text
    assert 'ordergate_system_errors_total{source="server GET /v1/positions"} 1.0' in metrics
    health = httpx.get(f"{served.url}/v1/health").json()
    assert health["trading_state"] == "HALTED"  # [supervision] on_error = "halt"
    r = httpx.post(f"{served.url}/v1/trading-state", headers=ADMIN,
                   json={"state": "ACTIVE", "reason": "looked at it"})
    assert r.status_code == 200
