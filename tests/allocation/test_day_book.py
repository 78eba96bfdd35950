"""`DayBook`: the day's start and risk per account, journaled, reset at the day's start."""

from datetime import timedelta
from decimal import Decimal as D

from ordergate.allocation.day_book import DayBook
from ordergate.clock import SimulatedClock
from ordergate.journal.order_journal import OrderJournal
from ordergate.testing.scenario import T0


def test_risk_added_before_any_equity_read_leaves_the_start_unknown_not_zero(tmp_path):
    journal = OrderJournal(tmp_path / "j.sqlite")
    days = DayBook(journal, SimulatedClock(T0))
    days.add_risk("alpha", D("10"))  # a child resumed at restart, before any block read it
    assert days.start_equity("alpha", None) is None
    assert days.start_equity("alpha", D("5000")) == D("5000")  # the first equity seen
    assert days.start_equity("alpha", D("4000")) == D("5000")  # and it stays the start
    assert days.risk_spent("alpha") == D("10")
    journal.close()


def test_the_day_begins_at_the_configured_hour_and_a_restart_reads_it_back(tmp_path):
    clock = SimulatedClock(T0 + timedelta(hours=5))  # 05:00 UTC
    journal = OrderJournal(tmp_path / "j.sqlite")
    days = DayBook(journal, clock, starts_at_utc_hour=6)
    days.start_equity("alpha", D("1000"))
    days.add_risk("alpha", D("7"))
    journal.commit()
    journal.close()
    journal = OrderJournal(tmp_path / "j.sqlite")
    again = DayBook(journal, clock, starts_at_utc_hour=6)
    assert (again.start_equity("alpha", D("1")), again.risk_spent("alpha")) == (D("1000"), D("7"))
    clock.advance(3600)  # 06:00: a new day
    assert again.risk_spent("alpha") == 0 and again.start_equity("alpha", D("900")) == D("900")
    journal.close()
