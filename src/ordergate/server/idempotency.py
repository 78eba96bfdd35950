"""Idempotent requests, as draft-ietf-httpapi-idempotency-key-header specifies.

A request names itself with a key: the `Idempotency-Key` header of `POST /v1/orders`
(scoped by the token's name, so two clients cannot collide or read each other's
answers), or, for `POST /v1/signals`, the signal's own intent key (its client order ID,
derived from strategy, account and signal ID, whoever sends it). Then:

- the first request with a key is processed, under the engine's one-decision lock, and
  its answer (status and body, an error included) is stored in the journal
  (`idempotency_keys`, schema v4) and on disk *before* it is sent: a client that
  retries after a crash or a restart gets that answer back, marked
  `Idempotent-Replayed: true`;
- the same key with another payload (a different fingerprint: SHA-256 of the body's
  canonical JSON) is 422; with a request still in flight, 409, and that retry creates
  nothing;
- a 5xx is not stored: it says the request's fate is unknown to the client, and a retry
  with the same key is safe anyway, since the signal ID (and so the client order ID)
  is derived from the key: the executor refuses a second order for it, and the answer is
  then the existing order;
- answers are kept `server.idempotency_retention_s` (default 24 h); an older one is
  ignored and purged (`purge`, at start and every few minutes), after which the key
  names a new request.

In flight is known in memory only: within one process requests are serialized, so a
set suffices; across a restart nothing is in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any

import orjson

from ordergate.clock import Clock
from ordergate.journal.order_journal import OrderJournal
from ordergate.journal.wal_sync import DeferredEnd
from ordergate.server.problems import Problem

Answer = tuple[int, dict[str, Any]]

MAX_KEY_LENGTH = 255


def fingerprint(payload: Any) -> str:
    """The payload's identity: canonical JSON (sorted keys; a Decimal as its literal)."""
    canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()


def fingerprint_bytes(raw: bytes) -> str:
    """For a body that is not JSON: its exact bytes."""
    return hashlib.sha256(b"raw:" + raw).hexdigest()


def parse_key(header: str | None) -> str:
    """The `Idempotency-Key` value: a Structured Fields string (`"abc"`) as the draft
    defines it, or the bare token most clients send. Printable ASCII, 1-255 characters;
    400 otherwise."""
    if header is None or not header.strip():
        raise Problem(400, "idempotency-key-missing", "POST /v1/orders needs an "
                      "Idempotency-Key header: a unique value per order, e.g. a UUID")
    key = header.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY_LENGTH or not all("!" <= c <= "~" for c in key):
        raise Problem(400, "bad-request", f"the Idempotency-Key must be 1 to {MAX_KEY_LENGTH} "
                      "printable ASCII characters without spaces")
    return key


class Idempotency:
    def __init__(self, journal: OrderJournal, clock: Clock, retention_s: float,
                 turn: asyncio.Lock,
                 defer_end: Callable[[], AbstractContextManager[DeferredEnd]] | None = None,
                 ) -> None:
        self._journal = journal
        self._defer_end = defer_end or (lambda: nullcontext(DeferredEnd()))
        """`Engine.decision_end_deferred`: a decision's end rides in its answer's barrier."""
        self._clock = clock
        self._retention = timedelta(seconds=retention_s)
        self._turn = turn
        self._in_flight: set[tuple[str, str, str]] = set()

    async def once(self, scope: str, owner: str, key: str, print_: str,
                   decide: Callable[[], Awaitable[Answer]],
                   reused: tuple[str, str]) -> tuple[Answer, bool]:
        """The answer for `key`: stored (replayed: True) or decided now by `decide`,
        which runs under the engine's lock. `reused` is the problem (slug, detail) for
        the key with another payload. A `Problem` raised by `decide` is an answer too."""
        name = (scope, owner, key)
        journal, now = self._journal, self._clock.now()
        # In flight first: until its answer is on disk a request stays in flight, even
        # once the answer is stored (the fsync comes after the lock is released).
        if name in self._in_flight:
            raise Problem(409, "idempotency-key-in-use", "a request with this key is still "
                          "being processed; retry after it has answered",
                          headers={"Retry-After": "1"})
        stored = journal.idempotent_answer(scope, owner, key, now - self._retention)
        if stored is not None:
            return self._replay(stored, print_, reused), True
        self._in_flight.add(name)
        try:
            commit = None
            async with self._turn:
                with self._defer_end() as end:
                    answer = await self._decide(decide)
                    status, body = answer
                    if status < 500:
                        commit = journal.store_idempotent_answer(
                            scope, owner, key, print_, status, orjson.dumps(body).decode(),
                            self._clock.now())
                        # the decision's last lines and rows go with the answer
                        end.handed_over = commit is not None
            # On disk outside the lock: the next decision goes on meanwhile, and its
            # barrier, when it comes in the loop's next turn, writes, commits and fsyncs
            # this answer too (`journal/wal_sync.py`); only this client waits for it.
            if commit is not None:
                await journal.wal_sync.on_disk(commit)
            return answer, False
        finally:
            self._in_flight.discard(name)

    @staticmethod
    async def _decide(decide: Callable[[], Awaitable[Answer]]) -> Answer:
        """`decide`'s answer, a `Problem` it raised included. (Stored while we waited for
        the lock? Not by another request, it would have been in flight; an expired key
        may have been purged: fine.)"""
        try:
            return await decide()
        except Problem as problem:
            return problem.status, problem.body

    @staticmethod
    def _replay(stored: tuple[str, int, str], print_: str, reused: tuple[str, str]) -> Answer:
        stored_print, status, body = stored
        if stored_print != print_:
            raise Problem(422, reused[0], reused[1])
        decoded: dict[str, Any] = orjson.loads(body)
        return status, decoded

    def purge(self) -> int:
        """Forget answers older than the retention."""
        return self._journal.purge_idempotency_keys(self._clock.now() - self._retention)
