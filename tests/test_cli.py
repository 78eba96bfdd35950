"""The CLI: its console logging (what an operator's terminal, or a log collector reading
it, may receive), and `ordergate accounts pause|resume|show` against a served engine."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

import httpx
import pytest
from loguru import logger
from typer.testing import CliRunner

from ordergate.cli import _quiet_loguru, app
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.testing.served import (
    READ, TOKENS, TRADE, Served, block,
)

SECRET = "s3cr3t-value-of-a-local-variable"


def _fails_with_a_secret_in_a_local() -> None:
    api_secret = SECRET
    raise RuntimeError(len(api_secret))


@pytest.fixture
def console_logging() -> Iterator[None]:
    """`_quiet_loguru` replaces every loguru handler; put a default one back after."""
    try:
        yield
    finally:
        logger.remove()
        logger.add(sys.stderr)


def test_a_traceback_on_the_console_shows_no_variable_values(
        console_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    # loguru's default diagnose=True prints each variable's value on every traceback line.
    _quiet_loguru()
    try:
        _fails_with_a_secret_in_a_local()
    except RuntimeError:
        logger.exception("something failed")
    err = capsys.readouterr().err
    assert "something failed" in err and "RuntimeError" in err
    assert SECRET not in err


# ------------------------------------------------------------------ ordergate accounts

runner = CliRunner()
ADMIN_ENV = {"OG_TEST_ADMIN": TOKENS["OG_TEST_ADMIN"], "OG_TEST_READ": TOKENS["OG_TEST_READ"],
             "OG_TEST_TRADE": TOKENS["OG_TEST_TRADE"]}



def _accounts(served: Served, *args: str, token_env: str = "OG_TEST_ADMIN",
              env: dict[str, str] | None = None):
    return runner.invoke(app, ["accounts", *args, "--server", served.url,
                               "--token-env", token_env],
                         env=ADMIN_ENV if env is None else env)


def test_accounts_without_a_server_is_exit_2_saying_how_to_give_one() -> None:
    result = runner.invoke(app, ["accounts", "show", "alpha"], env={"ORDERGATE_SERVER": ""})
    assert result.exit_code == 2
    assert "--server URL or $ORDERGATE_SERVER" in result.stderr


def test_pausing_with_a_read_or_trade_token_is_refused_exit_2_and_nothing_changes(desk):
    for env in ("OG_TEST_READ", "OG_TEST_TRADE"):
        result = _accounts(desk, "pause", "alpha", "--reason", "not mine", token_env=env)
        assert result.exit_code == 2
        assert "refused the token in $" + env in result.stderr and "403" in result.stderr
        assert TOKENS[env] not in result.stdout + result.stderr
    assert desk.engine.pauses.accounts == set()
    unset = _accounts(desk, "pause", "alpha", "--reason", "x", token_env="OG_NOT_SET")
    assert unset.exit_code == 2 and "no token ($OG_NOT_SET is not set)" in unset.stderr


def test_an_unknown_name_is_exit_1_and_an_unreachable_server_exit_2(desk):
    result = _accounts(desk, "pause", "nobody", "--reason", "typo")
    assert result.exit_code == 1 and "knows no account or group 'nobody'" in result.stderr
    assert _accounts(desk, "show", "main").exit_code == 1  # an account, not one of blocks
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    gone = runner.invoke(app, ["accounts", "show", "alpha", "--server", closed], env=ADMIN_ENV)
    assert gone.exit_code == 2 and "cannot reach" in gone.stderr


def test_pause_then_a_block_gives_the_account_no_child_then_resume(desk):
    paused = _accounts(desk, "pause", "alpha", "--reason", "margin call")
    assert paused.exit_code == 0, paused.stderr
    assert paused.stdout.strip() == "account alpha: active -> paused by operator"
    assert httpx.post(f"{desk.url}/v1/signals", headers=TRADE,
                      json=block("c-1")).status_code == 201
    alpha = client_order_id_for("http-test", "alpha", "c-1")
    assert httpx.get(f"{desk.url}/v1/orders/{alpha}", headers=READ).status_code == 404
    again = _accounts(desk, "pause", "alpha", "--reason", "still")
    assert again.exit_code == 0 and "already paused (nothing changed)" in again.stdout
    resumed = _accounts(desk, "resume", "alpha", "--reason", "margin restored")
    assert resumed.stdout.strip() == "account alpha: paused -> active by operator"
    line = [l for l in desk.audit() if l["event"] == "account_status"][-1]
    assert (line["decision"], line["by"]) == ("active", "operator")
    assert "margin restored" in line["reason"]


def test_pause_with_cancel_working_names_the_orders_it_cancelled(desk):
    resting = block("c-1", order_type="limit", limit_price="42000")
    assert httpx.post(f"{desk.url}/v1/signals", headers=TRADE, json=resting).status_code == 201
    result = _accounts(desk, "pause", "desk", "--reason", "flatten", "--cancel-working")
    assert result.exit_code == 0, result.stderr
    ids = sorted(client_order_id_for("http-test", a, "c-1") for a in ("alpha", "beta"))
    assert result.stdout.startswith("group desk: active -> paused by operator; cancelled 2 "
                                    "working order(s): ")
    assert sorted(result.stdout.strip().split(": ")[-1].split(", ")) == ids


def test_show_an_account_and_a_group_in_words(desk):
    _accounts(desk, "pause", "beta", "--reason", "resting")
    shown = _accounts(desk, "show", "alpha", token_env="OG_TEST_READ")
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "account alpha: active; groups desk (active)"
    assert lines[1].startswith("  at sim, in USDT, day ")
    assert lines[2] == "  equity 60000, available margin 60000 (minimum 0)"
    assert lines[3] == ("  start of day 60000 (not recorded yet: equity now), day PnL 0, "
                        "drawdown 0.00% (limit 4.00%)")
    assert lines[4] == "  risk budget 5000, spent 0, left 5000"
    assert lines[5] == "  open positions 0"
    assert lines[6] == "  eligible: margin 60000, drawdown 0.00%, budget left 5000"
    group = _accounts(desk, "show", "desk", token_env="OG_TEST_READ")
    assert group.stdout.splitlines() == [
        "group desk: active, policy equal, 1 of 2 account(s) eligible",
        "  alpha: active, equity 60000, eligible: margin 60000, drawdown 0.00%, budget left 5000",
        "  beta: paused, equity 30000, NOT eligible: paused"]
