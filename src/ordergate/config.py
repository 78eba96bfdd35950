"""Engine configuration: frozen, typed, loaded from TOML and validated on load.

Every setting is documented here with its default; `config/paper.toml` shows them in
use. A bad file stops the start with an error naming the offending key, never a guess.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from loguru import logger
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)


from ordergate.allocation.settings import AccountSettings, AllocationSettings, GroupSettings
from ordergate.domain.values import TradingState
from ordergate.limits import MAX_AMOUNT, MAX_DURATION_S
from ordergate.venues.circuit_breaker import BreakerSettings
from ordergate.venues.rate_limiter import RateLimitSettings

HANDLER_NAMES = ("validator", "risk", "executor", "reconciler")


MAX_ATTEMPTS = 100
"""Bounds for counts (sends, lookups): beyond it a loop is an outage, not a retry."""
MAX_SCORE = float(MAX_AMOUNT)
MAX_SIGNAL_AGE_S = 1e12


class Settings(BaseModel):
    """Every section: frozen, no unknown key, and no `nan` or `inf` (TOML has them, and
    1e400 reads as inf): a non-finite timeout loads, then overflows `timedelta` after an
    order was already sent. Durations are bounded by `limits.MAX_DURATION_S` (30 days)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


HANDLER_NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "risk": (("validator", ("the venue and instrument it resolves (and its refusal of an "
                            "unknown venue, whose price the risk manager would ask for)")),),
    "executor": (("validator", "the venue and instrument it resolves"),
                 ("risk", ("its sizing (ctx.quantity), the reference price a market order's "
                           "minimum notional is checked against, and the kill switch"))),
    "reconciler": (("executor", "the order it sends (ctx.order) and the venue's report"),),
}
"""What each handler takes from the `SignalContext` that an earlier one fills in."""
HANDLER_FOLLOWERS: dict[str, tuple[str, str]] = {
    "executor": ("reconciler", ("the venue's report (its fills and status) is applied by the "
                                "reconciler, which then follows the order to its end; without "
                                "it, fills are never counted")),
}
"""What must come after a handler for its work to be finished."""


