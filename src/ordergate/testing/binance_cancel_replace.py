"""`POST /api/v3/order/cancelReplace` for the Binance emulator, as Binance's REST API
documents it (binance-spot-api-docs, rest-api.md, "Cancel an Existing Order and Send a
New Order"):

- `cancelReplaceMode`: `STOP_ON_FAILURE` (a failed cancel means no new order) or
  `ALLOW_FAILURE` (the new order is attempted anyway);
- `cancelRestrictions`: `ONLY_NEW` / `ONLY_PARTIALLY_FILLED` (the cancel succeeds only in
  that status; otherwise -2011 "Order was not canceled due to cancel restrictions.");
  anything else -1145 "Invalid cancelRestrictions";
- `cancelOrderId` or `cancelOrigClientOrderId` names the order (both: the ID is searched
  and the client ID must match it), `cancelNewClientOrderId` names the cancel, and the
  new order takes the parameters of `POST /api/v3/order` (`newClientOrderId` ...);
- the new order's parameters and filters are checked before anything happens (a filter
  failure is a plain -1013, nothing cancelled); the cancel, then the placement;
- both worked: 200 `{cancelResult, newOrderResult, cancelResponse, newOrderResponse}`;
  one failed: 409 `{"code":-2021,"msg":"Order cancel-replace partially failed.","data":
  {...}}`; the cancel failed with STOP_ON_FAILURE (new order NOT_ATTEMPTED) or both
  failed: 400 `{"code":-2022,"msg":"Order cancel-replace failed.","data":{...}}`, where
  a failed half's response is its own `{code, msg}`.

The unfilled-order-count modes (`orderRateLimitExceededMode`) are not emulated.

Test-facing: `CancelReplace.before_next(callback)` runs `callback` under the emulator's
lock as the next cancelReplace arrives, before it is processed: a fill that beats the
replace to the matching engine, for the race a native amend must survive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ordergate.testing.binance_market import BinanceApiError, required
from ordergate.testing.binance_private import cancel_body, new_order_body
from ordergate.testing.binance_signing import signed_params

if TYPE_CHECKING:
    from ordergate.testing.binance_emulator import BinanceEmulator

PATH = "/api/v3/order/cancelReplace"
_MODES = ("STOP_ON_FAILURE", "ALLOW_FAILURE")
_RESTRICTIONS = {"ONLY_NEW": "NEW", "ONLY_PARTIALLY_FILLED": "PARTIALLY_FILLED"}
_CANCEL_KEYS = ("cancelReplaceMode", "cancelRestrictions", "cancelOrderId",
                "cancelOrigClientOrderId", "cancelNewClientOrderId",
                "orderRateLimitExceededMode")


class CancelReplace:
    """The endpoint, bound to one emulator (its `cancel_replace`)."""

    def __init__(self, emulator: BinanceEmulator) -> None:
        self._emu = emulator
        self._before: list[Callable[[], object]] = []

    def before_next(self, callback: Callable[[], object]) -> None:
        """Run `callback` (under the emulator's lock) as the next cancelReplace arrives."""
        self._before.append(callback)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        emu = self._emu
        params = await signed_params(emu, request)
        mode = required(params, "cancelReplaceMode")
        if mode not in _MODES:
            raise BinanceApiError(400, -1100, "Illegal characters found in parameter "
                                  "'cancelReplaceMode'.")
        restriction = params.get("cancelRestrictions")
        if restriction is not None and restriction not in _RESTRICTIONS:
            raise BinanceApiError(400, -1145, "Invalid cancelRestrictions")
        if not params.get("cancelOrderId") and not params.get("cancelOrigClientOrderId"):
            raise BinanceApiError(400, -1102, "Param 'cancelOrigClientOrderId' or "
                                  "'cancelOrderId' must be sent, but both were empty/null!")
        new_params = {k: v for k, v in params.items() if k not in _CANCEL_KEYS}
        with emu.acting(request):
            before, self._before = self._before[:1], self._before[1:]
            for callback in before:
                callback()
            market = emu.market
            market.check_new_order(new_params)  # filters first: a failure changes nothing
            cancel_response, cancelled = self._cancel(params, restriction)
            new_response: dict[str, Any] | None = None
            placed = False
            if cancelled or mode == "ALLOW_FAILURE":
                try:
                    order, fills = market.new_order(new_params)
                except BinanceApiError as err:
                    new_response = {"code": err.code, "msg": err.msg}
                else:
                    placed = True
                    new_response = new_order_body(order, fills, new_params)
            emu._persist()
        data = {
            "cancelResult": "SUCCESS" if cancelled else "FAILURE",
            "newOrderResult": ("SUCCESS" if placed else "FAILURE" if new_response is not None
                               else "NOT_ATTEMPTED"),
            "cancelResponse": cancel_response,
            "newOrderResponse": new_response,
        }
        if cancelled and placed:
            return _json(data, 200)
        if cancelled or placed:
            return _json({"code": -2021, "msg": "Order cancel-replace partially failed.",
                          "data": data}, 409)
        return _json({"code": -2022, "msg": "Order cancel-replace failed.", "data": data}, 400)

    def _cancel(self, params: dict[str, str],
                restriction: str | None) -> tuple[dict[str, Any], bool]:
        """The cancel half: (its response, whether it cancelled)."""
        market = self._emu.market
        lookup = {"symbol": params["symbol"]}
        if params.get("cancelOrderId"):
            lookup["orderId"] = params["cancelOrderId"]
        else:
            lookup["origClientOrderId"] = params["cancelOrigClientOrderId"]
        order = market.find_order(lookup)
        named = params.get("cancelOrigClientOrderId")
        if order is not None and named and order.client_order_id != named:
            order = None  # both given: the order found by ID must carry that client ID
        if order is None or not order.is_open:
            return {"code": -2011, "msg": "Unknown order sent."}, False
        if restriction is not None and order.status != _RESTRICTIONS[restriction]:
            return {"code": -2011,
                    "msg": "Order was not canceled due to cancel restrictions."}, False
        market.cancel(order)
        return cancel_body(self._emu, order, params.get("cancelNewClientOrderId")), True


def _json(data: Any, status: int) -> web.Response:
    from ordergate.testing.binance_emulator import _json_response

    return _json_response(data, status)
