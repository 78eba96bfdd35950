"""The live dashboard in a real browser (Debian's Chromium through Playwright) against a
served engine on the simulated venue: what an operator sees and does, with the engine
and the venue checked behind the page."""

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import TradingState
from ordergate.testing.served import (
    ACCOUNTS, ADMIN, TOKENS, TRADE, Served, block, order, start, write_config,
)

READ_TOKEN, TRADE_TOKEN, ADMIN_TOKEN = (TOKENS[f"OG_TEST_{s}"] for s in ("READ", "TRADE", "ADMIN"))


def connect(page: Page, served: Served, token: str) -> None:
    page.goto(f"{served.url}/")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#stream-status")).to_have_text("stream: live")


def place(served: Served, key: str, **fields: object) -> dict:
    r = httpx.post(f"{served.url}/v1/orders", headers={**TRADE, "Idempotency-Key": key},
                   json=order(**fields))
    assert r.status_code == 201, r.text
    return r.json()["order"]


def resting(served: Served, key: str = "rest-1", price: str = "42000") -> dict:
    """A limit buy below the touch, inside the price band: it rests, ACCEPTED."""
    placed = place(served, key, type="limit", price=price)
    assert placed["state"] == "ACCEPTED", placed
    return placed


def move_kill_switch(page: Page, target: str, reason: str) -> None:
    page.click(f".switch button[data-target={target}]")
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-target")).to_have_text(target)
    page.fill("#confirm-reason", reason)
    page.click("#confirm-ok")


