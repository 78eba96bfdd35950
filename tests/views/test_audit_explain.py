"""Spec: `ordergate audit explain ID PATH` tells one signal's story in order — received,
each handler's verdict with its reason, the order's transitions with theirs, each fill,
the position change — and how it ended; an unknown ID is exit 1 with a clear message."""

import json
from decimal import Decimal

from typer.testing import CliRunner

from ordergate.cli import app

runner = CliRunner()


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _explain(*args):
    return runner.invoke(app, ["audit", "explain", *map(str, args)])


def _signal_with(records, predicate):
    """The first signal received once whose lines satisfy `predicate`."""
    received = [r["signal_id"] for r in records if r["event"] == "signal_received"]
    for signal in dict.fromkeys(received):
        if received.count(signal) == 1:
            lines = [r for r in records if r["signal_id"] == signal]
            if predicate(lines):
                return signal, lines
    raise AssertionError("no such signal in the demo")


def test_an_unknown_id_exits_1_saying_what_was_looked_for(demo_log):
    result = _explain("no-such-signal", demo_log)
    assert result.exit_code == 1
    assert "no line of" in result.stderr and "'no-such-signal'" in result.stderr
    assert "signal ID or a client order ID" in result.stderr


def test_without_a_log_or_a_server_exits_2(tmp_path):
    assert _explain("demo-1").exit_code == 2
    missing = _explain("demo-1", tmp_path / "nope.jsonl")
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_a_denied_signal_names_the_handler_its_code_and_reason_and_that_nothing_was_sent(
        demo_log):
    records = _records(demo_log)
    signal, lines = _signal_with(records, lambda ls: any(
        r["decision"] == "deny" for r in ls))
    deny = next(r for r in lines if r["decision"] == "deny")
    result = _explain(signal, demo_log)
    assert result.exit_code == 0
    out = result.stdout.splitlines()
    assert out[0].startswith(f"Signal {signal} (")
    assert f"{deny['handler']} denied it ({deny['code']}): {deny['reason']}" in result.stdout
    assert out[-1] == f"Outcome: denied by {deny['handler']} ({deny['code']}): nothing was sent."
    assert "order" not in result.stdout.replace(deny["reason"], "")
    assert len(out) == len(lines) + 2  # title, one line per record, the outcome


def test_an_admitted_and_filled_signal_tells_verdicts_transitions_fills_and_position(
        demo_log):
    records = _records(demo_log)
    signal, lines = _signal_with(records, lambda ls: any(
        r["event"] == "order_transition" and r["decision"] == "FILLED" for r in ls))
    order = next(r["client_order_id"] for r in lines if r["client_order_id"])
    positions = [r for r in records if r["client_order_id"] == order
                 and r["event"].startswith("position_")]
    result = _explain(signal, demo_log)
    assert result.exit_code == 0
    story = result.stdout
    steps = [r for r in lines] + positions
    for r in steps:
        assert r["reason"] in story, r
    for r in lines:
        if r["event"] == "handler_verdict":
            assert f"{r['handler']} admitted it: {r['reason']}" in story
        if r["event"] == "order_transition":
            assert f"{r['from_status']} -> {r['decision']}: {r['reason']}" in story
        if r["event"] == "fill":
            assert f"fill {r['trade_id']}: {r['reason']}, fee {r['fee']}" in story
    assert "position " in story
    # in the file's order: each step's reason appears after the one before
    order_in_file = [r["reason"] for r in records if r in steps]
    positions_in_story = [story.index(reason) for reason in order_in_file]
    assert positions_in_story == sorted(positions_in_story)
    fills = [r for r in lines if r["event"] == "fill"]
    filled = sum(Decimal(r["quantity"]) for r in fills)
    average = sum(Decimal(r["quantity"]) * Decimal(r["price"]) for r in fills) / filled
    outcome = story.splitlines()[-1]
    assert outcome.startswith(f"Outcome: order {order} FILLED: filled {filled} in "
                              f"{len(fills)} fill")
    assert Decimal(outcome.split("at average ")[1].split(";")[0]) == average.quantize(
        Decimal("0.00000001"))


def test_a_client_order_id_tells_the_same_story_as_its_signal_id(demo_log):
    records = _records(demo_log)
    fill = next(r for r in records if r["event"] == "fill")
    by_order = _explain(fill["client_order_id"], demo_log)
    by_signal = _explain(fill["signal_id"], demo_log)
    assert by_order.exit_code == 0 and by_order.stdout == by_signal.stdout


def test_an_invalid_signal_says_which_field_and_that_nothing_was_sent(demo_log):
    records = _records(demo_log)
    invalid = next(r for r in records if r["event"] == "signal_invalid" and r["signal_id"])
    result = _explain(invalid["signal_id"], demo_log)
    assert result.exit_code == 0
    assert invalid["reason"] in result.stdout
    assert result.stdout.splitlines()[-1] == (
        f"Outcome: invalid input ({invalid['field']}): nothing was sent.")


def test_malformed_lines_do_not_stop_the_story_and_are_mentioned(demo_log, tmp_path):
    lines = demo_log.read_bytes().splitlines(keepends=True)
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"{broken\n" + b"".join(lines[:20]) + b'{"ts":"2026')
    signal = json.loads(lines[1])["signal_id"]
    result = _explain(signal, path)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Signal {signal}")
    assert "2 malformed line(s)" in result.stderr


async def test_a_bracket_tells_entry_then_each_exit_with_its_own_fills_not_their_sum(tmp_path):
    """An exit sells what the entry bought: one total of both would describe neither."""
    from ordergate.testing.scenario import Scenario, quote

    quotes = [quote(0, "42000", "42001", "5"), quote(5, "45001", "45002", "5")]
    async with Scenario(tmp_path, quotes) as s:
        entry = (await s.submit(protect=True)).order
        await s.advance(6)
        await s.advance(1)
        s.engine.audit.flush()
    result = _explain("s-1", tmp_path / "audit.jsonl")
    assert result.exit_code == 0, result.output
    story = result.output
    assert "bracket opened" in story and "bracket finished" in story
    outcome = story.strip().splitlines()[-1]
    assert outcome.startswith(f"Outcome: order {entry.client_order_id} FILLED: filled 0.010 in 1 fill")
    assert "then order" in outcome and "FILLED: filled 0.010 in 1 fill at average 45000" in outcome
    # The stop, one OCO list with the take-profit, ended by the venue when it filled.
    assert "EXPIRED: no fill" in outcome and "filled 0.020" not in outcome
