"""What a crash test run (`crash_test.py`) is given: its options (`Options`, read from
the command line by `crash_test.parse_args`), the shipped configuration it runs the
engine with (`default_config`) and the settings it changes there, as environment
overrides (`OVERRIDES`, named by `env_name`; the crash test's docstring says why each),
the venue account's starting balances, and how long a life or the final run may take.
Apart from the harness (`crash_harness.py`) so that what a run is set to is read in one
place, apart from how it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ordergate.testing.crash_scenarios import PLANS

OVERRIDES = {
    "validator.max_signal_age_s": "3600",
    "risk.max_order_notional": "100000",
    "reconciler.fill_timeout_s": "0.5",
    "reconciler.poll_interval_s": "0.2",
    "venues.binance.rate_limit.rate_per_s": "50",
    "venues.binance.rate_limit.burst": "50",
}
BALANCES = {"BTC": "0", "ETH": "0", "USDT": "10000000"}  # nothing held but cash
TRIGGER_TIMEOUT_S = 8.0   # a life whose moment never comes is killed anyway
FINAL_TIMEOUT_S = 60.0    # the last run must finish every order within this
POLL_S = 0.02


def default_config() -> Path:
    return Path(__file__).resolve().parents[3] / "config" / "binance-testnet.toml"


def env_name(key: str) -> str:
    return "ORDERGATE__" + "__".join(part.upper() for part in key.split("."))


@dataclass(slots=True)
class Options:
    kills: int = 50
    seed: int = 0
    config: Path = field(default_factory=default_config)
    workdir: Path | None = None
    keep: bool = False
    plans: tuple[str, ...] = PLANS
    settings: dict[str, str] = field(default_factory=dict)
    verbose: bool = False

