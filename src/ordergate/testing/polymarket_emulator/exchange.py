"""`ClobExchange`: the emulated CLOB without its HTTP face: markets, accounts, books,
orders and trades, and the test's levers on them (`set_book`, `fill_resting`,
`advance`). `PolymarketEmulator` serves it over HTTP.

Here: the state, the test's levers, expiry and cancels. A new order's checks and its
matching as taker are `new_order.py`, the trades a match makes `fills.py`, the book as
`/book` shows it `book.py`, settlement on chain `chain.py`."""

from __future__ import annotations

import base64
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ordergate.testing.polymarket_emulator.chain import Chain
from ordergate.testing.polymarket_emulator.fills import fill_as_maker
from ordergate.testing.polymarket_emulator.records import (
    EmuAccount,
    EmuMarket,
    EmuOrder,
    EmuTrade,
    _ApiError,
    _dec,
)


class ClobExchange:
    """The venue's state and matching engine, guarded by `lock` (tests may change books
    or tick sizes from another thread while the server runs)."""

    def __init__(
        self,
        *,
        chain_id: int = 137,
        gtd_threshold_s: int = 60,
        verify_order_signatures: bool = True,
        trade_mine_delay_s: float = 0.0,
        trade_confirm_delay_s: float = 0.0,
    ) -> None:
        self.chain_id = chain_id
        self.gtd_threshold_s = gtd_threshold_s
        self.verify_order_signatures = verify_order_signatures
        self.time_offset_s = 0.0  # moves the venue's clock (expiry) without touching auth
        self.lock = threading.RLock()
        self.markets: dict[str, EmuMarket] = {}
        self.token_market: dict[str, str] = {}
        self.accounts: dict[str, EmuAccount] = {}  # by api key
        self.books: dict[str, dict[str, list[tuple[Decimal, Decimal]]]] = {}
        self.orders: dict[str, EmuOrder] = {}
        self.trades: list[EmuTrade] = []
        self.chain = Chain(trade_mine_delay_s, trade_confirm_delay_s)
        """Trade settlement: change its delays while running to hold trades MATCHED/MINED."""
        self._seq = 0

    # ------------------------------------------------------------ test set-up

    def now(self) -> float:
        return time.time() + self.time_offset_s

    def advance(self, seconds: float) -> None:
        """Move the venue's clock forward (GTD expiry); authentication keeps real time."""
        with self.lock:
            self.time_offset_s += seconds

    def add_market(
        self,
        condition_id: str,
        tokens: Sequence[tuple[str, str]],
        *,
        tick_size: Decimal | str = "0.01",
        min_order_size: Decimal | str = "5",
        neg_risk: bool = False,
        fee_rate_bps: int = 0,
        question: str = "",
    ) -> EmuMarket:
        market = EmuMarket(
            condition_id=condition_id,
            tokens=list(tokens),
            tick_size=_dec(tick_size),
            min_order_size=_dec(min_order_size),
            neg_risk=neg_risk,
            fee_rate_bps=fee_rate_bps,
            question=question,
        )
        with self.lock:
            self.markets[condition_id] = market
            for token_id, _ in tokens:
                self.token_market[token_id] = condition_id
                self.books.setdefault(token_id, {"bids": [], "asks": []})
        return market

    def set_tick_size(self, token_or_condition_id: str, tick_size: Decimal | str) -> None:
        """Change a market's tick size while running (both outcome tokens share it)."""
        with self.lock:
            cid = self.token_market.get(token_or_condition_id, token_or_condition_id)
            self.markets[cid].tick_size = _dec(tick_size)

    def add_account(
        self,
        address: str,
        *,
        collateral: Decimal | str = "1000",
        tokens: dict[str, Decimal | str] | None = None,
        api_key: str | None = None,
        secret: str | None = None,
        passphrase: str | None = None,
    ) -> EmuAccount:
        """Register an account and its L2 credentials (generated when not given)."""
        account = EmuAccount(
            address=address,
            api_key=api_key or str(uuid.uuid4()),
            secret=secret or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            passphrase=passphrase or secrets.token_hex(16),
            collateral=_dec(collateral),
            tokens={k: _dec(v) for k, v in (tokens or {}).items()},
        )
        with self.lock:
            self.accounts[account.api_key] = account
        return account

    def set_book(
        self,
        token_id: str,
        *,
        bids: Iterable[tuple[Decimal | str, Decimal | str]] = (),
        asks: Iterable[tuple[Decimal | str, Decimal | str]] = (),
        match_resting: bool = True,
    ) -> list[EmuTrade]:
        """Replace the external liquidity of one token: (price, size) levels.

        With `match_resting`, resting orders the new book crosses are filled as makers at
        their own price; the trades are returned."""
        with self.lock:
            if token_id not in self.token_market:
                raise KeyError(f"unknown token {token_id}")
            self.books[token_id] = {
                "bids": sorted(((_dec(p), _dec(s)) for p, s in bids), key=lambda l: -l[0]),
                "asks": sorted(((_dec(p), _dec(s)) for p, s in asks), key=lambda l: l[0]),
            }
            if not match_resting:
                return []
            self._expire_orders()
            made: list[EmuTrade] = []
            for order in sorted(self.orders.values(), key=lambda o: o.created_at):
                if order.token_id != token_id or order.status != "LIVE":
                    continue
                opposite = self.books[token_id]["asks" if order.side == "BUY" else "bids"]
                for i, (price, size) in enumerate(opposite):
                    if order.remaining <= 0:
                        break
                    crosses = price <= order.price if order.side == "BUY" else price >= order.price
                    if not crosses or size <= 0:
                        continue
                    qty = min(size, order.remaining)
                    opposite[i] = (price, size - qty)
                    made.append(fill_as_maker(self, order, qty))
                self.books[token_id]["asks" if order.side == "BUY" else "bids"] = [
                    lv for lv in opposite if lv[1] > 0
                ]
            return made

    def fill_resting(self, order_id: str, size: Decimal | str | None = None) -> EmuTrade:
        """An external taker trades `size` (default: all remaining) against a resting order."""
        with self.lock:
            order = self.orders[order_id]
            if order.status != "LIVE":
                raise ValueError(f"order {order_id} is not live ({order.status})")
            qty = order.remaining if size is None else min(_dec(size), order.remaining)
            return fill_as_maker(self, order, qty)

    def trade_status(self, trade: EmuTrade) -> str:
        """MATCHED, MINED, CONFIRMED, RETRYING or FAILED, as `/data/trades` says it now."""
        with self.lock:
            return self.chain.status(trade, self.now())

    def fail_trade(self, trade_id: str) -> None:
        """The trade's transaction will fail: RETRYING, then FAILED (`chain.py`). Only
        for a trade not final yet: give the chain a delay to catch it in."""
        with self.lock:
            trade = next(t for t in self.trades if t.id == trade_id)
            self.chain.doom(trade, self.now())
            self.settle()

    def fail_next_trades(self, count: int = 1) -> None:
        """The next `count` trades will fail on chain (with no delay: at once)."""
        with self.lock:
            self.chain.doom_next += count

    def settle(self) -> None:
        """Bring balances up to the chain's state now (every request does this first)."""
        with self.lock:
            self.chain.sweep(self.now(), self.accounts)

    def orders_of(self, address_or_api_key: str) -> list[EmuOrder]:
        with self.lock:
            return [
                o
                for o in self.orders.values()
                if o.owner == address_or_api_key or o.maker_address == address_or_api_key
            ]

    # ------------------------------------------------------------ internals

    def _market_of_token(self, token_id: str | None, status: int = 404) -> EmuMarket:
        cid = self.token_market.get(token_id or "")
        if cid is None:
            raise _ApiError(status, "market not found" if status == 404 else "invalid token id")
        return self.markets[cid]

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:08d}-{uuid.uuid4().hex[:12]}"

    def _expire_orders(self) -> None:
        now = self.now()
        for order in self.orders.values():
            if (
                order.status == "LIVE"
                and order.expiration > 0
                and now >= order.expiration - self.gtd_threshold_s
            ):
                order.status = "CANCELED"
                order.expired = True

    def _cancel_ids(self, account: EmuAccount, ids: Iterable[str]) -> dict[str, Any]:
        self._expire_orders()
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for oid in ids:
            order = self.orders.get(oid)
            if order is None or order.owner != account.api_key:
                not_canceled[oid] = "order not found"
            elif order.status != "LIVE":
                not_canceled[oid] = "order can't be found - already canceled or matched"
            else:
                order.status = "CANCELED"
                canceled.append(oid)
        return {"canceled": canceled, "not_canceled": not_canceled}
