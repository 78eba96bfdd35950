"""The OpenAPI document: what each route takes and answers, declared beside the route.

Bodies are read raw (`wire.read_json`, then the signal parser), so FastAPI cannot infer
them; each route declares its request body (`body`), its answers (`answers`: the
success shapes and a problem+json per error status it can give), the bearer scope it
needs (`secured`) and, for `POST /v1/orders`, the `Idempotency-Key` header, through
`openapi_extra` and `responses=`. `install` puts the request models (`schema.py`),
which no route parameter names, and the bearer scheme into the document's components.

Scopes: the bearer scheme is `http`/`bearer`; an operation's security requirement
lists the scope it needs as a role name (OpenAPI 3.1 allows role names for non-OAuth
schemes), e.g. `[{"bearer": ["trade"]}]`; a token of a higher scope passes too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ordergate.server.idempotency import MAX_KEY_LENGTH
from ordergate.server.problems import PROBLEM_JSON
from ordergate.server.schema import ALL_MODELS, ProblemDetails
from ordergate.server.schema_accounts import MODELS as ACCOUNT_MODELS

SCHEME = "bearer"
REF = "#/components/schemas/{model}"

_WHY = {400: "The request is not well-formed (a header, a Content-Length)",
        401: "No token, or not a known one",
        403: "The token's scope is too low",
        404: "No such resource",
        409: "Conflict (see the problem's type)",
        413: "The body is longer than server.max_body_bytes",
        415: "The body is not JSON",
        422: "The request is not valid; `field` names the offending field",
        429: "Too many requests for this token; see Retry-After",
        500: "An unexpected error; audited, no detail",
        503: "Not able to serve this now"}

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                                "schema": {"type": "integer", "minimum": 0}}}

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": True,
    "description": "draft-ietf-httpapi-idempotency-key-header: a unique value per order "
                   "(e.g. a UUID), as a bare token or a Structured Fields string",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
               "pattern": "^[!-~]+$"}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route whose JSON body has `model`'s shape."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref(model)}}}}


def secured(scope: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """`openapi_extra` for a route that needs a token of `scope` (or higher)."""
    return {**(extra or {}), "security": [{SCHEME: [scope]}]}


def answers(ok: Mapping[int, tuple[type[BaseModel] | None, str]], *problems: int,
            media: str = "application/json") -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: its success answers (model, description) and a
    problem+json for each error status it may give."""
    out: dict[int | str, dict[str, Any]] = {}
    for status, (model, why) in ok.items():
        content = {media: {"schema": _ref(model) if model else {"type": "string"}}}
        out[status] = {"description": why, "content": content}
    for status in problems:
        entry: dict[str, Any] = {
            "description": _WHY[status],
            "content": {PROBLEM_JSON: {"schema": _ref(ProblemDetails)}}}
        if status in (409, 429):
            entry["headers"] = _RETRY_AFTER
        out[status] = entry
    return out


def install(app: FastAPI) -> None:
    """Serve a document that has the schema models and the bearer scheme; built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
        _, defs = models_json_schema([(m, "validation") for m in ALL_MODELS + ACCOUNT_MODELS],
                                     ref_template=REF)
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.update(defs.get("$defs", {}))
        components["securitySchemes"] = {SCHEME: {
            "type": "http", "scheme": "bearer",
            "description": "a token from [[server.tokens]]; scopes read < trade < admin"}}
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