class PipelineSettings(Settings):
    handlers: tuple[str, ...] = HANDLER_NAMES
    """The chain, in order: an order-preserving subsequence of validator, risk, executor,
    reconciler, with what each needs present (`HANDLER_NEEDS`, `HANDLER_FOLLOWERS`). So
    the chains are the full one, ["validator", "risk"] (a dry run: checked and sized,
    nothing sent) and ["validator"]."""

    @field_validator("handlers")
    @classmethod
    def _known_handlers(cls, handlers: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [h for h in handlers if h not in HANDLER_NAMES]
        if unknown:
            raise ValueError(f"unknown handler(s) {unknown}; choose from {list(HANDLER_NAMES)}")
        if len(set(handlers)) != len(handlers):
            raise ValueError("a handler appears twice in the chain")
        if not handlers:
            raise ValueError("the chain is empty: every signal would be admitted unchecked; "
                             "start it with 'validator'")
        for before, after in itertools.pairwise(handlers):
            if HANDLER_NAMES.index(after) < HANDLER_NAMES.index(before):
                raise ValueError(f"{after!r} cannot come after {before!r}: the order is "
                                 f"{', '.join(HANDLER_NAMES)}")
        for handler in handlers:
            for needed, what in HANDLER_NEEDS.get(handler, ()):
                if needed not in handlers:
                    raise ValueError(f"{handler!r} needs {needed!r} before it: {what}")
            follower = HANDLER_FOLLOWERS.get(handler)
            if follower is not None and follower[0] not in handlers:
                raise ValueError(f"{handler!r} needs {follower[0]!r} after it: {follower[1]}")
        return handlers


class ValidatorSettings(Settings):
    min_strength: float = Field(default=0.0, ge=0, le=1)
    """Signals weaker than this are refused (WEAK_SIGNAL)."""
    min_confluence: float = Field(default=0.0, ge=0, le=MAX_SCORE)
    """Signals with a lower confluence score are refused (LOW_CONFLUENCE)."""
    max_signal_age_s: float = Field(default=60.0, gt=0, le=MAX_SIGNAL_AGE_S)
    """A signal older than this when it reaches the engine is stale (STALE_SIGNAL). Only
    compared with a signal's age, never added to the clock, so its bound is what a
    `timedelta` can hold (1e12 s, some 30,000 years: in effect, no limit)."""
    max_clock_skew_s: float = Field(default=5.0, ge=0, le=MAX_DURATION_S)
    """A signal whose `ts` is further ahead of the engine's clock than this is refused
    (FUTURE_SIGNAL): a clock that far off, or a made-up timestamp, would otherwise never
    go stale, and in a replay would drag the simulated clock forward with it."""


class RiskSettings(Settings):
    trading_state: TradingState = TradingState.ACTIVE
    """The kill switch at start: ACTIVE, REDUCING (only orders that shrink a position,
    counting what working orders will already take off) or HALTED (no order leaves).
    Exactly one of those words: "halted" is an error, never ACTIVE."""
    reducing_cancels_orders: bool = True
    """While REDUCING, cancel working orders that would grow or flip a position (every
    working order on a flat symbol, those on the position's own side, and the newest
    reducing ones beyond what is left to reduce), so that no fill can grow a position
    the switch says may only shrink. Off: they are left to fill."""
    risk_per_trade: Decimal = Field(default=Decimal("0.02"), gt=0, le=Decimal("0.05"))
    """Fraction of equity put at risk (entry to stop) when the signal gives no quantity.
    Capped at 5%."""
    default_stop_distance: Decimal = Field(default=Decimal("0.02"), gt=0, le=Decimal("0.02"))
    """Stop placed this fraction from the entry when a signal gives none (2% at most)."""
    max_open_positions: int = Field(default=3, ge=0, le=100_000)
    min_reward_risk: Decimal = Field(default=Decimal("1.5"), ge=0, le=1000)
    """Refuse a signal whose take-profit distance is less than this multiple of its
    stop distance. Signals without a take-profit are not checked."""
    max_order_notional: Decimal = Field(default=Decimal("100000"), gt=0, le=MAX_AMOUNT)
    price_band: Decimal = Field(default=Decimal("0.05"), gt=0, le=1)
    """Fat-finger guard: a limit price further than this fraction from the reference
    price (mid of the latest quote) is refused."""
    equity_currency: str | None = None
    """The balance sized against; default: the instrument's quote currency."""


class ExecutorSettings(Settings):
    max_attempts: int = Field(default=5, ge=1, le=MAX_ATTEMPTS)
    """Sends of one order, including the first, for retryable errors."""
    backoff_base_s: float = Field(default=0.2, gt=0, le=MAX_DURATION_S)
    backoff_cap_s: float = Field(default=5.0, gt=0, le=MAX_DURATION_S)
    submit_deadline_s: float = Field(default=30.0, gt=0, le=MAX_DURATION_S)
    """Total time the executor spends on one order before leaving it to the reconciler."""
    lookup_attempts: int = Field(default=3, ge=1, le=MAX_ATTEMPTS)
    """After an ambiguous send, how many times the venue must say "not found" before the
    order is resent (with the same client order ID)."""
    resend_after_s: float = Field(default=10.0, ge=0, le=MAX_DURATION_S)
    """After an ambiguous send the venue may still execute that request until its request
    window runs out (Binance's recvWindow: 10 s). An order is resent only once this long
    has passed since the send *and* a last lookup still finds nothing."""
    clock_skew_margin_s: float = Field(default=1.0, ge=0, le=MAX_DURATION_S)
    """Added to `resend_after_s`: a venue judges a request's window by its own clock, and
    Binance accepts timestamps up to 1 s ahead of it, so a request can stay executable
    for recvWindow + 1 s after we sent it."""
    jitter_seed: int | None = None
    """Seed of the retry jitter; set it for reproducible backtests with injected faults."""


class BracketSettings(Settings):
    """`[brackets]`: protective exits placed at the venue for a filled entry."""

    protect: bool = False
    """A signal's default for `protect`: with true, every signal with a `stop_loss` or a
    `take_profit` (and no `protect = false` of its own) is entered as a bracket."""
    exits_when_halted: bool = True
    """HALTED sends no entry; exits (reduce-only) are still placed and re-sized for what
    fills, so a position that filled while halting is not left unprotected at the venue.
    False: nothing at all leaves while HALTED, exits included."""
    exit_retry_s: float = Field(default=5.0, gt=0, le=MAX_DURATION_S)
    """An exit that could not be sent (FAILED: no answer until the executor's submit
    deadline, the venue unreachable) is tried again this long after, as a new leg; until
    then a stop-loss holds its take-profit back. One the venue answered with a refusal
    (REJECTED: funds, filters) is not tried again until the open quantity changes."""


class StopSettings(Settings):
    """`[stops]`: emulated stop orders (a venue's `stops`, `pipeline/stop_emulator.py`)."""

    market_protection: Decimal = Field(default=Decimal("0.05"), gt=0, lt=1)
    """A triggered stop_market on a venue without market orders (Polymarket) goes out as
    an IOC limit this fraction beyond its trigger (a sell below, a buy above): it takes
    what the book has down (up) to there, and never fills at any price whatever."""


class ReconcilerSettings(Settings):
    fill_timeout_s: float = Field(default=60.0, gt=0, le=MAX_DURATION_S)
    """How long a working order is followed before the remainder policy applies."""
    poll_interval_s: float = Field(default=1.0, gt=0, le=MAX_DURATION_S)
    remainder_policy: Literal["cancel", "leave"] = "cancel"
    slippage_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0, le=1)
    finished_order_grace_s: float = Field(default=300.0, ge=0, le=MAX_DURATION_S)
    """Finished orders stay in memory this long so late fill reports still find them."""


