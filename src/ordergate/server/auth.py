"""Bearer tokens: who is asking, and may they.

Tokens come from environment variables named in `[[server.tokens]]` (never from the
file), each with a name and a scope; scopes are ordered `read` < `trade` < `admin`. A
presented token is compared with every configured one by `hmac.compare_digest`, all of
them every time, so neither the answer's timing nor its content tells how close a guess
was or which token it resembled. No token: 401; an unknown one: 401; a known one beyond
its `requests_per_s`: 429 (`rate_limit.py`); with too low a scope: 403. Token values
live only in this module's `_Token` objects, whose `repr` hides them, and are never
logged, audited or echoed: the audit names the token's `name`.

With no tokens configured the server runs only on a loopback address (`serve.py` refuses
anything else) and every request acts as `local`, an admin: the same trust as a process
that can write to `ordergate run`'s standard input.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from ordergate.config import SCOPES, ServerSettings
from ordergate.server.problems import Problem
from ordergate.server.rate_limit import RequestLimits


class TokenSetupError(ValueError):
    """A token cannot be used (its variable is unset or empty); names the variable only."""


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    scope: str

    def allows(self, scope: str) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(scope)


LOCAL = Principal("local", "admin")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ordergate"'}


@dataclass(frozen=True, slots=True)
class _Token:
    principal: Principal
    secret: bytes = field(repr=False)


class Authenticator:
    def __init__(self, settings: ServerSettings, environ: Mapping[str, str],
                 limits: RequestLimits | None = None) -> None:
        self.limits = limits or RequestLimits()
        tokens = []
        for entry in settings.tokens:
            value = environ.get(entry.env, "")
            if not value.strip():
                raise TokenSetupError(f"server.tokens {entry.name!r}: the environment variable "
                                      f"{entry.env} is not set (or empty)")
            # Stripped as the presented token is: a trailing newline from a secrets file
            # must not make the token unusable.
            tokens.append(_Token(Principal(entry.name, entry.scope), value.strip().encode()))
            if entry.requests_per_s is not None:
                self.limits.limit(entry.name, entry.requests_per_s, entry.burst)
        self._tokens = tuple(tokens)

    @property
    def enabled(self) -> bool:
        return bool(self._tokens)

    def authenticate(self, authorization: str | None, scope: str) -> Principal:
        """The principal behind an `Authorization` header, if it may act at `scope` and
        is within its request rate; otherwise raises the 401, 429 or 403 `Problem`."""
        if not self._tokens:
            return LOCAL
        if not authorization:
            raise Problem(401, "unauthorized", "send 'Authorization: Bearer <token>'",
                          headers=_CHALLENGE)
        kind, _, presented = authorization.partition(" ")
        if kind.lower() != "bearer" or not presented.strip():
            raise Problem(401, "unauthorized", "the Authorization header must be "
                          "'Bearer <token>'", headers=_CHALLENGE)
        offered = presented.strip().encode("utf-8", "surrogateescape")
        found: Principal | None = None
        for token in self._tokens:  # every one, always: constant time in which one matched
            if hmac.compare_digest(offered, token.secret):
                found = token.principal
        if found is None:
            raise Problem(401, "unauthorized", "the token is not known", headers=_CHALLENGE)
        self.limits.admit(found.name)  # 429 before 403: a refused request is still a request
        if not found.allows(scope):
            raise Problem(403, "forbidden", f"this needs scope {scope!r}; the token "
                          f"{found.name!r} has {found.scope!r}")
        return found


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback IP address; anything else (0.0.0.0 too) is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
