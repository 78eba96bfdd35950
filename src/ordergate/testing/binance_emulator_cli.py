"""The Binance emulator as its own process: `python -m ordergate.testing.binance_emulator`
(which calls `main` here), for the crash test, the demos and a person at a terminal.

    python -m ordergate.testing.binance_emulator --port 8765 --state-file state.json
    python -m ordergate.testing.binance_emulator --port 0 --balance BTC=0 --stop-on-eof

It prints "binance emulator listening on URL" once it serves (`--port 0` picks a free
port), stops on SIGINT/SIGTERM, and with `--stop-on-eof` when its standard input closes,
so it cannot outlive the process that started it with a pipe there."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_BALANCES, BinanceEmulator,
)


async def _serve(port: int, state_file: str | None, api_key: str, api_secret: str,
                 balances: Mapping[str, Decimal] | None = None, stop_on_eof: bool = False,
                 accounts: Sequence[tuple[str, str, Mapping[str, Decimal]]] = ()) -> None:
    start = dict(DEFAULT_BALANCES) | dict(balances or {})
    emulator = BinanceEmulator(port=port, state_file=state_file, api_key=api_key,
                               api_secret=api_secret, balances=start)
    for key, secret, own in accounts:
        emulator.add_account(key, secret, dict(DEFAULT_BALANCES) | dict(own))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - not on this platform
            pass
    await emulator.start()
    # Handlers first: whoever reads this line may send SIGTERM at once and expect status 0.
    print(f"binance emulator listening on {emulator.base_url}", flush=True)
    if stop_on_eof:  # the parent holds our stdin: when it ends, however it ends, so do we
        threading.Thread(target=_wait_for_eof, args=(loop, stop), name="stdin-eof",
                         daemon=True).start()  # daemon: a SIGTERM need not wait for EOF
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def _wait_for_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    # os.read, not sys.stdin: a daemon thread blocked inside the buffered reader holds its
    # lock, and the interpreter aborts when it finds that lock taken at exit.
    while os.read(sys.stdin.fileno(), 65536):
        pass
    loop.call_soon_threadsafe(stop.set)


def _balance(text: str) -> tuple[str, Decimal]:
    asset, _, amount = text.partition("=")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        value = Decimal("NaN")
    if not asset or not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"expected ASSET=AMOUNT (e.g. BTC=0), got {text!r}")
    return asset.upper(), value


def _account_arg(text: str) -> tuple[str, str, dict[str, Decimal]]:
    """KEY:SECRET or KEY:SECRET:ASSET=AMOUNT,ASSET=AMOUNT."""
    key, _, rest = text.partition(":")
    secret, _, amounts = rest.partition(":")
    if not key or not secret:
        raise argparse.ArgumentTypeError(f"expected KEY:SECRET[:ASSET=AMOUNT,...], got {text!r}")
    return key, secret, dict(_balance(a) for a in amounts.split(",") if a)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Binance spot REST emulator (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: any free port)")
    parser.add_argument("--state-file", default=None, help="write orders/trades/balances here")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--api-secret", default=DEFAULT_API_SECRET)
    parser.add_argument("--balance", type=_balance, action="append", default=[],
                        metavar="ASSET=AMOUNT",
                        help="starting free balance of an asset (repeatable); the others keep "
                             "their defaults (USDT 1000000, BTC 10, ETH 100)")
    parser.add_argument("--account", type=_account_arg, action="append", default=[],
                        metavar="KEY:SECRET[:ASSET=AMOUNT,...]",
                        help="serve another API key, its own account (repeatable); its "
                             "balances are the defaults but for the amounts given")
    parser.add_argument("--stop-on-eof", action="store_true",
                        help="stop when standard input closes (tie the emulator to its parent)")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.port, args.state_file, args.api_key, args.api_secret,
                       dict(args.balance), args.stop_on_eof, args.account))
