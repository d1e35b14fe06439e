"""The REST API through httpx's in-process ASGI client, on a cheap fake analyser."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _web import ANALYZERS, ARTICLE, make_app
from fastapi import FastAPI

from propscope import Pipeline
from propscope.ingest.text import text_document
from propscope.web.tokens import create_token, hash_token, list_tokens

pytestmark = pytest.mark.anyio
BASE = "http://127.0.0.1:8000"


def bearer(app: FastAPI, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(app.state.bench.store.engine, role)}"}


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as made:
        made.headers.update(bearer(app, "analyst"))
        yield made


async def analyse(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/analyze", json=body or {"text": ARTICLE})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


@pytest.mark.parametrize("text", [ARTICLE])
async def test_analyze_text_is_the_cli_object_plus_links(client: httpx.AsyncClient, text: str) -> None:
    data = await analyse(client, text=text)
    expected = Pipeline.from_names(ANALYZERS).analyze_batch([text_document(text, "<api>")])[0]
    doc_id = expected.document.id
    assert data.pop("links") == {"html": f"/documents/{doc_id}", "json": f"/documents/{doc_id}.json"}
    assert data == expected.to_json()
    assert data["document"]["title"] == "Ruritania Plots Again"
    assert len(data["techniques"]) == 5


HOSTILE_HTML = (
    "<html><head><title>Hostile page</title></head><body><article>"
    "<p>The enemy is EVIL <script>window.__xss=1</script> and everyone knows it, "
    "say the papers, again and again, in every single town.</p>"
    '<p><img src=x onerror="alert(1)"><a href="javascript:alert(2)">Click</a> '
    "for more of this long article text that goes on.</p></article></body></html>"
)


@pytest.mark.parametrize("html", [HOSTILE_HTML])
async def test_analyze_html_keeps_only_text(client: httpx.AsyncClient, html: str) -> None:
    data = await analyse(client, html=html)
    text = data["document"]["text"]
    assert "EVIL" in text
    assert "__xss" not in text and "onerror" not in text and "javascript:" not in text


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"url": "http://127.0.0.1:9/article"}, 422, "E021"),
    ({"url": "file:///etc/passwd"}, 422, "E020"),
    ({"text": "x", "html": "<p>x</p>"}, 422, "E610"),
    ({}, 422, "E610"),
    ({"text": "hello", "colour": "red"}, 422, "E600"),
    ({"documents": []}, 422, "E614"),
    ({"text": "   \n  "}, 422, "E016"),
])
async def test_bad_analyze_requests(
    client: httpx.AsyncClient, body: dict[str, Any], status: int, code: str
) -> None:
    response = await client.post("/api/analyze", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(("role", "status", "code"), [(None, 401, "E601"), ("reader", 403, "E603"),
                                                      ("bogus", 401, "E602")])
async def test_writes_need_an_analyst_token(app: FastAPI, role: str | None, status: int, code: str) -> None:
    headers = {"Authorization": "Bearer nope"} if role == "bogus" else bearer(app, role) if role else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as anon:
        response = await anon.post("/api/analyze", json={"text": ARTICLE}, headers=headers)
        assert response.status_code == status
        assert response.json()["error"]["code"] == code
        read = await anon.get("/api/documents", headers=headers if role == "reader" else {})
        assert read.status_code == 200


async def test_non_loopback_requires_tokens_for_everything(tmp_path: Path) -> None:
    app = make_app(tmp_path, require_tokens=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://203.0.113.9") as anon:
        refused = await anon.post("/api/analyze", json={"text": ARTICLE})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "E601"
        assert (await anon.get("/api/documents")).status_code == 401
        assert (await anon.get("/documents.json")).status_code == 401
        assert (await anon.get("/documents")).headers["location"].startswith("/login")
        ok = await anon.get("/api/documents", headers=bearer(app, "reader"))
        assert ok.status_code == 200
    app.state.bench.close()


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.nip.io"])
async def test_foreign_host_header_is_refused_on_loopback(client: httpx.AsyncClient, host: str) -> None:
    response = await client.get("/api/documents", headers={"host": host})
    assert response.status_code == 400 and response.json()["error"]["code"] == "E613"


async def _chunks() -> AsyncIterator[bytes]:
    """A body without Content-Length, so only counting the bytes can catch it."""
    for _ in range(10):
        yield b'{"text": "' + b"x" * 300


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversized_body_is_refused(tmp_path: Path, chunked: bool) -> None:
    app = make_app(tmp_path, max_body_bytes=1000)
    headers = {**bearer(app, "analyst"), "content-type": "application/json"}
    body: Any = _chunks() if chunked else json.dumps({"text": "word " * 500})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        response = await c.post("/api/analyze", content=body, headers=headers)
    assert response.status_code == 413 and response.json()["error"]["code"] == "E606"
    app.state.bench.close()


async def test_slow_analysis_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(tmp_path, analyze_timeout_s=0.05)
    bench = app.state.bench
    real = bench.document_from  # the time limit covers reading the article too
    monkeypatch.setattr(bench, "document_from", lambda item: (time.sleep(0.3), real(item))[1])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        response = await c.post("/api/analyze", json={"text": ARTICLE}, headers=bearer(app, "analyst"))
    assert response.status_code == 504 and response.json()["error"]["code"] == "E607"
    time.sleep(0.35)  # let the abandoned thread finish before the store closes
    bench.close()


async def test_batch_returns_a_job(client: httpx.AsyncClient) -> None:
    items = [{"text": ARTICLE, "outlet": "A"}, {"text": ARTICLE + " Again.", "outlet": "B"}, {"text": " "}]
    response = await client.post("/api/analyze", json={"documents": items})
    assert response.status_code == 202
    link = response.json()["links"]["self"]
    deadline = time.monotonic() + 120  # the analysis worker process starts on first use
    while time.monotonic() < deadline:
        job = (await client.get(link)).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "done" and job["done"] == 3
    assert [d["index"] for d in job["documents"]] == [0, 1]
    assert job["errors"][0]["index"] == 2
    assert (await client.get("/api/documents")).json()["total"] == 2
    assert (await client.get("/api/jobs/nope")).json()["error"]["code"] == "E609"


@pytest.fixture
async def corpus(client: httpx.AsyncClient) -> list[str]:
    """Three stored articles from two outlets, one without any technique."""
    ids = []
    calm = "Calm Report\n\nThe council met on Tuesday and approved the budget."
    protest = ARTICLE.replace("colour revolution", "protest")
    for text, outlet, day in ((ARTICLE, "Daily Example", "2022-01-05"),
                              (protest, "Daily Example", "2022-02-01"),
                              (calm, "Other Paper", "2022-03-01")):
        ids.append((await analyse(client, text=text, outlet=outlet, published=day))["document"]["id"])
    return ids


@pytest.mark.parametrize(("query", "expected"), [
    ("", [2, 1, 0]),
    ("outlet=Daily%20Example", [1, 0]),
    ("technique=Slogans", [1, 0]),
    ("narrative=west-colour-revolution", [0]),
    ("q=budget", [2]),
    ("since=2022-01-10&until=2022-02-10", [1]),
    ("limit=1&offset=1", [1]),
])
async def test_document_list_filters(
    client: httpx.AsyncClient, corpus: list[str], query: str, expected: list[int]
) -> None:
    data = (await client.get(f"/api/documents?{query}")).json()
    assert [d["id"] for d in data["documents"]] == [corpus[i] for i in expected]
    assert all(d["links"]["html"] == f"/documents/{d['id']}" for d in data["documents"])


@pytest.mark.parametrize(("query", "code"), [
    ("since=yesterday", "E600"), ("limit=0", "E600"), ("limit=5000", "E600"), ("until=", "E600"),
])
async def test_document_list_rejects_bad_parameters(client: httpx.AsyncClient, query: str, code: str) -> None:
    response = await client.get(f"/api/documents?{query}")
    assert response.status_code == 422 and response.json()["error"]["code"] == code


async def test_one_document_by_prefix_and_missing(client: httpx.AsyncClient, corpus: list[str]) -> None:
    data = (await client.get(f"/api/documents/{corpus[0][:8]}")).json()
    assert data["document"]["id"] == corpus[0] and data["schema"] == "propscope/1"
    missing = await client.get("/api/documents/ffffffffffff")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "E301"


@pytest.mark.parametrize(("fmt", "media", "needle"), [
    ("jsonl", "application/x-ndjson", '"schema": "propscope/1"'),
    ("semeval", "text/plain", "\tSlogans\t"),
    ("csv", "text/csv", "id,title,author,outlet"),
])
async def test_export(
    client: httpx.AsyncClient, corpus: list[str], fmt: str, media: str, needle: str
) -> None:
    everything = await client.get(f"/api/export?format={fmt}")
    assert everything.headers["content-type"].startswith(media) and needle in everything.text
    one = await client.get(f"/api/export?format={fmt}&id={corpus[0]}")
    assert corpus[1] not in one.text and (fmt != "jsonl" or one.text.count("\n") == 1)


async def test_outlet_names_may_hold_slashes(client: httpx.AsyncClient) -> None:
    await analyse(client, text=ARTICLE, outlet="News/Views 24")
    profile = await client.get("/api/outlets/News%2FViews%2024")
    assert profile.status_code == 200 and profile.json()["outlet"] == "News/Views 24"
    page = await client.get("/outlets/News%2FViews%2024.json")
    assert page.status_code == 200 and page.json()["outlet"] == "News/Views 24"


async def test_corpus_views(client: httpx.AsyncClient, corpus: list[str]) -> None:
    outlets = (await client.get("/api/outlets")).json()["outlets"]
    assert [(o["outlet"], o["documents"]) for o in outlets] == [("Daily Example", 2), ("Other Paper", 1)]
    profile = (await client.get("/api/outlets/Daily%20Example")).json()
    assert {t["technique"] for t in profile["techniques"]} >= {"Slogans", "Loaded_Language"}
    assert profile["narratives"][0]["id"] == "west-colour-revolution"
    assert profile["blamed"][0]["actor"] == "Ruritania"
    narratives = (await client.get("/api/narratives")).json()["narratives"]
    assert [(n["id"], n["documents"]) for n in narratives] == [("west-colour-revolution", 1)]
    one = (await client.get("/api/narratives/west-colour-revolution")).json()
    assert one["articles"][0]["id"] == corpus[0]
    both = (await client.get("/api/compare?a=Daily%20Example&b=Other%20Paper")).json()
    assert [o["outlet"] for o in both["outlets"]] == ["Daily Example", "Other Paper"]
    assert both["technique_rate_difference"]["Slogans"] > 0
    assert (await client.get("/compare?a=Daily%20Example&b=Other%20Paper")).status_code == 200
    assert (await client.get("/api/compare?a=Daily%20Example&b=Nobody")).status_code == 404
    reuse = (await client.get("/api/reuse")).json()
    assert {"available", "groups", "campaigns", "graph"} <= set(reuse)


@pytest.mark.parametrize("path", ["/", "/documents", "/outlets", "/narratives", "/reuse"])
async def test_every_page_has_a_json_twin(client: httpx.AsyncClient, corpus: list[str], path: str) -> None:
    page = await client.get(path)
    twin = await client.get("/index.json" if path == "/" else path + ".json")
    assert page.headers["content-type"].startswith("text/html")
    assert twin.headers["content-type"] == "application/json"
    assert f'href="{twin.request.url.path}"' in page.text


async def test_document_page_twin_is_the_result(client: httpx.AsyncClient, corpus: list[str]) -> None:
    twin = (await client.get(f"/documents/{corpus[0]}.json")).json()
    api = (await client.get(f"/api/documents/{corpus[0]}")).json()
    assert {k: twin[k] for k in api} == api
    assert {row["technique"]: row["count"] for row in twin["legend"]}["Name_Calling,Labeling"] == 2


@pytest.mark.parametrize("role", ["analyst"])
def test_tokens_are_stored_hashed(app: FastAPI, role: str) -> None:
    engine = app.state.bench.store.engine
    token = create_token(engine, role, "newsroom bot")
    with engine.connect() as conn:
        dump = "\n".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM api_tokens"))
    assert token not in dump and hash_token(token) in dump
    assert [t.role for t in list_tokens(engine)] == [role]
    assert app.state.tokens.role_of(token) == role


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("example.org", False),
])
def test_only_loopback_serves_without_tokens(host: str, loopback: bool) -> None:
    from propscope.web.commands import is_loopback

    assert is_loopback(host) is loopback


def test_tokens_cli_create_list_revoke(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from propscope.cli import app as cli

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    created = runner.invoke(cli, ["tokens", "create", "--role", "analyst", "--name", "bot", "--db", db])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("psk_")
    listed = runner.invoke(cli, ["tokens", "list", "--json", "--db", db])
    assert '"role": "analyst"' in listed.stdout and token not in listed.stdout
    assert runner.invoke(cli, ["tokens", "revoke", "1", "--db", db]).exit_code == 0
    assert runner.invoke(cli, ["tokens", "revoke", "1", "--db", db]).exit_code == 1
    assert runner.invoke(cli, ["tokens", "create", "--role", "root", "--db", db]).exit_code == 2
