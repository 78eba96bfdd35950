"""`record`: an immutable value type (events, reports, fills) that is cheap to build.

`@dataclass(frozen=True)` enforces immutability at run time by setting every field
through `object.__setattr__` in `__init__`, which makes each instance several times
dearer to build; a backtest builds some twenty of them per order (ten events, the venue's
reports, the fill, the transitions), and callgrind put that at 14% of all the work a
signal costs. A `record` is a slotted dataclass whose immutability the type checker
enforces instead (`dataclass_transform(frozen_default=True)`: `mypy --strict` refuses
any assignment to a field, as it does for a frozen dataclass), and it is hashable by
value, as a frozen one is. Nothing in ordergate mutates one; `dataclasses.replace`
makes a changed copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from typing_extensions import dataclass_transform

T = TypeVar("T")


@dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    return dataclass(slots=True, unsafe_hash=True)(cls)
