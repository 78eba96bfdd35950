"""The report as one HTML file: the summary tables, then each chart with a line on what
it shows. plotly.js is inlined once in the head, and each figure is a JSON block beside
an element with a fixed id, drawn by one loop, so the file opens without a network and
the same data gives the same bytes (plotly's own `to_html` draws random element ids).
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

import plotly
from plotly.offline import get_plotlyjs

from ordergate.views.report.build import ReportData
from ordergate.views.report.charts import Chart, charts
from ordergate.views.report.timeline import chart_time

CENTS = Decimal("0.01")

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1b1b1b; background: #fafafa; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 36px 0 4px; }
p.meta, p.caption { color: #555; margin: 4px 0 10px; line-height: 1.4; }
.tables { display: flex; flex-wrap: wrap; gap: 20px; margin-top: 16px; align-items: flex-start; }
table { border-collapse: collapse; background: #fff; border: 1px solid #ddd; min-width: 300px; }
caption { text-align: left; font-weight: 600; padding: 6px 0; }
td, th { padding: 5px 12px; border-bottom: 1px solid #eee; text-align: left;
         vertical-align: top; }
th.sub { padding-left: 28px; font-weight: normal; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.warn { background: #fff4e5; border: 1px solid #f0b35b; padding: 8px 12px; margin: 12px 0; }
.chart { background: #fff; border: 1px solid #ddd; }
.empty { background: #fff; border: 1px dashed #bbb; padding: 28px; color: #555;
         font-size: 16px; }
code { font-size: 13px; }
"""

_DRAW = """
document.querySelectorAll('script[data-figure]').forEach(function (block) {
  var figure = JSON.parse(block.textContent);
  Plotly.newPlot(block.dataset.figure, figure.data, figure.layout,
                 {responsive: true, displaylogo: false});
});
"""


def render(data: ReportData) -> str:
    """The whole page, as text."""
    summary = data.summary
    files = data.files
    head = (f"<h1>Replay report: {escape(files.out_dir.name or str(files.out_dir))}</h1>\n"
            f'<p class="meta">Replay clock {escape(chart_time(data.span[0]))} to '
            f"{escape(chart_time(data.span[1]))} UTC; {_n(summary.get('signals_total', 0))} signals. "
            f"Quotes: <code>{escape(str(files.market))}</code>.</p>\n")
    warnings = "".join(f'<p class="warn">{escape(w)}</p>\n' for w in files.warnings)
    body = [head, warnings, '<div class="tables">', _signals_table(summary),
            _orders_table(data), _money_table(data), _positions_table(data),
            *_accounts_tables(summary), "</div>"]
    body.extend(_chart(chart) for chart in charts(data))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>ordergate replay report: {escape(files.out_dir.name)}</title>\n"
            f"<style>{_STYLE}</style>\n"
            f"<script>/* plotly.js, bundled with plotly {plotly.__version__} */\n"
            f"{get_plotlyjs()}</script>\n</head>\n<body>\n<main>\n" + "\n".join(body)
            + f"\n</main>\n<script>{_DRAW}</script>\n</body>\n</html>\n")


def _chart(chart: Chart) -> str:
    parts = [f'<section id="{chart.key}-section">', f"<h2>{escape(chart.title)}</h2>",
             f'<p class="caption">{escape(chart.caption)}</p>']
    if chart.figure is None:
        parts.append(f'<p class="empty" id="{chart.key}">{escape(chart.message)}</p>')
    else:
        figure = chart.figure.to_json().replace("</", "<\\/")  # no early </script>
        parts.append(f'<div class="chart" id="{chart.key}"></div>')
        parts.append(f'<script type="application/json" data-figure="{chart.key}">{figure}</script>')
    parts.append("</section>")
    return "\n".join(parts)


def _table(caption: str, rows: list[tuple[str, str]]) -> str:
    """Rows whose label starts with two spaces are the breakdown of the row above."""
    cells = []
    for label, value in rows:
        kind = ' class="sub"' if label.startswith("  ") else ""
        cells.append(f'<tr><th{kind}>{escape(label.strip())}</th><td class="n">{escape(value)}</td></tr>')
    return f"<table><caption>{escape(caption)}</caption>{''.join(cells)}</table>"


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENTS):,f}"


def _n(count: Any) -> str:
    """A count with thousands separators: 1,000,000 reads at a glance, 1000000 does not."""
    return f"{int(count):,}"


