"""Fetching articles over HTTP(S) with httpx, safely.

Every hop of a redirect chain is checked before it is requested: http/https only, and every
address the host resolves to must be allowed (`refusal`): public, or private with
--allow-private-urls, or link-local / cloud metadata with --allow-link-local-urls. The check's
addresses are the ones connected to (`pinning`): the name is resolved once per hop, so a DNS
answer that changes between check and connect (rebinding) gains nothing. Environment proxies
are ignored for the same reason. A fetch has an overall deadline across all of that; responses
are streamed and cut at `fetch_max_bytes`, and only web pages, plain text and feeds are accepted.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import httpcore
import httpx

from propscope.config import IngestOptions
from propscope.errors import FetchError
from propscope.ingest import pinning
from propscope.ingest.pinning import FetchDeadline, PinnedTransport

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints: a fetch of one from a cloud host can return the machine's credentials.
# The link-local ones (169.254.169.254 for AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle;
# 169.254.170.2 for AWS ECS) are refused as link-local anyway; the others sit in ranges that
# --allow-private-urls opens (or, for Azure's wire server, in public space), so they are named.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",  # AWS DNS resolver over IPv6
        "fd20:ce::254",  # Google Cloud metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud Classic
        "168.63.129.16",  # Azure wire server
    )
)
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
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


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, IPv4-compatible), if any.

    Each of these can reach the IPv4 address it embeds, so it is judged as that address.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in NAT64_PREFIX or (ip in IPV4_COMPATIBLE and int(ip) > 1):  # not :: and ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _ip(address: str) -> IPAddress:
    return ipaddress.ip_address(address.split("%", 1)[0])  # a scope id (fe80::1%eth0) is no part


def is_public(address: str) -> bool:
    """False for private, loopback, link-local, cloud-metadata, reserved, multicast and unspecified
    addresses, also when carried inside an IPv6 one."""
    ip = _ip(address)
    ip = _embedded_ipv4(ip) or ip
    flags = (ip.is_private, ip.is_loopback, ip.is_link_local, ip.is_reserved, ip.is_multicast)
    return ip.is_global and not any(flags) and not ip.is_unspecified and not is_link_local(address)


def is_link_local(address: str) -> bool:
    """True for link-local addresses and the well-known cloud metadata ones (`METADATA_ADDRESSES`)."""
    ip = _ip(address)
    forms = [ip, *filter(None, [_embedded_ipv4(ip)])]
    return any(form.is_link_local or form in METADATA_ADDRESSES for form in forms)


def refusal(address: str, options: IngestOptions) -> str | None:
    """The error template that refuses `address` under `options` (E021, E028), or None if allowed.

    Three tiers, each opened on its own: public addresses always; private ones (loopback, RFC
    1918, CGNAT, unique-local…) with allow_private_urls; link-local and cloud metadata only with
    allow_link_local_urls, because on a cloud host they hand out the machine's credentials.
    """
    if is_link_local(address):
        return None if options.allow_link_local_urls else FetchError.E_LINK_LOCAL
    if is_public(address):
        return None
    return None if options.allow_private_urls else FetchError.E_PRIVATE


def _literal(host: str) -> list[str]:
    """[host] when the host is an IP address itself: nothing to resolve (or to spoof)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return []


def _resolve_within(resolve: Resolver, host: str, port: int, seconds: float) -> list[str]:
    """resolve(host, port), given up on after `seconds`: getaddrinfo has no timeout of its own."""
    box: list[list[str] | Exception] = []

    def run() -> None:
        try:
            box.append(resolve(host, port))
        except Exception as exc:
            box.append(exc)

    thread = threading.Thread(target=run, name=f"propscope-resolve-{host}", daemon=True)
    thread.start()
    thread.join(max(seconds, 0) if math.isfinite(seconds) else None)
    if not box:
        raise FetchDeadline()
    if isinstance(box[0], Exception):
        raise box[0]
    return box[0]


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


def _within_deadline() -> None:
    """Raise FetchDeadline when the current fetch is out of time."""
    state = pinning.current()
    if state is not None and state.remaining() <= 0:
        raise FetchDeadline()


def _hop_timeout(options: IngestOptions) -> float:
    """The per-read timeout of one hop: fetch_timeout, or what is left of the deadline if less."""
    _within_deadline()
    state = pinning.current()
    left = state.remaining() if state else options.fetch_timeout
    return min(options.fetch_timeout, left)


