"""`--engine local`: a process pool on this machine, one pipeline per worker process.

The workers never outlive the driver (`propscope.batch.lifeline`): killed, stopped or
interrupted, the driver takes its pool down with it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice

from propscope.batch.lifeline import bind_to_parent, signals_stop_driver, stop_pool
from propscope.batch.worker import JobSpec, Outcome, Worker

_worker: Worker | None = None


def _start(spec: JobSpec, threads: int, parent: int) -> None:
    """Pool initializer: models load here, once per process, each with its share of the cores
    (onnxruntime would otherwise start one thread per core in every worker)."""
    global _worker
    bind_to_parent(parent)
    os.environ.setdefault("PROPSCOPE_THREADS", str(threads))
    _worker = Worker(spec)


def _process(ids: list[str]) -> list[Outcome]:
    assert _worker is not None, "the pool initializer did not run"
    return _worker.process(ids)


def run_local(
    ids: Sequence[str], spec: JobSpec, workers: int, on_done: Callable[[list[Outcome]], None]
) -> None:
    """Analyse `ids` in `workers` processes (0: in this process, for debugging and tests)."""
    chunks = _chunks(ids, spec.chunk)
    if workers == 0:
        worker = Worker(spec)
        try:
            for part in chunks:
                on_done(worker.process(part))
        finally:
            worker.close()
        return
    # spawn, not fork: a forked child would inherit the parent's open database connections and
    # any threads a model runtime started.
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // workers)
    with signals_stop_driver():
        pool = ProcessPoolExecutor(workers, context, _start, (spec, threads, os.getpid()))
        try:
            _feed(pool, chunks, workers, on_done)
        except BaseException:  # SIGTERM/SIGHUP (as SystemExit), Ctrl-C, or a failing on_done
            stop_pool(pool)
            raise
        pool.shutdown()


def _feed(
    pool: ProcessPoolExecutor,
    chunks: Iterator[list[str]],
    workers: int,
    on_done: Callable[[list[Outcome]], None],
) -> None:
    pending: set[Future[list[Outcome]]] = set()
    for part in chunks:
        pending.add(pool.submit(_process, part))
        if len(pending) >= 2 * workers:  # bounded: ids wait here, not in the pool's queue
            pending = _drain(pending, on_done, FIRST_COMPLETED)
    _drain(pending, on_done, "ALL_COMPLETED")


def _chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    stream = iter(ids)
    while part := list(islice(stream, size)):
        yield part


def _drain(
    pending: set[Future[list[Outcome]]], on_done: Callable[[list[Outcome]], None], until: str
) -> set[Future[list[Outcome]]]:
    done, rest = wait(pending, return_when=until)
    for future in done:
        on_done(future.result())
    return rest
