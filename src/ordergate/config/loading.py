"""Loading the configuration: a TOML file, overridden by `ORDERGATE__...` environment
variables, validated into an `EngineConfig`; a bad one is a `ConfigError` naming the key."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ordergate.config.engine import EngineConfig


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


ENV_PREFIX = "ORDERGATE__"


def load_config(path: Path | str | None, environ: Mapping[str, str] | None = None) -> EngineConfig:
    """Load and validate a TOML file; `None` gives the defaults (paper trading on `sim`).

    Environment variables `ORDERGATE__SECTION__KEY=value` override keys of the file, at
    any depth (`ORDERGATE__VENUES__BINANCE__API_URL=http://127.0.0.1:9000`); the value is
    read as a TOML value when it is one (`true`, `5`, `"0.02"`) and as a string otherwise."""
    raw: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such configuration file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the configuration: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    _apply_environment(raw, os.environ if environ is None else environ)
    return config_from_mapping(raw, source=str(path) if path is not None else "<defaults>")


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        *parents, leaf = name[len(ENV_PREFIX):].lower().split("__")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {part} is not a table")
        try:
            node[leaf] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            node[leaf] = value


def config_from_mapping(raw: dict[str, Any], source: str = "<config>") -> EngineConfig:
    try:
        return EngineConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            ": ".join(filter(None, (".".join(str(p) for p in err["loc"]),
                                    err["msg"].removeprefix("Value error, "))))
            for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"{source}: {problems}") from None
