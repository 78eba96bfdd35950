"""Binance spot's OCO order lists, as the emulator serves them (rest-api.md, "Order lists").

Endpoints (signed), registered by `binance_emulator.py`:

- `POST /api/v3/orderList/oco`: an above and a below order, same side and quantity. The
  emulator takes the pair Binance's brackets use: a LIMIT_MAKER (the take-profit: above
  for a SELL, below for a BUY) and a STOP_LOSS (below for a SELL, above for a BUY), with
  `abovePrice`/`belowPrice` for the LIMIT_MAKER, `aboveStopPrice`/`belowStopPrice` for
  the stop, `aboveClientOrderId`/`belowClientOrderId`/`listClientOrderId` (generated if
  not sent). Refusals as Binance answers them: -1158 a type not allowed in an OCO (and
  the legal types the emulator does not model: TAKE_PROFIT*, STOP_LOSS_LIMIT), -1168 two
  limit legs, -1165/-1166 a limit leg on the wrong side, -1196/-1197 a stop leg on the
  wrong side, -1106 a parameter the leg's type does not take, -1013 the filters of each
  leg, -2010 "The relationship of the prices for the orders is not correct." (a SELL:
  limit price > last price > stopPrice; a BUY: limit < last < stopPrice), "Order would
  immediately match and take.", "Duplicate order sent." (a leg's client order ID on an
  open order, or the list's on an open list), "Account has insufficient balance for
  requested action.". The answer: orderListId, contingencyType OCO, listStatusType
  EXEC_STARTED, listOrderStatus EXECUTING, listClientOrderId, transactionTime, symbol,
  `orders` and `orderReports` (the stop first, then the LIMIT_MAKER, as Binance numbers
  them), each report with its orderListId.
- `DELETE /api/v3/orderList` (orderListId or listClientOrderId): both legs CANCELED,
  listStatusType ALL_DONE; -2011 "Unknown order list sent." otherwise.
- `GET /api/v3/orderList` (orderListId or origClientOrderId, which names the list).

Funds are locked once for the list: a SELL's base quantity by the LIMIT_MAKER alone (the
stop, untriggered, locks nothing beside it), so a spot account can hold both exits for
what it owns; a BUY's quote at the LIMIT_MAKER's price (checked against the dearer leg).
Each leg is then an ordinary order (`GET/DELETE /api/v3/order` by origClientOrderId,
showing its orderListId), and the list ties them (`ListHook` in `binance_market.py`):
a fill of the LIMIT_MAKER, even partial, EXPIRES the stop (it executes first, then the
stop is ended); the stop triggering EXPIRES the LIMIT_MAKER before the stop executes, its
lock released for the stop's market order; cancelling either leg cancels the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ordergate.testing.binance_market import (
    ZERO,
    BinanceApiError,
    BinanceMarket,
    DEFAULT_ACCOUNT,
    EmulatedOrder,
    decimal_param,
    required,
)
from ordergate.testing.binance_signing import signed_params

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator

BINANCE_OCO_TYPES = frozenset({"STOP_LOSS_LIMIT", "STOP_LOSS", "LIMIT_MAKER", "TAKE_PROFIT",
                               "TAKE_PROFIT_LIMIT"})
"""Binance's legal leg types (aboveType/belowType)."""
MODELLED = frozenset({"STOP_LOSS", "LIMIT_MAKER"})
_ID_RANGE = "'^[a-zA-Z0-9-_.]{1,36}$'"


@dataclass(slots=True)
class OrderList:
    order_list_id: int
    list_client_order_id: str
    symbol: str
    legs: list[EmulatedOrder]
    """The stop first, then the LIMIT_MAKER (as Binance numbers them)."""
    time_ms: int
    account: str = DEFAULT_ACCOUNT
    """Whose list (the API key's account): another account cannot see or cancel it."""

    @property
    def is_open(self) -> bool:
        return any(leg.is_open for leg in self.legs)

    def to_json(self, reports: list[dict[str, Any]] | None = None,
                transaction_ms: int | None = None) -> dict[str, Any]:
        done = not self.is_open
        body: dict[str, Any] = {
            "orderListId": self.order_list_id, "contingencyType": "OCO",
            "listStatusType": "ALL_DONE" if done else "EXEC_STARTED",
            "listOrderStatus": "ALL_DONE" if done else "EXECUTING",
            "listClientOrderId": self.list_client_order_id,
            "transactionTime": transaction_ms or self.time_ms, "symbol": self.symbol,
            "orders": [{"symbol": leg.symbol, "orderId": leg.order_id,
                        "clientOrderId": leg.client_order_id} for leg in self.legs],
        }
        if reports is not None:
            body["orderReports"] = reports
        return body


