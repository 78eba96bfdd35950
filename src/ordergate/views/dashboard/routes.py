"""`GET /`: the live dashboard, and its assets under `/dashboard/`.

The page is static and needs no token: it holds no data. It asks the operator for a
bearer token, keeps it in the tab's `sessionStorage` and calls the API with it
(`dashboard.js`), so the dashboard can do exactly what the token may, and the server
has no session or cookie to protect. The files are read once, from the package, when
the routes are built: a missing file fails the server's start, not a request.

Out of the OpenAPI document (`include_in_schema=False`): these are not API operations,
and the document's schemathesis test fuzzes every operation it lists.

Every answer carries a Content-Security-Policy allowing scripts, styles and connections
to this origin only and no inline script: should untrusted text (a venue's error, a
kill-switch reason) ever reach the DOM as markup, it could not run.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from starlette.responses import Response

from ordergate.server.problems import Problem

PAGE = "page.html"
ASSETS = {"dashboard.js": "text/javascript; charset=utf-8",
          "sse.js": "text/javascript; charset=utf-8",
          "accounts.js": "text/javascript; charset=utf-8",
          "dashboard.css": "text/css; charset=utf-8"}
"""What `/dashboard/{name}` serves: these names only, never a path into the package."""
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self' data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated each load: a new version of the package is never mixed with an old script.
    "Cache-Control": "no-cache",
}


def _read(name: str) -> bytes:
    return files(__package__).joinpath(name).read_bytes()


def dashboard_routes() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    page = _read(PAGE)
    assets = {name: (_read(name), media) for name, media in ASSETS.items()}

    @router.get("/")
    async def dashboard() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=HEADERS)

    @router.get("/dashboard/{name}")
    async def asset(name: str) -> Response:
        found = assets.get(name)
        if found is None:
            raise Problem(404, "not-found", f"the dashboard has no asset {name[:64]!r}")
        return Response(found[0], media_type=found[1], headers=HEADERS)

    return router
