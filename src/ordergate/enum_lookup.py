"""Python 3.11's slow path for `OrderStatus.FILLED`, taken out: `EnumType.__getattr__`.

On 3.11 the metaclass of every enum defines `__getattr__`, a leftover of how members were
once found. A class attribute is then looked up through CPython's `__getattr__` hook:
`type.__getattribute__` called through a method wrapper, about 1,000 instructions (125 ns
on the development machine) where a plain class's attribute takes 27 ns. The method
itself is never reached for a member: 3.11 sets each member (or, where its name shadows a
parent's descriptor, a property that returns it) in its class's namespace, where the
ordinary lookup finds it. CPython 3.12 removed the method for that reason (python/cpython
gh-106762: "the original method of looking up enum members, but it was quite slow").

ordergate's hot path names members of its vocabularies (`OrderStatus`, `OrderType`,
`Side`, ...) about 86 times a market order in a replay (callgrind: 258,000 calls through
the hook in 3,000 signals); without the method a signal costs 4.6% fewer instructions
(`bench.instructions`, side by side). Removing the
method is what 3.12 did; it is removed for the whole process, since a metaclass cannot
hide its base's method. What changes for an enum: a name that is not a member still
raises AttributeError, with the message any class gives. Calling
`SomeEnum.__getattr__("NAME")` explicitly would fail, as it does on 3.12.
"""

from __future__ import annotations

import enum


def drop_enum_getattr() -> bool:
    """Delete `EnumType.__getattr__` if this Python has it (3.11); True if it was deleted
    now. Idempotent."""
    if "__getattr__" not in vars(enum.EnumType):
        return False
    del enum.EnumType.__getattr__  # type: ignore[attr-defined]
    return True
