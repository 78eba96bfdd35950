"""Fixtures shared across the suite: a real server (`ordergate.testing.served`) per test, for
the HTTP API, the audit viewer's `--server` and the dashboard."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from ordergate.testing.served import Served, start


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = start(tmp_path)
    try:
        yield server
    finally:
        server.close()


