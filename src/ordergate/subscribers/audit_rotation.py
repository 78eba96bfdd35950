"""`size_limit`: the audit file's rotation as a number of bytes, when it is a size.

Why: live, the audit sink writes each decision's lines to the file itself (one `os.write`)
rather than through a loguru record, whose making (the caller's frame, process and thread,
the time, each handler's filter and format) cost more than the write: 16.6 µs a batch
against 2.5 µs, measured on the development machine (2026-12-08). loguru stays the file's
rotator: a batch that would take the file past its size goes through loguru, which rotates
first (retention and compression as configured), and the sink writes to the new file from
then on. For the two to agree on when that is, loguru is handed the number found here
instead of the text, and checks `size + len(batch) > limit` as the sink does.

A rotation by time or interval is decided by loguru at each write, so with one every
batch goes through loguru, as before.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# loguru's own grammar for a size (loguru/_string_parsers.py, parse_size): a number, an
# optional unit prefix, an optional `i` (powers of 1024), then `B` for bytes or `b` for bits.
_SIZE = re.compile(r"([e\+\-\.\d]+)\s*([kmgtpezy])?(i)?(b)", flags=re.I)


def size_limit(rotation: str) -> int | None:
    """Whole bytes for a size ("100 MB", "1 GiB", "800 B"); None for a rotation by time or
    interval ("00:00", "1 day"). A fraction of a byte is dropped: loguru is handed this
    number, so the two agree whatever it is."""
    found = _SIZE.fullmatch(rotation.strip())
    if found is None:
        return None
    number, unit, binary, bits = found.groups()
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None  # loguru refuses it at load (`config/journal.py`)
    power = "kmgtpezy".index(unit.lower()) + 1 if unit else 0
    return int(value * (1024 if binary else 1000) ** power / (8 if bits == "b" else 1))
