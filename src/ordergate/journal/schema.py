"""The journal's schema, versioned, with its migrations.

Designed for restart recovery: an order row holds everything needed to resend it with
the same client order ID or to look it up at the venue; transitions and fills are
append-only; a fill's key is what the venue makes unique, so a fill is stored once.

v2 adds `adopted_positions`: what a cold start (an empty journal) took over from the
venue's balances. Those holdings have no fills here, so positions are rebuilt as the
adopted quantity plus every journaled fill.

v3 keys fills on (venue, symbol, trade ID) instead of (venue, trade ID): Binance numbers
trades per symbol, so BTCUSDT's trade 7 and ETHUSDT's trade 7 are two fills, and under
the v2 key the second was dropped as a duplicate. SQLite cannot change a primary key in
place, so the table is rebuilt: every row is copied in its recording order (rowid), which
is the order positions are rebuilt in (`fills_in_order`), and the columns keep their v1
order.

v4 adds `idempotency_keys`: the answers `ordergate serve` gave, kept for replay under the
key that names the request (an `Idempotency-Key` header of `POST /v1/orders`, scoped by
the token's name, or a signal's intent key for `POST /v1/signals`), with a fingerprint of
the payload so that a key reused for another request is refused. In the journal, so a
restart between a request and its retry still replays the first answer.

v5 indexes what is looked up one order at a time: an order's transitions and fills (the
HTTP API's answer to every signal and order, `GET /v1/orders/{id}`, recovery) and an
order by its venue order ID. Without them each lookup scanned the whole table, so an
answer's cost grew with every order the journal had ever seen.

v6 adds `orders.post_only` (0 or 1, default 0 for every order journaled before it): a
post-only order resent after a restart must still be post-only, or it could fill as taker.

v7 adds `orders.trigger_price` (a decimal string; NULL for every order that is not a stop,
so for every order journaled before it): a stop recovered after a restart, or resent,
must keep its trigger, or it would go out as an order that executes at once.

v8 adds lineage and parents. `orders.parent_id`, `role`, `leg` and `reduce_only` say what
an order was derived from (a bracket's exits from their entry, an amendment from the
order it replaces, a TWAP slice from its parent); every order journaled before is a
signal's own (`primary`, leg 0, not reduce-only). `parents` holds what is not an order
but has to survive a restart to be carried on: a bracket (the entry's stop-loss and
take-profit, to place and re-size its exits) or an execution algorithm (its schedule),
with its specification as JSON and a status (`active` until it has nothing left to do).

v9 adds `account_days`: per account and day (its start, UTC, as `allocation.day_starts_at_
utc_hour` sets it) the equity the day began with (empty while not known yet) and what the
day's children of blocks risked, so a restart keeps the day's drawdown and risk budget instead of starting afresh;
and `account_pauses`: the accounts and groups an operator paused at run time (a row while
paused), so a restart does not quietly resume them.

v10 adds `audit_unsynced`: the audit log's text written since the audit file was last
fsync'ed, as of each send, with the file's inode and the offset it ends at. Committed and
fsync'ed with the order it explains, so a send waits for one fsync (the WAL) instead of
two; a start after a power loss puts back what the audit file lost from it
(`subscribers/audit_durability.py`). Its rows leave as the audit file is fsync'ed.

v11 rebuilds `orders_open` on `NOT_TERMINAL`, five `<>` terms, instead of `status NOT IN
(five statuses)`: the same rows, but SQLite evaluates a partial index's condition on every
row written to the table, and an `IN` list of more than two values is a temporary b-tree
built for each evaluation (a table created, five keys inserted, one looked up): about
9,000 instructions in `sqlite3BtreeCreateTable` alone for each order inserted, once a
market order in a replay (callgrind, SQLite 3.40). The queries that read open orders say
`NOT_TERMINAL` too, as the planner uses a partial index only for a query whose WHERE
holds each of its terms.
"""

from __future__ import annotations

LOOKUP_INDEXES: dict[str, str] = {
    "transitions_by_order": "transitions (client_order_id, seq)",
    "fills_by_order": "fills (client_order_id)",
    "orders_by_venue_id": "orders (venue_order_id)",
}
"""v5's indexes, by name: what `OrderJournal(deferred_indexes=True)` builds at close."""

TERMINAL_STATUSES = ("FILLED", "CANCELLED", "REJECTED", "EXPIRED", "FAILED")
NOT_TERMINAL = " AND ".join(f"status<>'{status}'" for status in TERMINAL_STATUSES)
"""An order not yet terminal, as SQL: `orders_open`'s condition since v11, and every
query's that reads open orders (the planner then uses that index)."""

