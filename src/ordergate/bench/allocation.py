"""The allocation benchmark: what judging and splitting one block over N accounts costs,
venue calls excluded (issue 11's target: under 1 ms for 100 accounts).

`allocate` is what a block pays beyond its children's own decisions: every account
judged (`eligibility.judge`), weighed by the policy and the block split in whole lots
(`split.split`, exact fractions). The standings are built beforehand, as the block's
reads from the venue are excluded; a few accounts are made ineligible (paused, in
drawdown) and a few get dust, so every rule and the drop-and-split-again loop run.

    python -m ordergate.bench.allocation --accounts 10,100,1000
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from decimal import Decimal

from ordergate.allocation.allocator import AllocationPolicy, allocate
from ordergate.allocation.eligibility import AccountLimits, AccountStatus, Standing
from ordergate.domain.instrument import Instrument

BTC = Instrument("sim", "BTC/USDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"),
                 Decimal("0.0001"), min_notional=Decimal("5"))


def book(n: int) -> tuple[list[str], dict[str, Standing], dict[str, AccountLimits]]:
    names = [f"acct-{i:04d}" for i in range(n)]
    standings, limits = {}, {}
    for i, name in enumerate(names):
        equity = Decimal(1000 + 997 * (i % 13)) if i % 17 else Decimal(3)  # some dust
        standings[name] = Standing(
            AccountStatus.PAUSED if i % 29 == 5 else AccountStatus.ACTIVE, equity, equity,
            equity, Decimal(-60) if i % 31 == 7 else Decimal(0), Decimal(i % 50), i % 4)
        limits[name] = AccountLimits(Decimal(0), Decimal(200), Decimal("0.04"), 10)
    return names, standings, limits


def measure(n: int, policy: AllocationPolicy, repeat: int) -> dict[str, object]:
    names, standings, limits = book(n)
    ratios = {name: Decimal(1 + i % 5) for i, name in enumerate(names)}
    quantity, price = Decimal("1.23456"), Decimal("50000")
    times = []
    result = None
    for _ in range(repeat):
        began = time.perf_counter_ns()
        result = allocate("bench", policy, names, standings, limits, quantity, BTC, price,
                          ratios)
        times.append(time.perf_counter_ns() - began)
    assert result is not None and result.refused is None
    return {"median_us": round(statistics.median(times) / 1000, 1),
            "p99_us": round(sorted(times)[int(len(times) * 0.99) - 1] / 1000, 1),
            "children": len(result.children), "dropped": len(result.dropped),
            "sum_is_block": sum((c.quantity for c in result.children), Decimal(0))
            == result.block}


def run(sizes: list[int], repeat: int) -> dict[str, object]:
    out: dict[str, object] = {}
    for n in sizes:
        out[str(n)] = {policy.value: measure(n, policy, repeat) for policy in
                       (AllocationPolicy.EQUAL, AllocationPolicy.EQUITY,
                        AllocationPolicy.RISK_BUDGET, AllocationPolicy.RATIOS,
                        AllocationPolicy.FAILOVER)}
    at_100 = out.get("100")
    worst = None if not isinstance(at_100, dict) else max(v["median_us"] for v in at_100.values())
    return {"accounts": out, "worst_median_us_at_100": worst,
            "target_us_at_100": 1000, "repeat": repeat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", default="10,100,1000")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(run([int(x) for x in args.accounts.split(",")], args.repeat)))


if __name__ == "__main__":
    main()
