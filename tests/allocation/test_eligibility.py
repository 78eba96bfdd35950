"""Eligibility: the first rule that refuses, in words naming the figure and the limit."""

from decimal import Decimal as D

from ordergate.allocation.eligibility import AccountLimits, AccountStatus, Standing, judge


def standing(**changes) -> Standing:
    base = dict(status=AccountStatus.ACTIVE, available_margin=D("5000"), equity=D("10000"),
                start_of_day_equity=D("10000"), day_pnl=D("0"), risk_spent=D("0"),
                open_positions=0)
    base.update(changes)
    return Standing(**base)


LIMITS = AccountLimits(min_available_margin=D("1000"), daily_risk_budget=D("200"),
                       max_daily_drawdown=D("0.04"), max_open_positions=3)


def test_a_paused_account_is_not_eligible_whatever_else_holds():
    assert judge("a", LIMITS, standing(status=AccountStatus.PAUSED)).why == "paused"


def test_margin_below_the_minimum_names_both_figures():
    e = judge("a", LIMITS, standing(available_margin=D("812")))
    assert (e.eligible, e.why) == (False, "margin 812 < 1000")


def test_unknown_margin_is_not_guessed_at():
    e = judge("a", LIMITS, standing(available_margin=None))
    assert not e.eligible and "unknown" in e.why


def test_a_drawdown_beyond_the_limit_counts_marked_losses():
    e = judge("a", LIMITS, standing(day_pnl=D("-430")))
    assert (e.eligible, e.why) == (False, "drawdown 4.30% > 4.00%")
    assert judge("a", LIMITS, standing(day_pnl=D("-400"))).eligible  # at the limit: still in


def test_no_start_of_day_equity_is_not_eligible():
    e = judge("a", LIMITS, standing(start_of_day_equity=None))
    assert not e.eligible and "start-of-day" in e.why


def test_a_spent_budget_is_not_eligible():
    e = judge("a", LIMITS, standing(risk_spent=D("200")))
    assert (e.eligible, e.why) == (False, "budget spent (200 of 200)")


def test_open_positions_at_the_limit_refuse_a_new_symbol_but_not_one_already_held():
    assert judge("a", LIMITS, standing(open_positions=3)).why == "3 positions open (limit 3)"
    assert judge("a", LIMITS, standing(open_positions=3, holds_symbol=True)).eligible


def test_the_first_failing_rule_is_the_reason_given():
    e = judge("a", LIMITS, standing(available_margin=D("1"), day_pnl=D("-9000")))
    assert e.why == "margin 1 < 1000"


def test_an_eligible_account_says_what_admitted_it():
    e = judge("a", LIMITS, standing(risk_spent=D("50"), day_pnl=D("-100")))
    assert (e.eligible, e.why) == (True, "margin 5000, drawdown 1.00%, budget left 150")
