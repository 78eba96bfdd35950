"""Fixtures shared across the suite: a real server (`ordergate.testing.served`) per test, for
the HTTP API, the audit viewer's `--server` and the dashboard."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.testing.served import ACCOUNTS, Served, start, write_config


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = start(tmp_path)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Served]:
    """A served engine with two accounts of blocks, `alpha` and `beta`, in group `desk`
    (`served.ACCOUNTS`)."""
    server = start(tmp_path, write_config(tmp_path, extra=ACCOUNTS))
    try:
        yield server
    finally:
        server.close()
