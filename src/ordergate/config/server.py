"""`ordergate serve` (`[server]`): where it listens, its bearer tokens and their scopes
(`[[server.tokens]]`), and the live event stream (`[server.events]`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ordergate.config.base import Settings
from ordergate.limits import MAX_DURATION_S


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
