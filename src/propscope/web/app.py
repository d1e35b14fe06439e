"""The FastAPI application: `create_app(db_url, require_tokens=...)` wires store, routes, guards.

One handler serves each page and its `.json` twin (datasette's habit); `/api/*` is the REST API
for newsroom tools, documented by the OpenAPI schema at /api/openapi.json.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

import propscope
from propscope.config import RateLimits
from propscope.errors import AnalyzerError, FetchError, IngestError, PropscopeError, StoreError, WebError
from propscope.render import assessment_text, technique_info
from propscope.store import Store
from propscope.web.auth import CsrfSigner, csrf_token, remember_session
from propscope.web.inputs import for_web
from propscope.web.jobs import JobRunner
from propscope.web.ratelimit import RateLimit
from propscope.web.security import Guard, allowed_hosts_for, error_body
from propscope.web.service import Settings, Workbench
from propscope.web.tokens import TokenChecker
from propscope.web.views import css_class

HERE = Path(__file__).parent
log = logging.getLogger("propscope.web")

STORE_STATUS = {"E301": 404, "E302": 409, "E305": 422}


def create_app(
    db_url: str | None = None,
    *,
    require_tokens: bool,
    analyzers: Sequence[str] | None = None,
    settings: Settings | None = None,
    store: Store | None = None,
    host: str | None = None,
    rate_limits: RateLimits | None = None,
    model_dir: str | None = None,
) -> FastAPI:
    """Build the workbench app.

    Args:
        db_url: the store URL (None: $PROPSCOPE_DB or the user's SQLite file).
        require_tokens: True when bound to a non-loopback address: every request needs a token.
        analyzers: analyser names for /api/analyze (None: the default pipeline).
        settings: limits and hosts; overrides the three arguments above when given.
        store: an already-open store (tests).
        host: the address served on: on loopback, Host headers naming it are answered too.
        rate_limits: requests a minute per address and per token (None: on only when tokens
            are required, i.e. served beyond loopback, with the `RateLimits` defaults).
        model_dir: the technique model folder of the served profile (`profiles.model_dir`;
            None: the default profile's).

    Returns:
        The ASGI app (FastAPI), wrapped in the rate limit and the host / body-size /
        security-header guard.
    """
    loopback = allowed_hosts_for(host) if host else Settings.allowed_hosts
    settings = settings or Settings(
        db_url=db_url, require_tokens=require_tokens, analyzers=analyzers, model_dir=model_dir,
        allowed_hosts=None if require_tokens else loopback,
    )
    limits = rate_limits or (RateLimits() if settings.require_tokens else RateLimits.off())
    bench = Workbench(settings, store)
    app = FastAPI(
        title="propscope", version=propscope.__version__, lifespan=_lifespan,
        description="Propaganda techniques, claims, actors and narratives in news articles.",
        openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
    )
    app.state.bench = bench
    app.state.jobs = JobRunner(bench)
    app.state.tokens = TokenChecker(bench.store.engine)
    app.state.csrf = CsrfSigner()
    app.state.templates = _templates()
    _routes(app)
    _handlers(app)
    app.openapi = functools.partial(_openapi, app)  # type: ignore[method-assign]
    app.add_middleware(Guard, allowed_hosts=settings.allowed_hosts, max_body=settings.max_body_bytes)
    if limits.active:  # outermost: a client over its limit costs no other check
        app.add_middleware(RateLimit, limits=limits)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the Bearer token scheme every /api endpoint accepts."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "`propscope tokens create --role reader|analyst|admin`"},
        }
        schema["security"] = [{}, {"bearer": []}]  # anonymous reads work on loopback
        _no_nul_in_parameters(schema)
        app.openapi_schema = schema
    return app.openapi_schema


# A path or query parameter holding NUL is refused (E619, web/security.py) before any handler
# runs; the schema says so, so clients (and schemathesis) know such a value is not valid.
NO_NUL = "^[^\u0000]*$"


def _no_nul_in_parameters(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("path", "query"):
                    _no_nul(parameter.get("schema", {}))


def _no_nul(schema: dict[str, Any]) -> None:
    if schema.get("type") == "string" and "enum" not in schema:
        schema.setdefault("pattern", NO_NUL)
    for option in schema.get("anyOf", []):
        _no_nul(option)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await anyio.to_thread.run_sync(app.state.jobs.resume)  # jobs the last run left unfinished
    threading.Thread(target=app.state.bench.warm, name="propscope-warm", daemon=True).start()
    yield
    app.state.jobs.shutdown()


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.autoescape = True  # article text and titles are untrusted, in every template
    templates.env.filters.update(
        q=lambda value: quote(str(value), safe=""),
        http_url=http_url,
        label=lambda name: technique_info(str(name)).label,
        css=lambda name: css_class(str(name)),
        qs=query_string,
        assessment=assessment_text,  # the same sentence as the terminal view's
    )
    return templates


def http_url(value: str | None) -> str | None:
    """A URL safe to link to: http(s) only, so `javascript:` and `data:` links never render."""
    if value and urlsplit(value.strip()).scheme.lower() in ("http", "https"):
        return value.strip()
    return None


def query_string(current: dict[str, Any], **changes: Any) -> str:
    """The list's query string with some filters changed (paging resets unless given)."""
    merged = {**current, "offset": None, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def _routes(app: FastAPI) -> None:
    from propscope.web import pages, routes_api

    app.include_router(routes_api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path.endswith(".json") or (request.method != "GET" and (
        "application/json" in request.headers.get("content-type", "")))


def error_response(request: Request, error: WebError) -> Response:
    """JSON for the API and .json twins; an HTML page (or the login form) for browsers."""
    if _wants_json(request):
        return Response(error_body(error), status_code=error.status, media_type="application/json")
    if error.status == 401:
        return RedirectResponse("/login?next=" + quote(request.url.path, safe="/"), status_code=303)
    templates: Jinja2Templates = request.app.state.templates
    context = {"error": {"code": error.code, "message": str(error), "status": error.status},
               "csrf": csrf_token(request),
               "require_tokens": request.app.state.bench.settings.require_tokens}
    response = templates.TemplateResponse(request, "error.html", context, status_code=error.status)
    remember_session(request, response)
    return response


def as_web_error(exc: PropscopeError) -> WebError:
    """The HTTP status for a catalogue error: bad input 422, missing 404, the rest 500."""
    if isinstance(exc, WebError):
        return exc
    if isinstance(exc, (IngestError, FetchError)):
        status = 422
    elif isinstance(exc, AnalyzerError):
        status = 503  # a model missing or failing: the server works, this service does not
    elif isinstance(exc, StoreError):
        code = str(exc).split(" ", 1)[0]
        status = STORE_STATUS.get(code, 503)
    else:
        status = 500
    message = for_web(str(exc))  # a web client cannot pass the CLI flags the CLI wording names
    return WebError(message if message.startswith("E") else f"{exc.code} {message}", status)


def _handlers(app: FastAPI) -> None:
    async def on_propscope(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PropscopeError)
        return error_response(request, as_web_error(exc))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        reason = "; ".join(_describe(e) for e in exc.errors()[:5])
        return error_response(request, WebError(WebError.E_INVALID.format(reason=reason), 422))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            error = WebError(WebError.E_METHOD.format(method=request.method, path=request.url.path), 405)
        elif exc.status_code == 404:
            error = WebError(WebError.E_NOT_FOUND.format(path=request.url.path), 404)
        else:
            reason = str(exc.detail).rstrip(".").lower()
            error = WebError(WebError.E_INVALID.format(reason=reason), exc.status_code)
        response = error_response(request, error)
        response.headers.update(exc.headers or {})  # e.g. Allow on 405
        return response

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {"error": {"code": "E699", "message": "E699 internal error; see the server log.",
                          "status": 500}}
        return JSONResponse(body, status_code=500)

    app.add_exception_handler(PropscopeError, on_propscope)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def _describe(error: object) -> str:
    if not isinstance(error, dict):
        return str(error)
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
    return f"{where or 'body'}: {error.get('msg', 'invalid')}"
