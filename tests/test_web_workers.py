"""The server's analyses run in two bounded worker processes, never in the server itself.

Issue 13 (D6): one 700 KB POST made a small one sent 8 s later wait 198 s, and the server kept
2 GB afterwards. These tests hold a long document in its worker (a gate file, no sleeps) and
check that short ones are answered meanwhile, that the long one's process is gone afterwards,
and that a worker which dies or outlives its callers costs one answer, not the server.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import _workers
import pytest

from propscope import registry
from propscope.document import Document
from propscope.errors import StoreError, WebError
from propscope.web.service import Settings, Workbench, usable_analyzers

SMALL_MAX = _workers.SMALL_MAX
WAIT_S = 120.0  # generous bound for a spawned worker on a loaded 2-core machine


def _workers_running() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name.startswith("propscope-")]


def test_small_request_is_answered_while_a_large_one_runs(bench: Workbench, tmp_path: Path) -> None:
    gate = tmp_path / "release"
    large = bench.submit(Document(text=_workers.gated(gate, words=100)), WAIT_S)
    small = bench.analyse(Document(text="A short article about the harbour."), WAIT_S)
    assert small.stats["worker_pid"] != os.getpid()  # analysed in a worker, not in the server
    assert not large.done()  # the long document is still held in the other worker
    gate.touch()
    result = large.result(timeout=WAIT_S)
    assert result.stats["chars"] > SMALL_MAX
    assert result.stats["worker_pid"] not in (os.getpid(), small.stats["worker_pid"])
    assert bench.store.count() == 2  # both stored (by their workers)


def test_large_document_worker_is_replaced_so_its_memory_returns(bench: Workbench, tmp_path: Path) -> None:
    (tmp_path / "open").touch()
    first = bench.analyse(Document(text=_workers.gated(tmp_path / "open", words=100)), WAIT_S)
    pid = first.stats["worker_pid"]
    assert not _workers.alive(pid) and bench.large.pid is None  # exited and reaped after its document
    second = bench.analyse(Document(text=_workers.gated(tmp_path / "open", words=101)), WAIT_S)
    assert second.stats["worker_pid"] != pid and bench.large.started == 2


def test_small_lane_keeps_its_worker_between_requests(bench: Workbench) -> None:
    pids = {bench.analyse(Document(text=f"Short article {n}."), WAIT_S).stats["worker_pid"]
            for n in range(3)}
    assert len(pids) == 1 and bench.small.started == 1 and _workers.alive(pids.pop())


def test_small_worker_is_replaced_past_its_memory_limit(tmp_path: Path) -> None:
    bench = _workers.workbench(tmp_path, small_rss_limit=1)  # every process holds more than one byte
    try:
        pids = [bench.analyse(Document(text=f"Short article {n}."), WAIT_S).stats["worker_pid"]
                for n in range(2)]
        assert pids[0] != pids[1] and not _workers.alive(pids[0])
    finally:
        bench.close()


def test_at_most_two_worker_processes(bench: Workbench, tmp_path: Path) -> None:
    earlier = {p.pid for p in _workers_running()}  # other tests' workers, possibly still exiting
    gate = tmp_path / "release"
    held = [bench.submit(Document(text=_workers.gated(gate, words=100 + n)), WAIT_S) for n in range(3)]
    short = [bench.submit(Document(text=f"Short article {n}."), WAIT_S) for n in range(20)]
    for future in short:
        future.result(timeout=WAIT_S)
    ours = [p.pid for p in _workers_running() if p.pid not in earlier]
    assert sorted(ours) == sorted([bench.small.pid, bench.large.pid]) and bench.small.started == 1
    gate.touch()
    for future in held:
        future.result(timeout=WAIT_S)
    assert bench.large.started == 3 and bench.large.pid is None  # one at a time, each replaced
    assert [p.pid for p in _workers_running() if p.pid not in earlier] == [bench.small.pid]


def test_a_batch_outliving_its_callers_is_stopped(tmp_path: Path) -> None:
    bench = _workers.workbench(tmp_path, small_max_chars=10_000)
    try:
        bench.analyse(Document(text="Warm-up article."), WAIT_S)
        pid = bench.small.pid
        assert pid is not None
        with pytest.raises(WebError, match="E607"):
            bench.analyse(Document(text=_workers.gated(tmp_path / "never")), 1.0)
        assert not _workers.alive(pid)  # killed, not left analysing for nobody
        after = bench.analyse(Document(text="The next article."), WAIT_S)
        assert after.stats["worker_pid"] != pid
    finally:
        bench.close()


def test_a_dying_worker_fails_one_article_with_e625(bench: Workbench) -> None:
    crash = bench.submit(Document(text="This article says CRASH."), WAIT_S)
    good = bench.submit(Document(text="A good article."), WAIT_S)
    with pytest.raises(WebError, match="E625") as caught:
        crash.result(timeout=WAIT_S)
    assert caught.value.status == 503 and "exit code 3" in str(caught.value)
    assert good.result(timeout=WAIT_S).document.text == "A good article."
    assert bench.analyse(Document(text="Later article."), WAIT_S).document.text == "Later article."


def test_an_analyser_error_comes_back_from_the_worker(bench: Workbench) -> None:
    with pytest.raises(ValueError, match="bad article"):
        bench.analyse(Document(text="This one should RAISE."), WAIT_S)
    assert bench.analyse(Document(text="Fine."), WAIT_S).document.text == "Fine."


def test_closed_workbench_refuses_with_e627(tmp_path: Path) -> None:
    bench = _workers.workbench(tmp_path)
    bench.close()
    with pytest.raises(WebError, match="E627"):
        bench.submit(Document(text="Too late."))


def test_start_up_probe_loads_no_analyser_in_the_server() -> None:
    _workers.register()
    before = registry.create.cache_info().currsize
    kept, dropped = usable_analyzers(["stats", _workers.BROKEN, _workers.NAME])
    assert kept == ["stats", _workers.NAME] and "no model here" in dropped[_workers.BROKEN]
    assert registry.create.cache_info().currsize == before  # probed in a throwaway process


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_store_is_refused_with_e316(url: str) -> None:
    with pytest.raises(StoreError, match="E316"):
        Workbench(Settings(db_url=url, analyzers=[_workers.NAME]))
