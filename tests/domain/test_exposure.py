"""The exposure view: working orders' remaining sizes, kept exactly as orders change."""

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ordergate.domain.exposure import ExposureView, SymbolExposure, WorkingOrders
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import OrderType, Side, TimeInForce

D = Decimal
S = OrderStatus
T0 = datetime(2026, 1, 2, tzinfo=UTC)


def _order(n: int, side: Side, quantity: str, symbol: str = "BTC/USDT", price: str | None = "100",
           account: str = "main") -> Order:
    return Order(f"c{n}", f"s{n}", "momo", account, "sim", symbol, side, OrderType.LIMIT,
                 D(quantity), None if price is None else D(price), TimeInForce.GTC, T0,
                 expected_price=D("101"))


def test_a_reducing_order_may_take_off_only_what_working_orders_leave():
    long = SymbolExposure(D("0.03"), working_buy=D("0.05"), working_sell=D("0.01"))
    assert long.reducible(Side.SELL) == D("0.02")
    assert long.reducible(Side.BUY) == 0  # a buy does not reduce a long
    assert SymbolExposure(D("0.01"), D(0), D("0.02")).reducible(Side.SELL) == 0  # never negative
    assert not SymbolExposure(D(0), D(0), D(0)).is_open
    assert SymbolExposure(D(0), D("0.01"), D(0)).is_open  # a resting order on a flat symbol


def test_a_terminal_order_counts_nothing_and_the_last_one_leaves_no_residue():
    working = WorkingOrders()
    buy = _order(1, Side.BUY, "0.3")
    working.update(buy)
    assert working.quantity(("main", "sim", "BTC/USDT"), Side.BUY) == D("0.3")
    assert working.buy_notional(("main", "sim", "BTC/USDT")) == D("30.0")
    buy.transition(S.SUBMITTED, T0, "sent")
    buy.add_execution(D("100"), D("0.1"))
    buy.transition(S.PARTIALLY_FILLED, T0, "fill")
    working.update(buy)
    assert working.quantity(("main", "sim", "BTC/USDT"), Side.BUY) == D("0.2")
    buy.transition(S.CANCELLED, T0, "cancel")
    working.update(buy)
    assert len(working) == 0 and list(working.symbols("main")) == []
    assert working.quantity(("main", "sim", "BTC/USDT"), Side.BUY) == 0


KEY = ("main", "sim", "BTC/USDT")


def test_a_parents_reservation_counts_like_a_working_order_and_its_release_leaves_no_residue():
    working = WorkingOrders()
    working.reserve("p1", KEY, Side.BUY, D("0.3"), D("30.3"))
    view = ExposureView(working, lambda *key: D(0), lambda account: iter(()))
    assert view.of(*KEY) == SymbolExposure(D(0), D("0.3"), D(0))
    assert view.open_symbols("main") == {("sim", "BTC/USDT")}  # a flat symbol, only a parent
    assert view.committed("main", "sim", lambda symbol: "USDT", "USDT") == D("30.3")
    assert len(working) == 0 and working.reservations == 1  # not an order
    working.reserve("p1", KEY, Side.BUY, D("0.1"), D("10.1"))  # a slice went: replaced
    assert working.quantity(KEY, Side.BUY) == D("0.1") and working.buy_notional(KEY) == D("10.1")
    working.release("p1")
    working.release("p1")  # twice: nothing to take off twice
    assert working.totals(KEY) is None and list(working.symbols("main")) == []
    assert working.reserved("p1") == 0 and working.reservations == 0


def test_a_reservation_of_zero_is_a_release_and_a_sell_commits_no_equity():
    working = WorkingOrders()
    working.reserve("p1", KEY, Side.SELL, D("0.2"), D("999"))
    assert working.quantity(KEY, Side.SELL) == D("0.2") and working.buy_notional(KEY) == 0
    working.reserve("p1", KEY, Side.SELL, D(0), D(0))
    assert working.totals(KEY) is None and working.reservations == 0


def test_an_order_and_a_reservation_on_one_key_each_count_until_their_own_end():
    working = WorkingOrders()
    buy = _order(1, Side.BUY, "0.1")  # notional 10.0 at its limit
    buy.transition(S.SUBMITTED, T0, "sent")
    working.update(buy)
    working.reserve("p1", KEY, Side.BUY, D("0.2"), D("20.2"))
    assert working.quantity(KEY, Side.BUY) == D("0.3") and working.buy_notional(KEY) == D("30.2")
    working.release("p1")
    assert working.quantity(KEY, Side.BUY) == D("0.1")  # the order still counts
    buy.transition(S.CANCELLED, T0, "cancel")
    working.update(buy)
    assert working.totals(KEY) is None


def test_a_market_order_commits_its_expected_price():
    working = WorkingOrders()
    working.update(_order(1, Side.BUY, "2", price=None))
    assert working.buy_notional(("main", "sim", "BTC/USDT")) == D("202")


STEPS = st.lists(st.tuples(st.integers(0, 5),
                           st.sampled_from(["fill", "cancel", "update", "reserve", "release"]),
                           st.integers(0, 40)), max_size=60)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(sides=st.lists(st.sampled_from([Side.BUY, Side.SELL]), min_size=6, max_size=6),
       symbols=st.lists(st.sampled_from(["BTC/USDT", "ETH/USDT"]), min_size=6, max_size=6),
       steps=STEPS)
def test_totals_always_equal_what_working_orders_and_reservations_still_hold(sides, symbols, steps):
    # Six orders and six parents (parent i reserves on order i's side and symbol).
    working = WorkingOrders()
    orders = [_order(i, sides[i], "1", symbols[i]) for i in range(6)]
    reserved = [D(0)] * 6
    for order in orders:
        order.transition(S.SUBMITTED, T0, "sent")
        working.update(order)
    for index, action, size in steps:
        order = orders[index]
        if action in ("reserve", "release"):
            reserved[index] = D(size) / 40 if action == "reserve" else D(0)
            if action == "reserve":
                working.reserve(f"p{index}", ("main", "sim", order.symbol), order.side,
                                reserved[index], reserved[index] * 100)
            else:
                working.release(f"p{index}")
        elif order.status.is_terminal:
            working.update(order)  # a late report of a finished order changes nothing
        elif action == "fill":
            quantity = min(D(max(size, 1)) / 40, order.remaining_quantity)
            order.add_execution(D("100"), quantity)
            order.transition(S.FILLED if order.remaining_quantity == 0 else S.PARTIALLY_FILLED,
                             T0, "fill")
        elif action == "cancel":
            order.transition(S.CANCELLED, T0, "cancel")
        working.update(order)
        for symbol in ("BTC/USDT", "ETH/USDT"):
            for side in Side:
                expected = sum((o.remaining_quantity for o in orders if o.symbol == symbol
                                and o.side is side and not o.status.is_terminal), D(0))
                expected += sum((r for o, r in zip(orders, reserved, strict=True)
                                 if o.symbol == symbol and o.side is side), D(0))
                assert working.quantity(("main", "sim", symbol), side) == expected
    assert set(working.symbols("main")) == {("sim", o.symbol) for o, r in zip(orders, reserved,
                                                                            strict=True)
                                           if not o.status.is_terminal or r > 0}
