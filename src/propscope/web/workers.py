"""Analysis worker processes: the server's event loop and its threads never run an analyser.

Analysers are CPU-bound Python. Run in a thread of the server they hold the GIL, so one 700 KB
article made a small request wait 198 s, and the server kept its 2 GB peak afterwards. A
`Worker` is one child process, spawned on first use (spawn, not fork: the server has threads),
that builds the pipeline once, then analyses and stores one batch at a time and answers with the
results. The parent replaces it after a large document, or when its memory has grown past a
limit, so that memory goes back to the system; and kills it when a batch outlives every caller's
deadline, or when the child has died (E625), so the next batch gets a fresh one.

A child watches its parent and exits when the parent is gone (kill -9 included), so no worker
outlives the server holding the database.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any

from propscope import registry
from propscope.document import Document, Result
from propscope.errors import PropscopeError, WebError
from propscope.web.batcher import Expired

log = logging.getLogger("propscope.web")

PARENT_CHECK_S = 1.0  # how soon an orphaned worker notices that its server is gone
STOP_GRACE_S = 5.0  # a retiring worker may finish closing its store before it is killed
# Imported once by the fork server, so each worker starts with them (cheap and always needed;
# the analysers' own heavy imports, torch and spaCy, happen in each worker).
PRELOAD = ("propscope.web.workers", "propscope.pipeline", "propscope.store", "sqlalchemy", "alembic")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs: analysers, where to store, and this process's registrations.

    `registered` replays `registry.register()` calls made in the server process (plugins without
    packaging, tests), so the worker runs the same analysers; each factory must be importable.
    """

    analyzers: tuple[str, ...] | None
    db_url: str
    registered: Mapping[str, Any] = field(default_factory=dict)
    nice: int = 0
    model_dir: str | None = None  # the served profile's technique model folder

    @classmethod
    def of(
        cls, analyzers: Sequence[str] | None, db_url: str, nice: int = 0, model_dir: str | None = None
    ) -> WorkerSpec:
        names = None if analyzers is None else tuple(analyzers)
        return cls(names, db_url, dict(registry._registered), nice, model_dir)

    def pipeline(self) -> Any:
        """The worker's pipeline: its analysers on the served profile's model folder."""
        from pathlib import Path

        from propscope.pipeline import Pipeline

        model = Path(self.model_dir) if self.model_dir else None
        return Pipeline.from_names(self.analyzers, model=model)


