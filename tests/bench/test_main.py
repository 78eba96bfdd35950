"""The bench's JSON: every section of issue 12, each with figures that mean something.

The whole bench runs here at toy sizes (a few hundred signals), so a section that breaks
fails this test. Timings are only checked to exist and be positive: machines are noisy,
and how fast is the bench output's to say, never a test's.
"""

from pathlib import Path
from typing import Any

import pytest

from ordergate.bench.__main__ import SECTIONS, Sizes, build


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    sizes = Sizes(quick=True, repeat=1, nautilus_n=200, nautilus_install=False, mixed_n=400,
                  scaling=[100, 300], quotes_n=500, live_n=40, resting="10,100", api_n=120,
                  api_rate=200.0)
    work, repo = tmp_path_factory.mktemp("work"), tmp_path_factory.mktemp("repo")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NAUTILUS_PYTHON", raising=False)  # a repo without .bench/: no Nautilus
        return build(sizes, work, repo, list(SECTIONS))


def test_every_section_is_there_and_none_failed(report: dict[str, Any]) -> None:
    for name in SECTIONS:
        assert name in report
        assert "error" not in report[name], report[name]


def test_the_side_by_side_says_plainly_when_nautilus_is_missing_and_still_times_ordergate(
        report: dict[str, Any]) -> None:
    section = report["nautilus_side_by_side"]
    assert section["nautilus"]["available"] is False
    assert "NAUTILUS_INSTALL" in section["nautilus"]["why"]
    assert "ratio_nautilus_over_ordergate" not in section
    ordergate = section["ordergate"]
    assert _positive(ordergate["whole_process_seconds_median"])
    assert ordergate["orders_filled"] == ordergate["fills"] == 200
    assert ordergate["signals_rejected"] == 0


def test_the_mixed_replay_reports_its_rate_verdicts_and_that_two_runs_wrote_the_same_bytes(
        report: dict[str, Any]) -> None:
    section = report["mixed_workload"]
    assert section["runs"] == 2
    assert section["byte_identical"] is True
    assert _positive(section["signals_per_second"])
    verdicts = section["verdicts"]
    assert verdicts["signals_total"] == section["signals"] == 400
    assert verdicts["signals_invalid"] > 0
    assert verdicts["rejections_by_code"].get("DUPLICATE_SIGNAL", 0) > 0
    assert verdicts["orders_partially_filled"] > 0
    assert verdicts["fills"] > 0


def test_scaling_has_each_size_with_per_signal_cost_and_peak_memory(report: dict[str, Any]) -> None:
    section = report["scaling"]
    assert set(section["sizes"]) == {"100", "300"}
    for n, row in section["sizes"].items():
        assert row["orders_filled"] == int(n)
        assert _positive(row["us_per_signal_replay_loop"])
        assert _positive(row["peak_rss_mb"])
    ratio = section["ratio_us_per_signal_300_vs_100"]
    assert _positive(ratio["replay_loop"]) and _positive(ratio["whole_process"])


def test_resting_orders_examines_as_many_orders_per_quote_however_many_rest(
        report: dict[str, Any]) -> None:
    section = report["resting_orders"]
    assert section["available"] is True
    examined = {row["orders_examined_per_quote"] for row in section["resting_orders"].values()}
    assert len(section["resting_orders"]) >= 2 and len(examined) == 1


def test_quote_loading_counts_every_quote_from_csv_and_parquet(
        report: dict[str, Any]) -> None:
    section = report["quote_loading"]
    assert section["csv"]["quotes"] == 500
    assert _positive(section["csv"]["quotes_per_second"])
    assert section["parquet"]["quotes"] == section["csv"]["quotes"]
    assert _positive(section["parquet"]["seconds_median"])
    for whole in ("csv_whole", "parquet_whole"):  # the file sorted in memory, for comparison
        assert section[whole]["quotes"] == 500 and _positive(section[whole]["seconds_median"])


def test_the_live_path_sends_every_signal_and_its_instants_come_in_order(
        report: dict[str, Any]) -> None:
    section = report["live_path"]
    assert section["signals"] == section["orders_submitted"] == 40
    taken, sent, done = (section[k]["p50"] for k in (
        "to_engine_submit_us", "to_venue_request_us", "to_decision_end_us"))
    assert 0 < taken <= sent <= done
    assert "place_order" in section["measured"]
    assert section["durable"] is True and section["without_fsync"]["durable"] is False
    assert 0 < section["without_fsync"]["to_venue_request_us"]["p50"]