def test_an_unknown_token_is_refused_and_not_kept(served, page):
    page.goto(f"{served.url}/")
    page.fill("#token", "not-a-token")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("the token is not known")
    expect(page.locator("#board")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_read_only_token_is_refused_the_kill_switch_with_the_reason(served, page):
    connect(page, served, READ_TOKEN)
    move_kill_switch(page, "HALTED", "should not pass")
    message = page.locator("#state-message")
    expect(message).to_contain_text("Refused")
    expect(message).to_contain_text("this needs scope 'admin'; the token 'reader' has 'read'")
    expect(page.locator("#trading-state")).to_have_text("ACTIVE")
    assert served.engine.risk.trading_state is TradingState.ACTIVE


def test_a_dismissed_confirmation_moves_nothing(served, page):
    connect(page, served, ADMIN_TOKEN)
    page.click(".switch button[data-target=HALTED]")
    page.fill("#confirm-reason", "changed my mind")
    page.click("#confirm-cancel")
    expect(page.locator("#confirm")).to_be_hidden()
    page.wait_for_timeout(500)
    expect(page.locator("#trading-state")).to_have_text("ACTIVE")
    assert served.engine.risk.trading_state is TradingState.ACTIVE
    assert not [l for l in served.audit() if l["event"] == "trading_state"]


def test_an_order_placed_over_the_api_appears_and_its_button_cancels_it(served, page):
    connect(page, served, TRADE_TOKEN)
    expect(page.locator("#orders tbody")).to_contain_text("no working order")
    placed = resting(served)
    order_id = placed["client_order_id"]
    row = page.locator(f"#orders tr[data-order='{order_id}']")
    expect(row).to_be_visible()  # no reload: the order_transition event refreshed the panel
    expect(row).to_contain_text("42000")
    expect(row).to_contain_text("ACCEPTED")
    row.get_by_role("button", name="Cancel").click()
    expect(row).to_have_count(0)
    expect(page.locator("#orders-message")).to_contain_text(f"{order_id} is CANCELLED")
    engine_says = httpx.get(f"{served.url}/v1/orders/{order_id}", headers=ADMIN).json()
    assert engine_says["state"] == "CANCELLED"
    assert "cancel requested over HTTP by trader" in [t["reason"] for t in engine_says["transitions"]]
    venue = served.engine.venues["sim"]
    report = asyncio.run_coroutine_threadsafe(
        venue.fetch_order("BTC/USDT", order_id, placed["venue_order_id"]), served.loop).result(5)
    assert report.status is OrderStatus.CANCELLED


def test_the_kill_switch_moves_to_halted_after_confirmation_and_its_audit_line_is_live(served, page):
    connect(page, served, ADMIN_TOKEN)
    move_kill_switch(page, "HALTED", "dashboard test: venue looks wrong")
    expect(page.locator("#trading-state")).to_have_text("HALTED")
    expect(page.locator("#state-message")).to_have_text("ACTIVE -> HALTED by operator")
    assert served.engine.risk.trading_state is TradingState.HALTED
    line = page.locator("#audit li[data-event=trading_state]").first
    expect(line).to_contain_text("ACTIVE -> HALTED: dashboard test: venue looks wrong")
    expect(line).to_have_attribute("data-tone", "bad")
    audited = [l for l in served.audit() if l["event"] == "trading_state"]
    assert [(l["decision"], l["by"]) for l in audited] == [("HALTED", "operator")]


def test_a_kill_switch_moved_elsewhere_shows_without_a_reload(served, page):
    connect(page, served, READ_TOKEN)
    r = httpx.post(f"{served.url}/v1/trading-state", headers=ADMIN,
                   json={"state": "REDUCING", "reason": "from another operator"})
    assert r.status_code == 200
    expect(page.locator("#trading-state")).to_have_text("REDUCING")
    expect(page.locator("#audit li[data-event=trading_state]").first).to_have_attribute(
        "data-tone", "warn")


def test_untrusted_text_is_shown_as_text_never_run_as_markup(served, page):
    connect(page, served, READ_TOKEN)
    hostile = '<img src=x id=pwned onerror="document.title=1"><b id=bold>x</b>'
    r = httpx.post(f"{served.url}/v1/trading-state", headers=ADMIN,
                   json={"state": "REDUCING", "reason": hostile})
    assert r.status_code == 200
    line = page.locator("#audit li[data-event=trading_state]").first
    expect(line).to_contain_text(hostile)
    assert page.locator("#pwned, #bold").count() == 0
    assert page.title() == "ordergate"


def test_the_token_stays_out_of_the_url_and_lasts_as_long_as_the_tab(served, page):
    connect(page, served, READ_TOKEN)
    assert page.url == f"{served.url}/"
    assert page.evaluate("sessionStorage.getItem('ordergate.token')") == READ_TOKEN
    page.reload()
    expect(page.locator("#stream-status")).to_have_text("stream: live")
    expect(page.locator("#board")).to_be_visible()
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_fills_and_positions_appear_as_they_happen(served, page):
    connect(page, served, READ_TOKEN)
    expect(page.locator("#fills tbody")).to_contain_text("no fill yet")
    filled = place(served, "fill-1")
    assert filled["state"] == "FILLED"
    fill = filled["fills"][0]
    first = page.locator("#fills tbody tr").first
    expect(first).to_contain_text(fill["price"])
    expect(first).to_contain_text("buy")
    position = page.locator("#positions tbody tr").first
    expect(position).to_contain_text("BTC/USDT")
    expect(position).to_contain_text("0.01")
    # valued at the last mid the engine saw, as the API gives it
    [api] = httpx.get(f"{served.url}/v1/positions",
                      headers={"Authorization": f"Bearer {READ_TOKEN}"}).json()["positions"]
    cells = position.locator("td")
    expect(cells.nth(6)).to_have_text(api["mark"])
    expect(cells.nth(7)).to_have_text(api["unrealized_pnl"])
    assert (cells.nth(7).get_attribute("title") or "").startswith("last seen")


def test_history_retained_by_the_server_is_shown_when_the_page_opens(served, page):
    placed = place(served, "before-1")
    connect(page, served, READ_TOKEN)
    expect(page.locator("#fills tbody tr").first).to_contain_text(placed["fills"][0]["price"])
    expect(page.locator("#audit li[data-event=signal_received]").first).to_be_visible()
    assert page.locator("#audit li[data-event^=stream-]").count() == 0  # asked-for history: no warning


def test_a_stream_that_overflows_is_resumed_with_its_last_event_id(served, page):
    """The first answer of /v1/events is a canned one that ends with `overflow` (as the
    server sends it to a client that fell behind); the dashboard must show the notice and
    reconnect with the notice's ID as Last-Event-ID."""
    asked: list[str | None] = []
    line = json.dumps({"ts": "2026-01-02T00:10:00+00:00", "event": "venue_error",
                       "signal_id": None, "client_order_id": None, "handler": "venue",
                       "decision": "failing", "reason": "sim fetch_order failing: canned"})
    canned = (f"id: 41\ndata: {line}\n\n: keepalive\n\nevent: overflow\nid: 41\ndata: "
              + json.dumps({"event": "overflow", "last_event_id": 41,
                            "reason": "this client fell more than 1000 lines behind"}) + "\n\n")

    def events(route: Route) -> None:
        asked.append(route.request.headers.get("last-event-id"))
        if len(asked) == 1:
            route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=canned)
        else:
            route.continue_()

    page.route(re.compile(r".*/v1/events.*"), events)
    page.goto(f"{served.url}/")
    page.fill("#token", READ_TOKEN)
    page.click("#login-form button[type=submit]")
    notice = page.locator("#audit li[data-event=stream-overflow]")
    expect(notice).to_contain_text("fell more than 1000 lines behind; resuming from 41")
    expect(page.locator("#audit li[data-event=venue_error]")).to_contain_text("canned")
    expect(page.locator("#stream-status")).to_have_text("stream: live")
    assert asked[:2] == ["0", "41"]
    # The real server has no line 41 of this run: it says so with a gap, shown as one.
    expect(page.locator("#audit li[data-event=stream-gap]")).to_contain_text("missed")


