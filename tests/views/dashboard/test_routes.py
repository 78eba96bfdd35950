"""`GET /` and its assets, over HTTP without a browser: what is served, with which
headers, what is not served, and that the files ship in the package."""

import fnmatch
import re
import tomllib
from pathlib import Path

import httpx
import pytest

from ordergate.views.dashboard import routes

SOURCE = Path(routes.__file__).parent
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["nope.js", "routes.py", "__init__.py", "page.html",
                                  "..%2Froutes.py", "%2e%2e%2fpage.html"])
def test_only_the_named_assets_are_served_never_a_file_of_the_package(served, name):
    r = httpx.get(f"{served.url}/dashboard/{name}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_the_page_needs_no_token_and_holds_no_data(served):
    r = httpx.get(f"{served.url}/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert 'src="/dashboard/sse.js"' in r.text and 'src="/dashboard/dashboard.js"' in r.text
    assert 'src="/dashboard/accounts.js"' in r.text
    assert 'href="/dashboard/dashboard.css"' in r.text
    for secret in ("read-token", "trade-token", "admin-token"):
        assert secret not in r.text


def test_the_token_field_has_no_name_so_no_form_can_put_it_in_a_url(served):
    page = httpx.get(f"{served.url}/").text
    field = re.search(r"<input id=\"token\"[^>]*>", page)
    assert field is not None and "name=" not in field.group(0)
    assert 'type="password"' in field.group(0)


def test_every_answer_forbids_inline_script_and_foreign_origins(served):
    for path in ("/", "/dashboard/dashboard.js", "/dashboard/sse.js", "/dashboard/accounts.js",
                 "/dashboard/dashboard.css"):
        r = httpx.get(f"{served.url}{path}")
        assert r.status_code == 200, path
        policy = r.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert r.headers["x-content-type-options"] == "nosniff"


def test_assets_have_their_media_types(served):
    assert httpx.get(f"{served.url}/dashboard/dashboard.js").headers["content-type"] == \
        "text/javascript; charset=utf-8"
    assert httpx.get(f"{served.url}/dashboard/dashboard.css").headers["content-type"] == \
        "text/css; charset=utf-8"


def test_the_dashboard_is_not_an_operation_of_the_api_document(served):
    paths = httpx.get(f"{served.url}/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/dashboard") for p in paths)


def test_every_file_the_routes_serve_is_package_data():
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["ordergate"]
    for name in [routes.PAGE, *routes.ASSETS]:
        assert (SOURCE / name).is_file(), name
        assert any(fnmatch.fnmatch(f"views/dashboard/{name}", g) for g in globs), name


@pytest.mark.parametrize("name", ["dashboard.js", "sse.js", "accounts.js"])
def test_the_scripts_never_insert_markup(name):
    script = (SOURCE / name).read_text()
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("//"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code, sink
