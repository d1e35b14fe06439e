"""Who may do what: API tokens (Bearer), a login cookie for browsers, and CSRF for form posts.

On loopback (`require_tokens=False`) anonymous visitors may read, and the workbench's own forms
may analyse (they carry a CSRF token, so another site cannot post them); the JSON API's write
endpoints always need an analyst token. Bound to another address, everything needs a token.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request

from propscope.errors import WebError
from propscope.web.tokens import TokenChecker, role_rank

TOKEN_COOKIE = "propscope_token"
CSRF_COOKIE = "propscope_csrf"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Principal:
    """The caller: a role (None when anonymous and tokens are required) and how it was shown."""

    role: str | None
    via: str


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def principal(request: Request, *, allow_cookie: bool = True) -> Principal:
    """Resolve the caller from the Bearer header, else the login cookie, else anonymous."""
    checker: TokenChecker = request.app.state.tokens
    token = _bearer(request)
    via = "token"
    if token is None and allow_cookie:
        token, via = request.cookies.get(TOKEN_COOKIE), "cookie"
    if token:
        role = checker.role_of(token)
        if role is None:
            raise WebError(WebError.E_BAD_TOKEN, 401)
        return Principal(role, via)
    anonymous_role = None if request.app.state.bench.settings.require_tokens else "reader"
    return Principal(anonymous_role, "anonymous")


def _check(found: Principal, need: str) -> Principal:
    if found.role is None or (found.via == "anonymous" and role_rank(found.role) < role_rank(need)):
        raise WebError(WebError.E_AUTH_REQUIRED, 401)
    if role_rank(found.role) < role_rank(need):
        raise WebError(WebError.E_ROLE.format(need=need, have=found.role), 403)
    return found


def require(need: str, *, allow_cookie: bool = True) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency admitting callers with at least the `need` role.

    Async on purpose: FastAPI runs sync dependencies in the thread pool, and a thread hop per
    request for a cached dictionary lookup halves read throughput.
    """

    async def dependency(request: Request) -> Principal:
        return _check(principal(request, allow_cookie=allow_cookie), need)

    return dependency


async def require_form_writer(request: Request) -> Principal:
    """Form posts: an analyst (cookie or token), or anyone on loopback; CSRF checked by caller."""
    found = principal(request)
    if found.via == "anonymous" and found.role is not None:
        return Principal("analyst", "local")
    return _check(found, "analyst")


def csrf_token(request: Request) -> str:
    """The visitor's CSRF token (made on first visit; the page sets it as a cookie)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and len(existing) >= 16:
        return existing
    if not hasattr(request.state, "new_csrf"):
        request.state.new_csrf = secrets.token_urlsafe(24)
    return str(request.state.new_csrf)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Double-submit check plus Origin: the form value must equal the cookie (E604)."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise WebError(WebError.E_CSRF, 403)
    if not cookie or not submitted or not secrets.compare_digest(cookie, submitted):
        raise WebError(WebError.E_CSRF, 403)
