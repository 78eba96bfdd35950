"""Bounds no real input comes near, shared by the signal boundary and the configuration.

They exist so that an absurd value is refused where it enters, with its field or key
named, instead of overflowing something later: a `timedelta` added to the clock, a
`datetime` past year 9999, a Decimal product with thousands of digits. Each bound is
orders of magnitude beyond anything a real instrument, account or configuration uses.
"""

from __future__ import annotations

from decimal import Decimal

MAX_AMOUNT = Decimal(10) ** 15
"""The largest quantity, price, notional or balance accepted: a quadrillion. No
instrument trades a quantity or a price anywhere near it (BTC's supply is 2.1e7, a
penny stock's share count ~1e10), and no account holds that much of anything."""

MAX_DECIMAL_PLACES = 18
"""The finest amount accepted has 18 decimal places (trailing zeros not counted): an
ERC-20 token's smallest unit (wei). No venue's tick or lot is finer."""

MAX_DURATION_S = 30 * 24 * 3600.0
"""The longest duration a setting may name: 30 days, in seconds. Far beyond any timeout,
interval or age a live engine uses, and far below what overflows `datetime` when added
to the clock (about 8,000 years)."""
