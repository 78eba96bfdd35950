"""The Binance emulator's whole state as JSON (`binance_emulator.py`): its orders, trades,
balances, books, faults, clock offset and accounts, as `GET /_admin/state` answers and the
state file holds, and that file written atomically after every change. Apart from the
emulator because this is what a test or the crash test in another process reads of it
(through the admin API, or the file after the emulator died), a format of its own."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ordergate.testing.binance_market import fmt

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator


def state_json(emulator: BinanceEmulator) -> dict[str, Any]:
    """Everything, JSON-ready: what `GET /_admin/state` and the state file hold."""
    with emulator._lock:
        return {
            "base_url": emulator.base_url,
            "orders": [o.to_json() | {"account": o.account}
                       for o in emulator.market.orders.values()],
            "trades": [t.to_json() | {"clientOrderId": t.client_order_id,
                                      "account": t.account}
                       for t in emulator.market.trades],
            "client_order_id_counts": emulator.client_order_id_counts(),
            "sends": emulator.sends.to_json(),
            "balances": _balances_json(emulator, emulator.api_key),
            "books": {s: {"bids": [[fmt(p), fmt(q)] for p, q in b.bids],
                          "asks": [[fmt(p), fmt(q)] for p, q in b.asks]}
                      for s, b in emulator.market.books.items()},
            "faults": [f.to_json() for f in emulator._faults],
            "clock_offset_ms": emulator.clock_offset_ms,
            "pay_fees_in_bnb": emulator.market.wallet(emulator.api_key).pay_fees_in_bnb,
            "accounts": {
                key: {"balances": _balances_json(emulator, key),
                      "client_order_id_counts": dict(w.client_id_counts),
                      "pay_fees_in_bnb": w.pay_fees_in_bnb}
                for key, w in emulator.market.wallets.items()},
        }


def write_state_file(emulator: BinanceEmulator) -> None:
    """Write the whole state atomically to the state file, if there is one."""
    if emulator.state_file is None:
        return
    data = json.dumps(emulator.state(), indent=1, sort_keys=True)
    directory = emulator.state_file.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".emu-state-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(data)
        os.replace(tmp, emulator.state_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _balances_json(emulator: BinanceEmulator, api_key: str) -> dict[str, dict[str, str]]:
    return {a: {"free": fmt(f), "locked": fmt(lk)}
            for a, (f, lk) in emulator.market.balances(api_key).items()}