class Fetcher:
    """Fetches URLs under the rules of an IngestOptions; give it an httpx.Client to test.

    Args:
        options: timeouts, deadline, size cap, redirect limit and the address policy.
        client: an httpx.Client (e.g. over httpx.MockTransport); one is made and closed when
            not given. Only the default client connects to the vetted addresses and enforces
            the deadline inside each read; a client given here is trusted to do its own.
        resolve: host-to-addresses lookup, replaceable so tests never touch DNS.
        network: the httpcore backend that opens the sockets of the default client, to the
            vetted IP addresses only (default: httpcore.SyncBackend()); tests reroute it.
    """

    def __init__(
        self,
        options: IngestOptions | None = None,
        client: httpx.Client | None = None,
        resolve: Resolver = resolve_host,
        network: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.options = options or IngestOptions()
        if not self.options.fetch_deadline > 0:  # also NaN, which no comparison would stop later
            raise ValueError(f"fetch_deadline must be seconds above 0, not {self.options.fetch_deadline!r}")
        self._client = client
        self._owns_client = client is None
        self._resolve = resolve
        self._network = network

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            # trust_env=False: an HTTP(S)_PROXY/ALL_PROXY proxy would resolve the name itself,
            # after our check, so no proxy from the environment (nor .netrc) is ever used.
            self._client = httpx.Client(
                transport=PinnedTransport(self._network),
                timeout=self.options.fetch_timeout,
                headers={"User-Agent": USER_AGENT},
                trust_env=False,
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
        """The parsed URL, if propscope may request it (E020, E021, E022, E026, E028 otherwise).

        Within a fetch, the vetted addresses are pinned: the connection goes to them and only them.
        """
        parsed = _parse(url)
        name = original or url
        host = parsed.raw_host.decode("ascii")  # the form that would be connected to (IDNA)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = self._addresses(host, port, name)
        for address in addresses:
            if template := refusal(address, self.options):
                raise FetchError(template.format(url=name, host=parsed.host, address=address), name)
        if state := pinning.current():
            state.pin(host, port, addresses)
        return parsed

    def _addresses(self, host: str, port: int, name: str) -> list[str]:
        """Every address of `host`, resolved once (within what is left of the deadline)."""
        if literal := _literal(host.strip("[]")):
            return literal
        state = pinning.current()
        try:
            if state is None:
                addresses = self._resolve(host, port)
            else:
                addresses = _resolve_within(self._resolve, host, port, state.remaining())
        except OSError as exc:
            reason = f"cannot resolve {host}: {exc}"
            raise FetchError(FetchError.E_UNREACHABLE.format(url=name, reason=reason), name) from exc
        if not addresses:
            reason = f"cannot resolve {host}: no address"
            raise FetchError(FetchError.E_UNREACHABLE.format(url=name, reason=reason), name)
        return addresses

    def fetch(self, url: str) -> Fetched:
        """GET `url`, following at most `fetch_max_redirects` redirects, each one re-checked.

        Args:
            url: an http or https URL.

        Returns:
            The body (at most `fetch_max_bytes`), its media type and the final URL, all within
            `fetch_deadline` seconds (E029 otherwise).
        """
        with pinning.fetching(self.options.fetch_deadline) as state:
            try:
                return self._follow(url)
            except FetchDeadline as exc:
                raise self._deadline_error(url) from exc
            except httpx.TimeoutException as exc:
                if state.remaining() <= 0:
                    raise self._deadline_error(url) from exc
                reason = f"no answer within {self.options.fetch_timeout:g} s"
                raise FetchError(FetchError.E_UNREACHABLE.format(url=url, reason=reason), url) from exc
            except httpx.HTTPError as exc:
                reason = str(exc) or type(exc).__name__
                raise FetchError(FetchError.E_UNREACHABLE.format(url=url, reason=reason), url) from exc

    def _deadline_error(self, url: str) -> FetchError:
        message = FetchError.E_DEADLINE.format(url=url, deadline=self.options.fetch_deadline)
        return FetchError(message, url)

    def _follow(self, url: str) -> Fetched:
        current = url
        for _ in range(self.options.fetch_max_redirects + 1):
            target = self.check(current, original=url)
            timeout = _hop_timeout(self.options)
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
            _within_deadline()  # also for a given client, whose reads do not watch it
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)
