"""Spec: reading an audit log never raises on what is in it, and following one loses no
line: not the one being written (it waits for its newline), not the ones written to the
old file just before loguru rotated it."""

import os
import queue
import threading
import time

import pytest

from ordergate.views.audit_records import Notice, RawLine, follow, parse, read_lines

GOOD = b'{"ts":"2026-01-02T00:00:05+00:00","event":"signal_received","signal_id":"s-1"}'


@pytest.mark.parametrize("raw, problem", [
    (b'{"ts":"2026-01-02T00:00:05+00:00","event":"sig', "not JSON"),
    (b"hello world", "not JSON"),
    (b"[1, 2, 3]", "JSON list, not an object"),
    (b'"just a string"', "JSON str, not an object"),
    (b"42", "JSON int, not an object"),
    (b"null", "JSON NoneType, not an object"),
    (b"", "empty line"),
    (b"   ", "empty line"),
    (b'{"a": 1}\xff\xfe', "not JSON"),
    (b"\x00\x01\x1b[31m", "not JSON"),
])
def test_a_line_that_is_not_a_json_object_is_a_malformed_record_saying_why(raw, problem):
    record = parse(RawLine(7, raw, True))
    assert record.fields is None
    assert record.number == 7 and record.raw == raw
    assert problem in record.problem


def test_a_line_cut_short_says_so():
    record = parse(RawLine(3, GOOD[:30], False))
    assert record.fields is None
    assert "truncated" in record.problem


def test_a_json_object_is_a_record_with_its_raw_bytes_kept():
    record = parse(RawLine(1, GOOD, True))
    assert record.fields is not None and record.fields["signal_id"] == "s-1"
    assert record.raw == GOOD and record.problem == ""


