"""The audit viewer's fixture: the bundled demo replayed once per module."""

import asyncio
from importlib import resources

import pytest

from ordergate.config import load_config
from ordergate.replay.harness import replay


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory):
    """The bundled demo's audit log: every kind of verdict, partial fills, expiries."""
    out = tmp_path_factory.mktemp("demo")
    data = resources.files("ordergate") / "data"
    with resources.as_file(data / "demo_signals.jsonl") as signals, \
            resources.as_file(data / "demo_quotes.csv") as quotes, \
            resources.as_file(data / "demo.toml") as config:
        asyncio.run(replay(signals, quotes, load_config(config), out))
    return out / "audit.jsonl"
