"""The served OpenAPI document against the server itself: schemathesis generates requests
from `/openapi.json` (valid ones and invalid ones), sends them over real HTTP to a server
on 127.0.0.1 against the simulated venue, and checks every answer: no 5xx, a status the
document lists for the route, the declared content type, and a body that conforms to
the declared schema, headers included (Retry-After). Bounded: `MAX_EXAMPLES` per route
and mode, derandomized (the same requests every run), no shrinking, no stateful phase,
each request under a 5 s timeout, and the server stops by itself (`served.LIFETIME_S`);
about 15 s in all.

Run here through hypothesis (`as_strategy`) rather than `schema.parametrize()`: the
lazy `from_fixture` loader that a server started by a fixture needs does not run under
pytest 9."""

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Config, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance,
    status_code_conformance,
)

from ordergate.testing.served import ACCOUNTS, ADMIN, Served, start, write_config

MAX_EXAMPLES = 25
REQUEST_TIMEOUT_S = 5.0

WITH_INPUT = ["POST /v1/signals", "POST /v1/orders", "GET /v1/orders",
              "GET /v1/orders/{order_id}", "DELETE /v1/orders/{order_id}",
              "GET /v1/parents/{parent_id}",
              "PATCH /v1/orders/{order_id}",
              "GET /v1/accounts/{account_id}", "POST /v1/trading-state",
              "GET /v1/groups/{group}", "POST /v1/accounts/{name}/status"]
"""Operations that take input: fuzzed with valid and with invalid requests."""
WITHOUT_INPUT = ["GET /v1/positions", "GET /v1/health", "GET /metrics", "GET /v1/accounts"]
"""No parameter and no body: nothing can be sent invalid (but the token, sent always)."""
OPERATIONS = WITH_INPUT + WITHOUT_INPUT
STREAMS = ["GET /v1/events"]
"""Never-ending answers: not fuzzed (a call would only end at the timeout); its own
tests are in test_event_stream.py."""
RUNS = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (label, GenerationMode.NEGATIVE) for label in WITH_INPUT]
STEERED = {
    "POST /v1/orders": {"venue": "sim", "symbol": "BTC/USDT", "account": "main",
                        "quantity": "0.01"},
    "POST /v1/signals": {"venue": "sim", "symbol": "ETH/USDT", "account_id": "main",
                         "quantity": "0.01"}}
"""Half the valid entries name the configured venue, a symbol it trades, the account and
a quantity it can pay for, the rest left as generated: otherwise nearly every generated
order is refused (an unknown venue) and the admitted answer, with its order, would go
unchecked. So with the account: a generated ID is unknown (404)."""
STEERED_PATH = {"GET /v1/accounts/{account_id}": {"account_id": "alpha"},
                "GET /v1/groups/{group}": {"group": "desk"},
                "POST /v1/accounts/{name}/status": {"name": "alpha"}}
"""`alpha` is an account of blocks (`served.ACCOUNTS`): its answer carries its standing."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]

CONFIG = Config.from_dict({"request-timeout": REQUEST_TIMEOUT_S})


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    server = start(tmp, write_config(tmp, extra=ACCOUNTS))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def api_schema(api: Served) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{api.url}/openapi.json", config=CONFIG)


def test_every_operation_of_the_document_is_fuzzed_here(api_schema):
    declared = {op.ok().label for op in api_schema.get_all_operations()}
    assert declared == set(OPERATIONS) | set(STREAMS)


@pytest.mark.parametrize(("label", "mode"), RUNS, ids=[f"{l} {m.value}" for l, m in RUNS])
def test_every_answer_is_documented_and_none_is_a_server_error(api_schema, label, mode):
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode), steer=st.booleans())
    def check(case: schemathesis.Case, steer: bool) -> None:
        if steer and mode is GenerationMode.POSITIVE and label in STEERED:
            case.body.update(STEERED[label])
        if steer and mode is GenerationMode.POSITIVE and label in STEERED_PATH:
            case.path_parameters.update(STEERED_PATH[label])
        case.call_and_validate(headers=ADMIN, checks=CHECKS, timeout=REQUEST_TIMEOUT_S)

    check()
