"""What the journal answers in SQL: orders by outcome, slippage against the expected
price, and the time from sending an order to its first fill, each as counts per fine bin.

Slippage and latency are computed in SQLite's floating point: they only feed charts (the
money sums, fees and PnL, are Decimal in `ledger`). Slippage is signed so that a positive
number is worse than expected: a buy filled above its expected price, a sell below.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ordergate.views.report.binning import Counts

SLIPPAGE_BIN_BPS = 0.1
LATENCY_BIN_S = 0.001

_SLIPPAGE = """
SELECT f.symbol,
       CAST(ROUND((CAST(f.price AS REAL) - CAST(o.expected_price AS REAL))
                  / CAST(o.expected_price AS REAL) * 100000.0
                  * (CASE f.side WHEN 'buy' THEN 1 ELSE -1 END)) AS INTEGER) AS bin,
       COUNT(*)
FROM fills f JOIN orders o ON o.client_order_id = f.client_order_id
WHERE o.expected_price IS NOT NULL AND CAST(o.expected_price AS REAL) > 0
GROUP BY f.symbol, bin
"""  # bin: tenths of a basis point (1e4 bps per unit, times 10)

_SEND_TO_FILL = """
WITH sent AS (SELECT client_order_id, MIN(julianday(ts)) AS at FROM transitions
              WHERE to_status = 'SUBMITTED' GROUP BY client_order_id),
     first AS (SELECT client_order_id, MIN(julianday(ts)) AS at FROM fills
               GROUP BY client_order_id)
SELECT CAST(ROUND((first.at - sent.at) * 86400000.0) AS INTEGER) AS ms, COUNT(*)
FROM first JOIN sent ON sent.client_order_id = first.client_order_id
GROUP BY ms
"""


@dataclass(frozen=True, slots=True)
class JournalStats:
    outcomes: dict[str, int]
    """Orders by their final status in the journal."""
    slippage: dict[str, Counts]
    """Per symbol, fills by slippage against the order's expected price, in bps."""
    send_to_fill: Counts
    """Orders by seconds from SUBMITTED to their first fill."""
    sent_unfilled: int
    """Orders sent that never filled (not in `send_to_fill`)."""


def journal_stats(db: sqlite3.Connection) -> JournalStats:
    outcomes = {str(status): int(n) for status, n in db.execute(
        "SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status")}
    per_symbol: dict[str, dict[float, int]] = {}
    for symbol, tenth, count in db.execute(_SLIPPAGE):
        if tenth is not None:
            per_symbol.setdefault(str(symbol), {})[round(tenth * SLIPPAGE_BIN_BPS, 1)] = int(count)
    latency = {round(ms * LATENCY_BIN_S, 3): int(n)
               for ms, n in db.execute(_SEND_TO_FILL) if ms is not None}
    sent = db.execute("SELECT COUNT(*) FROM transitions"  # once per order, as the summary counts
                      " WHERE to_status = 'SUBMITTED'").fetchone()[0]
    filled = sum(latency.values())
    return JournalStats(outcomes, {s: Counts.of(c) for s, c in sorted(per_symbol.items())},
                        Counts.of(latency), max(0, int(sent) - filled))
