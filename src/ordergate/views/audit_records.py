"""Reading an audit log as records: streamed line by line, each parsed by orjson, a bad
line kept as what it is (a `Record` with a `problem`) instead of an exception.

Why a record keeps its raw bytes: `ordergate audit tail --json` hands `jq` exactly the
file's lines, not a re-encoding that could reorder keys or change a number's spelling.

Two readers:
- `read_lines(path)`: the file as it is now, streamed (a 100 MB log is never in memory at
  once). A last line without its newline is a write cut short (a crash mid-line); it is
  still parsed, and flagged `complete=False` so that a line that does not parse says why.
- `follow(path)`: the same, then every line appended after, polled every `poll_s`. It
  follows loguru's rotation (the file renamed, a new one created at `path`): the old file
  is read to its end before the new one is opened, so the lines written just before the
  switch are not lost. A file truncated in place (`copytruncate`) is read again from its
  start. Both are announced as a `Notice`, never silently. A partial last line waits for
  its newline: it is being written, it is not malformed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

POLL_S = 0.2
"""How often `follow` looks for new lines: a record shows within about this long."""
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class RawLine:
    number: int
    """1-based line number in the file it came from (a rotated-in file starts again at 1)."""
    raw: bytes
    """The line's bytes, without the newline."""
    complete: bool
    """False for a last line that never got its newline."""


@dataclass(frozen=True, slots=True)
class Notice:
    """Something about the file, not a line of it: rotated, truncated, waiting for it."""

    text: str


@dataclass(frozen=True, slots=True)
class Record:
    number: int
    raw: bytes
    fields: Mapping[str, Any] | None
    """The line's JSON object; None when the line is malformed."""
    problem: str = ""
    """Why the line is not a record (empty when it is one)."""

    def text(self, key: str) -> str | None:
        """A field as text (None when absent or null): what filters and views compare."""
        if self.fields is None:
            return None
        value = self.fields.get(key)
        return None if value is None else str(value)


def parse(line: RawLine) -> Record:
    """The line as a record, or as a malformed one saying what is wrong with it."""
    cut = "" if line.complete else " (truncated: the line has no newline)"
    if not line.raw.strip():
        return Record(line.number, line.raw, None, "empty line" + cut)
    try:
        value = orjson.loads(line.raw)
    except orjson.JSONDecodeError as exc:
        return Record(line.number, line.raw, None, f"not JSON: {exc}{cut}")
    if not isinstance(value, dict):
        return Record(line.number, line.raw, None,
                      f"JSON {type(value).__name__}, not an object{cut}")
    return Record(line.number, line.raw, value)


def read_lines(path: Path) -> Iterator[RawLine]:
    """The file's lines as they are now, streamed."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if line.endswith(b"\n"):
                yield RawLine(number, line[:-1], True)
            else:
                yield RawLine(number, line, False)


def follow(path: Path, *, poll_s: float = POLL_S, stop: threading.Event | None = None,
           from_start: bool = True) -> Iterator[RawLine | Notice]:
    """Every line of `path`, then each new one as it is written, until `stop` is set.

    `from_start=False` skips what the file holds now (only new lines). A missing file is
    waited for (a live engine may not have written its first line yet)."""
    stop = stop or threading.Event()
    fh = _open(path)
    if fh is None:
        yield Notice(f"waiting for {path} to appear")
        while fh is None:
            if stop.wait(poll_s):
                return
            fh = _open(path)
    elif not from_start:
        fh.seek(0, os.SEEK_END)
    reader = _Reader(fh)
    try:
        while True:
            lines = reader.read()
            if lines:
                yield from lines
                continue
            if stop.is_set():
                yield from reader.rest()  # a line cut short when we stop: shown for what it is
                return
            switched = _switched(path, reader)
            if switched == "rotated":
                new = _open(path)
                if new is not None:
                    yield from reader.read_to_end()
                    yield from reader.rest()  # the old file's last line never ended
                    reader.close()
                    old_inode, reader = reader.inode, _Reader(new)
                    for between in rotated_since(path, old_inode, reader.inode):
                        yield Notice(f"{path} was rotated more than once between two reads: "
                                     f"reading {between.name}")
                        yield from read_lines(between)
                    yield Notice(f"{path} was rotated: following the new file")
                    continue
            elif switched == "truncated":
                yield from reader.rest()
                reader.restart()
                yield Notice(f"{path} was truncated: reading it again from its start")
                continue
            stop.wait(poll_s)
    finally:
        reader.close()


class _Reader:
    """One open file, read in chunks into whole lines; a partial last line is kept back."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.inode = os.fstat(fh.fileno()).st_ino
        self.position = fh.tell()
        self.pending = b""
        self.number = 0

    def read(self) -> list[RawLine]:
        chunk = self.fh.read(_CHUNK)
        if not chunk:
            return []
        self.position += len(chunk)
        *whole, self.pending = (self.pending + chunk).split(b"\n")
        out = []
        for raw in whole:
            self.number += 1
            out.append(RawLine(self.number, raw, True))
        return out

    def read_to_end(self) -> Iterator[RawLine]:
        while lines := self.read():
            yield from lines

    def rest(self) -> Iterator[RawLine]:
        if self.pending:
            self.number += 1
            yield RawLine(self.number, self.pending, False)
            self.pending = b""

    def restart(self) -> None:
        self.fh.seek(0)
        self.position, self.pending, self.number = 0, b"", 0

    def close(self) -> None:
        self.fh.close()


def _open(path: Path) -> BinaryIO | None:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None  # not there (yet): `follow` says it waits, `read_lines` callers say no file


def rotated_since(path: Path, old: int, new: int) -> list[Path]:
    """The files loguru rotated out after the file `old` (an inode) and before `new`, the
    one now at `path`: more than one rotation between two polls (a tiny `rotation` size,
    a burst of lines) leaves files we never opened. loguru names a rotated file
    `{stem}.{time}{suffix}`, which sorts in time order; a compressed one cannot be read
    here, and one that is gone is gone (retention)."""
    rotated: list[tuple[str, Path, int]] = []
    for candidate in path.parent.glob(f"{path.stem}.*{path.suffix}"):
        try:
            inode = candidate.stat().st_ino
        except FileNotFoundError:
            continue  # removed by retention between listing and looking: nothing to read
        rotated.append((candidate.name, candidate, inode))
    rotated.sort()
    names = [name for name, _, inode in rotated if inode == old]
    if not names:
        return []
    return [p for name, p, inode in rotated if name > names[0] and inode not in (old, new)]


def _switched(path: Path, reader: _Reader) -> str:
    """"rotated" (another file at `path`), "truncated" (ours, shorter than we read) or ""."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ""  # renamed and the new one not there yet: keep reading the old one
    if st.st_ino != reader.inode:
        return "rotated"
    if st.st_size < reader.position:
        return "truncated"
    return ""
