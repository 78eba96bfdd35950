"""Spec: a tally reads, when scraped, exactly as prometheus_client's own counter or
histogram would after the same events (only the creation times differ)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client import generate_latest

from ordergate.subscribers.tallies import Tally, TallyHistogram

BUCKETS = (0.0001, 0.001, 0.01, 0.1, 1.0, 10.0)


def _scraped(registry: CollectorRegistry) -> list[tuple[str, str, str, list[tuple]]]:
    """Every family as text-parsed: name, type, help and samples, creation times left out."""
    return [(f.name, f.type, f.documentation,
             [(s.name, sorted(s.labels.items()), s.value) for s in f.samples
              if not s.name.endswith("_created")])
            for f in text_string_to_metric_families(generate_latest(registry).decode())]


def _created(registry: CollectorRegistry) -> list[str]:
    return [s.name for f in text_string_to_metric_families(generate_latest(registry).decode())
            for s in f.samples if s.name.endswith("_created")]


def test_labels_must_match_the_declared_names():
    with pytest.raises(ValueError, match="labels"):
        Tally("t", "t", ["status"]).cell()
    with pytest.raises(ValueError, match="labels"):
        TallyHistogram("h", "h", ["venue"], buckets=BUCKETS).series("a", "b")
    with pytest.raises(ValueError, match="increasing"):
        TallyHistogram("h", "h", buckets=(1.0, 0.5))


@given(st.lists(st.tuples(st.sampled_from(["FILLED", "SUBMITTED", "CANCELLED"]),
                          st.integers(min_value=1, max_value=3)), max_size=30))
def test_a_tally_scrapes_as_a_counter(steps):
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    counter = Counter("ordergate_x", "Things", ["status"], registry=theirs)
    plain = Counter("ordergate_y", "Plain", registry=theirs)
    tally, bare = Tally("ordergate_x", "Things", ["status"]), Tally("ordergate_y", "Plain")
    ours.register(tally)
    ours.register(bare)
    for status, n in steps:
        counter.labels(status).inc(n)
        tally.cell(status)[0] += n
        plain.inc()
        bare.cell()[0] += 1
    assert _scraped(ours) == _scraped(theirs)
    assert _created(ours) == _created(theirs)


@given(st.lists(st.tuples(st.sampled_from(["sim", "binance"]),
                          st.one_of(st.sampled_from(BUCKETS),  # on a bound: that bucket
                                    st.floats(min_value=0, max_value=100))), max_size=40))
def test_a_tally_histogram_scrapes_as_a_histogram(observations):
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    histogram = Histogram("ordergate_z_seconds", "Latency", ["venue"], buckets=BUCKETS,
                          registry=theirs)
    unlabelled = Histogram("ordergate_w_seconds", "Commits", buckets=BUCKETS, registry=theirs)
    tally = TallyHistogram("ordergate_z_seconds", "Latency", ["venue"], buckets=BUCKETS)
    bare = TallyHistogram("ordergate_w_seconds", "Commits", buckets=BUCKETS)
    ours.register(tally)
    ours.register(bare)
    for venue, value in observations:
        histogram.labels(venue).observe(value)
        tally.series(venue).observe(value)
        unlabelled.observe(value)
        bare.series().observe(value)
    assert _scraped(ours) == _scraped(theirs)
    assert _created(ours) == _created(theirs)
