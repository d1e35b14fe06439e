"""`propscope batch` leaves no process behind: killed (SIGKILL), stopped (SIGTERM) or interrupted
(SIGINT), its pool workers and multiprocessing's resource tracker end with it (issue 13, D9).

Children are found through /proc (Linux), each remembered by pid and start time so that a
recycled pid is not mistaken for a survivor.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from corpus_fixtures import corpus

from propscope.batch import lifeline

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

SURVIVAL_LIMIT = 20.0  # seconds the children get to notice their driver is gone


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children(parent: int) -> set[tuple[int, str]]:
    found = set()
    for entry in os.listdir("/proc"):
        fields = _stat(int(entry)) if entry.isdigit() else None
        if fields and int(fields[1]) == parent:
            found.add((int(entry), fields[19]))  # pid, start time
    return found


def _alive(pid: int, started: str) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[19] == started and fields[0] not in ("Z", "X")


def _analyses(path: Path) -> int:
    try:
        with closing(sqlite3.connect(path, timeout=1)) as conn:
            return int(conn.execute("SELECT count(*) FROM analyses").fetchone()[0])
    except sqlite3.OperationalError:  # not created, not migrated yet, or locked
        return 0


def _start_batch(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    source = tmp_path / "corpus.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in corpus().records))
    db = tmp_path / "batch.db"
    command = [sys.executable, "-c", "from propscope.cli import app; app()", "batch", str(source)]
    command += ["--db", f"sqlite:///{db}", "--analyzers", "stats", "--workers", "2", "--chunk", "1"]
    with (tmp_path / "stderr.txt").open("wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    return process, db


def _wait_until_working(process: subprocess.Popen[bytes], db: Path) -> set[tuple[int, str]]:
    """Until the pool is up (two workers and the resource tracker), and, for up to 60 s more,
    until the workers have stored a chunk (so they are mid-job); then the children."""
    deadline = time.monotonic() + 300
    while len(children := _children(process.pid)) < 3:
        log = (db.parent / "stderr.txt").read_text(errors="replace")[-2000:]
        assert process.poll() is None, f"propscope batch ended before it could be stopped: {log}"
        assert time.monotonic() < deadline, f"no worker pool within 300 s: {log}"
        time.sleep(0.05)
    busy = time.monotonic() + 60
    while _analyses(db) < 1 and time.monotonic() < busy and process.poll() is None:
        time.sleep(0.05)
    return children | _children(process.pid)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_child_outlives_the_driver(sig: signal.Signals, tmp_path: Path) -> None:
    process, db = _start_batch(tmp_path)
    children: set[tuple[int, str]] = set()
    try:
        children = _wait_until_working(process, db)
        process.send_signal(sig)
        process.wait(60)
        deadline = time.monotonic() + SURVIVAL_LIMIT
        while any(_alive(*c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [c for c in children if _alive(*c)]
        assert not survivors, f"children alive {SURVIVAL_LIMIT:.0f} s after {sig.name}: {survivors}"
        stored = _analyses(db)
        time.sleep(1.0)
        assert _analyses(db) == stored  # and nothing writes any more
        if sig == signal.SIGTERM:
            assert process.returncode == 128 + signal.SIGTERM  # stopped cleanly, said how
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid, started in children:
            if _alive(pid, started):
                os.kill(pid, signal.SIGKILL)


def test_a_worker_whose_parent_is_already_gone_exits() -> None:
    """The race guard: a parent that died before the death signal was armed is noticed at once."""
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=lifeline.bind_to_parent, args=(os.getpid() + 10**7,))
    child.start()
    child.join(60)
    assert child.exitcode == lifeline.ORPHANED


def test_the_watchdog_exits_an_orphan() -> None:
    """The portable fallback (no prctl): the watchdog sees the parent pid change."""
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=lifeline._watch, args=(os.getpid() + 10**7,))
    child.start()
    child.join(60)
    assert child.exitcode == lifeline.ORPHANED


def test_signal_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with lifeline.signals_stop_driver():
        during = signal.getsignal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == before
    assert during != before or before != signal.SIG_DFL
