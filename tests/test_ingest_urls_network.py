"""URL fetching over real sockets: pinned addresses (DNS rebinding), proxies, deadlines.

Every connection is to 127.0.0.1 (or 127.0.0.2, where nothing listens). Addresses that look
public are never really connected to: the `network` backend under test records each address the
fetcher connects to, reroutes the ones a test names to a loopback server, and refuses the rest.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from conftest import ARTICLE_HTML as HTML
from typer.testing import CliRunner

from propscope.config import IngestOptions
from propscope.errors import FetchError
from propscope.ingest import load
from propscope.ingest.urls import Fetcher

PUBLIC = "93.184.216.34"  # the issue's address; never connected to for real
SECRET = b"<html><head><title>Loopback Secret</title></head><body><p>" + b"secret " * 40 + b"</p>"
Handler = http.server.BaseHTTPRequestHandler
Route = Callable[[Handler], None]


def send(
    handler: Handler, body: bytes = HTML, status: int = 200, headers: dict[str, str] | None = None
) -> None:
    handler.send_response(status)
    for name, value in {"Content-Type": "text/html; charset=utf-8", **(headers or {})}.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@dataclass
class Server:
    port: int
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header) of each request
    httpd: http.server.ThreadingHTTPServer | None = None

    def tls(self, context: ssl.SSLContext) -> None:
        """Serve HTTPS from now on (each accepted connection does its handshake in its thread)."""
        assert self.httpd is not None
        wrap = context.wrap_socket
        self.httpd.socket = wrap(self.httpd.socket, server_side=True, do_handshake_on_connect=False)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def serve() -> Iterator[Callable[[Route], Server]]:
    """Factory: a real HTTP server on 127.0.0.1 answering every GET with `route(handler)`."""
    running: list[http.server.ThreadingHTTPServer] = []

    def start(route: Route) -> Server:
        record: list[tuple[str, str]] = []

        class Serve(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                record.append((self.path, self.headers.get("Host", "")))
                route(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
        return Server(server.server_address[1], record, server)

    yield start
    for server in running:
        server.shutdown()
        server.server_close()


class Network(httpcore.SyncBackend):
    """Records the address of every connection; `routes` reroutes addresses, others must be loopback."""

    def __init__(self, routes: dict[str, str] | None = None) -> None:
        self.routes = routes or {}
        self.connected: list[str] = []
        self.timeouts: list[float | None] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        self.connected.append(host)
        self.timeouts.append(timeout)
        target = self.routes.get(host, host)
        if not ipaddress.ip_address(target).is_loopback:
            raise httpcore.ConnectError(f"test network: {host} is not reachable from tests")
        return super().connect_tcp(target, port, timeout, local_address, socket_options)


def answers(*rounds: list[str]) -> Callable[[str, int], list[str]]:
    """A resolver that gives `rounds[0]`, then `rounds[1]`, …, then the last one forever."""
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return rounds[min(len(calls), len(rounds)) - 1]

    return resolve


def fetcher(options: IngestOptions, resolve: Any, network: Network) -> Fetcher:
    return Fetcher(options, resolve=resolve, network=network)


# D1: the connection goes to exactly the vetted address, on every hop.


@pytest.mark.parametrize("path", ["/secret"])
def test_issue_reproduction_does_not_reach_loopback(
    serve: Callable[[Route], Server], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The issue's line, unchanged; httpcore's socket opener is patched so nothing leaves the host."""
    server = serve(lambda h: send(h, SECRET))
    opened: list[str] = []
    real_connect = httpcore.SyncBackend.connect_tcp

    def guarded(self: httpcore.SyncBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        opened.append(host)
        if host not in ("localhost", "127.0.0.1"):
            raise httpcore.ConnectError(f"test network: {host} is not reachable from tests")
        return real_connect(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", guarded)
    with pytest.raises(FetchError, match=r"^E022 .*not reachable from tests"):
        Fetcher(IngestOptions(), resolve=lambda h, p: [PUBLIC]).fetch(f"http://localhost:{server.port}{path}")
    assert opened == [PUBLIC] and server.seen == []


@pytest.mark.parametrize("name", ["localhost", "rebind.test"])
def test_resolver_that_changes_its_answer_cannot_reach_loopback(
    serve: Callable[[Route], Server], name: str
) -> None:
    server = serve(lambda h: send(h, SECRET))
    network = Network()
    resolve = answers([PUBLIC], ["127.0.0.1"])
    with pytest.raises(FetchError, match=r"^E022 .*not reachable from tests"):
        fetcher(IngestOptions(), resolve, network).fetch(server.url("/secret", name))
    assert network.connected == [PUBLIC] and server.seen == []


def test_rebinding_between_redirect_hops_is_refused(serve: Callable[[Route], Server]) -> None:
    """Hop 1 reaches the 'public' server; the same name then answers 127.0.0.1: refused, E021."""
    server = serve(lambda h: send(h, b"", 302, {"Location": f"http://news.test:{port}/secret"}))
    port = server.port
    network = Network({PUBLIC: "127.0.0.1"})
    resolve = answers([PUBLIC], ["127.0.0.1"])
    with pytest.raises(FetchError, match=r"^E021 .*news.test resolves to a private.*\(127.0.0.1\)"):
        fetcher(IngestOptions(), resolve, network).fetch(server.url("/start", "news.test"))
    assert [path for path, _ in server.seen] == ["/start"]


def test_host_header_keeps_the_name_while_the_socket_goes_to_the_vetted_address(
    serve: Callable[[Route], Server],
) -> None:
    server = serve(lambda h: send(h))
    network = Network({PUBLIC: "127.0.0.1"})
    fetched = fetcher(IngestOptions(), answers([PUBLIC]), network).fetch(server.url("/story", "news.test"))
    assert fetched.body == HTML and fetched.url == server.url("/story", "news.test")
    assert network.connected == [PUBLIC]
    assert server.seen == [("/story", f"news.test:{server.port}")]


def test_allowed_private_address_is_the_one_connected_to(serve: Callable[[Route], Server]) -> None:
    """With --allow-private-urls the resolver's 127.0.0.2 is used, not the name's own 127.0.0.1."""
    server = serve(lambda h: send(h, SECRET))
    network = Network()
    options = IngestOptions(allow_private_urls=True)
    with pytest.raises(FetchError, match=r"^E022 "):
        fetcher(options, answers(["127.0.0.2"]), network).fetch(server.url("/secret", "localhost"))
    assert network.connected == ["127.0.0.2"] and server.seen == []


def test_each_redirect_hop_connects_to_its_own_vetted_address(serve: Callable[[Route], Server]) -> None:
    server = serve(lambda h: send(h, b"", 302, {"Location": f"http://other.test:{port}/final"}))
    port = server.port
    network = Network()
    resolve = {"first.test": ["127.0.0.1"], "other.test": ["127.0.0.2"]}
    options = IngestOptions(allow_private_urls=True)
    with pytest.raises(FetchError, match=r"^E022 "):
        fetcher(options, lambda h, p: resolve[h], network).fetch(server.url("/start", "first.test"))
    assert network.connected == ["127.0.0.1", "127.0.0.2"]
    assert [path for path, _ in server.seen] == ["/start"]


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_environment_proxies_are_not_used(
    serve: Callable[[Route], Server], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """A proxy would resolve the name itself, after the check: HTTP_PROXY & co. are ignored."""
    proxy = serve(lambda h: send(h, SECRET))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, proxy.url(""))
    network = Network()
    options = IngestOptions(allow_private_urls=True)
    with pytest.raises(FetchError, match=r"^E022 "):
        fetcher(options, answers(["127.0.0.2"]), network).fetch("http://news.test:9/secret")
    assert network.connected == ["127.0.0.2"] and proxy.seen == []


def self_signed(folder: Path, name: str) -> Path:
    """A PEM file holding a key and a self-signed certificate for DNS name `name` only (no IP)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{name}.pem"
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(key_pem + cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.mark.parametrize(("cert_name", "ok"), [("news.test", True), ("other.test", False)])
def test_tls_verifies_the_host_name_over_the_pinned_address(
    serve: Callable[[Route], Server],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    cert_name: str,
    ok: bool,
) -> None:
    """SNI and certificate checks use the URL's name, though the socket goes to the vetted IP."""
    pem = self_signed(tmp_path, cert_name)
    server = serve(lambda h: send(h))
    sni: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    context.sni_callback = lambda sock, name, ctx: sni.append(name)
    server.tls(context)
    monkeypatch.setattr(httpx, "create_ssl_context", lambda: ssl.create_default_context(cafile=str(pem)))
    network = Network({PUBLIC: "127.0.0.1"})
    fetch = fetcher(IngestOptions(), answers([PUBLIC]), network).fetch
    url = f"https://news.test:{server.port}/story"
    if ok:
        assert fetch(url).body == HTML
    else:
        with pytest.raises(FetchError, match=r"^E022 .*CERTIFICATE_VERIFY_FAILED"):
            fetch(url)
    assert network.connected == [PUBLIC] and sni == ["news.test"]


# D11: link-local and cloud metadata addresses need their own option.


def metadata_page(handler: Handler) -> None:
    send(handler, b"", 302, {"Location": "http://169.254.169.254/latest/meta-data/"})


def test_redirect_to_metadata_is_refused_even_with_allow_private(serve: Callable[[Route], Server]) -> None:
    server = serve(metadata_page)
    network = Network()
    options = IngestOptions(allow_private_urls=True)
    with pytest.raises(FetchError, match=r"^E028 .*\(169.254.169.254\).*--allow-link-local-urls"):
        fetcher(options, answers(["127.0.0.1"]), network).fetch(server.url("/start"))
    assert network.connected == ["127.0.0.1"]


def test_redirect_to_metadata_is_followed_with_allow_link_local(serve: Callable[[Route], Server]) -> None:
    server = serve(metadata_page)
    network = Network()
    options = IngestOptions(allow_private_urls=True, allow_link_local_urls=True)
    with pytest.raises(FetchError, match=r"^E022 .*169.254.169.254 is not reachable from tests"):
        fetcher(options, answers(["127.0.0.1"]), network).fetch(server.url("/start"))
    assert network.connected == ["127.0.0.1", "169.254.169.254"]


def test_cli_wires_the_link_local_option(serve: Callable[[Route], Server]) -> None:
    server = serve(metadata_page)
    args = ["analyze", server.url("/start"), "--no-store", "--analyzers", "stats", "--allow-private-urls"]
    from propscope.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "E028" in result.output
    assert [path for path, _ in server.seen] == ["/start"]


@pytest.mark.parametrize("path", ["/start"])
def test_cli_wires_allow_link_local_urls(
    serve: Callable[[Route], Server], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    from propscope.cli import app

    server = serve(metadata_page)
    opened: list[str] = []
    real_connect = httpcore.SyncBackend.connect_tcp

    def connect(self: httpcore.SyncBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        opened.append(host)
        if host != "127.0.0.1":
            raise httpcore.ConnectError(f"test network: {host} is not reachable from tests")
        return real_connect(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect)
    flags = ["--allow-private-urls", "--allow-link-local-urls"]
    args = ["analyze", server.url(path), "--no-store", "--analyzers", "stats", *flags]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "E022" in result.output, result.output
    assert opened == ["127.0.0.1", "169.254.169.254"]


@pytest.mark.parametrize(
    ("value", "code", "message"), [("1", 1, "E029"), ("0", 2, "E405"), ("nan", 2, "E405")]
)
def test_cli_wires_fetch_deadline(
    serve: Callable[[Route], Server], value: str, code: int, message: str
) -> None:
    from propscope.cli import app

    server = serve(drip_body)
    flags = ["--allow-private-urls", "--fetch-deadline", value]
    args = ["analyze", server.url("/drip"), "--no-store", "--analyzers", "stats", *flags]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code and message in result.output, result.output


def test_cli_help_says_what_each_flag_opens() -> None:
    from propscope.cli import app

    result = CliRunner().invoke(app, ["analyze", "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    text = " ".join(result.output.split())
    assert "--allow-link-local-urls" in text and "--fetch-deadline" in text
    assert "Link-local and cloud-metadata addresses stay refused" in text
    assert "169.254.169.254" in text


# D13: one deadline for the whole fetch.


def drip_body(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    drip(handler, b"x" * 100)


def drip_headers(handler: Handler) -> None:
    drip(handler, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"y" * 60 + b"\r\n\r\n")


def drip(handler: Handler, data: bytes) -> None:
    """Two bytes every 0.1 s: each read is quick, the whole is not (bounded: 5 s at most)."""
    for start in range(0, len(data), 2):
        try:
            handler.wfile.write(data[start : start + 2])
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(0.1)


def slow_redirects(handler: Handler) -> None:
    hop = int(handler.path.rsplit("/", 1)[1])
    time.sleep(0.4)
    if hop < 4:
        send(handler, b"", 302, {"Location": f"/hop/{hop + 1}"})
    else:
        send(handler)


@pytest.mark.parametrize("route", [drip_body, drip_headers, slow_redirects])
def test_deadline_bounds_the_whole_fetch(serve: Callable[[Route], Server], route: Route) -> None:
    server = serve(route)
    options = IngestOptions(allow_private_urls=True, fetch_deadline=1)
    with pytest.raises(FetchError, match=r"^E029 .*within the 1 s fetch deadline.*--fetch-deadline"):
        load(server.url("/hop/0"), options)


def test_deadline_bounds_the_connect_timeout() -> None:
    class Silent(Network):
        def connect_tcp(self, host: str, port: int, timeout: float | None = None, *a: Any, **k: Any) -> Any:
            self.timeouts.append(timeout)
            raise httpcore.ConnectTimeout("no answer")

    network = Silent()
    options = IngestOptions(fetch_deadline=2, fetch_timeout=20)
    with pytest.raises(FetchError, match=r"^E029 .*2 s fetch deadline"):
        fetcher(options, answers([PUBLIC]), network).fetch("http://news.test/")
    assert network.timeouts and all(t is not None and t <= 2 for t in network.timeouts)


def test_deadline_bounds_name_resolution() -> None:
    release = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        release.wait(10)
        return [PUBLIC]

    try:
        with pytest.raises(FetchError, match=r"^E029 .*0.5 s fetch deadline"):
            fetcher(IngestOptions(fetch_deadline=0.5), hanging, Network()).fetch("http://news.test/")
    finally:
        release.set()


def test_deadline_applies_to_a_given_client_between_chunks() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                time.sleep(0.05)
                yield b"<p>words</p>"

        return httpx.Response(200, content=chunks(), headers={"content-type": "text/html"})

    client = httpx.Client(transport=httpx.MockTransport(slow))
    options = IngestOptions(fetch_deadline=0.5)
    with client, pytest.raises(FetchError, match=r"^E029 "):
        Fetcher(options, client, resolve=lambda h, p: [PUBLIC]).fetch("https://news.example/a")


def test_per_read_timeout_keeps_its_own_message(serve: Callable[[Route], Server]) -> None:
    """A server silent for longer than fetch_timeout, well inside the deadline: E022, not E029."""
    server = serve(lambda h: time.sleep(2))
    options = IngestOptions(allow_private_urls=True, fetch_timeout=0.3, fetch_deadline=30)
    with pytest.raises(FetchError, match=r"^E022 .*no answer within 0.3 s"):
        load(server.url("/silent"), options)


# Siblings: the web API's {"url"} goes through the same fetcher.


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_api_url_is_fetched_from_the_vetted_address(
    serve: Callable[[Route], Server], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """POST /api/analyze {"url"}: 'localhost' answers a public address to the check, and the
    connection must go there (refused by the test network), not to the loopback listener."""
    import socket

    from _web import make_app

    from propscope.web.tokens import create_token

    server = serve(lambda h: send(h, SECRET))
    real_getaddrinfo, real_connect = socket.getaddrinfo, httpcore.SyncBackend.connect_tcp
    opened: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "localhost":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def connect(self: httpcore.SyncBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        opened.append(host)
        if host not in ("localhost", "127.0.0.1"):
            raise httpcore.ConnectError(f"test network: {host} is not reachable from tests")
        return real_connect(self, "127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect)
    app = make_app(tmp_path)
    try:
        token = create_token(app.state.bench.store.engine, "analyst")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            url = f"http://localhost:{server.port}/secret"
            response = await client.post(
                "/api/analyze", json={"url": url}, headers={"Authorization": f"Bearer {token}"}
            )
    finally:
        app.state.bench.close()
    assert response.status_code == 422 and response.json()["error"]["code"] == "E022"
    assert "Loopback Secret" not in response.text
    assert opened == [PUBLIC] and server.seen == []
