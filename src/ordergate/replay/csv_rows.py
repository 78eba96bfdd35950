"""`write_csv_rows`: rows as `csv.writer(handle, lineterminator="\\n")` writes them, byte for
byte, without the csv module for the rows that need no quoting.

A replay's fills.csv is a row a fill. The csv module checks every character of every field
against the line terminator with a call of its own (`PyUnicode_FindChar` from
`join_append`, 3.11): about 25,000 instructions a fill row of twelve fields, 2% of what a
market order costs in a replay (callgrind). A row of plain text, with no delimiter, quote
or line break in any field, is its fields joined by commas, which is what the csv module
writes for it; any other row (or one holding something that is not text) is left to the
csv module, so quoting is its, unchanged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

_QUOTE_OR_BREAK = re.compile(r'["\r\n]')
_BATCH = 4096  # lines a write


def write_csv_rows(handle: TextIO, rows: Iterable[Sequence[Any]], width: int) -> None:
    """Write `rows` of `width` fields each (more than one) to `handle`."""
    if width < 2:
        raise ValueError("a row of one field is left to the csv module (an empty one is quoted)")
    writer = csv.writer(handle, lineterminator="\n")
    commas = width - 1
    plain: list[str] = []
    for row in rows:
        try:
            line = ",".join(row)
        except TypeError:  # not all text (None, a number): as the csv module writes it
            line = ""
        if line and line.count(",") == commas and len(row) == width \
                and _QUOTE_OR_BREAK.search(line) is None:
            plain.append(line)
            if len(plain) == _BATCH:
                handle.write("\n".join(plain) + "\n")
                plain.clear()
            continue
        if plain:
            handle.write("\n".join(plain) + "\n")
            plain.clear()
        writer.writerow(row)
    if plain:
        handle.write("\n".join(plain) + "\n")
