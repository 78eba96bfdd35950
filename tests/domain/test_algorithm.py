"""Spec: a signal's `algorithm` block is typed at the boundary; a wrong name or an
out-of-range schedule is refused with the field's dotted name."""

import json
from decimal import Decimal

import pytest

from ordergate.domain.algorithm import AlgorithmName
from ordergate.domain.signal import SignalParseError, parse_signal_json

BASE = {"signal_id": "s1", "ts": "2026-01-01T00:00:00Z", "strategy_id": "a",
        "account_id": "b", "venue": "sim", "symbol": "BTC/USDT", "side": "buy",
        "quantity": "1"}


def _parse(algorithm):
    return parse_signal_json(json.dumps({**BASE, "algorithm": algorithm}))


@pytest.mark.parametrize(("algorithm", "field"), [
    ({"name": "vwap", "duration_s": 60, "slices": 4}, "algorithm.name"),
    ({"name": "twap", "duration_s": 0, "slices": 4}, "algorithm.duration_s"),
    ({"name": "twap", "duration_s": 604801, "slices": 4}, "algorithm.duration_s"),
    ({"name": "twap", "duration_s": 60, "slices": 0}, "algorithm.slices"),
    ({"name": "twap", "duration_s": 60, "slices": 1001}, "algorithm.slices"),
    ({"name": "twap", "duration_s": 60, "slices": 2.5}, "algorithm.slices"),
    ({"name": "twap", "duration_s": 60, "slices": 4, "limit_price_cap": "-1"},
     "algorithm.limit_price_cap"),
    ({"name": "twap", "duration_s": 60, "slices": 4, "jitter": True}, "algorithm.jitter"),
])
def test_a_bad_algorithm_is_refused_naming_the_field(algorithm, field):
    with pytest.raises(SignalParseError) as raised:
        _parse(algorithm)
    assert raised.value.field == field or str(raised.value).startswith(field)


def test_a_twap_reads_exactly():
    spec = _parse({"name": "twap", "duration_s": 60, "slices": 4,
                   "limit_price_cap": "42000.5"}).algorithm
    assert spec is not None
    assert spec.name is AlgorithmName.TWAP
    assert (spec.duration_s, spec.slices, spec.limit_price_cap) == (
        Decimal(60), 4, Decimal("42000.5"))


def test_without_an_algorithm_a_signal_is_one_order():
    assert parse_signal_json(json.dumps(BASE)).algorithm is None
