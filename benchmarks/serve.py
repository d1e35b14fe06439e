"""Benchmarks for `propscope serve`: load (latency under concurrency) and isolation (big vs small).

Starts `propscope serve` on 127.0.0.1 (a fresh SQLite store, a free port). Only loopback is ever
contacted; every figure lands in benchmarks/results/serve.json with the command that produced it
(each scenario under its own key, so running one keeps the other's figures).

load (default): N concurrent clients share a fixed number of requests to

  - GET  /api/documents/{id}  (read path: store lookup + JSON)
  - POST /api/analyze         (write path: ingest + analysers + store upsert)

and the p50/p95/max latency, requests/s and error count are reported.

    python benchmarks/serve.py --clients 50 --requests 1000 --analyzers stats

isolation (`--isolation`): the p95 latency of short `POST /api/analyze` requests (one client, one
after another) on an idle server, then again while one large analysis (1.5 MB of real prose
built from PTC articles in ../shared, sent as a batch job) runs; issue 13's target is a p95 with
the large analysis of at most 2x the idle one and at most 5 s. The resident memory of the server
and its worker processes is sampled before, during and after the large analysis.

    nice python benchmarks/serve.py --isolation [--large-mb 1.5] [--small-requests 20] [--analyzers a,b]
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
PTC = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptc-semeval2020-task11"
MAX_P95_RATIO = 2.0  # issue 13: small-POST p95 with a large analysis running / p95 idle
MAX_P95_S = 5.0
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


def _start(db: str, port: int, analyzers: str | None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from propscope.cli import app; app()", "serve",
               "--host", HOST, "--port", str(port), "--db", db]
    if analyzers:  # else the default pipeline, less any analyser whose model is missing
        command += ["--analyzers", analyzers]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(base: str, timeout: float = 300.0) -> None:
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


async def _run_load(base: str, token: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
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


def large_text(size: int) -> str:
    """About `size` bytes of real prose: PTC articles joined by blank lines.

    Lines that `propscope`'s text cleaner treats as a page tail ("Related posts" and the like)
    or as boilerplate are left out, or the API would (rightly) cut the text at the first one.
    """
    from propscope.ingest import _patterns as patterns

    parts: list[str] = []
    total = 0
    for folder in ("train-articles", "dev-articles", "test-articles"):
        for path in sorted((PTC / folder).glob("article*.txt")):
            lines = path.read_text(encoding="utf-8").strip().splitlines()
            kept = [line for line in lines
                    if not patterns.is_tail_marker(line) and not patterns.is_boilerplate_line(line)]
            parts.append("\n".join(kept))
            total += len(parts[-1].encode("utf-8")) + 2
            if total >= size:
                return "\n\n".join(parts)
    raise SystemExit(f"only {total:,} bytes of PTC articles under {PTC} for {size:,}")


def _processes() -> dict[int, tuple[int, int]]:
    """Every process: its parent id and resident memory in KB (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        rss = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS")), "0")
        found[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), int(rss))
    return found


def _rss_mb(pid: int) -> float:
    """Resident memory of the server and every process under it (fork server, workers), in MB."""
    table = _processes()
    family, grown = {pid}, True
    while grown:
        more = {child for child, (parent, _) in table.items() if parent in family} - family
        family |= more
        grown = bool(more)
    return round(sum(table[p][1] for p in family if p in table) / 1024, 1)


async def _small_posts(client: httpx.AsyncClient, count: int, tag: str) -> dict[str, Any]:
    """`count` short articles, one after another; latency figures."""
    latencies: list[float] = []
    errors: list[str] = []
    for n in range(count):
        began = time.perf_counter()
        response = await client.post("/api/analyze", json={"text": ARTICLE.format(n=f"{tag}-{n}")})
        latencies.append(time.perf_counter() - began)
        if response.status_code != 200:
            errors.append(f"{response.status_code} {response.text[:120]}")
    return {
        "requests": count, "errors": len(errors), "error_examples": errors[:3],
        "p50_s": round(_percentile(latencies, 0.50), 2), "p95_s": round(_percentile(latencies, 0.95), 2),
        "max_s": round(max(latencies, default=0.0), 2),
    }


async def _job_state(client: httpx.AsyncClient, link: str) -> dict[str, Any]:
    state: dict[str, Any] = (await client.get(link)).json()
    return state


