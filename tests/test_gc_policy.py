"""Once started, a process's long-lived objects are out of the collector's way and its
youngest generation is collected less often; the second start changes nothing."""

from __future__ import annotations

import gc
import weakref

import pytest

from ordergate import gc_policy


@pytest.fixture
def fresh_policy(monkeypatch):
    """As in a process that has not started an engine yet; the test process's own
    collector settings put back after."""
    threshold = gc.get_threshold()
    monkeypatch.setattr(gc_policy, "_frozen", False)
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_objects_alive_at_start_up_are_frozen_and_the_young_collected_later(fresh_policy):
    gc.set_threshold(700, 10, 10)
    assert gc.get_freeze_count() == 0
    gc_policy.freeze_start_up()
    assert gc.get_freeze_count() > 1000  # at least this test process's modules
    assert gc.get_threshold() == (gc_policy.YOUNG_THRESHOLD, 10, 10)


def test_a_second_start_freezes_nothing_more(fresh_policy):
    gc_policy.freeze_start_up()
    frozen = gc.get_freeze_count()
    made_since = [[n] for n in range(5000)]  # objects of the second run
    gc_policy.freeze_start_up()
    assert gc.get_freeze_count() == frozen and made_since


def test_garbage_made_after_start_up_is_still_collected(fresh_policy):
    gc_policy.freeze_start_up()

    class Cycle:
        pass

    collected: list[int] = []
    a, b = Cycle(), Cycle()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    weakref.finalize(a, collected.append, 1)
    del a, b
    gc.collect()
    assert collected == [1]
