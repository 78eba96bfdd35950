"""How a `None` parameter reaches SQLite: as NULL, without the sqlite3 module's search.

The module binds an exact `int`, `float`, `str` or `bytearray` as it is; anything else,
`None` included, goes through its adapter protocol first: a `(type, protocol)` tuple
built, a miss in the adapter registry, `__adapt__` asked of the protocol type (a failed
class attribute lookup, its AttributeError's message formatted and dropped) and
`__conform__` of the value, before `None` is bound as NULL after all. A market order's row
carries four (no limit price, expiry, trigger or parent). Registering an adapter for
`NoneType` makes it one registry hit and one C call that returns `None`, bound as NULL
exactly as before; the registry is the module's, for every connection in the process.
"""

from __future__ import annotations

import sqlite3

_NOTHING: dict[object, None] = {}


def bind_none_as_null() -> None:
    """Register the adapter (again: registering twice changes nothing)."""
    sqlite3.register_adapter(type(None), _NOTHING.get)  # {}.get(None) is None: C, no frame
