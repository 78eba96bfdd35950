"""The accounts of blocks over HTTP, on 127.0.0.1 against the simulated venue: pause and
resume an account or a group (`POST /v1/accounts/{name}/status`, admin only, audited
with the token's name), and watch each account's standing (`GET /v1/accounts`,
`GET /v1/accounts/{id}`, `GET /v1/groups/{name}`): status, equity, the day, eligibility.
A pause is seen by the very next block posted to `POST /v1/signals`."""

from decimal import Decimal as D

import httpx
import pytest

from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.testing.served import (
    ADMIN, READ, TRADE, Served, block,
)
from ordergate.venues.guarded import unwrap



def _status(served: Served, name: str, headers=ADMIN, **body) -> httpx.Response:
    return httpx.post(f"{served.url}/v1/accounts/{name}/status", headers=headers, json=body)


def _standing(served: Served, account: str) -> dict:
    r = httpx.get(f"{served.url}/v1/accounts/{account}", headers=READ)
    assert r.status_code == 200, r.text
    return r.json()["allocation"]


def _child(signal_id: str, account: str) -> str:
    return client_order_id_for("http-test", account, signal_id)


def _order(served: Served, client_order_id: str) -> httpx.Response:
    return httpx.get(f"{served.url}/v1/orders/{client_order_id}", headers=READ)


def _status_lines(served: Served) -> list[dict]:
    return [line for line in served.audit() if line["event"] == "account_status"]


# ------------------------------------------------------------------ refused

@pytest.mark.parametrize("headers, status", [({}, 401), (READ, 403), (TRADE, 403)])
def test_only_an_admin_token_may_pause(desk, headers, status):
    r = _status(desk, "alpha", headers, status="paused", reason="not allowed")
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert desk.engine.pauses.accounts == set()
    assert _status_lines(desk) == []


@pytest.mark.parametrize("body, field", [
    ({"reason": "x"}, "status"), ({"status": "PAUSED", "reason": "x"}, "status"),
    ({"status": "halted", "reason": "x"}, "status"), ({"status": None, "reason": "x"}, "status"),
    ({"status": "paused"}, "reason"), ({"status": "paused", "reason": "  "}, "reason"),
    ({"status": "paused", "reason": "x" * 501}, "reason"),
    ({"status": "paused", "reason": "a\nb"}, "reason"),
    ({"status": "paused", "reason": "x", "cancel_working": "yes"}, "cancel_working"),
    ({"status": "active", "reason": "x", "cancel_working": True}, "cancel_working"),
    ({"status": "paused", "reason": "x", "force": True}, "force"),
])
def test_a_malformed_body_is_422_naming_the_field_and_changes_nothing(desk, body, field):
    r = _status(desk, "alpha", **body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert desk.engine.pauses.accounts == set()


def test_a_body_that_is_not_json_is_refused(desk):
    r = httpx.post(f"{desk.url}/v1/accounts/alpha/status", headers=ADMIN, content=b"{status")
    assert r.status_code == 422
    r = httpx.post(f"{desk.url}/v1/accounts/alpha/status",
                   headers={**ADMIN, "Content-Type": "text/plain"}, content=b"x")
    assert r.status_code == 415


def test_a_name_config_does_not_know_is_404_problem(desk):
    r = _status(desk, "main", status="paused", reason="main is not an account of blocks")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/not-found"
    assert httpx.get(f"{desk.url}/v1/groups/alpha", headers=READ).status_code == 404
    assert httpx.get(f"{desk.url}/v1/groups/desk").status_code == 401


# ------------------------------------------------------------------ pause, resume

def test_a_paused_account_takes_no_child_of_the_next_block_until_resumed(desk):
    r = _status(desk, "alpha", status="paused", reason="margin call")
    assert r.status_code == 200
    assert r.json() == {"name": "alpha", "kind": "account", "status": "paused",
                        "previous": "active", "changed": True, "cancelled": [],
                        "by": "operator"}
    standing = _standing(desk, "alpha")
    assert (standing["status"], standing["eligible"], standing["why"]) == (
        "paused", False, "paused")
    posted = httpx.post(f"{desk.url}/v1/signals", headers=TRADE, json=block("b-1"))
    assert posted.status_code == 201, posted.text
    assert _order(desk, _child("b-1", "alpha")).status_code == 404  # no child at all
    beta = _order(desk, _child("b-1", "beta")).json()
    assert D(beta["quantity"]) == D("0.02")  # beta took the block whole
    decided = [l for l in desk.audit() if l["event"] == "allocation_decided"][-1]
    assert "alpha: not eligible (paused)" in decided["reason"]

    r = _status(desk, "alpha", status="active", reason="margin restored")
    assert r.json()["changed"] is True and r.json()["status"] == "active"
    assert httpx.post(f"{desk.url}/v1/signals", headers=TRADE,
                      json=block("b-2")).status_code == 201
    assert D(_order(desk, _child("b-2", "alpha")).json()["quantity"]) == D("0.01")
    lines = _status_lines(desk)
    assert [(l["name"], l["decision"], l["by"]) for l in lines] == [
        ("alpha", "paused", "operator"), ("alpha", "active", "operator")]
    assert "margin call" in lines[0]["reason"] and "margin restored" in lines[1]["reason"]


def test_pausing_what_is_paused_is_200_with_its_state_and_no_second_audit_line(desk):
    assert _status(desk, "alpha", status="paused", reason="first").json()["changed"] is True
    again = _status(desk, "alpha", status="paused", reason="again")
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["previous"], again.json()["changed"]) == (
        "paused", "paused", False)
    assert len(_status_lines(desk)) == 1
    resumed = _status(desk, "beta", status="active", reason="already active")
    assert resumed.json()["changed"] is False and _status_lines(desk)[-1]["name"] == "alpha"