class OrderLists:
    """The accounts' OCO lists (each list its account's), and the `ListHook` that ties
    their legs."""

    def __init__(self, market: BinanceMarket) -> None:
        self.market = market
        self.lists: dict[int, OrderList] = {}
        self._last_id = 0
        market.list_hook = self

    # ------------------------------------------------------------ ListHook

    def filled(self, order: EmulatedOrder) -> None:
        self._end_others(order, "EXPIRED")

    def triggered(self, order: EmulatedOrder) -> None:
        self._end_others(order, "EXPIRED")

    def cancelled(self, order: EmulatedOrder) -> None:
        self._end_others(order, "CANCELED")

    def _end_others(self, order: EmulatedOrder, status: str) -> None:
        order_list = self.lists.get(order.order_list_id)
        if order_list is None:
            return
        for other in order_list.legs:
            if other is not order and other.is_open:
                self.market._close(other, status)

    # ------------------------------------------------------------ lookups

    def find(self, params: dict[str, str], id_param: str) -> OrderList | None:
        if params.get("orderListId"):
            try:
                found = self.lists.get(int(params["orderListId"]))
            except ValueError:
                raise BinanceApiError(400, -1100, "Illegal characters found in parameter "
                                      "'orderListId'.") from None
            cid = params.get(id_param)
            if found is None or found.account != self.market.account:
                return None
            return None if cid and cid != found.list_client_order_id else found
        cid = params.get(id_param)
        if not cid:
            raise BinanceApiError(400, -1102, f"Param 'orderListId' or '{id_param}' must be "
                                  "sent, but both were empty/null!")
        matches = [lst for lst in self.lists.values() if lst.list_client_order_id == cid
                   and lst.account == self.market.account]
        return matches[-1] if matches else None

    # ------------------------------------------------------------ new OCO

    def new_oco(self, params: dict[str, str]) -> OrderList:
        market = self.market
        symbol = required(params, "symbol")
        spec = market.spec(symbol)
        side = required(params, "side").upper()
        if side not in ("BUY", "SELL"):
            raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'side'.")
        qty = decimal_param(params, "quantity")
        above, below = required(params, "aboveType").upper(), required(params, "belowType").upper()
        for kind in (above, below):
            if kind not in BINANCE_OCO_TYPES:
                raise BinanceApiError(400, -1158, "Order type not supported in OCO.")
        if above == "LIMIT_MAKER" and below == "LIMIT_MAKER":
            raise BinanceApiError(400, -1168, "At least one OCO order must be contingent.")
        if side == "SELL" and below == "LIMIT_MAKER":
            raise BinanceApiError(400, -1166, "A limit order in a sell OCO must be above.")
        if side == "BUY" and above == "LIMIT_MAKER":
            raise BinanceApiError(400, -1165, "A limit order in a buy OCO must be below.")
        if side == "SELL" and above.startswith("STOP_LOSS"):
            raise BinanceApiError(400, -1197, "A stop loss order in a sell OCO must be below.")
        if side == "BUY" and below.startswith("STOP_LOSS"):
            raise BinanceApiError(400, -1196, "A stop loss order in a buy OCO must be above.")
        if above not in MODELLED or below not in MODELLED:
            raise BinanceApiError(400, -1158, "Order type not supported in OCO. (The emulator "
                                  "models LIMIT_MAKER with STOP_LOSS only.)")
        maker_at, stop_at = ("above", "below") if side == "SELL" else ("below", "above")
        for name in (f"{maker_at}StopPrice", f"{maker_at}TimeInForce", f"{stop_at}Price",
                     f"{stop_at}TimeInForce"):
            if name in params:
                raise BinanceApiError(400, -1106, f"Parameter '{name}' sent when not required.")
        price = decimal_param(params, f"{maker_at}Price")
        stop_price = decimal_param(params, f"{stop_at}StopPrice")
        list_id = self._last_id + 1
        next_order = market._last_order_id.get(symbol, 0) + 1
        stop_cid = params.get(f"{stop_at}ClientOrderId") or f"emu-{symbol}-{next_order}"
        maker_cid = params.get(f"{maker_at}ClientOrderId") or f"emu-{symbol}-{next_order + 1}"
        list_cid = params.get("listClientOrderId") or f"emu-list-{list_id}"
        for name, cid in ((f"{stop_at}ClientOrderId", stop_cid),
                          (f"{maker_at}ClientOrderId", maker_cid),
                          ("listClientOrderId", list_cid)):
            if len(cid) > 36:
                raise BinanceApiError(400, -1100, f"Illegal characters found in parameter "
                                      f"'{name}'; legal range is {_ID_RANGE}.")

        # Filters, each leg as a single order would meet them.
        def off_filter(value: Decimal) -> bool:
            return (value < spec.min_price or value > spec.max_price
                    or (value - spec.min_price) % spec.tick_size != 0)

        if off_filter(price) or off_filter(stop_price):
            raise BinanceApiError(400, -1013, "Filter failure: PRICE_FILTER")
        if qty < spec.min_qty or qty > spec.max_qty or (qty - spec.min_qty) % spec.step_size != 0:
            raise BinanceApiError(400, -1013, "Filter failure: LOT_SIZE")
        if qty * min(price, stop_price) < spec.min_notional:
            raise BinanceApiError(400, -1013, "Filter failure: NOTIONAL")
        last = market.last_price(symbol)
        straddles = last is not None and (price > last > stop_price if side == "SELL"
                                          else price < last < stop_price)
        if not straddles:
            raise BinanceApiError(400, -2010, "The relationship of the prices for the orders "
                                  "is not correct.")
        if (stop_cid == maker_cid
                or any(o.is_open and o.client_order_id in (stop_cid, maker_cid)
                       for o in market.own_orders())
                or any(lst.is_open and lst.list_client_order_id == list_cid
                       and lst.account == market.account for lst in self.lists.values())):
            raise BinanceApiError(400, -2010, "Duplicate order sent.")
        # Funds once, for the list (module docstring).
        asset = spec.base if side == "SELL" else spec.quote
        need = qty if side == "SELL" else qty * max(price, stop_price)
        if market.free.get(asset, ZERO) < need:
            raise BinanceApiError(400, -2010, "Account has insufficient balance for requested "
                                  "action.")
        book = market.books[symbol]
        takes = (bool(book.bids) and book.bids[0][0] >= price if side == "SELL"
                 else bool(book.asks) and book.asks[0][0] <= price)
        if takes:
            raise BinanceApiError(400, -2010, "Order would immediately match and take.")

        now = market._now()
        stop = EmulatedOrder(
            order_id=next_order, client_order_id=stop_cid, symbol=symbol, side=side,
            type="STOP_LOSS", time_in_force="GTC", price=ZERO, orig_qty=qty, time_ms=now,
            update_time_ms=now, stop_price=stop_price, working=False, working_time_ms=-1,
            order_list_id=list_id, account=market.account)
        maker = EmulatedOrder(
            order_id=next_order + 1, client_order_id=maker_cid, symbol=symbol, side=side,
            type="LIMIT_MAKER", time_in_force="GTC", price=price, orig_qty=qty, time_ms=now,
            update_time_ms=now, working_time_ms=now, order_list_id=list_id,
            account=market.account)
        for order in (stop, maker):
            market.orders[(symbol, order.order_id)] = order
            market.client_id_counts[order.client_order_id] = (
                market.client_id_counts.get(order.client_order_id, 0) + 1)
        market._last_order_id[symbol] = next_order + 1
        maker.locked = qty if side == "SELL" else qty * price
        market._move(asset, maker.locked, to_locked=True)
        market._waiting.setdefault(symbol, []).append(stop)
        self._last_id = list_id
        order_list = OrderList(list_id, list_cid, symbol, [stop, maker], now, market.account)
        self.lists[list_id] = order_list
        return order_list


