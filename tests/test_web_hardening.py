"""Issue 13's web defects: CSV formulas (D12), unstorable characters (D17), CSRF (D21), the bind
host (D22), API wording, batch fields and strict Host parsing (D23), and rate limits."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from _web import ANALYZERS, make_app, register_fake
from fastapi import FastAPI

from propscope import errors, render
from propscope.config import RateLimits
from propscope.document import Annotations, Document, Result
from propscope.web import create_app, ratelimit
from propscope.web.app import as_web_error
from propscope.web.auth import CSRF_COOKIE, CSRF_TTL_S, CsrfSigner
from propscope.web.inputs import CLI_ADVICE
from propscope.web.ratelimit import Buckets, address_key
from propscope.web.tokens import create_token

pytestmark = pytest.mark.anyio
BASE = "http://127.0.0.1:8000"
ARTICLE = "The enemy is EVIL and everyone knows it. Officials said the council will act now."


def bearer(app: FastAPI, role: str = "analyst") -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(app.state.bench.store.engine, role)}"}


def code_of(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# --- D12: CSV export never hands a spreadsheet a formula ---------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1", "\uff1d1+1", "\uff0bcmd", "\uff0d1", "\uff20SUM(A1)"]


def _stored(title: str, outlet: str = "Paper") -> Result:
    doc = Document(text=f"Some article text about {len(title)} things.", title=title, outlet=outlet,
                   author=title, url=title)
    return Result(doc, Annotations())


@pytest.mark.parametrize("cell", FORMULAS)
def test_csv_cells_that_start_a_formula_are_quoted(cell: str) -> None:
    rows = list(csv.DictReader(io.StringIO(render.to_csv([_stored(cell, outlet=cell)]))))
    for column in ("title", "author", "outlet", "url"):
        assert rows[0][column] == "'" + cell
    assert rows[0]["words"] == "" and rows[0]["techniques"] == "0"  # numbers stay numbers


@pytest.mark.parametrize("cell", ["Plain title", "Ruritania's 'quotes'", " =spaced", "a=b"])
def test_csv_ordinary_cells_are_unchanged(cell: str) -> None:
    rows = list(csv.DictReader(io.StringIO(render.to_csv([_stored(cell)]))))
    assert rows[0]["title"] == cell


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://evil.example","x")'])
def test_cli_export_csv_quotes_formulas(tmp_path: Path, cell: str) -> None:
    from typer.testing import CliRunner

    from propscope.cli import app as cli
    from propscope.store import Store

    url = f"sqlite:///{tmp_path / 'export.db'}"
    store = Store.open(url)
    store.save([_stored(cell)])
    store.close()
    done = CliRunner().invoke(cli, ["export", "--format", "csv", "--db", url])
    assert done.exit_code == 0, done.output
    assert next(csv.DictReader(io.StringIO(done.stdout)))["title"] == "'" + cell


@pytest.mark.parametrize("cell", ["=1+1", "@SUM(A1)"])
async def test_api_export_csv_quotes_formulas(app: FastAPI, client: httpx.AsyncClient, cell: str) -> None:
    app.state.bench.store.save([_stored(cell)])
    exported = await client.get("/api/export?format=csv")
    row = next(csv.DictReader(io.StringIO(exported.text)))
    assert row["outlet"] == "Paper" and row["title"] == "'" + cell


# --- D17 (and siblings): data no backend can analyse or store is a coded 422 -------------------

@pytest.mark.parametrize(("body", "where"), [
    ('{"text": "bad \\ud800 text"}', "'text'"),
    ('{"html": "<p>bad \\udfff text</p>"}', "'html'"),
    ('{"url": "http://exa\\ud800mple.org/"}', "'url'"),
    ('{"text": "good text.", "title": "\\ud800"}', "'title'"),
    ('{"text": "good text.", "author": "a\\udc00"}', "'author'"),
    ('{"text": "good text.", "outlet": "\\ud83d"}', "'outlet'"),
    ('{"text": "good text.", "published": "\\ud800"}', "'published'"),
    ('{"text": "nul \\u0000 in the text"}', "'text'"),
    ('{"text": "good text.", "title": "a\\u0000b"}', "'title'"),
    ('{"documents": [{"text": "fine."}, {"text": "bad \\ud800"}]}', "'documents[1].text'"),
])
async def test_unstorable_characters_are_a_coded_422(
    app: FastAPI, client: httpx.AsyncClient, body: str, where: str
) -> None:
    headers = {**bearer(app), "content-type": "application/json"}
    response = await client.post("/api/analyze", content=body.encode(), headers=headers)
    assert response.status_code == 422, response.text
    assert code_of(response) == "E619" and where in response.json()["error"]["message"]


@pytest.mark.parametrize("path", [
    "/api/documents?q=%00", "/api/documents?outlet=a%00", "/api/documents?technique=%00",
    "/api/documents/%00", "/api/compare?a=%00&b=x", "/documents?q=%00", "/documents/%00.json",
    "/api/export?format=csv&id=%00", "/api/documents?%00=1",
])
async def test_nul_in_a_path_or_query_is_a_coded_422(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 422 and code_of(response) == "E619"


@pytest.mark.parametrize("path", ["/api/documents?q=%00", "/api/documents/%00", "/documents?outlet=%00"])
async def test_nul_query_on_postgresql_is_a_422_not_a_500(pg_url: str, path: str) -> None:
    from conftest import reset_postgres

    from propscope.web.service import Settings

    reset_postgres(pg_url)
    register_fake()
    app = create_app(require_tokens=False, settings=Settings(db_url=pg_url, analyzers=ANALYZERS))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        response = await c.get(path)
    app.state.bench.close()
    assert response.status_code == 422 and code_of(response) == "E619"


@pytest.mark.parametrize("url", ["/etc/passwd", "README.md", "../shared", "ftp://example.org/a"])
async def test_api_url_must_be_http_never_a_server_path(
    app: FastAPI, client: httpx.AsyncClient, url: str
) -> None:
    for body in ({"url": url}, {"documents": [{"url": url}]}):
        response = await client.post("/api/analyze", json=body, headers=bearer(app))
        assert response.status_code == 422 and code_of(response) == "E020", response.text
    assert app.state.bench.store.count() == 0


async def csrf_of(client: httpx.AsyncClient, path: str = "/") -> str:
    page = await client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


async def test_form_refuses_unstorable_characters(client: httpx.AsyncClient) -> None:
    token = await csrf_of(client)
    response = await client.post("/analyze", data={"csrf": token, "text": "bad \x00 text here."})
    assert response.status_code == 422 and "E619" in response.text


# --- D21: CSRF tokens are server-issued, and Origin: null is refused ---------------------------

async def test_form_token_is_not_the_cookie(client: httpx.AsyncClient) -> None:
    token = await csrf_of(client)
    session = client.cookies.get(CSRF_COOKIE)
    assert session and token != session


async def test_a_planted_cookie_with_the_same_value_is_refused(client: httpx.AsyncClient) -> None:
    for value in ("a", "x" * 40):
        client.cookies.set(CSRF_COOKIE, value)
        response = await client.post("/logout", data={"csrf": value})
        assert response.status_code == 403 and "E604" in response.text


async def test_a_token_of_another_session_is_refused(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as attacker, \
            httpx.AsyncClient(transport=transport, base_url=BASE) as victim:
        stolen = await csrf_of(attacker)
        await csrf_of(victim)
        response = await victim.post("/logout", data={"csrf": stolen})
        assert response.status_code == 403 and "E604" in response.text


@pytest.mark.parametrize("headers", [
    {"origin": "null"}, {"origin": "http://evil.example"}, {"origin": "http://127.0.0.1:8000@evil.example"},
    {"origin": "http://127.0.0.1:9999"}, {"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"},
])
async def test_foreign_or_null_origin_is_refused_even_with_a_valid_token(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    token = await csrf_of(client)
    response = await client.post("/logout", data={"csrf": token}, headers=headers)
    assert response.status_code == 403 and "E620" in response.text


@pytest.mark.parametrize("headers", [{}, {"origin": BASE}, {"origin": "HTTP://127.0.0.1:8000"},
                                     {"sec-fetch-site": "same-origin", "origin": BASE}])
async def test_the_normal_form_flow_posts(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    token = await csrf_of(client)
    response = await client.post("/logout", data={"csrf": token}, headers=headers)
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_every_form_post_checks_the_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    from propscope.web import pages

    posts = [getattr(r, "path", "") for r in pages.router.routes if "POST" in getattr(r, "methods", ())]
    assert {"/analyze", "/login", "/logout"} <= set(posts)
    await csrf_of(client)
    for path in posts:
        fields = {"csrf": "1.0", "token": "psk_x", "text": "words"}
        response = await client.post(path, data=fields)
        assert response.status_code == 403 and "E604" in response.text, path


async def test_referrer_policy_lets_browsers_send_our_origin(client: httpx.AsyncClient) -> None:
    # Under `no-referrer`, Chromium sends `Origin: null` on the workbench's own form posts, which
    # the CSRF check refuses; `same-origin` still sends no Referer to other sites.
    assert (await client.get("/")).headers["referrer-policy"] == "same-origin"


async def test_error_pages_carry_a_working_logout_form(tmp_path: Path) -> None:
    app = make_app(tmp_path, require_tokens=True)
    token = create_token(app.state.bench.store.engine, "reader")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://192.0.2.7") as c:
        form = await csrf_of(c, "/login")
        assert (await c.post("/login", data={"token": token, "csrf": form})).status_code == 303
        missing = await c.get("/documents/ffffffffffff")
        assert missing.status_code == 404
        found = re.search(r'name="csrf" value="([^"]+)"', missing.text)
        assert found, "the error page's logout form has a token"
        out = await c.post("/logout", data={"csrf": found.group(1)})
        assert out.status_code == 303
    app.state.bench.close()


@pytest.mark.parametrize("login", ["", "psk_someone"])
def test_csrf_tokens_expire_and_are_bound_to_session_and_login(login: str) -> None:
    signer = CsrfSigner()
    token = signer.issue("s" * 43, login, now=1000.0)
    assert signer.valid(token, "s" * 43, login, now=1000.0 + CSRF_TTL_S - 1)
    assert not signer.valid(token, "s" * 43, login, now=1000.0 + CSRF_TTL_S + 1)
    assert not signer.valid(token, "t" * 43, login, now=1001.0)
    assert not signer.valid(token, "s" * 43, login + "other", now=1001.0)
    assert not CsrfSigner().valid(token, "s" * 43, login, now=1001.0)  # another server's secret


# --- D22: a loopback server answers to its own bind address --------------------------------------

@pytest.mark.parametrize(("bind", "host"), [
    ("127.0.0.2", "127.0.0.2:8000"), ("127.0.0.2", "127.0.0.2"), ("127.1.2.3", "127.1.2.3:80"),
    ("::1", "[::1]:8000"), ("0:0:0:0:0:0:0:1", "[::1]:8000"), ("::1", "[0:0::1]:8000"),
    ("localhost", "LOCALHOST:8000"), ("127.0.0.2", "127.0.0.1:8000"),
])
async def test_loopback_server_answers_to_its_bind_host(tmp_path: Path, bind: str, host: str) -> None:
    register_fake()
    app = create_app(f"sqlite:///{tmp_path / 'h.db'}", require_tokens=False, analyzers=ANALYZERS, host=bind)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        assert (await c.get("/api/documents", headers={"host": host})).status_code == 200
        foreign = await c.get("/api/documents", headers={"host": "evil.example"})
        assert foreign.status_code == 400 and code_of(foreign) == "E613"
    app.state.bench.close()


def serve_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *options: str) -> FastAPI:
    """The app `propscope serve OPTIONS` would run (uvicorn.run is caught, nothing listens)."""
    import uvicorn
    from typer.testing import CliRunner

    from propscope.cli import app as cli

    register_fake()
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(app))
    args = ["serve", "--db", f"sqlite:///{tmp_path / 's.db'}", "--analyzers", ",".join(ANALYZERS), *options]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0 and served, done.output
    app: FastAPI = served[0]
    return app


async def test_serve_on_127_0_0_2_answers_its_own_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = serve_app(monkeypatch, tmp_path, "--host", "127.0.0.2", "--port", "8123")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.2:8123") as c:
        assert (await c.get("/api/documents")).status_code == 200
        assert (await c.get("/")).status_code == 200
    app.state.bench.close()


# --- D23: API wording, one source per request, strict Host parsing -------------------------------

async def test_e021_over_the_api_names_no_cli_flag(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post("/api/analyze", json={"url": "http://127.0.0.1:9/a"}, headers=bearer(app))
    message = response.json()["error"]["message"]
    assert response.status_code == 422 and code_of(response) == "E021"
    assert not CLI_ADVICE.search(message) and "operator" in message


def _catalogue() -> list[tuple[type[errors.PropscopeError], str]]:
    found = []
    for cls in (errors.IngestError, errors.FetchError, errors.StoreError, errors.AnalyzerError):
        for name, template in vars(cls).items():
            if name.startswith("E_") and isinstance(template, str):
                found.append((cls, template))
    return found


class _Field:
    """Formats as `<name>` under any format spec (`{size:,}`, `{seconds:g}`, `{id!r}`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __format__(self, spec: str) -> str:
        return f"<{self.name}>"

    def __repr__(self) -> str:
        return f"'<{self.name}>'"


class _Anything(dict[str, Any]):
    def __missing__(self, key: str) -> Any:
        return _Field(key)


@pytest.mark.parametrize(("cls", "template"), _catalogue())
def test_no_catalogue_message_tells_a_web_client_to_use_the_cli(
    cls: type[errors.PropscopeError], template: str
) -> None:
    message = str(as_web_error(cls(template.format_map(_Anything()))))
    assert not CLI_ADVICE.search(message), message
    assert message.split(" ", 1)[0] == template.split(" ", 1)[0]


@pytest.mark.parametrize("extra", [{"text": "y"}, {"outlet": "Paper"}, {"url": "http://example.org/"}])
async def test_a_batch_with_article_fields_is_refused(
    app: FastAPI, client: httpx.AsyncClient, extra: dict[str, str]
) -> None:
    body = {"documents": [{"text": ARTICLE}], **extra}
    response = await client.post("/api/analyze", json=body, headers=bearer(app))
    assert response.status_code == 422 and code_of(response) == "E617", response.text
    assert repr(next(iter(extra))) in response.json()["error"]["message"]


@pytest.mark.parametrize("host", [
    "127.0.0.1:80@evil.example", "evil.example@127.0.0.1", "127.0.0.1 evil.example", "127.0.0.1:8000:1",
    "[::1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1/x", "127.0.0.1:80,evil.example", "",
])
async def test_malformed_host_headers_are_refused(client: httpx.AsyncClient, host: str) -> None:
    response = await client.get("/api/documents", headers={"host": host})
    assert response.status_code == 400 and code_of(response) in ("E618", "E613"), response.text
    if host:
        assert code_of(response) == "E618"


async def test_two_host_headers_are_refused(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        request = c.build_request("GET", "/api/documents")
        request.headers = httpx.Headers([("host", "127.0.0.1:8000"), ("host", "evil.example")])
        response = await c.send(request)
    assert response.status_code == 400 and code_of(response) == "E618"


async def test_a_shared_server_also_parses_host_strictly(tmp_path: Path) -> None:
    app = make_app(tmp_path, require_tokens=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://203.0.113.9") as c:
        assert (await c.get("/api/health")).status_code == 200
        bad = await c.get("/api/health", headers={"host": "203.0.113.9:80@evil.example"})
        assert bad.status_code == 400 and code_of(bad) == "E618"
    app.state.bench.close()


# --- rate limits: per address and per token, 429 with Retry-After, off on loopback --------------

def limited_app(tmp_path: Path, limits: RateLimits, require_tokens: bool = False) -> FastAPI:
    register_fake()
    return create_app(f"sqlite:///{tmp_path / 'r.db'}", require_tokens=require_tokens,
                      analyzers=ANALYZERS, rate_limits=limits)


async def test_a_burst_over_the_address_limit_gets_429(tmp_path: Path) -> None:
    app = limited_app(tmp_path, RateLimits(per_address=3, per_token=0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        answers = [await c.get("/api/documents") for _ in range(5)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
        refused = answers[3]
        assert code_of(refused) == "E616" and "this address" in refused.json()["error"]["message"]
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        assert refused.headers["content-security-policy"]
        assert (await c.get("/api/health")).status_code == 200  # liveness probes are not counted
    other = httpx.ASGITransport(app=app, client=("192.0.2.50", 4000))
    async with httpx.AsyncClient(transport=other, base_url=BASE) as c:
        assert (await c.get("/api/documents")).status_code == 200  # another address: its own bucket
    app.state.bench.close()


async def test_a_burst_over_the_token_limit_gets_429(tmp_path: Path) -> None:
    app = limited_app(tmp_path, RateLimits(per_address=0, per_token=2))
    first, second = bearer(app, "reader"), bearer(app, "reader")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        statuses = [(await c.get("/api/documents", headers=first)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = await c.get("/api/documents", headers=first)
        assert code_of(refused) == "E616" and "API token" in refused.json()["error"]["message"]
        assert int(refused.headers["retry-after"]) >= 1
        assert (await c.get("/api/documents", headers=second)).status_code == 200
    app.state.bench.close()


async def test_loopback_default_has_no_limit(client: httpx.AsyncClient) -> None:
    statuses = {(await client.get("/api/documents")).status_code for _ in range(400)}
    assert statuses == {200}


async def test_a_shared_server_is_limited_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "now", lambda: 1000.0)  # no refill during the burst
    app = make_app(tmp_path, require_tokens=True)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://203.0.113.9") as c:
        statuses = [(await c.get("/api/documents")).status_code for _ in range(RateLimits().per_address + 1)]
    assert statuses[:-1] == [401] * RateLimits().per_address and statuses[-1] == 429
    app.state.bench.close()


async def test_serve_rate_limit_option(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app = serve_app(monkeypatch, tmp_path, "--rate-limit", "2")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        assert [(await c.get("/api/documents")).status_code for _ in range(3)] == [200, 200, 429]
    app.state.bench.close()


@pytest.mark.parametrize("value", ["-1", "x"])
def test_serve_refuses_a_nonsense_rate_limit(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from typer.testing import CliRunner

    from propscope.cli import app as cli

    done = CliRunner().invoke(cli, ["serve", "--rate-limit", value])
    assert done.exit_code == 2


@pytest.mark.parametrize("per_minute", [60])
def test_bucket_refills_at_its_rate(per_minute: int) -> None:
    buckets = Buckets(per_minute)
    assert all(buckets.take("a", 0.0) == 0.0 for _ in range(per_minute))
    assert buckets.take("a", 0.0) == pytest.approx(1.0)
    assert buckets.take("a", 1.0) == 0.0 and buckets.take("a", 1.0) > 0
    assert buckets.take("b", 1.0) == 0.0


def test_bucket_memory_is_bounded() -> None:
    buckets = Buckets(1, max_keys=10)
    for n in range(100):
        buckets.take(f"k{n}", 0.0)
    assert len(buckets._levels) == 10


@pytest.mark.parametrize(("client", "key"), [
    (("2001:db8:1:2:aaaa::1", 1), "2001:db8:1:2::/64"), (("2001:db8:1:2:bbbb::9", 1), "2001:db8:1:2::/64"),
    (("::ffff:192.0.2.1", 1), "192.0.2.1"), (("192.0.2.1", 1), "192.0.2.1"), (None, "unknown"),
])
def test_ipv6_clients_share_a_bucket_per_64(client: tuple[str, int] | None, key: str) -> None:
    assert address_key({"type": "http", "client": client}) == key


def test_openapi_documents_429() -> None:
    schema = json.loads((Path(__file__).parents[1] / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert "429" in schema["paths"]["/api/analyze"]["post"]["responses"]


# --- D6: one article over the per-document limit is refused, whatever the body limit -----------


@pytest.mark.parametrize("kind", ["text", "html"])
async def test_an_article_over_the_document_limit_is_e013(tmp_path: Path, kind: str) -> None:
    from propscope.config import IngestOptions

    app = make_app(tmp_path, ingest=IngestOptions(max_bytes=1_000))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            body = {kind: "The council met again. " * 100}  # 2,300 bytes, under the body limit
            response = await client.post("/api/analyze", json=body, headers=bearer(app))
            small = await client.post("/api/analyze", json={"text": ARTICLE}, headers=bearer(app))
    finally:
        app.state.bench.close()
    assert response.status_code in (413, 422), response.text
    assert code_of(response) == "E013" and "--max-bytes" not in response.text
    assert small.status_code == 200, small.text