async def _isolation(base: str, token: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    text = large_text(int(args.large_mb * 1_000_000))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
        (await client.post("/api/analyze", json={"text": ARTICLE.format(n="warm-up")})).raise_for_status()
        memory = {"idle_mb": _rss_mb(pid)}
        idle = await _small_posts(client, args.small_requests, "idle")
        began = time.perf_counter()
        queued = await client.post("/api/analyze", json={"documents": [{"text": text}]})
        queued.raise_for_status()
        link = queued.json()["links"]["self"]
        await asyncio.sleep(args.head_start)  # the large document is being analysed by now
        busy = await _small_posts(client, args.small_requests, "busy")
        memory["during_mb"] = _rss_mb(pid)
        print(json.dumps({"idle": idle, "busy": busy, "memory": memory}), file=sys.stderr, flush=True)
        still_running = (await _job_state(client, link))["status"] in ("queued", "running")
        state = await _job_state(client, link)
        while state["status"] in ("queued", "running") and time.perf_counter() - began < args.large_wait:
            await asyncio.sleep(5)
            memory["during_mb"] = max(memory["during_mb"], _rss_mb(pid))
            state = await _job_state(client, link)
        large_s = time.perf_counter() - began
        await asyncio.sleep(2)  # the large lane's worker is replaced after its document
        memory["after_mb"] = _rss_mb(pid)
    ratio = busy["p95_s"] / idle["p95_s"] if idle["p95_s"] else None
    return {
        "large_document": {"bytes": len(text.encode("utf-8")), "words": len(text.split()),
                           "job_status": state["status"], "errors": state.get("errors", [])[:1],
                           "seconds": round(large_s, 1),
                           "running_while_small_posts_measured": still_running},
        "small_posts_idle": idle, "small_posts_with_large_running": busy,
        "p95_ratio": round(ratio, 2) if ratio else None,
        "targets": {"p95_ratio_max": MAX_P95_RATIO, "p95_s_max": MAX_P95_S},
        "met": bool(ratio and ratio <= MAX_P95_RATIO and busy["p95_s"] <= MAX_P95_S and still_running),
        "memory_server_and_workers": memory,
    }


def _serve_and_run(args: argparse.Namespace, scenario: Any) -> tuple[dict[str, Any], int]:
    folder = Path(tempfile.mkdtemp(prefix="propscope-bench-"))
    db = f"sqlite:///{folder / 'bench.db'}"
    port = _free_port()
    token = _token(db)
    server = _start(db, port, args.analyzers)
    try:
        _wait(f"http://{HOST}:{port}")
        return asyncio.run(scenario(f"http://{HOST}:{port}", token, server.pid, args)), server.pid
    finally:
        server.terminate()
        server.wait(timeout=60)


def _write(path: Path, key: str | None, report: dict[str, Any]) -> None:
    """The load figures at the top level (as before); the isolation ones under their key."""
    existing: dict[str, Any] = {}
    if path.exists():
        existing = json.loads(path.read_text(encoding="utf-8"))
    if key is None:
        merged = {**report, **({"isolation": existing["isolation"]} if "isolation" in existing else {})}
    else:
        merged = {**existing, key: report}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000, help="GET requests in all")
    parser.add_argument("--analyze-requests", type=int, default=200, help="POST requests in all")
    parser.add_argument("--analyzers", default=None,
                        help="what /api/analyze runs (load default: stats; isolation: the default pipeline)")
    parser.add_argument("--isolation", action="store_true", help="small POSTs with and without a large one")
    parser.add_argument("--large-mb", type=float, default=1.5)
    parser.add_argument("--small-requests", type=int, default=20)
    parser.add_argument("--head-start", type=float, default=8.0,
                        help="seconds between queuing the large document and the first small POST")
    parser.add_argument("--large-wait", type=float, default=1800.0,
                        help="seconds to wait for the large analysis to finish")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.isolation and not PTC.is_dir():
        raise SystemExit(f"skipped: the PTC articles are not at {PTC} (../shared/data)")
    if not args.isolation and args.analyzers is None:
        args.analyzers = "stats"
    scenario = _isolation if args.isolation else _run_load
    results, _ = _serve_and_run(args, scenario)
    report = {
        "command": "python benchmarks/serve.py " + shlex.join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "server": {"host": HOST, "store": "sqlite (WAL)",
                   "analyzers": args.analyzers.split(",") if args.analyzers else "default",
                   "workers": "2 processes: small lane, large lane"},
    }
    if args.isolation:
        report["results"] = results
    else:
        report |= {"clients": args.clients, "results": results}
    _write(args.out, "isolation" if args.isolation else None, report)
    print(json.dumps(report, indent=2))
    measured = [results["small_posts_idle"], results["small_posts_with_large_running"]] \
        if args.isolation else list(results.values())
    failed = any(r["errors"] for r in measured)
    if failed:
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