def test_the_stream_parser_reads_events_split_anywhere(served, page):
    page.goto(f"{served.url}/")
    stream = ("retry: 10\r\n: comment\r\nid: 7\r\ndata: {\"a\":1}\r\n\r\n"
              "event: gap\nid: 9\ndata: line one\ndata:line two\n\n"
              "data: no id here\r\rid: 10\n\n"  # an id with no data dispatches nothing
              "data: after\n\n")
    for size in (1, 2, 3, 7, len(stream)):
        got = page.evaluate("""([text, size]) => {
            const seen = [];
            const parser = new window.ordergateDashboard.SseParser((e) => seen.push(e));
            for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
            return seen;
        }""", [stream, size])
        assert got == [
            {"type": "message", "data": '{"a":1}', "id": "7"},
            {"type": "gap", "data": "line one\nline two", "id": "9"},
            {"type": "message", "data": "no id here", "id": "9"},
            {"type": "message", "data": "after", "id": "10"},
        ], size


def test_a_busy_dashboard_is_kept_as_a_screenshot(served, page, artifacts):
    for i in range(3):
        place(served, f"buy-{i}")
    place(served, "sell-eth", symbol="ETH/USDT", side="sell", quantity="0.2")
    place(served, "sell-btc", side="sell", quantity="0.01")
    working = [resting(served, "rest-a", "42000"), resting(served, "rest-b", "41900")]
    connect(page, served, ADMIN_TOKEN)
    expect(page.locator("#orders tbody tr[data-order]")).to_have_count(len(working))
    expect(page.locator("#positions tbody tr")).to_have_count(2)
    expect(page.locator("#fills tbody tr")).to_have_count(5)
    path = artifacts / "dashboard.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _health(venue: dict, status: str = "degraded") -> dict:
    return {"status": status, "trading_state": "ACTIVE",
            "control_loop": {"alive": status != "failing", "last_tick_at": None,
                             "poll_interval_s": 1.0},
            "journal": {"writable": True}, "venues": {"binance": venue}}


def _serve_health(page: Page, body: dict, status: int = 200) -> None:
    page.route(re.compile(r".*/v1/health$"), lambda route: route.fulfill(
        status=status, headers={"Content-Type": "application/json"}, body=json.dumps(body)))


def test_a_failing_engine_and_an_open_breaker_are_shown_as_such(served, page):
    _serve_health(page, _health({
        "enabled": False, "disabled_reason": "<b>load_instruments failed</b>",
        "instruments_loaded": 0, "breaker": "open", "consecutive_failures": 5,
        "last_success_at": "2026-01-02T00:09:58+00:00", "retry_at": "2026-01-02T00:10:30+00:00"},
        "failing"), status=503)
    connect(page, served, READ_TOKEN)
    expect(page.locator("#health-status")).to_have_text("health: failing")
    expect(page.locator("#loop")).to_contain_text("NOT RUNNING")
    venue = page.locator("#venues tbody tr").first
    expect(venue).to_contain_text("no: <b>load_instruments failed</b>")
    expect(venue).to_contain_text("open")
    expect(venue).to_contain_text("00:09:58")
    expect(venue).to_contain_text("not reported")  # this health has no rate_limit


