"""Request bodies are bounded (`server.max_body_bytes`, default 64 KiB): 413, unparsed."""

import httpx

from ordergate.testing.served import TRADE, signal


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(served):
    r = httpx.post(f"{served.url}/v1/signals", headers={**TRADE, "Content-Type": "application/json"},
                   content=b" " * (64 * 1024 + 1))
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/body-too-large"


def test_a_chunked_body_is_refused_as_it_passes_the_limit(served):
    def chunks():
        for _ in range(100):
            yield b" " * 4096

    r = httpx.post(f"{served.url}/v1/signals", headers={**TRADE, "Content-Type": "application/json"},
                   content=chunks())
    assert r.status_code == 413


def test_a_body_within_the_limit_goes_through(served):
    r = httpx.post(f"{served.url}/v1/signals", headers=TRADE, json=signal("small-1"))
    assert r.status_code == 201
