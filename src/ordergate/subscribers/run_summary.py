"""`RunSummary`: the counts a replay reports in `summary.json`, from events only."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from ordergate.bus import EventBus
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import ZERO
from ordergate.events import (
    AllocationCompletion, AllocationDecided, AllocationFailover, ChildSignal, OrderFilled,
    OrderTransitioned, OrderUnresolved, SignalInvalid, SignalRejected, SlippageExceeded,
    TradingSignalGenerated,
)
from ordergate.subscribers.positions import PositionTracker

S = OrderStatus
CENT_MICRO = Decimal("0.00000001")  # money in the summary is shown to 8 places


class RunSummary:
    def __init__(self, bus: EventBus) -> None:
        self.counts: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.invalid_fields: Counter[str] = Counter()
        self.blocks: Counter[str] = Counter()
        """Blocks over groups: counters only, so memory does not grow with them."""
        self.child_rejections: Counter[str] = Counter()
        self._in_child = False  # a block's child's verdicts are the block's, not a signal's
        bus.subscribe(TradingSignalGenerated, self._signal)
        bus.subscribe(ChildSignal, self._child)
        bus.subscribe(AllocationDecided, self._allocated)
        bus.subscribe(AllocationFailover, lambda e: self.blocks.update(
            ("failovers" if e.to_account else "failovers_not_placed",)))
        bus.subscribe(AllocationCompletion, lambda e: self.blocks.update(
            ("completions" if e.to_account else "completions_not_placed",)))
        bus.subscribe(SignalInvalid, self._invalid)
        bus.subscribe(SignalRejected, self._rejected)
        bus.subscribe(OrderTransitioned, self._transition)
        bus.subscribe(OrderFilled, self._fill)
        bus.subscribe(OrderUnresolved, lambda e: self.counts.update(("orders_unresolved",)))
        bus.subscribe(SlippageExceeded, lambda e: self.counts.update(("slippage_breaches",)))

    def _signal(self, event: TradingSignalGenerated) -> None:
        self._in_child = False
        self.counts["signals_total"] += 1

    def _child(self, event: ChildSignal) -> None:
        self._in_child = True
        self.blocks["children"] += 1

    def _allocated(self, event: AllocationDecided) -> None:
        self.blocks["blocks"] += 1
        if event.code:
            self.blocks["blocks_refused"] += 1

    def _invalid(self, event: SignalInvalid) -> None:
        self._in_child = False
        self.counts["signals_total"] += 1
        self.counts["signals_invalid"] += 1
        self.invalid_fields[event.field] += 1

    def _rejected(self, event: SignalRejected) -> None:
        if self._in_child:
            self.blocks["children_refused"] += 1
            self.child_rejections[event.code] += 1
            return
        self.counts["signals_rejected"] += 1
        self.rejections[event.code] += 1

    def _transition(self, event: OrderTransitioned) -> None:
        to, counts = event.to_status, self.counts
        if to is S.SUBMITTED:
            counts["orders_submitted"] += 1
        elif to is S.FILLED:
            counts["orders_filled"] += 1
        elif to is S.PARTIALLY_FILLED and event.from_status is not S.PARTIALLY_FILLED:
            counts["orders_partially_filled"] += 1
        elif to is S.CANCELLED:
            counts["orders_cancelled"] += 1
        elif to is S.REJECTED:
            counts["orders_rejected"] += 1
            if event.code:  # a venue refusal with a code (POST_ONLY_WOULD_TAKE)
                self.rejections[event.code] += 1
        elif to is S.EXPIRED:
            counts["orders_expired"] += 1
        elif to is S.FAILED:
            counts["orders_failed"] += 1
            if event.code:  # refused unsent, with a code (STOP_ORDERS_UNSUPPORTED)
                self.rejections[event.code] += 1

    def _fill(self, event: OrderFilled) -> None:
        self.counts["fills"] += 1

    def as_dict(self, positions: PositionTracker, duplicate_client_order_ids: int) -> dict[str, Any]:
        """The summary. Money as strings; keys sorted so the file is stable.

        `fees` maps each currency a commission was charged in to the total paid in it
        (`{"BTC": "0.00070000", "USDT": "9.99980000"}`, empty when nothing was charged):
        amounts in different currencies are never added together."""
        per_symbol: dict[str, Any] = {}
        fees: dict[str, Decimal] = {}
        realized = ZERO
        for (_, _, symbol), position in sorted(positions.positions.items()):
            per_symbol[symbol] = per_symbol.get(symbol, ZERO) + position.quantity
            realized += position.realized_pnl
            for currency, amount in position.fees.items():
                fees[currency] = fees.get(currency, ZERO) + amount
        keys = ("signals_total", "signals_invalid", "signals_rejected", "orders_submitted",
                "orders_filled", "orders_partially_filled", "orders_cancelled", "orders_rejected",
                "orders_expired", "orders_failed", "orders_unresolved", "fills", "slippage_breaches")
        summary: dict[str, Any] = {key: self.counts[key] for key in keys}
        summary.update(
            duplicate_client_order_ids=duplicate_client_order_ids,
            positions={symbol: str(qty) for symbol, qty in per_symbol.items()},
            realized_pnl=format(realized.quantize(CENT_MICRO), "f"),
            fees={currency: format(amount.quantize(CENT_MICRO), "f")
                  for currency, amount in sorted(fees.items())},
            rejections_by_code=dict(sorted(self.rejections.items())),
            invalid_by_field=dict(sorted(self.invalid_fields.items())),
        )
        accounts = {account for account, _, _ in positions.positions}
        if len(accounts) > 1 or self.blocks:  # many accounts: each one's figures apart
            summary["per_account"] = _per_account(positions)
        if self.blocks:
            summary["blocks"] = {**dict(sorted(self.blocks.items())),
                                 "children_refused_by_code": dict(sorted(
                                     self.child_rejections.items()))}
        return summary


def _per_account(positions: PositionTracker) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for (account, _, symbol), position in sorted(positions.positions.items()):
        row = out.setdefault(account, {"positions": {}, "realized_pnl": ZERO, "fees": {}})
        row["positions"][symbol] = str(position.quantity)
        row["realized_pnl"] += position.realized_pnl
        for currency, amount in position.fees.items():
            row["fees"][currency] = row["fees"].get(currency, ZERO) + amount
    for row in out.values():
        row["realized_pnl"] = format(row["realized_pnl"].quantize(CENT_MICRO), "f")
        row["fees"] = {c: format(a.quantize(CENT_MICRO), "f") for c, a in sorted(row["fees"].items())}
    return out
