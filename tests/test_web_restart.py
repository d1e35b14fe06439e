"""A real `propscope serve`, killed (SIGKILL) in the middle of a batch job, then started again.

Before issue 13 jobs lived in the server's memory: after a restart `GET /api/jobs/ID` answered
404 and the articles not yet analysed were lost. Now the restarted server resumes the job from
the store and finishes it, and the killed server's worker processes do not outlive it.
Only 127.0.0.1 is contacted; every wait is bounded.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _workers
import httpx
import pytest

from propscope.store import Store
from propscope.web.tokens import create_token

HOST = "127.0.0.1"
TESTS = Path(__file__).parent
WAIT_S = 180.0  # server start-up, worker spawn and the job itself, on a loaded 2-core machine
SERVER = (
    f"import sys; sys.path.insert(0, {str(TESTS)!r}); import _workers; _workers.register(); "
    "from propscope.cli import app; app()"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        try:
            if found := check():
                return found
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    """`propscope serve` on a free loopback port, with the probe analyser registered."""

    def __init__(self, db: str, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://{HOST}:{self.port}"
        command = [sys.executable, "-c", SERVER, "serve", "--host", HOST, "--port", str(self.port),
                   "--db", db, "--analyzers", f"stats,{_workers.NAME}"]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=out)
        _until(lambda: httpx.get(self.base + "/api/health", timeout=5).status_code == 200,
               "the server to answer")

    def descendants(self) -> list[int]:
        """Processes under this server: the fork server and the analysis workers."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError):
                    continue
        family = {self.process.pid}
        while more := {pid for pid, parent in parents.items() if parent in family} - family:
            family |= more
        return sorted(family - {self.process.pid})

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker processes through /proc")
def test_a_job_survives_the_server_being_killed(tmp_path: Path, servers: list[Server]) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    with Store.open(db) as store:
        token = create_token(store.engine, "analyst", "restart test")
    headers = {"Authorization": f"Bearer {token}"}
    gate = tmp_path / "release"
    articles = [{"text": f"Short article number {n} about the harbour council."} for n in range(6)]
    articles.insert(4, {"text": _workers.gated(gate, words=5_000)})  # long: the large lane holds it

    first = Server(db, tmp_path / "serve.log")
    servers.append(first)
    answer = httpx.post(first.base + "/api/analyze", json={"documents": articles}, headers=headers)
    assert answer.status_code == 202, answer.text
    link = answer.json()["links"]["self"]
    _until(lambda: httpx.get(first.base + link).json()["done"] == 6, "the six short articles")
    workers = first.descendants()
    assert len(workers) >= 3, "the server analyses in worker processes"  # + fork server, tracker
    first.kill()  # mid-job: the long article is still being analysed
    _until(lambda: not any(_workers.alive(pid) for pid in workers), "the orphaned workers to exit")

    gate.touch()
    second = Server(db, tmp_path / "serve.log")
    servers.append(second)
    job = _until(lambda: (j := httpx.get(second.base + link).json())["status"] == "done" and j,
                 "the resumed job")
    assert (job["done"], job["total"], job["errors"], job["restarts"]) == (7, 7, [], 1)
    assert sorted(d["index"] for d in job["documents"]) == list(range(7))
    listed = httpx.get(second.base + "/api/documents", params={"limit": 50}).json()
    assert listed["total"] == 7  # every article stored once, none lost or doubled
