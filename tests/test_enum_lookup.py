"""Spec: with `EnumType.__getattr__` gone (Python 3.11's slow path; 3.12 has none), an
enum still finds each of its members by attribute, refuses a name that is not one, and a
class attribute lookup no longer goes through the hook."""

import enum

import pytest

import ordergate
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import OrderType, Side
from ordergate.enum_lookup import drop_enum_getattr


class _Shadowing(enum.Enum):
    """Members named as Enum's own properties: 3.11 reaches them through a redirect."""

    name = "a name"
    value = "a value"
    PLAIN = "plain"


def test_a_name_that_is_not_a_member_still_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        OrderStatus.NOT_A_STATUS  # noqa: B018
    assert not hasattr(Side, "SIDEWAYS")
    assert getattr(OrderType, "ICEBERG", None) is None
    with pytest.raises(AttributeError):
        OrderStatus.__not_a_dunder__  # noqa: B018


def test_the_method_is_gone_once_ordergate_is_imported_and_dropping_it_again_is_a_no_op() -> None:
    assert ordergate.__version__
    assert "__getattr__" not in vars(enum.EnumType)
    assert drop_enum_getattr() is False


def test_members_whose_names_shadow_enum_properties_are_still_found() -> None:
    assert _Shadowing.name.value == "a name"  # type: ignore[attr-defined]
    assert _Shadowing.value.value == "a value"  # type: ignore[attr-defined]
    assert _Shadowing.PLAIN.name == "PLAIN" and _Shadowing.PLAIN.value == "plain"
    assert _Shadowing["value"] is _Shadowing("a value")


def test_every_member_of_every_enum_in_the_process_is_found_by_attribute() -> None:
    import ccxt  # noqa: F401 - enums of the libraries ordergate loads, the stdlib's among them
    import fastapi  # noqa: F401
    import ordergate.cli  # noqa: F401
    import ordergate.server.app  # noqa: F401

    checked = 0
    for cls in _every_enum():
        for name, member in cls._member_map_.items():
            assert getattr(cls, name) is member, (cls, name)
            checked += 1
    assert checked > 300


def _every_enum() -> list[type[enum.Enum]]:
    """Every enum class alive: each subclasses `Enum`. (Not `gc.get_objects()`: once an
    engine has started, `gc_policy` has frozen them out of its sight.)"""
    found, todo = [], [enum.Enum]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_no_metaclass_of_ordergates_vocabularies_defines_the_hook() -> None:
    """CPython takes the slow path for a class whose metaclass, or one of its bases,
    defines `__getattr__`: none may (the speed itself is measured by `bench.instructions`,
    not here)."""
    for vocabulary in (OrderStatus, OrderType, Side):
        assert all("__getattr__" not in vars(meta) for meta in type(vocabulary).__mro__)
