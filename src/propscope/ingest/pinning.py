"""The connection layer of the URL fetcher: sockets go to vetted addresses only, within a deadline.

Checking a host name's addresses and then letting httpx resolve the name again when it connects
is a time-of-check/time-of-use gap: a DNS answer that changes between the two lookups (DNS
rebinding) walks past the check. So the Fetcher resolves each hop once, vets every address,
and *pins* them; `PinnedBackend`, the httpcore network backend under the default client, then
opens its socket to exactly those addresses and never resolves anything. The URL keeps the host
name, so the Host header, TLS SNI and certificate verification all still use the name.

The same layer enforces the per-fetch deadline: every connect, TLS handshake, read and write
gets at most the time left, so a server dripping a byte a second (headers or body) cannot hold
a fetch longer than the deadline however short each single read is.

The state of the fetch in progress (pins and deadline) travels in a ContextVar: it is per
thread, so concurrent fetches in server threads never see each other's pins.
"""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpcore
import httpx

T = TypeVar("T")


class FetchDeadline(Exception):
    """The fetch in progress ran out of its overall deadline (the Fetcher turns it into E029)."""


@dataclass
class FetchState:
    """One fetch: when it must be over (time.monotonic()), and the vetted addresses per host."""

    deadline: float
    pins: dict[tuple[str, int], tuple[str, ...]] = field(default_factory=dict)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def pin(self, host: str, port: int, addresses: Iterable[str]) -> None:
        """Connections to host:port may go to these (already vetted) addresses, and only these."""
        self.pins[(pin_key(host), port)] = tuple(addresses)


_CURRENT: ContextVar[FetchState | None] = ContextVar("propscope_fetch", default=None)


def pin_key(host: str) -> str:
    """The form both sides agree on: httpcore hands connect_tcp the URL's ASCII host, unbracketed."""
    return host.strip("[]").lower()


@contextmanager
def fetching(seconds: float) -> Iterator[FetchState]:
    """Make a fetch with `seconds` of overall deadline the current one, for this thread."""
    state = FetchState(time.monotonic() + seconds)
    token = _CURRENT.set(state)
    try:
        yield state
    finally:
        _CURRENT.reset(token)


def current() -> FetchState | None:
    return _CURRENT.get()


def within_deadline(call: Callable[[float | None], T], timeout: float | None) -> T:
    """call(timeout), with the timeout cut to what is left of the current fetch's deadline.

    A timeout that fires because of the cut is the deadline's doing, so it is raised as
    FetchDeadline rather than as the per-read timeout the caller asked for.
    """
    state = current()
    if state is None:
        return call(timeout)
    left = state.remaining()
    if left <= 0:
        raise FetchDeadline()
    if (timeout is not None and timeout < left) or math.isinf(left):
        return call(timeout)
    try:
        return call(left)
    except httpcore.TimeoutException as exc:
        raise FetchDeadline() from exc


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation is bounded by the current fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return within_deadline(lambda t: self._inner.read(max_bytes, t), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        within_deadline(lambda t: self._inner.write(buffer, t), timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's host name (not the pinned IP): SNI and certificate
        # verification are done against the name the user asked for.
        tls = within_deadline(lambda t: self._inner.start_tls(ssl_context, server_hostname, t), timeout)
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Connects only to the addresses pinned for the host by the fetch in progress.

    Args:
        inner: the backend that opens the actual sockets, to IP addresses only (default:
            httpcore's SyncBackend); tests pass one that records or reroutes the addresses.
    """

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        state = current()
        addresses = state.pins.get((pin_key(host), port)) if state else None
        if not addresses:  # fail closed: nothing connects that the Fetcher did not vet
            raise httpcore.ConnectError(f"{host}:{port} was not vetted by propscope's fetcher")
        error = httpcore.ConnectError(f"{host}:{port}: no address to connect to")
        for address in addresses:
            try:
                return self._connect(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error

    def _connect(
        self, address: str, port: int, timeout: float | None, local: str | None, options: Iterable[Any] | None
    ) -> httpcore.NetworkStream:
        def connect(seconds: float | None) -> httpcore.NetworkStream:
            return self._inner.connect_tcp(address, port, seconds, local, options)

        return DeadlineStream(within_deadline(connect, timeout))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("propscope fetches over TCP only")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own HTTP transport, over a connection pool whose sockets PinnedBackend opens.

    httpx.HTTPTransport takes no network backend, so its pool is replaced by an equivalent one
    that has it (the tests that reroute connections fail if httpx ever stops using `_pool`).
    No proxy: a proxy would resolve the host name itself, after our check.
    """

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        super().__init__()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=PinnedBackend(inner),
        )
