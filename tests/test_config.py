"""Spec: configuration is validated on load; a bad file names the offending key."""

import re
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.allocation.settings import AccountSettings
from pydantic import ValidationError

from ordergate.config import (
    HANDLER_NAMES,
    ConfigError,
    EngineConfig,
    config_from_mapping,
    load_config,
)
from ordergate.limits import MAX_AMOUNT, MAX_DURATION_S
from ordergate.venues.ccxt_venue import CcxtVenueSettings
from ordergate.venues.circuit_breaker import BreakerSettings
from ordergate.venues.polymarket import PolymarketVenueSettings
from ordergate.venues.rate_limiter import RateLimitSettings
from ordergate.venues.simulated import InstrumentSpec, SimulatedVenueSettings

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path, text, name="engine.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- unhappy paths


def test_missing_file_is_a_config_error_naming_the_file(tmp_path):
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match="no such configuration file") as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["[risk\n", "risk_per_trade = \n", "[risk]\na = 1\na = 2\n"])
def test_invalid_toml_is_a_config_error_naming_the_file(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[risk]\nrisk_per_trades = 0.01\n", "risk.risk_per_trades"),
        ("[riks]\nx = 1\n", "riks"),
        ("[journal]\nfsync = true\n", "journal.fsync"),
        ("colour = 'blue'\n", "colour"),
    ],
)
def test_unknown_key_is_refused_and_named(tmp_path, text, key):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert key in str(info.value)
    assert "engine.toml" in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[risk]\nrisk_per_trade = 0.5\n", "risk.risk_per_trade"),
        ("[risk]\nrisk_per_trade = '0.0500001'\n", "risk.risk_per_trade"),
        ("[risk]\nrisk_per_trade = 0\n", "risk.risk_per_trade"),
        ("[risk]\ndefault_stop_distance = 0.03\n", "risk.default_stop_distance"),
        ("[risk]\ntrading_state = 'PAUSED'\n", "risk.trading_state"),
        ("[risk]\nmax_open_positions = -1\n", "risk.max_open_positions"),
        ("[risk]\nprice_band = 0\n", "risk.price_band"),
        ("[executor]\nmax_attempts = 0\n", "executor.max_attempts"),
        ("[executor]\nbackoff_base_s = 0\n", "executor.backoff_base_s"),
        ("[reconciler]\nremainder_policy = 'sell'\n", "reconciler.remainder_policy"),
        ("[journal]\nbatch_size = 0\n", "journal.batch_size"),
        ("[journal]\ndurable = 'sometimes'\n", "journal.durable"),
        ("risk = 5\n", "risk"),
    ],
)
def test_bad_value_is_refused_and_its_key_named(tmp_path, text, key):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert key in str(info.value)


@pytest.mark.parametrize(
    ("handlers", "complaint"),
    [
        ('["validator", "risk", "exekutor"]', "exekutor"),
        ('["validator", "risk", "risk", "executor"]', "twice"),
    ],
)
def test_unknown_or_duplicate_handler_is_refused(tmp_path, handlers, complaint):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, f"[pipeline]\nhandlers = {handlers}\n"))
    assert "pipeline" in str(info.value)
    assert complaint in str(info.value)


# Every number in every settings model, the venues' own included: where it sits in a
# configuration mapping, and the key an error must name.

SECTIONS = [name for name in EngineConfig.model_fields
            if name not in ("venues", "accounts", "groups")]  # tables of named sections
CCXT = {"kind": "ccxt", "exchange": "binance", "account_id": "main"}
POLYMARKET = {"kind": "polymarket", "account_id": "main"}
INSTRUMENT = {"symbol": "BTC/USDT", "tick_size": "0.01", "lot_size": "0.001"}


def _numeric(model):
    return [name for name, info in model.model_fields.items()
            if "float" in str(info.annotation) or "Decimal" in str(info.annotation)]


