"""HTML pages, each with a `.json` twin served by the same handler (datasette's habit).

A page handler returns a JSON-able dict; keys starting with "_" are for the template only (e.g.
the article cut into pieces) and are left out of the twin.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from propscope import registry
from propscope.errors import PropscopeError, WebError
from propscope.web import corpus
from propscope.web.app import as_web_error
from propscope.web.auth import (
    TOKEN_COOKIE,
    Principal,
    check_csrf,
    csrf_token,
    remember_session,
    require,
    require_form_writer,
)
from propscope.web.inputs import check_item
from propscope.web.queries import Filters, facets
from propscope.web.review import review_view
from propscope.web.routes_api import OFFSET_MAX, PAGE_MAX, _in_thread, document_page, filters
from propscope.web.service import Workbench, result_json
from propscope.web.views import article_view, technique_css

JSON = dict[str, Any]
Handler = Callable[..., Awaitable[JSON]]

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require("reader"))]
Writer = Annotated[Principal, Depends(require_form_writer)]


def _bench(request: Request) -> Workbench:
    bench: Workbench = request.app.state.bench
    return bench


def json_twin(path: str) -> str:
    """The .json twin of a page path."""
    return "/index.json" if path == "/" else path + ".json"


def render(request: Request, template: str, data: JSON, status: int = 200) -> Response:
    """The page for `data`, setting the CSRF cookie on a first visit."""
    templates: Jinja2Templates = request.app.state.templates
    context = {"d": data, "csrf": csrf_token(request), "json_url": json_twin(request.url.path),
               "require_tokens": _bench(request).settings.require_tokens}
    response = templates.TemplateResponse(request, template, context, status_code=status)
    remember_session(request, response)
    return response


def page(path: str, template: str) -> Callable[[Handler], Handler]:
    """Register `handler` at `path` (HTML) and at its .json twin (the same data as JSON)."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def as_json(*args: Any, **kwargs: Any) -> Response:
            data = await handler(*args, **kwargs)
            return JSONResponse({k: v for k, v in data.items() if not k.startswith("_")})

        @functools.wraps(handler)
        async def as_html(*args: Any, **kwargs: Any) -> Response:
            return render(kwargs["request"], template, await handler(*args, **kwargs))

        router.add_api_route(json_twin(path), as_json, methods=["GET"])
        router.add_api_route(path, as_html, methods=["GET"])
        return handler

    return register


@router.get("/static/techniques.css")
async def techniques_css() -> Response:
    """Technique colours as a stylesheet (no inline styles under the CSP)."""
    return Response(technique_css(), media_type="text/css",
                    headers={"cache-control": "public, max-age=3600"})


def _home(bench: Workbench) -> JSON:
    recent = document_page(bench, Filters(), 8, 0)
    names = list(bench.settings.analyzers or registry.default_names())
    return {"analyzers": names, "documents": recent["total"], "recent": recent["documents"]}


@page("/", "index.html")
async def home(request: Request, _: Reader) -> JSON:
    """The paste/URL form and the most recent documents."""
    return await anyio.to_thread.run_sync(_home, _bench(request))