def test_a_paused_group_refuses_its_blocks_whole(desk):
    r = _status(desk, "desk", status="paused", reason="end of day")
    assert r.json()["kind"] == "group" and r.json()["status"] == "paused"
    group = httpx.get(f"{desk.url}/v1/groups/desk", headers=READ).json()
    assert group["status"] == "paused"
    assert [a["status"] for a in group["accounts"]] == ["active", "active"]
    assert _standing(desk, "alpha")["groups"] == [{"group": "desk", "status": "paused"}]
    refused = httpx.post(f"{desk.url}/v1/signals", headers=TRADE, json=block("b-1"))
    assert refused.status_code == 200
    assert (refused.json()["admitted"], refused.json()["code"]) == (
        False, "ALLOCATION_GROUP_PAUSED")
    assert unwrap(desk.engine.venues["sim"]).orders_per_client_id == {}
    _status(desk, "desk", status="active", reason="morning")
    assert httpx.post(f"{desk.url}/v1/signals", headers=TRADE,
                      json=block("b-2")).status_code == 201


def test_pausing_with_cancel_working_cancels_the_accounts_resting_child(desk):
    resting = block("b-1", order_type="limit", limit_price="42000")
    assert httpx.post(f"{desk.url}/v1/signals", headers=TRADE, json=resting).status_code == 201
    alpha, beta = _child("b-1", "alpha"), _child("b-1", "beta")
    assert _order(desk, alpha).json()["state"] == "ACCEPTED"
    left = _status(desk, "beta", status="paused", reason="leave it working")
    assert left.json()["cancelled"] == []
    assert _order(desk, beta).json()["state"] == "ACCEPTED"
    r = _status(desk, "alpha", status="paused", reason="flatten", cancel_working=True)
    assert r.status_code == 200 and r.json()["cancelled"] == [alpha]
    assert _order(desk, alpha).json()["state"] == "CANCELLED"
    assert _order(desk, beta).json()["state"] == "ACCEPTED"  # another account's: left
    assert _status_lines(desk)[-1]["cancelled"] == [alpha]
    # paused already, cancelling again: nothing is working, so nothing is audited
    again = _status(desk, "alpha", status="paused", reason="again", cancel_working=True)
    assert again.json() == {**r.json(), "previous": "paused", "changed": False, "cancelled": []}
    assert len(_status_lines(desk)) == 2


