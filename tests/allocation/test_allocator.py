"""`allocate`: each policy's split, the decision explained, refusals with a code."""

from decimal import Decimal as D

from ordergate.allocation.allocator import AllocationPolicy as P
from ordergate.allocation.allocator import allocate
from ordergate.allocation.eligibility import AccountLimits, AccountStatus, Standing
from ordergate.allocation.split import Child
from ordergate.domain.instrument import Instrument
from ordergate.pipeline.reasons import ReasonCode as R

BTC = Instrument("sim", "BTC/USDT", "BTC", "USDT", tick_size=D("0.01"), lot_size=D("0.001"),
                 min_quantity=D("0.001"))
ACCOUNTS = ("a", "b", "c")
LIMITS = {name: AccountLimits(daily_risk_budget=D("300")) for name in ACCOUNTS}


def standings(**overrides: dict) -> dict[str, Standing]:
    equities = {"a": D("6000"), "b": D("3000"), "c": D("1000")}
    out = {}
    for name in ACCOUNTS:
        fields = dict(status=AccountStatus.ACTIVE, available_margin=None,
                      equity=equities[name], start_of_day_equity=equities[name],
                      day_pnl=D(0), risk_spent=D(0), open_positions=0)
        fields.update(overrides.get(name, {}))
        out[name] = Standing(**fields)
    return out


def run(policy, quantity=D("0.100"), states=None, ratios=None):
    return allocate("desk", policy, ACCOUNTS, states or standings(), LIMITS, quantity, BTC,
                    D("50000"), ratios)


def test_a_block_with_no_eligible_account_is_refused_with_every_reason():
    states = standings(a={"status": AccountStatus.PAUSED}, b={"risk_spent": D("300")},
                       c={"day_pnl": D("-50")})
    result = run(P.EQUAL, states=states)
    assert result.refused is R.ALLOCATION_NO_ELIGIBLE_ACCOUNT and result.children == ()
    text = result.describe()
    assert "a: not eligible (paused)" in text and "b: not eligible (budget spent" in text
    assert "c: not eligible (drawdown 5.00% > 4.00%)" in text


def test_a_block_every_share_of_which_is_dust_is_refused_below_minimum():
    result = allocate("desk", P.EQUAL, ACCOUNTS, standings(), LIMITS, D("0.0005"), BTC, None)
    assert result.refused is R.ALLOCATION_BELOW_MINIMUM


def test_equal_splits_in_lots_and_the_children_sum_to_the_block():
    result = run(P.EQUAL)
    assert result.children == (Child("a", D("0.034")), Child("b", D("0.033")),
                               Child("c", D("0.033")))


def test_equity_is_pro_rata_to_equity():
    assert [c.quantity for c in run(P.EQUITY).children] == [D("0.060"), D("0.030"), D("0.010")]


def test_an_account_of_unknown_equity_is_not_eligible_and_says_why():
    result = run(P.EQUAL, states=standings(c={"equity": None}))
    assert [c.account for c in result.children] == ["a", "b"]
    assert "c: not eligible (equity unknown" in result.describe()


def test_an_account_without_equity_is_left_out_of_an_equity_split_and_says_why():
    result = run(P.EQUITY, states=standings(c={"equity": D(0)}))
    assert [c.account for c in result.children] == ["a", "b"]
    assert "c: not eligible (equity 0: cannot be weighed)" in result.describe()


def test_risk_budget_is_pro_rata_to_what_is_left_of_each_budget():
    states = standings(a={"risk_spent": D("200")}, b={"risk_spent": D("100")})
    # left: a 100, b 200, c 300
    assert [c.quantity for c in run(P.RISK_BUDGET, states=states).children] == [
        D("0.017"), D("0.033"), D("0.050")]


def test_ratios_use_the_configured_weights():
    result = run(P.RATIOS, ratios={"a": D("1"), "b": D("0"), "c": D("3")})
    assert result.children == (Child("a", D("0.025")), Child("c", D("0.075")))


def test_failover_gives_all_to_the_first_eligible_account():
    states = standings(a={"status": AccountStatus.PAUSED})
    assert run(P.FAILOVER, states=states).children == (Child("b", D("0.100")),)


def test_a_block_without_quantity_is_one_child_per_account_sized_by_risk():
    assert run(P.EQUAL, quantity=None).sized_by_risk == ACCOUNTS
    assert run(P.FAILOVER, quantity=None).sized_by_risk == ("a",)


def test_the_decision_names_the_policy_every_account_and_each_child():
    text = run(P.EQUITY).describe()
    assert text.startswith("group desk, policy equity: a: eligible (drawdown 0.00%, budget")
    assert text.endswith("children a 0.060, b 0.030, c 0.010")
