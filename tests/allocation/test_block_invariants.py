"""A property over blocks: whatever the sequence of blocks, thin books, fill timeouts,
venue rejections and restarts, no block's children fill more than the block, every
account's position is the sum of its own fills, and no client order ID reaches the
venue twice."""

import tempfile
from decimal import Decimal as D
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.clock import SimulatedClock
from ordergate.engine import Engine
from ordergate.testing.scenario import T0, quote
from ordergate.venues.faults import Fault
from ordergate.venues.guarded import unwrap
from ordergate.venues.market_data import MarketData

from tests.allocation.test_blocks import block, config

ACCOUNTS = ("alpha", "beta", "gamma")

blocks = st.fixed_dictionaries({
    "op": st.just("block"),
    "quantity": st.sampled_from(["0.010", "0.033", "0.100", "0.250"]),
    "kind": st.sampled_from(["market", "ioc", "gtc"]),
    "reject_next": st.booleans(),
})
ops = st.lists(st.one_of(blocks, st.just({"op": "wait"}), st.just({"op": "restart"})),
               min_size=1, max_size=8)
books = st.lists(st.sampled_from(["0.005", "0.02", "0.05", "5"]), min_size=12, max_size=12)
policies = st.sampled_from(["equal", "equity", "failover"])


def check(e: Engine) -> None:
    journal = e.journal
    for row in journal.rows("SELECT parent_id, spec FROM parents WHERE kind='block'"):
        import json
        spec = json.loads(row["spec"])
        if spec.get("block") is None:
            continue
        from ordergate.allocation.children import child_order_id
        from ordergate.domain.signal import TradingSignalGenerated
        signal = TradingSignalGenerated.model_validate(spec["signal"])
        filled = D(0)
        for child in spec["children"]:
            for fill in journal.fills(child_order_id(signal, child)):
                filled += D(fill["quantity"])
        assert filled <= D(spec["block"]), (row["parent_id"], filled, spec)
    for account in ACCOUNTS:
        fills = journal.rows("SELECT side, quantity FROM fills WHERE account_id=?", (account,))
        total = sum((D(f["quantity"]) * (1 if f["side"] == "buy" else -1) for f in fills), D(0))
        assert e.positions.quantity(account, "sim", "BTC/USDT") == total
    counts = unwrap(e.venues["sim"]).orders_per_client_id
    assert all(n == 1 for n in counts.values()), counts


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=ops, sizes=books, policy=policies)
async def test_no_block_overfills_and_positions_are_their_fills(steps, sizes, policy):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clock = SimulatedClock(T0)
        cfg = config(group={"accounts": list(ACCOUNTS), "policy": policy})
        cfg = cfg.model_copy(update={"reconciler": cfg.reconciler.model_copy(
            update={"fill_timeout_s": 4.0})})
        market = MarketData([quote(5 * i, "42000", "42001", size) for i, size in enumerate(sizes)])
        e = Engine(cfg, clock, market=market, journal_path=tmp / "j.sqlite",
                   audit_path=tmp / "a.jsonl")
        await e.start()
        try:
            for n, step in enumerate(steps):
                if step["op"] == "block":
                    fields = {"signal_id": f"b{n}", "ts": clock.now(),
                              "quantity": D(step["quantity"])}
                    if step["kind"] != "market":
                        fields.update(order_type="limit", limit_price=D("42001"),
                                      time_in_force="IOC" if step["kind"] == "ioc" else "GTC")
                    if step["reject_next"]:
                        unwrap(e.venues["sim"]).faults.inject("place", Fault.REJECT)
                    await e.submit(block(**fields))
                elif step["op"] == "wait":
                    clock.advance(5)
                    await e.tick()
                else:
                    await e.close()
                    e = Engine(cfg, clock, venues=e.venues, journal_path=tmp / "j.sqlite",
                               audit_path=tmp / "a.jsonl")
                    await e.start()
                check(e)
            for _ in range(3):  # let every fill timeout and completion play out
                clock.advance(5)
                await e.tick()
            check(e)
        finally:
            await e.close()
