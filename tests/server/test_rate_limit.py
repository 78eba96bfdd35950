"""A request rate limit per token: beyond `requests_per_s` (after `burst`) a request is
429 problem+json with Retry-After; other tokens, health and the document are not held
back."""

import httpx
import pytest

from ordergate.config import load_config
from ordergate.server.problems import Problem
from ordergate.server.rate_limit import RequestLimits
from ordergate.testing.served import READ, TOKENS, TRADE, start, write_config

LIMITED = """
[[server.tokens]]
name = "slow-reader"
env = "OG_TEST_READ"
scope = "read"
requests_per_s = 0.2
burst = 3

[[server.tokens]]
name = "trader"
env = "OG_TEST_TRADE"
scope = "trade"
"""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _refused(limits: RequestLimits, name: str) -> Problem:
    with pytest.raises(Problem) as caught:
        limits.admit(name)
    return caught.value


def test_beyond_the_burst_a_request_is_429_with_the_seconds_to_wait():
    clock = Clock()
    limits = RequestLimits(clock)
    limits.limit("bot", requests_per_s=2, burst=3)
    for _ in range(3):
        limits.admit("bot")
    problem = _refused(limits, "bot")
    assert problem.status == 429 and problem.slug == "rate-limited"
    assert problem.headers == {"Retry-After": "1"}  # half a second, rounded up to whole ones
    assert "token" in problem.detail and "bot" in problem.detail


def test_retry_after_is_whole_seconds_until_a_request_passes_again():
    clock = Clock()
    limits = RequestLimits(clock)
    limits.limit("slow", requests_per_s=0.25, burst=1)
    limits.admit("slow")
    clock.now += 1.5
    assert _refused(limits, "slow").headers["Retry-After"] == "3"  # 2.5 s to go
    clock.now += 2.5
    limits.admit("slow")


def test_the_bucket_refills_at_the_rate_up_to_the_burst_and_no_further():
    clock = Clock()
    limits = RequestLimits(clock)
    limits.limit("bot", requests_per_s=10)  # burst defaults to a second's worth: 10
    for _ in range(10):
        limits.admit("bot")
    _refused(limits, "bot")
    clock.now += 0.5
    for _ in range(5):
        limits.admit("bot")
    _refused(limits, "bot")
    clock.now += 3600  # a long quiet spell fills it to the burst, not beyond
    for _ in range(10):
        limits.admit("bot")
    _refused(limits, "bot")


def test_a_refused_request_spends_nothing():
    clock = Clock()
    limits = RequestLimits(clock)
    limits.limit("bot", requests_per_s=1, burst=1)
    limits.admit("bot")
    for _ in range(50):  # hammering while refused does not push the next slot further out
        clock.now += 0.01
        _refused(limits, "bot")
    clock.now += 0.5
    limits.admit("bot")


def test_each_refusal_is_told_by_name():
    refused: list[str] = []
    limits = RequestLimits(Clock(), on_refused=refused.append)
    limits.limit("bot", requests_per_s=1, burst=1)
    limits.admit("bot")
    for _ in range(2):
        _refused(limits, "bot")
    assert refused == ["bot", "bot"]


def test_a_name_without_a_limit_is_never_held_back():
    limits = RequestLimits(Clock())
    limits.limit("bot", requests_per_s=1, burst=1)
    for _ in range(1000):
        limits.admit("ops")


def test_a_burst_without_a_rate_is_refused_at_load(tmp_path):
    path = write_config(tmp_path, server=LIMITED.replace("requests_per_s = 0.2\n", ""),
                        tokens=False)
    with pytest.raises(ValueError, match="burst without requests_per_s"):
        load_config(path)


def test_over_http_a_token_beyond_its_rate_gets_429_and_the_others_do_not(tmp_path):
    served = start(tmp_path, write_config(tmp_path, server=LIMITED, tokens=False),
                   environ=TOKENS)
    try:
        url = served.url
        assert [httpx.get(f"{url}/v1/positions", headers=READ).status_code
                for _ in range(3)] == [200, 200, 200]
        r = httpx.get(f"{url}/v1/orders", headers=READ)
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/rate-limited"
        assert 1 <= int(r.headers["retry-after"]) <= 5
        assert TOKENS["OG_TEST_READ"] not in r.text
        metrics = httpx.get(f"{url}/metrics", headers=TRADE).text
        assert 'ordergate_http_rate_limited_total{token="slow-reader"} 1.0' in metrics
        # the trader has no limit; health and the document need no token and are exempt
        assert httpx.get(f"{url}/v1/positions", headers=TRADE).status_code == 200
        assert all(httpx.get(f"{url}/v1/health").status_code == 200 for _ in range(20))
        assert httpx.get(f"{url}/openapi.json").status_code == 200
    finally:
        served.close()


def test_a_request_the_scope_refuses_still_counts(tmp_path):
    served = start(tmp_path, write_config(tmp_path, server=LIMITED, tokens=False),
                   environ=TOKENS)
    try:
        statuses = [httpx.delete(f"{served.url}/v1/orders/og-1", headers=READ).status_code
                    for _ in range(4)]
        assert statuses == [403, 403, 403, 429]
    finally:
        served.close()
