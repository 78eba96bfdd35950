"""The emulated CLOB's state records (markets, accounts, orders, trades), the injectable
fault, and the order-ID arithmetic the venue uses (the EIP-712 struct hash)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from eth_utils.crypto import keccak
from poly_eip712_structs import make_domain  # type: ignore[import-untyped]
from py_order_utils.model.order import Order as _Eip712Order  # type: ignore[import-untyped]

END_CURSOR = "LTE="
USDC_UNIT = Decimal(1_000_000)
ZERO = Decimal(0)
ONE = Decimal(1)
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

# Exchange contracts by chain and neg-risk, as in py_clob_client.config.
_EXCHANGES: dict[tuple[int, bool], str] = {
    (137, False): "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E",
    (137, True): "0xC5d563A36AE78145C45a50134d48A1215220f80a",
    (80002, False): "0xdFE02Eb6733538f8Ea35D585af8DE5958AD99E40",
    (80002, True): "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296",
}

FaultKind = Literal["delay_response", "delay_request", "status", "drop_before", "drop_after"]


def order_struct_hash(order: dict[str, Any], chain_id: int, neg_risk: bool) -> str:
    """The EIP-712 struct hash of a signed order's JSON (`SignedOrder.dict()`): its order ID."""
    side = order["side"]
    side_int = 0 if side in ("BUY", 0, "0") else 1
    struct = _Eip712Order(
        salt=int(order["salt"]),
        maker=order["maker"],
        signer=order["signer"],
        taker=order.get("taker", ZERO_ADDRESS),
        tokenId=int(order["tokenId"]),
        makerAmount=int(order["makerAmount"]),
        takerAmount=int(order["takerAmount"]),
        expiration=int(order["expiration"]),
        nonce=int(order["nonce"]),
        feeRateBps=int(order["feeRateBps"]),
        side=side_int,
        signatureType=int(order["signatureType"]),
    )
    domain = make_domain(
        name="Polymarket CTF Exchange",
        version="1",
        chainId=str(chain_id),
        verifyingContract=_EXCHANGES[(chain_id, neg_risk)],
    )
    return "0x" + keccak(struct.signable_bytes(domain=domain)).hex()


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def _fmt(value: Decimal) -> str:
    """A Decimal as the venue writes numbers: no exponent, no trailing zeros."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


# ---------------------------------------------------------------- state records


@dataclass
class EmuMarket:
    condition_id: str
    tokens: list[tuple[str, str]]  # (token_id, outcome)
    tick_size: Decimal
    min_order_size: Decimal
    neg_risk: bool = False
    fee_rate_bps: int = 0
    question: str = ""
    active: bool = True
    closed: bool = False
    accepting_orders: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "enable_order_book": True,
            "active": self.active,
            "closed": self.closed,
            "archived": False,
            "accepting_orders": self.accepting_orders,
            "accepting_order_timestamp": None,
            # Polymarket's JSON carries these two as numbers, so the emulator does too
            # (the adapter reads them through str() into Decimal).
            "minimum_order_size": float(self.min_order_size),
            "minimum_tick_size": float(self.tick_size),
            "condition_id": self.condition_id,
            "question_id": "0x" + hashlib.sha256(self.condition_id.encode()).hexdigest(),
            "question": self.question,
            "description": "",
            "market_slug": self.condition_id[:16],
            "end_date_iso": None,
            "game_start_time": None,
            "seconds_delay": 0,
            "fpmm": "",
            "maker_base_fee": self.fee_rate_bps,
            "taker_base_fee": self.fee_rate_bps,
            "notifications_enabled": False,
            "neg_risk": self.neg_risk,
            "neg_risk_market_id": "",
            "neg_risk_request_id": "",
            "icon": "",
            "image": "",
            "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
            "is_50_50_outcome": False,
            "tokens": [
                {"token_id": token_id, "outcome": outcome, "price": 0.5, "winner": False}
                for token_id, outcome in self.tokens
            ],
            "tags": [],
        }


@dataclass
class EmuAccount:
    address: str
    api_key: str
    secret: str
    passphrase: str
    collateral: Decimal = ZERO
    tokens: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class EmuOrder:
    id: str
    owner: str  # api key
    maker_address: str
    market: str
    token_id: str
    outcome: str
    side: str  # "BUY" / "SELL"
    price: Decimal
    original_size: Decimal
    order_type: str
    expiration: int
    created_at: int
    size_matched: Decimal = ZERO
    status: str = "LIVE"  # LIVE, MATCHED, CANCELED
    expired: bool = False
    associate_trades: list[str] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.original_size - self.size_matched

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "owner": self.owner,
            "maker_address": self.maker_address,
            "market": self.market,
            "asset_id": self.token_id,
            "side": self.side,
            "original_size": _fmt(self.original_size),
            "size_matched": _fmt(self.size_matched),
            "price": _fmt(self.price),
            "outcome": self.outcome,
            "expiration": str(self.expiration),
            "order_type": self.order_type,
            "associate_trades": list(self.associate_trades),
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Leg:
    """What one of the emulator's accounts gives and gets in a trade."""

    api_key: str
    side: str  # "BUY" / "SELL"
    token_id: str
    price: Decimal
    size: Decimal
    fee: Decimal

    def cost(self) -> Decimal:
        """USDC this leg spends (a buy: price x size + fee); 0 for a sell."""
        return self.price * self.size + self.fee if self.side == "BUY" else ZERO


@dataclass
class EmuTrade:
    id: str
    taker_order_id: str
    market: str
    token_id: str
    outcome: str
    side: str  # the taker's side
    size: Decimal
    price: Decimal
    fee_rate_bps: int
    match_time: int
    owner: str  # the taker's api key ("" for external)
    maker_address: str  # the taker's address
    maker_orders: list[dict[str, Any]]
    matched_at: float = 0.0  # the venue's clock, seconds
    legs: list[Leg] = field(default_factory=list)
    """What the emulator's own accounts give and get: applied when the trade is mined."""
    doomed: bool = False  # its transaction will fail (chain.py)
    settled: bool = False  # its legs are in the balances

    def to_json(self, viewer_api_key: str, status: str, last_update: float) -> dict[str, Any]:
        trader_side = "TAKER" if self.owner == viewer_api_key else "MAKER"
        return {
            "id": self.id,
            "taker_order_id": self.taker_order_id,
            "market": self.market,
            "asset_id": self.token_id,
            "side": self.side,
            "size": _fmt(self.size),
            "fee_rate_bps": str(self.fee_rate_bps),
            "price": _fmt(self.price),
            "status": status,
            "match_time": str(self.match_time),
            "last_update": str(int(last_update)),
            "outcome": self.outcome,
            "bucket_index": 0,
            "owner": self.owner,
            "maker_address": self.maker_address,
            "transaction_hash": "0x" + hashlib.sha256(self.id.encode()).hexdigest(),
            "trader_side": trader_side,
            "maker_orders": [dict(m) for m in self.maker_orders],
        }


@dataclass
class Fault:
    """One injected fault. `method`/`path` of "*" match anything; `path` ending in "*"
    matches by prefix. It fires `times` times (None: until cleared)."""

    kind: FaultKind
    method: str = "*"
    path: str = "*"
    times: int | None = 1
    delay_s: float = 0.0
    status: int = 500
    retry_after: float | None = None
    body: dict[str, Any] | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.path == "*":
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