def test_rate_limit_headroom_is_shown_when_health_reports_it(served, page):
    _serve_health(page, _health({
        "enabled": True, "disabled_reason": None, "instruments_loaded": 3, "breaker": "closed",
        "consecutive_failures": 0, "last_success_at": "2026-01-02T00:10:00+00:00",
        "retry_at": None, "rate_limit": {"configured_rate_per_s": 10.0, "rate_per_s": 5.0,
                                         "burst": 20, "tokens": 4.5,
                                         "blocked_until": "2026-01-02T00:11:00+00:00",
                                         "weight_used": 7}}))
    connect(page, served, READ_TOKEN)
    cell = page.locator("#venues tbody tr td").nth(5)
    expect(cell).to_contain_text("4.5/20")
    expect(cell).to_contain_text("5/s (of 10/s)")  # JSON numbers, as the browser prints them
    expect(cell).to_contain_text("blocked until 00:11:00")
    expect(cell).to_contain_text("weight_used: 7")  # a key the page does not know: shown as is
    assert cell.locator("meter").get_attribute("value") == "0.225"


def test_derived_amounts_are_rounded_to_eight_places_from_their_text(served, page):
    page.goto(f"{served.url}/")
    cases = {"50000.0029102890531197039977": "50000.00291029",
             "-0.009999980009964121595339570540": "-0.00999998",
             "0.000000005": "0.00000001", "-0.000000004": "0.00000000",
             "99999999.999999999": "100000000.00000000", "0E-8": "0.00000000",
             "1.5E+3": "1500", "42": "42", "0.10": "0.10", "not a number": "not a number",
             "123456789012345678901234567.123456789": "123456789012345678901234567.12345679"}
    got = page.evaluate("""(texts) => texts.map(
        (t) => window.ordergateDashboard.roundDecimal(t, 8))""", list(cases))
    assert dict(zip(cases, got)) == cases


def test_a_brackets_exits_show_their_lineage_naming_the_entry(served, page):
    connect(page, served, READ_TOKEN)
    entry = place(served, "br-dash", stop_loss="1000", take_profit="1000000", protect=True)
    entry_id = entry["client_order_id"]
    exits = page.locator(f"#orders tbody td[data-parent='{entry_id}']")
    expect(exits).to_have_count(2)  # the stop and the take-profit, both working
    expect(page.locator("#orders tbody td[data-role='stop_loss']")).to_have_text(
        f"stop_loss 1 of …{entry_id[-6:]}")
    assert page.locator("#orders tbody td[data-role='take_profit']").get_attribute(
        "title") == f"parent {entry_id}"
    # the stop's price cell shows where it fires, not a dash; the take-profit its limit
    stop_row = page.locator("#orders tbody tr", has=page.locator("td[data-role='stop_loss']"))
    expect(stop_row.locator("td[data-trigger]")).to_have_text("stop 1000.00")
    tp_row = page.locator("#orders tbody tr", has=page.locator("td[data-role='take_profit']"))
    expect(tp_row.locator("td").nth(9)).to_have_text("1000000.00")
    page.screenshot(path="tests-artifacts/dashboard-lineage.png", full_page=True)


# ------------------------------------------------------------------ the Accounts panel

BLOCK_ACCOUNTS = ACCOUNTS.replace('''[groups.desk]
accounts = ["alpha", "beta"]''', '''[accounts.gamma]
min_available_margin = "50000"
[groups.desk]
accounts = ["alpha", "beta", "gamma"]''').replace('''beta = { USDT = "30000" }''', '''beta = { USDT = "30000" }
gamma = { USDT = "20000" }''')
"""`served.ACCOUNTS` and a third account, `gamma`, whose balance is below its minimum
margin: never eligible, and the panel says why."""


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Served]:
    """Shadows the suite's `desk`: three accounts (`BLOCK_ACCOUNTS`)."""
    server = start(tmp_path, write_config(tmp_path, extra=BLOCK_ACCOUNTS))
    try:
        yield server
    finally:
        server.close()


def account_row(page: Page, name: str):
    return page.locator(f"#accounts tr[data-account='{name}']")


def pause_from_the_panel(page: Page, name: str, reason: str, cancel_working: bool = False,
                         kind: str = "account") -> None:
    table = "#accounts" if kind == "account" else "#groups"
    page.locator(f"{table} button[data-name='{name}']").click()
    expect(page.locator("#account-confirm")).to_be_visible()
    expect(page.locator("#account-name")).to_have_text(name)
    page.fill("#account-reason", reason)
    if cancel_working:
        page.check("#account-cancel-working")
    page.click("#account-ok")


def test_without_accounts_in_config_the_panel_is_hidden(served, page):
    connect(page, served, ADMIN_TOKEN)
    expect(page.locator("#positions tbody")).to_contain_text("no position")
    page.wait_for_timeout(300)
    expect(page.locator("#panel-accounts")).to_be_hidden()


