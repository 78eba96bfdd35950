"""The order ledger: the one place venue reports change orders, and what it keeps in memory."""

from decimal import Decimal

from ordergate.testing.scenario import Scenario

D = Decimal


async def test_finished_orders_leave_memory_after_the_grace_window_without_any_new_signal(tmp_path):
    async with Scenario(tmp_path, config={"reconciler": {"finished_order_grace_s": 10}}) as s:
        outcome = await s.submit(signal_id="filled")
        assert outcome.order is not None and outcome.order.status.is_terminal
        client_order_id = outcome.order.client_order_id
        await s.advance(5)
        assert s.engine.ledger.get(client_order_id) is not None  # late fills still find it
        await s.advance(6)
        assert s.engine.ledger.get(client_order_id) is None
        assert s.engine.journal.order_status(client_order_id) == "FILLED"  # the record stays
