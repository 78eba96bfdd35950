"""The ccxt venue adapter, split by concern:

- `adapter`: `CcxtVenue`: the calls, each failure mapped, resynchronising the clock;
- `settings`: `CcxtVenueSettings`, as the config file names a venue;
- `exchange`: the ccxt object made from the settings (credentials, `api_url`), and what
  each exchange names differently (the client order ID parameter, exact decimal fields,
  how its trades page);
- `order_params`: what a new order is sent as, and what is refused unsent;
- `trades`: every trade of an order, page after page;
- `replace`, `oco`: Binance spot's native replace and OCO lists;
- `markets`: the instruments, reloaded when stale or when the venue refuses an order on
  a filter, each change announced;
- `errors`: every ccxt (and transport) exception into the taxonomy of `venues.base`,
  and the redaction of credentials and request signatures;
- `translation`: ccxt's orders, trades and markets into `OrderReport`, `TradeReport` and
  `Instrument`, money as `Decimal`.

`ordergate.venues.ccxt_venue` re-exports `CcxtVenue` and `CcxtVenueSettings`, the names
the rest of ordergate imports.
"""

from ordergate.venues.ccxt.adapter import CcxtVenue
from ordergate.venues.ccxt.settings import CcxtVenueSettings

__all__ = ["CcxtVenue", "CcxtVenueSettings"]
