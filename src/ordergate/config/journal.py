"""The two files the engine writes: the order journal (`[journal]`) and the audit log
(`[audit]`), whose rotation, retention and compression loguru itself checks at load."""

from __future__ import annotations

import tempfile
from pathlib import Path

from loguru import logger
from pydantic import Field, ValidationInfo, field_validator

from ordergate.config.base import Settings


class JournalSettings(Settings):
    path: Path = Path("ordergate-journal.sqlite")
    durable: bool = True
    """Commit (fsync) every order before it is sent. Replays turn this off and commit in
    batches: there is no venue to disagree with after a crash."""
    batch_size: int = Field(default=2000, ge=1, le=1_000_000)


class AuditSettings(Settings):
    path: Path = Path("audit.jsonl")
    rotation: str | None = "100 MB"
    """loguru rotation: a size ("100 MB"), a time ("00:00") or an interval ("1 day")."""
    retention: str | None = "30 days"
    """loguru retention: how long rotated files are kept ("30 days", "1 week")."""
    compression: str | None = None
    """loguru compression of rotated files: "gz", "bz2", "xz", "zip", "tar.gz", ..."""

    @field_validator("rotation", "retention", "compression")
    @classmethod
    def _loguru_accepts(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Ask loguru itself, so a value it would refuse at the first start is refused at
        load: the sink is created on a file in a fresh temporary directory with
        `delay=True` (nothing is written or created) and removed again. Only that
        directory is ever looked at, so retention cannot touch a real file."""
        if value is None:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            try:
                field = info.field_name
                sink = logger.add(
                    Path(tmp) / "probe.jsonl", delay=True, catch=False, filter=lambda r: False,
                    rotation=value if field == "rotation" else None,
                    retention=value if field == "retention" else None,
                    compression=value if field == "compression" else None)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"loguru cannot use it: {exc}") from None
            logger.remove(sink)
        return value
