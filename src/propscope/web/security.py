"""Transport-level guards, applied before routing: host check, body size cap, security headers.

Article text and HTML are hostile input, so every response carries a strict Content-Security-
Policy: scripts and styles only from our own /static files, nothing inline, no framing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from propscope.errors import WebError

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


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
        self.allowed = {h.lower() for h in allowed_hosts} if allowed_hosts is not None else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refused = self._refusal(headers)
        if refused is not None:
            await _send_error(send, refused)
            return
        state = {"started": False, "overflow": False}

        async def send_guarded(message: Message) -> None:
            if state["overflow"]:  # the app turned our _TooLarge into its own 400: answer 413
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await _send_error(send, self._too_large())
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
                await _send_error(send, self._too_large())

    def _refusal(self, headers: Headers) -> WebError | None:
        host = _hostname(headers.get("host", ""))
        if self.allowed is not None and host not in self.allowed:
            return WebError(WebError.E_HOST.format(host=host), 400)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
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


def _hostname(host: str) -> str:
    """The Host header without its port ("[::1]:8000" -> "[::1]", "a:80" -> "a")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _send_error(send: Send, error: WebError) -> None:
    body = error_body(error)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
