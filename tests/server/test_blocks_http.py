"""A block over HTTP: `POST /v1/signals` naming a group, its answer and its parent view,
over real HTTP on 127.0.0.1 against the simulated venue."""

import httpx
import pytest

from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.testing import served as serving
from ordergate.testing.served import READ, TRADE, signal

GROUP = """
[reconciliation]
accounts = ["main", "alpha", "beta"]
[accounts.alpha]
[accounts.beta]
[groups.desk]
accounts = ["alpha", "beta"]
policy = "equal"
"""


@pytest.fixture()
def block_server(tmp_path):
    path = serving.write_config(tmp_path, extra=GROUP)
    text = path.read_text().replace('kind = "simulated"', 'kind = "simulated"\nbalances = '
                                    '{ alpha = { USDT = "100000" }, beta = { USDT = "100000" } }')
    path.write_text(text)
    server = serving.start(tmp_path, path)
    yield server
    server.close()


def test_a_block_posted_over_http_is_answered_and_its_parent_lists_each_accounts_order(
        block_server):
    body = signal("blk-1", account_id="desk", quantity="0.02")
    r = httpx.post(f"{block_server.url}/v1/signals", headers=TRADE, json=body)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["admitted"] is True and answer["handler"] == "allocator"
    assert answer["reason"].startswith("block ")
    parent_id = client_order_id_for("http-test", "desk", "blk-1")
    shown = httpx.get(f"{block_server.url}/v1/parents/{parent_id}", headers=READ)
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert view["kind"] == "block" and view["status"] == "done"
    assert [c["client_order_id"] for c in view["children"]] == [
        client_order_id_for("http-test", a, "blk-1") for a in ("alpha", "beta")]
    assert view["children_filled"] == "0.0200"
    again = httpx.post(f"{block_server.url}/v1/signals", headers=TRADE, json=body)
    assert again.json() == answer  # the first answer, replayed: nothing split again
    assert sorted(block_server.engine.venue_orders_per_client_id().values()) == [1, 1]
