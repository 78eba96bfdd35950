"""Spec: metric labels have bounded cardinality; a sender cannot mint time series."""

from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ordergate.bus import EventBus
from ordergate.domain.signal import SIGNAL_FIELDS, SignalParseError, parse_signal_json
from ordergate.events import SignalInvalid
from ordergate.subscribers.metrics import Metrics, invalid_field_label

T0 = datetime(2026, 1, 2, tzinfo=UTC)
LINE = ('{"signal_id": "s-1", "ts": "2026-01-02T00:00:00Z", "strategy_id": "m", '
        '"account_id": "main", "venue": "sim", "symbol": "BTC/USDT", "side": "buy"')


def _invalid_labels(metrics):
    families = text_string_to_metric_families(metrics.render())
    return {sample.labels["field"]: sample.value for family in families
            if family.name == "ordergate_signals_invalid" for sample in family.samples
            if sample.name.endswith("_total")}


def test_unknown_field_names_share_one_label_however_many_there_are():
    bus = EventBus()
    metrics = Metrics(bus)
    for i in range(1000):
        try:
            parse_signal_json(LINE + f', "xyz{i}": 1}}')
        except SignalParseError as error:
            bus.publish(SignalInvalid(T0, error.field, error.reason, error.signal_id, i))
    assert _invalid_labels(metrics) == {"unknown_field": 1000.0}


def test_known_fields_json_and_signal_keep_their_own_label():
    bus = EventBus()
    metrics = Metrics(bus)
    for field in ["quantity", "quantity", "json", "signal", "side", "quantity.decimal"]:
        bus.publish(SignalInvalid(T0, field, "bad", None, 1))
    assert _invalid_labels(metrics) == {"quantity": 3.0, "json": 1.0, "signal": 1.0, "side": 1.0}


@pytest.mark.parametrize("field", ["xyz", "Quantity", "a" * 1000, "\\u202equantity",
                                   "quantity\\x00", "", ".quantity"])
def test_anything_else_is_unknown_field(field):
    assert invalid_field_label(field) == "unknown_field"


def test_every_signal_field_is_a_known_label():
    assert all(invalid_field_label(field) == field for field in SIGNAL_FIELDS)
    assert "quantity" in SIGNAL_FIELDS and "expires_at" in SIGNAL_FIELDS


async def test_the_audit_line_keeps_the_escaped_and_shortened_name_the_metric_buckets(tmp_path):
    from ordergate.testing.scenario import Scenario

    async with Scenario(tmp_path) as s:
        with pytest.raises(SignalParseError) as info:
            parse_signal_json(LINE + ', "x\u202e' + "y" * 500 + '": 1}')
        s.engine.reject_invalid(info.value, 7)
        lines = [line for line in s.audit() if line["event"] == "signal_invalid"]
        labels = _invalid_labels(s.engine.metrics)
    assert [(line["field"], line["line"]) for line in lines] == [
        ("x\\u202e" + "y" * 54 + "...", 7)]
    assert labels == {"unknown_field": 1.0}