class RecoverySettings(Settings):
    absent_order_policy: Literal["fail", "resubmit"] = "fail"
    """An order the journal shows as sent but the venue has never heard of (after
    `executor.lookup_attempts` explicit "not found"): mark it FAILED, or send it again
    with the same client order ID."""
    resubmit_max_age_s: float = Field(default=60.0, gt=0, le=MAX_DURATION_S)
    """`resubmit` only resends orders younger than this; older ones fail."""


class ReconciliationSettings(Settings):
    """Comparing the venue's picture with ours, at start and every `interval_s`
    (`reconciliation/`): open orders both ways, and each asset's balance against the sum
    of our positions in it."""

    interval_s: float = Field(default=60.0, ge=0, le=MAX_DURATION_S)
    """How often the live engine reconciles with each venue; 0 turns the periodic check off
    (the check at start still runs)."""
    on_drift: Literal["halt", "reduce", "alert"] = "halt"
    """What drift does to the kill switch: HALTED (nothing leaves), REDUCING (only orders
    that shrink a position), or nothing beyond the audit line, event and metric."""
    accounts: tuple[str, ...] = Field(default=("main",), min_length=1)
    """The account IDs trading on each venue's credentials: their balances are compared and,
    on a cold start, adopted. The first one owns orders adopted from the venue."""
    compare_balances: bool = True
    """Off for an account shared with other traders or systems, whose trades would read as
    drift; open orders are still compared."""
    position_tolerance: Decimal = Field(default=Decimal(0), ge=0, le=MAX_AMOUNT)
    """A balance may differ from our positions by this much (dust) without being drift."""
    cash_currencies: tuple[str, ...] = ("USDT", "USDC", "USD", "BUSD", "FDUSD", "TUSD", "DAI",
                                        "EUR")
    """Balances in these are cash, not positions: never compared with positions, never
    adopted as one."""
    cold_start: Literal["adopt", "ignore"] = "adopt"
    """An empty journal: adopt the venue's open orders and balances as ours, or start flat
    and let reconciliation report whatever the venue holds as drift."""


class SupervisionSettings(Settings):
    """What an unexpected exception does (`supervision.py`): a bug in a handler, bad venue
    data an adapter let through, a subscriber that raised. It is always audited
    (`system_error`) and counted; the loop it happened in carries on."""

    on_error: Literal["halt", "alert"] = "halt"
    """`halt`: the kill switch goes to HALTED (no order leaves until an operator has looked);
    `alert`: audit and count only."""


