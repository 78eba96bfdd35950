"""The ccxt venue adapter, split by concern:

- `adapter`: `CcxtVenue` and its settings: the calls, the client order ID parameters,
  paging through an order's trades, resynchronising the clock;
- `markets`: the instruments, reloaded when stale or when the venue refuses an order on
  a filter, each change announced;
- `errors`: every ccxt (and transport) exception into the taxonomy of `venues.base`,
  and the redaction of credentials and request signatures;
- `translation`: ccxt's orders, trades and markets into `OrderReport`, `TradeReport` and
  `Instrument`, money as `Decimal`.

`ordergate.venues.ccxt_venue` re-exports `CcxtVenue` and `CcxtVenueSettings`, the names
the rest of ordergate imports.
"""

from ordergate.venues.ccxt.adapter import CcxtVenue, CcxtVenueSettings

__all__ = ["CcxtVenue", "CcxtVenueSettings"]
