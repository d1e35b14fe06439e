"""Who may do what: API tokens (Bearer), a login cookie for browsers, and CSRF for form posts.

On loopback (`require_tokens=False`) anonymous visitors may read, and the workbench's own forms
may analyse (they carry a CSRF token, so another site cannot post them); the JSON API's write
endpoints always need an analyst token. Bound to another address, everything needs a token.

CSRF tokens are issued by the server: an HMAC, under a secret made when the app starts, of the
browser's session cookie (random, HttpOnly, SameSite=Strict), the login cookie's digest and an
expiry. A value the visitor (or another site) picks is never a token, so planting a cookie and
posting its value fails; a token stops working after `CSRF_TTL_S`, at logout/login (the login
cookie changes) and when the server restarts. Every form post also has its `Origin` checked:
`null` (sandboxed frames, data: URLs, some redirects) and any other site are refused, as are
browsers' `Sec-Fetch-Site: cross-site | same-site`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from propscope.errors import WebError
from propscope.web.security import parse_host
from propscope.web.tokens import TokenChecker, role_rank

TOKEN_COOKIE = "propscope_token"
CSRF_COOKIE = "propscope_csrf"  # the browser's session id; CSRF tokens are signed for it
CSRF_FIELD = "csrf"
CSRF_TTL_S = 12 * 3600  # a form left open over a working day still posts; then: reload
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32,64}")
TOKEN_SHAPE = re.compile(r"(?P<expires>[0-9]{1,12})\.(?P<mac>[0-9a-f]{64})")
FOREIGN_FETCH = ("cross-site", "same-site")
DEFAULT_PORTS = {"http": 80, "https": 443}


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


class CsrfSigner:
    """Issues and checks CSRF tokens: `EXPIRY.HMAC(secret, session, login digest, EXPIRY)`."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def issue(self, session: str, login: str, now: float) -> str:
        expires = int(now) + CSRF_TTL_S
        return f"{expires}.{self._mac(session, login, expires)}"

    def valid(self, token: str, session: str, login: str, now: float) -> bool:
        """True for a token this signer issued for this session and login, not yet expired."""
        shape = TOKEN_SHAPE.fullmatch(token)
        if shape is None or int(shape.group("expires")) < now:
            return False
        expected = self._mac(session, login, int(shape.group("expires")))
        return hmac.compare_digest(shape.group("mac"), expected)

    def _mac(self, session: str, login: str, expires: int) -> str:
        message = f"{session}\n{login}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def _signer(request: Request) -> CsrfSigner:
    signer: CsrfSigner = request.app.state.csrf
    return signer


def _login_digest(request: Request) -> str:
    """Binds a CSRF token to the login cookie, so a token issued to another login is useless."""
    token = request.cookies.get(TOKEN_COOKIE) or ""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest() if token else ""


def _session(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE) or ""
    return value if SESSION_ID.fullmatch(value) else None


def csrf_token(request: Request) -> str:
    """A CSRF token for this visitor's forms (starting a session on the first visit)."""
    session = _session(request)
    if session is None:
        if not hasattr(request.state, "new_csrf"):
            request.state.new_csrf = secrets.token_urlsafe(32)
        session = str(request.state.new_csrf)
    return _signer(request).issue(session, _login_digest(request), time.time())


def remember_session(request: Request, response: Response) -> None:
    """Set the session cookie that `csrf_token` started on this request, if it did."""
    if getattr(request.state, "new_csrf", None):
        response.set_cookie(CSRF_COOKIE, request.state.new_csrf, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")


def _host_port(netloc: str, scheme: str) -> tuple[str, int | None] | None:
    parsed = parse_host(netloc)
    return None if parsed is None else (parsed[0], parsed[1] or DEFAULT_PORTS.get(scheme.lower()))


def check_origin(request: Request) -> None:
    """Refuse a form posted by another site, or by a page whose origin is `null` (E620).

    Host and port are compared, each side's missing port taken from the origin's scheme, so a
    TLS proxy in front (https origin, plain http behind) still matches.
    """
    origin = request.headers.get("origin")
    if request.headers.get("sec-fetch-site", "").lower() in FOREIGN_FETCH:
        raise WebError(WebError.E_CSRF_ORIGIN.format(origin=origin or "another site"), 403)
    if origin is None:
        return  # browsers send Origin on every cross-site POST; the token still applies
    parts = urlsplit(origin)
    theirs = _host_port(parts.netloc, parts.scheme) if parts.scheme and not parts.path else None
    ours = _host_port(request.headers.get("host", ""), parts.scheme)
    if theirs is None or theirs != ours:
        raise WebError(WebError.E_CSRF_ORIGIN.format(origin=origin[:200]), 403)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Every form post: same origin (E620) and a token this server issued to this session (E604)."""
    check_origin(request)
    session = _session(request)
    login = _login_digest(request)
    if session is None or not _signer(request).valid(submitted or "", session, login, time.time()):
        raise WebError(WebError.E_CSRF, 403)