class JournalSettings(Settings):
    path: Path = Path("ordergate-journal.sqlite")
    durable: bool = True
    """Commit (fsync) every order before it is sent. Replays turn this off and commit in
    batches: there is no venue to disagree with after a crash."""
    batch_size: int = Field(default=2000, ge=1, le=1_000_000)


class AuditSettings(Settings):
    path: Path = Path("audit.jsonl")
    rotation: str | None = "100 MB"
    """loguru rotation: a size ("100 MB"), a time ("00:00") or an interval ("1 day")."""
    retention: str | None = "30 days"
    """loguru retention: how long rotated files are kept ("30 days", "1 week")."""
    compression: str | None = None
    """loguru compression of rotated files: "gz", "bz2", "xz", "zip", "tar.gz", ..."""

    @field_validator("rotation", "retention", "compression")
    @classmethod
    def _loguru_accepts(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Ask loguru itself, so a value it would refuse at the first start is refused at
        load: the sink is created on a file in a fresh temporary directory with
        `delay=True` (nothing is written or created) and removed again. Only that
        directory is ever looked at, so retention cannot touch a real file."""
        if value is None:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            try:
                field = info.field_name
                sink = logger.add(
                    Path(tmp) / "probe.jsonl", delay=True, catch=False, filter=lambda r: False,
                    rotation=value if field == "rotation" else None,
                    retention=value if field == "retention" else None,
                    compression=value if field == "compression" else None)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"loguru cannot use it: {exc}") from None
            logger.remove(sink)
        return value


Scope = Literal["read", "trade", "admin"]
SCOPES: tuple[str, ...] = ("read", "trade", "admin")
"""Token scopes, weakest first: each one allows what the ones before it allow."""


class TokenSettings(Settings):
    """One bearer token of `ordergate serve`. The token itself is never in the file: it is
    read from the environment variable `env` when the server starts, so the configuration
    can be committed and printed without leaking it."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[!-~]+$")
    """Who this token is: named in the audit line of a kill-switch move, never the secret."""
    env: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    scope: Scope = "read"
    """`read` (orders, positions, metrics), `trade` (signals, orders, cancels) or `admin`
    (also the kill switch)."""
    requests_per_s: float | None = Field(default=None, gt=0, le=1_000_000)
    """This token's sustained request rate over HTTP (`server/rate_limit.py`); beyond it
    a request is refused with 429 and `Retry-After`. None: no limit. Health is exempt."""
    burst: int | None = Field(default=None, ge=1, le=1_000_000)
    """Requests that may come at once after a quiet spell; default: one second's worth of
    `requests_per_s` (at least 1)."""

    @model_validator(mode="after")
    def _burst_needs_a_rate(self) -> TokenSettings:
        if self.burst is not None and self.requests_per_s is None:
            raise ValueError(f"server.tokens {self.name!r}: burst without requests_per_s")
        return self


class EventStreamSettings(Settings):
    """`[server.events]`: the live event stream, `GET /v1/events` (`server/event_hub.py`)."""

    retention: int = Field(default=10_000, ge=1, le=1_000_000)
    """Audit lines kept in memory (a ring) for clients that reconnect with `Last-Event-ID`:
    one whose next line is older than these is told so (`event: gap`)."""
    client_buffer: int = Field(default=1_000, ge=1, le=1_000_000)
    """How many lines one client may fall behind the newest before it is sent
    `event: overflow` and disconnected; the engine never waits for a client."""
    heartbeat_s: float = Field(default=15.0, gt=0, le=3600)
    """A `: keepalive` comment after this long without a line, so proxies and load
    balancers keep an idle stream open (and a vanished client is noticed)."""