def _placements():
    """(key named in the error, function building a mapping with that key set)."""
    places = []
    for section in SECTIONS:
        for key in _numeric(EngineConfig.model_fields[section].annotation):
            places.append((f"{section}.{key}", lambda v, s=section, k=key: {s: {k: v}}))
    for name, base, model in [("sim", {"kind": "simulated"}, SimulatedVenueSettings),
                              ("ccxt", CCXT, CcxtVenueSettings),
                              ("poly", POLYMARKET, PolymarketVenueSettings)]:
        for key in _numeric(model):
            places.append((f"venues.{name}.{key}",
                           lambda v, n=name, b=base, k=key: {"venues": {n: {**b, k: v}}}))
    for table, model in [("breaker", BreakerSettings), ("rate_limit", RateLimitSettings)]:
        for key in _numeric(model):
            places.append((f"venues.v.{table}.{key}",
                           lambda v, t=table, k=key: {"venues": {"v": {**CCXT, t: {k: v}}}}))
    for key in _numeric(InstrumentSpec):
        places.append((f"venues.v.instruments.0.{key}", lambda v, k=key: {"venues": {"v": {
            "kind": "simulated", "instruments": [{**INSTRUMENT, k: v}]}}}))
    places.append(("venues.v.balances.main.USDT", lambda v: {"venues": {"v": {
        "kind": "simulated", "balances": {"main": {"USDT": v}}}}}))
    for key in _numeric(AccountSettings):
        places.append((f"accounts.a.{key}", lambda v, k=key: {"accounts": {"a": {k: v}}}))
    places.append(("groups.g.ratios.a", lambda v: {"accounts": {"a": {}}, "groups": {"g": {
        "accounts": ["a"], "policy": "ratios", "ratios": {"a": v}}}}))
    places.append(("venues.v.instruments_refresh_s",
                   lambda v: {"venues": {"v": {**CCXT, "instruments_refresh_s": v}}}))
    return places


PLACEMENTS = _placements()
DURATIONS = [(key, build) for key, build in PLACEMENTS
             if key.endswith("_s") and "_per_" not in key and key != "validator.max_signal_age_s"]


def test_the_placements_cover_every_model_and_the_durations_we_know():
    keys = {key for key, _ in PLACEMENTS}
    assert len(keys) == len(PLACEMENTS) >= 45
    assert {"executor.submit_deadline_s", "reconciler.fill_timeout_s", "venues.ccxt.timeout_s",
            "venues.poly.timeout_s", "venues.v.breaker.recovery_timeout_s",
            "venues.v.rate_limit.max_wait_s", "venues.sim.maker_fee",
            "venues.v.instruments.0.tick_size", "venues.sim.history_retention_s",
            "venues.poly.tick_refresh_s", "venues.v.balances.main.USDT"} <= keys
    assert len(DURATIONS) >= 20


@pytest.mark.parametrize(("key", "build"), PLACEMENTS, ids=[k for k, _ in PLACEMENTS])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "nan", "inf",
                                   "1e400", "Infinity"])
def test_a_non_finite_number_is_refused_everywhere_naming_the_key(key, build, value):
    with pytest.raises(ConfigError) as info:
        config_from_mapping(build(value))
    assert key in str(info.value)


@pytest.mark.parametrize("literal", ["nan", "inf", "+inf", "-nan", "1e400"])
@pytest.mark.parametrize(
    ("table", "key"),
    [("executor", "submit_deadline_s"), ("reconciler", "fill_timeout_s"),
     ("validator", "max_signal_age_s"), ("venues.sim", "ack_latency_ms"),
     ("venues.b.breaker", "recovery_timeout_s")],
)
def test_toml_non_finite_floats_are_refused_at_load(tmp_path, literal, table, key):
    head = "[venues.b]\nkind = 'ccxt'\nexchange = 'binance'\n" if table.startswith("venues.b") else ""
    text = f"{head}[{table}]\n{key} = {literal}\n"
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert f"{table}.{key}" in str(info.value)


@pytest.mark.parametrize(("key", "build"), DURATIONS, ids=[k for k, _ in DURATIONS])
def test_a_duration_beyond_30_days_is_refused_and_30_days_accepted(key, build):
    with pytest.raises(ConfigError) as info:
        config_from_mapping(build(MAX_DURATION_S * 1.01))
    assert key in str(info.value)
    assert isinstance(config_from_mapping(build(MAX_DURATION_S)), EngineConfig)


def test_the_signal_age_limit_may_be_as_large_as_a_timedelta_holds_and_no_larger():
    # compared with an age, never added to the clock: 1e12 s is "no limit" (tests/test_live.py)
    assert config_from_mapping({"validator": {"max_signal_age_s": 1e12}})
    with pytest.raises(ConfigError, match="validator.max_signal_age_s"):
        config_from_mapping({"validator": {"max_signal_age_s": 1e14}})


