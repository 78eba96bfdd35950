"""The served OpenAPI document describes the API: request bodies, answers (a problem+json
per error status), the Idempotency-Key header and the bearer scheme with the scope each
route needs, although bodies are read raw (for the signal parser's exact Decimals)."""

import re
from decimal import Decimal

import httpx

from ordergate.testing.served import ADMIN, TRADE


def _document(served) -> dict:
    r = httpx.get(f"{served.url}/openapi.json")
    assert r.status_code == 200
    return r.json()


def test_declaring_the_bodies_does_not_change_how_they_are_parsed(served):
    # A JSON number with more digits than a float holds, and a key twice: the signal
    # parser's boundary, not pydantic's, still decides.
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "dup-key"},
                   content=b'{"symbol":"BTC/USDT","symbol":"ETH/USDT"}')
    assert r.status_code == 422 and r.json()["field"] == "symbol", r.text
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "exact-1"},
                   content=b'{"symbol":"BTC/USDT","side":"buy","type":"market",'
                           b'"quantity":0.0100000000000000001,"account":"main","venue":"sim"}')
    assert r.status_code == 422 and r.json()["field"] == "quantity", r.text  # 19 places
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "exact-2"},
                   content=b'{"symbol":"BTC/USDT","side":"buy","type":"market",'
                           b'"quantity":0.01,"account":"main","venue":"sim"}')
    assert r.status_code == 201 and Decimal(r.json()["order"]["quantity"]) == Decimal("0.01")


def test_every_route_but_health_declares_its_scope_and_its_problems(served):
    document = _document(served)
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": document["components"][
            "securitySchemes"]["bearer"]["description"]}
    scopes = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            scopes[f"{method.upper()} {path}"] = operation["security"]
            for status, response in operation["responses"].items():
                if int(status) >= 400 and status != "503":
                    assert list(response["content"]) == ["application/problem+json"], (
                        path, status)
                    assert response["content"]["application/problem+json"]["schema"] == {
                        "$ref": "#/components/schemas/ProblemDetails"}
            if operation["security"]:
                assert {"401", "403", "429", "500"} <= set(operation["responses"]), path
    assert scopes == {
        "POST /v1/signals": [{"bearer": ["trade"]}], "POST /v1/orders": [{"bearer": ["trade"]}],
        "GET /v1/orders": [{"bearer": ["read"]}],
        "GET /v1/orders/{order_id}": [{"bearer": ["read"]}],
        "GET /v1/parents/{parent_id}": [{"bearer": ["read"]}],
        "DELETE /v1/orders/{order_id}": [{"bearer": ["trade"]}],
        "PATCH /v1/orders/{order_id}": [{"bearer": ["trade"]}],
        "GET /v1/positions": [{"bearer": ["read"]}],
        "GET /v1/accounts/{account_id}": [{"bearer": ["read"]}],
        "POST /v1/trading-state": [{"bearer": ["admin"]}],
        "GET /v1/accounts": [{"bearer": ["read"]}],
        "GET /v1/groups/{group}": [{"bearer": ["read"]}],
        "POST /v1/accounts/{name}/status": [{"bearer": ["admin"]}],
        "GET /v1/health": [], "GET /metrics": [{"bearer": ["read"]}],
        "GET /v1/events": [{"bearer": ["read"]}]}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_order_entry_declares_its_body_its_verdicts_and_the_idempotency_key(served):
    document = _document(served)
    post_order = document["paths"]["/v1/orders"]["post"]
    assert post_order["requestBody"]["required"] is True
    assert post_order["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderRequest"}
    (key,) = post_order["parameters"]
    assert key["name"] == "Idempotency-Key" and key["in"] == "header" and key["required"]
    verdict = {"$ref": "#/components/schemas/VerdictAnswer"}
    for status in ("200", "201"):
        assert post_order["responses"][status]["content"]["application/json"]["schema"] == verdict
    assert "Retry-After" in post_order["responses"]["409"]["headers"]
    signal = document["paths"]["/v1/signals"]["post"]["requestBody"]
    assert signal["content"]["application/json"]["schema"]["$ref"].endswith("/SignalRequest")
    state = document["paths"]["/v1/trading-state"]["post"]["requestBody"]
    assert state["content"]["application/json"]["schema"]["$ref"].endswith(
        "/TradingStateRequest")


def test_money_is_a_decimal_string_in_requests_and_answers(served):
    schemas = _document(served)["components"]["schemas"]
    quantity = schemas["OrderRequest"]["properties"]["quantity"]
    assert quantity["type"] == "string"
    amount = re.compile(quantity["pattern"])
    assert [v for v in ("0.01", "1", "42000.5", "0.10", "999999999999999") if amount.match(v)] == [
        "0.01", "1", "42000.5", "0.10", "999999999999999"]
    assert [v for v in ("0", "0.000", "-1", "1e3", "1000000000000000", " 1", "0.0000000000000000001")
            if amount.match(v)] == []
    for name, field in (("OrderView", "average_price"), ("Position", "realized_pnl"),
                        ("Fill", "fee"), ("Balance", "total")):
        declared = schemas[name]["properties"][field]
        options = declared.get("anyOf", [declared])
        assert {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"} in [
            {k: o[k] for k in ("type", "pattern") if k in o} for o in options], (name, field)
    assert "number" not in {schemas["Position"]["properties"][f].get("type")
                            for f in ("quantity", "average_entry", "realized_pnl")}


def test_the_document_needs_no_token(served):
    assert httpx.get(f"{served.url}/openapi.json", headers=ADMIN).status_code == 200
    assert _document(served)["info"]["title"] == "ordergate"