class ServerSettings(Settings):
    """`ordergate serve`: the HTTP API (`server/`)."""

    host: str = "127.0.0.1"
    """Where to listen. Anything but a loopback address needs at least one token: the
    server refuses to start otherwise."""
    port: int = Field(default=8080, ge=0, le=65535)
    """0 picks a free port (tests); the address is printed when the server is up."""
    tokens: tuple[TokenSettings, ...] = ()
    """`[[server.tokens]]` entries. None (on loopback only): every request acts as the
    `local` admin, as a process that can write to `ordergate run`'s stdin can."""
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    """A request body longer than this is refused with 413 before it is parsed."""
    idempotency_retention_s: float = Field(default=86400.0, gt=0, le=MAX_DURATION_S)
    """How long an answer is kept under its `Idempotency-Key` (and a signal's under its
    signal ID) for replay; older ones are purged, and a request with such a key is new."""
    metrics_scope: Literal["open", "read"] = "read"
    """`GET /metrics` needs a `read` token, or (`open`) none, for a scraper on loopback."""
    events: EventStreamSettings = EventStreamSettings()

    @model_validator(mode="after")
    def _distinct_tokens(self) -> ServerSettings:
        names = [t.name for t in self.tokens]
        if len(set(names)) != len(names):
            raise ValueError("server.tokens: two tokens have the same name")
        return self