def test_a_timeout_that_would_overflow_the_clock_later_is_refused_at_load(tmp_path):
    # loaded before, then `now + timedelta(seconds=1e300)` raised OverflowError once the
    # order was ACCEPTED and the reconciler set its deadline
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, "[reconciler]\nfill_timeout_s = 1e300\n"))
    assert "reconciler.fill_timeout_s" in str(info.value)


@pytest.mark.parametrize(
    ("key", "mapping"),
    [("executor.max_attempts", {"executor": {"max_attempts": 10**6}}),
     ("executor.lookup_attempts", {"executor": {"lookup_attempts": 10**6}}),
     ("journal.batch_size", {"journal": {"batch_size": 10**9}}),
     ("risk.max_open_positions", {"risk": {"max_open_positions": 10**9}}),
     ("risk.max_order_notional", {"risk": {"max_order_notional": str(MAX_AMOUNT * 10)}}),
     ("risk.price_band", {"risk": {"price_band": "1.5"}}),
     ("reconciliation.position_tolerance", {"reconciliation": {"position_tolerance": "1e16"}}),
     ("venues.v.breaker.failure_threshold",
      {"venues": {"v": {**CCXT, "breaker": {"failure_threshold": 10**6}}}}),
     ("venues.v.rate_limit.burst", {"venues": {"v": {**CCXT, "rate_limit": {"burst": 10**9}}}}),
     ("venues.v.max_workers", {"venues": {"v": {**POLYMARKET, "max_workers": 10**4}}}),
     ("venues.v.rate_limit.rate_per_s",
      {"venues": {"v": {**CCXT, "rate_limit": {"rate_per_s": 1e7}}}}),
     ("venues.v.slippage_bps", {"venues": {"v": {"kind": "simulated", "slippage_bps": "20000"}}}),
     ("validator.min_strength", {"validator": {"min_strength": 1.5}})],
)
def test_sizes_beyond_what_a_real_configuration_uses_are_refused(key, mapping):
    with pytest.raises(ConfigError) as info:
        config_from_mapping(mapping)
    assert key in str(info.value)


@pytest.mark.parametrize(
    ("settings", "key"),
    [({"maker_fee": "-0.0001"}, "venues.sim.maker_fee"),
     ({"taker_fee": -0.001}, "venues.sim.taker_fee"),
     ({"taker_fee": "0.5"}, "venues.sim.taker_fee"),
     ({"balances": {"main": {"USDT": "-1"}}}, "venues.sim.balances.main.USDT"),
     ({"balances": {"main": {"USDT": "100", "BTC": "-0.5"}}}, "venues.sim.balances.main.BTC"),
     ({"slippage_bps": "-1"}, "venues.sim.slippage_bps"),
     ({"inferred_min_notional": "-1"}, "venues.sim.inferred_min_notional"),
     ({"inferred_lot_size": "0"}, "venues.sim.inferred_lot_size"),
     ({"ack_latency_ms": -5}, "venues.sim.ack_latency_ms"),
     ({"history_retention_s": -1}, "venues.sim.history_retention_s"),
     ({"instruments": [{**INSTRUMENT, "min_notional": "-5"}]}, "venues.sim.instruments.0.min_notional"),
     ({"instruments": [{**INSTRUMENT, "min_quantity": "-1"}]}, "venues.sim.instruments.0.min_quantity"),
     ({"instruments": [{**INSTRUMENT, "max_price": "0"}]}, "venues.sim.instruments.0.max_price"),
     ({"instruments": [{**INSTRUMENT, "min_quantity": "2", "max_quantity": "1"}]},
      "venues.sim.instruments.0")],
)
def test_negative_fees_balances_and_minimums_of_the_simulated_venue_are_refused(settings, key):
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"venues": {"sim": {"kind": "simulated", **settings}}})
    assert key in str(info.value)


