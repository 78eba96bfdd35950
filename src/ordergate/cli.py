"""The `ordergate` command: replay, demo, report (and, with real venues, run)."""

from __future__ import annotations

import asyncio
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from loguru import logger

from ordergate.config import ConfigError, EngineConfig, load_config
from ordergate.event_loop import run_live_loop
from ordergate.replay.harness import ReplayResult, replay
from ordergate.views.accounts_cli import accounts_app
from ordergate.views.audit_cli import audit_app

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="ordergate: signals in; orders, fills and positions out.")
app.add_typer(audit_app, name="audit")
app.add_typer(accounts_app, name="accounts")


def _quiet_loguru() -> None:
    """Audit lines go to their own file; the console shows warnings only."""
    logger.remove()
    logger.add(sys.stderr, level="WARNING", diagnose=False,  # no variable values in tracebacks
               filter=lambda record: "ordergate_audit" not in record["extra"])


def _config(path: Path | None) -> EngineConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _run_replay(signals: Path, market: Path, config: EngineConfig, out: Path) -> ReplayResult:
    _quiet_loguru()
    if not sys.stderr.isatty():
        return asyncio.run(replay(signals, market, config, out))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    total = sum(1 for line in open(signals, encoding="utf-8", errors="replace") if line.strip())
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("replaying signals", total=total)
        result = asyncio.run(replay(signals, market, config, out,
                                    progress=lambda n: bar.update(task, completed=n)))
    return result


@app.command("replay")
def replay_command(
    signals: Annotated[Path, typer.Option(help="Signals, one JSON object per line.", exists=True, dir_okay=False)],
    market: Annotated[Path, typer.Option(help="Quotes, CSV or Parquet (by suffix): ts,symbol,bid,ask,bid_size,ask_size.", exists=True, dir_okay=False)],
    config: Annotated[Path | None, typer.Option(help="Engine configuration (TOML).")] = None,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("out"),
    report: Annotated[bool, typer.Option("--report", help="Also write OUT/report.html.")] = False,
) -> None:
    """Replay recorded signals against recorded quotes through the live pipeline."""
    result = _run_replay(signals, market, _config(config), out)
    typer.echo(json.dumps(result.summary, indent=2, sort_keys=True))
    if report:  # on stderr: stdout stays the summary's JSON
        typer.echo(f"report: {_write_report(out, None)}", err=True)


def _write_report(out: Path, market: Path | None) -> Path:
    from ordergate.views.report import ReportError, write_report

    try:
        return write_report(out, market)
    except ReportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Argument(help="A replay's output directory.")],
    market: Annotated[Path | None, typer.Option(help="The quotes file the replay ran against; default: from OUT/manifest.json.")] = None,
) -> None:
    """Write OUT/report.html (summary, PnL, positions, fills, slippage, refusals) from a
    replay's files; one self-contained file to open in a browser."""
    typer.echo(_write_report(out, market))


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("out/demo"),
) -> None:
    """Replay the bundled sample and print what happened, in plain words."""
    data = resources.files("ordergate") / "data"
    with resources.as_file(data / "demo_signals.jsonl") as signals, \
            resources.as_file(data / "demo_quotes.csv") as quotes, \
            resources.as_file(data / "demo.toml") as config_path:
        result = _run_replay(signals, quotes, _config(config_path), out)
        report = _write_report(out, quotes)
    typer.echo(describe(result))
    typer.echo(f"Report (open in a browser): {report}")


@app.command("run")
def run_command(
    config: Annotated[Path, typer.Option(help="Engine configuration (TOML).", exists=True, dir_okay=False)],
    signals: Annotated[Path | None, typer.Option(help="Signals JSONL file; default: standard input.")] = None,
) -> None:
    """Run the engine against the configured venues, reading signals line by line.

    Stops cleanly on SIGINT/SIGTERM or at the end of the input."""
    from ordergate.live import run_live

    _quiet_loguru()
    engine = run_live_loop(run_live(_config(config), signals))
    summary = engine.summary.as_dict(engine.positions, 0)
    summary.pop("duplicate_client_order_ids")
    typer.echo(json.dumps(summary, indent=2, sort_keys=True))


@app.command("serve")
def serve_command(
    config: Annotated[Path, typer.Option(help="Engine configuration (TOML), with [server].", exists=True, dir_okay=False)],
    signals: Annotated[Path | None, typer.Option(help="Also read signal lines from this JSONL file, or '-' for standard input.")] = None,
) -> None:
    """Run the engine with its HTTP API (host and port from [server]).

    Prints the address once it answers (on stderr); stops cleanly on SIGINT/SIGTERM and
    prints the run's summary."""
    from ordergate.server.serve import ServeError, serve

    _quiet_loguru()
    if signals is not None and str(signals) != "-" and not signals.is_file():
        typer.echo(f"error: --signals {signals}: no such file", err=True)
        raise typer.Exit(2)
    try:
        engine = run_live_loop(serve(_config(config), signals, ready=lambda url, _: typer.echo(
            f"ordergate serve: listening on {url}", err=True)))
    except ServeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    summary = engine.summary.as_dict(engine.positions, 0)
    summary.pop("duplicate_client_order_ids")
    typer.echo(json.dumps(summary, indent=2, sort_keys=True))


def describe(result: ReplayResult) -> str:
    s = result.summary
    positions = ", ".join(f"{sym} {qty}" for sym, qty in s["positions"].items()) or "none"
    codes = ", ".join(f"{code} {n}" for code, n in s["rejections_by_code"].items()) or "none"
    fees = ", ".join(f"{amount} {currency}" for currency, amount in s["fees"].items()) or "none"
    return "\n".join([
        f"Replayed {s['signals_total']} signals in {result.wall_seconds:.2f}s "
        f"({s['signals_total'] / max(result.wall_seconds, 1e-9):,.0f} signals/s).",
        f"  invalid (malformed input): {s['signals_invalid']}",
        f"  refused by a handler:      {s['signals_rejected']}  ({codes})",
        f"  orders sent: {s['orders_submitted']}; filled {s['orders_filled']}, "
        f"partially filled {s['orders_partially_filled']}, cancelled {s['orders_cancelled']}, "
        f"expired {s['orders_expired']}, rejected by the venue {s['orders_rejected']}",
        f"  fills: {s['fills']}; duplicate client order IDs at the venue: {s['duplicate_client_order_ids']}",
        f"  positions: {positions}",
        f"  realized PnL {s['realized_pnl']}, fees {fees}",
        f"Audit log, fills and summary in {result.out_dir}/",
    ])


if __name__ == "__main__":
    app()