SCHEMA_VERSION = 11

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY,
        signal_id       TEXT NOT NULL,
        strategy_id     TEXT NOT NULL,
        account_id      TEXT NOT NULL,
        venue           TEXT NOT NULL,
        symbol          TEXT NOT NULL,
        side            TEXT NOT NULL,
        order_type      TEXT NOT NULL,
        quantity        TEXT NOT NULL,
        price           TEXT,
        time_in_force   TEXT NOT NULL,
        expected_price  TEXT,
        expires_at      TEXT,
        created_at      TEXT NOT NULL,
        status          TEXT NOT NULL,
        venue_order_id  TEXT,
        filled_quantity TEXT NOT NULL DEFAULT '0',
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX orders_open ON orders (status)
        WHERE status NOT IN ('FILLED', 'CANCELLED', 'REJECTED', 'EXPIRED', 'FAILED');
    CREATE TABLE transitions (
        seq             INTEGER PRIMARY KEY,
        client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
        from_status     TEXT NOT NULL,
        to_status       TEXT NOT NULL,
        ts              TEXT NOT NULL,
        reason          TEXT NOT NULL
    );
    CREATE TABLE fills (
        venue           TEXT NOT NULL,
        trade_id        TEXT NOT NULL,
        client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
        account_id      TEXT NOT NULL,
        symbol          TEXT NOT NULL,
        side            TEXT NOT NULL,
        price           TEXT NOT NULL,
        quantity        TEXT NOT NULL,
        fee             TEXT NOT NULL,
        fee_currency    TEXT NOT NULL,
        liquidity       TEXT NOT NULL,
        ts              TEXT NOT NULL,
        PRIMARY KEY (venue, trade_id)
    );
    """,
    2: """
    CREATE TABLE adopted_positions (
        venue           TEXT NOT NULL,
        account_id      TEXT NOT NULL,
        symbol          TEXT NOT NULL,
        quantity        TEXT NOT NULL,
        mark            TEXT NOT NULL,
        ts              TEXT NOT NULL,
        PRIMARY KEY (venue, account_id, symbol)
    );
    """,
    3: """
    CREATE TABLE fills_v3 (
        venue           TEXT NOT NULL,
        trade_id        TEXT NOT NULL,
        client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
        account_id      TEXT NOT NULL,
        symbol          TEXT NOT NULL,
        side            TEXT NOT NULL,
        price           TEXT NOT NULL,
        quantity        TEXT NOT NULL,
        fee             TEXT NOT NULL,
        fee_currency    TEXT NOT NULL,
        liquidity       TEXT NOT NULL,
        ts              TEXT NOT NULL,
        PRIMARY KEY (venue, symbol, trade_id)
    );
    INSERT INTO fills_v3 (venue, trade_id, client_order_id, account_id, symbol, side, price,
                          quantity, fee, fee_currency, liquidity, ts)
        SELECT venue, trade_id, client_order_id, account_id, symbol, side, price, quantity,
               fee, fee_currency, liquidity, ts
        FROM fills ORDER BY rowid;
    DROP TABLE fills;
    ALTER TABLE fills_v3 RENAME TO fills;
    """,
    4: """
    CREATE TABLE idempotency_keys (
        scope           TEXT NOT NULL,
        owner           TEXT NOT NULL,
        key             TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        status          INTEGER NOT NULL,
        body            TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        PRIMARY KEY (scope, owner, key)
    );
    CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
    """,
    5: "".join(f"CREATE INDEX {name} ON {on};\n" for name, on in LOOKUP_INDEXES.items()),
    6: """
    ALTER TABLE orders ADD COLUMN post_only INTEGER NOT NULL DEFAULT 0;
    """,
    7: """
    ALTER TABLE orders ADD COLUMN trigger_price TEXT;
    """,
    8: """
    ALTER TABLE orders ADD COLUMN parent_id TEXT;
    ALTER TABLE orders ADD COLUMN role TEXT NOT NULL DEFAULT 'primary';
    ALTER TABLE orders ADD COLUMN leg INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE orders ADD COLUMN reduce_only INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX orders_by_parent ON orders (parent_id) WHERE parent_id IS NOT NULL;
    CREATE TABLE parents (
        parent_id       TEXT PRIMARY KEY,
        kind            TEXT NOT NULL,
        signal_id       TEXT NOT NULL,
        spec            TEXT NOT NULL,
        status          TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX parents_active ON parents (kind) WHERE status = 'active';
    """,
    9: """
    CREATE TABLE account_days (
        account_id      TEXT NOT NULL,
        day             TEXT NOT NULL,
        start_equity    TEXT NOT NULL,
        risk_spent      TEXT NOT NULL,
        PRIMARY KEY (account_id, day)
    );
    CREATE TABLE account_pauses (
        name            TEXT PRIMARY KEY,
        kind            TEXT NOT NULL,
        reason          TEXT NOT NULL,
        by_whom         TEXT NOT NULL,
        ts              TEXT NOT NULL
    );
    """,
    10: """
    CREATE TABLE audit_unsynced (
        seq             INTEGER PRIMARY KEY,
        inode           INTEGER NOT NULL,
        end_offset      INTEGER NOT NULL,
        text            TEXT NOT NULL
    );
    """,
    11: f"""
    DROP INDEX orders_open;
    CREATE INDEX orders_open ON orders (status) WHERE {NOT_TERMINAL};
    """,
}
