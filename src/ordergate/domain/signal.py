"""The signal a decision engine publishes: what to trade, never how.

This is the boundary of the engine, so it is the one place input is validated in full:
pydantic checks types and ranges here and nothing downstream checks them again.
Numbers may arrive as JSON strings or numbers; `parse_signal_json` reads JSON numbers
straight into `Decimal` so that a price never passes through a binary float.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ordergate.domain.values import OrderType, Side, TimeInForce


class TradingSignalGenerated(BaseModel):
    """One trading intent. `signal_id` is unique per strategy and account; the client
    order ID is derived from it, so publishing the same signal twice never makes two orders."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    signal_id: str = Field(min_length=1, max_length=128)
    ts: datetime
    strategy_id: str = Field(min_length=1, max_length=64)
    account_id: str = Field(min_length=1, max_length=64)
    venue: str = Field(min_length=1, max_length=64)
    symbol: str = Field(min_length=1, max_length=64)
    side: Side
    order_type: OrderType = OrderType.MARKET
    quantity: Decimal | None = Field(default=None, gt=0)
    limit_price: Decimal | None = Field(default=None, gt=0)
    stop_loss: Decimal | None = Field(default=None, gt=0)
    take_profit: Decimal | None = Field(default=None, gt=0)
    time_in_force: TimeInForce = TimeInForce.GTC
    strength: float = Field(default=1.0, ge=0, le=1)
    confluence_score: float = Field(default=0.0, ge=0)
    expires_at: datetime | None = None

    @field_validator("ts", "expires_at")
    @classmethod
    def _must_be_timezone_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamp must carry a timezone, e.g. 2026-01-02T00:00:00Z")
        return value


class SignalParseError(ValueError):
    """A signal line that could not become a `TradingSignalGenerated`.

    `field` names the offending field (or `json` for a line that is not JSON at all) so an
    operator can fix the producer without reading a traceback."""

    def __init__(self, field: str, reason: str, signal_id: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.signal_id = signal_id


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse_signal_json(line: str | bytes) -> TradingSignalGenerated:
    """Parse one JSON signal, with JSON numbers read exactly as `Decimal`."""
    try:
        raw = json.loads(line, parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as exc:
        raise SignalParseError("json", f"malformed JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise SignalParseError("json", "a signal must be a JSON object")
    return parse_signal_mapping(raw)


def parse_signal_mapping(raw: dict[str, Any]) -> TradingSignalGenerated:
    try:
        return TradingSignalGenerated.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "signal"
        signal_id = raw.get("signal_id")
        raise SignalParseError(
            field, first["msg"], signal_id if isinstance(signal_id, str) else None
        ) from None
