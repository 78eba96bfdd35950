"""Client order IDs derived from the signal, so a retry, a replay or a restart of the
same signal always produces the same ID and the venue and the journal can recognise it.

32 characters of [a-z0-9]: inside Binance's 36-character limit and every other venue's
alphabet we know of.
"""

from hashlib import blake2b

PREFIX = "og"


def client_order_id_for(strategy_id: str, account_id: str, signal_id: str) -> str:
    key = f"{strategy_id}\x1f{account_id}\x1f{signal_id}".encode()
    return PREFIX + blake2b(key, digest_size=15).hexdigest()


def child_client_order_id(parent_id: str, role: str, leg: int) -> str:
    """The client order ID of a parent's child (an exit, an amendment, a slice): derived
    from the parent's ID, the child's role and its leg number, so a restart that finds
    the parent in the journal derives the very IDs it sent before and never a second one."""
    key = f"{parent_id}\x1f{role}\x1f{leg}".encode()
    return PREFIX + blake2b(key, digest_size=15).hexdigest()
