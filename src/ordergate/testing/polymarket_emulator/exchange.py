"""`ClobExchange`: the emulated CLOB without its HTTP face: markets, accounts, books,
matching, orders and trades, and the test's levers on them (`set_book`, `fill_resting`,
`advance`). `PolymarketEmulator` serves it over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from eth_account import Account

from ordergate.testing.polymarket_emulator.chain import Chain
from ordergate.testing.polymarket_emulator.records import (
    ONE,
    USDC_UNIT,
    ZERO,
    ZERO_ADDRESS,
    EmuAccount,
    EmuMarket,
    EmuOrder,
    EmuTrade,
    Leg,
    _ApiError,
    _dec,
    _fmt,
    order_struct_hash,
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
                    made.append(self._fill_as_maker(order, qty))
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
            return self._fill_as_maker(order, qty)

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

    # ------------------------------------------------------------ the book

    def _book_json(self, token_id: str) -> dict[str, Any]:
        market = self._market_of_token(token_id)
        self._expire_orders()
        book = self.books[token_id]
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for price, size in book["bids"]:
            bids[price] = bids.get(price, ZERO) + size
        for price, size in book["asks"]:
            asks[price] = asks.get(price, ZERO) + size
        for order in self.orders.values():
            if order.token_id == token_id and order.status == "LIVE":
                levels = bids if order.side == "BUY" else asks
                levels[order.price] = levels.get(order.price, ZERO) + order.remaining
        last = self._last_trade_price(token_id)
        payload: dict[str, Any] = {
            "market": market.condition_id,
            "asset_id": token_id,
            "timestamp": str(int(self.now() * 1000)),
            "hash": "",
            # As on the real venue: best bid and best ask come last.
            "bids": [{"price": _fmt(p), "size": _fmt(s)} for p, s in sorted(bids.items())],
            "asks": [
                {"price": _fmt(p), "size": _fmt(s)}
                for p, s in sorted(asks.items(), reverse=True)
            ],
            "min_order_size": _fmt(market.min_order_size),
            "tick_size": _fmt(market.tick_size),
            "neg_risk": market.neg_risk,
            "last_trade_price": _fmt(last) if last is not None else "",
        }
        serialized = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        payload["hash"] = hashlib.sha1(serialized.encode()).hexdigest()
        return payload

    def _last_trade_price(self, token_id: str) -> Decimal | None:
        for trade in reversed(self.trades):
            if trade.token_id == token_id:
                return trade.price
        return None

    def _best(self, token_id: str) -> tuple[Decimal | None, Decimal | None]:
        book = self._book_json(token_id)
        bid = _dec(book["bids"][-1]["price"]) if book["bids"] else None
        ask = _dec(book["asks"][-1]["price"]) if book["asks"] else None
        return bid, ask

    # ------------------------------------------------------------ matching

    def _place(self, account: EmuAccount, payload: dict[str, Any], header_address: str) -> dict[str, Any]:
        order = payload["order"]
        order_type = str(payload.get("orderType", "GTC")).upper()
        post_only = bool(payload.get("postOnly", False))
        if payload.get("owner") != account.api_key:
            raise _ApiError(400, "the order owner has to be the owner of the API KEY")
        if order_type not in ("GTC", "GTD", "FOK", "FAK"):
            raise _ApiError(400, f"invalid order type {order_type}")
        token_id = str(order["tokenId"])
        market = self._market_of_token(token_id, status=400)
        if not market.accepting_orders or market.closed:
            raise _ApiError(400, "the market is not yet ready to process new orders")
        order_id = order_struct_hash(order, self.chain_id, market.neg_risk)
        if self.verify_order_signatures:
            if str(order["signer"]).lower() != header_address.lower():
                raise _ApiError(400, "the order signer address has to be the address of the API KEY")
            try:
                recovered = Account._recover_hash(
                    bytes.fromhex(order_id[2:]), signature=bytes.fromhex(order["signature"][2:])
                )
            except Exception:
                raise _ApiError(400, "invalid signature") from None
            if str(recovered).lower() != str(order["signer"]).lower():
                raise _ApiError(400, "invalid signature")
        if order_id in self.orders:
            raise _ApiError(400, f"order {order_id} already exists (duplicated)")

        side = "BUY" if order["side"] in ("BUY", 0, "0") else "SELL"
        maker_amount = _dec(order["makerAmount"]) / USDC_UNIT
        taker_amount = _dec(order["takerAmount"]) / USDC_UNIT
        if maker_amount <= 0 or taker_amount <= 0:
            raise _ApiError(400, f"order {order_id} is invalid. amounts must be positive")
        if side == "BUY":
            size, price = taker_amount, maker_amount / taker_amount
        else:
            size, price = maker_amount, taker_amount / maker_amount
        tick = market.tick_size
        if price < tick or price > ONE - tick:
            raise _ApiError(
                400, f"invalid price ({_fmt(price)}), min: {_fmt(tick)} - max: {_fmt(ONE - tick)}"
            )
        if price % tick != 0:
            raise _ApiError(
                400,
                f"order {order_id} is invalid. Price ({_fmt(price)}) breaks minimum tick size "
                f"rule: {_fmt(tick)}",
            )
        if size < market.min_order_size:
            raise _ApiError(
                400,
                f"order {order_id} is invalid. Size ({_fmt(size)}) lower than the minimum: "
                f"{_fmt(market.min_order_size)}",
            )
        expiration = int(order.get("expiration", 0) or 0)
        if order_type == "GTD":
            if expiration <= int(self.now()) + self.gtd_threshold_s:
                raise _ApiError(
                    400, f"invalid expiration value ({expiration}): must be at least "
                    f"{self.gtd_threshold_s}s in the future"
                )
        else:
            expiration = 0
        fee_bps = int(order.get("feeRateBps", 0) or 0)
        if market.fee_rate_bps and fee_bps != market.fee_rate_bps:
            raise _ApiError(400, f"invalid fee rate ({fee_bps}), current market's fee rate: {market.fee_rate_bps}")

        # balance: what is free after every other live order of the account and every
        # matched trade of it not settled on chain yet (the CLOB's "sum of matched orders")
        unsettled = self.chain.unsettled_legs(account.api_key)
        if side == "BUY":
            reserved = sum(
                (o.remaining * o.price for o in self.orders.values()
                 if o.owner == account.api_key and o.status == "LIVE" and o.side == "BUY"),
                ZERO,
            ) + sum((leg.cost() for leg in unsettled), ZERO)
            if account.collateral - reserved < size * price:
                raise _ApiError(400, "not enough balance / allowance")
        else:
            reserved = sum(
                (o.remaining for o in self.orders.values()
                 if o.owner == account.api_key and o.status == "LIVE" and o.side == "SELL"
                 and o.token_id == token_id),
                ZERO,
            ) + sum((leg.size for leg in unsettled
                     if leg.side == "SELL" and leg.token_id == token_id), ZERO)
            if account.tokens.get(token_id, ZERO) - reserved < size:
                raise _ApiError(400, "not enough balance / allowance")

        # what the external book offers at this price or better
        levels = self.books[token_id]["asks" if side == "BUY" else "bids"]
        crossing = [
            (i, p, s) for i, (p, s) in enumerate(levels)
            if s > 0 and (p <= price if side == "BUY" else p >= price)
        ]
        available = sum((s for _, _, s in crossing), ZERO)
        if post_only and crossing:
            raise _ApiError(400, "invalid post-only order: order crosses book")
        if order_type == "FOK" and available < size:
            raise _ApiError(
                400,
                "order couldn't be fully filled. FOK orders are fully filled or killed.",
            )
        if order_type == "FAK" and available <= 0:
            raise _ApiError(
                400,
                "no orders found to match with FAK order. FAK orders are partially filled "
                "or killed if no match is found.",
            )
        outcome = dict(market.tokens).get(token_id, "")
        emu_order = EmuOrder(
            id=order_id,
            owner=account.api_key,
            maker_address=str(order["maker"]),
            market=market.condition_id,
            token_id=token_id,
            outcome=outcome,
            side=side,
            price=price,
            original_size=size,
            order_type=order_type,
            expiration=expiration,
            created_at=int(self.now()),
        )
        self.orders[order_id] = emu_order
        making = ZERO
        taking = ZERO
        for i, level_price, level_size in crossing:
            if emu_order.remaining <= 0:
                break
            qty = min(level_size, emu_order.remaining)
            levels[i] = (level_price, level_size - qty)
            trade = self._fill_as_taker(account, emu_order, level_price, qty, market)
            if side == "BUY":
                making += trade.size * trade.price
                taking += trade.size
            else:
                making += trade.size
                taking += trade.size * trade.price
        self.books[token_id]["asks" if side == "BUY" else "bids"] = [
            lv for lv in levels if lv[1] > 0
        ]
        if emu_order.remaining <= 0:
            emu_order.status = "MATCHED"
            status = "matched"
        elif order_type in ("FAK", "FOK"):
            emu_order.status = "CANCELED"
            status = "matched"
        else:
            status = "matched" if emu_order.size_matched > 0 else "live"
        return {
            "success": True,
            "errorMsg": "",
            "orderID": order_id,
            "transactionsHashes": [
                "0x" + hashlib.sha256(t.encode()).hexdigest() for t in emu_order.associate_trades
            ],
            "status": status,
            "takingAmount": _fmt(taking) if taking else "",
            "makingAmount": _fmt(making) if making else "",
        }

    def _fee(self, bps: int, price: Decimal, size: Decimal) -> Decimal:
        return (Decimal(bps) / Decimal(10_000)) * min(price, ONE - price) * size

    def _fill_as_taker(self, account: EmuAccount, order: EmuOrder, price: Decimal,
                       qty: Decimal, market: EmuMarket) -> EmuTrade:
        trade_id = str(uuid.UUID(int=int(hashlib.sha256(
            f"{order.id}:{len(self.trades)}".encode()).hexdigest()[:32], 16)))
        maker_side = "SELL" if order.side == "BUY" else "BUY"
        trade = EmuTrade(
            id=trade_id,
            taker_order_id=order.id,
            market=order.market,
            token_id=order.token_id,
            outcome=order.outcome,
            side=order.side,
            size=qty,
            price=price,
            fee_rate_bps=market.fee_rate_bps,
            match_time=int(self.now()),
            owner=account.api_key,
            maker_address=order.maker_address,
            maker_orders=[{
                "order_id": self._next_id("ext-"),
                "owner": "",
                "maker_address": ZERO_ADDRESS,
                "matched_amount": _fmt(qty),
                "price": _fmt(price),
                "fee_rate_bps": "0",
                "asset_id": order.token_id,
                "outcome": order.outcome,
                "side": maker_side,
            }],
        )
        trade.legs.append(Leg(account.api_key, order.side, order.token_id, price, qty,
                              self._fee(market.fee_rate_bps, price, qty)))
        order.size_matched += qty
        order.associate_trades.append(trade_id)
        self._record(trade)
        return trade

    def _fill_as_maker(self, order: EmuOrder, qty: Decimal) -> EmuTrade:
        market = self.markets[order.market]
        trade_id = str(uuid.UUID(int=int(hashlib.sha256(
            f"{order.id}:{len(self.trades)}".encode()).hexdigest()[:32], 16)))
        taker_side = "SELL" if order.side == "BUY" else "BUY"
        trade = EmuTrade(
            id=trade_id,
            taker_order_id=self._next_id("ext-"),
            market=order.market,
            token_id=order.token_id,
            outcome=order.outcome,
            side=taker_side,
            size=qty,
            price=order.price,
            fee_rate_bps=market.fee_rate_bps,
            match_time=int(self.now()),
            owner="",
            maker_address=ZERO_ADDRESS,
            maker_orders=[{
                "order_id": order.id,
                "owner": order.owner,
                "maker_address": order.maker_address,
                "matched_amount": _fmt(qty),
                "price": _fmt(order.price),
                "fee_rate_bps": "0",
                "asset_id": order.token_id,
                "outcome": order.outcome,
                "side": order.side,
            }],
        )
        order.size_matched += qty
        order.associate_trades.append(trade_id)
        if order.remaining <= 0:
            order.status = "MATCHED"
        trade.legs.append(Leg(order.owner, order.side, order.token_id, order.price, qty, ZERO))
        self._record(trade)
        return trade

    def _record(self, trade: EmuTrade) -> None:
        """A match: the trade is MATCHED now, and settles on chain later (`chain.py`)."""
        trade.matched_at = self.now()
        self.trades.append(trade)
        self.chain.matched(trade)
        self.settle()

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
