"""The ccxt venue adapter's import path: `CcxtVenue` and `CcxtVenueSettings`.

The adapter lives in `ordergate.venues.ccxt` (adapter, errors, translation); this module
keeps the path configuration and callers have always used.
"""

from ordergate.venues.ccxt.adapter import CcxtVenue
from ordergate.venues.ccxt.settings import CcxtVenueSettings

__all__ = ["CcxtVenue", "CcxtVenueSettings"]
