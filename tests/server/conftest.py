"""The fixture of the HTTP tests: a real server (`ordergate.testing.served`) per test."""

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