def test_zero_fees_and_an_empty_balance_are_fine():
    config = config_from_mapping({"venues": {"sim": {
        "kind": "simulated", "maker_fee": "0", "taker_fee": 0, "balances": {"main": {"BTC": "0"}}}}})
    assert config.venues["sim"].adapter_fields()["taker_fee"] == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [("rotation", "garbage"), ("rotation", "100 parsecs"), ("rotation", "every tuesday"),
     ("retention", "garbage"), ("retention", "10"), ("retention", "100 MB"),
     ("compression", "garbage"), ("compression", "rar")],
)
def test_audit_rotation_retention_and_compression_loguru_cannot_use_are_refused_at_load(
        tmp_path, key, value):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, f"[audit]\n{key} = '{value}'\n"))
    assert f"audit.{key}" in str(info.value)
    assert "loguru" in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [("rotation", "100 MB"), ("rotation", "00:00"), ("rotation", "1 day"), ("rotation", "w0"),
     ("rotation", "monday at 12:00"), ("retention", "30 days"), ("retention", "1 week"),
     ("compression", "gz"), ("compression", "zip"), ("compression", "tar.gz")],
)
def test_what_loguru_accepts_loads_and_checking_it_creates_nothing(tmp_path, key, value):
    audit = tmp_path / "var" / "audit.jsonl"
    config = load_config(_write(tmp_path, f"[audit]\npath = '{audit}'\n{key} = '{value}'\n"))
    assert getattr(config.audit, key) == value
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(
    ("handlers", "complaint"),
    [('["risk", "validator", "executor", "reconciler"]', "'validator' cannot come after 'risk'"),
     ('["validator", "executor", "risk", "reconciler"]', "'risk' cannot come after 'executor'"),
     ('["validator", "risk", "reconciler", "executor"]', "'executor' cannot come after"),
     ('["validator", "risk", "reconciler"]', "'reconciler' needs 'executor' before it"),
     ('["validator", "risk", "executor"]', "'executor' needs 'reconciler' after it"),
     ('["validator", "executor", "reconciler"]', "'executor' needs 'risk' before it"),
     ('["risk", "executor", "reconciler"]', "'risk' needs 'validator' before it"),
     ('["risk"]', "'risk' needs 'validator' before it"),
     ('["executor", "reconciler"]', "'executor' needs 'validator' before it"),
     ('["reconciler"]', "'reconciler' needs 'executor' before it"),
     ("[]", "empty")],
)
def test_a_chain_out_of_order_or_missing_what_a_handler_needs_is_refused_at_load(
        tmp_path, handlers, complaint):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, f"[pipeline]\nhandlers = {handlers}\n"))
    assert "pipeline.handlers" in str(info.value)
    assert complaint in str(info.value)


@pytest.mark.parametrize("handlers", [["validator"], ["validator", "risk"], list(HANDLER_NAMES)])
def test_the_chains_that_load_are_the_full_one_and_its_dry_runs(handlers):
    config = config_from_mapping({"pipeline": {"handlers": handlers}})
    assert config.pipeline.handlers == tuple(handlers)


@pytest.mark.parametrize(
    ("venue", "accounts"),
    [({**CCXT, "account_id": "sub"}, None), ({**CCXT, "account_id": "sub"}, ["main", "other"]),
     ({"kind": "polymarket"}, None), ({**POLYMARKET, "account_id": "polymarket"}, ["main"])],
    ids=["ccxt-default-accounts", "ccxt-listed-others", "polymarket-defaults",
         "polymarket-as-shipped-before"],
)
def test_a_venue_whose_account_is_not_among_the_reconciled_accounts_is_refused(venue, accounts):
    raw = {"venues": {"v": venue}}
    if accounts is not None:
        raw["reconciliation"] = {"accounts": accounts}
    with pytest.raises(ConfigError) as info:
        config_from_mapping(raw)
    assert "venues.v.account_id" in str(info.value)
    assert "reconciliation.accounts" in str(info.value)


def test_a_venue_whose_account_is_reconciled_loads():
    config = config_from_mapping({"venues": {"p": {"kind": "polymarket"}, "b": CCXT},
                                  "reconciliation": {"accounts": ["main", "polymarket"]}})
    assert set(config.venues) == {"p", "b"}


SHIPPED = sorted((REPO / "config").glob("*.toml")) + [REPO / "src" / "ordergate" / "data" / "demo.toml"]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_configuration_loads(path):
    config = load_config(path, environ={})
    for name, venue in config.venues.items():
        account_id = venue.adapter_fields().get("account_id")
        assert account_id is None or account_id in config.reconciliation.accounts, name


def test_the_shipped_configurations_are_all_there():
    assert {p.name for p in SHIPPED} >= {"paper.toml", "binance-testnet.toml", "polymarket.toml",
                                         "demo.toml"}


def test_unknown_venue_kind_is_refused(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, "[venues.x]\nkind = 'ftx'\n"))
    assert "venues.x.kind" in str(info.value)


