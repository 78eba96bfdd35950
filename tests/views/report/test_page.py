"""The page: one self-contained file, every chart with data and labelled axes, the same
bytes from the same replay, and an empty replay that says it is empty."""

import json
import re
from pathlib import Path

import pytest

from ordergate.views.report import write_report

FIGURE = re.compile(r'<script type="application/json" data-figure="([a-z-]+)">(.*?)</script>', re.S)
CHARTS = ("chart-equity", "chart-positions", "chart-fills", "chart-slippage",
          "chart-slippage-symbol", "chart-refusals", "chart-send-to-fill")


def figures(html: str) -> dict[str, dict]:
    return {key: json.loads(text) for key, text in FIGURE.findall(html)}


@pytest.fixture(scope="module")
def demo_html(demo_run: Path) -> str:
    return write_report(demo_run).read_text(encoding="utf-8")


def test_an_empty_replay_still_makes_a_page_that_says_so(no_fill_run: Path) -> None:
    html = write_report(no_fill_run).read_text(encoding="utf-8")
    assert figures(html) == {}
    for key in CHARTS:
        assert re.search(rf'<p class="empty" id="{key}">[^<]+</p>', html), key
    assert "No fills in this replay" in html and "No signal was refused" in html
    assert html.rstrip().endswith("</html>")


def test_the_page_needs_no_network(demo_html: str) -> None:
    assert "<script src" not in demo_html and "<link" not in demo_html
    assert demo_html.count("Plotly.newPlot") == 1  # one loop draws every figure
    assert len(re.findall(r"/\*! For license information|plotly\.js v\d", demo_html)) >= 1


def test_every_chart_has_data(demo_html: str) -> None:
    found = figures(demo_html)
    assert set(found) == set(CHARTS)
    for key, figure in found.items():
        assert figure["data"], key
        for trace in figure["data"]:
            values = trace.get("y") or trace.get("median")
            assert values and any(v not in (None, 0) for v in values), (key, trace.get("name"))


def test_every_axis_is_labelled_with_its_unit(demo_html: str) -> None:
    for key, figure in figures(demo_html).items():
        layout = figure["layout"]
        y_titles = [layout[a].get("title", {}).get("text") for a in layout if a.startswith("yaxis")]
        x_titles = [layout[a].get("title", {}).get("text") for a in layout if a.startswith("xaxis")]
        assert y_titles and all(y_titles), key
        assert any(x_titles), key
    layout = figures(demo_html)
    assert layout["chart-equity"]["layout"]["yaxis"]["title"]["text"] == "PnL (USDT)"
    assert "bps" in layout["chart-slippage"]["layout"]["xaxis"]["title"]["text"]
    assert "seconds" in layout["chart-send-to-fill"]["layout"]["xaxis"]["title"]["text"]
    assert layout["chart-positions"]["layout"]["yaxis"]["title"]["text"] == "BTC held"


def test_fills_chart_marks_buys_and_sells_per_symbol(demo_html: str) -> None:
    names = {(t["name"], t.get("xaxis", "x")) for t in figures(demo_html)["chart-fills"]["data"]}
    assert {n for n, _ in names} == {"quote mid", "buy fill", "sell fill"}
    assert len({axis for _, axis in names}) == 3  # BTC, ETH, SOL each on its own axes


def test_the_same_replay_gives_the_same_bytes(demo_copy: Path, demo_run: Path) -> None:
    first = write_report(demo_run).read_bytes()
    assert write_report(demo_run).read_bytes() == first
    assert not list(demo_run.glob("*.partial"))


def test_summary_tables_show_the_replays_counts(demo_run: Path, demo_html: str) -> None:
    summary = json.loads((demo_run / "summary.json").read_text())
    assert f'<th>realized PnL (gross of fees)</th><td class="n">{summary["realized_pnl"]}</td>' in demo_html
    for currency, amount in summary["fees"].items():
        assert f'<th>fees in {currency}</th><td class="n">{amount}</td>' in demo_html
    assert f'<th>signals</th><td class="n">{summary["signals_total"]}</td>' in demo_html
    for label in ("net mark-to-market PnL (USDT)", "max drawdown of net PnL (USDT)",
                  "turnover (USDT)", "ended expired"):
        assert f"<th>{label}</th>" in demo_html or f'<th class="sub">{label}</th>' in demo_html
