"""Polymarket CLOB adapter, on the official `py-clob-client`.

Instruments
    Every outcome token of a market is one instrument. **The symbol is the outcome
    token's ID** (the long decimal `token_id` of the CLOB), not the market's condition
    ID and not the outcome's name. Prices are probabilities in (0, 1), quoted in USDC per
    share; the tick size is the market's `minimum_tick_size` (0.1 ... 0.0001, changed by
    the venue as the price nears 0 or 1); quantities are shares with a lot of 0.01 (the
    size precision py-clob-client signs); the minimum quantity is the market's
    `minimum_order_size`; `min_price`/`max_price` are tick and 1 - tick.

Tick size
    Read from the CLOB when the instruments load, re-read on a schedule (`tick_refresh_s`,
    for the configured markets' tokens and those of orders followed) and always re-read,
    cache bypassed, just before an order is signed. If the tick changed since the engine
    rounded the price, the price is re-rounded to the new tick in the safe direction (a
    buy down, a sell up) and the reported instruments are updated (`markets.py`).

Orders
    Limit orders only: GTC, GTD (`expires_at`; the venue expires an order 60 s before its
    signed `expiration`, so the adapter signs `expires_at + 60 s`), FOK, and IOC as
    Polymarket's FAK. A MARKET order is refused with `OrderRejected` before anything is
    sent: a "market" order on a thin prediction-market book is a fat-finger risk, so the
    engine must send a marketable limit with FOK or IOC instead. An FOK/FAK order the
    venue kills for lack of liquidity (it answers 400) is reported as EXPIRED, not
    raised. A partially filled FAK's killed remainder is reported as EXPIRED too.
    Post-only (`OrderRequest.post_only`, GTC or GTD only) is sent as the CLOB's `postOnly`;
    the venue's "invalid post-only order: order crosses book" is `PostOnlyWouldTake`.

Client order IDs, and restarts
    Polymarket has no client order ID field. The order's `salt` is derived from the
    signer's address and the client order ID, and the rest of the signed order follows
    from the request, so the same request signs to the same order and therefore the same
    order ID (`signing.py`). `prepare_order` builds and signs the order and returns that
    ID (`preparation.py`); the engine journals it before the send (with the SUBMITTED transition, in the
    commit that precedes the send), and `place_order` sends those very bytes. A
    resubmission of the same client order ID re-sends the identical order, which the
    venue refuses as a duplicate if the first landed. After a restart the engine passes
    the journaled ID, and a fresh adapter finds the order and its trades by it alone;
    an order it must sign again (recovery's `resubmit`) is sent only if it signs to the
    journaled ID, and refused unsent otherwise (the tick, fee rate or neg-risk flag
    changed meanwhile). Without an ID, `fetch_order`/`cancel_order`/`fetch_fills` raise
    `VenueOrderIdUnknown` rather than a false "not found" (`order_id_for(request)`
    recomputes one for callers outside the engine).

Errors
    `client.py` maps py-clob-client's failures. `OrderNotFound` only when the venue
    answered: Polymarket's `GET /data/order/{id}` answers `null` for an order it does not
    hold (and for some closed ones), so the adapter then asks for the order's trades
    (`lookup.py`); with none, and no terminal state remembered from this session, it
    raises `OrderNotFound`. An empty side of a book is `NoQuote` (`fetch_ticker`), never a made-up
    bid of 0 or ask of 1; the risk manager then refuses with NO_REFERENCE_PRICE.

Fills: booked when final
    `reports.py`: fills from `/data/trades`, keyed by trade ID, fees by Polymarket's
    formula, and only for CONFIRMED trades; a trade that FAILED on chain is never a fill.
    An order's report counts every match not failed, so the engine keeps following it
    until its trades are final; an order finished at the venue with part of it failed
    ends CANCELLED (EXPIRED for FAK/FOK) with what really filled.

Balances
    `balances.py`: USDC, and the tokens known of: configured markets, orders followed,
    tokens traded, and those the engine's positions are in (`watch_symbols`, the optional
    `BalanceScoped` protocol, called by restart recovery); `used` is what open orders
    reserve.

Memory
    `tracking.py`: an order is followed in memory until `finished_order_grace_s` after it
    ended with every trade final, then dropped; what a late question needs is the
    journaled venue order ID. Instruments are replaced on each reload, not accumulated.

py-clob-client is synchronous; every call runs in a dedicated thread pool, bounded by
`timeout_s`. Credentials are read from the environment variables *named* in the
settings when the adapter is built, and never appear in logs, reprs or error texts.

Modules
    `adapter.py` `PolymarketVenue`: placing and cancelling, and the wiring of the rest;
    `preparation.py` a request checked and signed against the venue's current rules,
    before anything is sent; `signing.py` the signed order and its ID; `lookup.py` an
    order and its trades read back; `reports.py` the CLOB's JSON as reports;
    `tracking.py` the orders followed; `markets.py` instruments and tick sizes;
    `balances.py` balances; `client.py` the py-clob-client wrapper and its error
    mapping; `settings.py` the settings and the adapter's own errors.
"""

from ordergate.venues.polymarket.adapter import PolymarketVenue
from ordergate.venues.polymarket.settings import (
    PolymarketPlacementTimeout,
    PolymarketVenueSettings,
    VenueOrderIdUnknown,
)

__all__ = [
    "PolymarketPlacementTimeout",
    "PolymarketVenue",
    "PolymarketVenueSettings",
    "VenueOrderIdUnknown",
]
