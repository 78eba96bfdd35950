"""`record`: value types whose immutability the type checker enforces (what `mypy --strict`
on src/ proves for every record in ordergate), cheap to build, equal and hashable by value."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from mypy import api as mypy

from ordergate.records import record


@record
class _Price:
    symbol: str
    price: Decimal


def test_a_records_fields_are_read_only_to_the_type_checker(tmp_path):
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from decimal import Decimal\n"
        "from ordergate.domain.fill import Fill\n"
        "from ordergate.events import SignalAdmitted\n"
        "def change(fill: Fill, event: SignalAdmitted) -> None:\n"
        "    fill.quantity = Decimal(1)\n"
        "    event.reason = 'changed'\n")
    out, _, status = mypy.run(["--strict", "--no-incremental", "--follow-imports=silent",
                               str(snippet)])
    assert status == 1
    assert out.count("is read-only") == 2, out


def test_records_are_equal_and_hash_alike_by_value():
    a, b = _Price("BTC/USDT", Decimal("1.0")), _Price("BTC/USDT", Decimal("1.00"))
    assert a == b and hash(a) == hash(b)
    assert {a: 1}[b] == 1


def test_a_changed_copy_leaves_the_original_as_it_was():
    a = _Price("BTC/USDT", Decimal(1))
    b = dataclasses.replace(a, price=Decimal(2))
    assert (a.price, b.price) == (Decimal(1), Decimal(2))
