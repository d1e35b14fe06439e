"""Fetching articles over HTTP(S) with httpx, safely.

Every hop of a redirect chain is checked before it is requested: http/https only, and (unless
--allow-private-urls) every address the host resolves to must be public, so a page cannot
make propscope read an intranet or cloud-metadata address. Responses are streamed and cut at
`fetch_max_bytes`, and only web pages, plain text and feeds are accepted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import httpx

from propscope.config import IngestOptions
from propscope.errors import FetchError

Resolver = Callable[[str, int], list[str]]

ACCEPTED_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "text/plain",
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "",  # no Content-Type: we sniff the body
    }
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "propscope/0.1"


@dataclass(frozen=True)
class Fetched:
    """A fetched body, with the final URL after redirects and its declared media type."""

    url: str
    content_type: str
    charset: str | None
    body: bytes


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (raises OSError when it does not resolve)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def is_public(address: str) -> bool:
    """False for private, loopback, link-local, reserved, multicast and unspecified addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    flags = (ip.is_private, ip.is_loopback, ip.is_link_local, ip.is_reserved, ip.is_multicast)
    return ip.is_global and not any(flags) and not ip.is_unspecified


def _literal(host: str) -> list[str]:
    """[host] when the host is an IP address itself: nothing to resolve (or to spoof)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return []


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(FetchError.E_BAD_URL.format(url=url, reason=exc), url) from exc
    if parsed.scheme not in ("http", "https"):
        raise FetchError(FetchError.E_SCHEME.format(url=url), url)
    if not parsed.host:
        raise FetchError(FetchError.E_BAD_URL.format(url=url, reason="no host"), url)
    return parsed


def _media_type(response: httpx.Response) -> tuple[str, str | None]:
    header = response.headers.get("content-type", "")
    media = header.split(";", 1)[0].strip().lower()
    return media, response.charset_encoding


def _declared_length(response: httpx.Response) -> int:
    try:
        return int(response.headers.get("content-length") or 0)
    except ValueError:
        return 0


class Fetcher:
    """Fetches URLs under the rules of an IngestOptions; give it an httpx.Client to test.

    Args:
        options: timeouts, size cap, redirect limit and the private-address policy.
        client: an httpx.Client (e.g. over httpx.MockTransport); one is made and closed when
            not given.
        resolve: host-to-addresses lookup, replaceable so tests never touch DNS.
    """

    def __init__(
        self,
        options: IngestOptions | None = None,
        client: httpx.Client | None = None,
        resolve: Resolver = resolve_host,
    ) -> None:
        self.options = options or IngestOptions()
        self._client = client
        self._owns_client = client is None
        self._resolve = resolve

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=self.options.fetch_timeout, headers={"User-Agent": USER_AGENT}
            )
        return self._client

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def check(self, url: str, original: str | None = None) -> httpx.URL:
        """The parsed URL, if propscope may request it (E020, E021, E022, E026 otherwise)."""
        parsed = _parse(url)
        if self.options.allow_private_urls:
            return parsed
        name = original or url
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            addresses = _literal(parsed.host) or self._resolve(parsed.host, port)
        except OSError as exc:
            reason = f"cannot resolve {parsed.host}: {exc}"
            message = FetchError.E_UNREACHABLE.format(url=name, reason=reason)
            raise FetchError(message, name) from exc
        for address in addresses:
            if not is_public(address):
                message = FetchError.E_PRIVATE.format(url=name, host=parsed.host, address=address)
                raise FetchError(message, name)
        return parsed

    def fetch(self, url: str) -> Fetched:
        """GET `url`, following at most `fetch_max_redirects` redirects, each one re-checked.

        Args:
            url: an http or https URL.

        Returns:
            The body (at most `fetch_max_bytes`), its media type and the final URL.
        """
        try:
            return self._follow(url)
        except httpx.TimeoutException as exc:
            reason = f"no answer within {self.options.fetch_timeout:g} s"
            raise FetchError(FetchError.E_UNREACHABLE.format(url=url, reason=reason), url) from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise FetchError(FetchError.E_UNREACHABLE.format(url=url, reason=reason), url) from exc

    def _follow(self, url: str) -> Fetched:
        current = url
        for _ in range(self.options.fetch_max_redirects + 1):
            target = self.check(current, original=url)
            timeout = self.options.fetch_timeout
            with self.client.stream("GET", target, follow_redirects=False, timeout=timeout) as response:
                location = response.headers.get("location")
                if response.status_code not in REDIRECT_STATUSES or not location:
                    return self._read(response, url)
            current = str(target.join(location))
        limit = self.options.fetch_max_redirects
        raise FetchError(FetchError.E_REDIRECTS.format(url=url, limit=limit), url)

    def _read(self, response: httpx.Response, url: str) -> Fetched:
        if not response.is_success:
            status = f"{response.status_code} {response.reason_phrase}".strip()
            raise FetchError(FetchError.E_STATUS.format(url=url, status=status), url)
        media, charset = _media_type(response)
        if media not in ACCEPTED_TYPES:
            message = FetchError.E_CONTENT_TYPE.format(url=url, content_type=media)
            raise FetchError(message, url)
        return Fetched(str(response.url), media, charset, self._body(response, url))

    def _body(self, response: httpx.Response, url: str) -> bytes:
        """The body, stopping as soon as it passes the cap (a lying Content-Length included)."""
        limit = self.options.fetch_max_bytes
        too_large = FetchError(FetchError.E_TOO_LARGE.format(url=url, limit=limit), url)
        if _declared_length(response) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)
