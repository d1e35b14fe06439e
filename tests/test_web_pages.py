"""The HTML pages: highlights, escaping, CSP, CSRF and the browser login, without a browser."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from _web import ARTICLE, make_app
from fastapi import FastAPI

from propscope.web.auth import CSRF_COOKIE
from propscope.web.tokens import create_token
from propscope.web.views import css_class

pytestmark = pytest.mark.anyio
BASE = "http://127.0.0.1:8000"
HOSTILE_TITLE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


async def post_form(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    """Load the home page (starts the CSRF session), then post the analyse form with its token."""
    home = await client.get("/")
    token = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert token and client.cookies.get(CSRF_COOKIE) not in (None, token.group(1))
    return await client.post("/analyze", data={"csrf": token.group(1), **fields})


async def analysed_page(client: httpx.AsyncClient, text: str = ARTICLE, **fields: str) -> httpx.Response:
    posted = await post_form(client, text=text, **fields)
    assert posted.status_code == 303, posted.text
    return await client.get(posted.headers["location"])


async def test_form_analyses_and_redirects_to_the_article(client: httpx.AsyncClient) -> None:
    page = await analysed_page(client, outlet="Daily Example")
    assert page.status_code == 200
    marks = re.findall(r'<mark class="([^"]*)"', page.text)
    assert len(marks) >= 5
    assert sum("t-name-calling-labeling" in m for m in marks) == 2
    assert any("multi" in m for m in marks), "overlapping spans must both be shown"
    assert page.text.count('<sup class="tag') == 5  # one numbered tag per span
    assert 'data-count="Name_Calling,Labeling">2<' in page.text
    assert 'href="/outlets/Daily%20Example"' in page.text
    for panel in ("Claims", "Actors", "Narratives"):
        assert f">{panel} <span" in page.text
    assert "said by <strong>Officials</strong>" in page.text
    assert 'href="/narratives/west-colour-revolution"' in page.text


@pytest.mark.parametrize(
    ("technique", "label", "count"), [("Name_Calling,Labeling", "Name calling or labelling", 1)]
)
async def test_actor_table_lists_the_techniques_near_each_actor(
    client: httpx.AsyncClient, technique: str, label: str, count: int
) -> None:
    page = await analysed_page(client)
    twin = (await client.get(f"{page.url.path}.json")).json()
    assert twin["entities"][0]["techniques"] == {technique: count}
    cell = re.search(r'<td class="near">(.*?)</td>', page.text)
    assert cell, "the actor row has a techniques cell"
    chip = f'<span class="chip {css_class(technique)}" title="{html.escape(technique)}">{label} '
    assert chip + f'<span class="n">{count}</span>' in cell.group(1)


@pytest.mark.parametrize(("query", "shown"), [("technique=Slogans", 1), ("min_score=0.6", 3), ("", 5)])
async def test_server_side_filters(client: httpx.AsyncClient, query: str, shown: int) -> None:
    page = await analysed_page(client)
    filtered = await client.get(f"{page.url.path}?{query}")
    assert f'<span id="shown-n">{shown}</span> of 5 spans shown' in filtered.text
    assert filtered.text.count('class="hl ') == len(re.findall(r'<mark class="hl ', filtered.text))


async def test_every_response_has_a_strict_csp(client: httpx.AsyncClient) -> None:
    page = await analysed_page(client)
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text.replace('<script type="application/json" id="spans-data">', "")
    assert " style=" not in page.text


@pytest.mark.parametrize("title", [HOSTILE_TITLE])
async def test_untrusted_text_is_escaped(client: httpx.AsyncClient, title: str) -> None:
    text = ARTICLE + '\n\n<a href="javascript:alert(1)">click</a> </script><script>window.__xss=3</script>'
    page = await analysed_page(client, text=text, title=title, outlet="<b>bold</b>")
    body = page.text
    assert "<script>window.__xss" not in body and "<img src=x" not in body
    assert html.escape(title, quote=False) in body or "&lt;script&gt;window.__xss=1" in body
    assert 'href="javascript:' not in body and "<b>bold</b>" not in body
    listing = await client.get("/documents")
    assert "<script>window.__xss" not in listing.text


async def test_form_post_needs_the_csrf_token(client: httpx.AsyncClient) -> None:
    await client.get("/")
    missing = await client.post("/analyze", data={"text": ARTICLE})
    assert missing.status_code == 403 and "E604" in missing.text
    token = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/")).text)
    assert token
    foreign = await client.post(
        "/analyze", data={"text": ARTICLE, "csrf": token.group(1)}, headers={"origin": "http://evil.example"}
    )
    assert foreign.status_code == 403 and "E620" in foreign.text


async def test_form_shows_ingest_errors(client: httpx.AsyncClient) -> None:
    response = await post_form(client, url="http://10.0.0.1/secret")
    assert response.status_code == 422 and "E021" in response.text


async def test_browser_login_on_a_shared_server(tmp_path: Path) -> None:
    app = make_app(tmp_path, require_tokens=True)
    token = create_token(app.state.bench.store.engine, "analyst")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://192.0.2.7") as c:
        assert (await c.get("/documents")).headers["location"] == "/login?next=/documents"
        form = await c.get("/login?next=/documents")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        wrong = await c.post("/login", data={"token": "psk_wrong", "csrf": csrf.group(1)})
        assert wrong.status_code == 401
        ok = await c.post("/login", data={"token": token, "csrf": csrf.group(1), "next": "//evil.example"})
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        assert (await c.get("/documents")).status_code == 200
        page = await analysed_page(c)
        assert page.status_code == 200
        assert token not in page.text
        api_write = await c.post("/api/analyze", json={"text": ARTICLE})  # cookie only: refused
        assert api_write.status_code == 401
    app.state.bench.close()


async def test_outlet_and_narrative_pages(client: httpx.AsyncClient) -> None:
    await analysed_page(client, outlet="Daily Example")
    outlet = await client.get("/outlets/Daily%20Example")
    assert outlet.status_code == 200 and "per 1,000 words" in outlet.text and "<svg" in outlet.text
    narrative = await client.get("/narratives/west-colour-revolution")
    assert narrative.status_code == 200 and "The West stages colour revolutions" in narrative.text
    assert (await client.get("/outlets/Nobody")).status_code == 404


SHARED = (
    "Western foundations have poured money into so called independent media across the "
    "region for years, and their editors now repeat the same talking points word for word "
    "whenever the capital announces a new reform of the energy sector and its tariffs."
)


@pytest.mark.parametrize("outlets", [("Alpha Wire", "Beta Daily", "Gamma Post")])
async def test_reuse_view_shows_shared_passages(app: FastAPI, outlets: tuple[str, ...]) -> None:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {create_token(app.state.bench.store.engine, 'analyst')}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as c:
        for hour, outlet in enumerate(outlets):
            text = f"Report from {outlet}\n\nLocal news opens the day in {outlet}.\n\n{SHARED}"
            body = {"text": text, "outlet": outlet, "published": f"2022-01-05T0{hour}:00:00Z"}
            assert (await c.post("/api/analyze", json=body)).status_code == 200
        data = (await c.get("/api/reuse")).json()
        assert data["available"] and data["groups"], data
        assert set(data["groups"][0]["outlets"]) == set(outlets)
        assert data["groups"][0]["first"]["outlet"] == outlets[0]
        page = await c.get("/reuse")
        assert page.status_code == 200 and "Outlet graph" in page.text and outlets[1] in page.text
