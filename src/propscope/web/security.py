"""Transport-level guards, applied before routing: host check, body size cap, security headers.

The Host header is parsed strictly (a name or address and an optional port, nothing else), so
`127.0.0.1:80@evil.example` is refused, not read as 127.0.0.1. On loopback only the loopback
names and the address the server is bound to are answered, which defeats DNS rebinding. A path
or query parameter holding NUL is refused (E619) before any handler runs: no backend can
store or compare it (PostgreSQL raises), so it is the client's error, not a 500.

Article text and HTML are hostile input, so every response carries a strict Content-Security-
Policy: scripts and styles only from our own /static files, nothing inline, no framing.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from propscope.errors import WebError
from propscope.web.inputs import check_text

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on our own
    # form posts, and the CSRF check must refuse null. Other sites still get no Referer.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
HOST = re.compile(rf"(?P<host>{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{{1,5}}))?")


def normal_host(host: str) -> str:
    """One spelling per host: lower case, no trailing dot, IPv6 compressed in brackets."""
    host = host.lower()
    host = host[:-1] if host.endswith(".") else host
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return host
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def parse_host(value: str) -> tuple[str, int | None] | None:
    """`host[:port]` from a Host header (or an origin's netloc), or None when it is malformed."""
    found = HOST.fullmatch(value.lower())
    if found is None or len(found.group("host")) > 255:
        return None
    port = int(found.group("port")) if found.group("port") is not None else None
    if port is not None and port > 65535:
        return None
    host = found.group("host")
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
    return normal_host(host), port


def allowed_hosts_for(bind: str, extra: Iterable[str] = LOOPBACK_HOSTS) -> tuple[str, ...]:
    """The Host names a loopback server answers to: the loopback names and its own bind address."""
    return tuple(dict.fromkeys([*extra, bind]))


class _TooLarge(Exception):
    """Raised from `receive` once the body passes the limit."""


def error_body(error: WebError) -> bytes:
    """The JSON every refused request gets: a stable code and a one-line message."""
    payload = {"error": {"code": error.code, "message": str(error), "status": error.status}}
    return json.dumps(payload).encode()


class Guard:
    """ASGI middleware: refuse foreign Host headers (DNS rebinding) and oversized bodies."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] | None, max_body: int) -> None:
        self.app = app
        self.allowed = {normal_host(h) for h in allowed_hosts} if allowed_hosts is not None else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refused = self._refusal(headers) or _target_refusal(scope)
        if refused is not None:
            await send_error(send, refused)
            return
        state = {"started": False, "overflow": False}

        async def send_guarded(message: Message) -> None:
            if state["overflow"]:  # the app turned our _TooLarge into its own 400: answer 413
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await send_error(send, self._too_large())
                return
            if message["type"] == "http.response.start":
                state["started"] = True
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, self._capped(receive, state), send_guarded)
        except _TooLarge:
            if not state["started"]:
                state["started"] = True
                await send_error(send, self._too_large())

    def _refusal(self, headers: Headers) -> WebError | None:
        given = headers.getlist("host")
        parsed = parse_host(given[0]) if len(given) == 1 else None
        if given and parsed is None:
            return WebError(WebError.E_BAD_HOST.format(host=", ".join(given)), 400)
        if self.allowed is not None and (parsed is None or parsed[0] not in self.allowed):
            return WebError(WebError.E_HOST.format(host=parsed[0] if parsed else ""), 400)
        length = headers.get("content-length", "")
        if length.isascii() and length.isdigit() and int(length) > self.max_body:
            return self._too_large()
        return None

    def _too_large(self) -> WebError:
        return WebError(WebError.E_TOO_LARGE.format(limit=self.max_body), 413)

    def _capped(self, receive: Receive, state: dict[str, bool]) -> Receive:
        """`receive` that counts body bytes and stops (marking `state`) past the limit."""
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                state["overflow"] = True
                raise _TooLarge
            return message

        return capped


def _target_refusal(scope: Scope) -> WebError | None:
    """E619 for a path or query parameter holding NUL (percent-decoding already replaced
    invalid UTF-8, so no lone surrogate can arrive this way)."""
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    try:
        check_text("the path", str(scope.get("path", "")))
        for name, value in parse_qsl(query, keep_blank_values=True):
            check_text("a query parameter's name", name)
            check_text(f"the query parameter {name!r}", value)
    except WebError as refused:
        return refused
    return None


async def send_error(send: Send, error: WebError, extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Answer `error` as JSON (with the security headers and any `extra` ones, e.g. Retry-After)."""
    body = error_body(error)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *SECURITY_HEADERS, *extra]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
