"""The report's charts as plotly figures, one function each, from `ReportData`.

Why plotly: the page is one file that opens anywhere without a server or network (its
JavaScript is inlined once, see `page`), and a reader can zoom into an hour of a month's
replay or hover a fill to read its price and quantity; matplotlib would give still images.

Decimal becomes float only here, at the edge, to hand numbers to the chart library. A
chart with nothing to show is a `Chart` with a `message` instead of a figure, so the
page says why it is empty rather than drawing bare axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ordergate.views.report.binning import Bins, Counts, merged
from ordergate.views.report.build import ReportData
from ordergate.views.report.journal_stats import LATENCY_BIN_S, SLIPPAGE_BIN_BPS
from ordergate.views.report.ledger import quote_currency
from ordergate.views.report.timeline import chart_time

BUY, SELL, MID = "#1a9850", "#d73027", "#8c8c8c"
TIME_AXIS = "time (UTC)"
ROW_HEIGHT = 230


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    """The figure's element id in the page: fixed, so the page's bytes are too."""
    title: str
    caption: str
    figure: go.Figure | None
    message: str = ""


def charts(data: ReportData) -> list[Chart]:
    return [equity(data), positions(data), fills(data), slippage_distribution(data),
            slippage_by_symbol(data), refusals(data), send_to_fill(data)]


def _style(figure: go.Figure, *, height: int, x_title: str | None,
           y_title: str | None = None) -> None:
    figure.update_layout(
        template="plotly_white", height=height, font={"size": 13},
        margin={"l": 90, "r": 30, "t": 40, "b": 70},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "font": {"size": 13},
                "traceorder": "normal", "itemsizing": "constant"},
        hovermode="closest")
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    if x_title is not None:
        figure.update_xaxes(title_text=x_title)
    if y_title is not None:
        figure.update_yaxes(title_text=y_title)


def _money_unit(currencies: list[str]) -> str:
    return currencies[0] if len(currencies) == 1 else "each line's quote currency"


def _floats(values: list[Decimal]) -> list[float]:
    return [float(v) for v in values]  # the edge: numbers handed to the chart library


def equity(data: ReportData) -> Chart:
    ledger = data.ledger
    title = "Mark-to-market and realized PnL over time"
    caption = ("Net mark-to-market PnL: realized PnL plus open positions valued at the quote "
               "mid, less fees paid in the quote currency. Realized PnL: gross of fees, as the "
               "engine books it.")
    if not ledger.fill_count:
        return Chart("chart-equity", title, caption, None, "No fills in this replay: no PnL.")
    times = [chart_time(t) for t in ledger.grid]
    figure = go.Figure()
    for currency in ledger.equity:
        suffix = f" ({currency})" if len(ledger.equity) > 1 else ""
        figure.add_trace(go.Scatter(x=times, y=_floats(ledger.equity[currency]), mode="lines",
                                    name=f"net mark-to-market PnL{suffix}",
                                    line={"width": 2, "color": "#2166ac"}))
        figure.add_trace(go.Scatter(x=times, y=_floats(ledger.realized[currency]), mode="lines",
                                    name=f"realized PnL, gross of fees{suffix}",
                                    line={"width": 2, "color": "#f4a582", "dash": "dot"}))
    _style(figure, height=420, x_title=TIME_AXIS,
           y_title=f"PnL ({_money_unit(list(ledger.equity))})")
    return Chart("chart-equity", title, caption, figure)


def positions(data: ReportData) -> Chart:
    ledger = data.ledger
    title = "Position per symbol over time"
    caption = "Quantity held after every fill up to each instant, all accounts and venues together."
    symbols = list(ledger.positions)
    if not ledger.fill_count:
        return Chart("chart-positions", title, caption, None, "No fills in this replay: no positions.")
    times = [chart_time(t) for t in ledger.grid]
    figure = make_subplots(rows=len(symbols), cols=1, shared_xaxes=True,
                           vertical_spacing=min(0.06, 0.3 / len(symbols)), subplot_titles=symbols)
    for row, symbol in enumerate(symbols, start=1):
        figure.add_trace(go.Scatter(x=times, y=_floats(ledger.positions[symbol]), mode="lines",
                                    line={"shape": "hv", "width": 2}, name=symbol,
                                    showlegend=False), row=row, col=1)
        figure.update_yaxes(title_text=f"{_base(symbol)} held", zeroline=True,
                            zerolinecolor="#444", row=row, col=1)
    _style(figure, height=ROW_HEIGHT * len(symbols) + 80, x_title=None)
    figure.update_xaxes(title_text=TIME_AXIS, row=len(symbols), col=1)
    return Chart("chart-positions", title, caption, figure)


def fills(data: ReportData) -> Chart:
    ledger = data.ledger
    title = "Fills over the price, per symbol"
    symbols = sorted({symbol for symbol, _ in ledger.fills})
    thinned = [f"{s} {side}s, 1 in {p.stride} of {p.total}"
               for (s, side), p in sorted(ledger.fills.items()) if p.stride > 1]
    caption = ("Each fill at its price and time (buys ▲, sells ▼) over the mid of the quotes "
               "(sampled). " + (f"Thinned for drawing: {'; '.join(thinned)}." if thinned else ""))
    if not symbols:
        return Chart("chart-fills", title, caption, None, "No fills in this replay.")
    times = [chart_time(t) for t in ledger.grid]
    figure = make_subplots(rows=len(symbols), cols=1, shared_xaxes=True,
                           vertical_spacing=min(0.08, 0.3 / len(symbols)), subplot_titles=symbols)
    for row, symbol in enumerate(symbols, start=1):
        mids = data.marks.get(symbol, [])
        figure.add_trace(go.Scatter(
            x=times, y=[None if m is None else float(m) for m in mids], mode="lines",
            name="quote mid", legendgroup="mid", showlegend=row == 1,
            line={"color": MID, "width": 1}), row=row, col=1)
        for side, colour, marker in (("buy", BUY, "triangle-up"), ("sell", SELL, "triangle-down")):
            kept = ledger.fills.get((symbol, side))
            if kept is None or not kept.times:
                continue
            figure.add_trace(go.Scatter(
                x=[chart_time(t) for t in kept.times], y=_floats(kept.prices), mode="markers",
                name=f"{side} fill", legendgroup=side, showlegend=row == 1,
                marker={"symbol": marker, "color": colour, "line": {"width": 0},
                        # many fills: smaller and see-through, so the price shows between
                        "size": 8 if len(kept.times) <= 300 else 5,
                        "opacity": 1 if len(kept.times) <= 300 else 0.5},
                text=[f"{side} {q} @ {p}" for q, p in zip(kept.quantities, kept.prices)],
                hovertemplate="%{x}<br>%{text}<extra></extra>"), row=row, col=1)
        figure.update_yaxes(title_text=f"price ({quote_currency(symbol)})", row=row, col=1)
    _style(figure, height=(ROW_HEIGHT + 40) * len(symbols) + 80, x_title=None)
    figure.update_xaxes(title_text=TIME_AXIS, row=len(symbols), col=1)
    return Chart("chart-fills", title, caption, figure)


def slippage_distribution(data: ReportData) -> Chart:
    per_symbol = data.journal.slippage
    title = "Slippage against the expected price"
    caption = ("Per fill, basis points between the fill price and the order's expected price; "
               "positive is worse than expected (a buy above, a sell below), negative is price "
               "improvement. Bars stacked by symbol.")
    if not per_symbol:
        return Chart("chart-slippage", title, caption, None,
                     "No fills with an expected price in this replay.")
    bins = Bins.over(merged(list(per_symbol.values())), resolution=SLIPPAGE_BIN_BPS)
    figure = go.Figure()
    left_out = 0
    for symbol, counts in per_symbol.items():
        bars = bins.histogram(counts)
        left_out += bars.below + bars.above
        figure.add_trace(go.Bar(x=bars.centres, y=bars.counts, width=bars.width, name=symbol))
    if left_out:
        caption += f" {left_out} fill(s) outside {bins.low:g} to {bins.high:g} bps are not drawn."
    figure.update_layout(barmode="stack", bargap=0)
    _style(figure, height=420, x_title="slippage (bps; positive = worse than expected)",
           y_title="fills")
    return Chart("chart-slippage", title, caption, figure)


def slippage_by_symbol(data: ReportData) -> Chart:
    per_symbol = data.journal.slippage
    title = "Slippage per symbol"
    caption = ("Box: 25th to 75th percentile, line at the median, dashed at the mean; whiskers "
               "at the 5th and 95th percentiles. Positive is worse than expected.")
    if not per_symbol:
        return Chart("chart-slippage-symbol", title, caption, None,
                     "No fills with an expected price in this replay.")
    figure = go.Figure()
    for symbol, counts in per_symbol.items():
        figure.add_trace(go.Box(
            x=[symbol], name=f"{symbol} ({counts.total} fills)",
            q1=[counts.quantile(0.25)], median=[counts.quantile(0.5)], q3=[counts.quantile(0.75)],
            lowerfence=[counts.quantile(0.05)], upperfence=[counts.quantile(0.95)],
            mean=[round(counts.mean(), 3)], boxmean=True))
    _style(figure, height=420, x_title="symbol", y_title="slippage (bps)")
    return Chart("chart-slippage-symbol", title, caption, figure)


def refusals(data: ReportData) -> Chart:
    found = data.refusals
    title = "Refusals by reason code over time"
    minutes = _bucket_minutes(found.edges, data.span)
    caption = (f"Signals a handler refused, per {minutes} bucket, stacked by reason code "
               "(invalid input is counted in the table, not here).")
    if found.unreadable:
        caption += f" {found.unreadable} audit line(s) with a denial could not be read."
    if not found.per_code:
        return Chart("chart-refusals", title, caption, None, "No signal was refused in this replay.")
    width = (found.edges[1] - found.edges[0]) if len(found.edges) > 1 else 1_000_000
    centres = [chart_time(edge + width // 2) for edge in found.edges]
    figure = go.Figure()
    for code, counts in found.per_code.items():
        figure.add_trace(go.Bar(x=centres, y=counts, name=f"{code} ({sum(counts)})",
                                width=width / 1000 * 0.9))
    figure.update_layout(barmode="stack")
    _style(figure, height=440, x_title=TIME_AXIS, y_title=f"refused signals per {minutes}")
    return Chart("chart-refusals", title, caption, figure)


def send_to_fill(data: ReportData) -> Chart:
    latency: Counts = data.journal.send_to_fill
    title = "Time from sending an order to its first fill"
    caption = (f"Orders by seconds on the replay clock from SUBMITTED to the first fill; "
               f"{data.journal.sent_unfilled} order(s) sent never filled.")
    if not latency.counts:
        return Chart("chart-send-to-fill", title, caption, None, "No order was filled.")
    bins = Bins.over(latency, resolution=LATENCY_BIN_S)
    bars = bins.histogram(latency)
    if bars.below + bars.above:
        caption += f" {bars.below + bars.above} beyond {bins.high:g} s are not drawn."
    figure = go.Figure(go.Bar(x=bars.centres, y=bars.counts, width=bars.width,
                              name="orders", marker={"color": "#4575b4"}))
    figure.update_layout(bargap=0, showlegend=False)
    _style(figure, height=400, x_title="seconds from send to first fill",
           y_title="orders (log scale)")
    figure.update_yaxes(type="log", dtick=1)  # most fill at once: linear hides the slow tail
    return Chart("chart-send-to-fill", title, caption, figure)


def _base(symbol: str) -> str:
    base, slash, _ = symbol.partition("/")
    return base if slash else "quantity"


def _bucket_minutes(edges: list[int], span: tuple[int, int]) -> str:
    width = (edges[1] - edges[0]) if len(edges) > 1 else max(span[1] - span[0], 1)
    seconds = width / 1e6
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
