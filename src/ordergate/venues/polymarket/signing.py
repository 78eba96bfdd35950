"""Order-ID arithmetic: how a request becomes a signed order, and why its ID is known
before it is sent.

Polymarket has no client order ID field. An order's ID *is* the EIP-712 struct hash of
the signed order, and every field of that order follows from the request: the `salt` is
derived from the signer's address and our client order ID (SHA-256, 53 bits: an exact
integer in JavaScript, as the venue's own salts are), the amounts from the price and
size in USDC micro-units, the expiration from `expires_at`, the fee rate and the exchange
contract (neg-risk or not) from the token. So the same request, signed against the same
tick size, fee rate and neg-risk flag, always signs to the same order and the same ID.
"""

from __future__ import annotations

import hashlib
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from loguru import logger
from py_clob_client.config import get_contract_config
from py_order_utils.builders import OrderBuilder as UtilsOrderBuilder  # type: ignore[import-untyped]
from py_order_utils.model import (  # type: ignore[import-untyped]
    BUY as UTILS_BUY,
)
from py_order_utils.model import (
    SELL as UTILS_SELL,
)
from py_order_utils.model import (
    OrderData,
    SignedOrder,
)
from py_order_utils.signer import Signer as UtilsSigner  # type: ignore[import-untyped]

from ordergate.domain.values import Side, TimeInForce
from ordergate.venues.base import OrderRejected, OrderRequest
from ordergate.venues.polymarket.client import _Secrets

ONE = Decimal(1)
LOT = Decimal("0.01")
MICRO = Decimal(1_000_000)
GTD_THRESHOLD_S = 60
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
_SALT_BITS = 53  # stays an exact integer in JavaScript, as the venue's own salts do


def salt_for(address: str, client_order_id: str) -> int:
    """The order salt derived from the client order ID (and the signer)."""
    digest = hashlib.sha256(f"{address.lower()}|{client_order_id}".encode()).digest()
    return int.from_bytes(digest, "big") & ((1 << _SALT_BITS) - 1)


def to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return ((value / step).to_integral_value(rounding=rounding) * step).quantize(step)


def effective_price_and_size(name: str, request: OrderRequest, tick: Decimal,
                             min_quantity: Decimal | None) -> tuple[Decimal, Decimal]:
    """The price re-rounded to the current tick (safe direction: a buy down, a sell up)
    and the lot-true size; refuses what the venue would refuse."""
    if request.price is None:
        raise OrderRejected(f"{name}: a limit order needs a price")
    price = request.price
    if price % tick != 0:
        rounding = ROUND_FLOOR if request.side is Side.BUY else ROUND_CEILING
        new_price = to_step(price, tick, rounding)
        logger.info("{}: {} price {} re-rounded to {} for tick {}",
                    name, request.client_order_id, price, new_price, tick)
        price = new_price
    if price < tick or price > ONE - tick:
        raise OrderRejected(f"{name}: price {price} outside [{tick}, {ONE - tick}] for tick {tick}")
    size = to_step(request.quantity, LOT, ROUND_FLOOR)
    if size <= 0:
        raise OrderRejected(f"{name}: quantity {request.quantity} below one lot {LOT}")
    if min_quantity is not None and size < min_quantity:
        raise OrderRejected(f"{name}: quantity {size} below minimum {min_quantity}")
    return price, size


def expiration_of(name: str, request: OrderRequest) -> int:
    """The signed `expiration`: 0 but for GTD, where the venue expires an order 60 s
    before it, so `expires_at + 60 s` is signed."""
    if request.time_in_force is not TimeInForce.GTD:
        return 0
    if request.expires_at is None:
        raise OrderRejected(f"{name}: a GTD order needs expires_at")
    return int(request.expires_at.timestamp()) + GTD_THRESHOLD_S


class OrderSigner:
    """Signs orders for one signer (and funder) on one chain."""

    def __init__(self, name: str, chain_id: int, signature_type: int, secrets: _Secrets,
                 address: str) -> None:
        self.name = name
        self.chain_id = chain_id
        self.signature_type = signature_type
        self.address = address
        self.funder = secrets.funder or address
        self._secrets = secrets

    def sign(self, request: OrderRequest, price: Decimal, size: Decimal, neg_risk: bool,
             fee_rate_bps: int) -> tuple[str, Any]:
        """Build and sign the order; returns (order ID = EIP-712 hash, SignedOrder)."""
        notional = size * price * MICRO
        shares = size * MICRO
        if notional != notional.to_integral_value() or shares != shares.to_integral_value():
            raise OrderRejected(f"{self.name}: {size} x {price} is not representable in USDC units")
        if request.side is Side.BUY:
            side, maker_amount, taker_amount = UTILS_BUY, int(notional), int(shares)
        else:
            side, maker_amount, taker_amount = UTILS_SELL, int(shares), int(notional)
        data = OrderData(
            maker=self.funder,
            taker=ZERO_ADDRESS,
            tokenId=request.symbol,
            makerAmount=str(maker_amount),
            takerAmount=str(taker_amount),
            side=side,
            feeRateBps=str(fee_rate_bps),
            nonce="0",
            signer=self.address,
            expiration=str(expiration_of(self.name, request)),
            signatureType=self.signature_type,
        )
        salt = salt_for(self.address, request.client_order_id)
        exchange = get_contract_config(self.chain_id, neg_risk).exchange
        builder = UtilsOrderBuilder(
            exchange,
            self.chain_id,
            UtilsSigner(key=self._secrets.private_key),
            salt_generator=lambda: salt,
        )
        order = builder.build_order(data)
        signature = builder.build_order_signature(order)
        order_id = str(builder._create_struct_hash(order))
        return order_id, SignedOrder(order, signature)
