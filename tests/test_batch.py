"""`propscope batch`: local and Ray engines, resumable, idempotent, errors recorded not fatal.

The Ray tests start a real single-node Ray cluster on 127.0.0.1 (`ray start --head`) and stop it
afterwards; the PostgreSQL cases run when PROPSCOPE_TEST_PG_URL is set (scripts/start-postgres.sh).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from corpus_fixtures import corpus
from sqlalchemy import func, select

from propscope import registry
from propscope.batch import run_batch
from propscope.document import Annotations, Document
from propscope.store import Store
from propscope.store.schema import analyses

RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # keep Ray on loopback: never the machine's public address
    "RAY_AUTH_MODE": "disabled",  # a throwaway test cluster on loopback needs no token
    "RAY_USAGE_STATS_ENABLED": "0",
}


def write_corpus(folder: Path, count: int) -> Path:
    path = folder / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in corpus().records[:count]))
    return path


def rows(url: str) -> set[tuple[str, str, str, str]]:
    """Every analysis row, comparable across databases and runs."""
    with Store.open(url) as store, store.engine.connect() as conn:
        found = conn.execute(
            select(analyses.c.document_id, analyses.c.analyzer, analyses.c.version, analyses.c.payload)
        )
        return {(r[0], r[1], r[2], json.dumps(r[3], sort_keys=True)) for r in found}


def analysis_count(url: str) -> int:
    with Store.open(url) as store, store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(analyses)).scalar_one())


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'batch.db'}"


@pytest.mark.parametrize("workers", [0, 2])
def test_local_batch_is_resumable(tmp_path: Path, db: str, workers: int) -> None:
    source = write_corpus(tmp_path, 40)
    first = run_batch([str(source)], "local", db=db, analyzers=["stats"], workers=workers)
    assert (first.documents, first.analysed, first.skipped, first.failed) == (40, 40, 0, 0)
    again = run_batch([str(source)], "local", db=db, analyzers=["stats"], workers=workers)
    assert (again.analysed, again.skipped) == (0, 40)
    assert analysis_count(db) == 40


def test_pool_and_in_process_give_the_same_rows(tmp_path: Path) -> None:
    source = write_corpus(tmp_path, 30)
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("serial", "pool")]
    for url, workers in zip(urls, (0, 2), strict=True):
        run_batch([str(source)], "local", db=url, analyzers=["stats"], workers=workers)
    assert rows(urls[0]) == rows(urls[1]) and len(rows(urls[0])) == 30


FLAKY_OUTLET = corpus().records[0]["outlet"]


class Flaky:
    """An analyser that fails on the documents of one outlet (some, not all, of the corpus)."""

    name, version, produces, requires = "flaky", "1", ("stats",), ()

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        if any(d.outlet == FLAKY_OUTLET for d in docs):
            raise RuntimeError(f"cannot read {FLAKY_OUTLET}")
        return [Annotations(stats={"flaky": True}) for _ in docs]


def test_errors_are_recorded_and_the_job_goes_on(tmp_path: Path, db: str) -> None:
    registry.register("flaky", Flaky)
    source = write_corpus(tmp_path, 30)
    bad = sum(r["outlet"] == FLAKY_OUTLET for r in corpus().records[:30])
    assert 0 < bad < 30
    report = run_batch(
        [str(source), str(tmp_path / "missing.txt")], "local", db=db, analyzers=["flaky"], workers=0
    )
    assert report.analysed == 30 - bad
    assert report.failed == bad + 1 and report.exit_code == 1
    with Store.open(db) as store:
        recorded = store.errors(report.job)
    assert sorted(e.code for e in recorded) == sorted(["E011"] + ["E299"] * bad)
    assert all(FLAKY_OUTLET in e.message for e in recorded if e.code == "E299")
    retry = run_batch([str(source)], "local", db=db, analyzers=["flaky"], workers=0)
    assert retry.skipped == 30 - bad and retry.failed == bad  # failures are retried, not skipped


def test_unknown_engine(db: str) -> None:
    from propscope.errors import UsageError

    with pytest.raises(UsageError, match="E402"):
        run_batch([], "spark", db=db)


def test_killed_midway_then_resumed(tmp_path: Path, db: str) -> None:
    """SIGKILL the CLI after some chunks are stored; the rerun finishes only the rest."""
    source = write_corpus(tmp_path, 300)
    command = [
        sys.executable,
        "-c",
        "from propscope.cli import app; app()",
        "batch",
        str(source),
        "--db",
        db,
        "--analyzers",
        "stats",
        "--workers",
        "1",
        "--chunk",
        "1",  # one document per transaction: many commits, so the kill lands mid-job
    ]
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        done = _wait_for_rows(db, 10, process)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = rows(db)
    assert 10 <= len(before) < 300, "the batch finished before it could be killed: make it bigger"
    report = run_batch([str(source)], "local", db=db, analyzers=["stats"], workers=0)
    assert report.skipped == len(before) >= done
    assert report.analysed == 300 - len(before)  # nothing analysed twice
    after = rows(db)
    assert len(after) == analysis_count(db) == 300  # and nothing stored twice
    assert before <= after


def _wait_for_rows(db: str, count: int, process: subprocess.Popen[bytes]) -> int:
    """Poll the SQLite file directly (cheap, every 20 ms) until `count` analyses are stored."""
    path, deadline = db.removeprefix("sqlite:///"), time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, "propscope batch exited before it was killed"
        try:
            if not Path(path).exists():  # connecting would create it
                raise sqlite3.OperationalError("not created yet")
            with closing(sqlite3.connect(path, timeout=1)) as conn:
                found = int(conn.execute("SELECT count(*) FROM analyses").fetchone()[0])
        except sqlite3.OperationalError:  # not created or not migrated yet, or locked
            found = 0
        if found >= count:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no {count} analyses stored within 240 s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real one-node Ray cluster on loopback, stopped (its whole process group) afterwards."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'propscope[ray]'")
    port, folder = _free_port(), tmp_path_factory.mktemp("ray")
    with pytest.MonkeyPatch.context() as env:
        for key, value in RAY_ENV.items():
            env.setenv(key, value)
        # Ray read its environment when imported: make this driver keep 127.0.0.1 as given too.
        env.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
        log = (folder / "ray.log").open("wb")
        command = [
            sys.executable,  # the `ray` CLI of this interpreter, whatever PATH says
            "-m",
            "ray.scripts.scripts",
            "start",
            "--head",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--num-cpus",
            "2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            "--block",
            "--temp-dir",
            str(folder),
        ]
        head = subprocess.Popen(command, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port, head, folder / "ray.log")
            yield f"127.0.0.1:{port}"
        finally:
            _stop_group(head)
            log.close()


def _wait_for_port(port: int, head: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise RuntimeError(f"ray start exited: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            time.sleep(2)  # the GCS answers before the raylet has registered
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the Ray head did not start within 120 s")


def _stop_group(head: subprocess.Popen[Any]) -> None:
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            return
        try:
            head.wait(grace)
            if sig == signal.SIGKILL:
                return
        except subprocess.TimeoutExpired:
            continue
    os.killpg(head.pid, signal.SIGKILL) if head.poll() is None else None


# Ray's own modules emit DeprecationWarnings about their internal settings when a dataset runs.
RAY_WARNINGS = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.slow
@RAY_WARNINGS
def test_ray_gives_the_same_rows_as_local(ray_cluster: str, tmp_path: Path) -> None:
    source = write_corpus(tmp_path, 40)
    local, on_ray = (f"sqlite:///{tmp_path / name}.db" for name in ("local", "ray"))
    run_batch([str(source)], "local", db=local, analyzers=["stats"], workers=0)
    report = run_batch([str(source)], "ray", address=ray_cluster, db=on_ray, analyzers=["stats"], workers=1)
    assert (report.analysed, report.failed) == (40, 0)
    assert rows(on_ray) == rows(local)
    again = run_batch([str(source)], "ray", address=ray_cluster, db=on_ray, analyzers=["stats"], workers=1)
    assert (again.analysed, again.skipped) == (0, 40)


@pytest.mark.slow
@pytest.mark.postgres
@RAY_WARNINGS
def test_ray_into_postgres_matches_local(ray_cluster: str, pg_url: str, tmp_path: Path) -> None:
    from conftest import reset_postgres

    source = write_corpus(tmp_path, 40)
    local = f"sqlite:///{tmp_path / 'local.db'}"
    run_batch([str(source)], "local", db=local, analyzers=["stats"], workers=0)
    reset_postgres(pg_url)
    report = run_batch([str(source)], "ray", address=ray_cluster, db=pg_url, analyzers=["stats"], workers=2)
    assert (report.analysed, report.failed) == (40, 0)
    assert rows(pg_url) == rows(local)
    local_pg = run_batch([str(source)], "local", db=pg_url, analyzers=["stats"], workers=2)
    assert (local_pg.analysed, local_pg.skipped) == (0, 40)


def test_cli_batch_json(tmp_path: Path, db: str) -> None:
    from typer.testing import CliRunner

    from propscope.cli import app

    source = write_corpus(tmp_path, 10)
    command = ["batch", str(source), "--db", db, "--analyzers", "stats", "--workers", "0", "--json"]
    first = CliRunner().invoke(app, command)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["analysed"] == 10
    again = CliRunner().invoke(app, command)
    assert json.loads(again.stdout)["skipped"] == 10
    assert "0 analysed, 10 already done, 0 failed" in again.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (RuntimeError("boom"), "E299"),
        ("model", "E204"),  # the catalogue code in the message, not the class's family code E200
    ],
)
def test_failures_keep_the_catalogue_code(error: Exception | str, code: str) -> None:
    from propscope.batch.worker import _failure
    from propscope.errors import AnalyzerError

    if error == "model":
        error = AnalyzerError(AnalyzerError.E_MODEL.format(name="techniques", path="/models"))
    assert isinstance(error, Exception)
    assert _failure(Document(text="some text", url="https://example.org/a"), error).code == code