class VenueSettings(BaseModel):
    """A venue entry. `kind` picks the adapter; the adapter validates the rest."""

    model_config = ConfigDict(frozen=True, extra="allow", allow_inf_nan=False)
    kind: Literal["simulated", "ccxt", "polymarket"] = "simulated"
    enabled: bool = True
    breaker: BreakerSettings | None = None
    """Circuit breaker (`venues/circuit_breaker.py`): 5 consecutive transport failures open
    it, a trial call after 60 s may close it. Real venues always have one."""
    rate_limit: RateLimitSettings | None = None
    """Token bucket (`venues/rate_limiter.py`); real venues default to 10/s, burst 10."""
    instruments_refresh_s: float = Field(default=3600.0, gt=0, le=MAX_DURATION_S)
    """How often the engine reloads the venue's instruments (tick, lot, minimums), so a
    venue that changes its rules while we run is rounded to the new ones."""
    reference_max_age_s: float = Field(default=0.0, ge=0, le=60)
    """How old the venue's mid may be when a signal takes it as its reference price (sizing,
    notional, the price band): 0, the default, asks the venue for its ticker every signal;
    above 0 the last one fetched is used while it is younger than this. On a real venue
    the ticker is a round trip before each market order leaves; a quarter of a second old
    is as good for most strategies, and a strategy that needs the mid of this instant
    leaves it at 0. Simulated time in a replay, as every age."""
    stops: Literal["native", "emulated", "auto"] = "auto"
    """Stop orders (`pipeline/stop_emulator.py`): `native` sends them to the venue (one
    without native stops refuses them, STOP_ORDERS_UNSUPPORTED); `emulated` has ordergate
    hold them (HELD) and send a market or limit order when its reference price crosses
    the trigger; `auto`, native where the adapter has native stops, emulated elsewhere."""

    def adapter_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class EngineConfig(Settings):
    pipeline: PipelineSettings = PipelineSettings()
    validator: ValidatorSettings = ValidatorSettings()
    risk: RiskSettings = RiskSettings()
    executor: ExecutorSettings = ExecutorSettings()
    reconciler: ReconcilerSettings = ReconcilerSettings()
    brackets: BracketSettings = BracketSettings()
    stops: StopSettings = StopSettings()
    journal: JournalSettings = JournalSettings()
    recovery: RecoverySettings = RecoverySettings()
    reconciliation: ReconciliationSettings = ReconciliationSettings()
    audit: AuditSettings = AuditSettings()
    supervision: SupervisionSettings = SupervisionSettings()
    server: ServerSettings = ServerSettings()
    venues: dict[str, VenueSettings] = Field(
        default_factory=lambda: {"sim": VenueSettings(kind="simulated")}
    )
    accounts: dict[str, AccountSettings] = Field(default_factory=dict)
    """`[accounts.NAME]`: accounts a group's blocks may go to (`allocation/settings.py`)."""
    groups: dict[str, GroupSettings] = Field(default_factory=dict)
    """`[groups.NAME]`: a signal whose `account_id` names one is a block over its accounts."""
    allocation: AllocationSettings = AllocationSettings()

    @model_validator(mode="after")
    def _groups_name_known_accounts(self) -> EngineConfig:
        for name, account in self.accounts.items():
            if account.venue is not None and account.venue not in self.venues:
                raise ValueError(f"accounts.{name}.venue: {account.venue!r} is not a "
                                 f"configured venue ({sorted(self.venues)})")
            venue = self.venues.get(account.venue) if account.venue is not None else None
            if venue is not None:  # a venue serving one account must serve this one
                served = getattr(adapter_settings_class(venue.kind).model_validate(
                    {"name": account.venue, **venue.adapter_fields()}), "account_id", None)
                if served is not None and served != name:
                    raise ValueError(
                        f"accounts.{name}.venue: {account.venue!r} trades for account "
                        f"{served!r} (venues.{account.venue}.account_id), not {name!r}: its "
                        "children would be sent on another account's key")
        for name, group in self.groups.items():
            if name in self.accounts:
                raise ValueError(f"groups.{name}: also an account's name; a signal naming it "
                                 "would be ambiguous")
            unknown = [a for a in group.accounts if a not in self.accounts]
            if unknown:
                raise ValueError(f"groups.{name}.accounts: {unknown} not configured as "
                                 "[accounts.NAME]")
        return self

    @model_validator(mode="after")
    def _venue_settings_are_valid(self) -> EngineConfig:
        """Check each venue's own settings now, so a typo fails the load, not the start.

        A venue serving one account (`account_id`: the ccxt and Polymarket adapters) must
        serve one of `reconciliation.accounts`: reconciliation reads and, on a cold start,
        adopts only those accounts' balances, so with any other the venue's holdings would
        never be compared or adopted (the shipped polymarket.toml had exactly this)."""
        for name, venue in self.venues.items():
            try:
                settings = adapter_settings_class(venue.kind).model_validate(
                    {"name": name, **venue.adapter_fields()})
            except ValidationError as exc:
                problems = "; ".join(f"venues.{name}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                                     for e in exc.errors(include_url=False))
                raise ValueError(problems) from None
            account_id = getattr(settings, "account_id", None)
            accounts = self.reconciliation.accounts
            if account_id is not None and account_id not in accounts:
                raise ValueError(
                    f"venues.{name}.account_id: {account_id!r} is not among "
                    f"reconciliation.accounts {list(accounts)}: its balances would never be "
                    f"compared, nor adopted on a cold start; add it there")
        return self


def adapter_settings_class(kind: str) -> type[BaseModel]:
    """The settings model of a venue kind; real adapters are imported only when named."""
    if kind == "simulated":
        from ordergate.venues.simulated import SimulatedVenueSettings

        return SimulatedVenueSettings
    if kind == "ccxt":
        from ordergate.venues.ccxt_venue import CcxtVenueSettings

        return CcxtVenueSettings
    from ordergate.venues.polymarket import PolymarketVenueSettings

    return PolymarketVenueSettings


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


ENV_PREFIX = "ORDERGATE__"


def load_config(path: Path | str | None, environ: Mapping[str, str] | None = None) -> EngineConfig:
    """Load and validate a TOML file; `None` gives the defaults (paper trading on `sim`).

    Environment variables `ORDERGATE__SECTION__KEY=value` override keys of the file, at
    any depth (`ORDERGATE__VENUES__BINANCE__API_URL=http://127.0.0.1:9000`); the value is
    read as a TOML value when it is one (`true`, `5`, `"0.02"`) and as a string otherwise."""
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such configuration file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the configuration: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    _apply_environment(raw, os.environ if environ is None else environ)
    return config_from_mapping(raw, source=str(path) if path is not None else "<defaults>")


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        *parents, leaf = name[len(ENV_PREFIX):].lower().split("__")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {part} is not a table")
        try:
            node[leaf] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            node[leaf] = value


def config_from_mapping(raw: dict[str, Any], source: str = "<config>") -> EngineConfig:
    try:
        return EngineConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            ": ".join(filter(None, (".".join(str(p) for p in err["loc"]),
                                    err["msg"].removeprefix("Value error, "))))
            for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"{source}: {problems}") from None


__all__ = ["EngineConfig", "ConfigError", "load_config", "config_from_mapping"]
