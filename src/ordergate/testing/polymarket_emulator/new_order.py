"""A new order on the emulated CLOB (`exchange.py`), `POST /order`: the checks the real
venue makes before the order exists, in its order (owner, order type, market open, the
EIP-712 signature and its signer, a duplicate order hash, amounts, price inside
[tick, 1 - tick] and on the tick, minimum size, GTD expiration, fee rate, then balance
net of the account's live orders and unsettled trades, post-only, FOK/FAK against what
the book offers), then the order walking the test's external book as taker
(`fills.py`), and the answer the venue gives. Apart from the exchange so that what the
venue refuses, and how an order it takes matches, are read on their own. Called under
the exchange's lock."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from eth_account import Account

from ordergate.testing.polymarket_emulator.fills import fill_as_taker
from ordergate.testing.polymarket_emulator.records import (
    ONE,
    USDC_UNIT,
    ZERO,
    EmuAccount,
    EmuOrder,
    _ApiError,
    _dec,
    _fmt,
    order_struct_hash,
)

if TYPE_CHECKING:
    from ordergate.testing.polymarket_emulator.exchange import ClobExchange


def place_order(exchange: ClobExchange, account: EmuAccount, payload: dict[str, Any],
                header_address: str) -> dict[str, Any]:
    order = payload["order"]
    order_type = str(payload.get("orderType", "GTC")).upper()
    post_only = bool(payload.get("postOnly", False))
    if payload.get("owner") != account.api_key:
        raise _ApiError(400, "the order owner has to be the owner of the API KEY")
    if order_type not in ("GTC", "GTD", "FOK", "FAK"):
        raise _ApiError(400, f"invalid order type {order_type}")
    token_id = str(order["tokenId"])
    market = exchange._market_of_token(token_id, status=400)
    if not market.accepting_orders or market.closed:
        raise _ApiError(400, "the market is not yet ready to process new orders")
    order_id = order_struct_hash(order, exchange.chain_id, market.neg_risk)
    if exchange.verify_order_signatures:
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
    if order_id in exchange.orders:
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
        if expiration <= int(exchange.now()) + exchange.gtd_threshold_s:
            raise _ApiError(
                400, f"invalid expiration value ({expiration}): must be at least "
                f"{exchange.gtd_threshold_s}s in the future"
            )
    else:
        expiration = 0
    fee_bps = int(order.get("feeRateBps", 0) or 0)
    if market.fee_rate_bps and fee_bps != market.fee_rate_bps:
        raise _ApiError(400, f"invalid fee rate ({fee_bps}), current market's fee rate: {market.fee_rate_bps}")

    # balance: what is free after every other live order of the account and every
    # matched trade of it not settled on chain yet (the CLOB's "sum of matched orders")
    unsettled = exchange.chain.unsettled_legs(account.api_key)
    if side == "BUY":
        reserved = sum(
            (o.remaining * o.price for o in exchange.orders.values()
             if o.owner == account.api_key and o.status == "LIVE" and o.side == "BUY"),
            ZERO,
        ) + sum((leg.cost() for leg in unsettled), ZERO)
        if account.collateral - reserved < size * price:
            raise _ApiError(400, "not enough balance / allowance")
    else:
        reserved = sum(
            (o.remaining for o in exchange.orders.values()
             if o.owner == account.api_key and o.status == "LIVE" and o.side == "SELL"
             and o.token_id == token_id),
            ZERO,
        ) + sum((leg.size for leg in unsettled
                 if leg.side == "SELL" and leg.token_id == token_id), ZERO)
        if account.tokens.get(token_id, ZERO) - reserved < size:
            raise _ApiError(400, "not enough balance / allowance")

    # what the external book offers at this price or better
    levels = exchange.books[token_id]["asks" if side == "BUY" else "bids"]
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
        created_at=int(exchange.now()),
    )
    exchange.orders[order_id] = emu_order
    making = ZERO
    taking = ZERO
    for i, level_price, level_size in crossing:
        if emu_order.remaining <= 0:
            break
        qty = min(level_size, emu_order.remaining)
        levels[i] = (level_price, level_size - qty)
        trade = fill_as_taker(exchange, account, emu_order, level_price, qty, market)
        if side == "BUY":
            making += trade.size * trade.price
            taking += trade.size
        else:
            making += trade.size
            taking += trade.size * trade.price
    exchange.books[token_id]["asks" if side == "BUY" else "bids"] = [
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
