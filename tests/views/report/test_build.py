"""The report's numbers are the replay's: Decimal sums recomputed from the journal equal
summary.json to the last digit, and the counts add up."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.views.report import ledger as ledger_module
from ordergate.views.report.build import build
from ordergate.views.report.charts import fills as fills_chart
from ordergate.views.report.timeline import GRID_POINTS

EIGHT = Decimal("0.00000001")


def test_no_fills_gives_empty_series_not_an_error(no_fill_run: Path) -> None:
    data = build(no_fill_run)
    assert data.ledger.fill_count == 0
    assert data.ledger.realized_total == 0 and data.ledger.fees == {}
    assert data.refusals.per_code == {}
    assert data.journal.send_to_fill.counts == []


def test_realized_pnl_and_fees_match_the_summary(demo_run: Path) -> None:
    summary = json.loads((demo_run / "summary.json").read_text())
    ledger = build(demo_run).ledger
    assert ledger.fill_count == summary["fills"] > 0
    assert format(ledger.realized_total.quantize(EIGHT), "f") == summary["realized_pnl"]
    assert {c: format(v.quantize(EIGHT), "f") for c, v in ledger.fees.items()} == summary["fees"]


def test_positions_at_the_end_match_the_summary(demo_run: Path) -> None:
    summary = json.loads((demo_run / "summary.json").read_text())
    positions = build(demo_run).ledger.positions
    assert {s: str(held[-1]) for s, held in positions.items()} == summary["positions"]


def test_net_pnl_at_the_end_is_realized_plus_unrealized_less_fees(demo_run: Path) -> None:
    ledger = build(demo_run).ledger
    for currency, series in ledger.equity.items():
        expected = (ledger.realized[currency][-1] + ledger.unrealized[currency]
                    - ledger.fees.get(currency, Decimal(0)))
        assert series[-1].quantize(EIGHT) == expected.quantize(EIGHT)  # summed in another order


def test_every_series_is_on_the_grid(demo_run: Path) -> None:
    data = build(demo_run)
    size = len(data.ledger.grid)
    assert size > 100
    assert data.ledger.grid == sorted(data.ledger.grid)
    for series in [*data.ledger.equity.values(), *data.ledger.realized.values(),
                   *data.ledger.positions.values(), *data.marks.values()]:
        assert len(series) == size


def test_refusals_and_orders_add_up_to_the_summary(demo_run: Path) -> None:
    summary = json.loads((demo_run / "summary.json").read_text())
    data = build(demo_run)
    assert {code: sum(n) for code, n in data.refusals.per_code.items()} == summary["rejections_by_code"]
    assert sum(data.journal.outcomes.values()) == summary["orders_submitted"]
    assert (data.journal.send_to_fill.total + data.journal.sent_unfilled
            == summary["orders_submitted"])
    slipped = sum(c.total for c in data.journal.slippage.values())
    assert 0 < slipped <= summary["fills"]


def test_turnover_is_the_sum_of_fill_notionals(demo_run: Path) -> None:
    import csv
    with open(demo_run / "fills.csv", newline="") as handle:
        expected = sum((Decimal(r["price"]) * Decimal(r["quantity"]) for r in csv.DictReader(handle)),
                       Decimal(0))
    assert build(demo_run).ledger.turnover == {"USDT": expected}


def test_what_is_drawn_is_bounded_however_many_fills(demo_run: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "MAX_FILL_POINTS", 10)
    data = build(demo_run)
    assert len(data.ledger.grid) <= GRID_POINTS
    for (symbol, side), kept in data.ledger.fills.items():
        assert kept.total > 10 and kept.stride > 1, (symbol, side)
        assert len(kept.times) <= 10 and len(kept.times) == -(-kept.total // kept.stride)
    assert "1 in" in fills_chart(data).caption