def _exact(amount: Any) -> str:
    """Money as the summary holds it, every place kept, with thousands separators."""
    return f"{Decimal(str(amount)):,f}"


def _counts(values: Any) -> str:
    if not isinstance(values, dict) or not values:
        return "none"
    return ", ".join(f"{k} {v}" for k, v in values.items())


def _signals_table(summary: dict[str, Any]) -> str:
    total = int(summary.get("signals_total", 0))
    invalid = int(summary.get("signals_invalid", 0))
    refused = int(summary.get("signals_rejected", 0))
    rows = [("signals", _n(total)), ("admitted (sent to a venue)", _n(total - invalid - refused)),
            ("refused by a handler", _n(refused))]
    rows += [(f"  {code}", _n(n)) for code, n in (summary.get("rejections_by_code") or {}).items()]
    rows.append(("invalid input", _n(invalid)))
    rows += [(f"  field {field}", _n(n))
             for field, n in (summary.get("invalid_by_field") or {}).items()]
    return _table("Signals and verdicts", rows)


def _orders_table(data: ReportData) -> str:
    summary = data.summary
    rows = [("orders sent", _n(summary.get("orders_submitted", 0)))]
    rows += [(f"  ended {status.lower()}", _n(n)) for status, n in data.journal.outcomes.items()]
    rows += [("ever partially filled", _n(summary.get("orders_partially_filled", 0))),
             ("still working at the end", _n(summary.get("orders_working", 0))),
             ("unresolved", _n(summary.get("orders_unresolved", 0))),
             ("fills", _n(data.ledger.fill_count))]
    return _table("Orders by outcome", rows)


def _money_table(data: ReportData) -> str:
    ledger = data.ledger
    rows = [("realized PnL (gross of fees)", _exact(data.summary.get("realized_pnl", "0")))]
    rows += [(f"fees in {currency}", _exact(amount)) for currency, amount in
             (data.summary.get("fees") or {}).items()] or [("fees", "none")]
    drawdowns = data.drawdowns()
    for currency in ledger.equity:
        net = ledger.equity[currency][-1] if ledger.equity[currency] else Decimal(0)
        rows += [(f"unrealized at the last mid ({currency})", _money(ledger.unrealized[currency])),
                 (f"net mark-to-market PnL ({currency})", _money(net)),
                 (f"max drawdown of net PnL ({currency})", _money(drawdowns[currency])),
                 (f"turnover ({currency})", _money(ledger.turnover.get(currency, Decimal(0))))]
    if not ledger.fill_count:
        rows.append(("mark-to-market", "no fills: nothing held"))
    return _table("PnL, fees and turnover", rows)


def _positions_table(data: ReportData) -> str:
    rows = []
    for symbol, held in data.ledger.positions.items():
        mark = data.marks.get(symbol, [None])[-1]
        shown = "" if mark is None else f" (last mid {mark})"
        rows.append((symbol, f"{held[-1] if held else 0}{shown}"))
    return _table("Positions at the end", rows or [("positions", "none")])


def _accounts_tables(summary: dict[str, Any]) -> list[str]:
    """Blocks over groups and each account's figures, when the replay had them."""
    tables = []
    blocks = summary.get("blocks")
    if isinstance(blocks, dict):
        rows = [("blocks", _n(blocks.get("blocks", 0))),
                ("  refused", _n(blocks.get("blocks_refused", 0))),
                ("children", _n(blocks.get("children", 0))),
                ("  refused", _n(blocks.get("children_refused", 0)))]
        rows += [(f"  {code}", _n(n)) for code, n in
                 (blocks.get("children_refused_by_code") or {}).items()]
        rows += [("failovers", _n(blocks.get("failovers", 0))),
                 ("completions", _n(blocks.get("completions", 0)))]
        tables.append(_table("Blocks over groups", rows))
    accounts = summary.get("per_account")
    if isinstance(accounts, dict):
        rows = []
        for account, row in accounts.items():
            rows.append((account, f"realized {_exact(row.get('realized_pnl', '0'))}"))
            rows += [(f"  {symbol}", str(held)) for symbol, held in
                     (row.get("positions") or {}).items()]
            rows += [(f"  fees in {c}", _exact(a)) for c, a in (row.get("fees") or {}).items()]
        tables.append(_table("Per account", rows or [("accounts", "none")]))
    return tables
