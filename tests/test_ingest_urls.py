"""URL ingestion: safe fetching (schemes, address tiers, redirects, size, type, timeouts).

All tests use httpx.MockTransport and a stub resolver, except two that start a real HTTP
server on 127.0.0.1 to prove loopback is refused by default and fetched when allowed. Pinned
connections, proxies and deadlines over real sockets are in test_ingest_urls_network.py.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ARTICLE_HTML as HTML

from propscope.config import IngestOptions
from propscope.errors import FetchError, IngestError
from propscope.ingest import IngestFailure, iter_documents, load
from propscope.ingest.urls import Fetcher, is_public

Handler = Callable[[httpx.Request], httpx.Response]
URL = "https://news.example/story"


def page(body: bytes = HTML, content_type: str = "text/html; charset=utf-8") -> Handler:
    return lambda request: httpx.Response(200, content=body, headers={"content-type": content_type})


def test_fetches_html_page(mock_fetcher: Any) -> None:
    doc = load(URL, fetcher=mock_fetcher(page()))
    assert doc.title == "Council Approves New Harbour Budget"
    assert doc.url == URL and doc.source == URL
    assert doc.text.startswith("The town council approved")


def test_fetches_plain_text(mock_fetcher: Any, ingest_data: Path) -> None:
    body = (ingest_data / "second.txt").read_bytes()
    doc = load(URL, fetcher=mock_fetcher(page(body, "text/plain; charset=utf-8")))
    assert doc.title == "Orchard Growers Count the Cost of a Late Frost"


def test_fetches_feed(mock_fetcher: Any, ingest_data: Path) -> None:
    body = (ingest_data / "feed.rss").read_bytes()
    fetcher = mock_fetcher(page(body, "application/rss+xml"))
    items = list(iter_documents([URL], fetcher=fetcher))
    assert [type(i).__name__ for i in items] == ["Document", "Document", "IngestFailure"]


@pytest.mark.parametrize(
    ("url", "pattern"),
    [
        ("ftp://news.example/a", r"^E020 ftp://news.example/a: only http and https"),
        ("file:///etc/passwd", r"^E020 file:///etc/passwd: only http and https"),
        ("http://", r"^E026 http://: not a valid URL"),
        ("https://news.example:abc/", r"^E026 .*Invalid port"),
    ],
)
def test_bad_urls_are_refused(mock_fetcher: Any, url: str, pattern: str) -> None:
    with pytest.raises(FetchError, match=pattern):
        load(url, fetcher=mock_fetcher(page()))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "::1",
        "fc00::1",
        "0.0.0.0",
        "224.0.0.1",
        "100.64.0.1",
        "::ffff:127.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    ],
)
def test_private_addresses_are_refused(mock_fetcher: Any, address: str) -> None:
    fetcher = mock_fetcher(page(), addresses=[address])
    with pytest.raises(FetchError, match=r"^E021 .*resolves to a private.*--allow-private-urls"):
        load(URL, fetcher=fetcher)


def test_one_private_address_among_public_ones_is_refused(mock_fetcher: Any) -> None:
    fetcher = mock_fetcher(page(), addresses=["93.184.215.14", "10.0.0.1"])
    with pytest.raises(FetchError, match=r"^E021"):
        load(URL, fetcher=fetcher)


def test_allow_private_urls_opens_private_addresses(mock_fetcher: Any) -> None:
    options = IngestOptions(allow_private_urls=True)
    doc = load("http://10.0.0.5/a", options, fetcher=mock_fetcher(page(), options, ["10.0.0.5"]))
    assert doc.url == "http://10.0.0.5/a"


def test_public_addresses_pass() -> None:
    assert is_public("93.184.215.14") and is_public("2606:4700::1111")
    assert is_public("64:ff9b::5db8:d822")  # NAT64 of a public address (IPv6-only networks)


LINK_LOCAL = [
    "169.254.169.254",
    "169.254.1.1",
    "169.254.170.2",
    "fe80::1",
    "fe80::1%eth0",
    "fd00:ec2::254",
    "fd20:ce::254",
    "100.100.100.200",
    "192.0.0.192",
    "168.63.129.16",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::",
]


@pytest.mark.parametrize("address", LINK_LOCAL)
@pytest.mark.parametrize("allow_private", [False, True])
def test_link_local_and_metadata_need_their_own_option(
    mock_fetcher: Any, address: str, allow_private: bool
) -> None:
    options = IngestOptions(allow_private_urls=allow_private)
    fetcher = mock_fetcher(page(), options, [address])
    with pytest.raises(FetchError, match=r"^E028 .*link-local or cloud-metadata.*--allow-link-local-urls"):
        load(URL, options, fetcher=fetcher)


@pytest.mark.parametrize("address", LINK_LOCAL)
def test_allow_link_local_urls_opens_them(mock_fetcher: Any, address: str) -> None:
    options = IngestOptions(allow_link_local_urls=True)
    assert load(URL, options, fetcher=mock_fetcher(page(), options, [address])).url == URL


@pytest.mark.parametrize("address", ["10.0.0.5", "127.0.0.1"])
def test_allow_link_local_urls_does_not_open_private_ones(mock_fetcher: Any, address: str) -> None:
    options = IngestOptions(allow_link_local_urls=True)
    with pytest.raises(FetchError, match=r"^E021 "):
        load(URL, options, fetcher=mock_fetcher(page(), options, [address]))


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/"])
def test_redirect_to_metadata_is_refused_with_allow_private(mock_fetcher: Any, target: str) -> None:
    options = IngestOptions(allow_private_urls=True)
    handler = redirects({URL: target})
    with pytest.raises(FetchError, match=r"^E028 https://news.example/story: refused"):
        load(URL, options, fetcher=mock_fetcher(handler, options, ["10.0.0.5"]))


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_name_without_addresses_is_refused(mock_fetcher: Any, allow_private: bool) -> None:
    options = IngestOptions(allow_private_urls=allow_private)
    with pytest.raises(FetchError, match=r"^E022 .*cannot resolve news.example: no address"):
        load(URL, options, fetcher=mock_fetcher(page(), options, []))


def redirects(chain: dict[str, str]) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        target = chain.get(str(request.url))
        if target:
            return httpx.Response(302, headers={"location": target})
        return page()(request)

    return handle


def test_redirects_are_followed(mock_fetcher: Any) -> None:
    chain = {URL: "/moved", "https://news.example/moved": "https://other.example/final"}
    doc = load(URL, fetcher=mock_fetcher(redirects(chain)))
    assert doc.url == "https://other.example/final"


def test_redirect_to_private_host_is_refused(mock_fetcher: Any) -> None:
    handler = redirects({URL: "http://127.0.0.1:8080/admin"})
    with pytest.raises(FetchError, match=r"^E021 https://news.example/story: refused, 127.0.0.1"):
        load(URL, fetcher=mock_fetcher(handler, addresses=["93.184.215.14"]))


def test_redirect_to_other_scheme_is_refused(mock_fetcher: Any) -> None:
    with pytest.raises(FetchError, match=r"^E020 "):
        load(URL, fetcher=mock_fetcher(redirects({URL: "file:///etc/passwd"})))


def test_redirect_limit(mock_fetcher: Any) -> None:
    loop = {URL: "https://news.example/b", "https://news.example/b": URL}
    options = IngestOptions(fetch_max_redirects=3)
    with pytest.raises(FetchError, match=r"^E025 .*more than 3 redirects"):
        load(URL, options, fetcher=mock_fetcher(redirects(loop), options))


@pytest.mark.parametrize(
    ("handler", "pattern"),
    [
        (lambda r: httpx.Response(404), r"^E023 .*HTTP 404"),
        (lambda r: httpx.Response(503), r"^E023 .*HTTP 503"),
        (page(b"\x89PNG", "image/png"), r"^E024 .*'image/png' is not a web page"),
        (page(b"%PDF-1.4", "application/pdf"), r"^E024 "),
    ],
)
def test_bad_responses_are_refused(mock_fetcher: Any, handler: Handler, pattern: str) -> None:
    with pytest.raises(FetchError, match=pattern):
        load(URL, fetcher=mock_fetcher(handler))


def test_declared_size_over_cap_is_refused(mock_fetcher: Any) -> None:
    options = IngestOptions(fetch_max_bytes=100)
    with pytest.raises(FetchError, match=r"^E027 .*100-byte fetch limit"):
        load(URL, options, fetcher=mock_fetcher(page(), options))


def test_streamed_size_over_cap_is_cut(mock_fetcher: Any) -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        chunks = (b"<p>more words</p>" * 100 for _ in range(10_000))
        return httpx.Response(200, content=chunks, headers={"content-type": "text/html"})

    options = IngestOptions(fetch_max_bytes=10_000)
    with pytest.raises(FetchError, match=r"^E027 "):
        load(URL, options, fetcher=mock_fetcher(endless, options))


@pytest.mark.parametrize(
    ("error", "pattern"),
    [
        (httpx.ConnectTimeout("slow"), r"^E022 .*no answer within 20 s"),
        (httpx.ConnectError("connection refused"), r"^E022 .*connection refused"),
    ],
)
def test_network_errors_are_fetch_errors(mock_fetcher: Any, error: Exception, pattern: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(FetchError, match=pattern):
        load(URL, fetcher=mock_fetcher(fail))


def test_unresolvable_host_is_e022() -> None:
    def resolve(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    fetcher = Fetcher(IngestOptions(), httpx.Client(transport=httpx.MockTransport(page())), resolve)
    with pytest.raises(FetchError, match=r"^E022 .*cannot resolve news.example"):
        load(URL, fetcher=fetcher)


def test_fetch_failure_does_not_stop_a_batch(mock_fetcher: Any, ingest_data: Path) -> None:
    fetcher = mock_fetcher(lambda r: httpx.Response(500))
    items = list(iter_documents([URL, str(ingest_data / "second.txt")], fetcher=fetcher))
    assert isinstance(items[0], IngestFailure) and items[0].code == "E023"
    assert items[0].source == URL
    assert items[1].title == "Orchard Growers Count the Cost of a Late Frost"  # type: ignore[union-attr]


@pytest.fixture
def local_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving one article page."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(HTML)))
            self.end_headers()
            self.wfile.write(HTML)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/story"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_real_loopback_server_is_refused_by_default(local_server: str) -> None:
    with pytest.raises(FetchError, match=r"^E021 http://127.0.0.1:\d+/story: refused"):
        load(local_server)


def test_real_loopback_server_is_fetched_when_allowed(local_server: str) -> None:
    doc = load(local_server, IngestOptions(allow_private_urls=True, fetch_timeout=5))
    assert doc.title == "Council Approves New Harbour Budget"
    assert doc.url == local_server


@pytest.mark.parametrize("deadline", [0, -1, float("nan")])
def test_nonsense_deadline_is_refused(deadline: float) -> None:
    with pytest.raises(ValueError, match="fetch_deadline must be seconds above 0"):
        Fetcher(IngestOptions(fetch_deadline=deadline))


def test_fetch_error_is_an_ingest_error() -> None:
    assert issubclass(FetchError, IngestError)
