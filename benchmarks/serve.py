"""Load benchmark for `propscope serve`: latency percentiles and throughput under concurrency.

Starts `propscope serve` on 127.0.0.1 (a fresh SQLite store, a free port), then drives it with a
bounded asyncio + httpx loop: N concurrent clients share a fixed number of requests to

  - GET  /api/documents/{id}  (read path: store lookup + JSON)
  - POST /api/analyze         (write path: ingest + analysers + store upsert)

and writes p50/p95/max latency, requests/s and the error count to benchmarks/results/serve.json,
with the command that produced it. Only loopback is ever contacted.

    python benchmarks/serve.py --clients 50 --requests 1000 --analyzers stats
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"  # never anything else: this is a local benchmark
RESULTS = Path(__file__).parent / "results" / "serve.json"
ARTICLE = (
    "Harbour Council Under Fire\n\n"
    "Everyone knows the harbour council has failed the town again. Critics said that the new "
    "budget was written by outsiders who never cared about the fishermen. The mayor insisted the "
    "plan was fair, but residents called it a betrayal and a disgrace. Report {n}."
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _token(db: str) -> str:
    from propscope.store import Store
    from propscope.web.tokens import create_token

    with Store.open(db) as store:
        return create_token(store.engine, "analyst", "benchmark")


def _start(db: str, port: int, analyzers: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from propscope.cli import app; app()", "serve",
               "--host", HOST, "--port", str(port), "--db", db, "--analyzers", analyzers]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(base: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not start")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def _drive(client: httpx.AsyncClient, make: Any, total: int, clients: int) -> dict[str, Any]:
    """`clients` workers share `total` requests; each records latency and success."""
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(total))

    async def worker() -> None:
        for n in counter:
            began = time.perf_counter()
            try:
                response = await make(client, n)
                ok = response.status_code == 200
                if not ok:
                    errors.append(f"{response.status_code} {response.text[:120]}")
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    return {
        "requests": total, "errors": len(errors), "error_examples": errors[:3],
        "seconds": round(elapsed, 3), "requests_per_s": round(total / elapsed, 1),
        "p50_ms": round(1000 * _percentile(latencies, 0.50), 1),
        "p95_ms": round(1000 * _percentile(latencies, 0.95), 1),
        "max_ms": round(1000 * max(latencies, default=0.0), 1),
    }


async def _run(base: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=300) as client:
        seeded = await client.post("/api/analyze", json={"text": ARTICLE.format(n="seed")})
        seeded.raise_for_status()
        doc_id = seeded.json()["document"]["id"]

        async def read(c: httpx.AsyncClient, n: int) -> httpx.Response:
            return await c.get(f"/api/documents/{doc_id}")

        async def write(c: httpx.AsyncClient, n: int) -> httpx.Response:
            return await c.post("/api/analyze", json={"text": ARTICLE.format(n=n)})

        return {
            "GET /api/documents/{id}": await _drive(client, read, args.requests, args.clients),
            "POST /api/analyze": await _drive(client, write, args.analyze_requests, args.clients),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000, help="GET requests in all")
    parser.add_argument("--analyze-requests", type=int, default=200, help="POST requests in all")
    parser.add_argument("--analyzers", default="stats", help="what /api/analyze runs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="propscope-bench-"))
    db = f"sqlite:///{folder / 'bench.db'}"
    port = _free_port()
    token = _token(db)
    server = _start(db, port, args.analyzers)
    try:
        _wait(f"http://{HOST}:{port}")
        results = asyncio.run(_run(f"http://{HOST}:{port}", token, args))
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = {
        "command": "python benchmarks/serve.py " + shlex.join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "server": {"host": HOST, "store": "sqlite (WAL)", "analyzers": args.analyzers.split(","),
                   "workers": 1},
        "clients": args.clients,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    if any(r["errors"] for r in results.values()):
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
