"""`POST /v1/trading-state`: the kill switch over HTTP, admin only, audited with the
token's name and the reason given."""

import httpx
import pytest

from ordergate.testing.served import ADMIN, READ, TRADE, order


def _move(served, headers, **body):
    return httpx.post(f"{served.url}/v1/trading-state", headers=headers, json=body)


@pytest.mark.parametrize("headers, status", [({}, 401), (READ, 403), (TRADE, 403), (ADMIN, 200)])
def test_the_kill_switch_with_each_scope(served, headers, status):
    r = _move(served, headers, state="HALTED", reason="scope test")
    assert r.status_code == status
    expected = "HALTED" if status == 200 else "ACTIVE"
    assert served.engine.risk.trading_state.value == expected


@pytest.mark.parametrize("body, field", [
    ({"reason": "x"}, "state"), ({"state": "halted", "reason": "x"}, "state"),
    ({"state": "HALTED"}, "reason"), ({"state": "HALTED", "reason": " "}, "reason"),
    ({"state": "HALTED", "reason": "x" * 501}, "reason"),
    ({"state": "HALTED", "reason": "a\nb"}, "reason"),
    ({"state": "HALTED", "reason": "x", "force": True}, "force"),
])
def test_a_move_without_a_valid_state_and_reason_is_422_naming_the_field(served, body, field):
    r = _move(served, ADMIN, **body)
    assert r.status_code == 422 and r.json()["field"] == field
    assert served.engine.risk.trading_state.value == "ACTIVE"


def test_a_move_is_audited_with_the_tokens_name_and_reason(served):
    r = _move(served, ADMIN, state="REDUCING", reason="end of day")
    assert r.json() == {"state": "REDUCING", "previous": "ACTIVE", "changed": True,
                        "by": "operator"}
    line = [l for l in served.audit() if l["event"] == "trading_state"][-1]
    assert line["decision"] == "REDUCING" and line["by"] == "operator"
    assert "end of day" in line["reason"]


def test_halted_refuses_new_orders_and_active_lets_them_through_again(served):
    _move(served, ADMIN, state="HALTED", reason="stop")
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "h-1"},
                   json=order())
    assert r.status_code == 200 and r.json()["code"] == "TRADING_HALTED"
    assert _move(served, ADMIN, state="ACTIVE", reason="go").json()["changed"] is True
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "h-2"},
                   json=order())
    assert r.status_code == 201


def test_the_same_state_again_is_not_a_change(served):
    r = _move(served, ADMIN, state="ACTIVE", reason="already")
    assert r.status_code == 200 and r.json()["changed"] is False
