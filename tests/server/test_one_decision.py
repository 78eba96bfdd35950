"""The one-decision-at-a-time rule holds with HTTP in front: requests, ticks and signal
lines take one lock, so no two decisions ever overlap (live.py says why it matters: a
decision's audit lines and journal commit must stay together)."""

import asyncio

import httpx

from ordergate.testing.served import ADMIN, TRADE, order


async def test_http_decisions_and_ticks_never_overlap(served):
    engine = served.engine
    busy: list[str] = []
    overlaps: list[tuple[str, str]] = []

    def watch(name, inner):
        async def watched(*args, **kwargs):
            if busy:
                overlaps.append((busy[-1], name))
            busy.append(name)
            try:
                await asyncio.sleep(0.02)  # widen the window an overlap would need
                return await inner(*args, **kwargs)
            finally:
                busy.remove(name)
        return watched

    def install():
        for name in ("submit", "tick", "cancel", "settle"):
            setattr(engine, name, watch(name, getattr(engine, name)))

    served.on_loop(install)
    async with httpx.AsyncClient(base_url=served.url, headers=TRADE, timeout=20) as client:
        posts = [client.post("/v1/orders", headers={"Idempotency-Key": f"k-{i}"},
                             json=order(type="limit", price="42000")) for i in range(12)]
        moves = [client.post("/v1/trading-state", headers=ADMIN,
                             json={"state": state, "reason": "overlap test"})
                 for state in ("ACTIVE", "ACTIVE")]  # no change, but a decision each
        answers = await asyncio.gather(*posts, *moves, asyncio.sleep(1.5))
        resting = [a.json()["client_order_id"] for a in answers[:12]
                   if a.json().get("client_order_id")]
        await asyncio.gather(*(client.delete(f"/v1/orders/{cid}") for cid in resting))
    assert len(resting) == 12
    assert overlaps == []
