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
    for the tokens this adapter trades or is configured with) and always re-read, cache
    bypassed, just before an order is signed. If the tick changed since the engine
    rounded the price, the price is re-rounded to the new tick in the safe direction (a
    buy down, a sell up) and the reported instruments are updated.

Orders
    Limit orders only: GTC, GTD (`expires_at`; the venue expires an order 60 s before its
    signed `expiration`, so the adapter signs `expires_at + 60 s`), FOK, and IOC as
    Polymarket's FAK. A MARKET order is refused with `OrderRejected` before anything is
    sent: a "market" order on a thin prediction-market book is a fat-finger risk, so the
    engine must send a marketable limit with FOK or IOC instead. An FOK/FAK order the
    venue kills for lack of liquidity (it answers 400) is reported as EXPIRED, not
    raised. A partially filled FAK's killed remainder is reported as EXPIRED too.

Client order IDs
    Polymarket has no client order ID field. The order's `salt` is derived from the
    signer's address and the client order ID, and the rest of the signed order follows
    from the request, so the same request signs to the same order and therefore the same
    order ID (`signing.py`). The adapter computes that ID before sending and keeps an
    in-memory map client order ID -> venue order ID (plus the signed order itself: a
    resubmission of the same client order ID re-sends the identical bytes, so the venue
    refuses the second copy as a duplicate instead of placing it twice). After a
    placement timeout the order is found by that precomputed ID
    (`PolymarketPlacementTimeout` carries it). **After a restart the map is empty**: the
    engine must pass the venue order ID it journaled, or call `order_id_for(request)`
    with the original request to recompute it. Without either,
    `fetch_order`/`cancel_order`/`fetch_fills` raise `VenueOrderIdUnknown` rather than a
    false "not found".

Errors
    `client.py` maps py-clob-client's failures. `OrderNotFound` only when the venue
    answered: Polymarket's `GET /data/order/{id}` answers `null` for an order it does not
    hold (and for some closed ones), so the adapter then asks for the order's trades;
    with none, and no terminal state remembered from this session, it raises
    `OrderNotFound`.

Fills and balances
    `reports.py` (fills from `/data/trades`, keyed by trade ID, fees by Polymarket's
    formula) and `balances.py` (USDC, and the outcome tokens of configured markets and of
    tokens traded this session; `used` is what open orders reserve).

py-clob-client is synchronous; every call runs in a dedicated thread pool, bounded by
`timeout_s`. Credentials are read from the environment variables *named* in the
settings when the adapter is built, and never appear in logs, reprs or error texts.
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
