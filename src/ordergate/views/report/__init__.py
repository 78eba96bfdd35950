"""The replay report: `report.html` in a replay's output directory, from its files alone
(and the quotes file it ran against). Made after the replay, never during it: see `build`
for what is read and how, `charts` for what is drawn, `page` for the file."""

from __future__ import annotations

import os
from pathlib import Path

from ordergate.views.report.sources import ReportError

REPORT_NAME = "report.html"


def write_report(out_dir: Path, market: Path | None = None) -> Path:
    """Build `out_dir/report.html` and return its path. Raises `ReportError` naming the
    file that is missing or unreadable."""
    from ordergate.views.report.build import build  # plotly is imported only to report
    from ordergate.views.report.page import render

    html = render(build(out_dir, market))
    path = out_dir / REPORT_NAME
    partial = path.with_suffix(".html.partial")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, path)  # a reader never opens half a report
    return path


__all__ = ["REPORT_NAME", "ReportError", "write_report"]
