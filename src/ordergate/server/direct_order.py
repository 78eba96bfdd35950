"""A direct order (`POST /v1/orders`) as a signal, so it takes the same chain.

The body names the order the way a trader does (`symbol, side, type, quantity, price,
time_in_force, account, venue`, optionally `expires_at`, `stop_loss`, `take_profit`,
`strategy_id`, `post_only`, `trigger_price`, `protect`); it becomes a `TradingSignalGenerated`
validated by the same boundary as a signal line. Its signal ID is derived from the token's
name and the Idempotency-Key (`http-` and 32 hex digits), so its client order ID is
derived from them too: a retry, even after a restart or once its stored answer has
expired, can only ever name the same order, which the executor refuses to send twice. A field the signal parser refuses is
named as the order spells it (`price`, not `limit_price`).
"""

from __future__ import annotations

from datetime import datetime
from hashlib import blake2b
from typing import Any

from ordergate.domain.signal import SignalParseError, TradingSignalGenerated, parse_signal_mapping

DEFAULT_STRATEGY = "http"
_AS_SIGNAL = {"symbol": "symbol", "side": "side", "type": "order_type",
              "quantity": "quantity", "price": "limit_price", "time_in_force": "time_in_force",
              "account": "account_id", "venue": "venue", "expires_at": "expires_at",
              "stop_loss": "stop_loss", "take_profit": "take_profit",
              "strategy_id": "strategy_id", "post_only": "post_only",
              "trigger_price": "trigger_price", "protect": "protect"}
_AS_ORDER = {signal: order for order, signal in _AS_SIGNAL.items()}
REQUIRED = ("symbol", "side", "quantity", "account", "venue")


def signal_id_for(owner: str, key: str) -> str:
    return "http-" + blake2b(f"{owner}\x1f{key}".encode(), digest_size=16).hexdigest()


def order_signal(body: dict[str, Any], owner: str, key: str,
                 now: datetime) -> TradingSignalGenerated:
    """The signal of a direct order; `SignalParseError` names the order's field."""
    for name in body:
        if name not in _AS_SIGNAL:
            raise SignalParseError(name if name.isidentifier() and len(name) <= 64 else "order",
                                   "Extra inputs are not permitted")
    for name in REQUIRED:
        if body.get(name) is None:
            raise SignalParseError(name, "Field required")
    mapping = {_AS_SIGNAL[name]: value for name, value in body.items()}
    if mapping.get("strategy_id") is None:  # null is "not given", as for every optional field
        mapping["strategy_id"] = DEFAULT_STRATEGY
    mapping["signal_id"] = signal_id_for(owner, key)
    mapping["ts"] = now.isoformat()
    try:
        return parse_signal_mapping(mapping)
    except SignalParseError as error:
        raise SignalParseError(_AS_ORDER.get(error.field, error.field), error.reason,
                               error.signal_id) from None
