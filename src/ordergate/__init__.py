"""ordergate: the execution layer between a strategy's signals and a venue's order book."""

from ordergate.enum_lookup import drop_enum_getattr

drop_enum_getattr()  # Python 3.11's slow enum member lookup (`ordergate/enum_lookup.py`)

__version__ = "0.1.0"