def test_bad_simulated_venue_setting_is_refused_at_load(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, "[venues.sim]\nkind = 'simulated'\nslippage_bps = 'lots'\n"))
    assert "venues.sim" in str(info.value)
    assert "slippage_bps" in str(info.value)


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    text = "[risk]\nrisk_per_trade = 0.5\n[executor]\nmax_attempts = 0\n"
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert "risk.risk_per_trade" in str(info.value)
    assert "executor.max_attempts" in str(info.value)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_file_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[risk]\nequity_currency = \"\xe9\"\n")
    with pytest.raises(ConfigError):
        load_config(path)


def test_path_that_is_a_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        load_config(tmp_path)


# ---------------------------------------------------------------- happy paths


def test_no_path_gives_valid_defaults_paper_trading_on_sim():
    config = load_config(None)
    assert config == EngineConfig()
    assert config.pipeline.handlers == HANDLER_NAMES
    assert config.risk.trading_state == "ACTIVE"
    assert config.risk.risk_per_trade == Decimal("0.02")
    assert config.journal.durable is True
    assert set(config.venues) == {"sim"}
    assert config.venues["sim"].kind == "simulated"


def test_empty_file_gives_the_defaults(tmp_path):
    assert load_config(_write(tmp_path, "")) == EngineConfig()


@pytest.mark.parametrize("value", ["0.05", "'0.05'", "0.0001"])
def test_risk_per_trade_at_or_below_the_cap_is_accepted_exactly(tmp_path, value):
    config = load_config(_write(tmp_path, f"[risk]\nrisk_per_trade = {value}\n"))
    assert config.risk.risk_per_trade == Decimal(value.strip("'"))


def test_handlers_may_be_left_out_for_a_dry_run(tmp_path):
    config = load_config(_write(tmp_path, "[pipeline]\nhandlers = ['validator', 'risk']\n"))
    assert config.pipeline.handlers == ("validator", "risk")


def test_venue_entries_keep_adapter_fields_for_the_adapter():
    config = config_from_mapping(
        {"venues": {"sim": {"kind": "simulated", "slippage_bps": "2"}}}
    )
    assert config.venues["sim"].adapter_fields() == {"slippage_bps": "2"}


def test_config_is_frozen():
    config = EngineConfig()
    with pytest.raises(ValidationError):
        config.risk = None  # type: ignore[misc]


def test_mapping_errors_name_the_source():
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"risk": {"risk_per_trade": "0.5"}}, source="env")
    assert str(info.value).startswith("env: ")
    assert "risk.risk_per_trade" in str(info.value)


@pytest.mark.parametrize(
    "path",
    [REPO / "config" / "paper.toml", REPO / "src" / "ordergate" / "data" / "demo.toml"],
    ids=["paper", "demo"],
)
def test_shipped_configuration_files_load(path):
    if not path.exists():
        pytest.skip(f"{path} not present")
    config = load_config(path)
    assert isinstance(config, EngineConfig)
    assert "sim" in config.venues


def test_paper_config_states_the_defaults_it_claims():
    path = REPO / "config" / "paper.toml"
    if not path.exists():
        pytest.skip("config/paper.toml not present")
    config = load_config(path)
    defaults = EngineConfig()
    for section in ("pipeline", "validator", "risk", "executor", "reconciler", "journal", "audit"):
        assert getattr(config, section) == getattr(defaults, section), section


def _blocks(text):
    """Each uncommented [table] of a TOML file and the text (comments included) under it."""
    blocks, name = {}, None
    for line in text.splitlines():
        if line.startswith("["):
            name = line.split("]")[0].strip("[")
            blocks[name] = ""
        elif name is not None:
            blocks[name] += line + "\n"
    return blocks


def test_paper_config_documents_every_key():
    from ordergate.config import VenueSettings

    blocks = _blocks((REPO / "config" / "paper.toml").read_text())
    missing = [f"{section}.{key}" for section in SECTIONS
               for key in EngineConfig.model_fields[section].annotation.model_fields
               if not re.search(rf"\b{key}\b", blocks.get(section, ""))]
    venue_keys = (set(VenueSettings.model_fields) | set(SimulatedVenueSettings.model_fields)) - {"name"}
    missing += [f"venues.sim.{key}" for key in sorted(venue_keys)
                if not re.search(rf"\b{key}\b", blocks.get("venues.sim", ""))]
    assert missing == []
    text = (REPO / "config" / "paper.toml").read_text()
    commented = text[text.index("# [accounts."):]  # examples: the paper engine has no groups
    from ordergate.allocation.settings import GroupSettings
    assert [key for key in [*AccountSettings.model_fields, *GroupSettings.model_fields]
            if not re.search(rf"# {key} =", commented)] == []
