"""The CLI's console logging: what an operator's terminal (or a log collector reading it)
may receive."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from loguru import logger

from ordergate.cli import _quiet_loguru

SECRET = "s3cr3t-value-of-a-local-variable"


def _fails_with_a_secret_in_a_local() -> None:
    api_secret = SECRET
    raise RuntimeError(len(api_secret))


@pytest.fixture
def console_logging() -> Iterator[None]:
    """`_quiet_loguru` replaces every loguru handler; put a default one back after."""
    try:
        yield
    finally:
        logger.remove()
        logger.add(sys.stderr)


def test_a_traceback_on_the_console_shows_no_variable_values(
        console_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    # loguru's default diagnose=True prints each variable's value on every traceback line.
    _quiet_loguru()
    try:
        _fails_with_a_secret_in_a_local()
    except RuntimeError:
        logger.exception("something failed")
    err = capsys.readouterr().err
    assert "something failed" in err and "RuntimeError" in err
    assert SECRET not in err