@router.post("/analyze")
async def analyze_form(
    request: Request, _: Writer, text: Annotated[str, Form()] = "", url: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "", outlet: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The paste/URL form: analyse, store, and go to the article view."""
    check_csrf(request, csrf)
    source = ("text", text) if text.strip() else ("url", url)  # pasted text wins over a URL
    item = {k: v.strip() for k, v in (source, ("title", title), ("outlet", outlet)) if v.strip()}
    try:
        check_item(item)
        result = await _in_thread(request, item)
    except PropscopeError as exc:
        error = as_web_error(exc)
        data = {**await anyio.to_thread.run_sync(_home, _bench(request)),
                "error": {"code": error.code, "message": str(error)}, "form": item}
        return render(request, "index.html", data, status=error.status)
    return RedirectResponse(f"/documents/{result.document.id}", status_code=303)


def _documents(bench: Workbench, f: Filters, limit: int, offset: int) -> JSON:
    data = document_page(bench, f, limit, offset)
    data["facets"] = facets(bench.store.engine, f)
    data["narratives"] = [{"id": n["id"], "title": n["title"]} for n in corpus.narratives(bench)]
    return data


async def form_filters(request: Request) -> Filters:
    """The API's filters, except that the search form's empty fields mean "any"."""
    given = {k: v for k, v in request.query_params.items() if v}
    names = ("outlet", "since", "until", "technique", "narrative", "q")
    return await filters(**{k: given.get(k) for k in names})


@page("/documents", "documents.html")
async def documents(
    request: Request, _: Reader, f: Annotated[Filters, Depends(form_filters)],
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
) -> JSON:
    """Search with facets."""
    return await anyio.to_thread.run_sync(_documents, _bench(request), f, limit, offset)


@page("/documents/{doc_id}", "document.html")
async def document(
    request: Request, doc_id: str, _: Reader,
    technique: Annotated[list[str] | None, Query()] = None,
    min_score: Annotated[float, Query(ge=0, le=1)] = 0.0,
    spans: Annotated[Literal["model", "human"], Query()] = "model",
    annotator: Annotated[str | None, Query(max_length=128)] = None,
) -> JSON:
    """The article view, filtered by technique and confidence, with the model's spans or a
    reviewer's (`spans=human&annotator=NAME`, see web/review.py)."""
    store = _bench(request).store
    result = await anyio.to_thread.run_sync(store.get, doc_id)
    layers = await anyio.to_thread.run_sync(store.document_human_layers, result.document.id)
    review = review_view(result, layers, spans, annotator)
    view = article_view(review.shown, technique or (), min_score)
    data = result_json(result)
    data.update(legend=view["legend"], filters=view["filters"], human=review.json, _view=view)
    return data


@page("/outlets", "outlets.html")
async def outlets(request: Request, _: Reader) -> JSON:
    """Outlet list."""
    return {"outlets": await anyio.to_thread.run_sync(corpus.outlets, _bench(request))}


@page("/compare", "compare.html")
async def compare(
    request: Request, _: Reader, a: Annotated[str, Query()], b: Annotated[str, Query()]
) -> JSON:
    """Two outlets side by side."""
    return await anyio.to_thread.run_sync(corpus.compare_outlets, _bench(request), a, b)


@page("/outlets/{outlet:path}", "outlet.html")
async def outlet(request: Request, outlet: str, _: Reader) -> JSON:
    """Outlet profile."""
    return await anyio.to_thread.run_sync(corpus.outlet_profile, _bench(request), outlet)


@page("/narratives", "narratives.html")
async def narratives(request: Request, _: Reader) -> JSON:
    """Narrative list."""
    return {"narratives": await anyio.to_thread.run_sync(corpus.narratives, _bench(request))}


@page("/narratives/{narrative_id:path}", "narrative.html")
async def narrative(request: Request, narrative_id: str, _: Reader) -> JSON:
    """One narrative."""
    return await anyio.to_thread.run_sync(corpus.narrative, _bench(request), narrative_id)


@page("/reuse", "reuse.html")
async def reuse(request: Request, _: Reader) -> JSON:
    """Shared passages and campaigns."""
    return await anyio.to_thread.run_sync(corpus.reuse, _bench(request))


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    """The token form shown when a shared server needs a login."""
    return render(request, "login.html", {"next": _local(next)})


@router.post("/login")
async def login(
    request: Request, token: Annotated[str, Form()], csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check a token and keep it in an HttpOnly, SameSite=Strict cookie for the browser."""
    check_csrf(request, csrf)
    if request.app.state.tokens.role_of(token.strip()) is None:
        error = WebError(WebError.E_BAD_TOKEN, 401)
        data = {"next": _local(next), "error": {"code": error.code, "message": str(error)}}
        return render(request, "login.html", data, status=401)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(TOKEN_COOKIE, token.strip(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=30 * 24 * 3600)
    return response


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    """Forget the login cookie."""
    check_csrf(request, csrf)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


def _local(target: str) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return quote(target, safe="/?=&%.-_~")
