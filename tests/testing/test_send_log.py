"""Spec: a client order ID is sent again only after the venue said it does not have it."""

from ordergate.testing.send_log import Seen, SendLog


def _log(*entries: tuple[Seen, str]) -> SendLog:
    log = SendLog()
    for seen, cid in entries:
        log.record(seen, cid)
    return log


def test_a_resend_with_nothing_in_between_is_named() -> None:
    log = _log((Seen.SENT, "a"), (Seen.SENT, "a"))
    assert log.resent_unlooked() == ["a"]


def test_a_lookup_before_the_first_send_does_not_clear_a_later_resend() -> None:
    log = _log((Seen.ABSENT, "a"), (Seen.SENT, "a"), (Seen.SENT, "a"))
    assert log.resent_unlooked() == ["a"]


def test_another_ids_lookup_clears_nothing() -> None:
    log = _log((Seen.SENT, "a"), (Seen.ABSENT, "b"), (Seen.SENT, "a"))
    assert log.resent_unlooked() == ["a"]


def test_each_resend_needs_its_own_clearance() -> None:
    log = _log((Seen.SENT, "a"), (Seen.ABSENT, "a"), (Seen.SENT, "a"), (Seen.SENT, "a"))
    assert log.resent_unlooked() == ["a"]


def test_a_resend_after_an_absent_lookup_or_a_refusal_is_fine() -> None:
    log = _log((Seen.SENT, "a"), (Seen.ABSENT, "a"), (Seen.SENT, "a"),
               (Seen.SENT, "b"), (Seen.REFUSED, "b"), (Seen.SENT, "b"))
    assert log.resent_unlooked() == []


def test_single_sends_are_fine() -> None:
    assert _log((Seen.SENT, "a"), (Seen.SENT, "b")).resent_unlooked() == []