class Worker:
    """One analysis process, used by one batcher thread at a time.

    Args:
        spec: what the process runs.
        name: for the process title and logs ("small", "large").
        recycle_each: replace the process after every batch (large documents).
        rss_limit: replace it once its resident memory exceeds this many bytes (None: never).
    """

    def __init__(self, spec: WorkerSpec, name: str, *, recycle_each: bool = False,
                 rss_limit: int | None = None) -> None:
        self._spec = spec
        self._name = name
        self._recycle_each = recycle_each
        self._rss_limit = rss_limit
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._closing = False
        self.started = 0  # processes spawned so far (tests and the benchmark read it)

    @property
    def pid(self) -> int | None:
        """The live process's id, or None when none runs."""
        return self._process.pid if self._process is not None else None

    def __call__(self, docs: Sequence[Document], seconds: float) -> list[Result]:
        """Analyse and store `docs` in the worker; Expired after `seconds`, E625 if it dies."""
        with self._lock:
            conn = self._connection()
            try:
                conn.send([doc.to_json() for doc in docs])  # plain data: pickles anywhere
                if not conn.poll(seconds):
                    self._kill()
                    raise Expired(f"batch of {len(docs)} still running after {seconds:.0f} s")
                kind, payload, rss = conn.recv()
            except (EOFError, OSError) as exc:
                reason = self._died()
                if self._closing:
                    raise WebError(WebError.E_SHUTDOWN, 503) from exc
                raise WebError(WebError.E_WORKER.format(reason=reason), 503) from exc
            if self._recycle_each or (self._rss_limit is not None and rss > self._rss_limit):
                self._retire()
        if kind == "error":
            raise payload
        return [Result.from_json(data) for data in payload]

    def warm(self) -> None:
        """Start the process and build its pipeline now, so the first request does not wait."""
        self([], 3600.0)

    def close(self) -> None:
        """Stop for good: an idle process exits; a busy one is killed, its batch failing E627."""
        self._closing = True
        if self._lock.acquire(blocking=False):
            try:
                self._retire()
            finally:
                self._lock.release()
            return
        process = self._process  # the batcher thread sees the pipe close and cleans up
        if process is not None:
            process.kill()

    def _connection(self) -> Connection:
        if self._closing:
            raise WebError(WebError.E_SHUTDOWN, 503)
        if self._process is None or self._conn is None or not self._process.is_alive():
            if self._process is not None:
                self._died()
            self._spawn()
        assert self._conn is not None
        return self._conn

    def _spawn(self) -> None:
        context = _context()
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child, self._spec, os.getpid()),
                                  name=f"propscope-{self._name}", daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.started += 1

    def _retire(self) -> None:
        """Ask the process to exit (it closes its store), then make sure it is gone."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError, ValueError):
            conn.send(None)
        conn.close()
        process.join(STOP_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join()

    def _kill(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            process.kill()
            process.join()

    def _died(self) -> str:
        """Clean up after a dead process; the reason, for E625."""
        process = self._process
        self._kill()
        code = process.exitcode if process is not None else None
        log.error("analysis worker %s stopped (exit code %s)", self._name, code)
        if code is not None and code < 0:
            return f"killed by signal {-code}, often the out-of-memory killer"
        return f"exit code {code}"


def _context() -> ForkServerContext | SpawnContext:
    """Where workers come from: a fork server (a clean, single-threaded process that has
    imported propscope once), so a worker starts in a fraction of a second without forking the
    threaded server itself; a spawned interpreter where there is no fork."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def serve(conn: Connection, spec: WorkerSpec, parent: int) -> None:
    """The worker process: analyse and store each batch received; None or EOF ends it."""
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="watch-parent").start()
    if spec.nice:
        os.nice(spec.nice)
    for name, factory in spec.registered.items():
        registry.register(name, factory)
    state = _State(spec)
    try:
        while True:
            try:
                docs = conn.recv()
            except EOFError:
                return
            if docs is None:
                return
            _reply(conn, state.analyse([Document.from_json(data) for data in docs]))
    finally:
        state.close()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # nothing is left to tear down, and interpreter shutdown takes a second


class _State:
    """The worker's pipeline and store, made on first use."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.pipeline: Any = None
        self.store: Any = None

    def analyse(self, docs: list[Document]) -> tuple[str, Any, int]:
        try:
            self._open()
            results = self.pipeline.analyze_batch(docs) if docs else []
            if results:
                self.store.save(results, self.pipeline.produced)
            return "ok", [result.to_json() for result in results], rss()
        except PropscopeError as exc:
            return "error", exc, rss()
        except Exception as exc:
            traceback.print_exc()  # lands in the server's log, as a crash in-process did
            return "error", exc, rss()

    def _open(self) -> None:
        from propscope.store import Store

        if self.pipeline is None:
            self.pipeline = self.spec.pipeline()
        if self.store is None:
            self.store = Store.open(self.spec.db_url)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _reply(conn: Connection, reply: tuple[str, Any, int]) -> None:
    try:
        conn.send(reply)
    except (OSError, EOFError):
        raise
    except Exception as exc:  # an exception that cannot be pickled: send its text instead
        conn.send(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]} ({exc})"), reply[2]))


def _watch(server: int) -> None:
    """Exit as soon as the server process is gone, kill -9 included.

    The worker's parent is the fork server (or the server itself, when spawned), which exits
    with the server: either way the worker is re-parented, and its parent id changes.
    """
    parent = os.getppid()
    while os.getppid() == parent and _exists(server):
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def rss() -> int:
    """This process's resident memory in bytes (Linux /proc; 0 where unknown)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return 0
