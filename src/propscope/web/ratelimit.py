"""Per-address and per-token rate limits: a token bucket per key, in memory (E616, 429).

Served beyond loopback, one client could otherwise take every analysis slot and most of the
reads. Each request takes one unit from its client address's bucket and, when it shows an API
token (Bearer header or the login cookie), one from that token's bucket. An empty bucket is
answered 429 with `Retry-After`. IPv6 clients share a bucket per /64, the block one host
usually holds. The address is the connection's peer; uvicorn puts the `X-Forwarded-For` client
there only for a trusted proxy (loopback, or `FORWARDED_ALLOW_IPS`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
from collections import OrderedDict

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from propscope.config import RateLimits
from propscope.errors import WebError
from propscope.web.auth import TOKEN_COOKIE
from propscope.web.security import send_error

MAX_KEYS = 100_000  # buckets kept per limit; the least recently seen go first (~100 bytes each)
EXEMPT = ("/static/", "/api/health")  # page assets and liveness probes are not counted


class Buckets:
    """Token buckets of `per_minute` units, one per key, refilled at `per_minute / 60` a second."""

    def __init__(self, per_minute: int, max_keys: int = MAX_KEYS) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._max_keys = max_keys
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float) -> float:
        """Take one unit for `key`: 0.0 when granted, else the seconds until one is there."""
        with self._lock:
            level, stamp = self._levels.pop(key, (float(self.per_minute), now))
            level = min(float(self.per_minute), level + (now - stamp) * self._rate)
            granted = level >= 1.0
            self._levels[key] = (level - 1.0 if granted else level, now)
            while len(self._levels) > self._max_keys:  # an evicted bucket is refilled: bounded memory
                self._levels.popitem(last=False)
        return 0.0 if granted else (1.0 - level) / self._rate


def address_key(scope: Scope) -> str:
    """The client's address, IPv6 cut to its /64 (one host usually holds a whole /64)."""
    client = scope.get("client")
    host = str(client[0]) if client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def token_key(headers: Headers) -> str | None:
    """A digest of the API token the request shows (Bearer header, else login cookie), if any."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if not token:
        token = cookie_parser(headers.get("cookie", "")).get(TOKEN_COOKIE, "")
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32] if token else None


def now() -> float:
    """The buckets' clock (a module function, so tests can stop it)."""
    return time.monotonic()


class RateLimit:
    """ASGI middleware: 429 (E616) with `Retry-After` once an address or a token is over its limit."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits
        self.by_address = Buckets(limits.per_address) if limits.per_address > 0 else None
        self.by_token = Buckets(limits.per_token) if limits.per_token > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not str(scope.get("path", "")).startswith(EXEMPT):
            refused = self._refusal(scope)
            if refused is not None:
                error, wait = refused
                await send_error(send, error, [(b"retry-after", str(wait).encode())])
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[WebError, int] | None:
        moment = now()
        if self.by_address is not None:
            wait = self.by_address.take(address_key(scope), moment)
            if wait > 0:
                return self._error("from this address", self.by_address.per_minute, wait)
        key = token_key(Headers(scope=scope)) if self.by_token is not None else None
        if self.by_token is not None and key is not None:
            wait = self.by_token.take(key, moment)
            if wait > 0:
                return self._error("with this API token", self.by_token.per_minute, wait)
        return None

    @staticmethod
    def _error(who: str, limit: int, wait: float) -> tuple[WebError, int]:
        seconds = max(1, math.ceil(wait))
        return WebError(WebError.E_RATE.format(who=who, limit=limit, seconds=seconds), 429), seconds