# ------------------------------------------------------------------ standing

def test_an_account_of_blocks_shows_its_day_budget_and_positions(desk):
    before = _standing(desk, "alpha")
    assert (before["equity"], before["start_of_day_equity"], before["start_of_day_recorded"]) == (
        "60000", "60000", False)  # no block has read it today: nothing recorded by a GET
    assert (before["risk_budget"], before["budget_left"], before["open_positions"]) == (
        "5000", "5000", 0)
    assert before["eligible"] is True and "budget left 5000" in before["why"]
    assert httpx.post(f"{desk.url}/v1/signals", headers=TRADE,
                      json=block("b-1")).status_code == 201
    after = _standing(desk, "alpha")
    assert after["start_of_day_recorded"] is True and after["start_of_day_equity"] == "60000"
    assert after["open_positions"] == 1
    assert D(after["risk_spent"]) > 0
    assert D(after["budget_left"]) == D("5000") - D(after["risk_spent"])
    assert D(after["day_pnl"]) == D(after["equity"]) - D("60000")
    assert D(after["day_pnl"]) < 0  # the taker fee and the spread, marked at the mid
    assert after["eligible"] is True
    plain = httpx.get(f"{desk.url}/v1/accounts/main", headers=READ).json()
    assert plain["allocation"] is None  # not an account of blocks


def test_a_venue_that_does_not_answer_makes_the_accounts_not_eligible_saying_why(desk):
    venue = unwrap(desk.engine.venues["sim"])
    desk.on_loop(lambda: setattr(venue.faults, "down", True))
    r = httpx.get(f"{desk.url}/v1/accounts", headers=READ)
    assert r.status_code == 200
    alpha, beta = r.json()["accounts"]
    assert (alpha["equity"], alpha["eligible"]) == (None, False)
    assert alpha["why"].startswith("equity unknown")
    assert beta["why"] == "available margin unknown (the venue has not answered)"
    assert r.json()["groups"] == [{"group": "desk", "policy": "equal", "status": "active",
                                   "ratios": None, "eligible_accounts": 0,
                                   "accounts": ["alpha", "beta"]}]


def test_without_accounts_in_config_the_lists_are_empty(served):
    r = httpx.get(f"{served.url}/v1/accounts", headers=READ)
    assert r.status_code == 200 and r.json() == {"accounts": [], "groups": []}
    assert _status(served, "main", status="paused", reason="x").status_code == 404


def test_a_get_records_nothing_in_the_journal(desk):
    for path in ("/v1/accounts", "/v1/accounts/alpha", "/v1/groups/desk"):
        assert httpx.get(f"{desk.url}{path}", headers=READ).status_code == 200
    found: list = []
    desk.on_loop(lambda: found.extend(desk.engine.journal.rows("SELECT * FROM account_days")))
    assert found == []
    httpx.post(f"{desk.url}/v1/signals", headers=TRADE, json=block("b-1"))
    desk.on_loop(lambda: found.extend(desk.engine.journal.rows("SELECT * FROM account_days")))
    assert sorted(row["account_id"] for row in found) == ["alpha", "beta"]  # a block does


def test_the_eligibility_shown_is_the_one_the_next_block_is_allocated_by(desk):
    # alpha began its day with 70000 and holds 60000: down 14.29%, beyond its 4%
    desk.on_loop(lambda: desk.engine.days.start_equity("alpha", D("70000")))
    alpha = _standing(desk, "alpha")
    assert (alpha["start_of_day_equity"], alpha["day_pnl"], alpha["drawdown"]) == (
        "70000", "-10000", "0.142857")
    assert (alpha["eligible"], alpha["why"]) == (False, "drawdown 14.29% > 4.00%")
    posted = httpx.post(f"{desk.url}/v1/signals", headers=TRADE, json=block("b-1"))
    assert posted.status_code == 201
    decided = [l for l in desk.audit() if l["event"] == "allocation_decided"][-1]
    assert "alpha: not eligible (drawdown 14.29% > 4.00%)" in decided["reason"]
    assert _order(desk, _child("b-1", "alpha")).status_code == 404
