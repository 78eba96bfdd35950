"""What an unexpected exception does (`[supervision]`)."""

from __future__ import annotations

from typing import Literal

from ordergate.config.base import Settings


class SupervisionSettings(Settings):
    """What an unexpected exception does (`supervision.py`): a bug in a handler, bad venue
    data an adapter let through, a subscriber that raised. It is always audited
    (`system_error`) and counted; the loop it happened in carries on."""

    on_error: Literal["halt", "alert"] = "halt"
    """`halt`: the kill switch goes to HALTED (no order leaves until an operator has looked);
    `alert`: audit and count only."""