def test_a_read_only_token_is_refused_a_pause_and_nothing_changes(desk, page):
    connect(page, desk, READ_TOKEN)
    expect(account_row(page, "alpha")).to_contain_text("active")
    pause_from_the_panel(page, "alpha", "should not pass")
    expect(page.locator("#accounts-message")).to_contain_text("Refused")
    expect(page.locator("#accounts-message")).to_contain_text("an admin token is needed")
    expect(account_row(page, "alpha").locator("[data-status]")).to_have_text("active")
    assert desk.engine.pauses.accounts == set()


def test_the_panel_shows_each_accounts_standing_and_why_it_is_not_eligible(desk, page):
    connect(page, desk, READ_TOKEN)
    alpha, gamma = account_row(page, "alpha"), account_row(page, "gamma")
    expect(alpha.locator("td").nth(3)).to_have_text("60000")
    expect(alpha).to_contain_text("0.00% of 4.00%")
    expect(alpha).to_contain_text("5000 of 5000")
    expect(alpha).to_have_attribute("data-eligible", "true")
    expect(gamma).to_have_attribute("data-eligible", "false")
    expect(gamma.locator(".why")).to_have_text("margin 20000 < 50000")
    expect(account_row(page, "beta")).to_contain_text("no budget")
    expect(account_row(page, "beta")).to_contain_text("0 of 3")
    expect(page.locator("#groups tr[data-group='desk']")).to_contain_text("2 of 3")


def test_pausing_from_the_panel_asks_a_reason_then_the_next_block_skips_the_account(desk, page):
    connect(page, desk, ADMIN_TOKEN)
    page.locator("#accounts button[data-name='alpha']").click()
    page.fill("#account-reason", "changed my mind")
    page.click("#account-dismiss")
    expect(page.locator("#account-confirm")).to_be_hidden()
    assert desk.engine.pauses.accounts == set()
    pause_from_the_panel(page, "alpha", "dashboard test: margin call")
    expect(page.locator("#accounts-message")).to_have_text(
        "account alpha: active -> paused by operator")
    row_ = account_row(page, "alpha")
    expect(row_.locator("[data-status]")).to_have_text("paused")
    expect(row_.locator(".why")).to_have_text("paused")
    expect(row_.get_by_role("button", name="Resume")).to_be_visible()
    assert desk.engine.pauses.accounts == {"alpha"}
    posted = httpx.post(f"{desk.url}/v1/signals", headers=TRADE, json=block("d-1"))
    assert posted.status_code == 201
    assert "alpha" not in posted.json()["reason"]  # beta took it whole
    expect(page.locator("#audit li[data-event=account_status]").first).to_contain_text(
        "dashboard test: margin call")
    pause_from_the_panel(page, "alpha", "margin restored")
    expect(row_.locator("[data-status]")).to_have_text("active")
    lines = [l for l in desk.audit() if l["event"] == "account_status"]
    assert [(l["decision"], l["by"]) for l in lines] == [("paused", "operator"),
                                                         ("active", "operator")]


def test_a_group_paused_elsewhere_shows_without_a_reload(desk, page):
    connect(page, desk, READ_TOKEN)
    group = page.locator("#groups tr[data-group='desk']")
    expect(group.locator("[data-status]")).to_have_text("active")
    r = httpx.post(f"{desk.url}/v1/accounts/desk/status", headers=ADMIN,
                   json={"status": "paused", "reason": "from the CLI"})
    assert r.status_code == 200
    expect(group.locator("[data-status]")).to_have_text("paused")
    expect(account_row(page, "alpha")).to_contain_text("desk (paused)")


def test_the_accounts_panel_is_kept_as_a_screenshot(desk, page, artifacts):
    assert httpx.post(f"{desk.url}/v1/signals", headers=TRADE,
                      json=block("d-1")).status_code == 201
    r = httpx.post(f"{desk.url}/v1/accounts/beta/status", headers=ADMIN,
                   json={"status": "paused", "reason": "end of its day"})
    assert r.status_code == 200
    connect(page, desk, ADMIN_TOKEN)
    expect(account_row(page, "beta").locator("[data-status]")).to_have_text("paused")
    expect(account_row(page, "alpha")).to_contain_text("1")
    panel = page.locator("#panel-accounts")
    path = artifacts / "dashboard-accounts.png"
    panel.screenshot(path=str(path))
    page.screenshot(path=str(artifacts / "dashboard-accounts-page.png"), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
