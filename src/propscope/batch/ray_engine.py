"""`--engine ray`: Ray Data maps the pipeline over partitions of document ids with actors.

Each actor is a `Worker` (pipeline built and store opened once, in the actor's constructor), so
models load once per actor, not per partition. Actors read the documents from the store and
write their results back themselves: only ids and outcomes travel through Ray, and the store
(PostgreSQL on a cluster) takes the writes from every node.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from propscope.batch.worker import JobSpec, Outcome, Worker
from propscope.errors import UsageError

E_NO_RAY = "E403 --engine ray needs Ray: pip install 'propscope[ray]' (or use --engine local)."


class _Actor:
    """The callable class Ray Data instantiates once per actor."""

    def __init__(self, spec: JobSpec) -> None:
        self.worker = Worker(spec)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        outcomes = self.worker.process([str(i) for i in batch["id"]])
        return {
            "id": np.array([o.id for o in outcomes], dtype=object),
            "ok": np.array([o.ok for o in outcomes], dtype=bool),
        }


def import_ray(address: str | None) -> Any:
    """The `ray` module, set up for a propscope job (batch or corpus alignment).

    Imported here, not at module level: `--engine local` must not pay for (or need) Ray. Without
    a cluster address the local Ray is kept to loopback. Auto-connect is off: after shutdown,
    Ray Data's prefetch thread may still call into Ray and would silently start a fresh local
    instance that outlives the job. Ray logs each dataset's plan at INFO; ours is the summary.
    """
    if address is None:
        _loopback_only()
    os.environ["RAY_ENABLE_AUTO_CONNECT"] = "0"
    try:
        import ray
        from ray._private import auto_init_hook
    except ImportError as exc:
        raise UsageError(E_NO_RAY) from exc
    auto_init_hook.enable_auto_connect = False
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return ray


def run_ray(
    ids: Sequence[str],
    spec: JobSpec,
    workers: int,
    on_done: Callable[[list[Outcome]], None],
    address: str | None = None,
) -> None:
    """Analyse `ids` on the Ray cluster at `address` (None: a local one started for this run)."""
    ray = import_ray(address)
    ray.init(
        address=address,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
        ignore_reinit_error=True,
    )
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours is the one progress bar
        dataset = ray.data.from_items(
            [{"id": i} for i in ids], override_num_blocks=_blocks(len(ids), spec.chunk)
        )
        mapped = dataset.map_batches(
            _Actor,
            fn_constructor_args=(spec,),
            batch_size=spec.chunk,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers),  # as the cluster allows
            num_cpus=1,
        )
        for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
            on_done([Outcome(str(i), bool(ok)) for i, ok in zip(batch["id"], batch["ok"], strict=True)])
    finally:
        ray.shutdown()


def _loopback_only() -> None:
    """Keep a Ray started just for this run on 127.0.0.1: it serves this machine only, and Ray
    (no authentication by default) would otherwise listen on the machine's network address."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray reads it when imported ...
    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:  # ... so patch it too if Ray was imported before
        constants.ENABLE_RAY_CLUSTER = False  # type: ignore[attr-defined]


def _blocks(count: int, chunk: int) -> int:
    """One block per chunk (at least one), so partitions stream to actors as they free up."""
    return max(1, -(-count // chunk))