def test_read_lines_flags_a_last_line_without_newline_and_numbers_every_line(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(GOOD + b"\n\n" + GOOD + b"\n" + GOOD[:20])
    lines = list(read_lines(path))
    assert [(l.number, l.complete) for l in lines] == [(1, True), (2, True), (3, True),
                                                       (4, False)]
    assert lines[0].raw == GOOD and lines[1].raw == b"" and lines[3].raw == GOOD[:20]


def test_read_lines_of_an_empty_file_is_empty(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    assert list(read_lines(path)) == []


class Follower:
    """`follow()` in a thread, its items in a queue, stopped at the end of the test."""

    def __init__(self, path, **kwargs):
        self.stop = threading.Event()
        self.items = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(path,), kwargs=kwargs,
                                       daemon=True)
        self.thread.start()

    def _run(self, path, **kwargs):
        for item in follow(path, poll_s=0.05, stop=self.stop, **kwargs):
            self.items.put(item)

    def next_line(self, timeout=1.0):
        """The next line (notices are collected in `self.notices`)."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(deadline - time.monotonic(), 0.001))
            if isinstance(item, Notice):
                self.notices.append(item.text)
                continue
            return item

    notices: list

    def nothing_for(self, seconds):
        try:
            item = self.items.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected {item!r}")

    def close(self):
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive()


@pytest.fixture
def follower():
    made = []

    def start(path, **kwargs):
        f = Follower(path, **kwargs)
        f.notices = []
        made.append(f)
        return f

    yield start
    for f in made:
        f.close()


def _append(path, data):
    with open(path, "ab") as fh:
        fh.write(data)


def test_follow_shows_an_appended_line_within_a_second(tmp_path, follower):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(GOOD + b"\n")
    f = follower(path)
    assert f.next_line().raw == GOOD
    line = GOOD.replace(b"s-1", b"s-2")
    written = time.monotonic()
    _append(path, line + b"\n")
    assert f.next_line(timeout=1.0).raw == line
    assert time.monotonic() - written < 1.0


def test_follow_holds_back_a_partial_line_until_its_newline(tmp_path, follower):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    f = follower(path)
    _append(path, GOOD[:25])
    assert f.nothing_for(0.3)  # being written: not shown, and not as malformed
    _append(path, GOOD[25:] + b"\n")
    line = f.next_line()
    assert line.raw == GOOD and line.complete


def test_follow_from_the_end_skips_what_is_there(tmp_path, follower):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(GOOD + b"\n")
    f = follower(path, from_start=False)
    assert f.nothing_for(0.2)
    _append(path, b'{"new":1}\n')
    assert f.next_line().raw == b'{"new":1}'


def test_follow_waits_for_a_file_that_is_not_there_yet(tmp_path, follower):
    path = tmp_path / "audit.jsonl"
    f = follower(path)
    assert f.items.get(timeout=1).text.startswith("waiting for")
    path.write_bytes(GOOD + b"\n")
    assert f.next_line().raw == GOOD


def test_follow_reads_the_rotated_file_to_its_end_then_the_new_one(tmp_path, follower):
    # loguru's rotation: the file is renamed, a new one created at the same path.
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"n":1}\n')
    f = follower(path)
    assert f.next_line().raw == b'{"n":1}'
    with open(path, "ab") as old:  # written just before the switch, before we poll again
        old.write(b'{"n":2}\n{"n":3}\n')
        os.rename(path, tmp_path / "audit.2026-01-02_00-00-00.jsonl")
        old.write(b'{"n":4}\n')  # the writer's last line, after the rename
    path.write_bytes(b'{"n":5}\n')
    _append(path, b'{"n":6}\n')
    got = [f.next_line().raw for _ in range(5)]
    assert got == [b'{"n":2}', b'{"n":3}', b'{"n":4}', b'{"n":5}', b'{"n":6}']
    assert any("rotated" in n for n in f.notices)
    _append(path, b'{"n":7}\n')
    assert f.next_line().raw == b'{"n":7}'


def test_follow_survives_the_path_being_missing_for_a_while_during_rotation(tmp_path,
                                                                           follower):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"n":1}\n')
    f = follower(path)
    assert f.next_line().raw == b'{"n":1}'
    os.rename(path, tmp_path / "old.jsonl")
    assert f.nothing_for(0.2)
    _append(tmp_path / "old.jsonl", b'{"n":2}\n')
    assert f.next_line().raw == b'{"n":2}'
    path.write_bytes(b'{"n":3}\n')
    assert f.next_line().raw == b'{"n":3}'


def test_follow_shows_the_old_files_unfinished_last_line_as_cut_short(tmp_path, follower):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"n":1}\n{"n":')
    f = follower(path)
    assert f.next_line().raw == b'{"n":1}'
    os.rename(path, tmp_path / "old.jsonl")
    path.write_bytes(b'{"n":3}\n')
    cut = f.next_line()
    assert cut.raw == b'{"n":' and not cut.complete
    assert "truncated" in parse(cut).problem
    assert f.next_line().raw == b'{"n":3}'


def test_follow_reads_a_file_truncated_in_place_again_from_its_start(tmp_path, follower):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"n":1}\n{"n":2}\n')
    f = follower(path)
    assert [f.next_line().raw for _ in range(2)] == [b'{"n":1}', b'{"n":2}']
    with open(path, "wb") as fh:  # copytruncate
        fh.write(b'{"n":3}\n')
    line = f.next_line()
    assert line.raw == b'{"n":3}' and line.number == 1
    assert any("truncated" in n for n in f.notices)


def test_follow_loses_no_line_across_real_loguru_rotations(tmp_path, follower):
    from loguru import logger

    path = tmp_path / "audit.jsonl"
    sink = logger.add(path, format="{message}", rotation="400 B", catch=False,
                      filter=lambda record: record["extra"].get("rotation_test") is True)
    log = logger.bind(rotation_test=True).info
    try:
        log('{"n":0}')
        f = follower(path)
        got = [parse(f.next_line()).fields["n"]]
        for n in range(1, 60):
            log(f'{{"n":{n},"pad":"{"x" * 40}"}}')
            if n % 7 == 0:
                time.sleep(0.06)  # let the follower poll between some of the writes
        got += [parse(f.next_line(timeout=2)).fields["n"] for _ in range(59)]
    finally:
        logger.remove(sink)
    assert got == list(range(60))
    assert len(list(tmp_path.iterdir())) > 2  # it did rotate, more than once
    assert any("rotated" in n for n in f.notices)