def test_the_live_path_tells_the_disks_fsync_from_the_engines_own_part(
        report: dict[str, Any]) -> None:
    """Durable, every send waited for an fsync, a part of its path; without the fsyncs
    there is none and the engine's own part is the whole path."""
    section, without = report["live_path"], report["live_path"]["without_fsync"]
    fsync, own, sent = (section[k]["p50"] for k in (
        "fsync_before_send_us", "to_venue_request_less_fsync_us", "to_venue_request_us"))
    assert 0 < fsync < sent and 0 < own < sent
    assert without["fsync_before_send_us"]["max"] == 0
    assert without["to_venue_request_less_fsync_us"] == without["to_venue_request_us"]


def test_the_live_path_through_ccxt_reaches_the_emulator_and_takes_the_wait_out(
        report: dict[str, Any]) -> None:
    """Through ccxt to the Binance emulator: every order filled there; the adapter is
    called before the request is on the wire, and the ticker's wait taken out leaves a
    smaller but positive figure."""
    section = report["live_path"]["binance_emulator"]
    assert section["venue"] == "binance"
    assert section["signals"] == section["orders_submitted"] == section["orders_filled"] == 100
    adapter, wire, done = (section[k]["p50"] for k in (
        "to_adapter_us", "to_venue_request_us", "to_decision_end_us"))
    assert 0 < adapter < wire < done
    assert 0 < section["to_venue_request_excluding_network_us"]["p50"] < wire
    assert 0 < section["awaiting_venue_before_send_us"]["p50"]
    assert section["without_fsync"]["durable"] is False


def test_quick_shrinks_every_size_and_each_knob_overrides_one() -> None:
    quick = Sizes.from_env({"QUICK": "1"})
    full = Sizes.from_env({})
    assert quick.repeat == 1 and full.repeat == 3
    assert not quick.nautilus_install and full.nautilus_install
    assert full.nautilus_n == 50_000 and full.mixed_n == 100_000
    assert full.scaling == [10_000, 100_000, 1_000_000] and full.quotes_n == 1_000_000
    for field in ("nautilus_n", "mixed_n", "quotes_n", "live_n"):
        assert getattr(quick, field) < getattr(full, field)
    assert max(quick.scaling) < min(full.scaling)
    tuned = Sizes.from_env({"QUICK": "1", "MIXED_N": "123", "SCALING_SIZES": "5 6"})
    assert tuned.mixed_n == 123 and tuned.scaling == [5, 6]


def test_the_api_under_load_sends_one_order_per_signal_however_often_it_is_posted(
        report: dict[str, Any]) -> None:
    section = report["api_load"]
    for run in (section, section["without_fsync"]):
        assert run["every_client_id_once"] is True
        throughput = run["throughput"]
        assert throughput["distinct_signals"] < throughput["requests"]  # some were posted again
        # a repeat that arrives while its first is still being decided is 409 ("in flight,
        # retry later"), as the idempotency rules say; never a 4xx or 5xx otherwise
        assert set(throughput["statuses"]) <= {"200", "201", "409"}
        assert 0 < throughput["latency_ms"]["p50"] <= throughput["latency_ms"]["p99"]
    assert section["durable"] is True and section["without_fsync"]["durable"] is False
    # durable: about one fsync a request (the sends' barriers; answers ride on them)
    assert 0.5 < section["throughput_fsyncs"]["per_request"] < 2
    assert 0 < section["throughput_fsyncs"]["fsync_us"]["p50"]
    assert section["without_fsync"]["throughput_fsyncs"] == {
        "per_request": 0.0, "fsync_us": {"p50": None, "p99": None}}
    assert section["venue_orders"] == (section["throughput"]["distinct_signals"]
                                       + section["paced"]["distinct_signals"])


def test_allocation_times_each_policy_at_each_size_and_the_children_sum_to_the_block(
        report: dict[str, Any]) -> None:
    section = report["allocation"]
    assert set(section["accounts"]) == {"10", "100"}
    for policies in section["accounts"].values():
        assert set(policies) == {"equal", "equity", "risk_budget", "ratios", "failover"}
        for row in policies.values():
            assert _positive(row["median_us"]) and row["sum_is_block"] is True
    assert section["accounts"]["100"]["failover"]["children"] == 1
    assert section["accounts"]["100"]["equity"]["dropped"] > 0  # the re-split loop runs
    assert _positive(section["worst_median_us_at_100"])
