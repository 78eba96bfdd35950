"""`[accounts]` and `[groups]`: a group that cannot be allocated fails the load, by name."""

import pytest

from ordergate.config import ConfigError, config_from_mapping


def load(accounts, groups, venues=None):
    mapping = {"accounts": accounts, "groups": groups}
    if venues is not None:
        mapping["venues"] = venues
    return config_from_mapping(mapping)


@pytest.mark.parametrize(("accounts", "groups", "named"), [
    ({"a": {}}, {"g": {"accounts": ["a", "x"]}}, "groups.g.accounts: ['x'] not configured"),
    ({"a": {}}, {"a": {"accounts": ["a"]}}, "groups.a: also an account's name"),
    ({"a": {}, "b": {}}, {"g": {"accounts": ["a", "b"], "policy": "ratios",
                                "ratios": {"a": "1"}}}, "ratios: give a weight for exactly"),
    ({"a": {}}, {"g": {"accounts": ["a"], "policy": "ratios", "ratios": {"a": "0"}}},
     "one weight at least"),
    ({"a": {}}, {"g": {"accounts": ["a"], "ratios": {"a": "1"}}}, "only for policy ratios"),
    ({"a": {}}, {"g": {"accounts": ["a", "a"]}}, "listed twice"),
    ({"a": {"venue": "nowhere"}}, {}, "accounts.a.venue: 'nowhere' is not a configured venue"),
    ({"a": {"status": "asleep"}}, {}, "accounts.a.status"),
    ({"a": {}}, {"g": {"accounts": []}}, "groups.g.accounts"),
])
def test_a_group_that_cannot_be_allocated_fails_the_load_naming_the_key(accounts, groups, named):
    with pytest.raises(ConfigError) as info:
        load(accounts, groups)
    assert named in str(info.value)


def test_a_valid_group_loads_with_its_policy_and_order():
    config = load({"b": {"status": "paused"}, "a": {}},
                  {"desk": {"accounts": ["b", "a"], "policy": "failover"}})
    assert config.groups["desk"].accounts == ("b", "a")
    assert config.accounts["b"].status == "paused"


def test_an_account_on_a_venue_that_trades_for_another_account_fails_the_load():
    venues = {"binance-a": {"kind": "ccxt", "exchange": "binance", "account_id": "alpha"}}
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"reconciliation": {"accounts": ["alpha", "beta"]},
                             "venues": venues, "accounts": {"beta": {"venue": "binance-a"}},
                             "groups": {}})
    assert "accounts.beta.venue: 'binance-a' trades for account 'alpha'" in str(info.value)
    config_from_mapping({"reconciliation": {"accounts": ["alpha"]}, "venues": venues,
                         "accounts": {"alpha": {"venue": "binance-a"}}})  # its own: loads
