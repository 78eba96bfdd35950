"""A local emulator of the Polymarket CLOB REST API, for tests.

It speaks the endpoints, parameters and JSON shapes that `py-clob-client` 0.34.x uses,
so the official client (and `ordergate.venues.polymarket.PolymarketVenue` on top of it)
can be driven against it unchanged: point the client's `host` at `emu.base_url`.

What it does, deterministically:

- markets, tick size, neg-risk, fee rate, order book, price, midpoint, spread, server time;
- L2 authentication checked the way the real server does: the POLY_API_KEY must be
  known, POLY_PASSPHRASE and POLY_ADDRESS must match it, and POLY_SIGNATURE must be the
  HMAC-SHA256 (url-safe base64 secret) of ``timestamp + method + path + body``;
- `POST /order`: the signed order's EIP-712 signature is recovered and must match its
  `signer` and the POLY_ADDRESS; its order ID is the EIP-712 struct hash (as on the real
  venue, so a client can compute it before sending); price must be on the token's tick
  and inside [tick, 1 - tick]; size at least the market's minimum; balance must cover
  it; an order whose hash already exists is refused as a duplicate;
- matching against a book each test sets per outcome token (`set_book`): an order that
  crosses trades level by level at the resting price (one trade per level), partially
  when the book is thin; GTC/GTD remainders rest, FOK is all-or-nothing, FAK fills what
  it can and kills the rest; GTD orders expire ``gtd_threshold_s`` (60 s, as on the
  real venue) before their `expiration`;
- resting orders are filled as makers when a later `set_book` crosses them, or by
  `fill_resting`;
- settlement on chain over time (`chain.py`): a trade is MATCHED, then MINED after
  `trade_mine_delay_s` and CONFIRMED after `trade_confirm_delay_s` more (0 and 0 by
  default: final at once), or RETRYING then FAILED (`fail_trade`, `fail_next_trades`);
  the order's `size_matched` and status count a match at once and keep a failed one, as
  the real CLOB's do; balances move only when a trade is mined (and back on a reorg),
  and a pending trade's spend counts against what the account may still place;
- fault injection per method/path: delay the answer after the request took effect
  (`delay_response`), delay before handling it (`delay_request`), answer with an HTTP
  status (5xx, 429) without handling it, drop the connection before or after handling.

Our own resting orders appear in the book returned by `/book`, but an incoming order
only matches the test's external liquidity, never the same account's resting orders.

Quirk kept from the real venue: `GET /data/order/{id}` answers 200 with `null` for an
order it does not know (the real one does the same for some closed orders).

Modules: `records.py` (state records, the EIP-712 order hash), `exchange.py` (state,
the test's levers, expiry, cancels), `new_order.py` (a new order's checks and its
matching as taker), `fills.py` (the trades a match makes), `book.py` (the book as `/book`
shows it), `chain.py` (settlement), `emulator.py` (HTTP: the app, fault levers, start/stop),
`public_endpoints.py` and `private_endpoints.py` (the endpoints), `l2_auth.py` (L2
authentication), `middleware.py` (faults and error answers on every request),
`thread.py` (a background-thread runner).

Run it inside the test's event loop (`await emu.start()` / `await emu.stop()`), or in a
background thread for synchronous callers (`EmulatorThread`). State is guarded by a
lock, so tests may change books or tick sizes from another thread while it runs.
"""

from ordergate.testing.polymarket_emulator.emulator import PolymarketEmulator
from ordergate.testing.polymarket_emulator.records import (
    EmuAccount,
    EmuMarket,
    EmuOrder,
    EmuTrade,
    Fault,
    order_struct_hash,
)
from ordergate.testing.polymarket_emulator.thread import EmulatorThread

__all__ = [
    "EmuAccount",
    "EmuMarket",
    "EmuOrder",
    "EmuTrade",
    "EmulatorThread",
    "Fault",
    "PolymarketEmulator",
    "order_struct_hash",
]