def leg_report(order: EmulatedOrder, transact_ms: int) -> dict[str, Any]:
    """One leg as an order list's `orderReports` show it (the RESULT shape)."""
    body = order.to_json()
    for key in ("time", "updateTime", "isWorking", "icebergQty"):
        body.pop(key, None)
    if not order.stop_price:
        body.pop("stopPrice", None)
    body["transactTime"] = transact_ms
    body["workingTime"] = order.working_time_ms if order.working else -1
    return body


def add_routes(emulator: BinanceEmulator, router: web.UrlDispatcher) -> None:
    """Serve the order-list endpoints on `emulator`'s app (its signing, lock, state)."""
    from ordergate.testing.binance_emulator import _json_response

    lists: OrderLists = emulator.order_lists

    async def new_oco(request: web.Request) -> web.StreamResponse:
        params = await signed_params(emulator, request)
        with emulator.acting(request):
            order_list = lists.new_oco(params)
            emulator._persist()
            now = emulator.server_time_ms()
            body = order_list.to_json([leg_report(leg, order_list.time_ms)
                                       for leg in order_list.legs], now)
            if params.get("newOrderRespType", "").upper() == "FULL":
                for report in body["orderReports"]:
                    report["fills"] = []
        return _json_response(body)

    async def cancel_list(request: web.Request) -> web.StreamResponse:
        params = await signed_params(emulator, request)
        with emulator.acting(request):
            emulator.market.spec(required(params, "symbol"))
            order_list = lists.find(params, "listClientOrderId")
            if (order_list is None or order_list.symbol != params["symbol"]
                    or not order_list.is_open):
                raise BinanceApiError(400, -2011, "Unknown order list sent.")
            for leg in order_list.legs:
                if leg.is_open:
                    emulator.market.cancel(leg)
            emulator._persist()
            now = emulator.server_time_ms()
            cancel_id = params.get("newClientOrderId") or f"cancel-list-{order_list.order_list_id}"
            reports = []
            for leg in order_list.legs:
                report = leg_report(leg, now)
                report.pop("workingTime", None)
                report["origClientOrderId"] = leg.client_order_id
                report["clientOrderId"] = cancel_id
                reports.append(report)
            return _json_response(order_list.to_json(reports, now))

    async def query_list(request: web.Request) -> web.StreamResponse:
        params = await signed_params(emulator, request)
        with emulator.acting(request):
            order_list = lists.find(params, "origClientOrderId")
            if order_list is None:
                raise BinanceApiError(400, -2011, "Order list does not exist.")
            return _json_response(order_list.to_json())

    router.add_post("/api/v3/orderList/oco", new_oco)
    router.add_delete("/api/v3/orderList", cancel_list)
    router.add_get("/api/v3/orderList", query_list)

