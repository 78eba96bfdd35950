"""Spec: `ordergate audit explain ID --server URL` tells an order's story from a running
`ordergate serve` (`GET /v1/orders/{id}`): its transitions with their reasons, its fills,
how it ended; by client order ID or by signal ID. A refused signal has no order there
(exit 1, pointing at the audit log); a refused token or an unreachable server is exit 2,
and the token is never printed."""

import socket

import httpx
from typer.testing import CliRunner

from ordergate.cli import app
from ordergate.testing.served import READ, TOKENS, TRADE, signal

runner = CliRunner()
READ_TOKEN = TOKENS["OG_TEST_READ"]


def _explain(*args, env=None):
    return runner.invoke(app, ["audit", "explain", *map(str, args)],
                         env={"OG_TEST_READ": READ_TOKEN} if env is None else env)


def test_a_filled_signal_by_signal_id_and_by_order_id_from_the_server(served):
    posted = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("srv-1"))
    assert posted.status_code == 201
    order_id = posted.json()["client_order_id"]
    view = httpx.get(f"{served.url}/v1/orders/{order_id}", headers=READ).json()
    by_signal = _explain("srv-1", "--server", served.url, "--token-env", "OG_TEST_READ")
    assert by_signal.exit_code == 0, by_signal.stderr
    story = by_signal.stdout
    assert story.startswith(f"Order {order_id} for signal srv-1 (strategy http-test, "
                            "account main, at sim): buy 0.0100 BTC/USDT")
    assert view["transitions"] and view["fills"]
    for t in view["transitions"]:
        assert f"{t['from']} -> {t['to']}: {t['reason']}" in story
    for f in view["fills"]:
        assert f"fill {f['trade_id']}: {f['quantity']} @ {f['price']}" in story
    assert story.splitlines()[-1].startswith(
        f"Outcome: FILLED: filled {view['filled_quantity']} of {view['quantity']} in "
        f"{len(view['fills'])} fill")
    by_order = _explain(order_id, "--server", served.url, "--token-env", "OG_TEST_READ")
    assert by_order.exit_code == 0 and by_order.stdout == story
    assert READ_TOKEN not in story + by_signal.stderr


def test_with_the_log_as_well_the_verdicts_come_first_then_the_servers_order(served):
    posted = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("srv-2"))
    assert posted.status_code == 201
    served.audit()  # flushed to the file
    result = _explain("srv-2", served.tmp / "audit.jsonl", "--server", served.url,
                      "--token-env", "OG_TEST_READ")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Signal srv-2 (strategy http-test, account main")
    assert "risk admitted it" in result.stdout
    assert f"\n\nOrder {posted.json()['client_order_id']} for signal srv-2" in result.stdout


def test_a_refused_signal_has_no_order_on_the_server_exit_1_pointing_at_the_log(served):
    refused = httpx.post(f"{served.url}/v1/signals", headers=TRADE,
                         json=signal("far-1", order_type="limit", limit_price="30000"))
    assert refused.status_code == 200
    result = _explain("far-1", "--server", served.url, "--token-env", "OG_TEST_READ")
    assert result.exit_code == 1
    assert "has no order for 'far-1'" in result.stderr and "audit log" in result.stderr


def test_a_wrong_or_missing_token_is_exit_2_naming_the_variable_not_the_token(served):
    wrong = _explain("anything", "--server", served.url, "--token-env", "OG_TOKEN",
                     env={"OG_TOKEN": "not-the-token-s3cr3t"})
    assert wrong.exit_code == 2
    assert "refused the token in $OG_TOKEN: 401" in wrong.stderr
    assert "s3cr3t" not in wrong.stderr + wrong.stdout
    missing = _explain("anything", "--server", served.url, env={"ORDERGATE_TOKEN": ""})
    assert missing.exit_code == 2
    assert "no token ($ORDERGATE_TOKEN is not set)" in missing.stderr


def test_an_unreachable_server_is_exit_2():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _explain("demo-1", "--server", f"http://127.0.0.1:{port}")
    assert result.exit_code == 2
    assert f"cannot reach http://127.0.0.1:{port}" in result.stderr
