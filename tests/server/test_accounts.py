"""`GET /v1/accounts/{id}`: balances as each venue reports them, and exposure from
working orders (as the risk manager reads it), per venue; 404 for an unknown account."""

from decimal import Decimal

import httpx

from ordergate.testing.served import READ, TRADE, order
from ordergate.venues.guarded import unwrap


def _account(served, account: str = "main") -> httpx.Response:
    return httpx.get(f"{served.url}/v1/accounts/{account}", headers=READ)


def test_an_unknown_account_is_404_and_no_venue_is_asked(served):
    venue = unwrap(served.engine.venues["sim"])
    asked = []
    original = venue.fetch_balances

    async def counting(account_id):
        asked.append(account_id)
        return await original(account_id)

    served.on_loop(lambda: setattr(venue, "fetch_balances", counting))
    r = _account(served, "nobody")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/not-found"
    assert asked == []


def test_an_account_needs_a_read_token(served):
    assert httpx.get(f"{served.url}/v1/accounts/main").status_code == 401


def test_a_quiet_account_shows_the_venues_balances_and_no_exposure(served):
    r = _account(served)
    assert r.status_code == 200
    assert r.json() == {"account": "main", "venues": {"sim": {
        "balances": {"USDT": {"free": "100000", "used": "0", "total": "100000"}},
        "balances_error": None, "exposure": [], "committed": {}}}, "allocation": None}


def test_a_resting_order_shows_as_working_exposure_and_committed_quote(served):
    rest = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "rest-1"},
                      json=order(type="limit", price="42000"))
    fill = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "fill-1"},
                      json=order())
    assert rest.status_code == fill.status_code == 201
    sim = _account(served).json()["venues"]["sim"]
    (btc,) = sim["exposure"]
    assert btc["symbol"] == "BTC/USDT"
    assert Decimal(btc["position"]) == Decimal("0.01")
    assert Decimal(btc["working_buy"]) == Decimal("0.01") and Decimal(btc["working_sell"]) == 0
    assert Decimal(btc["net"]) == Decimal("0.02")
    assert Decimal(sim["committed"]["USDT"]) == Decimal("420")  # 0.01 at 42000
    # the venue's own word: the resting buy's quote is locked (used), the fill is held
    usdt, held = sim["balances"]["USDT"], sim["balances"]["BTC"]
    assert Decimal(usdt["used"]) == Decimal("420")
    assert Decimal(usdt["free"]) + Decimal(usdt["used"]) == Decimal(usdt["total"])
    assert Decimal(held["total"]) == Decimal("0.01")
    assert all(isinstance(v, str) for b in sim["balances"].values() for v in b.values())
    # cancelled: the working buy and the commitment go, the position stays
    order_id = rest.json()["client_order_id"]
    assert httpx.delete(f"{served.url}/v1/orders/{order_id}", headers=TRADE).status_code == 200
    sim = _account(served).json()["venues"]["sim"]
    assert [Decimal(sim["exposure"][0][k]) for k in ("working_buy", "net")] == [0, Decimal("0.01")]
    assert sim["committed"] == {}


def test_a_venue_that_does_not_answer_has_null_balances_and_still_its_exposure(served):
    fill = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "fill-1"},
                      json=order())
    assert fill.status_code == 201
    venue = unwrap(served.engine.venues["sim"])
    served.on_loop(lambda: setattr(venue.faults, "down", True))
    r = _account(served)
    assert r.status_code == 200
    sim = r.json()["venues"]["sim"]
    assert sim["balances"] is None and sim["balances_error"] == "unavailable"
    assert Decimal(sim["exposure"][0]["position"]) == Decimal("0.01")


def test_a_disabled_venue_is_not_asked(served):
    served.on_loop(lambda: served.engine.market.enabled.__setitem__("sim", False))
    sim = _account(served).json()["venues"]["sim"]
    assert sim["balances"] is None and sim["balances_error"] == "venue_disabled"
    served.on_loop(lambda: served.engine.market.enabled.__setitem__("sim", True))


def test_an_account_outside_the_config_is_known_while_it_has_a_working_order(served):
    venue = unwrap(served.engine.venues["sim"])
    served.on_loop(lambda: venue._balances.setdefault("side", {}).update(USDT=Decimal(1000)))
    assert _account(served, "side").status_code == 404
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": "side-1"},
                   json=order(account="side", type="limit", price="42000"))
    assert r.status_code == 201 and r.json()["order"]["state"] == "ACCEPTED", r.text
    side = _account(served, "side")
    assert side.status_code == 200
    assert Decimal(side.json()["venues"]["sim"]["exposure"][0]["working_buy"]) == Decimal("0.01")
    httpx.delete(f"{served.url}/v1/orders/{r.json()['client_order_id']}", headers=TRADE)
    assert _account(served, "side").status_code == 404
