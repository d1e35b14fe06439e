"""A stand-in analyser for the worker-process tests: it reports which process ran it and obeys
markers in the text, so a test can hold a document in a worker, crash a worker or fail one article.

- `GATE:<path>;` waits until the file <path> exists (at most `GATE_WAIT_S`), so a test decides
  when a "slow" document finishes, without sleeping;
- `CRASH` ends the worker process at once, as the out-of-memory killer would;
- `RAISE` fails that batch with ValueError.

It is registered with `registry.register`, which the server replays in its worker processes, so
this module must be importable there: tests put tests/ on sys.path (pytest does, and the
restart test's server command inserts it).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from propscope import registry
from propscope.document import Annotations, Document
from propscope.errors import AnalyzerError

if TYPE_CHECKING:
    from propscope.web.service import Workbench

NAME = "workerprobe"
BROKEN = "workerbroken"
GATE = re.compile(r"GATE:([^;]+);")
GATE_WAIT_S = 120.0
SMALL_MAX = 200  # characters: longer documents take the large lane in the worker tests


class ProbeAnalyzer:
    """Fills `stats.worker_pid`; waits, crashes or raises when the text asks it to."""

    name = NAME
    version = "workerprobe-1"
    produces = ("stats",)
    requires: tuple[str, ...] = ()

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        for doc in docs:
            _obey(doc.text)
        return [Annotations(stats={"worker_pid": os.getpid(), "chars": len(d.text)}) for d in docs]


def _obey(text: str) -> None:
    if "CRASH" in text:
        os._exit(3)
    if "RAISE" in text:
        raise ValueError("bad article")
    for path in GATE.findall(text):
        deadline = time.monotonic() + GATE_WAIT_S
        while not Path(path).exists() and time.monotonic() < deadline:
            time.sleep(0.05)


class BrokenAnalyzer:
    """An analyser whose model is missing: it cannot even be created."""

    def __init__(self) -> None:
        raise AnalyzerError(AnalyzerError.E_LOAD.format(name=BROKEN, reason="no model here"))


def register() -> None:
    registry.register(NAME, ProbeAnalyzer)
    registry.register(BROKEN, BrokenAnalyzer)


def workbench(folder: Path, **limits: object) -> Workbench:
    """A Workbench on a fresh SQLite file in `folder`, running only the probe; documents over
    SMALL_MAX characters take the large lane unless `limits` says otherwise."""
    from propscope.web.service import Settings, Workbench  # only the test process needs these

    register()
    limits = {"small_max_chars": SMALL_MAX, **limits}
    settings = Settings(db_url=f"sqlite:///{folder / 'jobs.db'}", analyzers=[NAME], **limits)  # type: ignore[arg-type]
    return Workbench(settings)


def gated(path: Path, words: int = 10) -> str:
    """An article that stays in its worker until `path` exists."""
    return f"Held article GATE:{path}; " + "word " * words


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (a worker the tests expect gone, or still there)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
