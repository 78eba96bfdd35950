"""Spec: `ordergate audit tail` on a replay's audit.jsonl — refuses what it cannot do as
asked (exit 2, saying why), shows malformed lines for what they are and counts them,
gives `jq` the file's own bytes, and with --follow shows a new record within a second."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordergate.cli import app

ORDERGATE = Path(sys.executable).parent / "ordergate"
runner = CliRunner()


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _tail(*args):
    return runner.invoke(app, ["audit", "tail", *map(str, args)])


def test_a_misspelt_event_exits_2_naming_it(demo_log):
    result = _tail(demo_log, "--event", "fills")
    assert result.exit_code == 2
    assert "--event fills: not an audit event" in result.stderr
    assert "fill," in result.stderr and result.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--since", "last tuesday"], "not an ISO-8601 time"),
    (["--until", "2026-01-02T25:00"], "not an ISO-8601 time"),
])
def test_a_bad_time_exits_2(demo_log, args, message):
    result = _tail(demo_log, *args)
    assert result.exit_code == 2 and message in result.stderr


def test_from_end_without_follow_exits_2(demo_log):
    result = _tail(demo_log, "--from-end")
    assert result.exit_code == 2 and "--from-end goes with --follow" in result.stderr


def test_a_missing_file_or_a_directory_exits_2(tmp_path):
    missing = _tail(tmp_path / "nope.jsonl")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    directory = _tail(tmp_path)
    assert directory.exit_code == 2 and "is a directory" in directory.stderr


def test_malformed_and_truncated_lines_are_shown_counted_and_do_not_stop_the_rest(
        demo_log, tmp_path):
    good = demo_log.read_bytes().splitlines(keepends=True)
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"".join(good[:3]) + b"not json at all\n" + b"[1,2]\n"
                     + b"".join(good[3:10]) + b'{"ts":"2026-01-02T00:00:31+00:00","eve')
    result = _tail(path)
    assert result.exit_code == 0
    out = result.stdout.splitlines()
    assert len(out) == 3 + 2 + 7 + 1  # one line per line of the file, in file order
    assert out[3].startswith("malformed line 4: not json at all")
    assert out[4].startswith("malformed line 5: [1,2]") and "not an object" in out[4]
    assert out[-1].startswith("malformed line 13: ") and "truncated" in out[-1]
    assert "3 malformed line(s)" in result.stderr and "line 4, 5, 13" in result.stderr
    as_json = _tail(path, "--json")
    assert as_json.exit_code == 0
    assert as_json.stdout.encode() == b"".join(good[:10])  # jq still reads JSON only
    assert "malformed line 4" in as_json.stderr


def test_an_empty_file_shows_nothing_and_says_so(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    result = _tail(path)
    assert result.exit_code == 0 and result.stdout == ""
    assert "0 of 0 records shown" in result.stderr


def test_json_is_the_files_bytes(demo_log):
    result = _tail(demo_log, "--json")
    assert result.exit_code == 0
    assert result.stdout_bytes == demo_log.read_bytes()


def test_json_with_a_filter_is_the_files_matching_lines_byte_for_byte(demo_log):
    result = _tail(demo_log, "--json", "--decision", "deny")
    lines = demo_log.read_bytes().splitlines(keepends=True)
    expected = [line for line in lines if json.loads(line)["decision"] == "deny"]
    assert expected and result.stdout_bytes == b"".join(expected)


def test_each_record_is_one_line_with_its_reason_whole(demo_log):
    result = _tail(demo_log)
    records = _records(demo_log)
    out = result.stdout.splitlines()
    assert len(out) == len(records)
    for line, record in zip(out, records, strict=True):
        assert record["reason"] in line
        assert record["decision"] in line


def test_signal_shows_its_orders_lines_that_name_only_the_order(demo_log):
    records = _records(demo_log)
    position = next(r for r in records if r["event"] == "position_changed")
    signal = next(r["signal_id"] for r in records
                  if r["client_order_id"] == position["client_order_id"] and r["signal_id"])
    result = _tail(demo_log, "--signal", signal, "--json")
    shown = [json.loads(line) for line in result.stdout.splitlines()]
    assert position in shown
    order = position["client_order_id"]
    expected = [r for r in records if r["signal_id"] == signal
                or r["client_order_id"] == order]
    assert shown == expected
    assert {"signal_received", "handler_verdict", "order_transition", "fill"} <= {
        r["event"] for r in shown}


@pytest.mark.parametrize("option, key", [("--order", "client_order_id"),
                                         ("--event", "event"), ("--decision", "decision")])
def test_a_filter_on_a_field_shows_exactly_the_lines_with_that_value(demo_log, option, key):
    records = _records(demo_log)
    value = next(r[key] for r in records if r["event"] == "fill")
    result = _tail(demo_log, option, value, "--json")
    shown = [json.loads(line) for line in result.stdout.splitlines()]
    assert shown == [r for r in records if r[key] == value]


def _on(records, symbol, account):
    """The spec restated: a line is about the symbol and account of its own fields, else
    of its order (what its signal said when the order was made), else of its signal's
    latest reception (the demo reuses signal IDs for other symbols)."""
    latest, of_order, signal_of, keep = {}, {}, {}, []
    for r in records:
        sid, cid = r["signal_id"], r["client_order_id"]
        if cid and sid:
            signal_of.setdefault(cid, sid)
        sid = sid or signal_of.get(cid)
        if r["event"] == "signal_received":
            latest[sid] = (r["reason"].split()[2], r["account_id"])
        if cid and cid not in of_order and sid in latest:
            of_order[cid] = latest[sid]
        sym, acct = of_order.get(cid) or latest.get(sid) or (None, None)
        if r.get("symbol", sym) == symbol and r.get("account_id", acct) == account:
            keep.append(r)
    return keep


def test_symbol_and_account_show_the_signals_whole_story(demo_log):
    records = _records(demo_log)
    result = _tail(demo_log, "--symbol", "SOL/USDT", "--account", "main", "--json")
    shown = [json.loads(line) for line in result.stdout.splitlines()]
    assert shown == _on(records, "SOL/USDT", "main")
    assert {"signal_received", "handler_verdict", "order_transition", "fill",
            "position_changed"} <= {r["event"] for r in shown}
    assert len(shown) < len(records)
    none = _tail(demo_log, "--account", "nobody", "--json")
    assert none.stdout == "" and "0 of" in none.stderr


def test_since_and_until_keep_the_window_of_engine_time(demo_log):
    records = _records(demo_log)
    since, until = records[100]["ts"], records[200]["ts"]
    result = _tail(demo_log, "--since", since, "--until", until, "--json")
    shown = [json.loads(line) for line in result.stdout.splitlines()]
    assert shown == [r for r in records if since <= r["ts"] <= until]  # one fixed offset


def test_a_decision_no_line_has_is_pointed_out(demo_log):
    result = _tail(demo_log, "--decision", "denied")
    assert result.exit_code == 0
    assert "no line of" in result.stderr and "decision denied" in result.stderr
    assert "deny" in result.stderr  # what it has


def _follower(path, *args):
    return subprocess.Popen([str(ORDERGATE), "audit", "tail", str(path), "--follow",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _read_line(proc, timeout):
    os.set_blocking(proc.stdout.fileno(), False)
    deadline, data = time.monotonic() + timeout, b""
    while time.monotonic() < deadline:
        chunk = proc.stdout.read()
        if chunk:
            data += chunk
            if data.endswith(b"\n"):
                return data
        time.sleep(0.01)
    return data


def test_follow_shows_a_line_appended_by_another_process_within_a_second(tmp_path):
    path = tmp_path / "audit.jsonl"
    first = b'{"ts":"2026-01-02T00:00:05+00:00","event":"signal_received","signal_id":"a"}\n'
    path.write_bytes(first)
    proc = _follower(path, "--json")
    try:
        assert _read_line(proc, 15) == first  # up and reading (start-up is not timed)
        line = first.replace(b'"a"', b'"b"')
        with open(path, "ab") as fh:
            fh.write(line)
        written = time.monotonic()
        assert _read_line(proc, 1.0) == line
        assert time.monotonic() - written < 1.0
        # a line in the making is not shown (nor as malformed) until its newline
        with open(path, "ab") as fh:
            fh.write(line[:20])
        assert _read_line(proc, 0.5) == b""
        with open(path, "ab") as fh:
            fh.write(line[20:])
        assert _read_line(proc, 1.0) == line
    finally:
        proc.terminate()
        proc.wait(5)
    assert b"malformed" not in proc.stderr.read()


def test_follow_in_text_follows_a_rotation(tmp_path):
    path = tmp_path / "audit.jsonl"
    record = ('{{"ts":"2026-01-02T00:00:05+00:00","event":"handler_verdict",'
              '"signal_id":"{}","handler":"risk","decision":"deny","reason":"{}"}}\n')
    path.write_text(record.format("s-1", "first"))
    proc = _follower(path, "--decision", "deny")
    try:
        assert b"first" in _read_line(proc, 15)
        with open(path, "a") as old:
            old.write(record.format("s-2", "just before the rename"))
        os.rename(path, tmp_path / "audit.2026-01-02_00-00-10_000000.jsonl")
        path.write_text(record.format("s-3", "in the new file"))
        got = _read_line(proc, 1.5)
        while got.count(b"\n") < 2:
            more = _read_line(proc, 1.0)
            assert more, got
            got += more
        assert b"just before the rename" in got and b"in the new file" in got
        assert got.index(b"before the rename") < got.index(b"new file")
    finally:
        proc.terminate()
        proc.wait(5)
